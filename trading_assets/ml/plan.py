"""Train, reuse or skip: every model ``ml/models`` asks for, and the rows it stores.

A :class:`TrainingRequest` names timeframes, targets and families. :func:`load_training_inputs`
reads ``features.training_table`` once per timeframe with its input data version (the content
hash of that timeframe's rows). :func:`train_models` then goes through every (timeframe,
target) dataset in order:

1. :func:`plan_dataset` prepares the dataset (:func:`trading_assets.ml.dataset.prepare`) and
   computes each known family's training key (:func:`trading_assets.ml.tracking.training_key`:
   input data version, parameters, split, code version, target). A family whose key is
   already registered in MLflow is *reused*: not retrained, no run created.
2. The other families are trained walk-forward (:func:`trading_assets.ml.training.train_all`),
   logged, registered and promoted (:func:`trading_assets.ml.tracking.log_family`): the
   incumbent champion is scored on the new version's validation bars from its stored
   out-of-sample predictions (``incumbent_predictions``) and the two are compared there;
   the test window is reported and never used to choose.
3. What could not be trained (no table, an unknown family, too few rows, a family that
   failed) is *skipped*, with the reason.

:func:`prediction_rows` and :func:`contribution_rows` turn a trained family's out-of-sample
output into ``ml.predictions`` / ``ml.prediction_contributions`` rows, and
:func:`store_predictions` upserts them in one transaction. No Dagster here; the asset lives in
:mod:`trading_assets.defs.ml.assets`.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Mapping, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import duckdb
import polars as pl

from trading_assets import schemas
from trading_assets.ml import dataset, families, metrics, newest_bar, splits, tracking, training
from trading_assets.ml.errors import TrainingDataError
from trading_assets.sessions import bar_close_of
from trading_assets.warehouse import catalog, predictions, writes
from trading_assets.warehouse.ddl import ensure_table

TRAINING_TABLE = "features.training_table"
PREDICTIONS_TABLE = "ml.predictions"
CONTRIBUTIONS_TABLE = "ml.prediction_contributions"
#: data version of ``ml/models`` while no version is registered
UNTRAINED = "untrained"
REUSED_STATUS = "unchanged inputs: not retrained"


@dataclass(frozen=True)
class TrainingRequest:
    """What to train (the defaults live in the asset's run config).

    Attributes:
        timeframes: timeframes to train on (each its own dataset, all symbols pooled).
        targets: labels to predict (forward log returns ``fwd_ret_<h>``, directions
            ``dir_<h>``).
        families: model family names; names not in
            :data:`~trading_assets.ml.families.FAMILIES` are skipped, with the reason. Each
            target is trained by the requested families of its task (``svc`` on ``dir_<h>``,
            the others on ``fwd_ret_<h>``).
        split: walk-forward settings.
        min_rows: fewest labelled rows a dataset needs.
        champion_metric: validation metric (one of
            :data:`~trading_assets.ml.metrics.NAMES` or, for direction targets,
            :data:`~trading_assets.ml.metrics.CLASSIFICATION_NAMES`) a new version must
            beat, on the same validation bars, to become the champion; a dataset whose task
            has no such metric uses its task's default
            (:func:`~trading_assets.ml.metrics.metric_for`).
        features: feature columns of the training table (empty: the newest-bar fast set
            :data:`~trading_assets.ml.newest_bar.FAST_FEATURES`).
        params: family -> parameter overrides.
    """

    timeframes: Sequence[str]
    targets: Sequence[str]
    families: Sequence[str]
    split: splits.SplitConfig
    min_rows: int
    champion_metric: str
    features: Sequence[str] = ()
    params: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        """Raises TrainingDataError when a requested feature is a label column or the
        champion metric is unknown."""
        dataset.reject_label_features(self.features, "ml/models run config `features`")
        known = [*metrics.NAMES, *metrics.CLASSIFICATION_NAMES]
        if self.champion_metric not in known:
            raise TrainingDataError(
                f"champion_metric {self.champion_metric!r} is not one of {known}"
            )

    @property
    def known_families(self) -> list[str]:
        """The requested families that exist, in request order."""
        return [f for f in self.families if f in families.FAMILIES]

    @property
    def wanted_features(self) -> list[str]:
        """The feature columns trained on (:attr:`features`, else the fast set)."""
        return list(self.features) or list(newest_bar.FAST_FEATURES)

    @property
    def columns(self) -> list[str]:
        """Training-table columns to read: key, features, ``fwd_ret_1`` and the targets
        (a column the table lacks is left out when reading)."""
        return ["symbol", "timeframe", "ts", *self.wanted_features, "fwd_ret_1", *self.targets]


@dataclass(frozen=True)
class TrainingInput:
    """The training-table rows of one timeframe.

    Attributes:
        timeframe: e.g. ``1h``.
        table: ``symbol, timeframe, ts`` (UTC) + the requested columns the table has.
        input_version: content hash of the timeframe's rows (``"<rows>-<16 hex>"``, see
            :func:`trading_assets.warehouse.writes.content_version`).
    """

    timeframe: str
    table: pl.DataFrame
    input_version: str


@dataclass(frozen=True)
class ModelStore:
    """Where runs and registered models go: an MLflow ``tracking_uri`` (tracking and
    registry) and the artifact location of experiments created here (None: the server's)."""

    tracking_uri: str
    artifact_location: str | None = None


def load_training_table(
    con: duckdb.DuckDBPyConnection, timeframe: str, columns: Sequence[str]
) -> pl.DataFrame:
    """Rows of ``features.training_table`` for ``timeframe``, with those of ``columns`` the
    table has (in ``columns`` order).

    Raises:
        duckdb.Error: the table does not exist, or none of ``columns`` is in it.
    """
    have = set(catalog.column_names(con, TRAINING_TABLE))
    cols = ", ".join(f'"{c}"' for c in columns if c in have)
    return con.sql(
        f"SELECT {cols} FROM {TRAINING_TABLE} WHERE timeframe = ?", params=[timeframe]
    ).pl()


def load_training_inputs(
    con: duckdb.DuckDBPyConnection, request: TrainingRequest
) -> dict[str, TrainingInput] | None:
    """One :class:`TrainingInput` per requested timeframe (in request order), or None when
    ``features.training_table`` does not exist."""
    if not catalog.table_exists(con, TRAINING_TABLE):
        return None
    return {
        tf: TrainingInput(
            tf,
            load_training_table(con, tf, request.columns),
            writes.content_version(con, TRAINING_TABLE, {"timeframe": tf})[1],
        )
        for tf in request.timeframes
    }


def format_metric(value: Any) -> str:
    """A metric for the models table: floats to 4 decimals, anything else (None) as text."""
    return f"{value:.4f}" if isinstance(value, float) else str(value)


@dataclass
class DatasetPlan:
    """What to do with one (timeframe, target) dataset.

    Attributes:
        where: ``"<target> <timeframe>"``, as the skipped rows name it.
        target / input_version: the label and the timeframe's input data version.
        dataset: the prepared rows (None when they cannot be trained).
        error: why the dataset cannot be trained (None when it can).
        keys: family -> training key, for every known family planned.
        reused: registered versions whose training key matches, by family (not retrained).
        todo: families to train, in request order.
    """

    where: str
    target: str
    input_version: str
    dataset: dataset.Dataset | None = None
    error: str | None = None
    keys: dict[str, str] = field(default_factory=dict)
    reused: dict[str, tracking.ModelVersion] = field(default_factory=dict)
    todo: list[str] = field(default_factory=list)


def plan_dataset(
    source: TrainingInput,
    target: str,
    request: TrainingRequest,
    *,
    code_version: str,
    find: Callable[[str], tracking.ModelVersion | None],
) -> DatasetPlan:
    """Which known families of ``request`` to train on ``target`` of ``source`` and which
    to reuse: ``find(training_key)`` returns the version registered with that key, or None.
    Only families of the target's task are planned. A dataset that cannot be prepared, or
    that no requested family trains, gets ``error`` and no key is looked up."""
    plan = DatasetPlan(f"{target} {source.timeframe}", target, source.input_version)
    try:
        plan.dataset = dataset.prepare(
            source.table,
            source.timeframe,
            target,
            request.wanted_features,
            min_rows=request.min_rows,
        )
    except TrainingDataError as exc:
        plan.error = str(exc)
        return plan
    task = plan.dataset.task
    planned = [f for f in request.known_families if families.FAMILIES[f].trains(task)]
    if not planned:
        able = [f for f, spec in families.FAMILIES.items() if spec.trains(task)]
        plan.error = f"no requested family trains {task} targets like {target}; these do: {able}"
        return plan
    for family in planned:
        params = families.FAMILIES[family].params(request.params.get(family))
        plan.keys[family] = tracking.training_key(
            source.input_version, family, params, request.split, code_version, target
        )
        found = find(plan.keys[family])
        if found is None:
            plan.todo.append(family)
        else:
            plan.reused[family] = found
    return plan


def prediction_rows(
    result: training.FamilyResult, name: str, version: str, target: str
) -> pl.DataFrame:
    """``ml.predictions`` rows (``PREDICTIONS_SCHEMA``) of ``result``'s out-of-sample
    predictions as model ``name`` version ``version``: ``available_at`` is the bar's close
    (UTC; ``ts`` + one bar for crypto, the session close for equities), ``kind``
    ``walk_forward``, ``predicted_at`` the wall-clock time
    (UTC) the rows were made, measured here after the fold models predicted them."""
    p = result.predictions
    predicted_at = datetime.now(UTC)
    return p.select(
        pl.lit(name).alias("model"),
        pl.lit(version).alias("model_version"),
        pl.lit(result.family).alias("family"),
        pl.lit(target).alias("target"),
        "symbol",
        "timeframe",
        "ts",
        bar_close_of(p).alias("available_at"),
        "prediction",
        "fold",
        pl.lit("walk_forward").alias("kind"),
        pl.lit(predicted_at).alias("predicted_at"),
    ).cast(schemas.PREDICTIONS_SCHEMA)


def contribution_rows(
    result: training.FamilyResult, name: str, version: str
) -> pl.DataFrame | None:
    """``ml.prediction_contributions`` rows (``PREDICTION_CONTRIBUTIONS_SCHEMA``) of
    ``result`` (None for a family without feature contributions)."""
    if result.contributions is None:
        return None
    return result.contributions.select(
        pl.lit(name).alias("model"), pl.lit(version).alias("model_version"), "symbol",
        "timeframe", "ts", "rank", "feature", "value", "contribution",
    ).cast(schemas.PREDICTION_CONTRIBUTIONS_SCHEMA)  # fmt: skip


def incumbent_reader(
    connect: Callable[[], AbstractContextManager[duckdb.DuckDBPyConnection]],
) -> tracking.IncumbentPredictions:
    """``(name, version) ->`` that version's stored out-of-sample predictions
    (:func:`trading_assets.warehouse.predictions.version_predictions`), each read on a short
    connection from ``connect()`` (e.g. ``WarehouseResource.connect``)."""

    def read(name: str, version: str) -> pl.DataFrame:
        with connect() as con:
            return predictions.version_predictions(con, name, version)

    return read


@dataclass
class TrainingReport:
    """What :func:`train_models` did.

    Attributes:
        models: one row per registered version in use (``model, version, role, status``,
            ``val_<metric>`` (validation folds: what selection reads) and ``test_<metric>``
            (the test window, never used to select) for every metric of
            :data:`~trading_assets.ml.metrics.NAMES`, and ``selection``: why the version
            took the alias or not; all text).
        skipped: ``dataset, family, reason`` rows (text) of what was not trained.
        versions: ``(name, version, training key)`` of every version in use.
        predictions / contributions: rows to store for the versions trained in this run.
        fit_seconds: registered name -> seconds of every fit of the versions trained here.
        input_versions: timeframe -> input data version.
        best: ``"<target> <timeframe>"`` -> ``<name> v<version>``, the champion carrying the
            alias ``best`` (:func:`trading_assets.ml.tracking.mark_best`).
    """

    models: list[dict[str, str]] = field(default_factory=list)
    skipped: list[dict[str, str]] = field(default_factory=list)
    versions: list[tuple[str, str, str]] = field(default_factory=list)
    predictions: list[pl.DataFrame] = field(default_factory=list)
    contributions: list[pl.DataFrame] = field(default_factory=list)
    fit_seconds: dict[str, float] = field(default_factory=dict)
    input_versions: dict[str, str] = field(default_factory=dict)
    best: dict[str, str] = field(default_factory=dict)

    @property
    def registered(self) -> int:
        """Registered versions in use (baselines are runs, never registered)."""
        return sum(1 for row in self.models if row["role"] != tracking.BASELINE)

    def skip(self, where: str, family: str, reason: str) -> None:
        """Record that ``family`` (``all``: every family) of ``where`` was not trained."""
        self.skipped.append({"dataset": where, "family": family, "reason": reason})

    @property
    def data_version(self) -> str:
        """16 hex digits hashing the registered versions in use (``untrained`` without any):
        unchanged when nothing was retrained."""
        if not self.versions:
            return UNTRAINED
        return hashlib.sha256(json.dumps(sorted(self.versions)).encode()).hexdigest()[:16]


def text_frame(rows: Sequence[Mapping[str, str]]) -> pl.DataFrame:
    """``rows`` (dicts with the keys of the first) as a frame of String columns."""
    if not rows:
        return pl.DataFrame()
    return pl.DataFrame(list(rows), schema={c: pl.String() for c in rows[0]})


def metric_columns(validation: Mapping[str, Any], test: Mapping[str, Any]) -> dict[str, str]:
    """``val_<metric>`` and ``test_<metric>`` of every metric in
    :data:`~trading_assets.ml.metrics.NAMES` and
    :data:`~trading_assets.ml.metrics.CLASSIFICATION_NAMES`, as text (:func:`format_metric`;
    ``None`` where the task has no such metric)."""
    names = (*metrics.NAMES, *metrics.CLASSIFICATION_NAMES)
    return {
        **{f"val_{m}": format_metric(validation.get(m)) for m in names},
        **{f"test_{m}": format_metric(test.get(m)) for m in names},
    }


def _train_planned(
    plan: DatasetPlan,
    request: TrainingRequest,
    report: TrainingReport,
    *,
    store: ModelStore,
    run_id: str,
    warn: Callable[[str], None],
    incumbent_predictions: tracking.IncumbentPredictions | None,
) -> None:
    assert plan.dataset is not None
    settings = training.TrainingConfig(
        families=tuple(plan.todo), params=request.params, split=request.split
    )
    try:
        outcome = training.train_all(plan.dataset, settings)
    except TrainingDataError as exc:
        report.skip(plan.where, "all", str(exc))
        return
    for family, reason in outcome.skipped.items():
        report.skip(plan.where, family, reason)
        warn(f"{plan.where}: family {family} skipped: {reason}")
    for family, result in outcome.results.items():
        for note in result.notes:
            report.skip(plan.where, family, note)
        mv = tracking.log_family(
            result, outcome, tracking_uri=store.tracking_uri, key=plan.keys[family],
            input_version=plan.input_version, artifact_location=store.artifact_location,
            dagster_run_id=run_id, metric=request.champion_metric,
            incumbent_predictions=incumbent_predictions,
        )  # fmt: skip
        report.versions.append((mv.name, mv.version, plan.keys[family]))
        report.fit_seconds[mv.name] = round(result.fit_seconds, 3)
        report.predictions.append(prediction_rows(result, mv.name, mv.version, plan.target))
        if (c := contribution_rows(result, mv.name, mv.version)) is not None:
            report.contributions.append(c)
        report.models.append(
            {"model": mv.name, "version": mv.version, "role": mv.role,
             "status": f"trained ({result.fit_seconds:.1f} s), run {mv.run_id[:8]}",
             **metric_columns(result.validation, result.test),
             "selection": mv.selection.reason if mv.selection else ""}
        )  # fmt: skip
    if plan.dataset.notes:
        report.skip(plan.where, "-", "; ".join(plan.dataset.notes))


def train_models(
    inputs: Mapping[str, TrainingInput] | None,
    request: TrainingRequest,
    *,
    code_version: str,
    store: ModelStore,
    run_id: str = "",
    warn: Callable[[str], None] = lambda message: None,
    incumbent_predictions: tracking.IncumbentPredictions | None = None,
) -> TrainingReport:
    """Plan, train, log and register every (timeframe, target, family) of ``request`` on
    ``inputs`` (None: no training table), as the module docstring describes.

    ``code_version`` is the training code's version (part of every training key); ``run_id``
    is tagged on new MLflow runs; ``warn`` receives one line per family that failed;
    ``incumbent_predictions(name, version)`` returns a champion's stored out-of-sample
    predictions (``symbol, ts, prediction``; e.g.
    :func:`trading_assets.warehouse.predictions.version_predictions`), on which it is
    compared with a new version (None: champions cannot be compared, new versions take the
    alias).
    Datasets that cannot be trained and failing families are recorded in
    :attr:`TrainingReport.skipped`, never raised.
    """
    report = TrainingReport()
    if inputs is None:
        report.skip("all", "all", f"{TRAINING_TABLE} missing")
    for family in sorted(set(request.families) - set(request.known_families)):
        report.skip("all", family, f"unknown family; known: {list(families.FAMILIES)}")
    report.input_versions = {tf: s.input_version for tf, s in (inputs or {}).items()}
    find = lambda key: tracking.find_trained(store.tracking_uri, key)  # noqa: E731
    for source in (inputs or {}).values():
        for target in request.targets:
            plan = plan_dataset(source, target, request, code_version=code_version, find=find)
            if plan.error is not None:
                report.skip(plan.where, "all", plan.error)
                continue
            for family, found in plan.reused.items():
                report.versions.append((found.name, found.version, plan.keys[family]))
                report.models.append(
                    {"model": found.name, "version": found.version, "role": found.role,
                     "status": REUSED_STATUS,
                     **metric_columns(found.metrics, found.test_metrics), "selection": ""}
                )  # fmt: skip
            if plan.todo:
                _train_planned(
                    plan, request, report, store=store, run_id=run_id, warn=warn,
                    incumbent_predictions=incumbent_predictions,
                )  # fmt: skip
            if plan.reused or plan.todo:
                best = tracking.mark_best(
                    store.tracking_uri, target, source.timeframe, request.champion_metric
                )
                if best is not None:
                    report.best[plan.where] = f"{best.name} v{best.version}"
    return report


@dataclass(frozen=True)
class StoredPredictions:
    """What :func:`store_predictions` did.

    Attributes:
        write: the ``ml.predictions`` write (rows and data version of the whole table).
        contribution_rows: rows in ``ml.prediction_contributions`` after the write.
        per_model: ``model, model_version, rows, first, last`` (UTC) of ``ml.predictions``.
    """

    write: writes.WriteResult
    contribution_rows: int
    per_model: pl.DataFrame


def store_predictions(
    con: duckdb.DuckDBPyConnection,
    predictions: Sequence[pl.DataFrame],
    contributions: Sequence[pl.DataFrame],
) -> StoredPredictions:
    """Upsert ``predictions`` into ``ml.predictions`` and ``contributions`` into
    ``ml.prediction_contributions`` (both created if missing) in ONE transaction, keyed by
    (model, model_version, symbol, timeframe, ts[, rank]): re-running changes nothing.

    Raises:
        duckdb.Error: a write failed; the transaction is rolled back.
    """
    with writes.transaction(con):
        for table in (PREDICTIONS_TABLE, CONTRIBUTIONS_TABLE):
            ensure_table(con, table)
        if predictions:
            write = writes.upsert_rows(
                con, PREDICTIONS_TABLE, pl.concat(predictions), schemas.PREDICTIONS_KEY
            )
        else:
            write = writes.WriteResult(0, 0, 0, *writes.content_version(con, PREDICTIONS_TABLE))
        if contributions:
            writes.upsert_rows(
                con, CONTRIBUTIONS_TABLE, pl.concat(contributions),
                schemas.PREDICTION_CONTRIBUTIONS_KEY,
            )  # fmt: skip
        contribution_count, _ = writes.content_version(con, CONTRIBUTIONS_TABLE)
        per_model = con.sql(
            "SELECT model, model_version, count(*) AS rows, min(ts) AS first, max(ts) AS last "
            f"FROM {PREDICTIONS_TABLE} GROUP BY ALL ORDER BY model, model_version"
        ).pl()
    return StoredPredictions(write, contribution_count, per_model)


__all__ = [
    "TRAINING_TABLE",
    "DatasetPlan",
    "ModelStore",
    "StoredPredictions",
    "TrainingInput",
    "TrainingReport",
    "TrainingRequest",
    "contribution_rows",
    "load_training_inputs",
    "load_training_table",
    "metric_columns",
    "plan_dataset",
    "prediction_rows",
    "store_predictions",
    "text_frame",
    "train_models",
]
