"""SQL models (``dbt_like_sql/<schema>/<table>.sql``) as Dagster assets.

Each model becomes the asset ``<schema>/<table>``; its deps are the assets producing the
tables its query reads (found by ``sqlglot`` in :mod:`trading_assets.sql_models`). A table's
producer is the asset whose ``table`` metadata names it (``staging/bars`` has
``{"table": "staging.bars"}``), else the asset whose key is ``[schema, table]``, else another
SQL model. The code version is the hash of the SQL text, so editing one file makes that model
and its descendants stale, nothing else.

A model reading a table that no asset produces (``signals.signals`` before the signals asset
exists, ``raw.news`` without the news pipeline) is not turned into an asset: it is listed in
:data:`SKIPPED` with the reason, and appears by itself once a producer is defined. This keeps
every defined asset materializable (the main job runs them all) instead of shipping assets
that can only fail.
"""

import logging
from collections.abc import Sequence
from pathlib import Path

import dagster as dg
import polars as pl

from trading_assets.defs.metadata import preview, write_metadata
from trading_assets.defs.ops.meter import metered
from trading_assets.defs.recorded import recorded_data_version
from trading_assets.defs.resources import WarehouseResource
from trading_assets.home import DUCKDB_WRITER_POOL, ProjectHome
from trading_assets.sql_models import (
    SqlModel,
    SqlModelError,
    load_models,
    materialize_model,
    resolve,
)
from trading_assets.warehouse.catalog import table_exists

#: table -> why the model was not built (filled by :func:`sql_model_assets`)
SKIPPED: dict[str, str] = {}
_LOG = logging.getLogger(__name__)


def produced_tables(assets: Sequence[dg.AssetsDefinition]) -> dict[str, dg.AssetKey]:
    """``schema.table`` -> key of the asset producing it (``table`` metadata, else a key of
    two parts)."""
    out: dict[str, dg.AssetKey] = {}
    for assets_def in assets:
        for spec in assets_def.specs:
            table = (spec.metadata or {}).get("table")
            table = getattr(table, "value", table)
            if table is None and len(spec.key.path) == 2:
                table = ".".join(spec.key.path)
            if isinstance(table, str):
                out[table.lower()] = spec.key
    return out


#: asset group (pipeline stage) of a SQL model, by the schema it writes
STAGE_OF_SCHEMA = {"staging": "prices", "raw": "prices"}


def build_model_asset(model: SqlModel, deps: Sequence[dg.AssetKey]) -> dg.AssetsDefinition:
    """The asset building ``model`` into its table."""
    key = dg.AssetKey([model.schema, model.name])

    @dg.asset(
        key=key,
        description=model.description or f"SQL model {model.path.name}",
        deps=list(deps),
        group_name=STAGE_OF_SCHEMA.get(model.schema, model.schema),
        kinds={"duckdb", "sql"},
        pool=DUCKDB_WRITER_POOL,
        code_version=model.code_version,
        automation_condition=dg.AutomationCondition.eager(),
        metadata={
            "table": model.table,
            "sql_file": str(
                model.path.name
                if not model.path.parent.name
                else f"{model.path.parent.name}/{model.path.name}"
            ),
            "upstream_tables": list(model.upstream),
        },
    )
    @metered
    def _model(context: dg.AssetExecutionContext, warehouse: WarehouseResource):
        with warehouse.connect() as con:
            result = materialize_model(con, model, recorded_data_version(context))
            sample = (
                con.sql(f"SELECT * FROM {model.table} LIMIT 5").pl()
                if table_exists(con, model.table)
                else pl.DataFrame()
            )
        missing = {}
        if result.missing:
            missing["missing"] = f"not built: {', '.join(result.missing)} does not exist yet"
            context.log.warning(f"{model.table} {missing['missing']}")
        return dg.MaterializeResult(
            metadata={
                **write_metadata(result.write),
                "sql": dg.MetadataValue.md(f"```sql\n{model.sql}\n```"),
                "preview": preview(sample.select(sample.columns[:8]), n=5),
                **missing,
            },
            data_version=dg.DataVersion(result.data_version),
        )

    return _model


def build_sql_model_assets(
    upstream: Sequence[dg.AssetsDefinition], sql_dir: str | Path | None = None
) -> tuple[list[dg.AssetsDefinition], dict[str, str]]:
    """Assets for the models in ``sql_dir`` whose upstream tables ``upstream`` (or other models)
    produce, and ``{table: reason}`` for the skipped ones.

    Raises:
        SqlModelError: a model file breaks the rules, or builds a table an asset already owns.
    """
    cache = ProjectHome.from_env().root / "cache" / "sql_models.json"
    models = load_models(sql_dir, cache_file=cache)
    producers = produced_tables(upstream)
    for model in models:
        if model.table in producers:
            owner = producers[model.table].to_user_string()
            raise SqlModelError(model.path, f"{model.table} is already produced by asset {owner}")
    buildable, skipped = resolve(models, producers)
    keys = {**producers, **{m.table: dg.AssetKey([m.schema, m.name]) for m in buildable}}
    assets = [build_model_asset(m, [keys[u] for u in m.upstream]) for m in buildable]
    return assets, skipped


def sql_model_assets(
    upstream: Sequence[dg.AssetsDefinition], sql_dir: str | Path | None = None
) -> list[dg.AssetsDefinition]:
    """:func:`build_sql_model_assets`, recording the skipped models in :data:`SKIPPED`."""
    assets, skipped = build_sql_model_assets(upstream, sql_dir)
    SKIPPED.clear()
    SKIPPED.update(skipped)
    for table, reason in sorted(skipped.items()):
        _LOG.info("SQL model %s not built: %s", table, reason)
    return assets
