"""Sensors of the report: publish each new report, and alert on failed runs."""

import dagster as dg

from trading_assets.defs.keys import PUBLISHED as PUBLISHED_KEY
from trading_assets.defs.keys import REPORT as REPORT_KEY
from trading_assets.defs.reports.resources import DiscordResource, WordPressResource
from trading_assets.errors import PublishError

publish_job = dg.define_asset_job(
    "publish_report",
    selection=dg.AssetSelection.assets(PUBLISHED_KEY),
    description="Publish the latest report (WordPress post, Discord message).",
)


@dg.asset_sensor(
    asset_key=REPORT_KEY,
    job=publish_job,
    default_status=dg.DefaultSensorStatus.RUNNING,
    minimum_interval_seconds=30,
    description="Runs publish_report once per new data version of reports/report.",
)
def publish_on_report(
    context: dg.SensorEvaluationContext,
    asset_event: dg.EventLogEntry,
    wordpress: WordPressResource,
    discord: DiscordResource,
):
    """A run request keyed by the report's data version: an unchanged report (same data
    version) is not published again; nothing runs while no publisher is configured."""
    if not (wordpress.enabled or discord.enabled):
        return dg.SkipReason(
            "publishing is off: set WORDPRESS_URL/WORDPRESS_USER/WORDPRESS_APP_PASSWORD "
            "or DISCORD_WEBHOOK_URL"
        )
    mat = asset_event.asset_materialization
    version = (mat.tags or {}).get("dagster/data_version") if mat else None
    return dg.RunRequest(run_key=f"report-{version or asset_event.storage_id}")


def failure_text(context: dg.RunFailureSensorContext) -> tuple[str, str]:
    """(title, description) of the alert for a failed run: job, run id and the error."""
    run = context.dagster_run
    message = context.failure_event.message or "run failed"
    steps = [e.step_key for e in context.get_step_failure_events() if e.step_key]
    detail = f"Steps failed: {', '.join(steps)}. " if steps else ""
    return f"Run failed: {run.job_name}", f"{detail}Run {run.run_id}: {message}"[:3900]


@dg.run_failure_sensor(
    default_status=dg.DefaultSensorStatus.RUNNING,
    minimum_interval_seconds=30,
    description="Logs every failed run, and posts an alert to Discord when configured.",
)
def alert_on_run_failure(context: dg.RunFailureSensorContext, discord: DiscordResource) -> None:
    title, description = failure_text(context)
    context.log.error(f"{title}. {description}")
    if not discord.enabled:
        return
    try:
        with discord.webhook() as hook:
            hook.alert(title, description)
    except PublishError as exc:  # the alert is best effort; the failure is logged above
        context.log.warning(f"Discord alert not sent: {exc}")


REPORT_SENSORS = [publish_on_report, alert_on_run_failure]
