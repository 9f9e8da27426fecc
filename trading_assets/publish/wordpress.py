"""Create or update the WordPress post of one report date through the REST API.

``GET /wp-json/wp/v2/posts?slug=<slug>&status=any`` finds the post of the date (slug
``trading-report-YYYY-MM-DD``); it is updated with ``POST /wp-json/wp/v2/posts/<id>`` if
found, else created with ``POST /wp-json/wp/v2/posts``. Running twice leaves exactly one
post. Authentication is HTTP Basic with a user and an application password (WordPress
5.6+, Users → Profile → Application Passwords); the password is never logged.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import TYPE_CHECKING, Any

from trading_assets.errors import PublishError
from trading_assets.http import RetryPolicy
from trading_assets.publish.calls import call

if TYPE_CHECKING:
    import httpx

POSTS = "/wp-json/wp/v2/posts"


def post_slug(report_date: date, prefix: str = "trading-report") -> str:
    """``trading-report-YYYY-MM-DD``: the slug that identifies the post of a report date."""
    return f"{prefix}-{report_date:%Y-%m-%d}"


@dataclass(frozen=True)
class PostResult:
    """What :meth:`WordPressClient.publish` did: ``action`` is ``created`` or ``updated``;
    ``post_id`` the WordPress id; ``link`` the post's public URL."""

    post_id: int
    action: str
    link: str


class WordPressClient:
    """A WordPress site's REST API.

    Args:
        base_url: the site root, e.g. ``https://blog.example.com`` (``/wp-json`` is added).
        user: the WordPress user name.
        app_password: an application password of that user (spaces allowed).
        timeout_s: per request timeout, seconds.
        retry: how 429/5xx answers and transport errors are retried (:class:`RetryPolicy`:
            a 429 waits ``Retry-After``; 5xx and transport errors back off exponentially).
        transport: an httpx transport (tests).
    """

    def __init__(
        self,
        base_url: str,
        user: str,
        app_password: str,
        *,
        timeout_s: float = 30.0,
        retry: RetryPolicy | None = None,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        if not base_url or not user or not app_password:
            raise PublishError("wordpress", "base URL, user and application password are needed")
        self._secrets = (app_password,)  # kept out of logs and errors
        self._retry = retry or RetryPolicy()
        import httpx

        self._client = httpx.Client(
            base_url=base_url.rstrip("/"),
            auth=httpx.BasicAuth(user, app_password),
            timeout=timeout_s,
            transport=transport,
            headers={"Accept": "application/json"},
        )

    def close(self) -> None:
        self._client.close()

    def __enter__(self) -> WordPressClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _call(self, method: str, path: str, label: str, **kwargs: Any) -> httpx.Response:
        return call(
            self._client,
            method,
            path,
            target="wordpress",
            label=label,
            retry=self._retry,
            secrets=self._secrets,
            **kwargs,
        )

    def find_post(self, slug: str) -> dict[str, Any] | None:
        """The post with ``slug`` in any status (publish, draft, private...), or None."""
        response = self._call(
            "GET",
            POSTS,
            f"find post {slug}",
            params={"slug": slug, "status": "any", "context": "edit"},
        )
        posts = response.json()
        if not isinstance(posts, list):
            raise PublishError("wordpress", f"find post {slug}: expected a JSON list of posts")
        return posts[0] if posts else None

    def publish(
        self, slug: str, title: str, content: str, *, status: str = "publish"
    ) -> PostResult:
        """Create the post ``slug`` or update it in place (title, content, status).

        Raises:
            PublishError: the site refused (401 bad credentials, 403 no rights, ...) or kept
                failing after the retries.
        """
        fields = {"title": title, "content": content, "status": status}
        existing = self.find_post(slug)
        if existing is None:
            response = self._call(
                "POST", POSTS, f"create post {slug}", json={**fields, "slug": slug}
            )
            action = "created"
        else:
            post_id = int(existing["id"])
            response = self._call(
                "POST", f"{POSTS}/{post_id}", f"update post {post_id}", json=fields
            )
            action = "updated"
        body = response.json()
        return PostResult(int(body["id"]), action, str(body.get("link", "")))
