"""Per-model virtual environments, built once per ``requirements.model`` content and cached.

An environment lives at ``<root>/<key>`` where ``key`` is the sha256 of the requirements file
(plus the runner's own requirements and the Python version, see
:attr:`~connectors.packages.requirements.ModelRequirements.key`). It is built under a
temporary name and renamed into place when complete, so a reader never sees half an
environment; a file lock per key makes concurrent jobs (threads or processes on one host)
wait for one build instead of racing. Every job, the online predictor and the model tests
reuse it, in any process on the host that shares the folder. ``mlc-env.json`` inside records
how it was built and ``build.log`` keeps the installer's output.

A failed build raises :class:`EnvironmentBuildError` naming the requirement the installer
choked on; nothing is left in the cache, so the next job tries again.
"""

from __future__ import annotations

import errno
import fcntl
import json
import os
import shutil
import signal
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TextIO

from engine.errors import MlcError

from .installers import Installer, base_python, pick_installer
from .requirements import RUNNER_REQUIREMENTS, ModelRequirements, read_requirements

LogLine = Callable[[str], None]
METADATA_FILE = "mlc-env.json"
BUILD_LOG = "build.log"
DEFAULT_TIMEOUT = 900.0
_TAIL_CHARS = 600


class EnvironmentBuildError(MlcError):
    """A model's environment could not be built (its message names the requirement)."""

    code = "environment_failed"
    status = 422


@dataclass(frozen=True)
class ModelEnvironment:
    """A built environment, ready to run the model's code."""

    key: str
    path: Path
    requirements: ModelRequirements
    installer: str
    cached: bool  # reused as it was (True) or built for this caller (False)
    seconds: float  # how long this caller waited for it

    @property
    def python(self) -> Path:
        return self.path / "bin" / "python"

    def describe(self) -> dict[str, Any]:
        """What a job records about the environment it ran in."""
        return {"key": self.key, "path": str(self.path), "python": str(self.python),
                "requirements": self.requirements.text.strip().splitlines(),
                "installer": self.installer, "cached": self.cached,
                "seconds": round(self.seconds, 3)}


class ModelEnvironments:
    """The on-disk cache of model environments of this host.

    Args:
        root: the cache folder (``MLC_MODEL_ENVS``, default ``var/model-envs``).
        installer: ``auto`` (uv when installed, else venv + pip), ``uv`` or ``pip``.
        timeout: longest a build may take, in seconds (a job's own limit may be shorter).
    """

    def __init__(self, root: Path | str = "var/model-envs", *, installer: str = "auto",
                 timeout: float = DEFAULT_TIMEOUT) -> None:
        self.root = Path(root).expanduser().resolve()
        self.installer: Installer = pick_installer(installer)
        self.timeout = timeout

    @classmethod
    def from_settings(cls, settings: Any) -> ModelEnvironments:
        return cls(settings.model_envs, installer=settings.model_env_installer,
                   timeout=settings.model_env_timeout)

    def path_for(self, requirements: ModelRequirements) -> Path:
        return self.root / requirements.key[:24]

    def for_model(self, model_dir: Path, *, log: LogLine | None = None,
                  timeout: float | None = None) -> ModelEnvironment | None:
        """The environment of the model in ``model_dir``: None when it has no
        ``requirements.model`` (it runs in the engine's own environment), else the cached
        one, built first when needed.

        Raises:
            ValidationError: ``requirements.model`` has a line that is not a pin.
            EnvironmentBuildError: the installer failed or ran out of time.
        """
        requirements = read_requirements(Path(model_dir))
        if requirements is None:
            return None
        return self.ensure(requirements, log=log, timeout=timeout)

    def ensure(self, requirements: ModelRequirements, *, log: LogLine | None = None,
               timeout: float | None = None) -> ModelEnvironment:
        """The environment for ``requirements``, built if it is not in the cache yet."""
        say = log or (lambda line: None)
        started = time.monotonic()
        limits = [t for t in (timeout, self.timeout) if t]
        limit = min(limits) if limits else None
        target = self.path_for(requirements)
        found = self._cached(target, requirements, started, say)
        if found is not None:
            return found
        self.root.mkdir(parents=True, exist_ok=True)
        with _file_lock(self.root / f".{target.name}.lock", limit, requirements,
                        lambda: say(f"environment {target.name}: another job is building "
                                    f"it; waiting")):
            found = self._cached(target, requirements, started, say)  # built meanwhile
            if found is not None:
                return found
            self._build(target, requirements, say, limit,
                        None if limit is None else started + limit)
        seconds = time.monotonic() - started
        say(f"environment {target.name}: ready in {seconds:.1f}s")
        return ModelEnvironment(requirements.key, target, requirements, self.installer.name,
                                cached=False, seconds=seconds)

    def _cached(self, target: Path, requirements: ModelRequirements, started: float,
                say: LogLine) -> ModelEnvironment | None:
        try:
            meta = json.loads((target / METADATA_FILE).read_text())
        except (OSError, ValueError):
            return None
        say(f"environment {target.name}: reusing the one built {meta.get('built_at')} "
            f"with {meta.get('installer')} for {requirements.path.name}")
        return ModelEnvironment(requirements.key, target, requirements,
                                str(meta.get("installer")), cached=True,
                                seconds=time.monotonic() - started)

    def _build(self, target: Path, requirements: ModelRequirements, say: LogLine,
               limit: float | None, deadline: float | None) -> None:
        building = self.root / f".build-{target.name}-{os.getpid()}-{threading.get_ident()}"
        shutil.rmtree(building, ignore_errors=True)
        shutil.rmtree(target, ignore_errors=True)  # a build that died before its rename
        started = time.monotonic()
        pins = ", ".join(p.text for p in requirements.pins) or "nothing pinned"
        say(f"environment {target.name}: building with {self.installer.name} for "
            f"{requirements.path} ({pins}; runner: {', '.join(RUNNER_REQUIREMENTS)})")
        building.mkdir(parents=True)
        output_path = building.parent / f"{building.name}.log"
        try:
            with open(output_path, "w") as output:
                self._run(self.installer.create(building / "venv", base_python()), output,
                          say, (limit, deadline), requirements, "creating the environment")
                self._run(self.installer.install(building / "venv" / "bin" / "python",
                                                 requirements.path, RUNNER_REQUIREMENTS),
                          output, say, (limit, deadline), requirements,
                          f"installing {requirements.path.name}")
            venv = building / "venv"
            shutil.move(str(output_path), venv / BUILD_LOG)
            (venv / METADATA_FILE).write_text(json.dumps({
                "key": requirements.key, "requirements": requirements.text,
                "installer": self.installer.name,
                "built_at": datetime.now(UTC).isoformat(timespec="seconds"),
                "seconds": round(time.monotonic() - started, 3)}, indent=2))
            os.rename(venv, target)  # the publish: complete, or not there at all
        finally:
            shutil.rmtree(building, ignore_errors=True)
            output_path.unlink(missing_ok=True)

    def _run(self, command: list[str], output: TextIO, say: LogLine,
             time_limit: tuple[float | None, float | None],
             requirements: ModelRequirements, what: str) -> None:
        limit, deadline = time_limit
        env = {k: v for k, v in os.environ.items() if not k.startswith("MLC_")}
        env.update({"UV_PYTHON_DOWNLOADS": "never", "PYTHONNOUSERSITE": "1",
                    "PIP_DISABLE_PIP_VERSION_CHECK": "1"})
        env.pop("VIRTUAL_ENV", None)  # the engine's own, which the installer must not touch
        lines: list[str] = []
        try:
            process = subprocess.Popen(command, stdout=subprocess.PIPE,
                                       stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                       text=True, errors="replace", env=env,
                                       cwd=str(requirements.path.parent),
                                       start_new_session=True)
        except OSError as exc:
            raise EnvironmentBuildError(f"{what}: cannot run {command[0]}: {exc}") from None
        reader = threading.Thread(target=_pump, args=(process, output, say, lines),
                                  daemon=True)
        reader.start()
        try:
            code = process.wait(timeout=None if deadline is None
                                else max(0.01, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            _kill(process)
            reader.join(5)
            raise EnvironmentBuildError(f"{what} for {requirements.path} exceeded its time "
                                        f"limit of {limit:g}s") from None
        reader.join()
        if code != 0:
            text = "".join(lines)
            culprit = requirements.blame(text)
            where = f" at {culprit}" if culprit else ""
            raise EnvironmentBuildError(f"{what} failed{where}: {_summary(text)}")


def _pump(process: subprocess.Popen[str], output: TextIO, say: LogLine,
          lines: list[str]) -> None:
    assert process.stdout is not None
    for line in process.stdout:
        lines.append(line)
        output.write(line)
        output.flush()
        say("  " + line.rstrip())


def _kill(process: subprocess.Popen[str]) -> None:
    try:
        os.killpg(process.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass
    process.wait()


def _summary(text: str) -> str:
    """The installer's own explanation: its error lines (pip's ``ERROR:``, uv's ``×`` /
    ``╰─▶`` / ``Because ...``), else the last lines of its output."""
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    picked = [line.lstrip("×╰─▶ ").strip() for line in lines
              if line.startswith(("ERROR", "error", "×", "╰─▶", "Because", "And because",
                                  "hint", "Caused by"))
              or "Because " in line]
    summary = " ".join(picked or lines[-3:])
    return summary[-_TAIL_CHARS:] if summary else "no output"


@contextmanager
def _file_lock(path: Path, limit: float | None, requirements: ModelRequirements,
               waiting: Callable[[], None]) -> Iterator[None]:
    """An exclusive lock on ``path`` (between threads and processes alike: flock locks
    belong to the open file), waited for at most ``limit`` seconds."""
    deadline = None if limit is None else time.monotonic() + limit
    with open(path, "a") as handle:
        first = True
        while True:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except OSError as exc:
                if exc.errno not in (errno.EAGAIN, errno.EACCES):
                    raise
            if first:
                waiting()
                first = False
            if deadline is not None and time.monotonic() > deadline:
                raise EnvironmentBuildError(
                    f"waiting for another build of the environment for {requirements.path} "
                    f"exceeded the time limit of {limit:.0f}s")
            time.sleep(0.2)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)
