"""WordPress and Discord clients against local servers: idempotent per report date, retried on
429 (waiting Retry-After) and 503, secrets never in the logs."""

from __future__ import annotations

import logging
from datetime import date

import httpx
import pytest

from tests.publish.servers import rate_limited, unavailable
from trading_assets.errors import PublishError
from trading_assets.http import RetryPolicy
from trading_assets.publish.discord import DiscordWebhook, discord_retry_after, report_embed
from trading_assets.publish.wordpress import WordPressClient, post_slug

DAY = date(2023, 5, 1)
FAST = {"retry": RetryPolicy(backoff_s=0.01, max_wait_s=1.0)}


def test_wordpress_creates_then_updates_the_post_of_the_date(wordpress):
    client = WordPressClient(wordpress.url, wordpress.user, wordpress.app_password, **FAST)
    slug = post_slug(DAY)
    first = client.publish(slug, "Trading report 2023-05-01", "<p>v1</p>")
    second = client.publish(slug, "Trading report 2023-05-01", "<p>v2</p>")
    assert (first.action, second.action) == ("created", "updated")
    assert first.post_id == second.post_id == 101
    assert len(wordpress.posts) == 1
    assert wordpress.posts[101]["content"] == "<p>v2</p>" and slug == "trading-report-2023-05-01"
    assert first.link == f"{wordpress.url}/trading-report-2023-05-01/"
    lookups = [r for r in wordpress.requests if r.method == "GET"]
    assert lookups[0].query["slug"] == [slug] and lookups[0].query["status"] == ["any"]


def test_wordpress_retries_429_and_503(wordpress):
    wordpress.fail_next = [rate_limited(0.05), unavailable()]
    client = WordPressClient(wordpress.url, wordpress.user, wordpress.app_password, **FAST)
    result = client.publish(post_slug(DAY), "t", "c")
    assert result.action == "created"
    assert [r.method for r in wordpress.requests] == ["GET", "GET", "GET", "POST"]


def test_wordpress_gives_up_with_a_clear_error_and_no_secret(wordpress):
    wordpress.fail_next = [unavailable()] * 3
    client = WordPressClient(
        wordpress.url,
        wordpress.user,
        wordpress.app_password,
        retry=RetryPolicy(attempts=3, backoff_s=0.01, max_wait_s=1.0),
    )
    with pytest.raises(PublishError, match="HTTP 503 after 3 attempts") as err:
        client.publish(post_slug(DAY), "t", "c")
    assert wordpress.app_password not in str(err.value)


def test_wordpress_wrong_password_is_not_retried(wordpress):
    client = WordPressClient(wordpress.url, wordpress.user, "wrong pass word", **FAST)
    with pytest.raises(PublishError, match="HTTP 401") as err:
        client.publish(post_slug(DAY), "t", "c")
    assert err.value.status == 401 and len(wordpress.requests) == 1


def test_discord_posts_once_then_edits_in_place(discord):
    hook = DiscordWebhook(discord.webhook_url, **FAST)
    embed = report_embed(DAY, {"symbols": 2, "newest_bar": "2023-05-01T14:00:00+00:00"}, None, [])
    message_id, action = hook.upsert({"embeds": [embed]})
    again, action2 = hook.upsert({"embeds": [embed]}, message_id)
    assert (action, action2) == ("created", "updated") and again == message_id
    assert len(discord.messages) == 1
    assert discord.messages[message_id]["edited_timestamp"] is not None
    assert discord.requests[0].query == {"wait": ["true"]}
    assert [r.method for r in discord.requests] == ["POST", "PATCH"]


def test_discord_reposts_a_deleted_message(discord):
    hook = DiscordWebhook(discord.webhook_url, **FAST)
    message_id, action = hook.upsert({"content": "x"}, "999")
    assert action == "created" and message_id != "999" and len(discord.messages) == 1


def test_discord_429_waits_retry_after_then_succeeds(discord):
    discord.fail_next = [rate_limited(0.2), unavailable()]
    waits: list[float] = []
    hook = DiscordWebhook(
        discord.webhook_url, retry=RetryPolicy(backoff_s=0.01, max_wait_s=1.0, sleep=waits.append)
    )
    message_id, _ = hook.upsert({"content": "report"})
    assert message_id in discord.messages
    assert len(discord.requests) == 3
    # the 429 waited what Retry-After said; the 503 backed off exponentially (0.01 s x 2)
    assert waits == [0.2, 0.02]


def test_discord_body_retry_after_is_the_hint_without_the_header():
    assert discord_retry_after(httpx.Response(429, json={"retry_after": 0.25})) == 0.25
    assert discord_retry_after(httpx.Response(429, json={"message": "slow down"})) is None
    assert discord_retry_after(httpx.Response(429, text="slow down")) is None


def test_secrets_never_reach_the_logs(discord, wordpress, caplog):
    caplog.set_level(logging.DEBUG)
    discord.fail_next = [rate_limited(0.01)]
    wordpress.fail_next = [unavailable()]
    DiscordWebhook(discord.webhook_url, **FAST).upsert({"content": "x"})
    WordPressClient(wordpress.url, wordpress.user, wordpress.app_password, **FAST).publish(
        "s", "t", "c"
    )
    text = "\n".join(r.getMessage() for r in caplog.records)
    assert "HTTP Request" in text  # httpx did log its requests, redacted
    assert "retrying" in text
    assert discord.token not in text and wordpress.app_password not in text
    assert "***" in text


def test_embed_links_only_http_urls():
    summary = {"best_backtest": {"strategy": "consensus", "symbol": "ETH/USDT", "sharpe": 1.2}}
    assert report_embed(DAY, summary, "https://blog/x/", ["n"])["url"] == "https://blog/x/"
    local = report_embed(DAY, summary, "/home/u/reports/latest.html", [])
    assert "url" not in local and local["footer"]["text"].endswith("latest.html")
    assert any(f["name"].startswith("Best consensus") for f in local["fields"])
