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


def test_the_console_script_freezes_what_it_loaded_before_the_steps(tmp_path: Path) -> None:
    """``refresh`` from the console script freezes Dagster and the definitions before it
    plans (the collector no longer visits them); a process embedding the CLI keeps its GC."""
    import gc

    import trading_assets.cli as cli

    prelude = (
        "import gc, os\n"
        f"os.environ['TRADING_ASSETS_HOME'] = {str(tmp_path / 'home')!r}\n"
        "os.environ['TRADING_PROFILE'] = 'demo'\n"
        "import trading_assets.refresh as r\n"
        "from trading_assets.runner import RunSummary\n"
        "def planned(defs, instance, on_step=None):\n"
        "    print('frozen before the plan', gc.get_freeze_count(), gc.get_threshold())\n"
        "    return [], RunSummary()\n"
        "r.refresh = planned\n"
    )
    done = _entry(["refresh", "--json"], prelude)
    assert done.returncode == 0, done.stderr
    frozen, thresholds = done.stdout.split("frozen before the plan")[1].split(" ", 2)[1:]
    assert int(frozen) > 50_000  # Dagster, Polars, DuckDB and the definitions
    # collections were deferred while it loaded, and are as usual again for the steps
    assert thresholds.splitlines()[0] == str(gc.get_threshold())
    before = gc.get_freeze_count()
    cli._long_lived_loaded()  # not the console script here: nothing is frozen
    assert gc.get_freeze_count() == before


def test_collections_are_deferred_while_loading_and_restored_by_the_freeze() -> None:
    code = (
        "import gc\n"
        "from trading_assets import process_gc\n"
        "usual = gc.get_threshold()\n"
        "process_gc.defer_collections(); process_gc.defer_collections()\n"
        "assert gc.get_threshold()[0] == process_gc.LOADING_THRESHOLD, gc.get_threshold()\n"
        "assert gc.get_threshold()[1:] == usual[1:]\n"
        "assert process_gc.freeze_long_lived() == gc.get_freeze_count() > 1000\n"
        "assert gc.get_threshold() == usual, (gc.get_threshold(), usual)\n"
        "print('ok')\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=False
    )
    assert done.returncode == 0 and done.stdout.strip() == "ok", done.stderr
