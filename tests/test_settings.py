"""One settings module: every environment variable the package reads is declared there, and
the README's table of variables is exactly that list."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from trading_assets import settings
from trading_assets.errors import ConfigurationError

REPO = Path(__file__).resolve().parents[1]
NAME = re.compile(r"[\"']((?:TRADING|ALPACA|WORDPRESS|DISCORD)_[A-Z0-9_]+)[\"']")


def test_every_variable_the_package_names_is_declared():
    declared = {s.name for s in settings.SETTINGS}
    named: dict[str, set[str]] = {}
    for path in (REPO / "trading_assets").rglob("*.py"):
        for name in NAME.findall(path.read_text()):
            named.setdefault(name, set()).add(str(path.relative_to(REPO)))
    prefixes = tuple(p.split("<NAME>")[0] for p in settings.PATTERNS)
    undeclared = {n: sorted(f) for n, f in named.items()
                  if n not in declared and not n.startswith(prefixes)}  # fmt: skip
    assert not undeclared, f"declare these in trading_assets/settings.py: {undeclared}"


def test_the_readme_table_is_the_settings_module():
    text = (REPO / "README.md").read_text()
    section = text.split("### Environment variables", 1)[1].split("\n## ", 1)[0]
    rows = [line for line in section.splitlines() if line.startswith("| `")]
    table = {}
    for row in rows:
        cells = [c.strip() for c in row.strip("|").split("|")]
        table[cells[0].strip("`")] = (cells[1], cells[2].strip("`"))
    expected = {
        s.name: (s.type.__name__, s.default if s.default is not None else "unset")
        for s in settings.SETTINGS
    }
    assert table == expected


def test_values_are_typed_and_bad_values_name_the_variable(monkeypatch):
    monkeypatch.setenv("TRADING_RETRAIN_NEW_BARS", "12")
    assert settings.RETRAIN_NEW_BARS.read() == 12
    monkeypatch.delenv("TRADING_SENSOR_INTERVAL_S", raising=False)
    assert settings.sensor_interval_s() == 30
    monkeypatch.setenv("TRADING_SENSOR_INTERVAL_S", "soon")
    with pytest.raises(ConfigurationError, match="TRADING_SENSOR_INTERVAL_S='soon'"):
        settings.sensor_interval_s()
    monkeypatch.setenv("TRADING_SENSOR_INTERVAL_S", "0")
    with pytest.raises(ConfigurationError, match="at least 1"):
        settings.sensor_interval_s()
