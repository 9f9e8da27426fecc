"""Render :class:`~trading_assets.report.inputs.ReportInputs` into one self-contained HTML page.

jinja2 with autoescape on (headlines, explanations and model names are untrusted text); charts
are inline SVG from :mod:`trading_assets.report.charts`; CSS is inline; there is no script,
no font, no image and no link the browser would load, so the page works offline and makes no
request. The content hash leaves out the generation time, so the same inputs give the same
hash (and the asset the same data version) whenever they are rendered.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any

import polars as pl
from markupsafe import Markup

from trading_assets.report import charts
from trading_assets.report.inputs import ReportInputs, newest_bar
from trading_assets.report.sections import Section, build_sections
from trading_assets.sessions import bar_close_of
from trading_assets.trading.signals_run import format_age

BODY_START = "<!-- report:start -->"
BODY_END = "<!-- report:end -->"
STATUS_ORDER = {"failed": 0, "warning": 1, "planned": 2, "passed": 3}  # problems first
#: the first columns of every per-series table: (column, title, kind)
SERIES_COLUMNS = [("symbol", "symbol", ""), ("timeframe", "tf", ""), ("bars", "bars", "int")]
#: the distribution of the consensus positions (every figure a share or a fraction of equity)
POSITION_TABLE = SERIES_COLUMNS + [
    (column, title, "pct")
    for column, title in {
        "short_large": "short ≥ 50 %", "short_small": "short < 50 %", "flat": "flat",
        "long_small": "long < 50 %", "long_large": "long ≥ 50 %", "full": "at ±100 %",
        "p05": "5th pct.", "p50": "median", "p95": "95th pct.",
        "mean_abs": "mean |position|", "turnover": "turnover / bar",
    }.items()
]  # fmt: skip


@dataclass
class RenderedReport:
    """One rendered report.

    Attributes:
        html: the whole page (UTF-8 text).
        content_hash: sha256 hex of the page rendered without its generation time.
        report_date: the UTC date of generation (names the file and the published post).
        sections: every section with presence and notes.
        summary: key figures (JSON-able) for metadata, MLflow and the Discord embed.
        charts: how many inline SVG charts the page holds.
    """

    html: str
    content_hash: str
    report_date: date
    sections: list[Section]
    summary: dict[str, Any] = field(default_factory=dict)
    charts: int = 0

    @property
    def present(self) -> list[str]:
        return [s.key for s in self.sections if s.present]

    @property
    def missing(self) -> list[str]:
        return [s.key for s in self.sections if not s.present]

    @property
    def notes(self) -> list[str]:
        return [n for s in self.sections for n in s.notes]

    def body(self) -> str:
        """The report's content without ``<html>``/``<head>`` (for a blog post)."""
        start = self.html.index(BODY_START) + len(BODY_START)
        return self.html[start : self.html.index(BODY_END)].strip()


def fmt(value: Any, kind: str = "") -> str:
    """Plain text for one table cell: ``pct`` (x100 with %), ``num`` (4 significant digits),
    ``int``, ``ts`` (UTC minutes); NULL/NaN as an en dash."""
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return "–"
    if isinstance(value, datetime):
        return f"{value:%Y-%m-%d %H:%M}"
    if kind == "pct":
        return f"{value * 100:.2f} %"
    if kind == "int":
        return f"{int(value):,}"
    if kind == "usd":
        return f"${value:,.4f}"
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)


def table(frame: pl.DataFrame, columns: list[tuple[str, str, str]]) -> dict[str, Any]:
    """``{"header": [...], "rows": [[...]]}`` of ``frame`` with ``(column, title, kind)``."""
    return {
        "header": [title for _, title, _ in columns],
        "rows": [
            [fmt(row[col], kind) for col, _, kind in columns] for row in frame.iter_rows(named=True)
        ],
    }


def _direction(value: Any) -> str:
    return {1: "long", -1: "short", 0: "flat"}.get(value, "–")


def _summary(inputs: ReportInputs) -> dict[str, Any]:
    counts = inputs.signal_counts
    best = None
    consensus = inputs.backtests.filter(pl.col("strategy") == "consensus")
    pool = consensus if consensus.height else inputs.backtests
    if pool.height:
        top = pool.sort("sharpe", descending=True, nulls_last=True).row(0, named=True)
        best = {
            "strategy": top["strategy"],
            "symbol": top["symbol"],
            "timeframe": top["timeframe"],
            "sharpe": None if top["sharpe"] is None else round(float(top["sharpe"]), 3),
            "total_return": None
            if top["total_return"] is None
            else round(float(top["total_return"]), 4),
            "max_drawdown": None
            if top["max_drawdown"] is None
            else round(float(top["max_drawdown"]), 4),
        }
    newest = newest_bar(inputs)
    return {
        "newest_bar": newest.isoformat() if newest else None,
        "symbols": inputs.freshness["symbol"].n_unique() if inputs.freshness.height else 0,
        "models": inputs.model_scores.height,
        "signals_long": int(counts["long"].sum()) if counts.height else 0,
        "signals_short": int(counts["short"].sum()) if counts.height else 0,
        "signals_flat": int(counts["flat"].sum()) if counts.height else 0,
        "best_backtest": best,
        "articles": int(inputs.sentiment["articles"].sum()) if inputs.sentiment.height else 0,
        "registered_models": inputs.leaderboard.filter(pl.col("version") != "baseline").height,
        # "no source" and "historical" did not pass only to say so: not failures
        "failed_checks": int(
            inputs.quality.filter(
                ~pl.col("status").is_in(["passed", "no source", "historical"])
            ).height
        ),
        "split_cliffs": inputs.cliffs.height,
        "cost_usd": round(float(inputs.costs["cost_usd"].sum() or 0.0), 6)
        if inputs.costs.height
        else 0.0,
    }


def _age_hours(signals: pl.DataFrame, now: datetime) -> pl.Expr:
    """Hours from each signal's bar close (:func:`trading_assets.sessions.bar_close_of`) to
    ``now``."""
    return (pl.lit(now) - bar_close_of(signals)).dt.total_seconds() / 3600


@dataclass
class PendingCharts:
    """The report's charts, being drawn (:func:`start_charts`): :meth:`result` gives the
    template's chart values once they are all drawn (or read back from the cache)."""

    cache: charts.ChartCache
    _collect: Callable[[], dict[str, Any]]

    def result(self) -> dict[str, Any]:
        """The charts' template values; prunes the cache of charts this report does not use.

        Raises:
            OSError: the cache folder cannot be written.
        """
        drawn = self._collect()
        self.cache.prune()
        return drawn


def start_charts(inputs: ReportInputs, cache: charts.ChartCache) -> PendingCharts:
    """Start drawing the report's SVG charts that ``cache`` lacks, each once, all in one
    request to the cache's drawer (a warm process draws them while the caller goes on)."""
    series = charts.series_to_chart(inputs.equity)
    models = charts.models_to_chart(inputs.model_scores)
    predicted = {m: charts.prediction_rows(inputs.predictions, m) for m in models}
    predicted = {m: rows for m, rows in predicted.items() if rows.height}
    requests: list[charts.ChartRequest] = [
        (charts.equity_chart, charts.equity_rows(inputs.equity, s, t), (s, t)) for s, t in series
    ]
    requests += [(charts.prediction_chart, rows, (m,)) for m, rows in predicted.items()]
    if inputs.sentiment.height:
        requests.append((charts.sentiment_chart, inputs.sentiment, ()))
    if inputs.cost_daily.height:
        requests.append((charts.cost_chart, inputs.cost_daily, ()))
    collect = cache.start(requests)

    def drawn() -> dict[str, Any]:
        svgs = iter([Markup(svg) for svg in collect()])
        return {
            "equity_charts": [{"title": f"{s} {t}", "svg": next(svgs)} for s, t in series],
            "equity_more": max(
                0, inputs.equity.select("symbol", "timeframe").n_unique() - len(series)
            )
            if inputs.equity.height
            else 0,
            "prediction_charts": [{"title": m, "svg": next(svgs)} for m in predicted],
            "sentiment_chart": next(svgs) if inputs.sentiment.height else None,
            "cost_chart": next(svgs) if inputs.cost_daily.height else None,
        }

    return PendingCharts(cache, drawn)


def _context(
    inputs: ReportInputs,
    sections: list[Section],
    drawn: dict[str, Any],
    now: datetime | None = None,
) -> dict[str, Any]:
    """The template's values, with the charts ``drawn`` (:meth:`PendingCharts.result`);
    signal ages are measured at ``now`` (blank without it)."""
    signals = inputs.signals.with_columns(
        pl.col("direction").map_elements(_direction, return_dtype=pl.String).alias("side"),
        _age_hours(inputs.signals, now)
        .map_elements(format_age, return_dtype=pl.String)
        .alias("age")
        if now is not None and inputs.signals.height
        else pl.lit("", dtype=pl.String).alias("age"),
    )
    cost_total = inputs.costs.select(
        pl.lit("total").alias("asset_key"),
        pl.col("runs").max(),
        pl.col("wall_s").sum(),
        pl.col("cpu_s").sum(),
        pl.col("peak_rss_mb").max(),
        pl.col("rows").sum(),
        pl.col("llm_tokens").sum(),
        pl.col("cost_usd").sum(),
    )
    return {
        "sections": {s.key: s for s in sections},
        "order": [s.key for s in sections],
        "missing_titles": [s.title for s in sections if not s.present],
        **drawn,
        "backtests": table(
            inputs.backtests,
            [
                ("strategy", "strategy", ""),
                ("symbol", "symbol", ""),
                ("timeframe", "tf", ""),
                ("total_return", "total return", "pct"),
                ("cagr", "CAGR", "pct"),
                ("sharpe", "Sharpe", "num"),
                ("sortino", "Sortino", "num"),
                ("max_drawdown", "max drawdown", "pct"),
                ("hit_rate", "hit rate", "pct"),
                ("exposure", "exposure", "pct"),
                ("turnover", "turnover / bar", "pct"),
                ("bars", "bars", "int"),
            ],
        ),
        "model_scores": table(
            inputs.model_scores,
            [
                ("model", "model", ""),
                ("family", "family", ""),
                ("predictions", "predictions", "int"),
                ("symbols", "symbols", "int"),
                ("ic", "IC (vs fwd_ret_1)", "num"),
                ("hit_rate", "hit rate", "pct"),
                ("first_ts", "first bar (UTC)", "ts"),
                ("last_ts", "last bar (UTC)", "ts"),
            ],
        ),
        "signals": table(
            signals,
            [
                ("symbol", "symbol", ""),
                ("timeframe", "tf", ""),
                ("ts", "bar (UTC)", "ts"),
                ("age", "age", ""),
                ("kind", "from", ""),
                ("side", "direction", ""),
                ("strength", "strength", "num"),
                ("position", "position", "pct"),
                ("agreement", "agreement", "pct"),
                ("models", "models", "int"),
                ("agreeing_models", "agreeing", ""),
                ("regime", "regime", ""),
                ("explanation", "explanation", ""),
            ],
        ),
        "signal_counts": table(
            inputs.signal_counts,
            [
                *SERIES_COLUMNS,
                ("long", "long", "int"),
                ("short", "short", "int"),
                ("flat", "flat", "int"),
            ],
        ),
        "positions": table(inputs.positions, POSITION_TABLE),
        "headlines": [
            {
                "when": fmt(r["published_at"]),
                "publisher": r["publisher"] or "",
                "title": r["title"] or "",
                "tickers": r["tickers"] or "",
                "score": fmt(r["score"], "num"),
                "label": r["label"] or "unscored",
            }
            for r in inputs.headlines.iter_rows(named=True)
        ],
        "leaderboard": table(
            inputs.leaderboard,
            [
                ("model", "registered model", ""),
                ("version", "champion version", ""),
                ("metrics", "validation metrics (selection)", ""),
                ("test_metrics", "test metrics (held out, never used for selection)", ""),
            ],
        ),
        "freshness": table(
            inputs.freshness,
            [
                *SERIES_COLUMNS,
                ("first_ts", "first bar (UTC)", "ts"),
                ("last_ts", "newest bar (UTC)", "ts"),
            ],
        ),
        "quality": table(
            inputs.quality.sort(
                pl.col("status").replace_strict(STATUS_ORDER, default=9), "asset_key", "check"
            ),
            [
                ("asset_key", "asset", ""),
                ("check", "check", ""),
                ("status", "status", ""),
                ("severity", "severity", ""),
                ("partition", "partition", ""),
                # no evaluation time: a re-run with the same outcomes is the same report
            ],
        ),
        "cost_daily": table(
            inputs.cost_daily.sort("day", descending=True),
            [
                ("day", "day (UTC)", "ts"),
                ("runs", "runs", "int"),
                ("materializations", "materializations", "int"),
                ("wall_s", "wall s", "num"),
                ("cpu_s", "CPU s", "num"),
                ("cost_usd", "cost", "usd"),
            ],
        ),
        "costs": table(
            pl.concat([inputs.costs, cost_total]) if inputs.costs.height else inputs.costs,
            [
                ("asset_key", "asset", ""),
                ("runs", "runs", "int"),
                ("wall_s", "wall s", "num"),
                ("cpu_s", "CPU s", "num"),
                ("peak_rss_mb", "peak RSS MB", "num"),
                ("rows", "rows", "int"),
                ("llm_tokens", "LLM tokens", "int"),
                ("cost_usd", "cost", "usd"),
            ],
        ),
        "orders": table(
            inputs.orders,
            [
                ("bar_ts", "bar (UTC)", "ts"),
                ("strategy", "strategy", ""),
                ("symbol", "symbol", ""),
                ("side", "side", ""),
                ("qty", "qty", "num"),
                ("price", "price", "num"),
                ("mode", "mode", ""),
                ("status", "status", ""),
                ("filled_qty", "filled", "num"),
                ("filled_avg_price", "fill price", "num"),
                ("reason", "reason", ""),
            ],
        ),
        "book": table(
            inputs.book,
            [
                ("symbol", "symbol", ""),
                ("qty", "held", "num"),
                ("target_qty", "target", "num"),
                ("diff_qty", "difference", "num"),
                ("weight", "weight", "pct"),
                ("target_position", "target weight", "pct"),
                ("open_orders", "open orders", "int"),
                ("mode", "mode", ""),
            ],
        ),
        "slippage": table(
            inputs.slippage,
            [
                ("symbol", "symbol", ""),
                ("filled_orders", "filled orders", "int"),
                ("filled_notional", "filled notional", "num"),
                ("realized_bps", "realized slippage bps", "num"),
                ("assumed_bps", "assumed (backtest) bps", "num"),
                ("fees_usd", "fees", "usd"),
                ("compute_usd", "compute", "usd"),
                ("cost_per_trade_usd", "cost per trade", "usd"),
            ],
        ),
    }


TEMPLATE = "report.html.j2"


def template_source() -> str:
    """The page template's text (part of the report asset's code version)."""
    from importlib.resources import files

    return (files("trading_assets.report") / "templates" / TEMPLATE).read_text(encoding="utf-8")


def _environment():
    import jinja2

    return jinja2.Environment(
        loader=jinja2.PackageLoader("trading_assets.report", "templates"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )


def render_report(
    inputs: ReportInputs,
    generated_at: datetime,
    title: str = "Trading report",
    chart_cache: Path | None = None,
    draw: charts.Drawer = charts.draw_here,
    pending: PendingCharts | None = None,
) -> RenderedReport:
    """Render the page for ``inputs``; ``generated_at`` (aware UTC) is printed on the page
    and names the report date but is not part of :attr:`RenderedReport.content_hash`.
    ``chart_cache``: a folder of charts drawn before (:class:`~trading_assets.report.charts.
    ChartCache`; None draws them all); ``draw`` draws the charts it lacks (default: here).
    ``pending``: the charts of these ``inputs`` already started (:func:`start_charts`; then
    ``chart_cache`` and ``draw`` are not used); the page is prepared while they are drawn.

    Raises:
        OSError: ``chart_cache`` cannot be written.
    """
    if pending is None:
        pending = start_charts(inputs, charts.ChartCache(chart_cache, draw))
    sections = build_sections(inputs)
    # the content hash leaves out the time of rendering and the signal ages measured at it
    context = _context(inputs, sections, {})
    stamped = _context(inputs, sections, {}, generated_at)
    summary = _summary(inputs)
    template = _environment().get_template(TEMPLATE)
    common = {"title": title, "summary": summary, "body_start": Markup(BODY_START)}
    common["body_end"] = Markup(BODY_END)
    drawn = pending.result()
    context.update(drawn)
    stamped.update(drawn)
    unstamped = template.render(**context, **common, generated_at=None)
    html = template.render(
        **stamped, **common, generated_at=f"{generated_at:%Y-%m-%d %H:%M:%S} UTC"
    )
    n_charts = (
        len(context["equity_charts"])
        + len(context["prediction_charts"])
        + (1 if context["sentiment_chart"] is not None else 0)
        + (1 if context["cost_chart"] is not None else 0)
    )
    return RenderedReport(
        html=html,
        content_hash=hashlib.sha256(unstamped.encode()).hexdigest(),
        report_date=generated_at.date(),
        sections=sections,
        summary=summary,
        charts=n_charts,
    )
