"""Bad input: every case is a SourceDataError naming the file and the row or field.

Small temp files are derived from real rows of ../shared/data where sensible.
"""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import polars as pl
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from trading_assets.errors import SourceDataError
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
)

ETH_1D = "crypto/binance_spot_2017_2021/ETH_USDT-1d.json"
ETH_1M = "crypto/binance_spot_2023/ETH_USDT-1m.json"
ORCL = "equities/daily/orcl-1995-2014.txt"
YAHOO_1M = "equities/minute/yahoo_snapshots_2025-12/SPY/1m_20251226.json"


@pytest.fixture(scope="module")
def eth_rows(shared_data) -> list[list]:
    """The first 6 real ETH/USDT daily candles."""
    return json.loads((shared_data / ETH_1D).read_bytes())[:6]


@pytest.fixture(scope="module")
def eth_1m_rows(shared_data) -> list[list]:
    return json.loads((shared_data / ETH_1M).read_bytes())[:6]


@pytest.fixture(scope="module")
def orcl_lines(shared_data) -> list[str]:
    """Header + 5 real ORCL lines."""
    return (shared_data / ORCL).read_text().splitlines()[:6]


def write_json(path: Path, rows: list) -> Path:
    path.write_text(json.dumps(rows, separators=(",", ":")))
    return path


def error_of(reader) -> SourceDataError:
    with pytest.raises(SourceDataError) as info:
        reader.read()
    err = info.value
    assert err.origin == str(reader.path)
    assert str(reader.path) in str(err)
    return err


# -- empty files ----------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("cls", "name"),
    [
        (FreqtradeJsonReader, "ETH_USDT-1m.json"),
        (YahooCsvReader, "orcl.csv"),
        (YahooChartReader, "SPY_1d.json"),
        (LeanCsvReader, "lean_spy_daily.csv"),
        (NinjaTraderReader, "nt-spy-minute.csv"),
        (FreqtradeTradesCsvReader, "ETHUSDT_trades.csv"),
        (FreqtradeTradesJsonReader, "XRP_ETH-trades.json"),
        (BinanceTradesParquetReader, "BTCUSDT_trades.parquet"),
        (QuotesParquetReader, "BTCUSDT_quotes.parquet"),
    ],
)
def test_empty_file(tmp_path, cls, name):
    path = tmp_path / name
    path.write_bytes(b"")
    err = error_of(cls(path))
    assert "empty" in err.reason


def test_empty_json_array(tmp_path):
    err = error_of(FreqtradeJsonReader(write_json(tmp_path / "ETH_USDT-1d.json", [])))
    assert "no rows" in err.reason


def test_header_only_csv(tmp_path, orcl_lines):
    path = tmp_path / "orcl.csv"
    path.write_text(orcl_lines[0] + "\n")
    assert "no rows" in error_of(YahooCsvReader(path)).reason


def test_empty_gzip(tmp_path):
    path = tmp_path / "XRP_ETH-trades.json.gz"
    path.write_bytes(gzip.compress(b""))
    assert "empty" in error_of(FreqtradeTradesJsonReader(path)).reason


# -- truncated / malformed ------------------------------------------------------------------
def test_truncated_json(tmp_path, shared_data):
    data = (shared_data / ETH_1D).read_bytes()
    path = tmp_path / "ETH_USDT-1d.json"
    path.write_bytes(data[:1000])  # cut inside a row, as an interrupted download does
    err = error_of(FreqtradeJsonReader(path))
    assert "truncated" in err.reason
    assert err.row == data[:1000].count(b"[") - 1  # the element being written


def test_truncated_yahoo_chart(tmp_path, shared_data):
    data = (shared_data / YAHOO_1M).read_bytes()
    path = tmp_path / "1m_20251226.json"
    path.write_bytes(data[: len(data) // 2])
    err = error_of(YahooChartReader(path))
    assert "truncated" in err.reason and err.row is not None


def test_truncated_gzip(tmp_path, shared_data):
    data = (shared_data / "crypto/ticks/binance_XRP_ETH-trades_2019-10.json.gz").read_bytes()
    path = tmp_path / "XRP_ETH-trades.json.gz"
    path.write_bytes(data[: len(data) // 2])
    assert "gzip" in error_of(FreqtradeTradesJsonReader(path)).reason


def test_json_object_instead_of_rows(tmp_path):
    path = tmp_path / "ETH_USDT-1d.json"
    path.write_text('{"rows": []}')
    assert "array" in error_of(FreqtradeJsonReader(path)).reason


# -- a "-" where a number should be --------------------------------------------------------
def test_dash_in_freqtrade_json(tmp_path, eth_rows):
    text = json.dumps(eth_rows, separators=(",", ":"))
    high = json.dumps(eth_rows[2][2])
    assert text.count(f",{high},") == 1
    path = tmp_path / "ETH_USDT-1d.json"
    path.write_text(text.replace(f",{high},", ",-,"))  # not even valid JSON
    err = error_of(FreqtradeJsonReader(path))
    assert (err.row, err.field) == (3, "high")
    assert "'-'" in err.reason


def test_dash_string_in_freqtrade_json(tmp_path, eth_rows):
    rows = [list(r) for r in eth_rows]
    rows[4][4] = "-"
    err = error_of(FreqtradeJsonReader(write_json(tmp_path / "ETH_USDT-1d.json", rows)))
    assert (err.row, err.field) == (5, "close")


def test_dash_in_yahoo_csv(tmp_path, orcl_lines):
    lines = list(orcl_lines)
    fields = lines[3].split(",")
    fields[4] = "-"  # Close
    lines[3] = ",".join(fields)
    path = tmp_path / "orcl.csv"
    path.write_text("\n".join(lines) + "\n")
    err = error_of(YahooCsvReader(path))
    assert (err.row, err.field) == (4, "close")  # line 4 of the file (header is line 1)


def test_yahoo_null_cell(tmp_path, orcl_lines):
    lines = list(orcl_lines)
    lines[2] = lines[2].split(",")[0] + ",null,null,null,null,null,null"
    path = tmp_path / "orcl.csv"
    path.write_text("\n".join(lines) + "\n")
    err = error_of(YahooCsvReader(path))
    assert (err.row, err.field) == (3, "open")


def test_dash_in_ninjatrader(tmp_path, shared_data):
    lines = (shared_data / "equities/minute/nt-spy-minute-2011.csv").read_bytes().split(b"\r\n")[:5]
    fields = lines[1].split(b";")
    fields[2] = b"-"
    lines[1] = b";".join(fields)
    path = tmp_path / "nt-spy-minute.csv"
    path.write_bytes(b"\r\n".join(lines))
    err = error_of(NinjaTraderReader(path))
    assert (err.row, err.field) == (2, "high")


def test_dash_in_yahoo_chart(tmp_path, shared_data):
    doc = json.loads((shared_data / YAHOO_1M).read_bytes())
    doc["bars"] = doc["bars"][:5]
    doc["bars"][1]["o"] = "-"
    path = tmp_path / "1m_20251226.json"
    path.write_text(json.dumps(doc))
    err = error_of(YahooChartReader(path))
    assert (err.row, err.field) == (2, "o")


def test_wrong_field_count(tmp_path, shared_data):
    lines = (shared_data / "equities/daily/lean_spy_daily.csv").read_text().splitlines()[:4]
    lines[2] += ",123"
    path = tmp_path / "lean_spy_daily.csv"
    path.write_text("\n".join(lines))
    err = error_of(LeanCsvReader(path))
    assert err.row == 3 and "fields" in err.reason


# -- order and duplicates -------------------------------------------------------------------
def test_newest_first_is_sorted(tmp_path, eth_rows):
    (tmp_path / "new").mkdir()
    (tmp_path / "old").mkdir()
    newest_first = write_json(tmp_path / "new" / "ETH_USDT-1d.json", eth_rows[::-1])
    oldest_first = write_json(tmp_path / "old" / "ETH_USDT-1d.json", eth_rows)
    a = FreqtradeJsonReader(newest_first).read()
    assert a.equals(FreqtradeJsonReader(oldest_first).read())
    assert a["ts"].is_sorted()


def test_newest_first_csv(tmp_path, orcl_lines):
    path = tmp_path / "orcl.csv"
    path.write_text("\n".join([orcl_lines[0], *orcl_lines[:0:-1]]) + "\n")
    frame = YahooCsvReader(path).read()
    assert frame.height == 5 and frame["ts"].is_sorted()


def test_exact_duplicates_are_dropped(tmp_path, eth_rows):
    rows = [*eth_rows[:3], eth_rows[2], *eth_rows[3:]]
    frame = FreqtradeJsonReader(write_json(tmp_path / "ETH_USDT-1d.json", rows)).read()
    assert frame.height == len(eth_rows)


def test_conflicting_duplicates_name_both_rows(tmp_path, eth_rows):
    changed = list(eth_rows[2])
    changed[4] = changed[4] + 1.0
    rows = [*eth_rows[:3], changed, *eth_rows[3:]]
    err = error_of(FreqtradeJsonReader(write_json(tmp_path / "ETH_USDT-1d.json", rows)))
    assert "rows 3 and 4" in err.reason and err.row == 4


def test_conflicting_duplicate_trades(tmp_path, shared_data):
    lines = (shared_data / "crypto/ticks/ETHUSDT_trades_2023-02-02.csv").read_text().splitlines()
    dup = lines[3].split(",")
    dup[5] = "1700.0"  # same id, other price
    path = tmp_path / "ETHUSDT_trades.csv"
    path.write_text("\n".join([*lines[:6], ",".join(dup)]) + "\n")
    err = error_of(FreqtradeTradesCsvReader(path))
    assert "rows 4 and 7" in err.reason


# -- epoch units, grid ----------------------------------------------------------------------
def test_epoch_unit_switch(tmp_path, eth_rows):
    rows = [list(r) for r in eth_rows]
    rows[3][0] = rows[3][0] // 1000  # seconds among milliseconds
    err = error_of(FreqtradeJsonReader(write_json(tmp_path / "ETH_USDT-1d.json", rows)))
    assert (err.row, err.field) == (4, "ts")
    assert "switches from ms" in err.reason


def test_epoch_unit_switch_in_trades(tmp_path, shared_data):
    lines = (shared_data / "crypto/ticks/ETHUSDT_trades_2023-02-02.csv").read_text().splitlines()
    fields = lines[5].split(",")
    fields[1] = str(int(fields[1]) // 1000)
    lines[5] = ",".join(fields)
    path = tmp_path / "ETHUSDT_trades.csv"
    path.write_text("\n".join(lines[:8]) + "\n")
    err = error_of(FreqtradeTradesCsvReader(path))
    assert (err.row, err.field) == (6, "timestamp")


def test_off_grid_timestamp(tmp_path, eth_1m_rows):
    rows = [list(r) for r in eth_1m_rows]
    rows[2][0] += 30_000  # 30 s past the minute
    err = error_of(FreqtradeJsonReader(write_json(tmp_path / "ETH_USDT-1m.json", rows)))
    assert (err.row, err.field) == (3, "ts")
    assert "off the 1m grid" in err.reason


def test_off_grid_daily_bar(tmp_path, eth_rows):
    rows = [list(r) for r in eth_rows]
    rows[1][0] += 3_600_000  # 01:00 UTC
    err = error_of(FreqtradeJsonReader(write_json(tmp_path / "ETH_USDT-1d.json", rows)))
    assert (err.row, err.field) == (2, "ts")


def test_yahoo_chart_off_grid_bar_inside_is_an_error(tmp_path, shared_data):
    doc = json.loads((shared_data / YAHOO_1M).read_bytes())
    bars = doc["bars"][:10]
    bars[4] = {**bars[4], "t": bars[4]["t"].replace(":00.000Z", ":30.000Z")}  # no twin
    doc["bars"] = bars
    path = tmp_path / "1m_20251226.json"
    path.write_text(json.dumps(doc))
    err = error_of(YahooChartReader(path))
    assert (err.row, err.field) == (5, "ts")


def test_yahoo_chart_trailing_partial_bar_dropped(tmp_path, shared_data):
    doc = json.loads((shared_data / YAHOO_1M).read_bytes())
    bars = doc["bars"][:10]
    bars[-1] = {**bars[-1], "t": bars[-1]["t"].replace(":00.000Z", ":42.000Z")}
    doc["bars"] = bars
    path = tmp_path / "1m_20251226.json"
    path.write_text(json.dumps(doc))
    assert YahooChartReader(path).read().height == 9


# -- prices ---------------------------------------------------------------------------------
@pytest.mark.parametrize(("column", "index", "value"), [("open", 1, 0.0), ("close", 4, -5.0)])
def test_zero_or_negative_price(tmp_path, eth_rows, column, index, value):
    rows = [list(r) for r in eth_rows]
    rows[2][index] = value
    err = error_of(FreqtradeJsonReader(write_json(tmp_path / "ETH_USDT-1d.json", rows)))
    assert (err.row, err.field) == (3, column)
    assert "> 0" in err.reason


def test_zero_price_in_lean(tmp_path, shared_data):
    lines = (shared_data / "equities/daily/lean_spy_daily.csv").read_text().splitlines()[:5]
    fields = lines[3].split(",")
    fields[3] = "0"  # low
    lines[3] = ",".join(fields)
    path = tmp_path / "lean_spy_daily.csv"
    path.write_text("\n".join(lines))
    err = error_of(LeanCsvReader(path))
    assert (err.row, err.field) == (4, "low")


def test_high_below_low(tmp_path, eth_rows):
    rows = [list(r) for r in eth_rows]
    rows[1][2], rows[1][3] = rows[1][3], rows[1][2]
    err = error_of(FreqtradeJsonReader(write_json(tmp_path / "ETH_USDT-1d.json", rows)))
    assert (err.row, err.field) == (2, "high")
    assert "below low" in err.reason


def test_quote_bar_high_below_low(tmp_path, shared_data):
    folder = shared_data / "equities/minute/lean_spy_2013-10"
    lines = (folder / "20131004_spy_minute_quote.csv").read_text().splitlines()[:5]
    fields = lines[2].split(",")
    fields[7], fields[8] = fields[8], str(int(fields[7]) + 100)  # ask high < ask low
    lines[2] = ",".join(fields)
    path = tmp_path / "20131004_spy_minute_quote.csv"
    path.write_text("\n".join(lines))
    err = error_of(LeanCsvReader(path))
    assert (err.row, err.field) == (3, "ask_high")


# -- symbols --------------------------------------------------------------------------------
def test_unknown_symbol(tmp_path, eth_rows):
    path = write_json(tmp_path / "candles-1d.json", eth_rows)
    err = error_of(FreqtradeJsonReader(path))
    assert err.field == "symbol"
    assert "mapping file" in err.reason


def test_explicit_symbol_rescues_unknown(tmp_path, eth_rows):
    path = write_json(tmp_path / "candles-1d.json", eth_rows)
    frame = FreqtradeJsonReader(path, symbol="ETH/USDT").read()
    assert frame["symbol"].unique().to_list() == ["ETH/USDT"]


def test_unknown_timeframe(tmp_path, eth_rows):
    path = write_json(tmp_path / "ETH_USDT.json", eth_rows)
    err = error_of(FreqtradeJsonReader(path))
    assert err.field == "timeframe" and "mapping file" in err.reason


def test_symbol_contradicting_content(tmp_path, shared_data):
    doc = json.loads((shared_data / YAHOO_1M).read_bytes())
    path = tmp_path / "1m_20251226.json"
    path.write_text(json.dumps(doc))
    err = error_of(YahooChartReader(path, symbol="AAPL"))
    assert err.field == "symbol" and "'SPY'" in err.reason


# -- encoding -------------------------------------------------------------------------------
def test_non_utf8_csv(tmp_path, orcl_lines):
    text = ("\n".join(orcl_lines) + "\n").encode()
    offset = text.index(b"\n", text.index(b"\n", text.index(b"\n") + 1) + 1) + 3  # line 4
    data = text[:offset] + b"\xe9" + text[offset:]
    path = tmp_path / "orcl.csv"
    path.write_bytes(data)
    err = error_of(YahooCsvReader(path))
    assert err.row == 4
    assert f"byte offset {offset}" in err.reason and "0xe9" in err.reason


def test_non_utf8_json(tmp_path, eth_rows):
    text = json.dumps(eth_rows, separators=(",", ":")).encode()
    offset = text.index(b"],[", text.index(b"],[") + 1) + 4  # inside element 3
    path = tmp_path / "ETH_USDT-1d.json"
    path.write_bytes(text[:offset] + b"\xff" + text[offset:])
    err = error_of(FreqtradeJsonReader(path))
    assert err.row == 3 and f"byte offset {offset}" in err.reason


def test_latin1_file_is_not_mangled(tmp_path, shared_data):
    """A real ISO-8859-1 file named like a price file is refused, not silently decoded."""
    data = (shared_data / "sentiment/financial_phrasebank/Sentences_AllAgree.txt").read_bytes()
    path = tmp_path / "spy-daily.csv"
    path.write_bytes(b"Date,Open,High,Low,Close,Volume\n" + data)
    err = error_of(YahooCsvReader(path))
    assert "not valid UTF-8" in err.reason and err.row is not None


# -- ticks and quotes -----------------------------------------------------------------------
def test_bad_buyer_maker(tmp_path, shared_data):
    table = pq.read_table(shared_data / "crypto/ticks/binance_BTCUSDT_trades_2021-01-08.parquet")
    frame = pl.from_arrow(table).head(5)
    frame = frame.with_columns(
        pl.when(pl.int_range(pl.len()) == 2)
        .then(pl.lit("maybe"))
        .otherwise("buyer_maker")
        .alias("buyer_maker")
    )
    path = tmp_path / "binance_BTCUSDT_trades.parquet"
    frame.write_parquet(path)
    err = error_of(BinanceTradesParquetReader(path))
    assert (err.row, err.field) == (3, "buyer_maker")


def test_missing_parquet_column(tmp_path):
    path = tmp_path / "binance_BTCUSDT_trades.parquet"
    pq.write_table(pa.table({"timestamp": [1], "price": [1.0]}), path)
    err = error_of(BinanceTradesParquetReader(path))
    assert err.field == "trade_id"


def test_not_parquet(tmp_path):
    path = tmp_path / "binance_BTCUSDT_quotes.parquet"
    path.write_bytes(b"PAR1 this is not parquet")
    assert "Parquet" in error_of(QuotesParquetReader(path)).reason


def test_negative_quote_size(tmp_path, shared_data):
    frame = pl.read_parquet(shared_data / "crypto/ticks/binance_BTCUSDT_quotes_2021-01-08.parquet")
    frame = frame.head(6).with_columns(
        pl.when(pl.int_range(pl.len()) == 4).then(-1.0).otherwise("bid_size").alias("bid_size")
    )
    path = tmp_path / "binance_BTCUSDT_quotes.parquet"
    frame.write_parquet(path)
    err = error_of(QuotesParquetReader(path))
    assert (err.row, err.field) == (5, "bid_size")


def test_quotes_newest_first_keep_same_timestamp_order(tmp_path, shared_data):
    source = shared_data / "crypto/ticks/binance_BTCUSDT_quotes_2021-01-08.parquet"
    original = QuotesParquetReader(source).read()
    path = tmp_path / "binance_BTCUSDT_quotes.parquet"
    pl.read_parquet(source).reverse().write_parquet(path)
    assert QuotesParquetReader(path).read().drop("source").equals(original.drop("source"))
