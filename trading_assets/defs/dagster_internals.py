"""Every private Dagster API the project uses, in one place, each covered by a test
(``tests/defs/test_dagster_internals.py``).

Dagster 1.13 has no public way to get the user function behind an op; the rest of the code
calls these adapters, so a Dagster upgrade that moves an internal breaks one module and its
tests, nothing else.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import dagster as dg


def compute_function(op: dg.OpDefinition) -> Callable[..., Any] | None:
    """The user function an ``@asset``/``@multi_asset``/``@op`` decorator wrapped (None if
    the op was built from a plain compute function)."""
    from dagster._core.definitions.decorators.op_decorator import DecoratedOpFunction

    fn = op.compute_fn
    if isinstance(fn, DecoratedOpFunction):
        return fn.decorated_fn
    return None


def automation_instance(context: dg.AutomationContext) -> dg.DagsterInstance:
    """The instance a custom automation condition is evaluated against (no public accessor
    on ``AutomationContext`` in 1.13)."""
    return context.asset_graph_view.instance


def subset_partitions(subset: Any) -> list[str | None]:
    """The partition keys of an automation candidate subset (``[None]`` for an unpartitioned
    asset in it; no public accessor on ``EntitySubset`` in 1.13)."""
    return sorted(
        (ap.partition_key for ap in subset.expensively_compute_asset_partitions()),
        key=lambda p: p or "",
    )


def subset_of(context: dg.AutomationContext, partitions: list[str | None]) -> Any:
    """The subset of ``context``'s asset holding ``partitions`` (keys as
    :func:`subset_partitions` gives them)."""
    from dagster._core.definitions.events import AssetKeyPartitionKey

    return context.asset_graph_view.get_asset_subset_from_asset_partitions(
        context.key, {AssetKeyPartitionKey(context.key, p) for p in partitions}
    )


def stale_resolver(defs: dg.Definitions, instance: dg.DagsterInstance) -> Any:
    """Dagster's stale-status resolver (what the UI's "stale" uses) over ``defs`` now."""
    from dagster._core.asset_graph_view.asset_graph_view import AssetGraphView, TemporalContext
    from dagster._core.definitions.data_version import CachingStaleStatusResolver
    from dagster._time import get_current_datetime

    graph = defs.resolve_asset_graph()
    view = AssetGraphView(
        temporal_context=TemporalContext(effective_dt=get_current_datetime(), last_event_id=None),
        instance=instance,
        asset_graph=graph,
    )
    return CachingStaleStatusResolver(instance=instance, asset_graph=graph, loading_context=view)


def stale_status(resolver: Any, key: dg.AssetKey, partition: str | None) -> str:
    """``missing``, ``stale`` or ``fresh`` for one asset (partition) by :func:`stale_resolver`."""
    from dagster._core.definitions.data_version import StaleStatus

    status = resolver.get_status(key, partition)
    return {StaleStatus.MISSING: "missing", StaleStatus.STALE: "stale"}.get(status, "fresh")


def check_record_status(record: Any) -> str:
    """``succeeded``, ``failed`` or ``planned`` for an asset check execution record (as
    ``instance.event_log_storage.get_asset_check_execution_history`` returns them)."""
    from dagster._core.storage.asset_check_execution_record import (
        AssetCheckExecutionRecordStatus as Status,
    )

    if record.status == Status.SUCCEEDED:
        return "succeeded"
    if record.status == Status.FAILED:
        return "failed"
    return "planned"
