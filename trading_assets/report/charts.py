"""Charts of the report as inline SVG text (matplotlib, Agg backend, no external resources).

Output is deterministic for the same data (fixed SVG id salt, no creation date), so an
unchanged report hashes the same. Text in the SVG is kept as text (``svg.fonttype: none``)
and drawn with the viewer's sans-serif font: nothing is fetched.
"""

from __future__ import annotations

import functools
import hashlib
import io
import re
from collections.abc import Callable, Sequence
from pathlib import Path

import polars as pl

MAX_SERIES_CHARTS = 6  # equity charts (one per symbol and timeframe)
MAX_MODEL_CHARTS = 6  # prediction scatter charts (one per model)
GAP_DAYS = 7  # days without news that break the sentiment line
_STYLE = {
    "svg.hashsalt": "trading-assets-report",
    "svg.fonttype": "none",
    "font.family": "sans-serif",
    "font.size": 9,
    "axes.grid": True,
    "grid.alpha": 0.3,
    "axes.spines.top": False,
    "axes.spines.right": False,
}
_PROLOG = re.compile(r"^.*?(?=<svg)", re.S)


def _svg(fig) -> str:
    import matplotlib.pyplot as plt

    buf = io.StringIO()
    fig.savefig(buf, format="svg", bbox_inches="tight", metadata={"Date": None})
    plt.close(fig)
    return _PROLOG.sub("", buf.getvalue(), count=1)


def _pyplot():
    import matplotlib

    matplotlib.use("Agg", force=True)
    import matplotlib.pyplot as plt

    return plt


def equity_rows(equity: pl.DataFrame, symbol: str, timeframe: str) -> pl.DataFrame:
    """The rows of ``equity`` that :func:`equity_chart` draws for (symbol, timeframe)."""
    return equity.filter((pl.col("symbol") == symbol) & (pl.col("timeframe") == timeframe))


def equity_chart(equity: pl.DataFrame, symbol: str, timeframe: str) -> str:
    """Equity (top, starts at 1.0) and drawdown (bottom, %) of every strategy of one
    (symbol, timeframe), as an SVG document string."""
    plt = _pyplot()
    rows = equity_rows(equity, symbol, timeframe)
    with plt.rc_context(_STYLE):
        fig, (top, bottom) = plt.subplots(
            2, 1, figsize=(8, 4.2), sharex=True, gridspec_kw={"height_ratios": [3, 1.3]}
        )
        for (strategy,), curve in rows.sort("ts").group_by("strategy", maintain_order=True):
            ts = curve["ts"].dt.replace_time_zone(None).to_list()
            top.plot(ts, curve["equity"].to_list(), lw=1.1, label=str(strategy))
            bottom.plot(ts, (curve["drawdown"] * 100).to_list(), lw=0.9)
        top.set_ylabel("equity (start = 1)")
        top.set_title(f"{symbol} {timeframe}: equity after fees and slippage")
        top.legend(loc="upper left", fontsize=8, frameon=False)
        bottom.set_ylabel("drawdown %")
        bottom.set_xlabel("bar open time (UTC)")
        fig.autofmt_xdate()
        return _svg(fig)


def prediction_rows(predictions: pl.DataFrame, model: str) -> pl.DataFrame:
    """The rows of ``predictions`` that :func:`prediction_chart` draws for ``model``: those
    with a realized return, oldest first."""
    return predictions.filter((pl.col("model") == model) & pl.col("realized").is_not_null()).sort(
        "ts"
    )


def prediction_chart(predictions: pl.DataFrame, model: str) -> str:
    """Scatter of one model's predicted vs realized forward log return (in %), with the
    diagonal, as an SVG document string."""
    plt = _pyplot()
    rows = prediction_rows(predictions, model)
    with plt.rc_context(_STYLE):
        fig, ax = plt.subplots(figsize=(4.6, 3.6))
        x = (rows["prediction"] * 100).to_list()
        y = (rows["realized"] * 100).to_list()
        ax.scatter(x, y, s=5, alpha=0.45, linewidths=0)
        if x:
            lo = min(min(x), min(y))
            hi = max(max(x), max(y))
            ax.plot([lo, hi], [lo, hi], lw=0.8, color="grey", ls="--")
        ax.axhline(0, lw=0.6, color="black")
        ax.axvline(0, lw=0.6, color="black")
        ax.set_xlabel("predicted next-bar log return %")
        ax.set_ylabel("realized %")
        ax.set_title(model, fontsize=9)
        return _svg(fig)


def sentiment_chart(daily: pl.DataFrame) -> str:
    """Articles per day (bars) and mean sentiment score per day (line, −1…1), SVG string."""
    plt = _pyplot()
    days = daily["day"].dt.replace_time_zone(None).to_list()
    # the score line is broken where no news came for more than a week (no line across gaps)
    line_days, line_scores = [], []
    for i, (day, value) in enumerate(zip(days, daily["mean_score"].to_list(), strict=True)):
        if i and (day - days[i - 1]).days > GAP_DAYS:
            line_days.append(day)
            line_scores.append(float("nan"))
        line_days.append(day)
        line_scores.append(float("nan") if value is None else value)
    with plt.rc_context(_STYLE):
        fig, ax = plt.subplots(figsize=(8, 2.8))
        ax.bar(days, daily["articles"].to_list(), color="#c8d3e0", label="articles")
        ax.set_ylabel("articles per day")
        score = ax.twinx()
        score.plot(line_days, line_scores, color="#b5402a", lw=1.0, marker=".", ms=3)
        score.axhline(0, lw=0.6, color="grey")
        score.set_ylim(-1, 1)
        score.set_ylabel("mean sentiment (−1…1)")
        ax.set_title("News sentiment per UTC day")
        fig.autofmt_xdate()
        return _svg(fig)


def cost_chart(daily: pl.DataFrame) -> str:
    """Compute cost per UTC day (bars, USD) and CPU seconds per day (line), SVG string."""
    from datetime import timedelta

    import matplotlib.dates as mdates

    plt = _pyplot()
    days = daily["day"].dt.replace_time_zone(None).to_list()
    with plt.rc_context(_STYLE):
        fig, ax = plt.subplots(figsize=(8, 2.6))
        ax.bar(days, daily["cost_usd"].fill_null(0.0).to_list(), color="#7a9cc6", width=0.8)
        ax.set_xlim(min(days) - timedelta(days=1), max(days) + timedelta(days=1))
        ax.xaxis.set_major_locator(mdates.AutoDateLocator(minticks=1, maxticks=10))
        ax.xaxis.set_major_formatter(mdates.DateFormatter("%Y-%m-%d"))
        ax.set_ylabel("cost per day (USD)")
        cpu = ax.twinx()
        cpu.plot(days, daily["cpu_s"].fill_null(0.0).to_list(), color="#b5402a", lw=1.0, marker=".")
        cpu.set_ylabel("CPU seconds per day")
        ax.set_title("Compute cost over time (ops.cost_metrics)")
        fig.autofmt_xdate()
        return _svg(fig)


def series_to_chart(equity: pl.DataFrame, limit: int = MAX_SERIES_CHARTS) -> list[tuple[str, str]]:
    """The (symbol, timeframe) pairs with equity curves, sorted, at most ``limit``."""
    pairs = equity.select("symbol", "timeframe").unique().sort("symbol", "timeframe").rows()
    return [tuple(p) for p in pairs[:limit]]


def models_to_chart(model_scores: pl.DataFrame, limit: int = MAX_MODEL_CHARTS) -> Sequence[str]:
    """Model names to draw, best IC first, at most ``limit``."""
    return (
        model_scores.sort("ic", "model", descending=[True, False], nulls_last=True)["model"]
        .head(limit)
        .to_list()
    )


#: the charts by name, for a process that draws them on request (:mod:`trading_assets.warm_process`)
CHARTS: dict[str, Callable[..., str]] = {
    f.__name__: f for f in (equity_chart, prediction_chart, sentiment_chart, cost_chart)
}

#: one chart to draw: ``(chart function, rows, further arguments)``
ChartRequest = tuple[Callable[..., str], pl.DataFrame, tuple]

#: ``requests -> collect``: starts drawing the ``requests`` and returns a function that gives
#: their SVG texts, in order. How a :class:`ChartCache` draws the charts it lacks: here and at
#: once (:func:`draw_here`), or in a warm process while this one goes on with other work.
Drawer = Callable[[Sequence[ChartRequest]], Callable[[], list[str]]]


def draw_here(requests: Sequence[ChartRequest]) -> Callable[[], list[str]]:
    """Each ``chart(rows, *args)`` drawn in this process, at once (the default
    :data:`Drawer`)."""
    svgs = [chart(rows, *args) for chart, rows, args in requests]
    return lambda: svgs


def prepare() -> None:
    """Import the plotting library ahead of the first chart."""
    _pyplot()
    _code_digest()


class ChartCache:
    """Charts already drawn, kept as SVG files named by the hash of what they show: the
    chart function, this module's source, the matplotlib version and the exact rows. A new
    bar of one series redraws that series' charts only; the others are read back.

    ``folder`` None draws every chart. :meth:`prune` removes the files the last report did
    not use, so the folder holds one report's charts at most. ``draw`` draws the missing
    charts (default: in this process; a warm process gives the same SVG text).
    """

    def __init__(self, folder: Path | None, draw: Drawer = draw_here) -> None:
        self.folder = folder
        self.used: set[str] = set()
        self.drawn = 0
        self._draw = draw

    def start(self, requests: Sequence[ChartRequest]) -> Callable[[], list[str]]:
        """Start drawing the ``requests`` the cache lacks (all at once, one call of the
        drawer) and return a function giving every request's SVG text in order, which
        stores the newly drawn ones.

        Raises:
            OSError: (from the returned function) the cache folder cannot be written.
        """
        paths = [
            None if self.folder is None else self.folder / f"{_chart_key(*request)}.svg"
            for request in requests
        ]
        self.used.update(path.name for path in paths if path is not None)
        texts = [
            path.read_text(encoding="utf-8") if path is not None and path.exists() else None
            for path in paths
        ]
        missing = [i for i, text in enumerate(texts) if text is None]
        collect = self._draw([requests[i] for i in missing]) if missing else list

        def finish() -> list[str]:
            out = list(texts)
            for i, svg in zip(missing, collect(), strict=True):
                out[i] = svg
                self.drawn += 1
                if (path := paths[i]) is not None:
                    path.parent.mkdir(parents=True, exist_ok=True)
                    partial = path.with_suffix(".part")
                    partial.write_text(svg, encoding="utf-8")
                    partial.replace(path)
            return out

        return finish

    def prune(self) -> None:
        """Delete the cached charts that no :meth:`start` since this cache was made used."""
        if self.folder is None or not self.folder.is_dir():
            return
        for path in self.folder.glob("*.svg"):
            if path.name not in self.used:
                path.unlink(missing_ok=True)


@functools.cache
def _code_digest() -> bytes:
    """This module's source and the matplotlib version: what draws every chart (the version
    from the installed distribution's metadata: a process that finds every chart in the
    cache never imports matplotlib)."""
    from importlib.metadata import version

    return hashlib.sha256(Path(__file__).read_bytes() + version("matplotlib").encode()).digest()


def _chart_key(chart: Callable[..., str], rows: pl.DataFrame, args: tuple) -> str:
    digest = hashlib.sha256(_code_digest())
    digest.update(f"{chart.__name__}|{args!r}".encode())
    buf = io.BytesIO()
    rows.write_ipc(buf)
    digest.update(buf.getvalue())
    return digest.hexdigest()
