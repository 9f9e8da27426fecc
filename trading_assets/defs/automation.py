"""Declarative automation that reacts to new data, not to re-runs that changed nothing.

Dagster's ``AutomationCondition.eager()`` fires when any dependency has a new
materialization, whatever its data version: a feed poll answered with 304 still re-runs
everything one level below it. :func:`on_new_data` is the same condition with the update
test replaced by "a dependency's data version changed" (or the asset's own code version
changed), so an ingestion that found nothing new triggers nothing, exactly as
``trading-assets refresh`` decides. :func:`data_aware_automation` swaps it in, centrally, for
every asset declared with ``eager()``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import dagster as dg


def on_new_data(ignore: Sequence[dg.AssetKey] = ()) -> dg.AutomationCondition:
    """Run when missing (newly), when a dependency's data version changed or will be
    requested on this tick, or when the asset's code version changed; never while a
    dependency is missing or in progress, or the asset itself is in progress.

    ``ignore``: dependencies whose new data alone does not trigger a run (they still block
    while in progress): e.g. the signals wait for the live predictions of a new bar instead
    of running once for its labels and again for its predictions."""
    ac = dg.AutomationCondition
    dep_has_new_data = ac.any_deps_match(
        (ac.data_version_changed() & ~ac.executed_with_root_target()).with_label(
            "data_version_changed_without_root"
        )
        | ac.will_be_requested()
    )
    if ignore:
        dep_has_new_data = dep_has_new_data.ignore(dg.AssetSelection.assets(*ignore))
    dep_has_new_data = dep_has_new_data.with_label("any_deps_have_new_data")
    return (
        ac.in_latest_time_window()
        & (ac.newly_missing() | dep_has_new_data | ac.code_version_changed()).since_last_handled()
        & ~ac.any_deps_missing()
        & ~ac.any_deps_in_progress()
        & ~ac.in_progress()
    ).with_label("on_new_data")


def _swap(spec: dg.AssetSpec) -> dg.AssetSpec:
    if spec.automation_condition == dg.AutomationCondition.eager():
        return spec.replace_attributes(automation_condition=on_new_data())
    return spec


def data_aware_automation(assets: Sequence[Any]) -> list[Any]:
    """``assets`` with every ``eager()`` automation condition replaced by :func:`on_new_data`
    (other conditions and non-asset objects unchanged)."""
    out = []
    for item in assets:
        if isinstance(item, dg.AssetsDefinition) and any(
            s.automation_condition == dg.AutomationCondition.eager() for s in item.specs
        ):
            item = item.map_asset_specs(_swap)
        out.append(item)
    return out
