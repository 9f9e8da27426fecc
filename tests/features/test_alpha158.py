"""Alpha158: Qlib's names and definitions, checked against a plain pandas reference."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np
import polars as pl
import pytest

from tests.features.reference_pandas import alpha158_pandas, assert_matches
from trading_assets.features.alpha158 import NAMES, WINDOWS, alpha158

QLIB_ROLLING = [
    "ROC",
    "MA",
    "STD",
    "BETA",
    "RSQR",
    "RESI",
    "MAX",
    "MIN",
    "QTLU",
    "QTLD",
    "RANK",
    "RSV",
    "IMAX",
    "IMIN",
    "IMXD",
    "CORR",
    "CORD",
    "CNTP",
    "CNTN",
    "CNTD",
    "SUMP",
    "SUMN",
    "SUMD",
    "VMA",
    "VSTD",
    "WVMA",
    "VSUMP",
    "VSUMN",
    "VSUMD",
]


def test_all_158_qlib_names_in_qlib_order():
    assert len(NAMES) == 158 == len(set(NAMES))
    assert NAMES[:13] == (
        "KMID", "KLEN", "KMID2", "KUP", "KUP2", "KLOW", "KLOW2", "KSFT", "KSFT2",
        "OPEN0", "HIGH0", "LOW0", "VWAP0",
    )  # fmt: skip
    assert list(NAMES[13:]) == [f"{op}{n}" for op in QLIB_ROLLING for n in (5, 10, 20, 30, 60)]


@pytest.mark.parametrize(
    ("series", "start", "rows"),
    [
        ("eth_1m", 0, 400),  # the start of a series: partial windows (min_periods=1)
        ("eth_1m", 10_600, 1_500),  # across the 24 Mar 2023 Binance trading halt (a gap)
        ("btc_1m", 40_000, 1_200),
        ("orcl_1d", 0, 900),  # daily equity bars, 1995-1998
    ],
)
def test_sample_matches_the_pandas_reference_to_1e9(request, series, start, rows):
    bars = request.getfixturevalue(series).slice(start, rows)
    ours = alpha158(bars)
    reference = alpha158_pandas(bars.to_pandas(), exact=True)
    assert ours.height == bars.height
    assert ours["ts"].to_list() == bars["ts"].to_list()
    worst = assert_matches(ours, reference, NAMES, rtol=1e-9)
    # typical agreement is at the level of float64 rounding
    assert np.median(list(worst.values())) < 1e-13


def test_values_by_hand_on_a_tiny_series():
    ts = [datetime(2024, 1, 1, tzinfo=UTC) + timedelta(minutes=i) for i in range(6)]
    bars = pl.DataFrame(
        {
            "ts": ts,
            "open": [10.0, 11.0, 12.0, 11.0, 12.0, 12.0],
            "high": [11.0, 13.0, 13.0, 12.0, 13.0, 12.5],
            "low": [9.0, 10.5, 11.0, 10.0, 11.5, 11.0],
            "close": [11.0, 12.0, 11.0, 12.0, 12.0, 11.5],
            "volume": [100.0, 0.0, 50.0, 50.0, 80.0, 20.0],
        }
    )
    f = alpha158(bars)
    assert f["KMID"][0] == pytest.approx(0.1)
    assert f["KLEN"][0] == pytest.approx(0.2)
    assert f["ROC5"].to_list()[:5] == [None] * 5 and f["ROC5"][5] == pytest.approx(11 / 11.5)
    # first bar: a comparison with the missing previous close is false (Qlib), sums missing
    assert f["CNTP5"][0] == 0.0 and f["SUMP5"][0] is None and f["STD5"][0] is None
    assert f["CNTP5"][5] == pytest.approx(2 / 5)  # ups at bars 1 and 3 in bars 1..5
    # IdxMax over highs 13, 13, 12, 13, 12.5 (bars 1..5): first occurrence = position 1
    assert f["IMAX5"][5] == pytest.approx(1 / 5)
    # RANK: close 11.5 among 12, 11, 12, 12, 11.5 -> (1 below + 1 + 0/2) / 5
    assert f["RANK5"][5] == pytest.approx(2 / 5)
    # previous volume 0: the volume ratio of bar 2 is infinite -> that pair is skipped
    assert f["CORD5"][2] is None  # only one complete pair (bar 3 has none yet)


def test_constant_prices_and_zero_volume_are_missing_only_where_undefined():
    ts = [datetime(2024, 1, 1, tzinfo=UTC) + timedelta(days=i) for i in range(80)]
    bars = pl.DataFrame(
        {"ts": ts, "open": 5.0, "high": 5.0, "low": 5.0, "close": 5.0, "volume": 0.0}
    )
    f = alpha158(bars)
    after = f.slice(61)  # past every warm-up
    missing = [n for n in NAMES if after[n].null_count()]
    # correlations and R-squared of a flat series are undefined (std <= 2e-5): nothing else
    assert sorted(missing) == sorted(f"{op}{n}" for op in ("RSQR", "CORR", "CORD") for n in WINDOWS)
    assert after["STD20"].unique().to_list() == [0.0]
    assert after["BETA60"].unique().to_list() == [0.0]
    assert after["KMID2"].unique().to_list() == [0.0]
    assert after["VMA5"].unique().to_list() == [0.0]


def test_fewer_rows_than_the_longest_window_and_empty_input(eth_1m):
    short = eth_1m.head(7)
    f = alpha158(short)
    assert f.height == 7
    assert f["ROC60"].null_count() == 7 and f["MA60"].null_count() == 0
    assert f["MA60"][6] == pytest.approx(short["close"].mean() / short["close"][6])
    empty = alpha158(eth_1m.head(0))
    assert empty.height == 0 and empty.columns[3:] == list(NAMES)


def test_gaps_are_skipped_over_windows_count_bars(eth_1m):
    bars = eth_1m.slice(10_600, 2_000)
    gap = bars["ts"].diff().dt.total_minutes().max()
    assert gap > 60  # the trading halt is inside
    f = alpha158(bars).slice(61)
    assert all(f[n].null_count() == 0 for n in ("MA60", "STD60", "BETA60", "ROC60", "WVMA60"))


def test_missing_share_on_real_minutes_is_tiny(eth_1m):
    f = alpha158(eth_1m).slice(61)
    shares = {n: f[n].null_count() / f.height for n in NAMES}
    assert max(shares.values()) < 0.005, sorted(shares.items(), key=lambda kv: -kv[1])[:5]


def test_bad_input_is_a_clear_error(eth_1m):
    with pytest.raises(KeyError, match="volume"):
        alpha158(eth_1m.drop("volume"))
    with pytest.raises(ValueError, match="> 0"):
        alpha158(eth_1m.head(10).with_columns(pl.lit(0.0).alias("low")))
    with pytest.raises(ValueError, match="null"):
        alpha158(eth_1m.head(10).with_columns(pl.lit(None, dtype=pl.Float64).alias("close")))


def test_output_has_no_nan_or_inf_only_nulls(btc_1m):
    f = alpha158(btc_1m.head(3000))
    floats = f.select(NAMES)
    assert floats.select(pl.any_horizontal(pl.all().is_nan().any())).item() is False
    assert floats.select(pl.any_horizontal(pl.all().is_infinite().any())).item() is False
    assert np.isfinite(floats.slice(61).drop_nulls().to_numpy()).all()
