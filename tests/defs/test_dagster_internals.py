"""Each private Dagster API the project uses, through its adapter, on a small code location
(these tests fail first when a Dagster upgrade moves an internal). No ``from __future__ import
annotations``: Dagster reads the annotations."""

import dagster as dg
import pytest

from trading_assets.defs import dagster_internals as internals


@dg.asset(check_specs=[dg.AssetCheckSpec("positive", asset="numbers")])
def numbers(context: dg.AssetExecutionContext):
    """A source of numbers."""
    yield dg.MaterializeResult(metadata={"rows": 3})
    yield dg.AssetCheckResult(check_name="positive", passed=True)


@dg.asset(deps=[numbers], code_version="1")
def doubled() -> None:
    """Numbers times two."""


SEEN: list = []


class _Sees(dg.AutomationCondition):
    @property
    def description(self) -> str:
        return "records the instance it is evaluated against"

    def evaluate(self, context: dg.AutomationContext) -> dg.AutomationResult:
        SEEN.append(internals.automation_instance(context))
        return dg.AutomationResult(context, true_subset=context.get_empty_subset())


def test_compute_function():
    assert internals.compute_function(numbers.op).__name__ == "numbers"
    assert internals.compute_function(numbers.op).__module__ == __name__


def test_stale_status_and_check_records():
    instance = dg.DagsterInstance.ephemeral()
    defs = dg.Definitions(assets=[numbers, doubled])
    resolver = internals.stale_resolver(defs, instance)
    assert internals.stale_status(resolver, numbers.key, None) == "missing"
    assert dg.materialize([numbers, doubled], instance=instance).success
    resolver = internals.stale_resolver(defs, instance)
    assert internals.stale_status(resolver, doubled.key, None) == "fresh"
    edited = dg.Definitions(
        assets=[numbers, doubled.map_asset_specs(lambda s: s.replace_attributes(code_version="2"))]
    )
    assert internals.stale_status(
        internals.stale_resolver(edited, instance), doubled.key, None
    ) == ("stale")
    key = dg.AssetCheckKey(numbers.key, "positive")
    (record,) = instance.event_log_storage.get_asset_check_execution_history(key, limit=1)
    assert internals.check_record_status(record) == "succeeded"


def test_automation_instance():
    instance = dg.DagsterInstance.ephemeral()

    @dg.asset(automation_condition=_Sees())
    def watched() -> None:
        """Evaluated by the custom condition."""

    SEEN.clear()
    dg.evaluate_automation_conditions(defs=[watched], instance=instance)
    assert SEEN and SEEN[0] is instance


LETTERS = dg.StaticPartitionsDefinition(["a", "b", "c"])


class _KeepsB(dg.AutomationCondition):
    @property
    def description(self) -> str:
        return "true for partition b only, through the subset adapters"

    def evaluate(self, context: dg.AutomationContext) -> dg.AutomationResult:
        SEEN.append(internals.subset_partitions(context.candidate_subset))
        kept = [p for p in internals.subset_partitions(context.candidate_subset) if p == "b"]
        return dg.AutomationResult(context, true_subset=internals.subset_of(context, kept))


def test_subset_partitions_and_subset_of():
    @dg.asset(partitions_def=LETTERS, automation_condition=_KeepsB())
    def lettered() -> None:
        """Partitioned, evaluated by the custom condition."""

    @dg.asset(automation_condition=_KeepsB())
    def whole() -> None:
        """Unpartitioned: its one candidate is None."""

    SEEN.clear()
    result = dg.evaluate_automation_conditions(
        defs=[lettered, whole], instance=dg.DagsterInstance.ephemeral()
    )
    assert sorted(SEEN, key=len) == [[None], ["a", "b", "c"]]
    assert set(result.get_requested_partitions(lettered.key)) == {"b"}
    assert result.get_num_requested(whole.key) == 0


def test_reuse_sqlite_event_log_engines_replaces_the_connect_once():
    """The engine reuse itself, end to end, is tested in ``tests/test_dagster_sqlite.py``."""
    from dagster._core.storage.event_log.sqlite.sqlite_event_log import SqliteEventLogStorage

    assert internals.reuse_sqlite_event_log_engines()
    patched = SqliteEventLogStorage._connect
    assert getattr(patched, "reuses_engines", False)
    assert internals.reuse_sqlite_event_log_engines()
    assert SqliteEventLogStorage._connect is patched


def test_remembered_event_log_tables_are_asked_once(tmp_path, monkeypatch):
    from dagster._core.storage.event_log.sqlite import sqlite_event_log as module

    assert internals.remember_sqlite_event_log_tables()
    assert internals.remember_sqlite_event_log_tables()  # idempotent
    storage = module.SqliteEventLogStorage(str(tmp_path / "history"))
    engines = []
    real_create = module.create_engine
    monkeypatch.setattr(module, "create_engine", lambda *a, **k: engines.append(a) or
                        real_create(*a, **k))  # fmt: skip
    assert storage.has_table("asset_check_executions")
    assert all(storage.has_table("asset_check_executions") for _ in range(5))
    assert len(engines) == 1  # found once, then remembered
    assert not storage.has_table("no_such_table")
    assert not storage.has_table("no_such_table")
    assert len(engines) == 3  # a missing table is asked every time


class _Folder(dg.ConfigurableResource):
    """A resource with an EnvVar field, as the project's price sources have."""

    root: str
    depth: int = 1


def test_initialized_resource_resolves_env_vars_with_the_given_instance(monkeypatch):
    monkeypatch.setenv("TRADING_TEST_FOLDER", "/data/here")
    resource = _Folder(root=dg.EnvVar("TRADING_TEST_FOLDER"), depth=3)
    stock = resource.process_config_and_initialize()
    with dg.instance_for_test() as instance:

        def no_throwaway_instance(*args, **kwargs):
            raise AssertionError("a throwaway instance was made")

        monkeypatch.setattr(dg.DagsterInstance, "ephemeral", no_throwaway_instance)
        ours = internals.initialized_resource(resource, instance)
        with pytest.raises(AssertionError, match="throwaway"):
            resource.process_config_and_initialize()
    assert (ours.root, ours.depth) == (stock.root, stock.depth) == ("/data/here", 3)
    bad = _Folder(root=dg.EnvVar("TRADING_TEST_FOLDER_UNSET"))
    with dg.instance_for_test() as instance, pytest.raises(Exception, match="TRADING_TEST_FOLDER"):
        internals.initialized_resource(bad, instance)
