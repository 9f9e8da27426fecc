"""Report benchmark: ``.venv/bin/python -m benchmarks.bench_report``.

Inputs: real Binance ETH/USDT and BTC/USDT 1m candles (66,087 bars each, ``../shared/data``),
with predictions of two simple models, SMA signals and their backtest written in the contract
schemas (``tests.report.fixtures``): 132k signals, 264k equity rows, 264k predictions.

1. **Reading the inputs**: the report's loaders (aggregated and thinned in DuckDB: latest
   signal per series, ~600 points per equity curve, newest 1,500 predictions per model, IC in
   SQL) vs the baseline that reads the full tables into Polars and computes the same figures
   there; plus the time of every input the report reads.
2. **Rendering**: the page from thinned inputs vs the same page with full-resolution equity
   curves (time and HTML size).
"""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime

import duckdb
import polars as pl

from benchmarks.common import best_of, print_table, shared_data_dir
from tests.report import fixtures
from trading_assets.report import inputs as inputs_mod
from trading_assets.report.inputs import ReportInputs, load_inputs
from trading_assets.report.render import render_report


def _warehouse() -> duckdb.DuckDBPyConnection:
    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")
    bars = pl.concat(
        [
            fixtures.schemas.conform(
                fixtures.FreqtradeJsonReader(
                    shared_data_dir() / fixtures.BARS_DIR / f"{s}-1m.json"
                ).read(),
                "bars",
            )
            for s in ("ETH_USDT", "BTC_USDT")
        ]
    ).with_columns(pl.lit(1, dtype=pl.Int64).alias("n_parts"))
    fixtures.write_inputs(con, shared_data_dir(), bars=bars, with_news=False)
    return con


def _baseline(con: duckdb.DuckDBPyConnection) -> dict[str, pl.DataFrame]:
    """Whole tables into Polars, figures computed there."""
    equity = con.sql("SELECT * FROM signals.backtest_equity").pl()
    signals = con.sql("SELECT * FROM signals.signals").pl()
    predictions = con.sql("SELECT * FROM ml.predictions").pl()
    labels = con.sql("SELECT symbol, timeframe, ts, fwd_ret_1 FROM features.labels").pl()
    joined = predictions.join(labels, on=["symbol", "timeframe", "ts"], how="left")
    return {
        "equity": equity,
        "latest": signals.sort("ts").group_by("symbol", "timeframe").last(),
        "scores": joined.group_by("model").agg(pl.corr("prediction", "fwd_ret_1").alias("ic")),
        "newest": joined.sort("ts", descending=True).group_by("model").head(1500),
    }


def main() -> None:
    con = _warehouse()
    rows = {
        t: con.execute(f"SELECT count(*) FROM {t}").fetchall()[0][0]
        for t in ("staging.bars", "signals.signals", "signals.backtest_equity", "ml.predictions")
    }

    def same_work() -> ReportInputs:
        got = ReportInputs(equity=inputs_mod.load_equity(con))
        got.predictions, got.model_scores = inputs_mod.load_predictions(con, True)
        got.signals, got.signal_counts = inputs_mod.load_signals(con)
        return got

    ours = best_of(same_work)
    base = best_of(lambda: _baseline(con))
    everything = best_of(lambda: load_inputs(con))
    inputs = everything.value
    ic_ours = sorted(ours.value.model_scores["ic"].to_list())
    ic_base = sorted(base.value["scores"]["ic"].to_list())
    assert all(abs(a - b) < 1e-9 for a, b in zip(ic_ours, ic_base, strict=True))
    print_table(
        "Reading the report inputs (" + ", ".join(f"{t} {n:,}" for t, n in rows.items()) + ")",
        ["measure", "aggregated in DuckDB", "full tables (baseline)", "ratio"],
        [
            [
                "wall s (best of 3)",
                f"{ours.seconds:.3f}",
                f"{base.seconds:.3f}",
                f"{base.seconds / ours.seconds:.2f} (baseline / ours)",
            ],
            [
                "equity rows brought to Python",
                f"{inputs.equity.height:,}",
                f"{base.value['equity'].height:,}",
                f"{base.value['equity'].height / inputs.equity.height:.0f}x fewer",
            ],
            [
                "all inputs (+ news, freshness, cliffs, costs) s",
                f"{everything.seconds:.3f}",
                "",
                "",
            ],
        ],
    )
    now = datetime(2026, 1, 5, tzinfo=UTC)
    full = dataclasses.replace(inputs, equity=base.value["equity"])
    thin_page = best_of(lambda: render_report(inputs, now), repeat=2)
    full_page = best_of(lambda: render_report(full, now), repeat=1)
    size = len(thin_page.value.html.encode())
    full_size = len(full_page.value.html.encode())
    print_table(
        "Rendering the page (2 equity charts, 2 prediction scatters)",
        ["measure", "thinned curves", "full curves (baseline)", "ratio"],
        [
            [
                "wall s",
                f"{thin_page.seconds:.2f}",
                f"{full_page.seconds:.2f}",
                f"{full_page.seconds / thin_page.seconds:.1f}x less time",
            ],
            ["HTML bytes", f"{size:,}", f"{full_size:,}", f"{full_size / size:.1f}x smaller"],
        ],
    )


if __name__ == "__main__":
    main()
