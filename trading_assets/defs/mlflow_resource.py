"""The MLflow resource: where runs and registered models live.

Every asset that trains or loads a model takes this resource instead of reading the
environment. By default it points at the project home's SQLite store
(``sqlite:///<home>/mlflow.db``) with artifacts in ``<home>/mlartifacts``; a deployment
can point it at an MLflow tracking server instead (``tracking_uri="http://mlflow:5000"``).
"""

from pathlib import Path
from typing import Any

import dagster as dg

from trading_assets import settings
from trading_assets.home import ProjectHome


class MlflowResource(dg.ConfigurableResource):
    """MLflow tracking and registry.

    Attributes:
        tracking_uri: tracking (and registry) URI, e.g. ``sqlite:////abs/home/mlflow.db`` or
            ``http://host:5000``.
        artifact_location: folder or URI for the artifacts of experiments this project
            creates (None: the tracking server's default).
        served_cache_dir: folder of the live path's champion and model cache (None: no
            cache; every live run asks MLflow).
    """

    tracking_uri: str
    artifact_location: str | None = None
    served_cache_dir: str | None = None

    @classmethod
    def for_home(cls, home: ProjectHome) -> "MlflowResource":
        """The project home's store: ``sqlite:///<home>/mlflow.db`` and ``<home>/mlartifacts``;
        with ``TRADING_MLFLOW_TRACKING_URI`` set (e.g. Postgres), that store, read at run time
        as a secret (``EnvVar``), artifacts still in ``<home>/mlartifacts``."""
        tracking_uri: Any = home.mlflow_tracking_uri
        if settings.MLFLOW_TRACKING_URI.read():
            tracking_uri = dg.EnvVar(settings.MLFLOW_TRACKING_URI.name)
        return cls(
            tracking_uri=tracking_uri,
            artifact_location=str(home.mlflow_artifacts),
            served_cache_dir=str(home.served_cache_dir),
        )

    def served_cache(self) -> Any:
        """The live path's :class:`~trading_assets.ml.served_cache.ServedCache`, or None."""
        from trading_assets.ml.served_cache import ServedCache

        return ServedCache(Path(self.served_cache_dir)) if self.served_cache_dir else None

    def client(self) -> Any:
        """An ``mlflow.MlflowClient`` on this store (imports mlflow: seconds)."""
        from trading_assets import mlflow_store

        return mlflow_store.client(self.tracking_uri)

    def experiment_id(self, name: str) -> str:
        """The id of experiment ``name``, created (with :attr:`artifact_location`) if missing."""
        from trading_assets import mlflow_store

        self.client()
        return mlflow_store.experiment_id(name, self.artifact_location)
