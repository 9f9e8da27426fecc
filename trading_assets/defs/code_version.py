"""Code versions computed from the code an asset runs, applied centrally in the definitions.

An asset's code version hashes (see :class:`trading_assets.code_graph.CodeGraph`):

- the source of the module that defines its compute function, and of every
  ``trading_assets`` module that module imports, transitively (lazy imports included), with
  the data files beside them (templates, feed lists);
- the code version it was declared with, if any: the SQL text of a SQL model;
- the defaults of its run config (a changed default changes results without a code edit).

No list of modules is kept by hand: editing any line an asset can reach changes its code
version, so ``trading-assets refresh`` and declarative automation re-run it and its
descendants.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

import dagster as dg

from trading_assets.code_graph import CodeGraph
from trading_assets.defs.dagster_internals import compute_function


def defining_module(assets_def: dg.AssetsDefinition) -> str | None:
    """The module whose function computes ``assets_def`` (None for non-op assets)."""
    if not isinstance(assets_def.node_def, dg.OpDefinition):
        return None
    fn = compute_function(assets_def.op)
    return getattr(fn, "__module__", None)


def config_defaults(assets_def: dg.AssetsDefinition) -> dict[str, Any]:
    """The run config defaults of ``assets_def``'s op, by field (empty without config)."""
    if not isinstance(assets_def.node_def, dg.OpDefinition):
        return {}
    fn = compute_function(assets_def.op)
    annotations = getattr(fn, "__annotations__", {}) or {}
    out: dict[str, Any] = {}
    for annotation in annotations.values():
        if isinstance(annotation, type) and issubclass(annotation, dg.Config):
            for name, field in annotation.model_fields.items():
                default = field.get_default(call_default_factory=True)
                out[name] = default
    return out


def code_version_for(assets_def: dg.AssetsDefinition, graph: CodeGraph) -> str | None:
    """The computed code version of ``assets_def`` (None if it runs no project code)."""
    module = defining_module(assets_def)
    if module is None or module not in graph.modules:
        return None
    declared = sorted({v for v in assets_def.code_versions_by_key.values() if v})
    defaults = json.dumps(config_defaults(assets_def), sort_keys=True, default=str)
    return graph.digest([module], extra=[*declared, defaults])


def with_code_versions(assets: Sequence[Any], graph: CodeGraph | None = None) -> list[Any]:
    """``assets`` with every op-backed asset's code version computed (see the module
    docstring); other objects are returned unchanged.

    The body's ``@metered`` wrapper keeps its module and annotations (``functools.wraps``),
    so the version is the body's own.
    """
    graph = graph or CodeGraph()
    out = []
    for item in assets:
        if (
            isinstance(item, dg.AssetsDefinition)
            and not isinstance(item, dg.AssetChecksDefinition)
            and item.is_materializable
        ):
            version = code_version_for(item, graph)
            if version is not None:
                item = item.map_asset_specs(
                    lambda spec, v=version: spec.replace_attributes(code_version=v)
                )
        out.append(item)
    return out
