"""News ingestion logic (no Dagster): feeds, Alpaca news and local files -> ``raw.news`` rows.

Modules: :mod:`~trading_assets.news.articles` (plain text, URLs, ids),
:mod:`~trading_assets.news.fetch` (concurrent conditional GETs),
:mod:`~trading_assets.news.parse` (safe RSS/Atom parsing),
:mod:`~trading_assets.news.alpaca_news`, :mod:`~trading_assets.news.files`,
:mod:`~trading_assets.news.dedup`, :mod:`~trading_assets.news.tagging`,
:mod:`~trading_assets.news.feedlist` (the shipped ``feeds.toml``) and
:mod:`~trading_assets.news.ingest` (one collection pass),
:mod:`~trading_assets.news.settings` (configured sources, environment parsing) and
:mod:`~trading_assets.news.store` (``raw.news``/``ops.news_sources`` reads and writes).
"""
