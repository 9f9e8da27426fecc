"""Real daily bars for the trading tests: Oracle 1995-2014 from ``../shared/data``, and
deterministic predictors written as ``ml.predictions`` rows."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest

from trading_assets.features.labels import labels
from trading_assets.features.regime import regime
from trading_assets.schemas import PREDICTIONS_SCHEMA
from trading_assets.sessions import bar_close_of

ORCL = "equities/daily/orcl-1995-2014.txt"


def read_daily(path) -> pl.DataFrame:
    """``symbol, timeframe, ts, open, high, low, close, volume`` of a Yahoo daily CSV."""
    raw = pl.read_csv(path, try_parse_dates=True)
    return raw.select(
        pl.lit("ORCL").alias("symbol"),
        pl.lit("1d").alias("timeframe"),
        pl.col("Date").cast(pl.Datetime("us")).dt.replace_time_zone("UTC").alias("ts"),
        *(pl.col(c).cast(pl.Float64).alias(c.lower()) for c in ("Open", "High", "Low", "Close")),
        pl.col("Volume").cast(pl.Float64).alias("volume"),
    ).sort("ts")


@pytest.fixture(scope="session")
def orcl(shared_data) -> pl.DataFrame:
    return read_daily(shared_data / ORCL)


@pytest.fixture(scope="session")
def orcl_labels(orcl) -> pl.DataFrame:
    return labels(orcl)


@pytest.fixture(scope="session")
def orcl_regime(orcl) -> pl.DataFrame:
    return regime(orcl).select("symbol", "timeframe", "ts", "regime")


def predictions_frame(
    bars: pl.DataFrame, model: str, values: np.ndarray, target: str = "fwd_ret_1", start: int = 0
) -> pl.DataFrame:
    """``PREDICTIONS_SCHEMA`` rows of one model from bar ``start`` on, made at each close."""
    frame = bars.select("symbol", "timeframe", "ts").with_columns(
        pl.Series("prediction", np.asarray(values, dtype=np.float64)),
        bar_close_of(bars).alias("_close"),  # the session close of these equity days
    )
    return (
        frame.slice(start)
        .filter(pl.col("prediction").is_not_nan())
        .with_columns(
            pl.lit(model).alias("model"),
            pl.lit("v1").alias("model_version"),
            pl.lit("test").alias("family"),
            pl.lit(target).alias("target"),
            pl.col("_close").alias("available_at"),
            pl.lit(0, dtype=pl.Int64).alias("fold"),
            pl.lit("walk_forward").alias("kind"),
            pl.col("_close").alias("predicted_at"),
        )
        .select(list(PREDICTIONS_SCHEMA))
    )


def momentum(close: np.ndarray, n: int = 5) -> np.ndarray:
    """Past ``n``-bar log return per bar (known at the bar's close), NaN before."""
    out = np.full(close.size, np.nan)
    out[n:] = np.log(close[n:] / close[:-n]) / n
    return out


def oracle(fwd: np.ndarray, noise: float, seed: int) -> np.ndarray:
    """The label plus Gaussian noise: a model with known positive IC (negate it for a
    negative one). Only for testing weights; it sees the future by construction."""
    rng = np.random.default_rng(seed)
    return np.nan_to_num(fwd) + rng.normal(0.0, noise, fwd.size)
