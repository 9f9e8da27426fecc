"""Alpaca News API -> article records.

Where the data comes from: ``GET {data_url}/v1beta1/news`` (the endpoint of alpaca-py's
``NewsClient.get_news``; ``data_url`` defaults to ``https://data.alpaca.markets``), with the
query alpaca-py's ``NewsRequest`` sends: ``symbols`` (comma-separated), ``start``, ``end``
(RFC-3339), ``limit`` (<= 50), ``sort``, ``include_content``, ``exclude_contentless`` and
``page_token`` for the next page. A page is ``{"news": [article, ...], "next_page_token":
str | null}``; an article has ``id``, ``headline``, ``author``, ``created_at``,
``updated_at``, ``summary``, ``content``, ``url``, ``images``, ``symbols`` and ``source``
(the publisher, e.g. ``benzinga``). Keys go in the ``APCA-API-KEY-ID`` /
``APCA-API-SECRET-KEY`` headers (news needs them).

Like :mod:`trading_assets.sources.alpaca` this speaks the wire format through the shared HTTP
layer (:mod:`trading_assets.http`: httpx + tenacity) instead of importing alpaca-py's client
(which has no request timeout and retries only a few statuses; its import also costs seconds
on every code-location load).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from trading_assets.errors import ConfigurationError, SourceDataError, SourceUnavailableError
from trading_assets.http import HttpError, RetryPolicy, request
from trading_assets.news.articles import MAX_SUMMARY_CHARS, plain_text
from trading_assets.sources.alpaca import (
    API_KEY_ENV,
    DEFAULT_DATA_URL,
    SECRET_KEY_ENV,
    rate_limit_reset,
)

if TYPE_CHECKING:  # imported where used: the code location loads without it
    import httpx

NEWS_PATH = "/v1beta1/news"
#: Largest page the news endpoint serves.
MAX_NEWS_PAGE = 50


def _rfc3339(moment: datetime) -> str:
    moment = moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def _parse_time(value: Any, origin: str, row: int) -> datetime:
    if not isinstance(value, str) or not value:
        raise SourceDataError(origin, f"created_at {value!r} is not a time", row=row)
    text = value.replace("Z", "+00:00")
    # Alpaca may send nanoseconds: keep microseconds
    if "." in text:
        head, _, rest = text.partition(".")
        digits = "".join(c for c in rest if c.isdigit())
        tail = rest[len(digits) :]
        text = f"{head}.{digits[:6].ljust(6, '0')}{tail}"
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError as exc:
        raise SourceDataError(
            origin, f"created_at {value!r} is not RFC-3339", row=row, field="created_at"
        ) from exc
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)


class AlpacaNewsClient:
    """Paginated reader of Alpaca news.

    Args:
        api_key / secret_key: Alpaca keys (from ``ALPACA_API_KEY``/``ALPACA_SECRET_KEY``, read
            by the caller); never logged or put in messages.
        data_url: base URL instead of ``https://data.alpaca.markets`` (tests: 127.0.0.1).
        page_limit: articles per page (1..50).
        retries / backoff_s / max_backoff_s: retries of a page on 429/5xx/connection errors,
            exponential backoff from ``backoff_s`` (or the server's ``Retry-After``) capped at
            ``max_backoff_s``.
        timeout_s: connect/read timeout of one request.
        max_pages: stop after this many pages (a guard against endless pagination).

    Raises:
        ConfigurationError: missing keys, a bad URL or limits (at construction).
    """

    def __init__(
        self,
        *,
        api_key: str | None,
        secret_key: str | None,
        data_url: str | None = None,
        page_limit: int = MAX_NEWS_PAGE,
        retries: int = 3,
        backoff_s: float = 1.0,
        max_backoff_s: float = 30.0,
        timeout_s: float = 30.0,
        max_pages: int = 1000,
    ) -> None:
        if not (api_key and secret_key):
            raise ConfigurationError(
                f"Alpaca news needs API keys: set {API_KEY_ENV} and {SECRET_KEY_ENV}"
            )
        base = (data_url or DEFAULT_DATA_URL).rstrip("/")
        if not base.startswith(("http://", "https://")):
            raise ConfigurationError(f"Alpaca data_url {base!r} must start with http(s)://")
        if not 1 <= page_limit <= MAX_NEWS_PAGE:
            raise ConfigurationError(f"Alpaca news page_limit must be 1..{MAX_NEWS_PAGE}")
        self._api_key, self._secret_key = api_key, secret_key
        self.data_url = base
        self.page_limit = int(page_limit)
        self.retries = int(retries)
        self.backoff_s = float(backoff_s)
        self.max_backoff_s = float(max_backoff_s)
        self.timeout_s = float(timeout_s)
        self.max_pages = int(max_pages)
        self._retry = RetryPolicy.with_retries(
            self.retries, backoff_s=self.backoff_s, max_wait_s=self.max_backoff_s
        )

    def __repr__(self) -> str:  # never shows the keys
        return f"AlpacaNewsClient(data_url={self.data_url!r}, page_limit={self.page_limit})"

    @property
    def origin(self) -> str:
        """The endpoint URL (for bookkeeping; carries no secrets)."""
        return self.data_url + NEWS_PATH

    def _params(
        self, symbols: Sequence[str], start: datetime | None, end: datetime | None
    ) -> list[tuple[str, str]]:
        params: list[tuple[str, str]] = []
        if symbols:
            params.append(("symbols", ",".join(symbols)))
        if start is not None:
            params.append(("start", _rfc3339(start)))
        if end is not None:
            params.append(("end", _rfc3339(end)))
        params += [
            ("limit", str(self.page_limit)),
            ("sort", "desc"),
            ("include_content", "false"),
            ("exclude_contentless", "false"),
        ]
        return params

    def _get(self, client: httpx.Client, params: list[tuple[str, str]]) -> Any:
        url = self.origin
        try:
            response = request(
                client,
                "GET",
                url,
                params=params,
                policy=self._retry,
                hint=rate_limit_reset,
                secrets=(self._api_key, self._secret_key),
            )
        except HttpError as exc:
            raise SourceUnavailableError(f"{exc.url}: {exc.summary}") from exc
        if response.status_code in (401, 403):
            raise ConfigurationError(
                f"{url}: HTTP {response.status_code}: check {API_KEY_ENV}/{SECRET_KEY_ENV}"
            )
        if not 200 <= response.status_code < 300:
            raise SourceUnavailableError(f"{response.url}: HTTP {response.status_code}")
        try:
            return response.json()
        except ValueError as exc:
            raise SourceDataError(str(response.url), f"response is not JSON: {exc}") from exc

    def pages(
        self,
        symbols: Sequence[str] = (),
        start: datetime | None = None,
        end: datetime | None = None,
    ) -> Iterator[list[dict[str, Any]]]:
        """The raw articles of each page, following ``next_page_token`` until it is null.

        Raises:
            SourceUnavailableError: a page still failed after the retries.
            SourceDataError: a body that is not a news page, or a page token that repeats.
            ConfigurationError: the keys were rejected (401/403).
        """
        import httpx

        headers = {
            "Accept": "application/json",
            "User-Agent": "trading-assets",
            "APCA-API-KEY-ID": self._api_key or "",
            "APCA-API-SECRET-KEY": self._secret_key or "",
        }
        base = self._params(symbols, start, end)
        seen: set[str] = set()
        token: str | None = None
        with httpx.Client(
            headers=headers, timeout=httpx.Timeout(self.timeout_s), trust_env=False
        ) as client:
            for _ in range(self.max_pages):
                params = base + ([("page_token", token)] if token else [])
                body = self._get(client, params)
                if body is None or body == {}:
                    return
                if not isinstance(body, dict):
                    raise SourceDataError(self.origin, "expected a JSON object with 'news'")
                news = body.get("news") or []
                if not isinstance(news, list):
                    raise SourceDataError(self.origin, "'news' is not a list", field="news")
                yield news
                token = body.get("next_page_token")
                if not token:
                    return
                if token in seen:
                    raise SourceDataError(
                        self.origin, f"next_page_token {token!r} repeats", field="next_page_token"
                    )
                seen.add(token)

    def records(
        self,
        symbols: Sequence[str] = (),
        start: datetime | None = None,
        end: datetime | None = None,
        *,
        fetched_at: datetime,
    ) -> list[dict[str, Any]]:
        """Every article in [start, end] for ``symbols`` (all news when empty) as records
        (``source="alpaca"``, ``publisher`` = Alpaca's ``source`` field, ``tickers`` =
        ``symbols``, ``published_at`` = ``created_at`` in UTC).

        Raises: as :meth:`pages`; SourceDataError for an article without a usable time.
        """
        records: list[dict[str, Any]] = []
        row = 0
        for page in self.pages(symbols, start, end):
            for item in page:
                row += 1
                if not isinstance(item, dict):
                    raise SourceDataError(self.origin, "an article is not an object", row=row)
                published = _parse_time(item.get("created_at"), self.origin, row)
                records.append(
                    {
                        "published_at": min(published, fetched_at),
                        "source": "alpaca",
                        "publisher": plain_text(item.get("source")),
                        "title": plain_text(item.get("headline")),
                        "summary": plain_text(item.get("summary"), MAX_SUMMARY_CHARS),
                        "url": item.get("url"),
                        "tickers": [str(s) for s in item.get("symbols") or [] if s],
                        "fetched_at": fetched_at,
                    }
                )
        return records
