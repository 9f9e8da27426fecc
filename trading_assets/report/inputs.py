"""What the report shows, read from the warehouse as Polars frames.

Every table may be missing or empty (a fresh project, a profile without news, models not yet
trained): the loader then returns an empty frame with the documented columns, and
:mod:`trading_assets.report.sections` says in plain words what is missing. Reads are
aggregated in DuckDB (latest signal per series, thinned equity curves, per-day sentiment)
so the report stays cheap on long 1m histories.
"""

from __future__ import annotations

from collections.abc import Callable, Collection
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, fields
from datetime import datetime
from typing import Any

import duckdb
import polars as pl

from trading_assets.schemas import (
    BACKTEST_EQUITY_SCHEMA,
    BACKTEST_METRICS_SCHEMA,
    ORDERS_SCHEMA,
    POSITIONS_SCHEMA,
    SIGNALS_SCHEMA,
    TRADE_COSTS_SCHEMA,
    UTC_TS,
)
from trading_assets.timeframes import timeframe_seconds
from trading_assets.warehouse import catalog
from trading_assets.warehouse.connection import utc_cursor

#: a close-to-close move by this factor or more in one bar looks like an unadjusted split
#: (the same rule as the ``outlier_jumps`` check of ``staging/bars``)
SPLIT_CLIFF_FACTOR = 3.0

EQUITY_POINTS = 600  # points kept per equity curve (every n-th bar, plus the last)
SCATTER_POINTS = 1500  # newest predictions kept per model for the scatter chart
HEADLINES = 25  # newest headlines shown

PREDICTION_COLUMNS: dict[str, pl.DataType] = {
    "model": pl.String(),
    "family": pl.String(),
    "symbol": pl.String(),
    "timeframe": pl.String(),
    "ts": UTC_TS,
    "prediction": pl.Float64(),
    "realized": pl.Float64(),
}
MODEL_SCORE_COLUMNS: dict[str, pl.DataType] = {
    "model": pl.String(),
    "family": pl.String(),
    "predictions": pl.Int64(),
    "symbols": pl.Int64(),
    "ic": pl.Float64(),
    "hit_rate": pl.Float64(),
    "first_ts": UTC_TS,
    "last_ts": UTC_TS,
}
SIGNAL_COUNT_COLUMNS: dict[str, pl.DataType] = {
    "symbol": pl.String(),
    "timeframe": pl.String(),
    "bars": pl.Int64(),
    "long": pl.Int64(),
    "short": pl.Int64(),
    "flat": pl.Int64(),
}
POSITION_COLUMNS: dict[str, pl.DataType] = {
    "symbol": pl.String(),
    "timeframe": pl.String(),
    "bars": pl.Int64(),
    # shares of bars by target position (fraction of equity): the distribution
    "short_large": pl.Float64(),  # <= -50 %
    "short_small": pl.Float64(),  # -50 % < position < 0
    "flat": pl.Float64(),  # exactly 0
    "long_small": pl.Float64(),  # 0 < position < 50 %
    "long_large": pl.Float64(),  # >= 50 %
    "full": pl.Float64(),  # |position| = 100 %
    "p05": pl.Float64(),  # 5th percentile of the position
    "p50": pl.Float64(),
    "p95": pl.Float64(),
    "mean_abs": pl.Float64(),  # mean |position|
    "turnover": pl.Float64(),  # mean |position change| per bar
}
SENTIMENT_COLUMNS: dict[str, pl.DataType] = {
    "day": UTC_TS,
    "articles": pl.Int64(),
    "mean_score": pl.Float64(),
}
HEADLINE_COLUMNS: dict[str, pl.DataType] = {
    "published_at": UTC_TS,
    "publisher": pl.String(),
    "title": pl.String(),
    "url": pl.String(),
    "tickers": pl.String(),
    "score": pl.Float64(),
    "label": pl.String(),
}
FRESHNESS_COLUMNS: dict[str, pl.DataType] = {
    "symbol": pl.String(),
    "timeframe": pl.String(),
    "bars": pl.Int64(),
    "first_ts": UTC_TS,
    "last_ts": UTC_TS,
}
CLIFF_COLUMNS: dict[str, pl.DataType] = {
    "symbol": pl.String(),
    "timeframe": pl.String(),
    "ts": UTC_TS,
    "ratio": pl.Float64(),
}
COST_COLUMNS: dict[str, pl.DataType] = {
    "asset_key": pl.String(),
    "runs": pl.Int64(),
    "wall_s": pl.Float64(),
    "cpu_s": pl.Float64(),
    "peak_rss_mb": pl.Float64(),
    "rows": pl.Int64(),
    "llm_tokens": pl.Int64(),
    "cost_usd": pl.Float64(),
}
COST_DAILY_COLUMNS: dict[str, pl.DataType] = {
    "day": UTC_TS,  # 00:00 UTC of the day the materializations started
    "runs": pl.Int64(),
    "materializations": pl.Int64(),
    "wall_s": pl.Float64(),
    "cpu_s": pl.Float64(),
    "cost_usd": pl.Float64(),
}
LEADERBOARD_COLUMNS: dict[str, pl.DataType] = {
    "model": pl.String(),
    "version": pl.String(),
    "run_id": pl.String(),
    "metrics": pl.String(),  # "name=value, ..." of the champion run's validation metrics
    "test_metrics": pl.String(),  # the same of its test window (never used for selection)
    "sort_metric": pl.String(),
    "sort_value": pl.Float64(),
}
#: the columns of ``trading.orders`` the report shows
ORDER_COLUMNS: dict[str, pl.DataType] = {
    c: ORDERS_SCHEMA[c]
    for c in ("bar_ts", "strategy", "symbol", "side", "qty", "price", "notional", "mode",
              "status", "filled_qty", "filled_avg_price", "reason")
}  # fmt: skip
SLIPPAGE_COLUMNS: dict[str, pl.DataType] = {
    "symbol": pl.String(),
    "filled_orders": pl.Int64(),
    "filled_notional": pl.Float64(),
    "realized_bps": pl.Float64(),  # notional-weighted realized slippage, bps (+: worse)
    "assumed_bps": pl.Float64(),  # the backtest's slippage assumption, bps
    "fees_usd": pl.Float64(),
    "compute_usd": pl.Float64(),
    "cost_per_trade_usd": pl.Float64(),
}
#: newest orders shown
ORDERS_SHOWN = 30
QUALITY_COLUMNS: dict[str, pl.DataType] = {
    "asset_key": pl.String(),
    "check": pl.String(),
    "status": pl.String(),  # passed | failed | error | skipped | running
    "severity": pl.String(),
    "partition": pl.String(),
    "evaluated_at": UTC_TS,
}


def empty(columns: dict[str, pl.DataType]) -> pl.DataFrame:
    """An empty frame with ``columns``."""
    return pl.DataFrame(schema=columns)


@dataclass
class ReportInputs:
    """Everything one report shows. Frames are empty (never None) when their input is missing.

    Attributes:
        equity: ``signals.backtest_equity`` rows (BACKTEST_EQUITY_SCHEMA), thinned to about
            :data:`EQUITY_POINTS` bars per (strategy, symbol, timeframe); equity starts at 1.0.
        backtests: ``signals.backtest_metrics`` rows (BACKTEST_METRICS_SCHEMA).
        predictions: newest out-of-sample predictions per model joined with the realized
            forward log return ``features.labels.fwd_ret_1`` (:data:`PREDICTION_COLUMNS`).
        model_scores: per model, IC (Pearson of prediction vs realized) and hit rate over every
            stored prediction with a realized label (:data:`MODEL_SCORE_COLUMNS`).
        signals: the latest signal per (symbol, timeframe) (SIGNALS_SCHEMA).
        signal_counts: long/short/flat bars per (symbol, timeframe) (:data:`SIGNAL_COUNT_COLUMNS`).
        positions: the distribution of the consensus' target positions and their turnover per
            (symbol, timeframe) (:data:`POSITION_COLUMNS`).
        sentiment: articles and mean sentiment score per UTC day (:data:`SENTIMENT_COLUMNS`).
        headlines: the newest :data:`HEADLINES` articles with their score (untrusted text:
            escaped by the template) (:data:`HEADLINE_COLUMNS`).
        freshness: bars and newest bar per (symbol, timeframe) in ``staging.bars``.
        cliffs: one-bar close moves of :data:`SPLIT_CLIFF_FACTOR` x or more (split-like).
        costs: ``ops.cost_metrics`` summed per asset (:data:`COST_COLUMNS`).
        cost_daily: ``ops.cost_metrics`` summed per UTC day, oldest first
            (:data:`COST_DAILY_COLUMNS`): the cost over time.
        leaderboard: registered models' champion versions (:data:`LEADERBOARD_COLUMNS`),
            filled by the caller from MLflow.
        quality: latest asset check evaluations (:data:`QUALITY_COLUMNS`), filled by the caller
            from the Dagster instance.
        orders: the newest :data:`ORDERS_SHOWN` rows of ``trading.orders``
            (:data:`ORDER_COLUMNS`), newest bar first.
        book: ``trading.positions``: positions against targets (POSITIONS_SCHEMA).
        trade_costs: ``trading.costs`` (TRADE_COSTS_SCHEMA).
        slippage: per symbol, realized against assumed slippage and the cost per trade
            (:data:`SLIPPAGE_COLUMNS`).
        skipped: inputs that could not be read, ``{input: reason}``.
    """

    equity: pl.DataFrame = field(default_factory=lambda: empty(BACKTEST_EQUITY_SCHEMA))
    backtests: pl.DataFrame = field(default_factory=lambda: empty(BACKTEST_METRICS_SCHEMA))
    predictions: pl.DataFrame = field(default_factory=lambda: empty(PREDICTION_COLUMNS))
    model_scores: pl.DataFrame = field(default_factory=lambda: empty(MODEL_SCORE_COLUMNS))
    signals: pl.DataFrame = field(default_factory=lambda: empty(dict(SIGNALS_SCHEMA)))
    signal_counts: pl.DataFrame = field(default_factory=lambda: empty(SIGNAL_COUNT_COLUMNS))
    positions: pl.DataFrame = field(default_factory=lambda: empty(POSITION_COLUMNS))
    sentiment: pl.DataFrame = field(default_factory=lambda: empty(SENTIMENT_COLUMNS))
    headlines: pl.DataFrame = field(default_factory=lambda: empty(HEADLINE_COLUMNS))
    freshness: pl.DataFrame = field(default_factory=lambda: empty(FRESHNESS_COLUMNS))
    cliffs: pl.DataFrame = field(default_factory=lambda: empty(CLIFF_COLUMNS))
    costs: pl.DataFrame = field(default_factory=lambda: empty(COST_COLUMNS))
    cost_daily: pl.DataFrame = field(default_factory=lambda: empty(COST_DAILY_COLUMNS))
    leaderboard: pl.DataFrame = field(default_factory=lambda: empty(LEADERBOARD_COLUMNS))
    quality: pl.DataFrame = field(default_factory=lambda: empty(QUALITY_COLUMNS))
    orders: pl.DataFrame = field(default_factory=lambda: empty(ORDER_COLUMNS))
    book: pl.DataFrame = field(default_factory=lambda: empty(dict(POSITIONS_SCHEMA)))
    trade_costs: pl.DataFrame = field(default_factory=lambda: empty(dict(TRADE_COSTS_SCHEMA)))
    slippage: pl.DataFrame = field(default_factory=lambda: empty(SLIPPAGE_COLUMNS))
    skipped: dict[str, str] = field(default_factory=dict)

    def frames(self) -> dict[str, pl.DataFrame]:
        """Every frame by attribute name."""
        return {
            f.name: getattr(self, f.name)
            for f in fields(self)
            if isinstance(getattr(self, f.name), pl.DataFrame)
        }


def _frame(
    con: duckdb.DuckDBPyConnection, sql: str, columns: dict[str, pl.DataType], params=None
) -> pl.DataFrame:
    frame = con.sql(sql, params=params).pl() if params else con.sql(sql).pl()
    if frame.height == 0:
        return empty(columns)
    return frame.select([pl.col(c).cast(t) for c, t in columns.items()])


def load_equity(con: duckdb.DuckDBPyConnection, points: int = EQUITY_POINTS) -> pl.DataFrame:
    """Equity curves thinned to about ``points`` bars each (every n-th bar plus the last)."""
    cols = ", ".join(f'"{c}"' for c in BACKTEST_EQUITY_SCHEMA)
    sql = f"""
        SELECT {cols} FROM (
            SELECT *,
                row_number() OVER w AS i,
                count(*) OVER (PARTITION BY strategy, symbol, timeframe) AS n
            FROM signals.backtest_equity
            WINDOW w AS (PARTITION BY strategy, symbol, timeframe ORDER BY ts)
        )
        WHERE (i - 1) % greatest(1, n // {int(points)}) = 0 OR i = n
        ORDER BY strategy, symbol, timeframe, ts
    """
    return _frame(con, sql, dict(BACKTEST_EQUITY_SCHEMA))


def load_predictions(
    con: duckdb.DuckDBPyConnection, has_labels: bool, points: int = SCATTER_POINTS
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """(newest predictions with realized returns, per-model scores); realized is NULL where
    no label is stored (the newest bar, or no ``features.labels`` table)."""
    join = (
        "LEFT JOIN features.labels AS l USING (symbol, timeframe, ts)"
        if has_labels
        else "LEFT JOIN (SELECT NULL::VARCHAR AS symbol, NULL::VARCHAR AS timeframe, "
        "NULL::TIMESTAMPTZ AS ts, NULL::DOUBLE AS fwd_ret_1) AS l USING (symbol, timeframe, ts)"
    )
    joined = f"""
        SELECT p.model, p.family, p.symbol, p.timeframe, p.ts, p.prediction,
               l.fwd_ret_1 AS realized
        FROM ml.predictions AS p {join}
    """
    # the newest rows per model first (a top-n on one table), then their labels
    newest = _frame(
        con,
        f"""SELECT p.model, p.family, p.symbol, p.timeframe, p.ts, p.prediction,
                   l.fwd_ret_1 AS realized
            FROM (SELECT model, family, symbol, timeframe, ts, prediction FROM ml.predictions
                  QUALIFY row_number() OVER
                      (PARTITION BY model ORDER BY ts DESC, symbol, timeframe) <= {int(points)}
                 ) AS p {join}
            ORDER BY p.model, p.ts, p.symbol, p.timeframe""",
        PREDICTION_COLUMNS,
    )
    scores = _frame(
        con,
        f"""SELECT model, any_value(family) AS family, count(*) AS predictions,
                   count(DISTINCT symbol) AS symbols,
                   corr(prediction, realized) AS ic,
                   avg(CASE WHEN realized IS NOT NULL AND realized <> 0 AND prediction <> 0
                       THEN CAST(sign(prediction) = sign(realized) AS DOUBLE) END) AS hit_rate,
                   min(ts) AS first_ts, max(ts) AS last_ts
            FROM ({joined}) GROUP BY model ORDER BY model""",
        MODEL_SCORE_COLUMNS,
    )
    return newest, scores


def load_signals(con: duckdb.DuckDBPyConnection) -> tuple[pl.DataFrame, pl.DataFrame]:
    """(latest signal per symbol and timeframe, long/short/flat counts per series)."""
    cols = ", ".join(f'"{c}"' for c in SIGNALS_SCHEMA)
    latest = _frame(
        con,
        f"""SELECT {cols} FROM signals.signals
            QUALIFY row_number() OVER (PARTITION BY symbol, timeframe ORDER BY ts DESC) = 1
            ORDER BY symbol, timeframe""",
        dict(SIGNALS_SCHEMA),
    )
    counts = _frame(
        con,
        """SELECT symbol, timeframe, count(*) AS bars,
                  count(*) FILTER (WHERE direction > 0) AS long,
                  count(*) FILTER (WHERE direction < 0) AS short,
                  count(*) FILTER (WHERE direction = 0 OR direction IS NULL) AS flat
           FROM signals.signals GROUP BY symbol, timeframe ORDER BY symbol, timeframe""",
        SIGNAL_COUNT_COLUMNS,
    )
    return latest, counts


def load_positions(con: duckdb.DuckDBPyConnection) -> pl.DataFrame:
    """The distribution of the target positions of ``signals.signals`` per (symbol,
    timeframe) and their turnover (:data:`POSITION_COLUMNS`; fractions of equity). Sums run
    in bar order, so the same signals give the same figures to the last bit (the report's
    content hash)."""
    share = "avg(CASE WHEN {} THEN 1.0 ELSE 0.0 END)"
    return _frame(
        con,
        f"""SELECT symbol, timeframe, count(*) AS bars,
                  {share.format("position <= -0.5")} AS short_large,
                  {share.format("position < 0 AND position > -0.5")} AS short_small,
                  {share.format("position = 0")} AS flat,
                  {share.format("position > 0 AND position < 0.5")} AS long_small,
                  {share.format("position >= 0.5")} AS long_large,
                  {share.format("abs(position) >= 0.9995")} AS "full",
                  quantile_cont(position, 0.05) AS p05, median(position) AS p50,
                  quantile_cont(position, 0.95) AS p95,
                  avg(abs(position) ORDER BY ts) AS mean_abs,
                  avg(abs(position - coalesce(prev, 0)) ORDER BY ts) AS turnover
           FROM (SELECT symbol, timeframe, ts, position,
                        lag(position) OVER (PARTITION BY symbol, timeframe ORDER BY ts) AS prev
                 FROM signals.signals)
           GROUP BY symbol, timeframe ORDER BY symbol, timeframe""",
        POSITION_COLUMNS,
    )


def load_news(
    con: duckdb.DuckDBPyConnection, has_scores: bool, limit: int = HEADLINES
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """(articles and mean score per UTC day, the newest ``limit`` headlines with scores).

    Scores are the mean over the stored methods/model versions of each article (lexicon, ML,
    LLM); articles without a score count in ``articles`` with a NULL score."""
    scores = (
        "(SELECT article_id, avg(score) AS score, "
        "mode(label) AS label FROM ml.sentiment GROUP BY article_id)"
        if has_scores
        else "(SELECT NULL::VARCHAR AS article_id, NULL::DOUBLE AS score, NULL::VARCHAR AS label)"
    )
    scored = f"""
        SELECT n.published_at, n.publisher, n.title, n.url,
               array_to_string(n.tickers, ', ') AS tickers, s.score, s.label
        FROM raw.news AS n LEFT JOIN {scores} AS s USING (article_id)
        WHERE n.published_at IS NOT NULL
    """
    daily = _frame(
        con,
        f"""SELECT date_trunc('day', published_at) AS day, count(*) AS articles,
                   avg(score) AS mean_score
            FROM ({scored}) GROUP BY day ORDER BY day""",
        SENTIMENT_COLUMNS,
    )
    newest = _frame(
        con,
        f"SELECT * FROM ({scored}) ORDER BY published_at DESC, title LIMIT {int(limit)}",
        HEADLINE_COLUMNS,
    )
    return daily, newest


def load_freshness(con: duckdb.DuckDBPyConnection) -> pl.DataFrame:
    """Bars, first and newest bar open time per (symbol, timeframe) of ``staging.bars``."""
    return _frame(
        con,
        """SELECT symbol, timeframe, count(*) AS bars, min(ts) AS first_ts, max(ts) AS last_ts
           FROM staging.bars GROUP BY symbol, timeframe ORDER BY symbol, timeframe""",
        FRESHNESS_COLUMNS,
    )


def load_cliffs(con: duckdb.DuckDBPyConnection, factor: float = SPLIT_CLIFF_FACTOR) -> pl.DataFrame:
    """One-bar close moves by ``factor`` x or more (up or down) in ``staging.bars``: the mark
    of a split (or a reverse split) in prices that were not adjusted for it. Only consecutive
    bars count, as in the ``outlier_jumps`` check: a move across a gap longer than five bars
    (and five days) is two stretches of data, not a cliff."""
    timeframes = [
        r[0] for r in con.execute("SELECT DISTINCT timeframe FROM staging.bars").fetchall()
    ]
    gaps = {tf: max(5 * timeframe_seconds(tf), 5 * 86_400) for tf in timeframes if tf}
    if not gaps:
        return empty(CLIFF_COLUMNS)
    values = ", ".join(f"('{tf}', {s})" for tf, s in gaps.items())
    low = 1.0 / factor
    return _frame(
        con,
        f"""SELECT symbol, timeframe, ts, close / prev AS ratio FROM (
                SELECT b.symbol, b.timeframe, b.ts, b.close, g.max_gap_s,
                       lag(b.close) OVER w AS prev, lag(b.ts) OVER w AS prev_ts
                FROM staging.bars AS b
                JOIN (VALUES {values}) AS g(timeframe, max_gap_s) USING (timeframe)
                WINDOW w AS (PARTITION BY b.symbol, b.timeframe ORDER BY b.ts))
            WHERE prev > 0 AND epoch(ts) - epoch(prev_ts) <= max_gap_s
              AND (close / prev >= {factor!r} OR close / prev <= {low!r})
            ORDER BY symbol, timeframe, ts""",
        CLIFF_COLUMNS,
    )


def load_costs(con: duckdb.DuckDBPyConnection) -> pl.DataFrame:
    """``ops.cost_metrics`` summed per asset, most expensive (wall time) first."""
    return _frame(
        con,
        """SELECT asset_key, count(DISTINCT run_id) AS runs, sum(wall_s) AS wall_s,
                  sum(cpu_s) AS cpu_s, max(peak_rss_mb) AS peak_rss_mb, sum(rows) AS rows,
                  sum(llm_tokens) AS llm_tokens, sum(cost_usd) AS cost_usd
           FROM ops.cost_metrics GROUP BY asset_key ORDER BY wall_s DESC NULLS LAST, asset_key""",
        COST_COLUMNS,
    )


def load_cost_daily(con: duckdb.DuckDBPyConnection) -> pl.DataFrame:
    """``ops.cost_metrics`` per UTC day of ``started_at`` (cost over time), oldest first."""
    return _frame(
        con,
        """SELECT date_trunc('day', started_at) AS day, count(DISTINCT run_id) AS runs,
                  count(*) AS materializations, sum(wall_s) AS wall_s, sum(cpu_s) AS cpu_s,
                  sum(cost_usd) AS cost_usd
           FROM ops.cost_metrics WHERE started_at IS NOT NULL GROUP BY 1 ORDER BY 1""",
        COST_DAILY_COLUMNS,
    )


def load_trading(con: duckdb.DuckDBPyConnection, tables: set[str]) -> dict[str, pl.DataFrame]:
    """The paper-trading frames: ``orders``, ``book``, ``trade_costs`` and ``slippage``
    (each empty when its table is missing)."""
    out: dict[str, pl.DataFrame] = {}
    cols = ", ".join(f'"{c}"' for c in ORDER_COLUMNS)
    out["orders"] = _frame(
        con,
        f"""SELECT {cols} FROM trading.orders
            ORDER BY bar_ts DESC, symbol LIMIT {ORDERS_SHOWN}""",
        ORDER_COLUMNS,
    )
    if "trading.positions" in tables:
        cols = ", ".join(f'"{c}"' for c in POSITIONS_SCHEMA)
        out["book"] = _frame(
            con, f"SELECT {cols} FROM trading.positions ORDER BY symbol", dict(POSITIONS_SCHEMA)
        )
    if "trading.costs" in tables:
        cols = ", ".join(f'"{c}"' for c in TRADE_COSTS_SCHEMA)
        out["trade_costs"] = _frame(
            con, f"SELECT {cols} FROM trading.costs ORDER BY client_order_id",
            dict(TRADE_COSTS_SCHEMA),
        )  # fmt: skip
        out["slippage"] = _frame(
            con,
            """SELECT symbol, count(filled_notional) AS filled_orders,
                      sum(filled_notional) AS filled_notional,
                      sum(slippage_bps * filled_notional ORDER BY client_order_id)
                          / nullif(sum(filled_notional), 0) AS realized_bps,
                      avg(assumed_slippage_bps) AS assumed_bps,
                      sum(fees_usd ORDER BY client_order_id) AS fees_usd,
                      sum(compute_usd ORDER BY client_order_id) AS compute_usd,
                      avg(total_usd ORDER BY client_order_id) AS cost_per_trade_usd
               FROM trading.costs GROUP BY symbol ORDER BY symbol""",
            SLIPPAGE_COLUMNS,
        )
    return out


#: the reads of :func:`load_inputs` that the charts are drawn from
CHART_READS = frozenset({"equity", "predictions", "news", "costs"})
#: every read of :func:`load_inputs`, by name
READS = frozenset({"equity", "backtests", "predictions", "signals", "news", "freshness", "costs",
                   "trading"})  # fmt: skip


def load_inputs(
    con: duckdb.DuckDBPyConnection,
    workers: int = 2,
    reads: Collection[str] = READS,
    into: ReportInputs | None = None,
) -> ReportInputs:
    """Read every warehouse input of the report; a missing table leaves its frame empty and a
    table that cannot be read (an older layout, a wrong column) is recorded in ``skipped``
    with the reason instead of failing the report.

    The reads are independent: ``workers`` threads run them on their own cursors of ``con``
    (DuckDB runs a query without holding Python's interpreter lock), and the results are
    gathered in a fixed order, so the inputs are the same as reading them one by one.
    ``reads`` (names in :data:`READS`) reads only those, into ``into`` when given (e.g.
    :data:`CHART_READS` first, to start the charts, then the others into the same inputs).

    Raises:
        ValueError: an unknown name in ``reads``.
    """
    if unknown := set(reads) - READS:
        raise ValueError(f"unknown report input reads {sorted(unknown)}; known: {sorted(READS)}")
    tables = catalog.existing_tables(con)

    def predictions(cur) -> dict[str, Any]:
        has_labels = "features.labels" in tables and "fwd_ret_1" in catalog.column_names(
            cur, "features.labels"
        )
        frames = load_predictions(cur, has_labels)
        return {"predictions": frames[0], "model_scores": frames[1]}

    def signals(cur) -> dict[str, Any]:
        frames = load_signals(cur)
        return {"signals": frames[0], "signal_counts": frames[1], "positions": load_positions(cur)}

    def news(cur) -> dict[str, Any]:
        frames = load_news(cur, "ml.sentiment" in tables)
        return {"sentiment": frames[0], "headlines": frames[1]}

    cols = ", ".join(f'"{c}"' for c in BACKTEST_METRICS_SCHEMA)
    planned: list[tuple[str, str, Callable[[duckdb.DuckDBPyConnection], dict[str, Any]]]] = [
        ("equity", "signals.backtest_equity", lambda cur: {"equity": load_equity(cur)}),
        ("backtests", "signals.backtest_metrics", lambda cur: {"backtests": _frame(
            cur,
            f"SELECT {cols} FROM signals.backtest_metrics ORDER BY symbol, timeframe, strategy",
            dict(BACKTEST_METRICS_SCHEMA),
        )}),
        ("predictions", "ml.predictions", predictions),
        ("signals", "signals.signals", signals),
        ("news", "raw.news", news),
        ("freshness", "staging.bars",
         lambda cur: {"freshness": load_freshness(cur), "cliffs": load_cliffs(cur)}),
        ("costs", "ops.cost_metrics",
         lambda cur: {"costs": load_costs(cur), "cost_daily": load_cost_daily(cur)}),
        ("trading", "trading.orders", lambda cur: load_trading(cur, tables)),
    ]  # fmt: skip

    def attempt(read) -> tuple[str, dict[str, Any] | str]:
        name, needs, load = read
        cur = utc_cursor(con)
        try:
            return name, load(cur)
        except duckdb.Error as exc:  # a table of an unexpected shape: say so, keep going
            return name, f"{needs}: {str(exc).splitlines()[0]}"
        finally:
            cur.close()

    wanted = [read for read in planned if read[0] in reads and read[1] in tables]
    with ThreadPoolExecutor(max_workers=max(1, workers)) as pool:
        results = list(pool.map(attempt, wanted))
    inputs = ReportInputs() if into is None else into
    for name, result in results:
        if isinstance(result, str):
            inputs.skipped[name] = result
            continue
        for field_name, frame in result.items():
            setattr(inputs, field_name, frame)
    return inputs


def newest_bar(inputs: ReportInputs) -> datetime | None:
    """Open time of the newest bar in ``staging.bars`` (None without bars)."""
    if inputs.freshness.height == 0:
        return None
    return inputs.freshness["last_ts"].max()
