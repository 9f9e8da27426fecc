"""Appending bars recomputes only the tail, with values identical (bitwise) to a full run."""

from __future__ import annotations

import polars as pl
import pytest

from trading_assets.features import incremental as inc
from trading_assets.features.classic import GarchConfig
from trading_assets.features.regime import RegimeConfig

FAMILIES = {
    "alpha158": inc.alpha158_family,
    "classic": lambda: inc.classic_family(GarchConfig(min_obs=252, refit_every=252)),
    "regime": inc.regime_family,
    "labels": inc.labels_family,
}


def _append(family: inc.SeriesFamily, stored: pl.DataFrame, bars: pl.DataFrame, first: int):
    """What an asset does on new bars: compute the tail, replace stored rows from its start."""
    previous = stored.row(first - 1, named=True)
    rows = inc.update(family, bars, first, previous)
    return pl.concat([stored.filter(pl.col("ts") < rows["ts"].min()), rows])


@pytest.mark.parametrize("name", list(FAMILIES))
def test_appending_bars_equals_a_full_recompute(name, eth_1m, gspc_1d):
    family = FAMILIES[name]()
    for bars, cut in ((eth_1m.head(4000), 3000), (gspc_1d.head(1500), 1100)):
        full = family.full(bars)
        stored = family.full(bars.head(cut))
        updated = _append(family, stored, bars, cut)
        assert updated.equals(full), f"{name} on {bars['timeframe'][0]}"


@pytest.mark.parametrize("name", list(FAMILIES))
def test_one_bar_at_a_time_stays_identical(name, btc_1m):
    family = FAMILIES[name]()
    bars = btc_1m.head(2400)
    stored = family.full(bars.head(2380))
    for end in range(2381, 2401):
        stored = _append(family, stored, bars.head(end), end - 1)
    assert stored.equals(family.full(bars))


def test_tail_reads_only_the_lookback(eth_1m):
    """Bars older than the lookback do not matter: garbage there changes nothing."""
    family = inc.alpha158_family()
    bars = eth_1m.head(3000)
    full = family.full(bars)
    mangled = pl.concat(
        [bars.head(2000).with_columns(pl.col("close") * 3, pl.col("volume") * 0), bars.slice(2000)]
    )
    rows = inc.update(family, mangled, 2500, None)
    assert rows.equals(full.slice(2500))


def test_markov_regime_tail_matches_a_full_run(orcl_1d):
    config = RegimeConfig(markov=True, markov_min_obs=400, markov_refit_every=300)
    family = inc.regime_family(config)
    bars = orcl_1d.head(1000)
    full = family.full(bars)
    assert full["markov_p_high"].slice(400).null_count() == 0
    assert _append(family, family.full(bars.head(800)), bars, 800).equals(full)


def test_plan_update(eth_1m):
    bars = eth_1m.head(500)
    mark = inc.Watermark(bars["ts"][399], 400, inc.bars_hash(bars.head(400)), "v1")
    assert inc.plan_update(bars, None, "v1").mode == "full"
    assert inc.plan_update(bars, mark, "v2").reason == "feature code changed"
    plan = inc.plan_update(bars, mark, "v1")
    assert (plan.mode, plan.first_new) == ("append", 400)
    assert inc.plan_update(bars.head(400), mark, "v1").mode == "none"
    corrected = bars.with_columns(
        pl.when(pl.int_range(pl.len()) == 10).then(pl.col("close") + 1).otherwise(pl.col("close"))
    )
    assert inc.plan_update(corrected, mark, "v1").reason == "bars up to the watermark changed"
    assert inc.plan_update(bars.slice(1), mark, "v1").mode == "full"  # an old bar vanished


def test_stateful_update_needs_the_previous_row(eth_1m):
    with pytest.raises(ValueError, match="previous row"):
        inc.update(inc.classic_family(None), eth_1m.head(200), 100, None)
