"""The engine side of a model subprocess: start it, talk to it with time limits, kill it.

Each :class:`ModelProcess` serves exactly one job and is then discarded, so no model state
leaks between jobs. :class:`ProcessPool` optionally keeps *spare* processes that have already
imported pandas / pyarrow / scikit-learn: in a long-lived worker, a job then pays for loading
its model, not for starting Python.
"""

from __future__ import annotations

import json
import os
import queue
import signal
import subprocess
import sys
import tempfile
import threading
from pathlib import Path
from typing import Any, Optional

from engine.errors import MlcError

_PROJECT_ROOT = str(Path(__file__).resolve().parent.parent.parent)


# MLC_* settings the model subprocess needs itself (where git checkouts are cached).
_MODEL_VISIBLE_SETTINGS = frozenset({"MLC_MODEL_CACHE"})


class ModelProcessError(MlcError):
    """The model's code failed, crashed its process, or ran past a time limit."""

    code = "job_failed"


class TimeLimitExceeded(ModelProcessError):
    code = "time_limit"


class ModelProcess:
    """One ``python -m connectors.jobs.runner`` child, in its own process group."""

    def __init__(self, python: str = sys.executable,
                 extra_env: Optional[dict[str, str]] = None) -> None:
        # extra_env: variables only this child sees (an automation build's env_vars/secret).
        # The engine's own configuration (MLC_*: API token, Jira/ServiceNow credentials, the
        # database URL, the automation secret store) is never handed to model code.
        env = {**{k: v for k, v in os.environ.items()
                  if not k.startswith("MLC_") or k in _MODEL_VISIBLE_SETTINGS},
               **(extra_env or {})}
        env["PYTHONPATH"] = os.pathsep.join(
            p for p in (_PROJECT_ROOT, env.get("PYTHONPATH")) if p)
        env.setdefault("PYTHONUNBUFFERED", "1")
        self._boot_log = tempfile.NamedTemporaryFile(prefix="mlc-runner-", suffix=".log",
                                                     delete=False)
        # start_new_session: killing the group also kills anything the model spawned.
        self._popen = subprocess.Popen(
            [python, "-m", "connectors.jobs.runner"], stdin=subprocess.PIPE,
            stdout=subprocess.PIPE, stderr=self._boot_log, env=env, text=True, bufsize=1,
            start_new_session=True)
        self._answers: queue.Queue[Optional[dict]] = queue.Queue()
        self._ready = False
        threading.Thread(target=self._read_answers, daemon=True,
                         name=f"runner-{self._popen.pid}").start()

    @property
    def pid(self) -> int:
        return self._popen.pid

    def _read_answers(self) -> None:
        assert self._popen.stdout is not None
        for line in self._popen.stdout:
            try:
                self._answers.put(json.loads(line))
            except ValueError:
                continue
        self._answers.put(None)

    def call(self, request: dict[str, Any], timeout: Optional[float], what: str) -> dict:
        """Send one request and wait for its answer, at most ``timeout`` seconds (None = none).

        Raises:
            TimeLimitExceeded: no answer in time (the process is killed).
            ModelProcessError: the model raised, or its process died.
        """
        self.send(request)
        return self.receive(timeout, what)

    def send(self, request: dict[str, Any]) -> None:
        """Queue a request without waiting (a pipe buffers it even before the child is ready)."""
        try:
            assert self._popen.stdin is not None
            self._popen.stdin.write(json.dumps(request) + "\n")
            self._popen.stdin.flush()
        except (BrokenPipeError, OSError):
            pass  # the death is reported by receive()

    def receive(self, timeout: Optional[float], what: str) -> dict:
        """The answer to the last request sent; see :meth:`call`."""
        if not self._ready:
            self._wait(timeout, what)  # the "ready" line; counts against the same limit
            self._ready = True
        answer = self._wait(timeout, what)
        if not answer.get("ok"):
            raise ModelProcessError(f"{what}: {answer.get('error', 'model error')}")
        return answer

    def wait_ready(self, timeout: Optional[float] = None) -> None:
        """Block until the child has imported its libraries and said so."""
        if not self._ready:
            self._wait(timeout, "starting the model process")
            self._ready = True

    def _wait(self, timeout: Optional[float], what: str) -> dict:
        try:
            answer = self._answers.get(timeout=timeout)
        except queue.Empty:
            self.kill()
            raise TimeLimitExceeded(f"{what}: exceeded the time limit of {timeout:g}s") from None
        if answer is None:
            code = self._popen.wait()
            raise ModelProcessError(f"{what}: the model process exited with code {code}"
                                    + _boot_hint(self._boot_log.name))
        return answer

    def kill(self) -> None:
        """Kill the process group now (idempotent)."""
        if self._popen.poll() is None:
            try:
                os.killpg(self._popen.pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass
        self._popen.wait()

    def close(self, graceful: bool = True) -> None:
        """End the process: a polite EOF first (unless not ``graceful``), then a kill."""
        try:
            if self._popen.stdin:
                self._popen.stdin.close()
            if graceful:
                self._popen.wait(timeout=5)
        except (subprocess.TimeoutExpired, OSError):
            pass
        self.kill()
        self._boot_log.close()
        Path(self._boot_log.name).unlink(missing_ok=True)


def _boot_hint(path: str) -> str:
    try:
        text = Path(path).read_text(errors="replace").strip()
    except OSError:
        return ""
    return f" ({text.splitlines()[-1][:300]})" if text else ""


class ProcessPool:
    """Hands out fresh model processes, keeping ``spares`` warm ones ready when asked to.

    Args:
        spares: processes to keep started in advance (0 = start on demand, as the CLI does).
    """

    def __init__(self, spares: int = 0, python: str = sys.executable) -> None:
        self.spares = max(0, spares)
        self.python = python
        self._idle: list[ModelProcess] = []
        self._lock = threading.Lock()
        self._closed = False
        self._refill()

    def acquire(self, count: int) -> list[ModelProcess]:
        """``count`` processes for one job; hand them back with :meth:`release`."""
        with self._lock:
            taken, self._idle = self._idle[:count], self._idle[count:]
        return taken + [ModelProcess(self.python) for _ in range(count - len(taken))]

    def release(self, processes: list[ModelProcess]) -> None:
        """End a job's processes and start replacement spares.

        Spares are replaced only now, not when taken: starting interpreters costs seconds of
        CPU that would otherwise be stolen from the job that just began.
        """
        for process in processes:
            process.close(graceful=False)  # outputs are already renamed into place
        if self.spares:
            threading.Thread(target=self._refill, daemon=True).start()

    def _refill(self) -> None:
        while True:
            with self._lock:
                if self._closed or len(self._idle) >= self.spares:
                    return
            process = ModelProcess(self.python)
            with self._lock:
                surplus = self._closed or len(self._idle) >= self.spares
                if not surplus:
                    self._idle.append(process)
            if surplus:
                process.close()
                return

    @property
    def spare_pids(self) -> set[int]:
        """The process ids of the warm spares (what a process listing should expect)."""
        with self._lock:
            return {process.pid for process in self._idle}

    def keep_spares(self, spares: int) -> None:
        """Keep ``spares`` warm processes from now on (started in the background)."""
        self.spares = max(0, spares)
        threading.Thread(target=self._refill, daemon=True).start()

    def wait_ready(self, timeout: Optional[float] = None) -> None:
        """Block until every spare has started (benchmarks use it to measure a warm pool)."""
        with self._lock:
            idle = list(self._idle)
        for process in idle:
            process.wait_ready(timeout)

    def close(self) -> None:
        with self._lock:
            self._closed = True
            idle, self._idle = self._idle, []
        for process in idle:
            process.close()
