"""Alpaca market data (bars and trades) for US stocks and crypto, as canonical frames.

Where the data comes from: Alpaca's historical market-data REST API
(``https://data.alpaca.markets`` unless ``data_url`` overrides it), the same endpoints
alpaca-py's ``StockHistoricalDataClient`` / ``CryptoHistoricalDataClient`` call:

==========  =====================================  ============================================
kind        stocks                                 crypto
==========  =====================================  ============================================
bars        ``GET /v2/stocks/bars``                ``GET /v1beta3/crypto/{loc}/bars``
ticks       ``GET /v2/stocks/trades``              ``GET /v1beta3/crypto/{loc}/trades``
==========  =====================================  ============================================

Each request names one symbol (``symbols=AAPL`` / ``symbols=BTC/USD``); a response is
``{"bars"|"trades": {symbol: [row, ...]}, "next_page_token": str | null}`` and the next page is
asked for with ``page_token=``. Stock data needs API keys (headers ``APCA-API-KEY-ID`` and
``APCA-API-SECRET-KEY``); crypto data needs none (keys, when given, are sent and raise the rate
limit).

Why the shared HTTP layer (:mod:`trading_assets.http`: httpx + tenacity) rather than alpaca-py's
clients (checked on alpaca-py 0.44): the data clients expose no retry settings (``RESTClient``
retries only 429/504, 3 times, 3 s apart, and never 500/502/503 or connection errors), send
requests without a timeout (a stalled socket would hang an ingestion run), raise on the ``{}`` /
``"bars": null`` bodies Alpaca returns for empty ranges, and ``import alpaca.data`` costs seconds
on every code-location load. This module speaks the same wire format (paths, query names,
``TimeFrame`` strings such as ``5Min``, auth headers); the tests check the timeframe strings
against alpaca-py's own ``TimeFrame``.

Timeframes (our spelling -> Alpaca's): ``<n>m`` -> ``<n>Min`` (n = 1..59), ``<n>h`` ->
``<n>Hour`` (n = 1..23), ``1d`` -> ``1Day``, ``1w`` -> ``1Week``, ``<n>M`` -> ``<n>Month``
(n = 1, 2, 3, 6, 12; capital ``M`` as ccxt and freqtrade write months, lower-case ``m`` is
minutes). Alpaca has no second bars: derive them from trades.

Timestamps: Alpaca sends RFC-3339 UTC times with up to nanosecond precision; they become
``Datetime("us", "UTC")`` (truncated to the microsecond). Intraday bars keep Alpaca's open
time. Bars of one day or longer are labelled with their trading date at 00:00 UTC, the
convention of every other daily source here: Alpaca stamps stock daily/weekly/monthly bars at
midnight New York time (04:00Z or 05:00Z), which becomes that New York date; crypto daily bars
are stamped at midnight UTC (older data: midnight Chicago time, 05:00Z/06:00Z), which are
floored to the UTC date. For those older crypto bars the label is 5-6 hours before the true
open, so such a bar is complete 5-6 hours after ``ts + 1d``.
"""

from __future__ import annotations

import functools
import hashlib
import json
import re
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import TYPE_CHECKING, Any

import polars as pl

from trading_assets.errors import ConfigurationError, SourceDataError, SourceUnavailableError
from trading_assets.http import (
    RETRY_STATUSES,
    HttpError,
    HttpStatusError,
    RetryPolicy,
    redact,
)
from trading_assets.http import request as http_request
from trading_assets.schemas import empty_frame
from trading_assets.sources.base import SourceItem
from trading_assets.sources.validate import ROW, validate_bars, validate_ticks

if TYPE_CHECKING:  # imported where used: the code location loads without them
    import httpx

#: Alpaca's market-data host (alpaca-py ``BaseURL.DATA``); used only when ``data_url`` is None.
DEFAULT_DATA_URL = "https://data.alpaca.markets"
#: The environment variables that usually hold the keys (read by the caller, not here).
API_KEY_ENV = "ALPACA_API_KEY"
SECRET_KEY_ENV = "ALPACA_SECRET_KEY"
#: HTTP statuses retried with exponential backoff by default (the shared layer's).
DEFAULT_RETRY_STATUSES: tuple[int, ...] = tuple(sorted(RETRY_STATUSES))
#: Stock feeds accepted by ``/v2/stocks`` (alpaca-py ``DataFeed``); sip/otc need a subscription.
STOCK_FEEDS: tuple[str, ...] = ("iex", "sip", "delayed_sip", "otc", "boats", "overnight")
#: Corporate-action adjustments of stock bars (alpaca-py ``Adjustment``).
ADJUSTMENTS: tuple[str, ...] = ("raw", "split", "dividend", "all")
#: Largest page Alpaca serves.
MAX_PAGE_LIMIT = 10_000

_TIMEFRAME = re.compile(r"^([1-9]\d*)([mhdwM])$")
_ALPACA_UNIT = {"m": "Min", "h": "Hour", "d": "Day", "w": "Week", "M": "Month"}
_NEW_YORK = "America/New_York"
_SIDES = {"B": "buy", "S": "sell"}


def alpaca_timeframe(timeframe: str) -> str:
    """Alpaca's name (``TimeFrame.value``, e.g. ``5Min``) for one of our timeframe strings.

    Accepted: ``1m``..``59m``, ``1h``..``23h``, ``1d``, ``1w``, and ``1M``, ``2M``, ``3M``,
    ``6M``, ``12M`` (months) -- every bar size the Alpaca bars endpoints offer, with the same
    limits as alpaca-py's ``TimeFrame.validate_timeframe``.

    Raises:
        ConfigurationError: any other string (``1s`` included: Alpaca has no second bars).
    """
    match = _TIMEFRAME.match(timeframe) if isinstance(timeframe, str) else None
    if not match:
        raise ConfigurationError(
            f"Alpaca timeframe {timeframe!r} is not supported: use <n>m (1-59), <n>h (1-23), "
            "1d, 1w or <n>M (months: 1, 2, 3, 6, 12); Alpaca has no second bars"
        )
    amount, unit = int(match.group(1)), match.group(2)
    allowed = {
        "m": range(1, 60),
        "h": range(1, 24),
        "d": (1,),
        "w": (1,),
        "M": (1, 2, 3, 6, 12),
    }[unit]
    if amount not in allowed:
        sizes = (
            f"{allowed[0]}-{allowed[-1]}" if unit in "mh" else ", ".join(str(a) for a in allowed)
        )
        raise ConfigurationError(
            f"Alpaca timeframe {timeframe!r} is not supported: {_ALPACA_UNIT[unit]} bars come "
            f"in sizes {sizes}"
        )
    return f"{amount}{_ALPACA_UNIT[unit]}"


def _grid_timeframe(timeframe: str) -> str:
    """The timeframe whose grid :func:`validate_bars` should check for bars of ``timeframe``.

    validate_bars checks intraday bars on an epoch grid and longer bars at 00:00 UTC. That is
    right for sizes that divide an hour (minutes) or a day (hours); for other sizes (7m, 5h)
    Alpaca's anchoring is not documented, so only the unit grid (1m, 1h) is checked. Months
    are not a fixed length: their bars are checked on the daily grid (00:00 UTC).
    """
    amount, unit = int(timeframe[:-1]), timeframe[-1]
    if unit == "m":
        return timeframe if 60 % amount == 0 else "1m"
    if unit == "h":
        return timeframe if 24 % amount == 0 else "1h"
    if unit == "M":
        return "1d"
    return timeframe


def _rfc3339(value: datetime | date, what: str) -> str:
    if isinstance(value, datetime):
        moment = value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
    elif isinstance(value, date):
        moment = datetime(value.year, value.month, value.day, tzinfo=UTC)
    else:
        raise ConfigurationError(f"Alpaca {what} must be a datetime, got {value!r}")
    return moment.isoformat().replace("+00:00", "Z")


@dataclass(frozen=True)
class _Request:
    """One (symbol, kind, timeframe) request: path and query without the page token."""

    symbol: str
    asset_class: str  # "stock" | "crypto"
    kind: str  # "bars" | "ticks"
    timeframe: str | None
    path: str
    params: tuple[tuple[str, str], ...]

    @property
    def data_key(self) -> str:
        return "bars" if self.kind == "bars" else "trades"


class AlpacaSource:
    """Alpaca historical bars and trades for stocks and crypto (implements ``PriceSource``).

    One :class:`SourceItem` per (symbol, kind, timeframe) request. ``items()`` does no I/O;
    ``item.load()`` fetches every page and returns the canonical, validated frame:

    - bars -> ``raw.bars`` schema (:data:`~trading_assets.schemas.BARS_SCHEMA`): ``ts`` the
      bar's open time (``Datetime("us", "UTC")``; bars of a day or longer at 00:00 UTC of the
      trading date, see the module docs), open/high/low/close float64 in the quote currency
      (USD), ``volume`` float64 in shares or coins, ``trades`` = Alpaca ``n`` (Int64),
      ``vwap`` = Alpaca ``vw`` (float64), ``source`` = ``"alpaca"`` for crypto and
      ``"alpaca:<adjustment>"`` for stocks (e.g. ``alpaca:split``: the adjustment the prices
      carry is recorded on every row); sorted by ts.
    - ticks -> ``raw.ticks`` schema (:data:`~trading_assets.schemas.TICKS_SCHEMA`): ``price``
      float64 in the quote currency, ``size`` float64 in shares or coins, ``side`` the taker
      side (crypto ``tks`` B/S -> buy/sell; stock trades carry none -> null). ``trade_id`` is
      Alpaca's ``i`` as text for crypto; stock trade ids are unique only per exchange and
      trading day, so stock ids are ``<New York date>:<exchange x>:<i>``
      (e.g. ``2022-03-09:D:151``). Sorted by ts.

    A request that has no rows (Alpaca answers ``{}``, ``null`` or empty lists) gives an empty
    frame with the canonical schema, not an error.

    Args:
        start: first time to fetch (inclusive). Naive datetimes are taken as UTC; a ``date``
            means 00:00 UTC of that day.
        stock_symbols: US equity symbols (``AAPL``). Need ``api_key``/``secret_key`` to load.
        crypto_symbols: crypto pairs in slash form (``BTC/USD``). No keys needed.
        timeframes: bar timeframes to fetch per symbol (see :func:`alpaca_timeframe`).
        end: last time to fetch; None means up to now (the request omits ``end``).
        fetch_trades: also one ``ticks`` item per symbol (trades, ``/trades`` endpoints).
        api_key, secret_key: Alpaca keys (normally from ``ALPACA_API_KEY`` /
            ``ALPACA_SECRET_KEY``, read by the caller). Never logged nor put in messages.
        data_url: base URL instead of ``https://data.alpaca.markets`` (tests point it at
            ``http://127.0.0.1:<port>``); same meaning as alpaca-py's ``url_override``.
        stock_feed: ``iex`` (free) or ``sip``, ``delayed_sip``, ``otc``, ``boats``,
            ``overnight``.
        adjustment: corporate-action adjustment of stock bars: ``split`` (default: prices
            and volumes adjusted for splits, so a split is never a return), ``all`` (splits
            and dividends), ``dividend`` or ``raw`` (as traded; ``staging/bars`` then detects
            splits itself, see :mod:`trading_assets.bars.splits`).
        crypto_location: the crypto feed location in the path (``us``).
        sort: ``asc`` (default) or ``desc``; frames are sorted ascending either way.
        page_limit: rows per page (1..10,000).
        retry_attempts: retries after the first attempt of one page request (0 = none).
        retry_wait_seconds: first backoff wait; doubles on each retry up to
            ``retry_max_wait_seconds``. A 429's ``Retry-After`` (or ``X-RateLimit-Reset``)
            is honoured instead when present, also capped.
        retry_statuses: HTTP statuses retried (connection errors and timeouts always are).
        timeout_seconds: connect/read timeout of one HTTP request.

    Raises:
        ConfigurationError: at construction, for an unsupported timeframe, feed, adjustment,
            sort or URL, a crypto symbol without ``/`` or a stock symbol with one, or
            ``start`` after ``end``.
    """

    name = "alpaca"

    def __init__(
        self,
        *,
        start: datetime | date,
        stock_symbols: Sequence[str] = (),
        crypto_symbols: Sequence[str] = (),
        timeframes: Sequence[str] = ("1m", "1h", "1d"),
        end: datetime | date | None = None,
        fetch_trades: bool = False,
        api_key: str | None = None,
        secret_key: str | None = None,
        data_url: str | None = None,
        stock_feed: str = "iex",
        adjustment: str = "split",
        crypto_location: str = "us",
        sort: str = "asc",
        page_limit: int = MAX_PAGE_LIMIT,
        retry_attempts: int = 5,
        retry_wait_seconds: float = 1.0,
        retry_max_wait_seconds: float = 30.0,
        retry_statuses: Sequence[int] = DEFAULT_RETRY_STATUSES,
        timeout_seconds: float = 30.0,
    ) -> None:
        if isinstance(stock_symbols, str) or isinstance(crypto_symbols, str):
            raise ConfigurationError("Alpaca symbols must be a list of strings, not one string")
        if isinstance(timeframes, str):
            raise ConfigurationError("Alpaca timeframes must be a list of strings")
        for symbol in stock_symbols:
            if not symbol or "/" in symbol:
                raise ConfigurationError(
                    f"Alpaca stock symbol {symbol!r} is not valid (pairs such as BTC/USD go in "
                    "crypto_symbols)"
                )
        for symbol in crypto_symbols:
            if not symbol or "/" not in symbol:
                raise ConfigurationError(
                    f"Alpaca crypto symbol {symbol!r} must be written BASE/QUOTE, e.g. BTC/USD"
                )
        self.stock_symbols: tuple[str, ...] = tuple(dict.fromkeys(stock_symbols))
        self.crypto_symbols: tuple[str, ...] = tuple(dict.fromkeys(crypto_symbols))
        self._alpaca_timeframes = {tf: alpaca_timeframe(tf) for tf in timeframes}
        self.timeframes: tuple[str, ...] = tuple(self._alpaca_timeframes)
        self.start = start
        self.end = end
        self._start = _rfc3339(start, "start")
        self._end = None if end is None else _rfc3339(end, "end")
        if self._end is not None and _parse_z(self._start) > _parse_z(self._end):
            raise ConfigurationError(f"Alpaca start {self._start} is after end {self._end}")
        self.fetch_trades = bool(fetch_trades)
        self._api_key = api_key or None
        self._secret_key = secret_key or None
        base = DEFAULT_DATA_URL if data_url is None else str(data_url).rstrip("/")
        if not re.match(r"^https?://[^/\s]+", base):
            raise ConfigurationError(
                f"Alpaca data_url {base!r} must start with http:// or https://"
            )
        self.data_url = base
        if stock_feed not in STOCK_FEEDS:
            raise ConfigurationError(
                f"Alpaca stock_feed {stock_feed!r} is not one of {', '.join(STOCK_FEEDS)}"
            )
        self.stock_feed = stock_feed
        if adjustment not in ADJUSTMENTS:
            raise ConfigurationError(
                f"Alpaca adjustment {adjustment!r} is not one of {', '.join(ADJUSTMENTS)}"
            )
        self.adjustment = adjustment
        if not re.match(r"^[a-z0-9-]+$", crypto_location or ""):
            raise ConfigurationError(f"Alpaca crypto_location {crypto_location!r} is not valid")
        self.crypto_location = crypto_location
        if sort not in ("asc", "desc"):
            raise ConfigurationError(f"Alpaca sort {sort!r} must be 'asc' or 'desc'")
        self.sort = sort
        if not 1 <= int(page_limit) <= MAX_PAGE_LIMIT:
            raise ConfigurationError(f"Alpaca page_limit must be 1..{MAX_PAGE_LIMIT}")
        self.page_limit = int(page_limit)
        if retry_attempts < 0 or retry_wait_seconds < 0 or retry_max_wait_seconds < 0:
            raise ConfigurationError("Alpaca retry settings must not be negative")
        self.retry_attempts = int(retry_attempts)
        self.retry_wait_seconds = float(retry_wait_seconds)
        self.retry_max_wait_seconds = float(retry_max_wait_seconds)
        self.retry_statuses = frozenset(int(s) for s in retry_statuses)
        self._retry = RetryPolicy(
            attempts=self.retry_attempts + 1,
            backoff_s=self.retry_wait_seconds,
            max_wait_s=self.retry_max_wait_seconds,
            statuses=self.retry_statuses,
        )
        if timeout_seconds <= 0:
            raise ConfigurationError("Alpaca timeout_seconds must be > 0")
        self.timeout_seconds = float(timeout_seconds)

    def __repr__(self) -> str:  # never shows the keys
        return (
            f"AlpacaSource(stock_symbols={list(self.stock_symbols)}, "
            f"crypto_symbols={list(self.crypto_symbols)}, timeframes={list(self.timeframes)}, "
            f"start={self._start}, end={self._end}, fetch_trades={self.fetch_trades}, "
            f"data_url={self.data_url!r}, stock_feed={self.stock_feed!r}, "
            f"keys={'set' if self._has_keys else 'missing'})"
        )

    @property
    def _has_keys(self) -> bool:
        return bool(self._api_key and self._secret_key)

    # ------------------------------------------------------------------ items

    def items(self, symbols: Sequence[str] | None = None) -> list[SourceItem]:
        """One item per (symbol, kind, timeframe): bars per timeframe, then ticks if asked.

        No I/O and no key check here. ``symbols`` keeps only those symbols (symbols this
        source does not hold are ignored: other sources may provide them).

        ``origin`` is the first page's URL (no secrets: keys travel in headers). The
        ``fingerprint`` identifies the request, not the response; for an open-ended request
        (``end`` None) it also carries the listing time, so it differs on every listing and
        callers never skip a fetch that may have new rows.
        """
        wanted = None if symbols is None else set(symbols)
        listed_at = datetime.now(UTC).isoformat() if self._end is None else ""
        result: list[SourceItem] = []
        for asset_class, symbol_list in (
            ("stock", self.stock_symbols),
            ("crypto", self.crypto_symbols),
        ):
            for symbol in symbol_list:
                if wanted is not None and symbol not in wanted:
                    continue
                requests = [
                    self._request(asset_class, symbol, "bars", tf) for tf in self.timeframes
                ]
                if self.fetch_trades:
                    requests.append(self._request(asset_class, symbol, "ticks", None))
                for request in requests:
                    origin = self._origin(request)
                    digest = hashlib.sha256(f"{origin}|{listed_at}".encode()).hexdigest()[:16]
                    result.append(
                        SourceItem(
                            origin=origin,
                            symbol=symbol,
                            kind=request.kind,
                            timeframe=request.timeframe,
                            source=self.name,
                            fingerprint=f"alpaca-request:{digest}",
                            loader=functools.partial(self._load, request),
                        )
                    )
        return result

    def bar_source(self, asset_class: str) -> str:
        """The ``source`` of the bars of ``asset_class``: ``alpaca`` for crypto,
        ``alpaca:<adjustment>`` for stocks (the corporate-action adjustment requested)."""
        return f"{self.name}:{self.adjustment}" if asset_class == "stock" else self.name

    def _request(self, asset_class: str, symbol: str, kind: str, timeframe: str | None) -> _Request:
        endpoint = "bars" if kind == "bars" else "trades"
        if asset_class == "stock":
            path = f"/v2/stocks/{endpoint}"
        else:
            path = f"/v1beta3/crypto/{self.crypto_location}/{endpoint}"
        params: list[tuple[str, str]] = [("symbols", symbol)]
        if timeframe is not None:
            params.append(("timeframe", self._alpaca_timeframes[timeframe]))
        params.append(("start", self._start))
        if self._end is not None:
            params.append(("end", self._end))
        params.append(("limit", str(self.page_limit)))
        if asset_class == "stock":
            params.append(("feed", self.stock_feed))
            if kind == "bars":
                params.append(("adjustment", self.adjustment))
        if self.sort != "asc":
            params.append(("sort", self.sort))
        return _Request(symbol, asset_class, kind, timeframe, path, tuple(params))

    def _origin(self, request: _Request) -> str:
        import httpx

        return str(httpx.URL(self.data_url + request.path, params=request.params))

    # ------------------------------------------------------------------ loading

    def _headers(self, request: _Request) -> dict[str, str]:
        headers = {"Accept": "application/json", "User-Agent": "trading-assets"}
        if self._has_keys:
            headers["APCA-API-KEY-ID"] = self._api_key or ""
            headers["APCA-API-SECRET-KEY"] = self._secret_key or ""
        elif request.asset_class == "stock":
            raise ConfigurationError(
                f"Alpaca stock data for {request.symbol} needs API keys: set {API_KEY_ENV} and "
                f"{SECRET_KEY_ENV} (crypto data needs none)"
            )
        return headers

    def _load(self, request: _Request) -> pl.DataFrame:
        """Fetch every page and build the canonical frame (columns built page by page, so a
        long range is held as columns, not as millions of JSON objects)."""
        origin = self._origin(request)
        parts: list[pl.DataFrame] = []
        offset = 0
        for rows in self._pages(request, origin):
            if rows:
                parts.append(self._page_frame(rows, request, origin, offset))
                offset += len(rows)
        if not parts:
            return empty_frame(request.kind)
        frame = pl.concat(parts, how="vertical")
        if request.kind == "bars":
            timeframe = request.timeframe or ""
            frame = validate_bars(frame, origin)
            return frame.with_columns(pl.lit(timeframe).alias("timeframe"))
        return self._finish_ticks(frame, request, origin)

    def _pages(self, request: _Request, origin: str) -> Iterator[list[Any]]:
        """The rows of each page of ``request``, in the order Alpaca sends them, following
        ``next_page_token`` until it is null or empty."""
        import httpx

        headers = self._headers(request)
        url = self.data_url + request.path
        seen_tokens: set[str] = set()
        token: str | None = None
        timeout = httpx.Timeout(self.timeout_seconds)
        with httpx.Client(headers=headers, timeout=timeout, follow_redirects=False) as client:
            while True:
                params = list(request.params)
                if token is not None:
                    params.append(("page_token", token))
                body, page_url = self._get_json(client, url, params)
                yield self._page_rows(body, request, page_url)
                token = body.get("next_page_token") if isinstance(body, dict) else None
                if not token:
                    return
                if not isinstance(token, str):
                    raise SourceDataError(
                        page_url,
                        f"next_page_token must be a string, got {token!r}",
                        field="next_page_token",
                    )
                if token in seen_tokens:
                    raise SourceDataError(
                        origin,
                        f"pagination does not advance: next_page_token {token!r} came twice",
                        field="next_page_token",
                    )
                seen_tokens.add(token)

    def _get_json(
        self, client: httpx.Client, url: str, params: list[tuple[str, str]]
    ) -> tuple[Any, str]:
        """GET one page through the shared HTTP layer (429/5xx and connection errors retried,
        ``Retry-After`` or ``X-RateLimit-Reset`` honoured); returns (JSON body, URL)."""
        try:
            response = http_request(
                client,
                "GET",
                url,
                params=params,
                policy=self._retry,
                hint=rate_limit_reset,
                secrets=(self._api_key, self._secret_key),
            )
        except HttpStatusError as exc:
            detail = self._error_detail(exc.response) if exc.response is not None else ""
            reason = exc.reason + (f" ({detail})" if detail else "")
            plural = "s" if exc.attempts != 1 else ""
            raise SourceUnavailableError(
                f"{exc.url}: {reason} after {exc.attempts} attempt{plural}"
            ) from exc
        except HttpError as exc:
            raise SourceUnavailableError(f"{exc.url}: {exc.summary}") from exc
        page_url = str(response.url)
        status = response.status_code
        if not 200 <= status < 300:
            detail = self._error_detail(response)
            message = f"{page_url}: HTTP {status}" + (f" ({detail})" if detail else "")
            if status in (401, 403):
                raise ConfigurationError(
                    f"{message}: check {API_KEY_ENV}/{SECRET_KEY_ENV} and that the account's "
                    f"data subscription allows feed {self.stock_feed!r}"
                )
            if 400 <= status < 500:
                raise ConfigurationError(f"{message}: the request was rejected (not retried)")
            raise SourceUnavailableError(f"{message} (not retried)")
        if not response.content.strip():
            return None, page_url
        try:
            return response.json(), page_url
        except ValueError as exc:
            raise SourceDataError(page_url, f"response is not JSON: {exc}") from exc

    def _error_detail(self, response: httpx.Response) -> str:
        """Alpaca's error message (``{"message": ...}``) or the body's start, keys redacted."""
        text = response.text[:300]
        try:
            payload = json.loads(response.text)
        except ValueError:
            payload = None
        if isinstance(payload, dict) and isinstance(payload.get("message"), str):
            text = payload["message"][:300]
        return " ".join(redact(text, (self._api_key, self._secret_key)).split())

    @staticmethod
    def _page_rows(body: Any, request: _Request, page_url: str) -> list[Any]:
        if body is None:
            return []
        if not isinstance(body, dict):
            raise SourceDataError(page_url, f"expected a JSON object, got {type(body).__name__}")
        data = body.get(request.data_key)
        if data is None:
            return []
        if not isinstance(data, dict):
            raise SourceDataError(
                page_url,
                f"expected an object keyed by symbol, got {type(data).__name__}",
                field=request.data_key,
            )
        rows = data.get(request.symbol)
        if rows is None:
            return []
        if not isinstance(rows, list):
            raise SourceDataError(
                page_url,
                f"expected a list of {request.data_key}, got {type(rows).__name__}",
                field=f"{request.data_key}.{request.symbol}",
            )
        return rows

    # ------------------------------------------------------------------ frames

    @staticmethod
    def _columns(
        rows: list[Any], origin: str, offset: int, keys: Sequence[str]
    ) -> dict[str, list[Any]]:
        for index, row in enumerate(rows):
            if not isinstance(row, dict):
                raise SourceDataError(
                    origin, f"expected an object, got {type(row).__name__}", row=offset + index + 1
                )
        return {key: [row.get(key) for row in rows] for key in keys}

    @staticmethod
    def _timestamps(raw: list[Any], origin: str, offset: int) -> pl.Series:
        text = pl.Series("t", raw, dtype=pl.String, strict=False)
        parsed = text.str.to_datetime(
            format="%Y-%m-%dT%H:%M:%S%.f%#z", time_unit="ns", time_zone="UTC", strict=False
        )
        bad = parsed.is_null()
        if bad.any():
            index = int(bad.arg_max())
            raise SourceDataError(
                origin,
                f"timestamp {raw[index]!r} is not an RFC-3339 time",
                row=offset + index + 1,
                field="t",
            )
        return parsed.cast(pl.Datetime("us", "UTC")).alias("ts")

    def _page_frame(
        self, rows: list[Any], request: _Request, origin: str, offset: int
    ) -> pl.DataFrame:
        """One page's rows as columns plus ``_row`` (1-based across all pages).

        Bars come out in canonical columns (``timeframe`` holds the grid to validate on, see
        :func:`_grid_timeframe`); trades keep Alpaca's ``i``, ``x`` and ``tks`` for
        :meth:`_finish_ticks`.
        """
        keys = (
            ("t", "o", "h", "l", "c", "v", "n", "vw")
            if request.kind == "bars"
            else ("t", "p", "s", "i", "x", "tks")
        )
        cols = self._columns(rows, origin, offset, keys)
        ts = self._timestamps(cols["t"], origin, offset)
        row_numbers = pl.int_range(offset + 1, offset + len(rows) + 1, eager=True)

        def col(key: str, dtype: type[pl.DataType] = pl.Float64) -> pl.Series:
            return pl.Series(key, cols[key], dtype=dtype, strict=False)

        if request.kind == "bars":
            timeframe = request.timeframe or ""
            if timeframe[-1] in "dwM":
                if request.asset_class == "stock":
                    trading_date = ts.dt.convert_time_zone(_NEW_YORK).dt.date()
                else:
                    trading_date = ts.dt.date()
                ts = trading_date.cast(pl.Datetime("us")).dt.replace_time_zone("UTC").alias("ts")
            return pl.DataFrame(
                {
                    "symbol": [request.symbol] * len(rows),
                    "timeframe": _grid_timeframe(timeframe),
                    "ts": ts,
                    "open": col("o"),
                    "high": col("h"),
                    "low": col("l"),
                    "close": col("c"),
                    "volume": col("v"),
                    "trades": col("n", pl.Int64),
                    "vwap": col("vw"),
                    "source": self.bar_source(request.asset_class),
                    ROW: row_numbers,
                }
            )
        return pl.DataFrame(
            {
                "symbol": [request.symbol] * len(rows),
                "source": self.name,
                "ts": ts,
                "price": col("p"),
                "size": col("s"),
                # ids can exceed 2**53: JSON gives Python ints, turned to text exactly
                "i": pl.Series([None if i is None else str(i) for i in cols["i"]], dtype=pl.String),
                "x": col("x", pl.String),
                "tks": col("tks", pl.String),
                ROW: row_numbers,
            }
        )

    def _finish_ticks(self, frame: pl.DataFrame, request: _Request, origin: str) -> pl.DataFrame:
        """trade_id and side from Alpaca's ``i``/``x``/``tks``, then :func:`validate_ticks`."""
        if request.asset_class == "stock":
            # Stock trade ids repeat across exchanges and trading days.
            trading_date = pl.col("ts").dt.convert_time_zone(_NEW_YORK).dt.date().cast(pl.String)
            exchange_id = pl.concat_str(
                [trading_date, pl.col("x").fill_null(""), pl.col("i")], separator=":"
            )
            side = pl.lit(None, dtype=pl.String)
        else:
            exchange_id = pl.col("i")
            side = pl.col("tks").replace_strict(_SIDES, default=None, return_dtype=pl.String)
        fallback = pl.concat_str(
            [
                pl.col("ts").dt.epoch("us").cast(pl.String),
                pl.int_range(pl.len()).over("ts").cast(pl.String),
            ],
            separator="-",
        )
        frame = frame.sort(ROW).with_columns(
            pl.when(pl.col("i").is_null()).then(fallback).otherwise(exchange_id).alias("trade_id"),
            side.alias("side"),
        )
        return validate_ticks(frame.drop("i", "x", "tks"), origin)


def _parse_z(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def rate_limit_reset(response: httpx.Response) -> float | None:
    """Seconds until Alpaca's ``X-RateLimit-Reset`` (epoch seconds), the wait hint of a 429
    without ``Retry-After``; None when absent or not a number."""
    reset = response.headers.get("X-RateLimit-Reset")
    if reset is None:
        return None
    try:
        return max(float(reset) - time.time(), 0.0)
    except ValueError:
        return None


__all__: list[str] = [
    "ADJUSTMENTS",
    "API_KEY_ENV",
    "DEFAULT_DATA_URL",
    "DEFAULT_RETRY_STATUSES",
    "MAX_PAGE_LIMIT",
    "SECRET_KEY_ENV",
    "STOCK_FEEDS",
    "AlpacaSource",
    "alpaca_timeframe",
    "rate_limit_reset",
]
