"""Report inputs built from real data in ``../shared/data``.

Bars are Binance ETH/USDT and BTC/USDT 1h candles (freqtrade JSON) read with the project's
reader; news are the Yahoo per-symbol JSON files scored with the Loughran–McDonald lexicon.
Tables that other helpers fill (predictions, signals, backtests, costs) are written here with
their contract schemas from those real bars: two simple forecasters (last return, 10-bar mean
return), an SMA(10/30) crossover as the signal, and its equity curve against buy and hold.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import duckdb
import polars as pl

from trading_assets import schemas
from trading_assets.features import labels as labels_logic
from trading_assets.news.articles import articles_frame
from trading_assets.news.files import read_yahoo_news_json
from trading_assets.sentiment.lexicon import LexiconScorer
from trading_assets.sources.files.freqtrade_json import FreqtradeJsonReader
from trading_assets.warehouse.writes import replace_scope, upsert

BARS_DIR = Path("crypto") / "binance_spot_2023"
NEWS_DIR = Path("news") / "yahoo_per_symbol_2025-12"


def real_bars(shared_data: Path, symbols=("ETH_USDT", "BTC_USDT")) -> pl.DataFrame:
    """Staging-shaped 1h bars of ``symbols`` (719 bars each, April 2023)."""
    frames = [FreqtradeJsonReader(shared_data / BARS_DIR / f"{s}-1h.json").read() for s in symbols]
    bars = pl.concat([schemas.conform(f, "bars") for f in frames])
    return bars.with_columns(pl.lit(1, dtype=pl.Int64).alias("n_parts")).sort(
        "symbol", "timeframe", "ts"
    )


def predictions(bars: pl.DataFrame, models=("last", "moving_average")) -> pl.DataFrame:
    """Out-of-sample forecasts of the next bar's log return, known at the bar's close."""
    ret = pl.col("close").log().diff().over("symbol", "timeframe")
    forecasts = {"last": ret, "moving_average": ret.rolling_mean(10).over("symbol", "timeframe")}
    parts = []
    for family in models:
        parts.append(
            bars.sort("symbol", "timeframe", "ts")
            .with_columns(forecasts[family].alias("prediction"))
            .drop_nulls("prediction")
            .select(
                pl.lit(f"fwd_ret_1-1h-{family}").alias("model"),
                pl.lit("v1").alias("model_version"),
                pl.lit(family).alias("family"),
                pl.lit("fwd_ret_1").alias("target"),
                "symbol",
                "timeframe",
                "ts",
                (pl.col("ts") + timedelta(hours=1)).alias("available_at"),
                "prediction",
                pl.lit(0, dtype=pl.Int64).alias("fold"),
                pl.lit("walk_forward").alias("kind"),
                (pl.col("ts") + timedelta(hours=1, seconds=1)).alias("predicted_at"),
            )
        )
    return pl.concat(parts).cast(schemas.PREDICTIONS_SCHEMA)


def sma_signals(bars: pl.DataFrame, flat: bool = False) -> pl.DataFrame:
    """SMA(10) vs SMA(30) crossover per bar: long above, short below (all flat if ``flat``)."""
    fast = pl.col("close").rolling_mean(10).over("symbol", "timeframe")
    slow = pl.col("close").rolling_mean(30).over("symbol", "timeframe")
    direction = pl.lit(0) if flat else (fast - slow).sign()
    return (
        bars.with_columns(direction.cast(pl.Int64).alias("direction"))
        .drop_nulls("direction")
        .with_columns(
            (pl.col("direction").abs() * 0.6).alias("strength"),
            (pl.col("direction") * 0.5).cast(pl.Float64).alias("position"),
            pl.lit(1.0).alias("agreement"),
            pl.lit(0.6).alias("confidence"),
            pl.lit(0.0).alias("consensus"),
            pl.lit(2, dtype=pl.Int64).alias("models"),
            pl.when(pl.col("direction") != 0)
            .then(pl.lit("last,moving_average"))
            .otherwise(pl.lit(""))
            .alias("agreeing_models"),
            pl.lit("trend").alias("regime"),
            pl.when(pl.col("direction") > 0)
            .then(pl.lit("SMA(10) above SMA(30)"))
            .when(pl.col("direction") < 0)
            .then(pl.lit("SMA(10) below SMA(30)"))
            .otherwise(pl.lit("no edge"))
            .alias("explanation"),
            (pl.col("ts") + timedelta(hours=1)).alias("as_of"),
            pl.lit("live").alias("kind"),
        )
        .select(list(schemas.SIGNALS_SCHEMA))
        .cast(schemas.SIGNALS_SCHEMA)
    )


def backtest(bars: pl.DataFrame, signals: pl.DataFrame) -> tuple[pl.DataFrame, pl.DataFrame]:
    """(equity, metrics) of the signals' positions (held over the next bar) and buy and hold."""
    simple = (pl.col("close") / pl.col("close").shift(1) - 1).over("symbol", "timeframe")
    base = bars.sort("symbol", "timeframe", "ts").with_columns(simple.alias("bar_ret"))
    base = base.join(
        signals.select("symbol", "timeframe", "ts", "position"),
        on=["symbol", "timeframe", "ts"],
        how="left",
    )
    curves = []
    for strategy, held in (
        ("consensus", pl.col("position").shift(1).over("symbol", "timeframe").fill_null(0.0)),
        ("buy_and_hold", pl.lit(1.0)),
    ):
        curve = base.with_columns(held.alias("held")).with_columns(
            (pl.col("held") * pl.col("bar_ret").fill_null(0.0)).alias("return")
        )
        curve = curve.with_columns(
            (1 + pl.col("return")).cum_prod().over("symbol", "timeframe").alias("equity")
        ).with_columns(
            (pl.col("equity") / pl.col("equity").cum_max().over("symbol", "timeframe") - 1).alias(
                "drawdown"
            ),
            pl.lit(strategy).alias("strategy"),
            pl.col("held").alias("position_held"),
        )
        curves.append(
            curve.select(
                "strategy",
                "symbol",
                "timeframe",
                "ts",
                pl.col("position_held").alias("position"),
                "return",
                "equity",
                "drawdown",
            )
        )
    equity = pl.concat(curves).cast(schemas.BACKTEST_EQUITY_SCHEMA)
    metrics = equity.group_by("strategy", "symbol", "timeframe").agg(
        pl.col("ts").min().alias("start"),
        pl.col("ts").max().alias("end"),
        pl.len().cast(pl.Int64).alias("bars"),
        (pl.col("equity").last() - 1).alias("total_return"),
        pl.lit(None, dtype=pl.Float64).alias("cagr"),
        (pl.col("return").std() * (24 * 365) ** 0.5).alias("volatility"),
        (pl.col("return").mean() / pl.col("return").std() * (24 * 365) ** 0.5).alias("sharpe"),
        pl.lit(None, dtype=pl.Float64).alias("sortino"),
        pl.lit(None, dtype=pl.Float64).alias("calmar"),
        pl.col("drawdown").min().alias("max_drawdown"),
        (pl.col("return") > 0).mean().alias("hit_rate"),
        pl.col("position").diff().abs().mean().alias("turnover"),
        (pl.col("position") != 0).mean().alias("exposure"),
        pl.lit(10.0).alias("fees_bps"),
        pl.lit(5.0).alias("slippage_bps"),
    )
    return equity, metrics.select(list(schemas.BACKTEST_METRICS_SCHEMA)).cast(
        schemas.BACKTEST_METRICS_SCHEMA
    )


def news(shared_data: Path, symbols=("AAPL", "NVDA", "TSLA")) -> tuple[pl.DataFrame, pl.DataFrame]:
    """(raw.news rows, ml.sentiment lexicon scores) of the Yahoo news files of ``symbols``."""
    fetched = datetime(2025, 12, 26, 12, tzinfo=UTC)
    records = [
        r
        for path in sorted((shared_data / NEWS_DIR).glob("*.json"))
        if path.name.split("_")[0] in symbols
        for r in read_yahoo_news_json(path, fetched_at=fetched).records
    ]
    articles = articles_frame(records).unique("article_id", keep="first").sort("article_id")
    scorer = LexiconScorer()
    scores = scorer.score(articles["title"].to_list())
    sentiment = pl.DataFrame(
        {
            "article_id": articles["article_id"],
            "method": "lexicon",
            "model_version": scorer.model_version,
            "score": scores["score"],
            "label": scores["label"],
            "confidence": scores["confidence"],
            "scored_at": fetched,
        },
        schema=schemas.SENTIMENT_SCHEMA,
    )
    return articles, sentiment


def costs() -> pl.DataFrame:
    """Two runs of two assets (figures of the kind ops/cost_metrics records)."""
    start = datetime(2026, 1, 5, 9, tzinfo=UTC)
    return pl.DataFrame(
        [
            ("r1", "staging/bars", "ETH/USDT", start, 1.5, 1.2, 310.0, 719, 0, 0.0001),
            ("r1", "ml/predictions", "", start, 12.0, 20.5, 820.0, 2876, 0, 0.0012),
            ("r2", "staging/bars", "ETH/USDT", start, 0.4, 0.3, 300.0, 0, 0, 0.00003),
        ],
        schema=schemas.COST_METRICS_SCHEMA,
        orient="row",
    )


def write_inputs(
    con: duckdb.DuckDBPyConnection,
    shared_data: Path,
    *,
    bars: pl.DataFrame | None = None,
    models=("last", "moving_average"),
    flat: bool = False,
    with_news: bool = True,
    with_trading: bool = True,
) -> pl.DataFrame:
    """Write every report input table from real data; returns the bars written."""
    bars = real_bars(shared_data) if bars is None else bars
    replace_scope(con, "staging.bars", bars, {})
    labels = pl.concat(
        [labels_logic.labels(rows) for _, rows in bars.group_by("symbol", maintain_order=True)]
    )
    replace_scope(con, "features.labels", labels, {}, schema=labels_logic.output_schema())
    if models:
        replace_scope(con, "ml.predictions", predictions(bars, models), {})
    signals = sma_signals(bars, flat=flat)
    replace_scope(con, "signals.signals", signals, {})
    equity, metrics = backtest(bars, signals)
    replace_scope(con, "signals.backtest_equity", equity, {})
    replace_scope(con, "signals.backtest_metrics", metrics, {})
    if with_news:
        articles, sentiment = news(shared_data)
        upsert(con, "raw.news", articles, ["article_id"])
        upsert(con, "ml.sentiment", sentiment, list(schemas.SENTIMENT_KEY))
    upsert(con, "ops.cost_metrics", costs(), list(schemas.COST_METRICS_KEY))
    if with_trading:
        dry_run_trading(con)
    return bars


def dry_run_trading(con: duckdb.DuckDBPyConnection) -> None:
    """``trading.orders``/``positions``/``costs`` as a dry run makes them (the paper-trading
    logic, no broker) from the stored signals taken long-only (their size, long: the newest
    SMA signals are short, and crypto cannot be sold short)."""
    from trading_assets.trading import book, paper, trade_costs
    from trading_assets.trading.broker import BrokerPosition
    from trading_assets.trading.orders import OrderRules
    from trading_assets.warehouse.catalog import read_table
    from trading_assets.warehouse.trading import newest_signals, read_orders

    run = paper.place_orders(
        newest_signals(con).with_columns(pl.col("position").abs()),
        pl.DataFrame(schema=schemas.ORDERS_SCHEMA), mode="dry_run",
        broker=None, rules=OrderRules(), timeframes=["1h"], dry_run_equity=100_000.0,
        now=datetime(2026, 1, 5, 10, tzinfo=UTC), run_id="r2",
    )  # fmt: skip
    upsert(con, "trading.orders", run.changed, ["client_order_id"])
    orders = read_orders(con)
    held = [BrokerPosition(s, q, None, 0.0, "") for s, q in book.dry_run_positions(orders).items()]
    frame = book.positions_frame(held, orders, 100_000.0, 100_000.0, "dry_run", None)
    replace_scope(con, "trading.positions", frame, {})
    costs = trade_costs.trade_costs(
        orders, run.fills, read_table(con, "ops.cost_metrics"),
        read_table(con, "signals.backtest_metrics"),
    )  # fmt: skip
    replace_scope(con, "trading.costs", costs, {})
