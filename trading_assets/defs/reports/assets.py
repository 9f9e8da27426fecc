"""``reports/report`` (the HTML page, eager on its inputs) and ``reports/published`` (the
WordPress post and Discord message of the report's date, run by the ``publish_on_report``
sensor and by ``trading-assets run``)."""

import contextlib
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import dagster as dg

from trading_assets import warm_process
from trading_assets.defs import keys
from trading_assets.defs.metadata import write_metadata
from trading_assets.defs.mlflow_resource import MlflowResource
from trading_assets.defs.ops.meter import metered
from trading_assets.defs.reports.quality import latest_check_evaluations
from trading_assets.defs.reports.resources import DiscordResource, ReportSettings, WordPressResource
from trading_assets.defs.resources import WarehouseResource
from trading_assets.errors import PublishError
from trading_assets.home import DUCKDB_WRITER_POOL
from trading_assets.publish import report as publishing
from trading_assets.report import build, charts, inputs
from trading_assets.report.leaderboard import leaderboard_version

REPORT_KEY = keys.REPORT
PUBLISHED_KEY = keys.PUBLISHED

#: asset keys whose tables the report reads, and the tables (an asset producing one of them
#: under another key is a dependency too)
REPORT_INPUT_KEYS: tuple[dg.AssetKey, ...] = (
    keys.STAGING_BARS,
    keys.LABELS,
    keys.NEWS,
    keys.SENTIMENT,
    keys.SENTIMENT_AGG,
    keys.PREDICTIONS,
    keys.SIGNALS,
    keys.BACKTEST,
    keys.COST_METRICS,
    keys.ORDERS,
    keys.POSITIONS,
    keys.TRADE_COSTS,
)
REPORT_INPUT_TABLES = frozenset(
    {
        "staging.bars",
        "features.labels",
        "raw.news",
        "ml.sentiment",
        "ml.predictions",
        "signals.signals",
        "signals.backtest_metrics",
        "signals.backtest_equity",
        "ops.cost_metrics",
        "trading.orders",
        "trading.positions",
        "trading.costs",
    }
)


def _previous(instance: dg.DagsterInstance) -> tuple[str | None, str | None]:
    """(data version, leaderboard version) of the latest report materialization."""
    event = instance.get_latest_materialization_event(REPORT_KEY)
    mat = event.asset_materialization if event is not None else None
    if mat is None:
        return None, None
    board = mat.metadata.get("leaderboard_version")
    return (mat.tags or {}).get("dagster/data_version"), getattr(board, "value", None)


def _check_keys(
    context: dg.AssetExecutionContext, known: Sequence[dg.AssetCheckKey]
) -> set[dg.AssetCheckKey]:
    """``known`` (the checks of the assets the report was built with) plus every check of the
    code location when the step has its repository (``execute_in_process`` has none)."""
    keys = set(known)
    with contextlib.suppress(Exception):  # no repository on the step: the known checks it is
        keys |= set(context.repository_def.asset_graph.asset_check_keys)
    return keys


def _report_metadata(written: build.WrittenReport) -> dict[str, Any]:
    rendered = written.rendered
    return {
        "path": dg.MetadataValue.path(str(written.path)),
        "url": dg.MetadataValue.url(written.path.resolve().as_uri()),
        "latest": dg.MetadataValue.path(str(written.latest)),
        "report_date": dg.MetadataValue.text(f"{rendered.report_date:%Y-%m-%d}"),
        "content_hash": dg.MetadataValue.text(rendered.content_hash),
        "data_version": dg.MetadataValue.text(written.version),
        "changed": dg.MetadataValue.bool(written.changed),
        "sections_present": dg.MetadataValue.json(rendered.present),
        "sections_missing": dg.MetadataValue.json(rendered.missing),
        "notes": dg.MetadataValue.md(written.notes_markdown),
        "summary": dg.MetadataValue.json(rendered.summary),
        "charts": dg.MetadataValue.int(rendered.charts),
        "bytes": dg.MetadataValue.int(len(rendered.html.encode())),
        "mlflow_run_id": dg.MetadataValue.text(written.mlflow_run_id),
    }


def build_report_asset(
    upstream: Sequence[dg.AssetKey] = (), check_keys: Sequence[dg.AssetCheckKey] = ()
) -> dg.AssetsDefinition:
    """``reports/report`` depending on ``upstream`` (the input assets present in the code
    location; see :func:`report_asset_for`), showing the latest evaluations of ``check_keys``
    (and of every other check of the code location when the run knows its repository)."""

    @dg.asset(
        key=REPORT_KEY,
        description=(
            "One self-contained HTML report (no scripts, fonts or images to load; inline SVG "
            "charts): equity and drawdown, predictions vs realized returns, latest signals, "
            "sentiment and headlines, the MLflow leaderboard, data quality and freshness, "
            "costs. Says plainly what is missing. Data version = content hash without the "
            "generation time."
        ),
        deps=list(upstream),
        group_name="reports",
        kinds={"html", "duckdb", "mlflow"},
        pool=DUCKDB_WRITER_POOL,
        automation_condition=dg.AutomationCondition.eager(),
        metadata={
            "output": "`reports/report-DATE.html` and `reports/latest.html` in the project home"
        },
    )
    @metered
    def report(
        context: dg.AssetExecutionContext,
        warehouse: WarehouseResource,
        report_settings: ReportSettings,
        mlflow: MlflowResource,
    ) -> dg.MaterializeResult:
        reports_dir = Path(report_settings.reports_dir)
        with warehouse.connect() as con:
            # the charts are drawn (in the warm process, when there is one) while the rest
            # of the page is read and prepared
            data = inputs.load_inputs(con, reads=inputs.CHART_READS)
            pending = build.start_charts(data, reports_dir, _drawer(context, mlflow))
            inputs.load_inputs(con, reads=inputs.READS - inputs.CHART_READS, into=data)
        cache = Path(mlflow.served_cache_dir) if mlflow.served_cache_dir else None
        build.add_leaderboard(data, mlflow.tracking_uri, cache)
        previous_version, previous_board = _previous(context.instance)
        board = leaderboard_version(data.leaderboard)
        try:
            data.quality = latest_check_evaluations(
                context.instance, _check_keys(context, check_keys)
            )
        except Exception as exc:  # an instance without check storage: report without it
            data.skipped["quality"] = f"{type(exc).__name__}: {exc}"
        written = build.write_report(
            data,
            generated_at=datetime.now(UTC),
            reports_dir=reports_dir,
            title=report_settings.title,
            previous_version=previous_version,
            mlflow=build.MlflowTarget(mlflow.tracking_uri, mlflow.artifact_location)
            if report_settings.log_to_mlflow
            else None,
            models_changed=board != previous_board,
            pending=pending,
        )
        if written.mlflow_error:
            context.log.warning(f"report not logged to MLflow: {written.mlflow_error}")
        context.log.info(written.log_line)
        return dg.MaterializeResult(
            metadata={**_report_metadata(written), "leaderboard_version": board},
            data_version=dg.DataVersion(written.version),
        )

    return report


def _drawer(context: dg.AssetExecutionContext, mlflow: MlflowResource) -> charts.Drawer:
    """How the report draws the charts that changed: in the warm process a new bar's refresh
    started (:mod:`trading_assets.warm_process`), else, or when that fails, here."""
    folder = mlflow.served_cache_dir
    process = warm_process.warm_process(mlflow.tracking_uri, Path(folder)) if folder else None
    if process is None:
        return charts.draw_here

    def here(requests: Sequence[charts.ChartRequest], exc: Exception) -> list[str]:
        context.log.warning(f"the warm process failed, drawing here: {exc}")
        return charts.draw_here(requests)()

    def draw(requests: Sequence[charts.ChartRequest]) -> Callable[[], list[str]]:
        try:
            collect = process.start_draws([(c.__name__, rows, args) for c, rows, args in requests])
        except warm_process.WarmProcessError as exc:
            svgs = here(requests, exc)
            return lambda: svgs

        def finish() -> list[str]:
            try:
                return collect()
            except warm_process.WarmProcessError as exc:
                return here(requests, exc)

        return finish

    return draw


def report_asset_for(assets: Sequence[dg.AssetsDefinition]) -> dg.AssetsDefinition:
    """``reports/report`` depending on whichever of ``assets`` produce its inputs: keys in
    :data:`REPORT_INPUT_KEYS`, or a ``table`` metadata in :data:`REPORT_INPUT_TABLES`; its
    data quality section covers the asset checks of all of ``assets``."""
    upstream: list[dg.AssetKey] = []
    checks = sorted(
        {k for a in assets for k in a.check_keys}, key=lambda k: (k.asset_key.path, k.name)
    )
    for assets_def in assets:
        for spec in assets_def.specs:
            table = (spec.metadata or {}).get("table")
            table = getattr(table, "value", table)
            if (spec.key in REPORT_INPUT_KEYS or table in REPORT_INPUT_TABLES) and (
                spec.key not in upstream
            ):
                upstream.append(spec.key)
    return build_report_asset(upstream, checks)


def _report_event(instance: dg.DagsterInstance) -> dict[str, Any] | None:
    event = instance.get_latest_materialization_event(REPORT_KEY)
    if event is None or event.asset_materialization is None:
        return None
    meta = {k: getattr(v, "value", v) for k, v in event.asset_materialization.metadata.items()}
    return meta


@dg.asset(
    key=PUBLISHED_KEY,
    description=(
        "The report of the day published: a WordPress post (created, or updated in place, by "
        "slug `trading-report-DATE`) and a Discord message (edited in place on re-runs). Off "
        "unless configured; an unchanged report is not published again."
    ),
    deps=[REPORT_KEY],
    group_name="reports",
    kinds={"wordpress", "discord", "duckdb"},
    pool=DUCKDB_WRITER_POOL,
    metadata={"table": "reports.published"},
)
@metered
def published(
    context: dg.AssetExecutionContext,
    warehouse: WarehouseResource,
    report_settings: ReportSettings,
    wordpress: WordPressResource,
    discord: DiscordResource,
) -> dg.MaterializeResult:
    report = _report_event(context.instance)
    publishers = publishing.Publishers(
        wordpress=wordpress.client if wordpress.enabled else None,
        post_status=wordpress.post_status,
        discord=discord.webhook if discord.enabled else None,
    )
    outcome = publishing.not_publishing(report, publishers)
    if outcome is None:
        assert report is not None
        with warehouse.connect() as con:
            state = publishing.read_state(con, publishing.report_date(report))
        outcome = publishing.publish(
            report,
            state,
            publishers,
            title=report_settings.title,
            public_url=report_settings.public_url,
        )
    with warehouse.connect() as con:  # what did get published is recorded even on a failure
        written = publishing.record(con, outcome.rows)
    for target, text in outcome.status.items():
        context.log.info(f"{target}: {text}")
    if outcome.failures:
        raise dg.Failure(
            description="publishing failed: " + "; ".join(outcome.failures),
            metadata={"status": dg.MetadataValue.json(outcome.status)},
        )
    return dg.MaterializeResult(
        metadata={
            **write_metadata(written),
            "status": dg.MetadataValue.json(outcome.status),
            "targets": dg.MetadataValue.json(publishers.targets),
            "published_now": dg.MetadataValue.int(len(outcome.rows)),
        },
        data_version=dg.DataVersion(written.data_version),
    )


__all__ = ["PUBLISHED_KEY", "REPORT_KEY", "PublishError", "published", "report_asset_for"]
