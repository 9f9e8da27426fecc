"""The model leaderboard: registered models in MLflow, their ``champion`` versions (``<n>
(best)`` where it also carries the alias ``best``: the best family of its target and
timeframe), the newest run of every baseline (never registered: ``baseline``), and the
metrics of the runs that produced them, kept apart: the *validation* metrics (``val_*``, the
validation folds that model selection reads) and the *test* metrics (``test_*``, the held-out
test window at the end of the walk-forward, which selection never saw).

Takes an ``mlflow.MlflowClient`` (or anything with the same methods), so the report logic
never decides where MLflow lives; a store with no registered models gives an empty frame.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import polars as pl

from trading_assets.report.inputs import LEADERBOARD_COLUMNS, empty

CHAMPION_ALIAS = "champion"
BEST_ALIAS = "best"
#: the experiment of the trading models and the run tag of a baseline (never registered)
MODELS_EXPERIMENT = "trading-models"
BASELINE_ROLE = "baseline"
#: metric names tried in order to rank models (larger is better for all but *rmse/*mae/*loss)
RANK_METRICS = ("val_ic", "ic", "val_rank_ic", "rank_ic", "val_sharpe", "sharpe", "val_rmse")
# never a test_* metric: the test window is reported, not used to rank or choose
MAX_METRICS = 6
#: shown first, in this order, after the window's prefix (``val_``/``test_``)
PREFERRED = ("ic", "rank_ic", "icir", "directional_accuracy", "rmse")
VALIDATION_PREFIXES = ("val", "valid", "oos")
TEST_PREFIX = "test"


def _shown(metrics: dict[str, float], prefix: str) -> dict[str, float]:
    def order(key: str) -> tuple[int, str]:
        bare = key.split("_", 1)[-1]
        return (PREFERRED.index(bare) if bare in PREFERRED else len(PREFERRED), key)

    return {k: metrics[k] for k in sorted(metrics, key=order)[:MAX_METRICS]}


def _validation_metrics(metrics: dict[str, float]) -> dict[str, float]:
    """The run's validation metrics (every metric of a run without ``val_*``/``test_*``
    names, except per-fold and selection figures)."""
    val = {k: v for k, v in metrics.items() if k.startswith(VALIDATION_PREFIXES)}
    if not val and not any(k.startswith(TEST_PREFIX) for k in metrics):
        val = {k: v for k, v in metrics.items() if not k.startswith(("fold_", "selection_"))}
    return _shown(val, "val_")


def _test_metrics(metrics: dict[str, float]) -> dict[str, float]:
    """The run's test-window metrics (``test_*``): never used to select."""
    return _shown({k: v for k, v in metrics.items() if k.startswith(TEST_PREFIX)}, "test_")


def _format(metrics: dict[str, float]) -> str:
    return ", ".join(f"{k}={v:.4g}" for k, v in metrics.items())


def _rank(metrics: dict[str, float]) -> tuple[str | None, float | None]:
    for name in RANK_METRICS:
        if name in metrics and math.isfinite(metrics[name]):
            return name, metrics[name]
    return None, None


def _row(name: str, label: str, run_id: str, metrics: dict[str, float]) -> dict[str, Any]:
    sort_metric, sort_value = _rank(metrics)
    return {
        "model": name,
        "version": label,
        "run_id": run_id,
        "metrics": _format(_validation_metrics(metrics)),
        "test_metrics": _format(_test_metrics(metrics)),
        "sort_metric": sort_metric,
        "sort_value": sort_value,
    }


def _has_alias(client: Any, name: str, alias: str, version: str) -> bool:
    try:
        return str(client.get_model_version_by_alias(name, alias).version) == version
    except Exception:  # no version has the alias
        return False


def baseline_rows(client: Any) -> list[dict[str, Any]]:
    """One leaderboard row per baseline (runs tagged ``role=baseline`` in the models'
    experiment, newest run per model), version ``baseline``; none when the client cannot
    search runs or the experiment does not exist."""
    if not hasattr(client, "search_runs"):
        return []
    experiment = client.get_experiment_by_name(MODELS_EXPERIMENT)
    if experiment is None:
        return []
    runs = client.search_runs(
        [experiment.experiment_id],
        f"tags.role = '{BASELINE_ROLE}'",
        order_by=["attributes.start_time DESC"],
    )
    newest: dict[str, Any] = {}
    for run in runs:
        newest.setdefault(run.data.tags.get("model_name", run.info.run_id), run)
    return [
        _row(name, BASELINE_ROLE, run.info.run_id, dict(run.data.metrics))
        for name, run in newest.items()
    ]


def champion_leaderboard(client: Any, alias: str = CHAMPION_ALIAS) -> pl.DataFrame:
    """One row per registered model (:data:`~trading_assets.report.inputs.LEADERBOARD_COLUMNS`)
    and per baseline (:func:`baseline_rows`):
    the version behind ``alias`` (or the newest version when no version has the alias, marked
    ``<n> (latest)``), its run id, its validation metrics (``metrics``) and its test-window
    metrics (``test_metrics``), sorted best first by the first of :data:`RANK_METRICS` (all
    validation metrics) the run logged (lower is better for ``*rmse``).

    Raises whatever the client raises for an unreachable store; a model whose run is gone
    keeps its row with empty metrics.
    """
    rows = []
    for model in client.search_registered_models():
        name = model.name
        version = None
        label = None
        try:
            version = client.get_model_version_by_alias(name, alias)
            label = str(version.version)
        except Exception:  # no version has the alias: show the newest one, marked
            versions = list(getattr(model, "latest_versions", None) or [])
            if versions:
                version = max(versions, key=lambda v: int(v.version))
                label = f"{version.version} (latest)"
        metrics: dict[str, float] = {}
        run_id = getattr(version, "run_id", None) if version is not None else None
        if run_id:
            try:
                metrics = dict(client.get_run(run_id).data.metrics)
            except Exception:  # the run was deleted: keep the model, without metrics
                metrics = {}
        if label and _has_alias(client, name, BEST_ALIAS, label):
            label = f"{label} ({BEST_ALIAS})"
        rows.append(_row(name, label or "none", run_id or "", metrics))
    rows += baseline_rows(client)
    if not rows:
        return empty(LEADERBOARD_COLUMNS)
    frame = pl.DataFrame(rows, schema=LEADERBOARD_COLUMNS)
    key = pl.when(pl.col("sort_metric").str.contains("rmse|mae|loss"))
    key = key.then(-pl.col("sort_value")).otherwise(pl.col("sort_value"))
    return frame.sort(key, "model", descending=[True, False], nulls_last=True)


def read_leaderboard(
    tracking_uri: str, cache_dir: Path | None = None
) -> tuple[pl.DataFrame, str | None]:
    """(:func:`champion_leaderboard` of the MLflow store at ``tracking_uri``, None), or (an
    empty frame, the reason) when the store cannot be read: an unreachable tracking server
    must not stop the report. A ``sqlite:///`` store whose file does not exist yet reads as
    a store without registered models (logging the report creates the store, and that alone
    must not change the next report).

    With ``cache_dir``, a SQLite store's leaderboard is kept in ``leaderboard.parquet`` with
    the store file's signature (:func:`~trading_assets.ml.served_cache.registry_signature`,
    taken before reading) and served from there while the file is unchanged: a new bar
    re-renders the report without importing MLflow.
    """
    from trading_assets.ml.served_cache import registry_signature

    uri = tracking_uri
    if uri.startswith("sqlite:///") and not Path(uri.removeprefix("sqlite:///")).exists():
        return empty(LEADERBOARD_COLUMNS), None
    signature = registry_signature(uri) if cache_dir is not None else None
    cached = Path(cache_dir) / "leaderboard.parquet" if signature else None
    if cached is not None and _stored_signature(cached) == f"{uri}|{signature}":
        try:
            return pl.read_parquet(cached), None
        except (OSError, pl.exceptions.PolarsError):
            pass  # unreadable: read MLflow again
    try:
        from trading_assets import mlflow_store

        frame = champion_leaderboard(mlflow_store.client(uri))
    except Exception as exc:  # an unreachable tracking server must not stop the report
        return empty(LEADERBOARD_COLUMNS), f"MLflow: {type(exc).__name__}: {exc}"
    if cached is not None:  # the signature last: a crash in between leaves no valid pair
        cached.parent.mkdir(parents=True, exist_ok=True)
        cached.with_suffix(".signature").unlink(missing_ok=True)
        partial = cached.with_suffix(".partial")
        frame.write_parquet(partial)
        partial.replace(cached)
        cached.with_suffix(".signature").write_text(f"{uri}|{signature}")
    return frame, None


def _stored_signature(cached: Path) -> str | None:
    try:
        return cached.with_suffix(".signature").read_text()
    except OSError:
        return None


def leaderboard_version(frame: pl.DataFrame) -> str:
    """A hash of the leaderboard's rows (16 hex digits): equal for equal leaderboards."""
    import hashlib

    text = frame.sort(frame.columns).write_csv() if frame.height else ""
    return hashlib.sha256(text.encode()).hexdigest()[:16]
