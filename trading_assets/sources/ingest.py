"""Loading a symbol's source items for ingestion: skip the unchanged, load the rest one by one.

A bad item (a file no reader recognises, a row that fails validation, an API that keeps
failing) is recorded as a failure and skipped; the good items still land. Every item read,
good or bad, gets a bookkeeping row for ``ops.source_items``, so the next run skips the items
whose fingerprint it already ingested without error.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import polars as pl

from trading_assets import schemas
from trading_assets.errors import SourceDataError, SourceUnavailableError, TradingAssetsError
from trading_assets.sources.base import SourceItem


@dataclass(frozen=True)
class IngestBatch:
    """What :func:`load_new_items` read for one symbol and kind.

    Attributes:
        rows: the loaded items' canonical rows, concatenated (the canonical schema of the kind,
            empty when nothing loaded; timestamps UTC, prices float64 in the quote currency).
        items: rows for ``ops.source_items`` (:data:`trading_assets.schemas.SOURCE_ITEMS_SCHEMA`),
            one per item read, status ``ok`` or ``error``.
        failures: one dict per item that failed: ``origin``, ``row`` and ``field`` (None when
            unknown) and ``reason``.
        items_total: items of the kind the sources offer.
        items_loaded: items read without error.
        items_unchanged: items skipped because their fingerprint was already ingested.
    """

    rows: pl.DataFrame
    items: pl.DataFrame
    failures: list[dict[str, Any]]
    items_total: int
    items_loaded: int
    items_unchanged: int

    @property
    def all_loaded(self) -> bool:
        """Whether every item read loaded without error."""
        return not self.failures


def bookkeeping(
    item: SourceItem, status: str, rows: int, error: str | None, at: datetime
) -> dict[str, Any]:
    """The ``ops.source_items`` row of ``item`` (``status`` ``ok`` or ``error``, ``at`` UTC)."""
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


def load_new_items(
    items: Iterable[SourceItem],
    kind: str,
    known: Mapping[str, str],
    now: datetime | None = None,
) -> IngestBatch:
    """Load the items of ``kind`` whose fingerprint differs from ``known``, one by one.

    Args:
        items: a symbol's source items (any kinds; others than ``kind`` are ignored).
        kind: a row kind of :data:`trading_assets.schemas.KINDS`.
        known: origin -> fingerprint already ingested without error (empty: read all).
        now: the bookkeeping rows' ``ingested_at`` (default: the current UTC time).

    Returns:
        the rows and bookkeeping of the items read; a failing item
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
    for item in todo:
        try:
            frame = item.load()
        except (SourceDataError, SourceUnavailableError, TradingAssetsError) as exc:
            failures.append(
                {
                    "origin": item.origin,
                    "row": getattr(exc, "row", None),
                    "field": getattr(exc, "field", None),
                    "reason": str(exc),
                }
            )
            books.append(bookkeeping(item, "error", 0, str(exc), now or datetime.now(UTC)))
            continue
        frames.append(frame)
        books.append(bookkeeping(item, "ok", frame.height, None, now or datetime.now(UTC)))
    return IngestBatch(
        rows=pl.concat(frames) if frames else schemas.empty_frame(kind),
        items=pl.DataFrame(books, schema=schemas.SOURCE_ITEMS_SCHEMA),
        failures=failures,
        items_total=len(offered),
        items_loaded=len(frames),
        items_unchanged=len(offered) - len(todo),
    )
