"""``ops/cost_metrics``: what each materialization cost, priced, with a daily budget check.

Reads the metered materializations (``wall_s``, ``cpu_s``, ``peak_rss_mb``, ``rows_written``,
``llm_tokens``; see :mod:`trading_assets.defs.cost.meter`) from the Dagster event log of the
instance, prices them with :class:`CostSettingsResource`, upserts them into ``ops.cost_metrics``
(one row per run, asset and partition; re-runs change nothing), exports the totals in
Prometheus text format and checks today's spend against the budget.

It depends on ``signals/signals`` by key so that it runs late in the graph; where that asset
is not defined Dagster shows the key as an external asset and nothing breaks.
"""

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import dagster as dg
import polars as pl

from trading_assets import schemas
from trading_assets.costs import pricing, prometheus
from trading_assets.defs import keys
from trading_assets.defs.cost import meter
from trading_assets.defs.metadata import preview, write_metadata
from trading_assets.defs.resources import WarehouseResource
from trading_assets.home import DUCKDB_WRITER_POOL
from trading_assets.warehouse import writes
from trading_assets.warehouse.ddl import ensure_table

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


def _number(metadata: dict[str, Any], key: str, default: float = 0.0) -> float:
    value = getattr(metadata.get(key), "value", metadata.get(key))
    return float(value) if isinstance(value, int | float) else default


def metered_materializations(
    instance: dg.DagsterInstance, after_storage_id: int = 0, page: int = 1000
) -> tuple[pl.DataFrame, int]:
    """Every metered materialization stored after ``after_storage_id``, as cost rows.

    Returns ``(frame with COST_METRICS_SCHEMA columns, cost_usd null; watermark)``: the
    watermark is the event log's highest storage id when the scan started, so an event stored
    while the scan runs (another run in progress) is read by the next scan, not skipped.
    ``wall_s``/``cpu_s`` are the asset's share of its step (``cost_share``); ``started_at``
    is the materialization time minus its wall time (UTC). Unmetered events are ignored.
    """
    rows: list[dict[str, Any]] = []
    ceiling = instance.event_log_storage.get_maximum_record_id() or 0
    if ceiling <= after_storage_id:
        return pl.DataFrame(schema=schemas.COST_METRICS_SCHEMA), after_storage_id
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
                meta = dict(mat.metadata) if mat else {}
                if "wall_s" not in meta:
                    continue
                share = _number(meta, "cost_share", 1.0)
                wall = _number(meta, "wall_s")
                written = meter.rows_written(meta)
                rows.append(
                    {
                        "run_id": record.run_id,
                        "asset_key": key.to_user_string(),
                        "partition": record.partition_key or "",
                        "started_at": datetime.fromtimestamp(record.timestamp - wall, UTC),
                        "wall_s": wall * share,
                        "cpu_s": _number(meta, "cpu_s") * share,
                        "peak_rss_mb": _number(meta, "peak_rss_mb"),
                        "rows": int(written or 0),
                        "llm_tokens": int(_number(meta, "llm_tokens")),
                        "cost_usd": None,
                    }
                )
            if not result.has_more:
                break
            cursor = result.cursor
    return pl.DataFrame(rows, schema=schemas.COST_METRICS_SCHEMA), ceiling


def _previous_watermark(instance: dg.DagsterInstance) -> int:
    event = instance.get_latest_materialization_event(COST_METRICS_KEY)
    mat = event.asset_materialization if event else None
    value = mat.metadata.get("last_storage_id") if mat else None
    return int(getattr(value, "value", value) or 0)


def _signal_count(con) -> int | None:
    exists = con.execute(
        "SELECT count(*) FROM information_schema.tables "
        "WHERE table_schema = 'signals' AND table_name = 'signals'"
    ).fetchall()[0][0]
    return (
        int(con.execute("SELECT count(*) FROM signals.signals").fetchall()[0][0])
        if exists
        else None
    )


def cost_per_signal(stored: pl.DataFrame, signals: int | None) -> float | None:
    """USD of every run that materialized ``signals/signals`` per stored signal (None if there
    are no signals or no such runs)."""
    if not signals:
        return None
    runs = stored.filter(pl.col("asset_key") == SIGNALS_KEY.to_user_string())["run_id"]
    if runs.is_empty():
        return None
    return float(stored.filter(pl.col("run_id").is_in(runs.implode()))["cost_usd"].sum()) / signals


def _runs_table(stored: pl.DataFrame, n: int = 10) -> pl.DataFrame:
    return (
        stored.group_by("run_id")
        .agg(
            pl.col("started_at").min().alias("started_at"),
            pl.len().alias("assets"),
            pl.col("wall_s").sum().round(3),
            pl.col("cost_usd").sum(),
        )
        .sort("started_at")
        .tail(n)
        .with_columns(pl.col("run_id").str.slice(0, 8))
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
def cost_metrics(
    context: dg.AssetExecutionContext,
    warehouse: WarehouseResource,
    cost_settings: CostSettingsResource,
) -> dg.MaterializeResult:
    with warehouse.connect() as con:
        ensure_table(con, "ops.cost_metrics")
        stored_rows = con.execute("SELECT count(*) FROM ops.cost_metrics").fetchall()[0][0]
    after = _previous_watermark(context.instance) if stored_rows else 0
    fresh, last = metered_materializations(context.instance, after)
    fresh = fresh.with_columns(pricing.cost_usd(cost_settings.prices()))
    with warehouse.connect() as con:
        result = writes.upsert(con, "ops.cost_metrics", fresh, schemas.COST_METRICS_KEY)
        stored = con.sql("SELECT * FROM ops.cost_metrics").pl()
        signals = _signal_count(con)
    today = datetime.now(UTC).date()
    spent = float(stored.filter(pl.col("started_at").dt.date() == today)["cost_usd"].sum())
    verdict = pricing.judge_budget(
        spent, cost_settings.daily_warn_usd, cost_settings.daily_budget_usd
    )
    per_signal = cost_per_signal(stored, signals)
    metadata: dict[str, Any] = {
        **write_metadata(result),
        "new_materializations": dg.MetadataValue.int(fresh.height),
        "last_storage_id": dg.MetadataValue.int(last),
        "cost_total_usd": dg.MetadataValue.float(float(stored["cost_usd"].sum())),
        "cost_today_usd": dg.MetadataValue.float(spent),
        "cost_per_signal_usd": dg.MetadataValue.float(per_signal)
        if per_signal is not None
        else dg.MetadataValue.text("n/a (no signals.signals yet)"),
        "cost_per_asset": preview(pricing.cost_by(stored, "asset_key").head(25), n=25),
        "cost_per_run": preview(_runs_table(stored), n=10),
        "cost_per_day": preview(pricing.cost_per_day(stored), n=14),
    }
    if cost_settings.metrics_dir:
        path = prometheus.write_textfile(
            Path(cost_settings.metrics_dir) / prometheus.METRICS_FILE, stored, verdict, per_signal
        )
        metadata["metrics_file"] = dg.MetadataValue.path(str(path))
    if verdict.level != "ok":
        context.log.warning(f"cost budget: {verdict.message}")
    check = dg.AssetCheckResult(
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
    return dg.MaterializeResult(
        metadata=metadata,
        data_version=dg.DataVersion(result.data_version),
        check_results=[check],
    )


COST_ASSETS = [cost_metrics]
