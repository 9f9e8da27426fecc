"""Test-only start-up hook (on ``PYTHONPATH`` of a child process): every warehouse
transaction waits ``TRADING_TEST_COMMIT_DELAY_S`` seconds after its writes and before its
COMMIT, so a test can kill a worker in the middle of a partition's write. Loaded by the
interpreter before any project module, it replaces
:func:`trading_assets.warehouse.writes.transaction` before anything imports it."""

import os
import time
from contextlib import contextmanager

from trading_assets.warehouse import writes

_transaction = writes.transaction
_DELAY_S = float(os.environ.get("TRADING_TEST_COMMIT_DELAY_S", "0.3"))


@contextmanager
def _slow_transaction(con):
    with _transaction(con):
        yield con
        time.sleep(_DELAY_S)  # writes done, not committed: a kill now must leave nothing


writes.transaction = _slow_transaction
