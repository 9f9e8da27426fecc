"""Replay a historical bar series into the inbox, bar by bar, so the platform reacts live.

:func:`replay` reads one price file in any layout the ``local`` profile reads (say
``ETH_USDT-1m.json``), then writes its bars into ``<inbox>/replay/<SYMBOL>-<tf>/<seq>/`` as
freqtrade JSON files named ``<BASE>_<QUOTE>-<tf>.json``, one file per chunk of ``chunk`` bars,
``speed`` bars per second. Each chunk is written into a hidden folder and renamed into place,
so the inbox sensor never sees a half-written file and requests each chunk exactly once; the
ingestion upserts the bars (nothing already stored is lost or duplicated).
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import polars as pl

from trading_assets.errors import TradingAssetsError


@dataclass(frozen=True)
class ReplayedChunk:
    """One file written: its path, bars, and first/last bar open time (ISO, UTC)."""

    path: Path
    bars: int
    first: str
    last: str


def load_series(path: Path) -> tuple[str, str, pl.DataFrame]:
    """``(symbol, timeframe, bars sorted by ts)`` of one price file the local profile reads.

    Raises:
        TradingAssetsError: the file is missing, holds no bars, or its symbol is unknown.
    """
    from trading_assets.sources.local_folder import LocalFolderSource

    path = Path(path).resolve()
    if not path.is_file():
        raise TradingAssetsError(f"replay: {path} is not a file")
    source = LocalFolderSource(path.parent)
    items = [i for i in source.items() if Path(i.origin).resolve() == path and i.kind == "bars"]
    if any(Path(p).resolve() == path for p, _ in source.unassigned):
        raise TradingAssetsError(f"replay: cannot tell the symbol of {path}")
    if not items:
        raise TradingAssetsError(f"replay: {path} is not a bar file the local profile reads")
    (item,) = items[:1]
    if not item.timeframe:
        raise TradingAssetsError(f"replay: cannot tell the symbol/timeframe of {path}")
    return item.symbol, item.timeframe, item.load().sort("ts")


def _freqtrade_rows(frame: pl.DataFrame) -> list[list[float]]:
    ms = frame["ts"].dt.epoch("ms").to_list()
    cols = [frame[c].to_list() for c in ("open", "high", "low", "close", "volume")]
    return [[t, *vals] for t, *vals in zip(ms, *cols, strict=True)]


def write_chunk(folder: Path, seq: int, symbol: str, timeframe: str, bars: pl.DataFrame) -> Path:
    """Write ``bars`` as ``folder/<seq>/<BASE>_<QUOTE>-<tf>.json`` atomically (hidden folder,
    then rename); returns the file path."""
    name = f"{symbol.replace('/', '_')}-{timeframe}.json"
    final = folder / f"{seq:06d}"
    hidden = folder / f".{seq:06d}.tmp"
    hidden.mkdir(parents=True, exist_ok=True)
    (hidden / name).write_text(json.dumps(_freqtrade_rows(bars)))
    os.replace(hidden, final)
    return final / name


def replay(
    source_file: Path,
    inbox: Path,
    *,
    speed: float = 1.0,
    chunk: int = 1,
    limit: int | None = None,
    skip: int = 0,
    on_chunk: Callable[[ReplayedChunk], None] | None = None,
    sleep: Callable[[float], None] = time.sleep,
) -> list[ReplayedChunk]:
    """Feed the bars of ``source_file`` into ``inbox``.

    Args:
        source_file: a bar file (any layout the ``local`` profile reads).
        inbox: the inbox folder (``$TRADING_ASSETS_HOME/inbox``).
        speed: bars per second (> 0); a chunk of ``chunk`` bars is written every
            ``chunk / speed`` seconds.
        chunk: bars per file (>= 1).
        limit: stop after this many bars (default: all).
        skip: start after the first ``skip`` bars of the file.
        on_chunk: called after each file is written (progress).
        sleep: the wait function (tests pass a no-op).

    Returns:
        the chunks written, in order. Chunk folders already present from an earlier replay
        are not overwritten: numbering continues after the highest one.

    Raises:
        TradingAssetsError: bad arguments or an unreadable source file.
    """
    if speed <= 0 or chunk < 1 or skip < 0 or (limit is not None and limit < 1):
        raise TradingAssetsError("replay: need speed > 0, chunk >= 1, skip >= 0, limit >= 1")
    symbol, timeframe, bars = load_series(source_file)
    bars = bars.slice(skip, limit)
    folder = Path(inbox) / "replay" / f"{symbol.replace('/', '_')}-{timeframe}"
    folder.mkdir(parents=True, exist_ok=True)
    existing = [int(p.name) for p in folder.iterdir() if p.name.isdigit()]
    seq = max(existing, default=0)
    written: list[ReplayedChunk] = []
    for start in range(0, bars.height, chunk):
        part = bars.slice(start, chunk)
        if written:
            sleep(part.height / speed)
        seq += 1
        path = write_chunk(folder, seq, symbol, timeframe, part)
        done = ReplayedChunk(
            path, part.height, part["ts"][0].isoformat(), part["ts"][-1].isoformat()
        )
        written.append(done)
        if on_chunk:
            on_chunk(done)
    return written
