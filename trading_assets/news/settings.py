"""Where news comes from, as plain settings (no Dagster): which sources are configured, how
they are read, and the environment variables that configure them.

:class:`NewsSourceSettings` holds the same fields as the Dagster resource
``NewsSourcesResource`` (which only carries them as configuration) and turns them into what a
collection pass needs: the feeds, the local files, the Alpaca client and the ticker tagger
(:meth:`NewsSourceSettings.sources`, :meth:`NewsSourceSettings.tagger`), then runs the pass
(:func:`collect_configured`). :func:`news_environment` parses the environment variables of the
news sources (table in :mod:`trading_assets.defs.news.resources`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from trading_assets.errors import ConfigurationError
from trading_assets.news.alpaca_news import AlpacaNewsClient
from trading_assets.news.feedlist import FeedSpec, load_feed_list
from trading_assets.news.fetch import DEFAULT_MAX_IN_FLIGHT
from trading_assets.news.files import discover_news_files
from trading_assets.news.ingest import NewsBatch, collect_news
from trading_assets.news.tagging import TickerTagger, load_aliases

#: Values of an on/off environment variable (case-insensitive, stripped).
ON_VALUES: tuple[str, ...] = ("1", "on", "true", "yes")
OFF_VALUES: tuple[str, ...] = ("", "0", "off", "false", "no")

#: A later Alpaca request starts this long before the newest Alpaca article stored.
ALPACA_OVERLAP = timedelta(hours=1)


@dataclass(frozen=True)
class SourceState:
    """What the warehouse remembers of earlier passes (``ops.news_sources``, ``raw.news``).

    Attributes:
        validators: feed URL -> (ETag, Last-Modified) of its last good fetch.
        fingerprints: file path -> content fingerprint of its last read.
        latest_alpaca: newest ``published_at`` (aware UTC) of a stored Alpaca article, or None.
    """

    validators: dict[str, tuple[str | None, str | None]] = field(default_factory=dict)
    fingerprints: dict[str, str] = field(default_factory=dict)
    latest_alpaca: datetime | None = None


@dataclass(frozen=True)
class NewsSources:
    """The sources one pass reads.

    Attributes:
        feeds: RSS/Atom feeds to poll.
        files: (path, kind) of the local news files.
        alpaca: the Alpaca news client, or None when Alpaca news is off.
    """

    feeds: list[FeedSpec]
    files: list[tuple[Path, str]]
    alpaca: AlpacaNewsClient | None

    @property
    def configured(self) -> int:
        """Number of sources: feeds + files + 1 for Alpaca."""
        return len(self.feeds) + len(self.files) + (self.alpaca is not None)


@dataclass(frozen=True)
class NewsSourceSettings:
    """Where news is read from (the fields of ``NewsSourcesResource``, same defaults).

    Attributes:
        feeds_enabled: poll RSS/Atom feeds.
        feeds_file: the feed list TOML (None: the shipped ``feeds.toml``).
        news_dir: folder of local news files (None: none).
        inbox_dir: the project inbox; news files there are read too (when it exists).
        alpaca_enabled: read Alpaca news (needs the keys).
        alpaca_api_key / alpaca_secret_key: Alpaca keys (never shown in the repr).
        alpaca_data_url: base URL override of Alpaca's data API.
        alpaca_symbols: symbols to ask Alpaca news for (empty: all news).
        lookback_days: days the first Alpaca request covers.
        symbols: symbols to tag articles with (None: the price sources' symbols + aliases).
        aliases_file: company-name aliases TOML (None: the shipped ``aliases.toml``).
        concurrency: feed requests in flight at once (``TRADING_NEWS_MAX_IN_FLIGHT``).
        timeout_s / max_bytes / retries / backoff_s / max_backoff_s: feed fetching (seconds,
            bytes; see :func:`trading_assets.news.fetch.fetch_feeds_async`); timeout and
            retries apply to Alpaca too.
        parse_workers: processes parsing feed bodies as they arrive
            (``TRADING_NEWS_PARSE_WORKERS``; None: one per usable core when the pass has
            enough feeds; 0: a thread; see :mod:`trading_assets.news.parse_pool`).
        max_untagged_share: share of untagged articles (0..1) above which the check warns.
    """

    feeds_enabled: bool = False
    feeds_file: str | None = None
    news_dir: str | None = None
    inbox_dir: str | None = None
    alpaca_enabled: bool = False
    alpaca_api_key: str | None = field(default=None, repr=False)
    alpaca_secret_key: str | None = field(default=None, repr=False)
    alpaca_data_url: str | None = None
    alpaca_symbols: Sequence[str] = ()
    lookback_days: int = 3
    symbols: Sequence[str] | None = None
    aliases_file: str | None = None
    concurrency: int = DEFAULT_MAX_IN_FLIGHT
    timeout_s: float = 15.0
    max_bytes: int = 10 * 1024 * 1024
    retries: int = 2
    backoff_s: float = 0.5
    max_backoff_s: float = 10.0
    parse_workers: int | None = None
    max_untagged_share: float = 0.9

    @property
    def remote_configured(self) -> bool:
        """Whether something is fetched over the network (feeds or Alpaca news)."""
        return self.feeds_enabled or self.alpaca_enabled

    @property
    def needs_price_symbols(self) -> bool:
        """Whether tagging takes the price sources' symbols (no explicit :attr:`symbols`)."""
        return self.symbols is None

    def feeds(self) -> list[FeedSpec]:
        """The feeds to poll ([] when feeds are off).

        Raises:
            ConfigurationError: the feed list is missing or invalid.
        """
        return load_feed_list(self.feeds_file) if self.feeds_enabled else []

    def files(self) -> list[tuple[Path, str]]:
        """(path, kind) of the news files in :attr:`news_dir` ([] when unset), then those in
        :attr:`inbox_dir` (when it exists) not already found.

        Raises:
            ConfigurationError: ``news_dir`` is set but does not exist.
        """
        found: list[tuple[Path, str]] = []
        if self.news_dir:
            try:
                found = discover_news_files(self.news_dir)
            except FileNotFoundError as exc:
                raise ConfigurationError(f"news folder {self.news_dir} does not exist") from exc
        if self.inbox_dir and Path(self.inbox_dir).is_dir():
            known = {path.resolve() for path, _ in found}
            found += [
                (path, kind)
                for path, kind in discover_news_files(self.inbox_dir)
                if path.resolve() not in known
            ]
        return found

    def alpaca_client(self) -> AlpacaNewsClient | None:
        """The Alpaca news client, or None when Alpaca news is off.

        Raises:
            ConfigurationError: enabled without keys, or a bad data URL.
        """
        if not self.alpaca_enabled:
            return None
        return AlpacaNewsClient(
            api_key=self.alpaca_api_key,
            secret_key=self.alpaca_secret_key,
            data_url=self.alpaca_data_url,
            retries=self.retries,
            backoff_s=self.backoff_s,
            max_backoff_s=self.max_backoff_s,
            timeout_s=self.timeout_s,
        )

    def sources(self) -> NewsSources:
        """Feeds, files and the Alpaca client, resolved in that order.

        Raises:
            ConfigurationError: see :meth:`feeds`, :meth:`files`, :meth:`alpaca_client`.
        """
        return NewsSources(feeds=self.feeds(), files=self.files(), alpaca=self.alpaca_client())

    def fetch_options(self) -> dict[str, Any]:
        """Keyword arguments for :func:`trading_assets.news.fetch.fetch_feeds`."""
        return {
            "concurrency": self.concurrency,
            "timeout_s": self.timeout_s,
            "max_bytes": self.max_bytes,
            "retries": self.retries,
            "backoff_s": self.backoff_s,
            "max_backoff_s": self.max_backoff_s,
        }

    def tagger(self, price_symbols: Sequence[str]) -> TickerTagger:
        """The ticker tagger over :attr:`symbols`, or when unset over ``price_symbols`` (what
        the price sources offer) and the aliases file's symbols.

        Raises:
            ConfigurationError: a bad aliases file.
        """
        aliases = load_aliases(self.aliases_file)
        symbols = list(self.symbols) if self.symbols is not None else [*price_symbols, *aliases]
        return TickerTagger(symbols, aliases)

    def alpaca_start(self, now: datetime, latest_alpaca: datetime | None) -> datetime:
        """Start (aware UTC) of the Alpaca request at ``now``: :attr:`lookback_days` back, or
        :data:`ALPACA_OVERLAP` before ``latest_alpaca`` (the newest stored Alpaca article)
        when that is later."""
        start = now - timedelta(days=self.lookback_days)
        if latest_alpaca is not None:
            start = max(start, latest_alpaca.astimezone(UTC) - ALPACA_OVERLAP)
        return start


def collect_configured(
    settings: NewsSourceSettings,
    sources: NewsSources,
    state: SourceState,
    *,
    price_symbols: Sequence[str],
    now: datetime,
    force_files: bool = False,
) -> NewsBatch:
    """One collection pass (:func:`~trading_assets.news.ingest.collect_news`) over
    ``sources``, with conditional GETs from ``state``'s validators and unchanged files skipped
    by fingerprint (unless ``force_files``).

    Args:
        settings: fetch options, Alpaca symbols and lookback, tagging.
        sources: from :meth:`NewsSourceSettings.sources`.
        state: what earlier passes stored.
        price_symbols: symbols the price sources offer (used when ``settings.symbols`` is
            None).
        now: the fetch time (aware UTC).
        force_files: re-read local files even when their fingerprint is unchanged.

    Returns:
        The :class:`~trading_assets.news.ingest.NewsBatch`; one bad source never raises.

    Raises:
        ConfigurationError: a bad aliases file (see :meth:`NewsSourceSettings.tagger`).
    """
    return collect_news(
        feeds=sources.feeds,
        feed_state=state.validators,
        fetch_options=settings.fetch_options(),
        files=sources.files,
        known_fingerprints={} if force_files else state.fingerprints,
        alpaca=sources.alpaca,
        alpaca_symbols=settings.alpaca_symbols,
        alpaca_start=settings.alpaca_start(now, state.latest_alpaca),
        tagger=settings.tagger(price_symbols),
        now=now,
        parse_workers=settings.parse_workers,
    )


def parse_flag(name: str, value: str | None, default: bool) -> bool:
    """An on/off value (``ON_VALUES``/``OFF_VALUES``) of variable ``name``; ``default`` when
    ``value`` is None (unset).

    Raises:
        ConfigurationError: any other value (named with the variable).
    """
    if value is None:
        return default
    value = value.strip().lower()
    if value in ON_VALUES:
        return True
    if value in OFF_VALUES:
        return False
    raise ConfigurationError(f"{name}={value!r}: use on or off")


def parse_list(value: str | None) -> list[str] | None:
    """The stripped, non-empty items of a comma-separated ``value`` (None when unset)."""
    if value is None:
        return None
    return [v.strip() for v in value.split(",") if v.strip()]


def parse_count(name: str, value: str | None, default: int | None, minimum: int) -> int | None:
    """The whole number in variable ``name`` (``default`` when unset or blank).

    Raises:
        ConfigurationError: not a whole number, or below ``minimum`` (named with the variable).
    """
    if value is None or not value.strip():
        return default
    try:
        number = int(value.strip())
    except ValueError as exc:
        raise ConfigurationError(f"{name}={value!r} is not a whole number") from exc
    if number < minimum:
        raise ConfigurationError(f"{name}={value!r}: must be at least {minimum}")
    return number


def parse_feeds_setting(value: str | None) -> tuple[bool, str | None]:
    """``(feeds_enabled, feeds_file)`` from ``TRADING_NEWS_FEEDS``: on -> the shipped list,
    off/unset -> no feeds, a path to an existing file -> that list.

    Raises:
        ConfigurationError: neither on/off nor an existing file.
    """
    text = (value or "").strip()
    if text.lower() in ON_VALUES:
        return True, None
    if text.lower() in OFF_VALUES:
        return False, None
    if not Path(text).is_file():
        raise ConfigurationError(
            f"TRADING_NEWS_FEEDS={text!r} is neither on/off nor a feed list file"
        )
    return True, text


@dataclass(frozen=True)
class NewsEnvironment:
    """The plain (non-secret, non-path) news source settings read from the environment.

    Attributes:
        feeds_enabled / feeds_file: from ``TRADING_NEWS_FEEDS``.
        alpaca_enabled: ``TRADING_ALPACA_NEWS``, default on for the ``live`` profile with
            both Alpaca keys set.
        alpaca_symbols: ``TRADING_ALPACA_NEWS_SYMBOLS`` (empty: all news).
        symbols: ``TRADING_NEWS_SYMBOLS`` (None: unset).
        max_in_flight: ``TRADING_NEWS_MAX_IN_FLIGHT``, feed requests in flight (at least 1;
            default :data:`~trading_assets.news.fetch.DEFAULT_MAX_IN_FLIGHT`).
        parse_workers: ``TRADING_NEWS_PARSE_WORKERS``, processes parsing feeds (0: a thread;
            None: unset, one per usable core for passes with enough feeds).
    """

    feeds_enabled: bool
    feeds_file: str | None
    alpaca_enabled: bool
    alpaca_symbols: list[str]
    symbols: list[str] | None
    max_in_flight: int = DEFAULT_MAX_IN_FLIGHT
    parse_workers: int | None = None


def news_environment(environ: Mapping[str, str], profile: str) -> NewsEnvironment:
    """The news source settings of ``environ`` for ``profile`` (``demo``, ``local``,
    ``live``).

    Raises:
        ConfigurationError: a bad ``TRADING_NEWS_FEEDS``, ``TRADING_ALPACA_NEWS``,
            ``TRADING_NEWS_MAX_IN_FLIGHT`` or ``TRADING_NEWS_PARSE_WORKERS`` value.
    """
    feeds_enabled, feeds_file = parse_feeds_setting(environ.get("TRADING_NEWS_FEEDS"))
    has_keys = bool(environ.get("ALPACA_API_KEY") and environ.get("ALPACA_SECRET_KEY"))
    alpaca_enabled = parse_flag(
        "TRADING_ALPACA_NEWS", environ.get("TRADING_ALPACA_NEWS"), profile == "live" and has_keys
    )
    return NewsEnvironment(
        feeds_enabled=feeds_enabled,
        feeds_file=feeds_file,
        alpaca_enabled=alpaca_enabled,
        alpaca_symbols=parse_list(environ.get("TRADING_ALPACA_NEWS_SYMBOLS")) or [],
        symbols=parse_list(environ.get("TRADING_NEWS_SYMBOLS")),
        max_in_flight=parse_count(
            "TRADING_NEWS_MAX_IN_FLIGHT",
            environ.get("TRADING_NEWS_MAX_IN_FLIGHT"),
            DEFAULT_MAX_IN_FLIGHT,
            1,
        ),
        parse_workers=parse_count(
            "TRADING_NEWS_PARSE_WORKERS", environ.get("TRADING_NEWS_PARSE_WORKERS"), None, 0
        ),
    )
