"""The README's layout section names every package folder, and every file it names exists."""

from __future__ import annotations

import re
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def _layout() -> str:
    text = (REPO / "README.md").read_text()
    return text.split("## Layout", 1)[1].split("```", 2)[1]


def test_layout_names_every_package_folder_and_only_existing_files():
    block = _layout()
    named_dirs = set(re.findall(r"([a-z_]+)/", block))
    package = REPO / "trading_assets"
    folders = {p.parent.name for p in package.rglob("__init__.py")} - {"trading_assets"}
    assert folders <= named_dirs, f"not in the README layout: {sorted(folders - named_dirs)}"
    for name in named_dirs:
        assert list(REPO.rglob(name)), f"README layout names {name}/ which does not exist"
    for name in re.findall(r"([a-z_]+\.py)", block):
        assert list(package.rglob(name)), f"README layout names {name} which does not exist"
