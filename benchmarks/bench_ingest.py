"""Ingestion and resampling speed (issue: foundation).

Ingestion: read + validate + upsert into a fresh DuckDB file, against
- DuckDB's own reader on the same file (``read_json``/``read_csv`` straight into a table:
  the limit; target: ours within 2x), and
- the old way: pandas rows inserted one by one (target: ours at least 20x faster).
Resampling: 1m -> 5m/15m/1h/1d, Polars (ours) against pandas ``resample().agg()``.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import duckdb
import pandas as pd
import polars as pl

from benchmarks.common import best_of, print_table, shared_data_dir, verdict
from trading_assets.bars.resample import resample_bars
from trading_assets.markets import CRYPTO
from trading_assets.schemas import BARS_KEY
from trading_assets.sources.files.freqtrade_json import FreqtradeJsonReader
from trading_assets.sources.files.lean_csv import LeanCsvReader
from trading_assets.sources.files.ninjatrader import NinjaTraderReader
from trading_assets.warehouse.connection import connect
from trading_assets.warehouse.writes import upsert

ROW_INSERT_SAMPLE = 3_000  # the row-by-row baseline is measured on a sample, as rows/s

# DuckDB-native equivalents: parse the file and write the canonical columns in one statement
NATIVE_SQL = {
    "freqtrade_json": """
        CREATE OR REPLACE TABLE t AS
        SELECT 'ETH/USDT' AS symbol, '1m' AS timeframe,
               make_timestamptz(r[1]::BIGINT * 1000) AS ts, r[2]::DOUBLE AS open,
               r[3]::DOUBLE AS high, r[4]::DOUBLE AS low, r[5]::DOUBLE AS close,
               r[6]::DOUBLE AS volume
        FROM read_json('{path}', format='array', records=false,
                       columns={{'j': 'DOUBLE[]'}}) AS x(r)""",
    "lean_csv": """
        CREATE OR REPLACE TABLE t AS
        SELECT 'SPY' AS symbol, '1d' AS timeframe,
               strptime(column0, '%Y%m%d %H:%M')::TIMESTAMPTZ AS ts,
               column1 / 10000.0 AS open, column2 / 10000.0 AS high,
               column3 / 10000.0 AS low, column4 / 10000.0 AS close,
               column5::DOUBLE AS volume
        FROM read_csv('{path}', header=false)""",
    "ninjatrader": """
        CREATE OR REPLACE TABLE t AS
        SELECT 'SPY' AS symbol, '1m' AS timeframe,
               strptime(column0, '%Y%m%d %H%M%S')::TIMESTAMPTZ AS ts,
               column1::DOUBLE AS open, column2::DOUBLE AS high, column3::DOUBLE AS low,
               column4::DOUBLE AS close, column5::DOUBLE AS volume
        FROM read_csv('{path}', header=false, delim=';')""",
}


def _files(data: Path) -> list[tuple[str, str, Path, type]]:
    return [
        ("ETH/USDT 1m freqtrade JSON", "freqtrade_json",
         data / "crypto/binance_spot_2023/ETH_USDT-1m.json", FreqtradeJsonReader),
        ("SPY 1d Lean CSV", "lean_csv",
         data / "equities/daily/lean_spy_daily.csv", LeanCsvReader),
        ("SPY 1m NinjaTrader CSV", "ninjatrader",
         data / "equities/minute/nt-spy-minute-2011.csv", NinjaTraderReader),
    ]  # fmt: skip


def _ours(path: Path, reader: type, db: Path) -> int:
    frame = reader(path).read()
    with connect(db) as con:
        return upsert(con, "raw.bars", frame, BARS_KEY).inserted


def _native(sql: str, path: Path, db: Path) -> int:
    con = duckdb.connect(str(db))
    try:
        con.execute(sql.format(path=path)).fetchall()
        return con.execute("SELECT count(*) FROM t").fetchall()[0][0]
    finally:
        con.close()


def _row_insert(frame: pl.DataFrame, db: Path) -> int:
    """The old way: a pandas frame inserted row by row with parameterized INSERTs."""
    pdf = frame.head(ROW_INSERT_SAMPLE).to_pandas()
    con = duckdb.connect(str(db))
    try:
        con.execute(
            "CREATE OR REPLACE TABLE t (symbol VARCHAR, timeframe VARCHAR, ts TIMESTAMPTZ, "
            "open DOUBLE, high DOUBLE, low DOUBLE, close DOUBLE, volume DOUBLE)"
        ).fetchall()
        for row in pdf[
            ["symbol", "timeframe", "ts", "open", "high", "low", "close", "volume"]
        ].itertuples(index=False):
            con.execute("INSERT INTO t VALUES (?, ?, ?, ?, ?, ?, ?, ?)", list(row)).fetchall()
        return len(pdf)
    finally:
        con.close()


def bench_ingestion(data: Path) -> bool:
    rows, ok = [], True
    with tempfile.TemporaryDirectory() as tmp:
        tmp_path = Path(tmp)
        for label, fmt, path, reader in _files(data):
            fresh = tmp_path / "ours.duckdb"
            ours = best_of(
                lambda path=path, reader=reader, fresh=fresh: _ours(path, reader, fresh),
                setup=lambda fresh=fresh: fresh.unlink(missing_ok=True),
            )
            native_db = tmp_path / "native.duckdb"
            native = best_of(
                lambda fmt=fmt, path=path, db=native_db: _native(NATIVE_SQL[fmt], path, db),
                setup=lambda db=native_db: db.unlink(missing_ok=True),
            )
            frame = reader(path).read()
            rows_db = tmp_path / "rows.duckdb"
            slow = best_of(lambda f=frame, db=rows_db: _row_insert(f, db), repeat=1)
            n = ours.value
            assert native.value == n, f"{label}: native read {native.value} rows, ours {n}"
            ours_rps = n / ours.seconds
            native_rps = n / native.seconds
            slow_rps = slow.value / slow.seconds
            vs_native = native_rps / ours_rps
            vs_slow = ours_rps / slow_rps
            good = vs_native <= 2.0 and vs_slow >= 20.0
            ok &= good
            rows.append([
                label, f"{n:,}", f"{ours_rps:,.0f}", f"{native_rps:,.0f}", f"{vs_native:.2f}x",
                f"{slow_rps:,.0f}", f"{vs_slow:,.0f}x", verdict(good),
            ])  # fmt: skip
    print_table(
        "Ingestion into DuckDB (rows/s; target: <= 2x slower than DuckDB's own reader, "
        ">= 20x faster than row inserts)",
        ["file", "rows", "ours", "duckdb native", "native/ours", "pandas row insert",
         "ours/rows", "target"],
        rows,
    )  # fmt: skip
    return ok


def _pandas_resample(pdf: pd.DataFrame, rule: str) -> pd.DataFrame:
    """The same work as ours in pandas: OHLCV, volume-weighted price, bar count, and only
    buckets fully covered by the input."""
    pdf = pdf.assign(pv=pdf["close"] * pdf["volume"], n_parts=1)
    out = pdf.resample(rule, label="left", closed="left").agg(
        {"open": "first", "high": "max", "low": "min", "close": "last", "volume": "sum",
         "pv": "sum", "n_parts": "sum"}
    )  # fmt: skip
    out = out[out["n_parts"] > 0]
    out["vwap"] = out["pv"] / out["volume"]
    step = pd.Timedelta(rule)
    return out[
        (out.index >= pdf.index[0]) & (out.index + step <= pdf.index[-1] + pd.Timedelta("1min"))
    ]


def _tile(minutes: pl.DataFrame, rows: int) -> pl.DataFrame:
    """The real series repeated forward in time (each copy shifted past the previous one)."""
    span = minutes["ts"][-1] - minutes["ts"][0] + pl.duration(minutes=1)
    copies = -(-rows // minutes.height)
    span = minutes.select(span).item()
    return pl.concat(minutes.with_columns(pl.col("ts") + span * i) for i in range(copies)).head(
        rows
    )


def bench_resampling(data: Path) -> None:
    real = FreqtradeJsonReader(data / "crypto/binance_spot_2023/ETH_USDT-1m.json").read()
    rows = []
    for label, minutes in (("ETH/USDT 1m", real), ("ETH/USDT 1m tiled", _tile(real, 1_000_000))):
        pdf = minutes.to_pandas().set_index("ts")[["open", "high", "low", "close", "volume"]]
        for target, rule in (("5m", "5min"), ("1h", "1h"), ("1d", "1D")):
            ours = best_of(lambda m=minutes, t=target: resample_bars(m, t, CRYPTO), repeat=5)
            theirs = best_of(lambda p=pdf, r=rule: _pandas_resample(p, r), repeat=5)
            assert len(theirs.value) == ours.value.height, (label, target)
            ratio = theirs.seconds / ours.seconds  # reported; no target is set for this
            rows.append([
                label, f"1m -> {target}", f"{minutes.height:,}",
                f"{minutes.height / ours.seconds:,.0f}",
                f"{minutes.height / theirs.seconds:,.0f}", f"{ratio:.1f}x",
            ])  # fmt: skip
    print_table(
        "Resampling (input rows/s; both compute OHLCV, vwap, bar count, complete buckets only)",
        ["series", "step", "rows", "polars (ours)", "pandas", "ours/pandas"],
        rows,
    )


def main() -> int:
    data = shared_data_dir()
    ok = bench_ingestion(data)
    bench_resampling(data)
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
