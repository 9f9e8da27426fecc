"""The cost ledger: metered materializations as rows, row counts, cost per signal and run,
the day's spend and the stored ledger in DuckDB."""

from datetime import UTC, date, datetime

import polars as pl
import pytest

from trading_assets import schemas
from trading_assets.costs import ledger
from trading_assets.costs.ledger import cost_per_signal
from trading_assets.defs.keys import SIGNALS
from trading_assets.warehouse.connection import connect

SIGNALS_ASSET = SIGNALS.to_user_string()


def test_cost_of_signal_runs_per_signal_and_absent_signals():
    t = datetime(2026, 3, 1, tzinfo=UTC)
    stored = pl.DataFrame(
        {
            "run_id": ["a", "a", "b", "c"],
            "asset_key": [
                "ml/predictions",
                "signals/signals",
                "raw/source_bars",
                "signals/signals",
            ],
            "partition": ["", "", "ETH/USDT", ""],
            "started_at": [t] * 4,
            "wall_s": [1.0] * 4,
            "cpu_s": [1.0] * 4,
            "peak_rss_mb": [100.0] * 4,
            "rows": [10] * 4,
            "llm_tokens": [0] * 4,
            "cost_usd": [0.3, 0.1, 5.0, 0.2],
        },
        schema=schemas.COST_METRICS_SCHEMA,
    )
    # runs a and c made signals: (0.3 + 0.1 + 0.2) / 60 signals; run b (ingestion) is not counted
    assert cost_per_signal(stored, 60, SIGNALS_ASSET) == pytest.approx((0.3 + 0.1 + 0.2) / 60)
    assert cost_per_signal(stored, None, SIGNALS_ASSET) is None  # no signals.signals table
    assert cost_per_signal(stored, 0, SIGNALS_ASSET) is None
    assert cost_per_signal(stored.filter(pl.col("run_id") == "b"), 60, SIGNALS_ASSET) is None


class _Value:
    """A stand-in for ``dagster.MetadataValue`` (anything with ``.value``)."""

    def __init__(self, value):
        self.value = value


def test_metered_materializations_become_rows_and_unmetered_ones_are_left_out():
    t = datetime(2026, 3, 1, 12, tzinfo=UTC).timestamp()
    records = [
        ledger.Materialization(
            "r1", "ml/models", None, t,
            {"wall_s": _Value(10.0), "cpu_s": 4.0, "peak_rss_mb": _Value(512.0),
             "cost_share": _Value(0.5), "rows_inserted": _Value(3), "rows_updated": 2},
        ),
        ledger.Materialization("r1", "raw/source_bars", "ETH/USDT", t, {"rows": 5}),  # not metered
        ledger.Materialization(
            "r2", "raw/source_bars", "BTC/USDT", t, {"wall_s": 2, "rows": 7, "llm_tokens": 100}
        ),
    ]  # fmt: skip
    rows = ledger.ledger_rows(records)
    assert rows.schema == pl.Schema(schemas.COST_METRICS_SCHEMA)
    assert rows.to_dicts() == [
        {"run_id": "r1", "asset_key": "ml/models", "partition": "",
         "started_at": datetime(2026, 3, 1, 11, 59, 50, tzinfo=UTC), "wall_s": 5.0,
         "cpu_s": 2.0, "peak_rss_mb": 512.0, "rows": 5, "llm_tokens": 0, "cost_usd": None},
        {"run_id": "r2", "asset_key": "raw/source_bars", "partition": "BTC/USDT",
         "started_at": datetime(2026, 3, 1, 11, 59, 58, tzinfo=UTC), "wall_s": 2.0,
         "cpu_s": 0.0, "peak_rss_mb": 0.0, "rows": 7, "llm_tokens": 100, "cost_usd": None},
    ]  # fmt: skip
    assert ledger.ledger_rows([]).height == 0


def test_rows_written_prefers_explicit_counts():
    assert ledger.rows_written({"rows_written": _Value(4), "rows": 9}) == 4
    assert ledger.rows_written({"rows_deleted": 1, "rows_inserted": None, "rows": 9}) == 1
    assert ledger.rows_written({"rows": _Value(9)}) == 9
    assert ledger.rows_written({"rows": "9"}) is None and ledger.rows_written(None) is None


def _stored() -> pl.DataFrame:
    day1 = datetime(2026, 3, 1, 23, 0, tzinfo=UTC)
    day2 = datetime(2026, 3, 2, 1, 0, tzinfo=UTC)
    return pl.DataFrame(
        {
            "run_id": ["run-aaaaaaaa1", "run-aaaaaaaa1", "run-bbbbbbbb2"],
            "asset_key": ["signals/signals", "raw/source_bars", "raw/source_bars"],
            "partition": ["", "ETH/USDT", "ETH/USDT"],
            "started_at": [day1, day1, day2],
            "wall_s": [1.0, 2.0, 3.0004],
            "cpu_s": [1.0, 1.0, 1.0],
            "peak_rss_mb": [10.0, 20.0, 30.0],
            "rows": [1, 2, 3],
            "llm_tokens": [0, 0, 0],
            "cost_usd": [0.25, 0.5, 2.0],
        },
        schema=schemas.COST_METRICS_SCHEMA,
    )


def test_summary_per_day_run_asset_and_signal():
    summary = ledger.summarize(
        _stored(), today=date(2026, 3, 2), warn_usd=1.0, budget_usd=1.5, signals=3,
        signal_asset=SIGNALS_ASSET,
    )  # fmt: skip
    assert summary.total_usd == 2.75 and summary.today_usd == 2.0
    assert summary.verdict.level == "over"
    assert summary.per_signal_usd == pytest.approx(0.75 / 3)
    assert summary.per_run["run_id"].to_list() == ["run-aaaa", "run-bbbb"]
    assert summary.per_run["wall_s"].to_list() == [3.0, 3.0]
    assert summary.per_asset["asset_key"].to_list() == ["raw/source_bars", "signals/signals"]
    assert summary.per_day["day"].to_list() == [date(2026, 3, 1), date(2026, 3, 2)]
    assert ledger.spent_on(_stored(), date(2026, 3, 3)) == 0.0


def test_store_ledger_upserts_and_counts_signals(tmp_path):
    with connect(str(tmp_path / "w.duckdb")) as con:
        assert ledger.ledger_size(con) == 0
        first = ledger.store_ledger(con, _stored())
        assert first.signals is None  # no signals table yet
        con.execute("CREATE SCHEMA signals")
        con.execute("CREATE TABLE signals.signals AS SELECT 1 AS x UNION ALL SELECT 2")
        again = ledger.store_ledger(con, _stored())
        assert ledger.ledger_size(con) == 3
    assert (first.write.inserted, again.write.inserted, again.write.updated) == (3, 0, 0)
    assert again.stored.height == 3 and again.signals == 2
