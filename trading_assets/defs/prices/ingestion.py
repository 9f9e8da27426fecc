"""Ingestion assets ``raw/bars``, ``raw/ticks``, ``raw/quotes`` and ``raw/quote_bars``.

Each is partitioned by symbol. A materialization lists the symbol's source items, skips those
whose fingerprint matches the last successful ingest, loads the rest one by one (a bad file is
recorded and skipped; the good ones still land), and upserts the rows and the bookkeeping in
ONE DuckDB transaction. The data version is a hash of the symbol's stored rows, so a run that
finds nothing new reports the same version and nothing downstream becomes stale.
"""

from datetime import UTC, datetime

import dagster as dg
import polars as pl

from trading_assets import schemas
from trading_assets.defs.metadata import coverage_from_stats, preview, write_metadata
from trading_assets.defs.partitions import SYMBOLS
from trading_assets.defs.prices.resources import PriceSourcesResource
from trading_assets.defs.resources import WarehouseResource
from trading_assets.errors import SourceDataError, SourceUnavailableError, TradingAssetsError
from trading_assets.home import DUCKDB_WRITER_POOL
from trading_assets.sources import base as sources_base
from trading_assets.warehouse.ddl import ensure_table
from trading_assets.warehouse.writes import transaction, upsert_rows

SOURCES_LOADED = "sources_loaded"


class IngestConfig(dg.Config):
    """Per-run knobs of an ingestion asset."""

    force: bool = False
    """Re-read every source item even if its fingerprint is unchanged."""


def _known_fingerprints(con, kind: str, symbol: str) -> dict[str, str]:
    ensure_table(con, "ops.source_items")
    rows = con.execute(
        "SELECT origin, fingerprint FROM ops.source_items "
        "WHERE kind = ? AND symbol = ? AND status = 'ok'",
        [kind, symbol],
    ).fetchall()
    return dict(rows)


def _bookkeeping(item: sources_base.SourceItem, status: str, rows: int, error: str | None):
    return {
        "origin": item.origin,
        "kind": item.kind,
        "symbol": item.symbol,
        "timeframe": item.timeframe,
        "source": item.source,
        "fingerprint": item.fingerprint,
        "status": status,
        "rows": rows,
        "error": error,
        "ingested_at": datetime.now(UTC),
    }


def build_ingestion_asset(kind: str, description: str) -> dg.AssetsDefinition:
    """The ingestion asset ``raw/<kind>`` for one canonical row kind (see ``schemas.KINDS``)."""
    schema, key = schemas.KINDS[kind]
    table = f"raw.{kind}"
    asset_key = dg.AssetKey(["raw", kind])

    @dg.asset(
        key=asset_key,
        description=description,
        partitions_def=SYMBOLS,
        group_name="prices",
        kinds={"duckdb", "polars"},
        pool=DUCKDB_WRITER_POOL,
        check_specs=[
            dg.AssetCheckSpec(
                SOURCES_LOADED,
                asset=asset_key,
                description="Every source item of the partition loaded without error.",
            )
        ],
        metadata={"table": table},
    )
    def _ingest(
        context: dg.AssetExecutionContext,
        config: IngestConfig,
        warehouse: WarehouseResource,
        price_sources: PriceSourcesResource,
    ) -> dg.MaterializeResult:
        symbol = context.partition_key
        items = [i for i in price_sources.items([symbol]) if i.kind == kind]
        with warehouse.connect() as con:
            known = {} if config.force else _known_fingerprints(con, kind, symbol)
        todo = [i for i in items if known.get(i.origin) != i.fingerprint]
        frames: list[pl.DataFrame] = []
        books: list[dict] = []
        failures: list[dict] = []
        for item in todo:
            try:
                frame = item.load()
            except (SourceDataError, SourceUnavailableError, TradingAssetsError) as exc:
                context.log.warning(f"{symbol}: skipped {item.origin}: {exc}")
                failures.append(
                    {
                        "origin": item.origin,
                        "row": getattr(exc, "row", None),
                        "field": getattr(exc, "field", None),
                        "reason": str(exc),
                    }
                )
                books.append(_bookkeeping(item, "error", 0, str(exc)))
                continue
            frames.append(frame)
            books.append(_bookkeeping(item, "ok", frame.height, None))
        incoming = pl.concat(frames) if frames else schemas.empty_frame(kind)
        with warehouse.connect() as con, transaction(con):
            result = upsert_rows(con, table, incoming, key, scope={"symbol": symbol}, schema=schema)
            if books:
                upsert_rows(
                    con,
                    "ops.source_items",
                    pl.DataFrame(books, schema=schemas.SOURCE_ITEMS_SCHEMA),
                    schemas.SOURCE_ITEMS_KEY,
                )
            # metadata from DuckDB aggregates: never pull the symbol's whole history back
            latest = con.sql(
                f"SELECT * FROM {table} WHERE symbol = $1 ORDER BY ts DESC LIMIT 5",
                params=[symbol],
            ).pl()
            spans = (
                con.sql(
                    f"SELECT timeframe, count(*) AS rows, min(ts) AS first, max(ts) AS last "
                    f"FROM {table} WHERE symbol = $1 GROUP BY timeframe ORDER BY timeframe",
                    params=[symbol],
                ).pl()
                if "timeframe" in schema
                else None
            )
        metadata = {
            **write_metadata(result),
            "items_total": dg.MetadataValue.int(len(items)),
            "items_loaded": dg.MetadataValue.int(len(frames)),
            "items_unchanged": dg.MetadataValue.int(len(items) - len(todo)),
            "items_failed": dg.MetadataValue.int(len(failures)),
            "preview": preview(latest.sort("ts")),
        }
        if spans is not None:
            metadata["coverage"] = coverage_from_stats(spans)
        if failures:
            metadata["failures"] = dg.MetadataValue.json(failures)
        check = dg.AssetCheckResult(
            check_name=SOURCES_LOADED,
            passed=not failures,
            severity=dg.AssetCheckSeverity.ERROR,
            metadata={"failed": len(failures), "failures": dg.MetadataValue.json(failures)},
        )
        return dg.MaterializeResult(
            metadata=metadata,
            data_version=dg.DataVersion(result.data_version),
            check_results=[check],
        )

    return _ingest


raw_bars = build_ingestion_asset(
    "bars", "OHLCV bars as the sources deliver them (every timeframe), one partition per symbol."
)
raw_ticks = build_ingestion_asset("ticks", "Trade ticks, one partition per symbol.")
raw_quotes = build_ingestion_asset(
    "quotes", "Best bid/ask quote updates, one partition per symbol."
)
raw_quote_bars = build_ingestion_asset(
    "quote_bars", "Bid/ask OHLC quote bars (QuantConnect Lean quote files), per symbol."
)

INGESTION_ASSETS = [raw_bars, raw_ticks, raw_quotes, raw_quote_bars]
