"""Shared fixtures: where the real data lives, and a throw-away project home."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]


class _CurrentStderr:
    """A stream that writes to whatever ``sys.stderr`` is at the time and is never closed."""

    def write(self, text: str) -> int:
        return sys.stderr.write(text)

    def flush(self) -> None:
        sys.stderr.flush()

    def isatty(self) -> bool:
        return False

    def close(self) -> None:
        """Not closed: the stream behind it belongs to whoever set ``sys.stderr``."""


def _keep_absl_off_the_capture_file() -> None:
    """absl (imported with Keras by the LSTM family) makes one logging handler bound to the
    ``sys.stderr`` of that moment: in a test worker, pytest's capture file. Every Dagster run
    calls ``logging.config.dictConfig``, which closes every handler of the process, and
    absl's closes its stream unless it is the current ``sys.stderr``; inside click's
    ``CliRunner`` it is not, so a CLI test run after an LSTM test closed pytest's capture file
    and every later test of that worker errored. Point absl's handler at the live
    ``sys.stderr`` instead (a test-process matter: a real process keeps one ``sys.stderr``,
    which absl never closes)."""
    try:
        from absl import logging as absl_logging
    except ImportError:  # installed without the `lstm` group: no absl, no handler
        return
    absl_logging.get_absl_handler().python_handler.stream = _CurrentStderr()


_keep_absl_off_the_capture_file()


def shared_data_dir() -> Path:
    """``../shared/data`` beside the checkout (CI has it there), or ``$TRADING_SHARED_DATA``."""
    env = os.environ.get("TRADING_SHARED_DATA")
    path = Path(env) if env else REPO_ROOT.parent / "shared" / "data"
    return path.resolve()


@pytest.fixture(scope="session")
def shared_data() -> Path:
    path = shared_data_dir()
    if not (path / "SOURCES.md").exists():
        pytest.fail(f"real test data not found at {path}; set TRADING_SHARED_DATA")
    return path


@pytest.fixture(scope="session")
def shared_formats() -> Path:
    """``../shared/formats`` beside the shared data: real files in more layouts, kept apart so
    that a ``local`` run over ``../shared/data`` keeps its known counts (see its SOURCES.md)."""
    path = shared_data_dir().parent / "formats"
    if not (path / "SOURCES.md").exists():
        pytest.fail(f"real test files in more layouts not found at {path}")
    return path


@pytest.fixture
def home(tmp_path, monkeypatch) -> Path:
    """A fresh TRADING_ASSETS_HOME for one test."""
    path = tmp_path / "home"
    monkeypatch.setenv("TRADING_ASSETS_HOME", str(path))
    monkeypatch.delenv("TRADING_PROFILE", raising=False)
    # nothing from the developer's shell may switch on network sources in tests
    for name in (
        "TRADING_DATA_DIR",
        "TRADING_NEWS_FEEDS",
        "TRADING_SYMBOL_MAP",
        "TRADING_EXCHANGES",
        "ALPACA_API_KEY",
        "ALPACA_SECRET_KEY",
        "ALPACA_DATA_URL",
    ):
        monkeypatch.delenv(name, raising=False)
    return path


#: variables from a developer's shell that must not reach a test's definitions
NETWORK_AND_SHELL_ENV = (
    "TRADING_NEWS_FEEDS",
    "TRADING_SYMBOL_MAP",
    "TRADING_NEWS_DIR",
    "ALPACA_API_KEY",
    "ALPACA_SECRET_KEY",
    "ALPACA_DATA_URL",
)


def use_local_profile(mp: pytest.MonkeyPatch, home: Path, data: Path) -> None:
    """Point ``mp``'s environment at a project ``home`` on the ``local`` profile over the price
    and news files in ``data`` (Dagster's instance in ``home/dagster``), with no network source
    switched on."""
    for name in NETWORK_AND_SHELL_ENV:
        mp.delenv(name, raising=False)
    mp.setenv("TRADING_ASSETS_HOME", str(home))
    mp.setenv("TRADING_PROFILE", "local")
    mp.setenv("TRADING_DATA_DIR", str(data))
    mp.setenv("DAGSTER_HOME", str(home / "dagster"))


def latest_check(instance, asset: list[str], name: str) -> tuple[bool, dict]:
    """(passed, ``details`` metadata) of the newest evaluation of check ``name`` on ``asset``
    (key path) stored in the Dagster ``instance``."""
    import dagster as dg

    key = dg.AssetCheckKey(dg.AssetKey(asset), name)
    record = instance.event_log_storage.get_latest_asset_check_execution_by_key([key])[key]
    evaluation = record.event.dagster_event.event_specific_data
    return evaluation.passed, evaluation.metadata["details"].value
