"""Live-bar benchmark: ``.venv/bin/python -m benchmarks.bench_live``.

New real 1h bars, one at a time, land in a home that already holds trained champions: the
``local`` profile over the files of ``../shared/data`` that it reads (symlinks in a throw-away
folder), except that the ETH/USDT 1h series is held back by ``--bars + --live-bars`` hours:
``ETH_USDT-1h.json`` is copied without its last candles, and ``ETH_USDT-1m.json`` /
``ETH_USDT-5m.json`` without their candles from the first held-back hour on (``staging/bars``
derives 1h bars from them; left whole, the held-back hours would already be in the home).
Each bar is written into the inbox as ``trading-assets replay`` writes it. Every figure is
printed against a baseline measured in the same run:

0. **Full run** of that home, ``trading-assets run`` as a process (wall time): the baseline.
   A no-op ``trading-assets refresh`` straight after is printed for reference.
1. **(a) Refresh per bar**: for each of ``--bars`` bars (default 50), replay it, then time
   ``trading-assets refresh --json`` as a process; afterwards ``signals.signals`` must hold a
   ``live`` row for that bar's ts (and ``ml/models`` must not retrain). p50/p95, p50 as a share
   of the full run (target <= 10%), and where the time goes (``wall_s`` of each asset's
   materializations and the runs' wall time, from the Dagster instance; one in-process
   ``plan_refresh`` is timed for reference).
2. **(b) Sensors + declarative automation**: ``trading-assets ui`` runs on 127.0.0.1 with
   ``TRADING_SENSOR_INTERVAL_S=--interval`` (default 1 s; Dagster's sensor daemon wakes every
   5 s, so a sensor ticks about every 5 s); once both sensors ticked and no run
   is in progress, each of ``--live-bars`` further bars (default 10: each costs several
   Dagster runs) is replayed on an idle instance and timed from the file landing to its
   ``live`` signal row being readable in the warehouse (polled read-only every 0.5 s).
   p50/p95 (target p50 <= 20 s on 2 cores), the observed tick spacing of both sensors, and
   the Dagster runs of the last bar (created / started / ended after the landing).
3. **(c) In process (warm process)**: ``Predictor("fwd_ret_1-1h-lightgbm").predict_newest_bar``
   on the stored ETH/USDT 1h bars, plus the one-bar consensus (weighted mean of the 1h
   models' forecasts with their walk-forward IC weights at that bar, taken from the project's
   own ``consensus_signals`` over the stored predictions) and fractional-Kelly sizing on the
   calibrated edge (the shrunk slope of that bar from the same ``consensus_signals``, then
   ``trailing_variance`` + ``banded_kelly``). p50/p99 over ``--iterations`` calls
   (default 10,000; target p99 <= 1 ms), checked against the stored signal of that bar.

``--max-minutes`` (default 8) caps the time spent on each of (a) and (b): the loop stops after
the bar that crosses it and says how many bars it measured (``0``: no cap). ``--data binance``
uses only ``crypto/binance_spot_2023`` (ETH and BTC 1h, 5m, 1m) instead of every file the
local profile reads. ``--keep`` keeps the temp folder.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

from benchmarks.common import print_table, shared_data_dir, verdict

SYMBOL = "ETH/USDT"
TIMEFRAME = "1h"
ETH_1H = Path("crypto/binance_spot_2023/ETH_USDT-1h.json")
#: finer ETH files cut at the first held-back hour (staging derives 1h bars from them)
ETH_FINER = (
    Path("crypto/binance_spot_2023/ETH_USDT-1m.json"),
    Path("crypto/binance_spot_2023/ETH_USDT-5m.json"),
)
MODEL = "fwd_ret_1-1h-lightgbm"
#: variables of a developer's shell that must not reach the benchmark's home
SHELL_ENV = (
    "TRADING_NEWS_FEEDS", "TRADING_NEWS_DIR", "TRADING_SYMBOL_MAP", "ALPACA_API_KEY",
    "ALPACA_SECRET_KEY", "ALPACA_DATA_URL", "TRADING_SENSOR_INTERVAL_S",
    "TRADING_RETRAIN_EVERY_HOURS", "TRADING_RETRAIN_NEW_BARS",
)  # fmt: skip
SIGNAL_SQL = "SELECT kind FROM signals.signals WHERE symbol = ? AND timeframe = ? AND ts = ?"


# -- data and home --------------------------------------------------------------------------
def prepare_data(folder: Path, which: str, held: int) -> tuple[int, datetime]:
    """Symlinks to the files of ``../shared/data`` the local profile reads (``which`` =
    ``full``) or to ``crypto/binance_spot_2023`` (``binance``), with ETH/USDT held back by
    ``held`` hours. Returns (files, open time of the first held-back bar)."""
    from trading_assets.news.files import discover_news_files
    from trading_assets.sources.local_folder import LocalFolderSource

    real = shared_data_dir().resolve()
    if which == "full":
        files = {Path(i.origin) for i in LocalFolderSource(real).items()}
        files |= {Path(p) for p, _ in discover_news_files(real)}
    else:
        files = set((real / ETH_1H.parent).glob("*.json"))
    candles = json.loads((real / ETH_1H).read_text())
    cutoff_ms = candles[-held][0]
    for path in sorted(files):
        relative = path.relative_to(real)
        target = folder / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        if relative == ETH_1H:
            target.write_text(json.dumps(candles[:-held]))
        elif relative in ETH_FINER:
            rows = json.loads(path.read_text())
            target.write_text(json.dumps([r for r in rows if r[0] < cutoff_ms]))
        else:
            target.symlink_to(path)
    return len(files), datetime.fromtimestamp(cutoff_ms / 1000, UTC)


def held_back_bars(held: int) -> tuple[Path, int, list[datetime]]:
    """(real ETH 1h file, its candle count, open times of the last ``held`` candles)."""
    source = shared_data_dir().resolve() / ETH_1H
    candles = json.loads(source.read_text())
    times = [datetime.fromtimestamp(c[0] / 1000, UTC) for c in candles[-held:]]
    return source, len(candles), times


def replay_bar(source: Path, total: int, held: int, index: int, inbox: Path) -> None:
    """Write held-back bar ``index`` (0 = the oldest held back) into the inbox, as
    ``trading-assets replay --limit 1 --skip ...`` does."""
    from trading_assets.replay import replay

    replay(source, inbox, speed=1e6, limit=1, skip=total - held + index, sleep=lambda _: None)


def signal_kind(warehouse: Path, ts: datetime) -> str | None:
    """``kind`` of the stored ETH/USDT 1h signal of bar ``ts`` (None: no row yet). One short
    read-only connection, retried while a writer holds the file."""
    from trading_assets import Warehouse

    rows = Warehouse(warehouse).sql(SIGNAL_SQL, [SYMBOL, TIMEFRAME, ts])
    return rows["kind"][0] if rows.height else None


def percentile(samples: list[float], q: float) -> float:
    return float(np.percentile(np.asarray(samples), q)) if samples else float("nan")


def over_cap(started: float, cap_min: float) -> bool:
    return cap_min > 0 and time.monotonic() - started > cap_min * 60


# -- 0 and (a): processes -----------------------------------------------------------------
def cli(env: dict[str, str], *args: str, log: Path) -> tuple[float, subprocess.CompletedProcess]:
    """Run ``trading-assets ARGS`` (the console script beside this interpreter) to the end;
    (wall seconds, completed process); its stderr is appended to ``log``."""
    exe = Path(sys.executable).with_name("trading-assets")
    start = time.perf_counter()
    done = subprocess.run([str(exe), *args], env=env, capture_output=True, text=True)
    seconds = time.perf_counter() - start
    with log.open("a") as fh:
        fh.write(f"\n$ trading-assets {' '.join(args)} (rc {done.returncode})\n")
        fh.write(done.stdout if args[0] != "refresh" else "")
        fh.write(done.stderr)
    return seconds, done


@dataclass
class PathA:
    seconds: list[float] = field(default_factory=list)
    executed: list[int] = field(default_factory=list)
    missing_live: list[str] = field(default_factory=list)
    retrained: int = 0
    failures: list[str] = field(default_factory=list)
    runs_after: float = 0.0  # wall clock when (a) started, to find its materializations


def run_a(env, home: Path, bars: list[datetime], source: Path, total: int, held: int,
          args, log: Path) -> PathA:  # fmt: skip
    out = PathA(runs_after=time.time())
    started = time.monotonic()
    for i, ts in enumerate(bars):
        replay_bar(source, total, held, i, home / "inbox")
        seconds, done = cli(env, "refresh", "--json", log=log)
        steps = []
        try:
            report = json.loads(done.stdout)
            steps = report["executed"]
            out.failures += report["failures"]
        except (json.JSONDecodeError, KeyError):
            out.failures.append(f"bar {ts:%m-%d %H:%M}: refresh rc {done.returncode}")
        out.retrained += any(s["asset"] == "ml/models" for s in steps)
        kind = signal_kind(home / "warehouse.duckdb", ts)
        if kind != "live":
            out.missing_live.append(f"{ts:%m-%d %H:%M} ({kind or 'no row'})")
        out.seconds.append(seconds)
        out.executed.append(len(steps))
        print(
            f"  (a) bar {i + 1}/{len(bars)} {ts:%Y-%m-%d %H:%M}: refresh {seconds:.1f} s, "
            f"{len(steps)} asset partitions, signal {kind or 'missing'}",
            flush=True,
        )
        if over_cap(started, args.max_minutes) and i + 1 < len(bars):
            print(f"  (a) --max-minutes {args.max_minutes:g} reached: stopping after "
                  f"{i + 1} of {len(bars)} bars")  # fmt: skip
            break
    return out


def asset_breakdown(dagster_home: Path, since: float) -> tuple[list[list[str]], int, float]:
    """Median ``wall_s`` per asset over the materializations stored since ``since`` (the
    metadata every materialization records), dearest first; and the Dagster runs created
    since then with their summed wall time (start to end)."""
    import dagster as dg

    os.environ["DAGSTER_HOME"] = str(dagster_home)
    per_asset: dict[str, list[float]] = {}
    with dg.DagsterInstance.get() as instance:
        runs = instance.get_run_records(
            dg.RunsFilter(created_after=datetime.fromtimestamp(since, UTC))
        )
        run_s = sum(r.end_time - r.start_time for r in runs if r.start_time and r.end_time)
        for key in instance.get_asset_keys():
            records = instance.fetch_materializations(
                dg.AssetRecordsFilter(asset_key=key, after_timestamp=since), limit=10_000
            ).records
            walls = []
            for r in records:
                meta = r.asset_materialization.metadata if r.asset_materialization else {}
                if "wall_s" in meta:
                    walls.append(float(meta["wall_s"].value))
            if walls:
                per_asset["/".join(key.path)] = walls
    rows = sorted(per_asset.items(), key=lambda kv: -statistics.median(kv[1]))
    table = [[k, str(len(v)), f"{statistics.median(v):.2f}"] for k, v in rows]
    return table, len(runs), run_s


def plan_seconds(repeat: int = 3) -> float:
    """Best wall time of one in-process ``plan_refresh`` (Dagster's stale status of every
    asset partition) on the home, definitions already built."""
    from trading_assets.definitions import build_definitions
    from trading_assets.home import ProjectHome
    from trading_assets.refresh import plan_refresh
    from trading_assets.runner import dagster_instance

    instance = dagster_instance(ProjectHome.from_env())
    defs = build_definitions()
    plan_refresh(defs, instance)
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        plan_refresh(defs, instance)
        best = min(best, time.perf_counter() - start)
    return best


# -- (b): the UI, its sensors and automation ----------------------------------------------
_STATE = """
{
  repositoriesOrError { ... on RepositoryConnection { nodes { sensors {
    name sensorState { status ticks(limit: 20) { timestamp status } } } } } }
  runsOrError(filter: {statuses: [QUEUED, NOT_STARTED, STARTING, STARTED, CANCELING]}) {
    ... on Runs { results { runId } } }
}
"""
_RUNS_SINCE = """
query($after: Float) { runsOrError(filter: {createdAfter: $after}) {
  ... on Runs { results { runId status creationTime startTime endTime
    assetSelection { path } tags { key value } } } } }
"""
SENSORS = ("inbox", "automation")


def _run_row(run: dict, landed: float) -> list[str]:
    """created / started / ended (s after ``landed``), trigger and assets of one run."""

    def at(value: float | None) -> str:
        return f"{value - landed:.1f}" if value else "-"

    tags = {t["key"]: t["value"] for t in run.get("tags") or []}
    assets = sorted("/".join(a["path"]) for a in run.get("assetSelection") or [])
    return [
        at(run["creationTime"]), at(run["startTime"]), at(run["endTime"]),
        tags.get("dagster/sensor_name", "?"), ", ".join(assets),
    ]  # fmt: skip


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Ui:
    """``trading-assets ui`` in its own session (default signal handlers), stopped by its
    process group."""

    def __init__(self, env: dict[str, str], log: Path) -> None:
        import httpx

        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = log.open("a")
        exe = Path(sys.executable).with_name("trading-assets")
        cmd = ["env", "--default-signal=INT,TERM,HUP", str(exe), "ui", "--port", str(self.port)]
        self.started = time.time()
        self.proc = subprocess.Popen(
            cmd, env=env, start_new_session=True, stdout=self.log, stderr=self.log
        )
        self.http = httpx.Client(timeout=30)

    def wait_healthy(self, timeout_s: float = 180) -> float:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"trading-assets ui exited (rc {self.proc.returncode})")
            try:
                if self.http.get(f"{self.url}/server_info", timeout=2).status_code == 200:
                    return time.time() - self.started
            except Exception:  # noqa: BLE001 - not answering yet
                pass
            time.sleep(0.5)
        raise RuntimeError(f"trading-assets ui did not answer within {timeout_s:.0f} s")

    def query(self, text: str, variables: dict | None = None) -> dict:
        body = self.http.post(
            f"{self.url}/graphql", json={"query": text, "variables": variables or {}}
        ).json()
        return body.get("data") or {}

    def state(self) -> tuple[dict[str, list[float]], int]:
        """(sensor -> tick timestamps of RUNNING sensors, newest first; runs in progress)."""
        data = self.query(_STATE)
        ticks: dict[str, list[float]] = {}
        for repo in (data.get("repositoriesOrError") or {}).get("nodes", []):
            for s in repo["sensors"]:
                if s["sensorState"]["status"] == "RUNNING":
                    ticks[s["name"]] = [t["timestamp"] for t in s["sensorState"]["ticks"]]
        runs = (data.get("runsOrError") or {}).get("results")
        return ticks, (len(runs) if runs is not None else -1)

    def runs_since(self, after: float) -> list[dict]:
        return (self.query(_RUNS_SINCE, {"after": after}).get("runsOrError") or {}).get(
            "results", []
        )

    def wait_idle(self, quiet_s: float, since: float, timeout_s: float = 900) -> float:
        """Wait until both sensors ticked after ``since`` and no run has been in progress for
        ``quiet_s`` seconds; returns the seconds waited."""
        start = time.monotonic()
        quiet_from = None
        while time.monotonic() - start < timeout_s:
            if self.proc.poll() is not None:
                raise RuntimeError(f"trading-assets ui exited (rc {self.proc.returncode})")
            try:
                ticks, running = self.state()
            except Exception:  # noqa: BLE001 - code location still loading
                ticks, running = {}, -1
            ticked = all(any(t > since for t in ticks.get(s, [])) for s in SENSORS)
            if ticked and running == 0:
                quiet_from = quiet_from or time.monotonic()
                if time.monotonic() - quiet_from >= quiet_s:
                    return time.monotonic() - start
            else:
                quiet_from = None
            time.sleep(1.0)
        raise RuntimeError(f"the instance did not become idle within {timeout_s:.0f} s")

    def stop(self) -> None:
        try:
            os.killpg(self.proc.pid, signal.SIGTERM)
            self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait()
        except ProcessLookupError:
            pass
        self.http.close()
        self.log.close()


@dataclass
class PathB:
    seconds: list[float] = field(default_factory=list)
    runs: list[int] = field(default_factory=list)
    timeouts: list[str] = field(default_factory=list)
    ui_start_s: float = 0.0
    first_idle_s: float = 0.0
    spacing: dict[str, float] = field(default_factory=dict)


def run_b(env, home: Path, bars: list[datetime], first: int, source: Path, total: int,
          held: int, args, log: Path) -> PathB:  # fmt: skip
    from trading_assets.warehouse.connection import WarehouseLockedError

    out = PathB()
    quiet = max(3 * args.interval, 15)
    ui = Ui({**env, "TRADING_SENSOR_INTERVAL_S": str(args.interval)}, log)
    try:
        out.ui_start_s = ui.wait_healthy()
        out.first_idle_s = ui.wait_idle(quiet, ui.started)
        print(f"  (b) ui answered after {out.ui_start_s:.1f} s; sensors ticking and no run in "
              f"progress for {quiet:.0f} s after {out.first_idle_s:.0f} s more")  # fmt: skip
        started = time.monotonic()
        last_runs: list[list[str]] = []
        for n, ts in enumerate(bars):
            if n:
                ui.wait_idle(quiet, 0)
            replay_bar(source, total, held, first + n, home / "inbox")
            landed_wall, landed = time.time(), time.perf_counter()
            kind = None
            while time.perf_counter() - landed < args.bar_timeout:
                try:
                    kind = signal_kind(home / "warehouse.duckdb", ts)
                except WarehouseLockedError:  # a writer held it for a minute: ask again
                    kind = None
                if kind == "live":
                    break
                time.sleep(0.5)
            seconds = time.perf_counter() - landed
            details = ui.runs_since(landed_wall - 1)
            runs = len(details)
            last_runs = [_run_row(r, landed_wall) for r in reversed(details)]
            signal_runs = sum(
                ["signals", "signals"] in [a["path"] for a in r.get("assetSelection") or []]
                for r in details
            )
            if kind == "live":
                out.seconds.append(seconds)
                out.runs.append(runs)
            else:
                out.timeouts.append(f"{ts:%m-%d %H:%M} ({kind or 'no row'})")
            print(
                f"  (b) bar {n + 1}/{len(bars)} {ts:%Y-%m-%d %H:%M}: signal {kind or 'missing'} "
                f"after {seconds:.1f} s; {runs} Dagster runs launched so far, "
                f"{signal_runs} of them with signals/signals",
                flush=True,
            )
            if over_cap(started, args.max_minutes) and n + 1 < len(bars):
                print(f"  (b) --max-minutes {args.max_minutes:g} reached: stopping after "
                      f"{n + 1} of {len(bars)} bars")  # fmt: skip
                break
        if last_runs:
            print_table(
                "(b) the Dagster runs of the last bar, seconds after the file landed "
                f"(signal row seen at {out.seconds[-1] if out.seconds else float('nan'):.1f} s)",
                ["created", "started", "ended", "by", "assets"],
                last_runs,
            )
        try:  # let the bar's remaining runs finish: stopping the ui interrupts them
            ui.wait_idle(quiet, 0, timeout_s=300)
        except RuntimeError as exc:
            print(f"  (b) stopping the ui while runs are in progress: {exc}")
        ticks, _ = ui.state()
        for name in SENSORS:
            stamps = sorted(t for t in ticks.get(name, []) if t > ui.started)
            gaps = np.diff(stamps)
            out.spacing[name] = float(np.median(gaps)) if gaps.size else float("nan")
    finally:
        ui.stop()
    return out


# -- (c): in process ----------------------------------------------------------------------
@dataclass
class OneBarState:
    """What the one-bar consensus needs, precomputed from the stored walk-forward state."""

    ts: datetime
    models: list[str]
    forecasts: np.ndarray  # per-bar forecast of each model (prediction / horizon)
    horizons: np.ndarray
    weights: np.ndarray  # max(IC, 0) at this bar; 0 without an IC
    ics: np.ndarray
    edge_slope: float  # shrunk slope of realized return on the consensus at this bar (0: none)
    served: int  # index of the model the Predictor serves
    stored: dict  # the stored signal of this bar


def one_bar_state(warehouse: Path) -> tuple[OneBarState, object]:
    """The newest ETH/USDT 1h bar's walk-forward state: every 1h model's live forecast and IC
    weight from :func:`consensus_signals` over the stored predictions (as ``signals/signals``
    reads them), and the config of ``signals/signals``."""
    import polars as pl

    from trading_assets.defs.signals.signals import SignalsConfig
    from trading_assets.trading.consensus import consensus_signals, horizon_of
    from trading_assets.warehouse.catalog import read_series
    from trading_assets.warehouse.connection import connect
    from trading_assets.warehouse.predictions import all_predictions

    config = SignalsConfig().consensus_config()
    with connect(warehouse, read_only=True) as con:
        key = (pl.col("symbol") == SYMBOL) & (pl.col("timeframe") == TIMEFRAME)
        predictions = all_predictions(con).filter(key)
        pairs = predictions.select("symbol", "timeframe").unique()
        bars = read_series(con, "staging.bars", pairs, ["open", "close"])
        labels = read_series(con, "features.labels", pairs, ["fwd_ret_1", "fwd_ret_5"])
        regime = read_series(con, "features.regime", pairs, ["regime"])
        stored = con.sql(
            "SELECT * FROM signals.signals WHERE symbol = ? AND timeframe = ? "
            "ORDER BY ts DESC LIMIT 1",
            params=[SYMBOL, TIMEFRAME],
        ).pl()
    result = consensus_signals(predictions, bars, labels, regime, config)
    ts = result.signals["ts"].max()
    at = result.weights.filter(pl.col("ts") == ts).sort("model")
    targets = dict(predictions.select("model", "target").unique().iter_rows())
    horizons = np.array([horizon_of(targets[m]) for m in at["model"]], dtype=np.float64)
    models = at["model"].to_list()
    sized = result.sizing.filter(pl.col("ts") == ts).row(0, named=True)
    calibrated = sized["sizing"] not in ("too_little_history", "no_signal")
    state = OneBarState(
        ts=ts,
        models=models,
        forecasts=at["prediction"].to_numpy() / horizons,
        horizons=horizons,
        weights=at["weight"].to_numpy(),
        ics=at["ic"].fill_null(np.nan).to_numpy(),
        edge_slope=(sized["slope"] or 0.0) * sized["shrink"] if calibrated else 0.0,
        served=models.index(MODEL),
        stored=stored.row(0, named=True) if stored.height else {},
    )
    return state, config


def one_bar_signal(
    forecasts: np.ndarray,
    weights: np.ndarray,
    ics: np.ndarray,
    edge_slope: float,
    close: np.ndarray,
    config,
) -> tuple[int, float, float, float]:
    """(direction, position, consensus, confidence) of one bar, as
    :func:`trading_assets.trading.consensus.consensus_signals` computes them per bar."""
    from trading_assets.trading.sizing import banded_kelly, trailing_variance

    total = weights.sum()
    if total <= 0:
        return 0, 0.0, 0.0, 0.0
    consensus = float(forecasts @ weights) / total
    direction = int(np.sign(consensus))
    confidence = min(max(float(weights @ np.nan_to_num(ics)) / total
                         / config.full_confidence_ic, 0.0), 1.0)  # fmt: skip
    var = trailing_variance(close[-(config.vol_window + 1) :], config.vol_window)[-1:]
    expected = np.array([edge_slope * consensus])
    position = float(banded_kelly(expected, var, config.sizing, config.edge.no_trade_band)[0])
    return direction, (position if direction else 0.0) + 0.0, consensus, confidence


def run_c(home: Path, iterations: int) -> dict:
    import polars as pl

    from trading_assets import Warehouse
    from trading_assets.home import ProjectHome
    from trading_assets.ml.predictor import Predictor

    state, config = one_bar_state(home / "warehouse.duckdb")
    bars = Warehouse(home / "warehouse.duckdb").bars(SYMBOL, TIMEFRAME)
    bars = bars.filter(pl.col("ts") <= state.ts)
    tracking_uri = ProjectHome.from_env().mlflow_tracking_uri
    import mlflow.artifacts  # noqa: F401 - imported before the load is timed

    from trading_assets import mlflow_store
    from trading_assets.ml import pyfunc  # noqa: F401

    mlflow_store.client(tracking_uri)
    predictor = Predictor(MODEL, tracking_uri)
    load_start = time.perf_counter()
    predictor.refresh()
    load_s = time.perf_counter() - load_start
    close = bars["close"].to_numpy()
    forecasts = state.forecasts.copy()

    def decide() -> tuple[int, float, float, float]:
        pred = predictor.predict_newest_bar(bars, SYMBOL)
        forecasts[state.served] = pred / state.horizons[state.served]
        return one_bar_signal(forecasts, state.weights, state.ics, state.edge_slope, close, config)

    def predict_only() -> float:
        return predictor.predict_newest_bar(bars, SYMBOL)

    def timed(*fns: Callable[[], object]) -> list[list[float]]:
        """Microseconds per call of each of ``fns``, called in turn (same conditions)."""
        for _ in range(200):
            for fn in fns:
                fn()
        out: list[list[float]] = [[] for _ in fns]
        clock = time.perf_counter_ns
        for _ in range(iterations):
            for fn, samples in zip(fns, out, strict=True):
                t0 = clock()
                fn()
                samples.append((clock() - t0) / 1e3)
        return out

    served = predictor.predict_newest_bar(bars, SYMBOL) / state.horizons[state.served]
    direction, position, consensus, confidence = decide()
    stored = state.stored
    same = (
        bool(stored)
        and stored["ts"] == state.ts
        and stored["direction"] == direction
        and abs(stored["position"] - position) < 1e-9
        and abs(stored["consensus"] - consensus) < 1e-12
        and abs(stored["confidence"] - confidence) < 1e-9
    )
    whole, predict = timed(decide, predict_only)
    return {
        "ts": state.ts,
        "models": len(state.models),
        "weighted": int((state.weights > 0).sum()),
        "load_ms": load_s * 1e3,
        "served_diff": abs(served - state.forecasts[state.served]),
        "decision": (direction, position, consensus, confidence),
        "stored": stored,
        "matches": same,
        "whole": whole,
        "predict": predict,
    }


def byte_compiled() -> str:
    """Byte-compile the project's modules, as Python does on a user's first import (a shell
    with ``PYTHONDONTWRITEBYTECODE`` set, as CI's may be, would otherwise compile them again
    in every timed process); says so for the printout."""
    import compileall

    import trading_assets

    package = Path(trading_assets.__file__).parent
    ok = compileall.compile_dir(package, quiet=1)
    unset = not os.environ.get("PYTHONDONTWRITEBYTECODE")
    flag = "" if unset else " (PYTHONDONTWRITEBYTECODE is set here)"
    return f"bytecode: {package} compiled before timing{flag}" + ("" if ok else " with errors")


# -- main -----------------------------------------------------------------------------------
def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--bars", type=int, default=50, help="bars for (a)")
    parser.add_argument("--live-bars", type=int, default=10, help="bars for (b)")
    parser.add_argument(
        "--interval", type=int, default=1,
        help="TRADING_SENSOR_INTERVAL_S (Dagster's sensor daemon wakes every 5 s at most)",
    )  # fmt: skip
    parser.add_argument("--max-minutes", type=float, default=8.0, help="cap per path, 0: none")
    parser.add_argument("--bar-timeout", type=float, default=600.0, help="(b) per bar, s")
    parser.add_argument("--iterations", type=int, default=10_000, help="(c) timed calls")
    parser.add_argument("--data", choices=("full", "binance"), default="full")
    parser.add_argument("--skip", default="", help="paths to skip, e.g. 'b' or 'ab'")
    parser.add_argument("--keep", action="store_true", help="keep the temp folder")
    args = parser.parse_args()
    held = args.bars + args.live_bars
    bench_start = time.monotonic()
    print(f"load average (1/5/15 min) {'/'.join(f'{x:.1f}' for x in os.getloadavg())} on "
          f"{os.cpu_count()} cores (shared with other work: wall times include it)")  # fmt: skip

    root = Path(tempfile.mkdtemp(prefix="bench-live-"))
    home, log = root / "home", root / "processes.log"
    n_files, cutoff = prepare_data(root / "data", args.data, held)
    what = (
        "every file ../shared/data's local profile reads (prices and news)"
        if args.data == "full"
        else "crypto/binance_spot_2023 only (ETH and BTC 1h, 5m, 1m)"
    )
    print(
        f"data: {n_files} files, {what}; ETH/USDT held back from {cutoff:%Y-%m-%d %H:%M} "
        f"UTC ({held} 1h bars: {args.bars} for (a), {args.live_bars} for (b)); home {home}"
    )
    env = {k: v for k, v in os.environ.items() if k not in SHELL_ENV}
    env.update(
        TRADING_PROFILE="local",
        TRADING_DATA_DIR=str(root / "data"),
        TRADING_ASSETS_HOME=str(home),
        DAGSTER_HOME=str(home / "dagster"),
    )
    os.environ.update({k: env[k] for k in ("TRADING_PROFILE", "TRADING_DATA_DIR",
                                           "TRADING_ASSETS_HOME", "DAGSTER_HOME")})  # fmt: skip
    source, total, bar_times = held_back_bars(held)
    print(byte_compiled())

    full_s, done = cli(env, "run", log=log)
    if done.returncode != 0:
        print(f"full run failed (rc {done.returncode}); see {log}:\n{done.stderr[-3000:]}")
        return 1
    print(f"full run: {full_s:.1f} s")
    noop_s, done = cli(env, "refresh", "--json", log=log)
    noop_steps = len(json.loads(done.stdout)["executed"]) if done.returncode == 0 else -1
    print(f"no-op refresh: {noop_s:.1f} s ({noop_steps} executed)")

    rows: list[list[str]] = [
        ["full run, `trading-assets run` (baseline)", f"{full_s:.1f} s", "", "", ""],
        [f"no-op refresh ({noop_steps} executed; reference)", f"{noop_s:.1f} s",
         f"{noop_s / full_s:.1%} of full", "", ""],
    ]  # fmt: skip

    a = None
    if "a" not in args.skip:
        a = run_a(env, home, bar_times[: args.bars], source, total, held, args, log)
        p50, p95 = percentile(a.seconds, 50), percentile(a.seconds, 95)
        ok = a.seconds and not a.missing_live and not a.failures and p50 <= 0.10 * full_s
        rows.append([
            f"(a) refresh per bar, process ({len(a.seconds)} bars)",
            f"p50 {p50:.1f} s / p95 {p95:.1f} s", f"p50 {p50 / full_s:.1%} of full",
            "p50 <= 10% of full", verdict(bool(ok)),
        ])  # fmt: skip
        rows.append([
            "(a) bars with a live signal after refresh", f"{len(a.seconds) - len(a.missing_live)}"
            f"/{len(a.seconds)}", f"retrained {a.retrained}x",
            "every bar, no retraining",
            verdict(not a.missing_live and not a.retrained and not a.failures),
        ])  # fmt: skip
        table, n_runs, run_s = asset_breakdown(home / "dagster", a.runs_after)
        bars_a = max(len(a.seconds), 1)
        print_table(
            f"(a) where a refresh's time goes: wall_s of each asset's materializations "
            f"(median over the {len(a.seconds)} refreshes)",
            ["asset", "mat.", "median wall_s"],
            table,
        )
        print(
            f"(a) per refresh: {n_runs / bars_a:.1f} in-process Dagster runs (one: the new "
            f"file's ingestion and the live lane below it) taking {run_s / bars_a:.1f} s from "
            f"start to end together; the other "
            f"{statistics.mean(a.seconds) - run_s / bars_a:.1f} s of the "
            f"mean {statistics.mean(a.seconds):.1f} s are process start, definitions load, the "
            "no-source check and the plan (on a home a refresh left quiet: the new file's "
            "ingestion, no stale resolution)"
        )
        if a.missing_live or a.failures:
            print(f"(a) no live signal: {a.missing_live}; failures: {a.failures[:5]}")

    if "b" not in args.skip:
        first = len(a.seconds) if a else 0  # the next held-back bar: the series stays whole
        bars_b = bar_times[first : first + args.live_bars]
        try:
            b = run_b(env, home, bars_b, first, source, total, held, args, log)
        except RuntimeError as exc:
            print(f"(b) could not run: {exc}; see {log}")
            b = None
        if b is not None:
            p50, p95 = percentile(b.seconds, 50), percentile(b.seconds, 95)
            ok = b.seconds and not b.timeouts and p50 <= 20.0
            spacing = ", ".join(f"{k} {v:.1f} s" for k, v in b.spacing.items())
            rows.append([
                f"(b) inbox sensor + automation, file -> signal ({len(b.seconds)} bars)",
                f"p50 {p50:.1f} s / p95 {p95:.1f} s",
                f"p50 {p50 / full_s:.1%} of full; "
                f"{statistics.median(b.runs or [0]):.0f} runs until the signal",
                "p50 <= 20 s", verdict(bool(ok)),
            ])  # fmt: skip
            print(f"(b) TRADING_SENSOR_INTERVAL_S={args.interval} (inbox and automation "
                  f"minimum_interval_seconds); observed median tick spacing: {spacing}; "
                  f"ui start {b.ui_start_s:.1f} s; idle wait before the first bar "
                  f"{b.first_idle_s:.0f} s")  # fmt: skip
            if b.timeouts:
                print(f"(b) no live signal within {args.bar_timeout:.0f} s: {b.timeouts}")

    plan_s = plan_seconds()
    rows.insert(2, [
        "one plan_refresh in process (stale status; reference)", f"{plan_s:.1f} s",
        f"{plan_s / full_s:.1%} of full", "", "",
    ])  # fmt: skip

    if "c" not in args.skip:
        c = run_c(home, args.iterations)
        whole, pred = c["whole"], c["predict"]
        d, pos, cons, conf = c["decision"]
        print(
            f"(c) bar {c['ts']:%Y-%m-%d %H:%M}: {c['models']} 1h models, {c['weighted']} with "
            f"IC weight > 0; champion first load {c['load_ms']:.0f} ms; decision direction {d:+d}, "
            f"position {pos:+.4f}, consensus {cons:+.3e}, confidence {conf:.2f}; "
            f"stored signal of that bar: {'same' if c['matches'] else 'DIFFERENT'} "
            f"(served prediction vs stored live prediction: |diff| {c['served_diff']:.1e})"
        )
        p50, p99 = percentile(whole, 50), percentile(whole, 99)
        rows.append([
            f"(c) predict_newest_bar + one-bar consensus + Kelly, {len(whole):,} calls",
            f"p50 {p50:.0f} us / p99 {percentile(whole, 99):.0f} us (warm process)",
            "", "p99 <= 1 ms",
            verdict(p99 <= 1000 and c["matches"]),
        ])  # fmt: skip
        rows.append([
            "    of which predict_newest_bar alone",
            f"p50 {percentile(pred, 50):.0f} us / p99 {percentile(pred, 99):.0f} us "
            "(warm process)", "", "", "",
        ])  # fmt: skip

    print_table(
        f"Live bars: ETH/USDT 1h replayed into a trained home ({args.data} data, local "
        f"profile); load average now {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores",
        ["path", "figure", "vs baseline", "target", "verdict"],
        rows,
    )
    print(
        "(c) includes: the newest-bar features from the stored bars frame and the LightGBM "
        "champion's prediction, the weighted mean of the 1h models' forecasts (the other "
        "models' forecasts of that bar and every IC weight taken as stored/precomputed), "
        "direction, confidence, the trailing variance and the fractional Kelly position. "
        "Not included: reading the bars, the other models' predictions, explanations, "
        "storing the signal."
    )
    print(f"benchmark wall time {(time.monotonic() - bench_start) / 60:.1f} min")
    if args.keep:
        print(f"kept {root}")
    else:
        shutil.rmtree(root, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
