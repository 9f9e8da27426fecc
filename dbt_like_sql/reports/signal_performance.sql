-- How the consensus signals did, per symbol and timeframe, in the one P&L of the project:
-- the backtest engine's (signals/backtest: the target position decided at a bar's close is
-- filled at the next bar's open, with fees and slippage), read from signals.backtest_metrics
-- (strategy 'consensus', and buy_and_hold for comparison). Nothing here recomputes a return.
-- Next to it, what the signals were (signals.signals): how many, how many held a position,
-- the mean absolute position and the mean position change per bar (fractions of equity), and
-- the forecast quality of the signal: ic_1 / ic_5, Pearson correlation of the signed strength
-- with the realized 1- and 5-bar forward log returns of features.labels (an IC, not a P&L).
WITH per_series AS (
    SELECT
        s.symbol,
        s.timeframe,
        count(*) AS signals,
        count(*) FILTER (WHERE s.position <> 0) AS active_signals,
        -- ordered: the same sums in the same order on every run, so an unchanged input
        -- gives the same table (and data version) to the last bit
        avg(abs(s.position) ORDER BY s.ts) AS mean_abs_position,
        avg(abs(s.position - coalesce(s.prev_position, 0)) ORDER BY s.ts) AS signal_turnover,
        corr(s.strength * sign(s.direction), l.fwd_ret_1 ORDER BY s.ts) AS ic_1,
        corr(s.strength * sign(s.direction), l.fwd_ret_5 ORDER BY s.ts) AS ic_5,
        min(s.ts) AS first_ts,
        max(s.ts) AS last_ts
    FROM (
        SELECT
            *,
            lag(position) OVER (PARTITION BY symbol, timeframe ORDER BY ts) AS prev_position
        FROM signals.signals
    ) AS s
    LEFT JOIN features.labels AS l USING (symbol, timeframe, ts)
    GROUP BY s.symbol, s.timeframe
)

SELECT
    p.*,
    c.total_return,
    c.cagr,
    c.sharpe,
    c.max_drawdown,
    c.hit_rate,
    c.turnover,
    c.exposure,
    c.fees_bps,
    c.slippage_bps,
    b.total_return AS buy_and_hold_return,
    c."start" AS backtest_start,
    c."end" AS backtest_end
FROM per_series AS p
LEFT JOIN signals.backtest_metrics AS c
    ON c.symbol = p.symbol AND c.timeframe = p.timeframe AND c.strategy = 'consensus'
LEFT JOIN signals.backtest_metrics AS b
    ON b.symbol = p.symbol AND b.timeframe = p.timeframe AND b.strategy = 'buy_and_hold'
ORDER BY p.symbol, p.timeframe
