"""Serving the Flask app in production: Hypercorn (asyncio HTTP/1.1) in front of
:class:`~web.front.Front`, in the calling thread, until a stop event is set.

Why Hypercorn: an idle connection costs a socket and a little memory, not a thread, so
1,000 of them (or 200 long polls) cannot take the request threads that waitress used to lose
to them; it closes a connection that has not sent a complete request head within
``keep_alive_timeout`` (slow-loris clients included), which uvicorn does not; and it runs
inside this process, beside the engine's worker threads, with a plain ``asyncio.run``.
What it lacks, a cap on open connections, is added here (:func:`_capped_connections`).
"""

from __future__ import annotations

import asyncio
import logging
import resource
import signal
import socket
import threading
from collections.abc import Callable
from typing import cast

from hypercorn.asyncio import run as hypercorn_run
from hypercorn.asyncio import serve as hypercorn_serve
from hypercorn.asyncio.tcp_server import TCPServer
from hypercorn.config import Config, Sockets
from hypercorn.typing import ASGIFramework

from .front import Front
from .limits import ServerLimits

log = logging.getLogger("mlc.server")

BACKLOG = 1024


def listen(host: str, port: int) -> socket.socket:
    """Bind the listening socket first, so the caller knows the port (``--port 0``)."""
    family = socket.AF_INET6 if ":" in host.strip("[]") else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    sock.bind((host.strip("[]"), port))
    sock.listen(BACKLOG)
    sock.setblocking(False)
    return sock


def raise_file_limit(wanted: int) -> int:
    """Raise the soft limit of open files towards ``wanted`` (never past the hard limit)."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    target = wanted if hard == resource.RLIM_INFINITY else min(wanted, hard)
    if soft != resource.RLIM_INFINITY and soft < target:
        resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
        return target
    return soft


class _Config(Config):
    def __init__(self, sock: socket.socket) -> None:
        super().__init__()
        self._listening = sock

    def create_sockets(self) -> Sockets:
        return Sockets(secure_sockets=[], insecure_sockets=[self._listening], quic_sockets=[])


def _capped_connections(limit: int) -> None:
    """Make Hypercorn close connections beyond ``limit`` at once instead of serving them,
    and let go of a connection as soon as its client has closed it.

    Hypercorn has no connection cap; its per-connection class is looked up in
    ``hypercorn.asyncio.run`` for each accepted socket, so a subclass placed there counts
    them. Hypercorn 0.18 also keeps a connection that its client closed while idle (socket
    in CLOSE_WAIT) until ``keep_alive_timeout`` ends, which would let reconnecting clients
    use up the cap; the subclass stops that idle timer once reading has ended.
    tests/integration/test_serving.py fails if a Hypercorn release changes either.
    """
    counter = {"open": 0}

    class CappedTCPServer(TCPServer):
        async def run(self) -> None:
            if counter["open"] >= limit:
                self.writer.close()
                return
            counter["open"] += 1
            try:
                await super().run()
            finally:
                counter["open"] -= 1

        async def _read_data(self) -> None:
            await super()._read_data()
            await self.idle_task.stop()  # the client is gone: do not wait out the idle timer

    setattr(hypercorn_run, "TCPServer", CappedTCPServer)  # noqa: B010 (not exported)


def config_for(sock: socket.socket, limits: ServerLimits) -> Config:
    config = _Config(sock)
    config.keep_alive_timeout = limits.idle_timeout   # also the deadline for a request head
    config.graceful_timeout = limits.grace
    config.backlog = BACKLOG
    config.accesslog = None                            # the Flask app logs each request
    config.errorlog = logging.getLogger("hypercorn.error")
    config.h11_max_incomplete_size = 16 * 1024         # request line + headers
    config.wsgi_max_body_size = 0                      # unused: the front reads bodies
    return config


def serve_until(front: Front, sock: socket.socket, limits: ServerLimits,
                stop: threading.Event, on_signal: Callable[[int], None] | None = None) -> None:
    """Serve on ``sock`` until ``stop`` is set (SIGTERM/SIGINT set it), then shut down:
    stop accepting, end long polls, let in-flight requests finish within ``limits.grace``."""
    raise_file_limit(limits.max_connections + 1024)
    _capped_connections(limits.max_connections)
    config = config_for(sock, limits)

    async def main() -> None:
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, _stopper(sig, stop, on_signal))

        async def shutdown_trigger() -> None:
            while not stop.is_set():
                await asyncio.sleep(0.1)
            front.begin_shutdown()

        # the front speaks ASGI in plain dicts, Hypercorn types them as its TypedDicts
        await hypercorn_serve(cast(ASGIFramework, front), config, shutdown_trigger=shutdown_trigger, mode="asgi")

    asyncio.run(main())


def _stopper(sig: int, stop: threading.Event,
             on_signal: Callable[[int], None] | None) -> Callable[[], None]:
    def handle() -> None:
        if on_signal is not None:
            on_signal(sig)
        stop.set()

    return handle
