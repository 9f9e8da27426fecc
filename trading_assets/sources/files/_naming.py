"""Symbols and timeframes from file names (and from the values files carry).

File names are the only place many formats say which market they hold:
``ETH_USDT-1m.json`` (freqtrade), ``binance_BTCUSDT_trades_2021-01-08.parquet``,
``orcl-1995-2014.txt`` (Yahoo CSV), ``20131004_spy_minute_trade.csv`` (QuantConnect Lean),
``nt-spy-minute-2011.csv`` (NinjaTrader). The rules here turn such names into symbols in their
market's form (``ETH/USDT``, ``XRP/ETH``, ``SPY``) and timeframes written as exchanges write them
(``1m``, ``1h``, ``1d``). A name that does not give an unambiguous symbol gives ``None``; the
caller then asks the user for a mapping-file entry.
"""

from __future__ import annotations

import re
from pathlib import Path

from trading_assets.timeframes import timeframe_seconds

#: Quote currencies recognised when splitting concatenated crypto pairs (``ETHUSDT``), longest
#: first so that ``USDT`` wins over ``USD``.
KNOWN_QUOTES: tuple[str, ...] = tuple(
    sorted(
        (
            "FDUSD",
            "USDT",
            "USDC",
            "BUSD",
            "TUSD",
            "USDP",
            "DAI",
            "USD",
            "EUR",
            "GBP",
            "JPY",
            "TRY",
            "BRL",
            "AUD",
            "BTC",
            "ETH",
            "BNB",
        ),
        key=len,
        reverse=True,
    )
)

#: Extensions (also compound ones) removed before a file name is split into tokens.
_EXTENSIONS = (
    ".json.gz",
    ".csv.gz",
    ".txt.gz",
    ".json",
    ".csv",
    ".txt",
    ".parquet",
    ".pq",
    ".gz",
    ".zip",
)

#: Words in file names that describe the format, venue or layout, never the symbol.
_NOISE_WORDS = frozenset(
    (
        *("agg", "aggtrades", "bar", "bars", "binance", "candle", "candles", "chart"),
        *("crypto", "daily", "data", "day", "equities", "equity", "export", "freqtrade"),
        *("futures", "future", "hist", "historical", "history", "hour", "hourly", "kline"),
        *("klines", "lean", "minute", "minutes", "ninjatrader", "nt", "ohlc", "ohlcv", "perp"),
        *("price", "prices", "quote", "quotes", "second", "seconds", "snapshot", "snapshots"),
        *("spot", "tick", "ticks", "trade", "trades", "usa", "week", "weekly", "yahoo"),
    )
)

_WORD_TIMEFRAMES = {
    "second": "1s",
    "seconds": "1s",
    "sec": "1s",
    "minute": "1m",
    "minutes": "1m",
    "min": "1m",
    "hour": "1h",
    "hourly": "1h",
    "daily": "1d",
    "day": "1d",
    "d": "1d",
    "h": "1h",
    "hr": "1h",
    "weekly": "1w",
    "week": "1w",
}
_TF_TOKEN = re.compile(r"^(\d+)([smhdw])$")  # case-sensitive: freqtrade writes months as 1M
_TF_LONG = re.compile(r"^(\d+)(sec|secs|min|mins|minute|minutes|hr|hrs|hour|hours|day|days)$")
_SYMBOL_TOKEN = re.compile(r"^[A-Za-z][A-Za-z0-9.]{0,11}$")
_PAIR_SEPARATORS = re.compile(r"[/_\-]")


def strip_extensions(name: str) -> str:
    """``ETH_USDT-1m.json`` -> ``ETH_USDT-1m``; ``XRP_ETH-trades.json.gz`` -> ``XRP_ETH-trades``."""
    lower = name.lower()
    for ext in _EXTENSIONS:
        if lower.endswith(ext):
            return name[: -len(ext)]
    return name


def canonical_timeframe(timeframe: str) -> str:
    """Write a timeframe in its canonical form: ``60m`` -> ``1h``, ``24h`` -> ``1d``.

    Also accepts Yahoo's interval names (``1wk``, ``60m``, ``1h``).

    Raises:
        TradingAssetsError: if the text is not a timeframe (see
            :func:`trading_assets.timeframes.timeframe_seconds`).
    """
    text = timeframe.strip()
    if text.endswith("wk"):
        text = text[:-2] + "w"
    seconds = timeframe_seconds(text)
    for unit, size in (("w", 604_800), ("d", 86_400), ("h", 3_600), ("m", 60)):
        if seconds % size == 0:
            return f"{seconds // size}{unit}"
    return f"{seconds}s"


def timeframe_from_token(token: str) -> str | None:
    """A timeframe in a file-name token (``1m``, ``5min``, ``1hr``, ``minute``, ``daily``,
    ``d`` and ``h`` as CryptoDataDownload writes them), else None."""
    if _TF_TOKEN.match(token):
        return canonical_timeframe(token)
    low = token.lower()
    if low in _WORD_TIMEFRAMES:
        return _WORD_TIMEFRAMES[low]
    match = _TF_LONG.match(low)
    if match:
        word = match.group(2)
        unit = (
            "h"
            if word.startswith(("hr", "hou"))
            else {"sec": "s", "min": "m", "day": "d"}[word[:3]]
        )
        return canonical_timeframe(f"{match.group(1)}{unit}")
    return None


def _split_concatenated(token: str) -> str | None:
    up = token.upper()
    for quote in KNOWN_QUOTES:
        base = up[: -len(quote)]
        if up.endswith(quote) and len(base) >= 2 and base.isalnum():
            return f"{base}/{quote}"
    return None


def normalize_symbol(raw: str) -> str:
    """A symbol in its market's form, from the spellings files and APIs use.

    ``BTC/USDT`` and ``btc/usdt`` -> ``BTC/USDT``; ``ETH_USDT``, ``BTC-USD`` -> ``ETH/USDT``,
    ``BTC/USD`` (the second part must be a known quote currency); concatenated pairs
    ``ETHUSDT`` -> ``ETH/USDT`` (by :data:`KNOWN_QUOTES`, base at least two characters);
    freqtrade futures ``BTC_USDT_USDT`` -> ``BTC/USDT:USDT``; anything else is upper-cased
    (``spy`` -> ``SPY``, ``BRK-B`` -> ``BRK-B``).
    """
    text = raw.strip()
    if "/" in text:
        return text.upper()
    parts = [p for p in _PAIR_SEPARATORS.split(text) if p]
    if len(parts) == 2 and parts[1].upper() in KNOWN_QUOTES and parts[0].isalnum():
        return f"{parts[0].upper()}/{parts[1].upper()}"
    if (
        len(parts) == 3
        and parts[1].upper() in KNOWN_QUOTES
        and parts[2].upper() in KNOWN_QUOTES
        and parts[0].isalnum()
    ):
        return f"{parts[0].upper()}/{parts[1].upper()}:{parts[2].upper()}"
    if len(parts) == 1:
        pair = _split_concatenated(text)
        if pair:
            return pair
    return text.upper()


def infer_from_name(path: str | Path) -> tuple[str | None, str | None]:
    """Guess ``(symbol, timeframe)`` from a file name; either may be None.

    The name (without extensions) is split on ``_``, ``-`` and spaces. Timeframe tokens
    (``1m``, ``1h``, ``minute``, ``daily``...) give the timeframe; numbers (dates, years) and
    format words (``binance``, ``trades``, ``lean``, ``nt``...) are ignored; what remains must be
    a single symbol token (``orcl``, ``ETHUSDT``) or two/three adjacent tokens forming a pair
    (``ETH_USDT``, ``XRP_ETH``, ``BTC_USDT_USDT``). Anything else gives no symbol.
    """
    stem = strip_extensions(Path(path).name)
    tokens = [t for t in re.split(r"[_\-\s]+", stem) if t]
    timeframe: str | None = None
    candidates: list[tuple[int, str]] = []
    for index, token in enumerate(tokens):
        tf = timeframe_from_token(token)
        if tf is not None:
            timeframe = timeframe or tf
            continue
        if token.lower() in _NOISE_WORDS or not _SYMBOL_TOKEN.match(token):
            continue
        candidates.append((index, token))
    symbol: str | None = None
    indexes = [i for i, _ in candidates]
    words = [t.upper() for _, t in candidates]
    adjacent = indexes == list(range(indexes[0], indexes[0] + len(indexes))) if indexes else False
    if len(words) == 1:
        symbol = normalize_symbol(words[0])
    elif len(words) == 2 and adjacent and words[1] in KNOWN_QUOTES:
        symbol = f"{words[0]}/{words[1]}"
    elif len(words) == 3 and adjacent and words[1] in KNOWN_QUOTES and words[2] in KNOWN_QUOTES:
        symbol = f"{words[0]}/{words[1]}:{words[2]}"
    return symbol, timeframe
