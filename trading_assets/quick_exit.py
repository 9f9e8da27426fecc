"""End a command-line process without tearing the interpreter down.

A ``trading-assets`` command loads Dagster, Polars, DuckDB and, on the live lane, the model
and plotting libraries (scikit-learn, SciPy, pandas, LightGBM, statsmodels, matplotlib).
When such a process ends normally, CPython finalizes every module and frees every object
one by one: about 0.9 s after a new bar's ``refresh`` has already printed its result, a
tenth of the command's wall time. Nothing the command wrote depends on it: warehouse
transactions are committed, DuckDB connections and Dagster's SQLite connections are closed
by their ``with`` blocks.

:func:`exit_now` does what a normal exit does that matters (joins the threads that are not
daemons, runs the ``atexit`` handlers, among them ``logging.shutdown``, and flushes
standard output and error), then ends the process with ``os._exit``. It is for the console
script only: a process that embeds :func:`trading_assets.cli.main` (tests use Click's runner)
keeps its interpreter.
"""

from __future__ import annotations

import atexit
import contextlib
import os
import sys
import threading


def exit_code(code: object) -> int:
    """The process exit status of a ``SystemExit`` code, as Python gives it: None is 0, an
    int is itself, anything else is printed to standard error and gives 1."""
    if code is None:
        return 0
    if isinstance(code, int):
        return code
    print(code, file=sys.stderr)
    return 1


def exit_now(code: object = 0) -> None:
    """Join non-daemon threads, run the ``atexit`` handlers, flush the standard streams and
    end the process at once with :func:`exit_code` of ``code``. Never returns."""
    status = exit_code(code)
    current = threading.current_thread()
    for thread in threading.enumerate():
        if thread is not current and not thread.daemon:
            thread.join()
    try:
        atexit._run_exitfuncs()  # noqa: SLF001 - the handlers a normal exit runs
    finally:
        for stream in (sys.stdout, sys.stderr):
            with contextlib.suppress(OSError, ValueError):  # closed, or a broken pipe
                stream.flush()
        os._exit(status)


__all__ = ["exit_code", "exit_now"]
