"""LocalFolderSource over ../shared/data and over small temp folders with mapping files."""

from __future__ import annotations

import json
import os
from pathlib import Path

import polars as pl
import pytest

from trading_assets.errors import ConfigurationError, SourceDataError
from trading_assets.sources.base import SourceItem
from trading_assets.sources.local_folder import LocalFolderSource

#: every price file under crypto/ and equities/: path, format, kind, symbol, timeframe, rows
#: (Yahoo 1m: bars in the file minus off-grid partial bars, see test_files.YAHOO_1M; Lean
#: minute files: one row more than `wc -l` in SOURCES.md, the files lack a final newline).
_CRYPTO = """
binance_spot_2017_2021/ETH_USDT-1d.json         freqtrade_json         bars   ETH/USDT 1d 1385
binance_spot_2023/BTC_USDT-1h.json              freqtrade_json         bars   BTC/USDT 1h 719
binance_spot_2023/BTC_USDT-1m.json              freqtrade_json         bars   BTC/USDT 1m 66087
binance_spot_2023/BTC_USDT-5m.json              freqtrade_json         bars   BTC/USDT 5m 13217
binance_spot_2023/ETH_USDT-1h.json              freqtrade_json         bars   ETH/USDT 1h 719
binance_spot_2023/ETH_USDT-1m.json              freqtrade_json         bars   ETH/USDT 1m 66087
binance_spot_2023/ETH_USDT-5m.json              freqtrade_json         bars   ETH/USDT 5m 13217
ticks/ETHUSDT_trades_2023-02-02.csv             freqtrade_trades_csv   ticks  ETH/USDT -  1000
ticks/binance_BTCUSDT_quotes_2021-01-08.parquet quotes_parquet         quotes BTC/USDT -  451
ticks/binance_BTCUSDT_trades_2021-01-08.parquet binance_trades_parquet ticks  BTC/USDT -  2001
ticks/binance_XRP_ETH-trades_2019-10.json.gz    freqtrade_trades_json  ticks  XRP/ETH  -  12477
"""
_EQUITIES = """
daily/lean_spy_daily.csv      lean_csv    bars SPY  1d 5849
daily/nvda-1999-2014.txt      yahoo_csv   bars NVDA 1d 4012
daily/orcl-1995-2014.txt      yahoo_csv   bars ORCL 1d 5036
daily/yhoo-1996-2014.txt      yahoo_csv   bars YHOO 1d 4713
minute/nt-spy-minute-2011.csv ninjatrader bars SPY  1m 14180
"""
_TABLE = "".join(
    f"{prefix}{line}\n"
    for prefix, table in (("crypto/", _CRYPTO), ("equities/", _EQUITIES))
    for line in table.strip().splitlines()
)
_YAHOO_1D = "equities/daily/yahoo_snapshots_2025-12/{sym}_1d_20251226.json"
_YAHOO_1M = "equities/minute/yahoo_snapshots_2025-12/{sym}/1m_{day}.json"
_LEAN_1M = "equities/minute/lean_spy_2013-10/{day}_spy_minute_{kind}.csv"
for _sym, _rows_23, _rows_26 in [
    ("AAPL", 1_335, 503),
    ("MSFT", 1_247, 499),
    ("NVDA", 1_387, 509),
    ("SPY", 1_382, 507),
    ("TSLA", 1_394, 508),
]:
    _TABLE += f"{_YAHOO_1D.format(sym=_sym)} yahoo_chart bars {_sym} 1d 501\n"
    _TABLE += (
        f"{_YAHOO_1M.format(sym=_sym, day='20251223')} yahoo_chart bars {_sym} 1m {_rows_23}\n"
    )
    _TABLE += (
        f"{_YAHOO_1M.format(sym=_sym, day='20251226')} yahoo_chart bars {_sym} 1m {_rows_26}\n"
    )
for _day, _trades, _quotes in [
    ("20131004", 711, 855),
    ("20131007", 828, 908),
    ("20131008", 828, 910),
    ("20131009", 813, 902),
    ("20131010", 883, 941),
    ("20131011", 776, 896),
]:
    _TABLE += f"{_LEAN_1M.format(day=_day, kind='trade')} lean_csv bars SPY 1m {_trades}\n"
    _TABLE += f"{_LEAN_1M.format(day=_day, kind='quote')} lean_csv quote_bars SPY 1m {_quotes}\n"

EXPECTED: dict[str, tuple[str, str, str, str | None, int]] = {
    path: (fmt, kind, symbol, None if tf == "-" else tf, int(rows))
    for path, fmt, kind, symbol, tf, rows in (line.split() for line in _TABLE.strip().splitlines())
}


@pytest.fixture(scope="module")
def source(shared_data) -> LocalFolderSource:
    return LocalFolderSource(shared_data)


@pytest.fixture(scope="module")
def items(source) -> list[SourceItem]:
    return source.items()


def relative(item: SourceItem, root: Path) -> str:
    return Path(item.origin).relative_to(root).as_posix()


def test_protocol_shape(source):
    assert source.name == "local"


def test_lists_every_price_file(shared_data, items):
    listed = {relative(i, shared_data): i for i in items}
    assert set(listed) == set(EXPECTED)
    for path, (fmt, kind, symbol, timeframe, _) in EXPECTED.items():
        item = listed[path]
        assert (item.source, item.kind, item.symbol, item.timeframe) == (
            fmt,
            kind,
            symbol,
            timeframe,
        ), path


def test_every_price_file_loads_with_documented_counts(shared_data, items):
    for item in items:
        frame = item.load()
        path = relative(item, shared_data)
        assert frame.height == EXPECTED[path][4], path
        assert frame["symbol"].unique().to_list() == [item.symbol]
        assert frame["source"].unique().to_list() == [item.source]


def test_items_sorted_by_path_and_fingerprinted(shared_data, items):
    paths = [relative(i, shared_data) for i in items]
    assert paths == sorted(paths)
    for item in items:
        stat = Path(item.origin).stat()
        assert item.fingerprint == f"{stat.st_size}-{stat.st_mtime_ns}"


def test_skipped_non_price_files(shared_data, source, items):
    skipped = {p.relative_to(shared_data).as_posix(): reason for p, reason in source.skipped}
    assert "SOURCES.md" in skipped and "extension" in skipped["SOURCES.md"]
    top = {path.split("/")[0] for path in skipped if "/" in path}
    assert top == {"alpaca", "news", "sentiment"}
    all_files = {
        p.relative_to(shared_data).as_posix() for p in shared_data.rglob("*") if p.is_file()
    }
    assert set(skipped) | set(EXPECTED) == all_files
    assert not set(skipped) & set(EXPECTED)


def test_listing_reads_no_data(shared_data, monkeypatch):
    def forbidden(*args, **kwargs):
        raise AssertionError("listing must not read whole files")

    monkeypatch.setattr(pl, "read_csv", forbidden)
    monkeypatch.setattr(pl, "read_parquet", forbidden)
    monkeypatch.setattr(Path, "read_bytes", forbidden)
    assert len(LocalFolderSource(shared_data).items()) == len(EXPECTED)


@pytest.mark.parametrize(
    ("wanted", "count"),
    [(["ETHUSDT"], 5), (["eth/usdt"], 5), (["SPY"], 17), (["XRP/ETH", "ORCL"], 2), ([], 0)],
)
def test_symbol_filter(source, wanted, count):
    found = source.items(wanted)
    assert len(found) == count
    assert all(i.symbol in {"ETH/USDT", "SPY", "XRP/ETH", "ORCL"} for i in found)


# -- temp folders ---------------------------------------------------------------------------
@pytest.fixture
def eth_rows(shared_data) -> list[list]:
    path = shared_data / "crypto/binance_spot_2017_2021/ETH_USDT-1d.json"
    return json.loads(path.read_bytes())[:5]


@pytest.fixture
def folder(tmp_path, eth_rows) -> Path:
    root = tmp_path / "data"
    (root / "sub").mkdir(parents=True)
    (root / "ETH_USDT-1d.json").write_text(json.dumps(eth_rows))
    (root / "sub" / "candles-1d.json").write_text(json.dumps(eth_rows))  # no symbol in name
    (root / "notes.md").write_text("# notes\n")
    (root / ".hidden.json").write_text(json.dumps(eth_rows))
    (root / ".git").mkdir()
    (root / ".git" / "ETH_USDT-1h.json").write_text(json.dumps(eth_rows))
    return root


def test_unknown_symbol_is_unassigned_never_an_item(folder):
    source = LocalFolderSource(folder)
    found = {Path(i.origin).name: i for i in source.items()}
    assert set(found) == {"ETH_USDT-1d.json"}  # never a partition named "<unknown>"
    ((path, error),) = source.unassigned
    assert path == folder / "sub" / "candles-1d.json"
    assert isinstance(error, SourceDataError) and error.origin == str(path)
    assert error.field == "symbol" and "mapping file" in str(error)
    assert found["ETH_USDT-1d.json"].load().height == 5
    # listed only when every symbol is asked for
    assert [Path(i.origin).name for i in source.items(["ETH/USDT"])] == ["ETH_USDT-1d.json"]
    assert source.unassigned == []
    assert [p.name for p, _ in source.skipped] == ["notes.md"]  # hidden files: no trace


def test_mapping_toml(folder, tmp_path):
    mapping = tmp_path / "mapping.toml"
    mapping.write_text(
        "\n".join(
            [
                "[[files]]",
                'pattern = "sub/candles-*.json"',
                'symbol = "ethusdt"',
                "",
                "[[files]]",
                'pattern = "*.md"',
                "skip = true",
            ]
        )
    )
    source = LocalFolderSource(folder, mapping)
    found = {Path(i.origin).name: i for i in source.items()}
    item = found["candles-1d.json"]
    assert (item.symbol, item.timeframe) == ("ETH/USDT", "1d")
    frame = item.load()
    assert frame["symbol"].unique().to_list() == ["ETH/USDT"] and frame.height == 5
    assert source.skipped == [(folder / "notes.md", "skipped by mapping pattern '*.md'")]


def test_mapping_json_format_and_options(tmp_path, shared_data):
    root = tmp_path / "data"
    root.mkdir()
    lines = (shared_data / "equities/minute/nt-spy-minute-2011.csv").read_bytes().split(b"\r\n")
    (root / "export.txt").write_bytes(b"\r\n".join(lines[:5]))  # name says nothing
    mapping = tmp_path / "mapping.json"
    mapping.write_text(
        json.dumps(
            {
                "files": [
                    {
                        "pattern": "export.txt",
                        "format": "ninjatrader",
                        "symbol": "SPY",
                        "timeframe": "1m",
                        "options": {"tz": "America/New_York", "bar_time": "open"},
                    }
                ]
            }
        )
    )
    (item,) = LocalFolderSource(root, mapping).items()
    assert (item.source, item.symbol, item.timeframe) == ("ninjatrader", "SPY", "1m")
    frame = item.load()
    # 09:01 New York (EST, UTC-5), stamped as the open: 14:01 UTC
    assert frame["ts"][0].isoformat() == "2011-01-03T14:01:00+00:00"


def test_unknown_timeframe_is_a_failed_item(tmp_path, eth_rows):
    root = tmp_path / "data"
    root.mkdir()
    (root / "ETH_USDT.json").write_text(json.dumps(eth_rows))
    (item,) = LocalFolderSource(root).items()
    assert (item.symbol, item.timeframe) == ("ETH/USDT", None)
    with pytest.raises(SourceDataError, match="timeframe"):
        item.load()


def test_fingerprint_changes_with_the_file(folder):
    (folder / "sub" / "candles-1d.json").rename(folder / "sub" / "BTC_USDT-1d.json")
    source = LocalFolderSource(folder)
    before = {i.origin: i.fingerprint for i in source.items()}
    path = folder / "ETH_USDT-1d.json"
    stat = path.stat()
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000_000))
    after = {i.origin: i.fingerprint for i in source.items()}
    assert before[str(path)] != after[str(path)]
    assert (
        before[str(folder / "sub" / "BTC_USDT-1d.json")]
        == after[str(folder / "sub" / "BTC_USDT-1d.json")]
    )


@pytest.mark.parametrize(
    ("text", "suffix", "message"),
    [
        ('[[files]]\npattern = "*.json"\ncolour = "red"\n', ".toml", "unknown key"),
        ('[[files]]\npattern = "*.json"\nformat = "excel"\n', ".toml", "unknown format"),
        ('[[files]]\npattern = "*.json"\ntimeframe = "1 minute"\n', ".toml", "timeframe"),
        ('[[files]]\nsymbol = "SPY"\n', ".toml", "pattern"),
        ("[[files]\n", ".toml", "invalid syntax"),
        ('{"files": {"pattern": "*"}}', ".json", "list"),
        ("files: []", ".yaml", ".toml or .json"),
    ],
)
def test_bad_mapping_file(tmp_path, text, suffix, message):
    mapping = tmp_path / f"mapping{suffix}"
    mapping.write_text(text)
    with pytest.raises(ConfigurationError, match=message):
        LocalFolderSource(tmp_path, mapping)


def test_missing_folder(tmp_path):
    with pytest.raises(ConfigurationError, match="does not exist"):
        LocalFolderSource(tmp_path / "nope").items()
