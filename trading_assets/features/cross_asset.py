"""Cross-asset features: rolling correlation and beta of a symbol's returns to a reference.

The reference of a symbol (:func:`reference_symbol`), unless configured otherwise:

- crypto ``BASE/QUOTE``: ``BTC/QUOTE`` (``ETH/QUOTE`` for BTC itself), else any BTC pair, else
  any ETH pair present;
- equities and indices: the first present of ``SPY``, ``^GSPC``, ``^IXIC`` other than the
  symbol itself (so ``^GSPC`` is measured against ``^IXIC`` on the demo profile).

Per timeframe, the two close series are aligned on common bar times (inner join on ``ts``);
returns are 1-bar log returns on that common grid, so a bar missing in either series makes the
next return span the gap in both. Over the last ``n`` common bars (windows 20 and 60):

=============  ==============================================================================
xa_corr_<n>    Pearson correlation of the symbol's and the reference's returns.
xa_beta_<n>    cov(symbol, reference) / var(reference): the OLS slope of the symbol's returns on
               the reference's.
=============  ==============================================================================

``ref_symbol`` names the reference. NULL: bars without a reference bar at the same time, the
first ``n`` common bars (a full window of returns is required), flat windows (zero variance),
and symbols without a reference. Windows are window-local (:mod:`._windows`), and every value
uses only bars at or before its own.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

import numpy as np
import polars as pl

from trading_assets.features._windows import Workspace, moments, run_chunked
from trading_assets.markets import market_of
from trading_assets.schemas import UTC_TS

WINDOWS: tuple[int, ...] = (20, 60)
NAMES: tuple[str, ...] = tuple(f"xa_{k}_{n}" for n in WINDOWS for k in ("corr", "beta"))
KEY = ("symbol", "timeframe", "ts")
EQUITY_REFERENCES: tuple[str, ...] = ("SPY", "^GSPC", "^IXIC")


def output_schema() -> dict[str, pl.DataType]:
    """Schema of :func:`cross_asset` results (and of ``features.cross_asset``)."""
    return {
        "symbol": pl.String(),
        "timeframe": pl.String(),
        "ts": UTC_TS,
        "ref_symbol": pl.String(),
        **{name: pl.Float64() for name in NAMES},
    }


def reference_symbol(
    symbol: str, available: Iterable[str], overrides: Mapping[str, str] | None = None
) -> str | None:
    """The reference symbol of ``symbol`` among ``available`` (see the module docstring).

    ``overrides`` maps a symbol to its reference explicitly (used if that symbol is present).
    """
    present = set(available) - {symbol}
    if overrides and overrides.get(symbol) in present:
        return overrides[symbol]
    if market_of(symbol).asset_class == "crypto":
        base, _, quote = symbol.partition("/")
        quote = quote.split(":")[0]
        wanted = ["ETH"] if base == "BTC" else ["BTC", "ETH"]
        for want in wanted:
            if f"{want}/{quote}" in present:
                return f"{want}/{quote}"
        for want in wanted:
            pairs = sorted(s for s in present if s.split("/")[0] == want)
            if pairs:
                return pairs[0]
        return None
    for candidate in EQUITY_REFERENCES:
        if candidate in present:
            return candidate
    return None


def _window_stats(x: np.ndarray, y: np.ndarray) -> dict[str, np.ndarray]:
    length = x.shape[0]
    out = {name: np.full(length, np.nan) for name in NAMES}
    data = np.stack([x, y])

    def run(lo: int, keep_from: int, hi: int, ws: Workspace) -> None:
        keep = slice(keep_from - lo, hi - lo)
        stats = moments(data[:, lo:hi], WINDOWS, [(0, 0), (1, 1), (0, 1)], ws, tag="xa")
        with np.errstate(invalid="ignore", divide="ignore"):
            for n in WINDOWS:
                m = stats[n]
                full = m.n == n
                sxx, syy, sxy = m.co[0], m.co[1], m.co[2]
                corr = np.where(full & (sxx > 0) & (syy > 0), sxy / np.sqrt(sxx * syy), np.nan)
                beta = np.where(full & (syy > 0), sxy / syy, np.nan)
                out[f"xa_corr_{n}"][keep_from:hi] = corr[keep]
                out[f"xa_beta_{n}"][keep_from:hi] = beta[keep]

    run_chunked(length, max(WINDOWS) - 1, run, threads=1)
    return out


def cross_asset(bars: pl.DataFrame, reference: pl.DataFrame | None) -> pl.DataFrame:
    """Rolling correlation and beta of one symbol's returns to its reference's.

    Args:
        bars: the symbol's bars (``symbol, timeframe, ts, close``), any timeframes.
        reference: the reference symbol's bars (same columns), or None.

    Returns:
        one row per bar of ``bars``: ``symbol, timeframe, ts, ref_symbol`` + :data:`NAMES`,
        sorted by timeframe and ts.
    """
    schema = output_schema()
    if bars.height == 0:
        return pl.DataFrame(schema=schema)
    keys = bars.select(KEY).sort("timeframe", "ts")
    if reference is None or reference.height == 0:
        return keys.with_columns(
            *[pl.lit(None, dtype=dtype).alias(n) for n, dtype in schema.items() if n not in KEY]
        )
    ref_symbol = reference["symbol"][0]
    parts = []
    for (tf,), own in bars.sort("ts").group_by("timeframe", maintain_order=True):
        ref = reference.filter(pl.col("timeframe") == tf).select("ts", ref_close="close")
        common = own.select("ts", "close").join(ref, on="ts", how="inner").sort("ts")
        with np.errstate(divide="ignore", invalid="ignore"):
            x = np.diff(np.log(common["close"].to_numpy()), prepend=np.nan)
            y = np.diff(np.log(common["ref_close"].to_numpy()), prepend=np.nan)
        stats = _window_stats(x, y) if common.height else {n: np.array([]) for n in NAMES}
        values = common.select("ts").with_columns(
            pl.Series(name, stats[name], dtype=pl.Float64, nan_to_null=True) for name in NAMES
        )
        parts.append(
            own.select(KEY)
            .join(values, on="ts", how="left")
            .with_columns(pl.lit(ref_symbol).alias("ref_symbol"))
        )
    out = pl.concat(parts, how="vertical_relaxed").sort("timeframe", "ts")
    return out.select([pl.col(name).cast(dtype) for name, dtype in schema.items()])
