"""What Dagster recorded about an asset's last materialization, for assets that keep their
own incremental state in the warehouse and trust it only while it matches."""

import dagster as dg


def recorded_data_version(context: dg.AssetExecutionContext) -> str:
    """The data version of the asset's latest materialization ("" when it has none: nothing
    stored in the warehouse about its partitions or series is then trusted)."""
    event = context.instance.get_latest_materialization_event(context.asset_key)
    materialization = event.asset_materialization if event else None
    if materialization is None:
        return ""
    return (materialization.tags or {}).get("dagster/data_version", "")


def code_version(context: dg.AssetExecutionContext) -> str:
    """The asset's (automatic) code version: state an asset keeps for itself is valid for
    this version only."""
    return str(context.assets_def.code_versions_by_key.get(context.asset_key) or "")
