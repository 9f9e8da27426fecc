"""Bar closes from the exchange calendar: holidays, early closes, other exchanges, bad
settings (see trading_assets/sessions.py)."""

from __future__ import annotations

from datetime import UTC, datetime, time

import polars as pl
import pytest

from trading_assets.errors import ConfigurationError
from trading_assets.markets import US_EQUITY, exchange_calendar, market_of
from trading_assets.schemas import UTC_TS
from trading_assets.sessions import bar_closes, with_bar_close
from trading_assets.sources.files.yahoo_csv import YahooCsvReader


@pytest.fixture(scope="module")
def orcl_1d(shared_data) -> pl.DataFrame:
    path = shared_data / "equities" / "daily" / "orcl-1995-2014.txt"
    return YahooCsvReader(path, symbol="ORCL", timeframe="1d").read()


def _ts(*stamps: datetime) -> pl.Series:
    return pl.Series("ts", stamps).cast(UTC_TS)


def _utc(*args) -> datetime:
    return datetime(*args, tzinfo=UTC)


def test_the_new_york_hours_are_the_calendars():
    calendar = exchange_calendar("XNYS", "SPY")
    assert calendar.open_times[-1][1] == US_EQUITY.session_open == time(9, 30)
    assert calendar.close_times[-1][1] == US_EQUITY.session_close == time(16, 0)
    assert str(calendar.tz) == US_EQUITY.timezone.key


def test_daily_bars_close_at_the_session_close_with_holidays_and_early_closes(orcl_1d):
    # real ORCL days around Thanksgiving 2013 (no row on the holiday, a 13:00 close after it)
    days = orcl_1d.filter(pl.col("ts").is_between(_utc(2013, 11, 25), _utc(2013, 12, 3)))
    closes = dict(zip(days["ts"].to_list(), bar_closes("ORCL", "1d", days["ts"]), strict=True))
    assert _utc(2013, 11, 28) not in closes  # Thanksgiving: no session, no bar
    assert closes[_utc(2013, 11, 27)] == _utc(2013, 11, 27, 21)  # 16:00 EST
    assert closes[_utc(2013, 11, 29)] == _utc(2013, 11, 29, 18)  # early close, 13:00
    assert closes[_utc(2013, 12, 2)] == _utc(2013, 12, 2, 21)
    # every real ORCL day closes on its own date, before midnight UTC
    all_closes = bar_closes("ORCL", "1d", orcl_1d["ts"])
    assert (all_closes.dt.date() == orcl_1d["ts"].dt.date()).all()
    assert set(all_closes.dt.hour().unique()) == {17, 18, 20, 21}  # early closes, EDT, EST


def test_stamps_at_local_midnight_and_holiday_rows():
    # Alpaca stamps a day at New York midnight; a summer day closes at 20:00 UTC
    assert bar_closes("AAPL", "1d", _ts(_utc(2025, 7, 1, 4)))[0] == _utc(2025, 7, 1, 20)
    # a row dated on a holiday is known at the next session's close, never earlier
    assert bar_closes("AAPL", "1d", _ts(_utc(2025, 12, 25)))[0] == _utc(2025, 12, 26, 21)


def test_intraday_bars_end_at_the_session_close_but_extended_hours_do_not():
    ts = _ts(
        _utc(2025, 12, 23, 20, 30),  # 15:30 New York: the half-hour bar to the close
        _utc(2025, 12, 23, 21),  # 16:00: post-market
        _utc(2025, 12, 24, 17, 30),  # 12:30 on the early-close day: ends at 13:00
        _utc(2025, 12, 24, 9),  # 04:00 pre-market
    )
    assert bar_closes("AAPL", "1h", ts).to_list() == [
        _utc(2025, 12, 23, 21), _utc(2025, 12, 23, 22), _utc(2025, 12, 24, 18),
        _utc(2025, 12, 24, 10),
    ]  # fmt: skip
    assert bar_closes("ETH/USDT", "1h", ts)[0] == _utc(2025, 12, 23, 21, 30)


def test_other_exchanges_come_from_the_setting(monkeypatch):
    monkeypatch.setenv("TRADING_EXCHANGES", "*.T=XTKS, 4063-T=XTKS")
    assert market_of("4063-T").timezone.key == "Asia/Tokyo"
    assert market_of("4063-T").session_close == time(15, 30)
    assert market_of("AAPL").exchange == "XNYS" and market_of("BTC/USD").exchange is None
    # yfinance stamps Tokyo days at local midnight (15:00 UTC the day before)
    ts = _ts(_utc(2023, 3, 29, 15))
    assert bar_closes("4063-T", "1d", ts)[0] == _utc(2023, 3, 30, 6)  # 15:00 JST


def test_a_calendar_without_the_symbols_exchange_is_a_clear_error(monkeypatch):
    monkeypatch.setenv("TRADING_EXCHANGES", "SAP.DE=XBER")  # Berlin: not in the library
    frame = pl.DataFrame({"symbol": ["SAP.DE"], "timeframe": ["1d"], "ts": [_utc(2024, 5, 2)]})
    with pytest.raises(ConfigurationError) as err:
        with_bar_close(frame)
    assert "symbol 'SAP.DE'" in str(err.value) and "'XBER'" in str(err.value)
    assert "TRADING_EXCHANGES='SAP.DE=XNYS'" in str(err.value)
    monkeypatch.setenv("TRADING_EXCHANGES", "SAP.DE:XETR")
    with pytest.raises(ConfigurationError, match="TRADING_EXCHANGES: entry 'SAP.DE:XETR'"):
        market_of("SAP.DE")


def test_with_bar_close_keeps_row_order():
    frame = pl.DataFrame(
        {
            "symbol": ["AAPL", "ETH/USDT", "AAPL"],
            "timeframe": ["1d", "1d", "1h"],
            "ts": [_utc(2025, 12, 24), _utc(2025, 12, 24), _utc(2025, 12, 23, 20, 30)],
        }
    )
    assert with_bar_close(frame)["bar_close"].to_list() == [
        _utc(2025, 12, 24, 18), _utc(2025, 12, 25), _utc(2025, 12, 23, 21),
    ]  # fmt: skip


def test_sessions_are_computed_once_per_library_version_then_read_from_the_home(
    tmp_path, monkeypatch
):
    """A new process reads the stored sessions instead of building the calendar again; they
    are the calendar's own (Thanksgiving 2023 is no session, the day after closes early)."""
    from trading_assets import sessions

    monkeypatch.setenv("TRADING_ASSETS_HOME", str(tmp_path))
    sessions._sessions.cache_clear()
    built = sessions._sessions("XNYS", 2020, 2029)
    (stored,) = (tmp_path / "cache" / "sessions").glob("XNYS-2020-2029-*.npz")

    def no_calendar(*args, **kwargs):
        raise AssertionError("the calendar was built again")

    monkeypatch.setattr(sessions, "exchange_calendar", no_calendar)
    sessions._sessions.cache_clear()  # as in a new process
    again = sessions._sessions("XNYS", 2020, 2029)
    for field in ("days", "opens", "closes"):
        assert (getattr(again, field) == getattr(built, field)).all()
    days = set(again.days.astype(str))
    assert "2023-11-23" not in days and "2023-11-24" in days
    early = again.closes[list(again.days.astype(str)).index("2023-11-24")]
    assert datetime.fromtimestamp(early / 1e6, UTC) == datetime(2023, 11, 24, 18, tzinfo=UTC)
    stored.write_bytes(b"torn")  # an unreadable file: built again (and the test's stub says so)
    sessions._sessions.cache_clear()
    with pytest.raises(AssertionError, match="built again"):
        sessions._sessions("XNYS", 2020, 2029)
    sessions._sessions.cache_clear()
