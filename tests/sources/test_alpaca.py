"""AlpacaSource against a local server replaying real Alpaca responses (no internet).

Bodies come from ``../shared/data/alpaca`` (alpaca-py's recorded responses, SOURCES.md E).
The crypto *bars* capture re-uses stock numbers under BTC/USD and ETH/USD: fine for wire
format, not market data.
"""

from __future__ import annotations

import copy
import socket
import time
from datetime import UTC, datetime

import httpx
import polars as pl
import pytest

from tests.sources.alpaca_replay import Raw, ReplayServer, Route, load_captures, split_pages
from trading_assets.errors import ConfigurationError, SourceDataError, SourceUnavailableError
from trading_assets.schemas import BARS_SCHEMA, TICKS_SCHEMA
from trading_assets.sources.alpaca import (
    DEFAULT_DATA_URL,
    AlpacaSource,
    alpaca_timeframe,
    rate_limit_reset,
)

KEY = "test-key-id-PKXXXX"
SECRET = "test-secret-SKYYYY"
START = datetime(2022, 1, 1, tzinfo=UTC)
END = datetime(2024, 1, 1, tzinfo=UTC)
STOCK_BARS = "/v2/stocks/bars"
STOCK_TRADES = "/v2/stocks/trades"
CRYPTO_BARS = "/v1beta3/crypto/us/bars"
CRYPTO_TRADES = "/v1beta3/crypto/us/trades"


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


@pytest.fixture(autouse=True)
def _loopback_only(monkeypatch):
    """Every HTTP request in this module must go to 127.0.0.1 (no proxies, no real hosts)."""
    for name in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy"):
        monkeypatch.delenv(name, raising=False)
    real_send = httpx.Client.send

    def send(self, request, *args, **kwargs):
        if request.url.host != "127.0.0.1":
            raise AssertionError(f"test tried to reach {request.url.host}")
        return real_send(self, request, *args, **kwargs)

    monkeypatch.setattr(httpx.Client, "send", send)


@pytest.fixture
def server():
    with ReplayServer() as replay:
        yield replay


@pytest.fixture(scope="module")
def stock(shared_data):
    return load_captures(shared_data, "stock")


@pytest.fixture(scope="module")
def crypto(shared_data):
    return load_captures(shared_data, "crypto")


def make_source(server: ReplayServer, **overrides) -> AlpacaSource:
    options = {
        "start": START,
        "end": END,
        "data_url": server.url,
        "api_key": KEY,
        "secret_key": SECRET,
        "timeframes": ("1d",),
        "retry_attempts": 3,
        "retry_wait_seconds": 0.001,
        "retry_max_wait_seconds": 0.01,
        "timeout_seconds": 5,
    }
    options.update(overrides)
    return AlpacaSource(**options)


def item_of(source: AlpacaSource, symbol: str, kind: str = "bars", timeframe: str | None = "1d"):
    matches = [
        i
        for i in source.items()
        if i.symbol == symbol and i.kind == kind and (kind != "bars" or i.timeframe == timeframe)
    ]
    assert len(matches) == 1, matches
    return matches[0]


# --------------------------------------------------------------------------- timeframes


@pytest.mark.filterwarnings("ignore::DeprecationWarning")  # alpaca.data imports websockets.legacy
def test_timeframe_strings_match_alpaca_py():
    from alpaca.data.timeframe import TimeFrame, TimeFrameUnit

    cases = [(f"{n}m", n, TimeFrameUnit.Minute) for n in range(1, 60)]
    cases += [(f"{n}h", n, TimeFrameUnit.Hour) for n in range(1, 24)]
    cases += [("1d", 1, TimeFrameUnit.Day), ("1w", 1, TimeFrameUnit.Week)]
    cases += [(f"{n}M", n, TimeFrameUnit.Month) for n in (1, 2, 3, 6, 12)]
    for ours, amount, unit in cases:
        assert alpaca_timeframe(ours) == TimeFrame(amount, unit).value


@pytest.mark.parametrize(
    "bad", ["1s", "60m", "0m", "01m", "24h", "2d", "2w", "4M", "1Day", "", "1y"]
)
def test_unsupported_timeframes_fail_at_construction(bad):
    with pytest.raises(ConfigurationError, match="timeframe"):
        AlpacaSource(start=START, crypto_symbols=["BTC/USD"], timeframes=[bad])


def test_bad_configuration_fails_at_construction():
    with pytest.raises(ConfigurationError, match="BTC/USD"):
        AlpacaSource(start=START, crypto_symbols=["BTCUSD"])
    with pytest.raises(ConfigurationError, match="crypto_symbols"):
        AlpacaSource(start=START, stock_symbols=["ETH/USD"])
    with pytest.raises(ConfigurationError, match="stock_feed"):
        AlpacaSource(start=START, stock_symbols=["AAPL"], stock_feed="nasdaq")
    with pytest.raises(ConfigurationError, match="after end"):
        AlpacaSource(start=START, end=utc(2021, 1, 1), stock_symbols=["AAPL"])
    with pytest.raises(ConfigurationError, match="data_url"):
        AlpacaSource(start=START, stock_symbols=["AAPL"], data_url="127.0.0.1:80")


# --------------------------------------------------------------------------- items


def test_items_are_one_request_each_and_cheap(server):
    source = make_source(
        server,
        stock_symbols=["AAPL", "TSLA"],
        crypto_symbols=["BTC/USD"],
        timeframes=["1m", "1h", "1d"],
        fetch_trades=True,
        end=utc(2022, 2, 3),
    )
    items = source.items()
    assert len(items) == 3 * 4
    assert {(i.kind, i.timeframe) for i in items if i.symbol == "BTC/USD"} == {
        ("bars", "1m"),
        ("bars", "1h"),
        ("bars", "1d"),
        ("ticks", None),
    }
    assert all(i.source == "alpaca" for i in items)
    assert [i.symbol for i in source.items(["BTC/USD", "MSFT"])] == ["BTC/USD"] * 4
    assert server.requests == []  # listing does no I/O

    aapl_1h = item_of(source, "AAPL", timeframe="1h")
    url = httpx.URL(aapl_1h.origin)
    assert url.path == STOCK_BARS
    assert dict(url.params) == {
        "symbols": "AAPL",
        "timeframe": "1Hour",
        "start": "2022-01-01T00:00:00Z",
        "end": "2022-02-03T00:00:00Z",
        "limit": "10000",
        "feed": "iex",
        "adjustment": "split",  # the default: a split is never a return
    }
    btc_trades = item_of(source, "BTC/USD", kind="ticks")
    assert httpx.URL(btc_trades.origin).path == CRYPTO_TRADES
    # a closed range has a stable fingerprint
    assert aapl_1h.fingerprint == item_of(source, "AAPL", timeframe="1h").fingerprint
    for text in [repr(source), *(i.origin for i in items), *(repr(i) for i in items)]:
        assert KEY not in text and SECRET not in text


def test_default_url_is_alpaca_only_when_not_overridden(server):
    plain = AlpacaSource(start=START, crypto_symbols=["BTC/USD"])
    assert plain.data_url == DEFAULT_DATA_URL == "https://data.alpaca.markets"
    assert plain.items()[0].origin.startswith("https://data.alpaca.markets/v1beta3/")
    local = make_source(server, crypto_symbols=["BTC/USD"])
    assert local.items()[0].origin.startswith(server.url + "/v1beta3/crypto/us/bars?")


# --------------------------------------------------------------------------- stock bars


def test_stock_bars_real_values_and_auth_headers(server, stock):
    capture = stock["test_get_bars"]
    server.add(capture.route())
    source = make_source(server, stock_symbols=["AAPL"])
    frame = item_of(source, "AAPL").load()

    assert frame.schema == pl.Schema(BARS_SCHEMA)
    assert frame.height == 2
    first = frame.row(0, named=True)
    # Alpaca stamps daily stock bars at New York midnight (05:00Z); we label the trading date.
    assert first == {
        "symbol": "AAPL",
        "timeframe": "1d",
        "ts": utc(2022, 2, 1),
        "open": 174.0,
        "high": 174.84,
        "low": 172.31,
        "close": 174.61,
        "volume": 85998033.0,
        "trades": 732412,
        "vwap": 173.703516,
        "source": "alpaca:split",  # the adjustment used is recorded on every bar
    }
    assert frame["close"].to_list() == [174.61, 175.84]
    assert frame["ts"].to_list() == [utc(2022, 2, 1), utc(2022, 2, 2)]

    # The capture's next_page_token is followed (the server ends the range with an empty page).
    requests = server.requests_to(STOCK_BARS)
    assert [r.page_token for r in requests] == [None, capture.body["next_page_token"]]
    for request in requests:
        assert request.headers["apca-api-key-id"] == KEY
        assert request.headers["apca-api-secret-key"] == SECRET
        assert request.query["symbols"] == "AAPL"
        assert request.query["timeframe"] == "1Day"
        assert request.query["feed"] == "iex"
        assert request.query["adjustment"] == "split"
    # raw prices on request, recorded as such (staging then detects splits itself)
    raw = make_source(server, stock_symbols=["AAPL"], adjustment="raw")
    assert item_of(raw, "AAPL").load()["source"].unique().to_list() == ["alpaca:raw"]
    assert server.requests_to(STOCK_BARS)[-1].query["adjustment"] == "raw"


def test_sort_desc_response_comes_out_ascending(server, stock):
    server.add(stock["test_get_bars_desc"].route())
    source = make_source(server, stock_symbols=["TSLA"], sort="desc", end=utc(2023, 9, 28))
    frame = item_of(source, "TSLA").load()
    assert server.requests_to(STOCK_BARS)[0].query["sort"] == "desc"
    assert frame["ts"].to_list() == [utc(2023, 9, 25), utc(2023, 9, 26), utc(2023, 9, 27)]
    assert frame["close"].to_list() == [246.99, 244.12, 240.5]
    assert frame["trades"].to_list() == [1196613, 1118004, 1393690]


def test_pagination_follows_every_page_without_duplicates(server, stock):
    body = stock["test_get_bars_desc"].body
    pages = split_pages(body, 3)
    server.add(Route(path=STOCK_BARS, query={"symbols": "TSLA"}, pages=pages))
    source = make_source(server, stock_symbols=["TSLA"])
    frame = item_of(source, "TSLA").load()

    requests = server.requests_to(STOCK_BARS)
    assert [r.page_token for r in requests] == [None, "replay-page-2", "replay-page-3"]
    assert all(r.query["symbols"] == "TSLA" for r in requests)
    sent = [row["c"] for page in pages for row in page["bars"]["TSLA"]]
    assert sent == [240.5, 244.12, 246.99]  # three pages, one row each
    assert frame.height == 3
    assert frame["ts"].is_unique().all()
    assert frame["ts"].is_sorted()
    assert sorted(frame["close"].to_list()) == sorted(sent)


def test_pagination_with_many_rows_keeps_every_row_once(server, stock):
    # Rows of several real captures under one symbol, cut into 4 pages.
    rows = [
        *stock["test_get_bars"].body["bars"]["AAPL"],
        *stock["test_get_bars_desc"].body["bars"]["TSLA"],
        *stock["test_multisymbol_get_bars"].body["bars"]["AAPL"],
    ]
    body = {"bars": {"AAPL": copy.deepcopy(rows)}, "next_page_token": None}
    pages = split_pages(body, 4)
    server.add(Route(path=STOCK_BARS, query={"symbols": "AAPL"}, pages=pages))
    frame = item_of(make_source(server, stock_symbols=["AAPL"]), "AAPL").load()
    assert len(server.requests_to(STOCK_BARS)) == 4
    assert frame.height == len(rows) == 6
    expected = sorted(
        (datetime.fromisoformat(r["t"].replace("Z", "+00:00")).date(), r["c"]) for r in rows
    )
    got = [(ts.date(), close) for ts, close in zip(frame["ts"], frame["close"], strict=True)]
    assert got == expected


def test_repeated_page_token_is_an_error_not_a_loop(server, stock):
    page = copy.deepcopy(stock["test_get_bars"].body)
    page["next_page_token"] = "same-token"
    server.add(Route(path=STOCK_BARS, query={"symbols": "AAPL"}, pages=[page, page]))
    with pytest.raises(SourceDataError, match="next_page_token"):
        item_of(make_source(server, stock_symbols=["AAPL"]), "AAPL").load()
    assert len(server.requests_to(STOCK_BARS)) == 2  # the second answer repeats the token


# --------------------------------------------------------------------------- retries


def test_429_is_retried_then_succeeds(server, stock):
    server.add(stock["test_get_bars"].route(statuses=[429], status_headers={"Retry-After": "0"}))
    frame = item_of(make_source(server, stock_symbols=["AAPL"]), "AAPL").load()
    first_page = [r for r in server.requests_to(STOCK_BARS) if r.page_token is None]
    assert len(first_page) == 2  # one 429, one success
    assert frame["close"].to_list() == [174.61, 175.84]


def test_retry_after_is_honoured_but_capped(server, stock):
    server.add(stock["test_get_bars"].route(statuses=[429], status_headers={"Retry-After": "3600"}))
    started = time.monotonic()
    frame = item_of(make_source(server, stock_symbols=["AAPL"]), "AAPL").load()
    assert time.monotonic() - started < 5  # waited retry_max_wait_seconds, not an hour
    assert frame.height == 2


def test_rate_limit_reset_is_the_wait_hint_without_retry_after():
    reset = httpx.Response(429, headers={"X-RateLimit-Reset": f"{time.time() + 30:.0f}"})
    assert 28 <= rate_limit_reset(reset) <= 31
    assert rate_limit_reset(httpx.Response(429, headers={"X-RateLimit-Reset": "1"})) == 0.0
    assert rate_limit_reset(httpx.Response(429, headers={"X-RateLimit-Reset": "soon"})) is None
    assert rate_limit_reset(httpx.Response(429)) is None


def test_5xx_is_retried_with_backoff(server, crypto):
    server.add(crypto["test_get_crypto_bars"].route(statuses=[503, 502, 500]))
    source = make_source(server, crypto_symbols=["BTC/USD"], api_key=None, secret_key=None)
    frame = item_of(source, "BTC/USD").load()
    assert len(server.requests_to(CRYPTO_BARS)) == 4
    assert frame.height == 1


def test_500_every_time_raises_source_unavailable(server, stock, caplog):
    server.add(stock["test_get_bars"].route(always_status=500, error_message=f"echo {SECRET}"))
    source = make_source(server, stock_symbols=["AAPL"], retry_attempts=2)
    with pytest.raises(SourceUnavailableError) as info:
        item_of(source, "AAPL").load()
    message = str(info.value)
    assert server.url + STOCK_BARS in message
    assert "HTTP 500" in message
    assert "after 3 attempts" in message
    assert KEY not in message and SECRET not in message
    assert "echo ***" in message  # the server's message, with the secret redacted
    assert len(server.requests_to(STOCK_BARS)) == 3
    assert "retrying" in caplog.text
    assert KEY not in caplog.text and SECRET not in caplog.text


def test_connection_refused_raises_source_unavailable():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    source = AlpacaSource(
        start=START,
        crypto_symbols=["BTC/USD"],
        timeframes=["1h"],
        data_url=f"http://127.0.0.1:{port}",
        retry_attempts=1,
        retry_wait_seconds=0.001,
    )
    with pytest.raises(SourceUnavailableError, match=f"127.0.0.1:{port}.*ConnectError"):
        source.items()[0].load()


def test_forbidden_is_a_configuration_error_and_not_retried(server, stock):
    server.add(stock["test_get_bars"].route(always_status=403))
    with pytest.raises(ConfigurationError, match="HTTP 403.*ALPACA_API_KEY"):
        item_of(make_source(server, stock_symbols=["AAPL"]), "AAPL").load()
    assert len(server.requests_to(STOCK_BARS)) == 1


# --------------------------------------------------------------------------- keys


def test_stock_items_without_keys_fail_on_load_naming_the_variables(server, stock):
    server.add(stock["test_get_bars"].route())
    source = make_source(server, stock_symbols=["AAPL"], api_key=None, secret_key="")
    item = item_of(source, "AAPL")  # construction and listing work without keys
    with pytest.raises(ConfigurationError) as info:
        item.load()
    assert "ALPACA_API_KEY" in str(info.value) and "ALPACA_SECRET_KEY" in str(info.value)
    assert server.requests == []


def test_crypto_needs_no_keys(server, crypto):
    server.add(crypto["test_get_crypto_bars"].route())
    source = make_source(
        server, crypto_symbols=["BTC/USD", "ETH/USD"], api_key=None, secret_key=None
    )
    frame = item_of(source, "BTC/USD").load()
    request = server.requests_to(CRYPTO_BARS)[0]
    assert "apca-api-key-id" not in request.headers
    assert "apca-api-secret-key" not in request.headers
    assert request.query["symbols"] == "BTC/USD"
    assert "feed" not in request.query and "adjustment" not in request.query
    # placeholder numbers (the capture re-uses AAPL's), real wire format
    assert frame.row(0, named=True)["close"] == 162.95
    assert frame["symbol"].to_list() == ["BTC/USD"]  # only the requested symbol
    # Crypto daily bars are floored to the UTC date (here 05:00Z -> 00:00Z).
    assert frame["ts"].to_list() == [utc(2022, 3, 9)]
    eth = item_of(source, "ETH/USD").load()
    assert eth["close"].to_list() == [858.97]


def test_crypto_keys_are_sent_when_given(server, crypto):
    server.add(crypto["test_get_crypto_bars"].route())
    item_of(make_source(server, crypto_symbols=["BTC/USD"]), "BTC/USD").load()
    assert server.requests_to(CRYPTO_BARS)[0].headers["apca-api-key-id"] == KEY


# --------------------------------------------------------------------------- trades


def test_crypto_trades_real_values(server, crypto):
    server.add(crypto["test_get_crypto_trades"].route())
    source = make_source(
        server,
        crypto_symbols=["BTC/USD", "ETH/USD"],
        timeframes=[],
        fetch_trades=True,
        api_key=None,
        secret_key=None,
    )
    btc = item_of(source, "BTC/USD", kind="ticks").load()
    assert btc.schema == pl.Schema(TICKS_SCHEMA)
    assert btc.row(0, named=True) == {
        "symbol": "BTC/USD",
        "source": "alpaca",
        "trade_id": "293648598",
        "ts": datetime(2022, 3, 9, 6, 0, 0, 80264, tzinfo=UTC),
        "price": 41516.08,
        "size": 0.00315427,
        "side": "buy",
    }
    eth = item_of(source, "ETH/USD", kind="ticks").load()
    assert eth["side"].to_list() == ["sell"]
    assert eth["price"].to_list() == [2715.06]


def test_stock_trades_real_values(server, stock):
    # The capture's URL also carries asof=2022-03-09, which we do not send: match on symbol.
    capture = stock["test_get_trades"]
    server.add(capture.route(query={"symbols": "AAPL", "start": None}))
    source = make_source(server, stock_symbols=["AAPL"], timeframes=[], fetch_trades=True)
    frame = item_of(source, "AAPL", kind="ticks").load()
    assert frame.schema == pl.Schema(TICKS_SCHEMA)
    assert frame["ts"].to_list() == [
        datetime(2022, 3, 9, 5, 0, 2, 183000, tzinfo=UTC),
        datetime(2022, 3, 9, 5, 0, 16, 910000, tzinfo=UTC),
    ]
    assert frame["price"].to_list() == [159.07, 159.07]
    assert frame["size"].to_list() == [1.0, 2.0]
    assert frame["side"].to_list() == [None, None]
    # stock trade ids are unique per exchange and trading day only
    assert frame["trade_id"].to_list() == ["2022-03-09:D:151", "2022-03-09:D:168"]
    requests = server.requests_to(STOCK_TRADES)
    assert [r.page_token for r in requests] == [None, capture.body["next_page_token"]]
    assert "timeframe" not in requests[0].query


def test_nanosecond_timestamps_truncate_to_microseconds(server, stock):
    latest = stock["test_get_latest_trade"].body["trades"]["AAPL"]
    assert latest["t"] == "2022-03-18T14:02:09.722539521Z"
    body = {"trades": {"AAPL": [latest]}, "next_page_token": None}
    server.add(Route(path=STOCK_TRADES, query={"symbols": "AAPL"}, pages=[body]))
    source = make_source(server, stock_symbols=["AAPL"], timeframes=[], fetch_trades=True)
    frame = item_of(source, "AAPL", kind="ticks").load()
    assert frame["ts"].dtype == pl.Datetime("us", "UTC")
    assert frame["ts"].to_list() == [datetime(2022, 3, 18, 14, 2, 9, 722539, tzinfo=UTC)]
    assert frame["price"].to_list() == [161.2958]
    assert frame["trade_id"].to_list() == ["2022-03-18:D:22730"]


def test_trades_without_id_get_a_timestamp_sequence_id(server, crypto):
    row = dict(crypto["test_get_crypto_trades"].body["trades"]["BTC/USD"][0])
    del row["i"]
    body = {"trades": {"BTC/USD": [row, {**row, "p": 41517.0}]}, "next_page_token": None}
    server.add(Route(path=CRYPTO_TRADES, query={"symbols": "BTC/USD"}, pages=[body]))
    source = make_source(server, crypto_symbols=["BTC/USD"], timeframes=[], fetch_trades=True)
    frame = item_of(source, "BTC/USD", kind="ticks").load()
    micros = int(utc(2022, 3, 9, 6).timestamp()) * 1_000_000 + 80264
    assert frame["trade_id"].to_list() == [f"{micros}-0", f"{micros}-1"]
    assert frame["price"].to_list() == [41516.08, 41517.0]


def test_multisymbol_capture_gives_only_the_requested_symbol(server, stock):
    server.add(stock["test_multisymbol_get_trades"].route())
    source = make_source(server, stock_symbols=["TSLA"], timeframes=[], fetch_trades=True)
    frame = item_of(source, "TSLA", kind="ticks").load()
    assert frame["price"].to_list() == [833.0]
    assert frame["symbol"].to_list() == ["TSLA"]


# --------------------------------------------------------------------------- empty and bad


@pytest.mark.parametrize(
    "body",
    [
        {"bars": {}, "next_page_token": None},
        {},
        None,
        {"bars": None, "next_page_token": None},
        {"bars": {"AAPL": []}, "next_page_token": None},
        {"bars": {"AAPL": None}},
        {"bars": {"MSFT": [{"t": "2022-02-01T05:00:00Z", "o": 1, "h": 1, "l": 1, "c": 1}]}},
    ],
)
def test_empty_bar_responses_give_an_empty_canonical_frame(server, body):
    server.add(Route(path=STOCK_BARS, query={"symbols": "AAPL"}, pages=[body]))
    frame = item_of(make_source(server, stock_symbols=["AAPL"]), "AAPL").load()
    assert frame.height == 0
    assert frame.schema == pl.Schema(BARS_SCHEMA)


def test_empty_captures_give_empty_frames(server, stock):
    server.add(stock["test_get_bars_single_empty_response"].route())
    server.add(stock["test_get_trades_multi_empty_response"].route())
    source = make_source(server, stock_symbols=["AAPL"], fetch_trades=True)
    bars = item_of(source, "AAPL").load()
    ticks = item_of(source, "AAPL", kind="ticks").load()
    assert (bars.height, bars.schema) == (0, pl.Schema(BARS_SCHEMA))
    assert (ticks.height, ticks.schema) == (0, pl.Schema(TICKS_SCHEMA))


def test_bad_timestamp_names_row_and_field(server, stock):
    body = copy.deepcopy(stock["test_get_bars_desc"].body)
    body["bars"]["TSLA"][1]["t"] = "yesterday"
    body["next_page_token"] = None
    server.add(Route(path=STOCK_BARS, query={"symbols": "TSLA"}, pages=[body]))
    with pytest.raises(SourceDataError) as info:
        item_of(make_source(server, stock_symbols=["TSLA"]), "TSLA").load()
    assert (info.value.row, info.value.field) == (2, "t")
    assert info.value.origin.startswith(server.url + STOCK_BARS)


def test_row_numbers_count_across_pages(server, stock):
    body = copy.deepcopy(stock["test_get_bars_desc"].body)
    body["bars"]["TSLA"][2]["t"] = "2023-09-25"  # not RFC-3339: no time
    server.add(Route(path=STOCK_BARS, query={"symbols": "TSLA"}, pages=split_pages(body, 3)))
    with pytest.raises(SourceDataError) as info:
        item_of(make_source(server, stock_symbols=["TSLA"]), "TSLA").load()
    assert (info.value.row, info.value.field) == (3, "t")
    assert len(server.requests_to(STOCK_BARS)) == 3


def test_invalid_bar_is_reported_by_validation(server, stock):
    body = copy.deepcopy(stock["test_get_bars_desc"].body)
    body["bars"]["TSLA"][2]["h"] = 1.0  # high below low
    body["next_page_token"] = None
    server.add(Route(path=STOCK_BARS, query={"symbols": "TSLA"}, pages=[body]))
    with pytest.raises(SourceDataError, match="below low") as info:
        item_of(make_source(server, stock_symbols=["TSLA"]), "TSLA").load()
    assert info.value.row == 3


@pytest.mark.parametrize(
    ("page", "reason"),
    [
        (Raw(b"<html>gateway</html>"), "not JSON"),
        ("a string", "expected a JSON object"),
        ({"bars": [1, 2]}, "keyed by symbol"),
        ({"bars": {"AAPL": [["2022-02-01", 1.0]]}}, "expected an object"),
    ],
)
def test_malformed_bodies_are_source_data_errors(server, page, reason):
    server.add(Route(path=STOCK_BARS, query={"symbols": "AAPL"}, pages=[page]))
    with pytest.raises(SourceDataError, match=reason):
        item_of(make_source(server, stock_symbols=["AAPL"]), "AAPL").load()


# --------------------------------------------------------------------------- timeframes on the wire


def test_intraday_bars_keep_their_open_time(server, crypto):
    server.add(crypto["test_get_crypto_bars"].route())
    source = make_source(server, crypto_symbols=["BTC/USD"], timeframes=["1h", "7m"])
    hourly = item_of(source, "BTC/USD", timeframe="1h").load()
    odd = item_of(source, "BTC/USD", timeframe="7m").load()
    assert hourly["ts"].to_list() == [utc(2022, 3, 9, 5)]
    assert hourly["timeframe"].to_list() == ["1h"]
    assert odd["timeframe"].to_list() == ["7m"]
    sent = [r.query["timeframe"] for r in server.requests_to(CRYPTO_BARS)]
    assert sent == ["1Hour", "7Min"]


def test_week_and_month_bars_are_labelled_by_trading_date(server, stock):
    # Wire-format check only: the daily capture is served for 1Week/1Month requests.
    server.add(stock["test_get_bars"].route())
    source = make_source(server, stock_symbols=["AAPL"], timeframes=["1w", "1M"])
    weekly = item_of(source, "AAPL", timeframe="1w").load()
    monthly = item_of(source, "AAPL", timeframe="1M").load()
    assert weekly["ts"].to_list() == [utc(2022, 2, 1), utc(2022, 2, 2)]
    assert monthly["timeframe"].to_list() == ["1M", "1M"]
    assert monthly.schema == pl.Schema(BARS_SCHEMA)
    sent = [r.query["timeframe"] for r in server.requests_to(STOCK_BARS) if not r.page_token]
    assert sent == ["1Week", "1Month"]
