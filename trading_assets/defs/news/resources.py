"""Resources of the news domain: where news comes from, and how sentiment is scored.

Environment (read by :func:`news_resources_from_env` when the definitions are built, never at
import time):

==============================  ===============================================================
``TRADING_NEWS_FEEDS``          ``on`` polls the shipped feed list
                                (``trading_assets/news/feeds.toml``); a path polls that TOML
                                file; unset/``off`` polls nothing (the default: the demo
                                never touches the internet)
``TRADING_NEWS_DIR``            folder of news files (default: ``TRADING_DATA_DIR`` on the
                                ``local`` profile)
``TRADING_NEWS_SYMBOLS``        comma-separated symbols to tag (default: the symbols the price
                                sources offer + the aliases file's symbols)
``TRADING_NEWS_ALIASES``        aliases TOML file (default: the shipped ``aliases.toml``)
``TRADING_ALPACA_NEWS``         ``on``/``off``; default on for the ``live`` profile when
                                ``ALPACA_API_KEY``/``ALPACA_SECRET_KEY`` are set
``TRADING_ALPACA_NEWS_SYMBOLS`` comma-separated symbols for Alpaca news (default all news)
``TRADING_NEWS_MAX_IN_FLIGHT``  feed requests in flight at once (default 128)
``TRADING_NEWS_PARSE_WORKERS``  processes parsing feed bodies as they arrive (default: one per
                                usable core when a pass has 16 feeds or more; ``0``: a thread)
``TRADING_SENTIMENT_CORPUS``    labelled corpus for the ``ml`` model (e.g. the Financial
                                PhraseBank), comma-separated corpora or a TOML list of corpora
                                (one per domain); without it ``ml`` scoring is off
``TRADING_SENTIMENT_SOURCE_DOMAINS`` article source kind -> domain of the multi-domain
                                ``ml`` model (``stocktwits=tweets,rss=headlines``; unlisted:
                                the first corpus' domain)
``TRADING_SENTIMENT_METHODS``   comma-separated methods (default ``lexicon,ml``; ``llm`` is
                                added when LLM providers are configured)
``TRADING_LLM_PROVIDERS``       comma-separated provider names; per name ``TRADING_LLM_<NAME>_
                                BASE_URL``, ``_MODEL`` and ``_API_KEY`` (secret, via EnvVar)
==============================  ===============================================================
"""

import os
from dataclasses import fields
from typing import Any

import dagster as dg

from trading_assets.defs.env import optional_env_var as _env
from trading_assets.defs.mlflow_resource import MlflowResource
from trading_assets.home import ProjectHome
from trading_assets.news.fetch import DEFAULT_MAX_IN_FLIGHT
from trading_assets.news.settings import NewsSourceSettings, news_environment
from trading_assets.profiles import DATA_DIR_ENV
from trading_assets.sentiment.settings import (
    LlmEndpoint,
    SentimentSettings,
    sentiment_environment,
)


class NewsSourcesResource(dg.ConfigurableResource):
    """Where the ``raw/news`` asset reads news from (what each field does:
    :class:`trading_assets.news.settings.NewsSourceSettings`, which :meth:`settings` returns).

    Attributes:
        feeds_enabled: poll RSS/Atom feeds (off by default).
        feeds_file: the feed list TOML (None: the shipped ``feeds.toml``).
        news_dir: folder of local news files (Yahoo JSON, headline CSVs, RSS/Atom XML).
        inbox_dir: the project inbox; news files dropped there are read too (the ``inbox``
            sensor requests ``raw/news`` when one lands).
        alpaca_enabled: read Alpaca news (needs the keys).
        alpaca_api_key / alpaca_secret_key: Alpaca keys (``dagster.EnvVar``; never logged).
        alpaca_data_url: base URL override of Alpaca's data API (tests use 127.0.0.1).
        alpaca_symbols: symbols to ask Alpaca news for ([] = all news).
        lookback_days: first Alpaca request covers this many days; later ones start one hour
            before the newest Alpaca article stored.
        symbols: symbols to tag articles with (None: the symbols the price sources offer +
            the aliases file's symbols).
        aliases_file: company-name aliases TOML (None: the shipped ``aliases.toml``).
        concurrency: feed requests in flight at once (``TRADING_NEWS_MAX_IN_FLIGHT``).
        timeout_s / max_bytes / retries / backoff_s / max_backoff_s: feed fetching (see
            :func:`trading_assets.news.fetch.fetch_feeds_async`).
        parse_workers: processes parsing feed bodies (``TRADING_NEWS_PARSE_WORKERS``; None:
            one per usable core for passes of 16 feeds or more; 0: a thread).
        max_untagged_share: the ``untagged_share`` check warns above this share.
    """

    feeds_enabled: bool = False
    feeds_file: str | None = None
    news_dir: str | None = None
    inbox_dir: str | None = None
    alpaca_enabled: bool = False
    alpaca_api_key: str | None = None
    alpaca_secret_key: str | None = None
    alpaca_data_url: str | None = None
    alpaca_symbols: list[str] = []
    lookback_days: int = 3
    symbols: list[str] | None = None
    aliases_file: str | None = None
    concurrency: int = DEFAULT_MAX_IN_FLIGHT
    timeout_s: float = 15.0
    max_bytes: int = 10 * 1024 * 1024
    retries: int = 2
    backoff_s: float = 0.5
    max_backoff_s: float = 10.0
    parse_workers: int | None = None
    max_untagged_share: float = 0.9

    def settings(self) -> NewsSourceSettings:
        """These fields (environment variables resolved) as plain settings."""
        return NewsSourceSettings(
            **{f.name: getattr(self, f.name) for f in fields(NewsSourceSettings)}
        )


class LlmProviderConfig(dg.Config):
    """One OpenAI-compatible chat endpoint of the LLM chain (api_key via ``dagster.EnvVar``)."""

    name: str
    base_url: str
    model: str
    api_key: str | None = None


class SentimentSettingsResource(dg.ConfigurableResource):
    """How sentiment is trained and scored (what each field does:
    :class:`trading_assets.sentiment.settings.SentimentSettings`, which :meth:`settings`
    returns).

    Attributes:
        methods: scoring methods to run: ``lexicon``, ``ml``, ``llm``.
        corpus_path: labelled corpus of the ``ml`` model (None: ``ml`` is not trained).
        model_name: MLflow registered model name.
        seed / test_size / linear_c / forest_trees / compare_forest: training (see
            :class:`trading_assets.sentiment.ml.TrainingConfig`).
        lexicon_threshold: polarity needed for a lexicon positive/negative label.
        text: what is scored: ``title`` or ``title_summary``.
        llm_providers: the LLM chain, first preferred ([] = no LLM).
        llm_batch_size / llm_timeout_s: LLM batching and request timeout.
        timeframes: bars of ``features/sentiment_agg``.
        novelty_window_hours: how far back novelty looks.
        source_domains: article source kind -> scoring domain of the ``ml`` model.
    """

    methods: list[str] = ["lexicon", "ml"]
    corpus_path: str | None = None
    model_name: str = "news-sentiment"
    seed: int = 42
    test_size: float = 0.2
    linear_c: float = 0.5
    forest_trees: int = 200
    compare_forest: bool = True
    lexicon_threshold: float = 0.0
    text: str = "title"
    llm_providers: list[LlmProviderConfig] = []
    llm_batch_size: int = 16
    llm_timeout_s: float = 60.0
    timeframes: list[str] = ["1h", "1d"]
    novelty_window_hours: float = 24.0
    source_domains: dict[str, str] = {}

    def settings(self) -> SentimentSettings:
        """These fields (environment variables resolved) as plain settings."""
        values = {f.name: getattr(self, f.name) for f in fields(SentimentSettings)}
        values["llm_providers"] = tuple(
            LlmEndpoint(p.name, p.base_url, p.model, p.api_key) for p in self.llm_providers
        )
        return SentimentSettings(**values)


def news_resources_from_env(profile: str, home: ProjectHome) -> dict[str, Any]:
    """The ``news_sources``, ``sentiment_settings`` and ``mlflow`` resources for ``profile``
    from the environment (table in the module docs).

    Raises:
        ConfigurationError: an invalid on/off value, a missing feeds file, or an LLM provider
            without base URL or model.
    """
    news = news_environment(os.environ, profile)
    news_dir: Any = _env("TRADING_NEWS_DIR")
    if news_dir is None and profile == "local":
        news_dir = dg.EnvVar(DATA_DIR_ENV)
    sentiment = sentiment_environment(os.environ)
    return {
        "news_sources": NewsSourcesResource(
            feeds_enabled=news.feeds_enabled,
            feeds_file=news.feeds_file,
            news_dir=news_dir,
            inbox_dir=str(home.inbox_dir),
            alpaca_enabled=news.alpaca_enabled,
            alpaca_api_key=_env("ALPACA_API_KEY"),
            alpaca_secret_key=_env("ALPACA_SECRET_KEY"),
            alpaca_data_url=_env("ALPACA_DATA_URL"),
            alpaca_symbols=news.alpaca_symbols,
            symbols=news.symbols,
            aliases_file=_env("TRADING_NEWS_ALIASES"),
            concurrency=news.max_in_flight,
            parse_workers=news.parse_workers,
        ),
        "sentiment_settings": SentimentSettingsResource(
            methods=sentiment.methods,
            corpus_path=_env("TRADING_SENTIMENT_CORPUS"),
            source_domains=sentiment.source_domains,
            llm_providers=[
                LlmProviderConfig(
                    name=p["name"],
                    base_url=p["base_url"],
                    model=p["model"],
                    api_key=_env(p["api_key_env"]),
                )
                for p in sentiment.llm_providers
            ],
        ),
        "mlflow": MlflowResource.for_home(home),
    }
