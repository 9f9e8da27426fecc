"""Backtest benchmark: the vectorized engine against backtesting.py on the same work.

    .venv/bin/python -m benchmarks.bench_backtest [--peer-bars N] [--data DIR]

Work: 1,000,000 one-minute bars x 10 SMA-crossover strategies (long/short, fills at the next
open, 5 bps fees), each giving an equity curve and its metrics. The bars are the real ETH/USDT
2023 1m series (66,087 bars) extended to 1,000,000 by repeating its bar-to-bar log returns and
open gaps (a continuous price path, no jump at the seams).

- ours: ``trading_assets.trading.backtest`` + ``metrics.performance`` per strategy, SMAs
  included, on all 1,000,000 bars x 10 strategies;
- backtesting.py (0.6, ``trade_on_close=False``, ``exclusive_orders=True``, same commission):
  it steps through bars in Python, so it is timed on the first ``--peer-bars`` bars (default
  50,000) for ONE strategy and scaled linearly to 1,000,000 x 10, as the output says. Its
  equity curve on that subset is compared with ours (max absolute difference, equity from 1).
"""

from __future__ import annotations

import argparse
import time
import warnings
from pathlib import Path

import numpy as np

from benchmarks.common import best_of, print_table, shared_data_dir

BARS = 1_000_000
PAIRS = [(5, 20), (10, 30), (10, 50), (20, 60), (20, 100), (30, 90), (50, 150), (50, 200),
         (100, 300), (200, 600)]  # fmt: skip
FEES_BPS = 5.0


def load_prices(data: Path) -> tuple[np.ndarray, np.ndarray]:
    """Open and close arrays of BARS one-minute bars built from ETH/USDT 2023 1m returns."""
    from trading_assets.sources.files.freqtrade_json import FreqtradeJsonReader

    bars = FreqtradeJsonReader(data / "crypto" / "binance_spot_2023" / "ETH_USDT-1m.json").read()
    o, c = bars["open"].to_numpy(), bars["close"].to_numpy()
    ret = np.log(c[1:] / c[:-1])
    gap = np.log(o[1:] / c[:-1])
    reps = -(-(BARS - 1) // ret.size)
    ret, gap = np.tile(ret, reps)[: BARS - 1], np.tile(gap, reps)[: BARS - 1]
    close = c[0] * np.exp(np.concatenate([[0.0], np.cumsum(ret)]))
    open_ = np.concatenate([[o[0]], close[:-1] * np.exp(gap)])
    return open_, close


def sma(x: np.ndarray, n: int) -> np.ndarray:
    out = np.full(x.size, np.nan)
    c = np.concatenate([[0.0], np.cumsum(x)])
    out[n - 1 :] = (c[n:] - c[:-n]) / n
    return out


def _pandas_sma(x: np.ndarray, n: int) -> np.ndarray:
    import pandas as pd

    return pd.Series(x).rolling(n).mean().to_numpy()


def targets(close: np.ndarray, fast: int, slow: int, rolling_mean=sma) -> np.ndarray:
    """+1/-1 on fast/slow SMA, first decision at bar ``slow`` (as backtesting.py starts)."""
    t = np.where(rolling_mean(close, fast) > rolling_mean(close, slow), 1.0, -1.0)
    t[:slow] = 0.0
    return t


def ours(open_: np.ndarray, close: np.ndarray, pairs) -> list[dict]:
    from trading_assets.trading.backtest import backtest
    from trading_assets.trading.metrics import bars_per_year, performance

    per_year = bars_per_year("ETH/USDT", "1m")
    out = []
    for fast, slow in pairs:
        r = backtest(open_, close, targets(close, fast, slow), fees_bps=FEES_BPS)
        out.append(performance(r.returns, r.equity, r.position, r.asset_returns, per_year))
    return out


def peer_equity(open_: np.ndarray, close: np.ndarray, fast: int, slow: int) -> np.ndarray:
    import pandas as pd
    from backtesting import Backtest, Strategy

    class SmaCross(Strategy):
        def init(self):
            self.f = self.I(_pandas_sma, self.data.Close, fast)
            self.s = self.I(_pandas_sma, self.data.Close, slow)

        def next(self):
            if self.f[-1] > self.s[-1]:
                if not self.position.is_long:
                    self.buy()
            elif not self.position.is_short:
                self.sell()

    index = pd.date_range("2023-01-01", periods=close.size, freq="min")
    hi, lo = np.maximum(open_, close), np.minimum(open_, close)
    frame = pd.DataFrame(
        {"Open": open_, "High": hi, "Low": lo, "Close": close, "Volume": 1.0}, index=index
    )
    cash = 1e12
    bt = Backtest(frame, SmaCross, cash=cash, commission=FEES_BPS / 1e4,
                  trade_on_close=False, exclusive_orders=True)  # fmt: skip
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        stats = bt.run()
    return stats._equity_curve["Equity"].to_numpy() / cash


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--peer-bars", type=int, default=50_000)
    parser.add_argument("--data", default=None)
    args = parser.parse_args()
    from trading_assets.trading.backtest import backtest

    open_, close = load_prices(Path(args.data) if args.data else shared_data_dir())
    mine = best_of(lambda: ours(open_, close, PAIRS), repeat=3)
    n = args.peer_bars
    fast, slow = PAIRS[1]
    start = time.perf_counter()
    peer = peer_equity(open_[:n], close[:n], fast, slow)
    peer_s = time.perf_counter() - start
    scaled = peer_s * (BARS / n) * len(PAIRS)
    # the same SMAs as the peer's (pandas rolling means): cumulative-sum SMAs differ by ~1e-12
    # and can flip a near-tie crossing
    same = targets(close[:n], fast, slow, rolling_mean=_pandas_sma)
    check = backtest(open_[:n], close[:n], same, fees_bps=FEES_BPS)
    diff = float(np.max(np.abs(check.equity - peer)))
    work = BARS * len(PAIRS)
    print_table(
        f"Backtest: {BARS:,} bars x {len(PAIRS)} SMA strategies (fills at next open, "
        f"{FEES_BPS:g} bps fees)",
        ["engine", "seconds", "bars x strategies / s", "speed-up"],
        [
            [
                "trading_assets (vectorized)",
                f"{mine.seconds:.3f}",
                f"{work / mine.seconds:,.0f}",
                f"{scaled / mine.seconds:,.0f}x",
            ],
            [
                f"backtesting.py (measured {n:,} bars x 1, scaled x{BARS / n * len(PAIRS):g})",
                f"{scaled:.1f}",
                f"{work / scaled:,.0f}",
                "1x",
            ],
        ],  # fmt: skip
    )
    print(
        f"\nbacktesting.py measured: {peer_s:.2f} s for {n:,} bars x 1 strategy; scaled "
        f"linearly to {BARS:,} x {len(PAIRS)}. Same work on that subset: max |equity "
        f"difference| = {diff:.2e} (equity from 1.0)."
    )


if __name__ == "__main__":
    main()
