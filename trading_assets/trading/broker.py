"""Alpaca's paper trading API through alpaca-py's ``TradingClient(paper=True)``, hardened.

alpaca-py (checked on 0.44) sends its requests through a ``requests.Session`` with no timeout
and retries only 429/504, three times, 3 s apart, ignoring ``Retry-After``. Here the client's
own retry is switched off and its session gets an adapter that

- gives every request a timeout (``timeout_s``);
- retries 429 and 5xx answers (``retries`` times) after the server's ``Retry-After``
  (read by the project's one parser, :func:`trading_assets.http.retry_after_seconds`, capped
  at ``max_wait_s``), else after an exponential backoff; POSTs too, which is safe because
  every order carries its ``client_order_id`` and Alpaca refuses a second order under it;
- never retries a timed-out request on its own: after a timeout the order is looked up by its
  ``client_order_id`` (it may have arrived), and only recorded as ``submit_failed`` when the
  broker does not have it; the next run sends it again under the same id.

Outcomes (:class:`OrderOutcome`), every one with its reason in plain words:

===============================================  =============================================
answer                                           recorded as
===============================================  =============================================
2xx order                                        the broker's status (``accepted``, ``filled``,
                                                 ``partially_filled``, ``rejected``...)
422 ``client_order_id must be unique``           the existing order, looked up by its id
403 (insufficient buying power, not allowed...)  ``rejected`` with Alpaca's message and code
422 (any other validation error)                 ``rejected`` with Alpaca's message and code
429/5xx after the last retry, 401, timeout       ``submit_failed`` (sent again by the next run)
market clock closed (equities)                   ``market_closed`` (not sent; next open named)
===============================================  =============================================

Keys travel only in the ``APCA-API-*`` request headers, which nothing here logs; error
reasons carry Alpaca's JSON message, never a header.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from trading_assets.http import RETRY_STATUSES, retry_after_seconds

#: the broker's statuses of an order it has not finished with (polled again)
OPEN_STATUSES: frozenset[str] = frozenset(
    {
        "new",
        "accepted",
        "pending_new",
        "accepted_for_bidding",
        "partially_filled",
        "pending_cancel",
        "pending_replace",
        "held",
        "calculated",
        "done_for_day",
    }
)
_FRACTION = re.compile(r"\.\d+")
SUBMIT_FAILED = "submit_failed"
MARKET_CLOSED = "market_closed"
REJECTED = "rejected"


@dataclass(frozen=True)
class OrderOutcome:
    """What became of one order: ``status`` (see the module docs), ``reason``,
    ``broker_order_id`` (None: the broker has no such order), fills as the broker reports
    them (``filled_qty`` in shares/coins, ``filled_avg_price`` in the quote currency,
    ``fees_usd``), ``submitted_at``/``updated_at`` (UTC) and ``attempts`` (HTTP tries)."""

    status: str
    reason: str
    broker_order_id: str | None = None
    filled_qty: float = 0.0
    filled_avg_price: float | None = None
    fees_usd: float = 0.0
    submitted_at: datetime | None = None
    updated_at: datetime | None = None
    attempts: int = 1


@dataclass(frozen=True)
class BrokerPosition:
    """One position as the broker reports it: ``symbol`` (Alpaca's form: ``BTCUSD`` for
    crypto), ``qty`` (signed: negative when short), ``price`` (current, USD),
    ``market_value`` (USD, signed) and ``asset_class``."""

    symbol: str
    qty: float
    price: float | None
    market_value: float
    asset_class: str


def _float(value: Any, default: float | None = None) -> float | None:
    try:
        return float(value) if value not in (None, "") else default
    except (TypeError, ValueError):
        return default


def _time(value: Any) -> datetime | None:
    if not value:
        return None
    if isinstance(value, datetime):
        return value.astimezone(UTC)
    # Alpaca sends up to nanoseconds; Python parses microseconds
    text = _FRACTION.sub(lambda m: m.group(0)[:7], str(value).replace("Z", "+00:00"))
    try:
        return datetime.fromisoformat(text).astimezone(UTC)
    except ValueError:
        return None


def outcome_of_order(order: Mapping[str, Any], reason: str, attempts: int = 1) -> OrderOutcome:
    """An :class:`OrderOutcome` from an Alpaca order body (raw JSON dict)."""
    status = str(order.get("status") or "unknown").lower()
    filled = _float(order.get("filled_qty"), 0.0) or 0.0
    return OrderOutcome(
        status=status,
        reason=reason,
        broker_order_id=str(order.get("id")) if order.get("id") else None,
        filled_qty=filled,
        filled_avg_price=_float(order.get("filled_avg_price")) if filled else None,
        fees_usd=_float(order.get("commission"), 0.0) or 0.0,
        submitted_at=_time(order.get("submitted_at")),
        updated_at=_time(order.get("updated_at")),
        attempts=attempts,
    )


def _api_error(exc: Exception) -> tuple[int | None, str]:
    """(HTTP status, ``HTTP <status> (code <code>): <message>``) of an alpaca-py APIError."""
    status = getattr(exc, "status_code", None)
    text = str(exc)
    try:
        body = json.loads(text)
        message, code = body.get("message", text), body.get("code")
    except (ValueError, AttributeError):
        message, code = text[:300], None
    where = f"HTTP {status}" + (f" (code {code})" if code is not None else "")
    return status, f"{where}: {message}"


def retry_class(statuses: frozenset[int], max_wait_s: float, sleep: Callable[[float], Any]):
    """A urllib3 ``Retry`` class that waits the server's ``Retry-After`` (our parser, capped at
    ``max_wait_s``) on ``statuses``, else backs off, and sleeps through ``sleep``."""
    from urllib3.util.retry import Retry

    class _Retry(Retry):
        RETRY_AFTER_STATUS_CODES = frozenset(statuses)

        def get_retry_after(self, response) -> float | None:
            seconds = retry_after_seconds(response.headers.get("Retry-After"))
            return None if seconds is None else min(seconds, max_wait_s)

        def sleep_for_retry(self, response) -> bool:
            seconds = self.get_retry_after(response)
            if seconds is None:
                return False
            sleep(seconds)
            return True

        def _sleep_backoff(self) -> None:
            backoff = min(self.get_backoff_time(), max_wait_s)
            if backoff > 0:
                sleep(backoff)

    return _Retry


class PaperBroker:
    """Alpaca's paper trading API (alpaca-py ``TradingClient(paper=True)``, raw JSON answers).

    Args:
        api_key, secret_key: the paper account's keys (sent as headers, never logged).
        base_url: the trading API's base URL (:func:`trading_assets.trading.execution.
            trading_url`: Alpaca's paper host, or a test server on 127.0.0.1).
        timeout_s: per request (connect and read), seconds.
        retries: retries of a 429/5xx answer or a refused connection after the first try.
        backoff_s: first backoff without ``Retry-After`` (doubles per retry).
        max_wait_s: longest wait between tries (caps ``Retry-After``).
        sleep: the wait function (tests pass a recorder).
    """

    def __init__(
        self,
        api_key: str,
        secret_key: str,
        base_url: str,
        *,
        timeout_s: float = 10.0,
        retries: int = 3,
        backoff_s: float = 0.5,
        max_wait_s: float = 30.0,
        sleep: Callable[[float], Any] = time.sleep,
    ) -> None:
        from alpaca.trading.client import TradingClient
        from requests.adapters import HTTPAdapter

        self.timeout_s = timeout_s
        self._client = TradingClient(
            api_key, secret_key, paper=True, raw_data=True, url_override=base_url
        )
        retry = retry_class(RETRY_STATUSES, max_wait_s, sleep)(
            total=retries,
            connect=retries,
            read=False,  # a timed-out request is looked up, not repeated blindly
            status=retries,
            backoff_factor=backoff_s,
            status_forcelist=RETRY_STATUSES,
            allowed_methods=None,  # every method: orders are idempotent by client_order_id
            raise_on_status=False,  # the last answer goes back to alpaca-py, which raises
            respect_retry_after_header=True,
        )
        timeout = timeout_s

        class _TimeoutAdapter(HTTPAdapter):
            def send(self, request, **kwargs):  # alpaca-py passes no timeout
                if kwargs.get("timeout") is None:
                    kwargs["timeout"] = timeout
                return super().send(request, **kwargs)

        adapter = _TimeoutAdapter(max_retries=retry)
        session = self._client._session  # alpaca-py's requests.Session (tested)
        session.mount("http://", adapter)
        session.mount("https://", adapter)
        self._client._retry = 0  # alpaca-py's own 429/504 loop off: the adapter retries

    # -- account ------------------------------------------------------------------------------
    def account(self) -> dict[str, Any]:
        """``GET /v2/account`` as raw JSON (``equity``, ``last_equity``... as strings).

        Raises:
            alpaca.common.exceptions.APIError, requests.RequestException: the call failed.
        """
        return dict(self._client.get_account())

    def positions(self) -> list[BrokerPosition]:
        """``GET /v2/positions``: every open position (signed quantities)."""
        out = []
        for p in self._client.get_all_positions():
            qty = _float(p.get("qty"), 0.0) or 0.0
            if str(p.get("side", "long")).lower() == "short" and qty > 0:
                qty = -qty
            out.append(
                BrokerPosition(
                    symbol=str(p["symbol"]),
                    qty=qty,
                    price=_float(p.get("current_price")),
                    market_value=_float(p.get("market_value"), 0.0) or 0.0,
                    asset_class=str(p.get("asset_class") or ""),
                )
            )
        return out

    def clock(self) -> tuple[bool, datetime | None]:
        """``GET /v2/clock``: (market open now, next open in UTC)."""
        clock = self._client.get_clock()
        return bool(clock.get("is_open")), _time(clock.get("next_open"))

    # -- orders -------------------------------------------------------------------------------
    def lookup(self, client_order_id: str) -> OrderOutcome | None:
        """The order sent under ``client_order_id`` (``GET /v2/orders:by_client_order_id``),
        None when the broker has none (404).

        Raises:
            alpaca.common.exceptions.APIError, requests.RequestException: any other failure.
        """
        from alpaca.common.exceptions import APIError

        try:
            order = self._client.get_order_by_client_id(client_order_id)
        except APIError as exc:
            if getattr(exc, "status_code", None) == 404:
                return None
            raise
        return outcome_of_order(order, f"broker status {str(order.get('status')).lower()}")

    def poll(self, client_order_id: str) -> OrderOutcome | None:
        """:meth:`lookup` that turns a failure into None (the next poll tries again)."""
        import requests
        from alpaca.common.exceptions import APIError

        try:
            return self.lookup(client_order_id)
        except (APIError, requests.RequestException):
            return None

    def submit(
        self, client_order_id: str, symbol: str, side: str, qty: float, asset_class: str
    ) -> OrderOutcome:
        """Send one market order under ``client_order_id`` and say what became of it (see the
        module docs: every failure is an outcome, none raises). Crypto is ``gtc``, equities
        ``day``."""
        import requests
        from alpaca.common.exceptions import APIError
        from alpaca.trading.enums import OrderSide, TimeInForce
        from alpaca.trading.requests import MarketOrderRequest

        request = MarketOrderRequest(
            symbol=symbol,
            qty=qty,
            side=OrderSide.BUY if side == "buy" else OrderSide.SELL,
            time_in_force=TimeInForce.GTC if asset_class == "crypto" else TimeInForce.DAY,
            client_order_id=client_order_id,
        )
        try:
            order = self._client.submit_order(request)
        except APIError as exc:
            status, text = _api_error(exc)
            if status == 422 and "client_order_id" in text and "unique" in text:
                return self._existing(client_order_id, f"duplicate refused ({text})")
            if status in (403, 422):
                return OrderOutcome(REJECTED, f"refused by the broker: {text}")
            return OrderOutcome(
                SUBMIT_FAILED, f"{text}; sent again under the same id by the next run"
            )
        except requests.Timeout:
            return self._existing(
                client_order_id, f"no answer within {self.timeout_s:g} s", missing_ok=True
            )
        except requests.RequestException as exc:
            return self._existing(
                client_order_id, f"{type(exc).__name__} (no usable answer)", missing_ok=True
            )
        status = str(order.get("status") or "").lower()
        reason = (
            "rejected by the broker after it was accepted for review"
            if status == REJECTED
            else f"submitted; broker status {status}"
        )
        return outcome_of_order(order, reason)

    def _existing(self, client_order_id: str, why: str, missing_ok: bool = False) -> OrderOutcome:
        """The order already at the broker under ``client_order_id`` after ``why``; when the
        broker has none (or cannot say), ``submit_failed``."""
        try:
            found = self.lookup(client_order_id)
        except Exception as exc:  # noqa: BLE001 - any failure of the look-up is recorded
            return OrderOutcome(
                SUBMIT_FAILED,
                f"{why}; look-up by client_order_id failed too ({type(exc).__name__}); "
                "sent again under the same id by the next run",
            )
        if found is None:
            return OrderOutcome(
                SUBMIT_FAILED,
                f"{why}; not at the broker (looked up by client_order_id): sent again under "
                "the same id by the next run",
            )
        return OrderOutcome(
            found.status,
            f"{why}; found at the broker by client_order_id, status {found.status}",
            found.broker_order_id,
            found.filled_qty,
            found.filled_avg_price,
            found.fees_usd,
            found.submitted_at,
            found.updated_at,
        )
