"""Feature assets that join series: ``features/context`` (multi-timeframe, per symbol),
``features/sentiment`` (news sentiment, unpartitioned) and ``features/cross_asset`` (a symbol
against its reference symbol, unpartitioned).

These are joins of already computed or cheap inputs, so each run recomputes them for its scope
and writes only the difference (``replace_scope``: one transaction, nothing written and the
same data version when nothing changed).

Lineage of ``features/cross_asset``: the features of a symbol depend on ANOTHER symbol's bars
(ETH/USDT on BTC/USDT). With per-symbol partitions and the identity mapping, an update of
BTC/USDT's bars would not make ETH/USDT's cross-asset partition stale, and the reference of a
symbol depends on which symbols exist, which no static partition mapping of a dynamic
partition set can express. So the asset is unpartitioned and depends on every partition of
``staging/bars``: any symbol's new bars make it stale, and one run recomputes every symbol's
correlations and betas (a few windowed moments on returns; fast).
"""

from collections.abc import Sequence

import dagster as dg

from trading_assets.defs.features.checks import check_results, check_specs
from trading_assets.defs.keys import CLASSIC, CONTEXT, CROSS_ASSET, SENTIMENT_FEATURES, STAGING_BARS
from trading_assets.defs.metadata import preview, write_metadata
from trading_assets.defs.ops.meter import metered
from trading_assets.defs.partitions import SYMBOLS
from trading_assets.defs.recorded import code_version, recorded_data_version
from trading_assets.defs.resources import WarehouseResource
from trading_assets.features import checks, joins
from trading_assets.features import context as context_logic
from trading_assets.features import cross_asset as cross_logic
from trading_assets.features import sentiment as sentiment_logic
from trading_assets.home import DUCKDB_WRITER_POOL
from trading_assets.warehouse import series_state
from trading_assets.warehouse.catalog import existing_tables, read_table
from trading_assets.warehouse.feature_store import (
    ensure_feature_table,
    measure_context,
    measure_cross_asset,
    measure_sentiment,
    news_summary,
    read_symbol_features,
)
from trading_assets.warehouse.prices import read_staging_bars
from trading_assets.warehouse.writes import replace_scope

KEY = joins.KEY

JOIN_CHECKS: dict[str, tuple[str, dg.AssetCheckSeverity]] = {
    "missing_share": (
        "share of NULL/NaN/inf per feature after its first value stays within the threshold",
        dg.AssetCheckSeverity.WARN,
    ),
    "feature_count": (
        "the stored feature columns are exactly the expected ones",
        dg.AssetCheckSeverity.ERROR,
    ),
    "aligned_with_bars": (
        "exactly one row per (eligible) bar of staging.bars",
        dg.AssetCheckSeverity.ERROR,
    ),
}


class JoinFeatureConfig(dg.Config):
    """Per-run knobs of the join feature assets."""

    max_missing_share: float = checks.MAX_MISSING_SHARE
    """Largest share of missing values per feature (after its first value) before a warning."""


CONTEXT_KEY = CONTEXT


@dg.asset(
    key=CONTEXT_KEY,
    description=(
        "Multi-timeframe context per bar: classic indicators of the last CLOSED 1h and 1d bar "
        "(a bar at ts is known at ts + timeframe), joined as-of onto finer bars."
    ),
    partitions_def=SYMBOLS,
    deps=[CLASSIC],
    group_name="features",
    kinds={"duckdb", "polars"},
    pool=DUCKDB_WRITER_POOL,
    automation_condition=dg.AutomationCondition.eager(),
    check_specs=check_specs(CONTEXT_KEY, JOIN_CHECKS),
    metadata={"table": "features.context"},
)
@metered
def context_features(
    context: dg.AssetExecutionContext, config: JoinFeatureConfig, warehouse: WarehouseResource
) -> dg.MaterializeResult:
    symbol = context.partition_key
    schema = context_logic.output_schema()
    with warehouse.connect() as con:
        ensure_feature_table(con, "features.context", schema)
        indicators = read_symbol_features(
            con, "features.classic", symbol, context_logic.CONTEXT_FEATURES
        )
        bars = read_staging_bars(con, symbol)
    joined = joins.context_join(indicators, bars["timeframe"].unique().to_list())
    with warehouse.connect() as con:
        result = replace_scope(
            con, "features.context", joined.frame, {"symbol": symbol}, schema=schema
        )
        measures, again = measure_context(
            con, symbol, joined, bars, code_version(context), config.max_missing_share
        )
    rsi = [f for f in context_logic.feature_names() if "rsi" in f]
    return dg.MaterializeResult(
        metadata={
            **write_metadata(result),
            "row_timeframes": dg.MetadataValue.json(joined.row_timeframes),
            "measured_timeframes": dg.MetadataValue.json(again),
            "preview": preview(joined.frame.select(KEY + rsi).tail(5)),
        },
        data_version=dg.DataVersion(result.data_version),
        check_results=check_results(measures, JOIN_CHECKS, symbol, result.rows),
    )


CROSS_ASSET_KEY = CROSS_ASSET


class CrossAssetConfig(JoinFeatureConfig):
    """Knobs of ``features/cross_asset``."""

    references: dict[str, str] = {}
    """Explicit reference per symbol (overrides the default rules)."""


@dg.asset(
    key=CROSS_ASSET_KEY,
    description=(
        "Rolling correlation and beta (20 and 60 bars) of each symbol's returns to a reference "
        "symbol (ETH vs BTC, stocks vs SPY or the index), on common bar times. Unpartitioned: a "
        "symbol's features depend on another symbol's bars."
    ),
    deps=[STAGING_BARS],
    group_name="features",
    kinds={"duckdb", "polars"},
    pool=DUCKDB_WRITER_POOL,
    automation_condition=dg.AutomationCondition.eager(),
    check_specs=check_specs(CROSS_ASSET_KEY, JOIN_CHECKS),
    metadata={"table": "features.cross_asset"},
)
@metered
def cross_asset(
    context: dg.AssetExecutionContext, config: CrossAssetConfig, warehouse: WarehouseResource
) -> dg.MaterializeResult:
    schema, table = cross_logic.output_schema(), "features.cross_asset"
    with warehouse.connect() as con:
        ensure_feature_table(con, table, schema)
        closes = read_staging_bars(con, None, [*KEY, "close"])
        refs = joins.cross_asset_references(closes, config.references)
        version = f"{code_version(context)}:{sorted(refs.items())}"
        result, recomputed = series_state.update_changed(
            con, "features/cross_asset", version, recorded_data_version(context), table,
            schema, {"closes": closes}, lambda series: joins.cross_asset_rows(closes, refs, series),
            expand=lambda changed: joins.cross_asset_dependents(changed, refs),
        )  # fmt: skip
        measures, again = measure_cross_asset(
            con, table, refs, closes, version, config.max_missing_share
        )
        newest = con.sql(
            f"SELECT * FROM {table} WHERE {cross_logic.NAMES[0]} IS NOT NULL "
            "ORDER BY ts DESC, symbol, timeframe LIMIT 5"
        ).pl()
    return dg.MaterializeResult(
        metadata={
            **write_metadata(result),
            "references": dg.MetadataValue.json(refs),
            "recomputed_series": _recomputed(recomputed),
            "measured_timeframes": dg.MetadataValue.json(again),
            "preview": preview(newest.sort(KEY)),
        },
        data_version=dg.DataVersion(result.data_version),
        check_results=check_results(measures, JOIN_CHECKS, rows=result.rows),
    )


SENTIMENT_KEY = SENTIMENT_FEATURES


def build_sentiment_asset(upstream: Sequence[dg.AssetKey] = ()) -> dg.AssetsDefinition:
    """``features/sentiment``, depending on ``staging/bars`` and on ``upstream`` (the asset that
    produces the ``sentiment_agg`` table, when the definitions have one).

    Unpartitioned, like ``features/cross_asset``: its input ``sentiment_agg`` is one table for
    all symbols, built after the per-symbol assets; a per-symbol partition would be computed
    before the news it joins (the runner materializes partitions first) and go stale at once.
    The as-of joins for every symbol take about a second.
    """

    @dg.asset(
        key=SENTIMENT_KEY,
        description=(
            "News sentiment per bar: the last closed hourly and daily sentiment_agg bucket, "
            "as-of, zero-filled with article counts where there is no news (or no news table)."
        ),
        deps=[STAGING_BARS, *upstream],
        group_name="features",
        kinds={"duckdb", "polars"},
        pool=DUCKDB_WRITER_POOL,
        automation_condition=dg.AutomationCondition.eager(),
        check_specs=check_specs(SENTIMENT_KEY, JOIN_CHECKS),
        metadata={"table": "features.sentiment"},
    )
    @metered
    def sentiment(
        context: dg.AssetExecutionContext, config: JoinFeatureConfig, warehouse: WarehouseResource
    ) -> dg.MaterializeResult:
        schema = sentiment_logic.output_schema()
        table = "features.sentiment"
        with warehouse.connect() as con:
            ensure_feature_table(con, table, schema)
            bars = read_staging_bars(con)
            source = sentiment_logic.find_sentiment_table(sorted(existing_tables(con)))
            agg, problem = joins.normalized_sentiment(read_table(con, source) if source else None)
            news = joins.news_by_series(bars, agg)
            result, recomputed = series_state.update_changed(
                con, "features/sentiment", f"{code_version(context)}:{source}",
                recorded_data_version(context), table, schema, {"bars": bars, "news": news},
                lambda series: joins.sentiment_rows(
                    bars if series is None else series_state.of_series(bars, series), agg
                ),
            )  # fmt: skip
            measures, again = measure_sentiment(
                con, table, bars, f"{code_version(context)}:{source}", config.max_missing_share
            )
            with_news, symbols_with_news = news_summary(con, table)
        if problem and source is not None:
            context.log.warning(f"{source}: {problem}; sentiment features are zero-filled")
        return dg.MaterializeResult(
            metadata={
                **write_metadata(result),
                "source_table": dg.MetadataValue.text(source or "none (zero-filled)"),
                "source_problem": dg.MetadataValue.text(problem or ""),
                "bars_with_news": dg.MetadataValue.int(with_news),
                "symbols_with_news": dg.MetadataValue.json(symbols_with_news),
                "recomputed_series": _recomputed(recomputed),
                "measured_timeframes": dg.MetadataValue.json(again),
            },
            data_version=dg.DataVersion(result.data_version),
            check_results=check_results(measures, JOIN_CHECKS, rows=result.rows),
        )

    return sentiment


def _recomputed(recomputed: list[tuple[str, str]] | None) -> dg.MetadataValue:
    """Which series a build recomputed ("all", or ``symbol timeframe`` texts)."""
    return dg.MetadataValue.json("all" if recomputed is None else [" ".join(s) for s in recomputed])


def sentiment_asset_for(assets: Sequence[dg.AssetsDefinition]) -> dg.AssetsDefinition:
    """``features/sentiment`` wired to whichever of ``assets`` produces a table named in
    :data:`trading_assets.features.sentiment.SENTIMENT_TABLES` (none: no extra dependency)."""
    producers = []
    for assets_def in assets:
        for spec in assets_def.specs:
            table = (spec.metadata or {}).get("table")
            table = getattr(table, "value", table)  # a MetadataValue or the raw string
            if table is None and len(spec.key.path) == 2:
                table = ".".join(spec.key.path)
            if table in sentiment_logic.SENTIMENT_TABLES:
                producers.append(spec.key)
    return build_sentiment_asset(producers)
