"""``ml/models`` and ``ml/predictions``: every model family trained walk-forward on
``features.training_table``, logged to MLflow, registered, and their out-of-sample
predictions stored.

One multi-asset step, because the out-of-sample predictions are produced by the training:

- ``ml/models``: for each configured timeframe and target, every family
  (:mod:`trading_assets.ml.families`) is trained over the same walk-forward folds, one MLflow
  run per (family, target, timeframe, input data version), registered as
  ``<target>-<timeframe>-<family>``. The last fold(s) are the test window, reported as
  ``test_*`` and never used to choose; ``champion`` moves only to a version that beats the
  incumbent on the same validation bars (else the version is tagged ``challenger``). A
  family whose training key (input data version, parameters, split, code) is already
  registered is not retrained and creates no run. Its data version hashes the registered
  versions, so it is unchanged when nothing was retrained.
- ``ml/predictions`` (``ml.predictions``, ``PREDICTIONS_SCHEMA``): the out-of-sample
  predictions of every fold of every trained version, baselines included, and for LightGBM
  the top-3 feature contributions (``ml.prediction_contributions``), in ONE transaction,
  keyed by (model, model_version, symbol, timeframe, ts): re-runs change nothing. Its data
  version is the content hash of ``ml.predictions``.

A dataset that cannot be trained (no rows for a timeframe, too few rows for a fold, constant
label) and a family that fails are recorded in the metadata (``skipped``); the others still
train and register.

The plan (train, reuse or skip), the training and the rows stored are
:mod:`trading_assets.ml.plan`; this module declares the assets and their metadata.

No ``from __future__ import annotations`` here: Dagster reads the annotations at run time.
"""

import json

import dagster as dg

from trading_assets.defs import keys
from trading_assets.defs.metadata import preview, write_metadata
from trading_assets.defs.mlflow_resource import MlflowResource
from trading_assets.defs.ops.meter import metered
from trading_assets.defs.resources import WarehouseResource
from trading_assets.home import DUCKDB_WRITER_POOL
from trading_assets.ml import families, plan, splits
from trading_assets.scale import redact_url

MODELS_KEY = keys.MODELS
PREDICTIONS_KEY = keys.PREDICTIONS
TRAINING_TABLE_KEY = keys.TRAINING_TABLE


class TrainingSettings(dg.Config):
    """What ``ml/models`` trains (the defaults keep the main job fast)."""

    timeframes: list[str] = ["1h", "1d"]
    """Timeframes to train on (each its own dataset, all symbols pooled)."""
    targets: list[str] = ["fwd_ret_1"]
    """Labels to predict: forward log returns ``fwd_ret_<h>`` and directions ``dir_<h>``
    (e.g. ``["fwd_ret_1", "fwd_ret_5", "dir_1", "dir_5"]``)."""
    families: list[str] = list(families.DEFAULT_FAMILIES)
    """Model families (lightgbm, svm, mlp, lstm, arima and the zero/last/moving_average
    baselines on returns; svc on directions): each target is trained by those of its task."""
    features: list[str] = []
    """Feature columns of the training table (empty: the newest-bar fast set of Alpha158)."""
    params_json: str = "{}"
    """Per-family parameter overrides as JSON, e.g. ``{"lightgbm": {"num_leaves": 31}}``."""
    n_folds: int = 5
    """Out-of-sample blocks over the last ``test_fraction`` of the bar times: validation
    folds, then the test window."""
    test_folds: int = 1
    """The last blocks that form the test window: scored and reported (``test_*``), never
    used to choose the champion (1 <= test_folds < n_folds)."""
    window: str = "expanding"
    """``expanding`` or ``rolling`` training windows."""
    test_fraction: float = 0.5
    purge: int = 0
    """Bars left out before each test block (0: the label horizon; never below it)."""
    min_rows: int = 200
    champion_metric: str = "ic"
    """Validation metric a new version must beat, on the same validation bars as the
    incumbent champion, to become the champion (ic, rank_ic, icir, directional_accuracy,
    rmse)."""

    def split(self) -> splits.SplitConfig:
        """These knobs as the walk-forward :class:`~trading_assets.ml.splits.SplitConfig`."""
        return splits.SplitConfig(
            n_folds=self.n_folds, test_folds=self.test_folds, window=self.window,
            test_fraction=self.test_fraction, purge=self.purge or None,
        )  # fmt: skip

    def request(self) -> plan.TrainingRequest:
        """These knobs as a :class:`~trading_assets.ml.plan.TrainingRequest`.

        Raises:
            json.JSONDecodeError: ``params_json`` is not JSON.
        """
        return plan.TrainingRequest(
            timeframes=self.timeframes, targets=self.targets, families=self.families,
            split=self.split(), min_rows=self.min_rows, champion_metric=self.champion_metric,
            features=self.features, params=json.loads(self.params_json or "{}"),
        )  # fmt: skip


def _rows(rows: list[dict[str, str]]) -> dg.MetadataValue:
    """Every row as a Markdown table (``_no rows_`` when empty)."""
    return preview(plan.text_frame(rows), n=len(rows))


@dg.multi_asset(
    specs=[
        dg.AssetSpec(
            MODELS_KEY,
            deps=[TRAINING_TABLE_KEY],
            description="Every model family trained walk-forward on `features.training_table`, "
            "one MLflow run each (experiment `trading-models`), registered as "
            "`target-timeframe-family` (e.g. `fwd_ret_1-1d-lightgbm`) with alias `champion` "
            "on each family's best version and `best` on the best family's champion per "
            "target and timeframe; baselines (`zero`, `last`, `moving_average`) are runs "
            "only, never registered.",
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
@metered
def ml_models(
    context: dg.AssetExecutionContext,
    config: TrainingSettings,
    warehouse: WarehouseResource,
    mlflow: MlflowResource,
):
    request = config.request()
    with warehouse.connect() as con:
        inputs = plan.load_training_inputs(con, request)
    report = plan.train_models(
        inputs,
        request,
        code_version=context.assets_def.code_versions_by_key[MODELS_KEY] or "",
        store=plan.ModelStore(mlflow.tracking_uri, mlflow.artifact_location),
        run_id=context.run.run_id,
        warn=context.log.warning,
        incumbent_predictions=plan.incumbent_reader(warehouse.connect),
    )
    with warehouse.connect() as con:
        stored = plan.store_predictions(con, report.predictions, report.contributions)
    yield dg.MaterializeResult(
        asset_key=MODELS_KEY,
        data_version=dg.DataVersion(report.data_version),
        metadata={
            "models": _rows(report.models),
            "registered_versions": dg.MetadataValue.int(report.registered),
            "best": dg.MetadataValue.json(report.best),
            "trained": dg.MetadataValue.int(len(report.fit_seconds)),
            "skipped": _rows(report.skipped),
            "skipped_count": dg.MetadataValue.int(len(report.skipped)),
            "fit_seconds": dg.MetadataValue.json(report.fit_seconds),
            "input_data_versions": dg.MetadataValue.json(report.input_versions),
            "mlflow_tracking_uri": dg.MetadataValue.text(redact_url(mlflow.tracking_uri)),
            "data_version": dg.MetadataValue.text(report.data_version),
        },
    )
    yield dg.MaterializeResult(
        asset_key=PREDICTIONS_KEY,
        data_version=dg.DataVersion(stored.write.data_version),
        metadata={
            **write_metadata(stored.write),
            "contribution_rows": dg.MetadataValue.int(stored.contribution_rows),
            "per_model": preview(stored.per_model, n=40),
        },
    )


ML_ASSETS: list[dg.AssetsDefinition] = [ml_models]
