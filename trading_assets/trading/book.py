"""Positions against targets, and the checks of ``trading/positions`` (no Dagster here).

- :func:`dry_run_positions`: the simulated book of the ``dry_run`` mode (every ``dry_run``
  intent taken as filled at its price).
- :func:`positions_frame`: one row per symbol held or aimed at (``trading.positions``).
- :func:`reconcile`: positions match the newest targets within a tolerance, for every symbol
  whose newest order is done; names each symbol that does not, with its order's status.
- :func:`exposure`: gross and per-symbol exposure within the limits.
- :func:`stale_orders`: orders sent from a signal ``max_signal_age_bars`` or more bars old.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

import polars as pl

from trading_assets.schemas import POSITIONS_SCHEMA
from trading_assets.trading.broker import OPEN_STATUSES, BrokerPosition
from trading_assets.trading.orders import OrderRules, asset_class_of, broker_symbol_key

#: newest-order statuses whose target is not expected to be reached yet (held back on
#: purpose: the kill switch, a stale signal, a closed market, a newer signal)
HELD_BACK: frozenset[str] = frozenset({"blocked", "stale", "market_closed", "superseded"})


def dry_run_positions(orders: pl.DataFrame) -> dict[str, float]:
    """Held quantity per symbol in ``dry_run``: the signed sum of the ``dry_run`` intents."""
    rows = orders.filter(pl.col("status") == "dry_run")
    out: dict[str, float] = {}
    for r in rows.iter_rows(named=True):
        signed = r["qty"] if r["side"] == "buy" else -r["qty"]
        out[r["symbol"]] = out.get(r["symbol"], 0.0) + signed
    return {s: q for s, q in out.items() if abs(q) > 1e-12}


def newest_orders(orders: pl.DataFrame) -> pl.DataFrame:
    """The newest order (by bar time, then creation) per symbol."""
    if orders.height == 0:
        return orders
    return orders.sort("bar_ts", "created_at").group_by("symbol", maintain_order=True).last()


def positions_frame(
    held: Sequence[BrokerPosition],
    orders: pl.DataFrame,
    equity: float,
    last_equity: float,
    mode: str,
    as_of: datetime | None,
) -> pl.DataFrame:
    """Rows of ``trading.positions`` (:data:`~trading_assets.schemas.POSITIONS_SCHEMA`): every
    symbol held (``held``, Alpaca's symbol form matched to ours: ``ETHUSDT`` is ``ETH/USDT``)
    or with an order; targets from each symbol's newest order; ``open_orders`` counts orders
    the broker has not finished; ``as_of`` the time of the newest order update (so an
    unchanged book is an unchanged table)."""
    newest = {r["symbol"]: r for r in newest_orders(orders).iter_rows(named=True)}
    by_key = {broker_symbol_key(s): s for s in newest}
    open_count: dict[str, int] = {}
    for r in orders.filter(pl.col("status").is_in(sorted(OPEN_STATUSES))).iter_rows(named=True):
        open_count[r["symbol"]] = open_count.get(r["symbol"], 0) + 1
    rows: dict[str, dict[str, Any]] = {}
    for p in held:
        symbol = by_key.get(broker_symbol_key(p.symbol), p.symbol)
        rows[symbol] = {"symbol": symbol, "qty": p.qty, "price": p.price,
                        "market_value": p.market_value}  # fmt: skip
    for symbol, order in newest.items():
        row = rows.setdefault(symbol, {"symbol": symbol, "qty": 0.0, "price": order["price"],
                                       "market_value": 0.0})  # fmt: skip
        if row["price"] is None:
            row["price"] = order["price"]
        if not row["market_value"] and row["qty"]:
            row["market_value"] = row["qty"] * order["price"]
    out = []
    for symbol, row in sorted(rows.items()):
        order = newest.get(symbol)
        target = order["target_qty"] if order else 0.0
        out.append(
            {
                **row,
                "asset_class": asset_class_of(symbol),
                "weight": row["market_value"] / equity if equity else None,
                "target_qty": target,
                "target_position": order["target_position"] if order else 0.0,
                "diff_qty": row["qty"] - target,
                "open_orders": open_count.get(symbol, 0),
                "equity": equity,
                "last_equity": last_equity,
                "mode": mode,
                "as_of": as_of,
            }
        )
    if not out:
        return pl.DataFrame(schema=POSITIONS_SCHEMA)
    return pl.DataFrame(out).select([pl.col(c).cast(t) for c, t in POSITIONS_SCHEMA.items()])


def reconcile(
    positions: pl.DataFrame, orders: pl.DataFrame, tolerance: float, rules: OrderRules
) -> tuple[bool, dict[str, Any]]:
    """Positions against targets once orders are done: (passed, details).

    A symbol is compared when its newest order is done: finished at the broker (filled,
    partially filled, canceled, rejected...), ``submit_failed``, ``skipped`` or ``dry_run``;
    symbols with an order still open at the broker (the newest, or an older one the newest
    was skipped for) are ``pending``, those held back on
    purpose (``blocked``, ``stale``, ``market_closed``, ``superseded``) are listed apart. A
    symbol matches when |held - target| x price is at most ``tolerance`` x equity (and at least
    the minimum notional, the smallest order that could close the gap).

    ``details``: ``mismatched`` (symbol -> why, in words), ``pending``, ``held_back``,
    ``checked`` (count).
    """
    newest = {r["symbol"]: r for r in newest_orders(orders).iter_rows(named=True)}
    mismatched: dict[str, str] = {}
    pending, held_back, checked = [], {}, 0
    for p in positions.iter_rows(named=True):
        order = newest.get(p["symbol"])
        status = order["status"] if order else "no order"
        waiting = status == "skipped" and (p["open_orders"] or 0) > 0  # on an older order
        if status in OPEN_STATUSES - {"partially_filled"} or waiting:
            pending.append(p["symbol"])
            continue
        if status in HELD_BACK:
            held_back[p["symbol"]] = status
            continue
        checked += 1
        gap = abs(p["qty"] - p["target_qty"]) * (p["price"] or 0.0)
        allowed = max(tolerance * (p["equity"] or 0.0), rules.min_notional_usd)
        if gap > allowed:
            filled = f", filled {order['filled_qty'] or 0:g} of {order['qty']:g}" if order else ""
            mismatched[p["symbol"]] = (
                f"{p['symbol']}: holds {p['qty']:g}, target {p['target_qty']:g} "
                f"(gap worth {gap:,.2f} > {allowed:,.2f}); newest order {status}{filled}"
                + (f": {order['reason']}" if order and order["reason"] else "")
            )
    details = {
        "why": "; ".join(mismatched.values()) or None,
        "checked": checked,
        "mismatched": mismatched,
        "mismatched_symbols": sorted(mismatched),
        "pending": pending,
        "held_back": held_back,
        "tolerance": tolerance,
    }
    return not mismatched, details


def exposure(positions: pl.DataFrame, rules: OrderRules) -> tuple[bool, dict[str, Any]]:
    """Gross (sum of |weight|) and per-symbol |weight| of the held positions within
    ``max_gross_exposure`` and ``max_symbol_exposure`` (a hair of rounding allowed)."""
    weights = {r["symbol"]: abs(r["weight"] or 0.0) for r in positions.iter_rows(named=True)}
    gross = sum(weights.values())
    over = {s: w for s, w in weights.items() if w > rules.max_symbol_exposure + 1e-6}
    passed = gross <= rules.max_gross_exposure + 1e-6 and not over
    return passed, {
        "gross_exposure": gross,
        "max_gross_exposure": rules.max_gross_exposure,
        "max_symbol_exposure": rules.max_symbol_exposure,
        "over_symbol_limit": over,
    }


def stale_orders(orders: pl.DataFrame, rules: OrderRules) -> tuple[bool, dict[str, Any]]:
    """No order sent (or stored as a dry run) from a signal ``max_signal_age_bars`` or more
    bars behind its series' newest bar."""
    sent = orders.filter(
        ~pl.col("status").is_in(["skipped", "stale", "blocked", "market_closed", "superseded"])
        & (pl.col("signal_age_bars") >= rules.max_signal_age_bars)
    )
    return sent.height == 0, {
        "max_signal_age_bars": rules.max_signal_age_bars,
        "orders_from_stale_signals": sent["client_order_id"].to_list()[:20],
        "stale_intents_held_back": orders.filter(pl.col("status") == "stale").height,
    }


def reconciliation_alert(details: dict[str, Any], run_id: str) -> tuple[str, str]:
    """(title, text) of the alert for a failed reconciliation: every mismatched symbol with
    why, and the run."""
    symbols = details.get("mismatched_symbols") or sorted(details.get("mismatched") or {})
    title = f"Positions do not match targets: {', '.join(symbols) or 'unknown'}"
    lines = [str(v) for v in (details.get("mismatched") or {}).values()]
    return title, "\n".join([*lines, f"Run {run_id}."])[:3900]
