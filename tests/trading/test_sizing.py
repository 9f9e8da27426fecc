"""Sizing: fractional Kelly on the edge calibrated walk-forward from realized (signal,
return) pairs, caps, the no-trade band, and the trailing variance behind it; on real ORCL
daily bars."""

from __future__ import annotations

import numpy as np
import pytest

from trading_assets.trading.sizing import (
    IN_BAND,
    NO_EDGE,
    NO_SIGNAL,
    SIZED,
    TOO_LITTLE_HISTORY,
    EdgeSizing,
    KellySizing,
    calibrated_positions,
    engine_returns,
    kelly_positions,
    trailing_variance,
)


def test_fractional_kelly_values_and_caps():
    mu = np.array([0.001, -0.001, 0.01, -0.01, 0.0, np.nan, 0.001])
    var = np.array([0.0004, 0.0004, 0.0004, 0.0004, 0.0004, 0.0004, 0.0])
    sizing = KellySizing(fraction=0.5, max_long=1.0, max_short=0.5)
    got = kelly_positions(mu, var, sizing)
    # 0.5 * 0.001 / 0.0004 = 1.25 -> capped at 1; the short side at 0.5
    np.testing.assert_allclose(got, [1.0, -0.5, 1.0, -0.5, 0.0, 0.0, 0.0])
    small = kelly_positions(np.array([1e-4, -1e-4]), np.array([4e-4, 4e-4]), sizing)
    np.testing.assert_allclose(small, [0.125, -0.125])
    long_only = kelly_positions(mu, var, KellySizing(0.5, long_only=True))
    assert long_only.min() == 0.0 and long_only.max() == 1.0


def test_bad_sizing_is_refused():
    with pytest.raises(ValueError, match="fraction"):
        KellySizing(fraction=0)
    with pytest.raises(ValueError, match="caps"):
        KellySizing(max_long=-1)


def test_trailing_variance_uses_only_past_returns(orcl):
    close = orcl["close"].to_numpy()
    var = trailing_variance(close, 20)
    r = np.diff(np.log(close))
    assert np.isnan(var[:20]).all()
    for t in (20, 21, 1000, close.size - 1):
        np.testing.assert_allclose(var[t], np.var(r[t - 20 : t], ddof=1), rtol=1e-8)
    changed = close.copy()
    changed[1001:] *= 2.0
    np.testing.assert_array_equal(trailing_variance(changed, 20)[:1001], var[:1001])


def _planted(realized: np.ndarray, ic: float, seed: int, scale: float = 1e-3) -> np.ndarray:
    """A signal (per-bar log-return units) whose correlation with the realized return is
    ``ic``: the standardized return plus independent noise. It sees the future by
    construction; only the calibration's estimate of its edge is under test."""
    rng = np.random.default_rng(seed)
    ok = np.isfinite(realized)
    z = np.zeros_like(realized)
    z[ok] = (realized[ok] - realized[ok].mean()) / realized[ok].std()
    return scale * (ic * z + np.sqrt(1 - ic * ic) * rng.normal(size=z.size))


@pytest.fixture(scope="module")
def engine(orcl):
    o, c = orcl["open"].to_numpy(), orcl["close"].to_numpy()
    return o, c, engine_returns(o), trailing_variance(c, 20)


def test_positions_grow_with_the_planted_ic(engine):
    _, _, realized, var = engine
    mean_abs, flat = [], []
    for ic in (0.0, 0.03, 0.06, 0.12, 0.25):
        signal = _planted(realized, ic, seed=11)
        sized = calibrated_positions(signal, realized, var)
        later = sized.position[600:]  # after the first full 500-pair window
        mean_abs.append(np.abs(later).mean())
        flat.append((later == 0).mean())
        # a position never bets against its signal, and stays within the caps
        assert np.all(sized.position * signal >= 0) and np.abs(sized.position).max() <= 1
    assert np.all(np.diff(mean_abs) > 0), mean_abs
    assert mean_abs[0] < 0.05 and flat[0] > 0.85  # no edge: flat nearly always
    assert mean_abs[-1] > 0.6 and flat[-1] < 0.2  # a strong edge: large positions
    assert flat == sorted(flat, reverse=True)


def test_an_unstable_edge_gives_small_positions(engine):
    _, _, realized, var = engine
    stable = _planted(realized, 0.1, seed=12)
    # the same strength, but the sign of its edge flips every 120 bars
    unstable = stable * np.where((np.arange(realized.size) // 120) % 2 == 0, 1.0, -1.0)
    a = np.abs(calibrated_positions(stable, realized, var).position[600:]).mean()
    b = np.abs(calibrated_positions(unstable, realized, var).position[600:]).mean()
    assert b < 0.3 * a


def test_calibration_by_hand_and_no_look_ahead(engine):
    o, c, realized, var = engine
    signal = _planted(realized, 0.12, seed=13)
    edge = EdgeSizing(lookback=300, min_pairs=50, no_trade_band=0.0)
    sized = calibrated_positions(signal, realized, var, KellySizing(), edge)
    from scipy.stats import linregress

    for t in (60, 1000, 3333, c.size - 1):
        window = np.arange(t - 2 + 1)[-300:]  # pairs of bars t - 2 and before
        fit = linregress(signal[window], realized[window])
        assert sized.slope[t] == pytest.approx(fit.slope, rel=1e-8)
        assert sized.t_stat[t] == pytest.approx(fit.slope / fit.stderr, rel=1e-6)
        shrink = max(0.0, 1 - 1 / (fit.slope / fit.stderr) ** 2) if fit.slope > 0 else 0.0
        expected = fit.slope * shrink * signal[t]
        assert sized.expected[t] == pytest.approx(expected, rel=1e-6, abs=1e-15)
        assert sized.position[t] == pytest.approx(np.clip(0.25 * expected / var[t], -1, 1))
    # the position of bar k uses nothing after bar k's close: later opens, closes and
    # signals change nothing before
    k = 2500
    o2, c2, s2 = o.copy(), c.copy(), signal.copy()
    o2[k + 1 :] *= 1.7
    c2[k + 1 :] *= 0.6
    s2[k + 1 :] = -s2[k + 1 :]
    moved = calibrated_positions(
        s2, engine_returns(o2), trailing_variance(c2, 20), KellySizing(), edge
    )
    np.testing.assert_array_equal(moved.position[: k + 1], sized.position[: k + 1])
    assert not np.array_equal(moved.position[k + 1 :], sized.position[k + 1 :])


def test_too_little_history_no_edge_and_the_band_are_flat_with_their_reason(engine):
    _, _, realized, var = engine
    signal = _planted(realized, 0.12, seed=14)
    signal[:50] = np.nan  # no model carried weight yet
    sized = calibrated_positions(signal, realized, var)
    assert set(sized.reason[:50]) == {NO_SIGNAL}
    early = sized.reason == TOO_LITTLE_HISTORY
    # bar 50 + k has the pairs of bars 50 .. 50 + k - 2: 100 of them from bar 151 on
    assert early.sum() == 101 and np.all(sized.position[early] == 0)
    assert sized.pairs[early].max() == 99 and np.flatnonzero(early)[[0, -1]].tolist() == [50, 150]
    reasons = set(sized.reason[200:])
    assert {SIZED, IN_BAND} <= reasons and np.all(sized.position[sized.reason != SIZED] == 0)
    banded = sized.position[sized.reason == SIZED]
    assert np.abs(banded).min() >= 0.05  # the default no-trade band
    against = calibrated_positions(-signal, realized, var)  # a signal pointing the wrong way
    assert np.mean(against.reason[200:] == NO_EDGE) > 0.9 and not against.position.any()
    wide = calibrated_positions(signal, realized, var, edge=EdgeSizing(no_trade_band=0.5))
    assert np.abs(wide.position[wide.position != 0]).min() >= 0.5
    assert (wide.reason == IN_BAND).sum() > (sized.reason == IN_BAND).sum()


def test_bad_calibration_settings_are_refused():
    with pytest.raises(ValueError, match="min_pairs"):
        EdgeSizing(min_pairs=2)
    with pytest.raises(ValueError, match="min_pairs"):
        EdgeSizing(lookback=50, min_pairs=100)
    with pytest.raises(ValueError, match="no_trade_band"):
        EdgeSizing(no_trade_band=1.0)
    with pytest.raises(ValueError, match="differ"):
        calibrated_positions(np.ones(3), np.ones(3), np.ones(2))
