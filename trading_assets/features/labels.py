"""Labels: forward log returns and their direction, per bar (kept apart from the features).

=========  =================================================================================
fwd_ret_1  log(close of the next bar / close), Float64. NULL on the last bar of the series.
fwd_ret_5  log(close 5 bars later / close), Float64. NULL on the last 5 bars.
dir_1      sign of fwd_ret_1: 1 up, -1 down, 0 unchanged (Int32). NULL where fwd_ret_1 is.
dir_5      sign of fwd_ret_5 (Int32). NULL where fwd_ret_5 is.
=========  =================================================================================

Horizons count bars of the series, not clock time: across a gap (a trading halt, a weekend for
equities) "the next bar" is the next one that exists. A label at bar ``t`` is only known at
the close of bar ``t + h``: labels look ahead by construction and must never be used as
features (the look-ahead tests cover the features, not these).

Appending bars changes the labels of the last ``max(HORIZONS)`` stored bars (they were NULL):
:func:`labels_tail` recomputes exactly those and the new ones.
"""

from __future__ import annotations

import polars as pl

from trading_assets.schemas import UTC_TS

HORIZONS: tuple[int, ...] = (1, 5)
NAMES: tuple[str, ...] = (
    *(f"fwd_ret_{h}" for h in HORIZONS),
    *(f"dir_{h}" for h in HORIZONS),
)
KEY = ("symbol", "timeframe", "ts")
#: name prefixes of label columns (any horizon): never allowed as features
LABEL_PREFIXES: tuple[str, ...] = ("fwd_ret_", "dir_")

#: rows before the first new bar whose labels change when bars are appended
RESTATED: int = max(HORIZONS)


def output_schema() -> dict[str, pl.DataType]:
    """Schema of :func:`labels` results (and of ``features.labels``)."""
    return {
        "symbol": pl.String(),
        "timeframe": pl.String(),
        "ts": UTC_TS,
        **{f"fwd_ret_{h}": pl.Float64() for h in HORIZONS},
        **{f"dir_{h}": pl.Int32() for h in HORIZONS},
    }


def is_label(column: str) -> bool:
    """Whether ``column`` names a label (``fwd_ret_<h>`` or ``dir_<h>``, any horizon)."""
    return column.startswith(LABEL_PREFIXES)


def labels(bars: pl.DataFrame | pl.LazyFrame) -> pl.DataFrame:
    """Forward log returns at :data:`HORIZONS` bars and their direction, per bar.

    Args:
        bars: bars of ONE symbol and ONE timeframe (``symbol, timeframe, ts, close``), closes
            > 0 in the quote currency, any order.

    Returns:
        ``symbol, timeframe, ts`` + :data:`NAMES`, one row per bar in ts order.
    """
    lazy = bars.lazy() if isinstance(bars, pl.DataFrame) else bars
    c = pl.col("close").cast(pl.Float64)
    returns = [(c.shift(-h) / c).log().alias(f"fwd_ret_{h}") for h in HORIZONS]
    return (
        lazy.sort("ts")
        .select(*KEY, *returns)
        .with_columns(
            pl.col(f"fwd_ret_{h}").sign().cast(pl.Int32).alias(f"dir_{h}") for h in HORIZONS
        )
        .select(list(output_schema()))
        .collect()
    )


def labels_tail(bars: pl.DataFrame, first_new: int) -> pl.DataFrame:
    """Labels of the bars from row ``first_new - RESTATED`` on (the restated ones and the new).

    ``bars`` may start anywhere before that row; labels only read later closes, so the result
    equals :func:`labels` on the whole series for those rows.
    """
    start = max(0, first_new - RESTATED)
    return labels(bars.sort("ts").slice(start))
