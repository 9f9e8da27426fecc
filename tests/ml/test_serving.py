"""The champion served over REST by ``mlflow models serve`` on 127.0.0.1 (the one slow test:
the scoring server takes ~15 s to start)."""

import httpx
import numpy as np

from tests.processes import free_port, running_server
from trading_assets.ml import tracking
from trading_assets.ml.dataset import prepare
from trading_assets.ml.predictor import Predictor
from trading_assets.ml.serving import payload, serve_command, serve_env
from trading_assets.ml.splits import SplitConfig
from trading_assets.ml.training import TrainingConfig, train_all


def test_champion_served_over_rest_matches_the_predictor(tmp_path, table_1h):
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    ds = prepare(table_1h, "1h", "fwd_ret_1")
    out = train_all(ds, TrainingConfig(families=("lightgbm",), split=SplitConfig(n_folds=2)))
    mv = tracking.log_family(
        out.results["lightgbm"], out, tracking_uri=uri, key="serve",
        input_version="v", artifact_location=str(tmp_path / "art"),
    )  # fmt: skip
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    server = running_server(
        serve_command(mv.name, port), serve_env(uri), f"{base}/ping", "mlflow models serve"
    )
    with server:
        rows = ds.frame.tail(20).select(ds.features)
        response = httpx.post(f"{base}/invocations", json=payload(rows), timeout=30)
        assert response.status_code == 200, response.text
        served = np.asarray(response.json()["predictions"], dtype=float)
        local = Predictor(mv.name, uri).predict_batch(rows)
        assert np.allclose(served, local)
