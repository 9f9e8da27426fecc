"""What is new in the inbox folder: price files per symbol and news files, once per version.

The cursor (a JSON object, kept by the ``inbox`` sensor between ticks) remembers every
(file, kind) seen with the file's fingerprint (size and modification time), so a file is
reported exactly once, and again only if it changes. Files no reader recognises, and price
files whose symbol cannot be told, are reported once as unreadable.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path

from trading_assets.sources.base import SourceItem


def file_fingerprint(path: Path) -> str:
    """``<size>-<mtime in ns>`` of ``path``.

    Raises:
        OSError: ``path`` cannot be read.
    """
    stat = path.stat()
    return f"{stat.st_size}-{stat.st_mtime_ns}"


@dataclass(frozen=True)
class InboxScan:
    """What :func:`scan_inbox` found.

    Attributes:
        prices: symbol -> its new or changed price items, symbols sorted.
        news: path -> fingerprint of the new or changed news files, paths sorted.
        unreadable: files (paths) reported for the first time as not ingestible.
        cursor: the cursor to keep for the next scan (every file above is in it).
    """

    prices: dict[str, list[SourceItem]]
    news: dict[str, str]
    unreadable: list[str]
    cursor: str

    def price_stamp(self, symbol: str) -> str:
        """16 hex digits identifying ``symbol``'s new items and their versions."""
        items = self.prices[symbol]
        text = "|".join(sorted(f"{i.origin}:{i.fingerprint}" for i in items))
        return hashlib.sha256(text.encode()).hexdigest()[:16]

    def news_stamp(self) -> str:
        """16 hex digits identifying the new news files and their versions."""
        text = "|".join(f"{p}:{fp}" for p, fp in self.news.items())
        return hashlib.sha256(text.encode()).hexdigest()[:16]


def scan_inbox(inbox: Path, cursor: str | None) -> InboxScan:
    """The price and news files of ``inbox`` not yet in ``cursor`` (None: a first scan).

    Price files are read by :class:`~trading_assets.sources.local_folder.LocalFolderSource`
    (listing only: no data is read), news files found by
    :func:`trading_assets.news.files.discover_news_files`; a news file is never taken for a
    price file.

    Raises:
        json.JSONDecodeError: ``cursor`` is not a cursor this function wrote.
    """
    from trading_assets.news.files import discover_news_files
    from trading_assets.sources.local_folder import LocalFolderSource

    seen: dict[str, str] = json.loads(cursor) if cursor else {}
    news = {str(path): file_fingerprint(path) for path, _ in discover_news_files(inbox)}
    fresh_news = sorted(p for p, fp in news.items() if seen.get(f"{p}|news") != fp)
    for path in fresh_news:
        seen[f"{path}|news"] = news[path]
    source = LocalFolderSource(inbox)
    fresh = [
        i
        for i in source.items()
        if seen.get(f"{i.origin}|{i.kind}") != i.fingerprint and i.origin not in news
    ]
    by_symbol: dict[str, list[SourceItem]] = {}
    skipped = [str(p) for p, _ in source.skipped if str(p) not in news]
    skipped += [str(p) for p, _ in source.unassigned]
    unreadable = [p for p in skipped if seen.get(f"{p}|skipped") is None]
    for path in skipped:
        seen[f"{path}|skipped"] = "seen"
    for item in fresh:
        seen[f"{item.origin}|{item.kind}"] = item.fingerprint
        by_symbol.setdefault(item.symbol, []).append(item)
    return InboxScan(
        prices=dict(sorted(by_symbol.items())),
        news={p: news[p] for p in fresh_news},
        unreadable=unreadable,
        cursor=json.dumps(seen, sort_keys=True),
    )
