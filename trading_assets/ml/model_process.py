"""A warm model process: the live path's models loaded on the second core while the first
one ingests the new bar and builds its features.

Live predictions need the champions' fitted models, and unpickling them imports their
libraries: scikit-learn (with SciPy and pandas), LightGBM and statsmodels, about 1.3 s in a
fresh process, before a single prediction. A new bar's refresh spends its first seconds on
ingestion and features, which need none of them. :func:`warm_models` starts a child Python
process (``python -m trading_assets.ml.model_process``) that imports those libraries and
loads every champion stored in the served cache (:class:`~.served_cache.ServedCache`) in
the meantime; the ``ml/live_predictions`` step then sends it the models to serve
(:class:`~.live.ServedSpec`, one version each, resolved by the step), the training-table
tails and the watermarks, and gets back exactly what :func:`~.live.predict_served` returns
in process, because the child runs that function on the same inputs.

Messages are pickles on the child's standard input and on a copy of its standard output
(whatever a library prints goes to standard error instead); the child ends when its input
is closed. A child that dies or fails a request raises :class:`ModelProcessError` in the
parent, which then predicts in process: the warm process only ever saves time.
"""

from __future__ import annotations

import os
import pickle
import subprocess
import sys
import traceback
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import IO, Any

import polars as pl

from trading_assets.ml.live import LiveRun, ServedSpec, load_served, predict_served
from trading_assets.ml.served_cache import ChampionRef, ServedCache


class ModelProcessError(RuntimeError):
    """The warm model process died, or failed a request (the message has its traceback)."""


@dataclass(frozen=True)
class ServedRun:
    """A warm model process's answer: the :class:`~.live.LiveRun`, the served-cache hits in
    the child, and the models it had loaded before the request came (``name@version``)."""

    run: LiveRun
    cache_hits: int
    warmed: tuple[str, ...]


class ModelProcess:
    """A child process that loads the champions of ``cache_folder`` (a served cache of the
    registry at ``tracking_uri``) at once, then answers :meth:`predict` requests.

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
        self._send((tracking_uri, str(cache_folder)))

    def predict(
        self,
        specs: Sequence[ServedSpec],
        tails: Mapping[str, pl.DataFrame],
        done: Mapping[str, pl.DataFrame],
        now: datetime,
    ) -> ServedRun:
        """:func:`~.live.predict_served` of the ``specs`` (loaded in the child), with the
        arguments of that function.

        Raises:
            ModelProcessError: the child died or the prediction failed there.
        """
        self._send((list(specs), dict(tails), dict(done), now))
        try:
            status, *reply = pickle.load(self._child.stdout)  # noqa: S301 - our own child
        except (EOFError, OSError, pickle.UnpicklingError) as exc:
            raise ModelProcessError(f"the model process ended: {exc!r}") from exc
        if status != "ok":
            raise ModelProcessError(reply[0])
        return reply[0]

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

    def _send(self, message: Any) -> None:
        try:
            pickle.dump(message, self._child.stdin, protocol=pickle.HIGHEST_PROTOCOL)
            self._child.stdin.flush()
        except OSError as exc:
            raise ModelProcessError(f"the model process ended: {exc!r}") from exc


_WARM: dict[tuple[str, str], ModelProcess] = {}


def _key(tracking_uri: str, cache_folder: Path) -> tuple[str, str]:
    return tracking_uri, str(Path(cache_folder).resolve())


@contextmanager
def warm_models(tracking_uri: str, cache_folder: Path) -> Iterator[ModelProcess]:
    """Start a :class:`ModelProcess` for the block: :func:`warm_process` finds it by the same
    registry and cache folder meanwhile. Ended when the block ends."""
    key = _key(tracking_uri, cache_folder)
    process = ModelProcess(tracking_uri, cache_folder)
    _WARM[key] = process
    try:
        yield process
    finally:
        if _WARM.get(key) is process:
            del _WARM[key]
        process.close()


def warm_process(tracking_uri: str, cache_folder: Path) -> ModelProcess | None:
    """The warm model process started for this registry and cache folder, if any."""
    return _WARM.get(_key(tracking_uri, cache_folder))


def _warm(
    tracking_uri: str, cache: ServedCache, loaded: dict[tuple[str, ChampionRef], Any]
) -> None:
    """Load every champion the cache holds a copy of (importing its library), and let each
    import what its predictions need (a model's ``prepare()``, where it has one)."""
    for name, ref in cache.stored_champions(tracking_uri).items():
        if cache.has_fitted(name, ref):
            specs = [ServedSpec(name, "", "", "", ref.version, ref)]
            (served,) = load_served(specs, tracking_uri, cache, loaded)
            if callable(prepare := getattr(served.model, "prepare", None)):
                prepare()


def serve(requests: IO[bytes], replies: IO[bytes]) -> None:
    """The child's loop: the first message is ``(tracking_uri, cache folder)``, then each
    request is answered with ``("ok", ServedRun)`` or ``("error", traceback)``,
    until ``requests`` ends."""
    tracking_uri, folder = pickle.load(requests)  # noqa: S301 - from our own parent
    cache = ServedCache(Path(folder))
    loaded: dict[tuple[str, ChampionRef], Any] = {}
    try:
        _warm(tracking_uri, cache, loaded)
    except Exception:  # noqa: BLE001 - a request loads what warming could not
        traceback.print_exc()
    warmed = tuple(f"{name}@{ref.version}" for name, ref in loaded)
    while True:
        try:
            specs, tails, done, now = pickle.load(requests)  # noqa: S301 - our own parent
        except EOFError:
            return
        try:
            served = load_served(specs, tracking_uri, cache, loaded)
            run = predict_served(served, tails, done, now)
            reply: tuple = ("ok", ServedRun(run, cache.hits, warmed))
        except Exception as exc:  # noqa: BLE001 - reported to the parent, which falls back
            reply = ("error", "".join(traceback.format_exception(exc)))
        pickle.dump(reply, replies, protocol=pickle.HIGHEST_PROTOCOL)
        replies.flush()


def _main() -> None:
    replies = os.fdopen(os.dup(1), "wb")
    os.dup2(2, 1)  # what a library prints goes to standard error, not into the replies
    serve(sys.stdin.buffer, replies)
    replies.close()
    sys.stderr.flush()
    os._exit(0)  # no interpreter teardown: see trading_assets.quick_exit


if __name__ == "__main__":
    # run as a script, this file is ``__main__``: pickles must name the module itself
    from trading_assets.ml import model_process

    model_process._main()


__all__ = ["ModelProcess", "ModelProcessError", "ServedRun", "warm_models", "warm_process"]
