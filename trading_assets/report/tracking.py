"""Log a report to MLflow: one run in the ``reports`` experiment per changed report, with the
HTML as artifact, the content hash as tag and the numeric key figures as metrics."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from trading_assets.report.render import RenderedReport

EXPERIMENT = "reports"


def log_report(client: Any, experiment_id: str, path: Path, report: RenderedReport) -> str:
    """Create a finished run holding ``path`` (the HTML) as an artifact; returns the run id.

    ``client`` is an ``mlflow.MlflowClient``; the run is named ``report-<date>`` and tagged
    with ``content_hash`` and ``report_date``; numeric summary figures become metrics."""
    run = client.create_run(
        experiment_id,
        run_name=f"report-{report.report_date:%Y-%m-%d}",
        tags={
            "content_hash": report.content_hash,
            "report_date": f"{report.report_date:%Y-%m-%d}",
            "sections_missing": ",".join(report.missing) or "none",
        },
    )
    run_id = run.info.run_id
    try:
        for name, value in report.summary.items():
            if isinstance(value, int | float) and not isinstance(value, bool):
                client.log_metric(run_id, name, float(value))
        client.log_metric(run_id, "charts", float(report.charts))
        client.log_artifact(run_id, str(path))
    except Exception:
        client.set_terminated(run_id, status="FAILED")
        raise
    client.set_terminated(run_id)
    return run_id


def log_report_to(
    tracking_uri: str, artifact_location: str | None, path: Path, report: RenderedReport
) -> str:
    """:func:`log_report` in experiment :data:`EXPERIMENT` of the store at ``tracking_uri``
    (created with ``artifact_location`` if missing); returns the run id.

    Raises whatever MLflow raises for an unreachable store."""
    from trading_assets import mlflow_store

    client = mlflow_store.client(tracking_uri)  # also the process default: used just below
    experiment = mlflow_store.experiment_id(EXPERIMENT, artifact_location)
    return log_report(client, experiment, path, report)
