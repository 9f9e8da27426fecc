"""A feed that answers 304 (unchanged content) triggers nothing downstream: not the
automation sensor's conditions, not ``trading-assets refresh``; new content does.

Dagster's stock ``eager()`` would re-run the news assets' children after the 304 poll (it
reacts to any new materialization); the definitions use the data-version-aware
:func:`trading_assets.defs.automation.on_new_data` instead.
"""

from datetime import UTC, datetime, timedelta
from pathlib import Path

import dagster as dg

from tests.news.conftest import guard_loopback
from tests.news.feed_server import FeedRoute, FeedServer, rss_document, yahoo_articles
from trading_assets.definitions import build_definitions
from trading_assets.defs.keys import NEWS as NEWS_KEY
from trading_assets.home import ProjectHome
from trading_assets.refresh import plan_refresh
from trading_assets.runner import dagster_instance, materialize

NEWS_AND_BELOW = 'key:"raw/news" or key:"ml/sentiment_scores" or key:"features/sentiment_agg"'


def _requested(result: dg.EvaluateAutomationConditionsResult, keys) -> dict[str, set]:
    return {
        k.to_user_string(): set(result.get_requested_partitions(k))
        for k in keys
        if result.get_num_requested(k)
    }


def test_unchanged_feed_triggers_nothing_and_a_new_article_triggers_its_children(
    home: Path, monkeypatch, shared_data: Path
):
    guard_loopback(monkeypatch)
    with FeedServer() as feeds:
        aapl = yahoo_articles(shared_data, "AAPL")
        url = feeds.add("/aapl.rss", FeedRoute(rss_document(aapl, title="AAPL")))
        feed_list = home.parent / "feeds.toml"
        feed_list.write_text(
            f'[[feed]]\nname = "aapl"\nurl = "{url}"\nasset_class = "equity"\nsymbols = ["AAPL"]\n'
        )
        monkeypatch.setenv("TRADING_NEWS_FEEDS", str(feed_list))
        monkeypatch.setenv("DAGSTER_HOME", str(home / "dagster"))
        instance = dagster_instance(ProjectHome.from_env())
        defs = build_definitions()
        below = dg.AssetSelection.assets(NEWS_KEY).downstream(include_self=False)
        below_keys = below.resolve(defs.resolve_asset_graph())

        first = materialize(defs, instance, selection=NEWS_AND_BELOW)
        assert first.ok, first.failures
        assert first.outcomes["raw/news"].rows == len({a["url"] for a in aapl})
        baseline = dg.evaluate_automation_conditions(
            defs=defs, instance=instance, asset_selection=below
        )
        plan_before = plan_refresh(defs, instance)
        assert not {"raw/news", "ml/sentiment_scores"} & {s.asset for s in plan_before}

        # the poll again: 304, same data version; nothing downstream is due
        second = materialize(defs, instance, selection='key:"raw/news"')
        assert second.ok, second.failures
        assert [s.status for s in feeds.served_to("/aapl.rss")] == [200, 304]
        assert second.outcomes["raw/news"].data_versions == first.outcomes["raw/news"].data_versions
        after = dg.evaluate_automation_conditions(
            defs=defs, instance=instance, asset_selection=below, cursor=baseline.cursor
        )
        assert _requested(after, below_keys) == {}
        assert plan_refresh(defs, instance) == plan_before

        # counter-proof: one new article changes raw/news, and its sentiment is due
        fresh = {
            "title": "Apple shares rose after record iPhone sales",
            "url": "https://finance.yahoo.com/news/apple-record-iphone-sales-test.html",
            "publishedAt": (datetime.now(UTC) - timedelta(minutes=10)).isoformat(),
        }
        feeds.routes["/aapl.rss"].body = rss_document([fresh, *aapl], title="AAPL")
        third = materialize(defs, instance, selection='key:"raw/news"')
        assert third.outcomes["raw/news"].data_versions != first.outcomes["raw/news"].data_versions
        changed = dg.evaluate_automation_conditions(
            defs=defs, instance=instance, asset_selection=below, cursor=after.cursor
        )
        # (ml/sentiment_scores waits for its missing parent ml/sentiment_model, never trained here)
        assert "features/sentiment_agg" in _requested(changed, below_keys)
        reasons = {s.asset: s.reason for s in plan_refresh(defs, instance)}
        assert reasons["features/sentiment_agg"] == "new upstream data"
