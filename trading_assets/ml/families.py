"""The model families, configured rather than copy-pasted.

Every family is a :class:`Family`: a name, default parameters, and ``fit(dataset, rows,
params) -> model``. A fitted model predicts rows of a :class:`~trading_assets.ml.dataset.Dataset`
(``predict_rows``) and the newest bar of a series (``predict_bars``); it is a plain picklable
object, so MLflow's pyfunc wrapper and the fast :class:`~trading_assets.ml.predictor.Predictor`
share it.

=================  ==========================================================================
lightgbm           LightGBM gradient-boosted trees (native ``Booster``), NaN-aware
svm                scikit-learn SVR (RBF) on clipped (0.5%/99.5% training quantiles),
                   median-imputed, standardized features and a
                   standardized label; trained on at most ``max_rows`` evenly spaced rows
mlp                scikit-learn MLPRegressor, same preprocessing, early stopping
lstm               Keras 3 LSTM on JAX's CPU backend over windows of the last ``window``
                   bars of features (:mod:`.lstm`; optional extra ``lstm``)
arima              statsmodels SARIMAX on each symbol's 1-bar log returns, fitted once per
                   fold on the training rows and run forward with the fitted parameters for
                   forecasts from every bar, never refitted per bar: one step ahead for
                   ``fwd_ret_1``; for ``fwd_ret_h`` the 1..h-step forecasts summed to the h-bar
                   log return
svc                scikit-learn SVC (RBF) on direction labels ``dir_h``: the SVR's
                   preprocessing and subsample, Platt-calibrated (sigmoid) on the most recent
                   ``calibration_fraction`` of its training rows, held out of the SVC fit;
                   predicts ``P(up) - P(down)``
zero               predicts 0 (no change)
last               predicts the last known h-bar return (momentum)
moving_average     predicts the mean of the last ``window`` known h-bar returns
=================  ==========================================================================

Each family trains the targets of its task (:attr:`Family.tasks`): forward returns
(``regression``) or directions (``classification``: ``svc``).

Errors: :class:`~trading_assets.ml.errors.FamilyFailed` naming the family (a fit that raised,
with ``strict_convergence`` a convergence warning, or a missing optional library naming the
extra to install). Heavy libraries are imported inside the functions.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import polars as pl

from trading_assets.ml.dataset import CLASSIFICATION, REGRESSION, Dataset
from trading_assets.ml.errors import FamilyFailed
from trading_assets.ml.newest_bar import is_fast, newest_features

BASELINES = ("zero", "last", "moving_average")


# ---------------------------------------------------------------- fitted models


@dataclass
class TabularModel:
    """A model of the features of one bar: LightGBM booster or a scikit-learn estimator.

    Attributes:
        family: family name.
        features: feature columns, in the order of the matrix.
        estimator: ``lightgbm.Booster`` or a fitted scikit-learn regressor.
    """

    family: str
    features: tuple[str, ...]
    estimator: Any

    def predict_matrix(self, x: np.ndarray) -> np.ndarray:
        """Predictions (float64, shape ``(n,)``) of a float64 matrix ``(n, len(features))``."""
        if self.family == "lightgbm":
            # one thread for a few rows: waking an OpenMP team costs more than the trees
            threads = 1 if x.shape[0] <= 256 else 0
            return np.asarray(self.estimator.predict(x, num_threads=threads), dtype=np.float64)
        return np.asarray(self.estimator.predict(x), dtype=np.float64).reshape(-1)

    @property
    def input_columns(self) -> tuple[str, ...]:
        """Columns :meth:`predict_frame` reads, in order."""
        return self.features

    def predict_frame(self, frame: pl.DataFrame) -> np.ndarray:
        """Predictions of rows holding :attr:`input_columns` (nulls as NaN)."""
        x = frame.select(self.features).cast(pl.Float64).to_numpy()  # NULL -> NaN
        return self.predict_matrix(np.ascontiguousarray(x))

    def predict_rows(self, dataset: Dataset, rows: np.ndarray) -> np.ndarray:
        """Predictions (float64, ``(len(rows),)``) for the dataset rows ``rows`` (int indices)."""
        return self.predict_matrix(dataset.matrix(rows))

    def predict_bars(self, o, h, lo, c, v, *, symbol: str | None = None) -> float:
        """Prediction for the newest of the given bars (see :mod:`.newest_bar`)."""
        return float(self.predict_matrix(newest_features(o, h, lo, c, v, self.features))[0])

    @property
    def fast(self) -> bool:
        """Whether the newest-bar fast path computes every input of this model."""
        return is_fast(self.features)


@dataclass
class DirectionModel(TabularModel):
    """A calibrated direction classifier of the features of one bar (``svc``): predicts the
    signed probability ``P(up) - P(down)`` (float64 in [-1, 1]); ``estimator`` is a fitted
    scikit-learn classifier of ``up`` (bool) with ``predict_proba``."""

    def predict_matrix(self, x: np.ndarray) -> np.ndarray:
        """Signed probabilities (float64, shape ``(n,)``) of a float64 matrix
        ``(n, len(features))``."""
        proba = self.estimator.predict_proba(x)
        up = proba[:, list(self.estimator.classes_).index(True)]
        return 2.0 * np.asarray(up, dtype=np.float64) - 1.0


@dataclass
class BaselineModel:
    """A naive baseline: ``zero``, ``last`` or ``moving_average`` (``window`` bars)."""

    family: str
    horizon: int
    window: int = 20
    features: tuple[str, ...] = ()

    @property
    def input_columns(self) -> tuple[str, ...]:
        """Columns :meth:`predict_frame` reads, in order."""
        return ("known_ret", "known_ma")

    def predict_frame(self, frame: pl.DataFrame) -> np.ndarray:
        """Predictions from the known-return columns (see :mod:`.dataset`)."""
        if self.family == "zero":
            return np.zeros(frame.height)
        column = "known_ret" if self.family == "last" else "known_ma"
        return frame[column].cast(pl.Float64).fill_null(0.0).to_numpy()

    def predict_rows(self, dataset: Dataset, rows: np.ndarray) -> np.ndarray:
        """Predictions (float64, ``(len(rows),)``) for the dataset rows ``rows`` (int indices)."""
        return self.predict_frame(dataset.frame[rows])

    def predict_bars(self, o, h, lo, c, v, *, symbol: str | None = None) -> float:
        """Prediction for the newest of the OHLCV bars (quote currency, oldest first)."""
        if self.family == "zero":
            return 0.0
        logc = np.log(np.asarray(c, dtype=np.float64))
        known = logc[self.horizon :] - logc[: -self.horizon]
        if self.family == "last":
            return float(known[-1])
        return float(known[-self.window :].mean())

    fast = True


@dataclass
class ArimaModel:
    """Per-symbol SARIMAX parameters on 1-bar log returns (``order`` = (p, d, q)).

    ``params`` maps symbol -> fitted parameter vector; a symbol without its own fit uses the
    mean of all symbols' parameters. ``horizon``: bars summed by a forecast (the target's h).
    """

    order: tuple[int, int, int]
    params: dict[str, np.ndarray]
    history: int = 500
    family: str = "arima"
    features: tuple[str, ...] = ()
    horizon: int = 1
    fast = False

    def _params(self, symbol: str) -> np.ndarray:
        if symbol in self.params:
            return self.params[symbol]
        return np.mean(np.stack(list(self.params.values())), axis=0)

    def prepare(self) -> None:
        """Import what :meth:`one_step` needs (statsmodels' state space models), ahead of
        the first prediction (a warm process does it while nothing waits)."""
        from statsmodels.tsa.statespace.sarimax import SARIMAX  # noqa: F401

    def one_step(self, returns: np.ndarray, symbol: str) -> np.ndarray:
        """Forecast of the h-bar log return after each element of ``returns`` (1-bar log
        returns, float64, oldest first; same length out), each from the returns up to and
        including it, with fixed parameters: the sum of the 1..h-step-ahead forecasts."""
        from statsmodels.tsa.statespace.sarimax import SARIMAX

        model = SARIMAX(returns, order=self.order, trend="c")
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            res = model.filter(self._params(symbol))
        if self.horizon == 1:
            ahead = res.predict(start=1, end=len(returns))  # index t+1 from data up to t
            return np.asarray(ahead, dtype=np.float64)
        return multi_step_sum(model, res, self.horizon)

    @property
    def input_columns(self) -> tuple[str, ...]:
        """Columns :meth:`predict_frame` reads, in order."""
        return ("symbol", "ret_1")

    def predict_frame(self, frame: pl.DataFrame) -> np.ndarray:
        """One-step-ahead forecasts for rows of ``symbol, ret_1`` (each symbol's rows its
        return history in time order): the row's forecast is for the bar after it."""
        out = np.full(frame.height, np.nan)
        indexed = frame.with_row_index("__row")
        for (symbol,), part in indexed.group_by("symbol", maintain_order=True):
            ahead = self.one_step(part["ret_1"].cast(pl.Float64).to_numpy(), str(symbol))
            out[part["__row"].to_numpy()] = ahead
        return out

    def predict_rows(self, dataset: Dataset, rows: np.ndarray) -> np.ndarray:
        """Predictions (float64, ``(len(rows),)``) for the dataset rows ``rows`` (int indices)."""
        out = np.full(rows.size, np.nan)
        frame = dataset.frame.with_row_index("__row")
        wanted = set(rows.tolist())
        position = {r: i for i, r in enumerate(rows.tolist())}
        last = int(rows.max()) if rows.size else -1
        for (symbol,), part in frame.filter(frame["__row"] <= last).group_by(
            "symbol", maintain_order=True
        ):
            index = part["__row"].to_numpy()
            if not wanted.intersection(index.tolist()):
                continue
            ahead = self.one_step(part["ret_1"].to_numpy(), str(symbol))
            for i, r in enumerate(index.tolist()):
                if r in wanted:
                    out[position[r]] = ahead[i]
        return out

    def predict_bars(self, o, h, lo, c, v, *, symbol: str | None = None) -> float:
        """Prediction for the newest of the OHLCV bars (quote currency, oldest first)."""
        logc = np.log(np.asarray(c, dtype=np.float64))
        return float(self.one_step(np.diff(logc)[-self.history :], symbol or "")[-1])


def multi_step_sum(model: Any, res: Any, horizon: int) -> np.ndarray:
    """Sum of the 1..``horizon``-step-ahead forecasts from every observation of a filtered
    time-invariant state-space model (``model.filter(params)`` = ``res``), float64 ``(n,)``.

    From the one-step predicted states ``a[t+1|t]``, the k-step forecasts follow the state
    equation with no new data: ``a[t+k+1|t] = T a[t+k|t] + c`` and ``y[t+k|t] = d + Z
    a[t+k|t]`` (the same recursion statsmodels' ``forecast`` runs, for every t at once).
    """
    ssm = model.ssm
    design = np.asarray(ssm["design"], dtype=np.float64).reshape(ssm.k_endog, ssm.k_states, -1)
    transition = np.asarray(ssm["transition"], dtype=np.float64).reshape(
        ssm.k_states, ssm.k_states, -1
    )
    obs = np.asarray(ssm["obs_intercept"], dtype=np.float64).reshape(ssm.k_endog, -1)[0, -1]
    state = np.asarray(ssm["state_intercept"], dtype=np.float64).reshape(ssm.k_states, -1)
    z, t, c = design[0, :, -1], transition[:, :, -1], state[:, -1:]
    a = np.asarray(res.filter_results.predicted_state, dtype=np.float64)[:, 1:]  # a[t+1|t]
    total = np.zeros(a.shape[1])
    for _ in range(horizon):
        total += obs + z @ a
        a = t @ a + c
    return total


# ---------------------------------------------------------------- fitting


def _even_subsample(rows: np.ndarray, max_rows: int | None) -> np.ndarray:
    if not max_rows or rows.size <= max_rows:
        return rows
    return rows[np.linspace(0, rows.size - 1, max_rows).round().astype(int)]


def _convergence(family: str, caught: list, strict: bool) -> None:
    messages = [str(w.message) for w in caught if "converg" in str(w.message).lower()]
    if messages and strict:
        raise FamilyFailed(family, f"did not converge: {messages[0][:200]}")


def _fit_lightgbm(dataset: Dataset, rows: np.ndarray, params: Mapping[str, Any]) -> TabularModel:
    import lightgbm as lgb

    p = dict(params)
    rounds = int(p.pop("num_boost_round"))
    train = lgb.Dataset(
        dataset.matrix(rows), dataset.labels(rows), feature_name=list(dataset.features),
        free_raw_data=True,
    )  # fmt: skip
    booster = lgb.train(p, train, num_boost_round=rounds)
    return TabularModel("lightgbm", dataset.features, booster)


class QuantileClipper:
    """Clip each column to its ``[q, 1 - q]`` training quantiles (NaN ignored, kept).

    Alpha158 ratios explode where volume is 0 (``VMA``/``VSTD`` divide by ``volume + 1e-12``);
    scaled values of 1e12 would make a neural net extrapolate without bound. A scikit-learn
    style transformer (``fit``/``transform``), picklable.
    """

    def __init__(self, q: float = 0.005) -> None:
        self.q = q

    def fit(self, x: np.ndarray, y: Any = None) -> QuantileClipper:
        """Fit on the float64 matrix ``x`` ``(n, k)`` and target ``y`` ``(n,)``; returns self."""
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # all-NaN columns
            self.low_ = np.nanquantile(x, self.q, axis=0)
            self.high_ = np.nanquantile(x, 1 - self.q, axis=0)
        return self

    def transform(self, x: np.ndarray) -> np.ndarray:
        """``x`` clipped to the quantiles seen in :meth:`fit` (same shape, float64)."""
        return np.clip(x, self.low_, self.high_)

    def fit_transform(self, x: np.ndarray, y: Any = None) -> np.ndarray:
        return self.fit(x).transform(x)

    def get_params(self, deep: bool = True) -> dict[str, Any]:
        return {"q": self.q}

    def set_params(self, **params: Any) -> QuantileClipper:
        self.q = params.get("q", self.q)
        return self


def _preprocess(*steps: Any) -> Any:
    """Clip to the training quantiles, impute medians, standardize, then ``steps``."""
    from sklearn.impute import SimpleImputer
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    return make_pipeline(
        QuantileClipper(),
        SimpleImputer(strategy="median", keep_empty_features=True),
        StandardScaler(),
        *steps,
    )


def _sklearn_pipeline(regressor: Any) -> Any:
    from sklearn.compose import TransformedTargetRegressor
    from sklearn.preprocessing import StandardScaler

    return TransformedTargetRegressor(
        regressor=_preprocess(regressor), transformer=StandardScaler()
    )


def _fit_sklearn(family: str, make: Callable[[dict], Any]):
    def fit(dataset: Dataset, rows: np.ndarray, params: Mapping[str, Any]) -> TabularModel:
        """Fit on the float64 matrix ``x`` ``(n, k)`` and target ``y`` ``(n,)``; returns self."""
        p = dict(params)
        strict = bool(p.pop("strict_convergence", False))
        rows = _even_subsample(rows, p.pop("max_rows", None))
        estimator = _sklearn_pipeline(make(p))
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            estimator.fit(dataset.matrix(rows), dataset.labels(rows))
        _convergence(family, caught, strict)
        return TabularModel(family, dataset.features, estimator)

    return fit


def _svr(p: dict) -> Any:
    from sklearn.svm import SVR

    return SVR(**p)


def _mlp(p: dict) -> Any:
    from sklearn.neural_network import MLPRegressor

    p["hidden_layer_sizes"] = tuple(p.get("hidden_layer_sizes", (32, 16)))
    return MLPRegressor(**p)


def _fit_svc(dataset: Dataset, rows: np.ndarray, params: Mapping[str, Any]) -> DirectionModel:
    """SVC on ``up = label > 0`` of at most ``max_rows`` evenly spaced rows; the newest
    ``calibration_fraction`` of them (by bar time) calibrate its probabilities (Platt)."""
    from sklearn.calibration import CalibratedClassifierCV
    from sklearn.frozen import FrozenEstimator
    from sklearn.svm import SVC

    p = dict(params)
    strict = bool(p.pop("strict_convergence", False))
    share = float(p.pop("calibration_fraction"))
    method = str(p.pop("calibration"))
    rows = _even_subsample(rows, p.pop("max_rows", None))
    rows = rows[np.argsort(dataset.frame["ts"].to_numpy()[rows], kind="stable")]
    n_cal = int(rows.size * share)
    fit_rows, cal_rows = rows[: rows.size - n_cal], rows[rows.size - n_cal :]
    up_fit, up_cal = dataset.labels(fit_rows) > 0, dataset.labels(cal_rows) > 0
    for name, part in (("fit", up_fit), ("calibration", up_cal)):
        if part.size == 0 or part.all() or not part.any():
            raise FamilyFailed("svc", f"the {name} rows hold one direction only ({part.size})")
    pipeline = _preprocess(SVC(**p))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        pipeline.fit(dataset.matrix(fit_rows), up_fit)
        calibrated = CalibratedClassifierCV(FrozenEstimator(pipeline), method=method)
        calibrated.fit(dataset.matrix(cal_rows), up_cal)
    _convergence("svc", caught, strict)
    return DirectionModel("svc", dataset.features, calibrated)


def _fit_arima(dataset: Dataset, rows: np.ndarray, params: Mapping[str, Any]) -> ArimaModel:
    from statsmodels.tsa.statespace.sarimax import SARIMAX

    order = tuple(int(x) for x in params["order"])
    max_train = int(params["max_train"])
    strict = bool(params.get("strict_convergence", False))
    frame = dataset.frame[rows]
    fitted: dict[str, np.ndarray] = {}
    problems: list[str] = []
    for (symbol,), part in frame.group_by("symbol", maintain_order=True):
        returns = part["ret_1"].to_numpy()[-max_train:]
        if returns.size < 30 or returns.std() <= 1e-15:
            problems.append(f"{symbol}: {returns.size} returns, too few or constant")
            continue
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            res = SARIMAX(returns, order=order, trend="c").fit(
                disp=False, maxiter=int(params["maxiter"])
            )
        _convergence("arima", caught, strict)
        if not np.all(np.isfinite(res.params)):
            problems.append(f"{symbol}: non-finite parameters")
            continue
        fitted[str(symbol)] = np.asarray(res.params, dtype=np.float64)
    if not fitted:
        raise FamilyFailed("arima", "no symbol could be fitted: " + "; ".join(problems))
    return ArimaModel(order, fitted, history=int(params["history"]), horizon=dataset.horizon)


#: LSTM defaults: windows of 32 bars, one LSTM layer of 32 units, Adam, early stopping on
#: the newest ``validation_fraction`` of the training windows, at most ``max_rows`` windows
LSTM_DEFAULTS: dict[str, Any] = {
    "window": 32, "units": 32, "epochs": 10, "batch_size": 256, "learning_rate": 1e-3,
    "patience": 2, "validation_fraction": 0.1, "max_rows": 4096, "seed": 7,
}  # fmt: skip


def _fit_lstm(dataset: Dataset, rows: np.ndarray, params: Mapping[str, Any]) -> Any:
    from trading_assets.ml.lstm import fit_lstm

    return fit_lstm(dataset, rows, params)


def _fit_baseline(family: str):
    def fit(dataset: Dataset, rows: np.ndarray, params: Mapping[str, Any]) -> BaselineModel:
        """Fit on the float64 matrix ``x`` ``(n, k)`` and target ``y`` ``(n,)``; returns self."""
        return BaselineModel(family, dataset.horizon, int(params.get("window", 20)))

    return fit


@dataclass(frozen=True)
class Family:
    """One model family: its name, default parameters and fit function."""

    name: str
    defaults: dict[str, Any]
    fit_fn: Callable[[Dataset, np.ndarray, Mapping[str, Any]], Any] = field(repr=False)
    tasks: frozenset[str] = frozenset({REGRESSION})

    @property
    def baseline(self) -> bool:
        return self.name in BASELINES

    def trains(self, task: str) -> bool:
        """Whether this family trains datasets of ``task`` (regression or classification)."""
        return task in self.tasks

    def params(self, overrides: Mapping[str, Any] | None = None) -> dict[str, Any]:
        """The defaults updated by ``overrides``."""
        return {**self.defaults, **(overrides or {})}

    def fit(self, dataset: Dataset, rows: np.ndarray, params: Mapping[str, Any]) -> Any:
        """Fit on ``rows`` of ``dataset``.

        Raises:
            FamilyFailed: the fit raised or did not converge (strict), naming the family.
        """
        try:
            return self.fit_fn(dataset, rows, params)
        except FamilyFailed:
            raise
        except Exception as exc:  # noqa: BLE001 - any library error becomes a recorded skip
            raise FamilyFailed(self.name, f"{type(exc).__name__}: {exc}") from exc


FAMILIES: dict[str, Family] = {
    f.name: f
    for f in (
        Family(
            "lightgbm",
            {
                "objective": "regression",
                "learning_rate": 0.05,
                "num_leaves": 15,
                "min_data_in_leaf": 50,
                "feature_fraction": 0.8,
                "bagging_fraction": 0.8,
                "bagging_freq": 1,
                "lambda_l2": 1.0,
                "num_boost_round": 100,
                "seed": 7,
                "num_threads": 1,
                "verbosity": -1,
            },
            _fit_lightgbm,
        ),  # fmt: skip
        Family(
            "svm",
            {"kernel": "rbf", "C": 1.0, "epsilon": 0.1, "gamma": "scale", "max_rows": 2000},
            _fit_sklearn("svm", _svr),
        ),
        Family(
            "mlp",
            {
                "hidden_layer_sizes": [32, 16],
                "alpha": 1e-3,
                "learning_rate_init": 1e-3,
                "max_iter": 100,
                "early_stopping": True,
                "n_iter_no_change": 8,
                "random_state": 7,
                "max_rows": 10000,
            },
            _fit_sklearn("mlp", _mlp),
        ),  # fmt: skip
        Family("lstm", LSTM_DEFAULTS, _fit_lstm),
        Family(
            "arima",
            {"order": [1, 0, 0], "max_train": 1000, "maxiter": 25, "history": 500},
            _fit_arima,
        ),
        Family(
            "svc",
            {
                "kernel": "rbf",
                "C": 1.0,
                "gamma": "scale",
                "max_rows": 2000,
                "calibration_fraction": 0.2,
                "calibration": "sigmoid",
            },
            _fit_svc,
            frozenset({CLASSIFICATION}),
        ),  # fmt: skip
        Family("zero", {}, _fit_baseline("zero")),
        Family("last", {}, _fit_baseline("last")),
        Family("moving_average", {"window": 20}, _fit_baseline("moving_average")),
    )
}

#: Families trained only when named in the ``families`` config: the LSTM's Keras/JAX imports
#: (3-5 s per process) would sit on every newest-bar decision of a process that predicts with
#: it, and its training about doubles the main job's model time.
OPT_IN_FAMILIES: tuple[str, ...] = ("lstm",)
#: What ``ml/models`` trains by default: every family but :data:`OPT_IN_FAMILIES`.
DEFAULT_FAMILIES: tuple[str, ...] = tuple(f for f in FAMILIES if f not in OPT_IN_FAMILIES)


def feature_importance(model: Any, dataset: Dataset, rows: np.ndarray) -> dict[str, float]:
    """Importance per feature (LightGBM: total gain; scikit-learn: permutation importance on
    at most 200 of ``rows``, increase in MSE, or in log-loss for ``svc``); empty for families
    without per-bar features (baselines, ARIMA, the LSTM)."""
    if isinstance(model, TabularModel) and model.family == "lightgbm":
        gains = model.estimator.feature_importance(importance_type="gain")
        return {f: float(g) for f, g in zip(model.features, gains, strict=True)}
    if isinstance(model, TabularModel):
        from sklearn.inspection import permutation_importance

        rows = _even_subsample(rows, 200)
        labels = dataset.labels(rows)
        classifier = isinstance(model, DirectionModel)
        if classifier and np.unique(labels > 0).size < 2:
            return {}
        result = permutation_importance(
            model.estimator, dataset.matrix(rows), labels > 0 if classifier else labels,
            scoring="neg_log_loss" if classifier else "neg_mean_squared_error",
            n_repeats=1, random_state=7,
        )  # fmt: skip
        return {f: float(v) for f, v in zip(model.features, result.importances_mean, strict=True)}
    return {}


def contributions(model: TabularModel, x: np.ndarray, top: int = 3) -> tuple[np.ndarray, ...]:
    """LightGBM ``pred_contrib`` top contributions per row: ``(feature index, value,
    contribution)`` arrays of shape ``(n, top)``, ranked by absolute contribution."""
    contrib = np.asarray(model.estimator.predict(x, pred_contrib=True))[:, :-1]
    order = np.argsort(-np.abs(contrib), axis=1, kind="stable")[:, :top]
    rows = np.arange(x.shape[0])[:, None]
    return order, x[rows, order], contrib[rows, order]


def contribution_frame(
    model: TabularModel, x: np.ndarray, keys: pl.DataFrame, top: int = 3
) -> pl.DataFrame:
    """:func:`contributions` as rows: ``keys`` (one row per row of ``x``) repeated per rank,
    with ``rank`` (Int64, 1 = largest), ``feature``, ``value`` (the feature's value, NULL
    where NaN) and ``contribution`` (its share of the prediction, log-return units)."""
    index, value, contrib = contributions(model, x, top)
    names = np.asarray(model.features, dtype=object)
    return pl.concat(
        keys.with_columns(
            pl.lit(k + 1, dtype=pl.Int64).alias("rank"),
            pl.Series("feature", names[index[:, k]].tolist(), dtype=pl.String),
            pl.Series("value", value[:, k], dtype=pl.Float64).fill_nan(None),
            pl.Series("contribution", contrib[:, k], dtype=pl.Float64),
        )
        for k in range(index.shape[1])
    )


__all__ = ["ArimaModel", "BASELINES", "BaselineModel", "DEFAULT_FAMILIES", "DirectionModel",
           "OPT_IN_FAMILIES", "FAMILIES", "Family", "LSTM_DEFAULTS", "TabularModel",
           "contribution_frame", "contributions", "feature_importance",
           "multi_step_sum"]  # fmt: skip
