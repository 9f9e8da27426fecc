"""Materialize the asset graph in-process against the project's Dagster instance.

Used by ``trading-assets run``: it discovers the symbols the sources offer, registers them as
partitions, runs the per-symbol assets one symbol at a time and then the unpartitioned assets,
all recorded in the project's Dagster instance so the UI shows the same history. An asset
(partition) with no source on the profile is left out of its run and recorded as a no-source
observation instead (:mod:`trading_assets.defs.no_source`).

With ``workers`` above 1 (``TRADING_EXECUTOR=multiprocess``), the per-symbol runs of a stage
go to that many worker processes (started once, each loading the definitions once), so N
symbols compute on N cores; their DuckDB writes stay short transactions that queue on the
warehouse's writer lock (:mod:`trading_assets.warehouse.connection`). Unpartitioned assets
run in this process between the stages, as before.
"""

from __future__ import annotations

import multiprocessing
import os
import uuid
import warnings
from collections.abc import Callable
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field

import dagster as dg

from trading_assets import dagster_sqlite
from trading_assets.defs.dagster_internals import initialized_resource
from trading_assets.defs.no_source import find_no_source, without
from trading_assets.defs.no_source import record as record_no_source
from trading_assets.errors import UnknownSymbolError
from trading_assets.home import ProjectHome
from trading_assets.sources.inventory import FileReport

QUIET_RUN_CONFIG = {"loggers": {"console": {"config": {"log_level": "ERROR"}}}}


@dataclass
class AssetOutcome:
    """What happened to one asset over a whole ``run``."""

    key: str
    materializations: int = 0
    rows: int = 0
    rows_written: int = 0
    failed_checks: list[str] = field(default_factory=list)
    #: checks that did not pass only to say the data has no source or is historical
    flagged_checks: list[str] = field(default_factory=list)
    data_versions: dict[str, str] = field(default_factory=dict)  # partition ("" if none) -> version


@dataclass
class RunSummary:
    """Result of :func:`materialize`: outcomes per asset and the runs that failed."""

    outcomes: dict[str, AssetOutcome] = field(default_factory=dict)
    failures: list[str] = field(default_factory=list)
    run_ids: list[str] = field(default_factory=list)
    #: (asset, partition or None) left out of the runs: no source on this profile, and why
    no_source: dict[tuple[str, str | None], str] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return not self.failures

    def merge(self, other: RunSummary) -> None:
        """Add ``other`` (a worker's runs) to this summary."""
        for key, theirs in other.outcomes.items():
            ours = self.outcomes.setdefault(key, AssetOutcome(key))
            ours.materializations += theirs.materializations
            ours.rows += theirs.rows
            ours.rows_written += theirs.rows_written
            ours.failed_checks.extend(theirs.failed_checks)
            ours.data_versions.update(theirs.data_versions)
        self.failures.extend(other.failures)
        self.run_ids.extend(other.run_ids)
        self.no_source.update(other.no_source)


def dagster_instance(home: ProjectHome) -> dg.DagsterInstance:
    """The persistent Dagster instance in ``home`` (sets ``DAGSTER_HOME``); on Postgres with
    ``TRADING_POSTGRES_URL`` (:mod:`trading_assets.scale`).

    Raises:
        ConfigurationError: a configured Postgres store is unreachable or refuses the
            credentials (checked before anything is written; the URL shown without password).
    """
    from trading_assets import scale

    scale.check_stores()
    home.ensure()
    dagster_sqlite.install(home.dagster_home)
    os.environ["DAGSTER_HOME"] = str(home.dagster_home)
    return dg.DagsterInstance.get()


def record_result(summary: RunSummary, result: dg.ExecuteInProcessResult) -> None:
    """Add one run's materializations, failed checks and step failures to ``summary``."""
    summary.run_ids.append(result.run_id)
    for event in result.get_asset_materialization_events():
        mat = event.materialization
        key = mat.asset_key.to_user_string()
        outcome = summary.outcomes.setdefault(key, AssetOutcome(key))
        outcome.materializations += 1
        version = mat.tags.get("dagster/data_version") if mat.tags else None
        if version:
            outcome.data_versions[mat.partition or ""] = version
        meta = {k: getattr(v, "value", v) for k, v in mat.metadata.items()}
        outcome.rows += int(meta.get("rows", 0) or 0)
        outcome.rows_written += sum(
            int(meta.get(k, 0) or 0) for k in ("rows_inserted", "rows_updated", "rows_deleted")
        )
    for evaluation in result.get_asset_check_evaluations():
        if not evaluation.passed:
            key = evaluation.asset_key.to_user_string()
            outcome = summary.outcomes.setdefault(key, AssetOutcome(key))
            flagged = {"no_source", "historical"} & set(evaluation.metadata)
            (outcome.flagged_checks if flagged else outcome.failed_checks).append(
                evaluation.check_name
            )
    if not result.success:
        for event in result.all_events:
            if event.is_step_failure:
                err = event.step_failure_data.error
                while err is not None and err.cause is not None:
                    err = err.cause  # the user's exception, not Dagster's wrapper
                summary.failures.append(f"{event.step_key}: {err.message.strip() if err else ''}")
        if not summary.failures:
            summary.failures.append(f"run {result.run_id} failed")


def register_symbols(
    defs: dg.Definitions, instance: dg.DagsterInstance, symbols: list[str] | None = None
) -> list[str]:
    """Add every symbol the sources offer (or ``symbols``, when the caller listed the
    sources already) as a ``symbols`` partition; returns them all."""
    from trading_assets.defs.partitions import SYMBOLS

    if symbols is None:
        # resolve EnvVar fields the way a run would
        price_sources = initialized_resource(defs.resources["price_sources"], instance)
        symbols = price_sources.symbols()
    known = set(instance.get_dynamic_partitions(SYMBOLS.name))
    if new := [s for s in symbols if s not in known]:
        instance.add_dynamic_partitions(SYMBOLS.name, new)
    return symbols


def stages(graph, keys: set[dg.AssetKey]) -> list[list[dg.AssetKey]]:
    """Split ``keys`` into stages to run in order: a stage holds partitioned and unpartitioned
    assets with no edge between the two kinds inside it (an asset moves one stage past any
    parent whose partitioning differs), so per-symbol assets that read an unpartitioned table
    run after it, and vice versa. Keys keep dependency order within a stage."""
    stage: dict[dg.AssetKey, int] = {}
    for key in graph.toposorted_asset_keys:
        parted = graph.get(key).partitions_def is not None
        stage[key] = max(
            (
                stage[p] + (parted != (graph.get(p).partitions_def is not None))
                for p in graph.get(key).parent_keys
                if p in stage
            ),
            default=0,
        )
    out: list[list[dg.AssetKey]] = [[] for _ in range(max(stage.values(), default=-1) + 1)]
    for key in graph.toposorted_asset_keys:
        if key in keys:
            out[stage[key]].append(key)
    return [s for s in out if s]


#: tag on the runs a worker process executes: the id of the materialize call that sent them
RUNNER_TAG = "trading_assets/runner"
_WORKER: dict = {}


def _worker_start() -> None:
    """Load the definitions and the instance once per worker process (from the environment
    the worker inherited)."""
    from trading_assets.definitions import build_definitions

    warnings.filterwarnings("ignore", category=dg.BetaWarning)
    warnings.filterwarnings("ignore", category=dg.PreviewWarning)
    defs = build_definitions()
    _WORKER["job"] = defs.resolve_implicit_global_asset_job_def()
    _WORKER["instance"] = dagster_instance(ProjectHome.from_env())


def _worker_run(keys: list[list[str]], partition: str, tags: dict[str, str]) -> RunSummary:
    """One per-symbol run in a worker process (see :func:`materialize`)."""
    summary = RunSummary()
    result = _WORKER["job"].execute_in_process(
        instance=_WORKER["instance"],
        partition_key=partition,
        asset_selection=[dg.AssetKey(k) for k in keys],
        raise_on_error=False,
        run_config=QUIET_RUN_CONFIG,
        tags=tags,
    )
    record_result(summary, result)
    return summary


def _fail_orphaned_runs(instance: dg.DagsterInstance, tags: dict[str, str]) -> list[str]:
    """Mark failed the runs a dead worker left STARTED (frees their pool slots); returns
    their partitions."""
    runs = instance.get_runs(
        filters=dg.RunsFilter(statuses=[dg.DagsterRunStatus.STARTED], tags=tags)
    )
    for run in runs:
        instance.report_run_failed(run, "the worker process running it died")
    return [run.tags.get("dagster/partition", "") for run in runs]


class _Workers:
    """The worker processes of one :func:`materialize` call, started on first use."""

    def __init__(self, count: int, instance: dg.DagsterInstance):
        self.count = count
        self.instance = instance
        self.tags = {RUNNER_TAG: uuid.uuid4().hex}
        self.pool: ProcessPoolExecutor | None = None

    def run_stage(self, runs: dict[str, list[dg.AssetKey]], summary: RunSummary):
        """Run each partition's keys (``runs``) across the workers; wait for all of them."""
        if self.pool is None:
            self.pool = ProcessPoolExecutor(
                self.count, multiprocessing.get_context("spawn"), initializer=_worker_start
            )
        futures: dict[Future, str] = {
            self.pool.submit(_worker_run, [list(k.path) for k in keys], p, self.tags): p
            for p, keys in runs.items()
        }
        broken = False
        for future, partition in futures.items():
            try:
                summary.merge(future.result())
            except BrokenProcessPool:
                broken = True
                summary.failures.append(f"{partition}: a worker process died during its run")
        if broken:
            _fail_orphaned_runs(self.instance, self.tags)
            self.close()
            raise _WorkerDied()

    def close(self) -> None:
        if self.pool is not None:
            self.pool.shutdown(wait=True, cancel_futures=True)
            self.pool = None


class _WorkerDied(Exception):
    """A worker process died: the stages after the current one are not run."""


def materialize(
    defs: dg.Definitions,
    instance: dg.DagsterInstance,
    selection: str | None = None,
    symbols: list[str] | None = None,
    on_step: Callable[[str], None] | None = None,
    workers: int = 1,
) -> RunSummary:
    """Materialize ``selection`` (Dagster selection syntax; default every asset).

    Assets run in :func:`stages`; in each, partitioned assets run once per symbol
    (``symbols``, default every symbol the sources offer, all added as partitions) and
    unpartitioned ones in one run. An asset (partition) with no source on the profile
    (:func:`~trading_assets.defs.no_source.find_no_source`) is left out of its run and
    recorded as a no-source observation instead (``RunSummary.no_source``); a run left with
    nothing is not started. ``on_step`` is called with a label before each run
    (progress display). With ``workers`` > 1 the per-symbol runs of a stage run in that many
    worker processes at once (spawned with this process's environment, each building the
    code location from it, so ``defs`` must be the environment's own definitions). A worker
    that dies (killed) fails its run: what it committed stays, its unfinished write is
    rolled back, the later stages do not run, and a re-run completes the work.

    Raises:
        UnknownSymbolError: a requested symbol that no source offers.
    """
    warnings.filterwarnings("ignore", category=dg.BetaWarning)
    warnings.filterwarnings("ignore", category=dg.PreviewWarning)
    graph = defs.resolve_asset_graph()
    job = defs.resolve_implicit_global_asset_job_def()
    # external assets (keys only named as deps, e.g. by a layer not loaded) cannot run
    keys = (
        dg.AssetSelection.from_string(selection).resolve(graph)
        if selection
        else set(graph.get_all_asset_keys())
    ) & set(graph.materializable_asset_keys)
    summary = RunSummary()
    wanted: list[str] = []
    if any(graph.get(k).partitions_def is not None for k in keys):
        offered = register_symbols(defs, instance)
        wanted = symbols or offered
        for symbol in wanted:
            if symbol not in offered:
                raise UnknownSymbolError(symbol, offered, where="price sources")
    found = {
        pair: why
        for pair, why in find_no_source(defs, wanted, instance=instance).items()
        if pair[0] in keys
    }
    record_no_source(instance, found)
    summary.no_source = {(k.to_user_string(), p): why for (k, p), why in found.items()}

    def run(selected: list[dg.AssetKey], partition: str | None) -> None:
        if on_step:
            names = ", ".join(k.to_user_string() for k in selected)
            on_step(f"{partition}: {names}" if partition else names)
        result = job.execute_in_process(
            instance=instance,
            partition_key=partition,
            asset_selection=selected,
            raise_on_error=False,
            run_config=QUIET_RUN_CONFIG,
        )
        record_result(summary, result)

    pool = _Workers(workers, instance) if workers > 1 and len(wanted) > 1 else None
    try:
        for stage in stages(graph, keys):
            partitioned = [k for k in stage if graph.get(k).partitions_def is not None]
            unpartitioned = [k for k in stage if graph.get(k).partitions_def is None]
            per_symbol = {s: without(found, partitioned, s) for s in wanted if partitioned}
            per_symbol = {s: selected for s, selected in per_symbol.items() if selected}
            if pool is not None and per_symbol:
                if on_step:
                    names = ", ".join(k.to_user_string() for k in partitioned)
                    on_step(f"{len(per_symbol)} symbols in {workers} processes: {names}")
                pool.run_stage(per_symbol, summary)
            else:
                for symbol, selected in per_symbol.items():
                    run(selected, symbol)
            if unpartitioned := without(found, unpartitioned, None):
                run(unpartitioned, None)
    except _WorkerDied:
        pass
    finally:
        if pool is not None:
            pool.close()
    return summary


def source_report(defs: dg.Definitions) -> FileReport | None:
    """The state of every file of the data folder and the inbox, as the warehouse records it
    after a run (see :mod:`trading_assets.sources.inventory`); None when the sources have no
    files (the demo and live profiles with an empty inbox)."""
    import polars as pl

    from trading_assets import schemas
    from trading_assets.sources.inventory import file_report
    from trading_assets.warehouse.catalog import read_table

    if "price_sources" not in defs.resources or "warehouse" not in defs.resources:
        return None
    listing = defs.resources["price_sources"].process_config_and_initialize().listing()
    if not (listing.items or listing.ignored or listing.unassigned):
        return None
    try:
        with defs.resources["warehouse"].connect(read_only=True) as con:
            recorded = read_table(con, "ops.source_items")
    except FileNotFoundError:  # nothing ran yet: no file was read
        recorded = pl.DataFrame(schema=schemas.SOURCE_ITEMS_SCHEMA)
    return file_report(listing, recorded)
