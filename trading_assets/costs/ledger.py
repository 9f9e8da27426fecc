"""The cost ledger: metered materializations as ``ops.cost_metrics`` rows, and its summaries.

A metered materialization carries ``wall_s``, ``cpu_s``, ``peak_rss_mb`` and row counts in its
metadata (see :mod:`trading_assets.defs.ops.meter`, which reads the Dagster event log and
hands each one here as a :class:`Materialization`). :func:`ledger_rows` turns them into rows
with the columns of :data:`trading_assets.schemas.COST_METRICS_SCHEMA`; :func:`summarize`
prices nothing but sums the stored, priced rows per asset, run, day and signal and judges
today's spend against the budget. Seconds are seconds, memory MiB, money USD, times UTC.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

import duckdb
import polars as pl

from trading_assets import schemas
from trading_assets.costs.pricing import BudgetVerdict, cost_by, cost_per_day, judge_budget
from trading_assets.warehouse import catalog, writes
from trading_assets.warehouse.ddl import ensure_table

LEDGER_TABLE = "ops.cost_metrics"
SIGNALS_TABLE = "signals.signals"


def _plain(value: Any) -> Any:
    """A metadata entry's value (``MetadataValue.value``), or the value itself."""
    return getattr(value, "value", value)


def _number(metadata: Mapping[str, Any], key: str, default: float = 0.0) -> float:
    value = _plain(metadata.get(key))
    return float(value) if isinstance(value, int | float) else default


def rows_written(metadata: Mapping[str, Any] | None) -> int | None:
    """Rows an asset wrote, from its own materialization metadata (plain values or
    ``MetadataValue``\\ s): ``rows_written`` if given, else ``rows_inserted + rows_updated +
    rows_deleted`` (those present), else an integer ``rows``; None if it reports no row
    counts."""
    meta = {k: _plain(v) for k, v in (metadata or {}).items()}
    if "rows_written" in meta:
        return int(meta["rows_written"] or 0)
    parts = [meta[k] for k in ("rows_inserted", "rows_updated", "rows_deleted") if k in meta]
    if parts:
        return int(sum(int(p or 0) for p in parts))
    if isinstance(meta.get("rows"), int):
        return int(meta["rows"])
    return None


@dataclass(frozen=True)
class Materialization:
    """One stored materialization, as the ledger needs it.

    Attributes:
        run_id: the run that produced it.
        asset_key: the asset key as text (``signals/signals``).
        partition: its partition key (None: unpartitioned).
        timestamp: when it was stored, POSIX seconds (UTC).
        metadata: its metadata, plain values or ``MetadataValue``\\ s.
    """

    run_id: str
    asset_key: str
    partition: str | None
    timestamp: float
    metadata: Mapping[str, Any]


def ledger_row(record: Materialization) -> dict[str, Any] | None:
    """The ``ops.cost_metrics`` row of ``record`` (``cost_usd`` None: not priced yet), or None
    when it was not metered (no ``wall_s``).

    ``wall_s``/``cpu_s`` are the asset's share of its step (``cost_share``, default 1);
    ``started_at`` is the materialization time minus its wall time (aware UTC datetime)."""
    meta = record.metadata
    if "wall_s" not in meta:
        return None
    share = _number(meta, "cost_share", 1.0)
    wall = _number(meta, "wall_s")
    return {
        "run_id": record.run_id,
        "asset_key": record.asset_key,
        "partition": record.partition or "",
        "started_at": datetime.fromtimestamp(record.timestamp - wall, UTC),
        "wall_s": wall * share,
        "cpu_s": _number(meta, "cpu_s") * share,
        "peak_rss_mb": _number(meta, "peak_rss_mb"),
        "rows": int(rows_written(meta) or 0),
        "llm_tokens": int(_number(meta, "llm_tokens")),
        "cost_usd": None,
    }


def ledger_rows(records: Iterable[Materialization]) -> pl.DataFrame:
    """The ``ops.cost_metrics`` rows (``COST_METRICS_SCHEMA``, ``cost_usd`` null) of the
    metered ones of ``records``, in order; unmetered records are left out."""
    rows = [row for record in records if (row := ledger_row(record)) is not None]
    return pl.DataFrame(rows, schema=schemas.COST_METRICS_SCHEMA)


def ledger_size(con: duckdb.DuckDBPyConnection) -> int:
    """Rows stored in ``ops.cost_metrics`` (the table is created if missing)."""
    ensure_table(con, LEDGER_TABLE)
    return int(con.execute(f"SELECT count(*) FROM {LEDGER_TABLE}").fetchall()[0][0])


@dataclass(frozen=True)
class StoredLedger:
    """What :func:`store_ledger` did and read back.

    Attributes:
        write: the upsert into ``ops.cost_metrics``.
        stored: every ``ops.cost_metrics`` row after it (``COST_METRICS_SCHEMA``).
        signals: rows of ``signals.signals`` (None: no such table yet).
    """

    write: writes.WriteResult
    stored: pl.DataFrame
    signals: int | None


def store_ledger(con: duckdb.DuckDBPyConnection, fresh: pl.DataFrame) -> StoredLedger:
    """Upsert priced ``fresh`` rows into ``ops.cost_metrics`` (keyed by run, asset and
    partition: re-runs change nothing), then read the whole ledger and the signal count.

    Raises:
        duckdb.Error: the write failed (rolled back).
    """
    write = writes.upsert(con, LEDGER_TABLE, fresh, schemas.COST_METRICS_KEY)
    stored = con.sql(f"SELECT * FROM {LEDGER_TABLE}").pl()
    signals = None
    if catalog.table_exists(con, SIGNALS_TABLE):
        signals = int(con.execute(f"SELECT count(*) FROM {SIGNALS_TABLE}").fetchall()[0][0])
    return StoredLedger(write, stored, signals)


def cost_per_signal(stored: pl.DataFrame, signals: int | None, signal_asset: str) -> float | None:
    """USD of every run that materialized ``signal_asset`` (an asset key as text) per stored
    signal; None if there are no signals (``signals`` None or 0) or no such runs.

    ``stored``: priced ``ops.cost_metrics`` rows (``COST_METRICS_SCHEMA``)."""
    if not signals:
        return None
    runs = stored.filter(pl.col("asset_key") == signal_asset)["run_id"]
    if runs.is_empty():
        return None
    return float(stored.filter(pl.col("run_id").is_in(runs.implode()))["cost_usd"].sum()) / signals


def cost_per_run(stored: pl.DataFrame, n: int = 10) -> pl.DataFrame:
    """The ``n`` latest runs of ``stored`` (priced ``ops.cost_metrics`` rows), oldest first:
    ``run_id`` (first 8 characters), ``started_at`` (UTC, its first materialization),
    ``assets`` (materializations), ``wall_s`` (sum, 3 decimals), ``cost_usd`` (sum)."""
    return (
        stored.group_by("run_id")
        .agg(
            pl.col("started_at").min().alias("started_at"),
            pl.len().alias("assets"),
            pl.col("wall_s").sum().round(3),
            pl.col("cost_usd").sum(),
        )
        .sort("started_at")
        .tail(n)
        .with_columns(pl.col("run_id").str.slice(0, 8))
    )


def spent_on(stored: pl.DataFrame, day: date) -> float:
    """USD of the rows of ``stored`` that started on UTC ``day``."""
    return float(stored.filter(pl.col("started_at").dt.date() == day)["cost_usd"].sum())


@dataclass(frozen=True)
class CostSummary:
    """The stored ledger summed up.

    Attributes:
        total_usd: every stored row.
        today_usd: rows started on the summary's UTC day.
        verdict: today's spend against the warn level and the budget.
        per_signal_usd: :func:`cost_per_signal` (None: no signals yet).
        per_asset: the 25 most expensive assets (:func:`~trading_assets.costs.pricing.cost_by`).
        per_run: the 10 latest runs (:func:`cost_per_run`).
        per_day: USD and materializations per UTC day
            (:func:`~trading_assets.costs.pricing.cost_per_day`).
    """

    total_usd: float
    today_usd: float
    verdict: BudgetVerdict
    per_signal_usd: float | None
    per_asset: pl.DataFrame
    per_run: pl.DataFrame
    per_day: pl.DataFrame


def summarize(
    stored: pl.DataFrame,
    *,
    today: date,
    warn_usd: float,
    budget_usd: float,
    signals: int | None,
    signal_asset: str,
) -> CostSummary:
    """Sum up ``stored`` (priced ``ops.cost_metrics`` rows) for UTC day ``today``; ``signals``
    is the number of stored signals (None: no signals table) produced by ``signal_asset``.

    Raises:
        ValueError: a negative threshold, or ``warn_usd`` above ``budget_usd``
            (:func:`~trading_assets.costs.pricing.judge_budget`).
    """
    spent = spent_on(stored, today)
    return CostSummary(
        total_usd=float(stored["cost_usd"].sum()),
        today_usd=spent,
        verdict=judge_budget(spent, warn_usd, budget_usd),
        per_signal_usd=cost_per_signal(stored, signals, signal_asset),
        per_asset=cost_by(stored, "asset_key").head(25),
        per_run=cost_per_run(stored),
        per_day=cost_per_day(stored),
    )


__all__ = [
    "CostSummary",
    "Materialization",
    "StoredLedger",
    "cost_per_run",
    "cost_per_signal",
    "ledger_row",
    "ledger_rows",
    "ledger_size",
    "rows_written",
    "spent_on",
    "store_ledger",
    "summarize",
]
