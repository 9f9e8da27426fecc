"""Loading a symbol's source items for ingestion: skip the unchanged, load the rest one by one.

Every item read ends in one state (:mod:`trading_assets.sources.states`): ``landed``,
``partly_landed`` (the good rows land, the bad rows are set aside in ``ops.rejected_rows``)
or ``rejected`` (its structure cannot be read, or more than ``max_bad_row_share`` of its rows
are bad). A rejected item is recorded and skipped; the others still land. Every item read
gets a bookkeeping row for ``ops.source_items``, so the next run skips the items whose
fingerprint it already read (and says again which ones were rejected).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import polars as pl

from trading_assets import schemas
from trading_assets.errors import SourceDataError, SourceUnavailableError, TradingAssetsError
from trading_assets.sources.base import Loaded, SourceItem
from trading_assets.sources.states import (
    LANDED,
    MAX_BAD_ROW_SHARE,
    PARTLY_LANDED,
    REJECTED,
    Problem,
    fix_for,
)


@dataclass(frozen=True)
class IngestBatch:
    """What :func:`load_new_items` read for one symbol and kind.

    Attributes:
        rows: the landed items' canonical rows, concatenated (the canonical schema of the
            kind, empty when nothing landed; timestamps UTC, prices float64 in the quote
            currency).
        items: rows for ``ops.source_items`` (:data:`trading_assets.schemas.SOURCE_ITEMS_SCHEMA`),
            one per item read, status ``landed``, ``partly_landed`` or ``rejected``.
        failures: one dict per item that did not land whole (:meth:`Problem.as_dict`:
            ``origin``, ``state``, ``row`` and ``field`` (None when unknown), ``reason``,
            ``fix``, ``severity``).
        items_total: items of the kind the sources offer.
        items_loaded: items whose rows landed (whole or partly).
        items_unchanged: items skipped because their fingerprint was already read.
        rejected_rows: rows for ``ops.rejected_rows``
            (:data:`trading_assets.schemas.REJECTED_ROWS_SCHEMA`) of every item read.
        actions: corporate actions of the landed items
            (:data:`trading_assets.schemas.CORPORATE_ACTIONS_SCHEMA`).
    """

    rows: pl.DataFrame
    items: pl.DataFrame
    failures: list[dict[str, Any]]
    items_total: int
    items_loaded: int
    items_unchanged: int
    rejected_rows: pl.DataFrame = field(
        default_factory=lambda: pl.DataFrame(schema=schemas.REJECTED_ROWS_SCHEMA)
    )
    actions: pl.DataFrame = field(
        default_factory=lambda: pl.DataFrame(schema=schemas.CORPORATE_ACTIONS_SCHEMA)
    )

    @property
    def all_loaded(self) -> bool:
        """Whether every item read landed whole."""
        return not self.failures

    @property
    def rejected(self) -> bool:
        """Whether some item read was rejected whole (an ERROR, beyond a WARN)."""
        return any(f["state"] == REJECTED for f in self.failures)


def bookkeeping(
    item: SourceItem, status: str, rows: int, error: str | None, at: datetime
) -> dict[str, Any]:
    """The ``ops.source_items`` row of ``item`` (``status`` one of
    :data:`~trading_assets.sources.states.STATES`, ``at`` UTC)."""
    return {
        "origin": item.origin,
        "kind": item.kind,
        "symbol": item.symbol,
        "timeframe": item.timeframe,
        "source": item.source,
        "fingerprint": item.fingerprint,
        "status": status,
        "rows": rows,
        "error": error,
        "ingested_at": at,
    }


def _rejected_rows(item: SourceItem, loaded: Loaded, at: datetime) -> pl.DataFrame:
    return loaded.rejected.select(
        pl.lit(item.origin).alias("origin"),
        pl.lit(item.kind).alias("kind"),
        pl.lit(item.symbol).alias("symbol"),
        "row",
        "field",
        "reason",
        "raw",
        "bad",
        pl.lit(item.fingerprint).alias("fingerprint"),
        pl.lit(at, dtype=schemas.UTC_TS).alias("recorded_at"),
    )


def _summary(loaded: Loaded) -> str:
    """``3 rows set aside (ts: 2, high: 1); first: row 12, field 'ts': ...``."""
    bad = loaded.rejected.filter(pl.col("bad"))
    fields = Counter(f or "row" for f in bad["field"].to_list())
    first = bad.row(0, named=True)
    where = f"row {first['row']}" + (f", field {first['field']!r}" if first["field"] else "")
    return (
        f"({', '.join(f'{k}: {n}' for k, n in fields.most_common())}); "
        f"first: {where}: {first['reason']}"
    )


def judge(
    item: SourceItem, loaded: Loaded, max_bad_row_share: float = MAX_BAD_ROW_SHARE
) -> Problem | None:
    """The problem of a read item, or None when it lands whole.

    More than ``max_bad_row_share`` of bad rows (or none good) rejects the file; fewer
    make it land partly.
    """
    bad, good = loaded.bad_rows, loaded.rows.height
    if not bad and good:
        return None
    total = bad + good
    first = loaded.rejected.filter(pl.col("bad")).head(1)
    row = int(first["row"][0]) if first.height else None
    column = first["field"][0] if first.height else None
    if good == 0 or bad / total > max_bad_row_share:
        reason = (
            f"{bad} of {total} rows are bad ({bad / total:.1%}, above the allowed "
            f"{max_bad_row_share:.0%}) {_summary(loaded)}"
        )
        fix = fix_for(item.origin, REJECTED, column, row, over_share=True)
        return Problem(item.origin, REJECTED, reason, fix, row, column, item.symbol)
    reason = f"{bad} of {total} rows set aside in ops.rejected_rows {_summary(loaded)}"
    fix = fix_for(item.origin, PARTLY_LANDED, column, row)
    return Problem(item.origin, PARTLY_LANDED, reason, fix, row, column, item.symbol)


def _held_back(loaded: Loaded) -> str | None:
    held = loaded.rejected.filter(~pl.col("bad"))
    if not held.height:
        return None
    return f"{held.height} row(s) held back by rule, e.g. row {held['row'][0]}: {held['reason'][0]}"


def load_new_items(
    items: Iterable[SourceItem],
    kind: str,
    known: Mapping[str, str],
    now: datetime | None = None,
    max_bad_row_share: float = MAX_BAD_ROW_SHARE,
) -> IngestBatch:
    """Load the items of ``kind`` whose fingerprint differs from ``known``, one by one.

    Args:
        items: a symbol's source items (any kinds; others than ``kind`` are ignored).
        kind: a row kind of :data:`trading_assets.schemas.KINDS`.
        known: origin -> fingerprint already read with its rows stored (empty: read all).
        now: the bookkeeping rows' ``ingested_at`` (default: the current UTC time).
        max_bad_row_share: an item with more bad rows than this share is rejected whole;
            with fewer, its good rows land and the bad ones are set aside.

    Returns:
        the rows, bookkeeping and rejected rows of the items read; a failing item
        (:class:`~trading_assets.errors.TradingAssetsError`, e.g. ``SourceDataError`` naming
        the file, row and field) is recorded in ``failures``, never raised.

    Raises:
        KeyError: an unknown ``kind``.
    """
    offered = [i for i in items if i.kind == kind]
    todo = [i for i in offered if known.get(i.origin) != i.fingerprint]
    frames: list[pl.DataFrame] = []
    books: list[dict[str, Any]] = []
    failures: list[dict[str, Any]] = []
    rejected: list[pl.DataFrame] = []
    actions: list[pl.DataFrame] = []
    for item in todo:
        at = now or datetime.now(UTC)
        try:
            loaded = item.load_checked()
        except (SourceDataError, SourceUnavailableError, TradingAssetsError) as exc:
            row, column = getattr(exc, "row", None), getattr(exc, "field", None)
            fix = fix_for(item.origin, REJECTED, column, row)
            problem = Problem(item.origin, REJECTED, str(exc), fix, row, column, item.symbol)
            failures.append(problem.as_dict())
            books.append(bookkeeping(item, REJECTED, 0, str(exc), at))
            continue
        rejected.append(_rejected_rows(item, loaded, at))
        problem = judge(item, loaded, max_bad_row_share)
        if problem is not None:
            failures.append(problem.as_dict())
        if problem is not None and problem.state == REJECTED:
            books.append(bookkeeping(item, REJECTED, 0, problem.reason, at))
            continue
        frames.append(loaded.rows)
        if loaded.actions is not None:
            actions.append(loaded.actions)
        state, note = (PARTLY_LANDED, problem.reason) if problem else (LANDED, _held_back(loaded))
        books.append(bookkeeping(item, state, loaded.rows.height, note, at))
    return IngestBatch(
        rows=pl.concat(frames) if frames else schemas.empty_frame(kind),
        items=pl.DataFrame(books, schema=schemas.SOURCE_ITEMS_SCHEMA),
        failures=failures,
        items_total=len(offered),
        items_loaded=len(frames),
        items_unchanged=len(offered) - len(todo),
        rejected_rows=pl.concat(rejected)
        if rejected
        else pl.DataFrame(schema=schemas.REJECTED_ROWS_SCHEMA),
        actions=pl.concat(actions)
        if actions
        else pl.DataFrame(schema=schemas.CORPORATE_ACTIONS_SCHEMA),
    )
