"""``ml/models`` on a hand-built training table: what cannot be trained is recorded in the
materialization metadata and the other families still train and register."""

import dagster as dg
import polars as pl

from tests.ml.conftest import COLS, training_rows
from trading_assets.defs.ml.assets import MODELS_KEY, PREDICTIONS_KEY, ml_models
from trading_assets.defs.mlflow_resource import MlflowResource
from trading_assets.defs.resources import WarehouseResource
from trading_assets.sources.files.freqtrade_json import FreqtradeJsonReader
from trading_assets.warehouse.connection import connect


def test_skips_are_recorded_and_the_rest_registers(tmp_path, shared_data):
    db = tmp_path / "warehouse.duckdb"
    folder = shared_data / "crypto" / "binance_spot_2023"
    table = pl.concat(
        training_rows(FreqtradeJsonReader(folder / f"{s}_USDT-1h.json").read().select(COLS))
        for s in ("ETH", "BTC")
    )
    with connect(str(db)) as con:
        con.execute("CREATE SCHEMA features")
        con.register("t", table)
        con.execute("CREATE TABLE features.training_table AS SELECT * FROM t")
    mlflow = MlflowResource(
        tracking_uri=f"sqlite:///{tmp_path / 'mlflow.db'}", artifact_location=str(tmp_path / "a")
    )
    config = {
        "timeframes": ["1h", "1d"],
        "families": ["lightgbm", "mlp", "zero", "tft"],
        "params_json": '{"mlp": {"max_iter": 1, "early_stopping": false, '
        '"strict_convergence": true}}',
        "n_folds": 2,
    }
    result = dg.materialize(
        [ml_models],
        resources={"warehouse": WarehouseResource(path=str(db)), "mlflow": mlflow},
        run_config={"ops": {"ml_models": {"config": config}}},
    )
    assert result.success
    models = result.asset_materializations_for_node("ml_models")
    meta = {m.asset_key: m.metadata for m in models}
    skipped = meta[MODELS_KEY]["skipped"].value
    assert "fwd_ret_1 1d: 0 labelled rows" in skipped
    assert "| fwd_ret_1 1h | mlp | did not converge" in skipped
    assert "| all | tft | unknown family" in skipped
    assert meta[MODELS_KEY]["trained"].value == 2
    client = mlflow.client()
    assert client.get_model_version_by_alias("fwd_ret_1-1h-lightgbm", "champion").version
    assert not client.search_registered_models("name = 'fwd_ret_1-1h-zero'")  # a baseline
    assert not client.search_registered_models("name = 'fwd_ret_1-1h-mlp'")
    assert meta[PREDICTIONS_KEY]["rows"].value > 0
    with connect(str(db)) as con:
        families = {
            r[0] for r in con.execute("SELECT DISTINCT family FROM ml.predictions").fetchall()
        }
    assert families == {"lightgbm", "zero"}
