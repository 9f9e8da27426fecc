"""The report page from real inputs: every section, escaped headlines, stable content hash,
and plain words for each missing or odd input."""

from __future__ import annotations

import dataclasses
import re
from datetime import timedelta

import numpy as np
import polars as pl
import pytest

from tests.report.conftest import GENERATED, memory_warehouse
from trading_assets.report.inputs import ReportInputs, load_cliffs, load_inputs
from trading_assets.report.render import render_report
from trading_assets.report.sections import build_sections
from trading_assets.warehouse.writes import replace_scope


def notes(inputs: ReportInputs) -> dict[str, list[str]]:
    return {s.key: s.notes for s in build_sections(inputs)}


def test_inputs_from_real_data(inputs):
    assert inputs.freshness["bars"].to_list() == [719, 719]
    assert inputs.freshness["last_ts"].max().isoformat() == "2023-05-01T14:00:00+00:00"
    # latest signal per series, equity thinned but ending on the last bar
    assert inputs.signals.height == 2 and inputs.signals["ts"].dt.hour().to_list() == [14, 14]
    last = inputs.equity.group_by("strategy", "symbol").agg(pl.col("ts").max())["ts"]
    assert last.n_unique() == 1 and last[0] == inputs.freshness["last_ts"].max()
    assert inputs.model_scores["model"].to_list() == [
        "fwd_ret_1-1h-last",
        "fwd_ret_1-1h-moving_average",
    ]
    # realized = the next bar's log return, joined on the bar (never a later one)
    eth = inputs.predictions.filter(
        (pl.col("symbol") == "ETH/USDT") & (pl.col("model") == "fwd_ret_1-1h-last")
    ).sort("ts")
    nxt = eth["prediction"].shift(-1)  # the "last" model predicts the bar's own return
    assert (eth["realized"] - nxt).drop_nulls().abs().max() < 1e-12
    assert eth["realized"][-1] is None  # the newest bar has no realized return yet
    assert inputs.sentiment["articles"].sum() == inputs.headlines.height or (
        inputs.sentiment["articles"].sum() > inputs.headlines.height
    )
    assert inputs.costs.filter(pl.col("asset_key") == "staging/bars")["runs"][0] == 2
    # cost over time: the fixture's three materializations all started on 2026-01-05
    (day,) = inputs.cost_daily.iter_rows(named=True)
    assert (day["day"].date().isoformat(), day["runs"], day["materializations"]) == (
        "2026-01-05",
        2,
        3,
    )
    assert day["cost_usd"] == pytest.approx(0.0001 + 0.0012 + 0.00003)


def test_full_report_has_every_section_but_the_leaderboard(rendered):
    assert rendered.missing == ["leaderboard"]
    assert rendered.charts == 6  # 2 equity, 2 prediction scatters, 1 sentiment, 1 cost
    assert rendered.html.count("<svg") == 6
    html = rendered.html
    for text in ("ETH/USDT", "SMA(10) below SMA(30)", "fwd_ret_1-1h-moving_average", "Sharpe"):
        assert text in html
    assert rendered.summary["best_backtest"]["strategy"] == "consensus"
    assert rendered.summary["signals_long"] + rendered.summary["signals_short"] == 1380


def test_headlines_are_escaped(rendered):
    html = rendered.html
    assert "<script" not in html and "<img" not in html and "javascript:" not in html
    assert "&lt;script&gt;window.__pwned = 1&lt;/script&gt;" in html
    assert "Stocks &amp; &#34;bonds&#34; rally" in html
    assert "&lt;b&gt;Evil&lt;/b&gt; Wire" in html


def test_page_loads_nothing(rendered):
    html = rendered.html
    assert not re.search(r"""(src|href)\s*=\s*["']?(https?:|//)""", html)
    assert "@import" not in html
    assert all(ref.startswith("#") for ref in re.findall(r"url\(([^)]*)\)", html))  # SVG ids
    assert all(ref.startswith("#") for ref in re.findall(r'xlink:href="([^"]*)"', html))
    assert "default-src 'none'" in html


def test_content_hash_ignores_the_generation_time(inputs, rendered):
    later = render_report(inputs, GENERATED + timedelta(hours=5))
    assert later.content_hash == rendered.content_hash and later.html != rendered.html
    fewer = dataclasses.replace(inputs, headlines=inputs.headlines.head(3))
    assert render_report(fewer, GENERATED).content_hash != rendered.content_hash


def test_body_is_the_content_without_the_page_shell(rendered):
    body = rendered.body()
    assert body.startswith('<section id="summary">') and "<head>" not in body
    assert "<svg" in body


def test_no_predictions_yet():
    empty = ReportInputs()
    got = notes(empty)
    assert got["predictions"] == ["No predictions yet: the models have not been trained."]
    assert got["signals"][0].startswith("No signals yet")
    assert got["equity"][0].startswith("No backtests yet")
    assert "no news" in got["sentiment"][0].lower()
    page = render_report(empty, GENERATED)
    assert page.present == [] and page.charts == 0
    assert "No predictions yet: the models have not been trained." in page.html


def test_a_single_model(inputs):
    one = dataclasses.replace(
        inputs,
        model_scores=inputs.model_scores.head(1),
        predictions=inputs.predictions.filter(pl.col("model") == "fwd_ret_1-1h-last"),
    )
    (note,) = notes(one)["predictions"]
    assert note.startswith("Only one model (fwd_ret_1-1h-last)")


def test_all_signals_flat(warehouse, bars):
    from tests.report import fixtures

    con = memory_warehouse()
    replace_scope(con, "signals.signals", fixtures.sma_signals(bars, flat=True), {})
    got = notes(load_inputs(con))
    assert any(n.startswith("All signals are flat") for n in got["signals"])
    assert got["equity"][0].startswith("No backtests yet")


def test_split_cliff_in_raw_prices(bars):
    # an unadjusted 4:1 split: real ETH/USDT prices before 2023-04-15 quoted 4x higher
    cut = pl.datetime(2023, 4, 15, time_zone="UTC")
    prices = ["open", "high", "low", "close"]
    split = bars.with_columns(
        [
            pl.when((pl.col("symbol") == "ETH/USDT") & (pl.col("ts") < cut))
            .then(pl.col(c) * 4)
            .otherwise(pl.col(c))
            .alias(c)
            for c in prices
        ]
    )
    con = memory_warehouse()
    replace_scope(con, "staging.bars", split, {})
    cliffs = load_cliffs(con)
    assert cliffs.select("symbol", "timeframe").rows() == [("ETH/USDT", "1h")]
    assert cliffs["ts"][0].isoformat() == "2023-04-15T00:00:00+00:00"
    assert 0.24 < cliffs["ratio"][0] < 0.26
    quality = notes(load_inputs(con))["quality"]
    assert any(
        n.startswith("Split cliff flagged in ETH/USDT 1h at 2023-04-15 00:00") for n in quality
    )
    replace_scope(con, "staging.bars", bars, {})
    assert load_cliffs(con).height == 0  # the real, adjusted prices have none
    # the same 4x step across a ten-day hole in the data is two stretches, not a split
    holed = split.filter((pl.col("ts") < cut - timedelta(days=10)) | (pl.col("ts") >= cut))
    replace_scope(con, "staging.bars", holed, {})
    assert load_cliffs(con).height == 0


def test_a_table_of_another_shape_is_skipped_not_fatal():
    con = memory_warehouse()
    con.execute("CREATE SCHEMA signals")
    con.execute("CREATE TABLE signals.signals (symbol VARCHAR, ts TIMESTAMPTZ)")
    data = load_inputs(con)
    assert "signals" in data.skipped and "signals.signals" in data.skipped["signals"]
    got = notes(data)["signals"]
    assert got[0].startswith("No signals yet") and got[1].startswith("Could not read signals")
    render_report(data, GENERATED)  # renders all the same


def test_chart_cache_redraws_only_the_series_whose_rows_changed(inputs, rendered, tmp_path):
    from trading_assets.report import charts, render

    folder = tmp_path / "charts"
    first = render_report(inputs, GENERATED, chart_cache=folder)
    assert first.html == rendered.html  # the cache changes nothing on the page
    cached = sorted(p.name for p in folder.glob("*.svg"))
    assert len(cached) == first.charts

    # one more bar on the first equity series: only its chart is drawn again
    symbol, timeframe = charts.series_to_chart(inputs.equity)[0]
    last = charts.equity_rows(inputs.equity, symbol, timeframe).sort("ts").tail(1)
    newer = pl.concat([inputs.equity, last.with_columns(pl.col("ts") + timedelta(days=1))])
    cache = charts.ChartCache(folder)
    drawn = render.start_charts(dataclasses.replace(inputs, equity=newer), cache).result()
    assert cache.drawn == 1  # and the result pruned the chart it replaced
    now = sorted(p.name for p in folder.glob("*.svg"))
    assert len(now) == len(cached) and len(set(now) - set(cached)) == 1
    assert str(drawn["equity_charts"][0]["svg"]) not in first.html
    assert all(str(c["svg"]) in first.html for c in drawn["equity_charts"][1:])
    assert len(drawn["equity_charts"]) > 1


def test_charts_drawn_in_a_warm_process_give_the_same_page(inputs, rendered, tmp_path):
    from trading_assets import warm_process
    from trading_assets.report import build, charts

    registry = tmp_path / "mlflow.db"
    registry.write_bytes(b"no champions: the process only draws")
    uri = f"sqlite:///{registry}"
    with warm_process.warmed(uri, tmp_path / "served") as process:
        asked: list[list[str]] = []

        def remote(requests):
            asked.append([chart.__name__ for chart, _, _ in requests])
            return process.start_draws([(c.__name__, rows, args) for c, rows, args in requests])

        there = render_report(inputs, GENERATED, draw=remote)
        # started ahead (as the asset does): the same page, and the cached charts not asked
        pending = build.start_charts(inputs, tmp_path / "reports", remote)
        ahead = render_report(inputs, GENERATED, pending=pending)
        again = render_report(inputs, GENERATED, pending=build.start_charts(
            inputs, tmp_path / "reports", remote))  # fmt: skip
        with pytest.raises(warm_process.WarmProcessError, match="no_such_chart"):
            process.start_draws([("no_such_chart", inputs.equity, ())])()
    assert len(asked) == 2 and len(asked[0]) == there.charts and "equity_chart" in asked[0]
    assert asked[1] == asked[0]  # the second cache was empty; the third found every chart
    assert there.html == rendered.html == ahead.html == again.html  # the same SVG text
    assert sorted(p.name for p in (tmp_path / "reports" / build.CHART_CACHE).glob("*")) == sorted(
        f"{charts._chart_key(*r)}.svg" for r in _requests(inputs)
    )


def _requests(inputs):
    from trading_assets.report import charts, render

    recorded = []

    def record(requests):
        recorded.extend(requests)
        return lambda: ["<svg/>"] * len(requests)

    render.start_charts(inputs, charts.ChartCache(None, record)).result()
    return recorded


def test_warm_process_answers_in_order_and_never_blocks_on_large_messages(inputs, tmp_path):
    from trading_assets import warm_process
    from trading_assets.report import charts

    registry = tmp_path / "mlflow.db"
    registry.write_bytes(b"no champions: the process only draws")
    # rows and SVG texts far larger than a pipe's buffer, both ways
    big = pl.concat([inputs.equity] * 8)
    symbol, timeframe = charts.series_to_chart(inputs.equity)[0]
    rows = charts.equity_rows(big, symbol, timeframe)
    assert rows.estimated_size() > 10 * 65_536  # a Linux pipe holds 64 KiB
    expected = charts.equity_chart(rows, symbol, timeframe)
    assert len(expected) > 100_000
    with warm_process.warmed(f"sqlite:///{registry}", tmp_path / "served") as process:
        first = process.start_draws([("equity_chart", rows, (symbol, timeframe))] * 2)
        failing = process.start_draws([("no_such_chart", rows, ())])
        # a third request while two answers are unread: they are read first, then it is sent
        (third,) = process.start_draws([("equity_chart", rows, (symbol, timeframe))])()
        with pytest.raises(warm_process.WarmProcessError, match="no_such_chart"):
            failing()
        assert first() == [expected, expected] and third == expected
    # a child that is gone: the pending draw fails with the error the asset falls back on
    process = warm_process.WarmProcess(f"sqlite:///{registry}", tmp_path / "served")
    pending = process.start_draws([("equity_chart", rows, (symbol, timeframe))])
    process._child.kill()
    with pytest.raises(warm_process.WarmProcessError, match="ended"):
        pending()
    process.close()


def test_position_distribution_and_turnover(bars):
    from tests.report import fixtures
    from trading_assets.report.inputs import load_positions

    # fractional positions from the real bars: the SMA gap, scaled and capped at +/-100 %
    gap = pl.col("close") / pl.col("close").rolling_mean(30).over("symbol") - 1
    key = ["symbol", "timeframe", "ts"]
    sized = (
        fixtures.sma_signals(bars)
        .join(bars.select(*key, gap.alias("gap")), on=key)
        .with_columns(
            pl.when(pl.col("gap").abs() < 0.005).then(0.0).otherwise(pl.col("gap") * 25)
            .clip(-1, 1).alias("position")
        )
        .drop("gap")
    )  # fmt: skip
    con = memory_warehouse()
    replace_scope(con, "signals.signals", sized, {})
    got = load_positions(con)
    assert got.height == 2
    for row in got.iter_rows(named=True):
        p = sized.filter(pl.col("symbol") == row["symbol"]).sort("ts")["position"].to_numpy()
        assert row["bars"] == p.size
        assert row["flat"] == pytest.approx((p == 0).mean())
        assert row["long_large"] == pytest.approx((p >= 0.5).mean())
        assert row["short_small"] == pytest.approx(((p < 0) & (p > -0.5)).mean())
        assert row["full"] == pytest.approx((abs(p) == 1).mean())
        shares = ("short_large", "short_small", "flat", "long_small", "long_large")
        assert sum(row[k] for k in shares) == pytest.approx(1.0)
        assert row["p50"] == pytest.approx(float(np.median(p)))
        assert row["p05"] == pytest.approx(float(np.quantile(p, 0.05)))
        assert row["mean_abs"] == pytest.approx(abs(p).mean())
        assert row["turnover"] == pytest.approx(np.abs(np.diff(p, prepend=0.0)).mean())
        assert 0 < row["flat"] < 0.5 and 0 < row["full"] < 0.5  # a real distribution
    inputs = load_inputs(con)
    html = render_report(inputs, GENERATED).html
    assert "Consensus positions: distribution and turnover" in html
    assert "mean |position|" in html and "turnover / bar" in html


def test_trading_section_shows_the_dry_run_orders_positions_and_slippage(inputs, rendered):
    orders = inputs.orders
    assert set(orders["mode"]) == {"dry_run"} and orders.height == 2
    assert set(orders["status"]) == {"dry_run"}
    # weights capped at 0.5 each, 1.0 gross: ETH's intent is half of 100,000 USD at its close
    eth = orders.filter(pl.col("symbol") == "ETH/USDT").row(0, named=True)
    assert eth["qty"] * eth["price"] == pytest.approx(50_000, abs=0.01)
    section = rendered.html.split('<section id="trading">', 1)[1].split("</section>", 1)[0]
    assert "Dry run: these are order intents, nothing was sent to a broker" in section
    assert "Positions against targets" in section
    for row in inputs.book.iter_rows(named=True):  # the simulated book is at its targets
        assert row["qty"] == row["target_qty"]
    assert "Realized against assumed slippage" in section
    assumed = inputs.backtests.filter(pl.col("strategy") == "consensus")["slippage_bps"].mean()
    assert inputs.slippage["assumed_bps"].to_list() == [assumed, assumed]  # the backtest's


def test_inputs_read_on_two_cursors_are_those_read_one_by_one(warehouse):
    """load_inputs runs its reads on cursors of two threads; the inputs are the same, and
    each cursor reads in UTC whatever zone its connection's session has."""
    from dataclasses import fields

    from trading_assets.report import inputs as report_inputs
    from trading_assets.warehouse.connection import utc_cursor

    parallel, serial = load_inputs(warehouse, workers=2), load_inputs(warehouse, workers=1)
    # the charts' reads first, then the others into the same inputs (as the asset does)
    charted = load_inputs(warehouse, reads=report_inputs.CHART_READS)
    assert charted.equity.height and not charted.signals.height
    two_steps = load_inputs(
        warehouse, reads=report_inputs.READS - report_inputs.CHART_READS, into=charted
    )
    assert two_steps is charted
    assert parallel.skipped == serial.skipped == two_steps.skipped == {}
    for f in fields(ReportInputs):
        a, b, c = getattr(parallel, f.name), getattr(serial, f.name), getattr(two_steps, f.name)
        assert (a.equals(b) and a.equals(c)) if isinstance(a, pl.DataFrame) else a == b == c, f.name
    with pytest.raises(ValueError, match="equty"):
        load_inputs(warehouse, reads={"equty"})
    assert parallel.equity.height and parallel.signals.height and parallel.headlines.height
    zoned = memory_warehouse()
    zoned.execute("SET TimeZone = 'America/New_York'")
    cursor = utc_cursor(zoned)
    assert cursor.sql("SELECT current_setting('TimeZone')").fetchall() == [("UTC",)]
    cursor.close()
