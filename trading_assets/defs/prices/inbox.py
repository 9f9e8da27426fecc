"""The ``inbox`` sensor: price and news files dropped into the project's inbox folder are
ingested once.

The cursor remembers every (file, kind) it has requested with the file's fingerprint (size and
modification time), so a file is requested exactly once, and again only if it changes. New
symbols become partitions. A symbol with new files gets one run of its ingestion assets and
their live lane (:mod:`trading_assets.defs.live_lane`: staging, features, live predictions,
signals, the report), so a new bar becomes a signal in one run. When several symbols have new
files in one tick, each run stops at the per-symbol assets and declarative automation runs
the shared ones once after them (as it does for anything the lane leaves out).
News files (the layouts of :func:`trading_assets.news.files.discover_news_files`) get one
``raw/news`` run for all of them; that asset reads the inbox's news files too.
"""

import hashlib
from pathlib import Path

import dagster as dg

from trading_assets.defs.keys import NEWS as NEWS_KEY
from trading_assets.defs.keys import RAW_KEYS, SOURCE_FILES
from trading_assets.defs.live_lane import live_lane
from trading_assets.defs.partitions import SYMBOLS
from trading_assets.defs.prices.resources import PriceSourcesResource
from trading_assets.sources.inbox import scan_inbox

_KEY_OF_KIND = dict(RAW_KEYS)
_TAGS = {"trading_assets/trigger": "inbox"}


def inbox_requests(
    inbox: Path, cursor: str | None, known_symbols: set[str], graph=None
) -> tuple[list[dg.RunRequest], list[str], str, list[str]]:
    """What the inbox asks for: ``(run_requests, new_symbols, new_cursor, unreadable)``
    (see :func:`trading_assets.sources.inbox.scan_inbox`).

    With ``graph`` (the code location's asset graph), each price run also holds the live lane
    below its ingestion assets; without, only the ingestion assets. ``unreadable`` lists files
    no reader recognises or whose symbol is unknown (they are remembered too, so they are
    reported once, not on every tick); when there are any, one ``ops/source_files`` run
    records their state.
    """
    scan = scan_inbox(inbox, cursor)
    requests = []
    for symbol, items in scan.prices.items():
        ingest = sorted({_KEY_OF_KIND[i.kind] for i in items}, key=str)
        lane = (
            live_lane(graph, ingest, partitioned_only=len(scan.prices) > 1)
            if graph is not None
            else []
        )
        requests.append(
            dg.RunRequest(
                run_key=f"inbox:{symbol}:{scan.price_stamp(symbol)}",
                partition_key=symbol,
                asset_selection=[*ingest, *lane],
                tags=dict(_TAGS),
            )
        )
    if scan.unreadable:  # no symbol's ingestion records them: ops/source_files does
        stamp = hashlib.sha256("|".join(scan.unreadable).encode()).hexdigest()[:16]
        requests.append(
            dg.RunRequest(
                run_key=f"inbox:files:{stamp}", asset_selection=[SOURCE_FILES], tags=dict(_TAGS)
            )
        )
    if scan.news:
        requests.append(
            dg.RunRequest(
                run_key=f"inbox:news:{scan.news_stamp()}",
                asset_selection=[NEWS_KEY],
                tags=dict(_TAGS),
            )
        )
    new_symbols = sorted(s for s in scan.prices if s not in known_symbols)
    return requests, new_symbols, scan.cursor, scan.unreadable


def inbox_sensor_every(seconds: int = 30) -> dg.SensorDefinition:
    """The ``inbox`` sensor, evaluated at most every ``seconds`` (``TRADING_SENSOR_INTERVAL_S``
    in the definitions)."""

    @dg.sensor(
        name="inbox",
        description="Ingests price and news files dropped into $TRADING_ASSETS_HOME/inbox, "
        "once per file version: one run per symbol (ingestion and the live lane below it), "
        "one raw/news run for news files.",
        minimum_interval_seconds=seconds,
        default_status=dg.DefaultSensorStatus.RUNNING,
        asset_selection=dg.AssetSelection.assets(*_KEY_OF_KIND.values(), NEWS_KEY).downstream(),
    )
    def inbox_sensor(context: dg.SensorEvaluationContext, price_sources: PriceSourcesResource):
        inbox = Path(price_sources.inbox_dir) if price_sources.inbox_dir else None
        if inbox is None or not inbox.is_dir():
            return dg.SkipReason("no inbox folder configured")
        known = set(context.instance.get_dynamic_partitions(SYMBOLS.name))
        repository = context.repository_def
        graph = repository.asset_graph if repository is not None else None
        requests, new_symbols, cursor, unreadable = inbox_requests(
            inbox, context.cursor, known, graph
        )
        for path in unreadable:
            context.log.warning(f"inbox: cannot ingest {path} (unknown format or symbol)")
        if not requests:
            context.update_cursor(cursor)
            return dg.SkipReason("no new price or news files in the inbox")
        add = [SYMBOLS.build_add_request(new_symbols)] if new_symbols else []
        return dg.SensorResult(
            run_requests=requests, dynamic_partitions_requests=add, cursor=cursor
        )

    return inbox_sensor


inbox_sensor = inbox_sensor_every()
