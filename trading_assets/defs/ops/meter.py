"""A resource meter on every materialization, as one decorator on each asset body.

Put :func:`metered` directly above an asset body's ``def`` (under ``@dg.asset`` or
``@dg.multi_asset``). The body then runs inside a :class:`~trading_assets.costs.meter.ResourceMeter`
and every materialization it returns or yields carries, besides its own metadata:

- ``wall_s``, ``cpu_s``, ``peak_rss_mb``: what the whole body used
  (see :mod:`trading_assets.costs.meter`);
- ``rows_written``: rows inserted + updated + deleted when the asset reports them
  (:func:`trading_assets.defs.metadata.write_metadata`), else its ``rows``
  (:func:`trading_assets.costs.ledger.rows_written`);
- ``cost_share``: 1 / the number of assets the body materialized (a multi-asset's cost is
  split evenly when it is priced).

Only public Dagster types are touched (``Output.with_metadata``, ``MaterializeResult``): the
body's own return value is rewritten, so Dagster sees an ordinary asset function. A plain
value handed to the IO manager becomes a ``MaterializeResult`` carrying that value. A generator
body's events are buffered until it ends so the figures cover all of it; on an exception the
events produced so far are still emitted, then the error is raised.
``tests/defs/ops/test_meter.py`` checks that every materializable asset of the code location
is metered.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import Any, TypeVar

import dagster as dg

from trading_assets.costs.ledger import rows_written
from trading_assets.costs.meter import ResourceMeter, Usage

F = TypeVar("F", bound=Callable[..., Any])


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


def _share(events: Iterable[Any]) -> float:
    count = sum(1 for e in events if _is_materialization(e))
    return 1.0 / count if count > 1 else 1.0


def metered_events(events: Iterable[Any]) -> Iterator[Any]:
    """Run ``events`` (a generator body's results) to the end under a meter, then yield them
    with the usage added to each materialization (see the module docstring)."""
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
    share = _share(buffered)
    for event in buffered:
        yield _with_usage(event, meter.usage, share)
    if error is not None:
        raise error


def _metered_value(value: Any, usage: Usage) -> Any:
    if isinstance(value, tuple) and value and all(_is_materialization(v) for v in value):
        share = _share(value)
        return tuple(_with_usage(v, usage, share) for v in value)
    if _is_materialization(value):
        return _with_usage(value, usage, 1.0)
    if isinstance(value, (dg.AssetCheckResult, dg.ObserveResult)):
        return value
    return dg.MaterializeResult(value=value, metadata=_usage_metadata(None, usage, 1.0))


def metered(body: F) -> F:
    """An asset body that reports its own wall/CPU seconds, peak RSS and rows written.

    Args:
        body: the function ``@dg.asset``/``@dg.multi_asset`` decorates (plain or generator;
            not async). Its signature, name, module and annotations are kept
            (``functools.wraps``), so Dagster's parameter inference, the automatic code
            version and ``inspect.getsource`` see the body itself.

    Returns:
        The wrapped body, marked ``metered = True``.
    """
    if inspect.iscoroutinefunction(body) or inspect.isasyncgenfunction(body):
        raise TypeError(f"{body.__qualname__}: async asset bodies cannot be metered")
    if inspect.isgeneratorfunction(body):

        @functools.wraps(body)
        def wrapper(*args: Any, **kwargs: Any) -> Iterator[Any]:
            yield from metered_events(body(*args, **kwargs))

    else:

        @functools.wraps(body)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            meter = ResourceMeter()
            with meter:
                value = body(*args, **kwargs)
            assert meter.usage is not None
            return _metered_value(value, meter.usage)

    wrapper.metered = True  # type: ignore[attr-defined]
    return wrapper  # type: ignore[return-value]


def is_metered(fn: Callable[..., Any] | None) -> bool:
    """Whether ``fn`` (an asset's compute function) went through :func:`metered`."""
    return bool(getattr(fn, "metered", False))
