"""Articles: plain text, clean URLs, stable ids, and the canonical ``raw.news`` frame.

Every reader (feeds, Alpaca, local files) turns what it reads into *records*: dicts with the
columns of :data:`trading_assets.schemas.NEWS_SCHEMA` except ``article_id``. The helpers here
make the values safe and comparable:

- :func:`plain_text`: feed titles and summaries are untrusted and may carry markup
  (feedparser does not sanitise titles). They are stored as plain text: tags removed,
  ``<script>``/``<style>`` contents dropped, entities decoded, whitespace collapsed, length
  capped. A renderer must still escape them (they are text, not HTML).
- :func:`clean_url` strips tracking parameters and fragments (what is stored);
  :func:`canonical_url` also folds scheme, host case, ``www.`` and trailing slashes (what is
  hashed).
- :func:`article_id`: the deduplication key. The canonical URL when there is one; else the
  normalised title + publisher + UTC day of publication (the day keeps recurring column titles
  such as Reuters' weekly "Take Five : World markets themes for the week ahead" apart; it is
  left out when the source gave no date, so a re-fetch on a later day still matches).
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from collections.abc import Iterable, Mapping
from datetime import datetime
from html.parser import HTMLParser
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

if TYPE_CHECKING:  # imported where used: feed parse workers import this module without it
    import polars as pl

#: Longest title and summary kept (characters); longer text is cut at a word boundary.
MAX_TITLE_CHARS = 500
MAX_SUMMARY_CHARS = 2000

#: Query parameters that only track the reader (removed from URLs). Lower-case; names
#: starting with ``utm_`` are always removed.
TRACKING_PARAMS = frozenset(
    {
        "fbclid",
        "gclid",
        "dclid",
        "msclkid",
        "yclid",
        "mc_cid",
        "mc_eid",
        "cmpid",
        "cmp",
        "ncid",
        "yptr",
        "guccounter",
        "guce_referrer",
        "guce_referrer_sig",
        "soc_src",
        "soc_trk",
        "taid",
        ".tsrc",
        "tsrc",
        "ref",
        "ref_src",
        "referrer",
        "rss",
        "feedtype",
        "feedname",
        "siteid",
        "src",
        "sr_share",
        "share",
        "smid",
        "mod",
        "ito",
        "at_medium",
        "at_campaign",
        "xtor",
        "__twitter_impression",
        "_hsenc",
        "_hsmi",
        "mkt_tok",
        "igshid",
        "s_cid",
        "trk",
    }
)

_SPACE = re.compile(r"\s+")
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")
_TITLE_WORD = re.compile(r"[^\W_]+")


class _TextExtractor(HTMLParser):
    """Collects the text of an HTML fragment, dropping script/style contents."""

    _SKIP = frozenset({"script", "style", "noscript", "template", "iframe", "object", "applet"})
    _BREAK = frozenset({"br", "p", "div", "li", "tr", "h1", "h2", "h3", "h4", "h5", "h6"})

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self._skipping = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in self._SKIP:
            self._skipping += 1
        elif tag in self._BREAK:
            self.parts.append(" ")

    def handle_endtag(self, tag: str) -> None:
        if tag in self._SKIP and self._skipping:
            self._skipping -= 1
        elif tag in self._BREAK:
            self.parts.append(" ")

    def handle_data(self, data: str) -> None:
        if not self._skipping:
            self.parts.append(data)


def plain_text(value: Any, max_chars: int = MAX_TITLE_CHARS) -> str | None:
    """``value`` as one line of plain text (None for missing or blank input).

    Markup is parsed, never trusted: tags are removed, ``<script>``/``<style>`` contents
    dropped, character references decoded once, control characters removed, whitespace
    collapsed, NFC-normalised, and the result cut to ``max_chars`` (at a word boundary, with
    "…").
    """
    if value is None:
        return None
    text = str(value)
    if "<" in text or "&" in text:
        parser = _TextExtractor()
        try:
            parser.feed(text)
            parser.close()
            text = "".join(parser.parts)
        except Exception:  # HTMLParser is lenient; never let markup break ingestion
            text = re.sub(r"<[^>]*>", " ", text)
    text = unicodedata.normalize("NFC", _CONTROL.sub(" ", text))
    text = _SPACE.sub(" ", text).strip()
    if not text:
        return None
    if len(text) > max_chars:
        cut = text[: max_chars - 1]
        space = cut.rfind(" ")
        text = (cut[:space] if space > max_chars // 2 else cut).rstrip() + "…"
    return text


def clean_url(url: Any) -> str | None:
    """``url`` without tracking parameters (``utm_*``, ``fbclid``, ... see
    :data:`TRACKING_PARAMS`) and fragment; None if it is not an absolute http(s) URL with a
    host (placeholders such as ``"https://"`` included)."""
    if not url:
        return None
    text = str(url).strip()
    try:
        parts = urlsplit(text)
    except ValueError:
        return None
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
        return None
    query = [
        (k, v)
        for k, v in parse_qsl(parts.query, keep_blank_values=True)
        if not (k.lower().startswith("utm_") or k.lower() in TRACKING_PARAMS)
    ]
    return urlunsplit(
        (parts.scheme.lower(), parts.netloc.lower(), parts.path or "/", urlencode(query), "")
    )


def canonical_url(url: Any) -> str | None:
    """The form of ``url`` used for deduplication: :func:`clean_url`, then without scheme
    (http and https are the same article), default port, ``www.``, user info and trailing
    slash, with query parameters sorted. None when ``url`` is not usable."""
    cleaned = clean_url(url)
    if cleaned is None:
        return None
    parts = urlsplit(cleaned)
    host = (parts.hostname or "").lower()
    host = host.removeprefix("www.")
    port = parts.port
    if port and port not in (80, 443):
        host = f"{host}:{port}"
    path = re.sub(r"/{2,}", "/", parts.path).rstrip("/") or "/"
    query = urlencode(sorted(parse_qsl(parts.query, keep_blank_values=True)))
    return f"{host}{path}" + (f"?{query}" if query else "")


def normalize_title(title: Any) -> str:
    """Lower-case words of ``title`` joined by single spaces (punctuation, accents of
    compatibility forms and spacing differences removed): ``"Jim Cramer : A better way"`` and
    ``"Jim Cramer: a better way!"`` both give ``"jim cramer a better way"``."""
    text = unicodedata.normalize("NFKC", str(title or "")).casefold()
    return " ".join(_TITLE_WORD.findall(text))


def article_id(
    url: str | None,
    title: str | None,
    publisher: str | None,
    published_at: datetime | None,
    *,
    date_known: bool = True,
) -> str:
    """The dedup key of an article: 32 hex digits of SHA-256 over its canonical URL, or, when
    it has none, over normalised title + publisher (case-folded) + UTC day of
    ``published_at`` (the day only when ``date_known``)."""
    canonical = canonical_url(url)
    if canonical is not None:
        basis = f"url\x1f{canonical}"
    else:
        day = published_at.date().isoformat() if (published_at and date_known) else ""
        publisher_key = " ".join(str(publisher or "").casefold().split())
        basis = f"title\x1f{normalize_title(title)}\x1f{publisher_key}\x1f{day}"
    return hashlib.sha256(basis.encode("utf-8")).hexdigest()[:32]


def articles_frame(records: Iterable[Mapping[str, Any]]) -> pl.DataFrame:
    """Records -> a frame with :data:`~trading_assets.schemas.NEWS_SCHEMA` (not deduplicated).

    Each record needs ``published_at`` (aware datetime), ``source``, ``title`` and may have
    ``publisher``, ``summary``, ``url``, ``tickers`` (list of str), ``fetched_at`` and
    ``date_known`` (False when ``published_at`` was substituted by the fetch time). Titles go
    through :func:`plain_text` again (a title that decodes to markup loses it: text, never HTML);
    records without a title are dropped. ``article_id`` is computed with :func:`article_id`.
    """
    import polars as pl

    from trading_assets.schemas import NEWS_SCHEMA

    rows: list[dict[str, Any]] = []
    for record in records:
        title = plain_text(record.get("title"))
        if not title:
            continue
        url = clean_url(record.get("url"))
        published = record["published_at"]
        tickers = sorted({str(t).strip() for t in (record.get("tickers") or ()) if t})
        rows.append(
            {
                "article_id": article_id(
                    url,
                    title,
                    record.get("publisher"),
                    published,
                    date_known=record.get("date_known", True),
                ),
                "published_at": published,
                "source": record["source"],
                "publisher": record.get("publisher"),
                "title": title,
                "summary": record.get("summary"),
                "url": url,
                "tickers": [t for t in tickers if t],
                "fetched_at": record.get("fetched_at"),
            }
        )
    return pl.DataFrame(rows, schema=NEWS_SCHEMA) if rows else empty_news()


def empty_news() -> pl.DataFrame:
    """An empty ``raw.news`` frame."""
    import polars as pl

    from trading_assets.schemas import NEWS_SCHEMA

    return pl.DataFrame(schema=NEWS_SCHEMA)
