"""A local feed server for tests and the benchmark, and RSS/Atom documents built from real
headlines.

The server binds ``127.0.0.1`` on an ephemeral port and never talks to anything else. Each
path has a :class:`FeedRoute`: the body, its content type, a latency, error statuses to answer
first, an ETag/Last-Modified it honours (``If-None-Match``/``If-Modified-Since`` -> 304), or
a slow "dribble" of the body. It records every request, how many body bytes it sent, and the
largest number of requests in flight at once (to show that fetching is concurrent without
timing assertions). ``GET /_counters`` answers those counters as JSON (``?reset`` also resets
them), for a server run in another process (the benchmark).

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
    markup: bool = False,
) -> bytes:
    """An RSS 2.0 document. Items: ``title`` (text), optional ``url``, ``publishedAt`` (ISO or
    datetime; omitted when None), ``summary``, ``publisher``, ``relatedTickers``. ``declared``
    is the encoding written in the XML declaration (default ``encoding``), so a wrong one can
    be declared. ``date_format``: ``rfc822`` (RFC 822 in GMT), ``est`` (RFC 822 in EST),
    ``iso`` or ``naive`` (``YYYY-MM-DD HH:MM:SS``). ``markup``: dress each item as publisher
    feeds do, from its own fields only (see :func:`_item_markup`)."""
    parts = [
        f'<?xml version="1.0" encoding="{declared or encoding}"?>',
        f'<rss version="2.0"{_MARKUP_NAMESPACES if markup else ""}><channel>',
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
        if markup:
            parts.append(_item_markup(item))
        elif item.get("summary"):
            parts.append(f"<description>{escape(item['summary'])}</description>")
        if item.get("publisher"):
            parts.append(f'<source url="http://127.0.0.1/">{escape(item["publisher"])}</source>')
        parts.append("</item>")
    parts.append("</channel></rss>")
    return "\n".join(parts).encode(encoding, errors="xmlcharrefreplace")


_MARKUP_NAMESPACES = (
    ' xmlns:content="http://purl.org/rss/1.0/modules/content/"'
    ' xmlns:dc="http://purl.org/dc/elements/1.1/"'
)


def _item_html(item: dict[str, Any]) -> tuple[str, str, list[str]]:
    """What a publisher's feed puts around an item, built from the item's own fields only:
    (description HTML: the summary, else the title, and a link back to the article; content
    HTML: title and summary with that link; categories: the related tickers, else the
    publisher)."""
    title, summary = escape(item["title"]), escape(item.get("summary") or "")
    url = escape(item.get("url") or "")
    link = f'<p><a href="{url}" rel="noopener">{title}</a></p>' if url else ""
    description = f"<p>{summary or title}</p>{link}"
    content = f"<h2>{title}</h2><p>{summary}</p>{link}" if summary else f"<p>{title}</p>{link}"
    categories = [c for c in item.get("relatedTickers") or [item.get("publisher") or ""] if c]
    return description, content, categories


#: (description and content, one category, the publisher) elements, RSS and Atom.
_MARKUP = {
    "rss": (
        "<description><![CDATA[{0}]]></description>"
        "<content:encoded><![CDATA[{1}]]></content:encoded>",
        "<category>{0}</category>",
        "<dc:creator>{0}</dc:creator>",
    ),
    "atom": (
        '<summary type="html">{0}</summary><content type="html">{1}</content>',
        '<category term="{0}"/>',
        "<author><name>{0}</name></author>",
    ),
}


def _item_markup(item: dict[str, Any], kind: str = "rss") -> str:
    """The elements of :func:`_item_html` for ``kind`` (``rss``: HTML in CDATA; ``atom``:
    escaped ``type="html"``), categories, and the publisher as creator/author."""
    texts, category, creator = _MARKUP[kind]
    description, content, categories = _item_html(item)
    if kind == "atom":
        description, content = escape(description), escape(content)
    parts = [texts.format(description, content)]
    parts += [category.format(escape(c)) for c in categories]
    if item.get("publisher"):
        parts.append(creator.format(escape(item["publisher"])))
    return "".join(parts)


def atom_document(
    items: list[dict[str, Any]], *, title: str = "Test Atom feed", markup: bool = False
) -> bytes:
    """An Atom 1.0 document (UTF-8); items as for :func:`rss_document`. Items without ``url``
    get a ``tag:`` id and no link. ``markup``: HTML summary and content, categories and
    author (:func:`_item_markup`)."""
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
        if markup:
            parts.append(_item_markup(item, "atom"))
        elif item.get("summary"):
            parts.append(f"<summary>{escape(item['summary'])}</summary>")
        parts.append("</entry>")
    parts.append("</feed>")
    return "\n".join(parts).encode("utf-8")


@dataclass(frozen=True)
class FeedDocument:
    """One feed of :func:`real_volume_feeds`: where to serve it and what it holds."""

    path: str
    body: bytes
    content_type: str
    items: int
    symbols: tuple[str, ...] = ()


#: Headline CSVs of ../shared/data/news (SOURCES.md §C) and the publisher each stands for.
HEADLINE_PUBLISHERS: tuple[tuple[str, str], ...] = (
    ("reuters", "Reuters"),
    ("cnbc", "CNBC"),
    ("guardian", "The Guardian"),
)


def real_volume_feeds(
    shared_data: Path,
    n_feeds: int = 124,
    *,
    min_items: int = 3,
    max_items: int = 120,
    markup: bool = False,
) -> list[FeedDocument]:
    """A feed set shaped like a real poll (the issue's 124 feeds carry about 2,700 items),
    built from the real items in ``../shared/data/news``:

    - one RSS 2.0 feed per Yahoo per-symbol file (35 feeds of 3-13 real articles with URL,
      publisher, time and summary, tagged with the file's symbol; the same article appears
      under several symbols and days, as it does on Yahoo);
    - the other feeds are sections of the Reuters, CNBC and Guardian headline files (title and
      day, newest first), ``min_items`` to ``max_items`` items each on a convex curve (few large
      feeds, many small ones); consecutive sections of one publisher share a quarter of their
      items, as "top news" and "markets" feeds do; every third is Atom 1.0.

    With the defaults: 124 feeds, 2,719 items. ``markup`` dresses every item as publisher feeds
    do (HTML description and content, categories, author; see :func:`_item_html`), which makes
    it about twice as dear to parse. Deterministic (no randomness).
    """
    documents: list[FeedDocument] = []
    folder = Path(shared_data) / "news" / "yahoo_per_symbol_2025-12"
    for path in sorted(folder.glob("*_news_*.json"))[:n_feeds]:
        data = json.loads(path.read_text(encoding="utf-8"))
        items = data["articles"]
        documents.append(
            FeedDocument(
                path=f"/yahoo/{path.stem}.rss",
                body=rss_document(items, title=f"Yahoo Finance: {data['symbol']}", markup=markup),
                content_type="application/rss+xml; charset=utf-8",
                items=len(items),
                symbols=(data["symbol"],),
            )
        )
    rest = n_feeds - len(documents)
    rows = {name: csv_headlines(shared_data, name) for name, _ in HEADLINE_PUBLISHERS}
    offsets = dict.fromkeys(rows, 0)
    for index in range(rest):
        share = index / max(rest - 1, 1)
        size = round(min_items + (max_items - min_items) * share**3.7)
        name, publisher = HEADLINE_PUBLISHERS[index % len(HEADLINE_PUBLISHERS)]
        start = offsets[name] % max(len(rows[name]) - size, 1)
        section = rows[name][start : start + size]
        offsets[name] = start + max(size - size // 4, 1)
        items = [
            {"title": title, "publishedAt": f"{day}T12:00:00Z", "publisher": publisher}
            for day, title in section
        ]
        title = f"{publisher} section {index // len(HEADLINE_PUBLISHERS) + 1}"
        atom = index % 3 == 2
        documents.append(
            FeedDocument(
                path=f"/{name}/{index}.{'atom' if atom else 'rss'}",
                body=(
                    atom_document(items, title=title, markup=markup)
                    if atom
                    else rss_document(items, title=title, markup=markup)
                ),
                content_type="application/atom+xml" if atom else "application/rss+xml",
                items=len(items),
            )
        )
    return documents


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
                if self.path.startswith("/_counters"):
                    self._counters()
                    return
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

            def _counters(self) -> None:
                with server._lock:
                    data = {
                        "max_in_flight": server.max_in_flight,
                        "requests": len(server.served),
                        "body_bytes": sum(s.body_bytes for s in server.served),
                        "statuses": sorted({s.status for s in server.served}),
                    }
                if "reset" in self.path:
                    server.reset_counters()
                body = json.dumps(data).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

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
