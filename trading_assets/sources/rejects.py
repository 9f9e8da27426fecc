"""Row-level quarantine: the bad rows of one input, set aside with their reason while the good
rows land.

Readers and validators take an optional :class:`RowRejects`. Without one they are strict and
raise :class:`~trading_assets.errors.SourceDataError` on the first bad row (what a caller that
wants all or nothing uses); with one they record every bad row here (row, field, reason) and
carry on with the others. Whether the file then lands partly or is rejected whole is the
caller's decision (:func:`trading_assets.sources.ingest.load_new_items` rejects a file when
more than a configurable share of its rows is bad).

Some rows are held back without being errors: the still-forming last candle of a snapshot
(``bad=False``). They are recorded too, so nothing leaves silently, but do not count toward
the file's bad-row share.
"""

from __future__ import annotations

from collections.abc import Sequence

import polars as pl

from trading_assets.errors import SourceDataError
from trading_assets.sources.base import REJECTED

ROW = "_row"

#: the columns :meth:`RowRejects.frame` returns (those of a read's rejected rows, but ``raw``)
REJECT_COLUMNS: dict[str, pl.DataType] = {k: v for k, v in REJECTED.items() if k != "raw"}


class RowRejects:
    """Collects the bad rows of one input while it is read leniently.

    Each entry is a 1-based ``row`` (the row numbering of the reader's errors: a file line,
    a JSON array element), the ``field`` at fault (or None), the ``reason`` in plain words,
    and ``bad``: whether it counts as a bad row (False for rows held back by rule, such as a
    partial last candle). A row is recorded once, with the first reason found.
    """

    def __init__(self) -> None:
        self._parts: list[pl.DataFrame] = []
        self._seen: set[int] = set()

    def __len__(self) -> int:
        return len(self._seen)

    def add(
        self,
        rows: pl.Series | Sequence[int],
        field: str | None,
        reasons: pl.Series | Sequence[str] | str,
        *,
        bad: bool = True,
    ) -> None:
        """Record ``rows`` (1-based) with their ``field`` and reason (one text for all rows,
        or one per row); rows recorded before keep their first reason."""
        rows = pl.Series("row", rows, dtype=pl.Int64)
        if isinstance(reasons, str):
            reasons = [reasons] * rows.len()
        part = pl.DataFrame(
            {
                "row": rows,
                "field": pl.Series([field] * rows.len(), dtype=pl.String),
                "reason": pl.Series(reasons, dtype=pl.String),
                "bad": pl.Series([bad] * rows.len(), dtype=pl.Boolean),
            }
        ).filter(~pl.col("row").is_in(list(self._seen)))
        part = part.unique("row", keep="first", maintain_order=True)
        if part.height:
            self._parts.append(part)
            self._seen.update(part["row"].to_list())

    def take(
        self,
        frame: pl.DataFrame,
        rows: pl.Expr,
        field: str | None,
        reason: pl.Expr | str,
        *,
        held_back: bool = False,
    ) -> pl.DataFrame:
        """Record the rows of ``frame`` (which has ``_row``) where ``rows`` is true (null
        counts as false), with ``reason`` (text, or an expression giving one per row), as bad
        rows or as ``held_back`` by rule; return ``frame`` without them."""
        mask = frame.select(rows.fill_null(False).alias("_bad"))["_bad"]
        if not mask.any():
            return frame
        hit = frame.filter(mask)
        texts = reason if isinstance(reason, str) else hit.select(reason).to_series()
        self.add(
            hit[ROW],
            field,
            texts if isinstance(texts, str) else texts.cast(pl.String),
            bad=not held_back,
        )
        return frame.filter(~mask)

    def exclude(self, frame: pl.DataFrame) -> pl.DataFrame:
        """``frame`` without the rows recorded so far (matched on ``_row``)."""
        if not self._seen:
            return frame
        return frame.filter(~pl.col(ROW).is_in(list(self._seen)))

    def first(self) -> tuple[int, str | None, str] | None:
        """``(row, field, reason)`` of the first row recorded (in recording order), or None."""
        if not self._parts:
            return None
        row, field, reason, _ = self._parts[0].row(0)
        return row, field, reason

    def frame(self) -> pl.DataFrame:
        """Every recorded row, sorted by row (:data:`REJECT_COLUMNS`)."""
        if not self._parts:
            return pl.DataFrame(schema=REJECT_COLUMNS)
        return pl.concat(self._parts).sort("row")

    @property
    def bad_rows(self) -> int:
        """Rows recorded as bad (``bad`` true)."""
        return sum(int(p["bad"].sum()) for p in self._parts)


def check(
    frame: pl.DataFrame,
    rules: Sequence[tuple[pl.Expr, str | None, pl.Expr | str]],
    origin: str,
    rejects: RowRejects | None,
) -> pl.DataFrame:
    """Apply row ``rules`` ``(bad, field, reason)`` in order.

    Strict (``rejects`` None): raise on the first rule any row breaks, at its first row in
    ``frame`` order. Lenient: record every breaking row in ``rejects`` (first rule wins) and
    return ``frame`` without them.

    Raises:
        SourceDataError: strict mode, a row breaks a rule (names the row and field).
    """
    for bad, field, reason in rules:
        if rejects is not None:
            frame = rejects.take(frame, bad, field, reason)
            continue
        hit = frame.filter(bad.fill_null(False))
        if hit.height:
            text = reason if isinstance(reason, str) else hit.head(1).select(reason).item()
            raise SourceDataError(origin, str(text), row=int(hit[ROW][0]), field=field)
    return frame
