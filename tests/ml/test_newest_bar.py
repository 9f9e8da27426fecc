"""The newest-bar fast path computes exactly the Alpha158 values of the full computation,
from the bars up to that bar only."""

import numpy as np
import polars as pl
import pytest

from trading_assets.features import alpha158
from trading_assets.ml.newest_bar import (
    BARS_NEEDED,
    FAST_FEATURES,
    arrays,
    newest_features,
)


@pytest.mark.parametrize("end", [BARS_NEEDED, 200, 719])
def test_equals_full_alpha158_on_real_bars(crypto_1h, end):
    bars = crypto_1h["ETH/USDT"].sort("ts")
    full = alpha158.alpha158(bars).row(end - 1, named=True)
    fast = newest_features(*arrays(bars.head(end)))[0]
    expected = np.array([full[n] for n in FAST_FEATURES], dtype=float)
    np.testing.assert_allclose(fast, expected, rtol=1e-10, atol=1e-14)


def test_later_bars_do_not_change_the_value_and_bad_input_is_clear(crypto_1h):
    bars = crypto_1h["BTC/USDT"].sort("ts")
    cut = bars.head(300)
    spiked = pl.concat([cut, bars.slice(300, 5).with_columns(pl.col("close") * 3)])
    assert np.array_equal(newest_features(*arrays(cut)), newest_features(*arrays(spiked.head(300))))
    with pytest.raises(ValueError, match="need 61 bars"):
        newest_features(*arrays(bars.head(60)))
    with pytest.raises(ValueError, match="'CORR5' is not in the newest-bar fast set"):
        newest_features(*arrays(bars), names=["KMID", "CORR5"])


def test_rows_of_the_last_bars_equal_full_alpha158(crypto_1h):
    """A sequence model's window: the features of each of the last 32 bars at once."""
    bars = crypto_1h["BTC/USDT"].sort("ts").head(400)
    full = alpha158.alpha158(bars).tail(32).select(FAST_FEATURES).to_numpy()
    rows = newest_features(*arrays(bars, BARS_NEEDED + 31), rows=32)
    np.testing.assert_allclose(rows, full, rtol=1e-10, atol=1e-14)
    assert np.array_equal(rows[-1:], newest_features(*arrays(bars)))
    with pytest.raises(ValueError, match="need 92 bars, got 91"):
        newest_features(*arrays(bars, 91), rows=32)
