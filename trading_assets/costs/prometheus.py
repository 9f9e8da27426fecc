"""The cost table as Prometheus text exposition format (``prometheus_client``).

Cumulative figures per asset are counters (``..._total``); the day's spend, the budget and
the cost per signal are gauges. The text is written where a node exporter's textfile
collector (or any scraper of a file) can pick it up.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import polars as pl

from trading_assets.costs.pricing import BudgetVerdict, cost_by

_PREFIX = "trading_assets"

#: file name of the export in the metrics folder (``$TRADING_ASSETS_HOME/metrics``)
METRICS_FILE = "cost_metrics.prom"


class _CostCollector:
    """A collector over a snapshot of ``ops.cost_metrics`` rows."""

    def __init__(
        self, frame: pl.DataFrame, verdict: BudgetVerdict | None, per_signal: float | None
    ):
        self.frame = frame
        self.verdict = verdict
        self.per_signal = per_signal

    def collect(self) -> Iterator:
        """The cost metric families (prometheus_client's collector protocol): totals per asset,
        peak RSS, today's spend against the budget, and cost per signal."""
        from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily

        per_asset = cost_by(self.frame, "asset_key") if self.frame.height else None
        counters = {
            "cost_usd": ("USD spent keeping the asset fresh", "cost_usd"),
            "cpu_seconds": ("process CPU seconds of its materializations", "cpu_s"),
            "wall_seconds": ("wall-clock seconds of its materializations", "wall_s"),
            "rows_written": ("rows its materializations wrote", "rows"),
            "llm_tokens": ("LLM tokens its materializations used", "llm_tokens"),
            "materializations": ("metered materializations", "materializations"),
        }
        for name, (doc, column) in counters.items():
            family = CounterMetricFamily(f"{_PREFIX}_asset_{name}", doc, labels=["asset"])
            for row in per_asset.iter_rows(named=True) if per_asset is not None else []:
                family.add_metric([row["asset_key"]], float(row[column] or 0))
            yield family
        peak = GaugeMetricFamily(
            f"{_PREFIX}_asset_peak_rss_mb", "highest peak RSS of a materialization, MiB",
            labels=["asset"],
        )  # fmt: skip
        for row in per_asset.iter_rows(named=True) if per_asset is not None else []:
            peak.add_metric([row["asset_key"]], float(row["peak_rss_mb"] or 0))
        yield peak
        if self.verdict is not None:
            for name, value, doc in (
                ("daily_cost_usd", self.verdict.spent_usd, "USD spent today (UTC)"),
                ("daily_warn_usd", self.verdict.warn_usd, "daily spend that warns"),
                ("daily_budget_usd", self.verdict.budget_usd, "daily budget"),
            ):
                yield GaugeMetricFamily(f"{_PREFIX}_{name}", doc, value=value)
        if self.per_signal is not None:
            yield GaugeMetricFamily(
                f"{_PREFIX}_cost_per_signal_usd",
                "cost of the runs that produced signals per stored signal",
                value=self.per_signal,
            )


def render(
    frame: pl.DataFrame,
    verdict: BudgetVerdict | None = None,
    per_signal: float | None = None,
) -> bytes:
    """Prometheus text for ``frame`` (``ops.cost_metrics`` rows) plus the budget gauges."""
    from prometheus_client import CollectorRegistry, generate_latest

    registry = CollectorRegistry()
    registry.register(_CostCollector(frame, verdict, per_signal))
    return generate_latest(registry)


def write_textfile(
    path: Path,
    frame: pl.DataFrame,
    verdict: BudgetVerdict | None = None,
    per_signal: float | None = None,
) -> Path:
    """Write :func:`render`'s text to ``path`` atomically (``prometheus_client.write_to_textfile``
    writes a temporary file and renames it); creates the folder. Returns ``path``."""
    from prometheus_client import CollectorRegistry, write_to_textfile

    path.parent.mkdir(parents=True, exist_ok=True)
    registry = CollectorRegistry()
    registry.register(_CostCollector(frame, verdict, per_signal))
    write_to_textfile(str(path), registry)
    return path
