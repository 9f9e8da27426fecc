"""Local WordPress and Discord servers on 127.0.0.1 that answer in the real wire format.

WordPress: ``/wp-json/wp/v2/posts`` (list by ``slug``/``status``, create) and
``/wp-json/wp/v2/posts/<id>`` (update), Basic auth with an application password, post objects
shaped like WordPress 6's (``id``, ``slug``, ``status``, ``link``, ``title.rendered``,
``content.rendered`` ...), errors as ``{"code", "message", "data": {"status"}}``.
Discord: ``POST /api/webhooks/<id>/<token>?wait=true`` returns the message object (``id`` a
snowflake string, ``embeds``, ``webhook_id``...; 204 without ``wait``), ``PATCH
.../messages/<id>`` edits it, unknown ids give ``{"message": "Unknown Message", "code":
10008}``; 429 answers carry ``Retry-After`` and the JSON ``retry_after`` like Discord's.
Both can be told to fail the next requests (``fail_next``) to exercise retries, and record
every request (method, path, headers, body).
"""

from __future__ import annotations

import base64
import json
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, HTTPServer, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

from tests.loopback import LoopbackServer


@dataclass
class Recorded:
    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    body: Any


@dataclass
class FakeService(LoopbackServer):
    """Shared plumbing: a request log and a queue of failures to answer first."""

    requests: list[Recorded] = field(default_factory=list)
    fail_next: list[tuple[int, dict[str, str], dict[str, Any]]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def handle(self, method: str, path: str, query, headers, body) -> tuple:
        """``(status, headers, payload)``, or with a 4th item: seconds to wait before answering
        (without holding the lock)."""
        raise NotImplementedError

    def _make_server(self) -> HTTPServer:
        service = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: object) -> None:  # keep test output clean
                pass

            def _serve(self, method: str) -> None:
                parts = urlsplit(self.path)
                length = int(self.headers.get("content-length") or 0)
                raw = self.rfile.read(length) if length else b""
                body = json.loads(raw) if raw else None
                headers = {k.lower(): v for k, v in self.headers.items()}
                with service.lock:
                    service.requests.append(
                        Recorded(method, parts.path, parse_qs(parts.query), headers, body)
                    )
                    failure = service.fail_next.pop(0) if service.fail_next else None
                    answer = failure or service.handle(
                        method, parts.path, parse_qs(parts.query), headers, body
                    )
                status, extra, payload = answer[:3]
                if len(answer) > 3 and answer[3]:  # a slow answer, waited outside the lock
                    time.sleep(answer[3])
                data = b"" if payload is None else json.dumps(payload).encode()
                try:
                    self.send_response(status)
                    if payload is not None:
                        self.send_header("Content-Type", "application/json; charset=UTF-8")
                    for k, v in extra.items():
                        self.send_header(k, v)
                    self.send_header("Content-Length", str(len(data)))
                    self.end_headers()
                    self.wfile.write(data)
                except (BrokenPipeError, ConnectionResetError):  # the client gave up waiting
                    pass

            def do_GET(self) -> None:
                self._serve("GET")

            def do_POST(self) -> None:
                self._serve("POST")

            def do_PATCH(self) -> None:
                self._serve("PATCH")

        return ThreadingHTTPServer(("127.0.0.1", 0), Handler)


def rate_limited(retry_after: float = 0.05) -> tuple[int, dict[str, str], dict[str, Any]]:
    """A 429 as Discord sends it (header and body)."""
    return (
        429,
        {"Retry-After": f"{retry_after:g}"},
        {"message": "You are being rate limited.", "retry_after": retry_after, "global": False},
    )


def unavailable() -> tuple[int, dict[str, str], dict[str, Any]]:
    """A 503 from a proxy in front of the service."""
    return 503, {}, {"code": "service_unavailable", "message": "Service Unavailable"}


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S")


@dataclass
class FakeWordPress(FakeService):
    """A WordPress site with one user and application password."""

    user: str = "editor"
    app_password: str = "abcd EFGH 1234 ijkl MNOP 5678"
    posts: dict[int, dict[str, Any]] = field(default_factory=dict)
    next_id: int = 101

    def _authorized(self, headers: dict[str, str]) -> bool:
        expected = base64.b64encode(f"{self.user}:{self.app_password}".encode()).decode()
        return headers.get("authorization") == f"Basic {expected}"

    def _post_object(self, post: dict[str, Any]) -> dict[str, Any]:
        link = f"{self.url}/{post['slug']}/"
        return {
            "id": post["id"],
            "date": post["date"],
            "date_gmt": post["date"],
            "guid": {
                "rendered": f"{self.url}/?p={post['id']}",
                "raw": f"{self.url}/?p={post['id']}",
            },
            "modified": post["modified"],
            "modified_gmt": post["modified"],
            "slug": post["slug"],
            "status": post["status"],
            "type": "post",
            "link": link,
            "title": {"raw": post["title"], "rendered": post["title"]},
            "content": {"raw": post["content"], "rendered": post["content"], "protected": False},
            "excerpt": {"raw": "", "rendered": "", "protected": False},
            "author": 1,
            "format": "standard",
            "meta": [],
            "categories": [1],
            "tags": [],
        }

    def handle(self, method, path, query, headers, body):
        if not self._authorized(headers):
            return (
                401,
                {},
                {
                    "code": "incorrect_password",
                    "message": "The provided password is an invalid application password.",
                    "data": {"status": 401},
                },
            )
        if path == "/wp-json/wp/v2/posts" and method == "GET":
            slug = (query.get("slug") or [None])[0]
            found = [p for p in self.posts.values() if slug is None or p["slug"] == slug]
            return 200, {"X-WP-Total": str(len(found))}, [self._post_object(p) for p in found]
        if path == "/wp-json/wp/v2/posts" and method == "POST":
            post = {
                "id": self.next_id,
                "slug": body.get("slug") or f"post-{self.next_id}",
                "status": body.get("status", "draft"),
                "title": body.get("title", ""),
                "content": body.get("content", ""),
                "date": _now(),
                "modified": _now(),
            }
            self.posts[self.next_id] = post
            self.next_id += 1
            return 201, {"Location": f"{self.url}{path}/{post['id']}"}, self._post_object(post)
        if path.startswith("/wp-json/wp/v2/posts/") and method == "POST":
            post_id = int(path.rsplit("/", 1)[-1])
            if post_id not in self.posts:
                return (
                    404,
                    {},
                    {
                        "code": "rest_post_invalid_id",
                        "message": "Invalid post ID.",
                        "data": {"status": 404},
                    },
                )
            post = self.posts[post_id]
            post.update({k: body[k] for k in ("title", "content", "status") if k in body})
            post["modified"] = _now()
            return 200, {}, self._post_object(post)
        return 404, {}, {"code": "rest_no_route", "message": "No route.", "data": {"status": 404}}


@dataclass
class FakeDiscord(FakeService):
    """One Discord webhook ``/api/webhooks/<webhook_id>/<token>``."""

    webhook_id: str = "1187654321098765432"
    token: str = "Zk3-secret-webhook-token_9QmXv"
    messages: dict[str, dict[str, Any]] = field(default_factory=dict)
    next_id: int = 1320000000000000001

    @property
    def webhook_url(self) -> str:
        return f"{self.url}/api/webhooks/{self.webhook_id}/{self.token}"

    def handle(self, method, path, query, headers, body):
        base = f"/api/webhooks/{self.webhook_id}/{self.token}"
        if not path.startswith(base):
            return 401, {}, {"message": "Invalid Webhook Token", "code": 50027}
        rest = path[len(base) :]
        if rest == "" and method == "POST":
            message = {
                "id": str(self.next_id),
                "type": 0,
                "content": body.get("content", ""),
                "channel_id": "1100000000000000000",
                "author": {"bot": True, "id": self.webhook_id, "username": "trading-assets"},
                "embeds": body.get("embeds", []),
                "timestamp": _now() + "+00:00",
                "edited_timestamp": None,
                "webhook_id": self.webhook_id,
            }
            self.next_id += 1
            self.messages[message["id"]] = message
            if (query.get("wait") or ["false"])[0] == "true":
                return 200, {}, message
            return 204, {}, None
        if rest.startswith("/messages/") and method == "PATCH":
            message_id = rest.rsplit("/", 1)[-1]
            if message_id not in self.messages:
                return 404, {}, {"message": "Unknown Message", "code": 10008}
            message = self.messages[message_id]
            message.update({k: body[k] for k in ("content", "embeds") if k in body})
            message["edited_timestamp"] = _now() + "+00:00"
            return 200, {}, message
        return 405, {}, {"message": "405: Method Not Allowed", "code": 0}
