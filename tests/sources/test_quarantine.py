"""Row-level quarantine on real files: bad rows are set aside with file, row, field, reason
and raw text while the good rows land; a file is rejected whole only when it cannot be read
or too many of its rows are bad."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import polars as pl
import pytest

from trading_assets.errors import SourceDataError
from trading_assets.sources.files import (
    FreqtradeJsonReader,
    OhlcvCsvReader,
    YahooChartReader,
    YahooCsvReader,
)
from trading_assets.sources.ingest import load_new_items
from trading_assets.sources.local_folder import LocalFolderSource
from trading_assets.sources.states import LANDED, PARTLY_LANDED, REJECTED
from trading_assets.warehouse.connection import connect
from trading_assets.warehouse.prices import write_ingest

BTC_1H = "crypto/binance_spot_2023/BTC_USDT-1h.json"
ETH_1D = "crypto/binance_spot_2017_2021/ETH_USDT-1d.json"
NOW = datetime(2024, 1, 2, tzinfo=UTC)


def utc(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=UTC)


def write_rows(path: Path, rows: list) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(rows, separators=(",", ":")))
    return path


@pytest.fixture(scope="module")
def btc_rows(shared_data: Path) -> list[list]:
    return json.loads((shared_data / BTC_1H).read_bytes())


def outage(rows: list[list], start: int, count: int) -> list[list]:
    """``count`` candles from ``start`` stamped 2-6 minutes past the hour, as an exchange
    does for a while after an outage."""
    out = [list(r) for r in rows]
    for i in range(start, start + count):
        out[i][0] += (2 + i % 5) * 60_000
    return out


def test_a_few_off_grid_candles_are_set_aside_and_the_rest_lands(tmp_path, btc_rows):
    path = write_rows(tmp_path / "data/BTC_USDT-1h.json", outage(btc_rows, 300, 24))
    (item,) = LocalFolderSource(tmp_path / "data").items()
    batch = load_new_items([item], "bars", {}, now=NOW)
    assert batch.rows.height == 719 - 24 and batch.items["status"].to_list() == [PARTLY_LANDED]
    (problem,) = batch.failures
    assert problem["state"] == PARTLY_LANDED and problem["severity"] == "WARN"
    assert "24 of 719 rows" in problem["reason"] and "off the 1h grid" in problem["reason"]
    rejected = batch.rejected_rows
    assert rejected["row"].to_list() == list(range(301, 325))  # 1-based array elements
    assert set(rejected["field"]) == {"ts"} and rejected["bad"].all()
    assert rejected["origin"].unique().to_list() == [str(path)]
    assert json.loads(rejected["raw"][0]) == outage(btc_rows, 300, 24)[300]

    with connect(tmp_path / "w.duckdb") as con:
        write_ingest(con, "bars", "BTC/USDT", batch.rows, batch.items, rejected, batch.actions)
        stored = con.sql("SELECT row, field, reason, raw FROM ops.rejected_rows").pl()
        assert stored.height == 24 and "is off the 1h grid" in stored["reason"][0]
        # the fixed file is read again: its rejected rows are replaced (none left)
        write_rows(path, btc_rows)
        (item,) = LocalFolderSource(tmp_path / "data").items()
        fixed = load_new_items([item], "bars", {}, now=NOW)
        assert fixed.items["status"].to_list() == [LANDED] and fixed.rows.height == 719
        write_ingest(con, "bars", "BTC/USDT", fixed.rows, fixed.items, fixed.rejected_rows)
        assert con.execute("SELECT count(*) FROM ops.rejected_rows").fetchall() == [(0,)]


def test_too_many_bad_rows_reject_the_file_unless_the_share_allows(tmp_path, btc_rows):
    write_rows(tmp_path / "data/BTC_USDT-1h.json", outage(btc_rows, 100, 72))  # 10%
    (item,) = LocalFolderSource(tmp_path / "data").items()
    batch = load_new_items([item], "bars", {}, now=NOW)
    assert batch.rows.height == 0 and batch.items["status"].to_list() == [REJECTED]
    (problem,) = batch.failures
    assert problem["severity"] == "ERROR" and "72 of 719 rows are bad (10.0%" in problem["reason"]
    assert "max_bad_row_share" in problem["fix"]
    assert batch.rejected_rows.height == 72  # why it was rejected stays visible
    lenient = load_new_items([item], "bars", {}, now=NOW, max_bad_row_share=0.2)
    assert lenient.rows.height == 719 - 72
    assert lenient.items["status"].to_list() == [PARTLY_LANDED]


@pytest.mark.parametrize(
    ("index", "value", "field", "words"),
    [
        (2, None, "high", "OHLC inconsistent"),  # high between low and max(open, close)
        (3, 0.0, "low", "price must be > 0"),
        (4, -5.0, "close", "price must be > 0"),
    ],
)
def test_bad_prices_are_set_aside(tmp_path, shared_data, index, value, field, words):
    rows = json.loads((shared_data / ETH_1D).read_bytes())[:200]
    column = {"high": 2, "low": 3, "close": 4}[field]
    _, open_, _, low, close, _ = rows[50 + index]
    rows[50 + index][column] = (max(open_, close) + low) / 2 if value is None else value
    reader = FreqtradeJsonReader(write_rows(tmp_path / "ETH_USDT-1d.json", rows))
    loaded = reader.read_checked()
    assert loaded.rows.height == 199
    ((row, got_field, reason),) = loaded.rejected.select("row", "field", "reason").rows()
    assert row == 51 + index and words in reason
    assert got_field == ("high" if field == "high" else field)
    with pytest.raises(SourceDataError) as info:  # strict reading still refuses the file
        reader.read()
    assert info.value.row == 51 + index


def test_duplicate_stamp_keeps_the_first_row(tmp_path, shared_data):
    rows = json.loads((shared_data / ETH_1D).read_bytes())[:30]
    changed = list(rows[10])
    changed[5] += 1.0  # another volume
    rows.insert(11, changed)
    loaded = FreqtradeJsonReader(write_rows(tmp_path / "ETH_USDT-1d.json", rows)).read_checked()
    assert loaded.rows.height == 30
    assert loaded.rows["volume"][10] == rows[10][5]  # the first in file order is kept
    ((row, reason),) = loaded.rejected.select("row", "reason").rows()
    assert row == 12 and "duplicate stamp" in reason and "as row 11" in reason


def test_unparseable_cell_in_a_csv_is_set_aside(tmp_path, shared_data):
    lines = (shared_data / "equities/daily/orcl-1995-2014.txt").read_text().splitlines()[:60]
    fields = lines[7].split(",")
    fields[4] = "n/a"
    lines[7] = ",".join(fields)
    lines[20] += ",9999"  # a row with one field too many
    path = tmp_path / "orcl.csv"
    path.write_text("\n".join(lines) + "\n")
    loaded = YahooCsvReader(path).read_checked()
    assert loaded.rows.height == 57
    rejected = loaded.rejected.select("row", "field", "reason", "raw").rows()
    assert rejected[0][:3] == (8, "close", "'n/a' is not a number")
    assert rejected[1][0] == 21 and "expected 7 fields" in rejected[1][2]
    assert rejected[1][3] == lines[20]


def test_partial_candles_of_snapshots_are_held_back_not_bad(shared_data):
    path = shared_data / "equities/minute/yahoo_snapshots_2025-12/SPY/1m_20251226.json"
    (item,) = [i for i in LocalFolderSource(path.parent).items() if i.origin == str(path)]
    batch = load_new_items([item], "bars", {}, now=NOW)
    assert batch.items["status"].to_list() == [LANDED] and not batch.failures
    assert batch.rows.height == 507
    held = batch.rejected_rows
    assert held.height == 2 and not held["bad"].any()
    assert "partial last candle" in held.filter(pl.col("row") == 509)["reason"][0]
    assert "held back" in batch.items["error"][0]


def test_session_anchored_hourly_equity_bars_are_on_grid(shared_formats):
    loaded = YahooChartReader(shared_formats / "yahoo_hourly/AAPL_1h_20251226.json").read_checked()
    bars = loaded.rows
    assert bars.height == 700  # 702 bars, the last two were still forming when fetched
    assert not loaded.rejected["bad"].any() and loaded.rejected.height == 2
    opens = bars.filter(pl.col("ts").dt.minute() == 30)["ts"]
    assert opens[0] == utc(2025, 10, 23, 13, 30)  # 09:30 New York, summer time
    assert utc(2025, 11, 3, 14, 30) in set(opens)  # 09:30 New York after the DST change
    assert bars.filter(pl.col("ts").dt.minute() == 0).height == 400  # extended hours


def test_session_anchored_bars_in_a_csv_and_not_for_crypto(tmp_path, shared_formats):
    doc = json.loads((shared_formats / "yahoo_hourly/NVDA_1h_20251226.json").read_bytes())
    regular = [b for b in doc["bars"] if b["t"].endswith(":30:00.000Z")]
    lines = ["Datetime,Open,High,Low,Close,Adj Close,Volume,Dividends,Stock Splits"]
    for b in regular:
        t = datetime.strptime(b["t"], "%Y-%m-%dT%H:%M:%S.000Z").replace(tzinfo=UTC)
        local = t.astimezone(__import__("zoneinfo").ZoneInfo("America/New_York"))
        lines.append(
            f"{local.isoformat(sep=' ')},{b['o']},{b['h']},{b['l']},{b['c']},{b['c']},{b['v']},0,0"
        )
    (tmp_path / "NVDA-1h.csv").write_text("\n".join(lines) + "\n")
    equity = OhlcvCsvReader(tmp_path / "NVDA-1h.csv").read_checked()
    assert equity.rows.height == len(regular) and equity.rejected.height == 0
    # the same stamps for a crypto pair are off the clock grid: set aside
    (tmp_path / "NVDA_USDT-1h.csv").write_text("\n".join(lines) + "\n")
    crypto = OhlcvCsvReader(tmp_path / "NVDA_USDT-1h.csv").read_checked()
    assert crypto.rows.height == 0 and crypto.rejected.height == len(regular)
    assert "off the 1h grid" in crypto.rejected["reason"][0]
