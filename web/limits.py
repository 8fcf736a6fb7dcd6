"""What one ``mlc serve`` process accepts (README, "The server's limits", explains each)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class ServerLimits:
    """Connection, request and long-poll limits of the serving front (:mod:`web.front`)."""

    threads: int = 8                # Flask request threads (long polls hold none while waiting)
    queue: int = 256                # requests running or waiting for a thread; more: 503
    max_long_polls: int = 1000      # fetchAndLock calls waiting at once; more: 503
    max_connections: int = 4096     # open client sockets; more are closed at once
    idle_timeout: float = 60.0      # seconds a connection may sit without a complete request head
    body_timeout: float = 30.0      # seconds for a whole request body to arrive; else 408
    grace: float = 30.0             # seconds in-flight requests get at shutdown
