"""The meter: every kind of asset body gets wall/CPU/RSS/rows in its metadata, through the
``@metered`` decorator alone, and every asset of the code location carries it."""

import inspect
import json
from pathlib import Path

import dagster as dg
import polars as pl
import pytest

from trading_assets.definitions import project_assets
from trading_assets.defs.code_version import defining_module
from trading_assets.defs.dagster_internals import compute_function
from trading_assets.defs.ops.meter import is_metered, metered

QUIET = {"loggers": {"console": {"config": {"log_level": "CRITICAL"}}}}


class Path_(dg.ConfigurableResource):
    file: str


class Repeat(dg.Config):
    times: int = 20


def _bars(files: Path_) -> pl.DataFrame:
    """freqtrade JSON: [[ts_ms, open, high, low, close, volume], ...]"""
    rows = json.loads(Path(files.file).read_text())
    return pl.DataFrame(rows, schema=["ts", "open", "high", "low", "close", "volume"], orient="row")


@dg.asset(check_specs=[dg.AssetCheckSpec("non_empty", asset="bars")], code_version="v7", pool="p")
@metered
def bars(context: dg.AssetExecutionContext, config: Repeat, files: Path_) -> dg.MaterializeResult:
    frame = pl.concat([_bars(files)] * config.times)
    return dg.MaterializeResult(
        metadata={"rows": frame.height},
        check_results=[dg.AssetCheckResult(passed=frame.height > 0)],
    )


@dg.asset
@metered
def closes(files: Path_) -> list[float]:  # a value handed to the IO manager
    return [float(x) for x in _bars(files).head(5).to_series(4)]


@dg.asset
@metered
def generated(closes: list[float]):
    yield dg.Output(len(closes), metadata={"rows_inserted": 3, "rows_updated": 2})


@dg.multi_asset(specs=[dg.AssetSpec("left"), dg.AssetSpec("right", deps=["left"])], can_subset=True)
@metered
def pair(context: dg.AssetExecutionContext):
    for key in sorted(context.selected_asset_keys, key=lambda k: k.to_user_string()):
        yield dg.MaterializeResult(asset_key=key, metadata={"rows": 1})


@dg.asset
@metered
def broken(context: dg.AssetExecutionContext):
    context.log.info("about to fail")
    raise RuntimeError("bad bar in row 3")


def test_every_result_kind_is_metered_and_behaviour_is_unchanged(shared_data: Path):
    files = Path_(file=str(shared_data / "crypto" / "binance_spot_2023" / "ETH_USDT-1h.json"))
    assets = [bars, closes, generated, pair]
    assert bars.code_versions_by_key[dg.AssetKey("bars")] == "v7"
    assert bars.op.pool == "p" and "files" in bars.required_resource_keys
    assert defining_module(bars) == __name__  # the automatic code version sees the body
    assert "frame.height" in inspect.getsource(compute_function(bars.op))
    result = dg.materialize(assets, resources={"files": files}, run_config=QUIET)
    assert result.success
    meta = {
        e.asset_key.to_user_string(): {k: v.value for k, v in e.materialization.metadata.items()}
        for e in result.get_asset_materialization_events()
    }
    assert set(meta) == {"bars", "closes", "generated", "left", "right"}
    for key, m in meta.items():
        assert m["wall_s"] >= 0 and m["cpu_s"] >= 0 and m["peak_rss_mb"] > 50, key
    assert meta["bars"]["rows"] == 719 * 20 and meta["bars"]["rows_written"] == 719 * 20
    assert meta["bars"]["cpu_s"] > meta["left"]["cpu_s"]
    assert meta["generated"]["rows_written"] == 5
    assert "rows_written" not in meta["closes"] and "path" in meta["closes"]
    assert meta["left"]["cost_share"] == meta["right"]["cost_share"] == 0.5
    assert result.output_for_node("closes")[0] == pytest.approx(1795.42, abs=500)
    (check,) = result.get_asset_check_evaluations()
    assert check.passed and check.check_name == "non_empty"
    # config still reaches the body
    again = dg.materialize(
        assets,
        selection=["bars"],
        resources={"files": files},
        run_config={**QUIET, "ops": {"bars": {"config": {"times": 1}}}},
    )
    (event,) = again.get_asset_materialization_events()
    assert event.materialization.metadata["rows"].value == 719


def test_a_failing_body_still_fails_with_its_own_error():
    result = dg.materialize([broken], raise_on_error=False, run_config=QUIET)
    assert not result.success
    (failure,) = [e for e in result.all_events if e.is_step_failure]
    assert "bad bar in row 3" in str(failure.step_failure_data.error.cause.message)


def test_async_bodies_are_refused():
    async def body():
        return 1

    with pytest.raises(TypeError, match="async"):
        metered(body)


def test_every_asset_of_the_code_location_is_metered(tmp_path, monkeypatch):
    monkeypatch.setenv("TRADING_ASSETS_HOME", str(tmp_path))
    bare = [
        next(iter(a.keys)).to_user_string()
        for a in project_assets()
        if a.is_materializable
        and isinstance(a.node_def, dg.OpDefinition)
        and not is_metered(compute_function(a.op))
    ]
    assert not bare, f"put @metered on these asset bodies: {bare}"
    assert not is_metered(compute_function(closes.op).__wrapped__)  # the check can fail
