"""The ``inbox`` sensor: price files dropped into the project's inbox folder are ingested once.

The cursor remembers every (file, kind) it has requested with the file's fingerprint (size and
modification time), so a file is requested exactly once, and again only if it changes. New
symbols become partitions; each symbol with new files gets one run of its ingestion assets,
and downstream assets follow by declarative automation (or ``trading-assets refresh``).
"""

import hashlib
import json
from pathlib import Path

import dagster as dg

from trading_assets.defs.partitions import SYMBOLS
from trading_assets.defs.prices.ingestion import INGESTION_ASSETS
from trading_assets.defs.resources import PriceSourcesResource

_KEY_OF_KIND = {a.key.path[-1]: a.key for a in INGESTION_ASSETS}


def inbox_requests(
    inbox: Path, cursor: str | None, known_symbols: set[str]
) -> tuple[list[dg.RunRequest], list[str], str, list[str]]:
    """What the inbox asks for: ``(run_requests, new_symbols, new_cursor, unreadable)``.

    ``unreadable`` lists files no reader recognises or whose symbol is unknown (they are
    remembered too, so they are reported once, not on every tick).
    """
    from trading_assets.sources.local_folder import UNKNOWN_SYMBOL, LocalFolderSource

    seen: dict[str, str] = json.loads(cursor) if cursor else {}
    source = LocalFolderSource(inbox)
    fresh = [i for i in source.items() if seen.get(f"{i.origin}|{i.kind}") != i.fingerprint]
    by_symbol: dict[str, list] = {}
    unreadable = [str(p) for p, _ in source.skipped if seen.get(f"{p}|skipped") is None]
    for path, _ in source.skipped:
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
    new_symbols = sorted(s for s in by_symbol if s not in known_symbols)
    return requests, new_symbols, json.dumps(seen, sort_keys=True), unreadable


@dg.sensor(
    name="inbox",
    description="Ingests price files dropped into $TRADING_ASSETS_HOME/inbox, once per file "
    "version, one run per symbol.",
    minimum_interval_seconds=30,
    default_status=dg.DefaultSensorStatus.RUNNING,
    asset_selection=list(_KEY_OF_KIND.values()),
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
        return dg.SkipReason("no new price files in the inbox")
    return dg.SensorResult(
        run_requests=requests,
        dynamic_partitions_requests=[SYMBOLS.build_add_request(new_symbols)] if new_symbols else [],
        cursor=cursor,
    )
