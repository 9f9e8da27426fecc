"""The ``demo`` profile's prices: real daily index bars shipped inside the ``arch`` package.

``arch`` (NCSA licence) bundles Yahoo Finance daily OHLCV for the S&P 500 (``^GSPC``) and the
NASDAQ Composite (``^IXIC``), 1999-01-04 to 2018-12-31, 5,031 sessions each, as gzipped CSV with
the header ``Date,Open,High,Low,Close,Adj Close,Volume``. Reading the files by path avoids
importing ``arch`` itself. No network and no keys are needed.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Sequence
from pathlib import Path

import polars as pl

from trading_assets.errors import ConfigurationError, SourceDataError
from trading_assets.sources.base import SourceItem
from trading_assets.sources.validate import ROW, validate_bars

#: symbol -> file inside arch/data
DEMO_FILES: dict[str, str] = {"^GSPC": "sp500/sp500.csv.gz", "^IXIC": "nasdaq/nasdaq.csv.gz"}


def _arch_data_dir() -> Path:
    spec = importlib.util.find_spec("arch")
    if spec is None or not spec.submodule_search_locations:
        raise ConfigurationError("the demo profile needs the 'arch' package, which is missing")
    return Path(next(iter(spec.submodule_search_locations))) / "data"


def read_demo_csv(path: Path, symbol: str) -> pl.DataFrame:
    """Read one of arch's daily CSV files into canonical bars (timeframe ``1d``, ts 00:00 UTC).

    Returns:
        Canonical ``raw.bars`` frame (see :data:`trading_assets.schemas.BARS_SCHEMA`), prices
        in index points, volume in shares, sorted by ts.

    Raises:
        SourceDataError: the file is missing, unreadable or fails validation.
    """
    try:
        frame = pl.read_csv(
            path,
            schema_overrides={
                "Date": pl.String,
                "Open": pl.Float64,
                "High": pl.Float64,
                "Low": pl.Float64,
                "Close": pl.Float64,
                "Volume": pl.Float64,
            },
            columns=["Date", "Open", "High", "Low", "Close", "Volume"],
        )
    except (OSError, pl.exceptions.PolarsError) as exc:
        raise SourceDataError(str(path), f"cannot read demo data: {exc}") from exc
    frame = frame.with_row_index(ROW, offset=2).select(
        pl.lit(symbol).alias("symbol"),
        pl.lit("1d").alias("timeframe"),
        pl.col("Date")
        .str.to_datetime("%m/%d/%Y", time_unit="us", time_zone="UTC", strict=True)
        .alias("ts"),
        pl.col("Open").alias("open"),
        pl.col("High").alias("high"),
        pl.col("Low").alias("low"),
        pl.col("Close").alias("close"),
        pl.col("Volume").alias("volume"),
        pl.lit("arch_demo").alias("source"),
        pl.col(ROW).cast(pl.Int64),
    )
    return validate_bars(frame, str(path))


class DemoSource:
    """Offline demo prices: daily bars of ``^GSPC`` and ``^IXIC`` from the ``arch`` package."""

    name = "demo"

    def __init__(self, data_dir: Path | None = None) -> None:
        self._data_dir = data_dir

    def items(self, symbols: Sequence[str] | None = None) -> list[SourceItem]:
        """One ``bars``/``1d`` item per demo symbol (all of them when ``symbols`` is None)."""
        base = self._data_dir or _arch_data_dir()
        out = []
        for symbol, rel in DEMO_FILES.items():
            if symbols is not None and symbol not in symbols:
                continue
            path = base / rel
            stat = path.stat()
            out.append(
                SourceItem(
                    origin=str(path),
                    symbol=symbol,
                    kind="bars",
                    timeframe="1d",
                    source="arch_demo",
                    fingerprint=f"{stat.st_size}-{stat.st_mtime_ns}",
                    loader=lambda path=path, symbol=symbol: read_demo_csv(path, symbol),
                )
            )
        return out
