"""Materialize the asset graph in-process against the project's Dagster instance.

Used by ``trading-assets run``: it discovers the symbols the sources offer, registers them as
partitions, runs the per-symbol assets one symbol at a time and then the unpartitioned assets,
all recorded in the project's Dagster instance so the UI shows the same history.
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field

import dagster as dg

from trading_assets.errors import UnknownSymbolError
from trading_assets.home import ProjectHome

QUIET_RUN_CONFIG = {"loggers": {"console": {"config": {"log_level": "ERROR"}}}}


@dataclass
class AssetOutcome:
    """What happened to one asset over a whole ``run``."""

    key: str
    materializations: int = 0
    rows: int = 0
    rows_written: int = 0
    failed_checks: list[str] = field(default_factory=list)
    data_versions: dict[str, str] = field(default_factory=dict)  # partition ("" if none) -> version


@dataclass
class RunSummary:
    """Result of :func:`materialize`: outcomes per asset and the runs that failed."""

    outcomes: dict[str, AssetOutcome] = field(default_factory=dict)
    failures: list[str] = field(default_factory=list)
    run_ids: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.failures


def dagster_instance(home: ProjectHome) -> dg.DagsterInstance:
    """The persistent Dagster instance in ``home`` (sets ``DAGSTER_HOME``)."""
    home.ensure()
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
            outcome.failed_checks.append(evaluation.check_name)
    if not result.success:
        for event in result.all_events:
            if event.is_step_failure:
                err = event.step_failure_data.error
                while err is not None and err.cause is not None:
                    err = err.cause  # the user's exception, not Dagster's wrapper
                summary.failures.append(f"{event.step_key}: {err.message.strip() if err else ''}")
        if not summary.failures:
            summary.failures.append(f"run {result.run_id} failed")


def register_symbols(defs: dg.Definitions, instance: dg.DagsterInstance) -> list[str]:
    """Add every symbol the sources offer as a ``symbols`` partition; returns them all."""
    from trading_assets.defs.partitions import SYMBOLS

    # resolve EnvVar fields the way a run would
    price_sources = defs.resources["price_sources"].process_config_and_initialize()
    symbols = price_sources.symbols()
    known = set(instance.get_dynamic_partitions(SYMBOLS.name))
    if new := [s for s in symbols if s not in known]:
        instance.add_dynamic_partitions(SYMBOLS.name, new)
    return symbols


def materialize(
    defs: dg.Definitions,
    instance: dg.DagsterInstance,
    selection: str | None = None,
    symbols: list[str] | None = None,
    on_step: Callable[[str], None] | None = None,
) -> RunSummary:
    """Materialize ``selection`` (Dagster selection syntax; default every asset).

    Partitioned assets run once per symbol (``symbols``, default every symbol the sources
    offer, all added as partitions); unpartitioned assets run after them in one run.

    Raises:
        UnknownSymbolError: a requested symbol that no source offers.
    ``on_step`` is called with a label before each run (progress display).
    """
    warnings.filterwarnings("ignore", category=dg.BetaWarning)
    warnings.filterwarnings("ignore", category=dg.PreviewWarning)
    graph = defs.resolve_asset_graph()
    job = defs.resolve_implicit_global_asset_job_def()
    all_keys = graph.get_all_asset_keys()
    keys = dg.AssetSelection.from_string(selection).resolve(graph) if selection else set(all_keys)
    ordered = [k for k in graph.toposorted_asset_keys if k in keys]
    partitioned = [k for k in ordered if graph.get(k).partitions_def is not None]
    unpartitioned = [k for k in ordered if graph.get(k).partitions_def is None]

    summary = RunSummary()
    if partitioned:
        offered = register_symbols(defs, instance)
        wanted = symbols or offered
        for symbol in wanted:
            if symbol not in offered:
                raise UnknownSymbolError(symbol, offered, where="price sources")
        for symbol in wanted:
            if on_step:
                on_step(f"{symbol}: {', '.join(k.to_user_string() for k in partitioned)}")
            result = job.execute_in_process(
                instance=instance,
                partition_key=symbol,
                asset_selection=partitioned,
                raise_on_error=False,
                run_config=QUIET_RUN_CONFIG,
            )
            record_result(summary, result)
    if unpartitioned:
        if on_step:
            on_step(", ".join(k.to_user_string() for k in unpartitioned))
        result = job.execute_in_process(
            instance=instance,
            asset_selection=unpartitioned,
            raise_on_error=False,
            run_config=QUIET_RUN_CONFIG,
        )
        record_result(summary, result)
    return summary
