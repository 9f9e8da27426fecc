"""A local feed server for tests and the benchmark, and RSS/Atom documents built from real
headlines.

The server binds ``127.0.0.1`` on an ephemeral port and never talks to anything else. Each
path has a :class:`FeedRoute`: the body, its content type, a latency, error statuses to answer
first, an ETag/Last-Modified it honours (``If-None-Match``/``If-Modified-Since`` -> 304), or
a slow "dribble" of the body. It records every request, how many body bytes it sent, and the
largest number of requests in flight at once (to show that fetching is concurrent without
timing assertions).

The documents are built at test time from the real headlines in ``../shared/data/news``
(SOURCES.md §C): Yahoo per-symbol articles (title, link, publisher, time, tickers) and the
Kaggle headline CSVs (title, date). Nothing is copied into the repository.
"""

from __future__ import annotations

import contextlib
import csv
import hashlib
import json
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import format_datetime
from http.server import BaseHTTPRequestHandler, HTTPServer, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape

from tests.loopback import LoopbackServer

# ---------------------------------------------------------------- real headlines


def yahoo_articles(shared_data: Path, symbol: str | None = None) -> list[dict[str, Any]]:
    """Every article of the Yahoo per-symbol files (optionally one symbol's), in file order,
    each with the file's ``symbol`` added."""
    folder = Path(shared_data) / "news" / "yahoo_per_symbol_2025-12"
    result: list[dict[str, Any]] = []
    for path in sorted(folder.glob(f"{symbol or '*'}_news_*.json")):
        data = json.loads(path.read_text(encoding="utf-8"))
        for article in data["articles"]:
            result.append({**article, "symbol": data["symbol"]})
    return result


def csv_headlines(shared_data: Path, name: str, limit: int | None = None) -> list[tuple[str, str]]:
    """(date, headline) rows of ``<name>_headlines.csv`` (header skipped), file order."""
    path = Path(shared_data) / "news" / "kaggle_headlines_2017-2020" / f"{name}_headlines.csv"
    rows: list[tuple[str, str]] = []
    with open(path, encoding="utf-8", newline="") as handle:
        for row in csv.reader(handle):
            if len(row) < 2 or row[0] == "date":
                continue
            rows.append((row[0], row[1]))
            if limit is not None and len(rows) >= limit:
                break
    return rows


def _dt(value: str | datetime) -> datetime:
    if isinstance(value, datetime):
        return value
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


def rss_document(
    items: list[dict[str, Any]],
    *,
    title: str = "Test feed",
    encoding: str = "utf-8",
    declared: str | None = None,
    date_format: str = "rfc822",
) -> bytes:
    """An RSS 2.0 document. Items: ``title`` (text), optional ``url``, ``publishedAt`` (ISO or
    datetime; omitted when None), ``summary``, ``publisher``. ``declared`` is the encoding
    written in the XML declaration (default ``encoding``), so a wrong one can be declared.
    ``date_format``: ``rfc822`` (RFC 822 in GMT), ``est`` (RFC 822 in EST), ``iso`` or
    ``naive`` (``YYYY-MM-DD HH:MM:SS``)."""
    parts = [
        f'<?xml version="1.0" encoding="{declared or encoding}"?>',
        '<rss version="2.0"><channel>',
        f"<title>{escape(title)}</title><link>http://127.0.0.1/</link>"
        "<description>test</description>",
    ]
    for item in items:
        parts.append("<item>")
        parts.append(f"<title>{escape(item['title'])}</title>")
        if item.get("url"):
            parts.append(f"<link>{escape(item['url'])}</link>")
            parts.append(f'<guid isPermaLink="true">{escape(item["url"])}</guid>')
        if item.get("publishedAt"):
            moment = _dt(item["publishedAt"]).astimezone(UTC)
            if date_format == "rfc822":
                text = format_datetime(moment, usegmt=True)
            elif date_format == "est":
                from zoneinfo import ZoneInfo

                local = moment.astimezone(ZoneInfo("EST"))
                text = local.strftime("%a, %d %b %Y %H:%M:%S EST")
            elif date_format == "iso":
                text = moment.isoformat()
            else:
                text = moment.strftime("%Y-%m-%d %H:%M:%S")
            parts.append(f"<pubDate>{text}</pubDate>")
        if item.get("summary"):
            parts.append(f"<description>{escape(item['summary'])}</description>")
        if item.get("publisher"):
            parts.append(f'<source url="http://127.0.0.1/">{escape(item["publisher"])}</source>')
        parts.append("</item>")
    parts.append("</channel></rss>")
    return "\n".join(parts).encode(encoding, errors="xmlcharrefreplace")


def atom_document(items: list[dict[str, Any]], *, title: str = "Test Atom feed") -> bytes:
    """An Atom 1.0 document (UTF-8); items as for :func:`rss_document`. Items without ``url``
    get a ``tag:`` id and no link."""
    parts = [
        '<?xml version="1.0" encoding="utf-8"?>',
        '<feed xmlns="http://www.w3.org/2005/Atom">',
        f"<title>{escape(title)}</title><id>tag:127.0.0.1,2024:feed</id>",
        "<updated>2024-01-01T00:00:00Z</updated>",
    ]
    for index, item in enumerate(items):
        parts.append("<entry>")
        parts.append(f'<title type="text">{escape(item["title"])}</title>')
        ident = item.get("url") or f"tag:127.0.0.1,2024:item-{index}"
        parts.append(f"<id>{escape(ident)}</id>")
        if item.get("url"):
            parts.append(f'<link rel="alternate" href="{escape(item["url"])}"/>')
        if item.get("publishedAt"):
            stamp = _dt(item["publishedAt"]).astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
            parts.append(f"<published>{stamp}</published><updated>{stamp}</updated>")
        if item.get("summary"):
            parts.append(f"<summary>{escape(item['summary'])}</summary>")
        parts.append("</entry>")
    parts.append("</feed>")
    return "\n".join(parts).encode("utf-8")


# ---------------------------------------------------------------- server


@dataclass
class FeedRoute:
    """What the server answers on one path.

    Attributes:
        body: the document bytes.
        content_type: ``Content-Type`` header.
        latency_s: wait before answering (each request).
        statuses: statuses answered first, one per request, without a body (e.g. [503]).
        status: the status of the normal answer (200; 404/500 to fail every time).
        etag: ``"auto"`` (hash of the body), a fixed value, or None (no ETag).
        last_modified: ``Last-Modified`` header, or None.
        honour_conditional: answer 304 when the validators match.
        dribble_chunk / dribble_s: send the body in chunks of this size with this pause.
        send_length: send ``Content-Length`` (else the body ends with the connection).
        headers: extra response headers.
    """

    body: bytes = b""
    content_type: str = "application/rss+xml; charset=utf-8"
    latency_s: float = 0.0
    statuses: list[int] = field(default_factory=list)
    status: int = 200
    etag: str | None = "auto"
    last_modified: str | None = None
    honour_conditional: bool = True
    dribble_chunk: int = 0
    dribble_s: float = 0.0
    send_length: bool = True
    headers: dict[str, str] = field(default_factory=dict)

    @property
    def etag_value(self) -> str | None:
        if self.etag == "auto":
            return '"' + hashlib.sha256(self.body).hexdigest()[:16] + '"'
        return self.etag


@dataclass
class Served:
    """One request the server answered."""

    path: str
    headers: dict[str, str]
    status: int
    body_bytes: int


class _Server(ThreadingHTTPServer):
    request_queue_size = 512
    daemon_threads = True
    allow_reuse_address = True


class FeedServer(LoopbackServer):
    """HTTP server on 127.0.0.1 serving :class:`FeedRoute` objects (a context manager)."""

    def __init__(self) -> None:
        self.routes: dict[str, FeedRoute] = {}
        self.served: list[Served] = []
        self.max_in_flight = 0
        self._in_flight = 0
        self._lock = threading.Lock()
        self._server: _Server | None = None

    def add(self, path: str, route: FeedRoute) -> str:
        """Serve ``route`` on ``path``; returns its full URL."""
        self.routes[path] = route
        return self.url(path)

    def url(self, path: str) -> str:
        if self._server is None:
            raise RuntimeError("server not started")
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}{path}"

    def served_to(self, path: str) -> list[Served]:
        return [s for s in self.served if s.path == path]

    def body_bytes(self) -> int:
        """Body bytes sent so far (all paths)."""
        return sum(s.body_bytes for s in self.served)

    def reset_counters(self) -> None:
        with self._lock:
            self.served.clear()
            self.max_in_flight = 0

    def _make_server(self) -> HTTPServer:
        return _Server(("127.0.0.1", 0), self._handler())

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def handle(self) -> None:
                # a client that gave up (timeout, size limit) is not an error
                with contextlib.suppress(ConnectionResetError, BrokenPipeError):
                    super().handle()

            def do_GET(self) -> None:  # noqa: N802 (http.server's naming)
                with server._lock:
                    server._in_flight += 1
                    server.max_in_flight = max(server.max_in_flight, server._in_flight)
                try:
                    self._answer()
                except (BrokenPipeError, ConnectionResetError):
                    pass
                finally:
                    with server._lock:
                        server._in_flight -= 1

            def _record(self, status: int, sent: int) -> None:
                headers = {k.lower(): v for k, v in self.headers.items()}
                with server._lock:
                    server.served.append(Served(self.path, headers, status, sent))

            def _answer(self) -> None:
                route = server.routes.get(self.path)
                if route is None:
                    self._plain(404, b"not found")
                    return
                if route.latency_s:
                    time.sleep(route.latency_s)
                with server._lock:
                    early = route.statuses.pop(0) if route.statuses else None
                if early is not None:
                    self._plain(early, b"")
                    return
                etag = route.etag_value
                if route.honour_conditional and route.status == 200:
                    match = etag and self.headers.get("If-None-Match") == etag
                    since = route.last_modified and (
                        self.headers.get("If-Modified-Since") == route.last_modified
                    )
                    if match or (since and not self.headers.get("If-None-Match")):
                        self.send_response(304)
                        if etag:
                            self.send_header("ETag", etag)
                        self.send_header("Content-Length", "0")
                        self.end_headers()
                        self._record(304, 0)
                        return
                if route.status != 200:
                    self._plain(route.status, route.body or b"error")
                    return
                self.send_response(200)
                self.send_header("Content-Type", route.content_type)
                if etag:
                    self.send_header("ETag", etag)
                if route.last_modified:
                    self.send_header("Last-Modified", route.last_modified)
                for name, value in route.headers.items():
                    self.send_header(name, value)
                if route.send_length:
                    self.send_header("Content-Length", str(len(route.body)))
                else:
                    self.send_header("Connection", "close")
                    self.close_connection = True
                self.end_headers()
                sent = 0
                if route.dribble_chunk:
                    for start in range(0, len(route.body), route.dribble_chunk):
                        chunk = route.body[start : start + route.dribble_chunk]
                        self.wfile.write(chunk)
                        self.wfile.flush()
                        sent += len(chunk)
                        time.sleep(route.dribble_s)
                else:
                    self.wfile.write(route.body)
                    sent = len(route.body)
                self._record(200, sent)

            def _plain(self, status: int, body: bytes) -> None:
                self.send_response(status)
                self.send_header("Content-Type", "text/plain")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)
                self._record(status, len(body))

            def log_message(self, format: str, *args: Any) -> None:  # quiet
                pass

        return Handler
