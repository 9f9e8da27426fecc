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
