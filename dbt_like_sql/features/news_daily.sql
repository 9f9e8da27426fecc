-- News per symbol and UTC day, from raw.news (one row per article, tickers a list) and
-- ml.sentiment (one score in -1..1 per article, method and model version): articles, and per
-- scoring method the mean score and the shares of positive (score above 0) and negative
-- (score below 0) articles. Articles without a score count under method 'unscored'. A day's row
-- is complete at the end of the day (day + 1 day, UTC). Built only once assets producing
-- raw.news and ml.sentiment exist (the news pipeline); until then the loader skips it.
WITH tagged AS (
    SELECT
        n.article_id,
        n.published_at,
        unnest(n.tickers) AS symbol
    FROM raw.news AS n
),

scored AS (
    SELECT
        t.symbol,
        CAST(t.published_at AS DATE) AS day,
        t.article_id,
        coalesce(s.method, 'unscored') AS method,
        s.score
    FROM tagged AS t
    LEFT JOIN ml.sentiment AS s ON t.article_id = s.article_id
    WHERE t.symbol IS NOT NULL
)

SELECT
    symbol,
    timezone('UTC', CAST(day AS TIMESTAMP)) AS day,
    method,
    count(DISTINCT article_id) AS articles,
    avg(score) AS mean_score,
    avg(CASE WHEN score IS NULL THEN NULL WHEN score > 0 THEN 1.0 ELSE 0.0 END) AS positive_share,
    avg(CASE WHEN score IS NULL THEN NULL WHEN score < 0 THEN 1.0 ELSE 0.0 END) AS negative_share
FROM scored
GROUP BY symbol, day, method
ORDER BY symbol, day, method
