"""Which sections of the report have data, and plain words for what is missing.

A section is *present* when it has something to show; otherwise its notes say why (no
predictions yet, only one model, all signals flat, no news on this profile...). Warnings
that hold even when data is present (a split cliff in prices, an input that could not be
read) are notes too.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import polars as pl

from trading_assets.report.inputs import SPLIT_CLIFF_FACTOR, ReportInputs


@dataclass
class Section:
    """One section of the page: ``key`` (HTML id), ``title``, whether it has data, notes."""

    key: str
    title: str
    present: bool
    notes: list[str] = field(default_factory=list)


def _cliff_notes(cliffs: pl.DataFrame, limit: int = 5) -> list[str]:
    notes = []
    for row in cliffs.head(limit).iter_rows(named=True):
        notes.append(
            f"Split cliff flagged in {row['symbol']} {row['timeframe']} at "
            f"{row['ts']:%Y-%m-%d %H:%M} UTC: the close moved x{row['ratio']:.3g} in one bar, "
            f"beyond the {SPLIT_CLIFF_FACTOR:g}x limit; the prices look unadjusted for a split "
            "and returns across it are not real."
        )
    if cliffs.height > limit:
        notes.append(f"… and {cliffs.height - limit} more split-like cliffs.")
    return notes


def build_sections(inputs: ReportInputs) -> list[Section]:
    """The report's sections in page order, each with its presence and notes."""
    skipped = inputs.skipped

    def also_skipped(*names: str) -> list[str]:
        return [f"Could not read {n}: {skipped[n]}" for n in names if n in skipped]

    equity = Section("equity", "Equity and drawdown", inputs.equity.height > 0)
    if not equity.present:
        equity.notes.append(
            "No backtests yet: signals/backtest has not produced equity curves "
            "(it needs signals, which need predictions)."
        )
    equity.notes += also_skipped("equity", "backtests")

    models = inputs.model_scores
    predictions = Section(
        "predictions", "Predictions against realized returns", inputs.predictions.height > 0
    )
    if not predictions.present:
        predictions.notes.append("No predictions yet: the models have not been trained.")
    elif models.height == 1:
        predictions.notes.append(
            f"Only one model ({models['model'][0]}): the consensus is that model alone, "
            "with nothing to agree or disagree with."
        )
    if predictions.present and inputs.predictions["realized"].drop_nulls().len() == 0:
        predictions.notes.append(
            "No realized returns to compare with: features/labels is missing or has no "
            "rows for the predicted bars."
        )
    predictions.notes += also_skipped("predictions")

    signals = Section("signals", "Latest signals", inputs.signals.height > 0)
    if not signals.present:
        signals.notes.append("No signals yet: signals/signals has not run (it needs predictions).")
    else:
        counts = inputs.signal_counts
        if counts.height and int(counts["long"].sum()) + int(counts["short"].sum()) == 0:
            signals.notes.append(
                "All signals are flat: no bar had a consensus strong enough to take a position."
            )
    live = "kind" in inputs.signals.columns and (inputs.signals["kind"] == "live").any()
    if signals.present and not live:
        signals.notes.append(
            "No live signals: no champion model has predicted the newest bars yet, so "
            "these come from walk-forward predictions only (train the models: ml/models)."
        )
    signals.notes += also_skipped("signals")

    sentiment = Section(
        "sentiment", "Sentiment timeline and headlines", inputs.headlines.height > 0
    )
    if not sentiment.present:
        sentiment.notes.append(
            "No news: nothing in raw.news. The demo profile has no news unless feeds are "
            "configured and reachable."
        )
    elif inputs.sentiment["mean_score"].drop_nulls().len() == 0:
        sentiment.notes.append(
            "News is stored but not scored yet: ml/sentiment_scores has not run."
        )
    sentiment.notes += also_skipped("news")

    leaderboard = Section(
        "leaderboard", "Model leaderboard (MLflow)", inputs.leaderboard.height > 0
    )
    if not leaderboard.present:
        leaderboard.notes.append(
            "No registered models in MLflow: no champion to compare yet."
            + (f" ({skipped['leaderboard']})" if "leaderboard" in skipped else "")
        )
    elif inputs.leaderboard["test_metrics"].str.len_chars().max():
        leaderboard.notes.append(
            "Validation metrics come from the walk-forward folds that chose each champion "
            "(against the previous champion, on the same bars); test metrics come from the "
            "last fold(s), the test window, which no selection ever saw."
        )

    quality = Section(
        "quality",
        "Data quality and freshness",
        inputs.freshness.height > 0 or inputs.quality.height > 0,
    )
    if inputs.freshness.height == 0:
        quality.notes.append("No bars: staging.bars is empty, so nothing downstream can run.")
    if inputs.quality.height == 0:
        quality.notes.append(
            "No asset check has been evaluated yet."
            + (f" ({skipped['quality']})" if "quality" in skipped else "")
        )
    quality.notes += _cliff_notes(inputs.cliffs) + also_skipped("freshness")

    costs = Section("costs", "Cost summary", inputs.costs.height > 0)
    if not costs.present:
        costs.notes.append("No cost metrics recorded yet: ops/cost_metrics has not run.")
    costs.notes += also_skipped("costs")

    trading = Section("trading", "Trading", inputs.orders.height > 0)
    if not trading.present:
        trading.notes.append(
            "No orders yet: trading/orders has not run (it needs signals). With "
            "TRADING_EXECUTION=dry_run (the default) intents are stored and nothing is sent."
        )
    else:
        modes = set(inputs.orders["mode"].drop_nulls())
        if modes == {"dry_run"}:
            trading.notes.append(
                "Dry run: these are order intents, nothing was sent to a broker "
                "(TRADING_EXECUTION=paper sends them to Alpaca's paper account)."
            )
        off = inputs.book.filter((pl.col("diff_qty").abs() * pl.col("price").fill_null(0.0)) > 1.0)
        for row in off.head(5).iter_rows(named=True):
            trading.notes.append(
                f"{row['symbol']} holds {row['qty']:g} against a target of {row['target_qty']:g}."
            )
    trading.notes += also_skipped("trading")

    return [equity, predictions, signals, sentiment, leaderboard, quality, costs, trading]
