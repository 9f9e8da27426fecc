"""Canonical table schemas (DESIGN.md §4) as Polars schemas.

Timestamps are ``Datetime("us", "UTC")``; prices are float64 in the quote currency; sizes and
volumes are float64 in the base asset (shares for equities). A bar's ``ts`` is its open time;
the bar is known only at its close (``ts + timeframe`` for crypto, the exchange session's
close for equities: :mod:`trading_assets.sessions`).
"""

from __future__ import annotations

import polars as pl

UTC_TS = pl.Datetime("us", "UTC")

#: ``raw.bars``: one OHLCV bar. Key: (symbol, timeframe, ts).
BARS_SCHEMA: dict[str, pl.DataType] = {
    "symbol": pl.String(),
    "timeframe": pl.String(),
    "ts": UTC_TS,
    "open": pl.Float64(),
    "high": pl.Float64(),
    "low": pl.Float64(),
    "close": pl.Float64(),
    "volume": pl.Float64(),
    "trades": pl.Int64(),  # nullable: number of trades in the bar
    "vwap": pl.Float64(),  # nullable
    "source": pl.String(),
}
BARS_KEY: tuple[str, ...] = ("symbol", "timeframe", "ts")

#: ``raw.ticks``: one trade. Key: (symbol, source, trade_id).
TICKS_SCHEMA: dict[str, pl.DataType] = {
    "symbol": pl.String(),
    "source": pl.String(),
    "trade_id": pl.String(),  # exchange id as text (ids can exceed 2**53); else "<ts_us>-<seq>"
    "ts": UTC_TS,
    "price": pl.Float64(),
    "size": pl.Float64(),
    "side": pl.String(),  # "buy" | "sell" | null: the taker's side
}
TICKS_KEY: tuple[str, ...] = ("symbol", "source", "trade_id")

#: ``raw.quotes``: one best bid/ask update. Key: (symbol, source, ts, seq).
QUOTES_SCHEMA: dict[str, pl.DataType] = {
    "symbol": pl.String(),
    "source": pl.String(),
    "ts": UTC_TS,
    "seq": pl.Int64(),  # 0, 1, ... among updates sharing a timestamp, in file order
    "bid": pl.Float64(),
    "bid_size": pl.Float64(),
    "ask": pl.Float64(),
    "ask_size": pl.Float64(),
}
QUOTES_KEY: tuple[str, ...] = ("symbol", "source", "ts", "seq")

#: ``raw.quote_bars``: bid and ask OHLC per bar (QuantConnect Lean quote files).
#: Key: (symbol, timeframe, ts).
QUOTE_BARS_SCHEMA: dict[str, pl.DataType] = {
    "symbol": pl.String(),
    "timeframe": pl.String(),
    "ts": UTC_TS,
    "bid_open": pl.Float64(),
    "bid_high": pl.Float64(),
    "bid_low": pl.Float64(),
    "bid_close": pl.Float64(),
    "bid_size": pl.Float64(),
    "ask_open": pl.Float64(),
    "ask_high": pl.Float64(),
    "ask_low": pl.Float64(),
    "ask_close": pl.Float64(),
    "ask_size": pl.Float64(),
    "source": pl.String(),
}
QUOTE_BARS_KEY: tuple[str, ...] = ("symbol", "timeframe", "ts")

#: kind of rows a source item yields -> (schema, key)
KINDS: dict[str, tuple[dict[str, pl.DataType], tuple[str, ...]]] = {
    "bars": (BARS_SCHEMA, BARS_KEY),
    "ticks": (TICKS_SCHEMA, TICKS_KEY),
    "quotes": (QUOTES_SCHEMA, QUOTES_KEY),
    "quote_bars": (QUOTE_BARS_SCHEMA, QUOTE_BARS_KEY),
}


def empty_frame(kind: str) -> pl.DataFrame:
    """An empty DataFrame with the canonical schema of ``kind`` (``bars``, ``ticks``, ...)."""
    schema, _ = KINDS[kind]
    return pl.DataFrame(schema=schema)


def conform(frame: pl.DataFrame, kind: str) -> pl.DataFrame:
    """Select and cast ``frame`` to the canonical column order and dtypes of ``kind``.

    Missing nullable columns (``trades``, ``vwap``, ``side``) are added as nulls.

    Raises:
        KeyError: if a required column is missing.
    """
    schema, _ = KINDS[kind]
    optional = {"trades", "vwap", "side"}
    exprs = []
    for name, dtype in schema.items():
        if name in frame.columns:
            exprs.append(pl.col(name).cast(dtype))
        elif name in optional:
            exprs.append(pl.lit(None, dtype=dtype).alias(name))
        else:
            raise KeyError(f"canonical {kind} frame is missing column {name!r}")
    return frame.select(exprs)


#: ``staging.bars``: source bars plus bars resampled from finer data where a source does not
#: provide the timeframe. ``source`` is the source format for source bars and
#: ``resampled:<from-timeframe>`` for derived ones. Key: (symbol, timeframe, ts).
STAGING_BARS_SCHEMA: dict[str, pl.DataType] = {**BARS_SCHEMA, "n_parts": pl.Int64()}

#: ``ops.source_items``: one row per source file or API request, with the state it ended in
#: (see :mod:`trading_assets.sources.states`): ``landed``, ``partly_landed`` (good rows
#: stored, bad rows in ``ops.rejected_rows``), ``rejected`` (nothing stored) or ``ignored``
#: (by rule: not a price file, a news file...). ``error`` says why, for every state but
#: ``landed``; ``rows`` counts the rows stored; ``kind`` is ``file`` for files no price reader
#: took. Rows written before these states existed say ``ok``/``error``.
SOURCE_ITEMS_SCHEMA: dict[str, pl.DataType] = {
    "origin": pl.String(),
    "kind": pl.String(),
    "symbol": pl.String(),
    "timeframe": pl.String(),
    "source": pl.String(),
    "fingerprint": pl.String(),
    "status": pl.String(),
    "rows": pl.Int64(),
    "error": pl.String(),
    "ingested_at": UTC_TS,
}
SOURCE_ITEMS_KEY: tuple[str, ...] = ("origin", "kind")

#: ``ops.rejected_rows``: rows of a source file set aside while its good rows landed (or that
#: got the file rejected). ``row`` is 1-based as in error messages (a file line, a JSON array
#: element), ``raw`` the row's text in the file, ``bad`` False for rows held back by rule
#: rather than wrong (a partial last candle). Replaced per (origin, kind) when the file is
#: read again. Key: (origin, kind, row).
REJECTED_ROWS_SCHEMA: dict[str, pl.DataType] = {
    "origin": pl.String(),
    "kind": pl.String(),
    "symbol": pl.String(),
    "row": pl.Int64(),
    "field": pl.String(),
    "reason": pl.String(),
    "raw": pl.String(),
    "bad": pl.Boolean(),
    "fingerprint": pl.String(),
    "recorded_at": UTC_TS,
}
REJECTED_ROWS_KEY: tuple[str, ...] = ("origin", "kind", "row")

#: ``raw.corporate_actions``: dividends, splits and capital gains that price files carry
#: (yfinance's ``Dividends``, ``Stock Splits``, ``Capital Gains`` columns), on the session
#: date (``ts`` 00:00 UTC). ``value``: cash per share in the listing currency for dividends
#: and capital gains, the split ratio (new shares per old share: 5.0 for 5-for-1, 0.05 for
#: 1-for-20) for splits. Key: (symbol, ts, action).
CORPORATE_ACTIONS_SCHEMA: dict[str, pl.DataType] = {
    "symbol": pl.String(),
    "ts": UTC_TS,
    "action": pl.String(),  # dividend | split | capital_gain
    "value": pl.Float64(),
    "source": pl.String(),
    "origin": pl.String(),
}
CORPORATE_ACTIONS_KEY: tuple[str, ...] = ("symbol", "ts", "action")

#: ``raw.news``: one deduplicated article. Key: article_id (see ``trading_assets.news.articles``).
#: ``title``/``summary`` are plain text (markup stripped), ``url`` has tracking parameters
#: removed, ``tickers`` is the sorted union of every source's symbols for the article (empty =
#: untagged), ``source`` the kind of source that first delivered it (``rss``, ``alpaca``,
#: ``yahoo_json``, ``headlines_csv``, ``feed_file``).
NEWS_SCHEMA: dict[str, pl.DataType] = {
    "article_id": pl.String(),
    "published_at": UTC_TS,
    "source": pl.String(),
    "publisher": pl.String(),
    "title": pl.String(),
    "summary": pl.String(),
    "url": pl.String(),
    "tickers": pl.List(pl.String()),
    "fetched_at": UTC_TS,
}
NEWS_KEY: tuple[str, ...] = ("article_id",)

#: ``ops.news_sources``: one row per news source (feed URL, file, API endpoint): the outcome
#: of its last check, with its reason, and the conditional-GET validators of its last good
#: fetch. Key: origin.
NEWS_SOURCES_SCHEMA: dict[str, pl.DataType] = {
    "origin": pl.String(),
    "kind": pl.String(),  # rss | alpaca | yahoo_json | headlines_csv | feed_file
    "status": pl.String(),  # ok | not_modified | unchanged | degraded | failed
    "reason": pl.String(),
    "http_status": pl.Int64(),
    "etag": pl.String(),
    "last_modified": pl.String(),
    "fingerprint": pl.String(),
    "entries": pl.Int64(),
    "bytes": pl.Int64(),
    "elapsed_s": pl.Float64(),
    "checked_at": UTC_TS,
}
NEWS_SOURCES_KEY: tuple[str, ...] = ("origin",)

#: ``ml.sentiment``: one score of one article by one method and model version.
#: ``score`` in [-1, 1] (negative .. positive), ``label`` negative | neutral | positive,
#: ``confidence`` in [0, 1]. Key: (article_id, method, model_version).
SENTIMENT_SCHEMA: dict[str, pl.DataType] = {
    "article_id": pl.String(),
    "method": pl.String(),  # lexicon | ml | llm
    "model_version": pl.String(),
    "score": pl.Float64(),
    "label": pl.String(),
    "confidence": pl.Float64(),
    "scored_at": UTC_TS,
}
SENTIMENT_KEY: tuple[str, ...] = ("article_id", "method", "model_version")

#: ``ml.llm_sentiment_cache``: LLM answers by content hash of the text sent, so the same text
#: is never sent twice. Key: (content_hash, prompt_version).
LLM_CACHE_SCHEMA: dict[str, pl.DataType] = {
    "content_hash": pl.String(),
    "prompt_version": pl.String(),
    "score": pl.Float64(),
    "label": pl.String(),
    "confidence": pl.Float64(),
    "provider": pl.String(),
    "model": pl.String(),
    "created_at": UTC_TS,
}
LLM_CACHE_KEY: tuple[str, ...] = ("content_hash", "prompt_version")

#: ``features.sentiment_agg``: news sentiment per symbol and bar. ``ts`` is the bar's open
#: time; the bar holds articles published in [ts, ts + timeframe) and is known at
#: ts + timeframe. Key: (symbol, timeframe, ts, method, model_version).
SENTIMENT_AGG_SCHEMA: dict[str, pl.DataType] = {
    "symbol": pl.String(),
    "timeframe": pl.String(),
    "ts": UTC_TS,
    "method": pl.String(),
    "model_version": pl.String(),
    "mean_score": pl.Float64(),
    "count": pl.Int64(),
    "positive_share": pl.Float64(),
    "negative_share": pl.Float64(),
    "novelty": pl.Float64(),
}
SENTIMENT_AGG_KEY: tuple[str, ...] = ("symbol", "timeframe", "ts", "method", "model_version")

#: ``ml.predictions``: one out-of-sample prediction of one model for one bar, made by the
#: walk-forward fold whose training window ended before the bar (purge gap >= label horizon).
#: ``model`` is the registered model name ``<target>-<timeframe>-<family>`` (e.g.
#: ``fwd_ret_1-1h-lightgbm``), ``model_version`` the content version of the training run
#: (input data version + config + code), ``target`` the label column predicted (a forward log
#: return, e.g. ``fwd_ret_1``), ``prediction`` the predicted value of that label, ``fold`` the
#: walk-forward fold index (0, 1, ...; NULL for live rows), ``available_at`` when the prediction
#: could first be made (the bar's close, ``ts + timeframe``), ``kind`` ``walk_forward`` (a test
#: fold of training) or ``live`` (a served champion or a baseline formula on a bar whose label
#: is not realized yet), ``predicted_at`` the measured wall-clock time (UTC) it was computed.
#: ``ml.live_predictions`` has the same schema and key.
#: Key: (model, model_version, symbol, timeframe, ts).
PREDICTIONS_SCHEMA: dict[str, pl.DataType] = {
    "model": pl.String(),
    "model_version": pl.String(),
    "family": pl.String(),  # lightgbm | svm | arima | mlp | lstm | zero | last | moving_average
    "target": pl.String(),
    "symbol": pl.String(),
    "timeframe": pl.String(),
    "ts": UTC_TS,
    "available_at": UTC_TS,
    "prediction": pl.Float64(),
    "fold": pl.Int64(),
    "kind": pl.String(),  # walk_forward | live
    "predicted_at": UTC_TS,
}
PREDICTIONS_KEY: tuple[str, ...] = ("model", "model_version", "symbol", "timeframe", "ts")

#: ``signals.signals``: the consensus trading signal per bar. ``direction`` -1 (short), 0 (flat)
#: or 1 (long); ``strength`` in [0, 1]; ``position`` the target position as a signed fraction of
#: equity (fractional Kelly, within the configured caps); ``agreement`` the weighted share of
#: models agreeing with ``direction`` in [0, 1]; ``confidence`` in [0, 1]; ``consensus`` the
#: IC-weighted predicted forward log return; ``models`` how many models had non-zero weight;
#: ``agreeing_models`` the families with weight whose forecast has the signal's direction
#: (comma-separated, e.g. ``lightgbm,svm``; empty when flat);
#: ``regime`` the bar's market regime (``features.regime``); ``explanation`` plain words from
#: the top feature contributions; ``as_of`` the latest ``available_at`` of the predictions used
#: (never after the bar's close); ``kind`` ``live`` when a live prediction went into it, else
#: ``walk_forward``. Key: (symbol, timeframe, ts).
SIGNALS_SCHEMA: dict[str, pl.DataType] = {
    "symbol": pl.String(),
    "timeframe": pl.String(),
    "ts": UTC_TS,
    "direction": pl.Int64(),
    "strength": pl.Float64(),
    "position": pl.Float64(),
    "agreement": pl.Float64(),
    "confidence": pl.Float64(),
    "consensus": pl.Float64(),
    "models": pl.Int64(),
    "agreeing_models": pl.String(),
    "regime": pl.String(),
    "explanation": pl.String(),
    "as_of": UTC_TS,
    "kind": pl.String(),  # live | walk_forward
}
SIGNALS_KEY: tuple[str, ...] = ("symbol", "timeframe", "ts")

#: ``signals.backtest_metrics``: one row per (strategy, symbol, timeframe) backtest. ``strategy``
#: is a model name, ``consensus`` or ``buy_and_hold``. Returns are simple returns of equity
#: after fees and slippage; ratios annualized with the timeframe's bars per year.
BACKTEST_METRICS_SCHEMA: dict[str, pl.DataType] = {
    "strategy": pl.String(),
    "symbol": pl.String(),
    "timeframe": pl.String(),
    "start": UTC_TS,
    "end": UTC_TS,
    "bars": pl.Int64(),
    "total_return": pl.Float64(),
    "cagr": pl.Float64(),
    "volatility": pl.Float64(),
    "sharpe": pl.Float64(),
    "sortino": pl.Float64(),
    "calmar": pl.Float64(),
    "max_drawdown": pl.Float64(),  # <= 0, e.g. -0.25 for a 25 % drawdown
    "hit_rate": pl.Float64(),
    "turnover": pl.Float64(),  # mean absolute position change per bar
    "exposure": pl.Float64(),  # share of bars with a non-zero position
    "fees_bps": pl.Float64(),
    "slippage_bps": pl.Float64(),
}
BACKTEST_METRICS_KEY: tuple[str, ...] = ("strategy", "symbol", "timeframe")

#: ``signals.backtest_equity``: equity curve per (strategy, symbol, timeframe) and bar; equity
#: starts at 1.0, ``drawdown`` <= 0 from the running peak, ``position`` held over the bar.
BACKTEST_EQUITY_SCHEMA: dict[str, pl.DataType] = {
    "strategy": pl.String(),
    "symbol": pl.String(),
    "timeframe": pl.String(),
    "ts": UTC_TS,
    "position": pl.Float64(),
    "return": pl.Float64(),
    "equity": pl.Float64(),
    "drawdown": pl.Float64(),
}
BACKTEST_EQUITY_KEY: tuple[str, ...] = ("strategy", "symbol", "timeframe", "ts")

#: ``ops.cost_metrics``: what one materialization (one asset, one partition, one run) cost.
#: ``partition`` is "" for unpartitioned assets; ``cost_usd`` from the configured prices.
COST_METRICS_SCHEMA: dict[str, pl.DataType] = {
    "run_id": pl.String(),
    "asset_key": pl.String(),
    "partition": pl.String(),
    "started_at": UTC_TS,
    "wall_s": pl.Float64(),
    "cpu_s": pl.Float64(),
    "peak_rss_mb": pl.Float64(),
    "rows": pl.Int64(),
    "llm_tokens": pl.Int64(),
    "cost_usd": pl.Float64(),
}
COST_METRICS_KEY: tuple[str, ...] = ("run_id", "asset_key", "partition")

#: ``ml.prediction_contributions``: the top feature contributions (LightGBM ``pred_contrib``,
#: in units of the prediction) behind each out-of-sample prediction of a tree model, ``rank``
#: 1 = largest absolute contribution; ``value`` the feature's value on the bar. Signals turn
#: them into plain-words explanations. Key: (model, model_version, symbol, timeframe, ts, rank).
PREDICTION_CONTRIBUTIONS_SCHEMA: dict[str, pl.DataType] = {
    "model": pl.String(),
    "model_version": pl.String(),
    "symbol": pl.String(),
    "timeframe": pl.String(),
    "ts": UTC_TS,
    "rank": pl.Int64(),
    "feature": pl.String(),
    "value": pl.Float64(),
    "contribution": pl.Float64(),
}
PREDICTION_CONTRIBUTIONS_KEY: tuple[str, ...] = (
    "model",
    "model_version",
    "symbol",
    "timeframe",
    "ts",
    "rank",
)

#: ``reports.published``: where the report of one date went, per publishing target
#: (``wordpress`` | ``discord``): the remote id (post id, message id), its URL, the content
#: hash of the report published, and when. Re-running for the same date updates the remote
#: object in place; an unchanged content hash is not published again. Key: (report_date, target).
PUBLISHED_SCHEMA: dict[str, pl.DataType] = {
    "report_date": pl.Date(),
    "target": pl.String(),
    "remote_id": pl.String(),
    "url": pl.String(),
    "content_hash": pl.String(),
    "action": pl.String(),  # created | updated
    "published_at": UTC_TS,
}
PUBLISHED_KEY: tuple[str, ...] = ("report_date", "target")

#: ``trading.orders``: one order intent per (strategy, symbol, bar), keyed by its
#: ``client_order_id`` (derived from those three, so a re-run finds it and never sends it
#: again). ``qty`` is what the intent asks for (shares or coins, > 0; ``side`` buy | sell),
#: ``price`` the reference price (the signal bar's close, quote currency), ``notional`` qty x
#: price; ``target_position`` the signal's weight (fraction of equity) after the exposure
#: limits, ``target_qty``/``current_qty`` the position aimed at and held before (signed);
#: ``equity`` the account equity used (USD). ``status``: ``dry_run``, ``skipped`` (nothing to
#: trade), ``blocked`` (kill switch), ``stale`` (signal too old), ``market_closed``,
#: ``submit_failed`` (no usable answer: sent again, under the same id, by the next run),
#: ``rejected``, or the broker's own status (``accepted``, ``new``, ``partially_filled``,
#: ``filled``, ``canceled``, ``expired``...); ``reason`` says why in plain words.
#: ``filled_qty``/``filled_avg_price``/``fees_usd`` as the broker last reported them.
ORDERS_SCHEMA: dict[str, pl.DataType] = {
    "client_order_id": pl.String(),
    "strategy": pl.String(),
    "symbol": pl.String(),
    "timeframe": pl.String(),
    "bar_ts": UTC_TS,
    "signal_age_bars": pl.Int64(),
    "asset_class": pl.String(),  # crypto | us_equity
    "side": pl.String(),
    "qty": pl.Float64(),
    "price": pl.Float64(),
    "notional": pl.Float64(),
    "target_position": pl.Float64(),
    "target_qty": pl.Float64(),
    "current_qty": pl.Float64(),
    "equity": pl.Float64(),
    "mode": pl.String(),  # dry_run | paper
    "status": pl.String(),
    "reason": pl.String(),
    "broker_order_id": pl.String(),
    "filled_qty": pl.Float64(),
    "filled_avg_price": pl.Float64(),
    "fees_usd": pl.Float64(),
    "attempts": pl.Int64(),
    "created_at": UTC_TS,
    "submitted_at": UTC_TS,
    "updated_at": UTC_TS,
    "run_id": pl.String(),
}
ORDERS_KEY: tuple[str, ...] = ("client_order_id",)

#: ``trading.fills``: what of an order was filled, as the broker last reported it: ``qty``
#: filled (> 0), ``price`` the average fill price, ``notional`` qty x price (USD),
#: ``fees_usd`` the broker's commission, ``reference_price`` the intent's price (the signal
#: bar's close) and ``slippage_bps`` the realized slippage against it (positive: worse than
#: the reference, for buys and sells alike). Key: client_order_id.
FILLS_SCHEMA: dict[str, pl.DataType] = {
    "client_order_id": pl.String(),
    "broker_order_id": pl.String(),
    "strategy": pl.String(),
    "symbol": pl.String(),
    "side": pl.String(),
    "qty": pl.Float64(),
    "price": pl.Float64(),
    "notional": pl.Float64(),
    "fees_usd": pl.Float64(),
    "reference_price": pl.Float64(),
    "slippage_bps": pl.Float64(),
    "status": pl.String(),
    "filled_at": UTC_TS,
    "run_id": pl.String(),
}
FILLS_KEY: tuple[str, ...] = ("client_order_id",)

#: ``trading.positions``: the account's positions against the newest targets, one row per
#: symbol held or aimed at: ``qty`` held (signed; shares or coins), ``market_value`` (USD,
#: signed), ``weight`` market_value / equity, ``target_qty``/``target_position`` from the
#: newest order intent, ``diff_qty`` qty - target_qty; ``open_orders`` orders of the symbol the
#: broker has not finished; ``equity``/``last_equity`` the account's (USD, last_equity at the
#: previous close); ``mode`` dry_run (simulated from the intents) | paper; ``as_of`` the
#: newest order update. Key: symbol.
POSITIONS_SCHEMA: dict[str, pl.DataType] = {
    "symbol": pl.String(),
    "asset_class": pl.String(),
    "qty": pl.Float64(),
    "price": pl.Float64(),
    "market_value": pl.Float64(),
    "weight": pl.Float64(),
    "target_qty": pl.Float64(),
    "target_position": pl.Float64(),
    "diff_qty": pl.Float64(),
    "open_orders": pl.Int64(),
    "equity": pl.Float64(),
    "last_equity": pl.Float64(),
    "mode": pl.String(),
    "as_of": UTC_TS,
}
POSITIONS_KEY: tuple[str, ...] = ("symbol",)

#: ``trading.costs``: the cost of each trade (an order sent, or a dry-run intent): the
#: broker's fees, the realized slippage against the intent's price (``slippage_bps``, positive
#: when worse; ``slippage_usd`` on the filled notional), what the backtest assumed for the
#: same notional (``assumed_fees_bps`` + ``assumed_slippage_bps`` of ``signals/backtest``),
#: and ``compute_usd``: the compute cost of the run that made the order (``ops.cost_metrics``)
#: shared equally by its trades. ``total_usd`` = fees + slippage + compute; ``total_bps`` of
#: the notional (filled, else intended). Key: client_order_id.
TRADE_COSTS_SCHEMA: dict[str, pl.DataType] = {
    "client_order_id": pl.String(),
    "run_id": pl.String(),
    "strategy": pl.String(),
    "symbol": pl.String(),
    "side": pl.String(),
    "status": pl.String(),
    "notional": pl.Float64(),
    "filled_notional": pl.Float64(),
    "fees_usd": pl.Float64(),
    "slippage_bps": pl.Float64(),
    "slippage_usd": pl.Float64(),
    "assumed_fees_bps": pl.Float64(),
    "assumed_slippage_bps": pl.Float64(),
    "assumed_cost_usd": pl.Float64(),
    "compute_usd": pl.Float64(),
    "total_usd": pl.Float64(),
    "total_bps": pl.Float64(),
}
TRADE_COSTS_KEY: tuple[str, ...] = ("client_order_id",)
