"""MLflow runs, registered models and the champion alias of the trading models.

One run per (family, target, timeframe, input data version) in experiment
:data:`EXPERIMENT`: parameters, metrics per fold (``fold_<metric>`` with step = fold) and
overall (``<metric>``), a feature-importance plot, tags ``input_data_version``,
``training_key``, ``dagster_run_id``, and the model (pyfunc, with signature and input
example) registered as ``<target>-<timeframe>-<family>`` (:func:`model_name`).

Promotion: the new version receives the alias ``champion`` only when it beats the current
champion's validation metric (tag ``val_<metric>`` of each version, default ``ic``);
otherwise it is tagged ``challenger``.

Skipping: ``training_key`` hashes the input data version, the family parameters, the split
settings and the code version; :func:`find_trained` finds a run with that key, in which case
nothing is trained and no run is created.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
import logging
import math
import os
import pickle
import tempfile
import warnings
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from trading_assets import mlflow_store
from trading_assets.ml import metrics
from trading_assets.ml.training import FamilyResult, TrainingOutcome

EXPERIMENT = "trading-models"
CHAMPION = "champion"
CHALLENGER = "challenger"


def model_name(target: str, timeframe: str, family: str) -> str:
    """Registered model name ``<target>-<timeframe>-<family>`` (e.g. ``fwd_ret_1-1h-lightgbm``)."""
    return f"{target}-{timeframe}-{family}"


def training_key(
    input_version: str, family: str, params: dict, split: Any, code_version: str, target: str
) -> str:
    """Hash (16 hex digits) identifying one training: same inputs -> same key -> no retrain."""
    payload = json.dumps(
        [input_version, family, params, asdict(split), code_version, target],
        sort_keys=True, default=str,
    )  # fmt: skip
    return hashlib.sha256(payload.encode()).hexdigest()[:16]


@dataclass(frozen=True)
class ModelVersion:
    """A registered version: ``name``, ``version`` (text), ``run_id``, ``role`` (champion or
    challenger) and its validation metrics."""

    name: str
    version: str
    run_id: str
    role: str
    metrics: dict[str, float]

    @property
    def uri(self) -> str:
        return f"models:/{self.name}/{self.version}"


def _version_metrics(version: Any) -> dict[str, float]:
    return {
        k.removeprefix("val_"): float(v) for k, v in version.tags.items() if k.startswith("val_")
    }


def find_trained(tracking_uri: str, key: str, experiment: str = EXPERIMENT) -> ModelVersion | None:
    """The registered version trained with ``training_key`` ``key``, or None."""
    client = mlflow_store.client(tracking_uri)
    versions = client.search_model_versions(f"tags.training_key = '{key}'")
    for version in versions:
        current = champion(tracking_uri, version.name)
        held = current is not None and current.version == str(version.version)
        return ModelVersion(
            version.name, str(version.version), str(version.run_id),
            CHAMPION if held else CHALLENGER, _version_metrics(version),
        )  # fmt: skip
    return None


def champion(tracking_uri: str, name: str) -> ModelVersion | None:
    """The version of ``name`` holding the ``champion`` alias, or None."""
    from mlflow.exceptions import MlflowException

    client = mlflow_store.client(tracking_uri)
    try:
        version = client.get_model_version_by_alias(name, CHAMPION)
    except MlflowException:
        return None
    return ModelVersion(name, str(version.version), str(version.run_id), CHAMPION,
                        _version_metrics(version))  # fmt: skip


def _importance_plot(importance: dict[str, float], title: str, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    top = sorted(importance.items(), key=lambda kv: abs(kv[1]), reverse=True)[:20][::-1]
    fig, ax = plt.subplots(figsize=(7, 0.3 * len(top) + 1.2))
    ax.barh([k for k, _ in top], [v for _, v in top], color="#3b6ea5")
    ax.set_title(title, fontsize=10)
    ax.set_xlabel("importance")
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    plt.close(fig)


def _finite(values: dict[str, float]) -> dict[str, float]:
    return {
        k: float(v) for k, v in values.items() if isinstance(v, int | float) and math.isfinite(v)
    }


def _input_example(result: FamilyResult, outcome: TrainingOutcome) -> Any:
    columns = list(result.model.input_columns)
    return outcome.dataset.frame.tail(5).select(columns).to_pandas()


def log_family(
    result: FamilyResult,
    outcome: TrainingOutcome,
    *,
    tracking_uri: str,
    key: str,
    input_version: str,
    artifact_location: str | None = None,
    dagster_run_id: str = "",
    experiment: str = EXPERIMENT,
    metric: str = "ic",
) -> ModelVersion:
    """Log ``result`` as one run, register its model and promote or tag it (module docstring).

    Returns:
        the new :class:`ModelVersion` (role ``champion`` or ``challenger``).
    """
    with _quiet():
        return _log_family(
            result, outcome, tracking_uri=tracking_uri, key=key, input_version=input_version,
            artifact_location=artifact_location, dagster_run_id=dagster_run_id,
            experiment=experiment, metric=metric,
        )  # fmt: skip


@contextlib.contextmanager
def _quiet() -> Iterator[None]:
    """MLflow's INFO lines, pickling warnings and progress bars off while logging."""
    logger = logging.getLogger("mlflow")
    level = logger.level
    logger.setLevel(logging.ERROR)
    bar = os.environ.get("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR")
    os.environ["MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR"] = "false"
    try:
        # MLflow prints "Registered model ..." lines straight to stderr
        with warnings.catch_warnings(), contextlib.redirect_stderr(io.StringIO()):
            warnings.simplefilter("ignore")
            yield
    finally:
        logger.setLevel(level)
        if bar is None:
            os.environ.pop("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", None)
        else:
            os.environ["MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR"] = bar


def _log_family(
    result: FamilyResult,
    outcome: TrainingOutcome,
    *,
    tracking_uri: str,
    key: str,
    input_version: str,
    artifact_location: str | None,
    dagster_run_id: str,
    experiment: str,
    metric: str,
) -> ModelVersion:
    client = mlflow_store.client(tracking_uri)
    import lightgbm
    import mlflow
    import mlflow.pyfunc
    import sklearn
    import statsmodels
    from mlflow.models import infer_signature

    from trading_assets.ml.pyfunc import FITTED_ARTIFACT, TradingModel

    dataset = outcome.dataset
    name = model_name(dataset.target, dataset.timeframe, result.family)
    experiment_id = mlflow_store.experiment_id(experiment, artifact_location)
    tags = {
        "model_name": name, "family": result.family, "target": dataset.target,
        "timeframe": dataset.timeframe, "input_data_version": input_version,
        "training_key": key, "dagster_run_id": dagster_run_id,
    }  # fmt: skip
    with mlflow.start_run(experiment_id=experiment_id, run_name=f"{name} {key}", tags=tags) as run:
        mlflow.log_params(
            {
                **{f"param_{k}": v for k, v in result.params.items()},
                **{f"split_{k}": v for k, v in asdict(outcome.split).items()},
                "features": len(dataset.features), "rows": dataset.frame.height,
                "symbols": dataset.frame["symbol"].n_unique(), "horizon": dataset.horizon,
            }
        )  # fmt: skip
        for fold in result.folds:
            step = int(fold["fold"])
            mlflow.log_metrics(
                _finite({f"fold_{k}": v for k, v in fold.items() if k != "fold"}), step=step
            )
        mlflow.log_metrics(_finite({**result.overall, "fit_seconds": result.fit_seconds}))
        mlflow.log_dict({"features": list(dataset.features), "notes": dataset.notes},
                        "features.json")  # fmt: skip
        with tempfile.TemporaryDirectory() as tmp:
            if result.importance:
                plot = Path(tmp) / "feature_importance.png"
                _importance_plot(result.importance, f"{name}: feature importance", plot)
                mlflow.log_artifact(str(plot))
                mlflow.log_dict(result.importance, "feature_importance.json")
            fitted = Path(tmp) / "fitted.pkl"
            fitted.write_bytes(pickle.dumps(result.model, protocol=pickle.HIGHEST_PROTOCOL))
            example = _input_example(result, outcome)
            signature = infer_signature(example, result.model.predict_frame(
                outcome.dataset.frame.tail(5)))  # fmt: skip
            info = mlflow.pyfunc.log_model(
                name="model",
                python_model=TradingModel(),
                artifacts={FITTED_ARTIFACT: str(fitted)},
                signature=signature,
                input_example=example,
                pip_requirements=[
                    f"mlflow=={mlflow.__version__}", f"lightgbm=={lightgbm.__version__}",
                    f"scikit-learn=={sklearn.__version__}",
                    f"statsmodels=={statsmodels.__version__}", "polars",
                ],
                registered_model_name=name,
            )  # fmt: skip
        run_id = run.info.run_id
    version = str(info.registered_model_version)
    for k, v in tags.items():
        client.set_model_version_tag(name, version, k, v)
    for k, v in _finite(result.overall).items():
        client.set_model_version_tag(name, version, f"val_{k}", repr(v))
    current = champion(tracking_uri, name)
    new_value = result.overall.get(metric, math.nan)
    if current is None or metrics.better(new_value, current.metrics.get(metric, math.nan), metric):
        client.set_registered_model_alias(name, CHAMPION, version)
        client.set_model_version_tag(name, version, "role", CHAMPION)
        role = CHAMPION
    else:
        client.set_model_version_tag(name, version, CHALLENGER, "true")
        client.set_model_version_tag(name, version, "role", CHALLENGER)
        role = CHALLENGER
    return ModelVersion(name, version, run_id, role, _finite(result.overall))


__all__ = ["CHALLENGER", "CHAMPION", "EXPERIMENT", "ModelVersion", "champion", "find_trained",
           "log_family", "model_name", "training_key"]  # fmt: skip
