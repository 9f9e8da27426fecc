"""Data quality for the report: the latest evaluation of every asset check and partition,
read from the Dagster instance in one storage query
(:func:`~trading_assets.defs.dagster_internals.latest_check_executions`)."""

from collections.abc import Iterable
from datetime import UTC, datetime

import dagster as dg
import polars as pl

from trading_assets.defs.dagster_internals import check_record_status, latest_check_executions
from trading_assets.defs.metadata import HISTORICAL, NO_SOURCE
from trading_assets.report.inputs import QUALITY_COLUMNS, empty


def _status(record) -> tuple[str, str]:
    evaluation = None
    if record.event is not None and record.event.dagster_event is not None:
        evaluation = record.event.dagster_event.event_specific_data
    severity = getattr(getattr(evaluation, "severity", None), "value", "") or ""
    status = check_record_status(record)
    if status == "succeeded":
        return "passed", severity
    if status == "failed":
        metadata = getattr(evaluation, "metadata", None) or {}
        if NO_SOURCE in metadata:
            return "no source", severity
        if HISTORICAL in metadata:
            return "historical", severity
        return ("warning" if severity == "WARN" else "failed"), severity
    return "planned", severity


def latest_check_evaluations(
    instance: dg.DagsterInstance, check_keys: Iterable[dg.AssetCheckKey]
) -> pl.DataFrame:
    """One row per (check, partition) with its latest outcome (:data:`QUALITY_COLUMNS`):
    status ``passed``, ``warning`` (a WARN check that failed), ``failed``, ``no source`` or
    ``historical`` (did not pass only to say so: no source on the profile, historical data
    whose freshness is not enforced) or ``planned``."""
    rows = []
    for record in latest_check_executions(instance, check_keys):
        status, severity = _status(record)
        rows.append(
            {
                "asset_key": record.key.asset_key.to_user_string(),
                "check": record.key.name,
                "status": status,
                "severity": severity,
                "partition": record.partition or "",
                "evaluated_at": datetime.fromtimestamp(record.create_timestamp, UTC),
            }
        )
    rows.sort(key=lambda r: (r["asset_key"], r["check"], r["partition"]))
    return pl.DataFrame(rows, schema=QUALITY_COLUMNS) if rows else empty(QUALITY_COLUMNS)
