"""Local news files -> article records: Yahoo per-symbol news JSON, headline CSVs, RSS/Atom XML.

Formats (SOURCES.md §C):

- **Yahoo per-symbol news JSON** (``<SYM>_news_<YYYYMMDD>.json``): ``{symbol, provider,
  fetchedAt, asOfDate, articles: [{id, title, url, publisher, publishedAt, relatedTickers,
  mainIdea, summary}]}``. Tickers = the file's symbol + ``relatedTickers`` (the same article
  under several symbols merges into one row with all of them); ``fetched_at`` = ``fetchedAt``.
- **Headline CSVs** (``*headlines*.csv``, e.g. the Kaggle CNBC/Guardian/Reuters files):
  ``date,headline`` rows, with or without a header row, newest first, dates without time.
  A date-only row is stamped at the *end* of that day in ``date_time_zone`` (default New York,
  the latest of the US/UK sites' days), in UTC: the article is known by then at the latest,
  so hourly/daily sentiment bars never see it early. The publisher comes from the file name
  (``cnbc`` -> CNBC, ``guardian`` -> The Guardian, ``reuters`` -> Reuters, else the stem).
- **RSS/Atom files** (``.xml``, ``.rss``, ``.atom``): parsed like fetched feeds
  (:func:`trading_assets.news.parse.parse_feed`), ``fetched_at`` = the file's modification time.

A row that cannot be read is skipped and counted in the warnings; a file that cannot be read
at all raises :class:`~trading_assets.errors.SourceDataError` naming file, row and field.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import re
from collections.abc import Iterable
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from trading_assets.errors import SourceDataError
from trading_assets.news.articles import MAX_SUMMARY_CHARS, plain_text
from trading_assets.news.parse import ParsedFeed, parse_feed

#: File kinds (also the ``source`` value of their records).
YAHOO_JSON = "yahoo_json"
HEADLINES_CSV = "headlines_csv"
FEED_FILE = "feed_file"
FEED_SUFFIXES = (".xml", ".rss", ".atom")

#: Publisher names of known headline files, by a word in the file name.
PUBLISHERS = {"cnbc": "CNBC", "guardian": "The Guardian", "reuters": "Reuters"}

_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def discover_news_files(folder: str | Path) -> list[tuple[Path, str]]:
    """News files under ``folder`` (recursively) with their kind, sorted by path.

    ``*news*.json`` holding an object with ``articles`` -> :data:`YAHOO_JSON` (other JSON is
    left alone), ``*headline*.csv`` -> :data:`HEADLINES_CSV`,
    ``.xml``/``.rss``/``.atom`` -> :data:`FEED_FILE`; other files are ignored. Hidden
    folders are skipped.

    Raises:
        FileNotFoundError: ``folder`` does not exist.
    """
    root = Path(folder)
    if not root.is_dir():
        raise FileNotFoundError(f"news folder {root} does not exist")
    found: list[tuple[Path, str]] = []
    for path in sorted(root.rglob("*")):
        if not path.is_file() or any(p.startswith(".") for p in path.relative_to(root).parts):
            continue
        name = path.name.lower()
        if name.endswith(".json") and "news" in name:
            if _yahoo_shaped(path):
                found.append((path, YAHOO_JSON))
        elif name.endswith(".csv") and "headline" in name:
            found.append((path, HEADLINES_CSV))
        elif path.suffix.lower() in FEED_SUFFIXES:
            found.append((path, FEED_FILE))
    return found


def _yahoo_shaped(path: Path) -> bool:
    """True for a JSON object with an ``articles`` key, or for a file that is not JSON at all
    (it is then read, and reported as failed with its reason); False for other JSON (e.g.
    API captures that merely have "news" in their name)."""
    try:
        if path.stat().st_size > 50 * 1024 * 1024:
            return False
        data = json.loads(path.read_bytes())
    except (OSError, ValueError):
        return True
    return isinstance(data, dict) and "articles" in data


def file_fingerprint(path: str | Path) -> str:
    """SHA-256 (first 16 hex digits) of the file's bytes: unchanged files are skipped."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()[:16]


def _iso_utc(value: Any) -> datetime | None:
    if not isinstance(value, str) or not value.strip():
        return None
    try:
        parsed = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)


def read_yahoo_news_json(path: str | Path, fetched_at: datetime | None = None) -> ParsedFeed:
    """Read one Yahoo per-symbol news file (shape in the module docs).

    ``fetched_at`` is used when the file has no ``fetchedAt``. Articles without a title or a
    readable ``publishedAt`` are skipped (counted in the warnings); a publication time after
    the fetch time is set to the fetch time.

    Raises:
        SourceDataError: not JSON, or not an object with an ``articles`` list.
    """
    origin = str(path)
    try:
        data = json.loads(Path(path).read_bytes())
    except (OSError, ValueError) as exc:
        raise SourceDataError(origin, f"not readable as JSON: {exc}") from exc
    if not isinstance(data, dict) or not isinstance(data.get("articles"), list):
        raise SourceDataError(
            origin, "expected an object with an 'articles' list", field="articles"
        )
    fetched = _iso_utc(data.get("fetchedAt")) or fetched_at or datetime.now(UTC)
    symbol = str(data.get("symbol") or "").strip()
    result = ParsedFeed(version="yahoo-news-json")
    skipped: dict[str, int] = {}
    for article in data["articles"]:
        if not isinstance(article, dict):
            skipped["not an object"] = skipped.get("not an object", 0) + 1
            continue
        title = plain_text(article.get("title"))
        published = _iso_utc(article.get("publishedAt"))
        if not title or published is None:
            what = "title" if not title else "publishedAt"
            skipped[f"no usable {what}"] = skipped.get(f"no usable {what}", 0) + 1
            continue
        related = article.get("relatedTickers") or []
        tickers = [symbol] if symbol else []
        tickers += [str(t) for t in related if isinstance(t, str) and t.strip()]
        result.records.append(
            {
                "published_at": min(published, fetched),
                "source": YAHOO_JSON,
                "publisher": plain_text(article.get("publisher")),
                "title": title,
                "summary": plain_text(article.get("summary"), MAX_SUMMARY_CHARS),
                "url": article.get("url"),
                "tickers": tickers,
                "fetched_at": fetched,
            }
        )
    result.warnings += [f"{n} articles skipped: {why}" for why, n in skipped.items()]
    return result


def end_of_day_utc(day: date, time_zone: str = "America/New_York") -> datetime:
    """The last microsecond of ``day`` in ``time_zone``, as aware UTC."""
    zone = ZoneInfo(time_zone)
    next_midnight = datetime.combine(day + timedelta(days=1), time(0), tzinfo=zone)
    return (next_midnight - timedelta(microseconds=1)).astimezone(UTC)


def publisher_from_name(path: str | Path) -> str:
    """Publisher of a headline file from its name (see :data:`PUBLISHERS`)."""
    stem = Path(path).stem.lower()
    for word, name in PUBLISHERS.items():
        if word in stem:
            return name
    return Path(path).stem.replace("_headlines", "").replace("_", " ").strip() or "unknown"


def read_headlines_csv(
    path: str | Path,
    *,
    fetched_at: datetime,
    publisher: str | None = None,
    date_time_zone: str = "America/New_York",
) -> ParsedFeed:
    """Read a ``date,headline`` CSV (header optional, any row order, CRLF or LF).

    Columns: the first is a ``YYYY-MM-DD`` date, the second the headline (further columns
    are ignored). A header row is recognised by its first field not being a date. Rows with a
    bad date or an empty headline are skipped and counted; a date after ``fetched_at`` is
    clamped to it. Undecodable bytes are replaced (and counted).

    Raises:
        SourceDataError: the file cannot be read, or has no readable row at all.
    """
    origin = str(path)
    try:
        raw = Path(path).read_bytes()
    except OSError as exc:
        raise SourceDataError(origin, f"cannot read: {exc}") from exc
    text = raw.decode("utf-8", errors="replace")
    result = ParsedFeed(version="headlines-csv")
    if "\ufffd" in text and b"\xef\xbf\xbd" not in raw:
        result.warnings.append("bytes that are not UTF-8 were replaced")
    name = publisher or publisher_from_name(path)
    bad_date = empty = 0
    first_bad: int | None = None
    cache: dict[str, datetime] = {}
    for line_no, row in enumerate(csv.reader(io.StringIO(text, newline="")), start=1):
        if not row or not any(cell.strip() for cell in row):
            continue
        stamp = row[0].strip()
        if not _DATE.match(stamp):
            if line_no == 1:
                continue  # header row
            bad_date += 1
            first_bad = first_bad or line_no
            continue
        title = plain_text(row[1] if len(row) > 1 else None)
        if not title:
            empty += 1
            continue
        published = cache.get(stamp)
        if published is None:
            try:
                published = end_of_day_utc(date.fromisoformat(stamp), date_time_zone)
            except ValueError:
                bad_date += 1
                first_bad = first_bad or line_no
                continue
            cache[stamp] = published
        result.records.append(
            {
                "published_at": min(published, fetched_at),
                "source": HEADLINES_CSV,
                "publisher": name,
                "title": title,
                "summary": None,
                "url": None,
                "tickers": [],
                "fetched_at": fetched_at,
            }
        )
    if not result.records:
        raise SourceDataError(origin, "no row with a YYYY-MM-DD date and a headline", row=first_bad)
    if bad_date:
        result.warnings.append(
            f"{bad_date} rows without a YYYY-MM-DD date (first: line {first_bad})"
        )
    if empty:
        result.warnings.append(f"{empty} rows without a headline")
    return result


def read_feed_file(path: str | Path, symbols: Iterable[str] = ()) -> ParsedFeed:
    """Read an RSS/Atom file with :func:`~trading_assets.news.parse.parse_feed`
    (``fetched_at`` = the file's modification time, ``source`` = ``feed_file``).

    Raises:
        SourceDataError: as ``parse_feed``, or the file cannot be read.
    """
    file = Path(path)
    try:
        body = file.read_bytes()
        modified = datetime.fromtimestamp(file.stat().st_mtime, UTC)
    except OSError as exc:
        raise SourceDataError(str(file), f"cannot read: {exc}") from exc
    return parse_feed(
        body, str(file), fetched_at=modified, source=FEED_FILE, symbols=tuple(symbols)
    )


def read_news_file(path: str | Path, kind: str, *, fetched_at: datetime) -> ParsedFeed:
    """Read one file of ``kind`` (from :func:`discover_news_files`).

    Raises:
        SourceDataError: the file cannot be read (see the readers).
        ValueError: an unknown kind.
    """
    if kind == YAHOO_JSON:
        return read_yahoo_news_json(path, fetched_at)
    if kind == HEADLINES_CSV:
        return read_headlines_csv(path, fetched_at=fetched_at)
    if kind == FEED_FILE:
        return read_feed_file(path)
    raise ValueError(f"unknown news file kind {kind!r}")
