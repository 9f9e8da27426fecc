"""Champions served over REST by ``mlflow models serve`` on 127.0.0.1, LightGBM and the LSTM
(the slow tests: the scoring server takes ~15 s to start, the LSTM's first request imports
Keras and JAX)."""

import httpx
import numpy as np
import pytest

from tests.processes import free_port, running_server
from trading_assets.ml import tracking
from trading_assets.ml.dataset import prepare
from trading_assets.ml.predictor import Predictor
from trading_assets.ml.serving import payload, serve_command, serve_env
from trading_assets.ml.splits import SplitConfig
from trading_assets.ml.training import TrainingConfig, train_all

SMALL_LSTM = {"window": 8, "units": 8, "epochs": 2, "batch_size": 128}


@pytest.mark.parametrize("family", ["lightgbm", "lstm"])
def test_champion_served_over_rest_matches_the_predictor(tmp_path, table_1h, family):
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    ds = prepare(table_1h, "1h", "fwd_ret_1")
    config = TrainingConfig(
        families=(family,), split=SplitConfig(n_folds=2), params={"lstm": SMALL_LSTM}
    )
    out = train_all(ds, config)
    mv = tracking.log_family(
        out.results[family], out, tracking_uri=uri, key="serve",
        input_version="v", artifact_location=str(tmp_path / "art"),
    )  # fmt: skip
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    server = running_server(
        serve_command(mv.name, port), serve_env(uri), f"{base}/ping", "mlflow models serve"
    )
    model = out.results[family].model
    with server:
        # a sequence model reads the window before each row: send the window too
        rows = ds.frame.tail(20 + getattr(model, "window", 1) - 1).select(model.input_columns)
        response = httpx.post(f"{base}/invocations", json=payload(rows), timeout=60)
        assert response.status_code == 200, response.text
        served = np.asarray(response.json()["predictions"], dtype=float)
        local = Predictor(mv.name, uri).predict_batch(rows)
        assert np.isfinite(served[-20:]).all()
        assert np.allclose(served, local, equal_nan=True)
