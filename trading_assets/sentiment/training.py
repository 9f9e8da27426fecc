"""Train the ``ml`` sentiment model once per corpus and code (no Dagster).

The model version is a content hash of the corpus, the training config and the training code
(:func:`trading_assets.sentiment.ml.model_version`); a version already registered in MLflow is
promoted to ``champion`` again instead of being retrained.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from trading_assets.sentiment import corpus, lexicon, ml, tracking
from trading_assets.sentiment.settings import SentimentSettings


@dataclass(frozen=True)
class ModelTraining:
    """The outcome of :func:`train_or_reuse`.

    Attributes:
        corpus: the labelled corpus read.
        model_version: ``ml-<12 hex>`` (see :func:`trading_assets.sentiment.ml.model_version`).
        registered: the registered model version, now the ``champion``.
        outcome: the training outcome, or None when the version was registered already.
    """

    corpus: corpus.Corpus
    model_version: str
    registered: tracking.RegisteredModel
    outcome: ml.TrainingOutcome | None

    @property
    def status(self) -> str:
        """``trained; winner <name>`` or ``already trained and registered as <uri>; not
        retrained``."""
        if self.outcome is None:
            return f"already trained and registered as {self.registered.model_uri}; not retrained"
        return f"trained; winner {self.outcome.winner}"

    def held_out_rows(self) -> list[dict[str, Any]]:
        """Per candidate (and the lexicon baseline): ``model`` (the winner marked
        ``(registered)``), ``accuracy`` and ``macro_f1`` (4 decimals, as text) and the
        confusion matrix (rows true negative/neutral/positive); [] when not trained now."""
        if self.outcome is None:
            return []
        winner = self.outcome.winner
        return [
            {
                "model": name + (" (registered)" if name == winner else ""),
                "accuracy": f"{ev.accuracy:.4f}",
                "macro_f1": f"{ev.macro_f1:.4f}",
                "confusion (rows true neg/neu/pos)": str(ev.confusion),
            }
            for name, ev in self.outcome.held_out.items()
        ]


def train_or_reuse(
    settings: SentimentSettings, tracking_uri: str, artifact_location: str | None
) -> ModelTraining:
    """Train, log and register the ``ml`` model on ``settings.corpus_path`` (the lexicon as
    baseline), unless its model version is registered already; either way the version
    becomes the ``champion`` of ``settings.model_name``.

    Args:
        settings: corpus, training config and model name (``corpus_path`` must be set, see
            :meth:`~trading_assets.sentiment.settings.SentimentSettings.training_skip_reason`).
        tracking_uri / artifact_location: the MLflow store and where artifacts go.

    Raises:
        SourceDataError: the corpus cannot be read.
        ValueError: no corpus configured, or a class too small to stratify.
    """
    if not settings.corpus_path:
        raise ValueError("no labelled corpus configured (set TRADING_SENTIMENT_CORPUS)")
    labelled = corpus.load_corpus(settings.corpus_path)
    config = settings.training_config()
    version = ml.model_version(labelled.content_hash, config)
    registered = tracking.find_registered(tracking_uri, version, settings.model_name)
    if registered is not None:
        tracking.promote(tracking_uri, registered)
        return ModelTraining(labelled, version, registered, None)
    scorer = lexicon.LexiconScorer(settings.lexicon_threshold)
    outcome = ml.train_sentiment_models(
        labelled.texts,
        labelled.labels,
        corpus_hash=labelled.content_hash,
        config=config,
        baseline=scorer.predict,
    )
    registered = tracking.log_training(
        outcome,
        tracking_uri=tracking_uri,
        artifact_location=artifact_location,
        corpus=labelled.origin,
        model_name=settings.model_name,
    )
    return ModelTraining(labelled, version, registered, outcome)
