"""A local Alpaca paper trading API on 127.0.0.1 that answers in Alpaca's real wire format.

Bodies are built from the responses alpaca-py's own tests replay
(``../shared/data/alpaca/alpaca_py_{order,account,position}_routes_responses.json``): an
order is the ``test_market_order`` body with its fields set, the account the
``test_get_account`` body, a position the ``test_get_all_positions`` one. Errors are Alpaca's
JSON ``{"code", "message"}`` with its HTTP statuses: 401 for missing keys, 403 for
insufficient buying power, 404 for an unknown client order id, 422 for a second order under a
``client_order_id``. Crypto positions are listed as Alpaca lists them, without the slash
(``ETHUSDT`` for orders on ``ETH/USDT``).

Per symbol, ``scenarios`` gives what the next POSTs meet, one word per POST (then ``fill``):

``fill``       filled at once, at the price 5 bps worse than ``prices[symbol]``
``partial``    half the quantity filled, status ``partially_filled``
``accepted``   accepted, nothing filled yet
``reject``     answered 200 with status ``rejected``
``buying_power``  403 ``insufficient buying power``
``429`` / ``503``  that status with ``Retry-After: <retry_after>``
``slow``       the order is filled, but the answer comes after ``delay_s`` (a client timeout)
``lost``       after ``delay_s``, no order at all (the request never arrived)
"""

from __future__ import annotations

import copy
import json
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from tests.conftest import shared_data_dir
from tests.publish.servers import FakeService, Recorded

KEY_ID = "PKTEST4ZQ7XK2M9RB5HD"
SECRET = "sEcReT-9f3kQ2vX8mLp0Zr7TnW4yBcD1eHjUa6"
SLIPPAGE = 0.0005


def _route(name: str, test: str) -> dict[str, Any]:
    path = shared_data_dir() / "alpaca" / f"alpaca_py_{name}_routes_responses.json"
    for entry in json.loads(Path(path).read_text()):
        if entry["test"] == test:
            return entry["response_body"]
    raise KeyError(test)


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f") + "123Z"  # nanoseconds, like Alpaca


def _decimal(value: float) -> str:
    """Alpaca's decimal strings: up to 9 decimals, no trailing zeros."""
    return f"{value:.9f}".rstrip("0").rstrip(".")


def alpaca_symbol(symbol: str) -> str:
    return symbol.replace("/", "")


@dataclass
class AlpacaPaperServer(FakeService):
    """The paper account: ``equity``/``last_equity`` (USD), ``positions`` (our symbols ->
    signed qty), ``prices`` (fill prices), ``market_open`` (the clock), ``scenarios``."""

    equity: float = 103_820.56
    last_equity: float = 103_529.24
    positions: dict[str, float] = field(default_factory=dict)
    prices: dict[str, float] = field(default_factory=dict)
    market_open: bool = True
    scenarios: dict[str, list[str]] = field(default_factory=dict)
    retry_after: str = "1"
    delay_s: float = 1.5
    orders: dict[str, dict[str, Any]] = field(default_factory=dict)

    # -- what tests look at ---------------------------------------------------------------------
    def posts(self, symbol: str | None = None) -> list[Recorded]:
        """Every order POST (of ``symbol``)."""
        return [r for r in self.requests if r.method == "POST" and r.path == "/v2/orders"
                and (symbol is None or r.body.get("symbol") == symbol)]  # fmt: skip

    def orders_of(self, symbol: str) -> list[dict[str, Any]]:
        return [o for o in self.orders.values() if o["symbol"] == symbol]

    # -- the API ----------------------------------------------------------------------------------
    def _error(self, status: int, code: int, message: str, extra=None):
        return status, extra or {}, {"code": code, "message": message}

    def _order(self, body: dict[str, Any], status: str, filled: float) -> dict[str, Any]:
        symbol, qty = body["symbol"], float(body["qty"])
        price = self.prices.get(symbol, 100.0)
        fill = price * (1 + SLIPPAGE if body["side"] == "buy" else 1 - SLIPPAGE)
        order = copy.deepcopy(_route("order", "test_market_order"))
        now = _now()
        order.update(
            id=str(uuid.uuid4()), client_order_id=body["client_order_id"], symbol=symbol,
            asset_class="crypto" if "/" in symbol else "us_equity", qty=body["qty"],
            side=body["side"], time_in_force=body["time_in_force"], status=status,
            created_at=now, updated_at=now, submitted_at=now,
            filled_qty=_decimal(filled), filled_avg_price=f"{fill:.6f}" if filled else None,
            filled_at=now if status == "filled" else None, commission=0,
        )  # fmt: skip
        if filled:
            signed = filled if body["side"] == "buy" else -filled
            self.positions[symbol] = self.positions.get(symbol, 0.0) + signed
        assert 0 <= filled <= qty
        return order

    def _position(self, symbol: str, qty: float) -> dict[str, Any]:
        body = copy.deepcopy(_route("position", "test_get_all_positions")[0])
        price = self.prices.get(symbol, 100.0)
        crypto = "/" in symbol
        body.update(
            symbol=alpaca_symbol(symbol),
            qty=_decimal(abs(qty)),
            side="long" if qty > 0 else "short",
            asset_class="crypto" if crypto else "us_equity",
            exchange="CRYPTO" if crypto else "NASDAQ",
            current_price=f"{price:g}",
            market_value=f"{qty * price:.2f}",
        )
        return body

    def handle(self, method: str, path: str, query, headers, body):
        """(status, headers, payload, delay before answering)."""
        if headers.get("apca-api-key-id") != KEY_ID or headers.get("apca-api-secret-key") != SECRET:
            return (*self._error(401, 40110000, "request is not authorized"), 0.0)
        if method == "GET" and path == "/v2/account":
            account = copy.deepcopy(_route("account", "test_get_account"))
            account.update(equity=f"{self.equity:.2f}", last_equity=f"{self.last_equity:.2f}",
                           portfolio_value=f"{self.equity:.2f}")  # fmt: skip
            return 200, {}, account, 0.0
        if method == "GET" and path == "/v2/positions":
            held = [self._position(s, q) for s, q in sorted(self.positions.items()) if q]
            return 200, {}, held, 0.0
        if method == "GET" and path == "/v2/clock":
            return 200, {}, {"timestamp": "2026-12-02T21:05:00.123456789-05:00",
                             "is_open": self.market_open,
                             "next_open": "2026-12-03T09:30:00-05:00",
                             "next_close": "2026-12-03T16:00:00-05:00"}, 0.0  # fmt: skip
        if method == "GET" and path == "/v2/orders:by_client_order_id":
            cid = (query.get("client_order_id") or [""])[0]
            if cid not in self.orders:
                return (*self._error(404, 40410000, "order not found"), 0.0)
            return 200, {}, self.orders[cid], 0.0
        if method == "POST" and path == "/v2/orders":
            return self._post(body)
        return (*self._error(404, 40410000, "endpoint not found"), 0.0)

    def _post(self, body: dict[str, Any]):
        cid = body.get("client_order_id")
        if cid in self.orders:
            return (*self._error(422, 40010001, "client_order_id must be unique"), 0.0)
        queue = self.scenarios.get(body["symbol"], [])
        what = queue.pop(0) if queue else "fill"
        qty = float(body["qty"])
        if what in ("429", "503"):
            message = "too many requests" if what == "429" else "service unavailable"
            return (*self._error(int(what), int(what) * 100000, message,
                                 {"Retry-After": self.retry_after}), 0.0)  # fmt: skip
        if what == "buying_power":
            return (*self._error(403, 40310000, "insufficient buying power"), 0.0)
        if what == "lost":
            return 504, {}, {"code": 50400000, "message": "gateway timeout"}, self.delay_s
        status, filled = {
            "fill": ("filled", qty),
            "slow": ("filled", qty),
            "partial": ("partially_filled", round(qty / 2, 9)),
            "accepted": ("accepted", 0.0),
            "reject": ("rejected", 0.0),
        }[what]
        self.orders[cid] = self._order(body, status, filled)
        return 200, {}, self.orders[cid], self.delay_s if what == "slow" else 0.0
