"""The news domain in Dagster: ``raw/news``, ``ml/sentiment_model``, ``ml/sentiment_scores``,
``features/sentiment_agg``, their checks, resources and the feed polling sensor."""
