"""Feed parsing off the event loop, in worker processes fed while the other feeds download.

feedparser is pure Python: on this 2-core machine about 0.15 ms per headline-only item,
0.3 ms per item with an HTML description and content, up to 1 ms for heavier items, all of it
holding the GIL. Parsing on the event loop stalls every download (the issue's 124 feeds,
2,700 items: 5.2 s a pass); a thread takes it off the loop but still runs on one core, beside
the loop; only processes use the other cores.
:class:`ParsePool` therefore parses in ``workers`` processes (default: one per usable core),
started when the pass starts, so they are ready by the time the first response arrives
(0.5 s for a remote feed), and :meth:`ParsePool.parse` hands each body over as soon as it is
received. ``workers=0`` parses in a thread of this process instead (no processes: tiny
passes, or where processes are not allowed).

Workers are *spawned* fresh interpreters (not forked): forking a process that already runs
threads (Dagster's, httpx's, the resource meter's) can deadlock the child. A worker that dies
(killed, out of memory) breaks the pool; the feeds not yet parsed are then parsed in a thread
here, so a pass never fails for it.
"""

from __future__ import annotations

import logging
import os
import time
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Self

from trading_assets.errors import TradingAssetsError
from trading_assets.news.parse import ParsedFeed, parse_feed

if TYPE_CHECKING:  # multiprocessing is imported when a pool starts: the code location loads
    from concurrent.futures import Executor  # without it
    from multiprocessing.queues import Queue

logger = logging.getLogger(__name__)

#: Below this many feeds in a pass, the default parses in a thread: starting processes
#: (about 0.3 s of CPU each) would cost more than it saves.
MIN_FEEDS_FOR_PROCESSES = 16


@dataclass(frozen=True)
class ParseJob:
    """One feed body to parse (the arguments of
    :func:`~trading_assets.news.parse.parse_feed`; ``fetched_at`` aware UTC)."""

    body: bytes
    origin: str
    fetched_at: datetime
    content_type: str | None = None
    source: str = "rss"
    symbols: tuple[str, ...] = ()
    publisher: str | None = None


@dataclass(frozen=True)
class ParseOutcome:
    """What parsing one body gave.

    Attributes:
        parsed: the parsed feed, None when the document was refused.
        reason: why it was refused (the ``SourceDataError`` reason), None when parsed.
        parse_s: wall seconds the parse took in the worker (queueing not included).
    """

    parsed: ParsedFeed | None
    reason: str | None
    parse_s: float


def parse_job(job: ParseJob) -> ParseOutcome:
    """Parse one body (runs in a worker process or thread). A refused document is an outcome
    with its reason, never an exception; any other exception propagates (a bug)."""
    started = time.perf_counter()
    try:
        parsed = parse_feed(
            job.body,
            job.origin,
            fetched_at=job.fetched_at,
            content_type=job.content_type,
            source=job.source,
            symbols=job.symbols,
            publisher=job.publisher,
        )
    except TradingAssetsError as exc:
        reason = getattr(exc, "reason", None) or str(exc)
        return ParseOutcome(None, reason, time.perf_counter() - started)
    return ParseOutcome(parsed, None, time.perf_counter() - started)


def _warm(ready: Queue[int]) -> None:
    """A worker's initializer: import the parser now (unpickling this function imported this
    module and ``parse_feed``'s), then say so with the worker's process id."""
    import defusedxml.ElementTree  # noqa: F401 (parse_feed imports them on first use)
    import feedparser  # noqa: F401

    ready.put(os.getpid())


def usable_cores() -> int:
    """CPU cores this process may run on (its affinity mask, else ``os.cpu_count()``)."""
    try:
        return max(len(os.sched_getaffinity(0)), 1)
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def default_workers(n_feeds: int, workers: int | None) -> int:
    """Worker processes for a pass over ``n_feeds`` feeds: ``workers`` when given (0: parse in
    a thread); else one per usable core, or 0 below :data:`MIN_FEEDS_FOR_PROCESSES` feeds."""
    if workers is not None:
        return max(int(workers), 0)
    return usable_cores() if n_feeds >= MIN_FEEDS_FOR_PROCESSES else 0


class ParsePool:
    """Parses feed bodies in ``workers`` spawned processes (0: in a thread of this process).

    Use it as a context manager, or :meth:`start` and :meth:`close`. :meth:`start` launches
    every worker at once (they import the parser while the first requests are in flight);
    one pool may serve many passes (a warm pool). Not thread-safe to start/close from several
    threads at once.

    Attributes:
        workers: number of worker processes (0: a thread).
        fallbacks: bodies parsed in a thread because the pool broke (a worker died) or the
            workers could not start.
        problem: why the workers are not used (logged as a warning), or None.
    """

    def __init__(self, workers: int = 0) -> None:
        self.workers = max(int(workers), 0)
        self.fallbacks = 0
        self._executor: Executor | None = None
        self._broken = False
        self._ready: Queue[int] | None = None
        self.problem: str | None = None

    def start(self) -> Self:
        """Launch the workers (no-op with 0 workers or when already started)."""
        if self.workers and self._executor is None and not self._broken:
            import multiprocessing
            from concurrent.futures import ProcessPoolExecutor

            context = multiprocessing.get_context("spawn")
            self._ready = context.Queue()
            executor = ProcessPoolExecutor(
                max_workers=self.workers,
                mp_context=context,
                initializer=_warm,
                initargs=(self._ready,),
            )
            try:
                # a task each: every worker starts now, not when the first body arrives
                for _ in range(self.workers):
                    executor.submit(os.getpid)
            except Exception as exc:  # e.g. a daemonic process may not have children
                executor.shutdown(wait=False, cancel_futures=True)
                self._broken = True
                self.problem = f"parse workers could not start ({type(exc).__name__}: {exc})"
                logger.warning("%s; parsing in a thread instead", self.problem)
                return self
            self._executor = executor
        return self

    def wait_ready(self, timeout_s: float = 60.0) -> list[int]:
        """Block until every worker has started and imported the parser; their process ids
        ([] without workers). Once per pool.

        Raises:
            TimeoutError: not every worker was ready within ``timeout_s``.
        """
        import queue

        if self._ready is None or not self.processes:
            return []
        deadline = time.monotonic() + timeout_s
        try:
            return [
                self._ready.get(timeout=max(deadline - time.monotonic(), 0.001))
                for _ in range(self.workers)
            ]
        except queue.Empty as exc:
            raise TimeoutError(f"parse workers not ready after {timeout_s:g} s") from exc

    @property
    def processes(self) -> bool:
        """Whether bodies go to worker processes (started, not broken)."""
        return self._executor is not None and not self._broken

    async def parse(self, job: ParseJob) -> ParseOutcome:
        """Parse ``job`` in a worker (a thread when there are none or the pool broke)."""
        import asyncio
        from concurrent.futures.process import BrokenProcessPool

        loop = asyncio.get_running_loop()
        if self.processes:
            try:
                return await loop.run_in_executor(self._executor, parse_job, job)
            except BrokenProcessPool as exc:
                if not self._broken:
                    self.problem = f"a parse worker died ({exc})"
                    logger.warning("%s; parsing the rest in a thread", self.problem)
                self._broken = True
                self.fallbacks += 1
        elif self._broken:
            self.fallbacks += 1
        return await asyncio.to_thread(parse_job, job)

    def close(self, wait: bool = True) -> None:
        """Stop the workers; queued work is cancelled. ``wait=False`` returns at once and
        lets them exit in the background (a pass does not wait for that)."""
        if self._executor is not None:
            self._executor.shutdown(wait=wait, cancel_futures=True)
            self._executor = None

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.close()
