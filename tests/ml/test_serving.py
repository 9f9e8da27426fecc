"""The champion served over REST by ``mlflow models serve`` on 127.0.0.1 (the one slow test:
the scoring server takes ~15 s to start)."""

import os
import signal
import socket
import subprocess
import time

import httpx
import numpy as np
import pytest

from trading_assets.ml import tracking
from trading_assets.ml.dataset import prepare
from trading_assets.ml.predictor import Predictor
from trading_assets.ml.serving import payload, serve_command, serve_env
from trading_assets.ml.splits import SplitConfig
from trading_assets.ml.training import TrainingConfig, train_all


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_champion_served_over_rest_matches_the_predictor(tmp_path, table_1h):
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    ds = prepare(table_1h, "1h", "fwd_ret_1")
    out = train_all(ds, TrainingConfig(families=("lightgbm",), split=SplitConfig(n_folds=2)))
    mv = tracking.log_family(
        out.results["lightgbm"], out, tracking_uri=uri, key="serve",
        input_version="v", artifact_location=str(tmp_path / "art"),
    )  # fmt: skip
    port = _free_port()
    env = serve_env(uri)
    proc = subprocess.Popen(
        serve_command(mv.name, port), env=env, start_new_session=True,
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
    )  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while True:
            if proc.poll() is not None:
                pytest.fail(f"mlflow models serve exited: {proc.stderr.read().decode()[-2000:]}")
            try:
                if httpx.get(f"{base}/ping", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                pytest.fail("mlflow models serve did not answer /ping within 120 s")
            time.sleep(0.5)
        rows = ds.frame.tail(20).select(ds.features)
        response = httpx.post(f"{base}/invocations", json=payload(rows), timeout=30)
        assert response.status_code == 200, response.text
        served = np.asarray(response.json()["predictions"], dtype=float)
        local = Predictor(mv.name, uri).predict_batch(rows)
        assert np.allclose(served, local)
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
