"""``ops/source_files``: the state of every file in the data folder and the inbox.

Runs after the ingestion assets (it depends on them): records in ``ops.source_items`` the
files no symbol owns (ignored by rule, or of unknown symbol), and reports every file's state
(landed, partly landed, rejected, ignored) with the reason and the fix of each problem file.
Its check fails with ERROR when a file was rejected, WARN when one landed only partly.
"""

from datetime import UTC, datetime

import dagster as dg

from trading_assets.defs.keys import SOURCE_FILES
from trading_assets.defs.metadata import markdown_rows, write_metadata
from trading_assets.defs.ops.meter import metered
from trading_assets.defs.prices.ingestion import INGESTION_ASSETS
from trading_assets.defs.prices.resources import PriceSourcesResource
from trading_assets.defs.resources import WarehouseResource
from trading_assets.home import DUCKDB_WRITER_POOL
from trading_assets.sources.inventory import FILE_KIND, file_report, unowned_rows
from trading_assets.warehouse.prices import read_source_items, write_unowned_files

EVERY_FILE_LANDED = "every_file_landed"


@dg.asset(
    key=SOURCE_FILES,
    description="The state of every file in the data folder and the inbox (landed, partly "
    "landed, rejected, ignored by rule), with the reason and fix of each problem file.",
    deps=[a.key for a in INGESTION_ASSETS],
    group_name="prices",
    kinds={"duckdb"},
    pool=DUCKDB_WRITER_POOL,
    automation_condition=dg.AutomationCondition.eager(),
    check_specs=[
        dg.AssetCheckSpec(
            EVERY_FILE_LANDED,
            asset=SOURCE_FILES,
            description="Every file landed whole or was ignored by rule: fails with ERROR "
            "when one was rejected (or its symbol is unknown), WARN when one landed partly.",
        )
    ],
    metadata={"table": "ops.source_items"},
)
@metered
def source_files(
    context: dg.AssetExecutionContext,
    warehouse: WarehouseResource,
    price_sources: PriceSourcesResource,
) -> dg.MaterializeResult:
    listing = price_sources.listing()
    with warehouse.connect() as con:
        result = write_unowned_files(con, unowned_rows(listing, datetime.now(UTC)), FILE_KIND)
        report = file_report(listing, read_source_items(con))
    for line in report.problem_lines():
        context.log.warning(line)
    problems = [p.as_dict() for p in report.problems]
    error = report.severity == "ERROR"
    return dg.MaterializeResult(
        metadata={
            **write_metadata(result),
            "summary": dg.MetadataValue.text(report.count_line()),
            "files_by_state": dg.MetadataValue.json(report.counts),
            "problems": markdown_rows(problems),
        },
        data_version=dg.DataVersion(result.data_version),
        check_results=[
            dg.AssetCheckResult(
                check_name=EVERY_FILE_LANDED,
                passed=not problems,
                severity=dg.AssetCheckSeverity.ERROR if error else dg.AssetCheckSeverity.WARN,
                metadata={"problems": dg.MetadataValue.json(problems), **report.counts},
            )
        ],
    )
