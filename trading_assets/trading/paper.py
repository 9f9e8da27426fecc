"""Executing order intents: stored as ``dry_run``, or sent to the paper broker once.

:func:`execute` takes this run's intents (:func:`trading_assets.trading.orders.build_intents`)
and the orders already in ``trading.orders`` and decides, per ``client_order_id``:

- already stored with a status the broker decided (sent, filled, rejected...) or as
  ``dry_run``/``skipped``: kept as it is, **never sent again**;
- new, or stored as ``submit_failed``/``market_closed``/``blocked`` (nothing reached the
  broker, or the broker may have it: the id makes a second send harmless), or stored by a
  dry run while the mode is now ``paper``: executed now;
- an older bar's intent of the same strategy and symbol still waiting (``market_closed``,
  ``submit_failed``, ``blocked``) is ``superseded`` by the newer one;
- a symbol with an order still open at the broker gets no new order (``skipped``, saying
  which order), so quantities are never counted twice.

:func:`poll` asks the broker for every order it has not finished and updates status and
fills; :func:`fills_of` gives the ``trading.fills`` rows.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol

import polars as pl

from trading_assets.schemas import FILLS_SCHEMA, ORDERS_SCHEMA
from trading_assets.timeframes import timeframe_seconds
from trading_assets.trading.book import dry_run_positions
from trading_assets.trading.broker import (
    MARKET_CLOSED,
    OPEN_STATUSES,
    SUBMIT_FAILED,
    OrderOutcome,
    PaperBroker,
)
from trading_assets.trading.execution import PAPER
from trading_assets.trading.orders import (
    BLOCKED,
    PENDING,
    SKIPPED,
    Account,
    OrderRules,
    build_intents,
    clock_age_bars,
    pick_targets,
)

DRY_RUN_STATUS = "dry_run"
SUPERSEDED = "superseded"
#: statuses after which the same client_order_id is executed again by a later run
RETRIED: frozenset[str] = frozenset({SUBMIT_FAILED, MARKET_CLOSED, BLOCKED})


class Broker(Protocol):
    """What :func:`execute` and :func:`poll` need of a broker
    (:class:`trading_assets.trading.broker.PaperBroker`)."""

    def submit(
        self, client_order_id: str, symbol: str, side: str, qty: float, asset_class: str
    ) -> OrderOutcome: ...

    def poll(self, client_order_id: str) -> OrderOutcome | None: ...


@dataclass
class Execution:
    """The result of :func:`execute`: ``orders`` (every changed or new row of
    ``trading.orders``), ``sent`` (client_order_ids sent to the broker in this run) and
    ``notes`` (one line per order that did not go as planned)."""

    orders: pl.DataFrame
    sent: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


def _apply(row: dict, outcome: OrderOutcome, now: datetime) -> dict:
    return {
        **row,
        "status": outcome.status,
        "reason": outcome.reason,
        "broker_order_id": outcome.broker_order_id or row.get("broker_order_id"),
        "filled_qty": outcome.filled_qty,
        "filled_avg_price": outcome.filled_avg_price,
        "fees_usd": outcome.fees_usd,
        "submitted_at": outcome.submitted_at or row.get("submitted_at"),
        "updated_at": outcome.updated_at or now,
    }


def execute(
    intents: pl.DataFrame,
    stored: pl.DataFrame,
    *,
    mode: str,
    broker: Broker | None,
    market_open: Callable[[], tuple[bool, datetime | None]] | None,
    now: datetime,
) -> Execution:
    """Execute this run's ``intents`` against what ``stored`` already holds (see the module
    docs). ``mode`` ``dry_run`` stores pending intents as ``dry_run`` and needs no broker;
    ``paper`` sends them through ``broker`` (equities only while ``market_open()`` says the
    market is open; asked once, only when an equity order is due).

    Returns:
        :class:`Execution` with rows of :data:`~trading_assets.schemas.ORDERS_SCHEMA`.
    """
    known = {r["client_order_id"]: r for r in stored.iter_rows(named=True)}
    open_symbols = {
        r["symbol"]: r["client_order_id"]
        for r in stored.iter_rows(named=True)
        if r["status"] in OPEN_STATUSES
    }
    clock: tuple[bool, datetime | None] | None = None
    out: list[dict] = []
    result = Execution(pl.DataFrame(schema=ORDERS_SCHEMA))
    for row in intents.iter_rows(named=True):
        cid = row["client_order_id"]
        before = known.get(cid)
        dry_before = before is not None and before["mode"] == DRY_RUN_STATUS != mode
        if before is not None and before["status"] not in RETRIED and not dry_before:
            continue  # decided before: never sent twice
        row["attempts"] = int(before["attempts"] or 0) if before else 0
        if row["status"] == PENDING and open_symbols.get(row["symbol"], cid) != cid:
            row["status"] = SKIPPED
            row["reason"] = (
                f"order {open_symbols[row['symbol']]} for {row['symbol']} is still open at the "
                "broker: no new order until it is done"
            )
        if row["status"] != PENDING:
            out.append(row)
            continue
        if mode == DRY_RUN_STATUS:
            row["status"] = DRY_RUN_STATUS
            row["reason"] = f"dry run, not sent: {row['reason']}"
            out.append(row)
            continue
        if row["asset_class"] != "crypto" and market_open is not None:
            if clock is None:
                clock = market_open()
            if not clock[0]:
                nxt = f"{clock[1]:%Y-%m-%d %H:%M} UTC" if clock[1] else "unknown"
                row["status"] = MARKET_CLOSED
                row["reason"] = (
                    f"market closed (next open {nxt}): not sent; a run after the open sends it "
                    "under the same id while the signal is fresh"
                )
                out.append(row)
                continue
        assert broker is not None, "paper mode needs a broker"
        outcome = broker.submit(cid, row["symbol"], row["side"], row["qty"], row["asset_class"])
        row = _apply(row, outcome, now)
        row["attempts"] = row["attempts"] + 1
        result.sent.append(cid)
        if outcome.status in (SUBMIT_FAILED, "rejected"):
            result.notes.append(f"{row['symbol']} {cid}: {outcome.status}: {outcome.reason}")
        out.append(row)
    # older bars' intents still waiting for the same strategy and symbol: superseded
    newest = {(r["strategy"], r["symbol"]): r["bar_ts"] for r in out}
    for r in known.values():
        bar = newest.get((r["strategy"], r["symbol"]))
        if r["status"] in RETRIED and bar is not None and r["bar_ts"] < bar:
            out.append(
                {**r, "status": SUPERSEDED, "updated_at": now,
                 "reason": f"{r['reason']}; superseded by the signal of {bar:%Y-%m-%d %H:%M} UTC"}
            )  # fmt: skip
    if out:
        result.orders = pl.DataFrame(out, schema=ORDERS_SCHEMA)
    return result


def poll(stored: pl.DataFrame, broker: Broker, now: datetime) -> pl.DataFrame:
    """Rows of ``stored`` whose broker status is open, updated from the broker (status,
    filled quantity and price, fees); orders the broker cannot tell about now are left as
    they are. Returns only the rows that changed."""
    changed = []
    for row in stored.filter(pl.col("status").is_in(sorted(OPEN_STATUSES))).iter_rows(named=True):
        outcome = broker.poll(row["client_order_id"])
        if outcome is None:
            continue
        new = _apply(row, outcome, now)
        new["reason"] = f"{row['reason'].split('; polled:')[0]}; polled: {outcome.status}"
        keys = ("status", "filled_qty", "filled_avg_price", "fees_usd", "broker_order_id")
        if any(new[k] != row[k] for k in keys):
            changed.append(new)
    if not changed:
        return pl.DataFrame(schema=ORDERS_SCHEMA)
    return pl.DataFrame(changed, schema=ORDERS_SCHEMA)


def fills_of(orders: pl.DataFrame) -> pl.DataFrame:
    """``trading.fills`` rows (:data:`~trading_assets.schemas.FILLS_SCHEMA`) of every order
    with a filled quantity: realized slippage in bps against the intent's price, positive when
    the fill was worse (paid more on a buy, got less on a sell)."""
    filled = orders.filter((pl.col("filled_qty") > 0) & pl.col("filled_avg_price").is_not_null())
    sign = pl.when(pl.col("side") == "buy").then(1.0).otherwise(-1.0)
    return filled.select(
        "client_order_id",
        "broker_order_id",
        "strategy",
        "symbol",
        "side",
        pl.col("filled_qty").alias("qty"),
        pl.col("filled_avg_price").alias("price"),
        (pl.col("filled_qty") * pl.col("filled_avg_price")).alias("notional"),
        pl.col("fees_usd").fill_null(0.0),
        pl.col("price").alias("reference_price"),
        (sign * (pl.col("filled_avg_price") / pl.col("price") - 1.0) * 1e4).alias("slippage_bps"),
        "status",
        pl.col("updated_at").alias("filled_at"),
        "run_id",
    ).cast(FILLS_SCHEMA)  # type: ignore[arg-type]


@dataclass
class OrdersRun:
    """One pass of ``trading/orders``: ``changed`` (rows of ``trading.orders`` to upsert),
    ``orders`` (every order after the pass), ``fills`` (``trading.fills``), ``sent``
    (client_order_ids sent now), ``notes`` (limits applied, failures), ``account``."""

    changed: pl.DataFrame
    orders: pl.DataFrame
    fills: pl.DataFrame
    sent: list[str]
    notes: list[str]
    account: Account


def merge(stored: pl.DataFrame, changed: pl.DataFrame) -> pl.DataFrame:
    """``stored`` with the rows of ``changed`` replacing those of the same client_order_id."""
    if changed.height == 0:
        return stored
    keep = stored.filter(~pl.col("client_order_id").is_in(changed["client_order_id"].to_list()))
    return pl.concat([keep, changed]).sort("bar_ts", "symbol")


def paper_account(broker: PaperBroker) -> Account:
    """Equity, previous close's equity and positions of the paper account.

    Raises:
        alpaca.common.exceptions.APIError, requests.RequestException: the broker cannot say.
    """
    info = broker.account()
    equity = float(info.get("equity") or 0.0)
    last = float(info.get("last_equity") or equity)
    return Account(equity, last, {p.symbol: p.qty for p in broker.positions()})


def place_orders(
    newest: pl.DataFrame,
    stored: pl.DataFrame,
    *,
    mode: str,
    broker: PaperBroker | None,
    rules: OrderRules,
    timeframes: list[str],
    dry_run_equity: float,
    now: datetime,
    run_id: str,
    clock_ages: bool = False,
) -> OrdersRun:
    """Intents from the ``newest`` signals (:func:`trading_assets.warehouse.trading.
    newest_signals`) executed against ``stored`` orders: in ``dry_run`` on a simulated book of
    ``dry_run_equity`` USD (the dry-run intents so far), in ``paper`` on the broker's account;
    then every open order polled. ``clock_ages``: a signal's age is also measured against
    ``now`` (live data).

    Raises:
        alpaca.common.exceptions.APIError, requests.RequestException: the paper account
            cannot be read (nothing was sent).
    """
    targets = pick_targets(newest, timeframes)
    if clock_ages and targets.height:
        ages = [
            max(r["age_bars"], clock_age_bars(r["ts"], timeframe_seconds(r["timeframe"]), now))
            for r in targets.iter_rows(named=True)
        ]
        targets = targets.with_columns(pl.Series("age_bars", ages, pl.Int64()))
    if mode == PAPER:
        assert broker is not None, "paper mode needs a broker"
        account = paper_account(broker)
    else:
        account = Account(dry_run_equity, dry_run_equity, dry_run_positions(stored))
    intents, notes = build_intents(targets, account, rules, mode=mode, now=now, run_id=run_id)
    run = execute(
        intents, stored, mode=mode, broker=broker,
        market_open=broker.clock if broker is not None else None, now=now,
    )  # fmt: skip
    orders = merge(stored, run.orders)
    polled = poll(orders, broker, now) if broker is not None else orders.clear()
    orders = merge(orders, polled)
    changed = merge(run.orders, polled)
    return OrdersRun(changed, orders, fills_of(orders), run.sent, notes + run.notes, account)


def status_counts(orders: pl.DataFrame) -> dict[str, int]:
    """Orders per status."""
    return {s: int(n) for s, n in orders.group_by("status").len().sort("status").iter_rows()}
