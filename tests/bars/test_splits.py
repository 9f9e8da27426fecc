"""Splits on real raw daily bars (QuantConnect Lean AIG and BAC, neither split- nor
dividend-adjusted): the five real splits are found and adjusted away, the crash days that
look like splits are not, and an ambiguous split is flagged with its date and ratio, never
applied. Corporate actions (yfinance's ``Stock Splits``) are used when a source gives them."""

from __future__ import annotations

import math
from datetime import date
from pathlib import Path

import numpy as np
import polars as pl
import pytest

from trading_assets.bars import quality, splits
from trading_assets.features.labels import labels
from trading_assets.schemas import UTC_TS
from trading_assets.sources.files.lean_csv import LeanCsvReader
from trading_assets.trading.backtest import cliff_adjusted

REAL_SPLITS = {
    "AIG": [(date(1998, 8, 3), "3:2"), (date(1999, 8, 2), "5:4"), (date(2000, 7, 31), "3:2"),
            (date(2009, 7, 1), "1:20")],
    "BAC": [(date(2004, 8, 30), "2:1")],
}  # fmt: skip
#: real market moves that look like splits (SOURCES.md of the formats folder)
TRAPS = {
    "AIG": [date(2008, 9, 15), date(2008, 9, 16), date(2008, 9, 17), date(2008, 9, 19),
            date(2009, 3, 19)],
    "BAC": [date(2008, 9, 15), date(2008, 9, 19), date(2008, 10, 8), date(2009, 2, 27),
            date(2011, 8, 25), date(2020, 3, 16)],
}  # fmt: skip


@pytest.fixture(scope="module")
def raw_splits(shared_data: Path) -> Path:
    return shared_data.parent / "formats" / "raw_splits"


@pytest.fixture(scope="module")
def raw(raw_splits) -> dict[str, pl.DataFrame]:
    return {
        s: LeanCsvReader(
            raw_splits / f"lean_{s.lower()}_daily.csv", symbol=s, timeframe="1d"
        ).read()
        for s in ("AIG", "BAC")
    }


def _on(frame: pl.DataFrame, day: date) -> dict:
    return frame.filter(pl.col("ts").dt.date() == day).row(0, named=True)


@pytest.mark.parametrize("symbol", ["AIG", "BAC"])
def test_the_real_splits_are_found_and_the_crash_days_are_not(raw, symbol):
    adjusted, report = splits.split_adjust(raw[symbol], symbol)
    assert [(s.ex_date, s.label) for s in report.applied] == REAL_SPLITS[symbol]
    assert report.ambiguous == [] and quality.split_findings(report).passed
    found = {s.ex_date for s in report.splits}
    assert not found & set(TRAPS[symbol])

    # the crash days stay returns: AIG fell 58% overnight into 2008-09-15
    def gap(frame: pl.DataFrame, day: date) -> float:
        return _on(frame, day)["open"] / frame.filter(pl.col("ts").dt.date() < day)["close"][-1]

    for day in TRAPS[symbol]:
        assert gap(adjusted, day) == pytest.approx(gap(raw[symbol], day))
    if symbol == "AIG":
        assert gap(adjusted, date(2008, 9, 15)) == pytest.approx(0.584, abs=1e-3)


def test_adjusted_prices_and_volumes(raw):
    adjusted, _ = splits.split_adjust(raw["BAC"], "BAC")
    pre, post = _on(raw["BAC"], date(2004, 8, 27)), _on(adjusted, date(2004, 8, 27))
    assert post["close"] == pytest.approx(pre["close"] / 2) and post["volume"] == pytest.approx(
        pre["volume"] * 2
    )
    assert _on(adjusted, date(2004, 8, 30)) == _on(raw["BAC"], date(2004, 8, 30))  # ex-date on
    # AIG: 3:2 * 5:4 * 3:2 before 1998-08-03, and the 1:20 reverse split multiplies by 20
    aig, _ = splits.split_adjust(raw["AIG"], "AIG")
    factor = _on(aig, date(1998, 7, 31))["close"] / _on(raw["AIG"], date(1998, 7, 31))["close"]
    assert factor == pytest.approx(20 / (1.5 * 1.25 * 1.5))


@pytest.mark.parametrize("symbol", ["AIG", "BAC"])
def test_an_applied_split_is_never_a_return_in_labels_or_backtests(raw, symbol):
    adjusted, report = splits.split_adjust(raw[symbol], symbol)
    raw_labels = labels(raw[symbol]).with_columns(pl.col("ts").dt.date().alias("day"))
    adj_labels = labels(adjusted).with_columns(pl.col("ts").dt.date().alias("day"))
    for split in report.applied:
        last_pre = raw_labels.filter(pl.col("day") < split.ex_date)["day"][-1]
        raw_ret = raw_labels.filter(pl.col("day") == last_pre)["fwd_ret_1"][0]
        adj_ret = adj_labels.filter(pl.col("day") == last_pre)["fwd_ret_1"][0]
        assert abs(raw_ret + math.log(split.ratio)) < 0.25  # the split IS the raw "return"
        assert abs(adj_ret) < 0.25  # AIG's reverse-split day really fell 20% (16.0 vs 20)
    # the backtest engine finds no split-like cliff left to patch
    _, _, cliffs = cliff_adjusted(adjusted["open"].to_numpy(), adjusted["close"].to_numpy())
    assert cliffs.size == 0


def test_an_ambiguous_ratio_is_flagged_with_its_date_and_never_applied(raw):
    aig = raw["AIG"]
    # derived variant: the reverse split's gap moved to x22.4, between 1:20 and 1:25
    after = pl.col("ts").dt.date() >= date(2009, 7, 1)
    scale = 22.4 / 17.433628
    shifted = aig.with_columns(
        [pl.when(after).then(pl.col(c) * scale).otherwise(pl.col(c)).alias(c)
         for c in ("open", "high", "low", "close")]
    )  # fmt: skip
    adjusted, report = splits.split_adjust(shifted, "AIG")
    (flagged,) = report.ambiguous
    assert flagged.ex_date == date(2009, 7, 1) and set(flagged.candidates) == {"1:20", "1:25"}
    # not applied: the day before keeps its raw price (the earlier splits end in 2000)
    assert _on(adjusted, date(2009, 6, 30))["close"] == _on(shifted, date(2009, 6, 30))["close"]
    result = quality.split_findings(report)
    assert not result.passed
    (detail,) = result.metadata["ambiguous"]
    assert detail["ex_date"] == "2009-07-01" and detail["ratio"] in ("1:20", "1:25")
    assert [s.label for s in report.applied] == ["3:2", "5:4", "3:2"]


def test_volume_that_does_not_move_the_splits_way_makes_it_ambiguous(raw):
    bac = raw["BAC"]
    # derived variant: the share volume after the 2:1 split quartered instead of doubling
    after = pl.col("ts").dt.date() >= date(2004, 8, 30)
    odd = bac.with_columns(
        pl.when(after).then(pl.col("volume") / 8).otherwise("volume").alias("volume")
    )
    adjusted, report = splits.split_adjust(odd, "BAC")
    (flagged,) = report.ambiguous
    assert (flagged.ex_date, flagged.label) == (date(2004, 8, 30), "2:1")
    assert "volume" in flagged.reason
    assert adjusted["close"].to_list() == odd["close"].to_list()  # nothing applied


def test_corporate_actions_from_a_yfinance_file(shared_data, monkeypatch):
    """yfinance's 4063-T (Tokyo) file: a 5:1 split on 2023-03-30 in its ``Stock Splits``
    column, and prices Yahoo had already adjusted (no cliff)."""
    monkeypatch.setenv("TRADING_EXCHANGES", "4063-T=XTKS")
    path = shared_data.parent / "formats" / "yfinance_csv" / "4063-T-1d-bad-div.csv"
    table = pl.read_csv(path)
    bars = table.select(
        pl.lit("4063-T").alias("symbol"),
        pl.lit("1d").alias("timeframe"),
        pl.col("Datetime").str.to_datetime("%Y-%m-%d %H:%M:%S%z").dt.convert_time_zone("UTC")
        .cast(UTC_TS).alias("ts"),
        pl.col("Open").alias("open"), pl.col("High").alias("high"), pl.col("Low").alias("low"),
        pl.col("Close").alias("close"), pl.col("Volume").cast(pl.Float64).alias("volume"),
        pl.lit("yfinance_csv").alias("source"),
    )  # fmt: skip
    actions = table.filter(pl.col("Stock Splits") > 0).select(
        pl.col("Datetime").str.slice(0, 10).str.to_date().alias("ex_date"),
        pl.col("Stock Splits").alias("ratio"),
    )
    assert actions.rows() == [(date(2023, 3, 30), 5.0)]
    same, report = splits.split_adjust(bars, "4063-T", actions)
    (split,) = report.splits
    assert (split.status, split.ex_date, split.label) == (
        "adjusted_by_source",
        date(2023, 3, 30),
        "5:1",
    )
    assert same["close"].to_list() == bars["close"].to_list()
    # derived variant: the same file unadjusted (as an exchange feed would send it)
    pre = pl.col("ts") < pl.datetime(2023, 3, 29, 15, time_zone="UTC")  # before 03-30 JST
    unadjusted = bars.with_columns(
        *(pl.when(pre).then(pl.col(c) * 5).otherwise(pl.col(c)).alias(c)
          for c in ("open", "high", "low", "close")),
        pl.when(pre).then(pl.col("volume") / 5).otherwise("volume").alias("volume"),
    )  # fmt: skip
    restored, report = splits.split_adjust(unadjusted, "4063-T", actions)
    assert [(s.status, s.method, s.label) for s in report.splits] == [
        ("applied", "corporate_action", "5:1")
    ]
    assert np.allclose(restored["close"].to_numpy(), bars["close"].to_numpy(), rtol=1e-12)


def test_crypto_indices_and_adjusted_sources_are_left_alone(raw):
    as_yahoo = raw["BAC"].with_columns(pl.lit("yahoo_csv").alias("source"))
    same, report = splits.split_adjust(as_yahoo, "BAC")
    assert report.splits == [] and "already split-adjusted" in report.note
    assert same.equals(as_yahoo)
    as_crypto = raw["BAC"].with_columns(pl.lit("BAC/USD").alias("symbol"))
    assert splits.split_adjust(as_crypto, "BAC/USD")[0].equals(as_crypto)
