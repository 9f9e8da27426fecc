"""MLflow runs, registered models and the champion alias of the trading models.

One run per (family, target, timeframe, input data version) in experiment
:data:`EXPERIMENT`: parameters, metrics per fold (``fold_<metric>`` with step = fold; the tag
``test_folds`` names the folds of the test window), the validation metrics (``val_<metric>``,
pooled over the validation folds: what selection reads) and the test metrics
(``test_<metric>``, pooled over the test window: reported, never used to choose), a
feature-importance plot, tags ``input_data_version``, ``training_key``, ``dagster_run_id``,
and the model (pyfunc, with signature and input example) registered as
``<target>-<timeframe>-<family>`` (:func:`model_name`). The version carries the same
``val_*`` and ``test_*`` figures as tags, and the registered model and each version a
description: what it predicts, the horizon, the features and how it was chosen.

Baselines (``zero``, ``last``, ``moving_average``) are formulas: their runs are logged (they
stay in the runs and the leaderboard, for comparison) but they are never registered; their
version is :func:`baseline_version` of the run.

The best family (:func:`mark_best`): among the registered families of one (target,
timeframe), the champion version with the best validation metric carries the alias ``best``
(exactly one per target and timeframe).

Promotion (:func:`select`): the incumbent champion is scored on the new version's
validation bars, from its own stored out-of-sample predictions of those bars (walk-forward or
live, read by the caller's ``incumbent_predictions``), and the two are compared there on
``metric`` (default ``ic``; on a direction dataset ``log_loss`` unless ``metric`` is one of
its metrics, see :func:`~trading_assets.ml.metrics.metric_for`). The new version receives
the alias ``champion`` only when it beats the incumbent on those shared bars (or when there
is no champion, or the champion has no predictions on at least ``min_test_rows`` of those
bars, said in the reason); otherwise it is tagged ``challenger``. The comparison is logged
(``selection_*`` metrics and tags).

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
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import polars as pl

from trading_assets import mlflow_store
from trading_assets.ml import metrics
from trading_assets.ml.splits import TEST, VALIDATION
from trading_assets.ml.training import FamilyResult, TrainingOutcome

#: ``(registered name, version) -> symbol, ts, prediction`` rows of that version's stored
#: out-of-sample predictions (None or empty when there are none)
IncumbentPredictions = Callable[[str, str], "pl.DataFrame | None"]

EXPERIMENT = "trading-models"
CHAMPION = "champion"
CHALLENGER = "challenger"
#: alias on the champion version of the best family of a (target, timeframe)
BEST = "best"
#: role (run tag) of a baseline's run: logged, never registered
BASELINE = "baseline"


def is_baseline(family: str) -> bool:
    """Whether ``family`` is a formula baseline (never registered)."""
    from trading_assets.ml.families import BASELINES

    return family in BASELINES


def baseline_version(run_id: str) -> str:
    """The version a baseline's predictions carry: ``run-`` + the first 8 characters of its
    MLflow run id (baselines have no registered version)."""
    return f"run-{run_id[:8]}"


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
    challenger), its validation ``metrics`` (what selection reads), its ``test_metrics``
    (the held-out test window) and, for a version trained here, how it was selected."""

    name: str
    version: str
    run_id: str
    role: str
    metrics: dict[str, float]
    test_metrics: dict[str, float] = field(default_factory=dict)
    selection: Selection | None = None

    @property
    def uri(self) -> str:
        return f"models:/{self.name}/{self.version}"


@dataclass(frozen=True)
class Selection:
    """Champion against challenger on the same validation bars.

    Attributes:
        promote: whether the new version takes the ``champion`` alias.
        metric: the metric compared (one of :data:`~trading_assets.ml.metrics.NAMES`).
        challenger: the new version's ``metric`` on the shared validation bars (NaN: none).
        champion: the incumbent's ``metric`` on the same bars (NaN: not scored).
        bars: validation rows (bars of all symbols) both were scored on.
        champion_version: the incumbent's version (None: there was none).
        reason: why, in plain words.
    """

    promote: bool
    metric: str
    challenger: float
    champion: float
    bars: int
    champion_version: str | None
    reason: str


def select(
    validation: pl.DataFrame,
    incumbent: pl.DataFrame | None,
    metric: str,
    *,
    champion_version: str | None,
    min_rows: int = 10,
    ic_period: int = 20,
) -> Selection:
    """Compare a new version with the incumbent champion on the same validation bars.

    Args:
        validation: the new version's out-of-sample predictions of its validation folds:
            ``symbol, ts`` (UTC), ``prediction`` and ``label`` (float64 log returns). Rows
            of the test window must not be in it: they never take part in a selection.
        incumbent: the champion's stored out-of-sample predictions, ``symbol, ts,
            prediction`` (None: no champion or nothing stored); only the bars of
            ``validation`` count.
        metric: one of :data:`~trading_assets.ml.metrics.NAMES` or, for direction targets,
            :data:`~trading_assets.ml.metrics.CLASSIFICATION_NAMES` (larger is better except
            ``rmse`` and ``log_loss``).
        champion_version: the incumbent's version (None: there is no champion).
        min_rows: fewest shared rows for a comparison.
        ic_period: bar times per period of the ICIR.

    Returns:
        :class:`Selection`: promote without a champion, or when it has predictions on fewer
        than ``min_rows`` of the bars (it cannot be compared there); else promote only when
        the new version is strictly better on the shared bars.

    Raises:
        KeyError: ``metric`` is not one of those.
    """
    metrics.HIGHER_IS_BETTER[metric]  # noqa: B018 - an unknown metric is a clear KeyError
    nan = math.nan
    if champion_version is None:
        return Selection(True, metric, nan, nan, 0, None, "first version: no champion yet")
    shared = pl.DataFrame(schema={"symbol": pl.String(), "ts": pl.Datetime("us", "UTC")})
    if incumbent is not None and incumbent.height:
        mine = incumbent.select("symbol", "ts", pl.col("prediction").alias("champion"))
        mine = mine.unique(["symbol", "ts"], keep="first", maintain_order=True)
        shared = validation.join(mine, on=["symbol", "ts"]).sort("symbol", "ts")
    if shared.height < min_rows:
        return Selection(
            True, metric, nan, nan, shared.height, champion_version,
            f"champion v{champion_version} has predictions on {shared.height} of the "
            f"{validation.height} validation bars (fewer than {min_rows}): it cannot be "
            "compared there, the new version takes the alias",
        )  # fmt: skip
    label, ts = shared["label"].to_numpy(), shared["ts"].to_numpy()
    new = metrics.score(metric, shared["prediction"].to_numpy(), label, ts, ic_period)
    old = metrics.score(metric, shared["champion"].to_numpy(), label, ts, ic_period)
    promote = metrics.better(new, old, metric)
    verdict = "beats" if promote else "does not beat"
    return Selection(
        promote, metric, new, old, shared.height, champion_version,
        f"{metric} {new:.4g} {verdict} champion v{champion_version}'s {old:.4g} on the same "
        f"{shared.height} validation bars",
    )  # fmt: skip


def validation_rows(result: FamilyResult) -> pl.DataFrame:
    """The out-of-sample predictions of ``result``'s validation folds (``symbol, timeframe,
    ts, label, prediction, fold, role``): all a selection may see, never the test window."""
    return result.predictions.filter(pl.col("role") == VALIDATION)


def _tagged(version: Any, prefix: str) -> dict[str, float]:
    return {
        k.removeprefix(prefix): float(v) for k, v in version.tags.items() if k.startswith(prefix)
    }


def _version_metrics(version: Any) -> dict[str, float]:
    return _tagged(version, "val_")


def _baseline_run(client: Any, key: str, experiment: str) -> ModelVersion | None:
    """The baseline run logged with ``training_key`` ``key`` in ``experiment``, or None."""
    found = client.get_experiment_by_name(experiment)
    if found is None:
        return None
    runs = client.search_runs(
        [found.experiment_id],
        f"tags.training_key = '{key}' and tags.role = '{BASELINE}'",
        max_results=1,
    )
    for run in runs:
        tags, metrics = run.data.tags, run.data.metrics
        return ModelVersion(
            tags["model_name"], baseline_version(run.info.run_id), run.info.run_id, BASELINE,
            _finite({k[4:]: v for k, v in metrics.items() if k.startswith("val_")}),
            _finite({k[5:]: v for k, v in metrics.items() if k.startswith("test_")}),
        )  # fmt: skip
    return None


def find_trained(tracking_uri: str, key: str, experiment: str = EXPERIMENT) -> ModelVersion | None:
    """The registered version (or, for a baseline, the run) trained with ``training_key``
    ``key``, or None."""
    client = mlflow_store.client(tracking_uri)
    versions = client.search_model_versions(f"tags.training_key = '{key}'")
    if not versions:
        return _baseline_run(client, key, experiment)
    for version in versions:
        current = champion(tracking_uri, version.name)
        held = current is not None and current.version == str(version.version)
        return ModelVersion(
            version.name, str(version.version), str(version.run_id),
            CHAMPION if held else CHALLENGER, _version_metrics(version),
            _tagged(version, "test_"),
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
                        _version_metrics(version), _tagged(version, "test_"))  # fmt: skip


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


def _example_rows(result: FamilyResult, outcome: TrainingOutcome) -> pl.DataFrame:
    """The newest rows of the dataset: 5, plus a sequence model's window before them."""
    return outcome.dataset.frame.tail(5 + getattr(result.model, "window", 1) - 1)


def _input_example(result: FamilyResult, outcome: TrainingOutcome) -> Any:
    columns = list(result.model.input_columns)
    return _example_rows(result, outcome).select(columns).to_pandas()


def _requirements(family: str) -> list[str]:
    """pip requirements of a logged model: the installed versions of what it loads."""
    from importlib.metadata import version

    packages = ["mlflow", "lightgbm", "scikit-learn", "statsmodels"]
    if family == "lstm":
        packages += ["keras", "jax", "jaxlib"]
    return [*(f"{p}=={version(p)}" for p in packages), "polars"]


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
    incumbent_predictions: IncumbentPredictions | None = None,
) -> ModelVersion:
    """Log ``result`` as one run, register its model and promote or tag it (module docstring).

    ``incumbent_predictions(name, version)`` returns the stored out-of-sample predictions of
    the current champion (None: none are known, so the champion cannot be compared and the
    new version takes the alias).

    Returns:
        the new :class:`ModelVersion` (role ``champion`` or ``challenger``, with its
        :class:`Selection`).
    """
    with _quiet():
        return _log_family(
            result, outcome, tracking_uri=tracking_uri, key=key, input_version=input_version,
            artifact_location=artifact_location, dagster_run_id=dagster_run_id,
            experiment=experiment, metric=metric,
            incumbent_predictions=incumbent_predictions or (lambda name, version: None),
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
    incumbent_predictions: IncumbentPredictions,
) -> ModelVersion:
    client = mlflow_store.client(tracking_uri)
    import mlflow

    dataset = outcome.dataset
    metric = metrics.metric_for(dataset.task, metric)
    name = model_name(dataset.target, dataset.timeframe, result.family)
    baseline = is_baseline(result.family)
    experiment_id = mlflow_store.experiment_id(experiment, artifact_location)
    tags = {
        "model_name": name, "family": result.family, "target": dataset.target,
        "timeframe": dataset.timeframe, "input_data_version": input_version,
        "training_key": key, "dagster_run_id": dagster_run_id,
        "test_folds": ",".join(str(f["fold"]) for f in result.folds if f["role"] == TEST),
        **({"role": BASELINE} if baseline else {}),
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
                _finite({f"fold_{k}": v for k, v in fold.items() if k not in ("fold", "role")}),
                step=step,
            )
        mlflow.log_metrics(_finite({**_windows(result), "fit_seconds": result.fit_seconds}))
        mlflow.log_dict({"features": list(dataset.features), "notes": dataset.notes},
                        "features.json")  # fmt: skip
        run_id = run.info.run_id
        if baseline:  # a formula: logged for comparison, never registered
            mlflow.set_tag("mlflow.note.content", baseline_note(result.family, dataset))
            return ModelVersion(name, baseline_version(run_id), run_id, BASELINE,
                                _finite(result.validation), _finite(result.test))  # fmt: skip
        info = _log_model(result, outcome, name)
        current = champion(tracking_uri, name)
        held = None if current is None else current.version
        chosen = select(
            validation_rows(result),
            incumbent_predictions(name, held) if held is not None else None,
            metric, champion_version=held, min_rows=outcome.split.min_test_rows,
        )  # fmt: skip
        mlflow.log_metrics(_finite({"selection_bars": chosen.bars,
            f"selection_{metric}": chosen.challenger,
            f"selection_{metric}_champion": chosen.champion}))  # fmt: skip
    version = str(info.registered_model_version)
    selection_tags = {"selection_metric": metric, "selection_reason": chosen.reason,
                      "selection_champion_version": held or ""}  # fmt: skip
    for k, v in {**tags, **selection_tags}.items():
        client.set_model_version_tag(name, version, k, v)
    for k, v in _finite(_windows(result)).items():
        client.set_model_version_tag(name, version, k, repr(v))
    role = CHAMPION if chosen.promote else CHALLENGER
    if chosen.promote:
        client.set_registered_model_alias(name, CHAMPION, version)
    else:
        client.set_model_version_tag(name, version, CHALLENGER, "true")
    client.set_model_version_tag(name, version, "role", role)
    for k in ("family", "target", "timeframe"):
        client.set_registered_model_tag(name, k, tags[k])
    client.update_registered_model(name, description=model_description(
        result.family, dataset, metric, _inputs(result, dataset)))  # fmt: skip
    client.update_model_version(
        name, version,
        description=version_description(result, outcome, input_version, metric, chosen, role),
    )  # fmt: skip
    return ModelVersion(
        name, version, run_id, role, _finite(result.validation), _finite(result.test), chosen
    )


def _log_model(result: FamilyResult, outcome: TrainingOutcome, name: str) -> Any:
    """Log ``result``'s importance plot and fitted model (pyfunc) to the active run and
    register the model as ``name``; returns MLflow's ``ModelInfo``."""
    import mlflow
    import mlflow.pyfunc
    from mlflow.models import infer_signature

    from trading_assets.ml.pyfunc import FITTED_ARTIFACT, TradingModel

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
            _example_rows(result, outcome)))  # fmt: skip
        return mlflow.pyfunc.log_model(
            name="model",
            python_model=TradingModel(),
            artifacts={FITTED_ARTIFACT: str(fitted)},
            signature=signature,
            input_example=example,
            pip_requirements=_requirements(result.family),
            registered_model_name=name,
        )  # fmt: skip


def _predicts(dataset: Any) -> str:
    """What a model of ``dataset`` predicts, in words."""
    ahead = "the next bar" if dataset.horizon == 1 else f"the next {dataset.horizon} bars"
    return (
        f"Predicts `{dataset.target}`, the log return over {ahead} of a {dataset.timeframe} "
        "series, per symbol (one model pooled over every symbol)."
    )


def _inputs(result: FamilyResult, dataset: Any) -> list[str]:
    """The columns the fitted model reads (the dataset's features when it does not say)."""
    columns = getattr(result.model, "input_columns", None) or dataset.features
    return [c for c in columns if c != "symbol"]


def _features_text(names: list[str], shown: int = 8) -> str:
    more = f" and {len(names) - shown} more" if len(names) > shown else ""
    return f"{len(names)} input(s): {', '.join(names[:shown])}{more}" if names else "no inputs"


def baseline_note(family: str, dataset: Any) -> str:
    """The description of a baseline's run (what it predicts; why it is not registered)."""
    return (
        f"{_predicts(dataset)} Baseline `{family}`: a formula every model is compared with "
        "(`rmse_vs_zero`, `ic_vs_best_baseline`); logged for comparison, never registered."
    )


def model_description(family: str, dataset: Any, metric: str, inputs: list[str]) -> str:
    """The description of registered model ``<target>-<timeframe>-<family>`` (``inputs``:
    the columns its models read)."""
    return (
        f"{_predicts(dataset)} Family `{family}`, {_features_text(inputs)} from "
        "`features.training_table` by the Dagster asset `ml/models`, walk-forward: validation "
        "folds choose, the last fold(s) are a test window that never does. Alias `champion`: "
        "the version served (`ml/live_predictions`); a new version takes it only when it beats "
        f"the champion's `{metric}` on the same validation bars. Alias `{BEST}`: on the "
        f"champion of the family with the best validation `{metric}` for {dataset.target} "
        f"{dataset.timeframe}."
    )


def version_description(
    result: FamilyResult,
    outcome: TrainingOutcome,
    input_version: str,
    metric: str,
    chosen: Selection,
    role: str,
) -> str:
    """The description of one registered version: its data, figures and why it is (or is
    not) the champion."""
    dataset = outcome.dataset
    frame = dataset.frame
    span = (
        f"{frame['ts'].min():%Y-%m-%d %H:%M} to {frame['ts'].max():%Y-%m-%d %H:%M} UTC"
        if frame.height
        else "no rows"
    )
    val, test = result.validation.get(metric), result.test.get(metric)
    figures = ", ".join(
        f"{label} `{metric}` {value:.4f}"
        for label, value in (("validation", val), ("test window", test))
        if isinstance(value, int | float) and math.isfinite(value)
    )
    return (
        f"{_predicts(dataset)} Trained on {frame.height} rows of {frame['symbol'].n_unique()} "
        f"symbol(s), bars {span} (input data version `{input_version}`), "
        f"{_features_text(_inputs(result, dataset))}. {figures or 'No finite ' + metric}. "
        f"{role.capitalize()}: {chosen.reason}."
    )


def mark_best(
    tracking_uri: str, target: str, timeframe: str, metric: str = "ic"
) -> ModelVersion | None:
    """Put the alias :data:`BEST` on the champion version of the registered family of
    (``target``, ``timeframe``) with the best validation ``metric`` (its ``val_<metric>``
    tag, larger is better except ``rmse`` and ``log_loss``; on a direction target the
    metric of :func:`~trading_assets.ml.metrics.metric_for`), and take it off every other
    model of that target and timeframe, so exactly one carries it. Registered baselines
    (left by an earlier version of this package) are deleted: baselines are never
    registered.

    Returns:
        the best champion (role ``champion``), or None when no champion has a finite
        ``metric`` (then no model of the pair carries the alias).

    Raises:
        KeyError: ``metric`` is not one of :data:`~trading_assets.ml.metrics.NAMES`.
        TrainingDataError: ``target`` is neither ``fwd_ret_<h>`` nor ``dir_<h>``.
    """
    from mlflow.exceptions import MlflowException

    from trading_assets.ml.dataset import task_of

    metric = metrics.metric_for(task_of(target), metric)
    higher = metrics.HIGHER_IS_BETTER[metric]
    client = mlflow_store.client(tracking_uri)
    prefix = model_name(target, timeframe, "")
    found = client.search_registered_models(filter_string=f"name LIKE '{prefix}%'")
    candidates: list[tuple[float, ModelVersion]] = []
    for model in found:
        family = model.name.removeprefix(prefix)
        if model.name != model_name(target, timeframe, family):
            continue
        if is_baseline(family):
            client.delete_registered_model(model.name)
            continue
        current = champion(tracking_uri, model.name)
        value = math.nan if current is None else current.metrics.get(metric, math.nan)
        if current is not None and math.isfinite(value):
            candidates.append((value if higher else -value, current))
    best = max(candidates, key=lambda c: (c[0], c[1].name))[1] if candidates else None
    for model in found:
        if is_baseline(model.name.removeprefix(prefix)):
            continue
        if best is None or model.name != best.name:
            with contextlib.suppress(MlflowException):
                client.delete_registered_model_alias(model.name, BEST)
    if best is not None:
        client.set_registered_model_alias(best.name, BEST, best.version)
    return best


def _windows(result: FamilyResult) -> dict[str, float]:
    """``val_<metric>`` (validation folds) and ``test_<metric>`` (test window) of ``result``."""
    return {
        **{f"val_{k}": v for k, v in result.validation.items()},
        **{f"test_{k}": v for k, v in result.test.items()},
    }


__all__ = ["BASELINE", "BEST", "CHALLENGER", "CHAMPION", "EXPERIMENT", "IncumbentPredictions",
           "ModelVersion", "Selection", "baseline_note", "baseline_version", "champion",
           "find_trained", "is_baseline", "log_family", "mark_best", "model_description",
           "model_name", "select", "training_key", "validation_rows",
           "version_description"]  # fmt: skip
