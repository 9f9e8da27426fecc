"""The list of RSS/Atom feeds to poll: a TOML file of ``[[feed]]`` entries.

The package ships :data:`DEFAULT_FEEDS_FILE` (public finance and crypto feeds, each tagged
with an asset class and, where it fits, symbols); a deployment can point at its own file.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from trading_assets.errors import ConfigurationError

#: The feed list shipped with the package.
DEFAULT_FEEDS_FILE = Path(__file__).with_name("feeds.toml")
#: Accepted ``asset_class`` values.
ASSET_CLASSES: tuple[str, ...] = ("equity", "crypto", "macro", "general")


@dataclass(frozen=True)
class FeedSpec:
    """One feed to poll.

    Attributes:
        name: unique short label.
        url: absolute http(s) URL of the feed.
        asset_class: ``equity``, ``crypto``, ``macro`` or ``general``.
        symbols: symbols every item is about (market form); () when the feed is general.
        publisher: publisher name used when an item and the feed do not name one.
    """

    name: str
    url: str
    asset_class: str = "general"
    symbols: tuple[str, ...] = ()
    publisher: str | None = None


def load_feed_list(path: str | Path | None = None) -> list[FeedSpec]:
    """The feeds of a TOML feed-list file (default :data:`DEFAULT_FEEDS_FILE`), in file order.

    Raises:
        ConfigurationError: unreadable file, invalid TOML, a missing/invalid ``name``, ``url``
            or ``asset_class``, ``symbols`` not a list of strings, or a duplicate name or URL
            (the message names the entry).
    """
    file = Path(path) if path else DEFAULT_FEEDS_FILE
    try:
        data = tomllib.loads(file.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise ConfigurationError(f"feed list {file}: {exc}") from exc
    entries = data.get("feed", [])
    if not isinstance(entries, list):
        raise ConfigurationError(f"feed list {file}: expected [[feed]] entries")
    feeds: list[FeedSpec] = []
    names: set[str] = set()
    urls: set[str] = set()
    for index, entry in enumerate(entries, start=1):
        where = f"feed list {file}, entry {index}"
        if not isinstance(entry, dict):
            raise ConfigurationError(f"{where}: expected a table")
        name = str(entry.get("name") or "").strip()
        url = str(entry.get("url") or "").strip()
        parts = urlsplit(url)
        if not name:
            raise ConfigurationError(f"{where}: missing name")
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ConfigurationError(f"{where} ({name}): url {url!r} is not an http(s) URL")
        asset_class = str(entry.get("asset_class") or "general")
        if asset_class not in ASSET_CLASSES:
            raise ConfigurationError(
                f"{where} ({name}): asset_class {asset_class!r} is not one of "
                f"{', '.join(ASSET_CLASSES)}"
            )
        symbols = entry.get("symbols", [])
        if not isinstance(symbols, list) or not all(isinstance(s, str) for s in symbols):
            raise ConfigurationError(f"{where} ({name}): symbols must be a list of strings")
        if name in names or url in urls:
            raise ConfigurationError(f"{where} ({name}): duplicate feed name or url")
        names.add(name)
        urls.add(url)
        publisher = entry.get("publisher")
        feeds.append(
            FeedSpec(
                name=name,
                url=url,
                asset_class=asset_class,
                symbols=tuple(s.strip() for s in symbols if s.strip()),
                publisher=str(publisher) if publisher else None,
            )
        )
    return feeds
