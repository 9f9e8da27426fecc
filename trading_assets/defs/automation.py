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
    dependency is missing (unless it has no source on this profile, see :func:`deps_missing`)
    or in progress, or the asset itself is in progress or recorded as having no source since
    its inputs last changed (:class:`~trading_assets.defs.no_source.NoSourceRecorded`).

    ``ignore``: dependencies whose new data alone does not trigger a run (they still block
    while in progress): e.g. the signals wait for the live predictions of a new bar instead
    of running once for its labels and again for its predictions."""
    from trading_assets.defs.no_source import NoSourceRecorded

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
        & ~deps_missing()
        & ~ac.any_deps_in_progress()
        & ~ac.in_progress()
        & ~NoSourceRecorded()
    ).with_label("on_new_data")


def deps_missing() -> dg.AutomationCondition:
    """Dagster's ``any_deps_missing()`` less the dependencies missing on purpose: recorded
    as having no source on this profile (:class:`~trading_assets.defs.no_source.NoSourceRecorded`),
    e.g. ``raw/ticks`` of a symbol with bars only, which must not hold ``staging/bars`` back.
    A child still waits while every one of its dependencies has no source (it would have
    nothing to read): it runs once one of them gets a source and materializes."""
    from trading_assets.defs.no_source import NoSourceRecorded

    ac = dg.AutomationCondition
    no_source = ac.missing() & NoSourceRecorded()
    missing = ac.any_deps_match(ac.missing() & ~ac.will_be_requested() & ~NoSourceRecorded())
    all_no_source = ac.any_deps_match(no_source) & ac.all_deps_match(no_source)
    return (missing | all_no_source).with_label("any_deps_missing")


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
