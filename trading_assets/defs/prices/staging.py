"""``staging/bars``: every bar of a symbol at every standard timeframe, with quality checks.

Source bars are kept as delivered; timeframes a source does not provide are resampled from the
finest finer input (ticks, then bars), and where both exist the two are reconciled. Stock
splits are adjusted away (:mod:`trading_assets.bars.splits`): prices are split-adjusted here, so
features, labels and backtests never see a split as a return.
"""

import math

import dagster as dg
import polars as pl

from trading_assets import markets, schemas
from trading_assets.bars import quality, resample, splits
from trading_assets.defs.keys import RAW_BARS, RAW_TICKS, STAGING_BARS
from trading_assets.defs.metadata import (
    HISTORICAL,
    check_metadata,
    coverage,
    preview,
    write_metadata,
)
from trading_assets.defs.ops.meter import metered
from trading_assets.defs.partitions import SYMBOLS
from trading_assets.defs.resources import WarehouseResource
from trading_assets.home import DUCKDB_WRITER_POOL
from trading_assets.profiles import active_profile
from trading_assets.timeframes import STANDARD_TIMEFRAMES
from trading_assets.warehouse.prices import read_raw_prices, read_split_actions
from trading_assets.warehouse.writes import replace_scope

#: check name -> (description, severity)
BAR_CHECKS: dict[str, tuple[str, dg.AssetCheckSeverity]] = {
    "ohlc_consistent": (
        "high >= max(open, close), low <= min(open, close), high >= low",
        dg.AssetCheckSeverity.ERROR,
    ),
    "prices_positive": ("prices > 0 and volume >= 0", dg.AssetCheckSeverity.ERROR),
    "unique_keys": ("no duplicate (symbol, timeframe, ts)", dg.AssetCheckSeverity.ERROR),
    "gaps": (
        "missing bars counted per timeframe, knowing when markets are closed",
        dg.AssetCheckSeverity.WARN,
    ),
    "outlier_jumps": (
        "no bad print (a >12 robust-sigma jump that reverts) and no 3x split-like cliff",
        dg.AssetCheckSeverity.WARN,
    ),
    "splits": (
        "no ambiguous split (listed with its ex-date and ratio, never applied); the applied "
        "splits are listed",
        dg.AssetCheckSeverity.WARN,
    ),
    "fresh": (
        "the newest bar of each timeframe is recent enough (enforced on the live profile; on "
        "historical data it says so, with the newest bar, and does not pass); lag in hours",
        dg.AssetCheckSeverity.WARN,
    ),
    "reconciles": (
        "bars resampled from finer data agree with source bars where both exist",
        dg.AssetCheckSeverity.WARN,
    ),
}


class StagingBarsConfig(dg.Config):
    """Per-run knobs of ``staging/bars``."""

    timeframes: list[str] = list(STANDARD_TIMEFRAMES)
    """Timeframes to provide (derived from finer data where no source has them)."""
    enforce_freshness: bool = False
    """Fail the ``fresh`` check when data lags (always on for the ``live`` profile; off for
    historical files, which always lag: the check then says the data is historical)."""


def freshness_result(measure: quality.QualityResult, partition: str) -> dg.AssetCheckResult:
    """The ``fresh`` check: the newest bar's lag in hours as numbers; enforced (pass/fail)
    on live data, else a plain statement that the data is historical (not a pass)."""
    timeframes = measure.metadata.get("timeframes", {})
    lags = {tf: v["lag_hours"] for tf, v in timeframes.items()}
    closes = {tf: v["newest_bar_close"] for tf, v in timeframes.items()}
    metadata = {
        **check_metadata(measure.metadata, partition),
        "lag_hours": dg.MetadataValue.float(float(min(lags.values(), default=math.nan))),
        "newest_bar_close": dg.MetadataValue.text(max(closes.values(), default="none")),
    }
    if measure.metadata.get("enforced"):
        return dg.AssetCheckResult(
            check_name="fresh", passed=measure.passed, severity=BAR_CHECKS["fresh"][1],
            metadata=metadata,
        )  # fmt: skip
    newest = max(closes.values(), default=None)
    lag = min(lags.values(), default=math.nan)
    return dg.AssetCheckResult(
        check_name="fresh",
        passed=False,
        severity=dg.AssetCheckSeverity.WARN,
        description=(
            f"Historical data: the newest bar of {partition} closed at {newest} UTC, "
            f"{lag:,.0f} hours ago. Freshness is enforced only on the live profile."
            if newest is not None
            else f"No bars for {partition}: freshness not measured."
        ),
        metadata={**metadata, HISTORICAL: dg.MetadataValue.bool(True)},
    )


def bar_check_results(
    bars,
    market: markets.Market,
    reconciliation: dict,
    enforce_freshness: bool,
    split_report: splits.SplitReport | None = None,
    partition: str = "",
) -> list[dg.AssetCheckResult]:
    """Every bar quality measure of one symbol's bars
    (:func:`trading_assets.bars.quality.measure_bars`), as check results naming the
    ``partition`` (symbol), their figures as numbers (:func:`freshness_result` for
    ``fresh``)."""
    measures = quality.measure_bars(
        bars, market, reconciliation, enforce_freshness=enforce_freshness, splits=split_report
    )
    return [
        freshness_result(result, partition)
        if name == "fresh"
        else dg.AssetCheckResult(
            check_name=name,
            passed=result.passed,
            severity=BAR_CHECKS[name][1],
            metadata=check_metadata(result.metadata, partition),
        )
        for name, result in measures.items()
    ]


@dg.asset(
    key=STAGING_BARS,
    description=(
        "Bars of every standard timeframe per symbol: source bars, plus bars resampled from "
        "ticks or finer bars where no source provides them (equity days session-aware)."
    ),
    partitions_def=SYMBOLS,
    deps=[RAW_BARS, RAW_TICKS],
    group_name="prices",
    kinds={"duckdb", "polars"},
    pool=DUCKDB_WRITER_POOL,
    automation_condition=dg.AutomationCondition.eager(),
    check_specs=[
        dg.AssetCheckSpec(name, asset=STAGING_BARS, description=desc)
        for name, (desc, _) in BAR_CHECKS.items()
    ],
    metadata={"table": "staging.bars"},
)
@metered
def staging_bars(
    context: dg.AssetExecutionContext, config: StagingBarsConfig, warehouse: WarehouseResource
) -> dg.MaterializeResult:
    symbol = context.partition_key
    market = markets.market_of(symbol)
    with warehouse.connect() as con:
        source, ticks = read_raw_prices(con, symbol)
        actions = read_split_actions(con, symbol)
    bars, reconciliation = resample.build_staging_bars(source, ticks, market, config.timeframes)
    bars, split_report = splits.split_adjust(bars, symbol, actions)
    with warehouse.connect() as con:
        result = replace_scope(
            con, "staging.bars", bars, {"symbol": symbol}, schema=schemas.STAGING_BARS_SCHEMA
        )
    enforce = config.enforce_freshness or active_profile() == "live"
    checks = bar_check_results(bars, market, reconciliation, enforce, split_report, symbol)
    missing = resample.missing_inputs(symbol, source, ticks)
    return dg.MaterializeResult(
        metadata={
            **write_metadata(result),
            "coverage": coverage(bars),
            "reconciliation": dg.MetadataValue.json(reconciliation),
            "splits": dg.MetadataValue.json(split_report.as_dict()),
            "preview": preview(bars.filter(pl.col("timeframe") == pl.col("timeframe").max())),
            **({"missing": dg.MetadataValue.text(missing)} if missing else {}),
        },
        data_version=dg.DataVersion(result.data_version),
        check_results=checks,
    )
