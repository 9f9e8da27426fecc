"""The window-local kernels: exact, chunk-independent, start-independent."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from trading_assets.features import _windows as W


def test_plan_builds_every_window_from_built_blocks():
    steps = W.plan((5, 10, 20, 30, 60))
    assert steps == [
        (2, 1, 1),
        (4, 2, 2),
        (5, 4, 1),
        (10, 5, 5),
        (20, 10, 10),
        (30, 20, 10),
        (60, 30, 30),
    ]
    built = {1}
    for size, a, b in W.plan((3, 7, 14, 50)):
        assert a in built and b in built and a + b == size
        built.add(size)
    with pytest.raises(ValueError, match=">= 1"):
        W.plan((0, 5))


def _moments(x: np.ndarray, windows, ws=None):
    ws = ws or W.Workspace()
    out = W.moments(x[None, :], windows, [(0, 0)], ws, positional=True)
    return {n: (m.n.copy(), m.mean[0].copy(), m.co[0].copy()) for n, m in out.items()}


def test_moments_match_two_pass_definitions_on_real_prices(btc_1m):
    close = btc_1m["close"].to_numpy()[:3000]
    result = _moments(close, (5, 60))
    for n in (5, 60):
        count, mean, m2 = result[n]
        windows = [close[max(0, i - n + 1) : i + 1] for i in range(close.shape[0])]
        assert np.array_equal(count, [len(w) for w in windows])
        exact_mean = np.array([w.mean() for w in windows])
        exact_m2 = np.array([((w - w.mean()) ** 2).sum() for w in windows])
        np.testing.assert_allclose(mean, exact_mean, rtol=1e-14)
        np.testing.assert_allclose(m2, exact_m2, rtol=1e-9, atol=1e-9 * np.median(exact_m2))


def test_flat_windows_have_exactly_zero_variance():
    x = np.concatenate([np.linspace(100, 101, 50), np.full(80, 1234.5678)])
    count, mean, m2 = _moments(x, (20,))[20]
    assert np.all(m2[70:] == 0.0)
    assert np.all(mean[70:] == 1234.5678)


def test_results_do_not_depend_on_chunking_or_on_where_the_series_starts(eth_1m):
    close = eth_1m["close"].to_numpy()[:5000]
    whole = _moments(close, (5, 60))
    tail = _moments(close[1000:], (5, 60))  # 59 rows of lookback are enough
    for n in (5, 60):
        for a, b in zip(whole[n], tail[n], strict=True):
            assert np.array_equal(a[1000 + 59 :], b[59:])  # bitwise
    parts = {}

    def run(lo, keep_from, hi, ws):
        # the same window set as ``whole``: the merge tree depends on the set
        out = W.moments(close[None, lo:hi], (5, 60), [(0, 0)], ws, positional=True)
        parts[keep_from] = out[60].co[0][keep_from - lo :].copy()

    W.run_chunked(close.shape[0], 59, run, threads=2, chunk_rows=700)
    chunked = np.concatenate([parts[k] for k in sorted(parts)])
    assert np.array_equal(chunked, whole[60][2])


def test_sums_are_exact_for_counts_and_skip_missing_values():
    x = np.array([[1.0, np.nan, 1.0, 1.0, 0.0, 1.0]])
    total, count = W.sums(x, (3,), W.Workspace())[3]
    assert total[0].tolist() == [1.0, 1.0, 2.0, 2.0, 2.0, 2.0]
    assert count[0].tolist() == [1.0, 1.0, 2.0, 2.0, 3.0, 3.0]


def test_argmax_keeps_the_first_occurrence_like_numpy():
    x = np.array([3.0, 5.0, 5.0, 1.0, 5.0, 2.0, 0.0, 0.0])
    ext, lag = W.argmax(x[None, :], (3,), W.Workspace())[3]
    for i in range(x.shape[0]):
        window = x[max(0, i - 2) : i + 1]
        k = window.shape[0]
        assert ext[0, i] == window.max()
        assert k - lag[0, i] == np.argmax(window) + 1  # Qlib's IdxMax, 1-based


def test_rank_averages_ties_like_pandas(eth_1m):
    close = eth_1m["close"].to_numpy()[:2000]
    ranks = W.rank_pct(close, (5, 30), W.Workspace())
    for n in (5, 30):
        expected = pd.Series(close).rolling(n, min_periods=1).rank(pct=True).to_numpy()
        np.testing.assert_array_equal(ranks[n], expected)
