"""The engine side of a model subprocess: start it, talk to it with time limits, kill it.

Each :class:`ModelProcess` serves exactly one job and is then discarded, so no model state
leaks between jobs. :class:`ProcessPool` optionally keeps *spare* processes that have already
imported pandas / pyarrow / scikit-learn: in a long-lived worker, a job then pays for loading
its model, not for starting Python. Spares run the engine's Python and, after a job ran in a
model's own environment, that environment's Python too (for the few used most recently).
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
from collections import OrderedDict
from pathlib import Path
from typing import Any

from engine.errors import MlcError

_PROJECT_ROOT = str(Path(__file__).resolve().parent.parent.parent)
RUNNER = str(Path(__file__).resolve().parent / "model_side" / "mlc_runner.py")
ENV_SPARES = 2  # model environments whose spare processes a pool keeps warm


# MLC_* settings the model subprocess needs itself (where git checkouts are cached).
_MODEL_VISIBLE_SETTINGS = frozenset({"MLC_MODEL_CACHE"})


class ModelProcessError(MlcError):
    """The model's code failed, crashed its process, or ran past a time limit.

    ``error_type`` names the exception the model raised (``ValueError``...); None when the
    process died or ran out of time instead.
    """

    code = "job_failed"

    def __init__(self, message: str, error_type: str | None = None) -> None:
        super().__init__(message)
        self.error_type = error_type


class TimeLimitExceeded(ModelProcessError):
    code = "time_limit"


class ModelProcess:
    """One ``model_side/mlc_runner.py`` child, in its own process group.

    Args:
        python: the interpreter: the engine's own, or a model environment's.
        extra_env: variables only this child sees (an automation build's env_vars/secret).
        isolated: ``python`` is a model environment's: the child sees neither the engine's
            packages (no project root on ``PYTHONPATH``) nor the user's site-packages.
    """

    def __init__(self, python: str = sys.executable,
                 extra_env: dict[str, str] | None = None, *, isolated: bool = False) -> None:
        # The engine's own configuration (MLC_*: API token, Jira/ServiceNow credentials, the
        # database URL, the automation secret store) is never handed to model code.
        env = {**{k: v for k, v in os.environ.items()
                  if not k.startswith("MLC_") or k in _MODEL_VISIBLE_SETTINGS},
               **(extra_env or {})}
        if isolated:
            env.pop("PYTHONPATH", None)
            env.pop("VIRTUAL_ENV", None)
            env["PYTHONNOUSERSITE"] = "1"
        else:
            env["PYTHONPATH"] = os.pathsep.join(
                p for p in (_PROJECT_ROOT, env.get("PYTHONPATH")) if p)
        env.setdefault("PYTHONUNBUFFERED", "1")
        self.python, self.isolated = python, isolated
        self._boot_log = tempfile.NamedTemporaryFile(prefix="mlc-runner-", suffix=".log",
                                                     delete=False)
        # start_new_session: killing the group also kills anything the model spawned.
        self._popen = subprocess.Popen(
            [python, RUNNER], stdin=subprocess.PIPE,
            stdout=subprocess.PIPE, stderr=self._boot_log, env=env, text=True, bufsize=1,
            start_new_session=True)
        self._answers: queue.Queue[dict[str, Any] | None] = queue.Queue()
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

    def call(self, request: dict[str, Any], timeout: float | None, what: str) -> dict[str, Any]:
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

    def receive(self, timeout: float | None, what: str) -> dict[str, Any]:
        """The answer to the last request sent; see :meth:`call`."""
        if not self._ready:
            self._wait(timeout, what)  # the "ready" line; counts against the same limit
            self._ready = True
        answer = self._wait(timeout, what)
        if not answer.get("ok"):
            raise ModelProcessError(f"{what}: {answer.get('error', 'model error')}",
                                    answer.get("error_type") or "Exception")
        return answer

    def wait_ready(self, timeout: float | None = None) -> None:
        """Block until the child has imported its libraries and said so."""
        if not self._ready:
            self._wait(timeout, "starting the model process")
            self._ready = True

    def _wait(self, timeout: float | None, what: str) -> dict[str, Any]:
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
        # Idle processes per interpreter: the engine's own first, then the model environments
        # jobs ran in most recently (at most ENV_SPARES of them, least recent dropped first).
        self._idle: OrderedDict[str, list[ModelProcess]] = OrderedDict({python: []})
        self._lock = threading.Lock()
        self._closed = False
        self._refill(python)

    def acquire(self, count: int, python: str | None = None) -> list[ModelProcess]:
        """``count`` processes for one job; hand them back with :meth:`release`.

        ``python`` names a model environment's interpreter: its processes run isolated, and
        are warm spares when a job ran in that environment lately.
        """
        python = python or self.python
        with self._lock:
            idle = self._idle.get(python, [])
            taken, idle[:] = idle[:count], idle[count:]
        isolated = python != self.python
        return taken + [ModelProcess(python, isolated=isolated)
                        for _ in range(count - len(taken))]

    def release(self, processes: list[ModelProcess]) -> None:
        """End a job's processes and start replacement spares of the same interpreter.

        Spares are replaced only now, not when taken: starting interpreters costs seconds of
        CPU that would otherwise be stolen from the job that just began.
        """
        for process in processes:
            process.close(graceful=False)  # outputs are already renamed into place
        if self.spares and processes:
            python = processes[0].python
            threading.Thread(target=self._refill, args=(python,), daemon=True).start()

    def _refill(self, python: str) -> None:
        while True:
            with self._lock:
                if self._closed or len(self._idle.get(python, ())) >= self.spares:
                    return
            process = ModelProcess(python, isolated=python != self.python)
            dropped: list[ModelProcess] = []
            with self._lock:
                surplus = self._closed or len(self._idle.get(python, ())) >= self.spares
                if not surplus:
                    self._idle.setdefault(python, []).append(process)
                    if python != self.python:
                        self._idle.move_to_end(python)
                        dropped = self._drop_old_environments()
            for old in dropped:
                old.close()
            if surplus:
                process.close()
                return

    @property
    def spare_pids(self) -> set[int]:
        """The process ids of the warm spares (what a process listing should expect)."""
        with self._lock:
            return {p.pid for processes in self._idle.values() for p in processes}

    def keep_spares(self, spares: int) -> None:
        """Keep ``spares`` warm processes from now on (started in the background)."""
        self.spares = max(0, spares)
        threading.Thread(target=self._refill, args=(self.python,), daemon=True).start()

    def _drop_old_environments(self) -> list[ModelProcess]:
        environments = [p for p in self._idle if p != self.python]
        dropped = []
        for python in environments[:max(0, len(environments) - ENV_SPARES)]:
            dropped.extend(self._idle.pop(python))
        return dropped

    def spare_count(self, python: str | None = None) -> int:
        """Idle processes kept for ``python`` (the engine's own when None)."""
        with self._lock:
            return len(self._idle.get(python or self.python, ()))

    def wait_ready(self, timeout: float | None = None) -> None:
        """Block until every spare has started (benchmarks use it to measure a warm pool)."""
        with self._lock:
            idle = [p for processes in self._idle.values() for p in processes]
        for process in idle:
            process.wait_ready(timeout)

    def close(self) -> None:
        with self._lock:
            self._closed = True
            idle = [p for processes in self._idle.values() for p in processes]
            self._idle = OrderedDict()
        for process in idle:
            process.close()
