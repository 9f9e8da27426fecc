"""Cross-asset correlation and beta to a reference symbol."""

from __future__ import annotations

import numpy as np
import pandas as pd
import polars as pl

from trading_assets.features.cross_asset import NAMES, cross_asset, reference_symbol


def test_reference_rules():
    crypto = ["ETH/USDT", "BTC/USDT", "XRP/ETH"]
    assert reference_symbol("ETH/USDT", crypto) == "BTC/USDT"
    assert reference_symbol("BTC/USDT", crypto) == "ETH/USDT"
    assert reference_symbol("XRP/ETH", crypto) == "BTC/USDT"  # no BTC/ETH: any BTC pair
    assert reference_symbol("ORCL", ["ORCL", "SPY", "^GSPC"]) == "SPY"
    assert reference_symbol("SPY", ["ORCL", "SPY", "^GSPC"]) == "^GSPC"
    assert reference_symbol("^GSPC", ["^GSPC", "^IXIC"]) == "^IXIC"
    assert reference_symbol("SPY", ["SPY", "ORCL"]) is None
    assert reference_symbol("ETH/USDT", crypto, {"ETH/USDT": "XRP/ETH"}) == "XRP/ETH"


def test_matches_pandas_on_real_eth_and_btc(eth_1m, btc_1m):
    eth, btc = eth_1m.slice(10_000, 3_000), btc_1m.slice(10_000, 3_000)
    out = cross_asset(eth, btc)
    assert out.height == eth.height and out["ref_symbol"].unique().to_list() == ["BTC/USDT"]
    merged = eth.select("ts", "close").join(btc.select("ts", ref="close"), on="ts").to_pandas()
    x, y = np.log(merged["close"]).diff(), np.log(merged["ref"]).diff()
    for n in (20, 60):
        pairs = pd.concat([x, y], axis=1).to_numpy()
        exp_corr, exp_beta = np.full(len(x), np.nan), np.full(len(x), np.nan)
        for i in range(n, len(x)):
            a, b = pairs[i - n + 1 : i + 1, 0], pairs[i - n + 1 : i + 1, 1]
            am, bm = a - a.mean(), b - b.mean()
            with np.errstate(invalid="ignore"):  # flat windows (the trading halt): NaN
                exp_corr[i] = am @ bm / np.sqrt((am @ am) * (bm @ bm))
                exp_beta[i] = am @ bm / (bm @ bm)
        got = out.filter(pl.col("ts").is_in(merged["ts"].to_list()))
        np.testing.assert_allclose(got[f"xa_corr_{n}"].to_numpy(), exp_corr, rtol=1e-9, atol=1e-12)
        np.testing.assert_allclose(got[f"xa_beta_{n}"].to_numpy(), exp_beta, rtol=1e-9, atol=1e-12)
    assert out["xa_corr_60"].drop_nulls().mean() > 0.5  # ETH and BTC move together


def test_bars_without_a_reference_bar_and_no_reference(eth_1m, btc_1m):
    eth = eth_1m.slice(0, 500)
    btc = btc_1m.slice(0, 500).filter(pl.int_range(pl.len()) % 10 != 3)  # holes
    out = cross_asset(eth, btc)
    holes = out.filter(~pl.col("ts").is_in(btc["ts"].to_list()))
    assert holes.height == 50 and holes["xa_corr_20"].null_count() == 50
    alone = cross_asset(eth, None)
    assert alone.height == 500 and all(alone[n].null_count() == 500 for n in NAMES)
