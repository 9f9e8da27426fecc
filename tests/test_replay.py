"""`trading-assets replay`: a historical 1m series fed into the inbox, each file seen once."""

from pathlib import Path

import polars as pl
import pytest
from click.testing import CliRunner

from trading_assets.cli import main
from trading_assets.defs.prices.inbox import inbox_requests
from trading_assets.errors import TradingAssetsError
from trading_assets.replay import load_series, replay
from trading_assets.sources.local_folder import LocalFolderSource


@pytest.fixture
def eth_1m(shared_data: Path) -> Path:
    return shared_data / "crypto" / "binance_spot_2023" / "ETH_USDT-1m.json"


def test_replay_writes_chunks_the_inbox_requests_once_each(tmp_path: Path, eth_1m: Path):
    inbox = tmp_path / "inbox"
    waits: list[float] = []
    chunks = replay(eth_1m, inbox, speed=50, chunk=4, limit=10, skip=100, sleep=waits.append)
    assert [c.bars for c in chunks] == [4, 4, 2]
    assert waits == [4 / 50, 2 / 50]  # none before the first file
    assert not list(inbox.rglob(".*"))  # no temporary folders left behind

    _, _, source = load_series(eth_1m)
    items = LocalFolderSource(inbox).items()
    assert {(i.symbol, i.timeframe) for i in items} == {("ETH/USDT", "1m")}
    replayed = pl.concat([i.load() for i in items]).sort("ts")
    expected = source.slice(100, 10)
    assert replayed["ts"].to_list() == expected["ts"].to_list()
    assert replayed["close"].to_list() == expected["close"].to_list()

    # the inbox sensor's logic: one request for the three files, then nothing
    requests, new_symbols, cursor, unreadable = inbox_requests(inbox, None, set())
    assert [r.partition_key for r in requests] == ["ETH/USDT"] and new_symbols == ["ETH/USDT"]
    assert unreadable == []
    assert inbox_requests(inbox, cursor, {"ETH/USDT"})[0] == []

    # a second replay continues the numbering; only the new file is requested
    (more,) = replay(eth_1m, inbox, speed=1000, chunk=5, limit=5, skip=110, sleep=waits.append)
    assert more.path.parent.name == "000004"
    requests, *_ = inbox_requests(inbox, cursor, {"ETH/USDT"})
    assert len(requests) == 1


def test_replay_cli_and_bad_input(home: Path, eth_1m: Path, tmp_path: Path):
    result = CliRunner().invoke(main, ["replay", str(eth_1m), "--speed", "1000", "--limit", "3"])
    assert result.exit_code == 0, result.output
    assert "replayed 3 bar(s) in 3 file(s)" in result.output
    assert len(list((home / "inbox").rglob("ETH_USDT-1m.json"))) == 3
    readme = tmp_path / "notes.txt"
    readme.write_text("not bars")
    with pytest.raises(TradingAssetsError, match="notes.txt"):
        replay(readme, tmp_path / "inbox")
    with pytest.raises(TradingAssetsError, match="speed"):
        replay(eth_1m, tmp_path / "inbox", speed=0)
