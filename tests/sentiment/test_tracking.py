"""MLflow logging and registry of the trained model (a throw-away SQLite store)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from trading_assets.sentiment import tracking


def test_training_run_is_logged_registered_and_loadable(allagree_outcome, allagree, mlflow_store):
    uri, artifacts = mlflow_store
    assert tracking.champion(uri) is None
    registered = tracking.log_training(
        allagree_outcome, tracking_uri=uri, artifact_location=artifacts, corpus=allagree.origin
    )
    assert registered.model_version == allagree_outcome.model_version
    assert registered.winner == "linear" and registered.version == "1"
    assert tracking.champion(uri) == registered
    assert tracking.find_registered(uri, allagree_outcome.model_version) == registered
    assert tracking.find_registered(uri, "ml-000000000000") is None

    from mlflow import MlflowClient

    run = MlflowClient(tracking_uri=uri).get_run(registered.run_id)
    metrics = run.data.metrics
    for name in ("linear", "forest", "lexicon"):
        evaluation = allagree_outcome.held_out[name]
        assert metrics[f"{name}_accuracy"] == evaluation.accuracy
        assert metrics[f"{name}_macro_f1"] == evaluation.macro_f1
    assert run.data.params["winner"] == "linear" and run.data.params["config_seed"] == "42"
    confusion_file = Path(run.info.artifact_uri.removeprefix("file://")) / "confusion_matrices.json"
    confusion = json.loads(confusion_file.read_text())
    assert confusion["matrices"]["linear"] == allagree_outcome.held_out["linear"].confusion
    assert str(confusion_file).startswith(artifacts)  # artifacts in the configured folder

    model = tracking.load_model(uri, registered)
    sample = allagree.texts[:50]
    assert np.allclose(model.predict_proba(sample), allagree_outcome.model.predict_proba(sample))
