"""Shared MLflow plumbing: a client on one store and experiments created where configured.

Used by the sentiment model (:mod:`trading_assets.sentiment.tracking`) and the trading models
(:mod:`trading_assets.ml.tracking`). ``import mlflow`` costs seconds: it happens inside.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any


def client(tracking_uri: str) -> Any:
    """An ``mlflow.MlflowClient`` on ``tracking_uri`` (tracking and registry), also made the
    process default so fluent ``mlflow.*`` calls use it."""
    import mlflow
    from mlflow import MlflowClient

    mlflow.set_tracking_uri(tracking_uri)
    mlflow.set_registry_uri(tracking_uri)
    return MlflowClient(tracking_uri=tracking_uri, registry_uri=tracking_uri)


def experiment_id(name: str, artifact_location: str | None = None) -> str:
    """The id of experiment ``name`` on the current store, created if missing with
    ``artifact_location`` (a folder, made a ``file://`` URI, or any URI)."""
    import mlflow

    experiment = mlflow.get_experiment_by_name(name)
    if experiment is not None:
        return experiment.experiment_id
    location = artifact_location
    if location and "://" not in location:
        location = Path(location).resolve().as_uri()
    return mlflow.create_experiment(name, artifact_location=location)
