"""A real ``mlc serve`` subprocess on 127.0.0.1 for the end-to-end, serving and chaos tests."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parents[2]
BPMN = ROOT / "tests" / "fixtures" / "bpmn"
MODELER = ROOT / "tests" / "fixtures" / "modeler"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def mlc_env(database_url: str, **extra: str) -> dict[str, str]:
    """The environment of an ``mlc`` subprocess: no inherited ``MLC_*`` but ``extra``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("MLC_")}
    env.update(MLC_DATABASE_URL=database_url, PYTHONPATH=str(ROOT), **extra)
    return env


class Server:
    """One ``mlc serve`` process; ``stop`` (always call it) kills it.

    Args:
        tmp_path: working directory and log location.
        token: ``MLC_API_TOKEN``.
        workers: embedded worker threads (0: every topic waits for external workers).
        database_url: default a new SQLite file in ``tmp_path``.
        args: further ``mlc serve`` options, e.g. ``["--threads", "2"]``.
        env: further environment variables.
        port: reuse a port (a restart); default a free one.
        wait: return only once ``/healthz`` answers (else call :meth:`wait_ready`).
    """

    def __init__(self, tmp_path: Path, token: str | None = None, workers: int = 1, *,
                 database_url: str | None = None, args: list[str] | None = None,
                 env: dict[str, str] | None = None, port: int | None = None,
                 name: str = "serve", wait: bool = True) -> None:
        self.port = port or free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.rest = self.base + "/engine-rest"
        self.token = token
        self.database_url = database_url or f"sqlite:///{tmp_path / 'serve.db'}"
        extra = dict(env or {})
        if token:
            extra["MLC_API_TOKEN"] = token
        self.log_path = tmp_path / f"{name}-{self.port}.log"
        self.log = self.log_path.open("a+")
        self.proc = subprocess.Popen(
            [sys.executable, "-c", "from mlc.cli import main; main()", "serve",
             "--port", str(self.port), "--workers", str(workers), "--grace", "5",
             *(args or [])],
            cwd=tmp_path, env=mlc_env(self.database_url, **extra), stdout=self.log,
            stderr=subprocess.STDOUT)
        if wait:
            self.wait_ready()

    def wait_ready(self, seconds: float = 90) -> None:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError("mlc serve exited: " + self.output())
            try:
                if requests.get(self.base + "/healthz", timeout=1).status_code == 200:
                    return
            except requests.RequestException:
                pass
            time.sleep(0.1)
        raise RuntimeError("mlc serve did not become healthy: " + self.output())

    def output(self) -> str:
        self.log.flush()
        return self.log_path.read_text()

    @property
    def headers(self) -> dict:
        return {"Authorization": f"Bearer {self.token}"} if self.token else {}

    def client_config(self) -> dict:
        return {"auth_bearer": {"access_token": self.token}} if self.token else {}

    def deploy(self, name: str) -> dict:
        """Deploy a recorded Camunda Modeler request from ``tests/fixtures/modeler``."""
        headers = json.loads((MODELER / f"{name}.headers.json").read_text())
        r = requests.post(self.rest + "/deployment/create", headers={**headers, **self.headers},
                          data=(MODELER / f"{name}.body").read_bytes(), timeout=30)
        assert r.status_code == 200, r.text
        return r.json()

    def deploy_file(self, path: Path) -> None:
        r = requests.post(self.rest + "/deployment/create", headers=self.headers, timeout=30,
                          files={path.name: (path.name, path.read_bytes(), "text/xml")})
        assert r.status_code == 200, r.text

    def api(self, path: str) -> requests.Response:
        return requests.get(self.base + path, headers=self.headers, timeout=30)

    def kill(self) -> None:
        """SIGKILL, as a crash would."""
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(timeout=30)

    def stop(self) -> None:
        self.kill()
        self.log.close()
