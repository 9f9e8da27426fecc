"""Assets (partitions) with no source on the active profile: left out of runs, recorded as
an observation instead of a green 0-row materialization.

Which ones (:func:`find_no_source`, asked before each ``trading-assets run`` / ``refresh``):

- ``raw/<kind>`` (source bars, ticks, quotes, quote bars) for a symbol: no source item of that
  kind offers the symbol and ``raw.<kind>`` holds no row of it;
- ``raw/news``: no news source is configured and ``raw.news`` holds no article;
- ``ml/sentiment_model``: not trained (no labelled corpus, or the ``ml`` method is off);
- ``staging/universal_stream``: no symbol of its series' assets (ETH, BTC) is offered or held;
- below them, an asset (partition) whose every input has no source (per symbol for
  per-symbol inputs, every symbol for an unpartitioned child of one), and the assets of
  :data:`NEEDS` when the input they need has none (``ml/sentiment_scores`` scores articles).

What is recorded (:func:`record`): one ``AssetObservation`` per (asset, partition) with the
:data:`~trading_assets.defs.metadata.NO_SOURCE` text saying why, reported runless to the
instance, once (not again while it is the latest event of that partition, so a quiet refresh
stays quiet). The Dagster UI shows the asset as never materialized (grey, not green) with that
observation in its events. A later materialization (a ticks file landed for the symbol)
supersedes it: :func:`recorded_no_source` is true only while the observation is newer than
every materialization of the partition. Declarative automation reads the same state
(:class:`NoSourceRecorded`): a dependency that is missing because it has no source does not
hold its children back.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import dagster as dg

from trading_assets.defs import keys
from trading_assets.defs.dagster_internals import (
    automation_instance,
    initialized_resource,
    subset_of,
    subset_partitions,
)
from trading_assets.defs.metadata import NO_SOURCE

#: (asset key, partition or None) -> why it has no source
NoSource = dict[tuple[dg.AssetKey, str | None], str]

#: an asset with no source whenever the input named here has none, whatever its other inputs
NEEDS = {keys.SENTIMENT: keys.NEWS}  # it scores articles: no articles, nothing to score

#: why ``raw/news`` has no source (the text its observation and checks carry)
NO_NEWS_SOURCE = "no news source configured on this profile (feeds off, no news files)"


def no_source_why(kind: str, symbol: str, profile: str) -> str:
    """Why ``raw/<kind>`` has no source for ``symbol`` on ``profile``."""
    return f"no {kind} source for {symbol} on the {profile} profile"


def _stored_symbols(defs: dg.Definitions) -> tuple[dict[str, set[str]], bool]:
    """Symbols ``raw.<kind>`` holds rows of, per kind, and whether ``raw.news`` has rows
    (nothing before the warehouse exists)."""
    from trading_assets.warehouse.catalog import table_exists

    stored: dict[str, set[str]] = {kind: set() for kind in keys.RAW_KEYS}
    has_news = False
    if "warehouse" not in defs.resources:
        return stored, has_news
    try:
        with defs.resources["warehouse"].connect(read_only=True) as con:
            for kind in keys.RAW_KEYS:
                if table_exists(con, f"raw.{kind}"):
                    rows = con.execute(f"SELECT DISTINCT symbol FROM raw.{kind}").fetchall()
                    stored[kind] = {r[0] for r in rows}
            if table_exists(con, "raw.news"):
                has_news = con.execute("SELECT count(*) FROM raw.news").fetchone()[0] > 0
    except FileNotFoundError:
        pass
    return stored, has_news


def _resource(defs: dg.Definitions, name: str, instance: dg.DagsterInstance | None):
    """The resource ``name`` of ``defs`` initialised as a run would (None if absent)."""
    if name not in defs.resources:
        return None
    return initialized_resource(defs.resources[name], instance)


def _no_stream_series(symbols: set[str]) -> str | None:
    """Why ``staging/universal_stream`` (default series) has no source among ``symbols``."""
    from trading_assets.warehouse.stream import DEFAULT_STREAM

    bases = sorted({s.base for s in DEFAULT_STREAM})
    if any(symbol.startswith(f"{base}/") for symbol in symbols for base in bases):
        return None
    return f"none of its series' assets ({', '.join(bases)}) is offered on this profile"


def _news_configured(news_sources) -> int:
    """How many news sources are configured (1 when the settings are invalid: the asset
    runs and fails with the configuration error)."""
    from trading_assets.errors import TradingAssetsError

    try:
        return news_sources.settings().sources().configured
    except TradingAssetsError:
        return 1


def _base(
    defs: dg.Definitions,
    symbols: Sequence[str],
    items: list | None,
    instance: dg.DagsterInstance | None,
) -> NoSource:
    """The assets that read sources themselves and have none (see the module docstring)."""
    out: NoSource = {}
    stored, has_news = _stored_symbols(defs)
    price_sources = _resource(defs, "price_sources", instance)
    if price_sources is not None:
        items = price_sources.items() if items is None else items
        offered = {(i.kind, i.symbol) for i in items}
        for kind, key in keys.RAW_KEYS.items():
            for symbol in symbols:
                if (kind, symbol) not in offered and symbol not in stored[kind]:
                    out[(key, symbol)] = no_source_why(kind, symbol, price_sources.profile)
        held = set(symbols) | stored["bars"] | stored["ticks"]
        if why := _no_stream_series(held):
            out[(keys.UNIVERSAL_STREAM, None)] = why
    news_sources = _resource(defs, "news_sources", instance)
    if news_sources is not None and not has_news and not _news_configured(news_sources):
        out[(keys.NEWS, None)] = NO_NEWS_SOURCE
    sentiment_settings = _resource(defs, "sentiment_settings", instance)
    if sentiment_settings is not None:
        reason = sentiment_settings.settings().training_skip_reason()
        if reason is not None:
            out[(keys.SENTIMENT_MODEL, None)] = f"not trained: {reason}"
    return out


def find_no_source(
    defs: dg.Definitions,
    symbols: Sequence[str],
    items: list | None = None,
    instance: dg.DagsterInstance | None = None,
) -> NoSource:
    """Every (asset, partition) of ``defs`` with no source on its profile, and why.

    ``symbols``: the ``symbols`` partitions to consider; ``items``: the price source items
    when the caller listed them already (default: listed here); ``instance``: the Dagster
    instance the resources are initialised with (default: a throwaway one). Reads the
    warehouse (read-only) for rows stored earlier: an asset that holds data is never "no
    source".
    """
    graph = defs.resolve_asset_graph()
    out = _base(defs, symbols, items, instance)
    for key in graph.toposorted_asset_keys:
        node = graph.get(key)
        if not node.is_materializable or any(k == key for k, _ in out):
            continue
        parents = [p for p in node.parent_keys if graph.has(p) and graph.get(p).is_materializable]
        if key in NEEDS:
            parents = [NEEDS[key]]
        if not parents:
            continue
        for partition in symbols if node.partitions_def is not None else [None]:
            whys = [_why_parent(graph, out, p, partition, symbols) for p in parents]
            if all(whys):
                names = ", ".join(p.to_user_string() for p in parents)
                out[(key, partition)] = f"its input ({names}) has no source: {whys[0]}"
    return out


def _why_parent(
    graph, found: NoSource, parent: dg.AssetKey, partition: str | None, symbols: Sequence[str]
) -> str | None:
    """Why ``parent`` has no source as seen from a child's ``partition`` (None: it has one).
    An unpartitioned child sees a per-symbol parent as having none only for every symbol."""
    if graph.get(parent).partitions_def is None:
        return found.get((parent, None))
    if partition is not None:
        return found.get((parent, partition))
    whys = [found.get((parent, s)) for s in symbols]
    return whys[0] if whys and all(whys) else None


def _latest(instance: dg.DagsterInstance, key: dg.AssetKey, partition: str | None, observed):
    records_filter = dg.AssetRecordsFilter(
        asset_key=key, asset_partitions=[partition] if partition is not None else None
    )
    fetch = instance.fetch_observations if observed else instance.fetch_materializations
    records = fetch(records_filter, limit=1).records
    return records[0] if records else None


def recorded_no_source(
    instance: dg.DagsterInstance,
    key: dg.AssetKey,
    partition: str | None,
    inputs: Sequence[tuple[dg.AssetKey, str | None]] = (),
) -> str | None:
    """Why the asset (partition) has no source, when its latest observation says so and no
    materialization of it, nor of any of ``inputs`` (asset, partition or None for any),
    came after it; else None."""
    observation = _latest(instance, key, partition, observed=True)
    if observation is None:
        return None
    meta = observation.asset_observation.metadata if observation.asset_observation else {}
    if NO_SOURCE not in meta:
        return None
    for asset, part in [(key, partition), *inputs]:
        materialization = _latest(instance, asset, part, observed=False)
        if materialization is not None and materialization.storage_id > observation.storage_id:
            return None
    return getattr(meta[NO_SOURCE], "value", str(meta[NO_SOURCE]))


def record(instance: dg.DagsterInstance, found: NoSource) -> list[tuple[str, str | None]]:
    """Report an ``AssetObservation`` flagged :data:`NO_SOURCE` for each of ``found`` not
    already recorded with the same reason; returns the (asset, partition) recorded now."""
    recorded = []
    for (key, partition), why in sorted(found.items(), key=lambda kv: str(kv[0])):
        if recorded_no_source(instance, key, partition) == why:
            continue
        instance.report_runless_asset_event(
            dg.AssetObservation(
                asset_key=key,
                partition=partition,
                description=f"No source: {why}.",
                metadata={NO_SOURCE: dg.MetadataValue.text(why)},
            )
        )
        recorded.append((key.to_user_string(), partition))
    return recorded


def without(found: NoSource, selected: Iterable[dg.AssetKey], partition: str | None):
    """``selected`` less the assets ``found`` has no source for in ``partition``, in order."""
    return [k for k in selected if (k, partition) not in found]


class NoSourceRecorded(dg.AutomationCondition):
    """True for the asset partitions recorded as having no source (:func:`record`) with no
    materialization of them or of their inputs since: missing on purpose, so they neither
    run by themselves nor hold a child back. A new input (ETH bars for the universal stream,
    articles for the sentiment scores) ends it."""

    def __eq__(self, other: object) -> bool:  # stateless: every instance is the same test
        return type(other) is type(self)

    def __hash__(self) -> int:
        return hash(type(self).__qualname__)

    @property
    def description(self) -> str:
        return "recorded as having no source on this profile since its inputs last changed"

    def evaluate(self, context: dg.AutomationContext) -> dg.AutomationResult:
        """The candidates with a current no-source observation."""
        instance = automation_instance(context)
        graph = context.asset_graph
        parents = list(graph.get(context.key).parent_keys)
        flagged = []
        for partition in subset_partitions(context.candidate_subset):
            inputs = [
                (p, partition if graph.get(p).partitions_def is not None else None)
                for p in parents
                if graph.has(p)
            ]
            if recorded_no_source(instance, context.key, partition, inputs):
                flagged.append(partition)
        return dg.AutomationResult(context, true_subset=subset_of(context, flagged))
