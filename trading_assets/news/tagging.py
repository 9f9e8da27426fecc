"""Ticker tagging: which symbols an article is about, when its source did not say.

Rules (the issue's order): an article keeps the tickers its source gave (Alpaca ``symbols``,
Yahoo's per-symbol file and ``relatedTickers``, a feed's configured symbols). Only articles
with none are matched against the configured symbols, in title and summary:

- the bare ticker, case-sensitive, as a whole word, optionally as a cashtag or after an
  exchange prefix (``AAPL``, ``$AAPL``, ``NASDAQ:AAPL``). Tickers of one or two letters count
  only as cashtags (``$F``), and bare tickers are ignored in all-caps headlines, where
  ``ON``/``ALL``/``IT`` are words;
- for crypto pairs (``BTC/USD``): the pair in ``/``, ``-`` or joined form and the base
  (``BTC``, three letters or more) as above;
- for index symbols (``^GSPC``): the literal symbol;
- company names and aliases from the aliases file (:data:`DEFAULT_ALIASES_FILE`),
  case-insensitive, as whole words (``Apple``, ``S&P 500``, ``Bitcoin``).
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path

import polars as pl

from trading_assets.errors import ConfigurationError

#: The aliases file shipped with the package.
DEFAULT_ALIASES_FILE = Path(__file__).with_name("aliases.toml")


def load_aliases(path: str | Path | None = None) -> dict[str, list[str]]:
    """Symbol -> aliases from a TOML file with an ``[aliases]`` table (default: the shipped
    :data:`DEFAULT_ALIASES_FILE`).

    Raises:
        ConfigurationError: the file is missing, not TOML, or not ``symbol = [str, ...]``.
    """
    file = Path(path) if path else DEFAULT_ALIASES_FILE
    try:
        data = tomllib.loads(file.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise ConfigurationError(f"aliases file {file}: {exc}") from exc
    table = data.get("aliases", {})
    if not isinstance(table, dict):
        raise ConfigurationError(f"aliases file {file}: [aliases] must be a table")
    result: dict[str, list[str]] = {}
    for symbol, names in table.items():
        if not isinstance(names, list) or not all(isinstance(n, str) for n in names):
            raise ConfigurationError(
                f"aliases file {file}: {symbol!r} must be a list of strings, got {names!r}"
            )
        result[str(symbol)] = [n.strip() for n in names if n.strip()]
    return result


def _ticker_forms(symbol: str) -> list[str]:
    """Case-sensitive surface forms of ``symbol`` (besides aliases)."""
    if symbol.startswith("^"):
        return [symbol]
    if "/" in symbol:
        base, quote = symbol.split("/", 1)
        forms = [symbol, f"{base}-{quote}", f"{base}{quote}"]
        if len(base) >= 3:
            forms.append(base)
        return forms
    return [symbol]


class TickerTagger:
    """Finds configured symbols in article text.

    Args:
        symbols: the symbols to look for, in market form (``AAPL``, ``BTC/USD``, ``^GSPC``).
        aliases: symbol -> company names/aliases (see :func:`load_aliases`); aliases of
            symbols not in ``symbols`` are ignored.
    """

    def __init__(
        self, symbols: Iterable[str], aliases: Mapping[str, Sequence[str]] | None = None
    ) -> None:
        self.symbols: tuple[str, ...] = tuple(dict.fromkeys(s for s in symbols if s))
        aliases = aliases or {}
        exact: dict[str, set[str]] = {}
        short: dict[str, set[str]] = {}
        folded: dict[str, set[str]] = {}
        for symbol in self.symbols:
            for form in _ticker_forms(symbol):
                target = short if len(form) <= 2 else exact
                target.setdefault(form, set()).add(symbol)
            for name in aliases.get(symbol, ()):
                folded.setdefault(name.casefold(), set()).add(symbol)
        self._exact, self._short, self._folded = exact, short, folded

        def alternation(words: Iterable[str]) -> str:
            return "|".join(re.escape(w) for w in sorted(words, key=lambda w: (-len(w), w)))

        edge_before = r"(?<![\w^/.\-])"
        edge_after = r"(?![\w/]|-\w|\.\w)"
        self._exact_re = (
            re.compile(rf"{edge_before}\$?({alternation(exact)}){edge_after}") if exact else None
        )
        self._cashtag_re = (
            re.compile(rf"(?<![\w$])\$({alternation(short)}){edge_after}") if short else None
        )
        self._alias_re = (
            re.compile(rf"(?<!\w)({alternation(folded)})(?!\w)", re.IGNORECASE) if folded else None
        )

    @staticmethod
    def _shouting(text: str) -> bool:
        letters = [c for c in text if c.isalpha()]
        return len(letters) >= 12 and sum(c.isupper() for c in letters) >= 0.8 * len(letters)

    def tag(self, *texts: str | None) -> list[str]:
        """Sorted symbols mentioned in ``texts`` (title, summary, ...); [] if none."""
        found: set[str] = set()
        for text in texts:
            if not text:
                continue
            if self._exact_re is not None:
                shouting = self._shouting(text)
                for match in self._exact_re.finditer(text):
                    if shouting and not match.group(0).startswith("$"):
                        continue
                    found |= self._exact[match.group(1)]
            if self._cashtag_re is not None:
                for match in self._cashtag_re.finditer(text):
                    found |= self._short[match.group(1)]
            if self._alias_re is not None:
                for match in self._alias_re.finditer(text):
                    found |= self._folded[match.group(1).casefold()]
        return sorted(found)

    def tag_frame(self, frame: pl.DataFrame) -> pl.DataFrame:
        """``frame`` (a ``raw.news`` frame) with empty ``tickers`` filled by :meth:`tag` on
        title and summary; rows that already have tickers are left alone."""
        if frame.height == 0 or not self.symbols:
            return frame
        tickers = frame["tickers"].to_list()
        titles = frame["title"].to_list()
        summaries = frame["summary"].to_list()
        filled = [
            current if current else self.tag(title, summary)
            for current, title, summary in zip(tickers, titles, summaries, strict=True)
        ]
        return frame.with_columns(pl.Series("tickers", filled, dtype=pl.List(pl.String)))
