"""A resource meter on every materialization, applied centrally in the definitions.

:func:`meter_assets` rebuilds each op-backed :class:`dagster.AssetsDefinition` around a compute
function that runs the original one (Dagster's own coercion of plain returns, generators,
``MaterializeResult``/``Output`` and check results) inside a
:class:`~trading_assets.costs.meter.ResourceMeter`, then adds to the metadata of every
materialization it produced:

- ``wall_s``, ``cpu_s``, ``peak_rss_mb``: what the whole step used
  (see :mod:`trading_assets.costs.meter`);
- ``rows_written``: rows inserted + updated + deleted when the asset reports them
  (:func:`trading_assets.defs.metadata.write_metadata`), else its ``rows``
  (:func:`trading_assets.costs.ledger.rows_written`);
- ``cost_share``: 1 / the number of assets the step materialized (a multi-asset's cost is
  split evenly when it is priced).

Dagster 1.13 has no hook that can add metadata to a materialization (hooks run after the
events are stored), hence the wrapper. Events are buffered until the step's compute ends so
the figures cover all of it; on an exception the events produced so far are still emitted.
Graph-backed assets, asset checks and async ops are passed through unmetered.
"""

from __future__ import annotations

import inspect
from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import Any

import dagster as dg

from trading_assets.costs.ledger import rows_written
from trading_assets.costs.meter import ResourceMeter, Usage
from trading_assets.defs.dagster_internals import op_code_version, op_compute, with_node


def _usage_metadata(metadata: Mapping[str, Any] | None, usage: Usage, share: float) -> dict:
    out = dict(metadata or {})
    out["wall_s"] = dg.MetadataValue.float(round(usage.wall_s, 4))
    out["cpu_s"] = dg.MetadataValue.float(round(usage.cpu_s, 4))
    out["peak_rss_mb"] = dg.MetadataValue.float(round(usage.peak_rss_mb, 1))
    written = rows_written(metadata)
    if written is not None:
        out["rows_written"] = dg.MetadataValue.int(written)
    if share != 1.0:
        out["cost_share"] = dg.MetadataValue.float(share)
    return out


def _is_materialization(event: Any) -> bool:
    return isinstance(event, (dg.Output, dg.MaterializeResult))


def _with_usage(event: Any, usage: Usage, share: float) -> Any:
    if isinstance(event, dg.Output):
        return event.with_metadata(_usage_metadata(event.metadata, usage, share))
    if isinstance(event, dg.MaterializeResult):
        return dg.MaterializeResult(
            asset_key=event.asset_key,
            metadata=_usage_metadata(event.metadata, usage, share),
            check_results=event.check_results,
            data_version=event.data_version,
            tags=event.tags,
            value=event.value,
        )
    return event


def metered_events(events: Iterable[Any]) -> Iterator[Any]:
    """Run ``events`` (a step's event stream) to the end under a meter, then yield them with
    the usage added to each materialization (see the module docstring)."""
    buffered: list[Any] = []
    meter = ResourceMeter()
    error: BaseException | None = None
    with meter:
        try:
            for event in events:
                buffered.append(event)
        except BaseException as exc:  # re-raised below, after the events produced so far
            error = exc
    assert meter.usage is not None
    count = sum(1 for e in buffered if _is_materialization(e))
    share = 1.0 / count if count > 1 else 1.0
    for event in buffered:
        yield _with_usage(event, meter.usage, share)
    if error is not None:
        raise error


def _metered_op(op: dg.OpDefinition) -> dg.OpDefinition:
    inner = op_compute(op)

    def compute(context, inputs):
        events = inner(context, inputs)
        if events is None or inspect.isasyncgen(events):
            return events
        return metered_events(events)

    return dg.OpDefinition(
        compute_fn=compute,
        name=op.name,
        ins=op.ins,
        outs=op.outs,
        description=op.description,
        config_schema=op.config_schema,
        required_resource_keys=op.required_resource_keys,
        tags=op.tags,
        code_version=op_code_version(op),
        retry_policy=op.retry_policy,
        pool=op.pool,
    )


def metered(assets_def: dg.AssetsDefinition) -> dg.AssetsDefinition:
    """``assets_def`` with the meter around its op (itself if it cannot be metered)."""
    if (
        isinstance(assets_def, dg.AssetChecksDefinition)
        or not assets_def.is_materializable
        or not isinstance(assets_def.node_def, dg.OpDefinition)
        or getattr(assets_def.op.compute_fn, "_trading_assets_metered", False)
    ):
        return assets_def
    op = _metered_op(assets_def.op)
    op.compute_fn._trading_assets_metered = True  # type: ignore[union-attr]
    return with_node(assets_def, op)


def meter_assets(assets: Sequence[Any]) -> list[Any]:
    """Every ``AssetsDefinition`` in ``assets`` metered; other objects (specs...) unchanged."""
    return [metered(a) if isinstance(a, dg.AssetsDefinition) else a for a in assets]
