"""The ``local`` profile's price source: a folder of price files in common layouts.

:class:`LocalFolderSource` walks a folder recursively, recognises each file by extension and
first bytes (see :mod:`trading_assets.sources.files`), and lists one
:class:`~trading_assets.sources.base.SourceItem` per file without reading the data.

Mapping file
------------
File names are usually enough (``ETH_USDT-1m.json`` -> ETH/USDT 1m). When they are not, a
mapping file — TOML (``.toml``) or JSON (``.json``), same structure — overrides symbol,
timeframe, format or reader options per file pattern::

    # mapping.toml: the first [[files]] entry whose pattern matches a file wins
    [[files]]
    pattern = "crypto/ticks/ETHUSDT_trades_*.csv"   # glob on the path relative to the folder
    symbol = "ETH/USDT"

    [[files]]
    pattern = "exports/*.txt"        # NinjaTrader exports written in New York time
    format = "ninjatrader"
    symbol = "ES"
    timeframe = "1m"
    options = { tz = "America/New_York" }

    [[files]]
    pattern = "*.md"                 # a pattern without "/" matches the file name at any depth
    skip = true

Keys: ``pattern`` (required; ``fnmatch`` glob, ``*`` also crosses ``/``, case-sensitive),
``symbol``, ``timeframe``, ``format`` (a name from :data:`~trading_assets.sources.files.READERS`;
forces that reader even if sniffing would not pick it), ``options`` (keyword arguments of the
reader's constructor, e.g. ``tz``, ``bar_time``, ``price_scale``, ``trade_date``) and ``skip``.
The JSON form is ``{"files": [{"pattern": ..., ...}, ...]}``. A malformed mapping file raises
:class:`~trading_assets.errors.ConfigurationError` when the source is constructed.

Unknown symbols
---------------
A recognised file whose symbol cannot be determined is not an item (it belongs to no
symbol's partition): it is listed in :attr:`LocalFolderSource.unassigned` with the
:class:`~trading_assets.errors.SourceDataError` that tells the user which mapping entry to
add, and reported as a rejected file (:mod:`trading_assets.sources.inventory`). A bar file
whose symbol is known but whose timeframe is not is an item whose load raises that error.
"""

from __future__ import annotations

import fnmatch
import json
import os
import tomllib
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import polars as pl

from trading_assets.errors import ConfigurationError, SourceDataError, TradingAssetsError
from trading_assets.sources.base import SourceItem
from trading_assets.sources.files import READERS, FileReader, Sniffed, sniff_file
from trading_assets.sources.files._common import file_suffix, read_head, unknown_symbol_error
from trading_assets.sources.files._naming import (
    canonical_timeframe,
    infer_from_name,
    normalize_symbol,
)

_RULE_KEYS = {"pattern", "symbol", "timeframe", "format", "options", "skip"}


@dataclass(frozen=True)
class MappingRule:
    """One entry of a mapping file (see the module docstring)."""

    pattern: str
    symbol: str | None = None
    timeframe: str | None = None
    format: str | None = None
    options: dict[str, object] = field(default_factory=dict)
    skip: bool = False

    def matches(self, relative: str) -> bool:
        """Whether the POSIX path ``relative`` (to the data folder) matches :attr:`pattern`."""
        if "/" in self.pattern:
            return fnmatch.fnmatchcase(relative, self.pattern)
        return fnmatch.fnmatchcase(relative.rsplit("/", 1)[-1], self.pattern)


def load_mapping(path: Path) -> list[MappingRule]:
    """Parse a mapping file (TOML or JSON by extension) into rules, in file order.

    Raises:
        ConfigurationError: unreadable file, bad syntax, unknown keys or formats, an invalid
            timeframe, or an entry without ``pattern``.
    """
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise ConfigurationError(f"mapping file {path}: cannot read it ({exc})") from exc
    try:
        if path.suffix.lower() == ".toml":
            doc = tomllib.loads(raw.decode("utf-8"))
        elif path.suffix.lower() == ".json":
            doc = json.loads(raw)
        else:
            raise ConfigurationError(f"mapping file {path}: use a .toml or .json file")
    except (tomllib.TOMLDecodeError, json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise ConfigurationError(f"mapping file {path}: invalid syntax ({exc})") from exc
    entries = doc.get("files", []) if isinstance(doc, dict) else None
    if not isinstance(entries, list):
        raise ConfigurationError(f"mapping file {path}: expected a list of [[files]] entries")
    rules = []
    for number, entry in enumerate(entries, start=1):
        where = f"mapping file {path}, entry {number}"
        if not isinstance(entry, dict) or not isinstance(entry.get("pattern"), str):
            raise ConfigurationError(f"{where}: every entry needs a text 'pattern'")
        unknown = set(entry) - _RULE_KEYS
        if unknown:
            raise ConfigurationError(
                f"{where}: unknown key(s) {', '.join(sorted(unknown))}; "
                f"allowed: {', '.join(sorted(_RULE_KEYS))}"
            )
        fmt = entry.get("format")
        if fmt is not None and fmt not in READERS:
            raise ConfigurationError(
                f"{where}: unknown format {fmt!r}; known: {', '.join(READERS)}"
            )
        timeframe = entry.get("timeframe")
        if timeframe is not None:
            try:
                timeframe = canonical_timeframe(str(timeframe))
            except TradingAssetsError as exc:
                raise ConfigurationError(f"{where}: {exc}") from exc
        options = entry.get("options", {})
        if not isinstance(options, dict):
            raise ConfigurationError(f"{where}: 'options' must be a table/object")
        rules.append(
            MappingRule(
                pattern=entry["pattern"],
                symbol=str(entry["symbol"]) if entry.get("symbol") is not None else None,
                timeframe=timeframe,
                format=fmt,
                options=dict(options),
                skip=bool(entry.get("skip", False)),
            )
        )
    return rules


def _failing_loader(error: SourceDataError):
    def load() -> pl.DataFrame:
        raise error

    return load


class LocalFolderSource:
    """Price files in a folder (the ``local`` profile), e.g. ``../shared/data``.

    Implements :class:`~trading_assets.sources.base.PriceSource` (``name = "local"``).

    Args:
        data_dir: the folder, walked recursively. Hidden files and folders (``.*``) are
            ignored without a trace.
        mapping_file: optional TOML/JSON mapping of file patterns to symbol, timeframe,
            format and reader options (see the module docstring). Parsed here: a bad mapping
            raises :class:`~trading_assets.errors.ConfigurationError` at construction.

    Attributes:
        skipped: after each :meth:`items` call, ``(path, reason)`` for every file that no
            reader recognises (news, sentiment, API captures, ``.md``...) or that the
            mapping marks ``skip``, sorted by path: ignored by rule.
        unassigned: after each :meth:`items` call, ``(path, error)`` for every recognised
            price file whose symbol cannot be told (the error names the mapping entry to
            add), sorted by path; listed only when all symbols are requested.
    """

    name = "local"

    def __init__(self, data_dir: Path | str, mapping_file: Path | str | None = None) -> None:
        self.data_dir = Path(data_dir)
        self.mapping_file = Path(mapping_file) if mapping_file is not None else None
        self.rules: list[MappingRule] = (
            load_mapping(self.mapping_file) if self.mapping_file is not None else []
        )
        self.skipped: list[tuple[Path, str]] = []
        self.unassigned: list[tuple[Path, SourceDataError]] = []

    def __repr__(self) -> str:
        return f"LocalFolderSource({str(self.data_dir)!r}, mapping_file={self.mapping_file!r})"

    def items(self, symbols: Sequence[str] | None = None) -> list[SourceItem]:
        """One item per recognised price file, sorted by path; no file is read in full.

        Each item's ``origin`` is the file path, ``source`` its format name (``freqtrade_json``,
        ``yahoo_csv``...), ``fingerprint`` ``"<size>-<mtime_ns>"``, ``kind`` ``bars``,
        ``quote_bars``, ``ticks`` or ``quotes``. ``load()`` returns the validated canonical
        frame or raises :class:`~trading_assets.errors.SourceDataError`.

        Args:
            symbols: keep only these symbols (any spelling :func:`normalize_symbol`
                accepts: ``ETHUSDT`` = ``ETH/USDT``). Files of unknown symbol are never
                items; they are listed in :attr:`unassigned` when ``symbols`` is None.

        Raises:
            ConfigurationError: ``data_dir`` is not a folder.
        """
        if not self.data_dir.is_dir():
            raise ConfigurationError(f"local data folder {self.data_dir} does not exist")
        wanted = {normalize_symbol(s) for s in symbols} if symbols is not None else None
        mapping_path = self.mapping_file.resolve() if self.mapping_file else None
        items: list[SourceItem] = []
        skipped: list[tuple[Path, str]] = []
        unassigned: list[tuple[Path, SourceDataError]] = []
        for path, relative in self._walk():
            if mapping_path is not None and path.resolve() == mapping_path:
                continue
            item = self._item(path, relative, skipped)
            if isinstance(item, SourceDataError):
                if wanted is None:
                    unassigned.append((path, item))
                continue
            if item is None:
                continue
            if wanted is not None and normalize_symbol(item.symbol) not in wanted:
                continue
            items.append(item)
        self.skipped = skipped
        self.unassigned = unassigned
        return items

    # -- internals -----------------------------------------------------------------------
    def _walk(self) -> list[tuple[Path, str]]:
        found = []
        for root, dirs, files in os.walk(self.data_dir):
            dirs[:] = [d for d in dirs if not d.startswith(".")]
            for name in files:
                if name.startswith("."):
                    continue
                path = Path(root, name)
                found.append((path, path.relative_to(self.data_dir).as_posix()))
        found.sort(key=lambda pair: pair[1])
        return found

    def _rule(self, relative: str) -> MappingRule | None:
        return next((rule for rule in self.rules if rule.matches(relative)), None)

    def _item(
        self, path: Path, relative: str, skipped: list[tuple[Path, str]]
    ) -> SourceItem | SourceDataError | None:
        """The file's item; its error when the symbol is unknown; None when skipped."""
        rule = self._rule(relative)
        if rule is not None and rule.skip:
            skipped.append((path, f"skipped by mapping pattern {rule.pattern!r}"))
            return None
        if rule is not None and rule.format is not None:
            cls = READERS[rule.format]
            sniffed = cls.sniff(path, read_head(path)) or Sniffed()
        else:
            found = sniff_file(path)
            if found is None:
                reason = _skip_reason(path)
                named = _named_like_bars(path)
                if named is None:
                    skipped.append((path, reason))
                    return None
                # named like a bar file (say ETH_USDT-1h.json) but unreadable: a failed
                # item, recorded in the run, rather than a file that silently disappears
                return _unreadable_item(path, named, reason)
            cls, sniffed = found
        try:
            stat = path.stat()
        except OSError as exc:  # vanished or unreadable since the walk
            skipped.append((path, f"cannot stat the file: {exc.strerror or exc}"))
            return None
        fingerprint = f"{stat.st_size}-{stat.st_mtime_ns}"
        kwargs: dict[str, object] = {}
        if rule is not None:
            kwargs.update(rule.options)
        symbol = (rule.symbol if rule else None) or sniffed.symbol
        timeframe = (rule.timeframe if rule else None) or sniffed.timeframe
        if sniffed.kind is not None and "kind" not in kwargs and _accepts_kind(cls):
            kwargs["kind"] = sniffed.kind
        try:
            reader = cls(path, symbol=symbol, timeframe=timeframe, **kwargs)
        except (TypeError, ValueError, TradingAssetsError) as exc:
            raise ConfigurationError(
                f"mapping file {self.mapping_file}: pattern {rule.pattern if rule else '?'!r} "
                f"gives invalid options for {cls.format} reading {path}: {exc}"
            ) from exc
        origin = str(path)
        if reader.symbol is None:
            return unknown_symbol_error(origin)
        # A bar file of unknown timeframe keeps reading as its loader: it raises the
        # "add a timeframe to the mapping file" SourceDataError (or tells it from the bars).
        return SourceItem(
            origin=origin,
            symbol=reader.symbol,
            kind=reader.kind,
            timeframe=reader.timeframe if reader.kind in ("bars", "quote_bars") else None,
            source=cls.format,
            fingerprint=fingerprint,
            loader=reader.read_checked,
        )


def _named_like_bars(path: Path) -> tuple[str, str] | None:
    """(symbol, timeframe) when a file with a price extension is named like a bar file."""
    from trading_assets.sources.files import EXTENSIONS

    if file_suffix(path) not in EXTENSIONS:
        return None
    symbol, timeframe = infer_from_name(path)
    return (symbol, timeframe) if symbol and timeframe else None


def _unreadable_item(path: Path, named: tuple[str, str], reason: str) -> SourceItem:
    symbol, timeframe = named
    try:
        stat = path.stat()
        fingerprint = f"{stat.st_size}-{stat.st_mtime_ns}"
    except OSError:
        fingerprint = "unreadable"
    error = SourceDataError(
        str(path),
        f"named like {symbol} {timeframe} bars, but {reason}; fix the file or add it to the "
        "mapping file with its format",
        row=1,
    )
    return SourceItem(
        origin=str(path),
        symbol=symbol,
        kind="bars",
        timeframe=timeframe,
        source="unrecognised",
        fingerprint=fingerprint,
        loader=_failing_loader(error),
    )


def _accepts_kind(cls: type[FileReader]) -> bool:
    import inspect

    return "kind" in inspect.signature(cls.__init__).parameters


def _skip_reason(path: Path) -> str:
    from trading_assets.sources.files import EXTENSIONS

    suffix = file_suffix(path)
    if suffix not in EXTENSIONS:
        return f"not a price file extension ({suffix or 'none'})"
    head = " ".join(read_head(path, 200).decode("utf-8", errors="replace").split())
    return f"no reader recognises this {suffix} file (starts with {head[:60]!r})"
