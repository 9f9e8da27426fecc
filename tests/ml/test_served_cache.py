"""The live path's cache: champions are read from MLflow again as soon as the registry file
changes (an alias moved by hand), fitted models are copied once and survive corruption."""

from __future__ import annotations

import pickle

import pytest

from trading_assets.ml.served_cache import ChampionRef, ServedCache, registry_signature
from trading_assets.ml.tracking import champion

NAME = "fwd_ret_1-1h-lightgbm"


@pytest.fixture()
def registry(tmp_path):
    """A real MLflow SQLite registry with two versions of NAME, champion on version 1."""
    from trading_assets import mlflow_store

    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    client = mlflow_store.client(uri)
    client.create_registered_model(NAME)
    for _ in range(2):
        client.create_model_version(NAME, source=str(tmp_path / "model"))
    client.set_registered_model_alias(NAME, "champion", "1")
    return uri, client


def _counting(uri: str, calls: list[str]):
    def resolve(name: str) -> ChampionRef | None:
        calls.append(name)
        found = champion(uri, name)
        return ChampionRef(found.version, found.run_id or "") if found else None

    return resolve


def test_champions_come_from_the_cache_until_the_registry_changes(registry, tmp_path):
    uri, client = registry
    cache, calls = ServedCache(tmp_path / "served"), []
    names = [NAME, "dir_1-1h-svc"]  # the second was never registered: no champion
    first = cache.champions(uri, names, _counting(uri, calls))
    assert first[NAME].version == "1" and first["dir_1-1h-svc"] is None
    assert calls == names
    # nothing changed in the registry: a new process (new cache object) asks MLflow nothing
    again = ServedCache(tmp_path / "served")
    assert again.champions(uri, names, _counting(uri, calls)) == first
    assert calls == names and again.hits == 1
    # the alias moved by hand (as in the MLflow UI): the next run sees version 2
    client.set_registered_model_alias(NAME, "champion", "2")
    moved = ServedCache(tmp_path / "served").champions(uri, [NAME], _counting(uri, calls))
    assert moved[NAME].version == "2" and calls == [*names, NAME]


def test_a_name_not_cached_yet_or_another_store_is_asked(registry, tmp_path):
    uri, _ = registry
    cache, calls = ServedCache(tmp_path / "served"), []
    cache.champions(uri, [NAME], _counting(uri, calls))
    cache.champions(uri, [NAME, "fwd_ret_5-1h-lightgbm"], _counting(uri, calls))
    assert calls == [NAME, NAME, "fwd_ret_5-1h-lightgbm"]
    # a server or Postgres store has no file signature: always asked
    assert registry_signature("postgresql://u@h/db") is None
    assert registry_signature("http://127.0.0.1:5000") is None
    other = []
    for _ in range(2):
        cache.champions("http://127.0.0.1:5000", [NAME], lambda n: other.append(n))
    assert other == [NAME, NAME]


def test_a_fitted_model_is_copied_once_and_a_corrupt_copy_is_rebuilt(tmp_path):
    artifact = tmp_path / "fitted.pkl"
    artifact.write_bytes(pickle.dumps({"weights": [1.0, 2.0]}))
    downloads = []

    def download():
        downloads.append(1)
        return artifact

    cache, ref = ServedCache(tmp_path / "served"), ChampionRef("3", "abc")
    assert cache.fitted(NAME, ref, download) == {"weights": [1.0, 2.0]}
    assert cache.fitted(NAME, ref, download) == {"weights": [1.0, 2.0]}
    assert len(downloads) == 1 and cache.hits == 1
    (copy,) = (tmp_path / "served" / "models").rglob("*.pkl")
    copy.write_bytes(b"not a pickle")
    assert cache.fitted(NAME, ref, download) == {"weights": [1.0, 2.0]}
    assert len(downloads) == 2
    # another run id (a registry reset reusing version 3) is another entry
    assert cache.fitted(NAME, ChampionRef("3", "def"), download) == {"weights": [1.0, 2.0]}
    assert len(downloads) == 3
