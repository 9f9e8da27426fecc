"""Per-series feature assets: ``features/alpha158``, ``features/classic``, ``features/regime``
and ``features/labels``, partitioned by symbol.

Each reads the symbol's ``staging.bars`` (every timeframe), and per timeframe either skips
(no new bars), computes only the new bars' tail (bars up to the stored watermark unchanged,
same code), or recomputes the series in full; writes rows and watermarks in one transaction;
and reports its checks on the symbol's stored rows: missing (NULL/NaN/inf) share per feature
after warm-up, the feature columns, and one row per bar. The data version is a content hash of
the symbol's rows, so a run that finds nothing new changes nothing downstream.
"""

import hashlib
import json
from collections.abc import Callable
from typing import Any

import dagster as dg
import polars as pl

from trading_assets.defs.features import store
from trading_assets.defs.keys import STAGING_BARS
from trading_assets.defs.metadata import preview
from trading_assets.defs.partitions import SYMBOLS
from trading_assets.defs.resources import WarehouseResource
from trading_assets.features import checks, incremental
from trading_assets.features import classic as classic_logic
from trading_assets.features import regime as regime_logic
from trading_assets.features.incremental import SeriesFamily, Watermark
from trading_assets.home import DUCKDB_WRITER_POOL
from trading_assets.warehouse.ddl import ensure_table

#: check name -> (description, severity)
SERIES_CHECKS: dict[str, tuple[str, dg.AssetCheckSeverity]] = {
    "missing_share": (
        "share of NULL/NaN/inf per feature after its warm-up stays within the threshold",
        dg.AssetCheckSeverity.WARN,
    ),
    "feature_count": (
        "the stored feature columns are exactly the expected ones",
        dg.AssetCheckSeverity.ERROR,
    ),
    "aligned_with_bars": (
        "exactly one row per bar of staging.bars for the symbol",
        dg.AssetCheckSeverity.ERROR,
    ),
}

BAR_COLUMNS = "symbol, timeframe, ts, open, high, low, close, volume, vwap"


class SeriesFeatureConfig(dg.Config):
    """Per-run knobs shared by the per-series feature assets."""

    timeframes: list[str] = []
    """Timeframes to compute (empty: every timeframe of the symbol's bars); the table then holds
    exactly these for the symbol (rows of other timeframes are removed)."""
    max_missing_share: float = checks.MAX_MISSING_SHARE
    """Largest share of missing values per feature after warm-up before the check warns."""
    force_full: bool = False
    """Recompute every series in full even when only new bars arrived."""


class ClassicConfig(SeriesFeatureConfig):
    """Knobs of ``features/classic``."""

    garch: bool = True
    """Fit the GARCH(1,1) volatility on daily bars."""
    garch_min_obs: int = classic_logic.DEFAULT_GARCH.min_obs
    garch_refit_every: int = classic_logic.DEFAULT_GARCH.refit_every


class RegimeAssetConfig(SeriesFeatureConfig):
    """Knobs of ``features/regime`` (see :class:`trading_assets.features.regime.RegimeConfig`)."""

    vol_window: int = regime_logic.DEFAULT_REGIME.vol_window
    history: int = regime_logic.DEFAULT_REGIME.history
    min_history: int = regime_logic.DEFAULT_REGIME.min_history
    trend_fast: int = regime_logic.DEFAULT_REGIME.trend_fast
    trend_slow: int = regime_logic.DEFAULT_REGIME.trend_slow
    markov: bool = False
    """Add the Markov switching regime on daily bars (slow: ~0.4 s per yearly refit)."""


def _fingerprint(config: dg.Config) -> str:
    """Hash of the knobs that change values (not the ones that only choose what to run)."""
    values = {
        k: v
        for k, v in config.model_dump().items()
        if k not in ("timeframes", "max_missing_share", "force_full")
    }
    return hashlib.sha256(json.dumps(values, sort_keys=True).encode()).hexdigest()[:8]


def _series_update(
    family: SeriesFamily,
    bars: pl.DataFrame,
    watermark: Watermark | None,
    last_row: dict[str, Any] | None,
    version: str,
    force_full: bool,
) -> tuple[store.SeriesWrite | None, incremental.UpdatePlan]:
    """What to write for one (symbol, timeframe) series."""
    plan = incremental.plan_update(bars, None if force_full else watermark, version)
    stale_rows = watermark is not None and (last_row is None or last_row["ts"] != watermark.last_ts)
    if plan.mode == "append" and stale_rows:
        plan = incremental.UpdatePlan("full", reason="stored rows do not match the watermark")
    mark = Watermark(bars["ts"][-1], bars.height, incremental.bars_hash(bars), version)
    if plan.mode == "none":
        return None, plan
    if plan.mode == "full":
        return store.SeriesWrite(bars["timeframe"][0], family.full(bars), None, mark), plan
    rows = incremental.update(family, bars, plan.first_new, last_row)
    return store.SeriesWrite(bars["timeframe"][0], rows, rows["ts"].min(), mark), plan


def _check_results(
    family: SeriesFamily, stored: pl.DataFrame, bars: pl.DataFrame, threshold: float
) -> list[dg.AssetCheckResult]:
    def warmup(column: str, timeframe: str) -> int | None:
        return family.warmup(column) if family.applies(column, timeframe) else None

    measures = {
        "missing_share": checks.missing_share(
            stored, family.features, warmup=warmup, cooldown=family.cooldown, threshold=threshold
        ),
        "feature_count": checks.feature_count(stored.columns, family.features),
        "aligned_with_bars": checks.alignment(bars, stored),
    }
    return [
        dg.AssetCheckResult(
            check_name=name,
            passed=measure.passed,
            severity=SERIES_CHECKS[name][1],
            metadata={"details": dg.MetadataValue.json(measure.details)},
        )
        for name, measure in measures.items()
    ]


def build_series_asset(
    name: str,
    description: str,
    family_of: Callable[[Any], SeriesFamily],
    config_class: type[SeriesFeatureConfig],
) -> dg.AssetsDefinition:
    """The asset ``features/<name>`` computing ``family_of(config)`` per symbol."""
    key = dg.AssetKey(["features", name])
    table = f"features.{name}"

    @dg.asset(
        key=key,
        description=description,
        partitions_def=SYMBOLS,
        deps=[STAGING_BARS],
        group_name="features",
        kinds={"duckdb", "polars"},
        pool=DUCKDB_WRITER_POOL,
        automation_condition=dg.AutomationCondition.eager(),
        check_specs=[
            dg.AssetCheckSpec(check, asset=key, description=desc)
            for check, (desc, _) in SERIES_CHECKS.items()
        ],
        metadata={"table": table},
    )
    def _asset(
        context: dg.AssetExecutionContext,
        config: config_class,  # type: ignore[valid-type]
        warehouse: WarehouseResource,
    ) -> dg.MaterializeResult:
        symbol = context.partition_key
        family = family_of(config)
        code_version = context.assets_def.code_versions_by_key[key] or ""
        version = f"{code_version}:{_fingerprint(config)}"
        with warehouse.connect() as con:
            ensure_table(con, "staging.bars")
            recreated = store.ensure_feature_table(con, table, family.schema, family.name)
            bars = con.sql(
                f"SELECT {BAR_COLUMNS} FROM staging.bars WHERE symbol = $1 ORDER BY timeframe, ts",
                params=[symbol],
            ).pl()
            marks = store.read_watermarks(con, family.name, symbol)
            last = store.last_rows(con, table, symbol)
        if recreated:
            context.log.warning(f"{table} had other columns: recreated, recomputing in full")
        wanted = set(config.timeframes) or set(bars["timeframe"].unique().to_list())
        bars = bars.filter(pl.col("timeframe").is_in(list(wanted)))
        writes, plans = [], {}
        for (tf,), series in bars.group_by("timeframe", maintain_order=True):
            write, plan = _series_update(
                family, series, marks.get(tf), last.get(tf), version, config.force_full
            )
            plans[tf] = {"mode": plan.mode, "reason": plan.reason, "bars": series.height}
            if write is not None:
                writes.append(write)
        dropped = sorted(set(last) - set(bars["timeframe"].unique().to_list()))
        with warehouse.connect() as con:
            counts = store.write_series(con, table, family.name, symbol, writes, dropped)
            stored = store.read_symbol_rows(con, table, symbol)
        check_results = _check_results(
            family, stored, bars.select("symbol", "timeframe", "ts"), config.max_missing_share
        )
        return dg.MaterializeResult(
            metadata={
                "rows": dg.MetadataValue.int(counts.rows),
                "rows_inserted": dg.MetadataValue.int(counts.inserted),
                "rows_updated": dg.MetadataValue.int(0),
                "rows_deleted": dg.MetadataValue.int(counts.deleted),
                "data_version": dg.MetadataValue.text(counts.data_version),
                "features": dg.MetadataValue.int(len(family.features)),
                "plans": dg.MetadataValue.json(plans),
                "preview": preview(
                    stored.select(list(stored.columns[: min(10, stored.width)])).tail(5)
                ),
            },
            data_version=dg.DataVersion(counts.data_version),
            check_results=check_results,
        )

    return _asset


alpha158 = build_series_asset(
    "alpha158",
    "Qlib's 158 Alpha158 features per bar (candle shapes, price ratios, 29 rolling operators "
    "over 5/10/20/30/60 bars), computed as Qlib 0.9.7 does in float64.",
    lambda config: incremental.alpha158_family(),
    SeriesFeatureConfig,
)

classic = build_series_asset(
    "classic",
    "Classic indicators per bar: SMA/EMA, RSI, MACD, Bollinger %B, ATR, realized volatility, "
    "volume ratio and z-score, and GARCH(1,1) volatility on daily bars fitted on past data.",
    lambda config: incremental.classic_family(
        classic_logic.GarchConfig(config.garch_min_obs, config.garch_refit_every)
        if config.garch
        else None
    ),
    ClassicConfig,
)

regime = build_series_asset(
    "regime",
    "Market regime per bar (trend x volatility rules, threshold fitted on earlier bars only; "
    "optional Markov switching regime on daily bars).",
    lambda config: incremental.regime_family(
        regime_logic.RegimeConfig(
            vol_window=config.vol_window,
            history=config.history,
            min_history=config.min_history,
            trend_fast=config.trend_fast,
            trend_slow=config.trend_slow,
            markov=config.markov,
        )
    ),
    RegimeAssetConfig,
)

labels = build_series_asset(
    "labels",
    "Labels per bar, kept apart from features: forward log returns over 1 and 5 bars and "
    "their direction. They look ahead by construction; never use them as features.",
    lambda config: incremental.labels_family(),
    SeriesFeatureConfig,
)

SERIES_ASSETS = [alpha158, classic, regime, labels]
