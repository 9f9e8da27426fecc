"""Trading logic without Dagster: consensus signals, position sizing, explanations, the
vectorized backtest engine and its performance metrics (issue 6)."""
