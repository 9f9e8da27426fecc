"""One training pipeline for every model family (no Dagster here).

- :mod:`.dataset`: the feature/label rows of one (timeframe, target), checked and prepared.
- :mod:`.splits`: walk-forward folds (expanding or rolling) with a purge gap.
- :mod:`.metrics`: IC, Rank IC, ICIR, directional accuracy, RMSE; accuracy, balanced
  accuracy and log-loss of direction classifiers.
- :mod:`.families`: the configured model families (LightGBM, SVM, MLP, LSTM, ARIMA and the
  baselines on forward returns; the SVC on directions).
- :mod:`.lstm`: the LSTM family on Keras 3 + JAX (the optional extra ``lstm``).
- :mod:`.training`: walk-forward training of every family on one dataset.
- :mod:`.newest_bar`: the features of the newest bar only, for the inference fast path.
- :mod:`.pyfunc` / :mod:`.tracking`: MLflow models, runs, registry and the champion alias.
- :mod:`.predictor`: a cached champion with a fast path and hot swap of the alias.
- :mod:`.plan`: which (timeframe, target, family) ``ml/models`` trains, reuses or skips, and
  the prediction rows it stores.
"""
