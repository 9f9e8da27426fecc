"""``reports/report`` (the HTML page, eager on its inputs) and ``reports/published`` (the
WordPress post and Discord message of the report's date, run by the ``publish_on_report``
sensor and by ``trading-assets run``)."""

import contextlib
import os
import tempfile
from collections.abc import Sequence
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import dagster as dg
import polars as pl

from trading_assets import schemas
from trading_assets.defs import keys
from trading_assets.defs.mlflow_resource import MlflowResource
from trading_assets.defs.report.quality import latest_check_evaluations
from trading_assets.defs.report.resources import DiscordResource, ReportSettings, WordPressResource
from trading_assets.defs.resources import WarehouseResource
from trading_assets.home import DUCKDB_WRITER_POOL
from trading_assets.publish import discord as discord_logic
from trading_assets.publish import wordpress as wordpress_logic
from trading_assets.publish.http import PublishError
from trading_assets.report import inputs, leaderboard, render, tracking
from trading_assets.warehouse.ddl import ensure_table
from trading_assets.warehouse.writes import content_version, upsert

REPORT_KEY = keys.REPORT
PUBLISHED_KEY = keys.PUBLISHED

#: asset keys whose tables the report reads, and the tables (an asset producing one of them
#: under another key is a dependency too)
REPORT_INPUT_KEYS: tuple[dg.AssetKey, ...] = tuple(
    dg.AssetKey(k.split("/"))
    for k in (
        "staging/bars",
        "features/labels",
        "raw/news",
        "ml/sentiment",
        "features/sentiment_agg",
        "ml/predictions",
        "signals/signals",
        "signals/backtest",
        "ops/cost_metrics",
    )
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
    }
)
PUBLISHING_OFF = (
    "publishing is off: set WORDPRESS_URL, WORDPRESS_USER and WORDPRESS_APP_PASSWORD "
    "and/or DISCORD_WEBHOOK_URL"
)


def _write_atomic(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(text)
    os.chmod(tmp, 0o644)  # readable like any other file written here (mkstemp makes 0600)
    os.replace(tmp, path)


def _leaderboard(mlflow: MlflowResource) -> tuple[pl.DataFrame, str | None]:
    uri = mlflow.tracking_uri
    if uri.startswith("sqlite:///") and not Path(uri.removeprefix("sqlite:///")).exists():
        # no store yet reads the same as a store without registered models: logging this
        # report creates the store, and that alone must not change the next report
        return inputs.empty(inputs.LEADERBOARD_COLUMNS), None
    try:
        return leaderboard.champion_leaderboard(mlflow.client()), None
    except Exception as exc:  # an unreachable tracking server must not stop the report
        return inputs.empty(inputs.LEADERBOARD_COLUMNS), f"MLflow: {type(exc).__name__}: {exc}"


def _previous_version(instance: dg.DagsterInstance) -> str | None:
    event = instance.get_latest_materialization_event(REPORT_KEY)
    mat = event.asset_materialization if event is not None else None
    return (mat.tags or {}).get("dagster/data_version") if mat is not None else None


def _check_keys(
    context: dg.AssetExecutionContext, known: Sequence[dg.AssetCheckKey]
) -> set[dg.AssetCheckKey]:
    """``known`` (the checks of the assets the report was built with) plus every check of the
    code location when the step has its repository (``execute_in_process`` has none)."""
    keys = set(known)
    with contextlib.suppress(Exception):  # no repository on the step: the known checks it is
        keys |= set(context.repository_def.asset_graph.asset_check_keys)
    return keys


def _notes_md(report: render.RenderedReport) -> str:
    return "\n".join(f"- {n}" for n in report.notes) or "_all sections present_"


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
        metadata={"output": "<reports_dir>/report-<date>.html and latest.html"},
    )
    def report(
        context: dg.AssetExecutionContext,
        warehouse: WarehouseResource,
        report_settings: ReportSettings,
        mlflow: MlflowResource,
    ) -> dg.MaterializeResult:
        with warehouse.connect() as con:
            data = inputs.load_inputs(con)
        data.leaderboard, problem = _leaderboard(mlflow)
        if problem:
            data.skipped["leaderboard"] = problem
        try:
            data.quality = latest_check_evaluations(
                context.instance, _check_keys(context, check_keys)
            )
        except Exception as exc:  # an instance without check storage: report without it
            data.skipped["quality"] = f"{type(exc).__name__}: {exc}"
        rendered = render.render_report(data, datetime.now(UTC), title=report_settings.title)
        folder = Path(report_settings.reports_dir)
        path = folder / f"report-{rendered.report_date:%Y-%m-%d}.html"
        _write_atomic(path, rendered.html)
        _write_atomic(folder / "latest.html", rendered.html)
        version = f"sha256:{rendered.content_hash[:24]}"
        changed = _previous_version(context.instance) != version
        run_id = "not logged (unchanged)" if not changed else "not logged (off)"
        if changed and report_settings.log_to_mlflow:
            try:
                client = mlflow.client()
                experiment = mlflow.experiment_id(tracking.EXPERIMENT)
                run_id = tracking.log_report(client, experiment, path, rendered)
            except Exception as exc:  # MLflow down: the report itself is still good
                context.log.warning(f"report not logged to MLflow: {type(exc).__name__}: {exc}")
                run_id = f"failed: {type(exc).__name__}"
        context.log.info(
            f"report {path} ({'changed' if changed else 'unchanged'}); missing: "
            f"{', '.join(rendered.missing) or 'nothing'}"
        )
        return dg.MaterializeResult(
            metadata={
                "path": dg.MetadataValue.path(str(path)),
                "url": dg.MetadataValue.url(path.resolve().as_uri()),
                "latest": dg.MetadataValue.path(str(folder / "latest.html")),
                "report_date": dg.MetadataValue.text(f"{rendered.report_date:%Y-%m-%d}"),
                "content_hash": dg.MetadataValue.text(rendered.content_hash),
                "data_version": dg.MetadataValue.text(version),
                "changed": dg.MetadataValue.bool(changed),
                "sections_present": dg.MetadataValue.json(rendered.present),
                "sections_missing": dg.MetadataValue.json(rendered.missing),
                "notes": dg.MetadataValue.md(_notes_md(rendered)),
                "summary": dg.MetadataValue.json(rendered.summary),
                "charts": dg.MetadataValue.int(rendered.charts),
                "bytes": dg.MetadataValue.int(len(rendered.html.encode())),
                "mlflow_run_id": dg.MetadataValue.text(run_id),
            },
            data_version=dg.DataVersion(version),
        )

    return report


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


def _state(con, report_date: date) -> dict[str, dict[str, Any]]:
    ensure_table(con, "reports.published")
    rows = con.sql(
        "SELECT * FROM reports.published WHERE report_date = $1", params=[report_date]
    ).pl()
    return {r["target"]: r for r in rows.iter_rows(named=True)}


def _row(report_date: date, target: str, remote_id: str, url: str, content_hash: str, action: str):
    return {
        "report_date": report_date,
        "target": target,
        "remote_id": remote_id,
        "url": url,
        "content_hash": content_hash,
        "action": action,
        "published_at": datetime.now(UTC),
    }


def _to_wordpress(
    wordpress: WordPressResource, title: str, report: dict[str, Any], report_date: date
) -> tuple[str, dict[str, Any]]:
    html = Path(report["path"]).read_text(encoding="utf-8")
    body = html[
        html.index(render.BODY_START) + len(render.BODY_START) : html.index(render.BODY_END)
    ]
    with wordpress.client() as client:
        post = client.publish(
            wordpress_logic.post_slug(report_date),
            f"{title} {report_date:%Y-%m-%d}",
            body.strip(),
            status=wordpress.post_status,
        )
    row = _row(
        report_date, "wordpress", str(post.post_id), post.link, report["content_hash"], post.action
    )
    return f"{post.action} post {post.post_id}", row


def _to_discord(
    discord: DiscordResource,
    report: dict[str, Any],
    report_date: date,
    link: str,
    previous_id: str | None,
) -> tuple[str, dict[str, Any]]:
    notes = [n.strip("- ") for n in str(report.get("notes", "")).splitlines()]
    embed = discord_logic.report_embed(report_date, dict(report.get("summary") or {}), link, notes)
    with discord.webhook() as hook:
        message_id, action = hook.upsert({"embeds": [embed]}, previous_id)
    row = _row(report_date, "discord", message_id, link, report["content_hash"], action)
    return f"{action} message {message_id}", row


def _publish(
    report: dict[str, Any],
    state: dict[str, dict[str, Any]],
    settings: ReportSettings,
    wordpress: WordPressResource,
    discord: DiscordResource,
) -> tuple[dict[str, str], list[dict[str, Any]], list[str]]:
    """Publish ``report`` to each configured target whose stored content hash differs:
    (status per target, rows for ``reports.published``, failures). A failing target does
    not stop the other."""
    report_date = date.fromisoformat(report["report_date"])
    path = Path(report["path"])
    link = f"{settings.public_url.rstrip('/')}/{path.name}" if settings.public_url else None
    status: dict[str, str] = {}
    rows: list[dict[str, Any]] = []
    failures: list[str] = []
    for target, resource in (("wordpress", wordpress), ("discord", discord)):
        if not resource.enabled:
            continue
        previous = state.get(target)
        if previous and previous["content_hash"] == report["content_hash"]:
            status[target] = f"unchanged: {previous['remote_id']} is current"
            if target == "wordpress":
                link = previous["url"] or link
            continue
        try:
            if target == "wordpress":
                status[target], row = _to_wordpress(wordpress, settings.title, report, report_date)
                link = row["url"] or link
            else:
                previous_id = previous["remote_id"] if previous else None
                status[target], row = _to_discord(
                    discord, report, report_date, link or str(path), previous_id
                )
        except PublishError as exc:
            status[target] = f"failed: {exc}"
            failures.append(str(exc))
            continue
        rows.append(row)
    return status, rows, failures


@dg.asset(
    key=PUBLISHED_KEY,
    description=(
        "The report of the day published: a WordPress post (created, or updated in place, by "
        "slug trading-report-<date>) and a Discord message (edited in place on re-runs). Off "
        "unless configured; an unchanged report is not published again."
    ),
    deps=[REPORT_KEY],
    group_name="reports",
    kinds={"wordpress", "discord", "duckdb"},
    pool=DUCKDB_WRITER_POOL,
    metadata={"table": "reports.published"},
)
def published(
    context: dg.AssetExecutionContext,
    warehouse: WarehouseResource,
    report_settings: ReportSettings,
    wordpress: WordPressResource,
    discord: DiscordResource,
) -> dg.MaterializeResult:
    report = _report_event(context.instance)
    targets = [name for name, r in (("wordpress", wordpress), ("discord", discord)) if r.enabled]
    status: dict[str, str] = {}
    rows: list[dict[str, Any]] = []
    failures: list[str] = []
    if report is None:
        status["report"] = "no report yet: materialize reports/report first"
    elif not targets:
        status["publishing"] = PUBLISHING_OFF
    else:
        with warehouse.connect() as con:
            state = _state(con, date.fromisoformat(report["report_date"]))
        status, rows, failures = _publish(report, state, report_settings, wordpress, discord)
    with warehouse.connect() as con:
        ensure_table(con, "reports.published")
        if rows:  # what did get published is recorded even when another target failed
            frame = pl.DataFrame(rows, schema=schemas.PUBLISHED_SCHEMA)
            upsert(con, "reports.published", frame, list(schemas.PUBLISHED_KEY))
        stored, version = content_version(con, "reports.published")
    for target, text in status.items():
        context.log.info(f"{target}: {text}")
    if failures:
        raise dg.Failure(
            description="publishing failed: " + "; ".join(failures),
            metadata={"status": dg.MetadataValue.json(status)},
        )
    return dg.MaterializeResult(
        metadata={
            "status": dg.MetadataValue.json(status),
            "targets": dg.MetadataValue.json(targets),
            "rows": dg.MetadataValue.int(stored),
            "published_now": dg.MetadataValue.int(len(rows)),
            "data_version": dg.MetadataValue.text(version),
        },
        data_version=dg.DataVersion(version),
    )


__all__ = ["PUBLISHED_KEY", "REPORT_KEY", "PublishError", "published", "report_asset_for"]
