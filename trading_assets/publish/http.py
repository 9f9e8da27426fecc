"""HTTP calls of the publishers: retries on 429 (honouring ``Retry-After``) and 5xx with
tenacity, and secrets kept out of logs and error messages.

httpx logs every request URL at INFO on the ``httpx`` logger; a Discord webhook URL carries
its token in the path. :func:`redact_in_logs` registers a secret with a filter on the
``httpx``/``httpcore`` loggers that replaces it by ``***`` before any handler sees it.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from trading_assets.errors import TradingAssetsError

if TYPE_CHECKING:  # imported where a call is made: the code location loads without them
    import httpx
    from tenacity import RetryCallState

log = logging.getLogger(__name__)

RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})
REDACTED = "***"


class PublishError(TradingAssetsError):
    """A publishing call failed for good (after retries, or with a non-retryable status).

    Attributes:
        target: ``wordpress`` or ``discord``.
        status: the HTTP status, or None for a transport error.
    """

    def __init__(self, target: str, reason: str, status: int | None = None) -> None:
        self.target = target
        self.status = status
        super().__init__(f"{target}: {reason}")


@dataclass(frozen=True)
class RetryPolicy:
    """How a publisher retries a call answered 429/5xx or failing in transport.

    Attributes:
        attempts: tries in all (>= 1).
        max_wait_s: the longest wait between two tries, seconds (caps ``Retry-After`` too).
        backoff_s: base of the exponential backoff, seconds.
        sleep: waits between tries (tests pass a recorder).
    """

    attempts: int = 5
    max_wait_s: float = 30.0
    backoff_s: float = 0.5
    sleep: Callable[[float], None] = field(default=time.sleep, compare=False)


class RetryableStatus(Exception):
    """A 429/5xx answer that may succeed later (internal to the retry loop)."""

    def __init__(self, response: httpx.Response) -> None:
        self.response = response
        super().__init__(f"HTTP {response.status_code}")


class _RedactSecrets(logging.Filter):
    def __init__(self) -> None:
        super().__init__()
        self.secrets: set[str] = set()

    def filter(self, record: logging.LogRecord) -> bool:
        if not self.secrets:
            return True
        message = record.getMessage()
        clean = message
        for secret in self.secrets:
            clean = clean.replace(secret, REDACTED)
        if clean != message:
            record.msg, record.args = clean, None
        return True


_FILTER = _RedactSecrets()
_FILTERED_LOGGERS = ("httpx", "httpcore")


def redact_in_logs(secrets: Iterable[str | None]) -> None:
    """Replace each of ``secrets`` (4+ characters) by ``***`` in the httpx/httpcore logs."""
    for secret in secrets:
        if secret and len(secret) >= 4:
            _FILTER.secrets.add(secret)
    for name in _FILTERED_LOGGERS:
        logger = logging.getLogger(name)
        if _FILTER not in logger.filters:
            logger.addFilter(_FILTER)


def retry_after_s(response: httpx.Response) -> float | None:
    """Seconds to wait from a ``Retry-After`` header (seconds form) or a Discord JSON body's
    ``retry_after`` (seconds, may be fractional); None when neither is given."""
    header = response.headers.get("retry-after")
    if header:
        try:
            return max(0.0, float(header))
        except ValueError:
            return None
    if response.headers.get("content-type", "").startswith("application/json"):
        try:
            value = response.json().get("retry_after")
        except (ValueError, AttributeError):
            return None
        if isinstance(value, int | float):
            return max(0.0, float(value))
    return None


def _waiter(max_wait_s: float, backoff_s: float) -> Callable[[RetryCallState], float]:
    from tenacity import wait_exponential

    exponential = wait_exponential(multiplier=backoff_s, max=max_wait_s)

    def wait(state: RetryCallState) -> float:
        exc = state.outcome.exception() if state.outcome else None
        if isinstance(exc, RetryableStatus):
            hinted = retry_after_s(exc.response)
            if hinted is not None:
                return min(hinted, max_wait_s)
        return exponential(state)

    return wait


def send(
    client: httpx.Client,
    method: str,
    url: str,
    *,
    target: str,
    label: str,
    retry: RetryPolicy = RetryPolicy(),
    ok_statuses: Iterable[int] = (),
    **kwargs: Any,
) -> httpx.Response:
    """``client.request(method, url, **kwargs)``, retried on 429/5xx and transport errors.

    ``label`` names the call in logs and errors instead of the URL (which may hold a secret).
    A 2xx answer, or one in ``ok_statuses`` (e.g. 404 when the caller handles it), is
    returned. ``retry`` says how often and how long to retry.

    Raises:
        PublishError: a non-retryable status, or still failing after ``attempts`` tries.
    """
    import httpx
    from tenacity import Retrying, retry_if_exception_type, stop_after_attempt

    allowed = set(ok_statuses)
    attempts = retry.attempts

    def once() -> httpx.Response:
        response = client.request(method, url, **kwargs)
        if response.status_code in RETRY_STATUSES:
            log.warning("%s %s: HTTP %s, retrying", target, label, response.status_code)
            raise RetryableStatus(response)
        return response

    retrying = Retrying(
        retry=retry_if_exception_type((RetryableStatus, httpx.TransportError)),
        wait=_waiter(retry.max_wait_s, retry.backoff_s),
        stop=stop_after_attempt(attempts),
        sleep=retry.sleep,
        reraise=True,
    )
    try:
        response = retrying(once)
    except RetryableStatus as exc:
        raise PublishError(
            target,
            f"{label}: HTTP {exc.response.status_code} after {attempts} attempts",
            exc.response.status_code,
        ) from None
    except httpx.TransportError as exc:
        raise PublishError(
            target, f"{label}: {type(exc).__name__} after {attempts} attempts"
        ) from None
    if response.is_success or response.status_code in allowed:
        return response
    raise PublishError(
        target,
        f"{label}: HTTP {response.status_code}: {response.text[:200]}",
        response.status_code,
    )
