"""RSS/Atom bytes -> article records, safely.

:func:`parse_feed` is the one entry point for feed documents, whether fetched over HTTP or read
from a file. What it guards against:

- **Entity expansion** ("billion laughs", external entities): documents that declare XML
  entities are refused before any parser sees them (a byte scan for ``<!ENTITY``, then
  defusedxml with ``forbid_entities``/``forbid_external``). A plain ``<!DOCTYPE rss ...>``
  without entity declarations (old RSS 0.91 feeds) is accepted.
- **Wrong declared encoding**: bytes are decoded by :func:`decode_feed_bytes`, which trusts
  the bytes over the declaration (valid multi-byte UTF-8 declared as ISO-8859-1 is UTF-8;
  bytes declared UTF-8 that are not valid UTF-8 are windows-1252), then re-encoded as UTF-8
  with a matching XML declaration before feedparser runs.
- **HTML pages** served instead of a feed: refused with that reason.
- **Malformed XML**: feedparser's lenient parser still reads what it can; the feed is then
  *degraded* (a warning with expat's line/column) rather than lost. A document from which
  nothing can be read is refused.
- **Odd dates and time zones**: feedparser converts RFC-822/ISO dates with offsets or zone
  names (``EST``) to UTC; other forms are tried with the standard library; a naive time is
  taken as UTC (warned); no date at all or one later than the fetch time becomes the fetch
  time (warned): an article is never dated after it was seen, which keeps the sentiment bars
  free of look-ahead.
- **Markup in titles**: titles and summaries become plain text (:func:`plain_text`, which
  drops the contents of ``<script>``, ``<style>``, ``<applet>``... itself). feedparser's own
  HTML sanitizer is therefore off: it produced HTML that was reduced to text anyway, at 5-35%
  of the parse time of an item with an HTML description and content (more markup, more).

feedparser is only ever given the bytes (as a stream), never a URL or a file name, so it
cannot fetch anything itself.
"""

from __future__ import annotations

import codecs
import email.utils
import io
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from trading_assets.errors import SourceDataError
from trading_assets.news.articles import MAX_SUMMARY_CHARS, clean_url, plain_text

#: Items read from one feed document at most (a runaway feed cannot flood the warehouse).
MAX_ENTRIES = 2000
#: A published time this far after the fetch time is treated as wrong (clock skew allowance).
FUTURE_TOLERANCE = timedelta(minutes=5)

_ENTITY_DECL = re.compile(rb"<!ENTITY", re.IGNORECASE)
_XML_DECL = re.compile(r"^(\s*<\?xml[^>]*?\bencoding\s*=\s*)([\"'])([^\"']*)\2", re.IGNORECASE)
_XML_DECL_BYTES = re.compile(rb"^\s*<\?xml[^>]*?\bencoding\s*=\s*[\"']([A-Za-z0-9._:-]+)[\"']")
_ZONE = re.compile(r"(?:[+-]\d{2}:?\d{2}|Z|\b(?:GMT|UTC|UT|[A-Z]{1,5}))$", re.IGNORECASE)
_CHARSET = re.compile(r"charset\s*=\s*[\"']?([A-Za-z0-9._:-]+)", re.IGNORECASE)
_BOMS: tuple[tuple[bytes, str], ...] = (
    (codecs.BOM_UTF32_LE, "utf-32-le"),
    (codecs.BOM_UTF32_BE, "utf-32-be"),
    (codecs.BOM_UTF8, "utf-8"),
    (codecs.BOM_UTF16_LE, "utf-16-le"),
    (codecs.BOM_UTF16_BE, "utf-16-be"),
)


@dataclass
class ParsedFeed:
    """What one feed document gave.

    Attributes:
        records: article records (see :func:`trading_assets.news.articles.articles_frame`),
            ``source`` set to the caller's kind, ``published_at``/``fetched_at`` aware UTC.
        warnings: problems that did not stop the feed (lenient XML recovery, encoding
            mismatch, dates substituted, items without title), one sentence each.
        title: the feed's own title (plain text) or None.
        version: feedparser's format name (``rss20``, ``atom10``...).
        encoding: the encoding the bytes were decoded with.
    """

    records: list[dict[str, Any]] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    title: str | None = None
    version: str = ""
    encoding: str = "utf-8"


def _codec(name: str | None) -> str | None:
    if not name:
        return None
    try:
        return codecs.lookup(name.strip()).name
    except LookupError:
        return None


def decode_feed_bytes(body: bytes, content_type: str | None = None) -> tuple[str, str, str | None]:
    """Decode a feed document, trusting the bytes over what is declared.

    Order: a byte-order mark wins; else bytes that are valid UTF-8 are UTF-8 (a different
    declaration is reported, since valid multi-byte UTF-8 is almost never text in another
    encoding); else the declared encoding (HTTP ``charset``, then the XML declaration) if it
    decodes; else windows-1252, which decodes any byte.

    Returns:
        ``(text, encoding, warning)`` where warning explains a declaration that was overruled
        (None when the declaration was right or absent).
    """
    for bom, name in _BOMS:
        if body.startswith(bom):
            return body[len(bom) :].decode(name, errors="replace"), name, None
    header = _CHARSET.search(content_type or "")
    declared_name = header.group(1) if header else None
    if declared_name is None:
        match = _XML_DECL_BYTES.match(body[:512])
        declared_name = match.group(1).decode("ascii") if match else None
    declared = _codec(declared_name)
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        text = None
    if text is not None:
        warning = None
        if declared not in (None, "utf-8", "ascii") and not body.isascii():
            warning = f"declared encoding {declared_name!r} but the bytes are UTF-8; read as UTF-8"
        return text, "utf-8", warning
    if declared not in (None, "utf-8", "utf-16", "utf-32"):
        try:
            return body.decode(declared), declared, None
        except (UnicodeDecodeError, LookupError):
            pass
    what = f"declared {declared_name!r}" if declared_name else "no declared encoding"
    return (
        body.decode("cp1252", errors="replace"),
        "cp1252",
        f"{what} but the bytes are not valid in it; read as windows-1252",
    )


def _looks_like_html(text: str) -> bool:
    head = text.lstrip()[:2048].lower()
    if head.startswith("<!doctype html") or head.startswith("<html"):
        return True
    return "<html" in head and not any(tag in head for tag in ("<rss", "<feed", "<rdf:rdf"))


def _refuse_entities(body: bytes, text: str, origin: str) -> str | None:
    """Raise if the document declares entities; return expat's complaint if it is not
    well-formed XML (None if it is)."""
    if _ENTITY_DECL.search(body) or "<!entity" in text[:65536].lower():
        raise SourceDataError(
            origin,
            "the document declares XML entities (<!ENTITY>), refused: possible "
            "entity-expansion attack",
        )
    import defusedxml
    import defusedxml.ElementTree as safe_et

    try:
        safe_et.fromstring(
            text.encode("utf-8"), forbid_dtd=False, forbid_entities=True, forbid_external=True
        )
    except defusedxml.DefusedXmlException as exc:
        raise SourceDataError(origin, f"refused unsafe XML: {exc}") from exc
    except safe_et.ParseError as exc:
        return str(exc)
    return None


def _utc_from_struct(value: Any) -> datetime | None:
    if not value:
        return None
    try:
        return datetime(*value[:6], tzinfo=UTC)
    except (TypeError, ValueError):
        return None


def _parse_date_text(text: str) -> tuple[datetime | None, bool]:
    """(UTC time, was_naive) from a date string feedparser could not read."""
    text = text.strip()
    if not text:
        return None, False
    try:
        parsed = email.utils.parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError):
        parsed = None
    if parsed is None:
        try:
            parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
        except ValueError:
            parsed = None
    if parsed is None:
        for fmt in ("%Y-%m-%d %H:%M:%S", "%Y/%m/%d %H:%M:%S", "%d %B %Y %H:%M", "%B %d, %Y"):
            try:
                parsed = datetime.strptime(text, fmt)
                break
            except ValueError:
                continue
    if parsed is None:
        return None, False
    if parsed.tzinfo is None:
        return parsed.replace(tzinfo=UTC), True
    return parsed.astimezone(UTC), False


def parse_feed(
    body: bytes,
    origin: str,
    *,
    fetched_at: datetime,
    content_type: str | None = None,
    source: str = "rss",
    symbols: Sequence[str] = (),
    publisher: str | None = None,
) -> ParsedFeed:
    """Parse one RSS/Atom document into article records.

    Args:
        body: the document's bytes as received (any encoding; see :func:`decode_feed_bytes`).
        origin: the feed URL or file path (for messages).
        fetched_at: when the bytes were fetched (aware UTC); stands in for missing or future
            publication times.
        content_type: the HTTP ``Content-Type`` (its ``charset`` is a hint only).
        source: the ``source`` value of the records (``rss`` or ``feed_file``).
        symbols: tickers every item is about (the feed's configured symbols).
        publisher: fallback publisher when neither the item nor the feed names one.

    Returns:
        A :class:`ParsedFeed`; at most :data:`MAX_ENTRIES` records.

    Raises:
        SourceDataError: empty body, an HTML page, entity declarations, or nothing readable as
            RSS/Atom (with feedparser's reason).
    """
    import feedparser

    if not body or not body.strip():
        raise SourceDataError(origin, "empty response body, not a feed")
    text, encoding, encoding_warning = decode_feed_bytes(body, content_type)
    if _looks_like_html(text):
        raise SourceDataError(origin, "the URL returned an HTML page, not an RSS/Atom feed")
    xml_error = _refuse_entities(body, text, origin)
    result = ParsedFeed(encoding=encoding)
    if encoding_warning:
        result.warnings.append(encoding_warning)
    normalized = _XML_DECL.sub(lambda m: f"{m.group(1)}{m.group(2)}utf-8{m.group(2)}", text, 1)
    parsed = feedparser.parse(
        io.BytesIO(normalized.encode("utf-8")),
        response_headers={"content-type": "application/xml; charset=utf-8"},
        resolve_relative_uris=False,
        sanitize_html=False,
    )
    entries = list(parsed.get("entries") or [])
    if not parsed.get("version") and not entries:
        reason = str(parsed.get("bozo_exception") or xml_error or "no RSS/Atom elements found")
        raise SourceDataError(origin, f"not an RSS/Atom feed: {reason}")
    if xml_error:
        if not entries:
            raise SourceDataError(origin, f"malformed XML, no items readable: {xml_error}")
        result.warnings.append(f"malformed XML ({xml_error}); read leniently")
    result.version = str(parsed.get("version") or "")
    feed_info = parsed.get("feed") or {}
    result.title = plain_text(feed_info.get("title"))
    feed_publisher = publisher or result.title
    if len(entries) > MAX_ENTRIES:
        result.warnings.append(f"{len(entries)} items; only the first {MAX_ENTRIES} read")
        entries = entries[:MAX_ENTRIES]
    no_title = naive = undated = future = 0
    for entry in entries:
        title = plain_text(entry.get("title"))
        if not title:
            no_title += 1
            continue
        published = _utc_from_struct(entry.get("published_parsed")) or _utc_from_struct(
            entry.get("updated_parsed")
        )
        raw_date = str(entry.get("published") or entry.get("updated") or "")
        date_known = True
        if published is None:
            published, was_naive = _parse_date_text(raw_date)
            naive += was_naive
        elif raw_date and not _ZONE.search(raw_date.strip()):
            naive += 1  # feedparser reads a time without zone as UTC, silently
        if published is None:
            undated += 1
            published, date_known = fetched_at, False
        elif published > fetched_at + FUTURE_TOLERANCE:
            future += 1
            published = fetched_at
        source_info = entry.get("source") or {}
        item_publisher = plain_text(
            source_info.get("title") if isinstance(source_info, dict) else None
        )
        result.records.append(
            {
                "published_at": published,
                "date_known": date_known,
                "source": source,
                "publisher": item_publisher or feed_publisher,
                "title": title,
                "summary": plain_text(entry.get("summary"), MAX_SUMMARY_CHARS),
                "url": clean_url(entry.get("link")),
                "tickers": list(symbols),
                "fetched_at": fetched_at,
            }
        )
    if xml_error and not result.records:
        raise SourceDataError(origin, f"malformed XML, no item readable: {xml_error}")
    for count, message in (
        (no_title, "items without a title skipped"),
        (naive, "dates without a time zone read as UTC"),
        (undated, "items without a readable date dated at fetch time"),
        (future, "items dated after the fetch time re-dated at fetch time"),
    ):
        if count:
            result.warnings.append(f"{count} {message}")
    return result
