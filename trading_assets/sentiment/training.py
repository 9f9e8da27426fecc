"""Train the ``ml`` sentiment model once per corpus and code (no Dagster).

The model version is a content hash of the corpus, the training config and the training code
(:func:`trading_assets.sentiment.ml.model_version`); a version already registered in MLflow is
promoted to ``champion`` again instead of being retrained.

``TRADING_SENTIMENT_CORPUS`` names one corpus or several (comma-separated, or a TOML list,
:func:`trading_assets.sentiment.corpus.corpus_specs`). One plain corpus trains the single-domain
model of :mod:`~trading_assets.sentiment.ml`; several (or a TOML list) train the multi-domain,
per-domain calibrated model of :mod:`~trading_assets.sentiment.domains`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from trading_assets.sentiment import corpus, domains, lexicon, ml, tracking
from trading_assets.sentiment.settings import SentimentSettings


@dataclass(frozen=True)
class ModelTraining:
    """The outcome of :func:`train_or_reuse`.

    Attributes:
        corpus: the (first) labelled corpus read.
        model_version: ``ml-<12 hex>`` (see :func:`trading_assets.sentiment.ml.model_version`).
        registered: the registered model version, now the ``champion``.
        outcome: the training outcome (:class:`~trading_assets.sentiment.ml.TrainingOutcome`
            for one corpus, :class:`~trading_assets.sentiment.domains.DomainOutcome` for
            several), or None when the version was registered already.
        corpora: every corpus read (one per domain).
    """

    corpus: corpus.Corpus
    model_version: str
    registered: tracking.RegisteredModel
    outcome: ml.TrainingOutcome | domains.DomainOutcome | None
    corpora: tuple[corpus.Corpus, ...] = ()

    @property
    def status(self) -> str:
        """``trained; winner <name>`` or ``already trained and registered as <uri>; not
        retrained``."""
        if self.outcome is None:
            return f"already trained and registered as {self.registered.model_uri}; not retrained"
        if isinstance(self.outcome, domains.DomainOutcome):
            n_domains = len({c.domain for c in self.corpora})
            return (
                f"trained on {len(self.corpora)} corpora, {n_domains} domains; "
                f"winner {self.outcome.choice}"
            )
        return f"trained; winner {self.outcome.winner}"

    def metric_values(self) -> dict[str, float]:
        """Held-out figures worth showing (4 decimals): ``<candidate>_accuracy`` and
        ``_macro_f1`` for one corpus; per domain ``<domain>_accuracy``, ``_macro_f1`` and
        ``_ece`` of the champion plus ``mean_macro_f1`` for several; {} when not trained."""
        if isinstance(self.outcome, domains.DomainOutcome):
            values = {"mean_macro_f1": self.outcome.mean_macro_f1}
            for domain, rows in self.outcome.held_out.items():
                ev = rows["model"]
                values[f"{domain}_accuracy"] = ev.accuracy
                values[f"{domain}_macro_f1"] = ev.macro_f1
                values[f"{domain}_ece"] = ev.ece or 0.0
            return {k: round(v, 4) for k, v in values.items()}
        if self.outcome is None:
            return {}
        values = {}
        for name, ev in self.outcome.held_out.items():
            values[f"{name}_accuracy"] = round(ev.accuracy, 4)
            values[f"{name}_macro_f1"] = round(ev.macro_f1, 4)
        return values

    def held_out_rows(self) -> list[dict[str, Any]]:
        """Per candidate (and the lexicon baseline): ``model`` (the winner marked
        ``(registered)``), ``accuracy`` and ``macro_f1`` (4 decimals, as text) and the
        confusion matrix (rows true negative/neutral/positive); [] when not trained now."""
        if isinstance(self.outcome, domains.DomainOutcome):
            return [
                {
                    "domain": domain,
                    "model": name,
                    "accuracy": f"{ev.accuracy:.4f}",
                    "macro_f1": f"{ev.macro_f1:.4f}",
                    "ece": "" if ev.ece is None else f"{ev.ece:.4f}",
                    "recall neg/neu/pos": "/".join(f"{v:.3f}" for v in ev.recall.values()),
                }
                for domain, rows in self.outcome.held_out.items()
                for name, ev in rows.items()
            ]
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
    specs = corpus.corpus_specs(settings.corpus_path)
    if len(specs) > 1 or settings.corpus_path.strip().lower().endswith(".toml"):
        return _train_domains(settings, specs, tracking_uri, artifact_location)
    labelled = corpus.load_corpus(specs[0].path)
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


def _train_domains(
    settings: SentimentSettings,
    specs: list[corpus.CorpusSpec],
    tracking_uri: str,
    artifact_location: str | None,
) -> ModelTraining:
    """:func:`train_or_reuse` for several corpora (one per domain)."""
    loaded = tuple(spec.load() for spec in specs)
    config = settings.domain_config()
    version = domains.domain_model_version([c.identity for c in loaded], config)
    registered = tracking.find_registered(tracking_uri, version, settings.model_name)
    if registered is not None:
        tracking.promote(tracking_uri, registered)
        return ModelTraining(loaded[0], version, registered, None, loaded)
    scorer = lexicon.LexiconScorer(settings.lexicon_threshold)
    outcome = domains.train_domains(loaded, config=config, baseline=scorer.predict)
    registered = tracking.log_domain_training(
        outcome,
        tracking_uri=tracking_uri,
        artifact_location=artifact_location,
        corpora=[c.origin for c in loaded],
        model_name=settings.model_name,
    )
    return ModelTraining(loaded[0], version, registered, outcome, loaded)
