"""The leaderboard from an MLflow registry: champion versions, best first; models without a
champion or whose run is gone keep their row. (The real MLflow store is exercised in
``tests/defs/test_report.py``; here a stand-in client with MLflow's method names.)"""

from __future__ import annotations

from types import SimpleNamespace

from trading_assets.report.leaderboard import champion_leaderboard


class Registry:
    def __init__(self, models, aliases, runs):
        self.models, self.aliases, self.runs = models, aliases, runs

    def search_registered_models(self):
        return [
            SimpleNamespace(
                name=n, latest_versions=[SimpleNamespace(version=v, run_id=r) for v, r in vs]
            )
            for n, vs in self.models.items()
        ]

    def get_model_version_by_alias(self, name, alias):
        if (name, alias) not in self.aliases:
            raise LookupError(f"no alias {alias} on {name}")
        version, run_id = self.aliases[(name, alias)]
        return SimpleNamespace(version=version, run_id=run_id)

    def get_run(self, run_id):
        if run_id not in self.runs:
            raise LookupError(run_id)
        return SimpleNamespace(data=SimpleNamespace(metrics=self.runs[run_id]))


def test_champions_best_ic_first():
    registry = Registry(
        models={
            "fwd_ret_1-1h-lightgbm": [("1", "r1"), ("2", "r2")],
            "fwd_ret_1-1h-svm": [("1", "r3")],
            "fwd_ret_1-1d-arima": [("3", "gone")],
            "fwd_ret_1-1d-mlp": [("1", "r5"), ("4", "r6")],
        },
        aliases={
            ("fwd_ret_1-1h-lightgbm", "champion"): ("2", "r2"),
            ("fwd_ret_1-1h-svm", "champion"): ("1", "r3"),
            ("fwd_ret_1-1d-arima", "champion"): ("3", "gone"),
        },
        runs={
            "r2": {"val_ic": 0.021, "val_rmse": 0.011, "train_loss": 0.3, "test_ic": 0.09},
            "r3": {"val_ic": 0.034, "val_rmse": 0.012, "test_rmse": 0.013, "test_ic": -0.02},
            "r6": {"val_ic": -0.01},
        },
    )
    board = champion_leaderboard(registry)
    assert board["model"].to_list() == [
        "fwd_ret_1-1h-svm",
        "fwd_ret_1-1h-lightgbm",
        "fwd_ret_1-1d-mlp",
        "fwd_ret_1-1d-arima",
    ]
    assert board["version"].to_list() == ["1", "2", "4 (latest)", "3"]
    # validation and test metrics apart; the ranking reads validation only (r2's test IC is
    # the best, it still ranks second)
    assert board["metrics"][1] == "val_ic=0.021, val_rmse=0.011"
    assert board["test_metrics"][1] == "test_ic=0.09"
    assert board["metrics"][0] == "val_ic=0.034, val_rmse=0.012"
    assert board["test_metrics"][0] == "test_ic=-0.02, test_rmse=0.013"
    assert board["metrics"][3] == "" and board["test_metrics"][3] == ""  # run deleted: row kept


def test_empty_registry():
    assert champion_leaderboard(Registry({}, {}, {})).height == 0


def test_a_sqlite_leaderboard_is_read_again_only_after_the_store_changed(tmp_path, monkeypatch):
    """A new bar re-renders the report from the cached leaderboard (no MLflow); a training
    (any write to the store file) makes the next report read MLflow again."""
    import polars as pl

    from trading_assets.report import leaderboard

    store = tmp_path / "mlflow.db"
    store.write_bytes(b"registry v1")
    uri, cache = f"sqlite:///{store}", tmp_path / "cache"
    reads = []

    def read(client):
        reads.append(client)
        return pl.DataFrame({"model": ["fwd_ret_1-1h-lightgbm"], "ic": [0.05 * len(reads)]})

    monkeypatch.setattr(leaderboard, "champion_leaderboard", read)
    monkeypatch.setattr("trading_assets.mlflow_store.client", lambda uri: "client")
    first, problem = leaderboard.read_leaderboard(uri, cache)
    again, _ = leaderboard.read_leaderboard(uri, cache)
    assert problem is None and len(reads) == 1 and again.equals(first)
    assert leaderboard.leaderboard_version(again) == leaderboard.leaderboard_version(first)
    store.write_bytes(b"registry v2, a retraining later")
    changed, _ = leaderboard.read_leaderboard(uri, cache)
    assert len(reads) == 2 and changed["ic"][0] == 0.1
    assert leaderboard.leaderboard_version(changed) != leaderboard.leaderboard_version(first)
    # without a cache folder every call reads MLflow
    leaderboard.read_leaderboard(uri)
    assert len(reads) == 3
