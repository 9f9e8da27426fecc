"""Labels: forward log returns and directions."""

from __future__ import annotations

import numpy as np

from trading_assets.features.labels import NAMES, labels, labels_tail


def test_forward_returns_and_directions(eth_1m):
    bars = eth_1m.head(1_000)
    out = labels(bars)
    close = bars["close"].to_numpy()
    assert out.columns[3:] == list(NAMES)
    for h in (1, 5):
        expected = np.full(close.shape[0], np.nan)
        expected[:-h] = np.log(close[h:] / close[:-h])
        got = out[f"fwd_ret_{h}"].fill_null(np.nan).to_numpy()
        np.testing.assert_allclose(got, expected, rtol=1e-15)
        assert out[f"fwd_ret_{h}"].tail(h).null_count() == h
        assert np.array_equal(
            out[f"dir_{h}"].drop_nulls().to_numpy(), np.sign(expected[:-h]).astype(int)
        )


def test_tail_restates_the_last_five_bars(eth_1m):
    bars = eth_1m.head(600)
    assert labels_tail(bars, 550).equals(labels(bars).slice(545))
    assert labels(bars.head(0)).height == 0
