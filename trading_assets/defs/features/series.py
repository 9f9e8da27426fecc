"""Per-series feature assets: ``features/alpha158``, ``features/classic``, ``features/regime``
and ``features/labels``, partitioned by symbol.

Each reads the symbol's ``staging.bars`` (every timeframe), and per timeframe either skips
(no new bars), computes only the new bars' tail (bars up to the stored watermark unchanged,
same code), or recomputes the series in full; writes rows and watermarks in one transaction;
and reports its checks on the symbol's stored rows: missing (NULL/NaN/inf) share per feature
after warm-up, the feature columns, and one row per bar (measured again only for the
timeframes whose rows or bars changed; the metadata field ``measured_timeframes`` lists
them). The data version is a content hash of the symbol's rows, so a run that finds nothing
new changes nothing downstream.
"""

from collections.abc import Callable
from typing import Any

import dagster as dg

from trading_assets.defs.features.checks import check_results, check_specs
from trading_assets.defs.keys import STAGING_BARS
from trading_assets.defs.metadata import preview, write_metadata
from trading_assets.defs.ops.meter import metered
from trading_assets.defs.partitions import SYMBOLS
from trading_assets.defs.resources import WarehouseResource
from trading_assets.features import checks, incremental
from trading_assets.features import classic as classic_logic
from trading_assets.features import regime as regime_logic
from trading_assets.features import series as series_logic
from trading_assets.features.incremental import SeriesFamily
from trading_assets.home import DUCKDB_WRITER_POOL
from trading_assets.warehouse import feature_store
from trading_assets.warehouse.prices import read_staging_bars

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

BAR_COLUMNS = ("symbol", "timeframe", "ts", "open", "high", "low", "close", "volume", "vwap")


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
        check_specs=check_specs(key, SERIES_CHECKS),
        metadata={"table": table},
    )
    @metered
    def _asset(
        context: dg.AssetExecutionContext,
        config: config_class,  # type: ignore[valid-type]
        warehouse: WarehouseResource,
    ) -> dg.MaterializeResult:
        symbol = context.partition_key
        family = family_of(config)
        code_version = context.assets_def.code_versions_by_key[key] or ""
        version = f"{code_version}:{series_logic.config_fingerprint(config.model_dump())}"
        with warehouse.connect() as con:
            recreated = feature_store.ensure_feature_table(con, table, family.schema, family.name)
            bars = read_staging_bars(con, symbol, BAR_COLUMNS)
            marks = feature_store.read_watermarks(con, family.name, symbol)
            last = feature_store.last_rows(con, table, symbol)
        if recreated:
            context.log.warning(f"{table} had other columns: recreated, recomputing in full")
        update = series_logic.plan_symbol(
            family, bars, marks, last, version, config.timeframes, config.force_full
        )
        with warehouse.connect() as con:
            result = feature_store.write_series(
                con, table, family.name, symbol, update.writes, update.dropped
            )
            measures, again = feature_store.measure_stored(
                con, table, family, symbol, version, result.series, update.bars,
                config.max_missing_share,
            )  # fmt: skip
            newest = feature_store.newest_rows(con, table, symbol, list(family.schema)[:10])
        return dg.MaterializeResult(
            metadata={
                **write_metadata(result),
                "features": dg.MetadataValue.int(len(family.features)),
                "plans": dg.MetadataValue.json(update.plans),
                "measured_timeframes": dg.MetadataValue.json(again),
                "preview": preview(newest),
            },
            data_version=dg.DataVersion(result.data_version),
            check_results=check_results(measures, SERIES_CHECKS, symbol, result.rows),
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
