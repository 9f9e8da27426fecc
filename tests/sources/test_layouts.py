"""The layouts traders actually have, read from real files (``../shared/formats``, the CSVs
backtesting.py ships) and from messy variants derived from them here."""

from __future__ import annotations

import gzip
import json
from datetime import UTC, datetime
from pathlib import Path

import polars as pl
import pytest

from trading_assets.errors import SourceDataError
from trading_assets.sources.files import (
    BitcoinchartsCsvReader,
    CcxtTradesJsonReader,
    FreqtradeJsonReader,
    OhlcvCsvReader,
    TradesCsvReader,
    infer_from_name,
    sniff_file,
)


def utc(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=UTC)


def sniffed(path: Path) -> str:
    found = sniff_file(path)
    assert found is not None, path
    return found[0].format


@pytest.fixture(scope="module")
def backtesting_data() -> Path:
    """The sample CSVs backtesting.py ships (pandas ``to_csv`` with the index first)."""
    import backtesting.test

    return Path(backtesting.test.__file__).parent


# -- yfinance CSV ---------------------------------------------------------------------------
def test_yfinance_daily_with_offsets_dividends_and_split(shared_formats: Path):
    sand = shared_formats / "yfinance_csv/SAND-1d-bad-div.csv"
    assert sniffed(sand) == "ohlcv_csv"
    loaded = OhlcvCsvReader(sand, symbol="SAND").read_checked()
    bars = loaded.rows
    assert bars.height == 662 and loaded.rejected.height == 0
    assert bars["timeframe"].unique().to_list() == ["1d"]
    # midnight New York (-05:00 in winter, -04:00 in summer) is the session date, 00:00 UTC
    assert bars["ts"][0] == utc(2022, 1, 3) and bars["ts"][-1] == utc(2024, 8, 21)
    assert (bars["ts"].dt.hour() == 0).all()
    assert bars["close"][0] == pytest.approx(6.039999961853027)
    dividends = loaded.actions.filter(pl.col("action") == "dividend")
    # both January 2024 dividends are kept as delivered (the 01-12 one is Yahoo's error)
    assert {utc(2024, 1, 12), utc(2024, 1, 16)} <= set(dividends["ts"])
    assert dividends["value"].is_between(0.014, 0.016).all()

    tokyo = OhlcvCsvReader(
        shared_formats / "yfinance_csv/4063-T-1d-bad-div.csv", symbol="4063.T"
    ).read_checked()
    assert tokyo.rows.height == 667 and tokyo.rows["ts"][0] == utc(2022, 1, 4)  # +09:00
    split_day = tokyo.actions.filter(pl.col("ts") == utc(2023, 3, 30))
    assert dict(split_day.select("action", "value").iter_rows()) == {
        "split": 5.0,
        "dividend": 275.0,
    }


def test_yfinance_hourly_converts_offsets_across_the_dst_change(shared_formats: Path):
    path = shared_formats / "yfinance_csv/ASAI-L-1h-bad-unit.csv"
    bars = OhlcvCsvReader(path, symbol="ASAI.L").read()
    assert bars.height == 20 and bars["timeframe"][0] == "1h"  # from the name
    assert bars["ts"][0] == utc(2024, 10, 21, 9)  # 10:00+01:00
    assert bars["ts"][-1] == utc(2024, 10, 30, 14)  # 14:00+00:00, after the UK change
    assert bars.filter(pl.col("volume") == 0).height == 7


def test_yfinance_file_names_do_not_tell_the_symbol(shared_formats: Path):
    """``SAND-1d-bad-div`` could be SAND, BAD or DIV: no guess, the user is asked."""
    path = shared_formats / "yfinance_csv/SAND-1d-bad-div.csv"
    assert infer_from_name(path) == (None, "1d")
    with pytest.raises(SourceDataError) as info:
        OhlcvCsvReader(path).read_checked()
    assert info.value.field == "symbol" and "mapping file" in info.value.reason


# -- pandas / backtesting.py index CSVs ----------------------------------------------------
def test_pandas_index_csvs_take_timeframe_from_bar_spacing(backtesting_data: Path):
    goog = backtesting_data / "GOOG.csv"
    assert goog.read_text().startswith(",Open,High,Low,Close,Volume")
    assert sniffed(goog) == "ohlcv_csv"
    bars = OhlcvCsvReader(goog).read()
    assert bars["symbol"][0] == "GOOG" and bars["timeframe"][0] == "1d"
    assert bars.height == 2148 and bars["ts"][0] == utc(2004, 8, 19)
    eurusd = OhlcvCsvReader(backtesting_data / "EURUSD.csv").read()
    assert eurusd["symbol"][0] == "EUR/USD" and eurusd["timeframe"][0] == "1h"
    assert eurusd["ts"][0] == utc(2017, 4, 19, 9)


def test_monthly_bars_are_refused_with_the_reason(backtesting_data: Path):
    with pytest.raises(SourceDataError) as info:
        OhlcvCsvReader(backtesting_data / "BTCUSD.csv").read_checked()
    assert info.value.field == "timeframe" and "31 days" in info.value.reason


# -- CryptoDataDownload -------------------------------------------------------------------
def test_cryptodatadownload_export_matches_the_exchange_candles(
    shared_formats: Path, shared_data: Path
):
    path = shared_formats / "cryptodatadownload/Binance_ETHUSDT_d.csv"
    assert sniffed(path) == "ohlcv_csv"
    loaded = OhlcvCsvReader(path).read_checked()
    bars = loaded.rows
    # 1,409 rows, newest first, unix ms and s.0 mixed; 2017-12-18 twice; partial newest day
    assert bars["symbol"][0] == "ETH/USDT" and bars["timeframe"][0] == "1d"
    assert bars.height == 1407 and bars["ts"].is_sorted() and bars["ts"].is_unique().all()
    assert bars["ts"][0] == utc(2017, 8, 17) and bars["ts"][-1] == utc(2021, 6, 23)
    rejected = {r["row"]: r for r in loaded.rejected.iter_rows(named=True)}
    assert set(rejected) == {3, 1288}
    assert not rejected[3]["bad"] and "partial last candle" in rejected[3]["reason"]
    assert rejected[1288]["bad"] and "duplicate stamp" in rejected[1288]["reason"]
    assert rejected[1288]["raw"].startswith("1513555200.0,2017-12-18,ETH/USDT,707.64")
    # the exchange's own candles agree on every day of the current-style rows
    exchange = FreqtradeJsonReader(shared_data / "crypto/binance_spot_2017_2021/ETH_USDT-1d.json")
    joined = bars.join(exchange.read(), on="ts", suffix="_x").filter(
        pl.col("ts") >= utc(2017, 12, 18)
    )
    assert joined.height == 1262
    for col in ("open", "close", "volume"):
        assert (joined[col] == joined[f"{col}_x"]).all(), col
    # quote volume / base volume gives the vwap
    day = bars.filter(pl.col("ts") == utc(2021, 6, 23)).row(0, named=True)
    assert day["trades"] == 1141790 and day["low"] <= day["vwap"] <= day["high"]


def test_cryptodatadownload_legacy_layout(shared_formats: Path):
    path = shared_formats / "cryptodatadownload/Binance_BTCUSDT_d_legacy-format_2020-09-07.csv"
    found = sniff_file(path)
    assert found is not None and found[1].symbol == "BTCUSDT"  # from the Symbol column
    loaded = OhlcvCsvReader(path, symbol=found[1].symbol).read_checked()
    assert loaded.rows["symbol"][0] == "BTC/USDT" and loaded.rows.height == 1105  # CRLF
    ((row, reason),) = loaded.rejected.select("row", "reason").rows()
    assert row == 3 and "created on 2020-09-07" in reason  # the banner dates the file
    missing = pl.datetime_range(utc(2019, 3, 20), utc(2019, 3, 31), "1d", eager=True)
    assert not set(missing) & set(loaded.rows["ts"])  # real gaps stay gaps


# -- Google Finance and any-order aliases (derived from real rows) --------------------------
def test_google_finance_dates_and_dashes(tmp_path: Path, shared_data: Path):
    lines = (shared_data / "equities/daily/orcl-1995-2014.txt").read_text().splitlines()[1:41]
    out = ["Date,Open,High,Low,Close,Volume"]
    for line in reversed(lines):  # Google exports are newest first
        date, o, h, low, c, _, v = line.split(",")
        day = datetime.strptime(date, "%Y-%m-%d").strftime("%d-%b-%y")
        out.append(",".join([day, o, h, low, c, v]))
    out[5] = out[5].replace(out[5].split(",")[1], "-", 1)  # an unknown open
    out[9] += ",0"  # a row with a field too many
    path = tmp_path / "orcl.csv"
    path.write_text("\n".join(out) + "\n\n\n")  # trailing blank lines
    assert sniffed(path) == "ohlcv_csv"
    loaded = OhlcvCsvReader(path).read_checked()
    assert loaded.rows.height == 38 and loaded.rows["ts"][0] == utc(1995, 1, 3)
    (missing, ragged) = loaded.rejected.select("row", "field", "reason").rows()
    assert missing[:2] == (6, "open") and "missing" in missing[2]
    assert ragged == (10, None, "expected 6 fields like the header, found 7")


def test_aliases_in_any_order_mixed_times_and_a_symbol_column(tmp_path: Path, shared_data: Path):
    rows = json.loads((shared_data / "crypto/binance_spot_2023/ETH_USDT-1h.json").read_bytes())
    out = ["Close Price;vol;LOW;Open Time;HIGH;o;Ticker"]
    for i, (t, o, h, low, c, v) in enumerate(rows[:48]):
        when = datetime.fromtimestamp(t / 1000, UTC)
        stamp = (  # one column, four ways: ms, s, µs epochs, ISO with Z
            str(t),
            str(t // 1000),
            str(t * 1000),
            when.strftime("%Y-%m-%dT%H:%M:%SZ"),
        )[i % 4]
        out.append(";".join(str(x) for x in (c, v, low, stamp, h, o, "ethusdt")))
    path = tmp_path / "export.csv"  # the name says nothing
    path.write_text("\n".join(out) + "\n")
    found = sniff_file(path)
    assert found is not None and found[0].format == "ohlcv_csv"
    bars = OhlcvCsvReader(path, symbol=found[1].symbol).read()
    assert bars["symbol"][0] == "ETH/USDT" and bars["timeframe"][0] == "1h"  # from spacing
    expected = FreqtradeJsonReader(shared_data / "crypto/binance_spot_2023/ETH_USDT-1h.json")
    assert bars.drop("source").equals(expected.read().head(48).drop("source"))


def test_mixed_date_layouts_in_one_column(tmp_path: Path, shared_data: Path):
    lines = (shared_data / "equities/daily/orcl-1995-2014.txt").read_text().splitlines()[1:21]
    layouts = ("%Y-%m-%d", "%m/%d/%Y", "%d-%b-%Y", "%Y%m%d")
    out = ["Date,Open,High,Low,Close,Volume"]
    for i, line in enumerate(lines):
        date, o, h, low, c, _, v = line.split(",")
        day = datetime.strptime(date, "%Y-%m-%d").strftime(layouts[i % 4])
        out.append(",".join([day, o, h, low, c, v]))
    path = tmp_path / "ORCL_day.csv"
    path.write_text("\n".join(out))
    bars = OhlcvCsvReader(path).read()
    assert bars["timeframe"][0] == "1d"  # `day` in the name
    days = [datetime.strptime(line.split(",")[0], "%Y-%m-%d") for line in lines]
    assert bars["ts"].to_list() == [d.replace(tzinfo=UTC) for d in days]


@pytest.mark.parametrize(
    ("name", "timeframe"),
    [
        ("Binance_ETHUSDT_d.csv", "1d"),
        ("ETHUSDT-day.csv", "1d"),
        ("SPY_hour.csv", "1h"),
        ("SPY-1h.csv", "1h"),
        ("BTCUSD_15m.csv", "15m"),
        ("BTCUSD_1hr.csv", "1h"),
        ("BTCUSD_15min.csv", "15m"),
    ],
)
def test_timeframe_from_file_name(name, timeframe):
    assert infer_from_name(name)[1] == timeframe


# -- ticks --------------------------------------------------------------------------------
def test_bitcoincharts_trade_files(shared_formats: Path):
    kraken = shared_formats / "ticks_csv/krakenGBP.csv"
    assert sniffed(kraken) == "bitcoincharts_csv"
    ticks = BitcoinchartsCsvReader(kraken).read()
    assert ticks.height == 24_715 and ticks["symbol"][0] == "BTC/GBP"
    assert ticks["trade_id"].is_unique().all()  # 630 identical rows are separate fills
    assert ticks["ts"][0] == utc(2017, 6, 11, 8, 6, 21)  # epoch seconds are UTC
    assert ticks["ts"][-1] == utc(2017, 7, 17, 23, 1, 31)
    assert ticks["side"].null_count() == ticks.height
    coinbase = BitcoinchartsCsvReader(shared_formats / "ticks_csv/coinbaseUSD-small.csv").read()
    assert coinbase.height == 100 and coinbase["symbol"][0] == "BTC/USD"
    assert coinbase["price"].min() == 270.35 and coinbase["price"].max() == 398.0


@pytest.fixture(scope="module")
def kraken_rows(shared_formats: Path) -> list[tuple[int, str, str]]:
    lines = (shared_formats / "ticks_csv/krakenGBP.csv").read_text().splitlines()[:200]
    return [(int(t), p, a) for t, p, a in (line.split(",") for line in lines)]


def test_trades_with_microsecond_ids(tmp_path: Path, kraken_rows):
    out = ["id,price,amount,type"]
    for i, (t, p, a) in enumerate(kraken_rows):
        out.append(f"{t * 1_000_000 + i % 7},{p},{a},{'buy' if i % 3 else 'sell'}")
    path = tmp_path / "BTCGBP_trades.csv"
    path.write_text("\n".join(out) + "\n")
    assert sniffed(path) == "trades_csv"
    ticks = TradesCsvReader(path).read()
    assert ticks.height == 200 and ticks["symbol"][0] == "BTC/GBP"
    assert ticks["ts"][0] == utc(2017, 6, 11, 8, 6, 21)  # the id is the time in µs
    assert ticks["trade_id"][0] == str(kraken_rows[0][0] * 1_000_000)
    assert set(ticks["side"]) == {"buy", "sell"}


def test_tardis_csv_gz(tmp_path: Path, kraken_rows):
    out = ["exchange,symbol,timestamp,local_timestamp,id,side,price,amount"]
    for i, (t, p, a) in enumerate(kraken_rows):
        side = ("buy", "sell", "unknown")[i % 3]
        out.append(f"kraken,BTCGBP,{t * 1_000_000},{t * 1_000_000 + 812},{900 + i},{side},{p},{a}")
    path = tmp_path / "kraken_trades_2017-06-11_BTCGBP.csv.gz"
    path.write_bytes(gzip.compress(("\n".join(out) + "\n").encode()))
    found = sniff_file(path)
    assert found is not None and found[0].format == "trades_csv"
    ticks = TradesCsvReader(path, symbol=found[1].symbol).read()
    assert ticks.height == 200 and ticks["symbol"][0] == "BTC/GBP"
    assert ticks["side"].null_count() == 200 // 3 + (200 % 3 > 2)  # "unknown" is not known
    assert ticks["ts"][0] == utc(2017, 6, 11, 8, 6, 21)


def test_ccxt_trade_dicts(tmp_path: Path, kraken_rows):
    trades = [
        {
            "info": {"raw": [p, a, t]},
            "id": None if i % 5 == 0 else str(10_000 + i),
            "timestamp": t * 1000,
            "datetime": datetime.fromtimestamp(t, UTC).strftime("%Y-%m-%dT%H:%M:%S.000Z"),
            "symbol": "BTC/GBP",
            "order": None,
            "type": None,
            "side": "sell" if i % 2 else "buy",
            "takerOrMaker": None,
            "price": float(p),
            "amount": float(a),
            "cost": float(p) * float(a),
            "fee": None,
        }
        for i, (t, p, a) in enumerate(kraken_rows)
    ]
    trades[7]["timestamp"] = None  # ccxt leaves it null at times: the datetime says
    path = tmp_path / "kraken-trades.json"
    path.write_text(json.dumps(trades))
    found = sniff_file(path)
    assert found is not None and found[0].format == "ccxt_trades_json"
    assert found[1].symbol == "BTC/GBP"
    ticks = CcxtTradesJsonReader(path, symbol=found[1].symbol).read()
    assert ticks.height == 200 and ticks["trade_id"].is_unique().all()
    seventh = ticks.filter(pl.col("trade_id") == "10007")
    assert seventh["ts"][0] == datetime.fromtimestamp(kraken_rows[7][0], UTC)


# -- corporate actions reach the split adjustment -----------------------------------------
def test_declared_split_lands_as_an_action_and_adjusts_staging(tmp_path: Path, shared_formats):
    """BAC's raw 2004 bars (QuantConnect, unadjusted) written as a yfinance CSV whose
    ``Stock Splits`` column declares the 2-for-1 split of 2004-08-30."""
    from trading_assets.bars.resample import build_staging_bars
    from trading_assets.bars.splits import split_adjust
    from trading_assets.markets import market_of
    from trading_assets.sources.ingest import load_new_items
    from trading_assets.sources.local_folder import LocalFolderSource
    from trading_assets.warehouse.connection import connect
    from trading_assets.warehouse.prices import read_raw_prices, read_split_actions, write_ingest

    lines = ["Date,Open,High,Low,Close,Adj Close,Volume,Dividends,Stock Splits"]
    for line in (shared_formats / "raw_splits/lean_bac_daily.csv").read_text().splitlines():
        stamp, *prices, volume = line.split(",")
        if not "20040601" <= stamp[:8] <= "20041231":
            continue
        o, h, low, c = (int(p) / 10_000 for p in prices)
        day = datetime.strptime(stamp[:8], "%Y%m%d").strftime("%Y-%m-%d")
        split = "2.0" if day == "2004-08-30" else "0.0"
        lines.append(f"{day} 00:00:00-04:00,{o},{h},{low},{c},{c},{volume},0.0,{split}")
    folder = tmp_path / "data"
    folder.mkdir()
    (folder / "BAC-1d.csv").write_text("\n".join(lines) + "\n")
    (item,) = LocalFolderSource(folder).items()
    batch = load_new_items([item], "bars", {})
    assert batch.items["status"].to_list() == ["landed"]
    assert batch.actions.select("ts", "action", "value").rows() == [
        (utc(2004, 8, 30), "split", 2.0)
    ]
    with connect(tmp_path / "w.duckdb") as con:
        write_ingest(con, "bars", "BAC", batch.rows, batch.items, actions=batch.actions)
        actions = read_split_actions(con, "BAC")
        raw, ticks = read_raw_prices(con, "BAC")
    assert actions is not None and actions.rows() == [(datetime(2004, 8, 30).date(), 2.0)]
    staging, _ = build_staging_bars(raw, ticks, market_of("BAC"), ["1d"])
    adjusted, report = split_adjust(staging, "BAC", actions)
    (split,) = report.splits
    assert (split.method, split.status, split.ratio) == ("corporate_action", "applied", 2.0)
    before = adjusted.filter(pl.col("ts") == utc(2004, 8, 27))["close"][0]
    assert before == pytest.approx(89.03 / 2)  # the pre-split close, in post-split terms
