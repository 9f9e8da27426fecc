"""The one-file readers on the real files in ../shared/data (counts and values from SOURCES.md)."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import polars as pl
import pytest

from trading_assets.errors import SourceDataError
from trading_assets.schemas import KINDS, UTC_TS
from trading_assets.sources.files import (
    BinanceTradesParquetReader,
    FreqtradeJsonReader,
    FreqtradeTradesCsvReader,
    FreqtradeTradesJsonReader,
    LeanCsvReader,
    NinjaTraderReader,
    QuotesParquetReader,
    YahooChartReader,
    YahooCsvReader,
    infer_from_name,
    normalize_symbol,
    sniff_file,
)

NY = ZoneInfo("America/New_York")


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


def assert_canonical(frame: pl.DataFrame, kind: str) -> None:
    schema, key = KINDS[kind]
    assert dict(frame.schema) == schema
    assert frame.select(pl.struct(list(key)).is_duplicated().any()).item() is False
    sort_cols = ["ts", "seq"] if kind == "quotes" else ["ts"]
    assert frame.equals(frame.sort(sort_cols, maintain_order=True))


# -- names ----------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("name", "symbol", "timeframe"),
    [
        ("ETH_USDT-1m.json", "ETH/USDT", "1m"),
        ("BTC_USDT_USDT-1h-futures.json", "BTC/USDT:USDT", "1h"),
        ("binance_BTCUSDT_trades_2021-01-08.parquet", "BTC/USDT", None),
        ("ETHUSDT_trades_2023-02-02.csv", "ETH/USDT", None),
        ("binance_XRP_ETH-trades_2019-10.json.gz", "XRP/ETH", None),
        ("orcl-1995-2014.txt", "ORCL", None),
        ("lean_spy_daily.csv", "SPY", "1d"),
        ("20131004_spy_minute_trade.csv", "SPY", "1m"),
        ("nt-spy-minute-2011.csv", "SPY", "1m"),
        ("SPY_1d_20251226.json", "SPY", "1d"),
        ("1m_20251223.json", None, "1m"),
        ("candles-5m.json", None, "5m"),
        ("alpha_beta_1h.csv", None, "1h"),
    ],
)
def test_infer_from_name(name, symbol, timeframe):
    assert infer_from_name(name) == (symbol, timeframe)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("BTC/USDT", "BTC/USDT"),
        ("btc/usdt", "BTC/USDT"),
        ("ETHUSDT", "ETH/USDT"),
        ("ETHBTC", "ETH/BTC"),
        ("BTC-USD", "BTC/USD"),
        ("XRP_ETH", "XRP/ETH"),
        ("spy", "SPY"),
        ("BRK-B", "BRK-B"),
        ("ETH", "ETH"),
    ],
)
def test_normalize_symbol(raw, expected):
    assert normalize_symbol(raw) == expected


# -- freqtrade candles -----------------------------------------------------------------------
def test_freqtrade_eth_1m(shared_data):
    frame = FreqtradeJsonReader(shared_data / "crypto/binance_spot_2023/ETH_USDT-1m.json").read()
    assert_canonical(frame, "bars")
    assert frame.height == 66_087
    first = frame.row(0, named=True)
    assert first["ts"] == utc(2023, 3, 16, 22, 15)
    assert (first["open"], first["high"], first["low"], first["close"]) == (
        1672.68,
        1674.33,
        1672.55,
        1674.25,
    )
    assert first["volume"] == 318.3051
    assert first["symbol"] == "ETH/USDT" and first["timeframe"] == "1m"
    assert first["source"] == "freqtrade_json"
    assert frame["ts"].max() == utc(2023, 5, 1, 21, 1)
    assert (frame["close"].min(), frame["close"].max()) == (1662.95, 2136.52)
    # the real gap: Binance spot halt on 24 Mar 2023, no candles 12:39 -> 14:00 UTC
    gap = frame.filter(pl.col("ts").is_between(utc(2023, 3, 24, 12, 40), utc(2023, 3, 24, 13, 59)))
    assert gap.height == 0


@pytest.mark.parametrize(
    ("path", "rows", "first", "last"),
    [
        (
            "binance_spot_2023/BTC_USDT-1m.json",
            66_087,
            utc(2023, 3, 16, 22, 15),
            utc(2023, 5, 1, 21, 1),
        ),
        (
            "binance_spot_2023/ETH_USDT-5m.json",
            13_217,
            utc(2023, 3, 16, 22, 15),
            utc(2023, 5, 1, 20, 55),
        ),
        (
            "binance_spot_2023/BTC_USDT-5m.json",
            13_217,
            utc(2023, 3, 16, 22, 15),
            utc(2023, 5, 1, 20, 55),
        ),
        ("binance_spot_2023/ETH_USDT-1h.json", 719, utc(2023, 4, 1, 16), utc(2023, 5, 1, 14)),
        ("binance_spot_2023/BTC_USDT-1h.json", 719, utc(2023, 4, 1, 16), utc(2023, 5, 1, 14)),
        ("binance_spot_2017_2021/ETH_USDT-1d.json", 1_385, utc(2017, 8, 17), utc(2021, 6, 1)),
    ],
)
def test_freqtrade_files(shared_data, path, rows, first, last):
    frame = FreqtradeJsonReader(shared_data / "crypto" / path).read()
    assert_canonical(frame, "bars")
    assert frame.height == rows
    assert (frame["ts"].min(), frame["ts"].max()) == (first, last)


def test_freqtrade_eth_1d_values(shared_data):
    frame = FreqtradeJsonReader(
        shared_data / "crypto/binance_spot_2017_2021/ETH_USDT-1d.json"
    ).read()
    assert frame["open"][0] == 301.13
    assert (frame["close"].min(), frame["close"].max()) == (83.76, 4173.45)
    assert frame["ts"].diff().drop_nulls().unique().to_list() == [timedelta(days=1)]


def test_freqtrade_btc_ranges(shared_data):
    frame = FreqtradeJsonReader(shared_data / "crypto/binance_spot_2023/BTC_USDT-1m.json").read()
    assert (frame["close"].min(), frame["close"].max()) == (24_882.99, 30_963.13)
    hourly = FreqtradeJsonReader(shared_data / "crypto/binance_spot_2023/ETH_USDT-1h.json").read()
    assert (hourly["close"].min(), hourly["close"].max()) == (1771.89, 2128.17)


# -- Yahoo CSV ------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("name", "symbol", "rows", "first", "last"),
    [
        ("orcl-1995-2014.txt", "ORCL", 5_036, date(1995, 1, 3), date(2014, 12, 31)),
        ("nvda-1999-2014.txt", "NVDA", 4_012, date(1999, 1, 22), date(2014, 12, 31)),
        ("yhoo-1996-2014.txt", "YHOO", 4_713, date(1996, 4, 12), date(2014, 12, 31)),
    ],
)
def test_yahoo_csv(shared_data, name, symbol, rows, first, last):
    frame = YahooCsvReader(shared_data / "equities/daily" / name).read()
    assert_canonical(frame, "bars")
    assert frame.height == rows
    assert frame["symbol"].unique().to_list() == [symbol]
    assert frame["timeframe"].unique().to_list() == ["1d"]
    assert frame["ts"].min() == utc(first.year, first.month, first.day)
    assert frame["ts"].max() == utc(last.year, last.month, last.day)
    assert (frame["ts"].dt.time() == datetime.min.time()).all()


def test_yahoo_csv_uses_split_adjusted_ohlc_not_adj_close(shared_data):
    frame = YahooCsvReader(shared_data / "equities/daily/orcl-1995-2014.txt").read()
    first = frame.row(0, named=True)
    assert (first["open"], first["close"]) == (2.179012, 2.117284)  # Adj Close is 1.883304
    assert first["volume"] == 36_301_200.0
    assert frame["close"][-1] == 44.970001


# -- Yahoo chart JSON -----------------------------------------------------------------------
@pytest.mark.parametrize("symbol", ["SPY", "AAPL", "NVDA", "MSFT", "TSLA"])
def test_yahoo_chart_daily(shared_data, symbol):
    path = shared_data / f"equities/daily/yahoo_snapshots_2025-12/{symbol}_1d_20251226.json"
    frame = YahooChartReader(path).read()
    assert_canonical(frame, "bars")
    assert frame.height == 501
    assert frame["symbol"].unique().to_list() == [symbol]
    assert frame["timeframe"].unique().to_list() == ["1d"]
    assert (frame["ts"].min(), frame["ts"].max()) == (utc(2023, 12, 27), utc(2025, 12, 24))
    assert (frame["ts"].dt.time() == datetime.min.time()).all()


def test_yahoo_chart_daily_session_dates(shared_data):
    path = shared_data / "equities/daily/yahoo_snapshots_2025-12/SPY_1d_20251226.json"
    frame = YahooChartReader(path).read()
    first = frame.row(0, named=True)
    assert first["ts"] == utc(2023, 12, 27)  # "t": "2023-12-27T14:30:00.000Z"
    assert first["open"] == 475.44000244140625
    # a summer session is stamped 13:30Z and still maps to its own date
    july = frame.filter(pl.col("ts") == utc(2024, 7, 1))
    assert july.height == 1


#: bars in each 1m snapshot, and how many off-grid partial bars are dropped
YAHOO_1M = {
    ("AAPL", "20251223"): (1_338, 3),
    ("AAPL", "20251226"): (505, 2),
    ("MSFT", "20251223"): (1_251, 4),
    ("MSFT", "20251226"): (500, 1),
    ("NVDA", "20251223"): (1_392, 5),
    ("NVDA", "20251226"): (511, 2),
    ("SPY", "20251223"): (1_387, 5),
    ("SPY", "20251226"): (509, 2),
    ("TSLA", "20251223"): (1_399, 5),
    ("TSLA", "20251226"): (510, 2),
}


@pytest.mark.parametrize(("symbol", "day"), sorted(YAHOO_1M))
def test_yahoo_chart_minute(shared_data, symbol, day):
    path = shared_data / f"equities/minute/yahoo_snapshots_2025-12/{symbol}/1m_{day}.json"
    raw, dropped = YAHOO_1M[(symbol, day)]
    frame = YahooChartReader(path).read()
    assert_canonical(frame, "bars")
    assert frame.height == raw - dropped
    assert frame["symbol"].unique().to_list() == [symbol]  # from the content: name has none
    assert (frame["ts"].dt.second() == 0).all()


def test_yahoo_chart_minute_drops_trailing_partial_bar(shared_data):
    path = shared_data / "equities/minute/yahoo_snapshots_2025-12/SPY/1m_20251223.json"
    frame = YahooChartReader(path).read()
    # the file ends with {"t": "2025-12-24T00:59:57.000Z", ...}: the live bar at fetch time
    assert frame["ts"].max() == utc(2025, 12, 23, 23, 59)
    assert frame.filter(pl.col("ts") == utc(2025, 12, 23, 15, 56))["close"][0] == 686.25


# -- QuantConnect Lean ----------------------------------------------------------------------
def test_lean_daily(shared_data):
    frame = LeanCsvReader(shared_data / "equities/daily/lean_spy_daily.csv").read()
    assert_canonical(frame, "bars")
    assert frame.height == 5_849
    first = frame.row(0, named=True)
    assert first["symbol"] == "SPY" and first["timeframe"] == "1d"
    assert first["ts"] == utc(1998, 1, 2)
    assert (first["open"], first["close"], first["volume"]) == (97.31, 97.36, 2_150_000.0)
    assert frame["ts"].max() == utc(2021, 3, 31)


LEAN_DAYS = ["20131004", "20131007", "20131008", "20131009", "20131010", "20131011"]


@pytest.mark.parametrize("day", LEAN_DAYS)
@pytest.mark.parametrize("kind", ["trade", "quote"])
def test_lean_minute(shared_data, day, kind):
    path = shared_data / f"equities/minute/lean_spy_2013-10/{day}_spy_minute_{kind}.csv"
    lines = [line for line in path.read_bytes().splitlines() if line.strip()]
    frame = LeanCsvReader(path).read()
    canonical_kind = "quote_bars" if kind == "quote" else "bars"
    assert_canonical(frame, canonical_kind)
    # SOURCES.md quotes `wc -l` (710-882, 854-940): the files lack a final newline, so every
    # file has one row more than its newline count.
    assert frame.height == len(lines)
    # DST-correct: the first row's ms-since-midnight New York time, converted with zoneinfo
    ms = int(lines[0].split(b",")[0])
    local = datetime.strptime(day, "%Y%m%d").replace(tzinfo=NY) + timedelta(milliseconds=ms)
    assert frame["ts"][0] == local.astimezone(UTC)
    assert frame["timeframe"][0] == "1m"


def test_lean_minute_values(shared_data):
    folder = shared_data / "equities/minute/lean_spy_2013-10"
    trades = LeanCsvReader(folder / "20131004_spy_minute_trade.csv").read()
    first = trades.row(0, named=True)
    assert first["ts"] == utc(2013, 10, 4, 8, 6)  # 14,760,000 ms = 04:06 EDT
    assert first["open"] == 167.65 and first["volume"] == 20_000.0
    regular = trades.filter(pl.col("ts") == utc(2013, 10, 4, 13, 30))  # 09:30 EDT
    assert regular.height == 1
    quotes = LeanCsvReader(folder / "20131004_spy_minute_quote.csv").read()
    q = quotes.row(0, named=True)
    assert q["ts"] == utc(2013, 10, 4, 8, 0)
    assert (q["bid_open"], q["bid_close"], q["ask_open"], q["ask_size"]) == (
        167.42,
        167.56,
        167.87,
        20_000.0,
    )


# -- NinjaTrader ----------------------------------------------------------------------------
def test_ninjatrader(shared_data):
    frame = NinjaTraderReader(shared_data / "equities/minute/nt-spy-minute-2011.csv").read()
    assert_canonical(frame, "bars")
    assert frame.height == 14_180
    first = frame.row(0, named=True)
    # "20110103 090100;126.35;..." stamps the bar end: the bar opened at 09:00 UTC
    assert first["ts"] == utc(2011, 1, 3, 9, 0)
    assert (first["open"], first["close"], first["volume"]) == (126.35, 126.39, 1579.0)
    assert frame["ts"].max() == utc(2011, 2, 1, 0, 59)
    assert first["symbol"] == "SPY" and first["timeframe"] == "1m"


def test_ninjatrader_bar_end_convention_matches_the_session(shared_data):
    """The opening minute (09:30 EST = 14:30 UTC) is the busiest: it must sit at 14:30."""
    frame = NinjaTraderReader(shared_data / "equities/minute/nt-spy-minute-2011.csv").read()
    by_minute = (
        frame.group_by(pl.col("ts").dt.strftime("%H:%M").alias("hm"))
        .agg(pl.col("volume").median())
        .filter(pl.col("hm").is_in(["14:29", "14:30", "14:31"]))
        .sort("hm")
    )
    volumes = dict(by_minute.iter_rows())
    assert volumes["14:30"] > 3 * volumes["14:29"] and volumes["14:30"] > volumes["14:31"]
    unshifted = NinjaTraderReader(
        shared_data / "equities/minute/nt-spy-minute-2011.csv", bar_time="open"
    ).read()
    assert unshifted["ts"][0] == utc(2011, 1, 3, 9, 1)


# -- ticks and quotes -----------------------------------------------------------------------
def test_binance_trades_parquet(shared_data):
    path = shared_data / "crypto/ticks/binance_BTCUSDT_trades_2021-01-08.parquet"
    frame = BinanceTradesParquetReader(path).read()
    assert_canonical(frame, "ticks")
    assert frame.height == 2_001
    first = frame.row(0, named=True)
    assert first == {
        "symbol": "BTC/USDT",
        "source": "binance_trades_parquet",
        "trade_id": "553287559",
        "ts": utc(2021, 1, 8, 0, 0, 0, 278_000),
        "price": 39432.48,
        "size": 0.000263,
        "side": "sell",  # buyer_maker "True": the taker sold
    }
    assert frame["side"][1] == "buy"  # buyer_maker "False"
    assert (frame["price"].min(), frame["price"].max()) == (39_430.30, 39_550.00)
    assert frame["ts"].max() == utc(2021, 1, 8, 0, 0, 46, 355_000)


def test_quotes_parquet(shared_data):
    path = shared_data / "crypto/ticks/binance_BTCUSDT_quotes_2021-01-08.parquet"
    frame = QuotesParquetReader(path).read()
    assert_canonical(frame, "quotes")
    assert frame.height == 451
    assert frame["symbol"].unique().to_list() == ["BTC/USDT"]
    first = frame.row(0, named=True)
    assert first["ts"] == utc(2021, 1, 8, 0, 0, 1, 76_000)
    assert (first["bid"], first["ask"], first["seq"]) == (39432.99, 39433.62, 0)
    # seq numbers the updates sharing a timestamp
    shared = frame.filter(pl.col("ts").is_duplicated())
    assert shared.height > 0
    assert (
        shared.group_by("ts")
        .agg(pl.col("seq").sort())["seq"]
        .map_elements(lambda s: s.to_list() == list(range(len(s))), return_dtype=pl.Boolean)
        .all()
    )


def test_freqtrade_trades_csv(shared_data):
    frame = FreqtradeTradesCsvReader(
        shared_data / "crypto/ticks/ETHUSDT_trades_2023-02-02.csv"
    ).read()
    assert_canonical(frame, "ticks")
    assert frame.height == 1_000
    assert frame["trade_id"].cast(pl.Int64).to_list() == list(range(1206419187, 1206420187))
    first = frame.row(0, named=True)
    assert first["ts"] == utc(2023, 2, 2, 9, 20, 0, 138_000)
    assert (first["price"], first["size"], first["side"]) == (1666.8, 26.062, "buy")
    assert first["symbol"] == "ETH/USDT"
    assert (frame["price"].min(), frame["price"].max()) == (1666.21, 1667.32)
    assert frame["ts"].max() == utc(2023, 2, 2, 9, 23, 27, 493_000)


def test_freqtrade_trades_json_gz(shared_data):
    path = shared_data / "crypto/ticks/binance_XRP_ETH-trades_2019-10.json.gz"
    frame = FreqtradeTradesJsonReader(path).read()
    assert_canonical(frame, "ticks")
    assert frame.height == 12_477
    assert frame["symbol"].unique().to_list() == ["XRP/ETH"]
    assert frame["ts"].min().replace(microsecond=0) == utc(2019, 10, 11, 0, 0, 11)
    assert frame["ts"].max().replace(microsecond=0) == utc(2019, 10, 13, 11, 19, 28)
    # several fills per millisecond are distinct trades, not duplicates
    assert frame.height - frame["ts"].n_unique() == 2_490
    first = frame.row(0, named=True)
    assert (first["trade_id"], first["price"], first["size"], first["side"]) == (
        "13519807",
        0.00141342,
        23.0,
        "sell",
    )


# -- sniffing -------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("relative", "fmt"),
    [
        ("crypto/binance_spot_2023/ETH_USDT-1m.json", "freqtrade_json"),
        ("crypto/ticks/binance_XRP_ETH-trades_2019-10.json.gz", "freqtrade_trades_json"),
        ("crypto/ticks/ETHUSDT_trades_2023-02-02.csv", "freqtrade_trades_csv"),
        ("crypto/ticks/binance_BTCUSDT_trades_2021-01-08.parquet", "binance_trades_parquet"),
        ("crypto/ticks/binance_BTCUSDT_quotes_2021-01-08.parquet", "quotes_parquet"),
        ("equities/daily/orcl-1995-2014.txt", "yahoo_csv"),
        ("equities/daily/lean_spy_daily.csv", "lean_csv"),
        ("equities/daily/yahoo_snapshots_2025-12/SPY_1d_20251226.json", "yahoo_chart"),
        ("equities/minute/nt-spy-minute-2011.csv", "ninjatrader"),
        ("equities/minute/lean_spy_2013-10/20131004_spy_minute_quote.csv", "lean_csv"),
        ("news/kaggle_headlines_2017-2020/cnbc_headlines.csv", None),
        ("news/yahoo_per_symbol_2025-12/SPY_news_20251222.json", None),
        ("alpaca/alpaca_py_historical_stock_data_responses.json", None),
        ("sentiment/financial_phrasebank/Sentences_AllAgree.txt", None),
        ("SOURCES.md", None),
    ],
)
def test_sniff(shared_data, relative, fmt):
    found = sniff_file(shared_data / relative)
    assert (found[0].format if found else None) == fmt


def test_ts_dtype_is_canonical(shared_data):
    frame = FreqtradeJsonReader(shared_data / "crypto/binance_spot_2023/ETH_USDT-1h.json").read()
    assert frame.schema["ts"] == UTC_TS


# -- other layouts of the same formats (temp files derived from real rows) -------------------
def test_ninjatrader_daily_layout(tmp_path, shared_data):
    lines = (shared_data / "equities/minute/nt-spy-minute-2011.csv").read_bytes().split(b"\r\n")
    daily = [b"2011010" + bytes([ord("3") + i]) + line[15:] for i, line in enumerate(lines[:3])]
    path = tmp_path / "SPY.Last.txt"
    path.write_bytes(b"\r\n".join(daily) + b"\r\n")
    assert sniff_file(path)[0] is NinjaTraderReader
    frame = NinjaTraderReader(path).read()
    assert frame["timeframe"].unique().to_list() == ["1d"]
    assert frame["ts"].to_list() == [utc(2011, 1, 3), utc(2011, 1, 4), utc(2011, 1, 5)]


def test_lean_hour_layout_in_resolution_folder(tmp_path, shared_data):
    folder = tmp_path / "equity" / "usa" / "hour"
    folder.mkdir(parents=True)
    path = folder / "spy.csv"
    path.write_text("20131004 10:00,1676500,1678000,1675000,1677000,1000\n")
    assert sniff_file(path)[1].timeframe == "1h"
    frame = LeanCsvReader(path).read()
    assert (frame["symbol"][0], frame["timeframe"][0]) == ("SPY", "1h")
    assert frame["ts"][0] == utc(2013, 10, 4, 14)  # 10:00 EDT
    assert frame["close"][0] == 167.7


def test_yahoo_chart_daily_partial_session_dropped(tmp_path, shared_data):
    path = shared_data / "equities/daily/yahoo_snapshots_2025-12/SPY_1d_20251226.json"
    doc = json.loads(path.read_bytes())
    doc["fetchedAt"] = "2025-12-24T17:00:00.000Z"  # noon in New York: 12-24 still trading
    out = tmp_path / "SPY_1d_20251224.json"
    out.write_text(json.dumps(doc))
    frame = YahooChartReader(out).read()
    assert frame.height == 500 and frame["ts"].max() == utc(2025, 12, 23)


def test_yahoo_chart_unsupported_interval(tmp_path, shared_data):
    path = shared_data / "equities/daily/yahoo_snapshots_2025-12/SPY_1d_20251226.json"
    doc = json.loads(path.read_bytes())
    doc["interval"] = "1mo"
    out = tmp_path / "SPY_1mo.json"
    out.write_text(json.dumps(doc))
    with pytest.raises(SourceDataError) as info:
        YahooChartReader(out).read()
    assert info.value.field == "timeframe"
