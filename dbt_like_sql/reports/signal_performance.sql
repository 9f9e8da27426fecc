-- How the trading signals did, per symbol and timeframe: signals.signals (DESIGN.md section 4:
-- direction, strength, position per bar) against the realized forward log returns of
-- features.labels. direction may be numeric (sign used) or a word (long/buy/up,
-- short/sell/down, flat). hit_rate_1: share of non-flat signals whose direction matched the
-- next bar's move; strategy_log_return_1: sum of position x next-bar log return (no costs);
-- ic_1 / ic_5: Pearson correlation of signed strength with the 1- and 5-bar forward returns.
-- Built only once an asset producing signals.signals exists; until then the loader skips it.
WITH signed AS (
    SELECT
        s.symbol,
        s.timeframe,
        s.ts,
        s.strength,
        s.position,
        CASE
            WHEN lower(CAST(s.direction AS VARCHAR)) IN ('long', 'buy', 'up') THEN 1
            WHEN lower(CAST(s.direction AS VARCHAR)) IN ('short', 'sell', 'down') THEN -1
            WHEN lower(CAST(s.direction AS VARCHAR)) IN ('flat', 'hold', 'none') THEN 0
            ELSE sign(try_cast(s.direction AS DOUBLE))
        END AS dir
    FROM signals.signals AS s
)

SELECT
    g.symbol,
    g.timeframe,
    count(*) AS signals,
    count(*) FILTER (WHERE g.dir <> 0) AS active_signals,
    avg(CASE WHEN g.dir <> 0 AND l.dir_1 IS NOT NULL THEN CAST(g.dir = l.dir_1 AS DOUBLE) END)
        AS hit_rate_1,
    sum(g.position * l.fwd_ret_1) AS strategy_log_return_1,
    avg(g.position * l.fwd_ret_1) AS mean_log_return_1,
    corr(g.strength * g.dir, l.fwd_ret_1) AS ic_1,
    corr(g.strength * g.dir, l.fwd_ret_5) AS ic_5,
    min(g.ts) AS first_ts,
    max(g.ts) AS last_ts
FROM signed AS g
LEFT JOIN features.labels AS l USING (symbol, timeframe, ts)
GROUP BY g.symbol, g.timeframe
ORDER BY g.symbol, g.timeframe
