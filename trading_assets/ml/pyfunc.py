"""The MLflow pyfunc wrapper of every family's fitted model (imports mlflow: import lazily).

The fitted model (:mod:`.families`) is pickled as the artifact :data:`FITTED_ARTIFACT`; this
wrapper loads it and predicts a pandas frame of the model's ``input_columns``. That is what
``mlflow models serve`` and ``mlflow.pyfunc.load_model`` use; the fast
:class:`~trading_assets.ml.predictor.Predictor` unpickles the artifact itself and skips pyfunc.
"""

from __future__ import annotations

import pickle
import warnings
from typing import Any

import mlflow.pyfunc
import polars as pl

#: artifact key and file name of the pickled fitted model inside the MLflow model
FITTED_ARTIFACT = "fitted"


def load_fitted(path: str) -> Any:
    """The fitted model pickled at ``path``."""
    with open(path, "rb") as handle:
        return pickle.load(handle)  # noqa: S301 - our own artifact store


# MLflow warns at class creation that predict has no type hints (on purpose, see below)
with warnings.catch_warnings():
    warnings.simplefilter("ignore")

    class TradingModel(mlflow.pyfunc.PythonModel):
        """pyfunc model: pandas frame of the input columns -> float64 predictions (log return)."""

        def load_context(self, context: Any) -> None:
            self.model = load_fitted(context.artifacts[FITTED_ARTIFACT])

        # no type hints: MLflow would try to infer a signature from them
        def predict(self, context, model_input, params=None):  # noqa: ANN001, ANN201
            frame = (
                pl.from_pandas(model_input)
                if not isinstance(model_input, pl.DataFrame)
                else model_input
            )
            return self.model.predict_frame(frame)
