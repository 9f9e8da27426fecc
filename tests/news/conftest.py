"""Fixtures of the news tests: every HTTP request must go to 127.0.0.1."""

from __future__ import annotations

import httpx
import pytest

from tests.news.feed_server import FeedServer


def guard_loopback(monkeypatch: pytest.MonkeyPatch) -> None:
    """Make httpx (sync and async) refuse any host but 127.0.0.1, and drop proxy settings."""
    for name in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy"):
        monkeypatch.delenv(name, raising=False)
    real_send, real_async_send = httpx.Client.send, httpx.AsyncClient.send

    def send(self, request, *args, **kwargs):
        if request.url.host != "127.0.0.1":
            raise AssertionError(f"test tried to reach {request.url.host}")
        return real_send(self, request, *args, **kwargs)

    async def async_send(self, request, *args, **kwargs):
        if request.url.host != "127.0.0.1":
            raise AssertionError(f"test tried to reach {request.url.host}")
        return await real_async_send(self, request, *args, **kwargs)

    monkeypatch.setattr(httpx.Client, "send", send)
    monkeypatch.setattr(httpx.AsyncClient, "send", async_send)


@pytest.fixture(autouse=True)
def _loopback_only(monkeypatch):
    guard_loopback(monkeypatch)


@pytest.fixture
def feed_server():
    with FeedServer() as server:
        yield server
