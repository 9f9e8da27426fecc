"""Shared machinery of the file readers: the reader base class, byte/UTF-8 checks, fast
vectorised parsing of delimited text and of JSON arrays of rows, and error diagnostics.

Fast path first, diagnosis second: every reader parses with an explicit schema (Polars' CSV
reader, no Python loop over rows); only when that fails is the input read again as text to
name the exact row and field at fault in a :class:`SourceDataError`.
"""

from __future__ import annotations

import gzip
import json
import re
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar

import polars as pl

from trading_assets.errors import SourceDataError, TradingAssetsError
from trading_assets.sources.base import Loaded
from trading_assets.sources.files._naming import (
    canonical_timeframe,
    infer_from_name,
    normalize_symbol,
)
from trading_assets.sources.rejects import ROW, RowRejects

#: How many leading bytes the folder scanner reads to recognise a format.
HEAD_BYTES = 4096
#: Longest raw text kept for a rejected row.
RAW_CHARS = 1000

_NUMERIC = (pl.Float64, pl.Int64)
_WHITESPACE = re.compile(rb"\s")


@dataclass(frozen=True)
class Sniffed:
    """What a reader could tell from a file's name and first bytes without reading it all.

    Attributes:
        symbol: symbol written in the file's first bytes (e.g. Yahoo chart JSON), else None.
        timeframe: timeframe written in the first bytes, else None.
        kind: the kind of rows the file holds when the format has several, else None.
    """

    symbol: str | None = None
    timeframe: str | None = None
    kind: str | None = None


class FileReader:
    """Base class of the one-file readers: one file -> one canonical frame of one kind.

    Subclasses set :attr:`format` (the ``source`` column value and the format name used in
    mapping files), :attr:`kind` and :attr:`extensions`, and implement :meth:`sniff` and
    :meth:`read`.

    Args:
        path: the file.
        symbol: the symbol, overriding what the file name says. When the file itself names a
            symbol (Yahoo chart JSON, quotes Parquet) the two must agree.
        timeframe: the bar timeframe (``1m``, ``1d``...) for bar kinds, overriding the file name.

    Constructing a reader does no I/O; :meth:`read` does all reading and validation.
    Symbols are normalised (``ethusdt`` -> ``ETH/USDT``, see
    :func:`~trading_assets.sources.files._naming.normalize_symbol`); an invalid ``timeframe``
    raises :class:`~trading_assets.errors.TradingAssetsError` here.
    """

    format: ClassVar[str] = ""
    kind: str = "bars"
    extensions: ClassVar[tuple[str, ...]] = ()
    #: lenient mode while :meth:`read_checked` runs: where bad rows go (None: strict)
    rejects: RowRejects | None = None
    #: corporate actions found by the last :meth:`read` (formats that carry them)
    actions: pl.DataFrame | None = None

    def __init__(
        self,
        path: str | Path,
        *,
        symbol: str | None = None,
        timeframe: str | None = None,
    ) -> None:
        self.path = Path(path)
        self.origin = str(path)
        name_symbol, name_timeframe = infer_from_name(self.path)
        self._symbol_explicit = symbol is not None
        self._timeframe_explicit = timeframe is not None
        self.symbol: str | None = normalize_symbol(symbol) if symbol is not None else name_symbol
        self.timeframe: str | None = (
            canonical_timeframe(timeframe) if timeframe is not None else name_timeframe
        )

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}({self.origin!r}, symbol={self.symbol!r}, "
            f"timeframe={self.timeframe!r})"
        )

    # -- recognition ---------------------------------------------------------------------
    @classmethod
    def sniff(cls, path: Path, head: bytes) -> Sniffed | None:
        """Whether ``path`` is in this format, judged from its extension and first bytes.

        ``head`` is the first :data:`HEAD_BYTES` bytes (decompressed for ``.gz``). Returns a
        :class:`Sniffed` with what the head reveals, or None when the file is not this format.
        """
        raise NotImplementedError

    # -- reading -------------------------------------------------------------------------
    def read(self) -> pl.DataFrame:
        """Read and validate the file: the canonical frame of :attr:`kind`."""
        raise NotImplementedError

    def read_checked(self) -> Loaded:
        """Read leniently: the good rows land, bad rows are set aside with their reason.

        Each bad row (off the grid, a duplicate stamp with other values, OHLC inconsistent,
        a price <= 0, a value that does not parse...) is recorded with its row, field,
        reason and raw text in :attr:`Loaded.rejected`; the rest is validated as
        :meth:`read` does.

        Raises:
            SourceDataError: the file's structure cannot be read (not the format, invalid
                JSON, a missing column, unknown symbol or timeframe...), or no good row.
        """
        rejects = RowRejects()
        self.rejects, self.actions = rejects, None
        try:
            rows = self.read()
        finally:
            self.rejects = None
        rejected = rejects.frame()
        raw = self.raw_text(rejected["row"].to_list()) if rejected.height else {}
        rejected = rejected.with_columns(
            pl.Series("raw", [raw.get(r) for r in rejected["row"]], dtype=pl.String)
        )
        return Loaded(rows, rejected, self.actions)

    def raw_text(self, rows: list[int]) -> dict[int, str]:
        """Row -> the row's text in the file (rows as in errors: lines by default), at most
        :data:`RAW_CHARS` characters; rows that cannot be found are left out."""
        try:
            lines = read_bytes(self.path, self.origin).decode("utf-8").split("\n")
        except SourceDataError:
            return {}
        return {r: lines[r - 1].rstrip("\r")[:RAW_CHARS] for r in rows if 0 < r <= len(lines)}

    # -- helpers for subclasses ----------------------------------------------------------
    def require_symbol(self, content_symbol: str | None = None) -> str:
        """The symbol to write: explicit > named in the file > guessed from the file name.

        Raises:
            SourceDataError: the explicit symbol contradicts the file's content, or no symbol
                is known at all (the message tells how to add one in a mapping file).
        """
        if content_symbol:
            if self._symbol_explicit and self.symbol is not None:
                if normalize_symbol(self.symbol) != normalize_symbol(content_symbol):
                    raise SourceDataError(
                        self.origin,
                        f"the file holds symbol {content_symbol!r} but {self.symbol!r} was "
                        "given; fix the mapping file entry for this file",
                        field="symbol",
                    )
                return self.symbol
            return normalize_symbol(content_symbol)
        if self.symbol is None:
            raise unknown_symbol_error(self.origin)
        return self.symbol

    def require_timeframe(self, content_timeframe: str | None = None) -> str:
        """The timeframe to write: explicit > written in the file > guessed from the name.

        Raises:
            SourceDataError: the explicit timeframe contradicts the file, or none is known.
        """
        if content_timeframe:
            content_tf = ensure_timeframe(content_timeframe, self.origin)
            if self._timeframe_explicit and self.timeframe != content_tf:
                raise SourceDataError(
                    self.origin,
                    f"the file holds {content_tf} bars but timeframe {self.timeframe!r} was "
                    "given; fix the mapping file entry for this file",
                    field="timeframe",
                )
            return content_tf
        if self.timeframe is None:
            raise SourceDataError(
                self.origin,
                "cannot tell the bar timeframe from the file name; add an entry for this file "
                'with `timeframe = "1m"` (or 1h, 1d...) to the mapping file '
                "(see trading_assets.sources.local_folder)",
                field="timeframe",
            )
        return self.timeframe


def unknown_symbol_error(origin: str) -> SourceDataError:
    """The error for a file whose symbol cannot be determined (tells the user the fix)."""
    return SourceDataError(
        origin,
        "cannot tell the symbol from the file name or content; add an entry for this file "
        'with `symbol = "..."` to the mapping file (see trading_assets.sources.local_folder)',
        field="symbol",
    )


def file_suffix(path: Path) -> str:
    """The lower-cased extension, compound for gzip (``.json.gz``)."""
    suffixes = [s.lower() for s in path.suffixes]
    if len(suffixes) >= 2 and suffixes[-1] == ".gz":
        return "".join(suffixes[-2:])
    return suffixes[-1] if suffixes else ""


def read_head(path: Path, size: int = HEAD_BYTES) -> bytes:
    """The first ``size`` bytes of a file (decompressed for ``.gz``); b"" if unreadable."""
    try:
        if path.suffix.lower() == ".gz":
            with gzip.open(path, "rb") as handle:
                return handle.read(size)
        with path.open("rb") as handle:
            return handle.read(size)
    except (OSError, EOFError, zlib.error):
        return b""


def first_line(head: bytes) -> str:
    """The first line of ``head`` as text (BOM and CR removed, undecodable bytes replaced)."""
    line = head.split(b"\n", 1)[0].rstrip(b"\r")
    return line.decode("utf-8", errors="replace").lstrip("\ufeff")


def line_of(data: bytes, offset: int) -> int:
    """1-based line number of byte ``offset``."""
    return data.count(b"\n", 0, offset) + 1


def json_element_of(data: bytes, offset: int) -> int | None:
    """1-based element of a JSON array of arrays (``[[...],[...]]``) holding byte ``offset``."""
    start = data.find(b"[")
    if start < 0 or offset <= start:
        return None
    return max(1, data.count(b"[", start + 1, offset))


def read_bytes(
    path: Path,
    origin: str,
    *,
    row_of: Callable[[bytes, int], int | None] = line_of,
    text: bool = True,
) -> bytes:
    """Read a whole file (gunzipping ``.gz``), refusing empty files and non-UTF-8 text.

    Args:
        row_of: maps a byte offset to the row named in errors (lines by default).
        text: check that the bytes are UTF-8 (a leading BOM is removed).

    Raises:
        SourceDataError: missing/unreadable file, corrupt gzip, empty file, or a byte that is
            not UTF-8 (names the byte offset and its row; nothing is silently replaced).
    """
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise SourceDataError(origin, f"cannot read the file: {exc.strerror or exc}") from exc
    if path.suffix.lower() == ".gz":
        try:
            raw = gzip.decompress(raw)
        except (OSError, EOFError, zlib.error) as exc:
            raise SourceDataError(origin, f"not a valid gzip file ({exc})") from exc
    if not raw.strip():
        raise SourceDataError(origin, "the file is empty")
    if text:
        if raw.startswith(b"\xef\xbb\xbf"):
            raw = raw[3:]
        try:
            raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            bad = raw[exc.start : exc.start + 1].hex()
            raise SourceDataError(
                origin,
                f"byte 0x{bad} at byte offset {exc.start} is not valid UTF-8 "
                "(the file may be in another encoding, e.g. Latin-1; convert it to UTF-8)",
                row=row_of(raw, exc.start),
            ) from None
    return raw


def with_rows(frame: pl.DataFrame, first: int) -> pl.DataFrame:
    """Add the 1-based ``_row`` column (``first`` for the first row)."""
    return frame.with_columns(pl.int_range(first, first + frame.height, dtype=pl.Int64).alias(ROW))


def drop_blank_rows(frame: pl.DataFrame) -> pl.DataFrame:
    """Drop rows whose every field is null (blank lines); ``_row`` keeps true line numbers."""
    cols = [c for c in frame.columns if c != ROW]
    if not cols:
        return frame
    return frame.filter(~pl.all_horizontal(pl.col(cols).is_null()))


def read_delimited(
    data: bytes,
    origin: str,
    columns: dict[str, pl.DataType],
    *,
    separator: str = ",",
    skip_lines: int = 0,
    first_row: int | None = None,
    null_values: list[str] | None = None,
    quote_char: str | None = '"',
    rejects: RowRejects | None = None,
) -> pl.DataFrame:
    """Parse header-less delimited text with an explicit schema; adds ``_row``.

    Args:
        data: the UTF-8 text (see :func:`read_bytes`).
        columns: name -> dtype of every field, in file order.
        skip_lines: leading lines to skip (a header).
        first_row: the ``_row`` value of the first data row (default ``skip_lines + 1``, the
            line number; JSON readers pass 1 so rows are array elements).
        rejects: lenient mode: a row with the wrong number of fields, or a value that does
            not parse as its column's type, is recorded there (its cells become null) and
            the others parse; only text that cannot be split into rows at all raises.

    Raises:
        SourceDataError: a row with the wrong number of fields, or a value that does not
            parse as its column's type (names row and field; strict mode), or empty input.
    """
    first = skip_lines + 1 if first_row is None else first_row
    try:
        frame = pl.read_csv(
            data,
            has_header=False,
            skip_lines=skip_lines,
            schema=columns,
            separator=separator,
            null_values=null_values,
            quote_char=quote_char,
        )
    except (pl.exceptions.PolarsError, pl.exceptions.NoDataError) as exc:
        # slow path: find the rows at fault (recorded, or the first one raised)
        found = rejects if rejects is not None else RowRejects()
        frame = _lenient_delimited(
            data,
            origin,
            columns,
            separator=separator,
            skip_lines=skip_lines,
            first=first,
            null_values=null_values,
            quote_char=quote_char,
            rejects=found,
            cause=exc,
        )
        if rejects is None:
            first_bad = found.first()
            if first_bad is None:
                raise SourceDataError(origin, f"cannot parse the file: {_first_line(exc)}") from exc
            row, column, reason = first_bad
            raise SourceDataError(origin, reason, row=row, field=column) from None
        return frame
    return drop_blank_rows(with_rows(frame, first))


def _lenient_delimited(
    data: bytes,
    origin: str,
    columns: dict[str, pl.DataType],
    *,
    separator: str,
    skip_lines: int,
    first: int,
    null_values: list[str] | None,
    quote_char: str | None,
    rejects: RowRejects,
    cause: Exception,
) -> pl.DataFrame:
    """The typed parse failed: read every field as text, record the rows with a wrong field
    count or a value of the wrong type in ``rejects`` (their cells become null), cast.

    Raises:
        SourceDataError: no data lines, or text that cannot be split into rows at all.
    """
    names = list(columns)
    lines = data.decode("utf-8").split("\n")[skip_lines:]
    if lines and lines[-1].strip() == "":
        lines = lines[:-1]
    if not lines:
        raise SourceDataError(origin, "no rows: the file holds no data lines")
    stripped = pl.Series(lines).str.strip_chars("\r")
    counts = stripped.str.count_matches(separator, literal=True) + 1
    wrong = (counts != len(names)) & (stripped.str.strip_chars().str.len_chars() > 0)
    if wrong.any():
        rejects.add(
            pl.int_range(first, first + len(lines), eager=True).filter(wrong),
            None,
            f"expected {len(names)} fields separated by {separator!r}, found "
            + counts.filter(wrong).cast(pl.String),
        )
    try:
        text = pl.read_csv(
            data,
            has_header=False,
            skip_lines=skip_lines,
            new_columns=names,
            infer_schema=False,
            separator=separator,
            null_values=null_values,
            quote_char=quote_char,
            truncate_ragged_lines=True,
        )
    except pl.exceptions.PolarsError:
        raise SourceDataError(origin, f"cannot parse the file: {_first_line(cause)}") from cause
    text = with_rows(text, first)
    casts = []
    for name, dtype in columns.items():
        if dtype not in _NUMERIC:
            casts.append(pl.col(name))
            continue
        values = text[name].str.strip_chars()
        bad = values.is_not_null() & (values != "") & values.cast(dtype, strict=False).is_null()
        if bad.any():
            what = "an integer" if dtype == pl.Int64 else "a number"
            rejects.add(
                text[ROW].filter(bad), name, "'" + text[name].filter(bad) + f"' is not {what}"
            )
        casts.append(pl.col(name).str.strip_chars().cast(dtype, strict=False))
    return drop_blank_rows(text.select(*casts, ROW))


def _first_line(exc: Exception) -> str:
    return str(exc).strip().split("\n", 1)[0]


def json_error(
    origin: str, data: bytes, exc: json.JSONDecodeError, row: int | None
) -> SourceDataError:
    """A SourceDataError for invalid JSON, saying whether the file looks truncated."""
    opened = data.count(b"[") + data.count(b"{")
    closed = data.count(b"]") + data.count(b"}")
    truncated = exc.pos >= len(data.rstrip()) - 1 or opened > closed
    hint = "; the file looks truncated" if truncated else ""
    return SourceDataError(
        origin, f"invalid JSON: {exc.msg} at byte offset {exc.pos}{hint}", row=row
    )


def json_rows_to_lines(data: bytes, origin: str) -> bytes:
    """Turn a JSON array of flat arrays (``[[1,2.5,"x"],[...]]``) into CSV lines, one per row.

    The conversion is byte replacement (C speed, no per-row Python): compact JSON is
    stripped of its outer brackets and ``],[`` becomes a newline. JSON with whitespace is
    first compacted (re-serialised when it holds strings). Invalid JSON, an empty array and
    any other shape raise; values are left for the typed CSV parse to check.

    Raises:
        SourceDataError: invalid or truncated JSON (names the array element and byte offset),
            no rows, or not an array of flat arrays.
    """
    text = data.strip()
    if any(ws in text for ws in (b" ", b"\n", b"\t", b"\r")):
        if b'"' in text:
            text = json.dumps(_loads(text, origin), separators=(",", ":")).encode()
        else:
            text = _WHITESPACE.sub(b"", text)
    if text in (b"[]", b"[[]]"):
        raise SourceDataError(origin, "no rows: the JSON array is empty")
    body = text[2:-2] if text.startswith(b"[[") and text.endswith(b"]]") else None
    separators = body.count(b"],[") if body is not None else -1
    if body is None or body.count(b"[") != separators or body.count(b"]") != separators:
        value = _loads(text, origin)  # raises with a position when the JSON is invalid
        if not isinstance(value, list):
            raise SourceDataError(origin, "expected a JSON array of rows, found an object")
        for index, item in enumerate(value[:1_000_000], start=1):
            if not isinstance(item, list) or any(isinstance(v, list | dict) for v in item):
                raise SourceDataError(
                    origin, "expected every element to be a flat array of values", row=index
                )
        raise SourceDataError(origin, "unexpected JSON layout")
    return body.replace(b"],[", b"\n")


def json_elements_text(path: Path, origin: str, rows: list[int]) -> dict[int, str]:
    """Row (1-based element of the file's top-level JSON array) -> the element as compact
    JSON text; {} when the file cannot be read as JSON."""
    try:
        value = json.loads(read_bytes(path, origin))
    except (SourceDataError, json.JSONDecodeError):
        return {}
    if not isinstance(value, list):
        return {}
    return {
        r: json.dumps(value[r - 1], separators=(",", ":"))[:RAW_CHARS]
        for r in rows
        if 0 < r <= len(value)
    }


def _loads(text: bytes, origin: str) -> object:
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise json_error(origin, text, exc, json_element_of(text, exc.pos)) from None


def parse_datetime_column(
    frame: pl.DataFrame,
    column: str,
    fmt: str,
    origin: str,
    *,
    field: str | None = None,
    rejects: RowRejects | None = None,
) -> pl.Series:
    """Parse a text column with ``fmt`` (naive result); a value that does not parse raises,
    or, lenient (``rejects`` given), is recorded there and gives null.

    Raises:
        SourceDataError: strict mode: the first row whose value does not match ``fmt`` or
            is missing.
    """
    raw = frame[column]
    parsed = raw.str.strip_chars().str.to_datetime(fmt, strict=False, time_unit="us")
    bad = parsed.is_null() & raw.is_not_null()
    if rejects is not None:
        if bad.any():
            texts = "'" + raw.filter(bad) + "' is not a date/time in the expected layout"
            rejects.add(frame[ROW].filter(bad), field or column, texts)
        if raw.null_count():
            rejects.add(frame[ROW].filter(raw.is_null()), field or column, "missing date/time")
        return parsed
    if bad.any():
        idx = int(bad.arg_max())
        raise SourceDataError(
            origin,
            f"{raw[idx]!r} is not a date/time in the expected layout",
            row=int(frame[ROW][idx]),
            field=field or column,
        )
    if parsed.null_count():
        idx = int(parsed.is_null().arg_max())
        raise SourceDataError(
            origin, "missing date/time", row=int(frame[ROW][idx]), field=field or column
        )
    return parsed


def local_to_utc(
    values: pl.Series,
    tz: str,
    frame: pl.DataFrame,
    origin: str,
    field: str,
    rejects: RowRejects | None = None,
) -> pl.Series:
    """Naive local times in ``tz`` (IANA name) -> UTC, DST-correct (Polars' tz database).

    Ambiguous times (the repeated hour when clocks go back) take the earlier instant.

    Raises:
        SourceDataError: an unknown time zone; a local time that does not exist (skipped by
            a DST change; lenient mode: recorded in ``rejects`` instead, giving null).
    """
    try:
        aware = values.dt.replace_time_zone(tz, ambiguous="earliest", non_existent="null")
    except pl.exceptions.PolarsError as exc:
        raise SourceDataError(origin, f"unknown time zone {tz!r}: {_first_line(exc)}") from exc
    missing = aware.is_null() & values.is_not_null()
    if rejects is not None and missing.any():
        rejects.add(
            frame[ROW].filter(missing),
            field,
            "local time " + values.filter(missing).cast(pl.String) + f" does not exist in {tz}",
        )
    elif missing.any():
        idx = int(missing.arg_max())
        raise SourceDataError(
            origin,
            f"local time {values[idx]} does not exist in {tz} (skipped by a DST change)",
            row=int(frame[ROW][idx]),
            field=field,
        )
    return aware.dt.convert_time_zone("UTC")


def check_columns(origin: str, present: list[str], required: list[str], what: str) -> None:
    """Raise SourceDataError naming the first missing column."""
    for name in required:
        if name not in present:
            raise SourceDataError(
                origin,
                f"missing column {name!r} for {what} (columns: {', '.join(present)})",
                field=name,
            )


def ensure_timeframe(text: str, origin: str) -> str:
    """The canonical form of a timeframe found in a file.

    Raises:
        SourceDataError: the text is not a timeframe (names the ``timeframe`` field).
    """
    try:
        return canonical_timeframe(text)
    except TradingAssetsError as exc:
        raise SourceDataError(
            origin, f"unsupported bar interval {text!r}: {exc}", field="timeframe"
        ) from exc
