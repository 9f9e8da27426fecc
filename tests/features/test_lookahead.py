"""Look-ahead guard, in the spirit of freqtrade's lookahead-analysis.

Cut the input at random times T — keep only what was known at T (bars with ts + timeframe <=
T, sentiment buckets that had ended) — recompute, and require every feature and regime value
of every bar known at T to be unchanged, bitwise. Every column of every feature family is
covered (the labels are excluded: they look ahead by definition).
"""

from __future__ import annotations

from datetime import timedelta

import numpy as np
import polars as pl
import pytest

from trading_assets.features import alpha158, classic, context, cross_asset, regime, sentiment
from trading_assets.timeframes import timeframe_seconds

KEY = ["symbol", "timeframe", "ts"]


def _known(frame: pl.DataFrame, cut) -> pl.DataFrame:
    """Rows of ``frame`` whose bar had closed by ``cut`` (ts + timeframe <= cut)."""
    parts = [
        part.filter(pl.col("ts") + timedelta(seconds=timeframe_seconds(tf)) <= cut)
        for (tf,), part in frame.group_by("timeframe", maintain_order=True)
    ]
    return pl.concat(parts).sort(KEY) if parts else frame


def _cuts(bars: pl.DataFrame, n: int, seed: int) -> list:
    """``n`` random cut times inside the series (some mid-bar)."""
    rng = np.random.default_rng(seed)
    ts = bars["ts"].sort()
    picks = rng.integers(ts.len() // 5, ts.len() - 1, size=n)
    offsets = rng.integers(0, 90, size=n)  # seconds: some cuts fall inside a bar
    return [ts[int(i)] + timedelta(seconds=int(s)) for i, s in zip(picks, offsets, strict=True)]


def _assert_no_lookahead(compute, inputs: dict[str, pl.DataFrame], cuts, expected_columns):
    full = compute(inputs).sort(KEY)
    assert set(full.columns) - set(KEY) >= set(expected_columns), "a feature is not covered"
    for cut in cuts:
        known = {name: frame.pipe(_known, cut) for name, frame in inputs.items()}
        partial = compute(known).sort(KEY)
        before = _known(full, cut)
        assert partial.height == before.height
        for column in full.columns:
            assert partial[column].equals(before[column]), f"{column} changed at cut {cut}"


def test_alpha158(eth_1m):
    bars = eth_1m.slice(9_000, 3_000)
    _assert_no_lookahead(
        lambda d: alpha158.alpha158(d["bars"]), {"bars": bars}, _cuts(bars, 4, 1), alpha158.NAMES
    )


def test_classic_and_garch(eth_1m, gspc_1d):
    minutes = eth_1m.slice(20_000, 2_000)
    _assert_no_lookahead(
        lambda d: classic.classic(d["bars"]),
        {"bars": minutes},
        _cuts(minutes, 3, 2),
        classic.NAMES,
    )
    days = gspc_1d.head(1_300)
    cfg = classic.GarchConfig(min_obs=252, refit_every=252)
    _assert_no_lookahead(
        lambda d: classic.classic(d["bars"], garch=cfg),
        {"bars": days},
        _cuts(days, 3, 3),
        ["garch_vol"],
    )


def test_regime_rules(eth_1m):
    bars = eth_1m.slice(30_000, 2_500)
    _assert_no_lookahead(
        lambda d: regime.regime(d["bars"]), {"bars": bars}, _cuts(bars, 4, 4), regime.NAMES
    )


def test_markov_regime(orcl_1d):
    bars = orcl_1d.head(760)
    cfg = regime.RegimeConfig(markov=True, markov_min_obs=400, markov_refit_every=180)
    full = regime.regime(bars, cfg)
    assert full["markov_p_high"].slice(400).null_count() == 0
    _assert_no_lookahead(
        lambda d: regime.regime(d["bars"], cfg),
        {"bars": bars},
        [bars["ts"][480], bars["ts"][640]],
        ["markov_p_high"],
    )


def test_multi_timeframe_context(eth_1m, eth_1h):
    start = eth_1h["ts"][0]
    minutes = eth_1m.filter(pl.col("ts") >= start).head(6_000)
    hours = eth_1h.filter(pl.col("ts") < minutes["ts"][-1])

    def compute(d):
        indicators = pl.concat(
            [classic.classic(d["minutes"], garch=None), classic.classic(d["hours"], garch=None)]
        )
        return context.context(indicators)

    inputs = {"minutes": minutes, "hours": hours}
    _assert_no_lookahead(compute, inputs, _cuts(minutes, 4, 5), context.feature_names(("1h",)))


def test_cross_asset(eth_1m, btc_1m):
    eth, btc = eth_1m.slice(5_000, 3_000), btc_1m.slice(5_000, 3_000)
    _assert_no_lookahead(
        lambda d: cross_asset.cross_asset(d["eth"], d["btc"]),
        {"eth": eth, "btc": btc},
        _cuts(eth, 4, 6),
        cross_asset.NAMES,
    )


@pytest.fixture
def sentiment_buckets(eth_1m) -> pl.DataFrame:
    """Hourly and daily buckets at the bars' hours, with deterministic scores."""
    hours = eth_1m.select(pl.col("ts").dt.truncate("1h").unique().sort().alias("bucket"))
    hourly = hours.with_row_index().filter(pl.col("index") % 3 == 0)
    days = eth_1m.select(pl.col("ts").dt.truncate("1d").unique().sort().alias("bucket"))
    frame = pl.concat(
        [
            hourly.select(
                "bucket",
                pl.lit("1h").alias("granularity"),
                (pl.col("index") % 7 / 7 - 0.5).alias("mean"),
                (pl.col("index") % 5 + 1).cast(pl.Float64).alias("count"),
            ),
            days.with_row_index().select(
                "bucket",
                pl.lit("1d").alias("granularity"),
                (pl.col("index") % 3 / 3).alias("mean"),
                pl.lit(12.0).alias("count"),
            ),
        ]
    )
    return frame.with_columns(
        pl.lit("ETH/USDT").alias("symbol"),
        pl.lit(0.4).alias("pos"),
        pl.lit(0.2).alias("neg"),
        pl.lit(0.5).alias("novelty"),
    ).select(list(sentiment.AGG_SCHEMA))


def test_sentiment(eth_1m, sentiment_buckets):
    bars = eth_1m.slice(1_000, 4_000)

    def known_buckets(frame, cut):
        size = pl.when(pl.col("granularity") == "1h").then(3600).otherwise(86400)
        return frame.filter(pl.col("bucket") + pl.duration(seconds=size) <= cut)

    full = sentiment.sentiment_features(bars, sentiment_buckets)
    assert full["sent_1h_count"].sum() > 0 and full["sent_1d_count"].sum() > 0
    for cut in _cuts(bars, 4, 7):
        partial = sentiment.sentiment_features(
            _known(bars, cut), known_buckets(sentiment_buckets, cut)
        )
        before = _known(full, cut)
        for column in sentiment.NAMES:
            assert partial[column].equals(before[column]), column
