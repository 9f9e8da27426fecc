"""SQL models: ``dbt_like_sql/<schema>/<table>.sql`` files, each one SELECT, built into DuckDB.

Rules (enforced by :func:`parse_model`, errors name the file and line):

- one file per model; the file name is the table name and the folder the schema, so
  ``dbt_like_sql/features/training_table.sql`` builds ``features.training_table``; names are
  lower-case identifiers (``[a-z_][a-z0-9_]*``) and the folder is exactly one level deep;
- the file holds exactly one query (``SELECT``, ``WITH ... SELECT``, set operations), comments
  allowed, an optional trailing ``;``; no DDL or DML;
- the tables it reads are found by parsing the query with ``sqlglot`` (DuckDB dialect; common
  table expressions and table functions such as ``read_parquet`` are not tables), and every
  table must be written ``schema.table``; they become the model's upstream dependencies;
- the model's code version is a hash of the file's text, so editing a file makes exactly that
  model (and what depends on it) stale;
- the leading ``--`` comment lines are the model's description, except the directive lines
  ``-- unique_key: col, col, ...`` (dbt's term): the columns that identify a row, and
  ``-- partition_by: col, ...``: columns of the key, present in every table the query reads,
  such that a result row depends only on the upstream rows with the same values in them
  (true of joins ``USING`` the key, not of windows across symbols).

:func:`materialize_model` runs the query into a temporary table inside one transaction and
replaces the model's table only when the content changed (same data version otherwise). A
model with a ``unique_key`` is maintained *incrementally*: only the rows of keys whose rows
changed are deleted and re-inserted (a new bar touches a few rows of a table of hundreds of
thousands), with the same resulting content and data version as a full replacement; the
table's physical row order is then not the query's ``ORDER BY``, so readers sort.

A model with a ``partition_by`` as well skips even hashing the partitions nothing changed:
each build fingerprints its upstream tables per partition (row count and XOR of row hashes,
one grouped scan each), compares them with the fingerprints stored by the last build in
``ops.sql_model_partitions`` (with the result's own per-partition fingerprints, the model's
code version and this module's source), and runs the query for the changed partitions only.
Its data version is combined from the stored per-partition fingerprints: the same value a
whole rewrite would have. A first build, a new code version (of the SQL or of this module)
or new result columns build every partition.

A DuckDB error is re-raised as :class:`SqlModelError` with the file and the line DuckDB points
at. This module never imports Dagster; ``trading_assets.defs.sql_models`` turns models into
assets.
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import duckdb

from trading_assets import settings
from trading_assets.errors import TradingAssetsError
from trading_assets.warehouse.catalog import table_columns
from trading_assets.warehouse.writes import (
    WriteResult,
    content_version,
    rows_version,
    transaction,
)

#: environment variable naming another folder of SQL models (read when models are loaded)
SQL_DIR_ENV = settings.SQL_DIR.name
_IDENT = re.compile(r"^[a-z_][a-z0-9_]*$")
_DUCKDB_LINE = re.compile(r"LINE (\d+):")
_TEMP = "__sql_model_result"
#: the header directive naming a model's key columns
UNIQUE_KEY = "unique_key"
#: the header directive naming the key columns a result row's inputs share (see module docs)
PARTITION_BY = "partition_by"
_DIRECTIVES = (UNIQUE_KEY, PARTITION_BY)
#: per-partition fingerprints of the upstream tables and result of partitioned models
PARTITIONS_TABLE = "ops.sql_model_partitions"
#: ``source`` of the result's own fingerprints in :data:`PARTITIONS_TABLE`
_RESULT = ""


class SqlModelError(TradingAssetsError):
    """A SQL model that cannot be loaded or built.

    Attributes:
        path: the ``.sql`` file.
        line: 1-based line in that file, or None when the error has no position.
        reason: what is wrong.
    """

    def __init__(self, path: str | Path, reason: str, line: int | None = None) -> None:
        self.path = Path(path)
        self.line = line
        self.reason = reason
        where = f"{self.path}:{line}" if line else str(self.path)
        super().__init__(f"{where}: {reason}")


@dataclass(frozen=True)
class SqlModel:
    """One parsed SQL model.

    Attributes:
        path: the ``.sql`` file.
        schema / name: the table it builds (``schema.name``).
        sql: the file's text.
        body: the query without a trailing ``;``.
        upstream: tables the query reads, ``schema.table``, sorted.
        description: the leading comment lines, joined (without directives).
    """

    path: Path
    schema: str
    name: str
    sql: str
    body: str
    upstream: tuple[str, ...]
    description: str

    @property
    def table(self) -> str:
        return f"{self.schema}.{self.name}"

    @property
    def unique_key(self) -> tuple[str, ...]:
        """Columns of the ``-- unique_key: a, b`` directive (empty: replaced whole)."""
        return _directive(self.sql, UNIQUE_KEY)

    @property
    def partition_by(self) -> tuple[str, ...]:
        """Columns of the ``-- partition_by: a, b`` directive (empty: not partitioned)."""
        return _directive(self.sql, PARTITION_BY)

    @property
    def code_version(self) -> str:
        """sha256 of the file's text (12 hex digits)."""
        return hashlib.sha256(self.sql.encode()).hexdigest()[:12]


def default_sql_dir() -> Path:
    """``$TRADING_SQL_DIR`` if set, else ``dbt_like_sql/`` at the repository root (a checkout
    or editable install), else the copy a wheel ships inside the package."""
    env = os.environ.get(SQL_DIR_ENV)
    if env:
        return Path(env).expanduser().resolve()
    here = Path(__file__).resolve().parent
    checkout = here.parent / "dbt_like_sql"
    return checkout if checkout.is_dir() else here / "dbt_like_sql"


def _header(sql: str) -> list[str]:
    """The leading ``--`` comment lines, without the dashes."""
    lines = []
    for line in sql.splitlines():
        stripped = line.strip()
        if not stripped:
            if lines:
                break
            continue
        if not stripped.startswith("--"):
            break
        lines.append(stripped[2:].strip())
    return lines


def _directive(sql: str, name: str) -> tuple[str, ...]:
    """The columns of the header directive ``-- <name>: a, b`` (empty when absent)."""
    for line in _header(sql):
        directive, _, value = line.partition(":")
        if directive.strip().lower() == name:
            return tuple(c.strip() for c in value.split(",") if c.strip())
    return ()


def _description(sql: str) -> str:
    return " ".join(
        line for line in _header(sql) if line.partition(":")[0].strip().lower() not in _DIRECTIVES
    )


def _strip_semicolon(sql: str, path: Path) -> str:
    """The query text without its trailing ``;`` (and anything but comments after it)."""
    from sqlglot.dialects.duckdb import DuckDB
    from sqlglot.errors import TokenError
    from sqlglot.tokens import TokenType

    try:
        tokens = DuckDB().tokenize(sql)
    except TokenError as exc:
        raise SqlModelError(path, f"cannot tokenize: {exc}") from exc
    if tokens and tokens[-1].token_type == TokenType.SEMICOLON:
        return sql[: tokens[-1].start]
    return sql


def _cache_key(schema: str, name: str, sql: str) -> str:
    from importlib.metadata import version

    return hashlib.sha256(f"{version('sqlglot')}|{schema}.{name}|{sql}".encode()).hexdigest()


def parse_model(path: str | Path, root: str | Path, cache: dict | None = None) -> SqlModel:
    """Parse and validate one model file (see the module docstring for the rules).

    ``cache`` (a dict, e.g. loaded from :func:`load_models`' cache file) maps a hash of the
    file's text and the parser version to its parsed ``upstream`` and ``body``: a file parsed
    before is not parsed again (sqlglot is not even imported), so loading the code location
    stays fast. Only valid models are cached.

    Raises:
        SqlModelError: naming the file and, where known, the line.
    """
    path, root = Path(path), Path(root)
    relative = path.relative_to(root)
    if len(relative.parts) != 2:
        raise SqlModelError(path, "a model must sit in <sql dir>/<schema>/<table>.sql")
    schema, name = relative.parts[0], path.stem
    for ident, what in ((schema, "schema folder"), (name, "file name")):
        if not _IDENT.match(ident):
            raise SqlModelError(path, f"{what} {ident!r} is not a lower-case SQL identifier")
    try:
        sql = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise SqlModelError(path, f"cannot read: {exc}") from exc
    key = _cache_key(schema, name, sql) if cache is not None else ""
    if cache is not None and key in cache:
        upstream, body = cache[key]
        return SqlModel(path, schema, name, sql, body, tuple(upstream), _description(sql))
    model = _parse(path, schema, name, sql)
    if cache is not None:
        cache[key] = [list(model.upstream), model.body]
    return model


def _parse(path: Path, schema: str, name: str, sql: str) -> SqlModel:
    import sqlglot
    from sqlglot import exp
    from sqlglot.errors import ParseError

    try:
        statements = [s for s in sqlglot.parse(sql, read="duckdb") if s is not None]
    except ParseError as exc:
        first = exc.errors[0] if exc.errors else {}
        raise SqlModelError(path, first.get("description", str(exc)), first.get("line")) from exc
    if len(statements) != 1:
        raise SqlModelError(
            path, f"expected exactly one SELECT, found {len(statements)} statements"
        )
    query = statements[0]
    if not isinstance(query, exp.Query):
        raise SqlModelError(path, f"expected a SELECT query, found {query.key.upper()}")
    ctes = {cte.alias_or_name.lower() for cte in query.find_all(exp.CTE)}
    upstream = set()
    for table in query.find_all(exp.Table):
        if not isinstance(table.this, exp.Identifier):
            continue  # a table function: read_parquet(...), range(...)
        if not table.db:
            if table.name.lower() in ctes:
                continue
            line = table.this.meta.get("line")
            raise SqlModelError(
                path, f"table {table.name!r} has no schema: write schema.table", line
            )
        upstream.add(f"{table.db.lower()}.{table.name.lower()}")
    if f"{schema}.{name}" in upstream:
        raise SqlModelError(path, f"the model reads its own table {schema}.{name}")
    return SqlModel(
        path=path,
        schema=schema,
        name=name,
        sql=sql,
        body=_strip_semicolon(sql, path),
        upstream=tuple(sorted(upstream)),
        description=_description(sql),
    )


def load_models(
    root: str | Path | None = None, cache_file: str | Path | None = None
) -> list[SqlModel]:
    """Every model under ``root`` (default :func:`default_sql_dir`), sorted by table name.

    ``cache_file``: a JSON file remembering parsed models (see :func:`parse_model`); written
    atomically when something new was parsed, ignored when unreadable.

    Raises:
        SqlModelError: a file breaks the rules (the first one found), or two files build the
            same table.
    """
    root = Path(root) if root is not None else default_sql_dir()
    if not root.is_dir():
        return []
    cache: dict | None = None
    if cache_file is not None:
        cache_file = Path(cache_file)
        try:
            cache = json.loads(cache_file.read_text())
        except (OSError, ValueError):
            cache = {}
    before = dict(cache) if cache is not None else None
    models = [parse_model(p, root, cache) for p in sorted(root.rglob("*.sql"))]
    if cache_file is not None and cache != before:
        cache_file.parent.mkdir(parents=True, exist_ok=True)
        partial = cache_file.with_suffix(f".{os.getpid()}.tmp")
        partial.write_text(json.dumps(cache))
        partial.replace(cache_file)
    seen: dict[str, Path] = {}
    for model in models:
        if model.table in seen:
            raise SqlModelError(model.path, f"{model.table} is also built by {seen[model.table]}")
        seen[model.table] = model.path
    return sorted(models, key=lambda m: m.table)


def resolve(
    models: Iterable[SqlModel], produced: Iterable[str]
) -> tuple[list[SqlModel], dict[str, str]]:
    """Split ``models`` into those whose upstream tables all have a producer and the rest.

    Args:
        models: parsed models.
        produced: tables that some (non-SQL) asset produces, ``schema.table``.

    Returns:
        ``(buildable, skipped)``: buildable models in dependency order (a model's upstream
        models first); ``skipped`` maps a table to the reason it is not built (the upstream
        tables nothing produces, possibly through another skipped model).

    Raises:
        SqlModelError: models that read each other in a cycle.
    """
    pending = {m.table: m for m in models}
    available = {t.lower() for t in produced}
    ordered: list[SqlModel] = []
    while True:
        ready = [m for m in pending.values() if all(u in available for u in m.upstream)]
        if not ready:
            break
        for model in sorted(ready, key=lambda m: m.table):
            ordered.append(model)
            available.add(model.table)
            del pending[model.table]
    skipped: dict[str, str] = {}
    for model in pending.values():
        absent = [u for u in model.upstream if u not in available and u not in pending]
        waiting = [u for u in model.upstream if u in pending]
        reasons = []
        if absent:
            reasons.append("no asset produces " + ", ".join(absent))
        if waiting:
            reasons.append("reads skipped models " + ", ".join(waiting))
        skipped[model.table] = "; ".join(reasons)
    blocked = {
        t
        for t, m in pending.items()
        if any(u not in available and u not in pending for u in m.upstream)
    }
    changed = True
    while changed:  # models waiting (transitively) on an absent table are explained; the rest cycle
        changed = False
        for table, model in pending.items():
            if table not in blocked and any(u in blocked for u in model.upstream):
                blocked.add(table)
                changed = True
    cyclic = sorted(set(pending) - blocked)
    if cyclic:
        raise SqlModelError(pending[cyclic[0]].path, f"models read each other in a cycle: {cyclic}")
    return ordered, skipped


@dataclass(frozen=True)
class ModelResult:
    """What :func:`materialize_model` did: rows and data version after the build, rows
    before it (0 if the table was new), whether the stored table changed, and the upstream
    tables that did not exist (the model was then not built). An incremental build (a model
    with a ``unique_key``) also says how many rows it ``deleted`` and ``inserted``."""

    rows: int
    data_version: str
    previous_rows: int
    changed: bool
    missing: tuple[str, ...] = ()
    deleted: int | None = None
    inserted: int | None = None

    @property
    def write(self) -> WriteResult:
        """The build as a write: rows inserted and deleted (a table replaced whole counts
        every new row inserted and every old row deleted); an unchanged one counts nothing."""
        whole = self.deleted is None
        return WriteResult(
            inserted=(self.rows if whole else self.inserted) if self.changed else 0,
            updated=0,
            deleted=(self.previous_rows if whole else self.deleted) if self.changed else 0,
            rows=self.rows,
            data_version=self.data_version,
        )


def materialize_model(
    con: duckdb.DuckDBPyConnection, model: SqlModel, trusted_version: str | None = None
) -> ModelResult:
    """Build ``model`` in one transaction; the table is replaced only if its content changed.

    A model with a ``unique_key`` whose stored table has the result's columns is merged
    (:func:`_merge_changed_keys`): its query is hashed row by row without storing the
    result, and only the rows of the keys that changed are rewritten.

    A model with a ``partition_by`` compares per-partition fingerprints stored by its last
    build; ``trusted_version``, when given, is the data version the caller recorded for that
    build: fingerprints stored with another result version (the table was built by other code
    since, say an older checkout) are not trusted, and every partition is compared.

    A model reading a table that does not exist yet (no symbol produced features, say) is not
    built: the result names the missing tables in ``missing``, and the stored table, if any,
    is kept as it is.

    Raises:
        SqlModelError: DuckDB rejected the query (the file and DuckDB's line are named).
    """
    missing = tuple(t for t in model.upstream if not table_columns(con, t))
    if missing:
        rows, version = 0, "missing"
        if table_columns(con, model.table):
            rows, version = content_version(con, model.table)
        return ModelResult(rows, version, rows, False, missing)
    with transaction(con):
        # the result's columns, from an empty result (cheap)
        _execute(
            con, model, f"CREATE OR REPLACE TEMP TABLE {_TEMP} AS SELECT * FROM (", ") LIMIT 0"
        )
        con.execute(f"CREATE SCHEMA IF NOT EXISTS {model.schema}")
        old_columns = table_columns(con, model.table)
        new_columns = table_columns(con, _TEMP, temp=True)
        absent = sorted(set(model.unique_key) - {name for name, _ in new_columns})
        if absent:
            raise SqlModelError(model.path, f"unique_key column(s) {absent} not in the result")
        _check_partition_by(con, model)
        if not (model.unique_key and model.partition_by):
            _forget_partitions(con, model)  # fingerprints of an earlier text are no longer true
        if model.unique_key and old_columns == new_columns:
            con.execute(f"DROP TABLE {_TEMP}")
            if model.partition_by:
                return _merge_changed_partitions(con, model, trusted_version)
            return _merge_changed_keys(con, model)
        _execute(con, model, f"CREATE OR REPLACE TEMP TABLE {_TEMP} AS (", ")")
        rows, version = content_version(con, f"temp.main.{_TEMP}")
        previous_rows, previous_version = 0, None
        if old_columns:
            previous_rows, previous_version = content_version(con, model.table)
        same = old_columns == new_columns and (previous_version == version)
        if not same:
            con.execute(f"CREATE OR REPLACE TABLE {model.table} AS SELECT * FROM {_TEMP}")
        con.execute(f"DROP TABLE {_TEMP}")
        if model.unique_key and model.partition_by:  # what the next build compares with
            _remember_partitions(con, model)
    return ModelResult(rows, version, previous_rows, not same)


def _execute(
    con: duckdb.DuckDBPyConnection,
    model: SqlModel,
    before: str,
    after: str,
    params: list | None = None,
) -> duckdb.DuckDBPyConnection:
    """Run ``before + model.body + after`` (with ``params`` for placeholders in ``after``);
    "(" ends ``before`` on the body's first line, so DuckDB's line numbers are the file's.

    Raises:
        SqlModelError: DuckDB rejected it (the file and DuckDB's line are named).
    """
    try:
        return con.execute(before + model.body + "\n" + after, params or [])
    except duckdb.Error as exc:
        # not chained: runners report the innermost cause, which must name the file
        message = str(exc).strip()
        match = _DUCKDB_LINE.search(message)
        line = int(match.group(1)) if match else None
        raise SqlModelError(model.path, message, line) from None


def _merge_changed_keys(
    con: duckdb.DuckDBPyConnection,
    model: SqlModel,
    within: tuple[str, list] = ("true", []),
) -> ModelResult:
    """Bring ``model.table`` to the content of ``model``'s query by deleting and re-inserting
    the rows of the keys whose rows differ (as multisets of row hashes, so a key held by
    several rows is still exact). The query runs twice: hashed row by row (its result is not
    stored), then for the changed keys' rows only. Runs inside the caller's transaction (one
    snapshot for both); the data version is computed from the same row hashes as
    :func:`content_version`: the version a whole rewrite would have.

    ``within``: a predicate on ``t`` (the query's and the table's rows) and its parameters;
    only the rows it selects are compared and rewritten, and the returned counts and data
    version are theirs."""
    key = ", ".join(f'"{c}"' for c in model.unique_key)
    on = " AND ".join(f't."{c}" IS NOT DISTINCT FROM k."{c}"' for c in model.unique_key)
    hashed = f"SELECT {key}, hash(t) AS __row_hash FROM"
    where, params = within
    _execute(
        con,
        model,
        f"CREATE OR REPLACE TEMP TABLE __sql_model_new AS {hashed} (",
        f") t WHERE {where}",
        params,
    )
    con.execute(
        f"CREATE OR REPLACE TEMP TABLE __sql_model_old AS {hashed} {model.table} t WHERE {where}",
        params,
    )
    (rows, digest), (previous_rows, previous_digest) = (
        con.execute(
            f"SELECT count(*), coalesce(bit_xor(__row_hash), 0) FROM __sql_model_{side}"
        ).fetchone()
        for side in ("new", "old")
    )
    version = rows_version(int(rows), int(digest))
    changed = (rows, digest) != (previous_rows, previous_digest)
    deleted = inserted = 0
    if changed:
        con.execute(
            f"CREATE OR REPLACE TEMP TABLE __sql_model_keys AS SELECT DISTINCT {key} FROM ("
            "(SELECT * FROM __sql_model_new EXCEPT ALL SELECT * FROM __sql_model_old) UNION ALL "
            "(SELECT * FROM __sql_model_old EXCEPT ALL SELECT * FROM __sql_model_new))"
        )
        deleted = con.execute(
            f"DELETE FROM {model.table} AS t USING __sql_model_keys AS k WHERE {on}"
        ).fetchall()[0][0]
        inserted = _execute(
            con,
            model,
            f"INSERT INTO {model.table} SELECT t.* FROM (",
            f") t SEMI JOIN __sql_model_keys AS k ON {on} WHERE {where}",
            params,
        ).fetchall()[0][0]
        con.execute("DROP TABLE __sql_model_keys")
    for side in ("new", "old"):
        con.execute(f"DROP TABLE __sql_model_{side}")
    counts = {"deleted": int(deleted), "inserted": int(inserted)}
    return ModelResult(int(rows), version, int(previous_rows), changed, **counts)


#: a partition's fingerprint: its row count and the XOR of its rows' hashes
Fingerprint = tuple[int, int]


def _check_partition_by(con: duckdb.DuckDBPyConnection, model: SqlModel) -> None:
    """Raises SqlModelError when ``partition_by`` is not part of the ``unique_key`` or an
    upstream table lacks one of its columns."""
    if not model.partition_by:
        return
    outside = sorted(set(model.partition_by) - set(model.unique_key))
    if outside:
        raise SqlModelError(model.path, f"partition_by column(s) {outside} not in the unique_key")
    for table in model.upstream:
        have = {name for name, _ in table_columns(con, table)}
        lacking = [c for c in model.partition_by if c not in have]
        if lacking:
            raise SqlModelError(model.path, f"partition_by column(s) {lacking} not in {table}")


def _fingerprints(
    con: duckdb.DuckDBPyConnection,
    table: str,
    columns: tuple[str, ...],
    within: tuple[str, list] = ("true", []),
) -> dict[str, Fingerprint]:
    """Partition (its ``columns``' values as JSON) -> fingerprint, over the rows of ``table``
    that ``within`` (a predicate on ``t`` and its parameters) selects."""
    cols = ", ".join(f'"{c}"' for c in columns)
    where, params = within
    rows = con.execute(
        f"SELECT {cols}, count(*), coalesce(bit_xor(hash(t)), 0) FROM {table} t "
        f"WHERE {where} GROUP BY {cols}",
        params,
    ).fetchall()
    return {_partition_id(r[:-2]): (int(r[-2]), int(r[-1])) for r in rows}


def _partition_id(values: Iterable) -> str:
    return json.dumps([v if v is None else str(v) for v in values])


def _state_version(model: SqlModel) -> str:
    """What the stored fingerprints are valid for: the model's SQL text and this module's
    source (how fingerprints and merges are made)."""
    return f"{model.code_version}:{_module_digest()}"


@functools.cache
def _module_digest() -> str:
    return hashlib.sha256(Path(__file__).read_bytes()).hexdigest()[:12]


def _ensure_partitions_table(con: duckdb.DuckDBPyConnection) -> None:
    con.execute("CREATE SCHEMA IF NOT EXISTS ops")
    con.execute(
        f"CREATE TABLE IF NOT EXISTS {PARTITIONS_TABLE} (model VARCHAR, code_version VARCHAR, "
        "source VARCHAR, partition VARCHAR, rows BIGINT, digest UBIGINT)"
    )


def _forget_partitions(con: duckdb.DuckDBPyConnection, model: SqlModel) -> None:
    if table_columns(con, PARTITIONS_TABLE):
        con.execute(f"DELETE FROM {PARTITIONS_TABLE} WHERE model = ?", [model.table])


def _stored_partitions(
    con: duckdb.DuckDBPyConnection, model: SqlModel
) -> dict[str, dict[str, Fingerprint]]:
    """Source table (``""``: the result) -> partition -> fingerprint, as the last build of
    this SQL text and module source stored them (empty when there is none)."""
    rows = con.execute(
        f"SELECT source, partition, rows, digest FROM {PARTITIONS_TABLE} "
        "WHERE model = ? AND code_version = ?",
        [model.table, _state_version(model)],
    ).fetchall()
    out: dict[str, dict[str, Fingerprint]] = {}
    for source, partition, rows_, digest in rows:
        out.setdefault(source, {})[partition] = (int(rows_), int(digest))
    return out


def _store_partitions(
    con: duckdb.DuckDBPyConnection,
    model: SqlModel,
    sources: dict[str, dict[str, Fingerprint]],
    only: list[str] | None = None,
) -> None:
    """Store ``sources``' fingerprints as the model's (all of them, or the ``only``
    partitions: the others are kept as stored)."""
    if only is None:
        _forget_partitions(con, model)
    else:
        con.execute(
            f"DELETE FROM {PARTITIONS_TABLE} WHERE model = ? AND list_contains(?, partition)",
            [model.table, only],
        )
    keep = None if only is None else set(only)
    rows = [
        [model.table, _state_version(model), source, partition, count, digest]
        for source, fingerprints in sources.items()
        for partition, (count, digest) in fingerprints.items()
        if keep is None or partition in keep
    ]
    if rows:
        con.executemany(f"INSERT INTO {PARTITIONS_TABLE} VALUES (?, ?, ?, ?, ?, ?)", rows)


def _remember_partitions(con: duckdb.DuckDBPyConnection, model: SqlModel) -> None:
    """Store the fingerprints of every partition of the upstream tables and the result."""
    _ensure_partitions_table(con)
    columns = model.partition_by
    sources = {table: _fingerprints(con, table, columns) for table in model.upstream}
    _store_partitions(con, model, {**sources, _RESULT: _fingerprints(con, model.table, columns)})


def _within(columns: tuple[str, ...], partitions: list[str]) -> tuple[str, list]:
    """A predicate on ``t`` selecting the rows of ``partitions`` (JSON ids), and its params."""
    terms, params = [], []
    for partition in partitions:
        parts = []
        for column, value in zip(columns, json.loads(partition), strict=True):
            if value is None:
                parts.append(f't."{column}" IS NULL')
            else:
                parts.append(f't."{column}" = ?')
                params.append(value)
        terms.append("(" + " AND ".join(parts) + ")")
    return " OR ".join(terms), params


def _merge_changed_partitions(
    con: duckdb.DuckDBPyConnection, model: SqlModel, trusted_version: str | None
) -> ModelResult:
    """:func:`_merge_changed_keys` for the partitions whose upstream fingerprints changed
    since the last build (every partition when there are no trusted fingerprints, see
    :func:`materialize_model`); stores the new fingerprints."""
    _ensure_partitions_table(con)
    columns = model.partition_by
    stored = _stored_partitions(con, model)
    untrusted = (
        _RESULT not in stored  # fingerprinted by other SQL or merge code, or never
        or (trusted_version is not None and _combined(stored[_RESULT])[1] != trusted_version)
    )
    if untrusted:
        result = _merge_changed_keys(con, model)
        _remember_partitions(con, model)
        return result
    upstream = {table: _fingerprints(con, table, columns) for table in model.upstream}
    changed = sorted(
        partition
        for table, now in upstream.items()
        for partition in set(now) | set(stored.get(table, {}))
        if now.get(partition) != stored.get(table, {}).get(partition)
    )
    before = stored[_RESULT]
    after = dict(before)
    deleted = inserted = 0
    if changed:
        within = _within(columns, changed)
        merged = _merge_changed_keys(con, model, within)
        deleted, inserted = merged.deleted or 0, merged.inserted or 0
        for partition in changed:
            after.pop(partition, None)
        after.update(_fingerprints(con, model.table, columns, within))
        _store_partitions(con, model, {**upstream, _RESULT: after}, only=changed)
    rows, version = _combined(after)
    previous_rows, previous_version = _combined(before)
    return ModelResult(
        rows, version, previous_rows, version != previous_version, (), deleted, inserted
    )


def _combined(fingerprints: dict[str, Fingerprint]) -> tuple[int, str]:
    """Rows and data version of a table from its partitions' fingerprints (the same value
    as :func:`~trading_assets.warehouse.writes.content_version` over the whole table)."""
    rows = sum(n for n, _ in fingerprints.values())
    digest = 0
    for _, part in fingerprints.values():
        digest ^= part
    return rows, rows_version(rows, digest)
