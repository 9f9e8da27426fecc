"""The console script ends without interpreter teardown, but like a normal exit: exit
status, atexit handlers, joined threads and flushed output."""

from __future__ import annotations

import subprocess
import sys
import tomllib
from pathlib import Path

from trading_assets.quick_exit import exit_code

ROOT = Path(__file__).resolve().parents[1]


def _entry(args: list[str], prelude: str = "") -> subprocess.CompletedProcess[str]:
    code = (
        "import sys\n"
        f"{prelude}\n"
        "from trading_assets.cli import entry\n"
        f"sys.argv = ['trading-assets', *{args!r}]\n"
        "entry()\n"
        "print('entry returned')\n"
    )
    return subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=False
    )


def test_the_console_script_is_the_quick_exit_entry() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())
    assert project["project"]["scripts"]["trading-assets"] == "trading_assets.cli:entry"


def test_output_is_flushed_and_atexit_handlers_run_before_a_successful_exit() -> None:
    prelude = "import atexit\natexit.register(lambda: print('atexit handler ran'))"
    done = _entry(["signals", "--help"], prelude)
    assert done.returncode == 0, done.stderr
    assert "newest signal" in done.stdout  # piped, so block-buffered: flushed by exit_now
    assert done.stdout.rstrip().endswith("atexit handler ran")
    assert "entry returned" not in done.stdout  # the process ended inside entry()


def test_a_usage_error_keeps_clicks_exit_status() -> None:
    done = _entry(["no-such-command"])
    assert done.returncode == 2
    assert "No such command" in done.stderr


def test_threads_that_are_not_daemons_finish_before_the_process_ends(tmp_path: Path) -> None:
    marker = tmp_path / "written-by-thread"
    prelude = (
        "import threading, time\n"
        f"def late(): time.sleep(0.5); open({str(marker)!r}, 'w').write('done')\n"
        "threading.Thread(target=late).start()"
    )
    done = _entry(["signals", "--help"], prelude)
    assert done.returncode == 0, done.stderr
    assert marker.read_text() == "done"


def test_exit_codes_follow_python() -> None:
    assert exit_code(None) == 0
    assert exit_code(3) == 3
    assert exit_code("a message") == 1
