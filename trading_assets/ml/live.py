"""Live predictions: the served models predict every closed bar whose label is not realized yet.

Walk-forward predictions (``ml.predictions``) exist only for bars whose label is realized, so
the newest bars of every series would never get a prediction. Here each registered family's
``champion`` version (resolved once per run) and the formula baselines predict those bars:

- a bar is *pending* when it has features, its label ``fwd_ret_h`` is still NULL, and it has
  closed (``available_at`` = its close <= now; the session close for equities, see
  :mod:`trading_assets.sessions`);
- only pending bars newer than the model version's last live prediction of that series are
  scored (tail-incremental); when the champion changes, the new version scores every pending
  bar and its rows replace the old version's;
- a model whose input column is missing from the training table skips every bar; a bar where
  one of the model's features is NULL/NaN is skipped for that model, and the reason is kept
  (the other models still predict it);
- a sequence model (the LSTM) reads the window of bars ending at each pending bar from the
  same series; a bar with fewer bars before it than the window is skipped, with the reason;
- each target is served by the families of its task (``svc`` on ``dir_<h>``, the others on
  ``fwd_ret_<h>``); a model whose library is missing (an optional extra) is skipped, naming
  the extra;
- ``predicted_at`` is the wall-clock time (UTC) measured when the prediction was computed,
  ``available_at`` the bar's close, ``kind`` is ``live``.

Rows follow :data:`trading_assets.schemas.PREDICTIONS_SCHEMA`. No Dagster here.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import numpy as np
import polars as pl

from trading_assets import schemas
from trading_assets.ml.dataset import KEY, KNOWN, horizon_of, with_known_returns
from trading_assets.ml.errors import FamilyFailed
from trading_assets.ml.served_cache import ChampionRef, ServedCache
from trading_assets.sessions import bar_close_of
from trading_assets.timeframes import timeframe_delta

LIVE = "live"
WALK_FORWARD = "walk_forward"
#: the model version of a baseline that has no walk-forward rows to take its version from
FORMULA_VERSION = "formula"


@dataclass(frozen=True)
class ServedModel:
    """One model that predicts live.

    Attributes:
        name: registered model name ``<target>-<timeframe>-<family>``.
        family: family name (``lightgbm``, ``svm``, ``mlp``, ``lstm``, ``arima``, ``svc``
            or a baseline).
        target: label predicted (``fwd_ret_<h>``).
        timeframe: bar timeframe it predicts.
        version: the registered version (the champion at run start), or the version a
            baseline's walk-forward rows carry, or :data:`FORMULA_VERSION`.
        model: the fitted model (:mod:`trading_assets.ml.families`): ``input_columns`` and
            ``predict_frame``.
    """

    name: str
    family: str
    target: str
    timeframe: str
    version: str
    model: Any


@dataclass
class LiveResult:
    """Rows predicted (``PREDICTIONS_SCHEMA``), bars skipped with why, and LightGBM's top
    feature contributions of those rows (``PREDICTION_CONTRIBUTIONS_SCHEMA``; None for other
    families), which explain the newest signals."""

    rows: pl.DataFrame
    skipped: list[dict[str, str]] = field(default_factory=list)
    contributions: pl.DataFrame | None = None


def now_utc() -> datetime:
    """The wall-clock time, UTC."""
    return datetime.now(UTC)


def empty_rows() -> pl.DataFrame:
    """An empty frame of :data:`~trading_assets.schemas.PREDICTIONS_SCHEMA`."""
    return pl.DataFrame(schema=schemas.PREDICTIONS_SCHEMA)


def live_frame(
    table: pl.DataFrame, timeframe: str, target: str, features: Sequence[str]
) -> pl.DataFrame:
    """Every row of ``timeframe`` in the training table with what the families read.

    Args:
        table: ``features.training_table`` rows (``symbol, timeframe, ts``, features, labels).
        timeframe / target: the series and the label whose NULL marks a pending bar.
        features: feature columns to carry (those of the table only; missing ones are absent).

    Returns:
        ``symbol, timeframe, ts`` + the features present (float64, NULL where missing) +
        ``known_ret, known_ma, ret_1`` + ``label`` (NULL on pending bars), sorted by symbol, ts.
    """
    present = [c for c in features if c in table.columns]
    return with_known_returns(table, timeframe, target, present)


def pending(frame: pl.DataFrame, now: datetime, since: pl.DataFrame | None = None) -> pl.DataFrame:
    """Rows of ``frame`` (:func:`live_frame`) that are closed, unlabeled and newer than
    ``since`` (``symbol, last_ts``: the last live prediction per symbol; None: none yet)."""
    if frame.height == 0:
        return frame
    rows = frame.filter(pl.col("label").is_null())  # few rows: their closes are cheap
    return newer_than(rows.filter(bar_close_of(rows) <= now), since)


def newer_than(rows: pl.DataFrame, since: pl.DataFrame | None) -> pl.DataFrame:
    """Rows of ``rows`` (with ``symbol, ts``) newer than their symbol's ``last_ts`` in
    ``since`` (a symbol absent from it, or ``since`` None: every row)."""
    if since is None or since.height == 0 or rows.height == 0:
        return rows
    joined = rows.join(since.select("symbol", "last_ts"), on="symbol", how="left")
    return joined.filter(pl.col("last_ts").is_null() | (pl.col("ts") > pl.col("last_ts"))).drop(
        "last_ts"
    )


def _features(served: ServedModel) -> list[str]:
    """The feature columns ``served`` reads from the training table."""
    return [c for c in served.model.input_columns if c != "symbol" and c not in KNOWN]


def gaps(frame: pl.DataFrame, rows: pl.DataFrame) -> list[str]:
    """Plain-words notes on missing bars just before the pending ``rows`` of each series
    (``frame`` is the whole series, ``rows`` the pending ones). Only markets that trade
    around the clock (crypto) are checked: nights, weekends and holidays of an equity
    session are not gaps."""
    from trading_assets.markets import market_of

    rows = rows.filter(
        pl.col("symbol").map_elements(lambda s: market_of(s).always_open, return_dtype=pl.Boolean)
    )
    if rows.height == 0:
        return []
    step = timeframe_delta(str(frame["timeframe"][0]))
    notes = []
    spaced = frame.select(
        "symbol", "ts", (pl.col("ts") - pl.col("ts").shift(1).over("symbol")).alias("gap")
    ).join(rows.select("symbol", "ts"), on=["symbol", "ts"], how="semi")
    for symbol, ts, gap in spaced.filter(pl.col("gap") > step).iter_rows():
        missing = int(gap / step) - 1
        notes.append(f"{symbol} {frame['timeframe'][0]}: {missing} bar(s) missing before {ts}")
    return notes


def _skip(rows: pl.DataFrame, served: ServedModel, reason: str) -> list[dict[str, str]]:
    return [
        {"model": served.name, "version": served.version, "symbol": s, "ts": str(t),
         "reason": reason}
        for s, t in rows.select("symbol", "ts").iter_rows()
    ]  # fmt: skip


def _arima_predictions(served: ServedModel, frame: pl.DataFrame, rows: pl.DataFrame) -> np.ndarray:
    """One-step forecasts at ``rows`` from each symbol's return history up to the row."""
    history = int(getattr(served.model, "history", 500))
    out = np.full(rows.height, np.nan)
    for i, (symbol, ts) in enumerate(rows.select("symbol", "ts").iter_rows()):
        past = (
            frame.filter((pl.col("symbol") == symbol) & (pl.col("ts") <= ts))
            .tail(history)
            .select("symbol", pl.col("ret_1").fill_null(0.0))
        )
        out[i] = served.model.predict_frame(past)[-1]
    return out


def _sequence_predictions(
    served: ServedModel, frame: pl.DataFrame, rows: pl.DataFrame
) -> np.ndarray:
    """Predictions at ``rows`` from the window of each series' bars ending there (NaN where
    the series has fewer bars up to the row than the window)."""
    window = int(served.model.window)
    out = np.full(rows.height, np.nan)
    indexed = rows.with_row_index("__i")
    for (symbol,), part in indexed.group_by("symbol", maintain_order=True):
        series = frame.filter(pl.col("symbol") == symbol).sort("ts").with_row_index("__p")
        wanted = series.join(part.select("ts", "__i"), on="ts")
        first = max(0, int(wanted["__p"].min()) - window + 1)
        span = series.slice(first, int(wanted["__p"].max()) - first + 1)
        values = served.model.predict_frame(span)
        position = wanted["__p"].to_numpy() - first
        out[wanted["__i"].to_numpy()] = values[position]
    return out


def predict_pending(
    served: ServedModel,
    frame: pl.DataFrame,
    rows: pl.DataFrame,
    clock: Callable[[], datetime] = now_utc,
) -> LiveResult:
    """Predictions of ``served`` for the pending ``rows`` of ``frame`` (both from
    :func:`live_frame`), as ``PREDICTIONS_SCHEMA`` rows of kind ``live``.

    ``clock`` gives ``predicted_at`` (measured after the model ran).
    """
    if rows.height == 0:
        return LiveResult(empty_rows())
    skipped: list[dict[str, str]] = []
    if served.family == "arima":
        ok = rows.filter(pl.col("ret_1").is_not_null())
        skipped += _skip(rows.filter(pl.col("ret_1").is_null()), served, "1-bar return is NULL")
        values = _arima_predictions(served, frame, ok) if ok.height else np.array([])
    else:
        columns = [c for c in served.model.input_columns if c not in ("symbol",)]
        absent = [c for c in columns if c not in rows.columns]
        if absent:
            return LiveResult(empty_rows(), _skip(rows, served, f"feature(s) {absent} missing"))
        null = (
            rows.select(
                pl.any_horizontal(pl.col(c).is_null() | pl.col(c).is_nan() for c in columns)
            ).to_series()
            if columns
            else pl.Series([False] * rows.height)
        )  # one pass over the columns, for both sides
        bad = rows.filter(null)
        for symbol, ts, *vals in bad.select("symbol", "ts", *columns).iter_rows():
            nulls = [c for c, v in zip(columns, vals, strict=True) if v is None or v != v]
            skipped += _skip(
                pl.DataFrame({"symbol": [symbol], "ts": [ts]}), served,
                f"feature(s) {nulls[:5]} NULL in this bar",
            )  # fmt: skip
        ok = rows.filter(~null)
        if getattr(served.model, "window", None) and ok.height:
            values = _sequence_predictions(served, frame, ok)
            short = np.isnan(values)
            skipped += _skip(
                ok.filter(pl.Series(short)), served,
                f"fewer bars in the series than the window of {served.model.window}",
            )  # fmt: skip
            ok, values = ok.filter(pl.Series(~short)), values[~short]
        else:
            values = served.model.predict_frame(ok) if ok.height else np.array([])
    predicted_at = clock()
    out = ok.select(
        pl.lit(served.name).alias("model"),
        pl.lit(served.version).alias("model_version"),
        pl.lit(served.family).alias("family"),
        pl.lit(served.target).alias("target"),
        *KEY,
        bar_close_of(ok).alias("available_at"),
        pl.Series("prediction", np.asarray(values, dtype=np.float64)),
        pl.lit(None, dtype=pl.Int64).alias("fold"),
        pl.lit(LIVE).alias("kind"),
        pl.lit(predicted_at).cast(schemas.UTC_TS).alias("predicted_at"),
    )
    out = out.filter(pl.col("prediction").is_finite()).cast(schemas.PREDICTIONS_SCHEMA)
    contributions = _contributions(served, ok) if served.family == "lightgbm" else None
    return LiveResult(out.select(list(schemas.PREDICTIONS_SCHEMA)), skipped, contributions)


def _contributions(served: ServedModel, rows: pl.DataFrame, top: int = 3) -> pl.DataFrame | None:
    """The top ``top`` LightGBM ``pred_contrib`` contributions of each predicted row."""
    from trading_assets.ml.families import contribution_frame

    if rows.height == 0:
        return None
    x = np.ascontiguousarray(rows.select(served.model.features).cast(pl.Float64).to_numpy())
    keys = rows.select(
        pl.lit(served.name).alias("model"), pl.lit(served.version).alias("model_version"), *KEY
    )
    return contribution_frame(served.model, x, keys, top).cast(
        schemas.PREDICTION_CONTRIBUTIONS_SCHEMA
    )


@dataclass(frozen=True)
class ServedSpec:
    """A model to serve in this run, before its fitted model is loaded.

    Attributes:
        name / family / target / timeframe / version: as :class:`ServedModel`.
        champion: the registered version and its run id (None for a baseline formula).
    """

    name: str
    family: str
    target: str
    timeframe: str
    version: str
    champion: ChampionRef | None


def served_specs(
    tracking_uri: str,
    timeframes: Sequence[str],
    targets: Sequence[str],
    families: Sequence[str],
    walk_forward_versions: Mapping[str, str],
    cache: ServedCache | None = None,
) -> tuple[list[ServedSpec], list[str]]:
    """The models that predict live in this run, each at ONE version resolved now, without
    loading them (:func:`load_served` does).

    Registered families are served at the version their ``champion`` alias points to at this
    call (a later move of the alias does not change this run); baselines are formulas with
    no registry entry (:func:`baseline_version`). Families of another task than the target's
    are not served. With a ``cache``, the champions come from it while the registry file is
    unchanged (:mod:`trading_assets.ml.served_cache`): no MLflow import on a bar that changed
    nothing in the registry.

    Returns:
        ``(specs, no_champion)``: the models, and the registered names that have no
        champion yet (never trained, or the registry was reset; an opt-in family such as
        the LSTM without a champion is not served and not listed: nobody asked to train it).
    """
    from trading_assets.ml.dataset import task_of
    from trading_assets.ml.families import BASELINES, FAMILIES, OPT_IN_FAMILIES
    from trading_assets.ml.tracking import model_name

    wanted: list[tuple[str, str, str, str]] = []  # (name, family, target, timeframe)
    for timeframe in timeframes:
        for target in targets:
            for family in families:
                if family in FAMILIES and not FAMILIES[family].trains(task_of(target)):
                    continue  # e.g. svc on a forward return: never trained, nothing to serve
                wanted.append((model_name(target, timeframe, family), family, target, timeframe))
    registered = [name for name, family, *_ in wanted if family not in BASELINES]
    if cache is None:
        champions = {name: _champion_ref(tracking_uri, name) for name in registered}
    else:
        champions = cache.champions(
            tracking_uri, registered, lambda name: _champion_ref(tracking_uri, name)
        )
    specs: list[ServedSpec] = []
    missing: list[str] = []
    for name, family, target, timeframe in wanted:
        if family in BASELINES:
            version = baseline_version(walk_forward_versions, name)
            specs.append(ServedSpec(name, family, target, timeframe, version, None))
            continue
        current = champions[name]
        if current is None:
            if family not in OPT_IN_FAMILIES:  # an opt-in family never trained: quiet
                missing.append(name)
            continue
        specs.append(ServedSpec(name, family, target, timeframe, current.version, current))
    return specs, missing


def load_served(
    specs: Sequence[ServedSpec],
    tracking_uri: str,
    cache: ServedCache | None = None,
    loaded: dict[tuple[str, ChampionRef], Any] | None = None,
) -> list[ServedModel]:
    """The :class:`ServedModel` of each spec: baselines as formulas, registered versions
    unpickled (from the ``cache``'s copy, else downloaded from MLflow), each version once.

    ``loaded`` keeps fitted models between calls (a process that serves several runs).
    """
    from trading_assets.ml.families import BaselineModel

    loaded = {} if loaded is None else loaded
    served = []
    for spec in specs:
        if spec.champion is None:
            model: Any = BaselineModel(spec.family, horizon_of(spec.target))
        else:
            model = load_fitted(tracking_uri, spec.name, spec.champion, cache, loaded)
        served.append(
            ServedModel(spec.name, spec.family, spec.target, spec.timeframe, spec.version, model)
        )
    return served


def _champion_ref(tracking_uri: str, name: str) -> ChampionRef | None:
    """The champion of ``name`` from MLflow (imports it)."""
    from trading_assets.ml.tracking import champion

    current = champion(tracking_uri, name)
    return ChampionRef(current.version, current.run_id) if current else None


def load_fitted(
    tracking_uri: str,
    name: str,
    ref: ChampionRef,
    cache: ServedCache | None = None,
    loaded: dict[tuple[str, ChampionRef], Any] | None = None,
) -> Any:
    """The fitted model of version ``ref`` of the registered model ``name``: from ``loaded``
    (models kept by this process), else unpickled from the ``cache``'s copy, else downloaded
    from the MLflow registry at ``tracking_uri`` (imports MLflow); stored in ``loaded``.

    Raises:
        mlflow.exceptions.MlflowException: the version is neither cached nor in the registry.
    """
    key = (name, ref)
    if loaded is not None and key in loaded:
        return loaded[key]
    from trading_assets.ml.predictor import fitted_artifact, load_version

    if cache is None:
        model = load_version(tracking_uri, name, ref.version)
    else:
        model = cache.fitted(name, ref, lambda: fitted_artifact(tracking_uri, name, ref.version))
    if loaded is not None:
        loaded[key] = model
    return model


@dataclass
class LiveRun:
    """Everything one run of the served models produced: ``rows`` (``PREDICTIONS_SCHEMA``),
    ``contributions`` (``PREDICTION_CONTRIBUTIONS_SCHEMA`` or None), ``skipped`` bars and
    models with why, and ``gaps`` (missing bars before pending ones)."""

    rows: pl.DataFrame
    contributions: pl.DataFrame | None
    skipped: list[dict[str, str]]
    gaps: list[str]


def predict_served(
    served: Sequence[ServedModel],
    tails: Mapping[str, pl.DataFrame],
    done: Mapping[str, pl.DataFrame],
    now: datetime,
) -> LiveRun:
    """Every served model on its pending bars.

    Args:
        served: the models (:func:`served_specs`, then :func:`load_served`).
        tails: timeframe -> the newest training-table rows of the series to predict (enough
            history for the inputs: moving averages, ARIMA's returns); a timeframe left out
            has nothing to predict.
        done: model name -> ``symbol, last_ts`` of its served version's live predictions.
        now: bars that close after it are not predicted (UTC).
    """
    frames, contributions, skipped, notes = [], [], [], []
    # one frame and one set of pending bars per (timeframe, target), with every feature a
    # model of it reads: each model selects its own columns
    wanted: dict[tuple[str, str], list[str]] = {}
    for s in served:
        columns = wanted.setdefault((s.timeframe, s.target), [])
        columns += [c for c in _features(s) if c not in columns]
    shared: dict[tuple[str, str], tuple[pl.DataFrame, pl.DataFrame]] = {}
    for s in served:
        if s.timeframe not in tails:
            continue  # nothing left to predict on this timeframe (see series_to_predict)
        table = tails[s.timeframe]
        if table.is_empty() or s.target not in table.columns:
            skipped.append({"model": s.name, "reason": f"no {s.timeframe} training rows"})
            continue
        group = (s.timeframe, s.target)
        if group not in shared:
            frame = live_frame(table, s.timeframe, s.target, wanted[group])
            shared[group] = (frame, pending(frame, now))
        frame, unpredicted = shared[group]
        rows = newer_than(unpredicted, done.get(s.name))
        notes += gaps(frame, rows)
        try:
            result = predict_pending(s, frame, rows)
        except FamilyFailed as exc:  # e.g. the LSTM without its optional extra
            skipped.append({"model": s.name, "reason": exc.reason})
            continue
        frames.append(result.rows)
        if result.contributions is not None:
            contributions.append(result.contributions)
        skipped += result.skipped
    return LiveRun(
        pl.concat(frames) if frames else empty_rows(),
        pl.concat(contributions) if contributions else None,
        skipped,
        sorted(set(notes)),
    )


def series_to_predict(
    specs: Sequence[ServedSpec],
    newest: Mapping[tuple[str, str], pl.DataFrame],
    done: Mapping[str, pl.DataFrame],
) -> dict[str, list[str]]:
    """Per timeframe, the symbols some served model still has to predict: those whose newest
    unlabeled bar is newer than that model version's last live prediction (or that it never
    predicted). Only their training-table tails need reading.

    Args:
        specs: the models served (:func:`served_specs`).
        newest: ``(timeframe, target)`` -> ``symbol, ts`` of the newest unlabeled bar per
            series (:func:`trading_assets.warehouse.predictions.newest_unlabeled`).
        done: model name -> ``symbol, last_ts`` of its live predictions at its version.
    """
    out: dict[str, set[str]] = {}
    for spec in specs:
        bars = newest.get((spec.timeframe, spec.target))
        if bars is None or bars.height == 0:
            continue
        last = done.get(spec.name)
        if last is not None and last.height:
            bars = bars.join(last.select("symbol", "last_ts"), on="symbol", how="left").filter(
                pl.col("last_ts").is_null() | (pl.col("ts") > pl.col("last_ts"))
            )
        if bars.height:
            out.setdefault(spec.timeframe, set()).update(bars["symbol"].to_list())
    return {tf: sorted(symbols) for tf, symbols in out.items()}


def baseline_version(walk_forward_versions: Mapping[str, str], name: str) -> str:
    """The version a baseline's live rows carry: that of its newest walk-forward rows (so its
    IC history joins them), else :data:`FORMULA_VERSION`."""
    return walk_forward_versions.get(name, FORMULA_VERSION)


__all__ = [
    "FORMULA_VERSION",
    "LIVE",
    "LiveResult",
    "LiveRun",
    "ServedModel",
    "ServedSpec",
    "WALK_FORWARD",
    "baseline_version",
    "empty_rows",
    "gaps",
    "horizon_of",
    "live_frame",
    "load_fitted",
    "load_served",
    "pending",
    "predict_pending",
    "predict_served",
    "served_specs",
    "series_to_predict",
]
