"""The shared HTTP layer (``trading_assets/http.py``): ``Retry-After`` in both forms, the retry
policy, and real requests against a scripted server on 127.0.0.1 (429 then success, 5xx
backoff, timeouts, refused connections), with secrets kept out of errors and logs."""

from __future__ import annotations

import asyncio
import json
import logging
import socket
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from http.server import BaseHTTPRequestHandler, HTTPServer, ThreadingHTTPServer

import httpx
import pytest

from tests.loopback import LoopbackServer
from trading_assets.errors import ConfigurationError
from trading_assets.http import (
    REDACTED,
    HttpStatusError,
    HttpTimeoutError,
    HttpTransportError,
    RequestTrace,
    RetryPolicy,
    arequest,
    header_secrets,
    redact,
    request,
    retry_after_seconds,
    safe_url,
)

NOW = datetime(2015, 10, 21, 7, 27, 0, tzinfo=UTC)
SECRET = "sk-test-SECRET-9f8e7d"
KEY_ID = "PK-test-KEYID-1234"


# ----------------------------------------------------------------------------- Retry-After


@pytest.mark.parametrize(
    ("value", "seconds"),
    [
        ("120", 120.0),
        ("0", 0.0),
        (" 7 ", 7.0),
        ("0.5", 0.5),  # Discord sends fractional seconds
        # HTTP-date: IMF-fixdate, obsolete RFC 850 and asctime forms (RFC 9110 5.6.7)
        ("Wed, 21 Oct 2015 07:28:00 GMT", 60.0),
        ("Wednesday, 21-Oct-15 07:28:00 GMT", 60.0),
        ("Wed Oct 21 07:28:00 2015", 60.0),
        ("Wed, 21 Oct 2015 09:28:00 +0200", 60.0),
        ("Wed, 21 Oct 2015 07:00:00 GMT", 0.0),  # already past: retry now
    ],
)
def test_retry_after_both_forms(value, seconds):
    assert retry_after_seconds(value, NOW) == pytest.approx(seconds)


@pytest.mark.parametrize(
    "value",
    [None, "", "  ", "-1", "-0.5", "soon", "1e3", "nan", "inf", "1_000", "12abc", "0x10"]
    + ["Wed, 32 Oct 2015 07:28:00 GMT", "Wed, 21 Foo 2015 07:28:00 GMT", "Wed"],
)
def test_retry_after_negative_or_garbage_is_none(value):
    assert retry_after_seconds(value, NOW) is None


def test_retry_after_date_defaults_to_now_and_naive_now_is_utc():
    soon = format_datetime(datetime.now(UTC) + timedelta(seconds=30), usegmt=True)
    assert 27 <= retry_after_seconds(soon) <= 30
    naive_now = NOW.replace(tzinfo=None)
    assert retry_after_seconds("Wed, 21 Oct 2015 07:28:00 GMT", naive_now) == 60.0


# ----------------------------------------------------------------------------- policy


def test_policy_backoff_doubles_and_is_capped():
    policy = RetryPolicy(attempts=6, backoff_s=0.5, max_wait_s=3.0)
    assert [policy.backoff(n) for n in range(1, 6)] == [0.5, 1.0, 2.0, 3.0, 3.0]
    assert policy.wait_s(1, hinted=10.0) == 3.0  # a long Retry-After is capped too
    assert policy.wait_s(3, hinted=0.25) == 0.25  # a hint replaces the backoff
    assert policy.backoff(10_000) == 3.0  # no overflow
    assert RetryPolicy.with_retries(2).attempts == 3
    assert RetryPolicy(statuses=[503]).statuses == frozenset({503})
    assert 429 in RetryPolicy().statuses and 500 in RetryPolicy().statuses
    with pytest.raises(ConfigurationError):
        RetryPolicy(attempts=0)
    with pytest.raises(ConfigurationError):
        RetryPolicy(backoff_s=-1)


# ----------------------------------------------------------------------------- redaction


def test_safe_url_drops_user_info_and_masks_secret_parameters():
    url = (
        f"https://user:pw-{SECRET}@api.example/v1/x?symbols=BTC/USD&api_key={SECRET}&page_token=p2"
    )
    safe = safe_url(url)
    assert SECRET not in safe and "user" not in safe
    assert safe == f"https://api.example/v1/x?symbols=BTC/USD&api_key={REDACTED}&page_token=p2"
    hook = "https://discord.example/api/webhooks/123/tok-abcdef"
    assert safe_url(hook, ["tok-abcdef"]) == f"https://discord.example/api/webhooks/123/{REDACTED}"
    assert redact(f"echo {SECRET} and more", [SECRET, None, "ab"]) == "echo *** and more"


def test_header_secrets_are_the_values_of_sensitive_headers():
    headers = {
        "Accept": "application/json",
        "APCA-API-KEY-ID": KEY_ID,
        "APCA-API-SECRET-KEY": SECRET,
        "Authorization": "Bearer sk-bearer-123",
        "User-Agent": "trading-assets",
    }
    found = header_secrets(headers)
    assert {KEY_ID, SECRET, "Bearer sk-bearer-123", "sk-bearer-123"} == set(found)


# ----------------------------------------------------------------------------- server


@dataclass
class Answer:
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b'{"ok": true}'
    delay_s: float = 0.0  # before the headers
    body_delay_s: float = 0.0  # between the headers and the body


@dataclass
class ScriptedServer(LoopbackServer):
    """Answers each request with the next scripted :class:`Answer` (then 200 ``{"ok":
    true}``), records (method, path with query, lower-cased headers) and the largest number
    of requests in flight at once."""

    script: list[Answer] = field(default_factory=list)
    seen: list[tuple[str, str, dict[str, str]]] = field(default_factory=list)
    in_flight: int = 0
    max_in_flight: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def _make_server(self) -> HTTPServer:
        scripted = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: object) -> None:
                pass

            def _serve(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                if length:
                    self.rfile.read(length)
                with scripted.lock:
                    headers = {k.lower(): v for k, v in self.headers.items()}
                    scripted.seen.append((self.command, self.path, headers))
                    answer = scripted.script.pop(0) if scripted.script else Answer()
                    scripted.in_flight += 1
                    scripted.max_in_flight = max(scripted.max_in_flight, scripted.in_flight)
                try:
                    time.sleep(answer.delay_s)
                    self.send_response(answer.status)
                    headers = {"Content-Type": "application/json", **answer.headers}
                    for name, value in headers.items():
                        self.send_header(name, value)
                    self.send_header("Content-Length", str(len(answer.body)))
                    self.end_headers()
                    self.wfile.flush()
                    time.sleep(answer.body_delay_s)
                    self.wfile.write(answer.body)
                except OSError:  # the client gave up (a timeout test)
                    pass
                finally:
                    with scripted.lock:
                        scripted.in_flight -= 1

            do_GET = do_POST = _serve

        return ThreadingHTTPServer(("127.0.0.1", 0), Handler)


@pytest.fixture
def server():
    with ScriptedServer() as scripted:
        yield scripted


def fast(**changes) -> RetryPolicy:
    """A policy that does not sleep between tries."""
    options = {"attempts": 4, "backoff_s": 0.01, "max_wait_s": 5.0, "sleep": lambda _: None}
    return RetryPolicy(**{**options, **changes})


def test_429_then_success_waits_retry_after_seconds(server):
    server.script = [Answer(429, {"Retry-After": "2"}), Answer(200, body=b'{"n": 1}')]
    waits: list[float] = []
    trace = RequestTrace()
    with httpx.Client(base_url=server.url) as client:
        response = request(
            client, "GET", "/bars", policy=RetryPolicy(sleep=waits.append), trace=trace
        )
    assert response.status_code == 200 and response.json() == {"n": 1}
    assert waits == [2.0] == trace.waits  # what Retry-After said, not the backoff
    assert trace.attempts == 2 and trace.statuses == [429, 200]
    assert len(server.seen) == 2


def test_429_with_an_http_date_waits_until_that_date(server):
    later = format_datetime(datetime.now(UTC) + timedelta(seconds=20), usegmt=True)
    server.script = [Answer(429, {"Retry-After": later})]
    waits: list[float] = []
    with httpx.Client() as client:
        response = request(client, "GET", server.url, policy=RetryPolicy(sleep=waits.append))
    assert response.status_code == 200
    assert len(waits) == 1 and 17 <= waits[0] <= 20


def test_a_garbage_retry_after_falls_back_to_the_hint_then_the_backoff(server):
    server.script = [
        Answer(429, {"Retry-After": "later please", "X-Reset-In": "0.75"}),
        Answer(503, {"Retry-After": "-3"}),
    ]
    waits: list[float] = []

    def hint(response: httpx.Response) -> float | None:
        value = response.headers.get("X-Reset-In")
        return float(value) if value else None

    policy = RetryPolicy(backoff_s=0.01, sleep=waits.append)
    with httpx.Client() as client:
        assert request(client, "GET", server.url, policy=policy, hint=hint).status_code == 200
    assert waits == [0.75, 0.02]  # the hint, then backoff after the 2nd try (0.01 x 2)


def test_5xx_backs_off_exponentially_then_succeeds(server):
    server.script = [Answer(503), Answer(502), Answer(500)]
    waits: list[float] = []
    policy = RetryPolicy(attempts=4, backoff_s=0.01, max_wait_s=0.03, sleep=waits.append)
    trace = RequestTrace()
    with httpx.Client() as client:
        response = request(
            client, "POST", server.url + "/post", json={"a": 1}, policy=policy, trace=trace
        )
    assert response.status_code == 200
    assert waits == [0.01, 0.02, 0.03]  # doubling, capped at max_wait_s
    assert trace.statuses == [503, 502, 500, 200]
    assert [m for m, _, _ in server.seen] == ["POST"] * 4


def test_5xx_every_time_raises_a_status_error_naming_the_url(server, caplog):
    caplog.set_level(logging.INFO)
    server.script = [Answer(503, body=b"busy")] * 3
    policy = RetryPolicy(attempts=3, backoff_s=0.0)
    headers = {"APCA-API-KEY-ID": KEY_ID, "APCA-API-SECRET-KEY": SECRET}
    with httpx.Client(headers=headers) as client, pytest.raises(HttpStatusError) as info:
        request(client, "GET", f"{server.url}/v2/bars?symbols=AAPL&token={SECRET}", policy=policy)
    error = info.value
    assert error.status == 503 and error.attempts == 3 and error.response.text == "busy"
    assert (
        str(error) == f"GET {server.url}/v2/bars?symbols=AAPL&token=***: HTTP 503 after 3 attempts"
    )
    assert len(server.seen) == 3
    assert server.seen[0][2]["apca-api-secret-key"] == SECRET  # sent, but never shown:
    logged = "\n".join(r.getMessage() for r in caplog.records)
    assert "retrying" in logged and "HTTP Request" in logged
    assert SECRET not in logged and KEY_ID not in logged and "token=***" in logged


def test_other_statuses_are_returned_after_one_try(server):
    server.script = [Answer(404, body=b"{}"), Answer(401, body=b"{}")]
    with httpx.Client() as client:
        assert request(client, "GET", server.url, policy=fast()).status_code == 404
        assert request(client, "GET", server.url, policy=fast()).status_code == 401
    assert len(server.seen) == 2


def test_timeout_is_a_clear_error_naming_the_url_without_secrets(server):
    server.script = [Answer(delay_s=1.0)]
    url = f"{server.url}/slow?symbols=BTC/USD&api_key={SECRET}"
    policy = RetryPolicy(attempts=3, retry_timeouts=False)
    with (
        httpx.Client(timeout=0.2, headers={"Authorization": f"Bearer {KEY_ID}"}) as client,
        pytest.raises(HttpTimeoutError) as info,
    ):
        request(client, "GET", url, policy=policy)
    message = str(info.value)
    assert message.startswith(f"GET {server.url}/slow?symbols=BTC/USD&api_key=***: timed out")
    assert "ReadTimeout" in message and "0.2 s" in message and message.endswith("1 attempt")
    assert SECRET not in message and KEY_ID not in message
    assert isinstance(info.value, HttpTransportError) and info.value.status is None
    assert len(server.seen) == 1  # not retried


def test_timeouts_are_retried_when_the_policy_says_so(server):
    server.script = [Answer(delay_s=1.0), Answer(body=b'{"late": false}')]
    waits: list[float] = []
    with httpx.Client(timeout=0.2) as client:
        response = request(client, "GET", server.url, policy=RetryPolicy(sleep=waits.append))
    assert response.json() == {"late": False} and len(waits) == 1


def test_connection_refused_is_retried_then_raises():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    trace = RequestTrace()
    with httpx.Client() as client, pytest.raises(HttpTransportError) as info:
        request(client, "GET", f"http://127.0.0.1:{port}/x", policy=fast(attempts=2), trace=trace)
    assert "ConnectError" in str(info.value) and f"127.0.0.1:{port}/x" in str(info.value)
    assert not isinstance(info.value, HttpTimeoutError)
    assert trace.attempts == 2 and trace.statuses == [None, None]


# ----------------------------------------------------------------------------- async


def test_async_429_then_success_with_a_streamed_read(server):
    server.script = [Answer(429, {"Retry-After": "0.01"}), Answer(body=b'{"page": 2}')]
    trace = RequestTrace()

    async def main() -> dict:
        async def read(response: httpx.Response) -> dict:
            return json.loads(await response.aread())

        async with httpx.AsyncClient() as client:
            return await arequest(
                client, "GET", server.url, policy=RetryPolicy(), read=read, trace=trace
            )

    assert asyncio.run(main()) == {"page": 2}
    assert trace.statuses == [429, 200] and trace.waits == [0.01]


def test_async_deadline_covers_the_whole_try_body_included(server):
    # the headers come at once, the body too late: only a deadline over the whole try catches it
    server.script = [Answer(body_delay_s=1.0)]
    trace = RequestTrace()

    async def main() -> None:
        async def read(response: httpx.Response) -> bytes:
            return await response.aread()

        async with httpx.AsyncClient(timeout=5) as client:
            await arequest(
                client,
                "GET",
                f"{server.url}/feed?access_token={SECRET}",
                policy=RetryPolicy(attempts=3, retry_timeouts=False),
                read=read,
                timeout_s=0.3,
                trace=trace,
            )

    with pytest.raises(HttpTimeoutError) as info:
        asyncio.run(main())
    assert str(info.value) == (
        f"GET {server.url}/feed?access_token=***: timed out (whole try over 0.3 s) after 1 attempt"
    )
    assert info.value.status == 200 and trace.statuses == [200]  # the headers had come


def test_async_limiter_bounds_the_requests_in_flight(server):
    server.script = [Answer(delay_s=0.1) for _ in range(6)]

    async def main(limit: int) -> list[httpx.Response]:
        limiter = asyncio.Semaphore(limit)
        async with httpx.AsyncClient() as client:
            calls = [arequest(client, "GET", server.url, limiter=limiter) for _ in range(6)]
            return await asyncio.gather(*calls)

    assert all(r.status_code == 200 for r in asyncio.run(main(2)))
    assert server.max_in_flight == 2


def test_async_5xx_every_time_raises_with_the_attempts(server):
    server.script = [Answer(500)] * 2

    async def main() -> None:
        async with httpx.AsyncClient() as client:
            await arequest(client, "GET", server.url, policy=fast(attempts=2))

    with pytest.raises(HttpStatusError, match=r"HTTP 500 after 2 attempts") as info:
        asyncio.run(main())
    assert info.value.attempts == 2


# ----------------------------------------------------------------------------- import cost


def test_the_code_location_loads_without_httpx_or_tenacity():
    code = (
        "import sys\n"
        "import trading_assets.definitions\n"
        "import trading_assets.http, trading_assets.sources.alpaca, trading_assets.news.fetch\n"
        "import trading_assets.news.alpaca_news, trading_assets.sentiment.llm\n"
        "import trading_assets.publish.discord, trading_assets.publish.wordpress\n"
        "print(sorted(m for m in ('httpx', 'tenacity') if m in sys.modules))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=300
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"
