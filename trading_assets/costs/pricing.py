"""Turn metered materializations into money, and judge a day's spend against a budget.

Inputs are frames with the columns of :data:`trading_assets.schemas.COST_METRICS_SCHEMA`
(``wall_s``/``cpu_s`` seconds, ``peak_rss_mb`` MiB, ``llm_tokens``); prices are USD.
"""

from __future__ import annotations

from dataclasses import dataclass

import polars as pl


@dataclass(frozen=True)
class CostPrices:
    """Unit prices in USD.

    Attributes:
        usd_per_vcpu_hour: one CPU-hour (process CPU seconds / 3600).
        usd_per_gb_hour: one GiB of peak RSS held for one hour of wall time.
        usd_per_1k_tokens: 1,000 LLM tokens (prompt + completion).
    """

    usd_per_vcpu_hour: float = 0.05
    usd_per_gb_hour: float = 0.006
    usd_per_1k_tokens: float = 0.002


def cost_usd(prices: CostPrices) -> pl.Expr:
    """Polars expression: the USD cost of each row (columns cpu_s, wall_s, peak_rss_mb,
    llm_tokens; nulls count as zero)."""
    cpu = pl.col("cpu_s").fill_null(0.0) / 3600.0 * prices.usd_per_vcpu_hour
    memory = (
        pl.col("peak_rss_mb").fill_null(0.0)
        / 1024.0
        * pl.col("wall_s").fill_null(0.0)
        / 3600.0
        * prices.usd_per_gb_hour
    )
    tokens = pl.col("llm_tokens").fill_null(0).cast(pl.Float64) / 1000.0 * prices.usd_per_1k_tokens
    return (cpu + memory + tokens).alias("cost_usd")


def cost_by(frame: pl.DataFrame, by: str | list[str]) -> pl.DataFrame:
    """Totals per ``by``: materializations, wall_s, cpu_s, max peak_rss_mb, rows, llm_tokens,
    cost_usd; most expensive first."""
    return (
        frame.group_by(by)
        .agg(
            pl.len().alias("materializations"),
            pl.col("wall_s").sum(),
            pl.col("cpu_s").sum(),
            pl.col("peak_rss_mb").max(),
            pl.col("rows").sum(),
            pl.col("llm_tokens").sum(),
            pl.col("cost_usd").sum(),
        )
        .sort(["cost_usd", *([by] if isinstance(by, str) else by)], descending=[True, False])
    )


def cost_per_day(frame: pl.DataFrame) -> pl.DataFrame:
    """USD cost and materializations per UTC day of ``started_at`` (column ``day``, Date)."""
    return (
        frame.group_by(pl.col("started_at").dt.date().alias("day"))
        .agg(pl.col("cost_usd").sum(), pl.len().alias("materializations"))
        .sort("day")
    )


@dataclass(frozen=True)
class BudgetVerdict:
    """A day's spend against the budget: ``level`` is ``ok``, ``warn`` or ``over``."""

    level: str
    spent_usd: float
    warn_usd: float
    budget_usd: float

    @property
    def message(self) -> str:
        """One line for the budget check: spent today against the warn level and budget (USD)."""
        text = (
            f"${self.spent_usd:.6f} spent today "
            f"(warn at ${self.warn_usd:.4f}, budget ${self.budget_usd:.4f})"
        )
        return {"ok": text, "warn": f"near budget: {text}", "over": f"over budget: {text}"}[
            self.level
        ]


def judge_budget(spent_usd: float, warn_usd: float, budget_usd: float) -> BudgetVerdict:
    """``over`` when ``spent_usd`` exceeds ``budget_usd``, ``warn`` when it exceeds
    ``warn_usd``, else ``ok``.

    Raises:
        ValueError: a negative threshold, or ``warn_usd`` above ``budget_usd``.
    """
    if warn_usd < 0 or budget_usd < 0 or warn_usd > budget_usd:
        raise ValueError(
            "budget thresholds must satisfy 0 <= warn_usd <= budget_usd, got "
            f"warn_usd={warn_usd}, budget_usd={budget_usd}"
        )
    level = "over" if spent_usd > budget_usd else "warn" if spent_usd > warn_usd else "ok"
    return BudgetVerdict(level, spent_usd, warn_usd, budget_usd)
