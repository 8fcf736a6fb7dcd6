"""The asynchronous front of ``mlc serve``: an ASGI app between the HTTP server (Hypercorn)
and the Flask app, which keeps threads for work and nothing else.

- **Bodies** are read here, on the event loop, up to ``MAX_CONTENT_LENGTH`` and within
  ``body_timeout``; a slow or oversized upload costs a socket, never a request thread.
- **Work** runs the Flask app in ``threads`` threads (a2wsgi); at most ``queue`` requests
  may be running or waiting for one, the next are answered 503 with ``Retry-After``.
- **/healthz** has its own two threads, so it answers while the work threads are busy.
- **Long polls** (``fetchAndLock`` with ``asyncResponseTimeout``) wait here, without a
  thread: the view claims once and says how long the client may wait (``WAIT_HEADER``); the
  front then waits for :mod:`engine.notify` to report new tasks of the poll's topics (or for
  the deadline, the client going away, or shutdown) and asks the view again. At most
  ``max_long_polls`` wait at once.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any, cast

from a2wsgi import WSGIMiddleware
from flask import Flask

from engine.notify import TaskAvailability, Waiter

from .app import error_body
from .engine_rest.external_task import DEFER_HEADER, WAIT_HEADER
from .limits import ServerLimits

if TYPE_CHECKING:
    from a2wsgi.wsgi_typing import WSGIApp

LONG_POLL_PATH = "/engine-rest/external-task/fetchAndLock"
HEALTH_PATHS = frozenset({"/healthz"})
HEALTH_THREADS = 2

Message = dict[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
Asgi = Callable[[Message, Receive, Send], Awaitable[None]]


class Front:
    """The ASGI application that ``mlc serve`` hands to Hypercorn."""

    def __init__(self, app: Flask, availability: TaskAvailability,
                 limits: ServerLimits = ServerLimits()) -> None:
        self.limits = limits
        self.availability = availability
        self.max_body = int(app.config.get("MAX_CONTENT_LENGTH") or 16 * 1024 * 1024)
        self._work = _in_threads(app, limits.threads)
        self._health = _in_threads(app, HEALTH_THREADS)
        self._active = 0
        self._polls = 0
        self._stopping = False
        self._poll_wakers: set[asyncio.Event] = set()

    # ------------------------------------------------------------------ entry

    async def __call__(self, scope: Message, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await _lifespan(receive, send)
            return
        if scope["type"] != "http":  # websockets: nothing here speaks them
            await send({"type": "websocket.close", "code": 1003})
            return
        body = await self._read_body(scope, receive, send)
        if body is None:
            return
        # the body is whole now: say how long, so a chunked upload reaches Flask too
        scope = _with_header(_with_header(scope, "transfer-encoding", None), "content-length",
                             str(len(body)))
        path = scope["path"]
        if path in HEALTH_PATHS:
            await self._health(scope, _replay(body), send)
        elif path == LONG_POLL_PATH and scope["method"] == "POST":
            await self._long_poll(scope, body, receive, send)
        elif self._active >= self.limits.queue:
            await _answer(send, path, 503, "busy",
                          f"server busy: {self.limits.queue} requests in flight; retry shortly",
                          retry_after=1)
        else:
            self._active += 1
            try:
                await self._work(scope, _replay(body), send)
            finally:
                self._active -= 1

    def begin_shutdown(self) -> None:
        """End every long poll now (they answer an empty list). Call on the event loop."""
        self._stopping = True
        for woken in list(self._poll_wakers):
            woken.set()

    # ------------------------------------------------------------------ bodies

    async def _read_body(self, scope: Message, receive: Receive, send: Send) -> bytes | None:
        path = scope["path"]
        declared = _header(scope, b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.max_body:
            await _answer(send, path, 413, "payload_too_large",
                          f"request body larger than {self.max_body} bytes")
            return None
        chunks: list[bytes] = []
        size = 0
        try:
            async with asyncio.timeout(self.limits.body_timeout):
                while True:
                    message = await receive()
                    if message["type"] == "http.disconnect":
                        return None
                    chunk = message.get("body", b"")
                    size += len(chunk)
                    if size > self.max_body:
                        await _answer(send, path, 413, "payload_too_large",
                                      f"request body larger than {self.max_body} bytes")
                        return None
                    chunks.append(chunk)
                    if not message.get("more_body", False):
                        return b"".join(chunks)
        except TimeoutError:
            await _answer(send, path, 408, "request_timeout",
                          f"request body not received within {self.limits.body_timeout:g} s")
            return None

    # ------------------------------------------------------------------ long polls

    async def _long_poll(self, scope: Message, body: bytes, receive: Receive,
                         send: Send) -> None:
        path = scope["path"]
        if self._polls >= self.limits.max_long_polls:
            await _answer(send, path, 503, "busy", f"{self.limits.max_long_polls} long polls "
                          "are waiting already; retry shortly", retry_after=5)
            return
        self._polls += 1
        loop = asyncio.get_running_loop()
        woken = asyncio.Event()

        def wake() -> None:  # from the committing thread
            loop.call_soon_threadsafe(woken.set)

        waiter = Waiter(_topics(body), wake)
        self._poll_wakers.add(woken)
        gone = asyncio.ensure_future(_disconnected(receive))
        scope = _with_header(scope, DEFER_HEADER, "defer")
        try:
            answer = await self._poll_until_answer(scope, body, woken, waiter, gone)
            if answer is not None:
                await answer.forward(send)
        finally:
            self.availability.remove(waiter)
            gone.cancel()
            self._poll_wakers.discard(woken)
            self._polls -= 1

    async def _poll_until_answer(self, scope: Message, body: bytes, woken: asyncio.Event,
                                 waiter: Waiter, gone: asyncio.Future[None]) -> _Captured | None:
        loop = asyncio.get_running_loop()
        deadline: float | None = None
        while True:
            woken.clear()
            self.availability.add(waiter)  # before the claim: a commit in between wakes us
            answer = await self._capture(scope, body)
            wait = answer.take_header(WAIT_HEADER)
            if wait is None or self._stopping or gone.done():
                return None if gone.done() else answer
            if deadline is None:
                deadline = loop.time() + float(wait)
            remaining = deadline - loop.time()
            if remaining <= 0:
                return answer
            sleeper = asyncio.ensure_future(woken.wait())
            either: set[asyncio.Future[Any]] = {sleeper, gone}
            try:
                await asyncio.wait(either, timeout=remaining,
                                   return_when=asyncio.FIRST_COMPLETED)
            finally:
                sleeper.cancel()
            if gone.done():
                return None  # nobody left to answer: claim nothing for them
            if not woken.is_set():
                return answer  # the deadline passed: the empty list stands

    async def _capture(self, scope: Message, body: bytes) -> _Captured:
        captured = _Captured()
        await self._work(scope, _replay(body), captured.keep)
        return captured


class _Captured:
    """A response held back until the front decides whether to send it or to wait."""

    def __init__(self) -> None:
        self.messages: list[Message] = []

    async def keep(self, message: Message) -> None:
        self.messages.append(message)

    def take_header(self, name: str) -> str | None:
        """Remove header ``name`` from the response; its value, if it was there."""
        wanted = name.lower().encode("latin-1")
        for message in self.messages:
            if message["type"] == "http.response.start":
                found = [v for k, v in message["headers"] if k.lower() == wanted]
                message["headers"] = [(k, v) for k, v in message["headers"]
                                      if k.lower() != wanted]
                return found[0].decode("latin-1") if found else None
        return None

    async def forward(self, send: Send) -> None:
        for message in self.messages:
            await send(message)


# ---------------------------------------------------------------------- helpers

def _in_threads(app: Flask, workers: int) -> Asgi:
    """``app`` run in ``workers`` threads, as an ASGI callable over plain message dicts.

    ASGI messages and the WSGI environ are plain dicts; a2wsgi describes them with its own
    TypedDicts, which neither Flask's signature nor the front's dicts name, so the two
    casts here say the same dicts in a2wsgi's words."""
    return cast(Asgi, WSGIMiddleware(cast("WSGIApp", app), workers=workers))


async def _lifespan(receive: Receive, send: Send) -> None:
    while True:
        message = await receive()
        if message["type"] == "lifespan.startup":
            await send({"type": "lifespan.startup.complete"})
        elif message["type"] == "lifespan.shutdown":
            await send({"type": "lifespan.shutdown.complete"})
            return


def _replay(body: bytes) -> Receive:
    """A ``receive`` that hands over the already-read body once, then waits forever (the
    WSGI side never asks again; the real ``receive`` watches for the client leaving)."""
    sent = False

    async def receive() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        await asyncio.Event().wait()
        raise AssertionError("unreachable")

    return receive


async def _disconnected(receive: Receive) -> None:
    while (await receive())["type"] != "http.disconnect":
        pass


def _header(scope: Message, name: bytes) -> str | None:
    for key, value in scope.get("headers", ()):
        if key.lower() == name:
            return bytes(value).decode("latin-1").strip()
    return None


def _with_header(scope: Message, name: str, value: str | None) -> Message:
    """``scope`` with header ``name`` set to ``value`` (removed when None)."""
    wanted = name.lower().encode("latin-1")
    headers = [(k, v) for k, v in scope.get("headers", ()) if k.lower() != wanted]
    if value is not None:
        headers.append((wanted, value.encode("latin-1")))
    return {**scope, "headers": headers}


def _topics(body: bytes) -> set[str]:
    """The topic names of a fetchAndLock body (the view validates the body itself)."""
    try:
        data = json.loads(body)
        return {str(t["topicName"]) for t in data.get("topics") or [] if isinstance(t, dict)
                and isinstance(t.get("topicName"), str)}
    except (ValueError, RecursionError, AttributeError, TypeError):
        return set()


async def _answer(send: Send, path: str, status: int, code: str, message: str, *,
                  retry_after: int | None = None) -> None:
    payload = json.dumps(error_body(path, status, code, message)).encode()
    headers = [(b"content-type", b"application/json"),
               (b"content-length", str(len(payload)).encode())]
    if retry_after is not None:
        headers.append((b"retry-after", str(retry_after).encode()))
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": payload})
