"""Materialization metadata shared by the trading assets."""

from __future__ import annotations

import dagster as dg


def missing_metadata(missing: list[str]) -> dg.MetadataValue:
    """Markdown list of the missing inputs, or ``nothing missing``."""
    return dg.MetadataValue.md(
        "\n".join(f"- {m}" for m in missing) if missing else "nothing missing"
    )
