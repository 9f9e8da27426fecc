"""Feature engineering over bars: pure functions on Polars frames, no Dagster.

One module per family, each documenting its columns, units and when a value is missing:

- :mod:`.alpha158` — Qlib's 158 Alpha158 features, named and computed as Qlib does;
- :mod:`.classic` — SMA/EMA, RSI, MACD, Bollinger %B, ATR, realized vol, volume ratio and
  z-score, and GARCH(1,1) volatility on daily bars (``arch``);
- :mod:`.context` — multi-timeframe context: features of the last closed 1h/1d bar (as-of);
- :mod:`.cross_asset` — rolling correlation and beta to a reference symbol;
- :mod:`.regime` — a regime label per bar from rules fitted on earlier bars (optionally a
  Markov switching model);
- :mod:`.sentiment` — news sentiment aggregates joined as-of, zero-filled;
- :mod:`.labels` — forward returns and directions (labels, kept apart from features);
- :mod:`.incremental` — recomputing only the tail of a series, bitwise equal to a full run;
- :mod:`.checks` — quality measures behind the asset checks.

Rolling statistics come from :mod:`._windows`, whose values are window-local (a function of
the rows of their own window only); that is what makes incremental updates exact.
Conventions: ts is the bar's open time (UTC), a bar is known at ``ts + timeframe``; prices in
the quote currency; missing values are NULL (never NaN or inf) in every output.
"""
