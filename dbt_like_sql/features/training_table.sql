-- The feature/label table for model training: one row per bar (symbol, timeframe, ts) with
-- every numeric feature (Alpha158, classic indicators, multi-timeframe context, cross-asset,
-- regime, sentiment) and the labels (fwd_ret_1/5, dir_1/5). Text and audit columns (the
-- regime name, the reference symbol, the context bars' timestamps) are left out. NULL where
-- a feature is missing (see the feature modules for when), and for bars without context or
-- cross-asset rows. Labels look ahead: never use them as features. Kept incrementally (a new
-- bar of one series queries and rewrites only that series' changed rows): the rows are in no
-- particular order.
-- unique_key: symbol, timeframe, ts
-- partition_by: symbol, timeframe
SELECT
    a.symbol,
    a.timeframe,
    a.ts,
    a.* EXCLUDE (symbol, timeframe, ts),
    c.* EXCLUDE (symbol, timeframe, ts),
    x.* EXCLUDE (symbol, timeframe, ts, ctx_1h_ts, ctx_1d_ts),
    xa.* EXCLUDE (symbol, timeframe, ts, ref_symbol),
    r.* EXCLUDE (symbol, timeframe, ts, regime),
    s.* EXCLUDE (symbol, timeframe, ts),
    l.* EXCLUDE (symbol, timeframe, ts)
FROM features.alpha158 AS a
LEFT JOIN features.classic AS c USING (symbol, timeframe, ts)
LEFT JOIN features.context AS x USING (symbol, timeframe, ts)
LEFT JOIN features.cross_asset AS xa USING (symbol, timeframe, ts)
LEFT JOIN features.regime AS r USING (symbol, timeframe, ts)
LEFT JOIN features.sentiment AS s USING (symbol, timeframe, ts)
LEFT JOIN features.labels AS l USING (symbol, timeframe, ts)
