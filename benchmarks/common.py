"""Timing, memory and table helpers shared by the benchmarks."""

from __future__ import annotations

import gc
import os
import time
import tracemalloc
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parents[1]


def shared_data_dir() -> Path:
    """``../shared/data`` beside the checkout, or ``$TRADING_SHARED_DATA``."""
    env = os.environ.get("TRADING_SHARED_DATA")
    return Path(env) if env else REPO_ROOT.parent / "shared" / "data"


@dataclass
class Timing:
    """Best wall time in seconds over ``repeat`` runs, and the last run's return value."""

    seconds: float
    value: Any


def best_of(
    fn: Callable[[], Any], repeat: int = 3, setup: Callable[[], Any] | None = None
) -> Timing:
    """Run ``fn`` ``repeat`` times (calling ``setup`` before each, untimed); best wall time."""
    best, value = float("inf"), None
    for _ in range(repeat):
        if setup:
            setup()
        gc.collect()
        start = time.perf_counter()
        value = fn()
        best = min(best, time.perf_counter() - start)
    return Timing(best, value)


def peak_python_mb(fn: Callable[[], Any]) -> float:
    """Peak memory allocated through Python's allocator while ``fn`` runs, in MB (native
    buffers of Polars/DuckDB are not seen; use it to compare Python-heavy baselines)."""
    tracemalloc.start()
    try:
        fn()
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    return peak / 1e6


def print_table(title: str, header: list[str], rows: list[list[Any]]) -> None:
    """Print a plain fixed-width table (readable in CI logs)."""
    cells = [[str(c) for c in row] for row in [header, *rows]]
    widths = [max(len(r[i]) for r in cells) for i in range(len(header))]
    print(f"\n{title}")
    for n, row in enumerate(cells):
        print("  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)))
        if n == 0:
            print("  ".join("-" * w for w in widths))


def verdict(ok: bool) -> str:
    return "PASS" if ok else "FAIL"


def rebased_symbols(shared_data: Path, folder: Path, per_base: int) -> Path:
    """The real ETH/USDT and BTC/USDT 1h bars of ``shared_data`` as ``per_base`` distinct
    symbols each (``ET00/USDT``, ``BT00/USDT``...), freqtrade JSON files in ``folder``: prices
    scaled so each series opens at 100, 110, ... (volumes and times unchanged)."""
    import json

    folder.mkdir(parents=True, exist_ok=True)
    source = shared_data / "crypto" / "binance_spot_2023"
    for base in ("ETH", "BTC"):
        rows = json.loads((source / f"{base}_USDT-1h.json").read_text())
        for i in range(per_base):
            f = (100.0 + 10 * i) / rows[0][1]
            scaled = [[r[0], *(round(x * f, 8) for x in r[1:5]), r[5]] for r in rows]
            (folder / f"{base[:2]}{i:02d}_USDT-1h.json").write_text(json.dumps(scaled))
    return folder
