"""The one HTTP layer: retries, ``Retry-After``, timeouts and redaction for every client.

Every HTTP call of the package goes through :func:`request` (sync) or :func:`arequest`
(async), built on httpx and tenacity: the Alpaca bars/trades reader
(:mod:`trading_assets.sources.alpaca`), the Alpaca news reader
(:mod:`trading_assets.news.alpaca_news`), the feed fetcher (:mod:`trading_assets.news.fetch`),
the LLM chain (:mod:`trading_assets.sentiment.llm`) and the publishers
(:mod:`trading_assets.publish.wordpress`, :mod:`trading_assets.publish.discord`).

- **retries** (:class:`RetryPolicy`): an answer with a status in ``statuses`` (429 and 5xx by
  default) and transport errors (connection refused/reset, timeouts unless
  ``retry_timeouts=False``) are tried again, ``attempts`` tries in all. The wait before a
  retry is the server's ``Retry-After`` (:func:`retry_after_seconds`, or a client-specific
  ``hint``) when given, else ``backoff_s * 2**(n - 1)`` after the n-th try; either is capped
  at ``max_wait_s``.
- **the outcome**: the first answer whose status is not retried is returned as it is (the
  caller decides what a 404 or 401 means); a request that still fails after the last try
  raises :class:`HttpStatusError`, :class:`HttpTimeoutError` or :class:`HttpTransportError`,
  whose message names the method and the URL, with secrets masked.
- **secrets**: values of sensitive request headers (``Authorization``, ``*-KEY-*``,
  ``*secret*``, ``*token*``...) and the ``secrets`` a caller names are masked as ``***`` in
  these errors and in the retry log lines, and registered with :func:`redact_in_logs`, a
  filter on the ``httpx``/``httpcore`` loggers (httpx logs every request URL at INFO; a
  Discord webhook URL holds its token). Sensitive query parameters (``api_key=``,
  ``token=``...) are masked in those logs too.

httpx and tenacity are imported inside the functions: the Dagster code location imports the
clients' modules at load and must not pay for them.
"""

from __future__ import annotations

import contextlib
import inspect
import logging
import math
import re
import time
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote, urlsplit, urlunsplit

from trading_assets.errors import ConfigurationError, TradingAssetsError

if TYPE_CHECKING:  # imported where a call is made: the code location loads without them
    import asyncio

    import httpx
    import tenacity

logger = logging.getLogger(__name__)

#: Statuses retried by default: rate limited, and the server errors that may pass.
RETRY_STATUSES: frozenset[int] = frozenset({429, 500, 502, 503, 504})
#: What a secret is replaced by in messages and logs.
REDACTED = "***"
#: A header or query parameter whose name contains one of these holds a secret.
SENSITIVE_NAME_PARTS: tuple[str, ...] = (
    "auth",
    "key",
    "secret",
    "token",
    "password",
    "passwd",
    "signature",
    "credential",
    "cookie",
    "session",
)
#: ... except pagination cursors, which only look like one.
NOT_SENSITIVE_NAME_ENDS: tuple[str, ...] = ("page_token", "pagetoken", "next_token", "nexttoken")
#: Secrets shorter than this are not masked (they would mask ordinary words).
MIN_SECRET_CHARS = 4

#: A hint of how long to wait from a retryable answer when it has no ``Retry-After``
#: (Discord's JSON ``retry_after``, Alpaca's ``X-RateLimit-Reset``); None when it says nothing.
WaitHint = Callable[["httpx.Response"], float | None]


# ----------------------------------------------------------------------------- Retry-After

_DELTA_SECONDS = re.compile(r"\d+(?:\.\d+)?")


def retry_after_seconds(value: str | None, now: datetime | None = None) -> float | None:
    """Seconds to wait from a ``Retry-After`` header value; None when it cannot be used.

    Both forms of RFC 9110 §10.2.3 are read: delta-seconds (``"120"``; a decimal such as
    ``"0.5"`` is accepted too, as Discord sends) and an HTTP-date
    (``"Wed, 21 Oct 2015 07:28:00 GMT"``, also the obsolete RFC 850 and asctime forms; a date
    without a zone is UTC). A date already past gives 0.0.

    Args:
        value: the header value (None or empty: no header).
        now: the current time for the date form (default: now, UTC; naive means UTC).

    Returns:
        Seconds (>= 0), or None for a missing, negative, non-finite or unparseable value.
    """
    if value is None:
        return None
    text = value.strip()
    if not text:
        return None
    if _DELTA_SECONDS.fullmatch(text):
        seconds = float(text)
        return seconds if math.isfinite(seconds) else None
    if not any(c.isalpha() for c in text):  # "-5", "1e3", "1_000": not a date either
        return None
    try:
        when = parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    now = datetime.now(UTC) if now is None else now
    if now.tzinfo is None:
        now = now.replace(tzinfo=UTC)
    return max((when - now).total_seconds(), 0.0)


# ----------------------------------------------------------------------------- policy


@dataclass(frozen=True)
class RetryPolicy:
    """How a request is retried (see the module docs).

    Attributes:
        attempts: tries in all (>= 1; 1 = no retry).
        backoff_s: the wait after the first failed try; doubles after each further one.
        max_wait_s: the longest wait between two tries (caps ``Retry-After`` too).
        statuses: HTTP statuses that are retried (default 429, 500, 502, 503, 504).
        retry_timeouts: whether a timed-out try is retried (connection errors always are).
        sleep: the wait function (tests pass a recorder); None: ``time.sleep`` for
            :func:`request`, ``asyncio.sleep`` for :func:`arequest` (which also accepts a
            coroutine function here).

    Raises:
        ConfigurationError: ``attempts`` < 1 or a negative wait.
    """

    attempts: int = 5
    backoff_s: float = 0.5
    max_wait_s: float = 30.0
    statuses: frozenset[int] = RETRY_STATUSES
    retry_timeouts: bool = True
    sleep: Callable[[float], Any] | None = field(default=None, compare=False)

    def __post_init__(self) -> None:
        if int(self.attempts) < 1:
            raise ConfigurationError(f"retry attempts must be >= 1, got {self.attempts}")
        if self.backoff_s < 0 or self.max_wait_s < 0:
            raise ConfigurationError("retry waits must not be negative")
        object.__setattr__(self, "statuses", frozenset(int(s) for s in self.statuses))

    @classmethod
    def with_retries(cls, retries: int, **changes: Any) -> RetryPolicy:
        """A policy of ``retries`` retries after the first try (``attempts = retries + 1``)."""
        return cls(attempts=int(retries) + 1, **changes)

    def backoff(self, attempt: int) -> float:
        """The wait after failed try number ``attempt`` (1-based) when the server gave no
        hint: ``backoff_s * 2**(attempt - 1)``, at most ``max_wait_s``."""
        return min(self.backoff_s * 2.0 ** min(attempt - 1, 64), self.max_wait_s)

    def wait_s(self, attempt: int, hinted: float | None = None) -> float:
        """The wait after failed try ``attempt``: ``hinted`` (the server's ``Retry-After``)
        when given, else :meth:`backoff`; capped at ``max_wait_s`` either way."""
        if hinted is not None:
            return min(max(hinted, 0.0), self.max_wait_s)
        return self.backoff(attempt)


@dataclass
class RequestTrace:
    """What one :func:`request`/:func:`arequest` call did, filled in as it goes.

    Attributes:
        attempts: tries made.
        statuses: the status of each try (None: no answer).
        waits: the wait before each retry, seconds.
    """

    attempts: int = 0
    statuses: list[int | None] = field(default_factory=list)
    waits: list[float] = field(default_factory=list)


# ----------------------------------------------------------------------------- errors


class HttpError(TradingAssetsError):
    """A request that failed for good: retries used up, or a failure that is not retried.

    Attributes:
        method: the HTTP method.
        url: the URL of the last try, secrets masked.
        reason: what went wrong (``HTTP 503``, ``ConnectError: ...``, ``timed out ...``).
        attempts: tries made.
        status: the last HTTP status (None: no answer).
        response: the last answer (:class:`HttpStatusError` only; from :func:`arequest`
            with ``read``, its body is not loaded).
    """

    def __init__(
        self,
        method: str,
        url: str,
        reason: str,
        *,
        attempts: int,
        status: int | None = None,
        response: httpx.Response | None = None,
    ) -> None:
        self.method = method
        self.url = url
        self.reason = reason
        self.attempts = attempts
        self.status = status
        self.response = response
        super().__init__(f"{method} {url}: {self.summary}")

    @property
    def summary(self) -> str:
        """``<reason> after <n> attempt(s)``, without the URL."""
        return f"{self.reason} after {self.attempts} attempt{'s' if self.attempts != 1 else ''}"


class HttpStatusError(HttpError):
    """The server still answered a retryable status (429/5xx) on the last try."""


class HttpTransportError(HttpError):
    """No usable answer: connection refused or reset, a protocol error, too many redirects."""


class HttpTimeoutError(HttpTransportError):
    """A try ran out of time (connect, read, write, pool, or the whole-try deadline)."""


# ----------------------------------------------------------------------------- redaction


def is_sensitive(name: str) -> bool:
    """Whether a header or query parameter called ``name`` holds a secret."""
    lower = name.lower()
    if lower.endswith(NOT_SENSITIVE_NAME_ENDS):
        return False
    return lower == "sig" or any(part in lower for part in SENSITIVE_NAME_PARTS)


_QUERY_PARAM = re.compile(r"(?P<lead>[?&])(?P<name>[^=&#\s\"'<>]+)=(?P<value>[^&#\s\"'<>]*)")


def _mask_query(text: str) -> str:
    def mask(match: re.Match[str]) -> str:
        if not is_sensitive(unquote(match["name"])) or not match["value"]:
            return match[0]
        return f"{match['lead']}{match['name']}={REDACTED}"

    return _QUERY_PARAM.sub(mask, text)


class _RedactSecrets(logging.Filter):
    """Masks registered secrets and sensitive query values in a record's message."""

    def __init__(self) -> None:
        super().__init__()
        self.secrets: set[str] = set()

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        clean = redact(_mask_query(message), self.secrets)
        if clean != message:
            record.msg, record.args = clean, None
        return True


_FILTER = _RedactSecrets()
_FILTERED_LOGGERS = (
    "httpx",
    "httpcore",
    "httpcore.connection",
    "httpcore.http11",
    "httpcore.http2",
    "httpcore.proxy",
)


def redact_in_logs(secrets: Iterable[str | None] = ()) -> None:
    """Mask each of ``secrets`` (4+ characters) as ``***`` in the httpx/httpcore logs from now
    on (sensitive query values are masked there too once this has run)."""
    for secret in secrets:
        if secret and len(secret) >= MIN_SECRET_CHARS:
            _FILTER.secrets.add(secret)
    for name in _FILTERED_LOGGERS:
        named = logging.getLogger(name)
        if _FILTER not in named.filters:
            named.addFilter(_FILTER)


def redact(text: str, secrets: Iterable[str | None] = ()) -> str:
    """``text`` with each of ``secrets`` (4+ characters) replaced by ``***`` (longest first,
    so a secret inside another goes too)."""
    every = {s for s in secrets if s and len(s) >= MIN_SECRET_CHARS}
    for secret in sorted(every, key=len, reverse=True):
        text = text.replace(secret, REDACTED)
    return text


def safe_url(url: object, secrets: Iterable[str | None] = ()) -> str:
    """``url`` fit for a message: no user info (``user:password@``), sensitive query values
    masked, then :func:`redact` (e.g. the token in a Discord webhook path)."""
    text = str(url)
    try:
        parts = urlsplit(text)
    except ValueError:
        return redact(_mask_query(text), secrets)
    if "@" in parts.netloc:
        parts = parts._replace(netloc=parts.netloc.rsplit("@", 1)[1])
        text = urlunsplit(parts)
    return redact(_mask_query(text), secrets)


def header_secrets(headers: Mapping[str, str] | Iterable[tuple[str, str]] | None) -> list[str]:
    """The values of the sensitive headers in ``headers`` (a bearer token also alone)."""
    if headers is None:
        return []
    items = headers.items() if isinstance(headers, Mapping) else headers
    found: list[str] = []
    for name, value in items:
        if not is_sensitive(str(name)) or not value:
            continue
        found.append(str(value))
        scheme, _, credential = str(value).partition(" ")
        if credential and scheme.lower() in ("bearer", "token", "basic"):
            found.append(credential)
    return found


# ----------------------------------------------------------------------------- requests


class _RetryableStatus(Exception):
    """An answer with a retried status (internal to the retry loop)."""

    def __init__(self, response: httpx.Response, hinted: float | None) -> None:
        self.response = response
        self.hinted = hinted
        super().__init__(f"HTTP {response.status_code}")


class _Deadline(Exception):
    """A try ran past the ``timeout_s`` of :func:`arequest` (internal)."""

    def __init__(self, timeout_s: float) -> None:
        self.timeout_s = timeout_s
        super().__init__(f"timed out (whole try over {timeout_s:g} s)")


def _hinted(response: httpx.Response, hint: WaitHint | None) -> float | None:
    seconds = retry_after_seconds(response.headers.get("Retry-After"))
    if seconds is None and hint is not None:
        seconds = hint(response)
    return seconds


_TIMEOUT_PHASE = {
    "ConnectTimeout": "connect",
    "ReadTimeout": "read",
    "WriteTimeout": "write",
    "PoolTimeout": "pool",
}


def _request_of(exc: BaseException) -> httpx.Request | None:
    try:
        return exc.request  # type: ignore[attr-defined]
    except (AttributeError, RuntimeError):  # httpx raises RuntimeError when it is not set
        return None


def _reason(exc: BaseException, secrets: Iterable[str]) -> str:
    import httpx

    if isinstance(exc, _RetryableStatus):
        return f"HTTP {exc.response.status_code}"
    if isinstance(exc, _Deadline):
        return str(exc)
    name = type(exc).__name__
    if isinstance(exc, httpx.TimeoutException):
        request = _request_of(exc)
        limits = request.extensions.get("timeout", {}) if request is not None else {}
        limit = limits.get(_TIMEOUT_PHASE.get(name, ""))
        return f"timed out ({name}" + (f", limit {limit:g} s)" if limit else ")")
    return redact(_mask_query(f"{name}: {exc}".rstrip(": ")), secrets)


class _Call:
    """The retry loop of one request, shared by :func:`request` and :func:`arequest`."""

    def __init__(
        self,
        client: httpx.Client | httpx.AsyncClient,
        method: str,
        url: str,
        policy: RetryPolicy | None,
        label: str | None,
        secrets: Iterable[str | None],
        hint: WaitHint | None,
        trace: RequestTrace | None,
        headers: Any,
    ) -> None:
        self.method = method.upper()
        self.url = url
        self.policy = policy or RetryPolicy()
        self.label = label
        self.hint = hint
        self.trace = trace if trace is not None else RequestTrace()
        found = [s for s in secrets if s]
        found += header_secrets(headers) + header_secrets(client.headers)
        self.secrets = [s for s in found if len(s) >= MIN_SECRET_CHARS]
        redact_in_logs(self.secrets)
        self.last_url: object = url

    # -- one try's bookkeeping

    def started(self) -> None:
        self.trace.attempts += 1

    def answered(self, response: httpx.Response) -> None:
        self.trace.statuses.append(response.status_code)
        self.last_url = response.request.url
        if response.status_code in self.policy.statuses:
            raise _RetryableStatus(response, _hinted(response, self.hint))

    def failed(self, exc: BaseException) -> None:
        self.trace.statuses.append(None)
        request = _request_of(exc)
        if request is not None:
            self.last_url = request.url

    # -- tenacity

    def should_retry(self, exc: BaseException | None) -> bool:
        import httpx

        if isinstance(exc, _RetryableStatus):
            return True
        if isinstance(exc, _Deadline | httpx.TimeoutException):
            return self.policy.retry_timeouts
        return isinstance(exc, httpx.NetworkError | httpx.RemoteProtocolError | httpx.ProxyError)

    def wait(self, state: tenacity.RetryCallState) -> float:
        exc = state.outcome.exception() if state.outcome else None
        hinted = exc.hinted if isinstance(exc, _RetryableStatus) else None
        return self.policy.wait_s(state.attempt_number, hinted)

    def where(self) -> str:
        return self.label or f"{self.method} {safe_url(self.last_url, self.secrets)}"

    def before_sleep(self, state: tenacity.RetryCallState) -> None:
        exc = state.outcome.exception() if state.outcome else None
        wait = state.next_action.sleep if state.next_action else 0.0
        self.trace.waits.append(wait)
        logger.warning(
            "%s: %s (attempt %d of %d); retrying in %.2f s",
            self.where(),
            _reason(exc, self.secrets) if exc else "failed",
            state.attempt_number,
            self.policy.attempts,
            wait,
        )

    def options(self) -> dict[str, Any]:
        import tenacity

        return {
            "retry": tenacity.retry_if_exception(self.should_retry),
            "wait": self.wait,
            "stop": tenacity.stop_after_attempt(self.policy.attempts),
            "before_sleep": self.before_sleep,
            "reraise": True,
        }

    def final(self, exc: BaseException) -> HttpError:
        """The error to raise for ``exc`` (a retryable status, a deadline or an httpx
        request error) ending the loop."""
        import httpx

        args = (self.method, safe_url(self.last_url, self.secrets), _reason(exc, self.secrets))
        attempts = self.trace.attempts
        if isinstance(exc, _RetryableStatus):
            response = exc.response
            return HttpStatusError(
                *args, attempts=attempts, status=response.status_code, response=response
            )
        status = self.trace.statuses[-1] if self.trace.statuses else None
        if isinstance(exc, _Deadline | httpx.TimeoutException):
            return HttpTimeoutError(*args, attempts=attempts, status=status)
        return HttpTransportError(*args, attempts=attempts, status=status)


def request(
    client: httpx.Client,
    method: str,
    url: str,
    *,
    policy: RetryPolicy | None = None,
    label: str | None = None,
    secrets: Iterable[str | None] = (),
    hint: WaitHint | None = None,
    trace: RequestTrace | None = None,
    **kwargs: Any,
) -> httpx.Response:
    """``client.request(method, url, **kwargs)`` under ``policy`` (see the module docs).

    Args:
        client: the httpx client (its base URL, auth, headers and timeouts apply).
        method / url / kwargs: as for ``httpx.Client.request`` (``params``, ``json``...).
        policy: how to retry (default :class:`RetryPolicy`).
        label: names the call in log lines instead of the URL.
        secrets: values to mask in messages and logs, besides sensitive headers' values.
        hint: a wait read from a retryable answer without ``Retry-After``.
        trace: filled with the tries, statuses and waits.

    Returns:
        The first answer whose status is not in ``policy.statuses`` (any status: the caller
        checks it).

    Raises:
        HttpStatusError: the last try still got a retryable status.
        HttpTimeoutError: a try timed out (the last, or any when timeouts are not retried).
        HttpTransportError: no answer after the last try, or an error not worth retrying.
    """
    import httpx
    import tenacity

    call = _Call(client, method, url, policy, label, secrets, hint, trace, kwargs.get("headers"))

    def once() -> httpx.Response:
        call.started()
        try:
            response = client.request(method, url, **kwargs)
        except httpx.RequestError as exc:
            call.failed(exc)
            raise
        call.answered(response)
        return response

    retrying = tenacity.Retrying(sleep=call.policy.sleep or time.sleep, **call.options())
    try:
        return retrying(once)
    except (_RetryableStatus, httpx.RequestError) as exc:
        raise call.final(exc) from (None if isinstance(exc, _RetryableStatus) else exc)


async def arequest(
    client: httpx.AsyncClient,
    method: str,
    url: str,
    *,
    policy: RetryPolicy | None = None,
    label: str | None = None,
    secrets: Iterable[str | None] = (),
    hint: WaitHint | None = None,
    trace: RequestTrace | None = None,
    read: Callable[[httpx.Response], Awaitable[Any]] | None = None,
    timeout_s: float | None = None,
    limiter: asyncio.Semaphore | None = None,
    **kwargs: Any,
) -> Any:
    """The async :func:`request`, with three more options.

    Args:
        read: when given, the answer is streamed and ``await read(response)`` consumes an
            answer whose status is not retried (e.g. a body read with a size limit); its
            result is returned. Exceptions it raises end the call unchanged (no retry).
            Without it the whole answer is loaded and returned.
        timeout_s: deadline of one whole try, request to last byte (None: only the client's
            timeouts), so a server that sends its body slowly is cut off too.
        limiter: held during each try and released while waiting to retry, to bound the
            requests in flight across concurrent calls.

    Returns / Raises: as :func:`request` (``HttpTimeoutError`` also for ``timeout_s``).
    """
    import asyncio

    import httpx
    import tenacity

    call = _Call(client, method, url, policy, label, secrets, hint, trace, kwargs.get("headers"))

    async def exchange() -> Any:
        if read is None:
            response = await client.request(method, url, **kwargs)
            call.answered(response)
            return response
        async with client.stream(method, url, **kwargs) as response:
            call.answered(response)
            return await read(response)

    async def once() -> Any:
        call.started()
        try:
            async with limiter or contextlib.nullcontext():
                if timeout_s is None:
                    return await exchange()
                try:
                    async with asyncio.timeout(timeout_s):
                        return await exchange()
                except TimeoutError as exc:
                    raise _Deadline(timeout_s) from exc
        except (httpx.RequestError, _Deadline) as exc:
            if len(call.trace.statuses) < call.trace.attempts:  # no answer to this try
                call.failed(exc)
            raise

    sleep = call.policy.sleep

    async def wait(seconds: float) -> None:
        if sleep is None:
            await asyncio.sleep(seconds)
            return
        outcome = sleep(seconds)
        if inspect.isawaitable(outcome):
            await outcome

    retrying = tenacity.AsyncRetrying(sleep=wait, **call.options())
    try:
        return await retrying(once)
    except (_RetryableStatus, _Deadline, httpx.RequestError) as exc:
        raise call.final(exc) from (None if isinstance(exc, _RetryableStatus) else exc)


__all__ = [
    "REDACTED",
    "RETRY_STATUSES",
    "HttpError",
    "HttpStatusError",
    "HttpTimeoutError",
    "HttpTransportError",
    "RequestTrace",
    "RetryPolicy",
    "WaitHint",
    "arequest",
    "header_secrets",
    "is_sensitive",
    "redact",
    "redact_in_logs",
    "request",
    "retry_after_seconds",
    "safe_url",
]
