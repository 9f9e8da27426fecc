"""Cost per signal: every run that produced signals, divided by the signals stored."""

from datetime import UTC, datetime

import polars as pl
import pytest

from trading_assets import schemas
from trading_assets.defs.cost.assets import cost_per_signal


def test_cost_of_signal_runs_per_signal_and_absent_signals():
    t = datetime(2026, 3, 1, tzinfo=UTC)
    stored = pl.DataFrame(
        {
            "run_id": ["a", "a", "b", "c"],
            "asset_key": ["ml/predictions", "signals/signals", "raw/bars", "signals/signals"],
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
    assert cost_per_signal(stored, 60) == pytest.approx((0.3 + 0.1 + 0.2) / 60)
    assert cost_per_signal(stored, None) is None  # no signals.signals table
    assert cost_per_signal(stored, 0) is None
    assert cost_per_signal(stored.filter(pl.col("run_id") == "b"), 60) is None
