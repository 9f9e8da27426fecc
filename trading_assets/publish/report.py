"""Publish the latest report to the configured targets, once per content.

The report is described by its materialization metadata (a mapping with ``report_date``
``YYYY-MM-DD``, ``path`` of the HTML file, ``content_hash``, ``summary`` and ``notes``, the
Markdown list of the report's notes). ``reports.published`` remembers, per (report date,
target), what was published last: a target whose stored content hash equals the report's is
left alone; otherwise the WordPress post of the date is created or updated in place and the
Discord message of the date is posted or edited. A failing target does not stop the other.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import duckdb
import polars as pl

from trading_assets import schemas
from trading_assets.errors import PublishError
from trading_assets.publish import discord as discord_logic
from trading_assets.publish import wordpress as wordpress_logic
from trading_assets.report import render
from trading_assets.warehouse.ddl import ensure_table
from trading_assets.warehouse.writes import WriteResult, content_version, upsert

if TYPE_CHECKING:  # the clients import httpx: only when a publisher is used
    from trading_assets.publish.discord import DiscordWebhook
    from trading_assets.publish.wordpress import WordPressClient

PUBLISHED_TABLE = "reports.published"
NO_REPORT = "no report yet: materialize reports/report first"
PUBLISHING_OFF = (
    "publishing is off: set WORDPRESS_URL, WORDPRESS_USER and WORDPRESS_APP_PASSWORD "
    "and/or DISCORD_WEBHOOK_URL"
)


@dataclass(frozen=True)
class Publishers:
    """The configured targets: a factory per enabled target (None: off).

    Attributes:
        wordpress: opens a :class:`~trading_assets.publish.wordpress.WordPressClient`.
        post_status: WordPress post status, ``publish`` or ``draft``.
        discord: opens a :class:`~trading_assets.publish.discord.DiscordWebhook`.
    """

    wordpress: Callable[[], WordPressClient] | None = None
    post_status: str = "publish"
    discord: Callable[[], DiscordWebhook] | None = None

    @property
    def targets(self) -> list[str]:
        """Names of the enabled targets, ``wordpress`` first."""
        return [name for name in ("wordpress", "discord") if getattr(self, name) is not None]


@dataclass
class PublishOutcome:
    """What publishing did.

    Attributes:
        status: one line per target (or ``report``/``publishing`` when nothing was tried).
        rows: ``reports.published`` rows (``PUBLISHED_SCHEMA``) of what went out now.
        failures: one message per target that failed (after retries).
    """

    status: dict[str, str] = field(default_factory=dict)
    rows: list[dict[str, Any]] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)


def not_publishing(
    report: Mapping[str, Any] | None, publishers: Publishers
) -> PublishOutcome | None:
    """Why nothing is published (no report yet, no target configured), or None when
    :func:`publish` should run."""
    if report is None:
        return PublishOutcome(status={"report": NO_REPORT})
    if not publishers.targets:
        return PublishOutcome(status={"publishing": PUBLISHING_OFF})
    return None


def report_date(report: Mapping[str, Any]) -> date:
    """The report's date (its ``report_date`` metadata, ``YYYY-MM-DD``).

    Raises:
        KeyError / ValueError: no or no ISO date."""
    return date.fromisoformat(report["report_date"])


def read_state(con: duckdb.DuckDBPyConnection, day: date) -> dict[str, dict[str, Any]]:
    """The stored ``reports.published`` row per target for report date ``day`` (the table is
    created if missing)."""
    ensure_table(con, PUBLISHED_TABLE)
    rows = con.sql(f"SELECT * FROM {PUBLISHED_TABLE} WHERE report_date = $1", params=[day]).pl()
    return {r["target"]: r for r in rows.iter_rows(named=True)}


def published_row(
    day: date, target: str, remote_id: str, url: str, content_hash: str, action: str
) -> dict[str, Any]:
    """One ``reports.published`` row, ``published_at`` now (UTC)."""
    return {
        "report_date": day,
        "target": target,
        "remote_id": remote_id,
        "url": url,
        "content_hash": content_hash,
        "action": action,
        "published_at": datetime.now(UTC),
    }


def report_body(html: str) -> str:
    """The report's content between its body markers, without ``<html>``/``<head>``.

    Raises:
        ValueError: ``html`` is not a rendered report (no markers)."""
    start = html.index(render.BODY_START) + len(render.BODY_START)
    return html[start : html.index(render.BODY_END)].strip()


def to_wordpress(
    open_client: Callable[[], WordPressClient],
    post_status: str,
    title: str,
    report: Mapping[str, Any],
    day: date,
) -> tuple[str, dict[str, Any]]:
    """Create or update the post of ``day`` with the report's body: (status line, row).

    Raises:
        PublishError: WordPress refused or kept failing."""
    body = report_body(Path(report["path"]).read_text(encoding="utf-8"))
    with open_client() as client:
        post = client.publish(
            wordpress_logic.post_slug(day), f"{title} {day:%Y-%m-%d}", body, status=post_status
        )
    row = published_row(
        day, "wordpress", str(post.post_id), post.link, report["content_hash"], post.action
    )
    return f"{post.action} post {post.post_id}", row


def to_discord(
    open_webhook: Callable[[], DiscordWebhook],
    report: Mapping[str, Any],
    day: date,
    link: str,
    previous_id: str | None,
) -> tuple[str, dict[str, Any]]:
    """Post the summary embed of the report, or edit message ``previous_id``: (status line,
    row).

    Raises:
        PublishError: Discord refused or kept failing."""
    notes = [n.strip("- ") for n in str(report.get("notes", "")).splitlines()]
    embed = discord_logic.report_embed(day, dict(report.get("summary") or {}), link, notes)
    with open_webhook() as hook:
        message_id, action = hook.upsert({"embeds": [embed]}, previous_id)
    row = published_row(day, "discord", message_id, link, report["content_hash"], action)
    return f"{action} message {message_id}", row


def publish(
    report: Mapping[str, Any],
    state: Mapping[str, Mapping[str, Any]],
    publishers: Publishers,
    *,
    title: str,
    public_url: str | None,
) -> PublishOutcome:
    """Publish ``report`` to each target of ``publishers`` whose stored content hash
    (``state``: :func:`read_state`) differs. The Discord message links the WordPress post,
    else ``<public_url>/<file name>``, else the local path. A target that fails is recorded
    in :attr:`PublishOutcome.failures` and does not stop the other."""
    day = report_date(report)
    path = Path(report["path"])
    link = f"{public_url.rstrip('/')}/{path.name}" if public_url else None
    outcome = PublishOutcome()
    for target in publishers.targets:
        previous = state.get(target)
        if previous and previous["content_hash"] == report["content_hash"]:
            outcome.status[target] = f"unchanged: {previous['remote_id']} is current"
            if target == "wordpress":
                link = previous["url"] or link
            continue
        try:
            if target == "wordpress":
                assert publishers.wordpress is not None
                outcome.status[target], row = to_wordpress(
                    publishers.wordpress, publishers.post_status, title, report, day
                )
                link = row["url"] or link
            else:
                assert publishers.discord is not None
                previous_id = previous["remote_id"] if previous else None
                outcome.status[target], row = to_discord(
                    publishers.discord, report, day, link or str(path), previous_id
                )
        except PublishError as exc:
            outcome.status[target] = f"failed: {exc}"
            outcome.failures.append(str(exc))
            continue
        outcome.rows.append(row)
    return outcome


def record(con: duckdb.DuckDBPyConnection, rows: Sequence[Mapping[str, Any]]) -> WriteResult:
    """Upsert ``rows`` into ``reports.published`` (created if missing; keyed by report date
    and target); with no rows, only read the table's row count and data version."""
    ensure_table(con, PUBLISHED_TABLE)
    if rows:
        frame = pl.DataFrame(list(rows), schema=schemas.PUBLISHED_SCHEMA)
        return upsert(con, PUBLISHED_TABLE, frame, list(schemas.PUBLISHED_KEY))
    return WriteResult(0, 0, 0, *content_version(con, PUBLISHED_TABLE))


__all__ = [
    "NO_REPORT",
    "PUBLISHING_OFF",
    "PublishOutcome",
    "Publishers",
    "not_publishing",
    "publish",
    "published_row",
    "read_state",
    "record",
    "report_body",
    "report_date",
    "to_discord",
    "to_wordpress",
]
