"""Run a WSGI app on 127.0.0.1 in a thread, recording requests and able to be "down"."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import Any

from flask import Flask, Response, request
from werkzeug.serving import WSGIRequestHandler, make_server


@dataclass
class RecordedRequest:
    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    body: bytes
    json: Any = None


@dataclass
class FakeServerState:
    """What every fake shares: the requests it saw and whether it pretends to be down."""

    requests: list[RecordedRequest] = field(default_factory=list)
    down: bool = False
    lock: threading.RLock = field(default_factory=threading.RLock)

    def paths(self, method: str | None = None) -> list[str]:
        return [r.path for r in self.requests if method is None or r.method == method]


def install_recorder(app: Flask, state: FakeServerState) -> None:
    """Record each request and answer 503 while the server is marked down."""

    @app.before_request
    def _record():
        body = request.get_data(cache=True)
        with state.lock:
            state.requests.append(RecordedRequest(
                request.method, request.path, dict(request.args), dict(request.headers), body,
                request.get_json(silent=True)))
            if state.down:
                return Response("<html>Service Unavailable</html>", status=503,
                                content_type="text/html")
        return None


class _QuietRequestHandler(WSGIRequestHandler):
    """No access log: it would put request URLs (and any token in them) into caplog."""

    def log_request(self, *args, **kwargs) -> None:
        pass


class ServerThread:
    """A real HTTP server on an ephemeral port; ``url`` is its base address."""

    def __init__(self, app: Flask) -> None:
        self._server = make_server("127.0.0.1", 0, app, threaded=True,
                                   request_handler=_QuietRequestHandler)
        self.url = f"http://127.0.0.1:{self._server.server_port}"
        self._thread = threading.Thread(target=self._server.serve_forever,
                                        kwargs={"poll_interval": 0.05}, daemon=True)

    def __enter__(self) -> ServerThread:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join()
