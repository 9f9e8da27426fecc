"""Quality measures behind the feature asset checks."""

from __future__ import annotations

import polars as pl

from trading_assets.features import checks
from trading_assets.features.alpha158 import LOOKBACK, NAMES, alpha158


def test_missing_share_after_warm_up(eth_1m):
    frame = alpha158(eth_1m.head(3_000))
    ok = checks.missing_share(frame, NAMES, warmup=lambda c, tf: LOOKBACK)
    assert ok.passed and ok.details["features_measured"] == 158
    strict = checks.missing_share(frame, NAMES, warmup=lambda c, tf: 0, threshold=0.001)
    assert not strict.passed and "1m:ROC60" in strict.details["failing"]  # 60 warm-up rows
    skipped = checks.missing_share(frame, ["ROC60"], warmup=lambda c, tf: None)
    assert skipped.passed and skipped.details["note"] == "no applicable feature"


def test_first_value_warmup_and_a_column_that_never_has_values(eth_1m):
    frame = alpha158(eth_1m.head(300)).select("symbol", "timeframe", "ts", "ROC60", "KMID")
    frame = frame.with_columns(pl.lit(None, dtype=pl.Float64).alias("dead"))
    warmup = checks.first_value_warmup(frame, ["ROC60", "KMID", "dead"])
    assert warmup("ROC60", "1m") == 60 and warmup("KMID", "1m") == 0
    measure = checks.missing_share(frame, ["ROC60", "KMID", "dead"], warmup=warmup)
    assert not measure.passed and list(measure.details["failing"]) == ["1m:dead"]


def test_feature_count_and_alignment(eth_1m):
    bars = eth_1m.head(100)
    frame = alpha158(bars)
    assert checks.feature_count(frame.columns, NAMES).passed
    short = checks.feature_count(frame.drop("KMID").columns, NAMES)
    assert not short.passed and short.details["missing"] == ["KMID"]
    assert checks.alignment(bars, frame).passed
    broken = pl.concat([frame.slice(1), frame.tail(1)])
    details = checks.alignment(bars, broken).details
    assert (details["missing_rows"], details["duplicate_rows"]) == (1, 1)
