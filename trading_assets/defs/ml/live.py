"""``ml/live_predictions``: the champions and the baseline formulas predict every closed bar
whose label is not realized yet (``ml.live_predictions``; see :mod:`trading_assets.ml.live`).

It runs on every new bar (new training-table data) without retraining: one version per model,
resolved when the run starts; only bars newer than that version's last live prediction are
scored. Models without a champion are listed in the metadata (``no_champion``). When a
refresh warmed a process for the run, the models predict there (``served_by``).

No ``from __future__ import annotations`` here: Dagster reads the annotations at run time.
"""

import dagster as dg

from trading_assets import warm_process
from trading_assets.defs import keys
from trading_assets.defs.metadata import markdown_rows, preview, write_metadata
from trading_assets.defs.mlflow_resource import MlflowResource
from trading_assets.defs.ops.meter import metered
from trading_assets.defs.resources import WarehouseResource
from trading_assets.home import DUCKDB_WRITER_POOL
from trading_assets.ml import live
from trading_assets.ml.families import FAMILIES
from trading_assets.warehouse import predictions as store


class LivePredictionSettings(dg.Config):
    """Which models predict live: every family's champion (an opt-in family such as the LSTM
    once ``ml/models`` has trained it), the baselines as formulas."""

    timeframes: list[str] = ["1h", "1d"]
    targets: list[str] = ["fwd_ret_1"]
    families: list[str] = list(FAMILIES)
    history_bars: int = 600
    """Bars per series read for the pending bars' inputs (ARIMA's return history, moving
    averages); only unlabeled bars are predicted."""


@dg.asset(
    key=keys.LIVE_PREDICTIONS,
    deps=[keys.TRAINING_TABLE, keys.MODELS],
    description="Live predictions of the newest bars (label not realized yet) by each "
    "family's `champion` version and the baseline formulas, tail-incremental, with the "
    "measured `predicted_at`.",
    group_name="ml",
    kinds={"duckdb", "mlflow"},
    pool=DUCKDB_WRITER_POOL,
    automation_condition=dg.AutomationCondition.eager(),
    metadata={"table": store.LIVE_TABLE},
)
@metered
def live_predictions(
    context: dg.AssetExecutionContext,
    config: LivePredictionSettings,
    warehouse: WarehouseResource,
    mlflow: MlflowResource,
) -> dg.MaterializeResult:
    with warehouse.connect(read_only=True) as con:
        wf_versions = store.newest_walk_forward_versions(con)
    cache = mlflow.served_cache()
    specs, no_champion = live.served_specs(
        mlflow.tracking_uri, config.timeframes, config.targets, config.families, wf_versions, cache
    )
    with warehouse.connect(read_only=True) as con:
        done, tails = _watermarks_and_tails(con, specs, config.history_bars)
    run, hits, served_by = _predict(context, mlflow.tracking_uri, cache, specs, tails, done)
    with warehouse.connect() as con:
        served_versions = {s.name: s.version for s in specs}
        written = store.write_live(con, served_versions, run.rows, run.contributions)
    for name in no_champion:
        context.log.warning(f"{name}: no champion yet, not predicting live")
    return dg.MaterializeResult(
        data_version=dg.DataVersion(written.data_version),
        metadata={
            **write_metadata(written),
            "served": markdown_rows([{"model": s.name, "version": s.version} for s in specs]),
            "served_by": served_by,
            "no_champion": dg.MetadataValue.json(no_champion),
            "served_from_cache": dg.MetadataValue.int(hits),
            "champions_from_cache": bool(cache and cache.champions_cached),
            "skipped": markdown_rows(run.skipped[:50]),
            "skipped_count": dg.MetadataValue.int(len(run.skipped)),
            "gaps": dg.MetadataValue.json(run.gaps),
            "newest": preview(
                run.rows.sort("ts").select(
                    "model", "symbol", "timeframe", "ts", "prediction", "predicted_at"
                ),
                n=10,
            ),
        },  # fmt: skip
    )


def _watermarks_and_tails(con, specs, history_bars: int) -> tuple[dict, dict]:
    """Each served model's live watermarks (``symbol, last_ts``), and the training-table
    tails of the series some model has bars left to predict on (a new bar reads its own
    series only; :func:`trading_assets.ml.live.series_to_predict`)."""
    done = {s.name: store.live_watermarks(con, s.name, s.version, s.timeframe) for s in specs}
    newest = {
        key: store.newest_unlabeled(con, *key) for key in {(s.timeframe, s.target) for s in specs}
    }
    to_read = live.series_to_predict(specs, newest, done)
    tails = {
        tf: store.training_tail(con, tf, history_bars, symbols) for tf, symbols in to_read.items()
    }
    return done, tails


def _predict(context, tracking_uri, cache, specs, tails, done) -> tuple[live.LiveRun, int, str]:
    """The live run of ``specs``: in the warm process when the refresh started one
    (:mod:`trading_assets.warm_process`), else (or when it failed) in this process.
    Returns the run, the served-cache hits and where it ran."""
    process = warm_process.warm_process(tracking_uri, cache.folder) if cache else None
    if process is not None:
        try:
            answer = process.predict(specs, tails, done, live.now_utc())
            return answer.run, answer.cache_hits, "warm process"
        except warm_process.WarmProcessError as exc:
            context.log.warning(f"the warm process failed, predicting here: {exc}")
    served = live.load_served(specs, tracking_uri, cache)
    run = live.predict_served(served, tails, done, live.now_utc())
    return run, cache.hits if cache else 0, "this process"
