"""Test-only start-up hook (on ``PYTHONPATH`` of a child process): a worker process of the
multiprocess runner kills itself with SIGKILL in the middle of a warehouse write.

The worker processes share a counter file (``TRADING_TEST_KILL_COUNTER``); each of their
transactions takes the next number, and the one numbered ``TRADING_TEST_KILL_AT`` kills its
own process after its writes and before its COMMIT, so the kill lands mid-write on a
deterministic transaction (earlier ones are committed). The main process is never killed.
Loaded by the interpreter before any project module, this replaces
:func:`trading_assets.warehouse.writes.transaction` before anything imports it."""

import fcntl
import multiprocessing
import os
import signal
from contextlib import contextmanager
from pathlib import Path

from trading_assets.warehouse import writes

_transaction = writes.transaction
_COUNTER = os.environ.get("TRADING_TEST_KILL_COUNTER")
_KILL_AT = int(os.environ.get("TRADING_TEST_KILL_AT", "0"))


def _next_number() -> int:
    """The next transaction number of all worker processes (1, 2, ...)."""
    with open(_COUNTER, "a+") as file:
        fcntl.flock(file, fcntl.LOCK_EX)
        file.seek(0)
        number = int(file.read() or 0) + 1
        file.seek(0)
        file.truncate()
        file.write(str(number))
        file.flush()
        return number


@contextmanager
def _killing_transaction(con):
    with _transaction(con):
        yield con
        in_worker = _COUNTER and multiprocessing.parent_process() is not None
        if in_worker and _next_number() == _KILL_AT:
            Path(_COUNTER).with_suffix(".killed").write_text(str(os.getpid()))
            os.kill(os.getpid(), signal.SIGKILL)  # writes done, not committed


writes.transaction = _killing_transaction
