"""Feature benchmark: Polars/NumPy features against the pandas reference, in one run.

    .venv/bin/python -m benchmarks.bench_features [--quick] [--data DIR]

Prints, for the real ETH/USDT and BTC/USDT 1m series (66,087 bars each) and for 1,000,000 rows
(the ETH series tiled):

- Alpha158 (all 158 features) with ``trading_assets.features.alpha158`` against the pandas
  reference of the tests (``tests/features/reference_pandas.py``) in its fast mode (native
  pandas rolling operators, ``rolling.apply`` only for IdxMax/IdxMin which pandas lacks): wall
  time, speed-up, and peak memory (peak RSS of a fresh process above its RSS after loading the
  input; every measurement runs in its own process);
- the classic indicator set, likewise;
- the incremental update of the classic set for ONE new bar, per symbol (p50/p99 over 300
  consecutive bars), against recomputing the whole series per bar in pandas and in Polars
  (what a system without incremental features does every cycle).

Baselines are measured in the same run. ``--quick`` skips the 1,000,000-row pandas runs (about
a minute). For scale, DESIGN.md quotes Qlib at 1.3 s / 1.1 GB for Alpha158 on the 66,087-row
series on this machine (not measured here: Qlib is not installed).
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
TILED_ROWS = 1_000_000


def _data_dir(arg: str | None) -> Path:
    if arg:
        return Path(arg)
    env = os.environ.get("TRADING_SHARED_DATA")
    return Path(env) if env else REPO.parent / "shared" / "data"


def _load(data: Path, dataset: str):
    import polars as pl

    from trading_assets.sources.files.freqtrade_json import FreqtradeJsonReader

    folder = data / "crypto" / "binance_spot_2023"
    name = {"eth": "ETH_USDT", "btc": "BTC_USDT", "tiled": "ETH_USDT"}[dataset]
    bars = FreqtradeJsonReader(folder / f"{name}-1m.json").read()
    if dataset == "tiled":
        copies = -(-TILED_ROWS // bars.height)
        bars = pl.concat([bars] * copies).head(TILED_ROWS)
        start = bars["ts"][0]
        bars = bars.with_columns((start + pl.duration(minutes=pl.int_range(pl.len()))).alias("ts"))
    return bars


def _rss_mb() -> float:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 1e6


def _worker(args: argparse.Namespace) -> None:
    """One measurement in this (fresh) process; prints a JSON line."""
    sys.path.insert(0, str(REPO))
    bars = _load(Path(args.data), args.dataset)
    impl, family = args.impl, args.family
    if impl == "pandas":
        from tests.features.reference_pandas import alpha158_pandas, classic_pandas

        frame = bars.to_pandas()
        fn = {"alpha158": alpha158_pandas, "classic": classic_pandas}[family]

        def run():
            return fn(frame, exact=False)
    else:
        from trading_assets.features import alpha158, classic

        fn = {"alpha158": alpha158.alpha158, "classic": classic.classic}[family]

        def run():
            return fn(bars)

        run()  # warm up (imports, thread pools) on the same data
    baseline = _rss_mb()
    times = []
    for _ in range(args.repeat):
        start = time.perf_counter()
        out = run()
        times.append(time.perf_counter() - start)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1e3
    print(
        json.dumps(
            {
                "seconds": min(times),
                "rows": len(out),
                "columns": out.shape[1],
                "peak_mb": peak,
                "peak_above_input_mb": max(0.0, peak - baseline),
            }
        )
    )


def _measure(data: Path, dataset: str, family: str, impl: str, repeat: int) -> dict:
    cmd = [
        sys.executable,
        "-m",
        "benchmarks.bench_features",
        "--worker",
        "--data",
        str(data),
        "--dataset",
        dataset,
        "--family",
        family,
        "--impl",
        impl,
        "--repeat",
        str(repeat),
    ]
    proc = subprocess.run(cmd, cwd=REPO, capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed:\n{proc.stderr[-2000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def _incremental(data: Path, dataset: str, bars_count: int = 300) -> dict:
    """Per-bar cost of the classic set: incremental tail vs full recomputes."""
    import numpy as np

    sys.path.insert(0, str(REPO))
    from tests.features.reference_pandas import classic_pandas
    from trading_assets.features.classic import LOOKBACK, classic, classic_tail

    bars = _load(data, dataset)
    full = classic(bars, garch=None)
    first = bars.height - bars_count
    gc.collect()  # do not charge the first bars with the garbage of loading the series
    per_bar = []
    for i in range(first, bars.height):
        context = bars.slice(i - LOOKBACK, LOOKBACK + 1)
        previous = full.row(i - 1, named=True)
        start = time.perf_counter()
        row = classic_tail(context, LOOKBACK, previous, garch=None)
        per_bar.append(time.perf_counter() - start)
        assert row.height == 1
    tail = full.slice(first)
    check = classic_tail(bars.slice(first - LOOKBACK), LOOKBACK, full.row(first - 1, named=True))
    assert check.equals(tail), "incremental rows differ from the full computation"
    frame = bars.to_pandas()
    recompute_pd = min(_timed(lambda: classic_pandas(frame, exact=False)) for _ in range(2))
    recompute_pl = min(_timed(lambda: classic(bars, garch=None)) for _ in range(2))
    return {
        "p50_ms": float(np.percentile(per_bar, 50) * 1e3),
        "p99_ms": float(np.percentile(per_bar, 99) * 1e3),
        "pandas_full_ms": recompute_pd * 1e3,
        "polars_full_ms": recompute_pl * 1e3,
    }


def _timed(fn) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="skip 1M-row pandas baselines")
    parser.add_argument("--data", help="the shared data folder (default ../shared/data)")
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--dataset", help=argparse.SUPPRESS)
    parser.add_argument("--family", help=argparse.SUPPRESS)
    parser.add_argument("--impl", help=argparse.SUPPRESS)
    parser.add_argument("--repeat", type=int, default=1, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    data = _data_dir(args.data)
    if args.worker:
        args.data = str(data)
        _worker(args)
        return

    datasets = [("eth", "ETH/USDT 1m (66,087)"), ("btc", "BTC/USDT 1m (66,087)")]
    datasets.append(("tiled", f"ETH tiled ({TILED_ROWS:,})"))
    header = (
        f"{'family':<9} {'series':<22} {'polars s':>9} {'pandas s':>9} {'speed-up':>9} "
        f"{'polars peak MB (+input)':>24} {'pandas peak MB (+input)':>24}"
    )
    print("Feature computation: trading_assets (Polars + NumPy kernels) vs pandas reference")
    print(header)
    print("-" * len(header))
    totals: dict[str, list[float]] = {}
    for family in ("alpha158", "classic"):
        for dataset, label in datasets:
            ours = _measure(data, dataset, family, "polars", 1 if dataset == "tiled" else 3)
            skip = args.quick and dataset == "tiled"
            ref = None if skip else _measure(data, dataset, family, "pandas", 1)
            if ref:
                total = totals.setdefault(label, [0.0, 0.0])
                total[0] += ours["seconds"]
                total[1] += ref["seconds"]
            speed = f"{ref['seconds'] / ours['seconds']:.1f}x" if ref else "skipped"
            ours_mem = f"{ours['peak_mb']:.0f} (+{ours['peak_above_input_mb']:.0f})"
            ref_mem = f"{ref['peak_mb']:.0f} (+{ref['peak_above_input_mb']:.0f})" if ref else "-"
            ref_s = f"{ref['seconds']:.3f}" if ref else "-"
            print(
                f"{family:<9} {label:<22} {ours['seconds']:>9.3f} {ref_s:>9} {speed:>9} "
                f"{ours_mem:>24} {ref_mem:>24}"
            )
    for label, (ours_s, ref_s) in totals.items():
        print(f"{'both':<9} {label:<22} {ours_s:>9.3f} {ref_s:>9.3f} {ref_s / ours_s:>8.1f}x")
    print("target: >= 10x faster than pandas; Qlib (DESIGN.md): 1.3 s, 1.1 GB on 66,087 rows")
    print()
    print("Incremental classic indicators, one new bar per symbol (300 consecutive bars)")
    header = (
        f"{'symbol':<10} {'p50 ms':>8} {'p99 ms':>8} {'pandas full ms':>15} {'vs p50':>8} "
        f"{'polars full ms':>15} {'vs p50':>8}"
    )
    print(header)
    print("-" * len(header))
    for dataset, label in (("eth", "ETH/USDT"), ("btc", "BTC/USDT")):
        r = _incremental(data, dataset)
        print(
            f"{label:<10} {r['p50_ms']:>8.2f} {r['p99_ms']:>8.2f} {r['pandas_full_ms']:>15.1f} "
            f"{r['pandas_full_ms'] / r['p50_ms']:>7.0f}x {r['polars_full_ms']:>15.1f} "
            f"{r['polars_full_ms'] / r['p50_ms']:>7.0f}x"
        )
    print("target: <= 5 ms per symbol per new bar; incremental rows equal a full recompute")


if __name__ == "__main__":
    main()
