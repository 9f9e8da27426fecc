"""Build one report: render the inputs, write the files, decide whether it changed, log it.

The caller gathers :class:`~trading_assets.report.inputs.ReportInputs` (the warehouse through
:func:`~trading_assets.report.inputs.load_inputs`, the leaderboard through
:func:`add_leaderboard`, the data quality from wherever check results live) and calls
:func:`write_report`. The report's data version is its content hash (without the generation
time), so an unchanged report is recognized and not logged to MLflow again.
"""

from __future__ import annotations

import os
import tempfile
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from trading_assets.report import charts, leaderboard, render, tracking
from trading_assets.report.inputs import ReportInputs

LATEST = "latest.html"
NOT_LOGGED_UNCHANGED = "not logged (unchanged)"
NOT_LOGGED_OFF = "not logged (off)"
NOT_LOGGED_SAME_MODELS = (
    "not logged (same leaderboard as the last logged report: a new bar alone creates no MLflow run)"
)


def write_atomic(path: Path, text: str) -> None:
    """Write ``text`` (UTF-8) to ``path`` through a temporary file in the same folder and a
    rename, so a reader never sees half a page; creates the folder; mode 0644."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(text)
    os.chmod(tmp, 0o644)  # readable like any other file written here (mkstemp makes 0600)
    os.replace(tmp, path)


def add_leaderboard(data: ReportInputs, tracking_uri: str, cache_dir: Path | None = None) -> None:
    """Fill ``data.leaderboard`` from the MLflow store at ``tracking_uri`` (kept in
    ``cache_dir`` while a SQLite store is unchanged, see
    :func:`~trading_assets.report.leaderboard.read_leaderboard`); a store that cannot be read
    leaves it empty and says why in ``data.skipped["leaderboard"]``."""
    data.leaderboard, problem = leaderboard.read_leaderboard(tracking_uri, cache_dir)
    if problem:
        data.skipped["leaderboard"] = problem


def data_version(report: render.RenderedReport) -> str:
    """``sha256:<24 hex digits>`` of the report's content hash: the asset's data version."""
    return f"sha256:{report.content_hash[:24]}"


@dataclass(frozen=True)
class MlflowTarget:
    """Where changed reports are logged: an MLflow ``tracking_uri`` and the artifact location
    of the ``reports`` experiment if it has to be created (None: the server's default)."""

    tracking_uri: str
    artifact_location: str | None = None


@dataclass(frozen=True)
class WrittenReport:
    """One report written.

    Attributes:
        rendered: the page and its sections, summary and content hash.
        path: ``<reports_dir>/report-<YYYY-MM-DD>.html`` (UTC date of generation).
        latest: ``<reports_dir>/latest.html`` (the same page).
        version: :func:`data_version` of the page.
        changed: whether ``version`` differs from the previous report's.
        mlflow_run_id: the run the report was logged to, or why it was not
            (``not logged (unchanged)``, ``not logged (off)``, ``failed: <error type>``).
        mlflow_error: ``<error type>: <message>`` when logging failed, else None.
    """

    rendered: render.RenderedReport
    path: Path
    latest: Path
    version: str
    changed: bool
    mlflow_run_id: str
    mlflow_error: str | None = None

    @property
    def notes_markdown(self) -> str:
        """The notes of every section as a Markdown list (``_all sections present_`` if none)."""
        return "\n".join(f"- {n}" for n in self.rendered.notes) or "_all sections present_"

    @property
    def log_line(self) -> str:
        """One line for the run log: the file, whether it changed, what is missing."""
        return (
            f"report {self.path} ({'changed' if self.changed else 'unchanged'}); missing: "
            f"{', '.join(self.rendered.missing) or 'nothing'}"
        )


#: folder of ``reports_dir`` holding the charts of the last report, by content hash
CHART_CACHE = ".chart-cache"


def start_charts(
    data: ReportInputs, reports_dir: Path, draw: charts.Drawer = charts.draw_here
) -> render.PendingCharts:
    """Start drawing the charts of the report of ``data`` that ``reports_dir``'s
    :data:`CHART_CACHE` lacks (``draw``: see :func:`write_report`), for
    :func:`write_report`'s ``pending``: a warm process draws them while the caller reads the
    rest of the report's inputs."""
    return render.start_charts(data, charts.ChartCache(reports_dir / CHART_CACHE, draw))


def write_report(
    data: ReportInputs,
    *,
    generated_at: datetime,
    reports_dir: Path,
    title: str,
    previous_version: str | None,
    mlflow: MlflowTarget | None,
    models_changed: bool = True,
    draw: charts.Drawer = charts.draw_here,
    pending: render.PendingCharts | None = None,
) -> WrittenReport:
    """Render ``data`` (``generated_at``: aware UTC, printed on the page and naming the file),
    write ``report-<date>.html`` and ``latest.html`` into ``reports_dir`` (charts whose rows
    did not change are read back from its :data:`CHART_CACHE` folder), compare the data
    version with ``previous_version`` and, when it changed, ``mlflow`` is given and
    ``models_changed`` (the leaderboard differs from the last logged report's: a training),
    log the page as one MLflow run (:func:`trading_assets.report.tracking.log_report_to`).

    A failing MLflow does not fail the report: :attr:`WrittenReport.mlflow_error` says why.
    ``draw`` draws the charts that are not cached (:data:`~trading_assets.report.charts.
    Drawer`; default: in this process). ``pending``: the charts of ``data`` already started
    by :func:`start_charts` (``draw`` is then not used).

    Raises:
        OSError: a file could not be written.
    """
    rendered = render.render_report(
        data,
        generated_at,
        title=title,
        chart_cache=reports_dir / CHART_CACHE,
        draw=draw,
        pending=pending,
    )
    path = reports_dir / f"report-{rendered.report_date:%Y-%m-%d}.html"
    write_atomic(path, rendered.html)
    write_atomic(reports_dir / LATEST, rendered.html)
    version = data_version(rendered)
    changed = previous_version != version
    run_id = NOT_LOGGED_UNCHANGED if not changed else NOT_LOGGED_OFF
    if changed and mlflow is not None and not models_changed:
        run_id = NOT_LOGGED_SAME_MODELS
    error = None
    if changed and mlflow is not None and models_changed:
        try:
            run_id = tracking.log_report_to(
                mlflow.tracking_uri, mlflow.artifact_location, path, rendered
            )
        except Exception as exc:  # MLflow down: the report itself is still good
            error = f"{type(exc).__name__}: {exc}"
            run_id = f"failed: {type(exc).__name__}"
    return WrittenReport(rendered, path, reports_dir / LATEST, version, changed, run_id, error)


__all__ = [
    "MlflowTarget",
    "WrittenReport",
    "add_leaderboard",
    "data_version",
    "write_atomic",
    "write_report",
]
