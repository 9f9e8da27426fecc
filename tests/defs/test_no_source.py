"""Which assets have no source on a profile, and the symbol discovery sensor that ingests only
the kinds a new symbol has (the rest recorded as a no-source observation)."""

from pathlib import Path

import dagster as dg

from trading_assets.definitions import build_definitions
from trading_assets.defs import keys
from trading_assets.defs.metadata import NO_SOURCE
from trading_assets.defs.no_source import find_no_source, recorded_no_source
from trading_assets.defs.prices.discovery import symbol_discovery

DEMO = ["^GSPC", "^IXIC"]


def test_demo_has_no_ticks_quotes_news_or_corpus_and_what_reads_only_them(home: Path):
    found = find_no_source(build_definitions(), DEMO)
    by_asset: dict[str, set] = {}
    for key, partition in found:
        by_asset.setdefault(key.to_user_string(), set()).add(partition)
    assert by_asset == {
        "raw/ticks": set(DEMO),
        "raw/quotes": set(DEMO),
        "raw/quote_bars": set(DEMO),
        "raw/news": {None},
        "ml/sentiment_model": {None},
        "ml/sentiment_scores": {None},
        "features/sentiment_agg": {None},
        "features/news_daily": {None},
        "staging/universal_stream": {None},
    }
    assert found[(keys.SENTIMENT_MODEL, None)] == (
        "not trained: no labelled corpus configured (set TRADING_SENTIMENT_CORPUS)"
    )
    assert found[(keys.SENTIMENT, None)].startswith("its input (raw/news) has no source")


def test_a_corpus_gives_the_model_a_source_and_news_files_give_news_one(
    home: Path, monkeypatch, shared_data: Path
):
    corpus = shared_data / "sentiment" / "financial_phrasebank"
    monkeypatch.setenv("TRADING_SENTIMENT_CORPUS", str(corpus))
    found = find_no_source(build_definitions(), DEMO)
    assert (keys.SENTIMENT_MODEL, None) not in found
    # the scores still have none: they need articles, whatever the model
    assert (keys.NEWS, None) in found and (keys.SENTIMENT, None) in found

    inbox = home / "inbox"
    inbox.mkdir(parents=True, exist_ok=True)
    news = next((shared_data / "news").rglob("*.json"))
    (inbox / news.name).symlink_to(news)
    found = find_no_source(build_definitions(), DEMO)
    assert (keys.NEWS, None) not in found and (keys.SENTIMENT, None) not in found
    assert (keys.SENTIMENT_AGG, None) not in found


def test_symbol_discovery_ingests_only_the_kinds_a_new_symbol_has(home: Path):
    defs = build_definitions()
    instance = dg.DagsterInstance.ephemeral()
    resources = {"price_sources": defs.resources["price_sources"]}

    result = symbol_discovery(dg.build_sensor_context(instance=instance, resources=resources))
    assert [(r.partition_key, r.asset_selection) for r in result.run_requests] == [
        (symbol, [keys.RAW_BARS]) for symbol in DEMO
    ]
    for symbol in DEMO:
        why = recorded_no_source(instance, keys.RAW_TICKS, symbol)
        assert why == f"no ticks source for {symbol} on the demo profile"
        assert recorded_no_source(instance, keys.RAW_BARS, symbol) is None

    # the partitions exist now: nothing new, nothing requested or recorded again
    instance.add_dynamic_partitions("symbols", DEMO)
    again = symbol_discovery(dg.build_sensor_context(instance=instance, resources=resources))
    assert again.run_requests == []
    quotes = dg.AssetRecordsFilter(asset_key=keys.RAW_KEYS["quotes"])
    observed = instance.fetch_observations(quotes, limit=10).records
    assert len(observed) == 2
    assert all(NO_SOURCE in r.asset_observation.metadata for r in observed)
