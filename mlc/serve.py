"""``mlc serve``: the REST API, embedded external-task workers, the timer scheduler and any
background pollers (e.g. the ticket poller) in one process, served by Hypercorn through the
asynchronous front in :mod:`web.front` (limits: README, "The server's limits").

Shutdown on SIGTERM/SIGINT: stop accepting connections, end long polls early, let in-flight
requests and handler runs finish within ``--grace`` seconds, and release (unlock) the tasks
of handlers still running after that so another worker can take them at once.
"""

from __future__ import annotations

import errno
import ipaddress
import logging
import signal as signals
import sys
import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import click

from engine import LockedTask, Worker
from engine.errors import ConfigurationError
from web.limits import ServerLimits
from web.metrics import TaskLatency

from .cli import current_application

if TYPE_CHECKING:
    from .wiring import Application

log = logging.getLogger("mlc.serve")

LOOPBACK_NAMES = {"localhost", "localhost.localdomain"}


def is_loopback(host: str) -> bool:
    if host in LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


class TimedWorker(Worker):
    """A Worker that records handler latency."""

    def __init__(self, *args: Any, latency: TaskLatency | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.latency = latency

    def execute(self, task: LockedTask, *, inline: bool = False) -> None:
        started = time.monotonic()
        try:
            super().execute(task, inline=inline)
        finally:
            if self.latency is not None:
                self.latency.observe(task.topic, "handled", time.monotonic() - started)


def background_loops(application: Application) -> list[tuple[str, Callable[[], Any], float]]:
    """(name, poll_once, interval) of the pollers the application's services provide.

    The ticket poller runs every ``ticket_poll_interval`` seconds, the metric-triggered
    automations' poller every 15 s; a service the application was built without is skipped.
    """
    loops: list[tuple[str, Callable[[], Any], float]] = []
    services = application.services
    if services.ticket_poller is not None:
        loops.append(("ticket-poller", services.ticket_poller.poll_once,
                      application.settings.ticket_poll_interval))
    if services.automation_poller is not None:
        loops.append(("automation-poller", services.automation_poller.poll_once, 15.0))
    return loops


def _loop(name: str, fn: Callable[[], Any], interval: float, stop: threading.Event) -> None:
    while not stop.is_set():
        try:
            fn()
        except Exception:
            log.exception("%s failed", name)
        stop.wait(interval)


_DEFAULTS = ServerLimits()


@click.command("serve")
@click.option("--host", default="127.0.0.1", show_default=True,
              help="Address to listen on; a non-loopback address needs MLC_API_TOKEN.")
@click.option("--port", default=8080, show_default=True, type=click.IntRange(0, 65535))
@click.option("--workers", default=4, show_default=True, type=click.IntRange(0, 64),
              help="Handlers the embedded worker runs at once (0: no embedded worker).")
@click.option("--threads", default=_DEFAULTS.threads, show_default=True,
              type=click.IntRange(1, 512),
              help="HTTP request threads (a waiting long poll holds none).")
@click.option("--queue", default=_DEFAULTS.queue, show_default=True,
              type=click.IntRange(1, 100_000),
              help="Requests running or waiting for a thread; more are answered 503.")
@click.option("--max-long-polls", default=_DEFAULTS.max_long_polls, show_default=True,
              type=click.IntRange(0, 100_000), help="fetchAndLock calls waiting at once.")
@click.option("--max-connections", default=_DEFAULTS.max_connections, show_default=True,
              type=click.IntRange(1, 1_000_000), help="Open client connections.")
@click.option("--idle-timeout", default=_DEFAULTS.idle_timeout, show_default=True,
              type=click.FloatRange(0.1, 3600),
              help="Seconds a connection may stay open without sending a complete request.")
@click.option("--body-timeout", default=_DEFAULTS.body_timeout, show_default=True,
              type=click.FloatRange(0.1, 3600), help="Seconds for a request body to arrive.")
@click.option("--lease", "--lock", "lock_seconds", default=30.0, show_default=True,
              help="Seconds an embedded worker's claim lasts without a heartbeat (renewed "
                   "every 5 s while this node lives).")
@click.option("--poll", default=0.5, show_default=True, help="Idle poll interval of workers.")
@click.option("--grace", default=30.0, show_default=True,
              help="Seconds to let in-flight work finish on shutdown.")
@click.option("--log-level", default="INFO", show_default=True)
def serve(host: str, port: int, workers: int, threads: int, queue: int, max_long_polls: int,
          max_connections: int, idle_timeout: float, body_timeout: float, lock_seconds: float,
          poll: float, grace: float, log_level: str) -> None:
    """Serve the REST API with embedded workers and the timer scheduler."""
    from engine import TimerScheduler
    from engine.notify import TaskWatch, availability_for
    from web import create_app
    from web.front import Front
    from web.server import listen, serve_until

    root = click.get_current_context().find_root().obj
    settings = root.read_settings()
    if not is_loopback(host) and not settings.api_token:
        raise ConfigurationError(f"refusing to listen on {host} without MLC_API_TOKEN; "
                                 "set a token or bind to 127.0.0.1")
    limits = ServerLimits(threads=threads, queue=queue, max_long_polls=max_long_polls,
                          max_connections=max_connections, idle_timeout=idle_timeout,
                          body_timeout=body_timeout, grace=grace)
    logging.basicConfig(level=log_level.upper(),
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("alembic").setLevel(logging.WARNING)  # a line per migration step
    root.pool_size = threads + workers + 8  # each request thread, worker and the health lane
    application = current_application()  # migrates the database first
    app = create_app(application)
    try:  # bind before any worker starts, so a busy port leaves nothing running
        sock = listen(host, port)
    except OSError as exc:
        application.close()
        raise ConfigurationError(_bind_error(host, port, exc)) from None
    stop = threading.Event()
    app.extensions["mlc_stop"] = stop
    latency: TaskLatency = app.extensions["mlc_task_latency"]

    from engine.nodes import NodeRegistry

    served = application.handlers.topics() if workers else []
    node = NodeRegistry(application.db, "serve", served, lease=lock_seconds)
    node.start()
    application.engine.services.node_id = node.id
    app.extensions["mlc_node"] = {"id": node.id, "kind": "serve"}
    pool = [TimedWorker(application.engine, application.handlers, latency=latency, node=node,
                         concurrency=workers)] if workers else []
    threads_running = [threading.Thread(target=w.run, args=(stop, poll), daemon=True,
                                        name="mlc-worker") for w in pool]
    timers = TimerScheduler(application.engine)
    threads_running.append(threading.Thread(target=timers.run, args=(stop,), daemon=True,
                                            name="mlc-timers"))
    threads_running.append(threading.Thread(target=TaskWatch(application.db).run, args=(stop,),
                                            daemon=True, name="mlc-task-watch"))
    for name, fn, interval in background_loops(application):
        threads_running.append(threading.Thread(target=_loop, args=(name, fn, interval, stop),
                                                daemon=True, name=f"mlc-{name}"))
    for t in threads_running:
        t.start()

    front = Front(app, availability_for(application.db), limits)
    base = f"http://{host}:{sock.getsockname()[1]}"
    topics = ", ".join(application.handlers.topics()) or "-"
    click.echo(f"mlc serving on {base} "
               f"({workers} handler thread(s); topics: {topics})\n"
               f"  cockpit  {base}/   API docs  {base}/api/docs"
               + ("   (sign in with MLC_API_TOKEN)" if settings.api_token else ""), err=True)
    sys.stderr.flush()
    try:
        serve_until(front, sock, limits, stop, on_signal=lambda signum: log.info(
            "received %s; shutting down", signals.Signals(signum).name))
    finally:
        stop.set()
        sock.close()
        _drain(application, pool, threads_running, grace)
        node.stop()
        application.close()
    click.echo("mlc stopped", err=True)


def _bind_error(host: str, port: int, exc: OSError) -> str:
    if exc.errno == errno.EADDRINUSE:
        return (f"port {port} on {host} is already in use (another mlc serve?); choose another "
                f"with --port (make run PORT=...)")
    return f"cannot listen on {host}:{port}: {exc.strerror or exc}"


def _drain(application: Application, pool: list[TimedWorker],
           threads_running: list[threading.Thread], grace: float) -> None:
    deadline = time.monotonic() + grace
    for t in threads_running:
        t.join(max(0.0, deadline - time.monotonic()))
    for w in pool:
        for task_id in w.drain(max(0.0, deadline - time.monotonic())):
            log.warning("released task %s whose handler was still running", task_id)
        w.close()
