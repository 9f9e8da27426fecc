"""Assets are thin: each reads its inputs, calls logic, writes and attaches metadata in about
40 lines; the logic lives in the packages that never import Dagster."""

from __future__ import annotations

import inspect

import pytest

from trading_assets.definitions import project_assets
from trading_assets.defs.dagster_internals import compute_function

MAX_LINES = 45  # from the `def` line to the end, signature and docstring included


@pytest.fixture(scope="module")
def assets(tmp_path_factory):
    mp = pytest.MonkeyPatch()
    mp.setenv("TRADING_ASSETS_HOME", str(tmp_path_factory.mktemp("home")))
    mp.delenv("TRADING_PROFILE", raising=False)
    try:
        yield project_assets()
    finally:
        mp.undo()


def test_every_asset_body_is_short(assets):
    long = {}
    for assets_def in assets:
        lines, _ = inspect.getsourcelines(compute_function(assets_def.op))
        start = next(i for i, line in enumerate(lines) if line.lstrip().startswith("def "))
        if len(lines) - start > MAX_LINES:
            long[next(iter(assets_def.keys)).to_user_string()] = len(lines) - start
    assert not long, f"move logic out of these asset bodies: {long}"
    assert len(assets) >= 25
