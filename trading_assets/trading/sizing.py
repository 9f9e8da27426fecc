"""Position sizing by fractional Kelly, within caps.

For a bet whose per-bar log return has expected value ``mu`` and variance ``var``, the Kelly
fraction of equity that maximizes the expected log growth is ``mu / var`` (the continuous-time
Kelly criterion). Full Kelly is far too aggressive with estimated edges, so the position is
``fraction * mu / var`` clipped to ``[-max_short, max_long]`` (``max_short = 0`` is long-only).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class KellySizing:
    """Parameters of :func:`kelly_positions`.

    Attributes:
        fraction: share of the full Kelly fraction taken (0 < fraction <= 1; 0.25 = quarter Kelly).
        max_long: largest long position as a fraction of equity (>= 0; 1.0 = fully invested).
        max_short: largest short position as a positive fraction of equity (>= 0).
        long_only: never short (same as ``max_short = 0``).
    """

    fraction: float = 0.25
    max_long: float = 1.0
    max_short: float = 1.0
    long_only: bool = False

    def __post_init__(self) -> None:
        if not 0 < self.fraction <= 1:
            raise ValueError(f"Kelly fraction must be in (0, 1], got {self.fraction}")
        if self.max_long < 0 or self.max_short < 0:
            raise ValueError(
                f"position caps must be >= 0, got max_long={self.max_long}, "
                f"max_short={self.max_short}"
            )

    @property
    def lower(self) -> float:
        """Smallest allowed position (<= 0)."""
        return 0.0 if self.long_only else -self.max_short

    @property
    def upper(self) -> float:
        """Largest allowed position (>= 0)."""
        return self.max_long


def kelly_positions(
    mu: np.ndarray, var: np.ndarray, sizing: KellySizing = KellySizing()
) -> np.ndarray:
    """Fractional Kelly positions, clipped to the caps.

    Args:
        mu: expected log return per bar (float64, any shape).
        var: variance of the per-bar log return (float64, same shape, > 0).

    Returns:
        Signed positions as fractions of equity (float64, same shape), in
        ``[sizing.lower, sizing.upper]``; 0 where ``mu`` or ``var`` is NaN or ``var <= 0``.
    """
    mu = np.asarray(mu, dtype=np.float64)
    var = np.asarray(var, dtype=np.float64)
    ok = np.isfinite(mu) & np.isfinite(var) & (var > 0)
    raw = np.zeros(np.broadcast(mu, var).shape)
    np.divide(sizing.fraction * mu, var, out=raw, where=ok)
    return np.clip(raw, sizing.lower, sizing.upper)


def trailing_variance(close: np.ndarray, window: int) -> np.ndarray:
    """Variance (ddof=1) of the last ``window`` one-bar log returns up to and including each
    bar, so the value at bar t uses closes up to t only (known at t's close).

    Args:
        close: closes in bar order (float64, > 0).
        window: returns per estimate (>= 2).

    Returns:
        float64 array like ``close``; NaN until ``window`` returns exist.
    """
    if window < 2:
        raise ValueError(f"variance window must be >= 2, got {window}")
    close = np.asarray(close, dtype=np.float64)
    out = np.full(close.shape, np.nan)
    if close.size <= window:
        return out
    r = np.diff(np.log(close))
    c1 = np.concatenate([[0.0], np.cumsum(r)])
    c2 = np.concatenate([[0.0], np.cumsum(r * r)])
    s1 = c1[window:] - c1[:-window]
    s2 = c2[window:] - c2[:-window]
    var = (s2 - s1 * s1 / window) / (window - 1)
    out[window:] = np.maximum(var, 0.0)
    return out
