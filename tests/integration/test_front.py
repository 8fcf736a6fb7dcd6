"""web.front.Front driven directly as an ASGI app: the request queue cap, bodies that arrive
in pieces, and the health lane that stays open while every work thread is busy."""

from __future__ import annotations

import asyncio
import json
import threading

from flask import Flask, request

from engine.notify import TaskAvailability
from web.front import Front
from web.limits import ServerLimits


def slow_app(release: threading.Event) -> Flask:
    app = Flask("t")
    app.config["MAX_CONTENT_LENGTH"] = 1000

    @app.post("/api/slow")
    def slow():
        release.wait(30)
        return {"size": len(request.get_data())}

    @app.get("/healthz")
    def healthz():
        return {"status": "ok"}

    return app


async def call(front: Front, path: str, method: str = "GET", chunks: list[bytes] = (b"",)):
    sent: list[dict] = []
    pieces = [{"type": "http.request", "body": c, "more_body": i < len(chunks) - 1}
              for i, c in enumerate(chunks)]

    async def receive():
        if pieces:
            return pieces.pop(0)
        await asyncio.Event().wait()

    async def send(message):
        sent.append(message)

    scope = {"type": "http", "method": method, "path": path, "raw_path": path.encode(),
             "query_string": b"", "headers": [], "http_version": "1.1", "scheme": "http",
             "server": ("127.0.0.1", 80), "client": ("127.0.0.1", 1), "root_path": ""}
    await front(scope, receive, send)
    status = next(m["status"] for m in sent if m["type"] == "http.response.start")
    headers = dict(next(m["headers"] for m in sent if m["type"] == "http.response.start"))
    body = b"".join(m.get("body", b"") for m in sent if m["type"] == "http.response.body")
    return status, headers, json.loads(body)


def test_requests_beyond_the_queue_get_503_and_health_still_answers():
    release = threading.Event()
    front = Front(slow_app(release), TaskAvailability(), ServerLimits(threads=1, queue=2))

    async def scenario():
        first = asyncio.ensure_future(call(front, "/api/slow", "POST"))
        second = asyncio.ensure_future(call(front, "/api/slow", "POST"))
        await asyncio.sleep(0.3)  # one runs, one waits for the only thread
        refused = await call(front, "/api/slow", "POST")
        health = await asyncio.wait_for(call(front, "/healthz"), 10)
        release.set()
        return refused, health, await first, await second

    refused, health, first, second = asyncio.run(scenario())
    assert refused[0] == 503 and refused[1][b"retry-after"] == b"1"
    assert refused[2]["error"] == "busy" and "2 requests in flight" in refused[2]["message"]
    assert health[0] == 200 and first[0] == second[0] == 200


def test_a_body_in_pieces_is_joined_and_one_growing_too_large_gets_413():
    release = threading.Event()
    release.set()
    front = Front(slow_app(release), TaskAvailability(), ServerLimits(threads=1))
    status, _, body = asyncio.run(call(front, "/api/slow", "POST", [b"a" * 300] * 3))
    assert status == 200 and body == {"size": 900}
    status, _, body = asyncio.run(call(front, "/api/slow", "POST", [b"a" * 400] * 3))
    assert status == 413 and body["message"] == "request body larger than 1000 bytes"
