"""Helpers that turn frames and write results into Dagster materialization metadata."""

from __future__ import annotations

from typing import Any

import dagster as dg
import polars as pl

from trading_assets.warehouse.writes import WriteResult


def write_metadata(result: WriteResult) -> dict[str, Any]:
    """Row counts of one write."""
    return {
        "rows": dg.MetadataValue.int(result.rows),
        "rows_inserted": dg.MetadataValue.int(result.inserted),
        "rows_updated": dg.MetadataValue.int(result.updated),
        "rows_deleted": dg.MetadataValue.int(result.deleted),
        "data_version": dg.MetadataValue.text(result.data_version),
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
