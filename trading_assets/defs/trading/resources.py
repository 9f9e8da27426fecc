"""The ``trading`` resource: execution mode, paper account, sizing rules and guards."""

from __future__ import annotations

import dataclasses

import dagster as dg

from trading_assets import settings
from trading_assets.defs.env import optional_env_var
from trading_assets.trading import execution
from trading_assets.trading.broker import PaperBroker
from trading_assets.trading.orders import OrderRules


class TradingResource(dg.ConfigurableResource):
    """How orders are made and where they go (:mod:`trading_assets.trading`).

    Attributes:
        execution: ``dry_run`` (default: intents stored, nothing sent) or ``paper``
            (``TRADING_EXECUTION``); anything asking for live money is refused when orders run.
        api_key / secret_key: the paper account's keys (``ALPACA_API_KEY``/
            ``ALPACA_SECRET_KEY``, secrets resolved at run time).
        base_url: the trading API (``ALPACA_TRADING_URL``; default Alpaca's paper host).
        timeout_s / retries / max_wait_s: per request timeout, retries of 429/5xx, and the cap
            on ``Retry-After`` waits (seconds).
        timeframes: the strategies: per symbol, the newest signal of the first of these
            timeframes that has signals is traded (``consensus-<timeframe>``).
        dry_run_equity: the simulated account's equity in dry_run, USD.
        min_notional_usd ... max_daily_loss: :class:`~trading_assets.trading.orders.OrderRules`.
        reconcile_tolerance: positions match targets when the gap is worth at most this
            fraction of equity.
    """

    execution: str = execution.DRY_RUN
    api_key: str | None = None
    secret_key: str | None = None
    base_url: str | None = None
    timeout_s: float = 10.0
    retries: int = 3
    max_wait_s: float = 30.0
    timeframes: list[str] = ["1d", "1h"]
    dry_run_equity: float = 100_000.0
    # the sizing rules and guards: OrderRules' own defaults (one source of truth)
    min_notional_usd: float = OrderRules.min_notional_usd
    fractional_equities: bool = OrderRules.fractional_equities
    crypto_qty_decimals: int = OrderRules.crypto_qty_decimals
    max_symbol_exposure: float = OrderRules.max_symbol_exposure
    max_gross_exposure: float = OrderRules.max_gross_exposure
    max_signal_age_bars: int = OrderRules.max_signal_age_bars
    max_daily_loss: float = OrderRules.max_daily_loss
    reconcile_tolerance: float = 0.005

    def mode(self) -> str:
        """The validated mode (raises ``LiveTradingRefused`` for live money)."""
        return execution.execution_mode(self.execution)

    @property
    def enabled(self) -> bool:
        """Whether orders are sent (paper); read leniently, for automation at load time."""
        return (self.execution or "").strip().lower() == execution.PAPER

    def rules(self) -> OrderRules:
        """The sizing rules and guards of these settings (same names as ``OrderRules``)."""
        names = [
            f.name for f in dataclasses.fields(OrderRules) if f.name in type(self).model_fields
        ]
        return OrderRules(**{name: getattr(self, name) for name in names})

    def broker(self) -> PaperBroker | None:
        """The paper broker in ``paper`` mode, None in ``dry_run``.

        Raises:
            LiveTradingRefused: live money asked for (mode or URL).
            ConfigurationError: paper mode without keys, or a bad URL.
        """
        if self.mode() != execution.PAPER:
            return None
        key, secret = execution.require_keys(self.api_key, self.secret_key)
        return PaperBroker(
            key, secret, execution.trading_url(self.base_url),
            timeout_s=self.timeout_s, retries=self.retries, max_wait_s=self.max_wait_s,
        )  # fmt: skip


def trading_resource_from_env() -> TradingResource:
    """The resource from ``TRADING_EXECUTION``, the Alpaca keys (as ``EnvVar``) and
    ``ALPACA_TRADING_URL``."""
    return TradingResource(
        execution=settings.EXECUTION.read(),
        api_key=optional_env_var(settings.ALPACA_API_KEY),
        secret_key=optional_env_var(settings.ALPACA_SECRET_KEY),
        base_url=optional_env_var(settings.ALPACA_TRADING_URL),
    )
