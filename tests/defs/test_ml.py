"""End to end on real data (local profile): ETH and BTC 1m bars (resampled to 1h and 1d by
the pipeline) and ORCL/NVDA daily; every model family trains on 1h and 1d, out-of-sample
predictions land in ml.predictions, MLflow holds the runs, registered models and aliases, and
a second materialization with no new data trains nothing and creates no MLflow run."""

from pathlib import Path

import polars as pl
import pytest

from tests.conftest import use_local_profile
from trading_assets import Warehouse
from trading_assets.definitions import build_definitions
from trading_assets.home import ProjectHome
from trading_assets.ml.families import DEFAULT_FAMILIES, FAMILIES
from trading_assets.runner import dagster_instance, materialize
from trading_assets.sessions import bar_close_of

FILES = {
    "crypto/binance_spot_2023/ETH_USDT-1m.json": "ETH_USDT-1m.json",
    "crypto/binance_spot_2023/BTC_USDT-1m.json": "BTC_USDT-1m.json",
    "equities/daily/orcl-1995-2014.txt": "orcl-1995-2014.txt",
    "equities/daily/nvda-1999-2014.txt": "nvda-1999-2014.txt",
}


@pytest.fixture(scope="module")
def ml_run(tmp_path_factory, shared_data: Path):
    mp = pytest.MonkeyPatch()
    root = tmp_path_factory.mktemp("ml_e2e")
    data = root / "data"
    data.mkdir()
    for source, name in FILES.items():
        (data / name).symlink_to(shared_data / source)
    home = root / "home"
    use_local_profile(mp, home, data)
    instance = dagster_instance(ProjectHome.from_env())
    defs = build_definitions()
    first = materialize(defs, instance)
    from mlflow import MlflowClient

    uri = ProjectHome.from_env().mlflow_tracking_uri
    client = MlflowClient(tracking_uri=uri, registry_uri=uri)
    runs_after_first = len(client.search_runs(_experiments(client)))
    second = materialize(defs, instance, selection='key:"ml/models" or key:"ml/predictions"')
    yield first, second, Warehouse(), client, runs_after_first
    mp.undo()


def _experiments(client) -> list[str]:
    return [e.experiment_id for e in client.search_experiments() if e.name == "trading-models"]


def test_every_family_trains_on_1h_and_1d_and_predictions_are_stored(ml_run):
    first, _, wh, client, runs = ml_run
    assert first.ok, first.failures
    stored = wh.sql(
        "SELECT model, family, timeframe, count(DISTINCT symbol) AS symbols, count(*) AS n, "
        "count(DISTINCT fold) AS folds, min(epoch(available_at) - epoch(ts)) AS lag "
        "FROM ml.predictions GROUP BY ALL"
    )
    by_model = {r["model"]: r for r in stored.iter_rows(named=True)}
    regression = [
        f for f, spec in FAMILIES.items() if spec.trains("regression") and f in DEFAULT_FAMILIES
    ]
    expected = {f"fwd_ret_1-{tf}-{f}" for tf in ("1h", "1d") for f in regression}
    assert "fwd_ret_1-1h-lstm" not in expected  # opt-in (tests/ml/test_families_served.py)
    assert set(by_model) == expected
    for name, row in by_model.items():
        assert row["folds"] == 5 and row["n"] > 100, name  # 4 validation folds, 1 test fold
        assert row["lag"] == 3600 if row["timeframe"] == "1h" else row["lag"] <= 86400
    # every prediction is available at its bar's close: ts + 1h for crypto hours, the New York
    # session close for equity days (not midnight UTC)
    placed = wh.sql("SELECT DISTINCT symbol, timeframe, ts, available_at FROM ml.predictions")
    assert (placed["available_at"] == bar_close_of(placed)).all()
    equity_days = placed.filter(~pl.col("symbol").str.contains("/") & (pl.col("timeframe") == "1d"))
    assert equity_days.height and (equity_days["available_at"].dt.hour() < 22).all()
    assert by_model["fwd_ret_1-1h-lightgbm"]["symbols"] == 2
    assert by_model["fwd_ret_1-1d-lightgbm"]["symbols"] == 4
    contributions = wh.sql(
        "SELECT count(*) AS n FROM ml.prediction_contributions "
        "WHERE model = 'fwd_ret_1-1h-lightgbm'"
    )["n"][0]
    assert contributions == 3 * by_model["fwd_ret_1-1h-lightgbm"]["n"]

    # MLflow: one run per model; every family but the baselines registered with a champion
    assert runs == len(expected)
    baselines = {n for n in expected if n.rsplit("-", 1)[1] in ("zero", "last", "moving_average")}
    registered = {m.name: m for m in client.search_registered_models()}
    assert set(registered) == expected - baselines
    for name in expected:
        if name in baselines:  # a run, for comparison; never registered
            (run,) = client.search_runs(_experiments(client), f"tags.model_name = '{name}'")
            assert run.data.tags["role"] == "baseline"
            continue
        champion = client.get_model_version_by_alias(name, "champion")
        run = client.get_run(champion.run_id)
        assert run.data.tags["model_name"] == name
        assert run.data.tags["input_data_version"]
        # validation (selection) and test-window metrics apart; the first version is champion
        assert {"val_ic", "test_ic"} <= set(run.data.metrics)
        assert {"val_rmse", "test_rmse"} <= set(run.data.metrics)
        assert champion.tags["selection_reason"] == "first version: no champion yet"
        # descriptions: what it predicts, the horizon, the inputs, how it was chosen
        assert "Predicts `fwd_ret_1`" in registered[name].description
        assert "Alias `champion`" in registered[name].description
        assert "first version: no champion yet" in champion.description
    # the best family per (target, timeframe): one `best`, on the highest validation IC
    for tf in ("1h", "1d"):
        family_models = [n for n in registered if f"-{tf}-" in n]
        best = [n for n in family_models if "best" in registered[n].aliases]
        assert len(best) == 1, (tf, best)
        ics = {n: float(client.get_model_version_by_alias(n, "champion").tags["val_ic"])
               for n in family_models}  # fmt: skip
        assert best[0] == max(ics, key=ics.get)
        assert registered[best[0]].aliases["best"] == registered[best[0]].aliases["champion"]


def test_second_run_without_new_data_trains_nothing(ml_run):
    first, second, _, client, runs = ml_run
    assert second.ok, second.failures
    assert len(client.search_runs(_experiments(client))) == runs
    for key in ("ml/models", "ml/predictions"):
        assert second.outcomes[key].data_versions == first.outcomes[key].data_versions
        assert second.outcomes[key].rows_written == 0
