"""What a new user meets first on the command line (issue 18): an unheard signal is not a
success, a failed instance does not look completed, short ids work, errors are one line."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from mlc.cli import main

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"


@pytest.fixture
def mlc(tmp_path, monkeypatch):
    """Run ``mlc`` against a fresh SQLite database; returns (exit code, stdout, stderr)."""
    monkeypatch.setenv("MLC_DATABASE_URL", f"sqlite:///{tmp_path / 'mlc.db'}")
    monkeypatch.setenv("MLC_CONFIG", "/nonexistent/mlc.toml")

    def run(*args: str):
        result = CliRunner().invoke(main, list(args))
        return result.exit_code, result.stdout, result.stderr

    return run


def test_a_signal_nobody_hears_exits_3_with_one_warning_line(mlc):
    code, out, err = mlc("signal", "nosuch")
    assert code == 3 and out == "started 0, resumed 0\n"
    assert err.startswith("warning: signal 'nosuch' was not heard") and err.count("\n") == 1
    code, out, err = mlc("signal", "nosuch", "--allow-unheard", "--json")
    assert code == 0 and err == ""
    assert json.loads(out) == {"started": [], "resumed": [], "unheard": True}


def _deploy_straight(mlc, tmp_path) -> None:
    from tests.integration.test_engine_summaries import STRAIGHT

    path = tmp_path / "straight.bpmn"
    path.write_bytes(STRAIGHT)
    assert mlc("deploy", str(path))[0] == 0


def test_instances_table_shows_the_outcome_and_filters_on_it(mlc, tmp_path):
    _deploy_straight(mlc, tmp_path)
    failed = json.loads(mlc("start", "straight", "-v", "OUTCOME=failed", "--json")[1])
    mlc("start", "straight", "-v", "OUTCOME=deployed")
    code, out, _ = mlc("instances")
    header, *rows = out.splitlines()
    assert code == 0 and header.split() == ["id", "process", "status", "outcome", "active"]
    assert sorted(r.split()[2:4] for r in rows) == [["completed", "deployed"],
                                                    ["completed", "failed"]]
    code, out, _ = mlc("instances", "--outcome", "failed")
    assert [r.split()[0] for r in out.splitlines()[1:]] == [failed["id"]]
    assert mlc("instances", "--outcome", "failed", "-q")[1] == failed["id"] + "\n"
    assert mlc("show", failed["id"], "--no-history")[1].splitlines()[0].split()[2:4] == [
        "completed", "failed"]


def test_show_takes_the_short_ids_tables_print(mlc, tmp_path, monkeypatch):
    _deploy_straight(mlc, tmp_path)
    ids = [json.loads(mlc("start", "straight", "--json")[1])["id"] for _ in range(17)]
    code, out, _ = mlc("show", ids[0][:8], "--json")
    assert code == 0 and json.loads(out)["id"] == ids[0]
    # 17 ids over 16 hex digits: two share a first character
    monkeypatch.setattr("engine.ids.MIN_PREFIX", 1)
    shared = next(i[0] for i in ids if sum(j[0] == i[0] for j in ids) > 1)
    code, out, err = mlc("show", shared)
    assert code == 1 and out == "" and len(err.splitlines()) == 1
    assert err.startswith(f"error: process instance id '{shared}' is ambiguous: it starts ")
    assert all(i in err for i in ids if i[0] == shared)


def test_definitions_lists_processes_and_decisions(mlc):
    root = Path(__file__).resolve().parents[2]
    assert mlc("deploy", str(root / "processes"), str(root / "dmn"))[0] == 0
    code, out, _ = mlc("definitions")
    kinds = {tuple(line.split()[:2]) for line in out.splitlines()}
    assert code == 0
    assert {("process", "run_back_test"), ("decision", "classification_approval"),
            ("decision", "monitors_by_methodology")} <= kinds
    [decision] = [d for d in json.loads(mlc("definitions", "--json")[1])
                  if d["key"] == "classification_approval"]
    assert "T" in decision["created_at"] and decision["created_at"].endswith("+00:00")


def test_serve_on_a_busy_port_names_the_port_in_one_line(tmp_path):
    import os
    import socket
    import subprocess
    import sys

    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        env = {**os.environ, "MLC_DATABASE_URL": f"sqlite:///{tmp_path / 'mlc.db'}",
               "MLC_CONFIG": "/nonexistent/mlc.toml"}
        done = subprocess.run([sys.executable, "-c", "from mlc.cli import main; main()",
                               "serve", "--port", str(port), "--workers", "0"],
                              capture_output=True, text=True, env=env, timeout=60)
    assert done.returncode == 1 and done.stdout == ""
    assert done.stderr == (f"error: port {port} on 127.0.0.1 is already in use (another mlc "
                           "serve?); choose another with --port (make run PORT=...)\n")
