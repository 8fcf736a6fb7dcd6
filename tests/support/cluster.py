"""Real ``mlc serve`` / ``mlc worker`` processes on one PostgreSQL schema, and a client that
spreads requests over the live API nodes (failing over when one dies under it)."""

from __future__ import annotations

import random
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import requests
from sqlalchemy import text

from engine.db import Database

from .serve import free_port


def mlc(env: dict[str, str], cwd: Path, *args: str) -> str:
    """Run one ``mlc`` command to the end; its output, or an AssertionError with it."""
    done = subprocess.run([sys.executable, "-c", "from mlc.cli import main; main()", *args],
                          cwd=cwd, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, f"mlc {' '.join(args)}: {done.stdout}{done.stderr}"
    return done.stdout


class NodeProcess:
    """One ``mlc serve`` (with ``--port``) or ``mlc worker`` subprocess.

    Args:
        kind: ``serve`` or ``worker``.
        name: label of its log file in ``folder``.
        args: its options.
    """

    def __init__(self, kind: str, name: str, folder: Path, env: dict[str, str],
                 args: list[str]) -> None:
        self.kind, self.name = kind, name
        self.port = free_port() if kind == "serve" else None
        self.base = f"http://127.0.0.1:{self.port}" if self.port else None
        self.log_path = folder / f"{name}-{int(time.time() * 1000)}.log"
        self._log = self.log_path.open("w")
        port = ["--port", str(self.port)] if self.port else []
        self.proc = subprocess.Popen(
            [sys.executable, "-c", "from mlc.cli import main; main()", kind, *port, *args],
            cwd=folder, env=env, stdout=self._log, stderr=subprocess.STDOUT)
        self.node_id: str | None = None

    @property
    def alive(self) -> bool:
        return self.proc.poll() is None

    def wait_ready(self, db: Database, seconds: float = 120) -> str:
        """Wait until it registered its node (and, for serve, answers); returns the node id."""
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            if not self.alive:
                raise AssertionError(f"{self.name} exited: {self.output()}")
            with db.engine.connect() as conn:
                self.node_id = conn.execute(text("SELECT id FROM mlc_nodes WHERE pid = :pid"),
                                            {"pid": self.proc.pid}).scalar()
            if self.node_id and (self.base is None or _healthy(self.base)):
                return self.node_id
            time.sleep(0.2)
        raise AssertionError(f"{self.name} did not become ready: {self.output()}")

    def kill(self) -> None:
        """SIGKILL, as a crash or the OOM killer would."""
        if self.alive:
            self.proc.kill()
        self.proc.wait(30)

    def terminate(self, seconds: float) -> int:
        """SIGTERM, as systemd or Kubernetes would; returns the exit code."""
        self.proc.send_signal(signal.SIGTERM)
        return self.proc.wait(seconds)

    def output(self) -> str:
        self._log.flush()
        return self.log_path.read_text(errors="replace")

    def close(self) -> None:
        self.kill()
        self._log.close()


def _healthy(base: str) -> bool:
    try:
        return requests.get(base + "/healthz", timeout=2).status_code == 200
    except requests.RequestException:
        return False


class Client:
    """Sends each request to a random live API node; on a refused or dropped connection or a
    5xx it tries another (with the same ``Idempotency-Key``, so a start that committed on a
    node that died before answering is answered, not repeated)."""

    def __init__(self, nodes: list[NodeProcess], seed: int) -> None:
        self.nodes = nodes
        self.rng = random.Random(seed)
        self.local = threading.local()
        self.failovers = 0
        self.sent_to: dict[str, int] = {}
        self._lock = threading.Lock()

    def post(self, path: str, body: dict, key: str | None = None,
             seconds: float = 120) -> requests.Response:
        session = getattr(self.local, "session", None) or requests.Session()
        self.local.session = session
        headers = {"Idempotency-Key": key} if key else {}
        deadline = time.monotonic() + seconds
        while True:
            live = [n for n in list(self.nodes) if n.kind == "serve" and n.alive]
            node = self.rng.choice(live) if live else None
            reason = "no live API node"
            if node is not None:
                try:
                    answer = session.post(node.base + path, json=body, headers=headers,
                                          timeout=60)
                    if answer.status_code < 500:
                        with self._lock:
                            self.sent_to[node.name] = self.sent_to.get(node.name, 0) + 1
                        return answer
                    reason = f"{answer.status_code} {answer.text[:200]}"
                except requests.RequestException as exc:
                    reason = f"{type(exc).__name__}: {exc}"
                    session = self.local.session = requests.Session()
            with self._lock:
                self.failovers += 1
            if time.monotonic() > deadline:
                raise AssertionError(f"POST {path} failed on every node: {reason}")
            time.sleep(0.2)
