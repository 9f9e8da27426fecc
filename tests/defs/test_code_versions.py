"""Code versions are computed from the code each asset reaches: every asset, every module."""

from __future__ import annotations

import ast
import shutil
from pathlib import Path

import dagster as dg
import pytest

from trading_assets.code_graph import CodeGraph
from trading_assets.definitions import build_definitions, project_assets
from trading_assets.defs.code_version import code_version_for, defining_module

PACKAGE_DIR = Path(__file__).resolve().parents[2] / "trading_assets"
ADDED_FUNCTION = "\n\ndef _added_by_the_code_version_test():\n    return 1\n"


@pytest.fixture(scope="module")
def assets(tmp_path_factory) -> list[dg.AssetsDefinition]:
    mp = pytest.MonkeyPatch()
    mp.setenv("TRADING_ASSETS_HOME", str(tmp_path_factory.mktemp("home")))
    mp.delenv("TRADING_PROFILE", raising=False)
    try:
        yield [a for a in project_assets() if a.is_materializable]
    finally:
        mp.undo()


@pytest.fixture
def copy_root(tmp_path: Path) -> Path:
    """A copy of the package source (no bytecode) to edit."""
    shutil.copytree(
        PACKAGE_DIR, tmp_path / "trading_assets", ignore=shutil.ignore_patterns("__pycache__")
    )
    return tmp_path


def _versions(assets: list[dg.AssetsDefinition], graph: CodeGraph) -> dict[str, str | None]:
    return {key.to_user_string(): code_version_for(a, graph) for a in assets for key in a.keys}


def test_every_asset_gets_a_computed_code_version(home, assets):
    graph = CodeGraph()
    defs = build_definitions()
    by_key = defs.resolve_asset_graph()
    for assets_def in assets:
        assert defining_module(assets_def) in graph.modules, assets_def.keys
        expected = code_version_for(assets_def, graph)
        assert expected is not None
        for key in assets_def.keys:
            assert by_key.get(key).code_version == expected, key


def test_adding_a_function_to_any_module_an_asset_reaches_changes_exactly_its_users(
    assets, copy_root: Path
):
    """For every module some asset reaches (its defining module or the logic it imports),
    appending a function changes the code version of exactly the assets whose closure holds
    that module, and never of the others."""
    graph = CodeGraph()
    closures = {
        key.to_user_string(): set(graph.closure(defining_module(a)))
        for a in assets
        for key in a.keys
    }
    before = _versions(assets, CodeGraph(root=copy_root))
    assert all(before.values())
    reached = sorted(set().union(*closures.values()))
    defining = {defining_module(a) for a in assets}
    assert defining <= set(reached)
    for module in reached:
        path = CodeGraph(root=copy_root).path_of(module)
        original = path.read_text()
        path.write_text(original + ADDED_FUNCTION)
        try:
            after = _versions(assets, CodeGraph(root=copy_root))
        finally:
            path.write_text(original)
        changed = {key for key in before if after[key] != before[key]}
        users = {key for key, closure in closures.items() if module in closure}
        assert changed == users, module
    # and nothing else moved them: the copy hashes as it did
    assert _versions(assets, CodeGraph(root=copy_root)) == before


def test_config_defaults_and_sql_text_are_part_of_the_version(assets, monkeypatch):
    from trading_assets.defs import code_version as cv

    graph = CodeGraph()
    sql = next(a for a in assets if "sql_file" in (next(iter(a.specs)).metadata or {}))
    declared = next(iter(sql.code_versions_by_key.values()))
    edited = sql.map_asset_specs(lambda s: s.replace_attributes(code_version=declared + "x"))
    assert code_version_for(edited, graph) != code_version_for(sql, graph)

    backtest = next(a for a in assets if dg.AssetKey(["signals", "backtest"]) in a.keys)
    defaults = cv.config_defaults(backtest)
    assert defaults["fees_bps"] == 5.0
    before = code_version_for(backtest, graph)
    original = cv.config_defaults
    monkeypatch.setattr(cv, "config_defaults", lambda a: {**original(a), "fees_bps": 6.0})
    assert code_version_for(backtest, graph) != before


def _halve_backtest(root: Path) -> Path:
    """The edit from the issue: ``backtest_series`` backtests only half of its bars."""
    for path in sorted((root / "trading_assets").rglob("*.py")):
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            if isinstance(node, ast.FunctionDef) and node.name == "backtest_series":
                lines = path.read_text().splitlines(keepends=True)
                first = node.body[1] if isinstance(node.body[0], ast.Expr) else node.body[0]
                indent = " " * first.col_offset
                lines.insert(first.lineno - 1, f"{indent}bars = bars.head(bars.height // 2)\n")
                path.write_text("".join(lines))
                return path
    raise AssertionError("backtest_series not found")


def test_refresh_reruns_the_backtest_after_its_logic_is_edited(
    home: Path, monkeypatch, shared_data: Path, copy_root: Path
):
    from trading_assets.home import ProjectHome
    from trading_assets.refresh import plan_refresh, refresh
    from trading_assets.runner import dagster_instance

    data = home.parent / "data"
    data.mkdir()
    (data / "ETH_USDT-1h.json").symlink_to(
        shared_data / "crypto" / "binance_spot_2023" / "ETH_USDT-1h.json"
    )
    monkeypatch.setenv("TRADING_PROFILE", "local")
    monkeypatch.setenv("TRADING_DATA_DIR", str(data))
    monkeypatch.setenv("DAGSTER_HOME", str(home / "dagster"))
    instance = dagster_instance(ProjectHome.from_env())
    defs = build_definitions(CodeGraph(root=copy_root))
    _, summary = refresh(defs, instance)
    assert summary.ok, summary.failures
    assert plan_refresh(defs, instance) == []

    _halve_backtest(copy_root)
    defs = build_definitions(CodeGraph(root=copy_root))  # the code location reloads
    planned = {(s.asset, s.reason) for s in plan_refresh(defs, instance)}
    assert ("signals/backtest", "new code version") in planned
    assert not any(asset.startswith(("raw/", "staging/", "features/")) for asset, _ in planned)
    executed, summary = refresh(defs, instance)
    assert summary.ok, summary.failures
    assert "signals/backtest" in {s.asset for s in executed}
    assert plan_refresh(defs, instance) == []
