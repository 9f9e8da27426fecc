"""The layers hold: import-linter's contracts (``[tool.importlinter]`` in pyproject.toml)."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
LINT_IMPORTS = Path(sys.executable).parent / "lint-imports"


def _lint(root: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [str(LINT_IMPORTS), "--no-cache", "--config", str(REPO / "pyproject.toml")],
        cwd=root,
        env={"PYTHONPATH": str(root), "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_the_import_contracts_are_kept():
    result = _lint(REPO)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "3 kept, 0 broken" in result.stdout


def test_a_logic_module_importing_dagster_breaks_a_contract(tmp_path: Path):
    shutil.copytree(
        REPO / "trading_assets",
        tmp_path / "trading_assets",
        ignore=shutil.ignore_patterns("__pycache__"),
    )
    logic = tmp_path / "trading_assets" / "trading" / "sizing.py"
    logic.write_text(logic.read_text() + "\n\ndef _bad():\n    import dagster  # noqa\n")
    sdk = tmp_path / "trading_assets" / "sdk.py"
    bad_import = "\n\ndef _bad():\n    import trading_assets.defs.keys  # noqa\n"
    sdk.write_text(sdk.read_text() + bad_import)
    result = _lint(tmp_path)
    assert result.returncode != 0
    assert "Logic packages never import Dagster BROKEN" in result.stdout
    assert "trading_assets.trading.sizing -> dagster" in result.stdout
    assert "The SDK never imports the Dagster layer BROKEN" in result.stdout
