"""Concurrent feed fetching: one pooled async HTTP client, conditional GETs, bounded bodies.

:func:`fetch_feeds` fetches many URLs at once (``concurrency`` in flight, one connection pool)
and never raises for a single feed: every URL gets a :class:`FetchResult` saying what happened.

Per feed:

- **conditional GET**: the ``ETag``/``Last-Modified`` of the last good fetch are sent as
  ``If-None-Match``/``If-Modified-Since``; a ``304 Not Modified`` costs no body;
- **timeout**: one attempt may take at most ``timeout_s`` from request to last byte (a feed
  that dribbles bytes slowly is cut off too, not only one that stalls);
- **retries**: HTTP 429 and 5xx (``retry_statuses``) and connection errors are retried up to
  ``retries`` times with exponential backoff from ``backoff_s`` (a ``Retry-After``, seconds or
  HTTP-date, is honoured; either capped at ``max_backoff_s``); timeouts and other 4xx are not
  retried. The retry loop, timeout and ``Retry-After`` handling are the shared HTTP layer's
  (:func:`trading_assets.http.arequest`);
- **size**: a body over ``max_bytes`` (after decompression; ``Content-Length`` is checked
  first) is abandoned.

Only ``http``/``https`` URLs are fetched; redirects are followed (at most 5).

``on_fetched`` lets the caller work on each result as soon as it is complete (the news pass
hands each body to a parse worker), outside the in-flight limit, while other feeds download.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import threading
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from trading_assets.http import (
    RETRY_STATUSES,
    HttpError,
    HttpTimeoutError,
    RequestTrace,
    RetryPolicy,
    arequest,
)

if TYPE_CHECKING:  # imported where used: the code location loads without it
    import httpx


#: Default limit of one feed body: 10 MB.
DEFAULT_MAX_BYTES = 10 * 1024 * 1024
#: Default number of requests in flight: at 0.5 s a response, 124 feeds take one round trip
#: (at 32, four: 2 s before any parsing). ``TRADING_NEWS_MAX_IN_FLIGHT`` overrides it.
DEFAULT_MAX_IN_FLIGHT = 128
#: Requests per connection pool (see :func:`_transports`).
SHARD_CONNECTIONS = 16
DEFAULT_RETRY_STATUSES: tuple[int, ...] = tuple(sorted(RETRY_STATUSES))
USER_AGENT = "trading-assets news fetcher (+https://github.com/trading-assets)"
_ACCEPT = (
    "application/rss+xml, application/atom+xml, application/rdf+xml;q=0.9, "
    "application/xml;q=0.9, text/xml;q=0.9, */*;q=0.1"
)


@dataclass(frozen=True)
class FeedRequest:
    """A URL to fetch and the validators of its last good fetch (None when unknown)."""

    url: str
    etag: str | None = None
    last_modified: str | None = None


@dataclass
class FetchResult:
    """The outcome of fetching one URL.

    Attributes:
        url: the requested URL.
        status: ``ok`` (body received), ``not_modified`` (304) or ``failed``.
        http_status: the last HTTP status, None when no response came.
        body: the body bytes (``ok`` only).
        content_type: the response ``Content-Type``.
        etag / last_modified: validators of this response (``ok``), or the request's
            (``not_modified``).
        reason: why it failed (``failed`` only), e.g. ``"HTTP 404"``, ``"timed out after
            5.0 s"``, ``"body larger than 10485760 bytes"``.
        attempts: requests made (1 + retries used).
        elapsed_s: wall time for this URL, retries and backoff included.
        bytes_received: body bytes read (also for abandoned bodies).
    """

    url: str
    status: str
    http_status: int | None = None
    body: bytes | None = None
    content_type: str | None = None
    etag: str | None = None
    last_modified: str | None = None
    reason: str | None = None
    attempts: int = 0
    elapsed_s: float = 0.0
    bytes_received: int = 0


#: ``on_fetched(index, result)``: awaited once per request, as soon as its result is complete.
OnFetched = Callable[[int, FetchResult], Awaitable[None]]


class _Failed(Exception):
    def __init__(self, reason: str, status: int | None = None, received: int = 0) -> None:
        super().__init__(reason)
        self.reason = reason
        self.status = status
        self.received = received


async def _read(
    response: httpx.Response, request: FeedRequest, result: FetchResult, *, max_bytes: int
) -> None:
    """Fill ``result`` from a streamed answer whose status is not retried (304, 2xx), or
    raise :class:`_Failed` (another status, a body over ``max_bytes``)."""
    result.http_status = response.status_code
    if response.status_code == 304:
        result.status = "not_modified"
        result.etag, result.last_modified = request.etag, request.last_modified
        return
    if not 200 <= response.status_code < 300:
        raise _Failed(f"HTTP {response.status_code}", response.status_code)
    declared = response.headers.get("Content-Length")
    if declared and declared.isdigit() and int(declared) > max_bytes:
        raise _Failed(
            f"body larger than {max_bytes} bytes (Content-Length {declared})",
            response.status_code,
        )
    chunks: list[bytes] = []
    received = 0
    async for chunk in response.aiter_bytes():
        received += len(chunk)
        if received > max_bytes:
            raise _Failed(f"body larger than {max_bytes} bytes", response.status_code, received)
        chunks.append(chunk)
    result.bytes_received = received
    result.body = b"".join(chunks)
    result.content_type = response.headers.get("Content-Type")
    result.etag = response.headers.get("ETag")
    result.last_modified = response.headers.get("Last-Modified")
    result.status = "ok"


async def _fetch_one(
    client: httpx.AsyncClient,
    semaphore: asyncio.Semaphore,
    request: FeedRequest,
    *,
    timeout_s: float,
    max_bytes: int,
    policy: RetryPolicy,
    index: int = 0,
    on_fetched: OnFetched | None = None,
) -> FetchResult:
    result = FetchResult(url=request.url, status="failed")
    trace = RequestTrace()
    started = time.perf_counter()
    headers = {"Accept": _ACCEPT}
    if request.etag:
        headers["If-None-Match"] = request.etag
    if request.last_modified:
        headers["If-Modified-Since"] = request.last_modified

    async def read(response: httpx.Response) -> None:
        await _read(response, request, result, max_bytes=max_bytes)

    try:
        await arequest(
            client,
            "GET",
            request.url,
            headers=headers,
            policy=policy,
            trace=trace,
            read=read,
            timeout_s=timeout_s,
            limiter=semaphore,
        )
    except HttpTimeoutError as exc:
        result.status = "failed"
        result.reason = f"timed out after {timeout_s:g} s"
        result.http_status = exc.status
    except HttpError as exc:
        result.status = "failed"
        result.reason = exc.summary
        result.http_status = exc.status
    except _Failed as exc:
        result.status = "failed"
        result.reason = exc.reason
        result.bytes_received = max(result.bytes_received, exc.received)
    except Exception as exc:  # one broken feed never stops the others
        result.status = "failed"
        result.reason = f"{type(exc).__name__}: {exc}"
    result.attempts = trace.attempts
    if result.status == "failed":
        result.body = None
    result.elapsed_s = time.perf_counter() - started
    if on_fetched is not None:
        await on_fetched(index, result)
    return result


def _transports(
    cap: int, transport: httpx.AsyncBaseTransport | None
) -> list[httpx.AsyncBaseTransport]:
    """The connection pools requests are spread over (request ``i`` uses pool ``i % n``).

    httpcore 1.0's pool scans every connection for every queued request (encode/httpcore#1035),
    so one pool of 128 connections costs about as much CPU as the 124 requests themselves; pools
    of :data:`SHARD_CONNECTIONS` keep that small. They share one TLS context (building one
    costs 60 ms). The in-flight cap is the caller's semaphore, not the pools' limits. A given
    ``transport`` (tests) is used alone.
    """
    import httpx

    if transport is not None:
        return [transport]
    limits = httpx.Limits(max_connections=cap, max_keepalive_connections=cap)
    tls = httpx.create_ssl_context(trust_env=False)  # as AsyncClient(trust_env=False) made it
    return [
        httpx.AsyncHTTPTransport(verify=tls, limits=limits, trust_env=False)
        for _ in range(math.ceil(cap / SHARD_CONNECTIONS))
    ]


async def fetch_feeds_async(
    requests: Sequence[FeedRequest],
    *,
    concurrency: int = DEFAULT_MAX_IN_FLIGHT,
    timeout_s: float = 15.0,
    max_bytes: int = DEFAULT_MAX_BYTES,
    retries: int = 2,
    backoff_s: float = 0.5,
    max_backoff_s: float = 10.0,
    retry_statuses: Sequence[int] = DEFAULT_RETRY_STATUSES,
    user_agent: str = USER_AGENT,
    transport: httpx.AsyncBaseTransport | None = None,
    on_fetched: OnFetched | None = None,
) -> list[FetchResult]:
    """Fetch ``requests`` concurrently; results in the same order (see the module docs).

    Args:
        requests: URLs with their last validators.
        concurrency: requests in flight at once (at most one connection each).
        timeout_s: limit of one attempt, first byte to last.
        max_bytes: largest body accepted.
        retries: retries after the first attempt (429/5xx/connection errors).
        backoff_s / max_backoff_s: first backoff wait (doubling) and its cap.
        retry_statuses: statuses that are retried.
        user_agent: the ``User-Agent`` header.
        transport: an httpx transport (tests); default a pooled TCP transport.
        on_fetched: awaited with (index in ``requests``, result) as soon as each result is
            complete, outside the in-flight limit; returns only after every call returned.
    """
    import httpx

    if not requests:
        return []
    policy = RetryPolicy(
        attempts=retries + 1,
        backoff_s=backoff_s,
        max_wait_s=max_backoff_s,
        statuses=frozenset(int(s) for s in retry_statuses),
        retry_timeouts=False,
    )
    cap = max(concurrency, 1)
    semaphore = asyncio.Semaphore(cap)
    async with contextlib.AsyncExitStack() as stack:
        clients = [
            await stack.enter_async_context(
                httpx.AsyncClient(
                    timeout=httpx.Timeout(timeout_s),
                    follow_redirects=True,
                    max_redirects=5,
                    headers={"User-Agent": user_agent},
                    transport=shard,
                    trust_env=False,
                )
            )
            for shard in _transports(cap, transport)
        ]
        return list(
            await asyncio.gather(
                *(
                    _fetch_one(
                        clients[index % len(clients)],
                        semaphore,
                        request,
                        timeout_s=timeout_s,
                        max_bytes=max_bytes,
                        policy=policy,
                        index=index,
                        on_fetched=on_fetched,
                    )
                    for index, request in enumerate(requests)
                )
            )
        )


def run_async(coroutine):  # noqa: ANN001, ANN201 (any coroutine, its result)
    """Run ``coroutine`` to completion from synchronous code, also when the calling thread
    already runs an event loop (then in a helper thread with its own loop)."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(coroutine)
    box: dict[str, object] = {}

    def target() -> None:
        try:
            box["value"] = asyncio.run(coroutine)
        except BaseException as exc:  # re-raised in the caller's thread
            box["error"] = exc

    thread = threading.Thread(target=target, name="news-fetch", daemon=True)
    thread.start()
    thread.join()
    if "error" in box:
        raise box["error"]  # type: ignore[misc]
    return box["value"]


def fetch_feeds(requests: Sequence[FeedRequest], **options) -> list[FetchResult]:  # noqa: ANN003
    """Synchronous :func:`fetch_feeds_async` (same arguments)."""
    return run_async(fetch_feeds_async(requests, **options))
