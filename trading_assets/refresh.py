"""Materialize only what is stale or missing: the command-line twin of the Dagster UI's
"Materialize stale and missing".

The plan comes from Dagster's own stale-status resolver (code versions, data versions,
missing materializations), per symbol partition, plus the source files Dagster cannot see: a
price file that is new or changed since it was last read (its fingerprint against
``ops.source_items``) re-runs its symbol's ingestion ("new source data"). One case Dagster
does not track is an unpartitioned asset downstream of a partitioned one (say the universal
stream of every symbol's bars); for those edges the parent partitions' data versions before
and after the child's last materialization are compared here.

Execution goes in dependency order from the upstream-most stale level. New source files are
ingested first; where that gives a new data version, everything below runs (new data flows
all the way down: features, live predictions, signals, the report) in as few Dagster runs as
the partitions allow. New files of one symbol are ingested in the same run as everything
below them, the ingestion skipping the rest of the run when they hold nothing new (a file
delivered again); new files of several symbols are ingested first, alone. What is stale only
from a new code version runs alone first, and the plan is made again below it: if it reports
the same data version (a refactor), nothing below it runs. A refresh whose runs all
succeeded leaves nothing stale and remembers it (:mod:`trading_assets.defs.quiet_state`):
the next one, when only new source files landed since (a new bar), plans just their
ingestion, without resolving the whole graph again.

An asset (partition) with no source on the profile (:mod:`trading_assets.defs.no_source`:
say ``raw/ticks`` of a symbol with bars only) is never planned: it is recorded once as a
no-source observation, counts neither as missing nor as stale, and does not hold its
children back; once a source appears (a ticks file lands), it runs as any other.

New data and retraining are two decisions: ``ml/models`` (and its step sibling
``ml/predictions``) re-run for a new code version, when missing, or when the retraining
policy is due (:mod:`trading_assets.defs.ml.retrain`; the reason reads "retraining policy:
..."), never because a new bar arrived; what is stale only below a held-back retraining is
not run either.

On a home a refresh left quiet, a run that retrains nothing (a new bar's ingestion and live
lane) holds the warehouse open for its duration
(:func:`trading_assets.warehouse.connection.held`): its two dozen steps then open no
database file each time they connect. When that run predicts live, a warm process
(:mod:`trading_assets.warm_process`) loads the champions and the chart library on the other
core meanwhile.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import ExitStack, nullcontext
from dataclasses import asdict, dataclass
from pathlib import Path

import dagster as dg

from trading_assets.defs.dagster_internals import (
    initialized_resource,
    stale_resolver,
    stale_status,
)
from trading_assets.defs.keys import LIVE_PREDICTIONS, RAW_KEYS
from trading_assets.defs.no_source import NoSource, find_no_source
from trading_assets.defs.no_source import record as record_no_source
from trading_assets.defs.quiet_state import fingerprint, remember_quiet, still_quiet
from trading_assets.runner import (
    QUIET_RUN_CONFIG,
    RunSummary,
    record_result,
    register_symbols,
    stages,
)
from trading_assets.warehouse.connection import held

#: the reason of an ingestion asset whose source files are new or changed
NEW_SOURCE_DATA = "new source data"
#: plain-words reasons, keyed by Dagster's stale cause category
_CATEGORY_REASON = {
    "CODE": "new code version",
    "DATA": "new upstream data",
    "DEPENDENCIES": "upstream is stale",
}


@dataclass(frozen=True)
class PlannedStep:
    """One asset (partition) to materialize and why (``missing``, ``new code version``,
    ``new upstream data``...)."""

    asset: str
    partition: str | None
    reason: str


def _latest_storage_id(
    instance: dg.DagsterInstance, key: dg.AssetKey, partition: str | None = None, before=None
):
    records = instance.fetch_materializations(
        dg.AssetRecordsFilter(
            asset_key=key,
            asset_partitions=[partition] if partition else None,
            before_storage_id=before,
        ),
        limit=1,
    ).records
    return records[0] if records else None


def _version(record) -> str | None:
    mat = record.asset_materialization if record else None
    return mat.tags.get("dagster/data_version") if mat and mat.tags else None


def _partitioned_parent_changed(
    instance: dg.DagsterInstance, child: dg.AssetKey, parent: dg.AssetKey
) -> bool:
    """Whether any partition of ``parent`` got a new data version since ``child`` last ran."""
    last = _latest_storage_id(instance, child)
    if last is None:
        return False  # missing: reported as such
    newer = instance.fetch_materializations(
        dg.AssetRecordsFilter(asset_key=parent, after_storage_id=last.storage_id), limit=10_000
    ).records
    for partition in {r.partition_key for r in newer}:
        now = _latest_storage_id(instance, parent, partition)
        before = _latest_storage_id(instance, parent, partition, before=last.storage_id)
        if _version(now) != _version(before):
            return True
    return False


def source_items(defs: dg.Definitions, instance: dg.DagsterInstance | None = None) -> list:
    """Every price source item (file) the code location's sources offer now."""
    if "price_sources" not in defs.resources:
        return []
    return initialized_resource(defs.resources["price_sources"], instance).items()


def new_source_items(defs: dg.Definitions, items: list | None = None) -> set[tuple[str, str]]:
    """``(kind, symbol)`` of every price source item (file; default: :func:`source_items`)
    whose fingerprint is not the one ``ops.source_items`` recorded when it was last read, ok
    or not: new or changed files in the data folder or the inbox. Everything counts as new
    before the warehouse exists."""
    from trading_assets.warehouse.catalog import table_exists

    if "warehouse" not in defs.resources:
        return set()
    items = source_items(defs) if items is None else items
    recorded: dict[tuple[str, str], str] = {}
    try:
        with defs.resources["warehouse"].connect(read_only=True) as con:
            if table_exists(con, "ops.source_items"):
                rows = con.execute("SELECT origin, kind, fingerprint FROM ops.source_items")
                recorded = {(o, k): f for o, k, f in rows.fetchall()}
    except FileNotFoundError:
        pass
    return {(i.kind, i.symbol) for i in items if recorded.get((i.origin, i.kind)) != i.fingerprint}


def plan_refresh(
    defs: dg.Definitions,
    instance: dg.DagsterInstance,
    new_items: set[tuple[str, str]] | None = None,
    from_level: int = 0,
    no_source: NoSource | None = None,
) -> list[PlannedStep]:
    """Every stale or missing asset (partition) of ``defs``, in dependency order.

    An asset (partition) with no source on the profile (``no_source``; default
    :func:`~trading_assets.defs.no_source.find_no_source`) is never planned, and a stale
    cause that is one of them does not count: missing on purpose, it is neither missing nor
    stale, and does not hold its children back.

    ``new_items``: the ``(kind, symbol)`` of new source files, when the caller already
    listed them (default: :func:`new_source_items`). ``from_level``: only assets at least
    this deep in the graph (see :func:`_levels`) are planned; :func:`refresh` re-plans from
    below the level it just ran, since nothing above it can have become stale."""
    from trading_assets.defs.ml.retrain import POLICY_ASSETS, retrain_reason
    from trading_assets.defs.partitions import SYMBOLS

    graph = defs.resolve_asset_graph()
    levels = _levels(graph) if from_level else {}
    resolver = stale_resolver(defs, instance)
    symbols = instance.get_dynamic_partitions(SYMBOLS.name)
    plan: list[PlannedStep] = []
    deferred: set[dg.AssetKey] = set()  # stale from new data, held back by the retrain policy
    items = new_source_items(defs) if new_items is None else new_items
    if no_source is None:
        no_source = find_no_source(defs, symbols)
    new_items = {(RAW_KEYS[kind], symbol) for kind, symbol in items if kind in RAW_KEYS}
    for key in graph.toposorted_asset_keys:
        node = graph.get(key)
        if not node.is_materializable:
            continue
        name = key.to_user_string()
        if levels.get(name, from_level) < from_level and key not in POLICY_ASSETS:
            continue  # ran or checked already; the policy assets still decide what is held back
        partitions = symbols if node.partitions_def is not None else [None]
        for partition in partitions:
            if (key, partition) in no_source:
                continue
            status = stale_status(resolver, key, partition)
            if status == "missing":
                plan.append(PlannedStep(name, partition, "missing"))
            elif status == "stale":
                causes = resolver.get_stale_root_causes(
                    key, partition
                ) or resolver.get_stale_causes(key, partition)
                causes = [
                    c
                    for c in causes
                    if c.asset_key not in deferred
                    and (c.asset_key, c.partition_key) not in no_source
                    and (c.dependency_asset_key, c.dependency_partition_key) not in no_source
                ]
                if not causes:
                    continue  # stale only below a deferred retraining
                categories = {c.category.value for c in causes}
                if key in POLICY_ASSETS and "CODE" not in categories:
                    why = retrain_reason(instance)
                    if why is None:
                        deferred.add(key)
                        continue
                    plan.append(PlannedStep(name, partition, f"retraining policy: {why}"))
                    continue
                reasons = sorted({_CATEGORY_REASON.get(c.category.value, c.reason) for c in causes})
                plan.append(PlannedStep(name, partition, ", ".join(reasons) or "stale"))
            elif (key, partition) in new_items:
                plan.append(PlannedStep(name, partition, NEW_SOURCE_DATA))
            elif partition is None:
                changed = [
                    parent
                    for parent in node.parent_keys
                    if graph.get(parent).partitions_def is not None
                    and _partitioned_parent_changed(instance, key, parent)
                ]
                if changed:
                    plan.append(PlannedStep(name, None, "new upstream data"))
    return plan


def refresh(
    defs: dg.Definitions,
    instance: dg.DagsterInstance,
    on_step: Callable[[str], None] | None = None,
) -> tuple[list[PlannedStep], RunSummary]:
    """Materialize stale and missing assets in-process until nothing is stale.

    Returns every step executed (with the reason it was stale when it ran) and the run
    summary. New symbols offered by the sources are registered as partitions first.

    Each pass takes the upstream-most stale level. Steps stale from data (new upstream data,
    missing) run together with everything below them, which their new data is about to make
    stale (:func:`_downstream_of`), in as few Dagster runs as the partitions allow
    (:func:`_runs`). A new bar of one symbol is one run, its ingestion included: a file
    delivered again with the same bars stops the run there (:func:`_batch_and_runs`); new
    files of several symbols are ingested first on their own and what lies below is planned
    from the data versions they gave (:func:`_below_new_versions`). Steps stale only from a
    new code version run alone, and the plan is made again below them, so a refactor that
    leaves their data version unchanged stops there. The retraining policy is asked before
    each pass and again once ``ml/models``' inputs have run.

    A refresh that ends with every run successful leaves nothing stale, and remembers that
    (:mod:`trading_assets.defs.quiet_state`); so does one that finds nothing stale. When
    nothing changed since, it returns at once; when only new source files landed (a new
    bar), their ingestion is the whole plan (:func:`_new_source_steps`): no stale
    resolution of the whole graph.

    The warehouse is held open from the first read (:func:`~trading_assets.warehouse.
    connection.held`): the checks before the plan and a new bar's run share one open of the
    file (each open replays the write-ahead log the last bars left). It is let go before a
    whole plan is resolved and before a run that is not a new bar's, so that other processes
    may use the warehouse meanwhile.
    """
    warehouse_path = initialized_resource(defs.resources["warehouse"], instance).path
    with ExitStack() as hold:
        if Path(warehouse_path).exists():
            hold.enter_context(held(warehouse_path))
        return _refresh(defs, instance, on_step, Path(warehouse_path), hold)


def _refresh(
    defs: dg.Definitions,
    instance: dg.DagsterInstance,
    on_step: Callable[[str], None] | None,
    warehouse_path: Path,
    hold: ExitStack,
) -> tuple[list[PlannedStep], RunSummary]:
    """:func:`refresh` with the warehouse held by ``hold`` until it is closed."""
    from trading_assets.defs.ml.retrain import POLICY_ASSETS, retrain_reason

    offered = source_items(defs, instance)  # listed once: symbols to register, files to ingest
    register_symbols(defs, instance, sorted({i.symbol for i in offered}))
    graph = defs.resolve_asset_graph()
    order = {k.to_user_string(): i for i, k in enumerate(graph.toposorted_asset_keys)}
    levels = _levels(graph)
    policy = {k.to_user_string() for k in POLICY_ASSETS}
    job = defs.resolve_implicit_global_asset_job_def()
    served_cache = _served_cache(defs, instance)
    executed: list[PlannedStep] = []
    summary = RunSummary()
    done: set[tuple[str, str | None]] = set()
    succeeded = True
    new_items = new_source_items(defs, offered)
    from trading_assets.defs.partitions import SYMBOLS

    symbols = instance.get_dynamic_partitions(SYMBOLS.name)
    no_source = find_no_source(defs, symbols, offered, instance)
    record_no_source(instance, no_source)  # before the fingerprint: recorded once
    state = fingerprint(defs, instance)
    quiet = still_quiet(instance, state)
    if not new_items and quiet:
        return [], RunSummary()  # nothing changed since a refresh found nothing stale
    if quiet:  # only new source files changed since then: only their ingestion is stale
        plan = _new_source_steps(instance, new_items, no_source)
    else:
        hold.close()  # resolving the whole graph takes a while: let others use the warehouse
        plan = plan_refresh(defs, instance, new_items, no_source=no_source)
    if not plan:
        remember_quiet(instance, state)
    while plan:
        level = min(levels[s.asset] for s in plan)
        roots = [s for s in plan if levels[s.asset] == level]
        due = retrain_reason(instance)  # the policy may be due before the new data arrives
        batch, replan, runs, through = _batch_and_runs(
            graph, roots, plan, policy, due, order, no_source
        )
        ran_steps: list[PlannedStep] = []
        for partition, steps in runs:
            keys = sorted({s.asset for s in steps}, key=order.__getitem__)
            if on_step:
                on_step(f"{partition + ': ' if partition else ''}{', '.join(keys)}")
            # a new bar on a quiet home, retraining nothing: short, so other processes may wait
            short = quiet and not policy.intersection(keys)
            if not short:
                hold.close()  # a longer run: others wait only as long as each write lasts
            live = short and _predicts_live(keys)
            with held(warehouse_path) if short else nullcontext(), _warm_models(live, served_cache):
                result = job.execute_in_process(
                    instance=instance,
                    partition_key=partition,
                    asset_selection=[dg.AssetKey.from_user_string(k) for k in keys],
                    raise_on_error=False,
                    run_config=_run_config(roots if through else []),
                )
            record_result(summary, result)
            succeeded = succeeded and result.success
            skipped = _skipped_steps(result)
            ran_steps += [s for s in steps if _step_key(graph, s.asset) not in skipped]
            done.update((s.asset, s.partition) for s in steps)
        executed.extend(ran_steps)
        if replan:
            plan = plan_refresh(defs, instance, set(), level + 1, no_source)
        else:
            plan = list(plan)  # what was stale and did not run is still stale
            if not through:  # new files ingested alone: below them if their data changed
                plan += _below_new_versions(graph, instance, roots)
            plan = [s for s in plan if (_key(s.asset), s.partition) not in no_source]
            ran = {dg.AssetKey.from_user_string(s.asset) for s in ran_steps}
            for key in POLICY_ASSETS:
                name = key.to_user_string()
                inputs_ran = ran & set(graph.get(key).parent_keys)
                if (name, None) not in done and inputs_ran and (why := retrain_reason(instance)):
                    plan.append(PlannedStep(name, None, f"retraining policy: {why}"))
        plan = [s for s in plan if (s.asset, s.partition) not in done]
    if executed and succeeded:
        # every stale step ran, and everything its new data made stale: nothing is stale
        remember_quiet(instance, fingerprint(defs, instance))
    return executed, summary


def _batch_and_runs(graph, roots, plan, policy, due, order, no_source):
    """The steps to run with ``roots`` (:func:`_downstream_of`), whether to plan again
    afterwards, their runs (:func:`_runs`) and whether the runs go *through* new source files:
    when every root is a new source file of one symbol and everything below fits one run,
    that run ingests them and runs what lies below, the ingestion stopping it when the files
    hold nothing new (``IngestConfig.stop_when_unchanged``); otherwise the files are ingested
    alone and what lies below is planned from their new data versions
    (:func:`_below_new_versions`)."""

    def batch_of(through: bool):
        batch, replan = _downstream_of(graph, roots, plan, policy, due, through)
        batch = [s for s in batch if (_key(s.asset), s.partition) not in no_source]
        return batch, replan, _runs(graph, batch, order)

    new_files = all(r.reason == NEW_SOURCE_DATA for r in roots)
    if new_files and len({r.partition for r in roots}) == 1 and roots[0].partition:
        batch, replan, runs = batch_of(True)
        if len(runs) == 1 and not replan:
            return batch, replan, runs, True
    return (*batch_of(False), False)


def _run_config(through_roots: list[PlannedStep]) -> dict:
    """The run config of a refresh run: quiet logs, and for the ingestion ``through_roots``
    (see :func:`_batch_and_runs`) a stop when their files hold nothing new."""
    if not through_roots:
        return QUIET_RUN_CONFIG
    stop = {"config": {"stop_when_unchanged": True}}
    ops = {_key(r.asset).to_python_identifier(): stop for r in through_roots}
    return {**QUIET_RUN_CONFIG, "ops": ops}  # an ingestion asset's op is named by its key


def _step_key(graph, asset: str) -> str:
    """The step (op) that materializes ``asset``."""
    return graph.assets_def_for_key(_key(asset)).op.name


def _skipped_steps(result: dg.ExecuteInProcessResult) -> set[str]:
    """Step keys the run skipped (below an ingestion that found nothing new)."""
    return {e.step_key for e in result.all_events if e.event_type_value == "STEP_SKIPPED"}


def _predicts_live(keys: list[str]) -> bool:
    """Whether a run of ``keys`` predicts live (``ml/live_predictions``)."""
    return LIVE_PREDICTIONS.to_user_string() in keys


def _served_cache(defs: dg.Definitions, instance: dg.DagsterInstance) -> tuple[str, Path] | None:
    """The registry URI and served cache folder the live predictions read, if cached."""
    mlflow = initialized_resource(defs.resources["mlflow"], instance)
    folder = mlflow.served_cache_dir
    return (mlflow.tracking_uri, Path(folder)) if folder else None


def _warm_models(live: bool, served: tuple[str, Path] | None):
    """A warm process for a run that predicts live without retraining
    (:mod:`trading_assets.warm_process`): it loads the champions and the chart library
    while the run ingests and builds features. Nothing for other runs."""
    if not live or served is None:
        return nullcontext()
    from trading_assets.warm_process import warmed

    return warmed(*served)


def _new_source_steps(
    instance: dg.DagsterInstance, new_items: set[tuple[str, str]], no_source: NoSource
) -> list[PlannedStep]:
    """The ingestion steps of new source files (``(kind, symbol)``), as :func:`plan_refresh`
    plans them when nothing else is stale: "missing" for a symbol's first file of a kind,
    else "new source data"."""
    steps = []
    for kind, symbol in sorted(new_items):
        key = RAW_KEYS.get(kind)
        if key is None or (key, symbol) in no_source:
            continue
        first = _latest_storage_id(instance, key, symbol) is None
        steps.append(
            PlannedStep(key.to_user_string(), symbol, "missing" if first else NEW_SOURCE_DATA)
        )
    return steps


def _key(name: str) -> dg.AssetKey:
    return dg.AssetKey.from_user_string(name)


def _downstream_of(
    graph,
    roots: list[PlannedStep],
    plan: list[PlannedStep],
    policy: set[str],
    due: str | None,
    through_new_files: bool = False,
) -> tuple[list[PlannedStep], bool]:
    """The steps to run with ``roots`` (with their multi-asset siblings), and whether the
    plan must be made again afterwards.

    Below a root stale from data (or a new source file, with ``through_new_files``), every
    descendant runs too ("new upstream data", or its own reason when ``plan`` has it), also
    one that ran earlier in this refresh (its input is about to change again). Assets under
    the retraining policy (``policy``) that ``plan`` does not hold run only when the policy
    is ``due`` (its reason), else neither they nor what lies only below them run. A
    partitioned child of an unpartitioned step is left to the next plan. Roots stale only
    from a new code version pull nothing below them: the plan is made again once they ran."""
    own = {(s.asset, s.partition): s.reason for s in plan}
    batch: dict[tuple[str, str | None], str] = {}
    queue: list[PlannedStep] = []
    replan = False
    for root in roots:
        for step in [root, *_step_siblings(graph, [root], root.partition, plan)]:
            batch.setdefault((step.asset, step.partition), step.reason)
        if root.reason == _CATEGORY_REASON["CODE"]:
            replan = True
        elif root.reason != NEW_SOURCE_DATA or through_new_files:
            queue.append(root)  # new files alone: see _below_new_versions
    while queue:
        step = queue.pop()
        for child in graph.get(dg.AssetKey.from_user_string(step.asset)).child_keys:
            node = graph.get(child)
            if not node.is_materializable:
                continue
            name = child.to_user_string()
            if node.partitions_def is None:
                partition = None
            elif step.partition is None:
                replan = True  # per-symbol assets below an unpartitioned one: planned next
                continue
            else:
                partition = step.partition
            if (name, partition) in batch:
                continue
            reason = own.get((name, partition), "new upstream data")
            if name in policy and (name, partition) not in own:
                if due is None:
                    continue  # the retraining policy decides again once its inputs ran
                reason = f"retraining policy: {due}"
            batch[(name, partition)] = reason
            queue.append(PlannedStep(name, partition, reason))
            for sibling in _step_siblings(graph, [queue[-1]], partition, plan):
                batch.setdefault((sibling.asset, partition), sibling.reason)
    return [PlannedStep(a, p, r) for (a, p), r in batch.items()], replan


def _below_new_versions(
    graph, instance: dg.DagsterInstance, roots: list[PlannedStep]
) -> list[PlannedStep]:
    """The children of the ``roots`` that read new source files and whose data version
    changed when they ran ("new upstream data"); a file delivered again with the same bars
    stops at its ingestion."""
    below = []
    for root in roots:
        if root.reason != NEW_SOURCE_DATA:
            continue
        key = dg.AssetKey.from_user_string(root.asset)
        now = _latest_storage_id(instance, key, root.partition)
        before = now and _latest_storage_id(instance, key, root.partition, now.storage_id)
        if now is None or _version(now) == _version(before):
            continue
        for child in graph.get(key).child_keys:
            node = graph.get(child)
            if node.is_materializable and not (node.partitions_def and root.partition is None):
                partition = root.partition if node.partitions_def else None
                below.append(PlannedStep(child.to_user_string(), partition, "new upstream data"))
    return below


def _runs(
    graph, steps: list[PlannedStep], order: dict[str, int]
) -> list[tuple[str | None, list[PlannedStep]]]:
    """``steps`` as Dagster runs in execution order: ``(partition key, steps)``.

    Steps go by :func:`~trading_assets.runner.stages`; within a stage, each symbol's
    partitioned steps are one run and the unpartitioned ones join the stage's last run. A
    stage's first run merges into the run before it when their partition keys agree (an
    unpartitioned asset runs in a run of any partition key), so a new bar of one symbol,
    with everything below it, is a single run."""
    keys = {dg.AssetKey.from_user_string(s.asset) for s in steps}
    runs: list[tuple[str | None, list[PlannedStep]]] = []
    for stage in stages(graph, keys):
        names = {k.to_user_string() for k in stage}
        in_stage = [s for s in steps if s.asset in names]
        in_stage.sort(key=lambda s: (s.partition or "", order[s.asset]))
        groups: dict[str | None, list[PlannedStep]] = {}
        for step in in_stage:
            groups.setdefault(step.partition, []).append(step)
        loose = groups.pop(None, [])
        grouped = list(groups.items())
        if loose:
            if grouped:
                grouped[-1] = (grouped[-1][0], grouped[-1][1] + loose)
            else:
                grouped = [(None, loose)]
        for partition, group in grouped:
            if runs and (runs[-1][0] is None or partition in (None, runs[-1][0])):
                runs[-1] = (runs[-1][0] or partition, runs[-1][1] + group)
            else:
                runs.append((partition, group))
    return runs


def _step_siblings(
    graph, steps: list[PlannedStep], partition: str | None, plan: list[PlannedStep]
) -> list[PlannedStep]:
    """The assets a multi-asset step materializes together with the planned ones (a
    multi-asset that cannot be subset runs whole), as steps saying why they run: their own
    reason when ``plan`` has them, else "same step as <asset>"."""
    planned = {s.asset for s in steps}
    extra: dict[str, str] = {}
    own = {s.asset: s.reason for s in plan if s.partition == partition}
    for step in steps:
        for key in graph.get(dg.AssetKey.from_user_string(step.asset)).execution_set_asset_keys:
            name = key.to_user_string()
            if name not in planned:
                extra.setdefault(name, own.get(name, f"same step as {step.asset}"))
    return [PlannedStep(name, partition, reason) for name, reason in extra.items()]


def _levels(graph) -> dict[str, int]:
    """Length of the longest path from a root to each asset, in one pass over the toposort."""
    levels: dict[str, int] = {}
    for key in graph.toposorted_asset_keys:
        parents = [p.to_user_string() for p in graph.get(key).parent_keys if graph.has(p)]
        levels[key.to_user_string()] = 1 + max((levels[p] for p in parents), default=-1)
    return levels


def plan_as_dicts(steps: list[PlannedStep]) -> list[dict]:
    """Steps as plain dicts (for ``--json``)."""
    return [asdict(s) for s in steps]
