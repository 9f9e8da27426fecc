"""Warehouse reads of the trading assets (see :mod:`trading_assets.warehouse.catalog`)."""

from trading_assets.warehouse.catalog import read_series, read_table

__all__ = ["read_series", "read_table"]
