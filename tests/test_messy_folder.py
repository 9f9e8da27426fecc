"""End to end on a folder as users have them: good, partly bad, unreadable and unknown-symbol
files. ``trading-assets run`` lands what it can, says what it could not and how to fix it,
and the whole graph runs, also for a symbol whose only file was rejected."""

from __future__ import annotations

from pathlib import Path

import dagster as dg
import pytest
from click.testing import CliRunner

from tests.conftest import use_local_profile
from tests.sources.test_inventory import messy_folder
from trading_assets import Warehouse
from trading_assets.cli import main


@pytest.fixture(scope="module")
def messy_run(tmp_path_factory, shared_data: Path, shared_formats: Path):
    root = tmp_path_factory.mktemp("messy")
    data = messy_folder(root / "data", shared_data, shared_formats)
    mp = pytest.MonkeyPatch()
    use_local_profile(mp, root / "home", data)
    result = CliRunner().invoke(main, ["run"])
    yield data, result
    mp.undo()


def test_the_closing_summary_names_every_problem_file_and_its_fix(messy_run):
    data, result = messy_run
    assert result.exit_code == 2, result.output  # every step ran; a file was rejected
    out = result.output
    assert "Files: 1 landed, 1 partly landed, 2 rejected, 2 ignored by rule" in out
    assert not [line for line in out.splitlines() if line.startswith("failed")]  # no step
    lines = [line for line in out.splitlines() if line.startswith(("WARN", "ERROR"))]
    assert len(lines) == 3
    assert lines[0].startswith(f"WARN partly landed {data / 'BTC_USDT-1h.json'}: 5 of 719")
    assert lines[1].startswith(f"ERROR rejected {data / 'SAND-1d-bad-div.csv'}: cannot tell")
    assert '[[files]] pattern = "SAND-1d-bad-div.csv" symbol = "<SYMBOL>"' in lines[1]
    assert lines[2].startswith(f"ERROR rejected {data / 'SOL_USDT-1d.json'}: row 11")


def test_source_items_and_rejected_rows_record_it(messy_run):
    data, _ = messy_run
    wh = Warehouse()
    states = dict(wh.sql("SELECT origin, status FROM ops.source_items").iter_rows())
    assert {Path(o).name: s for o, s in states.items() if "news" not in o} == {
        "ETH_USDT-1h.json": "landed",
        "BTC_USDT-1h.json": "partly_landed",
        "SOL_USDT-1d.json": "rejected",
        "SAND-1d-bad-div.csv": "rejected",
        "notes.md": "ignored",
    }
    rejected = wh.sql("SELECT origin, row, field, reason, raw FROM ops.rejected_rows ORDER BY row")
    assert rejected["row"].to_list() == [101, 102, 103, 104, 105]
    assert set(rejected["origin"]) == {str(data / "BTC_USDT-1h.json")}
    assert rejected["raw"][0].startswith("[1680724980000,")
    assert wh.sql("SELECT DISTINCT symbol FROM raw.bars ORDER BY 1")["symbol"].to_list() == [
        "BTC/USDT",
        "ETH/USDT",
    ]
    assert "<unknown>" not in wh.symbols()


def test_a_symbol_whose_only_file_was_rejected_breaks_nothing(messy_run):
    _, result = messy_run
    assert result.exit_code == 2 and "Files:" in result.output  # ran to the end, no step failed
    instance = dg.DagsterInstance.get()
    staging = instance.fetch_materializations(
        dg.AssetRecordsFilter(
            asset_key=dg.AssetKey(["staging", "bars"]), asset_partitions=["SOL/USDT"]
        ),
        limit=1,
    ).records
    (record,) = staging
    meta = record.asset_materialization.metadata
    assert meta["rows"].value == 0 and "no bars for SOL/USDT" in meta["missing"].value
    wh = Warehouse()
    # the rest of the graph ran: features, training table, predictions and signals
    assert wh.sql("SELECT count(*) AS n FROM features.training_table")["n"][0] > 1000
    signalled = wh.sql("SELECT DISTINCT symbol FROM signals.signals ORDER BY 1")["symbol"]
    assert signalled.to_list() == ["BTC/USDT", "ETH/USDT"]
