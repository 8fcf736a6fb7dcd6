"""A model folder's own tests (``test_model.py``), run with pytest in the model's environment.

The report is what a reviewer and the deploy process decide on: ``status`` (``passed``,
``failed`` or ``error`` when pytest could not run the tests: an environment that did not
build, a collection error, no test collected, a time limit), the counts, the duration, and
the failing tests with their output. It is read from pytest's JUnit XML, not from its
console text, so it does not depend on pytest's output format.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from engine.errors import MlcError
from engine.xmlsafe import parse_xml

from .environments import LogLine, ModelEnvironments
from .requirements import TESTS_FILE

DEFAULT_TIMEOUT = 600.0
MAX_FAILURES = 20
MAX_OUTPUT_CHARS = 4000
_MAX_XML_BYTES = 20 * 1024 * 1024


class ModelTestsFailed(MlcError):
    """A model's own tests failed or could not run (the report says which)."""

    code = "model_tests_failed"


@dataclass
class TestReport:
    """What a run of a model's tests found (stored on the snapshot as ``model_tests``)."""

    __test__ = False  # not a pytest test class, whatever its name

    status: str  # passed | failed | error
    passed: int = 0
    failed: int = 0
    errors: int = 0
    skipped: int = 0
    duration: float = 0.0
    failures: list[dict[str, str]] = field(default_factory=list)
    reason: str = ""  # why pytest could not judge the tests (status error)
    exit_code: int | None = None
    environment: dict[str, Any] | None = None
    output_tail: str = ""
    ran_at: str = ""

    @property
    def ok(self) -> bool:
        return self.status == "passed"

    def summary(self) -> str:
        """One line: ``2 passed, 1 failed in 1.3s (test_model.py::test_x: AssertionError)``."""
        if self.status == "error" and self.reason:
            return f"tests could not run: {self.reason}"
        counts = ", ".join(f"{n} {label}" for n, label in (
            (self.passed, "passed"), (self.failed, "failed"), (self.errors, "errors"),
            (self.skipped, "skipped")) if n) or "no tests"
        first = ""
        if self.failures:
            message = (self.failures[0]["message"].splitlines() or [""])[0]
            first = f" ({self.failures[0]['test']}: {message[:200]})"
        return f"{counts} in {self.duration:.1f}s{first}"

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "summary": self.summary()}


def has_tests(model_dir: Path) -> bool:
    return (Path(model_dir) / TESTS_FILE).is_file()


def run_model_tests(model_dir: Path, environments: ModelEnvironments | None, *,
                    timeout: float | None = DEFAULT_TIMEOUT,
                    log: LogLine | None = None) -> TestReport:
    """Run ``test_model.py`` of ``model_dir`` with pytest, in the model's environment (the
    engine's own when the folder has no ``requirements.model``). Never raises for what the
    tests or the environment did: that is the report's ``status``."""
    say = log or (lambda line: None)
    model_dir = Path(model_dir).resolve()
    ran_at = datetime.now(UTC).isoformat(timespec="seconds")
    started = time.monotonic()
    python, described = sys.executable, None
    if environments is not None:
        try:
            environment = environments.for_model(model_dir, log=say, timeout=timeout)
        except MlcError as exc:
            return TestReport("error", reason=exc.message, ran_at=ran_at)
        if environment is not None:
            python, described = str(environment.python), environment.describe()
    left = None if not timeout else max(1.0, timeout - (time.monotonic() - started))
    with tempfile.TemporaryDirectory(prefix="mlc-model-tests-") as scratch:
        xml = Path(scratch) / "report.xml"
        command = [python, "-m", "pytest", TESTS_FILE, "-q", "-p", "no:cacheprovider",
                   f"--junitxml={xml}", f"--rootdir={model_dir}"]
        say(f"running {TESTS_FILE} with {python}")
        try:
            code, output = _run(command, model_dir, left)
        except subprocess.TimeoutExpired:
            return TestReport("error", reason=f"the tests exceeded the time limit of "
                              f"{left:.0f}s", environment=described, ran_at=ran_at,
                              duration=round(time.monotonic() - started, 3))
        for line in output.splitlines():
            say("  " + line)
        wrote_report = xml.is_file()
        report = _from_junit(xml) if wrote_report else TestReport("error")
    report.exit_code, report.environment, report.ran_at = code, described, ran_at
    report.output_tail = output[-MAX_OUTPUT_CHARS:]
    if wrote_report and code == 0 and not (report.failed or report.errors):
        report.status = "passed"
    elif wrote_report and code == 1:
        report.status = "failed"
    else:  # pytest missing, a collection error, no tests: nothing was judged
        report.status = "error"
        report.reason = _reason(code, output)
    return report


def _run(command: list[str], model_dir: Path, timeout: float | None) -> tuple[int, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("MLC_")}
    # The model folder for ``import model``, the folder above it for shared code (common/).
    env["PYTHONPATH"] = os.pathsep.join((str(model_dir), str(model_dir.parent)))
    env.update({"PYTHONDONTWRITEBYTECODE": "1", "PYTHONNOUSERSITE": "1"})
    process = subprocess.Popen(command, cwd=str(model_dir), env=env, text=True,
                               errors="replace", stdout=subprocess.PIPE,
                               stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                               start_new_session=True)
    try:
        output, _ = process.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        try:
            os.killpg(process.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
        process.communicate()
        raise
    return process.returncode, output


def _from_junit(path: Path) -> TestReport:
    root = parse_xml(path.read_bytes(), path.name, max_bytes=_MAX_XML_BYTES)
    suites = [root] if root.tag == "testsuite" else list(root.iter("testsuite"))
    report = TestReport("failed")
    for suite in suites:
        tests = int(suite.get("tests", 0))
        failed, errors = int(suite.get("failures", 0)), int(suite.get("errors", 0))
        skipped = int(suite.get("skipped", 0))
        report.failed += failed
        report.errors += errors
        report.skipped += skipped
        report.passed += max(0, tests - failed - errors - skipped)
        report.duration += float(suite.get("time", 0) or 0)
        for case in suite.iter("testcase"):
            problem = case.find("failure")
            if problem is None:
                problem = case.find("error")
            if problem is None or len(report.failures) >= MAX_FAILURES:
                continue
            name = "::".join(p for p in (case.get("classname"), case.get("name")) if p)
            report.failures.append({
                "test": name, "kind": problem.tag,
                "message": (problem.get("message") or "").strip()[:500],
                "output": (problem.text or "").strip()[-MAX_OUTPUT_CHARS:]})
    report.duration = round(report.duration, 3)
    return report


def _reason(code: int | None, output: str) -> str:
    if code == 5:
        return f"{TESTS_FILE} collected no tests"
    if code == 2:
        return "pytest was interrupted (a collection error: " \
               + (_last_error(output) or "see the output") + ")"
    if code == 4:
        return "pytest could not start: " + (_last_error(output) or "usage error")
    return f"pytest exited with code {code}: " + (_last_error(output) or "see the output")


def _last_error(output: str) -> str:
    lines = [line.strip() for line in output.splitlines()
             if line.strip().startswith(("E ", "ERROR", "No module named"))
             or "Error" in line]
    return lines[-1][:300] if lines else ""
