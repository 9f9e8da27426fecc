"""Measure what one computation uses: wall time, CPU time and peak resident memory.

``ru_maxrss`` is the peak of the whole process lifetime, so a step that runs after a heavy one
would inherit its peak; instead a daemon thread samples the process RSS (psutil) while the
computation runs and keeps the maximum.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass


@dataclass(frozen=True)
class Usage:
    """Resources one computation used.

    Attributes:
        wall_s: elapsed wall-clock seconds.
        cpu_s: process CPU seconds (user + system, all threads of the process).
        peak_rss_mb: highest sampled resident set size of the process, MiB.
    """

    wall_s: float
    cpu_s: float
    peak_rss_mb: float


class ResourceMeter:
    """Context manager measuring the enclosed block; read :attr:`usage` after it exits.

    Args:
        interval_s: RSS sampling period (seconds). Peaks shorter than this can be missed.

    Example::

        with ResourceMeter() as meter:
            work()
        meter.usage.cpu_s
    """

    def __init__(self, interval_s: float = 0.01) -> None:
        import psutil

        self.interval_s = interval_s
        self._process = psutil.Process()
        self._peak = 0
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._start_wall = 0.0
        self._start_cpu = 0.0
        self.usage: Usage | None = None

    def _sample(self) -> None:
        rss = self._process.memory_info().rss
        if rss > self._peak:
            self._peak = rss

    def _run(self) -> None:
        while not self._stop.wait(self.interval_s):
            self._sample()

    def __enter__(self) -> ResourceMeter:
        self._sample()
        self._start_wall = time.perf_counter()
        self._start_cpu = time.process_time()
        self._thread = threading.Thread(target=self._run, name="resource-meter", daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        wall = time.perf_counter() - self._start_wall
        cpu = time.process_time() - self._start_cpu
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
        self._sample()
        self.usage = Usage(wall_s=wall, cpu_s=cpu, peak_rss_mb=self._peak / 2**20)
