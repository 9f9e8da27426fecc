"""Feed polling: a sensor that asks for a ``raw/news`` run at a fixed interval.

Only when something remote is configured (feeds or Alpaca news); otherwise each tick is
skipped with that reason. Sentiment and its aggregates follow by declarative automation
(``eager``), and a poll that finds nothing new keeps every data version, so nothing
downstream reruns.
"""

import dagster as dg

from trading_assets.defs.keys import NEWS as NEWS_KEY
from trading_assets.defs.news.resources import NewsSourcesResource

#: Default polling interval (seconds). The original system polled every 45 s; conditional
#: GETs make frequent polls cheap, but public feeds ask for restraint.
DEFAULT_POLL_SECONDS = 300


def build_news_poll_sensor(interval_s: int = DEFAULT_POLL_SECONDS) -> dg.SensorDefinition:
    """The ``news_poll`` sensor with a poll interval of ``interval_s`` seconds."""

    @dg.sensor(
        name="news_poll",
        description="Requests a raw/news run every poll interval when feeds or Alpaca news are "
        "configured (conditional GETs: unchanged feeds cost a 304).",
        minimum_interval_seconds=max(int(interval_s), 30),
        default_status=dg.DefaultSensorStatus.RUNNING,
        asset_selection=[NEWS_KEY],
    )
    def news_poll(
        context: dg.SensorEvaluationContext, news_sources: NewsSourcesResource
    ) -> dg.SensorResult | dg.SkipReason:
        if not news_sources.settings().remote_configured:
            return dg.SkipReason(
                "no remote news source configured (TRADING_NEWS_FEEDS, Alpaca news keys)"
            )
        return dg.SensorResult(run_requests=[dg.RunRequest(asset_selection=[NEWS_KEY])])

    return news_poll


news_poll = build_news_poll_sensor()
