"""Quality measures of feature tables (the logic behind the feature assets' checks).

- :func:`missing_share`: share of NULL/NaN/inf per feature and timeframe, after each feature's
  warm-up (leading bars where a missing value is expected by definition) and before its
  cool-down (trailing bars, for labels); :func:`missing_shares` gives the shares, which
  are per timeframe and merge (:func:`missing_share_measure`);
- :func:`feature_count`: the stored feature columns are exactly the expected ones;
- :func:`alignment`: one feature row per bar, no row without a bar (:func:`alignment_counts`
  add up over timeframes).

Each returns a :class:`Measure` (passed + JSON-able details), independent of Dagster.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import polars as pl

KEY = ("symbol", "timeframe", "ts")

#: default largest acceptable share of missing values of one feature after warm-up
MAX_MISSING_SHARE = 0.05


@dataclass(frozen=True)
class Measure:
    """Outcome of one quality measure: ``passed`` and details for the check's metadata."""

    passed: bool
    details: dict[str, Any] = field(default_factory=dict)


def _bad(name: str, dtype: pl.DataType) -> pl.Expr:
    col = pl.col(name)
    if dtype.is_float():
        return col.is_null() | col.is_nan() | col.is_infinite()
    return col.is_null()


def _bad_count(name: str, dtype: pl.DataType) -> pl.Expr:
    """Rows of ``name`` that are NULL, NaN or inf (``is_finite`` is null on nulls, and sums
    skip nulls, so ``len - finite`` counts all three)."""
    if dtype.is_float():
        return (pl.len() - pl.col(name).is_finite().sum()).alias(name)
    return pl.col(name).null_count().alias(name)


def _numbered(frame: pl.DataFrame) -> pl.DataFrame:
    """``frame`` with ``_rn`` (0-based position in its (symbol, timeframe) series by ts) and
    ``_n`` (the series length), without sorting the (wide) frame."""
    by = ("symbol", "timeframe")
    return frame.with_columns(
        (pl.col("ts").rank("ordinal").over(by) - 1).alias("_rn"),
        pl.len().over(by).alias("_n"),
    )


def missing_shares(
    frame: pl.DataFrame,
    features: Sequence[str],
    *,
    warmup: Callable[[str, str], int | None] = lambda column, timeframe: 0,
    cooldown: int = 0,
) -> tuple[dict[str, float], bool]:
    """Share of missing (NULL, NaN, inf) values per (timeframe, feature) after warm-up.

    Args: as :func:`missing_share`.

    Returns:
        ``({"<timeframe>:<feature>": share}, applicable)``: ``applicable`` is False when no
        feature applies to any timeframe of ``frame`` (or ``frame`` is empty). Shares are
        per timeframe, so those of a frame are the union of those of its timeframes.
    """
    if frame.height == 0:
        return {}, False
    timeframes = frame["timeframe"].unique().sort().to_list()
    # group the (timeframe, column) pairs by warm-up: one filtered pass per distinct warm-up
    groups: dict[int, set[str]] = {}
    wanted: set[tuple[str, str, int]] = set()
    for tf in timeframes:
        for name in features:
            skip = warmup(name, tf)
            if skip is None:
                continue
            groups.setdefault(skip, set()).add(name)
            wanted.add((tf, name, skip))
    if not wanted:
        return {}, False
    numbered = _numbered(frame.select("symbol", "timeframe", "ts", *features))
    shares: dict[str, float] = {}
    for skip, names in groups.items():
        ordered = [n for n in features if n in names]
        counts = (
            numbered.select("timeframe", "_rn", "_n", *ordered)
            .filter((pl.col("_rn") >= skip) & (pl.col("_rn") < pl.col("_n") - cooldown))
            .group_by("timeframe")
            .agg(pl.len().alias("_rows"), *[_bad_count(n, frame.schema[n]) for n in ordered])
        )
        for row in counts.iter_rows(named=True):
            for name in ordered:
                if (row["timeframe"], name, skip) in wanted and row["_rows"]:
                    shares[f"{row['timeframe']}:{name}"] = row[name] / row["_rows"]
    return shares, True


def missing_share_measure(
    shares: dict[str, float], applicable: bool, rows: int, threshold: float = MAX_MISSING_SHARE
) -> Measure:
    """The missing-share :class:`Measure` of ``shares`` (see :func:`missing_shares`; those of
    several timeframes may be merged) over ``rows`` feature rows.

    Returns:
        ``passed`` when every share is within ``threshold``; details: the threshold, how many
        (timeframe, feature) shares were measured, the failing ones and the 10 worst (ties by
        name).
    """
    if rows == 0:
        return Measure(True, {"rows": 0, "note": "no rows"})
    if not applicable:
        return Measure(True, {"rows": 0, "note": "no applicable feature"})
    failing = {k: round(v, 4) for k, v in sorted(shares.items()) if v > threshold}
    worst = sorted(shares.items(), key=lambda kv: (-kv[1], kv[0]))[:10]
    return Measure(
        not failing,
        {
            "threshold": threshold,
            "features_measured": len(shares),
            "failing": failing,
            "worst": {k: round(v, 4) for k, v in worst},
        },
    )


def missing_share(
    frame: pl.DataFrame,
    features: Sequence[str],
    *,
    warmup: Callable[[str, str], int | None] = lambda column, timeframe: 0,
    cooldown: int = 0,
    threshold: float = MAX_MISSING_SHARE,
) -> Measure:
    """Share of missing (NULL, NaN, inf) values per feature after warm-up, per timeframe.

    Args:
        frame: feature rows (``symbol, timeframe, ts`` + features), one or many symbols.
        features: the columns to measure.
        warmup: ``(column, timeframe) -> rows`` skipped at the start of each (symbol,
            timeframe) series; None means the column does not apply to that timeframe (see
            also :func:`first_value_warmup`).
        cooldown: rows skipped at the end of each series.
        threshold: a feature fails when its share exceeds this.

    Returns:
        ``passed`` when every measured (timeframe, feature) share is within ``threshold``;
        details: the worst shares, the failing features and how many were measured.
    """
    shares, applicable = missing_shares(frame, features, warmup=warmup, cooldown=cooldown)
    return missing_share_measure(shares, applicable, frame.height, threshold)


def first_value_warmup(frame: pl.DataFrame, features: Sequence[str]) -> Callable[[str, str], int]:
    """A warm-up per (column, timeframe) ending at the column's first value in each series
    (for join features whose warm-up depends on other series): the returned callable gives the
    largest such row index over the symbols of ``frame``; a column that never has a value
    keeps a warm-up of 0, so it is measured (and fails)."""
    if frame.height == 0:
        return lambda column, timeframe: 0
    numbered = _numbered(frame.select("symbol", "timeframe", "ts", *features))
    firsts = numbered.group_by("symbol", "timeframe").agg(
        pl.col("_rn").filter(~_bad(name, frame.schema[name])).min().alias(name) for name in features
    )
    table = firsts.group_by("timeframe").agg(pl.col(name).max() for name in features)
    lookup = {
        (row["timeframe"], name): row[name] or 0
        for row in table.iter_rows(named=True)
        for name in features
    }
    return lambda column, timeframe: lookup.get((timeframe, column), 0)


def feature_count(columns: Sequence[str], expected: Sequence[str]) -> Measure:
    """The feature columns (``columns`` minus the keys) are exactly ``expected``, in order."""
    actual = [c for c in columns if c not in KEY]
    missing = [c for c in expected if c not in actual]
    extra = [c for c in actual if c not in expected]
    return Measure(
        actual == list(expected),
        {"count": len(actual), "expected": len(expected), "missing": missing, "extra": extra},
    )


ALIGNMENT_COUNTS = ("bars", "rows", "missing_rows", "extra_rows", "duplicate_rows")


def alignment_counts(bars: pl.DataFrame, features: pl.DataFrame) -> dict[str, int]:
    """Bars, feature rows, and the feature rows missing, extra and duplicated against the bars
    (same keys ``symbol, timeframe, ts``). Counts of several timeframes add up to those of
    the frames together."""
    b = bars.select(KEY)
    f = features.select(KEY)
    return {
        "bars": b.height,
        "rows": f.height,
        "missing_rows": b.join(f, on=list(KEY), how="anti").height,
        "extra_rows": f.join(b, on=list(KEY), how="anti").height,
        "duplicate_rows": f.height - f.unique().height,
    }


def alignment_measure(counts: dict[str, int]) -> Measure:
    """The alignment :class:`Measure` of :func:`alignment_counts` (possibly summed)."""
    passed = not (counts["missing_rows"] or counts["extra_rows"] or counts["duplicate_rows"])
    return Measure(passed, {name: counts[name] for name in ALIGNMENT_COUNTS})


def alignment(bars: pl.DataFrame, features: pl.DataFrame) -> Measure:
    """Exactly one feature row per bar (same keys): counts of missing, extra, duplicate rows."""
    return alignment_measure(alignment_counts(bars, features))
