"""Planning one symbol's per-series update: full, then append, then nothing; dropped timeframes."""

from __future__ import annotations

import polars as pl

from trading_assets.features import incremental as inc
from trading_assets.features import series


def _apply(stored: pl.DataFrame | None, update: series.SymbolUpdate) -> pl.DataFrame:
    """What the feature store does with an update, in memory."""
    parts = [] if stored is None else [stored]
    for write in update.writes:
        keep = pl.col("timeframe") != write.timeframe
        if write.replace_from is not None:
            keep = keep | (pl.col("ts") < write.replace_from)
        parts = [p.filter(keep) for p in parts] + [write.rows]
    out = pl.concat(parts) if parts else pl.DataFrame()
    return out.filter(~pl.col("timeframe").is_in(update.dropped)).sort("timeframe", "ts")


def _state(stored: pl.DataFrame, update: series.SymbolUpdate):
    marks = {w.timeframe: w.watermark for w in update.writes}
    last = {tf: rows.sort("ts").row(-1, named=True) for (tf,), rows in stored.group_by("timeframe")}
    return marks, last


def test_full_then_append_then_nothing_equals_a_full_recompute(eth_1m, eth_1h):
    family = inc.labels_family()
    bars = pl.concat([eth_1m.head(600), eth_1h.head(200)]).sort("timeframe", "ts")
    first = series.plan_symbol(family, bars.filter(pl.int_range(pl.len()) < 700), {}, {}, "v1")
    assert {tf: p["mode"] for tf, p in first.plans.items()} == {"1h": "full", "1m": "full"}
    assert all(w.replace_from is None for w in first.writes) and first.dropped == []
    stored = _apply(None, first)
    marks, last = _state(stored, first)

    second = series.plan_symbol(family, bars, marks, last, "v1")  # 100 new minutes
    assert second.plans["1h"] == {"mode": "none", "reason": "no new bars", "bars": 200}
    assert second.plans["1m"] == {"mode": "append", "reason": "100 new bars", "bars": 600}
    (write,) = second.writes
    assert write.timeframe == "1m" and write.watermark.rows == 600
    assert write.rows.height == 100 + family.restated
    stored = _apply(stored, second)
    expected = pl.concat(
        [family.full(bars.filter(pl.col("timeframe") == tf)) for tf in ("1h", "1m")]
    )
    assert stored.equals(expected)

    marks = {**marks, "1m": write.watermark}
    _, last = _state(stored, second)
    third = series.plan_symbol(family, bars, marks, last, "v1")
    assert third.writes == [] and {p["mode"] for p in third.plans.values()} == {"none"}
    # new code: everything in full; a timeframe no longer wanted is dropped
    fourth = series.plan_symbol(family, bars, marks, last, "v2", timeframes=["1m"])
    assert fourth.plans == {"1m": {"mode": "full", "reason": "feature code changed", "bars": 600}}
    assert fourth.dropped == ["1h"] and fourth.bars["timeframe"].unique().to_list() == ["1m"]
    assert fourth.bars.columns == ["symbol", "timeframe", "ts"]


def test_stored_rows_that_do_not_end_at_the_watermark_are_recomputed_in_full(eth_1m):
    family = inc.alpha158_family()
    bars = eth_1m.head(300)
    write, plan = series.series_update(family, bars.head(250), None, None, "v", False)
    assert plan.mode == "full" and write.rows.height == 250
    stale = write.rows.row(200, named=True)  # the stored series lost its tail
    write, plan = series.series_update(family, bars, write.watermark, stale, "v", False)
    assert plan.reason == "stored rows do not match the watermark"
    assert write.replace_from is None and write.rows.equals(family.full(bars))
    forced, plan = series.series_update(family, bars.head(250), write.watermark, None, "v", True)
    assert plan.mode == "full" and forced is not None


def test_only_value_knobs_change_the_fingerprint():
    base = {"timeframes": [], "max_missing_share": 0.05, "force_full": False, "garch": True}
    assert series.config_fingerprint(base) == series.config_fingerprint(
        {**base, "timeframes": ["1m"], "max_missing_share": 0.5, "force_full": True}
    )
    assert series.config_fingerprint(base) != series.config_fingerprint({**base, "garch": False})


def test_series_measures_on_real_bars(eth_1m):
    family = inc.classic_family(None)
    bars = eth_1m.head(500)
    stored = family.full(bars)
    keys = bars.select("symbol", "timeframe", "ts")
    measures = series.series_measures(family, stored, keys, 0.05)
    assert all(m.passed for m in measures.values()), measures
    short = series.series_measures(family, stored.head(400), keys, 0.05)
    assert not short["aligned_with_bars"].passed
    extra = stored.with_columns(pl.lit(1.0).alias("not_a_feature"))
    assert not series.series_measures(family, extra, keys, 0.05)["feature_count"].passed
