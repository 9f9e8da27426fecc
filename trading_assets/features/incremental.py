"""Incremental feature updates: recompute one series' tail only, with full-recompute values.

A *series family* (:class:`SeriesFamily`) computes features of one bar series (one symbol, one
timeframe) from its bars alone: Alpha158, classic indicators, regime, labels. For each, the
tail of a series can be recomputed from a bounded history:

- windowed values are window-local (:mod:`trading_assets.features._windows`): the
  ``lookback`` bars before the first new bar are all they read;
- recursive values (EMA, Wilder RSI/ATR, MACD signal) continue from the state stored in the
  previous bar's row (``stateful``);
- labels restate the last ``restated`` stored bars (their forward returns were NULL);
- GARCH and the Markov regime read the whole daily history (``lookback`` None for those
  timeframes; daily series are small) and refit only the segments holding new bars.

In every case the rows produced are bitwise identical to a full recompute (tested).

Whether the tail is enough is decided by a :class:`Watermark` stored per (family, symbol,
timeframe): the last bar computed, how many bars there were up to it and a hash of them, and
the code version. If the bars up to the watermark are unchanged (same count and hash) and the
code is the same, only bars after it are computed (:func:`plan_update`); otherwise the series
is recomputed in full (a corrected old bar, a change of logic).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import numpy as np
import polars as pl

from trading_assets.features import alpha158 as _alpha158
from trading_assets.features import classic as _classic
from trading_assets.features import labels as _labels
from trading_assets.features import regime as _regime

BAR_COLUMNS = ("ts", "open", "high", "low", "close", "volume", "vwap")


@dataclass(frozen=True)
class SeriesFamily:
    """How to compute, update and check one family of per-series features.

    Attributes:
        name: short name (``alpha158``), also the asset name.
        table: warehouse table (``features.alpha158``), keyed (symbol, timeframe, ts).
        schema: the table's Polars schema (keys first).
        features: the feature columns (everything but the keys).
        full: bars of one series -> feature rows for every bar.
        tail: ``(bars, first_new, previous_row) -> rows`` from ``first_new`` (minus
            ``restated``) on, where ``bars`` holds at least ``lookback(tf)`` bars before
            ``first_new`` and ``previous_row`` is the stored row of bar ``first_new - 1``.
        lookback: timeframe -> bars of history the tail needs (None: the whole series).
        stateful: the tail needs the previous row (recursions).
        restated: stored rows before the first new bar that an update rewrites.
        warmup: column -> leading bars of a series where NULL is expected (checks).
        cooldown: trailing bars of a series where NULL is expected (labels).
        applies: ``(column, timeframe) -> bool``, whether a column is meant to have values on
            that timeframe (``garch_vol`` only on daily bars).
    """

    name: str
    table: str
    schema: dict[str, pl.DataType]
    full: Callable[[pl.DataFrame], pl.DataFrame]
    tail: Callable[[pl.DataFrame, int, dict[str, Any] | None], pl.DataFrame]
    lookback: Callable[[str], int | None]
    stateful: bool = False
    restated: int = 0
    warmup: Callable[[str], int] = lambda column: 0
    cooldown: int = 0
    applies: Callable[[str, str], bool] = lambda column, timeframe: True
    features: tuple[str, ...] = field(init=False)

    def __post_init__(self) -> None:
        keys = ("symbol", "timeframe", "ts")
        object.__setattr__(self, "features", tuple(c for c in self.schema if c not in keys))


def alpha158_family() -> SeriesFamily:
    """Qlib's Alpha158 (:mod:`trading_assets.features.alpha158`)."""
    return SeriesFamily(
        name="alpha158",
        table="features.alpha158",
        schema=_alpha158.output_schema(),
        full=_alpha158.alpha158,
        tail=lambda bars, first, previous: _alpha158.alpha158(bars).slice(first),
        lookback=lambda timeframe: _alpha158.LOOKBACK,
        warmup=lambda column: _alpha158.LOOKBACK,
    )


def classic_family(garch: _classic.GarchConfig | None = _classic.DEFAULT_GARCH) -> SeriesFamily:
    """Classic indicators and daily GARCH (:mod:`trading_assets.features.classic`)."""
    garch_timeframes = garch.timeframes if garch else ()

    def warmup(column: str) -> int:
        return garch.min_obs if (garch and column == "garch_vol") else _classic.LOOKBACK

    return SeriesFamily(
        name="classic",
        table="features.classic",
        schema=_classic.output_schema(),
        full=lambda bars: _classic.classic(bars, garch=garch),
        tail=lambda bars, first, previous: _classic.classic_tail(
            bars, first, previous or {}, garch=garch
        ),
        lookback=lambda tf: None if tf in garch_timeframes else _classic.LOOKBACK,
        stateful=True,
        warmup=warmup,
        applies=lambda column, tf: column != "garch_vol" or tf in garch_timeframes,
    )


def regime_family(config: _regime.RegimeConfig = _regime.DEFAULT_REGIME) -> SeriesFamily:
    """Rule (and optional Markov) regime (:mod:`trading_assets.features.regime`)."""
    markov_timeframes = config.markov_timeframes if config.markov else ()

    def warmup(column: str) -> int:
        if column == "vol":
            return config.vol_window + 1
        if column == "markov_p_high":
            return config.markov_min_obs
        return config.lookback + 1

    return SeriesFamily(
        name="regime",
        table="features.regime",
        schema=_regime.output_schema(),
        full=lambda bars: _regime.regime(bars, config),
        tail=lambda bars, first, previous: _regime.regime_tail(bars, first, config),
        lookback=lambda tf: None if tf in markov_timeframes else config.lookback + 1,
        warmup=warmup,
        applies=lambda column, tf: column != "markov_p_high" or tf in markov_timeframes,
    )


def labels_family() -> SeriesFamily:
    """Forward returns and directions (:mod:`trading_assets.features.labels`)."""
    return SeriesFamily(
        name="labels",
        table="features.labels",
        schema=_labels.output_schema(),
        full=_labels.labels,
        tail=lambda bars, first, previous: _labels.labels_tail(bars, first),
        lookback=lambda timeframe: 0,
        restated=_labels.RESTATED,
        cooldown=max(_labels.HORIZONS),
    )


@dataclass(frozen=True)
class Watermark:
    """What a stored series of features was computed from.

    Attributes:
        last_ts: ts of the last bar computed (UTC).
        rows: number of bars up to and including ``last_ts``.
        bars_hash: :func:`bars_hash` of those bars.
        code_version: version of the feature logic that computed them.
    """

    last_ts: datetime
    rows: int
    bars_hash: str
    code_version: str


def bars_hash(bars: pl.DataFrame) -> str:
    """Order-independent content hash of bars (ts, OHLCV, vwap), as 16 hex digits."""
    if bars.height == 0:
        return "0" * 16
    cols = [c for c in BAR_COLUMNS if c in bars.columns]
    hashes = bars.select(cols).hash_rows(seed=7).to_numpy()
    return f"{int(np.bitwise_xor.reduce(hashes)):016x}"


@dataclass(frozen=True)
class UpdatePlan:
    """What :func:`plan_update` decided for one series.

    Attributes:
        mode: ``"full"`` (recompute everything), ``"append"`` (bars after the watermark only)
            or ``"none"`` (nothing new).
        first_new: index (in ts order) of the first bar to compute when appending.
        reason: why, in plain words (for materialization metadata).
    """

    mode: str
    first_new: int = 0
    reason: str = ""


def plan_update(bars: pl.DataFrame, watermark: Watermark | None, code_version: str) -> UpdatePlan:
    """Decide how much of a series to recompute (see the module docstring).

    Args:
        bars: the series' current bars, sorted by ts.
        watermark: the stored watermark, or None if never computed.
        code_version: the current code version of the family.
    """
    if watermark is None:
        return UpdatePlan("full", reason="never computed")
    if watermark.code_version != code_version:
        return UpdatePlan("full", reason="feature code changed")
    done = bars.filter(pl.col("ts") <= watermark.last_ts)
    if done.height != watermark.rows or bars_hash(done) != watermark.bars_hash:
        return UpdatePlan("full", reason="bars up to the watermark changed")
    if done.height == bars.height:
        return UpdatePlan("none", done.height, "no new bars")
    return UpdatePlan("append", done.height, f"{bars.height - done.height} new bars")


def update(
    family: SeriesFamily,
    bars: pl.DataFrame,
    first_new: int,
    previous: dict[str, Any] | None,
) -> pl.DataFrame:
    """Feature rows of the bars from ``first_new`` on (and the ``restated`` rows before).

    Args:
        family: the feature family.
        bars: the whole series or at least its last ``lookback + (len - first_new)`` bars,
            sorted by ts; ``first_new`` indexes into this frame.
        first_new: index of the first new bar.
        previous: the stored row of bar ``first_new - 1`` (needed by stateful families).

    Returns:
        rows bitwise equal to ``family.full(bars)`` for those bars.

    Raises:
        ValueError: a stateful family without ``previous`` (recompute in full instead).
    """
    if first_new <= 0:
        return family.full(bars)
    if family.stateful and previous is None:
        raise ValueError(f"{family.name}: an incremental update needs the previous row")
    timeframe = bars["timeframe"][0] if "timeframe" in bars.columns and bars.height else ""
    lookback = family.lookback(timeframe)
    start = 0 if lookback is None else max(0, first_new - lookback - family.restated)
    return family.tail(bars.slice(start), first_new - start, previous)
