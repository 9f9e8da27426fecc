"""Where every file of the data folder and the inbox ended: the report behind the closing
summary of ``trading-assets run`` and the ``ops/source_files`` asset.

Price files a reader takes are items of their symbol; their state (landed, partly landed,
rejected) is what the symbol's ingestion recorded in ``ops.source_items``. The other files
belong to no symbol, so they are recorded here: files ignored by rule (news files, notes, API
captures, mapping ``skip``) and price files whose symbol cannot be told (rejected, with the
mapping entry to add). See :mod:`trading_assets.sources.states` for the states and their
severity.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import polars as pl

from trading_assets import schemas
from trading_assets.errors import SourceDataError
from trading_assets.sources.base import PriceSource, SourceItem
from trading_assets.sources.states import (
    IGNORED,
    LANDED,
    PARTLY_LANDED,
    REJECTED,
    STATES,
    Problem,
    fix_for,
)

#: ``ops.source_items.kind`` of a file no price reader took as an item
FILE_KIND = "file"
#: state of an item not read yet (its symbol was not ingested in this run, or it changed)
NOT_READ = "not_read"
_LEGACY = {"ok": LANDED, "error": REJECTED}


@dataclass(frozen=True)
class Listing:
    """Every file the folder sources see (see :func:`list_files`).

    Attributes:
        items: the price files of known symbol (one item each).
        ignored: ``(path, reason)`` of the files ignored by rule.
        unassigned: ``(path, error)`` of the price files whose symbol cannot be told.
    """

    items: list[SourceItem]
    ignored: list[tuple[str, str]] = field(default_factory=list)
    unassigned: list[tuple[str, SourceDataError]] = field(default_factory=list)


def list_files(sources: Sequence[PriceSource]) -> Listing:
    """List the files of the folder sources among ``sources`` (those that keep ``skipped``:
    :class:`~trading_assets.sources.local_folder.LocalFolderSource`; API sources are left
    out). News files are named as such (read by ``raw/news``). No file is read in full."""
    from trading_assets.news.files import discover_news_files

    items: list[SourceItem] = []
    ignored: list[tuple[str, str]] = []
    unassigned: list[tuple[str, SourceDataError]] = []
    for source in sources:
        if not hasattr(source, "skipped"):
            continue
        items += source.items()
        folder = getattr(source, "data_dir", None)
        news = dict(discover_news_files(folder)) if folder and Path(folder).is_dir() else {}
        for path, reason in source.skipped:
            kind = news.get(Path(path))
            ignored.append((str(path), f"news file ({kind}), read by raw/news" if kind else reason))
        unassigned += [(str(p), e) for p, e in source.unassigned]
    return Listing(items, ignored, unassigned)


def _fingerprint(path: str) -> str:
    try:
        stat = Path(path).stat()
    except OSError:
        return "missing"
    return f"{stat.st_size}-{stat.st_mtime_ns}"


def unowned_rows(listing: Listing, at: datetime) -> pl.DataFrame:
    """``ops.source_items`` rows (kind :data:`FILE_KIND`) of the files no symbol owns: the
    ignored ones (state ``ignored``, the rule in ``error``) and those of unknown symbol
    (``rejected``, the reason in ``error``); ``at`` UTC."""
    rows = [(p, IGNORED, reason) for p, reason in listing.ignored]
    rows += [(p, REJECTED, str(error)) for p, error in listing.unassigned]
    return pl.DataFrame(
        [
            {
                "origin": origin,
                "kind": FILE_KIND,
                "symbol": None,
                "timeframe": None,
                "source": None,
                "fingerprint": _fingerprint(origin),
                "status": state,
                "rows": 0,
                "error": reason,
                "ingested_at": at,
            }
            for origin, state, reason in sorted(rows)
        ],
        schema=schemas.SOURCE_ITEMS_SCHEMA,
    )


@dataclass(frozen=True)
class FileReport:
    """The state of every listed file.

    Attributes:
        files: one row per file: ``origin``, ``symbol``, ``state`` (one of
            :data:`~trading_assets.sources.states.STATES`, or :data:`NOT_READ`), ``rows``
            stored, ``reason``.
        problems: the files that did not land whole, with reason and fix, by path.
    """

    files: pl.DataFrame
    problems: list[Problem]

    @property
    def counts(self) -> dict[str, int]:
        """State -> number of files, every state listed (0 included; ``not_read`` only when
        some file was not read)."""
        found = dict(self.files.group_by("state").len().iter_rows())
        out = {state: int(found.get(state, 0)) for state in STATES}
        if found.get(NOT_READ):
            out[NOT_READ] = int(found[NOT_READ])
        return out

    @property
    def severity(self) -> str | None:
        """``ERROR`` when a file was rejected, ``WARN`` when one landed only partly, else
        None."""
        levels = {p.severity for p in self.problems}
        return "ERROR" if "ERROR" in levels else ("WARN" if levels else None)

    def count_line(self) -> str:
        """``Files: 41 landed, 2 partly landed, 1 rejected, 30 ignored by rule``."""
        words = {
            LANDED: "landed",
            PARTLY_LANDED: "partly landed",
            REJECTED: "rejected",
            IGNORED: "ignored by rule",
            NOT_READ: "not read in this run",
        }
        return "Files: " + ", ".join(f"{n} {words[s]}" for s, n in self.counts.items())

    def problem_lines(self) -> list[str]:
        """One line per problem file: ``<SEVERITY> <state> <path>: <reason>. Fix: <fix>``."""
        return [
            f"{p.severity} {p.state.replace('_', ' ')} {p.origin}: {p.reason}. Fix: {p.fix}"
            for p in self.problems
        ]


def file_report(listing: Listing, recorded: pl.DataFrame) -> FileReport:
    """The state of every file of ``listing``, from ``recorded`` (``ops.source_items`` rows:
    at least origin, kind, fingerprint, status, rows, error).

    An item whose recorded fingerprint is not its current one (or that was never read) is
    :data:`NOT_READ`; legacy states ``ok``/``error`` read as landed/rejected.
    """
    book = {
        (r["origin"], r["kind"]): r
        for r in recorded.select(
            "origin", "kind", "fingerprint", "status", "rows", "error"
        ).to_dicts()
    }
    files: list[dict] = []
    problems: list[Problem] = []
    for item in listing.items:
        row = book.get((item.origin, item.kind))
        if row is None or row["fingerprint"] != item.fingerprint:
            files.append(_file(item.origin, item.symbol, NOT_READ, 0, None))
            continue
        state = _LEGACY.get(row["status"], row["status"])
        files.append(_file(item.origin, item.symbol, state, row["rows"] or 0, row["error"]))
        if state in (PARTLY_LANDED, REJECTED):
            problems.append(_problem(item.origin, item.symbol, state, row["error"] or ""))
    for origin, reason in listing.ignored:
        files.append(_file(origin, None, IGNORED, 0, reason))
    for origin, error in listing.unassigned:
        files.append(_file(origin, None, REJECTED, 0, str(error)))
        fix = fix_for(origin, REJECTED, error.field, error.row)
        problems.append(Problem(origin, REJECTED, error.reason, fix, error.row, error.field))
    frame = pl.DataFrame(
        files,
        schema={
            "origin": pl.String(),
            "symbol": pl.String(),
            "state": pl.String(),
            "rows": pl.Int64(),
            "reason": pl.String(),
        },
    ).sort("origin")
    return FileReport(frame, sorted(problems, key=lambda p: p.origin))


def _file(origin: str, symbol: str | None, state: str, rows: int, reason: str | None) -> dict:
    return {"origin": origin, "symbol": symbol, "state": state, "rows": rows, "reason": reason}


_ROW = re.compile(r"\brow (\d+)")
_FIELD = re.compile(r"\bfield '([^']+)'")


def _problem(origin: str, symbol: str, state: str, error: str) -> Problem:
    """A problem from a recorded error (its text names row and field when known)."""
    reason = error.removeprefix(origin).lstrip(",: ") if error.startswith(origin) else error
    row = _ROW.search(reason)
    column = _FIELD.search(reason)
    field = column.group(1) if column else None
    number = int(row.group(1)) if row else None
    over = "rows are bad" in reason
    fix = fix_for(origin, state, field, number, over_share=over)
    return Problem(origin, state, reason, fix, number, field, symbol)
