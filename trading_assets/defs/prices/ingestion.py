"""Ingestion assets ``raw/source_bars``, ``raw/ticks``, ``raw/quotes`` and ``raw/quote_bars``.

Each is partitioned by symbol. A materialization lists the symbol's source items, skips those
whose fingerprint matches the last successful ingest, loads the rest one by one (a bad file is
recorded and skipped; the good ones still land), and upserts the rows and the bookkeeping in
ONE DuckDB transaction. The data version is a hash of the symbol's stored rows, so a run that
finds nothing new reports the same version and nothing downstream becomes stale.
"""

from collections.abc import Iterator
from typing import Any

import dagster as dg

from trading_assets import schemas
from trading_assets.defs.keys import RAW_KEYS
from trading_assets.defs.metadata import (
    coverage_from_stats,
    no_source_check,
    preview,
    write_metadata,
)
from trading_assets.defs.no_source import no_source_why
from trading_assets.defs.ops.meter import metered
from trading_assets.defs.partitions import SYMBOLS
from trading_assets.defs.prices.resources import PriceSourcesResource
from trading_assets.defs.resources import WarehouseResource
from trading_assets.home import DUCKDB_WRITER_POOL
from trading_assets.sources.ingest import load_new_items
from trading_assets.sources.states import MAX_BAD_ROW_SHARE
from trading_assets.warehouse.prices import known_fingerprints, write_ingest

SOURCES_LOADED = "sources_loaded"


class IngestConfig(dg.Config):
    """Per-run knobs of an ingestion asset."""

    force: bool = False
    """Re-read every source item even if its fingerprint is unchanged."""
    max_bad_row_share: float = MAX_BAD_ROW_SHARE
    """A file with more bad rows than this share is rejected whole; with fewer, its good rows
    land and the bad ones are set aside in ops.rejected_rows."""
    stop_when_unchanged: bool = False
    """When the items read change no stored row and none failed (a file delivered again),
    report the ``sources_loaded`` check but no materialization, so that the assets below in
    the same run are skipped (``trading-assets refresh`` runs a new bar's ingestion and
    everything below it as one run)."""


def sources_loaded(batch: Any, symbol: str, no_source: str | None) -> dg.AssetCheckResult:
    """The ``sources_loaded`` check of one partition's ingestion (``batch``: what
    :func:`~trading_assets.sources.ingest.load_new_items` loaded): its counts as numbers and
    the partition; with ``no_source`` (why there is none) it says so rather than pass."""
    figures = {
        "failed": len(batch.failures), "items_total": batch.items_total,
        "items_loaded": batch.items_loaded, "failures": dg.MetadataValue.json(batch.failures),
        "partition": dg.MetadataValue.text(symbol),
    }  # fmt: skip
    if no_source:
        return no_source_check(SOURCES_LOADED, no_source, figures)
    return dg.AssetCheckResult(
        check_name=SOURCES_LOADED,
        passed=batch.all_loaded,
        severity=dg.AssetCheckSeverity.ERROR if batch.rejected else dg.AssetCheckSeverity.WARN,
        metadata=figures,
    )


def build_ingestion_asset(kind: str, description: str) -> dg.AssetsDefinition:
    """The ingestion asset ``raw/<kind>`` for one canonical row kind (see ``schemas.KINDS``).

    Raises:
        KeyError: an unknown ``kind``.
    """
    if kind not in schemas.KINDS:
        raise KeyError(f"unknown row kind {kind!r}; known: {sorted(schemas.KINDS)}")
    table = f"raw.{kind}"
    asset_key = RAW_KEYS[kind]

    @dg.asset(
        key=asset_key,
        description=description,
        partitions_def=SYMBOLS,
        group_name="prices",
        kinds={"duckdb", "polars"},
        pool=DUCKDB_WRITER_POOL,
        output_required=False,  # see IngestConfig.stop_when_unchanged
        check_specs=[
            dg.AssetCheckSpec(
                SOURCES_LOADED,
                asset=asset_key,
                description="Every source item of the partition read this run landed whole: "
                "fails with ERROR when one was rejected, WARN when one landed only partly; "
                "says `no source` (not a pass) when the profile has none for the partition.",
            )
        ],
        metadata={"table": table},
    )
    @metered
    def _ingest(
        context: dg.AssetExecutionContext,
        config: IngestConfig,
        warehouse: WarehouseResource,
        price_sources: PriceSourcesResource,
    ) -> Iterator[dg.MaterializeResult | dg.AssetCheckResult]:
        symbol = context.partition_key
        with warehouse.connect() as con:
            known = {} if config.force else known_fingerprints(con, kind, symbol)
        batch = load_new_items(
            price_sources.items([symbol]), kind, known, max_bad_row_share=config.max_bad_row_share
        )
        for failure in batch.failures:
            context.log.warning(
                f"{symbol}: {failure['state']} {failure['origin']}: {failure['reason']}"
            )
        with warehouse.connect() as con:
            written = write_ingest(
                con, kind, symbol, batch.rows, batch.items, batch.rejected_rows, batch.actions
            )
        no_source = None
        if batch.items_total == 0 and written.result.rows == 0:
            no_source = no_source_why(kind, symbol, price_sources.profile)
        metadata = {
            **write_metadata(written.result, no_source),
            "items_total": dg.MetadataValue.int(batch.items_total),
            "items_loaded": dg.MetadataValue.int(batch.items_loaded),
            "items_unchanged": dg.MetadataValue.int(batch.items_unchanged),
            "items_failed": dg.MetadataValue.int(len(batch.failures)),
            "rows_set_aside": dg.MetadataValue.int(batch.rejected_rows.height),
            "preview": preview(written.latest.sort("ts")),
        }
        if written.spans is not None:
            metadata["coverage"] = coverage_from_stats(written.spans)
        if batch.failures:
            metadata["failures"] = dg.MetadataValue.json(batch.failures)
        check = sources_loaded(batch, symbol, no_source)
        if config.stop_when_unchanged and not written.result.changed and not batch.failures:
            yield check  # same rows as stored: nothing below has anything new to read
            return
        yield dg.MaterializeResult(
            metadata=metadata,
            data_version=dg.DataVersion(written.result.data_version),
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
