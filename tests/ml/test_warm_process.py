"""The warm process: it loads the cached champions before it is asked, answers exactly what
live prediction and chart drawing in process give, and a failure there is an error the
assets fall back from."""

from __future__ import annotations

import pickle
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pytest

from trading_assets import warm_process
from trading_assets.ml import live
from trading_assets.ml.dataset import prepare
from trading_assets.ml.families import FAMILIES
from trading_assets.ml.served_cache import ChampionRef, ServedCache

NAME = "fwd_ret_1-1h-lightgbm"
REF = ChampionRef("3", "run-abc")
NOW = datetime(2030, 1, 1, tzinfo=UTC)
SPECS = [
    live.ServedSpec(NAME, "lightgbm", "fwd_ret_1", "1h", "3", REF),
    live.ServedSpec("fwd_ret_1-1h-last", "last", "fwd_ret_1", "1h", live.FORMULA_VERSION, None),
]


@pytest.fixture(scope="module")
def fitted(table_1h):
    ds = prepare(table_1h, "1h", "fwd_ret_1")
    rows = np.arange(ds.frame.height)
    return FAMILIES["lightgbm"].fit(ds, rows, FAMILIES["lightgbm"].params({"n_estimators": 20}))


@pytest.fixture()
def cached(tmp_path: Path, fitted) -> tuple[str, Path]:
    """A served cache holding the champion of NAME (version 3) for a registry file."""
    registry = tmp_path / "mlflow.db"
    registry.write_bytes(b"not a database: the cache keys on the file's size and mtime")
    uri = f"sqlite:///{registry}"
    cache = ServedCache(tmp_path / "served")
    cache.champions(uri, [NAME], lambda name: REF)
    artifact = tmp_path / "fitted.pkl"
    artifact.write_bytes(pickle.dumps(fitted))
    cache.fitted(NAME, REF, lambda: artifact)
    return uri, tmp_path / "served"


def test_the_warm_process_answers_what_this_process_computes(table_1h, cached):
    uri, folder = cached
    tails = {"1h": table_1h}
    here = live.predict_served(live.load_served(SPECS, uri, ServedCache(folder)), tails, {}, NOW)
    assert here.rows.height == 4  # two models, the newest bar of ETH and BTC
    with warm_process.warmed(uri, folder) as process:
        assert warm_process.warm_process(uri, folder / ".." / "served") is process
        answer = process.predict(SPECS, tails, {}, NOW)
        # the same process serves the next bar too
        again = process.predict(SPECS, tails, {NAME: here.rows.select("symbol", "ts")
                                               .rename({"ts": "last_ts"})}, NOW)  # fmt: skip
    assert warm_process.warm_process(uri, folder) is None
    assert answer.warmed == (f"{NAME}@3",)  # loaded from the cache before it was asked
    assert answer.cache_hits == 1
    assert answer.run.rows.drop("predicted_at").equals(here.rows.drop("predicted_at"))
    assert answer.run.contributions.equals(here.contributions)
    assert (answer.run.skipped, answer.run.gaps) == (here.skipped, here.gaps)
    assert (answer.run.rows["predicted_at"] >= here.rows["predicted_at"].max()).all()
    assert set(again.run.rows["model"]) == {"fwd_ret_1-1h-last"}  # tail-incremental


def test_a_failed_request_is_an_error_and_the_process_serves_on(table_1h, cached):
    uri, folder = cached
    unknown = live.ServedSpec(NAME, "lightgbm", "fwd_ret_1", "1h", "4", ChampionRef("4", "x"))
    with warm_process.warmed(uri, folder) as process:
        with pytest.raises(warm_process.WarmProcessError, match="Traceback"):
            process.predict([unknown], {"1h": table_1h}, {}, NOW)  # not cached, no registry
        assert process.predict(SPECS, {"1h": table_1h}, {}, NOW).run.rows.height == 4


def test_a_dead_process_is_an_error(table_1h, cached):
    uri, folder = cached
    with warm_process.warmed(uri, folder) as process:
        process._child.kill()
        process._child.wait()
        with pytest.raises(warm_process.WarmProcessError, match="ended"):
            process.predict(SPECS, {"1h": table_1h}, {}, NOW)


def test_the_asset_predicts_in_process_when_the_warm_process_fails(table_1h, cached, monkeypatch):
    from trading_assets.defs.ml import live as live_asset

    uri, folder = cached

    class Broken:
        def predict(self, *args):
            raise warm_process.WarmProcessError("the warm process ended: EOFError()")

    class Log:
        warnings: list[str] = []

        def warning(self, message: str) -> None:
            self.warnings.append(message)

    context = type("Context", (), {"log": Log()})()
    monkeypatch.setattr(warm_process, "warm_process", lambda uri, folder: Broken())
    run, hits, served_by = live_asset._predict(
        context, uri, ServedCache(folder), SPECS, {"1h": table_1h}, {}
    )
    assert served_by == "this process" and hits == 1
    assert run.rows.height == 4
    assert context.log.warnings == [
        "the warm process failed, predicting here: the warm process ended: EOFError()"
    ]
