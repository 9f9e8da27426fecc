"""MLflow tracking and registry of the news sentiment model.

One training run logs: the corpus and config (params); accuracy and macro-F1 of every
candidate and of the lexicon baseline on the held-out part, and validation macro-F1
(metrics); the confusion matrices (``confusion_matrices.json`` and a text table); and the
winning pipeline, registered under ``model_name``. The registered version carries tags
``model_version`` (the content hash of :func:`trading_assets.sentiment.ml.model_version`) and
``winner``, and receives the alias ``champion``. Scoring loads ``models:/<name>@champion``.

A training on several corpora (:func:`log_domain_training`) logs per-domain metrics
(:func:`domain_metrics`), the per-domain evaluations and a reliability plot instead.

Because the model version is a content hash, :func:`find_registered` can tell that a corpus
and code have been trained and registered already, and training is skipped.
``import mlflow`` costs seconds: it happens inside the functions.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from trading_assets import mlflow_store
from trading_assets.sentiment.corpus import LABELS
from trading_assets.sentiment.domains import DomainOutcome
from trading_assets.sentiment.ml import TrainingOutcome

DEFAULT_EXPERIMENT = "news-sentiment"
DEFAULT_MODEL_NAME = "news-sentiment"
CHAMPION = "champion"


@dataclass(frozen=True)
class RegisteredModel:
    """A registered sentiment model version.

    Attributes:
        name / version: MLflow registered model name and version number (as text).
        model_version: our content-hash version (tag ``model_version``).
        run_id: the training run.
        model_uri: ``models:/<name>/<version>``.
        winner: candidate name of the model.
    """

    name: str
    version: str
    model_version: str
    run_id: str
    model_uri: str
    winner: str


def store_exists(tracking_uri: str) -> bool:
    """Whether the store at ``tracking_uri`` may hold models: False only for a
    ``sqlite:///`` file that does not exist yet (opening it would create it)."""
    if tracking_uri.startswith("sqlite:///"):
        return Path(tracking_uri.removeprefix("sqlite:///")).exists()
    return True


def _experiment_id(mlflow: Any, name: str, artifact_location: str | None) -> str:
    return mlflow_store.experiment_id(name, artifact_location)


def _client(tracking_uri: str):  # noqa: ANN202 (an MlflowClient)
    return mlflow_store.client(tracking_uri)


def _registered(version: Any, name: str) -> RegisteredModel:
    return RegisteredModel(
        name=name,
        version=str(version.version),
        model_version=str(version.tags.get("model_version", "")),
        run_id=str(version.run_id or ""),
        model_uri=f"models:/{name}/{version.version}",
        winner=str(version.tags.get("winner", "")),
    )


def find_registered(
    tracking_uri: str, model_version: str, model_name: str = DEFAULT_MODEL_NAME
) -> RegisteredModel | None:
    """The registered version of ``model_name`` tagged ``model_version``, or None."""
    client = _client(tracking_uri)
    from mlflow.exceptions import MlflowException

    try:
        versions = client.search_model_versions(f"name = '{model_name}'")
    except MlflowException:
        return None
    for version in versions:
        if version.tags.get("model_version") == model_version:
            return _registered(version, model_name)
    return None


def champion(tracking_uri: str, model_name: str = DEFAULT_MODEL_NAME) -> RegisteredModel | None:
    """The version holding the ``champion`` alias, or None when nothing is registered."""
    client = _client(tracking_uri)
    from mlflow.exceptions import MlflowException

    try:
        version = client.get_model_version_by_alias(model_name, CHAMPION)
    except MlflowException:
        return None
    return _registered(version, model_name)


def promote(tracking_uri: str, registered: RegisteredModel) -> None:
    """Give ``registered`` the ``champion`` alias."""
    _client(tracking_uri).set_registered_model_alias(registered.name, CHAMPION, registered.version)


def load_model(tracking_uri: str, registered: RegisteredModel) -> Any:
    """The fitted pipeline of ``registered`` (loaded from the MLflow artifact store)."""
    _client(tracking_uri)
    import mlflow.sklearn

    return mlflow.sklearn.load_model(registered.model_uri)


def _confusion_text(outcome: TrainingOutcome) -> str:
    lines: list[str] = []
    for name, evaluation in outcome.held_out.items():
        lines.append(f"{name} (rows = true, columns = predicted)")
        lines.append(" " * 10 + "".join(f"{label:>10}" for label in LABELS))
        for label, row in zip(LABELS, evaluation.confusion, strict=True):
            lines.append(f"{label:<10}" + "".join(f"{v:>10}" for v in row))
        lines.append("")
    return "\n".join(lines)


def log_training(
    outcome: TrainingOutcome,
    *,
    tracking_uri: str,
    artifact_location: str | None = None,
    corpus: str = "",
    experiment: str = DEFAULT_EXPERIMENT,
    model_name: str = DEFAULT_MODEL_NAME,
) -> RegisteredModel:
    """Log ``outcome`` as one MLflow run, register its model and make it the champion.

    Args:
        outcome: from :func:`~trading_assets.sentiment.ml.train_sentiment_models`.
        tracking_uri: e.g. ``sqlite:///<home>/mlflow.db`` (also the registry).
        artifact_location: folder (or URI) for a new experiment's artifacts.
        corpus: the corpus path (logged as a parameter).
        experiment / model_name: MLflow experiment and registered model names.

    Returns:
        The :class:`RegisteredModel`.
    """
    import mlflow

    params = {
        "corpus": corpus,
        "winner": outcome.winner,
        **{f"n_{k}": v for k, v in outcome.sizes.items()},
        **{f"label_{k}": v for k, v in outcome.label_counts.items()},
    }
    with _training_run(tracking_uri, artifact_location, experiment, outcome, params) as (
        client,
        run,
    ):
        metrics: dict[str, float] = {}
        for name, evaluation in outcome.held_out.items():
            metrics[f"{name}_accuracy"] = evaluation.accuracy
            metrics[f"{name}_macro_f1"] = evaluation.macro_f1
            for label, value in evaluation.per_class_f1.items():
                metrics[f"{name}_f1_{label}"] = value
        for name, value in outcome.validation_macro_f1.items():
            metrics[f"validation_{name}_macro_f1"] = value
        for name, value in outcome.fit_seconds.items():
            metrics[f"{name}_fit_seconds"] = value
        mlflow.log_metrics(metrics)
        mlflow.log_dict(
            {
                "labels": list(LABELS),
                "rows": "true label",
                "columns": "predicted label",
                "matrices": {n: e.confusion for n, e in outcome.held_out.items()},
            },
            "confusion_matrices.json",
        )
        mlflow.log_text(_confusion_text(outcome) + "\n" + outcome.table() + "\n", "report.txt")
        info = _log_model(outcome.model, model_name)
        run_id = run.info.run_id
    return _register(
        tracking_uri, client, info, run_id, model_name, outcome.model_version, outcome.winner
    )


@contextmanager
def _training_run(
    tracking_uri: str,
    artifact_location: str | None,
    experiment: str,
    outcome: TrainingOutcome | DomainOutcome,
    params: dict[str, Any],
) -> Iterator[tuple[Any, Any]]:
    """An MLflow run ``train <model version>`` with the config and ``params`` logged;
    yields (client, run)."""
    client = _client(tracking_uri)
    import mlflow

    experiment_id = _experiment_id(mlflow, experiment, artifact_location)
    with mlflow.start_run(
        experiment_id=experiment_id, run_name=f"train {outcome.model_version}"
    ) as run:
        mlflow.log_params(
            {
                **{f"config_{k}": v for k, v in asdict(outcome.config).items()},
                "model_version": outcome.model_version,
                **params,
            }
        )
        yield client, run


def _log_model(model: Any, model_name: str) -> Any:
    import importlib.metadata

    import mlflow.sklearn
    import sklearn

    vader = importlib.metadata.version("vadersentiment")  # the tfidf_vader feature set
    return mlflow.sklearn.log_model(
        model,
        name="model",
        serialization_format="pickle",
        pip_requirements=[f"scikit-learn=={sklearn.__version__}", f"vadersentiment=={vader}"],
        registered_model_name=model_name,
    )


def _register(
    tracking_uri: str,
    client: Any,
    info: Any,
    run_id: str,
    model_name: str,
    model_version: str,
    winner: str,
) -> RegisteredModel:
    """Tag the version ``info`` registered and make it the champion."""
    version = str(info.registered_model_version)
    client.set_model_version_tag(model_name, version, "model_version", model_version)
    client.set_model_version_tag(model_name, version, "winner", winner)
    registered = RegisteredModel(
        name=model_name,
        version=version,
        model_version=model_version,
        run_id=run_id,
        model_uri=f"models:/{model_name}/{version}",
        winner=winner,
    )
    promote(tracking_uri, registered)
    return registered


def domain_metrics(outcome: DomainOutcome) -> dict[str, float]:
    """The MLflow metrics of a multi-domain training: per domain and labeller (``model``,
    ``lexicon``, ``majority``) ``<domain>_<labeller>_accuracy``, ``_macro_f1`` and
    ``_recall_<label>``; ``<domain>_model_ece``; ``<domain>_temperature``;
    ``validation_<choice>_<domain>_macro_f1``; ``validation_<features>_<domain>_macro_f1``
    per feature set compared in ``per_domain``; ``mean_macro_f1``; ``fit_seconds``."""
    metrics: dict[str, float] = {"mean_macro_f1": outcome.mean_macro_f1}
    for domain, rows in outcome.held_out.items():
        for name, ev in rows.items():
            metrics[f"{domain}_{name}_accuracy"] = ev.accuracy
            metrics[f"{domain}_{name}_macro_f1"] = ev.macro_f1
            for label, value in ev.recall.items():
                metrics[f"{domain}_{name}_recall_{label}"] = value
            if ev.ece is not None:
                metrics[f"{domain}_{name}_ece"] = ev.ece
    for domain, value in outcome.temperatures.items():
        metrics[f"{domain}_temperature"] = value
    for choice, per_domain in outcome.validation_macro_f1.items():
        for domain, value in per_domain.items():
            metrics[f"validation_{choice}_{domain}_macro_f1"] = value
    for domain, per_features in outcome.feature_validation.items():
        for features, value in per_features.items():
            metrics[f"validation_{features}_{domain}_macro_f1"] = value
    metrics["fit_seconds"] = outcome.fit_seconds
    return metrics


def reliability_figure(outcome: DomainOutcome) -> Any:
    """A matplotlib figure: per domain, the champion's accuracy against mean confidence per
    confidence bin (the diagonal is perfect calibration), ECE in the title."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib.figure import Figure

    figure = Figure(figsize=(4.5 * len(outcome.held_out), 4.2))
    axes = figure.subplots(1, len(outcome.held_out), squeeze=False)[0]
    for ax, (domain, rows) in zip(axes, outcome.held_out.items(), strict=True):
        table = rows["model"].reliability
        ax.plot([0, 1], [0, 1], color="grey", linestyle="--", linewidth=1)
        ax.plot([b["confidence"] for b in table], [b["accuracy"] for b in table], marker="o")
        ax.set(
            title=f"{domain}: ECE {rows['model'].ece:.3f}",
            xlabel="mean confidence",
            ylabel="accuracy",
            xlim=(0, 1),
            ylim=(0, 1),
        )
    figure.tight_layout()
    return figure


def log_domain_training(
    outcome: DomainOutcome,
    *,
    tracking_uri: str,
    artifact_location: str | None = None,
    corpora: list[str] | None = None,
    experiment: str = DEFAULT_EXPERIMENT,
    model_name: str = DEFAULT_MODEL_NAME,
) -> RegisteredModel:
    """Log a multi-domain training as one MLflow run (params: config, choice, per-domain
    feature sets ``features_<domain>``, corpora and sizes; metrics: :func:`domain_metrics`;
    artifacts ``per_domain.json`` (evaluations with confusion matrices and reliability
    tables), ``report.txt`` and ``reliability.png``),
    register its model (tag ``winner`` = the choice) and make it the champion.

    Args:
        outcome: from :func:`~trading_assets.sentiment.domains.train_domains`.
        tracking_uri / artifact_location / experiment / model_name: as
            :func:`log_training`.
        corpora: the corpus paths, in domain order.
    """
    import mlflow

    params = {
        "corpora": ",".join(corpora or []),
        "domains": ",".join(outcome.held_out),
        "choice": outcome.choice,
        "winner": outcome.choice,
        **{f"features_{d}": f for d, f in outcome.features.items()},
        **{f"n_{d}_{k}": v for d, sizes in outcome.sizes.items() for k, v in sizes.items()},
    }
    with _training_run(tracking_uri, artifact_location, experiment, outcome, params) as (
        client,
        run,
    ):
        mlflow.log_metrics(domain_metrics(outcome))
        mlflow.log_dict(
            {
                "labels": list(LABELS),
                "choice": outcome.choice,
                "features": outcome.features,
                "domains": {
                    d: {name: asdict(ev) for name, ev in rows.items()}
                    for d, rows in outcome.held_out.items()
                },
            },
            "per_domain.json",
        )
        mlflow.log_text(outcome.table() + "\n", "report.txt")
        mlflow.log_figure(reliability_figure(outcome), "reliability.png")
        info = _log_model(outcome.model, model_name)
        run_id = run.info.run_id
    return _register(
        tracking_uri, client, info, run_id, model_name, outcome.model_version, outcome.choice
    )


__all__ = [
    "CHAMPION",
    "DEFAULT_EXPERIMENT",
    "DEFAULT_MODEL_NAME",
    "RegisteredModel",
    "champion",
    "find_registered",
    "domain_metrics",
    "load_model",
    "log_domain_training",
    "log_training",
    "promote",
]
