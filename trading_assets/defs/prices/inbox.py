"""The ``inbox`` sensor: price and news files dropped into the project's inbox folder are
ingested once.

The cursor remembers every (file, kind) it has requested with the file's fingerprint (size and
modification time), so a file is requested exactly once, and again only if it changes. New
symbols become partitions; each symbol with new files gets one run of its ingestion assets,
and downstream assets follow by declarative automation (or ``trading-assets refresh``).
News files (the layouts of :func:`trading_assets.news.files.discover_news_files`) get one
``raw/news`` run for all of them; that asset reads the inbox's news files too.
"""

import hashlib
import json
from pathlib import Path

import dagster as dg

from trading_assets.defs.keys import NEWS as NEWS_KEY
from trading_assets.defs.partitions import SYMBOLS
from trading_assets.defs.prices.ingestion import INGESTION_ASSETS
from trading_assets.defs.prices.resources import PriceSourcesResource

_KEY_OF_KIND = {a.key.path[-1]: a.key for a in INGESTION_ASSETS}


def _fingerprint(path: Path) -> str:
    stat = path.stat()
    return f"{stat.st_size}-{stat.st_mtime_ns}"


def inbox_requests(
    inbox: Path, cursor: str | None, known_symbols: set[str]
) -> tuple[list[dg.RunRequest], list[str], str, list[str]]:
    """What the inbox asks for: ``(run_requests, new_symbols, new_cursor, unreadable)``.

    ``unreadable`` lists files no reader recognises or whose symbol is unknown (they are
    remembered too, so they are reported once, not on every tick).
    """
    from trading_assets.news.files import discover_news_files
    from trading_assets.sources.local_folder import UNKNOWN_SYMBOL, LocalFolderSource

    seen: dict[str, str] = json.loads(cursor) if cursor else {}
    news = {str(path): _fingerprint(path) for path, _ in discover_news_files(inbox)}
    fresh_news = sorted(p for p, fp in news.items() if seen.get(f"{p}|news") != fp)
    for path in fresh_news:
        seen[f"{path}|news"] = news[path]
    source = LocalFolderSource(inbox)
    fresh = [
        i
        for i in source.items()
        if seen.get(f"{i.origin}|{i.kind}") != i.fingerprint and i.origin not in news
    ]
    by_symbol: dict[str, list] = {}
    skipped = [str(p) for p, _ in source.skipped if str(p) not in news]
    unreadable = [p for p in skipped if seen.get(f"{p}|skipped") is None]
    for path in skipped:
        seen[f"{path}|skipped"] = "seen"
    for item in fresh:
        seen[f"{item.origin}|{item.kind}"] = item.fingerprint
        if item.symbol == UNKNOWN_SYMBOL:
            unreadable.append(item.origin)
        else:
            by_symbol.setdefault(item.symbol, []).append(item)
    requests = []
    for symbol, items in sorted(by_symbol.items()):
        stamp = hashlib.sha256(
            "|".join(sorted(f"{i.origin}:{i.fingerprint}" for i in items)).encode()
        ).hexdigest()[:16]
        requests.append(
            dg.RunRequest(
                run_key=f"inbox:{symbol}:{stamp}",
                partition_key=symbol,
                asset_selection=sorted({_KEY_OF_KIND[i.kind] for i in items}, key=str),
                tags={"trading_assets/trigger": "inbox"},
            )
        )
    if fresh_news:
        stamp = hashlib.sha256("|".join(f"{p}:{news[p]}" for p in fresh_news).encode())
        requests.append(
            dg.RunRequest(
                run_key=f"inbox:news:{stamp.hexdigest()[:16]}",
                asset_selection=[NEWS_KEY],
                tags={"trading_assets/trigger": "inbox"},
            )
        )
    new_symbols = sorted(s for s in by_symbol if s not in known_symbols)
    return requests, new_symbols, json.dumps(seen, sort_keys=True), unreadable


@dg.sensor(
    name="inbox",
    description="Ingests price and news files dropped into $TRADING_ASSETS_HOME/inbox, once "
    "per file version: one run per symbol, one raw/news run for news files.",
    minimum_interval_seconds=30,
    default_status=dg.DefaultSensorStatus.RUNNING,
    asset_selection=[*_KEY_OF_KIND.values(), NEWS_KEY],
)
def inbox_sensor(context: dg.SensorEvaluationContext, price_sources: PriceSourcesResource):
    inbox = Path(price_sources.inbox_dir) if price_sources.inbox_dir else None
    if inbox is None or not inbox.is_dir():
        return dg.SkipReason("no inbox folder configured")
    known = set(context.instance.get_dynamic_partitions(SYMBOLS.name))
    requests, new_symbols, cursor, unreadable = inbox_requests(inbox, context.cursor, known)
    for path in unreadable:
        context.log.warning(f"inbox: cannot ingest {path} (unknown format or symbol)")
    if not requests:
        context.update_cursor(cursor)
        return dg.SkipReason("no new price or news files in the inbox")
    return dg.SensorResult(
        run_requests=requests,
        dynamic_partitions_requests=[SYMBOLS.build_add_request(new_symbols)] if new_symbols else [],
        cursor=cursor,
    )
