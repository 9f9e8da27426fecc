"""One publishing call through the shared HTTP layer (:mod:`trading_assets.http`), its
failures raised as :class:`~trading_assets.errors.PublishError`."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from trading_assets.errors import PublishError
from trading_assets.http import HttpError, RetryPolicy, WaitHint, redact, request

if TYPE_CHECKING:  # imported where a call is made: the code location loads without it
    import httpx


def call(
    client: httpx.Client,
    method: str,
    url: str,
    *,
    target: str,
    label: str,
    retry: RetryPolicy | None = None,
    ok_statuses: Iterable[int] = (),
    hint: WaitHint | None = None,
    secrets: Iterable[str | None] = (),
    **kwargs: Any,
) -> httpx.Response:
    """``client.request(method, url, **kwargs)`` retried as ``retry`` says (429/5xx and
    transport errors; a 429 waits ``Retry-After``, else ``hint``).

    ``label`` names the call in logs and errors instead of the URL (which may hold a secret);
    ``secrets`` are masked in the httpx logs and in the error.
    A 2xx answer, or one in ``ok_statuses`` (e.g. 404 when the caller handles it), is
    returned.

    Raises:
        PublishError: a non-retryable status, or still failing after the last try.
    """
    where = f"{target} {label}"
    secrets = tuple(secrets)
    try:
        response = request(
            client, method, url, policy=retry, label=where, hint=hint, secrets=secrets, **kwargs
        )
    except HttpError as exc:
        raise PublishError(target, f"{label}: {exc.summary}", exc.status) from None
    if response.is_success or response.status_code in set(ok_statuses):
        return response
    raise PublishError(
        target,
        f"{label}: HTTP {response.status_code}: {redact(response.text[:200], secrets)}",
        response.status_code,
    )
