"""``ml/models`` and ``ml/predictions``: every model family trained walk-forward on
``features.training_table``, logged to MLflow, registered, and their out-of-sample
predictions stored.

One multi-asset step, because the out-of-sample predictions are produced by the training:

- ``ml/models``: for each configured timeframe and target, every family
  (:mod:`trading_assets.ml.families`) is trained over the same walk-forward folds, one MLflow
  run per (family, target, timeframe, input data version), registered as
  ``<target>-<timeframe>-<family>``; ``champion`` moves only to a better version (else the
  version is tagged ``challenger``). A family whose training key (input data version,
  parameters, split, code) is already registered is not retrained and creates no run. Its data
  version hashes the registered versions, so it is unchanged when nothing was retrained.
- ``ml/predictions`` (``ml.predictions``, ``PREDICTIONS_SCHEMA``): the out-of-sample
  predictions of every fold of every trained version, baselines included, and for LightGBM
  the top-3 feature contributions (``ml.prediction_contributions``), in ONE transaction,
  keyed by (model, model_version, symbol, timeframe, ts): re-runs change nothing. Its data
  version is the content hash of ``ml.predictions``.

A dataset that cannot be trained (no rows for a timeframe, too few rows for a fold, constant
label) and a family that fails are recorded in the metadata (``skipped``); the others still
train and register.

No ``from __future__ import annotations`` here: Dagster reads the annotations at run time.
"""

import hashlib
import json
from datetime import UTC, datetime
from typing import Any

import dagster as dg
import polars as pl

from trading_assets import schemas
from trading_assets.defs import keys
from trading_assets.defs.metadata import preview
from trading_assets.defs.mlflow_resource import MlflowResource
from trading_assets.defs.resources import WarehouseResource
from trading_assets.home import DUCKDB_WRITER_POOL
from trading_assets.ml import (
    dataset,
    families,
    metrics,
    newest_bar,
    splits,
    training,
)
from trading_assets.timeframes import timeframe_delta
from trading_assets.warehouse import writes
from trading_assets.warehouse.ddl import ensure_table

MODELS_KEY = keys.MODELS
PREDICTIONS_KEY = keys.PREDICTIONS
TRAINING_TABLE_KEY = keys.TRAINING_TABLE
TRAINING_TABLE = "features.training_table"

#: version of the training logic; part of every training key


class TrainingSettings(dg.Config):
    """What ``ml/models`` trains (the defaults keep the main job fast)."""

    timeframes: list[str] = ["1h", "1d"]
    """Timeframes to train on (each its own dataset, all symbols pooled)."""
    targets: list[str] = ["fwd_ret_1"]
    """Labels to predict (forward log returns ``fwd_ret_<h>``)."""
    families: list[str] = list(families.DEFAULT_FAMILIES)
    """Model families (lightgbm, svm, mlp, arima and the zero/last/moving_average baselines)."""
    features: list[str] = []
    """Feature columns of the training table (empty: the newest-bar fast set of Alpha158)."""
    params_json: str = "{}"
    """Per-family parameter overrides as JSON, e.g. ``{"lightgbm": {"num_leaves": 31}}``."""
    n_folds: int = 5
    window: str = "expanding"
    """``expanding`` or ``rolling`` training windows."""
    test_fraction: float = 0.5
    purge: int = 0
    """Bars left out before each test block (0: the label horizon; never below it)."""
    min_rows: int = 200
    champion_metric: str = "ic"
    """Validation metric a new version must beat to become the champion."""

    def split(self) -> splits.SplitConfig:
        """These knobs as the walk-forward :class:`~trading_assets.ml.splits.SplitConfig`."""
        return splits.SplitConfig(
            n_folds=self.n_folds, window=self.window, test_fraction=self.test_fraction,
            purge=self.purge or None,
        )  # fmt: skip


def _load(con, timeframe: str, columns: list[str]) -> pl.DataFrame:
    have = {r[0] for r in con.execute(f"DESCRIBE {TRAINING_TABLE}").fetchall()}
    cols = ", ".join(f'"{c}"' for c in columns if c in have)
    return con.sql(
        f"SELECT {cols} FROM {TRAINING_TABLE} WHERE timeframe = ?", params=[timeframe]
    ).pl()


def _table_exists(con, table: str) -> bool:
    schema, name = table.split(".")
    return bool(
        con.execute(
            "SELECT count(*) FROM information_schema.tables WHERE table_schema = ? "
            "AND table_name = ?",
            [schema, name],
        ).fetchall()[0][0]
    )


def _prediction_rows(result: Any, name: str, version: str, target: str) -> pl.DataFrame:
    p = result.predictions
    step = timeframe_delta(p["timeframe"][0])
    return p.select(
        pl.lit(name).alias("model"),
        pl.lit(version).alias("model_version"),
        pl.lit(result.family).alias("family"),
        pl.lit(target).alias("target"),
        "symbol",
        "timeframe",
        "ts",
        (pl.col("ts") + step).alias("available_at"),
        "prediction",
        "fold",
        pl.lit("walk_forward").alias("kind"),
        pl.lit(datetime.now(UTC)).alias("predicted_at"),
    ).cast(schemas.PREDICTIONS_SCHEMA)


def _contribution_rows(result: Any, name: str, version: str) -> pl.DataFrame | None:
    if result.contributions is None:
        return None
    return result.contributions.select(
        pl.lit(name).alias("model"), pl.lit(version).alias("model_version"), "symbol",
        "timeframe", "ts", "rank", "feature", "value", "contribution",
    ).cast(schemas.PREDICTION_CONTRIBUTIONS_SCHEMA)  # fmt: skip


def _md(rows: list[dict[str, Any]]) -> dg.MetadataValue:
    if not rows:
        return dg.MetadataValue.md("_none_")
    cols = list(rows[0])
    lines = ["| " + " | ".join(cols) + " |", "|" + "---|" * len(cols)]
    lines += ["| " + " | ".join(str(r.get(c, "")) for c in cols) + " |" for r in rows]
    return dg.MetadataValue.md("\n".join(lines))


def _fmt(value: Any) -> str:
    return f"{value:.4f}" if isinstance(value, float) else str(value)


@dg.multi_asset(
    specs=[
        dg.AssetSpec(
            MODELS_KEY,
            deps=[TRAINING_TABLE_KEY],
            description="Every model family trained walk-forward on features.training_table, "
            "one MLflow run each, registered as <target>-<timeframe>-<family> (alias champion).",
            group_name="ml",
            kinds={"mlflow", "lightgbm", "scikitlearn"},
            automation_condition=dg.AutomationCondition.eager(),
        ),
        dg.AssetSpec(
            PREDICTIONS_KEY,
            deps=[MODELS_KEY],
            description="Out-of-sample walk-forward predictions of every model version "
            "(baselines included), with LightGBM's top-3 feature contributions.",
            group_name="ml",
            kinds={"duckdb", "polars"},
            automation_condition=dg.AutomationCondition.eager(),
            metadata={"table": "ml.predictions"},
        ),
    ],
    pool=DUCKDB_WRITER_POOL,
    can_subset=False,
)
def ml_models(
    context: dg.AssetExecutionContext,
    config: TrainingSettings,
    warehouse: WarehouseResource,
    mlflow: MlflowResource,
):
    from trading_assets.ml import tracking
    from trading_assets.ml.errors import TrainingDataError

    overrides = json.loads(config.params_json or "{}")
    known = [f for f in config.families if f in families.FAMILIES]
    split = config.split()
    wanted = config.features or list(newest_bar.FAST_FEATURES)
    columns = ["symbol", "timeframe", "ts", *wanted, "fwd_ret_1", *config.targets]
    skipped: list[dict[str, str]] = []
    table_rows: list[dict[str, Any]] = []
    versions: list[tuple[str, str, str]] = []
    preds: list[pl.DataFrame] = []
    contribs: list[pl.DataFrame] = []
    timings: dict[str, float] = {}
    with warehouse.connect() as con:
        exists = _table_exists(con, TRAINING_TABLE)
        loaded = {}
        for tf in config.timeframes if exists else []:
            loaded[tf] = (_load(con, tf, columns), writes.content_version(
                con, TRAINING_TABLE, {"timeframe": tf})[1])  # fmt: skip
    if not exists:
        skipped.append({"dataset": "all", "family": "all", "reason": f"{TRAINING_TABLE} missing"})
    for family in sorted(set(config.families) - set(known)):
        skipped.append(
            {"dataset": "all", "family": family,
             "reason": f"unknown family; known: {list(families.FAMILIES)}"}
        )  # fmt: skip
    code_version = context.assets_def.code_versions_by_key[MODELS_KEY] or ""
    for tf, (table, input_version) in loaded.items():
        for target in config.targets:
            where = f"{target} {tf}"
            try:
                ds = dataset.prepare(table, tf, target, wanted, min_rows=config.min_rows)
            except TrainingDataError as exc:
                skipped.append({"dataset": where, "family": "all", "reason": str(exc)})
                continue
            todo: list[str] = []
            keys: dict[str, str] = {}
            for family in known:
                params = families.FAMILIES[family].params(overrides.get(family))
                keys[family] = tracking.training_key(
                    input_version, family, params, split, code_version, target
                )
                found = tracking.find_trained(mlflow.tracking_uri, keys[family])
                if found is None:
                    todo.append(family)
                    continue
                versions.append((found.name, found.version, keys[family]))
                table_rows.append(
                    {"model": found.name, "version": found.version, "role": found.role,
                     "status": "unchanged inputs: not retrained",
                     **{m: _fmt(found.metrics.get(m)) for m in metrics.NAMES}}
                )  # fmt: skip
            if not todo:
                continue
            settings = training.TrainingConfig(families=tuple(todo), params=overrides, split=split)
            try:
                outcome = training.train_all(ds, settings)
            except TrainingDataError as exc:
                skipped.append({"dataset": where, "family": "all", "reason": str(exc)})
                continue
            for family, reason in outcome.skipped.items():
                skipped.append({"dataset": where, "family": family, "reason": reason})
                context.log.warning(f"{where}: family {family} skipped: {reason}")
            for family, result in outcome.results.items():
                mv = tracking.log_family(
                    result, outcome, tracking_uri=mlflow.tracking_uri, key=keys[family],
                    input_version=input_version, artifact_location=mlflow.artifact_location,
                    dagster_run_id=context.run.run_id, metric=config.champion_metric,
                )  # fmt: skip
                versions.append((mv.name, mv.version, keys[family]))
                timings[mv.name] = round(result.fit_seconds, 3)
                preds.append(_prediction_rows(result, mv.name, mv.version, target))
                if (c := _contribution_rows(result, mv.name, mv.version)) is not None:
                    contribs.append(c)
                table_rows.append(
                    {"model": mv.name, "version": mv.version, "role": mv.role,
                     "status": f"trained ({result.fit_seconds:.1f} s), run {mv.run_id[:8]}",
                     **{m: _fmt(result.overall.get(m)) for m in metrics.NAMES}}
                )  # fmt: skip
            if ds.notes:
                skipped.append({"dataset": where, "family": "-", "reason": "; ".join(ds.notes)})
    with warehouse.connect() as con, writes.transaction(con):
        for table in ("ml.predictions", "ml.prediction_contributions"):
            ensure_table(con, table)
        inserted = 0
        if preds:
            result = writes.upsert_rows(
                con, "ml.predictions", pl.concat(preds), schemas.PREDICTIONS_KEY
            )
            inserted = result.inserted + result.updated
        if contribs:
            writes.upsert_rows(
                con, "ml.prediction_contributions", pl.concat(contribs),
                schemas.PREDICTION_CONTRIBUTIONS_KEY,
            )  # fmt: skip
        rows, pred_version = writes.content_version(con, "ml.predictions")
        contrib_rows, _ = writes.content_version(con, "ml.prediction_contributions")
        per_model = con.sql(
            "SELECT model, model_version, count(*) AS rows, min(ts) AS first, max(ts) AS last "
            "FROM ml.predictions GROUP BY ALL ORDER BY model, model_version"
        ).pl()
    models_version = hashlib.sha256(
        json.dumps(sorted(versions)).encode()
    ).hexdigest()[:16] if versions else "untrained"  # fmt: skip
    yield dg.MaterializeResult(
        asset_key=MODELS_KEY,
        data_version=dg.DataVersion(models_version),
        metadata={
            "models": _md(table_rows),
            "registered_versions": dg.MetadataValue.int(len(versions)),
            "trained": dg.MetadataValue.int(len(timings)),
            "skipped": _md(skipped),
            "skipped_count": dg.MetadataValue.int(len(skipped)),
            "fit_seconds": dg.MetadataValue.json(timings),
            "input_data_versions": dg.MetadataValue.json({tf: v for tf, (_, v) in loaded.items()}),
            "mlflow_tracking_uri": dg.MetadataValue.text(mlflow.tracking_uri),
            "data_version": dg.MetadataValue.text(models_version),
        },
    )
    yield dg.MaterializeResult(
        asset_key=PREDICTIONS_KEY,
        data_version=dg.DataVersion(pred_version),
        metadata={
            "rows": dg.MetadataValue.int(rows),
            "rows_inserted": dg.MetadataValue.int(inserted),
            "contribution_rows": dg.MetadataValue.int(contrib_rows),
            "data_version": dg.MetadataValue.text(pred_version),
            "per_model": preview(per_model, n=40),
        },
    )


ML_ASSETS: list[dg.AssetsDefinition] = [ml_models]
