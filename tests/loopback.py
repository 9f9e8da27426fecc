"""Base of the tests' HTTP servers: bound to 127.0.0.1 on a free port, served from a thread."""

from __future__ import annotations

import threading
from http.server import HTTPServer
from typing import Self


class LoopbackServer:
    """Start/stop and context-manager plumbing; subclasses build the server in
    :meth:`_make_server` (always bound to ``("127.0.0.1", 0)``)."""

    _server: HTTPServer | None = None
    _thread: threading.Thread | None = None

    def _make_server(self) -> HTTPServer:
        raise NotImplementedError

    @property
    def url(self) -> str:
        """``http://127.0.0.1:<port>`` of the running server."""
        assert self._server is not None, "start the server first"
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def start(self) -> Self:
        self._server = self._make_server()
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.01}, daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
