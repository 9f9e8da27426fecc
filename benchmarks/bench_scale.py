"""Scale-out benchmark: ``.venv/bin/python -m benchmarks.bench_scale``.

A full ``trading-assets run`` (every asset) on 16 symbols of real 1h bars (the ETH/USDT and
BTC/USDT series of ``../shared/data`` re-based into 8 distinct symbols each, 719 bars each),
from an empty home, twice in the same session:

- **in-process** (the default: one process, one symbol after another), the baseline;
- **multiprocess** (``TRADING_EXECUTOR=multiprocess``, ``TRADING_WORKERS``, default 2): the
  per-symbol runs of each stage in worker processes, DuckDB writes queued on the writer lock.

Printed: the per-symbol stages' wall time (first start to last end of the per-symbol runs,
from the Dagster instance) and the speed-up against in-process (target >= 1.6x on 2 cores);
the whole run's wall time; the peak RSS of the main process, of each worker process (the
largest) and of the whole process tree at once (sampled every 50 ms with psutil); the rows
and size of the warehouse. Also the figures per symbol-series that the README's scaling
table extrapolates from. Both runs use the embedded stores unless ``--postgres URL`` (two
databases ``<URL>`` for Dagster and ``--mlflow URI``) is given. The machine's load average is
printed before and after: figures taken on a busy machine are noisy.
Options: ``--symbols N`` (even, default 16), ``--workers N`` (default 2).
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import psutil

from benchmarks.common import print_table, rebased_symbols, shared_data_dir, verdict

TARGET_SPEEDUP = 1.6


@dataclass
class Sampled:
    """Peak RSS (MB) per process of a tree, and of the whole tree at one instant."""

    per_pid: dict[int, float] = field(default_factory=dict)
    total_mb: float = 0.0


def _sample(root: int, out: Sampled, stop: threading.Event) -> None:
    while not stop.is_set():
        try:
            procs = [psutil.Process(root), *psutil.Process(root).children(recursive=True)]
        except psutil.NoSuchProcess:
            return
        total = 0.0
        for proc in procs:
            try:
                rss = proc.memory_info().rss / 1e6
            except psutil.NoSuchProcess:
                continue
            total += rss
            out.per_pid[proc.pid] = max(out.per_pid.get(proc.pid, 0.0), rss)
        out.total_mb = max(out.total_mb, total)
        stop.wait(0.05)


@dataclass
class Outcome:
    mode: str
    wall_s: float
    stage_s: float
    main_mb: float
    worker_mb: float
    total_mb: float
    rows: int
    size_mb: float


def _stage_seconds(home: Path) -> float:
    """First start to last end of the per-symbol (partitioned) runs in the home's instance."""
    import dagster as dg

    instance = dg.DagsterInstance.from_config(str(home / "dagster"))
    records = [r for r in instance.get_run_records() if "dagster/partition" in r.dagster_run.tags]
    return max(r.end_time for r in records) - min(r.start_time for r in records)


def _warehouse_figures(home: Path) -> tuple[int, float]:
    from trading_assets.warehouse.catalog import existing_tables
    from trading_assets.warehouse.connection import connect

    path = home / "warehouse.duckdb"
    with connect(path, read_only=True) as con:
        rows = sum(
            con.execute(f"SELECT count(*) FROM {t}").fetchone()[0] for t in existing_tables(con)
        )
    return rows, path.stat().st_size / 1e6


def run_once(mode: str, data: Path, root: Path, workers: int, extra: dict[str, str]) -> Outcome:
    """One full ``trading-assets run`` in a fresh home, measured."""
    home = root / mode
    env = {k: v for k, v in os.environ.items() if not k.startswith("TRADING_")}
    env.update(
        TRADING_ASSETS_HOME=str(home), TRADING_PROFILE="local", TRADING_DATA_DIR=str(data),
        TRADING_EXECUTOR=mode, TRADING_WORKERS=str(workers), **extra,
    )  # fmt: skip
    env.pop("DAGSTER_HOME", None)
    cmd = [sys.executable, "-c", "from trading_assets.cli import main; main()", "run"]
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    sampled, stop = Sampled(), threading.Event()
    sampler = threading.Thread(target=_sample, args=(proc.pid, sampled, stop), daemon=True)
    sampler.start()
    output = proc.communicate()[0].decode()
    wall = time.perf_counter() - start
    stop.set()
    sampler.join()
    if proc.returncode != 0:
        raise SystemExit(f"{mode} run failed:\n{output[-3000:]}")
    others = [mb for pid, mb in sampled.per_pid.items() if pid != proc.pid]
    rows, size = _warehouse_figures(home)
    return Outcome(
        mode, wall, _stage_seconds(home), sampled.per_pid.get(proc.pid, 0.0),
        max(others, default=0.0), sampled.total_mb, rows, size,
    )  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--symbols", type=int, default=16)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--postgres", default=None, help="Dagster storage URL (optional)")
    parser.add_argument("--mlflow", default=None, help="MLflow tracking URI (optional)")
    args = parser.parse_args()
    extra = {}
    if args.postgres:
        extra["TRADING_POSTGRES_URL"] = args.postgres
    if args.mlflow:
        extra["TRADING_MLFLOW_TRACKING_URI"] = args.mlflow
    load_before = os.getloadavg()[0]
    with tempfile.TemporaryDirectory(prefix="bench_scale_") as tmp:
        root = Path(tmp)
        data = rebased_symbols(shared_data_dir(), root / "data", per_base=args.symbols // 2)
        base = run_once("in_process", data, root, 1, extra)
        par = run_once("multiprocess", data, root, args.workers, extra)
    load_after = os.getloadavg()[0]
    speedup = base.stage_s / par.stage_s
    rows = [
        [o.mode, f"{o.stage_s:.1f}", f"{o.wall_s:.1f}", f"{o.main_mb:.0f}",
         f"{o.worker_mb:.0f}" if o.worker_mb else "-", f"{o.total_mb:.0f}",
         f"{o.rows:,}", f"{o.size_mb:.1f}"]
        for o in (base, par)
    ]  # fmt: skip
    print_table(
        f"Full run, {args.symbols} symbols x 719 real 1h bars, {os.cpu_count()} cores "
        f"(load average {load_before:.1f} before, {load_after:.1f} after)",
        ["executor", "per-symbol stages s", "whole run s", "main MB", "worker MB (max)",
         "total MB", "warehouse rows", "warehouse MB"],
        rows,
    )  # fmt: skip
    print_table(
        "Targets",
        ["figure", "measured", "target", "verdict"],
        [
            [f"per-symbol speed-up, {args.workers} workers", f"{speedup:.2f}x",
             f">= {TARGET_SPEEDUP}x", verdict(speedup >= TARGET_SPEEDUP)],
            ["whole-run speed-up", f"{base.wall_s / par.wall_s:.2f}x", "-", "-"],
        ],
    )  # fmt: skip
    n = args.symbols
    print_table(
        "Per symbol-series (1h, 719 bars = 30 days), for the README's extrapolation",
        ["figure", "value"],
        [
            ["per-symbol stages, s per symbol on one core", f"{base.stage_s / n:.2f}"],
            ["warehouse rows per symbol", f"{base.rows / n:,.0f}"],
            ["warehouse MB per symbol", f"{base.size_mb / n:.2f}"],
            ["rest of the run (unpartitioned stages), s", f"{base.wall_s - base.stage_s:.1f}"],
        ],
    )
    if load_before > 2.5 or load_after > 2.5:
        print("\nNote: the machine was busy (load average above its 2 cores): noisy figures.")


if __name__ == "__main__":
    main()
