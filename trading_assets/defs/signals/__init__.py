"""Trading assets (group ``signals``): ``signals/signals`` (with its checks) and
``signals/backtest``."""

from trading_assets.defs.signals.backtest import backtest
from trading_assets.defs.signals.signals import signals

#: the trading assets, for ``trading_assets.definitions``
TRADING_ASSETS = [signals, backtest]
