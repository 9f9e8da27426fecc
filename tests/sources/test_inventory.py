"""Every file of a folder ends in exactly one state, with the reason and fix of each problem
(the logic behind ``ops/source_files`` and the closing summary of ``trading-assets run``)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from trading_assets.sources.ingest import load_new_items
from trading_assets.sources.inventory import (
    FILE_KIND,
    NOT_READ,
    file_report,
    list_files,
    unowned_rows,
)
from trading_assets.sources.local_folder import LocalFolderSource
from trading_assets.warehouse.connection import connect
from trading_assets.warehouse.prices import read_source_items, write_ingest, write_unowned_files

NOW = datetime(2024, 1, 2, tzinfo=UTC)


def messy_folder(root: Path, shared_data: Path, shared_formats: Path) -> Path:
    """Good, partly bad, unreadable, unknown-symbol, news and ignored files."""
    root.mkdir(parents=True)
    real = shared_data / "crypto/binance_spot_2023"
    (root / "ETH_USDT-1h.json").symlink_to(real / "ETH_USDT-1h.json")
    rows = json.loads((real / "BTC_USDT-1h.json").read_bytes())
    for i in range(100, 105):  # five candles stamped minutes off the hour
        rows[i][0] += 180_000
    (root / "BTC_USDT-1h.json").write_text(json.dumps(rows))
    (root / "SOL_USDT-1d.json").write_text(json.dumps(rows[:50])[:700])  # cut mid-download
    (root / "SAND-1d-bad-div.csv").symlink_to(shared_formats / "yfinance_csv/SAND-1d-bad-div.csv")
    first_news = sorted((shared_data / "news/yahoo_per_symbol_2025-12").glob("*news*.json"))[0]
    (root / first_news.name).symlink_to(first_news)
    (root / "notes.md").write_text("# where these files come from\n")
    return root


@pytest.fixture
def folder(tmp_path, shared_data, shared_formats) -> Path:
    return messy_folder(tmp_path / "data", shared_data, shared_formats)


def ingest_all(con, listing) -> None:
    for symbol in sorted({i.symbol for i in listing.items}):
        batch = load_new_items([i for i in listing.items if i.symbol == symbol], "bars", {}, NOW)
        write_ingest(con, "bars", symbol, batch.rows, batch.items, batch.rejected_rows)


def test_every_file_ends_in_one_state_with_reason_and_fix(folder, tmp_path):
    listing = list_files([LocalFolderSource(folder)])
    assert sorted(i.symbol for i in listing.items) == ["BTC/USDT", "ETH/USDT", "SOL/USDT"]
    with connect(tmp_path / "w.duckdb") as con:
        before = file_report(listing, read_source_items(con))
        assert before.counts[NOT_READ] == 3  # nothing ingested yet
        ingest_all(con, listing)
        write_unowned_files(con, unowned_rows(listing, NOW), FILE_KIND)
        stored = {r["origin"]: r for r in read_source_items(con).iter_rows(named=True)}
        report = file_report(listing, read_source_items(con))

    names = {Path(o).name: r["status"] for o, r in stored.items()}
    news_name = next(n for n in names if "news" in n)
    assert names == {
        "ETH_USDT-1h.json": "landed",
        "BTC_USDT-1h.json": "partly_landed",
        "SOL_USDT-1d.json": "rejected",
        "SAND-1d-bad-div.csv": "rejected",
        news_name: "ignored",
        "notes.md": "ignored",
    }
    assert "raw/news" in stored[str(folder / news_name)]["error"]
    assert report.counts == {"landed": 1, "partly_landed": 1, "rejected": 2, "ignored": 2}
    assert report.count_line() == "Files: 1 landed, 1 partly landed, 2 rejected, 2 ignored by rule"
    assert report.severity == "ERROR"
    lines = report.problem_lines()
    assert [line.split(" ", 2)[:2] for line in lines] == [
        ["WARN", "partly"],
        ["ERROR", "rejected"],
        ["ERROR", "rejected"],
    ]
    btc, sand, sol = lines
    assert "BTC_USDT-1h.json: 5 of 719 rows set aside" in btc and "row 101" in btc
    assert 'Fix: add [[files]] pattern = "SAND-1d-bad-div.csv" symbol = "<SYMBOL>"' in sand
    assert "SOL_USDT-1d.json: row 11: invalid JSON" in sol and "truncated" in sol
    assert "Fix: correct row 11 of the file" in sol


def test_recording_the_same_files_again_writes_nothing(folder, tmp_path):
    listing = list_files([LocalFolderSource(folder)])
    with connect(tmp_path / "w.duckdb") as con:
        first = write_unowned_files(con, unowned_rows(listing, NOW), FILE_KIND)
        later = datetime(2024, 1, 3, tzinfo=UTC)
        again = write_unowned_files(con, unowned_rows(listing, later), FILE_KIND)
        assert first.inserted == 3 and (again.inserted, again.updated, again.deleted) == (0, 0, 0)
        assert again.data_version == first.data_version
        (folder / "notes.md").unlink()  # a file that is gone leaves the record
        gone = write_unowned_files(
            con, unowned_rows(list_files([LocalFolderSource(folder)]), later), FILE_KIND
        )
        assert gone.deleted == 1 and gone.rows == 2
