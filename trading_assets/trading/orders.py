"""Order intents from the newest signals' target positions (no broker, no Dagster here).

A *strategy* is the consensus signal of one timeframe (``consensus-1h``). For every symbol its
newest signal gives a target weight (``position``, a signed fraction of equity); the intent is
the order that moves the held quantity to ``weight x equity / price``:

- **exposure limits** first: each weight is clipped to ``max_symbol_exposure``, then all are
  scaled down together until the gross (sum of absolute weights) is at most
  ``max_gross_exposure``; crypto cannot be shorted on Alpaca, so a negative crypto weight is 0.
- **quantities**: crypto rounds toward zero to ``crypto_qty_decimals`` decimals; equities to
  whole shares, or to ``fractional_decimals`` when ``fractional_equities`` (short equity
  targets are always whole shares: fractional shares cannot be sold short).
- **minimum notional**: an order worth less than ``min_notional_usd`` is ``skipped``.
- **guards**: a signal more than ``max_signal_age_bars`` bars behind its series' newest bar is
  ``stale``; with the daily loss stop hit every intent is ``blocked`` (kill switch), and its
  reason says why.

The ``client_order_id`` is a function of (strategy, symbol, bar time) only, so the same bar
gives the same id on every run and the broker refuses a second order under it.
"""

from __future__ import annotations

import hashlib
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

import polars as pl

from trading_assets.schemas import ORDERS_SCHEMA

#: statuses decided here, before any broker is asked
PENDING = "pending"
SKIPPED = "skipped"
STALE = "stale"
BLOCKED = "blocked"
#: Alpaca's limit on client_order_id
MAX_CLIENT_ORDER_ID = 128


@dataclass(frozen=True)
class OrderRules:
    """How weights become quantities, and the guards (see the module docs).

    Attributes:
        min_notional_usd: smallest order sent, USD (Alpaca: $1 for crypto and fractional
            shares).
        fractional_equities: trade fractional shares of equities (else whole shares).
        fractional_decimals: decimals of fractional share quantities (Alpaca: 9).
        crypto_qty_decimals: decimals of crypto quantities (Alpaca: 9).
        max_symbol_exposure: largest |weight| per symbol, fraction of equity.
        max_gross_exposure: largest sum of |weight| over symbols, fraction of equity.
        max_signal_age_bars: a signal this many bars or more behind its series' newest bar
            (or behind the clock, when one is given) makes no order.
        max_daily_loss: the daily loss stop: equity this fraction or more below the previous
            close's equity blocks every new order.
    """

    min_notional_usd: float = 1.0
    fractional_equities: bool = False
    fractional_decimals: int = 9
    crypto_qty_decimals: int = 9
    max_symbol_exposure: float = 0.5
    max_gross_exposure: float = 1.0
    max_signal_age_bars: int = 2
    max_daily_loss: float = 0.03


def asset_class_of(symbol: str) -> str:
    """``crypto`` for pairs written ``BASE/QUOTE``, else ``us_equity`` (Alpaca's names)."""
    return "crypto" if "/" in symbol else "us_equity"


def broker_symbol_key(symbol: str) -> str:
    """The symbol as a comparison key: Alpaca writes crypto positions without the slash
    (``BTCUSD`` for the order symbol ``BTC/USD``)."""
    return symbol.replace("/", "").upper()


def client_order_id(strategy: str, symbol: str, bar_ts: datetime) -> str:
    """The order id of (strategy, symbol, bar open time): readable, at most 128 characters,
    and the same on every run (``ta-consensus-1h-ETHUSDT-20230405T2000-1f0c9a2b``; the hash
    tells apart names that read alike once punctuation is dropped)."""
    stamp = bar_ts.strftime("%Y%m%dT%H%M%S").removesuffix("00")
    digest = hashlib.sha256(f"{strategy}|{symbol}|{bar_ts.isoformat()}".encode()).hexdigest()
    readable = "-".join(re.sub(r"[^A-Za-z0-9.-]+", "", p) for p in (strategy, symbol))
    return f"ta-{readable[:80]}-{stamp}-{digest[:8]}"


def _round_toward_zero(value: float, decimals: int) -> float:
    scale = 10.0**decimals
    return math.trunc(value * scale + (1e-9 if value > 0 else -1e-9)) / scale


def round_qty(qty: float, asset_class: str, rules: OrderRules) -> float:
    """``qty`` (signed) rounded toward zero to what the asset class trades: crypto to
    ``crypto_qty_decimals``, equities to whole shares (or ``fractional_decimals`` when
    fractional and long)."""
    if asset_class == "crypto":
        return _round_toward_zero(qty, rules.crypto_qty_decimals)
    if rules.fractional_equities and qty >= 0:
        return _round_toward_zero(qty, rules.fractional_decimals)
    return float(math.trunc(qty))


def limit_weights(
    weights: Mapping[str, float], rules: OrderRules
) -> tuple[dict[str, float], list[str]]:
    """Target weights within the exposure limits, and a note per change.

    Crypto weights below zero become 0 (no crypto shorts on Alpaca); each |weight| is clipped
    to ``max_symbol_exposure``; then all are scaled by one factor so that their absolute sum
    is at most ``max_gross_exposure``.
    """
    notes: list[str] = []
    out: dict[str, float] = {}
    for symbol, weight in weights.items():
        w = float(weight)
        if asset_class_of(symbol) == "crypto" and w < 0:
            notes.append(f"{symbol}: short target {w:.4g} set to 0 (crypto cannot be sold short)")
            w = 0.0
        if abs(w) > rules.max_symbol_exposure:
            clipped = math.copysign(rules.max_symbol_exposure, w)
            notes.append(f"{symbol}: weight {w:.4g} clipped to {clipped:.4g} (per-symbol limit)")
            w = clipped
        out[symbol] = w
    gross = sum(abs(w) for w in out.values())
    if gross > rules.max_gross_exposure > 0:
        factor = rules.max_gross_exposure / gross
        notes.append(
            f"gross exposure {gross:.4g} scaled by {factor:.4g} to the limit "
            f"{rules.max_gross_exposure:g}"
        )
        out = {s: w * factor for s, w in out.items()}
    return out, notes


@dataclass(frozen=True)
class Account:
    """What the intents are sized on: ``equity`` and ``last_equity`` (USD; last_equity at the
    previous close, for the daily loss stop) and the held quantities by symbol (signed)."""

    equity: float
    last_equity: float
    positions: Mapping[str, float]

    def held(self, symbol: str) -> float:
        """Quantity held of ``symbol`` (0 when none), matching ``BTC/USD`` with ``BTCUSD``."""
        key = broker_symbol_key(symbol)
        return float(sum(q for s, q in self.positions.items() if broker_symbol_key(s) == key))


def daily_loss_stop(account: Account, rules: OrderRules) -> str | None:
    """Why the kill switch is on (equity ``max_daily_loss`` or more below the previous close),
    or None."""
    if account.last_equity <= 0:
        return None
    loss = 1.0 - account.equity / account.last_equity
    if loss >= rules.max_daily_loss:
        return (
            f"daily loss stop: equity {account.equity:,.2f} is {loss:.2%} below the previous "
            f"close's {account.last_equity:,.2f} (limit {rules.max_daily_loss:.2%}); "
            "no new orders until the loss is back within the limit"
        )
    return None


def build_intents(
    targets: pl.DataFrame,
    account: Account,
    rules: OrderRules,
    *,
    mode: str,
    now: datetime,
    run_id: str,
) -> tuple[pl.DataFrame, list[str]]:
    """One order intent per symbol of ``targets``, and notes on the exposure limits.

    Args:
        targets: newest signal per symbol: ``symbol, timeframe, ts`` (bar open, UTC),
            ``position`` (target weight), ``price`` (newest close, quote currency, > 0) and
            ``age_bars`` (bars the signal is behind its series' newest bar, >= 0).
        account: equity and held positions.
        rules: sizing rules and guards.
        mode: ``dry_run`` or ``paper`` (stored with each row).
        now: creation time (aware UTC).
        run_id: the run that made the intents.

    Returns:
        Rows of ``trading.orders`` (:data:`~trading_assets.schemas.ORDERS_SCHEMA`) with status
        ``pending`` (to be executed), ``skipped``, ``stale`` or ``blocked`` and the reason.
    """
    weights, notes = limit_weights(
        {r["symbol"]: r["position"] for r in targets.iter_rows(named=True)}, rules
    )
    kill = daily_loss_stop(account, rules)
    rows = []
    for row in targets.sort("symbol").iter_rows(named=True):
        symbol, price = row["symbol"], float(row["price"])
        asset_class = asset_class_of(symbol)
        strategy = f"consensus-{row['timeframe']}"
        weight = weights[symbol]
        held = account.held(symbol)
        target = (
            round_qty(weight * account.equity / price, asset_class, rules) if price > 0 else 0.0
        )
        delta = round_qty(target - held, asset_class, rules)
        notional = abs(delta) * price
        status, reason = (
            PENDING,
            (
                f"{'buy' if delta > 0 else 'sell'} {abs(delta):g} to move {held:g} to {target:g} "
                f"(weight {weight:.4g} of equity {account.equity:,.2f} at {price:g})"
            ),
        )
        if row["age_bars"] >= rules.max_signal_age_bars:
            status = STALE
            reason = (
                f"signal of {row['ts']:%Y-%m-%d %H:%M} UTC is {row['age_bars']} bars behind the "
                f"newest {row['timeframe']} bar (limit {rules.max_signal_age_bars}): no order"
            )
        elif delta == 0 or notional < rules.min_notional_usd:
            status = SKIPPED
            reason = (
                f"nothing to trade: holding {held:g}, target {target:g}"
                if delta == 0
                else f"order of {abs(delta):g} worth {notional:,.2f} is below the minimum "
                f"notional {rules.min_notional_usd:,.2f}"
            )
        elif kill:
            status, reason = BLOCKED, kill
        rows.append(
            {
                "client_order_id": client_order_id(strategy, symbol, row["ts"]),
                "strategy": strategy,
                "symbol": symbol,
                "timeframe": row["timeframe"],
                "bar_ts": row["ts"],
                "signal_age_bars": int(row["age_bars"]),
                "asset_class": asset_class,
                "side": "buy" if delta > 0 else "sell",
                "qty": abs(delta),
                "price": price,
                "notional": notional,
                "target_position": weight,
                "target_qty": target,
                "current_qty": held,
                "equity": account.equity,
                "mode": mode,
                "status": status,
                "reason": reason,
                "attempts": 0,
                "created_at": now,
                "updated_at": now,
                "run_id": run_id,
            }
        )
    frame = pl.DataFrame(rows, schema=ORDERS_SCHEMA) if rows else pl.DataFrame(schema=ORDERS_SCHEMA)
    return frame, notes


def pick_targets(newest: pl.DataFrame, timeframes: list[str]) -> pl.DataFrame:
    """Per symbol, the newest signal of the first timeframe of ``timeframes`` that has one.

    Args:
        newest: the newest signal per series: ``symbol, timeframe, ts, position, price,
            age_bars`` (:func:`trading_assets.warehouse.trading.newest_signals`).
        timeframes: preferred timeframes, first first (others are ignored).

    Returns:
        The same columns, one row per symbol, in symbol order.
    """
    rank = {tf: i for i, tf in enumerate(timeframes)}
    if newest.height == 0:
        return newest
    return (
        newest.filter(pl.col("timeframe").is_in(timeframes))
        .with_columns(pl.col("timeframe").replace_strict(rank, return_dtype=pl.Int64).alias("_r"))
        .sort("symbol", "_r")
        .group_by("symbol", maintain_order=True)
        .first()
        .drop("_r")
        .sort("symbol")
    )


def clock_age_bars(bar_ts: datetime, timeframe_s: float, now: datetime) -> int:
    """Whole bars between the end of the bar opened at ``bar_ts`` and ``now`` (0 when the
    bar is the current one): the age of a signal against the clock, on live data."""
    elapsed = (now - bar_ts).total_seconds() - timeframe_s
    return max(int(elapsed // timeframe_s), 0) if timeframe_s > 0 else 0
