"""Background servers for tests: a free port on 127.0.0.1, and a server process started in
its own session, waited on through a health URL and stopped by its process group."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager

import httpx
import pytest


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def running_server(
    cmd: Sequence[str],
    env: Mapping[str, str],
    health_url: str,
    name: str,
    timeout_s: float = 120.0,
) -> Iterator[subprocess.Popen]:
    """Start ``cmd`` in a new session, wait until ``health_url`` answers 200 (failing the test
    with the server's stderr if it exits, or after ``timeout_s``), yield the process, then stop
    its whole process group (SIGTERM, SIGKILL after 30 s). Its stderr goes to a temporary
    file (a pipe nobody reads would stall a talkative server)."""
    with tempfile.TemporaryFile() as log:
        proc = subprocess.Popen(
            list(cmd), env=dict(env), start_new_session=True,
            stdout=subprocess.DEVNULL, stderr=log,
        )  # fmt: skip
        try:
            deadline = time.monotonic() + timeout_s
            while True:
                if proc.poll() is not None:
                    log.seek(0)
                    pytest.fail(f"{name} exited: {log.read().decode(errors='replace')[-2000:]}")
                try:
                    if httpx.get(health_url, timeout=2).status_code == 200:
                        break
                except httpx.HTTPError:
                    pass
                if time.monotonic() > deadline:
                    pytest.fail(f"{name} did not answer {health_url} within {timeout_s:.0f} s")
                time.sleep(0.5)
            yield proc
        finally:
            os.killpg(proc.pid, signal.SIGTERM)
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
