"""What keeping assets fresh costs: resource meters, prices, budgets and metrics export.

Plain Python (no Dagster): :mod:`.meter` measures one computation, :mod:`.pricing` turns
measurements into money and budget verdicts, :mod:`.ledger` turns metered materializations
into ``ops.cost_metrics`` rows and sums them per asset, run, day and signal,
:mod:`.prometheus` renders them as metrics text.
"""
