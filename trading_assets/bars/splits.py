"""Stock splits in raw equity bars: found, checked, and adjusted away before anything uses them.

A split of ratio ``r`` (new shares per old share: 2.0 is 2-for-1, 0.05 is a 1-for-20 reverse
split) divides the price by ``r`` and multiplies the share volume by ``r`` from its ex-date on.
Left in the prices, a 2-for-1 split is a -50% "return" in labels, features and backtests. So
``staging.bars`` holds split-adjusted prices: every bar before an applied split has its open,
high, low, close and vwap divided by ``r`` and its volume multiplied by ``r`` (the raw prices
stay in ``raw.bars``; ``raw price = staging price * product of later ratios``).

Where splits come from, in order:

1. **Corporate actions** a source provides (``actions``: ex-date and ratio, e.g. yfinance's
   ``Stock Splits`` column). An action whose ex-date shows the price gap is applied with the
   action's exact ratio; one without a gap means the source already adjusted its prices
   (``adjusted_by_source``, not applied again); anything else is ``ambiguous``.
2. **Detection** on the daily series (source or resampled) of symbols whose bars come from a
   source that does not adjust for splits (e.g. QuantConnect Lean files; see
   :data:`SPLIT_ADJUSTED_SOURCES`). For each pair of consecutive days, the gap
   ``open[i] / close[i-1]`` is matched to the common ratios :data:`RATIOS` (2:1, 3:2, 3:1,
   4:1, 5:1, 7:1, 8:1, 10:1, 5:4 and the reverse 1:2 ... 1:100) within a tolerance of 3% in
   log terms (20% for ratios of 5 or more either way: a 5x overnight move is no market move).
   A candidate is then

   - *rejected* (a market move, not reported as a split) when the day's share volume spikes
     above 3x the prior 20-day median per unit of the ratio (crash days trade 5-20x their
     usual volume; a split day trades about ``r`` times it), or when the price level
     contradicts the direction: companies split forward near their highs (the prior close
     at least half its 252-day high) and reverse-split after a collapse (at most half);
   - *ambiguous* (flagged in the ``splits`` check with its date and candidate ratios, never
     applied) when two ratios fit about equally well, or when the volume level does not move
     the split's way: the median share volume of the 20 days from the ex-date against the 20
     days before must move at least 10% of the ratio's size, in log terms, in its direction;
   - *applied* otherwise.

Crypto pairs and index symbols (``^GSPC``) have no splits and are left alone.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from datetime import date
from fractions import Fraction

import numpy as np
import polars as pl

from trading_assets.markets import market_of
from trading_assets.sessions import trading_dates

#: common split ratios (new shares per old share): forward, then reverse
FORWARD_RATIOS: tuple[float, ...] = (5 / 4, 3 / 2, 2.0, 3.0, 4.0, 5.0, 7.0, 8.0, 10.0)
REVERSE_RATIOS: tuple[float, ...] = tuple(1 / n for n in (2, 3, 4, 5, 8, 10, 20, 25, 50, 100))
RATIOS: tuple[float, ...] = FORWARD_RATIOS + REVERSE_RATIOS
#: ``source`` values of bars whose prices are already split-adjusted by their provider
SPLIT_ADJUSTED_SOURCES: frozenset[str] = frozenset(
    {"yahoo_csv", "yahoo_chart", "arch_demo", "alpaca:split", "alpaca:all"}
)

APPLIED = "applied"
AMBIGUOUS = "ambiguous"
ADJUSTED_BY_SOURCE = "adjusted_by_source"


@dataclass(frozen=True)
class SplitRules:
    """Thresholds of the detector (see the module docstring).

    Attributes:
        tolerance / wide_tolerance: largest ``|log(gap * ratio)|`` for ratios below 5 (either
            way) / of 5 or more.
        uniqueness: a second ratio closer than this many times the best one's distance makes
            the split ambiguous.
        window: days of share volume compared before and from the ex-date.
        spike: ex-date volume over the prior median, per unit of the ratio, above which the
            move is a market event.
        history / level: days of closes for the price-level test, and its threshold.
        min_volume_shift: least move of the volume level, in units of ``log(ratio)``.
    """

    tolerance: float = 0.03
    wide_tolerance: float = 0.20
    uniqueness: float = 2.0
    window: int = 20
    spike: float = 3.0
    history: int = 252
    level: float = 0.5
    min_volume_shift: float = 0.1


@dataclass(frozen=True)
class Split:
    """One split found in a series.

    Attributes:
        ex_date: the first trading date at the new share count.
        ratio: new shares per old share (2.0 = 2-for-1, 0.05 = 1-for-20).
        status: ``applied``, ``ambiguous`` (flagged, not applied) or ``adjusted_by_source``.
        method: ``corporate_action`` or ``detected``.
        gap: ``open / previous close`` across the ex-date (the raw price jump).
        reason: plain words: the evidence, or why it is ambiguous.
        candidates: the ratios that fit (``"3:2"``...), for ambiguous ones.
    """

    ex_date: date
    ratio: float
    status: str
    method: str
    gap: float
    reason: str
    candidates: tuple[str, ...] = ()

    @property
    def label(self) -> str:
        """The ratio as people write it: ``3:2``, ``2:1``, ``1:20``."""
        return ratio_label(self.ratio)

    def as_dict(self) -> dict:
        """JSON-able form (for metadata and check details)."""
        out = asdict(self)
        out["ex_date"] = self.ex_date.isoformat()
        out["ratio"] = self.label
        out["gap"] = round(self.gap, 6)
        out["candidates"] = list(self.candidates)
        return out


@dataclass
class SplitReport:
    """What :func:`split_adjust` found for one symbol."""

    splits: list[Split] = field(default_factory=list)
    note: str = ""

    @property
    def applied(self) -> list[Split]:
        return [s for s in self.splits if s.status == APPLIED]

    @property
    def ambiguous(self) -> list[Split]:
        return [s for s in self.splits if s.status == AMBIGUOUS]

    def as_dict(self) -> dict:
        """JSON-able summary: every split by status, and the note."""
        return {
            "applied": [s.as_dict() for s in self.applied],
            "ambiguous": [s.as_dict() for s in self.ambiguous],
            "adjusted_by_source": [
                s.as_dict() for s in self.splits if s.status == ADJUSTED_BY_SOURCE
            ],
            "note": self.note,
        }


def ratio_label(ratio: float) -> str:
    """``1.5`` -> ``"3:2"``, ``0.05`` -> ``"1:20"``."""
    frac = Fraction(ratio).limit_denominator(100)
    return f"{frac.numerator}:{frac.denominator}"


def _median(values: np.ndarray) -> float:
    values = values[np.isfinite(values) & (values > 0)]
    return float(np.median(values)) if values.size else math.nan


def _tolerance(ratio: float, rules: SplitRules) -> float:
    return rules.wide_tolerance if abs(math.log(ratio)) >= math.log(5) - 1e-9 else rules.tolerance


def _classify(
    i: int, gap: float, close: np.ndarray, volume: np.ndarray, rules: SplitRules
) -> tuple[str, float, str, tuple[str, ...]] | None:
    """(status, ratio, reason, candidates) of the gap into bar ``i``; None: no split."""
    distance = {r: abs(math.log(gap) + math.log(r)) for r in RATIOS}
    fits = sorted((d, r) for r, d in distance.items() if d <= _tolerance(r, rules))
    if not fits:
        return None
    d, ratio = fits[0]
    before = volume[max(0, i - rules.window) : i]
    spike = volume[i] / _median(before) / max(ratio, 1.0) if before.size else math.nan
    if spike > rules.spike:
        return None  # a market move: the day traded far more shares than a split explains
    history = close[max(0, i - rules.history) : i]
    if history.size >= rules.window:
        level = close[i - 1] / float(np.nanmax(history))
        if (ratio > 1 and level < rules.level) or (ratio < 1 and level > rules.level):
            return None  # forward splits come near highs, reverse splits after a collapse
    close_second = [ratio_label(r) for dd, r in fits[1:] if dd < rules.uniqueness * max(d, 1e-3)]
    if close_second:
        labels = (ratio_label(ratio), *close_second)
        return AMBIGUOUS, ratio, f"the gap {gap:.4f} fits {' and '.join(labels)}", labels
    after = volume[i : i + rules.window]
    moved = _median(after) / _median(before)
    shift = math.log(moved) / math.log(ratio)
    evidence = f"gap {gap:.4f} ({d:.1%} from {ratio_label(ratio)}), share volume x{moved:.2f}"
    if after.size >= 5 and not shift >= rules.min_volume_shift:
        reason = f"{evidence}: the share volume does not move the split's way"
        return AMBIGUOUS, ratio, reason, (ratio_label(ratio),)
    return APPLIED, ratio, evidence, ()


def find_splits(
    daily: pl.DataFrame, actions: pl.DataFrame | None = None, rules: SplitRules = SplitRules()
) -> list[Split]:
    """Splits of ONE symbol's daily bars (see the module docstring).

    Args:
        daily: ``ts`` (UTC), ``open``, ``close`` (quote currency, > 0), ``volume`` (shares)
            and ``symbol``, ``timeframe`` of one daily series, any order.
        actions: corporate actions of the symbol, ``ex_date`` (Date) and ``ratio`` (new
            shares per old share), or None.

    Returns:
        the splits found, in ex-date order (every status).
    """
    if daily.height < 2:
        return []
    daily = daily.sort("ts")
    days = trading_dates(str(daily["symbol"][0]), str(daily["timeframe"][0]), daily["ts"])
    days = days.to_list()
    open_ = daily["open"].to_numpy().astype(np.float64)
    close = daily["close"].to_numpy().astype(np.float64)
    volume = daily["volume"].to_numpy().astype(np.float64)
    found: dict[date, Split] = {}
    for ex_date, ratio in (
        actions.select("ex_date", "ratio").iter_rows() if actions is not None else ()
    ):
        i = next((k for k, d in enumerate(days) if d >= ex_date), None)
        if i is None or i == 0 or not ratio or ratio <= 0:
            continue
        gap = open_[i] / close[i - 1]
        if abs(math.log(gap) + math.log(ratio)) <= rules.wide_tolerance:
            status, why = APPLIED, "the source's corporate action; the raw prices gap by it"
        elif abs(math.log(gap)) <= rules.tolerance:
            status, why = ADJUSTED_BY_SOURCE, "the source's prices are already adjusted"
        else:
            status, why = AMBIGUOUS, f"the price gap {gap:.4f} does not match the action"
        found[days[i]] = Split(days[i], float(ratio), status, "corporate_action", gap, why)
    gaps = open_[1:] / close[:-1]
    smallest = min(abs(math.log(r)) for r in RATIOS) - rules.tolerance
    for i in np.flatnonzero(np.abs(np.log(gaps)) >= smallest) + 1:
        if days[i] in found or not (open_[i] > 0 and close[i - 1] > 0):
            continue
        outcome = _classify(int(i), float(gaps[i - 1]), close, volume, rules)
        if outcome is not None:
            status, ratio, reason, candidates = outcome
            found[days[i]] = Split(
                days[i], ratio, status, "detected", float(gaps[i - 1]), reason, candidates
            )
    return [found[d] for d in sorted(found)]


def adjust(bars: pl.DataFrame, splits: list[Split]) -> pl.DataFrame:
    """``bars`` (one symbol, any timeframes) with the ``applied`` splits adjusted away: prices
    (open, high, low, close, vwap) of every bar traded before an ex-date divided by its
    ratio, volume multiplied by it. Other columns and the row order are kept."""
    applied = sorted((s for s in splits if s.status == APPLIED), key=lambda s: s.ex_date)
    if not applied or bars.height == 0:
        return bars
    parts = []
    indexed = bars.with_row_index("_row")
    for (symbol, timeframe), rows in indexed.group_by("symbol", "timeframe"):
        days = (
            trading_dates(str(symbol), str(timeframe), rows["ts"])
            .to_numpy()
            .astype("datetime64[D]")
        )
        factor = np.ones(rows.height)
        for split in applied:
            factor = np.where(
                days < np.datetime64(split.ex_date, "D"), factor / split.ratio, factor
            )
        parts.append(rows.with_columns(pl.Series("_factor", factor)))
    out = pl.concat(parts).sort("_row")
    prices = [c for c in ("open", "high", "low", "close", "vwap") if c in out.columns]
    adjusted = [pl.col(c) * pl.col("_factor") for c in prices]
    if "volume" in out.columns:
        adjusted.append(pl.col("volume") / pl.col("_factor"))
    return out.with_columns(adjusted).drop("_row", "_factor")


def split_adjust(
    bars: pl.DataFrame,
    symbol: str,
    actions: pl.DataFrame | None = None,
    rules: SplitRules = SplitRules(),
) -> tuple[pl.DataFrame, SplitReport]:
    """Staging bars of ``symbol`` (any timeframes) with splits adjusted away, and the report.

    Splits are looked for in the ``1d`` series (see the module docstring); crypto pairs and
    index symbols are returned unchanged. Detection runs only when some daily bar comes from a
    source outside :data:`SPLIT_ADJUSTED_SOURCES` (corporate ``actions`` are always checked).

    Raises:
        ConfigurationError: no calendar for the symbol's exchange
            (:func:`trading_assets.sessions.trading_dates`).
    """
    if market_of(symbol).always_open or symbol.startswith("^"):
        return bars, SplitReport(note="no corporate actions: crypto pair or index")
    daily = bars.filter(pl.col("timeframe") == "1d")
    sources = set(daily["source"].unique().to_list()) if daily.height else set()
    raw = bool(sources - SPLIT_ADJUSTED_SOURCES)
    if not raw and actions is None:
        note = f"prices already split-adjusted by the source ({', '.join(sorted(sources))})"
        return bars, SplitReport(note=note if sources else "no daily bars")
    splits = find_splits(daily, actions, rules)
    if not raw:
        splits = [s for s in splits if s.method == "corporate_action"]
    report = SplitReport(splits, f"looked for splits in {daily.height} daily bars")
    return adjust(bars, splits), report
