"""A shared assertion: every predicted series has its newest signal on its newest bar."""

from __future__ import annotations

from trading_assets import Warehouse


def assert_newest_signal_on_newest_bar(wh: Warehouse, timeframes=("1h", "1d")) -> int:
    """Every (symbol, timeframe) of the training table at ``timeframes`` has its newest
    signal on its newest bar of ``staging.bars``, made from live predictions; returns the
    number of series checked."""
    newest_bar = {
        (s, tf): ts
        for s, tf, ts in wh.sql(
            "SELECT symbol, timeframe, max(ts) FROM staging.bars "
            "WHERE list_contains(?, timeframe) AND (symbol, timeframe) IN "
            "(SELECT DISTINCT symbol, timeframe FROM features.training_table) GROUP BY ALL",
            [list(timeframes)],
        ).rows()
    }
    signals = wh.latest_signals()
    newest_signal = {
        (s, tf): (ts, kind)
        for s, tf, ts, kind in signals.select("symbol", "timeframe", "ts", "kind").rows()
    }
    assert newest_bar, "no series to check"
    for series, ts in newest_bar.items():
        assert series in newest_signal, f"{series}: no signal at all"
        assert newest_signal[series] == (ts, "live"), (series, ts, newest_signal[series])
    return len(newest_bar)
