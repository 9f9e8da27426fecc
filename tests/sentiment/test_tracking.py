"""MLflow logging and registry of the trained model (a throw-away SQLite store)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

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


def test_domain_training_metrics_read_back_from_mlflow(domain_outcome, tmp_path):
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    registered = tracking.log_domain_training(
        domain_outcome,
        tracking_uri=uri,
        artifact_location=str(tmp_path / "artifacts"),
        corpora=["phrasebank", "tweets"],
    )
    assert registered.winner == domain_outcome.choice
    assert tracking.champion(uri) == registered

    from mlflow import MlflowClient

    run = MlflowClient(tracking_uri=uri).get_run(registered.run_id)
    metrics, params = run.data.metrics, run.data.params
    assert params["choice"] == domain_outcome.choice
    assert params["domains"] == "headlines,tweets"
    # the per-domain feature choice and the validation figures it was made on
    for domain, chosen in domain_outcome.features.items():
        assert params[f"features_{domain}"] == chosen
        compared = domain_outcome.feature_validation[domain]
        for features, value in compared.items():
            assert metrics[f"validation_{features}_{domain}_macro_f1"] == value
        assert compared[chosen] == max(compared.values())
    for domain in ("headlines", "tweets"):
        rows = domain_outcome.held_out[domain]
        for labeller in ("model", "lexicon", "majority"):
            assert metrics[f"{domain}_{labeller}_accuracy"] == rows[labeller].accuracy
            assert metrics[f"{domain}_{labeller}_macro_f1"] == rows[labeller].macro_f1
            for label, recall in rows[labeller].recall.items():
                assert metrics[f"{domain}_{labeller}_recall_{label}"] == recall
        assert metrics[f"{domain}_model_ece"] <= 0.05
        assert metrics[f"{domain}_model_macro_f1"] > metrics[f"{domain}_lexicon_macro_f1"]
    assert metrics["mean_macro_f1"] == pytest.approx(
        (metrics["headlines_model_macro_f1"] + metrics["tweets_model_macro_f1"]) / 2
    )
    artifacts = Path(run.info.artifact_uri.removeprefix("file://"))
    assert (artifacts / "reliability.png").read_bytes()[:4] == b"\x89PNG"
    per_domain = json.loads((artifacts / "per_domain.json").read_text())
    assert per_domain["domains"]["tweets"]["model"]["reliability"]
    model = tracking.load_model(uri, registered)
    sample = ["$AMD jumps 8% on earnings beat", "The company is based in Espoo"]
    assert np.allclose(
        model.predict_proba(sample, ["tweets", "headlines"]),
        domain_outcome.model.predict_proba(sample, ["tweets", "headlines"]),
    )
