"""A warm process for a new bar's live lane: the champions' models and the report's plotting
library loaded on the second core while the first one ingests the bar and builds features.

Live predictions need the champions' fitted models, and unpickling them imports their
libraries: scikit-learn (with SciPy and pandas), LightGBM and statsmodels, about 1.3 s in a
fresh process, before a single prediction; the report's charts import matplotlib (0.3 s).
A new bar's refresh spends its first seconds on ingestion and features, which need none of
them. :func:`warmed` starts a child Python process (``python -m trading_assets.warm_process``)
that meanwhile imports those libraries and loads every champion stored in the served cache
(:class:`~trading_assets.ml.served_cache.ServedCache`). Then:

- ``ml/live_predictions`` sends it the models to serve (:class:`~trading_assets.ml.live.
  ServedSpec`, one version each, resolved by the step), the training-table tails and the
  watermarks, and gets back exactly what :func:`~trading_assets.ml.live.predict_served`
  returns in process, because the child runs that function on the same inputs;
- ``reports/report`` has it draw the charts that changed (:data:`trading_assets.report.
  charts.CHARTS`, by name), all in one request sent as soon as the report's inputs are read;
  the child draws while the parent prepares the rest of the page, and gives the same SVG
  text as drawing them in process.

Messages are pickles on the child's standard input and on a copy of its standard output
(whatever a library prints goes to standard error instead); the child ends when its input
is closed. A child that dies or fails a request raises :class:`WarmProcessError` in the
parent, which then does the work itself: the warm process only ever saves time.
"""

from __future__ import annotations

import os
import pickle
import subprocess
import sys
import traceback
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import IO, Any

import polars as pl

from trading_assets.ml.live import (
    LiveRun,
    ServedSpec,
    load_fitted,
    load_served,
    predict_served,
)
from trading_assets.ml.served_cache import ChampionRef, ServedCache
from trading_assets.process_gc import defer_collections, freeze_long_lived


class WarmProcessError(RuntimeError):
    """The warm process died, or failed a request (the message has its traceback)."""


@dataclass(frozen=True)
class ServedRun:
    """The warm process's live predictions: the :class:`~trading_assets.ml.live.LiveRun`,
    the served-cache hits in the child, and the models it had loaded before the request came
    (``name@version``)."""

    run: LiveRun
    cache_hits: int
    warmed: tuple[str, ...]


class WarmProcess:
    """A child process that loads the champions of ``cache_folder`` (a served cache of the
    registry at ``tracking_uri``) and the chart library at once, then answers
    :meth:`predict` and :meth:`start_draws` requests, one at a time.

    Args:
        tracking_uri: MLflow registry URI, for versions missing from the cache.
        cache_folder: the served cache folder (``<home>/cache/served``).

    Raises:
        OSError: the child could not be started.
    """

    def __init__(self, tracking_uri: str, cache_folder: Path) -> None:
        self._child = subprocess.Popen(  # noqa: S603 - this interpreter, this module
            [sys.executable, "-m", __name__], stdin=subprocess.PIPE, stdout=subprocess.PIPE
        )
        self._pending: list[dict[str, Any]] = []  # answers not read yet, oldest first
        self._send((tracking_uri, str(cache_folder)))

    def predict(
        self,
        specs: Sequence[ServedSpec],
        tails: Mapping[str, pl.DataFrame],
        done: Mapping[str, pl.DataFrame],
        now: datetime,
    ) -> ServedRun:
        """:func:`~trading_assets.ml.live.predict_served` of the ``specs`` (loaded in the
        child), with the arguments of that function.

        Raises:
            WarmProcessError: the child died or the prediction failed there.
        """
        return self._ask(("predict", list(specs), dict(tails), dict(done), now))

    def start_draws(
        self, requests: Sequence[tuple[str, pl.DataFrame, Sequence[Any]]]
    ) -> Callable[[], list[str]]:
        """Send ``(chart, rows, args)`` requests (the SVG text of ``CHARTS[chart](rows, *args)``,
        :mod:`trading_assets.report.charts`) in one message and return at once; the returned
        function waits for their SVG texts, in order. The child draws while this process goes
        on (any other request first waits for these answers).

        Raises:
            WarmProcessError: (also from the returned function) the child died, or a chart
                is unknown or failed there.
        """
        slot = self._request(("draws", [(c, rows, tuple(args)) for c, rows, args in requests]))
        return lambda: self._wait(slot)

    def close(self) -> None:
        """End the child (closing its input) and wait for it; killed after 10 s."""
        with suppress(OSError):
            self._child.stdin.close()
        try:
            self._child.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self._child.kill()
            self._child.wait()
        self._child.stdout.close()

    def _ask(self, request: tuple) -> Any:
        return self._wait(self._request(request))

    def _request(self, request: tuple) -> dict[str, Any]:
        """Send ``request`` and return the slot its answer will fill. Earlier answers are
        read first: the child only ever writes while this process is not writing, so a large
        request and a large answer never wait on each other."""
        while self._pending:
            self._read_answer()
        slot: dict[str, Any] = {}
        self._send(request)
        self._pending.append(slot)
        return slot

    def _wait(self, slot: dict[str, Any]) -> Any:
        while not slot:
            self._read_answer()
        if "error" in slot:
            raise WarmProcessError(slot["error"])
        return slot["answer"]

    def _read_answer(self) -> None:
        """Read the next answer (answers come in the order of the requests) into its slot."""
        slot = self._pending.pop(0)
        try:
            status, answer = pickle.load(self._child.stdout)  # noqa: S301 - our own child
        except (EOFError, OSError, pickle.UnpicklingError) as exc:
            slot["error"] = f"the warm process ended: {exc!r}"
            for later in self._pending:
                later["error"] = slot["error"]
            self._pending.clear()
            return
        slot["answer" if status == "ok" else "error"] = answer

    def _send(self, message: Any) -> None:
        try:
            pickle.dump(message, self._child.stdin, protocol=pickle.HIGHEST_PROTOCOL)
            self._child.stdin.flush()
        except OSError as exc:
            raise WarmProcessError(f"the warm process ended: {exc!r}") from exc


_WARM: dict[tuple[str, str], WarmProcess] = {}


def _key(tracking_uri: str, cache_folder: Path) -> tuple[str, str]:
    return tracking_uri, str(Path(cache_folder).resolve())


@contextmanager
def warmed(tracking_uri: str, cache_folder: Path) -> Iterator[WarmProcess]:
    """Start a :class:`WarmProcess` for the block: :func:`warm_process` finds it by the same
    registry and cache folder meanwhile. Ended when the block ends."""
    key = _key(tracking_uri, cache_folder)
    process = WarmProcess(tracking_uri, cache_folder)
    _WARM[key] = process
    try:
        yield process
    finally:
        if _WARM.get(key) is process:
            del _WARM[key]
        process.close()


def warm_process(tracking_uri: str, cache_folder: Path) -> WarmProcess | None:
    """The warm process started for this registry and cache folder, if any."""
    return _WARM.get(_key(tracking_uri, cache_folder))


def _warm(
    tracking_uri: str, cache: ServedCache, loaded: dict[tuple[str, ChampionRef], Any]
) -> None:
    """Load every champion the cache holds a copy of (importing its library), let each
    import what its predictions need (a model's ``prepare()``, where it has one), then the
    chart library."""
    for name, ref in cache.stored_champions(tracking_uri).items():
        if cache.has_fitted(name, ref):
            model = load_fitted(tracking_uri, name, ref, cache, loaded)
            if callable(prepare := getattr(model, "prepare", None)):
                prepare()
    from trading_assets.report import charts

    charts.prepare()


def serve(requests: IO[bytes], replies: IO[bytes]) -> None:
    """The child's loop: the first message is ``(tracking_uri, cache folder)``; then each
    request (``("predict", specs, tails, done, now)`` or ``("draws", [(chart, rows, args),
    ...])``) is answered with ``("ok", answer)`` or ``("error", traceback)``, until
    ``requests`` ends."""
    tracking_uri, folder = pickle.load(requests)  # noqa: S301 - from our own parent
    cache = ServedCache(Path(folder))
    loaded: dict[tuple[str, ChampionRef], Any] = {}
    try:
        _warm(tracking_uri, cache, loaded)
    except Exception:  # noqa: BLE001 - a request loads what warming could not
        traceback.print_exc()
    freeze_long_lived()  # the libraries and models live as long as the process
    warmed_models = tuple(f"{name}@{ref.version}" for name, ref in loaded)
    while True:
        try:
            kind, *request = pickle.load(requests)  # noqa: S301 - our own parent
        except EOFError:
            return
        try:
            if kind == "predict":
                specs, tails, done, now = request
                served = load_served(specs, tracking_uri, cache, loaded)
                run = predict_served(served, tails, done, now)
                answer: Any = ServedRun(run, cache.hits, warmed_models)
            elif kind == "draws":
                from trading_assets.report import charts

                (draws,) = request
                answer = [charts.CHARTS[chart](rows, *args) for chart, rows, args in draws]
            else:
                raise ValueError(f"unknown request {kind!r}")
            reply: tuple = ("ok", answer)
        except Exception as exc:  # noqa: BLE001 - reported to the parent, which falls back
            reply = ("error", "".join(traceback.format_exception(exc)))
        pickle.dump(reply, replies, protocol=pickle.HIGHEST_PROTOCOL)
        replies.flush()


def _main() -> None:
    defer_collections()  # until the warmed libraries and models are frozen (serve)
    replies = os.fdopen(os.dup(1), "wb")
    os.dup2(2, 1)  # what a library prints goes to standard error, not into the replies
    serve(sys.stdin.buffer, replies)
    replies.close()
    sys.stderr.flush()
    os._exit(0)  # no interpreter teardown: see trading_assets.quick_exit


if __name__ == "__main__":
    # run as a script, this file is ``__main__``: pickles must name the module itself
    from trading_assets import warm_process

    warm_process._main()


__all__ = ["ServedRun", "WarmProcess", "WarmProcessError", "warm_process", "warmed"]
