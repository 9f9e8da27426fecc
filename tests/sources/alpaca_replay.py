"""A local Alpaca market-data server for tests: replays real captured response bodies.

The captures are ``../shared/data/alpaca/alpaca_py_<area>_responses.json`` (SOURCES.md E):
arrays of ``{test, method, url_template, response_body}`` taken from alpaca-py's own tests.
:func:`load_captures` turns each into a :class:`Route` that matches by path and query: query
values written as ``{placeholder}`` in the template must be present with any value, literal
values must be equal; extra query parameters are allowed. When several routes match, the one
with the most literal values wins (then the first added).

The server binds ``127.0.0.1`` on an ephemeral port and never talks to anything else. It can
serve a response split into pages linked by ``next_page_token`` (:func:`split_pages`), answer
chosen HTTP statuses before (or instead of) the body, and it records every request (path,
query, headers) so tests can count retries and check auth headers.

Paging: a request without ``page_token`` gets ``pages[0]``; one whose ``page_token`` equals
``pages[k]["next_page_token"]`` gets ``pages[k + 1]``. A captured body whose
``next_page_token`` points past the captured pages (alpaca-py's tests recorded only the first
page) is followed by an empty final page ``{<data key>: {}, "next_page_token": null}``, the
way Alpaca ends a range.
"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, HTTPServer, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

from tests.loopback import LoopbackServer

CAPTURE_FILES = {
    "stock": "alpaca_py_historical_stock_data_responses.json",
    "crypto": "alpaca_py_historical_crypto_data_responses.json",
}
DATA_KEYS = ("bars", "trades", "quotes", "snapshots")


@dataclass(frozen=True)
class Raw:
    """A page sent byte for byte instead of as JSON (to test malformed bodies)."""

    content: bytes


@dataclass
class Route:
    """What the server answers for requests matching ``path`` and ``query``.

    Attributes:
        path: exact URL path, e.g. ``/v2/stocks/bars``.
        query: name -> required value, or None for "present with any value".
        pages: response bodies (JSON-serialisable; None is sent as ``null``), linked by their
            ``next_page_token``.
        statuses: HTTP statuses answered first, one per matching request, before any body
            (e.g. ``[429]`` for one rate-limit answer).
        always_status: if set, every matching request gets this status (after ``statuses``).
        status_headers: extra headers sent with those error answers (e.g. ``Retry-After``).
        error_message: the ``message`` of those error answers' JSON body.
        name: label for messages (the capture's test name).
    """

    path: str
    query: dict[str, str | None] = field(default_factory=dict)
    pages: list[Any] = field(default_factory=list)
    statuses: list[int] = field(default_factory=list)
    always_status: int | None = None
    status_headers: dict[str, str] = field(default_factory=dict)
    error_message: str = "replayed error"
    name: str = ""

    def matches(self, path: str, query: dict[str, str]) -> bool:
        if path != self.path:
            return False
        for key, value in self.query.items():
            if key not in query or (value is not None and query[key] != value):
                return False
        return True

    @property
    def specificity(self) -> int:
        return sum(value is not None for value in self.query.values())

    def page_for(self, token: str | None) -> tuple[int, Any]:
        """Status and body of the page asked for with ``token``."""
        if token is None:
            return 200, self.pages[0]
        for index, page in enumerate(self.pages):
            if isinstance(page, dict) and page.get("next_page_token") == token:
                if index + 1 < len(self.pages):
                    return 200, self.pages[index + 1]
                return 200, {_data_key(self.pages[0]) or "bars": {}, "next_page_token": None}
        return 400, {"code": 40010001, "message": f"unknown page_token {token!r}"}


@dataclass
class Capture:
    """One captured response: the alpaca-py test it comes from, its URL template and body."""

    test: str
    method: str
    url_template: str
    body: Any

    def route(self, **changes: Any) -> Route:
        """A :class:`Route` serving this body for requests matching the template."""
        parts = urlsplit(self.url_template)
        query: dict[str, str | None] = {}
        for pair in parts.query.split("&") if parts.query else []:
            key, _, value = pair.partition("=")
            query[key] = None if "{" in value else value
        route = Route(path=parts.path, query=query, pages=[self.body], name=self.test)
        for key, value in changes.items():
            setattr(route, key, value)
        return route


def load_captures(shared_data: Path, area: str) -> dict[str, Capture]:
    """The captures of ``area`` (``stock`` or ``crypto``), keyed by alpaca-py test name."""
    path = Path(shared_data) / "alpaca" / CAPTURE_FILES[area]
    entries = json.loads(path.read_text(encoding="utf-8"))
    return {
        e["test"]: Capture(e["test"], e["method"], e["url_template"], e["response_body"])
        for e in entries
    }


def _data_key(body: Any) -> str | None:
    if isinstance(body, dict):
        for key in DATA_KEYS:
            if key in body:
                return key
    return None


def split_pages(body: dict[str, Any], pages: int) -> list[dict[str, Any]]:
    """Split one response body into ``pages`` bodies linked by ``next_page_token``.

    The rows of all symbols, in order, are cut into ``pages`` nearly equal runs; the last page
    ends with ``next_page_token: null``. Tokens are ``replay-page-<n>``.
    """
    key = _data_key(body)
    if key is None:
        raise ValueError("body has no bars/trades/quotes to split")
    flat = [(symbol, row) for symbol, rows in (body[key] or {}).items() for row in rows]
    if pages < 1 or pages > max(len(flat), 1):
        raise ValueError(f"cannot split {len(flat)} rows into {pages} pages")
    size, extra = divmod(len(flat), pages)
    result: list[dict[str, Any]] = []
    start = 0
    for index in range(pages):
        stop = start + size + (1 if index < extra else 0)
        data: dict[str, list[Any]] = {}
        for symbol, row in flat[start:stop]:
            data.setdefault(symbol, []).append(row)
        token = f"replay-page-{index + 2}" if index + 1 < pages else None
        result.append({key: data, "next_page_token": token})
        start = stop
    return result


@dataclass
class RecordedRequest:
    """One request the server received."""

    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]  # lower-case names

    @property
    def page_token(self) -> str | None:
        return self.query.get("page_token")


class ReplayServer(LoopbackServer):
    """An HTTP server on 127.0.0.1 answering from :class:`Route` objects (use as a context
    manager, or call :meth:`start` / :meth:`stop`)."""

    def __init__(self) -> None:
        self.routes: list[Route] = []
        self.requests: list[RecordedRequest] = []
        self._lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None

    @property
    def url(self) -> str:
        """Base URL to pass as ``data_url``: ``http://127.0.0.1:<port>``."""
        if self._server is None:
            raise RuntimeError("server not started")
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def add(self, route: Route) -> Route:
        self.routes.append(route)
        return route

    def requests_to(self, path: str) -> list[RecordedRequest]:
        return [r for r in self.requests if r.path == path]

    def _make_server(self) -> HTTPServer:
        server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler_class())
        server.daemon_threads = True
        return server

    def _respond(self, method: str, raw_path: str, headers: dict[str, str]):
        parts = urlsplit(raw_path)
        query = {k: v[0] for k, v in parse_qs(parts.query, keep_blank_values=True).items()}
        with self._lock:
            self.requests.append(RecordedRequest(method, parts.path, query, headers))
            matching = [r for r in self.routes if r.matches(parts.path, query)]
            if not matching:
                return 404, {"message": f"no replay route for {parts.path}?{parts.query}"}, {}
            route = max(matching, key=lambda r: r.specificity)  # max keeps the first on ties
            if route.statuses:
                status = route.statuses.pop(0)
                body = {"code": status, "message": route.error_message}
                return status, body, route.status_headers
            if route.always_status is not None:
                body = {"code": route.always_status, "message": route.error_message}
                return route.always_status, body, route.status_headers
            status, body = route.page_for(query.get("page_token"))
            return status, body, {}

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        replay = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_GET(self) -> None:  # noqa: N802 (http.server's naming)
                headers = {k.lower(): v for k, v in self.headers.items()}
                status, body, extra = replay._respond("GET", self.path, headers)
                payload = body.content if isinstance(body, Raw) else json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                for name, value in extra.items():
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(payload)

            def log_message(self, format: str, *args: Any) -> None:  # quiet
                pass

        return Handler
