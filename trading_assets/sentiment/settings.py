"""How sentiment is trained, scored and aggregated, as plain settings (no Dagster).

:class:`SentimentSettings` holds the same fields as the Dagster resource
``SentimentSettingsResource`` (which only carries them as configuration) and builds what the
scoring needs: the training config of the ``ml`` model and the LLM chain.
:func:`sentiment_environment` parses the environment variables of the sentiment methods.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from trading_assets.errors import ConfigurationError
from trading_assets.news.settings import parse_list

if TYPE_CHECKING:  # imported where used: scikit-learn and httpx load slowly
    from trading_assets.sentiment.domains import DomainConfig
    from trading_assets.sentiment.llm import LlmSentimentChain
    from trading_assets.sentiment.ml import TrainingConfig

#: Scoring methods when ``TRADING_SENTIMENT_METHODS`` is unset.
DEFAULT_METHODS: tuple[str, ...] = ("lexicon", "ml")


@dataclass(frozen=True)
class LlmEndpoint:
    """One OpenAI-compatible chat endpoint of the LLM chain, as configured (validated only
    when the chain is built, see :class:`trading_assets.sentiment.llm.LlmProvider`).

    Attributes:
        name: label.
        base_url: API root (``/chat/completions`` is appended).
        model: model name.
        api_key: bearer token or None (never shown in the repr).
    """

    name: str
    base_url: str
    model: str
    api_key: str | None = field(default=None, repr=False)


@dataclass(frozen=True)
class SentimentSettings:
    """How sentiment is trained and scored (the fields of ``SentimentSettingsResource``, same
    defaults).

    Attributes:
        methods: scoring methods to run, in order: ``lexicon``, ``ml``, ``llm``.
        corpus_path: labelled corpus (or comma-separated corpora, or a TOML list of
            corpora with label mappings and domains) of the ``ml`` model (None: ``ml`` is not
            trained); see :func:`trading_assets.sentiment.corpus.corpus_specs`.
        model_name: MLflow registered model name.
        seed / test_size / linear_c / forest_trees / compare_forest: training (see
            :class:`trading_assets.sentiment.ml.TrainingConfig`).
        lexicon_threshold: polarity in [0, 1) needed for a lexicon positive/negative label.
        text: what is scored: ``title`` or ``title_summary``.
        llm_providers: the LLM chain, first preferred (empty: no LLM).
        llm_batch_size / llm_timeout_s: texts per LLM request and its timeout (seconds).
        timeframes: bars of ``features.sentiment_agg`` (``1h``, ``1d``).
        novelty_window_hours: how far back novelty looks (hours).
        source_domains: article source kind (``raw.news.source``: ``rss``, ``alpaca``,
            ``headlines_csv``...) -> the domain of the multi-domain ``ml`` model that scores
            it (e.g. ``{"stocktwits": "tweets"}``); kinds not listed, and domains the model
            does not know, are scored as its first domain.
    """

    methods: Sequence[str] = DEFAULT_METHODS
    corpus_path: str | None = None
    model_name: str = "news-sentiment"
    seed: int = 42
    test_size: float = 0.2
    linear_c: float = 0.5
    forest_trees: int = 200
    compare_forest: bool = True
    lexicon_threshold: float = 0.0
    text: str = "title"
    llm_providers: Sequence[LlmEndpoint] = ()
    llm_batch_size: int = 16
    llm_timeout_s: float = 60.0
    timeframes: Sequence[str] = ("1h", "1d")
    novelty_window_hours: float = 24.0
    source_domains: Mapping[str, str] = field(default_factory=dict)

    def domains_of(self, sources: Sequence[str | None]) -> list[str] | None:
        """Per article its scoring domain (:attr:`source_domains`), or None when no source
        kind is routed (every article then gets the model's first domain)."""
        if not self.source_domains:
            return None
        return [self.source_domains.get(s or "", "") for s in sources]

    @property
    def novelty_window(self) -> timedelta:
        """:attr:`novelty_window_hours` as a timedelta."""
        return timedelta(hours=self.novelty_window_hours)

    def training_skip_reason(self) -> str | None:
        """Why the ``ml`` model is not trained (``ml`` not among :attr:`methods`, or no
        corpus), or None when it is."""
        if "ml" not in self.methods:
            return "ml method not selected"
        if not self.corpus_path:
            return "no labelled corpus configured (set TRADING_SENTIMENT_CORPUS)"
        return None

    def training_config(self) -> TrainingConfig:
        """The :class:`~trading_assets.sentiment.ml.TrainingConfig` of these settings."""
        from trading_assets.sentiment.ml import TrainingConfig

        return TrainingConfig(
            seed=self.seed,
            test_size=self.test_size,
            linear_c=self.linear_c,
            forest_trees=self.forest_trees,
            compare_forest=self.compare_forest,
        )

    def domain_config(self) -> DomainConfig:
        """The :class:`~trading_assets.sentiment.domains.DomainConfig` of these settings
        (multi-domain training: ``seed`` and ``test_size``; the SVM and calibration keep the
        multi-domain defaults)."""
        from trading_assets.sentiment.domains import DomainConfig

        return DomainConfig(seed=self.seed, test_size=self.test_size)

    def llm_chain(self) -> LlmSentimentChain | None:
        """The LLM chain, or None when no provider is configured.

        Raises:
            ConfigurationError: a provider with a bad base URL or no model, or a bad batch
                size.
        """
        if not self.llm_providers:
            return None
        from trading_assets.sentiment.llm import LlmProvider, LlmSentimentChain

        return LlmSentimentChain(
            [LlmProvider(p.name, p.base_url, p.model, p.api_key) for p in self.llm_providers],
            batch_size=self.llm_batch_size,
            timeout_s=self.llm_timeout_s,
        )


@dataclass(frozen=True)
class SentimentEnvironment:
    """The sentiment settings read from the environment.

    Attributes:
        methods: ``TRADING_SENTIMENT_METHODS`` (default :data:`DEFAULT_METHODS`), with
            ``llm`` appended when providers are configured.
        llm_providers: ``name``, ``base_url``, ``model`` and ``api_key_env`` (the variable
            holding the key, not its value) per provider, from
            :func:`trading_assets.sentiment.llm.providers_from_env`.
        source_domains: ``TRADING_SENTIMENT_SOURCE_DOMAINS`` (``kind=domain,...``) as a
            mapping (see :attr:`SentimentSettings.source_domains`).
    """

    methods: list[str]
    llm_providers: list[dict[str, Any]]
    source_domains: dict[str, str] = field(default_factory=dict)


def parse_source_domains(value: str | None) -> dict[str, str]:
    """``"stocktwits=tweets, rss=headlines"`` -> ``{"stocktwits": "tweets", "rss":
    "headlines"}`` (empty for None or blank).

    Raises:
        ConfigurationError: an item without ``=`` or with an empty side, naming it.
    """
    out: dict[str, str] = {}
    for item in parse_list(value) or []:
        kind, sep, domain = (part.strip() for part in item.partition("="))
        if not sep or not kind or not domain:
            raise ConfigurationError(
                f"TRADING_SENTIMENT_SOURCE_DOMAINS: {item!r} is not source_kind=domain"
            )
        out[kind] = domain
    return out


def sentiment_environment(environ: Mapping[str, str]) -> SentimentEnvironment:
    """The sentiment settings of ``environ``.

    Raises:
        ConfigurationError: an LLM provider without base URL or model, or a bad
            ``TRADING_SENTIMENT_SOURCE_DOMAINS`` item.
    """
    from trading_assets.sentiment.llm import providers_from_env

    providers = providers_from_env(environ)
    methods = parse_list(environ.get("TRADING_SENTIMENT_METHODS")) or list(DEFAULT_METHODS)
    if providers and "llm" not in methods:
        methods.append("llm")
    return SentimentEnvironment(
        methods=methods,
        llm_providers=providers,
        source_domains=parse_source_domains(environ.get("TRADING_SENTIMENT_SOURCE_DOMAINS")),
    )
