"""The project home folder: one place for the warehouse, Dagster, MLflow and reports.

Layout under ``TRADING_ASSETS_HOME`` (default ``.trading/`` in the working directory)::

    warehouse.duckdb     all tables, one schema per layer
    dagster/             DAGSTER_HOME, with a dagster.yaml that serializes DuckDB writers
                         (and points Dagster's storage at Postgres with TRADING_POSTGRES_URL)
    mlflow.db            MLflow tracking + model registry (SQLite; or TRADING_MLFLOW_TRACKING_URI)
    mlartifacts/         MLflow artifacts
    reports/             generated HTML reports
    inbox/               files dropped here are ingested by the inbox sensor
    metrics/             Prometheus text files (cost_metrics.prom)
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from trading_assets import settings

HOME_ENV = settings.HOME.name
DEFAULT_HOME = settings.HOME.default

#: Name of the Dagster concurrency pool every DuckDB-writing asset joins (limit 1).
DUCKDB_WRITER_POOL = "duckdb_writer"

_WRITTEN_BY = "# Written by trading-assets."
_DAGSTER_YAML = f"""\
# Written by trading-assets. DuckDB allows one writer process at a time, so every asset that
# writes the warehouse runs in the pool "{DUCKDB_WRITER_POOL}"; pools default to one slot here
# (with TRADING_EXECUTOR=multiprocess, one per worker: the warehouse's writer lock then
# serializes the write transactions alone, and compute runs in parallel).
concurrency:
  pools:
    granularity: {{pool_granularity}}
    default_limit: {{pool_limit}}
  runs:
    max_concurrent_runs: 4
# queued runs (a sensor's or the UI's) start within a second, not the default five
run_coordinator:
  module: dagster.core.run_coordinator
  class: QueuedRunCoordinator
  config:
    dequeue_interval_seconds: 1
# the inbox sensor and declarative automation are evaluated side by side, so a slow
# automation tick never delays a file landing in the inbox
sensors:
  use_threads: true
  num_workers: 4
telemetry:
  enabled: false
"""
#: Dagster's instance storage on Postgres (TRADING_POSTGRES_URL, read by Dagster at start)
_POSTGRES_STORAGE = f"""\
storage:
  postgres:
    postgres_url:
      env: {settings.POSTGRES_URL.name}
"""


def dagster_yaml_text() -> str:
    """The ``dagster.yaml`` this package writes for the current settings: SQLite storage in
    the home, or Postgres with ``TRADING_POSTGRES_URL``; the ``duckdb_writer`` pool limit is
    1, or the worker count with ``TRADING_EXECUTOR=multiprocess``.

    Raises:
        ConfigurationError: an invalid scale setting (see :mod:`trading_assets.scale`).
    """
    from trading_assets import scale

    parallel = scale.executor() == scale.MULTIPROCESS
    text = _DAGSTER_YAML.replace("{pool_limit}", str(scale.workers() if parallel else 1))
    # in parallel, pools count runs (at dequeue), never steps: a step process never waits
    # for a slot its run holds, and the writer lock alone serializes the writes
    text = text.replace("{pool_granularity}", "run" if parallel else "op")
    return text + (_POSTGRES_STORAGE if scale.postgres_url() else "")


@dataclass(frozen=True)
class ProjectHome:
    """Paths of one project home. Create with :meth:`from_env` and call :meth:`ensure`."""

    root: Path

    @classmethod
    def from_env(cls) -> ProjectHome:
        """The home named by ``$TRADING_ASSETS_HOME``, else ``./.trading`` (made absolute)."""
        return cls(Path(os.environ.get(HOME_ENV) or DEFAULT_HOME).expanduser().resolve())

    @property
    def warehouse_path(self) -> Path:
        return self.root / "warehouse.duckdb"

    @property
    def dagster_home(self) -> Path:
        return self.root / "dagster"

    @property
    def mlflow_db(self) -> Path:
        return self.root / "mlflow.db"

    @property
    def mlflow_tracking_uri(self) -> str:
        """``TRADING_MLFLOW_TRACKING_URI`` when set (a secret: may hold a password), else the
        home's SQLite store."""
        return settings.MLFLOW_TRACKING_URI.read() or f"sqlite:///{self.mlflow_db}"

    @property
    def mlflow_artifacts(self) -> Path:
        return self.root / "mlartifacts"

    @property
    def reports_dir(self) -> Path:
        return self.root / "reports"

    @property
    def inbox_dir(self) -> Path:
        return self.root / "inbox"

    @property
    def metrics_dir(self) -> Path:
        return self.root / "metrics"

    @property
    def served_cache_dir(self) -> Path:
        """Champions and fitted models of the live path (:mod:`trading_assets.ml.served_cache`)."""
        return self.root / "cache" / "served"

    def ensure(self) -> ProjectHome:
        """Create the folders and the Dagster instance config if missing; returns self."""
        for path in (
            self.root,
            self.dagster_home,
            self.mlflow_artifacts,
            self.reports_dir,
            self.inbox_dir,
        ):
            path.mkdir(parents=True, exist_ok=True)
        dagster_yaml = self.dagster_home / "dagster.yaml"
        current = dagster_yaml.read_text() if dagster_yaml.exists() else None
        # a file written by an earlier version of this package is brought up to date; one
        # the user wrote (without the first line of ours) is left alone
        wanted = dagster_yaml_text()
        if current is None or (current != wanted and current.startswith(_WRITTEN_BY)):
            dagster_yaml.write_text(wanted)
        return self
