"""``ops/cost_metrics``: what each materialization cost, priced, with a daily budget check.

Reads the metered materializations (``wall_s``, ``cpu_s``, ``peak_rss_mb``, ``rows_written``,
``llm_tokens``; see :mod:`trading_assets.defs.ops.meter`) from the Dagster event log of the
instance, prices them with :class:`CostSettingsResource`, upserts them into ``ops.cost_metrics``
(one row per run, asset and partition; re-runs change nothing), exports the totals in
Prometheus text format and checks today's spend against the budget.

It depends on ``signals/signals`` by key so that it runs late in the graph; where that asset
is not defined Dagster shows the key as an external asset and nothing breaks.
"""

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import dagster as dg
import polars as pl

from trading_assets.costs import ledger, pricing, prometheus
from trading_assets.defs import keys
from trading_assets.defs.metadata import preview, write_metadata
from trading_assets.defs.ops.meter import metered
from trading_assets.defs.resources import WarehouseResource
from trading_assets.home import DUCKDB_WRITER_POOL

COST_METRICS_KEY = keys.COST_METRICS
SIGNALS_KEY = keys.SIGNALS
DAILY_BUDGET = "daily_budget"


class CostSettingsResource(dg.ConfigurableResource):
    """Prices, budget and the metrics folder of the cost layer.

    Attributes:
        usd_per_vcpu_hour: USD per CPU-hour (default: on-demand cloud vCPU, about $0.05).
        usd_per_gb_hour: USD per GiB-hour of peak RSS held for the wall time.
        usd_per_1k_tokens: USD per 1,000 LLM tokens.
        daily_warn_usd: a day's spend above this makes the budget check warn.
        daily_budget_usd: a day's spend above this fails the budget check (severity ERROR).
        metrics_dir: folder of ``cost_metrics.prom`` (None: no export).
    """

    usd_per_vcpu_hour: float = 0.05
    usd_per_gb_hour: float = 0.006
    usd_per_1k_tokens: float = 0.002
    daily_warn_usd: float = 0.5
    daily_budget_usd: float = 1.0
    metrics_dir: str | None = None

    def prices(self) -> pricing.CostPrices:
        """The configured unit prices."""
        return pricing.CostPrices(
            self.usd_per_vcpu_hour, self.usd_per_gb_hour, self.usd_per_1k_tokens
        )


def _materializations(
    instance: dg.DagsterInstance, after_storage_id: int, ceiling: int, page: int
) -> Iterator[ledger.Materialization]:
    """Every materialization stored in (``after_storage_id``, ``ceiling``], asset by asset."""
    for key in instance.get_asset_keys():
        cursor = None
        while True:
            result = instance.fetch_materializations(
                dg.AssetRecordsFilter(
                    asset_key=key,
                    after_storage_id=after_storage_id or None,
                    before_storage_id=ceiling + 1,
                ),
                limit=page,
                cursor=cursor,
                ascending=True,
            )
            for record in result.records:
                mat = record.asset_materialization
                yield ledger.Materialization(
                    run_id=record.run_id,
                    asset_key=key.to_user_string(),
                    partition=record.partition_key,
                    timestamp=record.timestamp,
                    metadata=dict(mat.metadata) if mat else {},
                )
            if not result.has_more:
                break
            cursor = result.cursor


def metered_materializations(
    instance: dg.DagsterInstance, after_storage_id: int = 0, page: int = 1000
) -> tuple[pl.DataFrame, int]:
    """Every metered materialization stored after ``after_storage_id``, as cost rows.

    Returns ``(frame with COST_METRICS_SCHEMA columns, cost_usd null; watermark)``: the
    watermark is the event log's highest storage id when the scan started, so an event stored
    while the scan runs (another run in progress) is read by the next scan, not skipped.
    The rows are :func:`trading_assets.costs.ledger.ledger_rows` of the events read here:
    ``wall_s``/``cpu_s`` are the asset's share of its step, ``started_at`` is UTC, unmetered
    events are left out.
    """
    ceiling = instance.event_log_storage.get_maximum_record_id() or 0
    if ceiling <= after_storage_id:
        return ledger.ledger_rows([]), after_storage_id
    return ledger.ledger_rows(_materializations(instance, after_storage_id, ceiling, page)), ceiling


def _previous_watermark(instance: dg.DagsterInstance) -> int:
    event = instance.get_latest_materialization_event(COST_METRICS_KEY)
    mat = event.asset_materialization if event else None
    value = mat.metadata.get("last_storage_id") if mat else None
    return int(getattr(value, "value", value) or 0)


def _metadata(
    stored: ledger.StoredLedger, summary: ledger.CostSummary, fresh: int, last: int
) -> dict[str, Any]:
    per_signal = summary.per_signal_usd
    return {
        **write_metadata(stored.write),
        "new_materializations": dg.MetadataValue.int(fresh),
        "last_storage_id": dg.MetadataValue.int(last),
        "cost_total_usd": dg.MetadataValue.float(summary.total_usd),
        "cost_today_usd": dg.MetadataValue.float(summary.today_usd),
        "cost_per_signal_usd": dg.MetadataValue.float(per_signal)
        if per_signal is not None
        else dg.MetadataValue.text("n/a (no signals.signals yet)"),
        "cost_per_asset": preview(summary.per_asset, n=25),
        "cost_per_run": preview(summary.per_run, n=10),
        "cost_per_day": preview(summary.per_day, n=14),
    }


def _budget_check(verdict: pricing.BudgetVerdict) -> dg.AssetCheckResult:
    return dg.AssetCheckResult(
        check_name=DAILY_BUDGET,
        passed=verdict.level == "ok",
        severity=dg.AssetCheckSeverity.ERROR
        if verdict.level == "over"
        else dg.AssetCheckSeverity.WARN,
        description=verdict.message,
        metadata={
            "spent_today_usd": verdict.spent_usd,
            "warn_usd": verdict.warn_usd,
            "budget_usd": verdict.budget_usd,
        },
    )


@dg.asset(
    key=COST_METRICS_KEY,
    description="Wall seconds, CPU seconds, peak RSS, rows and LLM tokens of every metered "
    "materialization, priced in USD; cost per asset, per run and per signal; a daily budget "
    "check; Prometheus text export.",
    deps=[SIGNALS_KEY],
    group_name="ops",
    kinds={"duckdb", "polars", "prometheus"},
    pool=DUCKDB_WRITER_POOL,
    automation_condition=dg.AutomationCondition.eager(),
    check_specs=[
        dg.AssetCheckSpec(
            DAILY_BUDGET,
            asset=COST_METRICS_KEY,
            description="Today's (UTC) spend: warns above daily_warn_usd, fails above "
            "daily_budget_usd.",
        )
    ],
    metadata={"table": "ops.cost_metrics"},
)
@metered
def cost_metrics(
    context: dg.AssetExecutionContext,
    warehouse: WarehouseResource,
    cost_settings: CostSettingsResource,
) -> dg.MaterializeResult:
    with warehouse.connect() as con:
        stored_rows = ledger.ledger_size(con)
    after = _previous_watermark(context.instance) if stored_rows else 0
    fresh, last = metered_materializations(context.instance, after)
    fresh = fresh.with_columns(pricing.cost_usd(cost_settings.prices()))
    with warehouse.connect() as con:
        stored = ledger.store_ledger(con, fresh)
    summary = ledger.summarize(
        stored.stored,
        today=datetime.now(UTC).date(),
        warn_usd=cost_settings.daily_warn_usd,
        budget_usd=cost_settings.daily_budget_usd,
        signals=stored.signals,
        signal_asset=SIGNALS_KEY.to_user_string(),
    )
    verdict = summary.verdict
    metadata = _metadata(stored, summary, fresh.height, last)
    if cost_settings.metrics_dir:
        path = prometheus.write_textfile(
            Path(cost_settings.metrics_dir) / prometheus.METRICS_FILE,
            stored.stored,
            verdict,
            summary.per_signal_usd,
        )
        metadata["metrics_file"] = dg.MetadataValue.path(str(path))
    if verdict.level != "ok":
        context.log.warning(f"cost budget: {verdict.message}")
    return dg.MaterializeResult(
        metadata=metadata,
        data_version=dg.DataVersion(stored.write.data_version),
        check_results=[_budget_check(verdict)],
    )


COST_ASSETS = [cost_metrics]
