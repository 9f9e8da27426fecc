"""Concurrent feed fetching: one pooled async HTTP client, conditional GETs, bounded bodies.

:func:`fetch_feeds` fetches many URLs at once (``concurrency`` in flight, one connection pool)
and never raises for a single feed: every URL gets a :class:`FetchResult` saying what happened.

Per feed:

- **conditional GET**: the ``ETag``/``Last-Modified`` of the last good fetch are sent as
  ``If-None-Match``/``If-Modified-Since``; a ``304 Not Modified`` costs no body;
- **timeout**: one attempt may take at most ``timeout_s`` from request to last byte (a feed
  that dribbles bytes slowly is cut off too, not only one that stalls);
- **retries**: HTTP 429 and 5xx (``retry_statuses``) and connection errors are retried up to
  ``retries`` times with exponential backoff from ``backoff_s`` (a ``Retry-After`` in seconds
  is honoured, capped at ``max_backoff_s``); timeouts and other 4xx are not retried;
- **size**: a body over ``max_bytes`` (after decompression; ``Content-Length`` is checked
  first) is abandoned.

Only ``http``/``https`` URLs are fetched; redirects are followed (at most 5).
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from email.utils import parsedate_to_datetime
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # imported where used: the code location loads without them
    import httpx
    import tenacity


#: Default limit of one feed body: 10 MB.
DEFAULT_MAX_BYTES = 10 * 1024 * 1024
DEFAULT_RETRY_STATUSES: tuple[int, ...] = (429, 500, 502, 503, 504)
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


class _Retryable(Exception):
    def __init__(self, reason: str, status: int | None, retry_after: float | None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.status = status
        self.retry_after = retry_after


class _Failed(Exception):
    def __init__(self, reason: str, status: int | None = None, received: int = 0) -> None:
        super().__init__(reason)
        self.reason = reason
        self.status = status
        self.received = received


def _retry_after(response: httpx.Response) -> float | None:
    value = response.headers.get("Retry-After")
    if not value:
        return None
    try:
        return max(float(value), 0.0)
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(when.timestamp() - time.time(), 0.0)


async def _attempt(
    client: httpx.AsyncClient,
    request: FeedRequest,
    *,
    max_bytes: int,
    retry_statuses: frozenset[int],
    result: FetchResult,
) -> None:
    import httpx

    headers = {"Accept": _ACCEPT}
    if request.etag:
        headers["If-None-Match"] = request.etag
    if request.last_modified:
        headers["If-Modified-Since"] = request.last_modified
    result.attempts += 1
    try:
        async with client.stream("GET", request.url, headers=headers) as response:
            result.http_status = response.status_code
            if response.status_code == 304:
                result.status = "not_modified"
                result.etag, result.last_modified = request.etag, request.last_modified
                return
            if response.status_code in retry_statuses:
                raise _Retryable(
                    f"HTTP {response.status_code}", response.status_code, _retry_after(response)
                )
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
                    raise _Failed(
                        f"body larger than {max_bytes} bytes", response.status_code, received
                    )
                chunks.append(chunk)
            result.bytes_received = received
            result.body = b"".join(chunks)
            result.content_type = response.headers.get("Content-Type")
            result.etag = response.headers.get("ETag")
            result.last_modified = response.headers.get("Last-Modified")
            result.status = "ok"
    except httpx.TransportError as exc:
        raise _Retryable(f"{type(exc).__name__}: {exc}".rstrip(": "), None, None) from exc


async def _fetch_one(
    client: httpx.AsyncClient,
    semaphore: asyncio.Semaphore,
    request: FeedRequest,
    *,
    timeout_s: float,
    max_bytes: int,
    retries: int,
    backoff_s: float,
    max_backoff_s: float,
    retry_statuses: frozenset[int],
) -> FetchResult:
    import tenacity

    result = FetchResult(url=request.url, status="failed")
    started = time.perf_counter()

    def wait(state: tenacity.RetryCallState) -> float:
        exc = state.outcome.exception() if state.outcome else None
        if isinstance(exc, _Retryable) and exc.retry_after is not None:
            return min(exc.retry_after, max_backoff_s)
        return min(backoff_s * 2 ** (state.attempt_number - 1), max_backoff_s)

    async def one_attempt() -> None:
        async with semaphore:
            try:
                async with asyncio.timeout(timeout_s):
                    await _attempt(
                        client,
                        request,
                        max_bytes=max_bytes,
                        retry_statuses=retry_statuses,
                        result=result,
                    )
            except TimeoutError as exc:
                raise _Failed(f"timed out after {timeout_s:g} s", result.http_status) from exc

    try:
        async for attempt in tenacity.AsyncRetrying(
            stop=tenacity.stop_after_attempt(retries + 1),
            wait=wait,
            retry=tenacity.retry_if_exception_type(_Retryable),
            reraise=True,
        ):
            with attempt:
                await one_attempt()
    except _Retryable as exc:
        result.status = "failed"
        plural = "s" if result.attempts != 1 else ""
        result.reason = f"{exc.reason} after {result.attempts} attempt{plural}"
    except _Failed as exc:
        result.status = "failed"
        result.reason = exc.reason
        result.bytes_received = max(result.bytes_received, exc.received)
    except Exception as exc:  # one broken feed never stops the others
        result.status = "failed"
        result.reason = f"{type(exc).__name__}: {exc}"
    if result.status == "failed":
        result.body = None
    result.elapsed_s = time.perf_counter() - started
    return result


async def fetch_feeds_async(
    requests: Sequence[FeedRequest],
    *,
    concurrency: int = 32,
    timeout_s: float = 15.0,
    max_bytes: int = DEFAULT_MAX_BYTES,
    retries: int = 2,
    backoff_s: float = 0.5,
    max_backoff_s: float = 10.0,
    retry_statuses: Sequence[int] = DEFAULT_RETRY_STATUSES,
    user_agent: str = USER_AGENT,
    transport: httpx.AsyncBaseTransport | None = None,
) -> list[FetchResult]:
    """Fetch ``requests`` concurrently; results in the same order (see the module docs).

    Args:
        requests: URLs with their last validators.
        concurrency: requests in flight at once (also the connection pool size).
        timeout_s: limit of one attempt, first byte to last.
        max_bytes: largest body accepted.
        retries: retries after the first attempt (429/5xx/connection errors).
        backoff_s / max_backoff_s: first backoff wait (doubling) and its cap.
        retry_statuses: statuses that are retried.
        user_agent: the ``User-Agent`` header.
        transport: an httpx transport (tests); default a pooled TCP transport.
    """
    import httpx

    if not requests:
        return []
    limits = httpx.Limits(
        max_connections=max(concurrency, 1), max_keepalive_connections=max(concurrency, 1)
    )
    semaphore = asyncio.Semaphore(max(concurrency, 1))
    statuses = frozenset(int(s) for s in retry_statuses)
    async with httpx.AsyncClient(
        limits=limits,
        timeout=httpx.Timeout(timeout_s),
        follow_redirects=True,
        max_redirects=5,
        headers={"User-Agent": user_agent},
        transport=transport,
        trust_env=False,
    ) as client:
        return list(
            await asyncio.gather(
                *(
                    _fetch_one(
                        client,
                        semaphore,
                        request,
                        timeout_s=timeout_s,
                        max_bytes=max_bytes,
                        retries=retries,
                        backoff_s=backoff_s,
                        max_backoff_s=max_backoff_s,
                        retry_statuses=statuses,
                    )
                    for request in requests
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
