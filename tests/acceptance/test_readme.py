"""The README's walkthrough, run as written: every ``console`` block of README.md, command by
command, against a real ``mlc serve`` set up as ``make run`` sets it up, and what each command
prints checked against the lines the README shows under it.

Conventions (README.md says them too): a ``$ `` line is a command (a trailing backslash or an
open quote continues it on the next lines); the lines under it must appear in its output in
that order, other lines may come between them; ``…`` stands for any text, a line of only ``…``
for any lines; runs of spaces match any run of spaces; 8-hex-digit ids and the demo's duration
stand for whatever this run printed. Shell variables set by a command (``B=...``) hold for the
commands after it; ``127.0.0.1:8080`` is replaced by this test server's address.
"""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import requests

from mlc.demo import free_port

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]
README = ROOT / "README.md"
COMMAND_TIMEOUT = 300  # the `until` loops wait for jobs; a hang fails instead of stalling CI


@dataclass
class Step:
    command: str
    expected: list[str] = field(default_factory=list)
    line: int = 0


def console_steps(text: str) -> list[Step]:
    """Every command of every ``console`` block, with the lines shown under it."""
    steps: list[Step] = []
    for block in re.finditer(r"^```console\n(.*?)^```", text, re.M | re.S):
        first_line = text.count("\n", 0, block.start()) + 2
        lines = block.group(1).splitlines()
        i = 0
        while i < len(lines):
            if not lines[i].startswith("$ "):
                raise AssertionError(f"README.md:{first_line + i}: output before any command")
            command, start = lines[i][2:], i
            while _incomplete(command):
                i += 1
                command += "\n" + lines[i]
            i += 1
            expected = []
            while i < len(lines) and not lines[i].startswith("$ "):
                expected.append(lines[i])
                i += 1
            steps.append(Step(command, expected, first_line + start))
    return steps


def _incomplete(command: str) -> bool:
    if command.endswith("\\"):
        return True
    try:
        shlex.split(command)
    except ValueError:  # an open quote: the command goes on
        return True
    return False


HEX_ID = re.compile(r"\b(?=[0-9a-f]*\d)[0-9a-f]{8}\b")


def _pattern(expected: str) -> re.Pattern:
    parts = []
    expected = re.sub(r"done in \d+s", "done in …s", expected.rstrip())
    for piece in re.split(r"(…| +)", expected):
        if piece == "…":
            parts.append(".*")
        elif piece.startswith(" "):
            parts.append(r"\s+")
        else:
            parts.append(HEX_ID.sub("[0-9a-f]{8}", re.escape(piece)))
    return re.compile("".join(parts))


def unmatched(expected: list[str], output: str) -> list[str]:
    """The shown lines that are not in ``output`` (in order); empty when all are."""
    actual = [line.rstrip() for line in output.splitlines()]
    position, missing = 0, []
    for line in expected:
        if line.strip() in ("", "…"):
            continue
        pattern = _pattern(line)
        for k in range(position, len(actual)):
            if pattern.fullmatch(actual[k]):
                position = k + 1
                break
        else:
            missing.append(line)
    return missing


@pytest.fixture
def served_like_make_run(tmp_path):
    """``mlc setup`` then ``mlc serve`` in a folder laid out like the project's root."""
    workdir = tmp_path / "project"
    (workdir / "var" / "data").mkdir(parents=True)
    (workdir / ".venv").mkdir()
    (workdir / ".venv" / "bin").symlink_to(Path(sys.executable).parent)
    for folder in ("dmn", "processes"):
        (workdir / folder).symlink_to(ROOT / folder)
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("MLC_")}
    env.update(MLC_DATA_ROOTS=str(workdir / "var" / "data"), MLC_TICKETS="local",
               MLC_CONFIG=str(workdir / "mlc.toml"), PYTHONPATH=str(ROOT))
    mlc = [sys.executable, "-c", "from mlc.cli import main; main()"]
    setup = subprocess.run([*mlc, "setup", "--base-url", f"http://127.0.0.1:{port}"],
                           cwd=workdir, env=env, capture_output=True, text=True, timeout=120)
    assert setup.returncode == 0, setup.stderr
    log = (workdir / "serve.log").open("w")
    server = subprocess.Popen([*mlc, "serve", "--port", str(port), "--poll", "0.2"],
                              cwd=workdir, env=env, stdout=log, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 90
    while True:
        try:
            if requests.get(f"http://127.0.0.1:{port}/healthz", timeout=1).ok:
                break
        except requests.RequestException:
            pass
        assert server.poll() is None and time.monotonic() < deadline, \
            (workdir / "serve.log").read_text()
        time.sleep(0.2)
    try:
        yield workdir, port, env
    finally:
        server.terminate()
        server.wait(timeout=30)
        log.close()


def test_the_readme_conventions_match_what_they_say():
    steps = console_steps("```console\n$ echo a \\\n  b\nx …\n…\n$ echo 'c\nd'\n```\n")
    assert [s.command for s in steps] == ["echo a \\\n  b", "echo 'c\nd'"]
    assert steps[0].expected == ["x …", "…"]
    assert unmatched(["x …", "z"], "w\nx 1 2\ny\nz") == []
    assert unmatched(["z", "x …"], "x 1\nz") == ["x …"]  # in order
    assert unmatched(["id 5d169d56  done in 21s"], "id e84ff154 done in 3s") == []
    assert unmatched(["status  waiting"], "status completed") == ["status  waiting"]


def test_every_console_block_of_the_readme_prints_what_it_shows(served_like_make_run):
    workdir, port, env = served_like_make_run
    steps = console_steps(README.read_text())
    assert len(steps) > 20, "the walkthrough lost its console blocks"
    assignments: list[str] = []
    failures = []
    for step in steps:
        command = step.command.replace("127.0.0.1:8080", f"127.0.0.1:{port}")
        script = "\n".join([*assignments, command])
        done = subprocess.run(["bash", "-c", script], cwd=workdir, env=env, text=True,
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                              timeout=COMMAND_TIMEOUT)
        if re.match(r"^[A-Za-z_]+=", command):
            assignments.append(command)
        missing = unmatched(step.expected, done.stdout)
        if missing:
            failures.append(f"README.md:{step.line}: $ {step.command}\n  not printed: "
                            + "\n  not printed: ".join(missing)
                            + "\n  printed:\n    " + done.stdout.replace("\n", "\n    "))
    assert not failures, "\n\n".join(failures)
