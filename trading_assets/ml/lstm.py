"""The LSTM family: Keras 3 on JAX's CPU backend (the optional extra ``lstm``).

Inputs are sequence windows: the prediction for bar ``t`` reads the features of the last
``window`` bars of its own series, ``t - window + 1 .. t`` (features are known at each bar's
close, so a window never looks ahead). The features are clipped to their 0.5%/99.5% training
quantiles, median-imputed and standardized with statistics of the training rows (the
scikit-learn families' preprocessing, applied to every bar of the window); the label is
standardized too.

Training (:func:`fit_lstm`): one ``LSTM(units)`` layer and a linear output, Adam on the mean
squared error, at most ``max_rows`` evenly spaced training windows, early stopping
(``patience`` epochs, best weights restored) on the newest ``validation_fraction`` of them by
bar time, at most ``epochs`` epochs. Deterministic for a ``seed``: the initial weights come from
seeded initializers and every fit starts from them with Keras' global seed set, so the same
rows and parameters give the same weights. A bar whose series has fewer than ``window``
bars up to it has no window: it is not trained on and not predicted (NaN), and a series
shorter than the window is named in :attr:`LstmModel.notes`.

Speed on 2 cores: importing Keras + JAX costs about 3-5 s once per process, and XLA compiles
the training step once per (window, features, units, batch) shape per process (about 1-2 s):
the network of a shape is built once and reset to its initial weights and optimizer state for
every fold. Prediction runs one jitted stateless call (``Model.stateless_call``) per padded
batch of windows (sizes :data:`BUCKETS`, so at most four compilations per shape); the newest
bar costs well under a millisecond after the first call.

Without the extra (``keras`` or ``jax`` not importable), fitting and predicting raise
:class:`~trading_assets.ml.errors.FamilyFailed` naming the extra to install; the training
pipeline then records the family as skipped.
"""

from __future__ import annotations

import json
import os
import sys
import threading
import warnings
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import polars as pl

from trading_assets.ml.dataset import Dataset
from trading_assets.ml.errors import FamilyFailed
from trading_assets.ml.newest_bar import BARS_NEEDED, is_fast, newest_features

FAMILY = "lstm"
EXTRA = "lstm"
INSTALL_HINT = (
    "the LSTM needs the optional extra `lstm` (keras, jax[cpu]): `uv sync --group lstm` "
    "(installed by default), or `pip install 'trading-assets[lstm]'`"
)
#: batch sizes one jitted call predicts: a batch is padded up to the next (the last one is
#: the largest chunk), so each network shape compiles at most four times
BUCKETS = (1, 16, 128, 1024)
CHUNK = BUCKETS[-1]

_lock = threading.RLock()
_training_nets: dict[tuple, Any] = {}
_inference_fns: dict[str, Any] = {}


def import_keras() -> Any:
    """The ``keras`` module on the JAX backend (``KERAS_BACKEND=jax`` is set when Keras is
    not imported yet).

    Raises:
        FamilyFailed: Keras or JAX cannot be imported (naming the extra), or Keras was
            already imported with another backend.
    """
    if "keras" not in sys.modules:
        os.environ["KERAS_BACKEND"] = "jax"
    try:
        import jax  # noqa: F401
        import keras
    except ImportError as exc:
        raise FamilyFailed(FAMILY, f"{exc.name or exc} is not installed: {INSTALL_HINT}") from exc
    backend = keras.backend.backend()
    if backend != "jax":
        raise FamilyFailed(
            FAMILY, f"Keras was imported with the {backend!r} backend; the LSTM runs on JAX"
        )
    return keras


def series_position(frame: pl.DataFrame) -> np.ndarray:
    """0-based position (int64, one per row) of each row in its symbol's series; ``frame``
    must be sorted by symbol, then ts (as :class:`~trading_assets.ml.dataset.Dataset` is)."""
    return frame.select(pl.int_range(pl.len()).over("symbol").alias("p"))["p"].to_numpy()


@dataclass
class Scaler:
    """Clip, impute and standardize in NumPy: the fitted preprocessing of the scikit-learn
    families as arrays (one float64 value per feature), applied to any ``(..., k)`` array."""

    low: np.ndarray
    high: np.ndarray
    fill: np.ndarray
    center: np.ndarray
    scale: np.ndarray

    @classmethod
    def fit(cls, x: np.ndarray) -> Scaler:
        """Statistics of the float64 matrix ``x`` ``(n, k)`` (NaN = missing)."""
        from trading_assets.ml.families import _preprocess

        pipe = _preprocess().fit(x)
        clip, impute, standard = (step for _, step in pipe.steps)
        return cls(clip.low_, clip.high_, impute.statistics_, standard.mean_, standard.scale_)

    def transform(self, x: np.ndarray) -> np.ndarray:
        """``x`` (float64, ``(..., k)``) clipped, NaN filled, standardized: float32."""
        clipped = np.clip(x, self.low, self.high)
        filled = np.where(np.isnan(clipped), self.fill, clipped)
        return ((filled - self.center) / self.scale).astype(np.float32)


def _architecture(window: int, n_features: int, units: int, seed: int) -> dict[str, Any]:
    return {"window": window, "n_features": n_features, "units": units, "seed": seed}


def _build(keras: Any, arch: Mapping[str, Any]) -> Any:
    seed = int(arch["seed"])
    init = keras.initializers
    return keras.Sequential(
        [
            keras.Input((int(arch["window"]), int(arch["n_features"]))),
            keras.layers.LSTM(
                int(arch["units"]),
                kernel_initializer=init.GlorotUniform(seed=seed),
                recurrent_initializer=init.Orthogonal(seed=seed + 1),
            ),
            keras.layers.Dense(1, kernel_initializer=init.GlorotUniform(seed=seed + 2)),
        ]
    )


@dataclass
class _TrainingNet:
    """A compiled network of one shape and its initial state, reused by every fit."""

    net: Any
    weights: list[np.ndarray]
    optimizer: list[np.ndarray]

    def reset(self) -> None:
        self.net.set_weights(self.weights)
        for variable, value in zip(self.net.optimizer.variables, self.optimizer, strict=True):
            variable.assign(value)


def _training_net(
    keras: Any, arch: Mapping[str, Any], learning_rate: float, batch: int
) -> _TrainingNet:
    """The compiled network of ``arch`` (built once per process): a warm-up fit on one batch
    of zeros (with validation) compiles the steps and runs Keras' lazy set-up, so that every
    real fit, the first included, draws the same shuffles from the seed."""
    key = (json.dumps(dict(arch), sort_keys=True), learning_rate, batch)
    if key not in _training_nets:
        net = _build(keras, arch)
        net.compile(optimizer=keras.optimizers.Adam(learning_rate), loss="mean_squared_error")
        net.optimizer.build(net.trainable_variables)
        state = _TrainingNet(
            net,
            [np.array(v.value) for v in net.weights],
            [np.array(v.value) for v in net.optimizer.variables],
        )
        x = np.zeros((batch, int(arch["window"]), int(arch["n_features"])), dtype=np.float32)
        y = np.zeros(batch, dtype=np.float32)
        net.fit(x, y, batch_size=batch, epochs=1, verbose=0, validation_data=(x, y))
        _training_nets[key] = state
    return _training_nets[key]


def _inference_fn(arch: Mapping[str, Any]) -> tuple[Any, Any]:
    """``(non-trainable state, jitted f(trainable, non_trainable, x) -> (n, 1))`` of one
    architecture (the non-trainable state is a seed generator's, unused without dropout)."""
    key = json.dumps(dict(arch), sort_keys=True)
    if key not in _inference_fns:
        keras = import_keras()
        import jax

        net = _build(keras, arch)

        def forward(trainable: Any, non_trainable: Any, x: Any) -> Any:
            return net.stateless_call(trainable, non_trainable, x, training=False)[0]

        state = [np.array(v.value) for v in net.non_trainable_variables]
        _inference_fns[key] = (state, jax.jit(forward))
    return _inference_fns[key]


@dataclass
class LstmModel:
    """A fitted LSTM (see the module docstring); picklable without Keras (weights as arrays).

    Attributes:
        features: feature columns, in the order of the windows' last axis.
        window: bars per window.
        horizon: bars ahead of the label (for reference).
        scaler: the features' fitted preprocessing.
        label_center / label_scale: the label's standardization (log-return units).
        architecture: ``window, n_features, units, seed``.
        weights: the network's trainable weights (float32 arrays, Keras order).
        notes: what the final fit left out (series shorter than the window).
        epochs: epochs run by the final fit (early stopping included).
    """

    features: tuple[str, ...]
    window: int
    horizon: int
    scaler: Scaler
    label_center: float
    label_scale: float
    architecture: dict[str, Any]
    weights: list[np.ndarray]
    notes: list[str] = field(default_factory=list)
    epochs: int = 0
    family: str = FAMILY
    _device: Any = field(default=None, repr=False, compare=False)

    def __getstate__(self) -> dict[str, Any]:
        state = dict(self.__dict__)
        state["_device"] = None
        return state

    @property
    def input_columns(self) -> tuple[str, ...]:
        """Columns :meth:`predict_frame` reads: ``symbol`` and the features."""
        return ("symbol", *self.features)

    @property
    def fast(self) -> bool:
        """Whether the newest-bar fast path computes every input of this model."""
        return is_fast(self.features)

    @property
    def bars_needed(self) -> int:
        """Bars of one series the newest-bar path needs: a window of feature rows."""
        return BARS_NEEDED + self.window - 1

    def _weights_on_device(self) -> Any:
        if self._device is None:
            import jax.numpy as jnp

            self._device = [jnp.asarray(w) for w in self.weights]
        return self._device

    def predict_windows(self, windows: np.ndarray) -> np.ndarray:
        """Predictions (float64 log returns, ``(n,)``) of scaled windows (float32, ``(n,
        window, k)``), in batches of at most :data:`CHUNK`, each padded to a size of
        :data:`BUCKETS`.

        Raises:
            FamilyFailed: Keras/JAX missing (names the extra).
        """
        n = windows.shape[0]
        if n == 0:
            return np.zeros(0)
        with _lock:
            state, forward = _inference_fn(self.architecture)
            weights = self._weights_on_device()
        out = np.empty(n)
        for start in range(0, n, CHUNK):
            part = windows[start : start + CHUNK]
            size = next(b for b in BUCKETS if b >= part.shape[0])
            if size != part.shape[0]:
                pad = np.zeros((size - part.shape[0], *part.shape[1:]), dtype=np.float32)
                part = np.concatenate([part, pad])
            raw = np.asarray(forward(weights, state, part), dtype=np.float64)[:, 0]
            out[start : start + min(CHUNK, n - start)] = raw[: min(CHUNK, n - start)]
        return out * self.label_scale + self.label_center

    def _series_predictions(self, x: np.ndarray, position: np.ndarray) -> np.ndarray:
        """Predictions for each row of the feature matrix ``x`` (rows of series in time
        order, ``position`` each row's place in its series); NaN without a full window."""
        out = np.full(x.shape[0], np.nan)
        ok = np.flatnonzero(position >= self.window - 1)
        if ok.size:
            out[ok] = self._predict_ending_at(self.scaler.transform(x), ok)
        return out

    def _windows(self, scaled: np.ndarray, ends: np.ndarray) -> np.ndarray:
        """Windows (float32, ``(len(ends), window, k)``) of the scaled matrix ending at the
        rows ``ends`` (each at least ``window - 1``)."""
        view = np.lib.stride_tricks.sliding_window_view(scaled, self.window, axis=0)
        return np.ascontiguousarray(view[ends - self.window + 1].transpose(0, 2, 1))

    def _predict_ending_at(self, scaled: np.ndarray, ends: np.ndarray) -> np.ndarray:
        """Predictions of the windows ending at ``ends``, built :data:`CHUNK` at a time (the
        windows of a long series never sit in memory at once)."""
        parts = [
            self.predict_windows(self._windows(scaled, ends[i : i + CHUNK]))
            for i in range(0, ends.size, CHUNK)
        ]
        return np.concatenate(parts) if parts else np.zeros(0)

    def predict_frame(self, frame: pl.DataFrame) -> np.ndarray:
        """Predictions for rows of ``symbol`` + :attr:`features` (nulls as NaN), each
        symbol's rows its series in time order: the prediction of a row reads the window
        ending at it; NaN for the first ``window - 1`` rows of each symbol."""
        indexed = frame.with_row_index("__row").sort("symbol", "__row", maintain_order=True)
        x = indexed.select(self.features).cast(pl.Float64).to_numpy()
        values = self._series_predictions(x, series_position(indexed))
        out = np.full(frame.height, np.nan)
        out[indexed["__row"].to_numpy()] = values
        return out

    def predictable_rows(self, dataset: Dataset, rows: np.ndarray) -> np.ndarray:
        """Which ``rows`` (int indices) have a full window in their series (bool mask)."""
        return series_position(dataset.frame)[rows] >= self.window - 1

    def predict_rows(self, dataset: Dataset, rows: np.ndarray) -> np.ndarray:
        """Predictions (float64, ``(len(rows),)``) for the dataset rows ``rows`` (int
        indices); NaN where :meth:`predictable_rows` is False."""
        out = np.full(rows.size, np.nan)
        ok = self.predictable_rows(dataset, rows)
        if ok.any():
            out[ok] = self._predict_ending_at(self.scaler.transform(dataset.matrix()), rows[ok])
        return out

    def scaled_windows(self, dataset: Dataset, rows: np.ndarray) -> np.ndarray:
        """Scaled windows (float32, ``(len(rows), window, k)``) ending at ``rows``, each of
        which must have a full window in its series."""
        return self._windows(self.scaler.transform(dataset.matrix()), rows)

    def predict_bars(self, o, h, lo, c, v, *, symbol: str | None = None) -> float:
        """Prediction for the newest of the OHLCV bars (float64 arrays of one series, oldest
        first, at least :attr:`bars_needed`): the fast-path features of each of the last
        ``window`` bars (:func:`~trading_assets.ml.newest_bar.newest_features`), scaled,
        one window.

        Raises:
            ValueError: too few bars, or a feature outside the fast set.
        """
        if c.shape[0] < self.bars_needed:
            raise ValueError(f"need {self.bars_needed} bars for the LSTM window, got {c.shape[0]}")
        rows = newest_features(o, h, lo, c, v, self.features, rows=self.window)
        window = self.scaler.transform(rows)[None, :, :]
        return float(self.predict_windows(window)[0])


def fit_lstm(dataset: Dataset, rows: np.ndarray, params: Mapping[str, Any]) -> LstmModel:
    """Fit an :class:`LstmModel` on the windows ending at ``rows`` of ``dataset``.

    Params: ``window``, ``units``, ``epochs``, ``batch_size``, ``learning_rate``,
    ``patience``, ``validation_fraction``, ``max_rows``, ``seed`` (see
    :data:`~trading_assets.ml.families.LSTM_DEFAULTS`).

    Raises:
        FamilyFailed: Keras/JAX missing (naming the extra), or no row has a full window
            (every series shorter than the window).
    """
    keras = import_keras()
    window, batch = int(params["window"]), int(params["batch_size"])
    seed = int(params["seed"])
    position = series_position(dataset.frame)
    notes = _short_series(dataset, rows, position, window)
    rows = rows[position[rows] >= window - 1]
    if rows.size == 0:
        raise FamilyFailed(FAMILY, "every series is shorter than the window: " + "; ".join(notes))
    max_rows = params.get("max_rows")
    if max_rows and rows.size > int(max_rows):
        rows = rows[np.linspace(0, rows.size - 1, int(max_rows)).round().astype(int)]
    rows = rows[np.argsort(dataset.frame["ts"].to_numpy()[rows], kind="stable")]
    n_val = int(rows.size * float(params["validation_fraction"])) // batch * batch
    train, val = rows[: rows.size - n_val], rows[rows.size - n_val :]
    if train.size >= batch:
        train = train[train.size % batch :]  # whole batches: one compiled step shape
    scaler = Scaler.fit(dataset.matrix(train))
    labels = dataset.labels(train)
    center, spread = float(labels.mean()), float(labels.std()) or 1.0
    arch = _architecture(window, len(dataset.features), int(params["units"]), seed)
    model = LstmModel(
        dataset.features, window, dataset.horizon, scaler, center, spread, arch, [], notes
    )

    def xy(part: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        y = ((dataset.labels(part) - center) / spread).astype(np.float32)
        return model.scaled_windows(dataset, part), y

    x_train, y_train = xy(train)
    fit_args: dict[str, Any] = {}
    if val.size:
        fit_args["validation_data"] = xy(val)
        fit_args["callbacks"] = [
            keras.callbacks.EarlyStopping(
                patience=int(params["patience"]), restore_best_weights=True
            )
        ]
    with _lock:
        state = _training_net(keras, arch, float(params["learning_rate"]), batch)
        state.reset()
        keras.utils.set_random_seed(seed)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            history = state.net.fit(
                x_train, y_train, batch_size=batch, epochs=int(params["epochs"]), shuffle=True,
                verbose=0, **fit_args,
            )  # fmt: skip
        model.weights = [np.array(v.value) for v in state.net.trainable_variables]
    model.epochs = len(history.history.get("loss", []))
    return model


def _short_series(
    dataset: Dataset, rows: np.ndarray, position: np.ndarray, window: int
) -> list[str]:
    """One note per symbol of ``rows`` whose series has fewer than ``window`` rows."""
    frame = dataset.frame[rows].with_columns(pl.Series("p", position[rows]))
    per = frame.group_by("symbol", maintain_order=True).agg(pl.col("p").max() + 1)
    return [
        f"{symbol}: {n} bar(s), shorter than the LSTM window of {window}: series skipped"
        for symbol, n in per.iter_rows()
        if n < window
    ]


__all__ = ["BUCKETS", "CHUNK", "EXTRA", "INSTALL_HINT", "LstmModel", "Scaler", "fit_lstm",
           "import_keras", "series_position"]  # fmt: skip
