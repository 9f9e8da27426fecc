"""Helpers that turn frames and write results into Dagster materialization metadata."""

from __future__ import annotations

import math
from typing import Any

import dagster as dg
import polars as pl

from trading_assets.warehouse.writes import WriteResult

#: metadata flag (bool) of a check that did not pass because the data is historical
HISTORICAL = "historical"
#: metadata flag (text: why) of an asset, observation or check with no source on the profile
NO_SOURCE = "no_source"


#: the :data:`NO_SOURCE` text of a write that left its table empty
EMPTY_INPUTS = "no rows: its inputs hold none on this profile"


def write_metadata(result: WriteResult, no_source: str | None = None) -> dict[str, Any]:
    """Row counts of one write; a table left empty is flagged :data:`NO_SOURCE` with
    ``no_source`` (why; default :data:`EMPTY_INPUTS`), so an empty result never reads as
    work done."""
    flag = {NO_SOURCE: dg.MetadataValue.text(no_source or EMPTY_INPUTS)} if not result.rows else {}
    return {
        "rows": dg.MetadataValue.int(result.rows),
        "rows_inserted": dg.MetadataValue.int(result.inserted),
        "rows_updated": dg.MetadataValue.int(result.updated),
        "rows_deleted": dg.MetadataValue.int(result.deleted),
        "data_version": dg.MetadataValue.text(result.data_version),
        **flag,
    }


def _cell(value: Any) -> str:
    """A Markdown table cell: pipes escaped, line breaks as spaces."""
    return str(value).replace("|", "\\|").replace("\n", " ")


def preview(frame: pl.DataFrame, n: int = 5) -> dg.MetadataValue:
    """The last ``n`` rows of ``frame`` as a Markdown table."""
    tail = frame.tail(n)
    if tail.height == 0:
        return dg.MetadataValue.md("_no rows_")
    header = "| " + " | ".join(tail.columns) + " |"
    rule = "|" + "---|" * len(tail.columns)
    rows = ["| " + " | ".join(_cell(v) for v in row) + " |" for row in tail.iter_rows()]
    return dg.MetadataValue.md("\n".join([header, rule, *rows]))


def markdown_rows(rows: list[dict[str, Any]]) -> dg.MetadataValue:
    """A list of same-keyed dicts as a Markdown table (``_none_`` when empty)."""
    if not rows:
        return dg.MetadataValue.md("_none_")
    return preview(pl.DataFrame(rows, infer_schema_length=None), n=len(rows))


def coverage(frame: pl.DataFrame, by: str = "timeframe") -> dg.MetadataValue:
    """Rows and first/last ts per ``by`` value, as a Markdown table."""
    if frame.height == 0 or by not in frame.columns:
        return dg.MetadataValue.md("_no rows_")
    stats = (
        frame.group_by(by)
        .agg(
            pl.len().alias("rows"),
            pl.col("ts").min().alias("first"),
            pl.col("ts").max().alias("last"),
        )
        .sort(by)
    )
    return coverage_from_stats(stats, by)


def coverage_from_stats(stats: pl.DataFrame, by: str = "timeframe") -> dg.MetadataValue:
    """Markdown table of precomputed (``by``, rows, first, last) rows, e.g. from SQL."""
    if stats.height == 0:
        return dg.MetadataValue.md("_no rows_")
    lines = [f"| {by} | rows | first (UTC) | last (UTC) |", "|---|---|---|---|"]
    lines += [f"| {r[0]} | {r[1]} | {r[2]} | {r[3]} |" for r in stats.iter_rows()]
    return dg.MetadataValue.md("\n".join(lines))


def _numbers(value: Any, path: tuple[str, ...], depth: int) -> dict[str, float | int]:
    """Numeric leaves of ``value`` (dicts walked ``depth`` levels deep; a list counts as its
    length, ``<path>_count``), keyed by path."""
    if isinstance(value, bool) or value is None:
        return {}
    if isinstance(value, int | float):
        return {"_".join(path): value} if math.isfinite(value) else {}
    if isinstance(value, list | tuple) and path:
        return {"_".join((*path, "count")): len(value)}
    if isinstance(value, dict) and depth > 0:
        out: dict[str, float | int] = {}
        for key, inner in value.items():
            out.update(_numbers(inner, (*path, str(key)), depth - 1))
        return out
    return {}


def check_metadata(
    details: dict[str, Any], partition: str | None = None, *, limit: int = 40, depth: int = 3
) -> dict[str, Any]:
    """Asset check metadata: ``details`` as JSON, every numeric figure in it (nested keys
    joined by ``_``, e.g. ``timeframes_1d_lag_hours``; lists as their ``_count``; at most
    ``limit``) as a number, so
    Dagster plots its history, and the ``partition`` the check ran on (when partitioned)."""
    numbers = dict(list(_numbers(details, (), depth).items())[:limit])
    return {
        "details": dg.MetadataValue.json(details),
        **{
            key: dg.MetadataValue.int(v) if isinstance(v, int) else dg.MetadataValue.float(v)
            for key, v in numbers.items()
        },
        **({"partition": dg.MetadataValue.text(partition)} if partition is not None else {}),
    }


def no_source_check(
    check_name: str, why: str, metadata: dict[str, Any] | None = None, said: str = "No source"
) -> dg.AssetCheckResult:
    """A check result that does not pass only to say there is nothing to check: a WARN with
    the description ``"<said>: <why>."`` and the :data:`NO_SOURCE` flag in its metadata."""
    return dg.AssetCheckResult(
        check_name=check_name,
        passed=False,
        severity=dg.AssetCheckSeverity.WARN,
        description=f"{said}: {why}.",
        metadata={**(metadata or {}), NO_SOURCE: dg.MetadataValue.text(why)},
    )
