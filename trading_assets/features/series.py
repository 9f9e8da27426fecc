"""Per-series feature updates of one symbol: what to write, and the checks' measures.

The per-series feature assets (``features/alpha158``, ``classic``, ``regime``, ``labels``) read
a symbol's bars of every timeframe, the stored watermarks and the last stored row per
timeframe, and hand them to :func:`plan_symbol`, which decides per timeframe whether to skip
(no new bars), compute the new bars' tail only, or recompute the series in full (see
:mod:`trading_assets.features.incremental`), and which stored timeframes to drop. The
warehouse applies the result in one transaction
(:func:`trading_assets.warehouse.feature_store.write_series`); the checks then measure the
stored rows per timeframe (:func:`timeframe_measures`, :func:`combine_measures`), again only
where a timeframe's rows or bars changed since its measures were kept (:func:`remeasure`;
a new 1h bar re-measures the 1h series, not the symbol's 65,000 1m rows).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import polars as pl

from trading_assets.features import checks, incremental
from trading_assets.features.incremental import SeriesFamily, UpdatePlan, Watermark

#: run knobs that choose what to run or how to check, not the values computed
NON_VALUE_KNOBS: tuple[str, ...] = ("timeframes", "max_missing_share", "force_full")


@dataclass(frozen=True)
class SeriesWrite:
    """Rows to write for one (symbol, timeframe) series.

    Attributes:
        timeframe: the series' timeframe (``1m``, ``1h``...).
        rows: feature rows (the family's schema: symbol, timeframe, ts ``Datetime("us",
            "UTC")``, then one column per feature).
        replace_from: stored rows with ``ts >= replace_from`` (UTC) are replaced by ``rows``;
            None replaces the whole series.
        watermark: what the series is computed from once written.
    """

    timeframe: str
    rows: pl.DataFrame
    replace_from: datetime | None
    watermark: Watermark


@dataclass(frozen=True)
class SymbolUpdate:
    """What :func:`plan_symbol` decided for one symbol.

    Attributes:
        writes: one :class:`SeriesWrite` per timeframe with something to write.
        dropped: stored timeframes that are no longer computed (their rows go), sorted.
        plans: timeframe -> ``{"mode", "reason", "bars"}`` for the materialization metadata.
        bars: ``symbol, timeframe, ts`` of the bars the table must align with (the computed
            timeframes only).
    """

    writes: list[SeriesWrite]
    dropped: list[str]
    plans: dict[str, dict[str, Any]]
    bars: pl.DataFrame


def config_fingerprint(knobs: Mapping[str, Any]) -> str:
    """8 hex digits hashing the run knobs that change feature values (every knob but
    :data:`NON_VALUE_KNOBS`); part of the watermarks' code version, so a changed knob
    recomputes the series in full. ``knobs`` must be JSON-serialisable."""
    values = {k: v for k, v in knobs.items() if k not in NON_VALUE_KNOBS}
    return hashlib.sha256(json.dumps(values, sort_keys=True).encode()).hexdigest()[:8]


def series_update(
    family: SeriesFamily,
    bars: pl.DataFrame,
    watermark: Watermark | None,
    last_row: dict[str, Any] | None,
    version: str,
    force_full: bool,
) -> tuple[SeriesWrite | None, UpdatePlan]:
    """What to write for one (symbol, timeframe) series.

    Args:
        family: the feature family.
        bars: the series' bars (one symbol and timeframe, sorted by ts, at least one bar):
            ts ``Datetime("us", "UTC")``, open/high/low/close/vwap float64 in the quote
            currency, volume float64.
        watermark: the stored watermark of the series, or None.
        last_row: the stored feature row with the latest ts, or None.
        version: code version of the family's logic and knobs (stored in the watermark).
        force_full: recompute in full whatever the watermark says.

    Returns:
        ``(write, plan)``: ``write`` is None when there is nothing new (``plan.mode ==
        "none"``); a full recompute replaces the whole series, an append the rows from the
        first recomputed ts on. An append whose stored rows do not end at the watermark
        becomes a full recompute.

    Raises:
        ValueError: from :func:`trading_assets.features.incremental.update` (a stateful
            family appended without a previous row; not reached, as that case is planned
            as a full recompute).
    """
    plan = incremental.plan_update(bars, None if force_full else watermark, version)
    stale_rows = watermark is not None and (last_row is None or last_row["ts"] != watermark.last_ts)
    if plan.mode == "append" and stale_rows:
        plan = UpdatePlan("full", reason="stored rows do not match the watermark")
    mark = Watermark(bars["ts"][-1], bars.height, incremental.bars_hash(bars), version)
    if plan.mode == "none":
        return None, plan
    if plan.mode == "full":
        return SeriesWrite(bars["timeframe"][0], family.full(bars), None, mark), plan
    rows = incremental.update(family, bars, plan.first_new, last_row)
    return SeriesWrite(bars["timeframe"][0], rows, rows["ts"].min(), mark), plan


def plan_symbol(
    family: SeriesFamily,
    bars: pl.DataFrame,
    watermarks: Mapping[str, Watermark],
    last_rows: Mapping[str, dict[str, Any]],
    version: str,
    timeframes: Sequence[str] = (),
    force_full: bool = False,
) -> SymbolUpdate:
    """What to write for every timeframe of one symbol (:func:`series_update` per timeframe).

    Args:
        family: the feature family.
        bars: the symbol's bars of every timeframe sorted by (timeframe, ts): symbol,
            timeframe, ts (UTC), open, high, low, close, vwap (float64, quote currency),
            volume.
        watermarks: timeframe -> stored watermark.
        last_rows: timeframe -> stored feature row with the latest ts.
        version: see :func:`series_update`.
        timeframes: the timeframes to compute (empty: every timeframe of ``bars``); stored
            timeframes outside them are dropped.
        force_full: recompute every series in full.
    """
    wanted = set(timeframes) or set(bars["timeframe"].unique().to_list())
    bars = bars.filter(pl.col("timeframe").is_in(list(wanted)))
    writes, plans = [], {}
    for (tf,), series in bars.group_by("timeframe", maintain_order=True):
        write, plan = series_update(
            family, series, watermarks.get(tf), last_rows.get(tf), version, force_full
        )
        plans[tf] = {"mode": plan.mode, "reason": plan.reason, "bars": series.height}
        if write is not None:
            writes.append(write)
    dropped = sorted(set(last_rows) - set(bars["timeframe"].unique().to_list()))
    return SymbolUpdate(writes, dropped, plans, bars.select("symbol", "timeframe", "ts"))


#: shape of a stored per-timeframe measure (:class:`MeasuredSeries`); bump it when
#: :func:`timeframe_measures` changes what it returns
MEASURES_FORMAT = "1"


@dataclass(frozen=True)
class MeasuredSeries:
    """The check measures of one stored timeframe of a feature table (of one symbol, or of
    every symbol for an unpartitioned table), and what they were measured on.

    Attributes:
        key: :func:`measure_key` of the series when measured (feature code version, stored
            rows' fingerprint, bars' timestamps).
        partial: :func:`timeframe_measures` of the series (JSON-able).
    """

    key: str
    partial: dict[str, Any]


def measure_key(
    version: str, fingerprint: tuple[int, int], bars: pl.DataFrame, timeframe: str
) -> str:
    """What a timeframe's measures depend on: ``version`` (code and knobs), the ``(rows,
    digest)`` fingerprint of its stored rows (see
    :func:`trading_assets.warehouse.feature_store.series_fingerprints`) and the keys of its
    bars in ``bars`` (``symbol, timeframe, ts``; the alignment check's other side)."""
    own = bars.filter(pl.col("timeframe") == timeframe)
    stamps = hashlib.sha256(own["ts"].to_physical().to_numpy().tobytes())
    runs = own["symbol"].cast(pl.String).rle().struct.unnest().rows()  # (length, symbol) runs
    stamps.update(repr(runs).encode())
    rows, digest = fingerprint
    return (
        f"{MEASURES_FORMAT}|{version}|{rows}-{digest:016x}|{own.height}-{stamps.hexdigest()[:16]}"
    )


def measure_keys(
    version: str, fingerprints: Mapping[str, tuple[int, int]], bars: pl.DataFrame
) -> dict[str, str]:
    """:func:`measure_key` of every timeframe stored (``fingerprints``) or with bars."""
    wanted = sorted(set(fingerprints) | set(_timeframes(bars)))
    return {tf: measure_key(version, fingerprints.get(tf, (0, 0)), bars, tf) for tf in wanted}


def remeasure(
    keys: Mapping[str, str],
    measured: Mapping[str, MeasuredSeries],
    read_rows: Callable[[list[str]], pl.DataFrame],
    bars: pl.DataFrame,
    measure: Callable[[pl.DataFrame, pl.DataFrame], dict[str, Any]],
) -> tuple[dict[str, MeasuredSeries], list[str]]:
    """The measures of every timeframe of ``keys`` (:func:`measure_keys`): ``measured``'s
    where its key is the same, else ``measure(rows, bars)`` of the timeframe's stored rows
    (``read_rows`` of the timeframes to measure again) and bars.

    Returns:
        timeframe -> measures (every timeframe of ``keys``), and the timeframes measured
        again (sorted).
    """
    again = [tf for tf in sorted(keys) if tf not in measured or measured[tf].key != keys[tf]]
    now = {tf: measured[tf] for tf in keys if tf not in again}
    if again:
        rows = read_rows(again)
        for tf in again:
            partial = measure(
                rows.filter(pl.col("timeframe") == tf), bars.filter(pl.col("timeframe") == tf)
            )
            now[tf] = MeasuredSeries(keys[tf], partial)
    return now, again


def timeframe_measures(
    family: SeriesFamily, stored: pl.DataFrame, bars: pl.DataFrame
) -> dict[str, Any]:
    """The measures of one timeframe's stored rows (any order) against its bars (``symbol,
    timeframe, ts``), in a form that adds up over timeframes (:func:`combine_measures`):
    ``shares`` ("<timeframe>:<feature>" -> missing share after warm-up), ``applicable``,
    ``rows`` and ``alignment`` (:func:`~trading_assets.features.checks.alignment_counts`)."""

    def warmup(column: str, timeframe: str) -> int | None:
        return family.warmup(column) if family.applies(column, timeframe) else None

    shares, applicable = checks.missing_shares(
        stored, family.features, warmup=warmup, cooldown=family.cooldown
    )
    return {
        "shares": shares,
        "applicable": applicable,
        "rows": stored.height,
        "alignment": checks.alignment_counts(bars, stored),
    }


def combine_measures(
    family: SeriesFamily,
    partials: Sequence[Mapping[str, Any]],
    columns: Sequence[str],
    threshold: float,
) -> dict[str, checks.Measure]:
    """The measures behind the per-series feature checks from every timeframe's
    :func:`timeframe_measures`, by check name.

    Args:
        family: the feature family.
        partials: one per timeframe stored or with bars.
        columns: the feature table's columns.
        threshold: largest acceptable share of missing values per feature after warm-up.

    Returns:
        ``missing_share`` (NULL/NaN/inf share per feature after its warm-up and before its
        cool-down), ``feature_count`` (the stored feature columns are the family's) and
        ``aligned_with_bars`` (one row per bar).
    """
    shares = {k: v for p in partials for k, v in p["shares"].items()}
    counts = {n: sum(p["alignment"][n] for p in partials) for n in checks.ALIGNMENT_COUNTS}
    return {
        "missing_share": checks.missing_share_measure(
            shares,
            any(p["applicable"] for p in partials),
            sum(p["rows"] for p in partials),
            threshold,
        ),
        "feature_count": checks.feature_count(columns, family.features),
        "aligned_with_bars": checks.alignment_measure(counts),
    }


def _timeframes(*frames: pl.DataFrame) -> list[str]:
    return sorted({tf for f in frames if f.height for tf in f["timeframe"].unique().to_list()})


def series_measures(
    family: SeriesFamily, stored: pl.DataFrame, bars: pl.DataFrame, threshold: float
) -> dict[str, checks.Measure]:
    """The measures behind the per-series feature checks of every stored row of a symbol
    (any order) against ``bars`` (``symbol, timeframe, ts``), by check name (see
    :func:`combine_measures`). :func:`trading_assets.warehouse.feature_store.measure_stored`
    gives the same, measuring only the timeframes that changed."""
    partials = [
        timeframe_measures(
            family,
            stored.filter(pl.col("timeframe") == tf),
            bars.filter(pl.col("timeframe") == tf),
        )
        for tf in _timeframes(stored, bars)
    ]
    return combine_measures(family, partials, stored.columns, threshold)
