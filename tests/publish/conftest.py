"""Fixtures of the publishing tests: local WordPress and Discord servers, loopback only."""

from __future__ import annotations

import pytest

from tests.news.conftest import guard_loopback
from tests.publish.servers import FakeDiscord, FakeWordPress


@pytest.fixture(autouse=True)
def _loopback_only(monkeypatch):
    guard_loopback(monkeypatch)


@pytest.fixture
def wordpress():
    with FakeWordPress() as server:
        yield server


@pytest.fixture
def discord():
    with FakeDiscord() as server:
        yield server
