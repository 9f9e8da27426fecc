-- Daily bars built in SQL from each symbol's 1m bars in staging.bars: UTC days for crypto pairs
-- (symbols written BASE/QUOTE), New York regular sessions (09:30-16:00 local) for equities,
-- stamped 00:00 UTC of the trading date like daily source files. Every day with 1m bars
-- appears, complete or not: n_bars against expected_bars (1440 or 390) says how complete it
-- is. source_close / close_diff reconcile with the 1d bar of staging.bars for the same day
-- (NULL where there is none). Prices in the quote currency, volume in the base asset.
WITH minute AS (
    SELECT
        symbol,
        ts,
        open,
        high,
        low,
        close,
        volume,
        contains(symbol, '/') AS is_crypto,
        timezone('America/New_York', ts) AS local_ts
    FROM staging.bars
    WHERE timeframe = '1m'
),

in_session AS (
    SELECT
        *,
        CASE WHEN is_crypto THEN CAST(ts AS DATE) ELSE CAST(local_ts AS DATE) END AS day
    FROM minute
    WHERE
        is_crypto
        OR (CAST(local_ts AS TIME) >= TIME '09:30:00' AND CAST(local_ts AS TIME) < TIME '16:00:00')
),

daily AS (
    SELECT
        symbol,
        day,
        arg_min(open, ts) AS open,
        max(high) AS high,
        min(low) AS low,
        arg_max(close, ts) AS close,
        sum(volume) AS volume,
        count(*) AS n_bars,
        CASE WHEN bool_and(is_crypto) THEN 1440 ELSE 390 END AS expected_bars,
        min(ts) AS first_bar_ts,
        max(ts) AS last_bar_ts
    FROM in_session
    GROUP BY symbol, day
)

SELECT
    d.symbol,
    '1d' AS timeframe,
    timezone('UTC', CAST(d.day AS TIMESTAMP)) AS ts,
    d.open,
    d.high,
    d.low,
    d.close,
    d.volume,
    d.n_bars,
    d.expected_bars,
    d.n_bars = d.expected_bars AS complete,
    d.first_bar_ts,
    d.last_bar_ts,
    s.close AS source_close,
    d.close - s.close AS close_diff
FROM daily AS d
LEFT JOIN staging.bars AS s
    ON
        s.symbol = d.symbol
        AND s.timeframe = '1d'
        AND s.ts = timezone('UTC', CAST(d.day AS TIMESTAMP))
ORDER BY d.symbol, d.day
