"""Parquet helpers shared by the Parquet readers (schema peeking, reading, timestamps)."""

from __future__ import annotations

from pathlib import Path

import polars as pl

from trading_assets.errors import SourceDataError
from trading_assets.sources.rejects import RowRejects
from trading_assets.sources.validate import ROW, epoch_to_utc


def parquet_columns(path: Path) -> list[str] | None:
    """Column names from the Parquet footer (cheap: no data pages read); None if unreadable."""
    import pyarrow.parquet as pq

    try:
        return list(pq.read_schema(path).names)
    except (OSError, ValueError):  # pyarrow raises ArrowInvalid (a ValueError) on non-Parquet
        return None


def has_parquet_columns(path: Path, required: list[str]) -> bool:
    """Whether ``path`` is a ``.parquet`` file whose schema holds every ``required`` column."""
    if path.suffix.lower() != ".parquet":
        return False
    columns = parquet_columns(path)
    return bool(columns) and all(c in columns for c in required)


def read_parquet(path: Path, origin: str) -> pl.DataFrame:
    """Read a whole Parquet file into Polars.

    Raises:
        SourceDataError: the file is missing, empty, not Parquet or corrupt.
    """
    try:
        if path.stat().st_size == 0:
            raise SourceDataError(origin, "the file is empty")
        frame = pl.read_parquet(path)
    except SourceDataError:
        raise
    except (OSError, pl.exceptions.PolarsError) as exc:
        raise SourceDataError(origin, f"not a readable Parquet file: {exc}") from exc
    if frame.height == 0:
        raise SourceDataError(origin, "no rows: the Parquet file holds no rows")
    return frame


def utc_times(
    frame: pl.DataFrame, column: str, origin: str, rejects: RowRejects | None = None
) -> pl.Series:
    """A timestamp column as ``Datetime("us", "UTC")``.

    Datetimes with a time zone are converted to UTC; naive datetimes are taken as UTC;
    integers are epoch times (unit detected, see
    :func:`~trading_assets.sources.validate.epoch_to_utc`).

    Raises:
        SourceDataError: a column of another type; a null timestamp (names row and field;
            lenient mode, ``rejects`` given: recorded there instead, giving null).
    """
    values = frame[column]
    dtype = values.dtype
    if isinstance(dtype, pl.Datetime):
        out = values.dt.cast_time_unit("us")
        out = (
            out.dt.convert_time_zone("UTC") if dtype.time_zone else out.dt.replace_time_zone("UTC")
        )
    elif dtype.is_integer():
        out = epoch_to_utc(values, origin, frame[ROW], column, rejects)
    else:
        raise SourceDataError(
            origin, f"timestamps must be datetimes or epoch integers, not {dtype}", field=column
        )
    nulls = out.is_null()
    if rejects is not None:
        rejects.add(frame[ROW].filter(nulls & values.is_null()), column, "missing timestamp")
    elif nulls.any():
        raise SourceDataError(
            origin, "missing timestamp", row=int(frame[ROW][int(nulls.arg_max())]), field=column
        )
    return out.alias("ts")


def parquet_rows_text(path: Path, rows: list[int]) -> dict[int, str]:
    """Row (1-based) -> the Parquet row as JSON text; {} when the file cannot be read."""
    import json

    try:
        frame = pl.read_parquet(path)
    except (OSError, pl.exceptions.PolarsError):
        return {}
    out = {}
    for row in rows:
        if 0 < row <= frame.height:
            out[row] = json.dumps(frame.row(row - 1, named=True), default=str)[:1000]
    return out
