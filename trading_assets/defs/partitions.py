"""Partitions of the price layer: one partition per symbol, added as sources reveal them."""

from __future__ import annotations

import dagster as dg

#: Dynamic partitions named "symbols": the symbol universe comes from the active profile's
#: sources at run time (files in a folder, configured Alpaca symbols, the demo indices).
SYMBOLS = dg.DynamicPartitionsDefinition(name="symbols")
