"""Resources of the report: where reports go, and the publishers (off unless configured).

====================  ==============================  ==========================================
resource              environment                     default
====================  ==============================  ==========================================
report_settings       ``TRADING_REPORT_PUBLIC_URL``   ``<home>/reports``, no public URL
wordpress             ``WORDPRESS_URL``,              off (all three are needed)
                      ``WORDPRESS_USER``,
                      ``WORDPRESS_APP_PASSWORD``
discord               ``DISCORD_WEBHOOK_URL``         off
====================  ==============================  ==========================================

Secrets are ``dagster.EnvVar`` values, resolved at run time and never shown or logged.
"""

from typing import TYPE_CHECKING, Any

import dagster as dg

from trading_assets.defs.env import optional_env_var as _env
from trading_assets.home import ProjectHome

if TYPE_CHECKING:  # the clients import httpx: only when a publisher is used
    from trading_assets.publish.discord import DiscordWebhook
    from trading_assets.publish.wordpress import WordPressClient


class ReportSettings(dg.ConfigurableResource):
    """Where the report is written and how it is titled.

    Attributes:
        reports_dir: folder of ``report-<date>.html`` and ``latest.html``.
        title: page title.
        public_url: base URL where ``reports_dir`` is served (links in Discord); None: the
            WordPress post is the link, else the local path is shown.
        log_to_mlflow: log changed reports to the MLflow experiment ``reports``.
    """

    reports_dir: str
    title: str = "Trading report"
    public_url: str | None = None
    log_to_mlflow: bool = True


class WordPressResource(dg.ConfigurableResource):
    """A WordPress site (REST API, application-password auth); off unless all of ``url``,
    ``user`` and ``app_password`` are set.

    Attributes:
        url: the site root (``WORDPRESS_URL``).
        user: the user name (``WORDPRESS_USER``).
        app_password: the user's application password (``WORDPRESS_APP_PASSWORD``; secret).
        post_status: ``publish`` or ``draft``.
        timeout_s / attempts: per request timeout and tries (429/5xx are retried).
    """

    url: str | None = None
    user: str | None = None
    app_password: str | None = None
    post_status: str = "publish"
    timeout_s: float = 30.0
    attempts: int = 5

    @property
    def enabled(self) -> bool:
        return bool(self.url and self.user and self.app_password)

    def client(self, **kwargs: Any) -> "WordPressClient":
        """A client of the site (raises ``PublishError`` when not configured)."""
        from trading_assets.http import RetryPolicy
        from trading_assets.publish.wordpress import WordPressClient

        return WordPressClient(
            self.url or "",
            self.user or "",
            self.app_password or "",
            timeout_s=self.timeout_s,
            retry=RetryPolicy(attempts=self.attempts),
            **kwargs,
        )


class DiscordResource(dg.ConfigurableResource):
    """A Discord webhook; off unless ``webhook_url`` is set.

    Attributes:
        webhook_url: ``https://discord.com/api/webhooks/<id>/<token>`` (``DISCORD_WEBHOOK_URL``;
            secret).
        timeout_s / attempts: per request timeout and tries (429/5xx are retried).
    """

    webhook_url: str | None = None
    timeout_s: float = 30.0
    attempts: int = 5

    @property
    def enabled(self) -> bool:
        return bool(self.webhook_url)

    def webhook(self, **kwargs: Any) -> "DiscordWebhook":
        """The webhook client (raises ``PublishError`` when not configured)."""
        from trading_assets.http import RetryPolicy
        from trading_assets.publish.discord import DiscordWebhook

        return DiscordWebhook(
            self.webhook_url or "",
            timeout_s=self.timeout_s,
            retry=RetryPolicy(attempts=self.attempts),
            **kwargs,
        )


def report_resources_from_env(home: ProjectHome) -> dict[str, Any]:
    """The ``report_settings``, ``wordpress`` and ``discord`` resources (table above)."""
    return {
        "report_settings": ReportSettings(
            reports_dir=str(home.reports_dir), public_url=_env("TRADING_REPORT_PUBLIC_URL")
        ),
        "wordpress": WordPressResource(
            url=_env("WORDPRESS_URL"),
            user=_env("WORDPRESS_USER"),
            app_password=_env("WORDPRESS_APP_PASSWORD"),
        ),
        "discord": DiscordResource(webhook_url=_env("DISCORD_WEBHOOK_URL")),
    }
