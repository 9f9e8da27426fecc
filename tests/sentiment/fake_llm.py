"""A fake OpenAI-compatible chat server on 127.0.0.1 for the LLM chain tests.

``mode`` decides the answers: ``ok`` rates each item by keywords (rose/beat -> positive,
fell/loss -> negative, else neutral); ``error`` answers HTTP 500; ``garbage`` answers text
that is not JSON; ``partial`` leaves the last item out. Every request is recorded (headers and
the parsed JSON body).
"""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


def _rate(text: str) -> dict[str, Any]:
    lower = text.lower()
    if any(w in lower for w in ("rose", "beat", "record", "gain")):
        return {"label": "positive", "score": 0.8, "confidence": 0.9}
    if any(w in lower for w in ("fell", "loss", "cut", "miss")):
        return {"label": "negative", "score": -0.7, "confidence": 0.8}
    return {"label": "neutral", "score": 0.0, "confidence": 0.6}


class FakeLlm:
    def __init__(self, mode: str = "ok") -> None:
        self.mode = mode
        self.requests: list[dict[str, Any]] = []
        self._server: ThreadingHTTPServer | None = None

    @property
    def base_url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}/v1"

    def texts_sent(self) -> list[str]:
        return [
            item["text"]
            for r in self.requests
            for item in json.loads(r["body"]["messages"][1]["content"])["items"]
        ]

    def __enter__(self) -> FakeLlm:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self) -> None:  # noqa: N802
                length = int(self.headers.get("Content-Length", 0))
                body = json.loads(self.rfile.read(length))
                fake.requests.append(
                    {
                        "path": self.path,
                        "headers": {k.lower(): v for k, v in self.headers.items()},
                        "body": body,
                    }
                )
                if fake.mode == "error":
                    self._send(500, b'{"error": "overloaded"}')
                    return
                items = json.loads(body["messages"][1]["content"])["items"]
                results = [{"id": item["id"], **_rate(item["text"])} for item in items]
                if fake.mode == "partial":
                    results = results[:-1]
                content = (
                    "sorry, I cannot"
                    if fake.mode == "garbage"
                    else json.dumps({"results": results})
                )
                answer = {
                    "choices": [{"message": {"role": "assistant", "content": content}}],
                    # like OpenAI: tokens billed, here 1 per 4 characters in and out
                    "usage": {
                        "prompt_tokens": length // 4,
                        "completion_tokens": len(content) // 4,
                        "total_tokens": length // 4 + len(content) // 4,
                    },
                }
                self._send(200, json.dumps(answer).encode())

            def _send(self, status: int, payload: bytes) -> None:
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()
