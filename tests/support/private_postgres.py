"""A PostgreSQL cluster of the test's own, on its own port, that it may restart at will.

The machine's server is shared with other test runs and must never be restarted; this one
lives in a temporary folder and dies with the test. ``initdb`` refuses to run as root, so as
root (CI) the cluster is created and run as the ``postgres`` system user.
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

import psycopg

from tests.support.serve import free_port


def postgres_bin() -> Path | None:
    """The newest installed PostgreSQL's bin folder (``initdb``, ``pg_ctl``), if any."""
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"),
                   key=lambda p: int(Path(p).parent.parent.name))
    return Path(found[-1]).parent if found else None


class PrivatePostgres:
    """``start()``, ``url``, ``restart()``, ``stop()`` (always call it)."""

    def __init__(self) -> None:
        self.bin = postgres_bin()
        if self.bin is None:
            raise RuntimeError("PostgreSQL server binaries not found under /usr/lib/postgresql")
        self.port = free_port()
        self.root = Path(tempfile.mkdtemp(prefix="mlc-chaos-pg-"))
        self.data = self.root / "data"
        self.log = self.root / "server.log"
        self.url = f"postgresql://mlc@127.0.0.1:{self.port}/mlc_chaos"
        self._user = "postgres" if os.geteuid() == 0 else None
        if self._user:
            entry = pwd.getpwnam(self._user)
            os.chown(self.root, entry.pw_uid, entry.pw_gid)

    def _run(self, *args: str, timeout: float = 120) -> None:
        command = [str(self.bin / args[0]), *args[1:]]
        if self._user:
            command = ["runuser", "-u", self._user, "--", *command]
        subprocess.run(command, check=True, timeout=timeout, capture_output=True)

    def start(self) -> PrivatePostgres:
        self._run("initdb", "-D", str(self.data), "-U", "mlc", "--auth=trust", "-E", "UTF8",
                  "--no-sync")
        self._pg_ctl("start")
        with psycopg.connect(f"postgresql://mlc@127.0.0.1:{self.port}/postgres",
                             autocommit=True) as conn:
            conn.execute("CREATE DATABASE mlc_chaos")
        return self

    def _pg_ctl(self, action: str, *extra: str) -> None:
        options = f"-p {self.port} -h 127.0.0.1 -k {self.root} -c max_connections=200"
        self._run("pg_ctl", action, "-D", str(self.data), "-l", str(self.log), "-w",
                  "-t", "60", "-o", options, *extra)

    def restart(self, down_seconds: float = 0.0) -> None:
        """Stop (fast: connections are cut, as in a failover), wait, start again."""
        self._pg_ctl("stop", "-m", "fast")
        time.sleep(down_seconds)
        self._pg_ctl("start")

    def stop(self) -> None:
        try:
            if (self.data / "postmaster.pid").exists():
                self._pg_ctl("stop", "-m", "immediate")
        finally:
            shutil.rmtree(self.root, ignore_errors=True)
