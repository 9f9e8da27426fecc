"""Every environment variable the project reads: name, type, default and meaning.

:data:`SETTINGS` lists them (the README's table of variables is checked against it by
``tests/test_settings.py``); modules read them through these :class:`Setting` objects or by
their ``name``. Read at call time, never at import time (a test or a Dagster run may set them
later). No Dagster here: the Dagster layer wraps secrets in ``EnvVar``
(:func:`trading_assets.defs.env.optional_env_var`).
"""

from __future__ import annotations

import os
from dataclasses import dataclass

from trading_assets.errors import ConfigurationError


@dataclass(frozen=True)
class Setting:
    """One environment variable: ``name``, Python ``type``, ``default`` (text as it would be
    written in the environment, None: unset), ``meaning``, and whether it is a ``secret``
    (resolved by Dagster at run time through ``EnvVar``, never logged)."""

    name: str
    type: type
    default: str | None
    meaning: str
    secret: bool = False

    def read(self):
        """The value from the environment, else the default, converted to :attr:`type`.

        Raises:
            ConfigurationError: the value does not convert, naming the variable.
        """
        raw = os.environ.get(self.name)
        raw = raw if raw not in (None, "") else self.default
        if raw is None:
            return None
        try:
            return self.type(raw)
        except ValueError as exc:
            raise ConfigurationError(
                f"{self.name}={raw!r} is not a valid {self.type.__name__}: {self.meaning}"
            ) from exc


# -- where things are ------------------------------------------------------------------------
HOME = Setting(
    "TRADING_ASSETS_HOME",
    str,
    ".trading",
    "the project home: warehouse, MLflow store, Dagster instance, reports, inbox",
)
PROFILE = Setting("TRADING_PROFILE", str, "demo", "where prices come from: demo, local or live")
DATA_DIR = Setting(
    "TRADING_DATA_DIR", str, None, "folder of price and news files (local profile, required there)"
)
SYMBOL_MAP = Setting(
    "TRADING_SYMBOL_MAP",
    str,
    None,
    "mapping file: symbol, timeframe or "
    "format per file-name pattern, for files whose names say nothing",
)
EXCHANGES = Setting(
    "TRADING_EXCHANGES",
    str,
    None,
    "exchange calendar (MIC) per symbol pattern, e.g. 4063.T=XTKS,*.L=XLON; "
    "other non-crypto symbols trade on XNYS",
)
SQL_DIR = Setting(
    "TRADING_SQL_DIR", str, None, "folder of SQL models (default: the shipped dbt_like_sql/)"
)
# -- Alpaca ----------------------------------------------------------------------------------
ALPACA_API_KEY = Setting(
    "ALPACA_API_KEY",
    str,
    None,
    "Alpaca key id (stocks and news on live; crypto needs none)",
    secret=True,
)
ALPACA_SECRET_KEY = Setting("ALPACA_SECRET_KEY", str, None, "Alpaca secret key", secret=True)
ALPACA_DATA_URL = Setting(
    "ALPACA_DATA_URL",
    str,
    None,
    "base URL of Alpaca's market data API (default: Alpaca's; tests point it at 127.0.0.1)",
)
ALPACA_TRADING_URL = Setting(
    "ALPACA_TRADING_URL",
    str,
    None,
    "base URL of Alpaca's paper trading API (default: Alpaca's paper host; tests point it at "
    "127.0.0.1); Alpaca's live-money host is refused",
)
# -- paper trading ---------------------------------------------------------------------------
EXECUTION = Setting(
    "TRADING_EXECUTION",
    str,
    "dry_run",
    "dry_run: order intents stored, nothing sent; paper: orders sent to Alpaca's paper API "
    "(needs ALPACA_API_KEY/ALPACA_SECRET_KEY); live-money trading is not offered",
)
# -- news and sentiment ----------------------------------------------------------------------
NEWS_FEEDS = Setting(
    "TRADING_NEWS_FEEDS",
    str,
    "off",
    "on: poll the shipped RSS/Atom feed list; or the path of your own list; off: no feeds",
)
NEWS_DIR = Setting(
    "TRADING_NEWS_DIR", str, None, "folder of news files (default: TRADING_DATA_DIR on local)"
)
NEWS_SYMBOLS = Setting(
    "TRADING_NEWS_SYMBOLS",
    str,
    None,
    "comma-separated symbols news is tagged with (default: the price symbols)",
)
NEWS_ALIASES = Setting(
    "TRADING_NEWS_ALIASES",
    str,
    None,
    "aliases TOML file for ticker tagging (default: the shipped aliases.toml)",
)
NEWS_MAX_IN_FLIGHT = Setting(
    "TRADING_NEWS_MAX_IN_FLIGHT",
    int,
    "128",
    "feed requests in flight at once (one connection each)",
)
NEWS_PARSE_WORKERS = Setting(
    "TRADING_NEWS_PARSE_WORKERS",
    int,
    None,
    "processes parsing feeds (default: one per core for 16 feeds or more; 0: a thread)",
)
ALPACA_NEWS = Setting(
    "TRADING_ALPACA_NEWS", str, None, "on/off: Alpaca news (default on for live with Alpaca keys)"
)
ALPACA_NEWS_SYMBOLS = Setting(
    "TRADING_ALPACA_NEWS_SYMBOLS",
    str,
    None,
    "comma-separated symbols to request Alpaca news for (default: all news)",
)
SENTIMENT_METHODS = Setting(
    "TRADING_SENTIMENT_METHODS",
    str,
    "lexicon,ml",
    "comma-separated sentiment methods: lexicon, ml, llm",
)
SENTIMENT_CORPUS = Setting(
    "TRADING_SENTIMENT_CORPUS",
    str,
    None,
    "labelled corpora the ml sentiment model trains on: comma-separated paths or a TOML list "
    "with label mappings and domains (without one, only the lexicon scores)",
)
SENTIMENT_SOURCE_DOMAINS = Setting(
    "TRADING_SENTIMENT_SOURCE_DOMAINS",
    str,
    None,
    "article source kind -> domain of the multi-domain ml sentiment model, e.g. "
    "stocktwits=tweets (unlisted kinds: the first corpus' domain)",
)
LLM_PROVIDERS = Setting(
    "TRADING_LLM_PROVIDERS",
    str,
    None,
    "comma-separated LLM provider "
    "names for the llm method; per name TRADING_LLM_<NAME>_BASE_URL, "
    "_MODEL and _API_KEY (secret)",
)
# -- reports and publishing ------------------------------------------------------------------
REPORT_PUBLIC_URL = Setting(
    "TRADING_REPORT_PUBLIC_URL", str, None, "where reports/ is served, for links in published posts"
)
WORDPRESS_URL = Setting("WORDPRESS_URL", str, None, "WordPress site to publish reports to")
WORDPRESS_USER = Setting("WORDPRESS_USER", str, None, "WordPress user of the application password")
WORDPRESS_APP_PASSWORD = Setting(
    "WORDPRESS_APP_PASSWORD", str, None, "WordPress application password", secret=True
)
DISCORD_WEBHOOK_URL = Setting(
    "DISCORD_WEBHOOK_URL",
    str,
    None,
    "Discord webhook for reports and failed-run alerts",
    secret=True,
)
# -- automation and retraining ---------------------------------------------------------------
SENSOR_INTERVAL_S = Setting(
    "TRADING_SENSOR_INTERVAL_S",
    int,
    "30",
    "seconds between evaluations of the inbox sensor and of declarative automation",
)
RETRAIN_EVERY_HOURS = Setting(
    "TRADING_RETRAIN_EVERY_HOURS",
    float,
    "24",
    "models retrain once their last training is this many hours old",
)
RETRAIN_NEW_BARS = Setting(
    "TRADING_RETRAIN_NEW_BARS",
    int,
    "500",
    "models retrain once this many new training rows (bars, all series together) arrived",
)

# -- scaling out -----------------------------------------------------------------------------
POSTGRES_URL = Setting(
    "TRADING_POSTGRES_URL",
    str,
    None,
    "Postgres URL for Dagster's instance storage (runs, events, schedules), e.g. "
    "postgresql+psycopg2://user:pass@host:5432/dagster (unset: SQLite in the home)",
    secret=True,
)
MLFLOW_TRACKING_URI = Setting(
    "TRADING_MLFLOW_TRACKING_URI",
    str,
    None,
    "MLflow tracking and registry store, e.g. postgresql+psycopg2://user:pass@host:5432/mlflow "
    "(unset: SQLite in the home); artifacts stay in the home's mlartifacts/",
    secret=True,
)
EXECUTOR = Setting(
    "TRADING_EXECUTOR",
    str,
    "in_process",
    "in_process: one process; multiprocess: per-symbol runs of trading-assets run in worker "
    "processes and the steps of UI-launched runs in their own processes; k8s or celery: "
    "steps of UI-launched runs as Kubernetes jobs or Celery tasks (dagster-k8s, dagster-celery)",
)
DAGSTER_SQLITE_SYNC = Setting(
    "TRADING_DAGSTER_SQLITE_SYNC",
    str,
    "normal",
    "normal: Dagster's SQLite stores in the home commit without a disk flush each (WAL, "
    "synchronous=NORMAL; a power loss can lose the newest run events, never corrupts); "
    "full: Dagster's defaults (a flush per event)",
)
WORKERS = Setting(
    "TRADING_WORKERS",
    int,
    None,
    "worker processes of the multiprocess executor (default: one per core)",
)

#: every environment variable the project reads, in the README's order
SETTINGS: tuple[Setting, ...] = tuple(v for v in dict(globals()).values() if isinstance(v, Setting))
#: variables whose names are built at run time from a configured name (one family each)
PATTERNS: tuple[str, ...] = (
    "TRADING_LLM_<NAME>_BASE_URL",
    "TRADING_LLM_<NAME>_MODEL",
    "TRADING_LLM_<NAME>_API_KEY",
)


def sensor_interval_s() -> int:
    """Seconds between evaluations of the inbox and automation sensors (at least 1).

    Raises:
        ConfigurationError: not a whole number of seconds, or below 1.
    """
    value = SENSOR_INTERVAL_S.read()
    if value < 1:
        raise ConfigurationError(f"{SENSOR_INTERVAL_S.name} must be at least 1, got {value}")
    return value
