"""Serve a registered model's champion: loaded once, cached, hot-swapped when the alias moves.

``Predictor("fwd_ret_1-1h-lightgbm", tracking_uri)`` resolves ``models:/<name>@champion`` to a
version, downloads that version's artifacts once and unpickles the fitted model (the native
LightGBM booster or scikit-learn estimator, no pyfunc layer in the way). It re-resolves the
alias at most every ``refresh_seconds`` (or on :meth:`Predictor.refresh`), one registry
query; when the alias points at another version, that version is loaded and served from then
on, without restarting anything.

- :meth:`Predictor.predict_batch`: a Polars frame of the model's input columns -> predictions.
- :meth:`Predictor.predict_newest_bar`: the last bars of one series (``open, high, low,
  close, volume`` in ts order, at least :data:`~trading_assets.ml.newest_bar.BARS_NEEDED`;
  the LSTM needs ``window - 1`` more, its ``bars_needed``) -> the prediction for the newest
  bar (features of that bar only + predict; for the LSTM the features of each bar of its
  window). Models on features outside the fast set compute Alpha158 over the tail instead
  (slower).
Predictions are forward log returns over the model's target horizon, made at the newest bar's
close.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl

from trading_assets.ml.newest_bar import BARS_NEEDED, arrays


@dataclass(frozen=True)
class Loaded:
    """The model being served: registered ``version`` and the fitted ``model``."""

    version: str
    model: Any
    load_seconds: float


def fitted_artifact(tracking_uri: str, name: str, version: str) -> Path:
    """The pickled fitted model file of ``models:/<name>/<version>``, downloaded to a local
    temp folder (imports MLflow)."""
    from trading_assets import mlflow_store

    mlflow_store.client(tracking_uri)
    import mlflow.artifacts

    from trading_assets.ml.pyfunc import FITTED_ARTIFACT

    local = Path(mlflow.artifacts.download_artifacts(f"models:/{name}/{version}"))
    return local / "artifacts" / f"{FITTED_ARTIFACT}.pkl"


def load_version(tracking_uri: str, name: str, version: str) -> Any:
    """The fitted model of ``models:/<name>/<version>`` (download + unpickle)."""
    from trading_assets.ml.pyfunc import load_fitted

    return load_fitted(str(fitted_artifact(tracking_uri, name, version)))


class Predictor:
    """The cached champion of one registered model (see the module docstring).

    Args:
        name: registered model name, e.g. ``fwd_ret_1-1h-lightgbm``.
        tracking_uri: MLflow tracking/registry URI.
        alias: the alias served (default ``champion``).
        refresh_seconds: re-resolve the alias at most this often (0: on every call).

    Raises:
        mlflow.exceptions.MlflowException: on first use, when the alias does not exist.
    """

    def __init__(
        self, name: str, tracking_uri: str, alias: str = "champion", refresh_seconds: float = 30.0
    ) -> None:
        self.name = name
        self.tracking_uri = tracking_uri
        self.alias = alias
        self.refresh_seconds = refresh_seconds
        self._loaded: Loaded | None = None
        self._checked = 0.0
        self._lock = threading.Lock()
        self._cache: dict[str, Any] = {}
        self._client: Any = None

    def _resolve(self) -> str:
        if self._client is None:
            from trading_assets import mlflow_store

            self._client = mlflow_store.client(self.tracking_uri)
        return str(self._client.get_model_version_by_alias(self.name, self.alias).version)

    def refresh(self, force: bool = True) -> Loaded:
        """Re-resolve the alias (if ``force`` or ``refresh_seconds`` have passed) and load the
        version it points at if that is not the one served. Returns what is served now."""
        now = time.monotonic()
        loaded = self._loaded
        if loaded is not None and not force and now - self._checked < self.refresh_seconds:
            return loaded
        with self._lock:
            version = self._resolve()
            self._checked = time.monotonic()
            if self._loaded is None or self._loaded.version != version:
                started = time.perf_counter()
                model = self._cache.get(version) or load_version(
                    self.tracking_uri, self.name, version
                )
                self._cache[version] = model
                self._loaded = Loaded(version, model, time.perf_counter() - started)
            return self._loaded

    @property
    def loaded(self) -> Loaded:
        """What is served (checking the alias when due)."""
        return self.refresh(force=False)

    @property
    def version(self) -> str:
        return self.loaded.version

    def predict_batch(self, frame: pl.DataFrame) -> np.ndarray:
        """Predictions (float64, one per row) of a frame holding the model's input columns
        (``model.input_columns``: the features for LightGBM/SVM/MLP)."""
        return self.loaded.model.predict_frame(frame)

    def predict_matrix(self, x: np.ndarray) -> np.ndarray:
        """Predictions of a float64 feature matrix (tabular families only)."""
        return self.loaded.model.predict_matrix(x)

    def predict_newest_bar(
        self, bars: pl.DataFrame | tuple[np.ndarray, ...], symbol: str = ""
    ) -> float:
        """The prediction for the newest bar of ``bars`` (one series, ts order): a frame with
        ``open, high, low, close, volume`` or those five float64 arrays.

        Raises:
            ValueError: fewer than :data:`BARS_NEEDED` bars (the model's ``bars_needed``).
            FamilyFailed: the model's library is missing (the LSTM's optional extra).
        """
        model = self.loaded.model
        if isinstance(bars, pl.DataFrame):
            needed = getattr(model, "bars_needed", BARS_NEEDED)
            if bars.height < needed:
                raise ValueError(f"need {needed} bars for the newest-bar features")
            if not getattr(model, "fast", True):
                return self._slow_newest(model, bars, symbol, needed)
            bars = arrays(bars, needed) if model.family != "arima" else _closes(bars)
        return model.predict_bars(*bars, symbol=symbol or None)

    @staticmethod
    def _slow_newest(model: Any, bars: pl.DataFrame, symbol: str, needed: int) -> float:
        if model.family == "arima":
            return model.predict_bars(*_closes(bars), symbol=symbol or None)
        from trading_assets.features.alpha158 import alpha158

        frame = bars.tail(needed)
        if "symbol" not in frame.columns:
            frame = frame.with_columns(
                pl.lit(symbol).alias("symbol"), pl.lit("").alias("timeframe")
            )
        rows = alpha158(frame).tail(getattr(model, "window", 1))
        return float(model.predict_frame(rows)[-1])


def _closes(bars: pl.DataFrame) -> tuple[np.ndarray, ...]:
    close = bars["close"].cast(pl.Float64).to_numpy()
    return (close, close, close, close, close)


__all__ = ["Loaded", "Predictor", "fitted_artifact", "load_version"]
