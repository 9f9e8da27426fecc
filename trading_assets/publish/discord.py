"""Post, or edit in place, a Discord webhook message with a summary embed of the report.

Create with ``POST <webhook>?wait=true`` (the answer is the message, with its ``id``);
re-running for the same report date edits that message with
``PATCH <webhook>/messages/<id>`` instead of posting again. A message deleted in Discord
(404 on edit) is posted anew. The webhook URL holds its token: it is never logged.
"""

from __future__ import annotations

from datetime import date
from typing import TYPE_CHECKING, Any

from trading_assets.errors import PublishError
from trading_assets.http import RetryPolicy
from trading_assets.publish.calls import call

if TYPE_CHECKING:
    import httpx

EMBED_COLOR = 0x1D4F91
ALERT_COLOR = 0xB5402A


def _fmt(value: Any) -> str:
    if value is None:
        return "–"
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)


def discord_retry_after(response: httpx.Response) -> float | None:
    """The ``retry_after`` (seconds, may be fractional) of a Discord 429 JSON body; None when
    absent (the shared layer reads the ``Retry-After`` header first)."""
    if not response.headers.get("content-type", "").startswith("application/json"):
        return None
    try:
        value = response.json().get("retry_after")
    except (ValueError, AttributeError):
        return None
    if isinstance(value, int | float) and value >= 0:
        return float(value)
    return None


def report_embed(
    report_date: date, summary: dict[str, Any], link: str | None, notes: list[str]
) -> dict[str, Any]:
    """A Discord embed (dict) with the report's key figures, its first notes and ``link``
    (an http(s) URL, e.g. the WordPress post; a file path is shown as text instead)."""
    best = summary.get("best_backtest") or {}
    fields = [
        {"name": "Newest bar", "value": _fmt(summary.get("newest_bar")), "inline": True},
        {"name": "Symbols", "value": _fmt(summary.get("symbols")), "inline": True},
        {"name": "Models", "value": _fmt(summary.get("models")), "inline": True},
        {
            "name": "Signals long/short/flat",
            "value": f"{summary.get('signals_long', 0)} / {summary.get('signals_short', 0)} / "
            f"{summary.get('signals_flat', 0)}",
            "inline": True,
        },
    ]
    if best:
        where = f"{best.get('strategy')} ({best.get('symbol')} {best.get('timeframe')})"
        figures = (
            f"Sharpe {_fmt(best.get('sharpe'))}, return {_fmt(best.get('total_return'))}, "
            f"max DD {_fmt(best.get('max_drawdown'))}"
        )
        fields.append({"name": f"Best {where}", "value": figures, "inline": False})
    fields.append(
        {"name": "Checks not passing", "value": _fmt(summary.get("failed_checks")), "inline": True}
    )
    embed: dict[str, Any] = {
        "title": f"Trading report {report_date:%Y-%m-%d}",
        "color": EMBED_COLOR,
        "fields": fields[:25],
        "description": "\n".join(f"• {n}" for n in notes[:5])[:4000] or "All sections present.",
    }
    if link and link.startswith(("http://", "https://")):
        embed["url"] = link
    elif link:
        embed["footer"] = {"text": link[:2000]}
    return embed


class DiscordWebhook:
    """One Discord webhook (``https://discord.com/api/webhooks/<id>/<token>``).

    Args:
        url: the webhook URL (secret: its last path segment is the token).
        timeout_s: per request timeout, seconds.
        retry: how 429/5xx answers and transport errors are retried (:class:`RetryPolicy`;
            a 429 waits ``Retry-After`` or the body's ``retry_after``).
        transport: an httpx transport (tests).
    """

    def __init__(
        self,
        url: str,
        *,
        timeout_s: float = 30.0,
        retry: RetryPolicy | None = None,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        if not url:
            raise PublishError("discord", "no webhook URL")
        self._url = url.rstrip("/")
        self._secrets = (self._url, self._url.rsplit("/", 1)[-1])  # kept out of logs/errors
        self._retry = retry or RetryPolicy()
        import httpx

        self._client = httpx.Client(timeout=timeout_s, transport=transport)

    def close(self) -> None:
        self._client.close()

    def __enter__(self) -> DiscordWebhook:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def post(self, payload: dict[str, Any]) -> str:
        """Post a new message; returns its id."""
        response = call(
            self._client,
            "POST",
            self._url,
            target="discord",
            label="post message",
            hint=discord_retry_after,
            secrets=self._secrets,
            params={"wait": "true"},
            json=payload,
            retry=self._retry,
        )
        return str(response.json()["id"])

    def edit(self, message_id: str, payload: dict[str, Any]) -> bool:
        """Edit message ``message_id`` in place; False if Discord no longer has it (404)."""
        response = call(
            self._client,
            "PATCH",
            f"{self._url}/messages/{message_id}",
            target="discord",
            label=f"edit message {message_id}",
            hint=discord_retry_after,
            secrets=self._secrets,
            json=payload,
            ok_statuses=(404,),
            retry=self._retry,
        )
        return response.status_code != 404

    def upsert(self, payload: dict[str, Any], message_id: str | None = None) -> tuple[str, str]:
        """Edit ``message_id`` if given and still there, else post; returns (id, action)
        with action ``updated`` or ``created``."""
        if message_id and self.edit(message_id, payload):
            return message_id, "updated"
        return self.post(payload), "created"

    def alert(self, title: str, description: str) -> str:
        """Post an alert embed (a failed run); returns the message id."""
        return self.post(
            {
                "embeds": [
                    {"title": title[:256], "description": description[:4000], "color": ALERT_COLOR}
                ]
            }
        )
