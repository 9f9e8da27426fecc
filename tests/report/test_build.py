"""Building one report without Dagster: files written atomically, the data version, the
unchanged report recognized, MLflow logging that fails without failing the report, and the
leaderboard of a store that does not exist yet."""

from __future__ import annotations

from pathlib import Path

from tests.report.conftest import GENERATED
from trading_assets.report import build
from trading_assets.report.inputs import ReportInputs


def test_write_report_writes_both_files_and_compares_versions(tmp_path: Path, inputs):
    first = build.write_report(
        inputs, generated_at=GENERATED, reports_dir=tmp_path / "r", title="T",
        previous_version=None, mlflow=None,
    )  # fmt: skip
    assert first.path == tmp_path / "r" / "report-2026-01-05.html"
    assert first.path.read_text() == first.latest.read_text() == first.rendered.html
    assert oct(first.path.stat().st_mode)[-3:] == "644"
    assert first.version == f"sha256:{first.rendered.content_hash[:24]}"
    assert first.changed and first.mlflow_run_id == build.NOT_LOGGED_OFF
    assert first.notes_markdown.startswith("- ") and "(changed)" in first.log_line
    again = build.write_report(
        inputs, generated_at=GENERATED, reports_dir=tmp_path / "r", title="T",
        previous_version=first.version, mlflow=build.MlflowTarget("http://127.0.0.1:9/"),
    )  # fmt: skip
    assert not again.changed and again.mlflow_run_id == build.NOT_LOGGED_UNCHANGED
    assert again.mlflow_error is None  # unchanged: MLflow was not even asked


def test_a_failing_mlflow_does_not_fail_the_report(tmp_path: Path, monkeypatch):
    from trading_assets.report import tracking

    def down(*args, **kwargs):
        raise ConnectionError("tracking server down")

    monkeypatch.setattr(tracking, "log_report_to", down)
    written = build.write_report(
        ReportInputs(), generated_at=GENERATED, reports_dir=tmp_path, title="T",
        previous_version="sha256:old", mlflow=build.MlflowTarget("http://127.0.0.1:9/"),
    )  # fmt: skip
    assert written.path.exists() and written.changed
    assert written.mlflow_run_id == "failed: ConnectionError"
    assert written.mlflow_error == "ConnectionError: tracking server down"
    assert written.notes_markdown.count("\n- ") >= 5  # every section says what is missing


def test_leaderboard_of_a_store_not_created_yet_is_empty_without_a_problem(tmp_path: Path):
    data = ReportInputs()
    build.add_leaderboard(data, f"sqlite:///{tmp_path / 'absent.db'}")
    assert data.leaderboard.height == 0 and "leaderboard" not in data.skipped
    assert not (tmp_path / "absent.db").exists()
