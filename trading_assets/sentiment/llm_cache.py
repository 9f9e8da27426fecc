"""The LLM answer cache in the warehouse (``ml.llm_sentiment_cache``), without Dagster.

Answers are keyed by the SHA-256 of the exact text sent
(:func:`trading_assets.sentiment.llm.content_hash`) and the prompt version
(:data:`trading_assets.sentiment.llm.PROMPT_VERSION`): the same text is never sent twice,
within a run or across runs (see :mod:`trading_assets.sentiment.llm`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime

import duckdb
import polars as pl

from trading_assets import schemas
from trading_assets.sentiment.llm import PROMPT_VERSION, LlmAnswer, content_hash
from trading_assets.warehouse.writes import WriteResult, upsert_rows

CACHE_TABLE = "ml.llm_sentiment_cache"

_HASHES = "__llm_hashes"


def read_cache(con: duckdb.DuckDBPyConnection, texts: Sequence[str]) -> dict[str, LlmAnswer]:
    """Known answers (content hash -> :class:`~trading_assets.sentiment.llm.LlmAnswer`) of
    the current prompt version for ``texts``; texts never answered are absent.

    Raises:
        duckdb.CatalogException: the cache table does not exist (create it with
            :func:`trading_assets.warehouse.ddl.ensure_table`).
    """
    hashes = sorted({content_hash(t) for t in texts})
    con.register(
        _HASHES, pl.DataFrame({"content_hash": hashes}, schema={"content_hash": pl.String})
    )
    try:
        known = con.execute(
            "SELECT content_hash, score, label, confidence, provider, model "
            f"FROM {CACHE_TABLE} WHERE prompt_version = ? AND content_hash IN "
            f"(SELECT content_hash FROM {_HASHES})",
            [PROMPT_VERSION],
        ).fetchall()
    finally:
        con.unregister(_HASHES)
    return {h: LlmAnswer(s, lab, c, p, m) for h, s, lab, c, p, m in known}


def cache_rows(new: Mapping[str, LlmAnswer], created_at: datetime) -> pl.DataFrame:
    """``ml.llm_sentiment_cache`` rows (schema :data:`~trading_assets.schemas.LLM_CACHE_SCHEMA`)
    of the ``new`` answers (content hash -> answer), stamped ``created_at`` (aware UTC)."""
    return pl.DataFrame(
        [
            {
                "content_hash": h,
                "prompt_version": PROMPT_VERSION,
                "score": a.score,
                "label": a.label,
                "confidence": a.confidence,
                "provider": a.provider,
                "model": a.model,
                "created_at": created_at,
            }
            for h, a in new.items()
        ],
        schema=schemas.LLM_CACHE_SCHEMA,
    )


def write_cache(con: duckdb.DuckDBPyConnection, rows: pl.DataFrame) -> WriteResult | None:
    """Upsert :func:`cache_rows` into the cache (no transaction of its own); None when
    ``rows`` is empty (nothing written)."""
    if not rows.height:
        return None
    return upsert_rows(con, CACHE_TABLE, rows, schemas.LLM_CACHE_KEY)
