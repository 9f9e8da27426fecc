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


#: experiment tag MLflow 3's UI reads to pick an experiment's view (its sidebar then shows the
#: runs, models and the model registry instead of the GenAI traces pages)
EXPERIMENT_KIND_TAG = "mlflow.experimentKind"
#: the value of :data:`EXPERIMENT_KIND_TAG` for the model-training view
MODEL_TRAINING_KIND = "custom_model_development"
#: MLflow's own experiment, created with every store
DEFAULT_EXPERIMENT = "Default"


def experiment_id(name: str, artifact_location: str | None = None) -> str:
    """The id of experiment ``name`` on the current store, created if missing with
    ``artifact_location`` (a folder, made a ``file://`` URI, or any URI).

    The experiment, and MLflow's ``Default`` one, carry :data:`EXPERIMENT_KIND_TAG` =
    :data:`MODEL_TRAINING_KIND`, so MLflow's UI opens them in its model-training view."""
    import mlflow

    experiment = mlflow.get_experiment_by_name(name)
    if experiment is None:
        location = artifact_location
        if location and "://" not in location:
            location = Path(location).resolve().as_uri()
        mlflow.create_experiment(name, artifact_location=location)
        experiment = mlflow.get_experiment_by_name(name)
    for each in (experiment, mlflow.get_experiment_by_name(DEFAULT_EXPERIMENT)):
        if each is not None and each.tags.get(EXPERIMENT_KIND_TAG) != MODEL_TRAINING_KIND:
            mlflow.MlflowClient().set_experiment_tag(
                each.experiment_id, EXPERIMENT_KIND_TAG, MODEL_TRAINING_KIND
            )
    return experiment.experiment_id
