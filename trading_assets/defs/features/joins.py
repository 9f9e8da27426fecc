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

from collections.abc import Callable, Sequence

import dagster as dg
import polars as pl

from trading_assets.defs.features.store import ensure_feature_table, table_exists
from trading_assets.defs.keys import CLASSIC, CONTEXT, CROSS_ASSET, SENTIMENT_FEATURES, STAGING_BARS
from trading_assets.defs.metadata import preview, write_metadata
from trading_assets.defs.partitions import SYMBOLS
from trading_assets.defs.resources import WarehouseResource
from trading_assets.features import checks
from trading_assets.features import context as context_logic
from trading_assets.features import cross_asset as cross_logic
from trading_assets.features import sentiment as sentiment_logic
from trading_assets.home import DUCKDB_WRITER_POOL
from trading_assets.timeframes import timeframe_seconds
from trading_assets.warehouse.ddl import ensure_table
from trading_assets.warehouse.writes import replace_scope

KEY = ["symbol", "timeframe", "ts"]

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


def _check_specs(key: dg.AssetKey) -> list[dg.AssetCheckSpec]:
    return [
        dg.AssetCheckSpec(name, asset=key, description=desc)
        for name, (desc, _) in JOIN_CHECKS.items()
    ]


def _results(
    frame: pl.DataFrame,
    bars: pl.DataFrame,
    features: Sequence[str],
    threshold: float,
    extra: dict | None = None,
    applies: Callable[[str, str], bool] = lambda column, timeframe: True,
) -> list[dg.AssetCheckResult]:
    first_value = checks.first_value_warmup(frame, features)

    def warmup(column: str, timeframe: str) -> int | None:
        return first_value(column, timeframe) if applies(column, timeframe) else None

    measures = {
        "missing_share": checks.missing_share(frame, features, warmup=warmup, threshold=threshold),
        "feature_count": checks.feature_count(
            [c for c in frame.columns if c in features or c in KEY], features
        ),
        "aligned_with_bars": checks.alignment(bars, frame),
    }
    out = []
    for name, measure in measures.items():
        details = (
            {**measure.details, **(extra or {})} if name == "missing_share" else measure.details
        )
        out.append(
            dg.AssetCheckResult(
                check_name=name,
                passed=measure.passed,
                severity=JOIN_CHECKS[name][1],
                metadata={"details": dg.MetadataValue.json(details)},
            )
        )
    return out


def _bars(con, symbol: str | None, columns: str = "symbol, timeframe, ts") -> pl.DataFrame:
    ensure_table(con, "staging.bars")
    if symbol is None:
        return con.sql(f"SELECT {columns} FROM staging.bars ORDER BY symbol, timeframe, ts").pl()
    return con.sql(
        f"SELECT {columns} FROM staging.bars WHERE symbol = $1 ORDER BY timeframe, ts",
        params=[symbol],
    ).pl()


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
    check_specs=_check_specs(CONTEXT_KEY),
    metadata={"table": "features.context"},
)
def context_features(
    context: dg.AssetExecutionContext, config: JoinFeatureConfig, warehouse: WarehouseResource
) -> dg.MaterializeResult:
    symbol = context.partition_key
    names = ", ".join(context_logic.CONTEXT_FEATURES)
    schema = context_logic.output_schema()
    with warehouse.connect() as con:
        ensure_feature_table(con, "features.context", schema)
        indicators = (
            con.sql(
                f"SELECT symbol, timeframe, ts, {names} FROM features.classic WHERE symbol = $1 "
                "ORDER BY timeframe, ts",
                params=[symbol],
            ).pl()
            if table_exists(con, "features.classic")
            else pl.DataFrame()
        )
        bars = _bars(con, symbol)
    frame = context_logic.context(indicators) if indicators.height else pl.DataFrame(schema=schema)
    with warehouse.connect() as con:
        result = replace_scope(con, "features.context", frame, {"symbol": symbol}, schema=schema)
    eligible = context_logic.row_timeframes(bars["timeframe"].unique().to_list())
    features = context_logic.feature_names()
    # a context column can only have values where its source indicator has some
    sources = {
        (g, name)
        for g in context_logic.CONTEXT_TIMEFRAMES
        for name in context_logic.CONTEXT_FEATURES
        if indicators.height
        and indicators.filter(pl.col("timeframe") == g)[name].drop_nulls().len() > 0
    }

    def applies(column: str, timeframe: str) -> bool:
        _, g, name = column.split("_", 2)
        return (g, name) in sources and timeframe_seconds(g) > timeframe_seconds(timeframe)

    return dg.MaterializeResult(
        metadata={
            **write_metadata(result),
            "row_timeframes": dg.MetadataValue.json(eligible),
            "preview": preview(frame.select(KEY + [f for f in features if "rsi" in f]).tail(5)),
        },
        data_version=dg.DataVersion(result.data_version),
        check_results=_results(
            frame,
            bars.filter(pl.col("timeframe").is_in(eligible)),
            features,
            config.max_missing_share,
            {"measured_sources": sorted(f"{g}:{n}" for g, n in sources)},
            applies,
        ),
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
    check_specs=_check_specs(CROSS_ASSET_KEY),
    metadata={"table": "features.cross_asset"},
)
def cross_asset(
    context: dg.AssetExecutionContext, config: CrossAssetConfig, warehouse: WarehouseResource
) -> dg.MaterializeResult:
    schema = cross_logic.output_schema()
    with warehouse.connect() as con:
        ensure_feature_table(con, "features.cross_asset", schema)
        closes = _bars(con, None, "symbol, timeframe, ts, close")
    symbols = sorted(closes["symbol"].unique().to_list())
    by_symbol = {s: f for (s,), f in closes.group_by("symbol")}
    parts, references = [], {}
    for symbol in symbols:
        ref = cross_logic.reference_symbol(symbol, symbols, config.references)
        references[symbol] = ref
        parts.append(cross_logic.cross_asset(by_symbol[symbol], by_symbol.get(ref)))
    frame = pl.concat(parts) if parts else pl.DataFrame(schema=schema)
    with warehouse.connect() as con:
        result = replace_scope(con, "features.cross_asset", frame, {}, schema=schema)
    return dg.MaterializeResult(
        metadata={
            **write_metadata(result),
            "references": dg.MetadataValue.json(references),
            "preview": preview(frame.drop_nulls(cross_logic.NAMES[0]).tail(5)),
        },
        data_version=dg.DataVersion(result.data_version),
        check_results=_results(
            frame.filter(pl.col("ref_symbol").is_not_null()),
            closes.filter(pl.col("symbol").is_in([s for s, r in references.items() if r])).select(
                KEY
            ),
            cross_logic.NAMES,
            config.max_missing_share,
            {"symbols_without_reference": [s for s, r in references.items() if r is None]},
        )
        if frame.height
        else _results(frame, closes.select(KEY), cross_logic.NAMES, config.max_missing_share),
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
        check_specs=_check_specs(SENTIMENT_KEY),
        metadata={"table": "features.sentiment"},
    )
    def sentiment(
        context: dg.AssetExecutionContext, config: JoinFeatureConfig, warehouse: WarehouseResource
    ) -> dg.MaterializeResult:
        schema = sentiment_logic.output_schema()
        with warehouse.connect() as con:
            ensure_feature_table(con, "features.sentiment", schema)
            bars = _bars(con, None)
            existing = [
                f"{s}.{t}"
                for s, t in con.execute(
                    "SELECT table_schema, table_name FROM information_schema.tables "
                    "WHERE table_catalog <> 'temp'"
                ).fetchall()
            ]
            source = sentiment_logic.find_sentiment_table(existing)
            raw = con.sql(f"SELECT * FROM {source}").pl() if source else None
        agg, problem = (
            (None, "no sentiment_agg table")
            if raw is None
            else (sentiment_logic.normalize_sentiment_agg(raw))
        )
        if problem and raw is not None:
            context.log.warning(f"{source}: {problem}; sentiment features are zero-filled")
        parts = [
            sentiment_logic.sentiment_features(rows, agg)
            for _, rows in bars.group_by("symbol", maintain_order=True)
        ]
        frame = pl.concat(parts) if parts else pl.DataFrame(schema=schema)
        with warehouse.connect() as con:
            result = replace_scope(con, "features.sentiment", frame, {}, schema=schema)
        with_news = frame.filter((pl.col("sent_1h_count") > 0) | (pl.col("sent_1d_count") > 0))
        return dg.MaterializeResult(
            metadata={
                **write_metadata(result),
                "source_table": dg.MetadataValue.text(source or "none (zero-filled)"),
                "source_problem": dg.MetadataValue.text(problem or ""),
                "bars_with_news": dg.MetadataValue.int(with_news.height),
                "symbols_with_news": dg.MetadataValue.json(
                    sorted(with_news["symbol"].unique().to_list())
                ),
            },
            data_version=dg.DataVersion(result.data_version),
            check_results=_results(frame, bars, sentiment_logic.NAMES, config.max_missing_share),
        )

    return sentiment


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
