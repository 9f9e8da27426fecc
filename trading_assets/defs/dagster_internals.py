"""Every private Dagster API the project uses, in one place, each covered by a test
(``tests/defs/test_dagster_internals.py``).

Dagster 1.13 has no public way to get the user function behind an op; the rest of the code
calls these adapters, so a Dagster upgrade that moves an internal breaks one module and its
tests, nothing else.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

import dagster as dg


def compute_function(op: dg.OpDefinition) -> Callable[..., Any] | None:
    """The user function an ``@asset``/``@multi_asset``/``@op`` decorator wrapped (None if
    the op was built from a plain compute function)."""
    from dagster._core.definitions.decorators.op_decorator import DecoratedOpFunction

    fn = op.compute_fn
    if isinstance(fn, DecoratedOpFunction):
        return fn.decorated_fn
    return None


def automation_instance(context: dg.AutomationContext) -> dg.DagsterInstance:
    """The instance a custom automation condition is evaluated against (no public accessor
    on ``AutomationContext`` in 1.13)."""
    return context.asset_graph_view.instance


def subset_partitions(subset: Any) -> list[str | None]:
    """The partition keys of an automation candidate subset (``[None]`` for an unpartitioned
    asset in it; no public accessor on ``EntitySubset`` in 1.13)."""
    return sorted(
        (ap.partition_key for ap in subset.expensively_compute_asset_partitions()),
        key=lambda p: p or "",
    )


def subset_of(context: dg.AutomationContext, partitions: list[str | None]) -> Any:
    """The subset of ``context``'s asset holding ``partitions`` (keys as
    :func:`subset_partitions` gives them)."""
    from dagster._core.definitions.events import AssetKeyPartitionKey

    return context.asset_graph_view.get_asset_subset_from_asset_partitions(
        context.key, {AssetKeyPartitionKey(context.key, p) for p in partitions}
    )


def stale_resolver(defs: dg.Definitions, instance: dg.DagsterInstance) -> Any:
    """Dagster's stale-status resolver (what the UI's "stale" uses) over ``defs`` now."""
    from dagster._core.asset_graph_view.asset_graph_view import AssetGraphView, TemporalContext
    from dagster._core.definitions.data_version import CachingStaleStatusResolver
    from dagster._time import get_current_datetime

    graph = defs.resolve_asset_graph()
    view = AssetGraphView(
        temporal_context=TemporalContext(effective_dt=get_current_datetime(), last_event_id=None),
        instance=instance,
        asset_graph=graph,
    )
    return CachingStaleStatusResolver(instance=instance, asset_graph=graph, loading_context=view)


def stale_status(resolver: Any, key: dg.AssetKey, partition: str | None) -> str:
    """``missing``, ``stale`` or ``fresh`` for one asset (partition) by :func:`stale_resolver`."""
    from dagster._core.definitions.data_version import StaleStatus

    status = resolver.get_status(key, partition)
    return {StaleStatus.MISSING: "missing", StaleStatus.STALE: "stale"}.get(status, "fresh")


def check_record_status(record: Any) -> str:
    """``succeeded``, ``failed`` or ``planned`` for an asset check execution record (as
    ``instance.event_log_storage.get_asset_check_execution_history`` returns them)."""
    from dagster._core.storage.asset_check_execution_record import (
        AssetCheckExecutionRecordStatus as Status,
    )

    if record.status == Status.SUCCEEDED:
        return "succeeded"
    if record.status == Status.FAILED:
        return "failed"
    return "planned"


def latest_check_executions(
    instance: dg.DagsterInstance, check_keys: Iterable[dg.AssetCheckKey]
) -> list[Any]:
    """The latest execution record of every (check, partition) of ``check_keys``, as
    ``get_asset_check_execution_history`` returns them, in any order.

    Dagster's storage offers the latest execution per check, or one check's history; on SQL
    storage (SQLite, Postgres) this is one query of its ``asset_check_executions`` table for
    the newest row of each (asset, check, partition), and only those rows' evaluation events
    are deserialized. Elsewhere, each check's last ``HISTORY_FALLBACK`` executions are read.
    """
    from dagster._core.storage.event_log.sql_event_log import SqlEventLogStorage

    keys = {(k.asset_key.to_string(), k.name): k for k in check_keys}
    storage = instance.event_log_storage
    if not keys:
        return []
    if not isinstance(storage, SqlEventLogStorage):
        return _latest_from_history(storage, keys.values())
    import sqlalchemy as db
    from dagster._core.storage.asset_check_execution_record import AssetCheckExecutionRecord
    from dagster._core.storage.event_log.schema import AssetCheckExecutionsTable as checks

    assets = sorted({asset for asset, _ in keys})
    newest = (
        db.select(db.func.max(checks.c.id))
        .where(checks.c.asset_key.in_(assets))
        .group_by(checks.c.asset_key, checks.c.check_name, checks.c.partition)
    )
    query = db.select(
        checks.c.id, checks.c.run_id, checks.c.execution_status, checks.c.evaluation_event,
        checks.c.create_timestamp, checks.c.partition, checks.c.asset_key, checks.c.check_name,
    ).where(checks.c.id.in_(newest))  # fmt: skip
    with storage.index_connection() as conn:
        rows = [dict(row) for row in conn.execute(query).mappings()]
    return [
        AssetCheckExecutionRecord.from_db_row(row, key=keys[(row["asset_key"], row["check_name"])])
        for row in rows
        if (row["asset_key"], row["check_name"]) in keys
    ]


#: executions read per check where the storage is not SQL (see latest_check_executions)
HISTORY_FALLBACK = 200


def _latest_from_history(storage: Any, keys: Iterable[dg.AssetCheckKey]) -> list[Any]:
    latest: dict[tuple[dg.AssetCheckKey, str | None], Any] = {}
    for key in keys:
        for record in storage.get_asset_check_execution_history(key, limit=HISTORY_FALLBACK):
            latest.setdefault((key, record.partition), record)
    return list(latest.values())


#: SQLAlchemy engines kept per event log storage (one per run shard and the index)
MAX_EVENT_LOG_ENGINES = 32


def reuse_sqlite_event_log_engines() -> bool:
    """Make Dagster's SQLite event log storage keep one SQLAlchemy engine, and one open
    SQLite connection, per shard file instead of creating and disposing an engine and
    opening a connection for every use (Dagster 1.13 does the latter: about 0.3 ms each,
    over a thousand times in a new bar's refresh, plus the per-connection pragmas).

    Each use is still one transaction per ``with`` (committed or rolled back at its end, so
    no lock is held between uses and other processes see every commit), with the same busy
    timeout, under the storage's own lock (a plain ``threading.Lock``: uses never nest, so
    one connection per shard serves them one at a time, whatever the thread). At most
    :data:`MAX_EVENT_LOG_ENGINES` engines are kept per storage, the least recently used
    closed first; a forked child process opens its own.

    Idempotent; returns False when Dagster's storage no longer has the method this
    replaces (nothing is changed then).
    """
    import os
    from collections import OrderedDict
    from contextlib import contextmanager

    from dagster._core.storage.event_log.sqlite import sqlite_event_log as module
    from sqlalchemy.pool import StaticPool

    storage = module.SqliteEventLogStorage
    original = storage.__dict__.get("_connect")
    if original is None or not hasattr(module, "create_engine"):
        return False
    if getattr(original, "reuses_engines", False):
        return True

    def engine_of(self, shard: str):  # noqa: ANN001, ANN202 (Dagster's storage, an Engine)
        pid, engines = self.__dict__.get("_trading_assets_engines", (None, None))
        if pid != os.getpid():  # first use, or a forked child: never share a connection
            engines = OrderedDict()
            self.__dict__["_trading_assets_engines"] = (os.getpid(), engines)
        engine = engines.pop(shard, None)
        if engine is None:
            engine = module.create_engine(
                self.conn_string_for_shard(shard),
                poolclass=StaticPool,
                connect_args={
                    "timeout": module.SQLITE_BUSY_TIMEOUT_SECONDS,
                    "check_same_thread": False,  # used by one thread at a time: the lock
                },
            )
        engines[shard] = engine
        while len(engines) > MAX_EVENT_LOG_ENGINES:
            engines.popitem(last=False)[1].dispose()
        return engine

    @contextmanager
    def _connect(self, shard: str):  # noqa: ANN001, ANN202 (Dagster's signature)
        with self._db_lock:
            engine = engine_of(self, shard)
            if shard not in self._initialized_dbs:
                self._initdb(engine)
                self._initialized_dbs.add(shard)
            with engine.connect() as conn, conn.begin():
                yield conn

    _connect.reuses_engines = True  # type: ignore[attr-defined]
    storage._connect = _connect
    return True


def remember_sqlite_event_log_tables() -> bool:
    """Make Dagster's SQLite event log storage remember which index tables exist once it has
    seen them. Dagster 1.13 asks on every asset check evaluation and every dynamic partition
    lookup, each time through a new engine and connection (about 160 times in a new bar's
    refresh). Only found tables are remembered (a table is never dropped while a process
    runs; a missing one is asked again, so one created by another process is seen).

    Idempotent; returns False when Dagster's storage no longer has the method this wraps.
    """
    from dagster._core.storage.event_log.sqlite import sqlite_event_log as module

    storage = module.SqliteEventLogStorage
    original = storage.__dict__.get("has_table")
    if original is None:
        return False
    if getattr(original, "remembers_tables", False):
        return True

    def has_table(self, table_name: str) -> bool:  # noqa: ANN001 (Dagster's storage)
        known = self.__dict__.setdefault("_trading_assets_tables", set())
        if table_name in known:
            return True
        found = original(self, table_name)
        if found:
            known.add(table_name)
        return found

    has_table.remembers_tables = True  # type: ignore[attr-defined]
    storage.has_table = has_table
    return True


def initialized_resource(resource: Any, instance: dg.DagsterInstance | None = None) -> Any:
    """``resource.process_config_and_initialize()``: its ``EnvVar`` fields resolved and its
    value built as a run would, with ``instance`` as the init context's instance. Dagster
    1.13's own method makes a throwaway in-memory instance for that (about 30 ms, 0.3 s the
    first time in a process), which a command-line refresh would pay for every resource it
    reads.

    Raises:
        DagsterInvalidConfigError: the resource's config does not validate.
    """
    if instance is None:
        return resource.process_config_and_initialize()
    from dagster._config.post_process import post_process_config
    from dagster._core.errors import DagsterInvalidConfigError

    processed = post_process_config(
        resource._config_schema.config_type, resource._convert_to_config_dictionary()
    )
    if not processed.success:
        raise DagsterInvalidConfigError(
            "Errors while initializing resource", processed.errors, processed
        )
    context = dg.build_init_resource_context(config=processed.value, instance=instance)
    return resource.from_resource_context(context, nested_resources=resource.nested_resources)
