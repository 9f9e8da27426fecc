"""Publishing one report to both targets (local servers): nothing when off or unchanged, a
failing target recorded without losing the other, and ``reports.published`` rows."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import duckdb

from tests.publish.servers import unavailable
from trading_assets.http import RetryPolicy
from trading_assets.publish import report as publishing
from trading_assets.publish.discord import DiscordWebhook
from trading_assets.publish.wordpress import WordPressClient
from trading_assets.report.render import BODY_END, BODY_START

FAST = RetryPolicy(attempts=2, backoff_s=0.01, max_wait_s=0.1)


def _report(tmp_path: Path, content_hash: str = "abc") -> dict:
    path = tmp_path / "report-2023-05-01.html"
    path.write_text(f"<html><head></head>{BODY_START}\n<p>body</p>\n{BODY_END}</html>")
    return {
        "report_date": "2023-05-01", "path": str(path), "content_hash": content_hash,
        "summary": {"symbols": 2}, "notes": "- No news\n- No signals",
    }  # fmt: skip


def _publishers(wordpress, discord) -> publishing.Publishers:
    return publishing.Publishers(
        wordpress=lambda: WordPressClient(
            wordpress.url, wordpress.user, wordpress.app_password, retry=FAST
        ),
        discord=lambda: DiscordWebhook(discord.webhook_url, retry=FAST),
    )


def test_nothing_to_publish_says_why(tmp_path):
    off = publishing.Publishers()
    assert off.targets == []
    assert publishing.not_publishing(None, off).status == {"report": publishing.NO_REPORT}
    none = publishing.not_publishing(_report(tmp_path), off)
    assert none.status == {"publishing": publishing.PUBLISHING_OFF} and none.rows == []
    on = publishing.Publishers(discord=lambda: None)
    assert on.targets == ["discord"] and publishing.not_publishing(_report(tmp_path), on) is None


def test_publish_then_unchanged_then_one_failing_target(tmp_path, wordpress, discord):
    publishers = _publishers(wordpress, discord)
    report = _report(tmp_path)
    first = publishing.publish(report, {}, publishers, title="T", public_url=None)
    assert first.status == {"wordpress": "created post 101", "discord": first.status["discord"]}
    assert first.status["discord"].startswith("created message") and not first.failures
    assert wordpress.posts[101]["content"] == "<p>body</p>"
    assert wordpress.posts[101]["title"] == "T 2023-05-01"
    (message,) = discord.messages.values()
    assert message["embeds"][0]["url"] == first.rows[0]["url"]  # links the post

    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")
    written = publishing.record(con, first.rows)
    assert (written.inserted, written.rows) == (2, 2)
    state = publishing.read_state(con, date(2023, 5, 1))
    assert set(state) == {"wordpress", "discord"}

    same = publishing.publish(report, state, publishers, title="T", public_url=None)
    assert same.rows == [] and all(s.startswith("unchanged") for s in same.status.values())
    assert publishing.record(con, []).data_version == written.data_version

    wordpress.fail_next = [unavailable(), unavailable()]
    changed = publishing.publish(
        _report(tmp_path, "def"), state, publishers, title="T", public_url="https://x.test/r/"
    )
    assert changed.status["wordpress"].startswith("failed: wordpress: find post")
    assert len(changed.failures) == 1 and [r["target"] for r in changed.rows] == ["discord"]
    assert changed.status["discord"].startswith("updated message")
    assert len(discord.messages) == 1


def test_report_body_is_between_the_markers():
    assert publishing.report_body(f"x{BODY_START} <b>y</b>\n{BODY_END}z") == "<b>y</b>"
