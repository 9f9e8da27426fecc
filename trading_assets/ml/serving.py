"""REST serving of a champion with MLflow's own scoring server.

``mlflow models serve -m models:/<name>@champion --env-manager local -h 127.0.0.1 -p 5001``
(with ``MLFLOW_TRACKING_URI`` pointing at the store) serves the pyfunc model: ``GET /ping``
answers once it is up, ``POST /invocations`` takes :func:`payload` JSON (the model's input
columns) and answers ``{"predictions": [...]}`` (forward log returns).
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any

import polars as pl


def serve_command(
    name: str, port: int, host: str = "127.0.0.1", alias: str = "champion"
) -> list[str]:
    """The ``mlflow models serve`` command line for ``models:/<name>@<alias>`` in the current
    environment (``--env-manager local``); run it with ``MLFLOW_TRACKING_URI`` set."""
    mlflow_bin = Path(sys.executable).with_name("mlflow")
    exe = [str(mlflow_bin)] if mlflow_bin.exists() else [sys.executable, "-m", "mlflow"]
    return [
        *exe, "models", "serve", "-m", f"models:/{name}@{alias}", "--env-manager", "local",
        "-h", host, "-p", str(port),
    ]  # fmt: skip


def serve_env(tracking_uri: str, base: dict[str, str] | None = None) -> dict[str, str]:
    """Environment for :func:`serve_command`: the store's URI, and this interpreter's
    ``bin`` folder first on ``PATH`` (MLflow execs ``uvicorn`` from there)."""
    env = dict(os.environ if base is None else base)
    env["MLFLOW_TRACKING_URI"] = env["MLFLOW_REGISTRY_URI"] = tracking_uri
    env["PATH"] = os.pathsep.join([str(Path(sys.executable).parent), env.get("PATH", "")])
    return env


def payload(frame: pl.DataFrame) -> dict[str, Any]:
    """The ``/invocations`` body (``dataframe_split``) for rows of the model's input columns;
    NaN/NULL become JSON null."""
    return {
        "dataframe_split": {
            "columns": frame.columns,
            "data": [list(r) for r in frame.fill_nan(None).iter_rows()],
        }
    }


__all__ = ["payload", "serve_command", "serve_env"]
