"""``alert_on_failed_reconciliation``: an asset sensor on ``trading/positions`` that logs, and
posts to Discord when configured, every materialization whose ``reconciled`` check failed."""

import dagster as dg

from trading_assets.defs.keys import POSITIONS
from trading_assets.defs.reports.resources import DiscordResource
from trading_assets.errors import PublishError
from trading_assets.trading.book import reconciliation_alert

RECONCILED = dg.AssetCheckKey(POSITIONS, "reconciled")


def failed_reconciliation(instance: dg.DagsterInstance, run_id: str) -> dict | None:
    """The details of the ``reconciled`` check evaluated in ``run_id`` when it failed, else
    None (passed, or not evaluated in that run)."""
    record = instance.event_log_storage.get_latest_asset_check_execution_by_key([RECONCILED]).get(
        RECONCILED
    )
    if record is None or record.run_id != run_id or record.event is None:
        return None
    evaluation = record.event.dagster_event.event_specific_data
    if evaluation.passed:
        return None
    details = evaluation.metadata.get("details")
    return dict(getattr(details, "value", None) or {})


@dg.asset_sensor(
    asset_key=POSITIONS,
    default_status=dg.DefaultSensorStatus.RUNNING,
    minimum_interval_seconds=30,
    description="Alerts (log, and Discord when configured) when trading/positions' "
    "reconciled check fails.",
)
def alert_on_failed_reconciliation(
    context: dg.SensorEvaluationContext, asset_event: dg.EventLogEntry, discord: DiscordResource
):
    details = failed_reconciliation(context.instance, asset_event.run_id)
    if details is None:
        return dg.SkipReason("reconciliation passed (or was not evaluated)")
    title, text = reconciliation_alert(details, asset_event.run_id)
    context.log.error(f"{title}. {text}")
    if discord.enabled:
        try:
            with discord.webhook() as hook:
                hook.alert(title, text)
        except PublishError as exc:  # best effort: the failure is logged above
            context.log.warning(f"Discord alert not sent: {exc}")
    return dg.SkipReason(f"alerted: {title}")


TRADING_SENSORS = [alert_on_failed_reconciliation]
