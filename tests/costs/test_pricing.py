"""Prices, budgets and the Prometheus text of the cost table."""

from datetime import UTC, datetime

import polars as pl
import pytest
from prometheus_client.parser import text_string_to_metric_families

from trading_assets import schemas
from trading_assets.costs import pricing, prometheus


def _frame() -> pl.DataFrame:
    t0 = datetime(2026, 3, 1, 12, tzinfo=UTC)
    t1 = datetime(2026, 3, 2, 9, tzinfo=UTC)
    return pl.DataFrame(
        {
            "run_id": ["r1", "r1", "r2"],
            "asset_key": ["raw/source_bars", "ml/sentiment_scores", "raw/source_bars"],
            "partition": ["ETH/USDT", "", "BTC/USDT"],
            "started_at": [t0, t0, t1],
            "wall_s": [3600.0, 1800.0, 360.0],
            "cpu_s": [3600.0, 900.0, 360.0],
            "peak_rss_mb": [2048.0, 1024.0, 512.0],
            "rows": [100, 10, 5],
            "llm_tokens": [0, 5000, 0],
            "cost_usd": [None, None, None],
        },
        schema=schemas.COST_METRICS_SCHEMA,
    )


def test_cost_is_cpu_hours_plus_gib_hours_plus_tokens():
    prices = pricing.CostPrices(usd_per_vcpu_hour=0.04, usd_per_gb_hour=0.01, usd_per_1k_tokens=0.5)
    priced = _frame().with_columns(pricing.cost_usd(prices))
    # 1 CPU-h + 2 GiB for 1 h; 0.25 CPU-h + 1 GiB for 0.5 h + 5k tokens; 0.1 CPU-h + 0.5 GiB x 0.1 h
    assert priced["cost_usd"].to_list() == pytest.approx(
        [0.04 + 0.02, 0.01 + 0.005 + 2.5, 0.004 + 0.0005]
    )
    per_asset = pricing.cost_by(priced, "asset_key")
    assert per_asset["asset_key"].to_list() == [
        "ml/sentiment_scores",
        "raw/source_bars",
    ]  # dearest first
    assert per_asset.filter(pl.col("asset_key") == "raw/source_bars")["materializations"][0] == 2
    days = pricing.cost_per_day(priced)
    assert days["materializations"].to_list() == [2, 1]


def test_budget_verdicts_and_bad_thresholds():
    assert pricing.judge_budget(0.1, 0.5, 1.0).level == "ok"
    assert pricing.judge_budget(0.6, 0.5, 1.0).level == "warn"
    over = pricing.judge_budget(1.2, 0.5, 1.0)
    assert over.level == "over" and over.message.startswith("over budget")
    with pytest.raises(ValueError, match="warn_usd"):
        pricing.judge_budget(0.1, 2.0, 1.0)


def test_prometheus_text_has_per_asset_counters_and_budget_gauges(tmp_path):
    priced = _frame().with_columns(pricing.cost_usd(pricing.CostPrices()))
    verdict = pricing.judge_budget(0.3, 0.5, 1.0)
    path = prometheus.write_textfile(tmp_path / "m" / "cost.prom", priced, verdict, 0.002)
    text = path.read_text()
    assert text.encode() == prometheus.render(priced, verdict, 0.002)
    samples = {
        (s.name, s.labels.get("asset")): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }
    assert samples[("trading_assets_asset_cpu_seconds_total", "raw/source_bars")] == 3960.0
    assert samples[("trading_assets_asset_materializations_total", "raw/source_bars")] == 2
    assert samples[("trading_assets_asset_llm_tokens_total", "ml/sentiment_scores")] == 5000
    assert samples[("trading_assets_asset_peak_rss_mb", "raw/source_bars")] == 2048.0
    assert samples[("trading_assets_daily_budget_usd", None)] == 1.0
    assert samples[("trading_assets_cost_per_signal_usd", None)] == 0.002
