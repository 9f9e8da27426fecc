"""Materialize only what is stale or missing: the command-line twin of the Dagster UI's
"Materialize stale and missing".

The plan comes from Dagster's own stale-status resolver (code versions, data versions,
missing materializations), per symbol partition, plus the source files Dagster cannot see: a
price file that is new or changed since it was last read (its fingerprint against
``ops.source_items``) re-runs its symbol's ingestion ("new source data"). One case Dagster
does not track is an unpartitioned asset downstream of a partitioned one (say the universal
stream of every symbol's bars); for those edges the parent partitions' data versions before
and after the child's last materialization are compared here.

Execution goes in dependency order, one level at a time, and re-plans after each level: if an
upstream asset re-runs and reports the same data version, nothing below it runs.

New data and retraining are two decisions: ``ml/models`` (and its step sibling
``ml/predictions``) re-run for a new code version, when missing, or when the retraining
policy is due (:mod:`trading_assets.defs.ml.retrain`; the reason reads "retraining policy:
..."), never because a new bar arrived; what is stale only below a held-back retraining is
not run either.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass

import dagster as dg

from trading_assets.defs.dagster_internals import stale_resolver, stale_status
from trading_assets.runner import QUIET_RUN_CONFIG, RunSummary, record_result, register_symbols

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


def source_items(defs: dg.Definitions) -> list:
    """Every price source item (file) the code location's sources offer now."""
    if "price_sources" not in defs.resources:
        return []
    return defs.resources["price_sources"].process_config_and_initialize().items()


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
) -> list[PlannedStep]:
    """Every stale or missing asset (partition) of ``defs``, in dependency order.

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
    new_items = {("raw", kind, symbol) for kind, symbol in items}
    for key in graph.toposorted_asset_keys:
        node = graph.get(key)
        if not node.is_materializable:
            continue
        name = key.to_user_string()
        if levels.get(name, from_level) < from_level and key not in POLICY_ASSETS:
            continue  # ran or checked already; the policy assets still decide what is held back
        partitions = symbols if node.partitions_def is not None else [None]
        for partition in partitions:
            status = stale_status(resolver, key, partition)
            if status == "missing":
                plan.append(PlannedStep(name, partition, "missing"))
            elif status == "stale":
                causes = resolver.get_stale_root_causes(
                    key, partition
                ) or resolver.get_stale_causes(key, partition)
                causes = [c for c in causes if c.asset_key not in deferred]
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
            elif (key.path[0], key.path[-1], partition) in new_items:
                plan.append(PlannedStep(name, partition, "new source data"))
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
    """
    offered = source_items(defs)  # listed once: symbols to register, files to ingest
    register_symbols(defs, instance, sorted({i.symbol for i in offered}))
    graph = defs.resolve_asset_graph()
    order = {k.to_user_string(): i for i, k in enumerate(graph.toposorted_asset_keys)}
    levels = _levels(graph)
    job = defs.resolve_implicit_global_asset_job_def()
    executed: list[PlannedStep] = []
    summary = RunSummary()
    done: set[tuple[str, str | None]] = set()
    from_level = 0
    while True:
        # source files are listed once: what they ask for runs in the first level
        items = new_source_items(defs, offered) if not done else set()
        plan = [
            s
            for s in plan_refresh(defs, instance, items, from_level)
            if (s.asset, s.partition) not in done
        ]
        if not plan:
            break
        # the upstream-most level that has work; deeper levels are re-planned afterwards
        level = min(levels[s.asset] for s in plan)
        batch = [s for s in plan if levels[s.asset] == level]
        from_level = level + 1
        by_partition: dict[str | None, list[PlannedStep]] = {}
        for step in batch:
            by_partition.setdefault(step.partition, []).append(step)
        for partition, steps in sorted(by_partition.items(), key=lambda kv: kv[0] or ""):
            steps = steps + _step_siblings(graph, steps, partition, plan)
            keys = sorted({s.asset for s in steps}, key=order.__getitem__)
            if on_step:
                on_step(f"{partition + ': ' if partition else ''}{', '.join(keys)}")
            result = job.execute_in_process(
                instance=instance,
                partition_key=partition,
                asset_selection=[dg.AssetKey.from_user_string(k) for k in keys],
                raise_on_error=False,
                run_config=QUIET_RUN_CONFIG,
            )
            record_result(summary, result)
            executed.extend(steps)
            done.update((s.asset, s.partition) for s in steps)
    return executed, summary


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
