"""Evaluation budgets end to end (issue 15): a real ``mlc serve`` refuses a decision or an
expression that would run or grow without end with a 422 naming the limit, and stays healthy;
``mlc decide`` exits 1 with the reason. Limits come from the MLC_EVAL_* settings."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
import requests

from tests.support.api import ROOT
from tests.support.bpmn import bpmn, chain, flow
from tests.support.serve import Server

pytestmark = pytest.mark.slow

DMN = """<definitions xmlns="https://www.omg.org/spec/DMN/20191111/MODEL/" id="budget"
  name="budget" namespace="urn:budget">
  <decision id="endless" name="endless"><decisionTable id="t">
    <input id="i"><inputExpression id="ie"><text>n</text></inputExpression></input>
    <output id="o" name="out"/>
    <rule id="r"><inputEntry id="e"><text>-</text></inputEntry>
      <outputEntry id="oe"><text>for i in 1..n return i</text></outputEntry></rule>
  </decisionTable></decision>
</definitions>"""


def deploy(server: Server, name: str, data: bytes) -> None:
    r = requests.post(server.base + "/api/deployments", files={"file": (name, data)},
                      timeout=60)
    assert r.status_code == 201, r.text


def evaluate(server: Server, n: int) -> requests.Response:
    return requests.post(server.base + "/api/decisions/endless/evaluate",
                         json={"variables": {"n": n}}, timeout=60)


@pytest.fixture
def server(tmp_path):
    srv = Server(tmp_path)
    yield srv
    srv.stop()


@pytest.fixture
def small(tmp_path):
    srv = Server(tmp_path, env={"MLC_EVAL_MAX_ITEMS": "50000"})
    yield srv
    srv.stop()


def test_a_decision_past_the_budget_is_a_422_and_the_server_stays_healthy(server):
    deploy(server, "budget.dmn", DMN.encode())
    refused = evaluate(server, 100_000_000)
    assert refused.status_code == 422, refused.text
    assert refused.json()["error"] == "evaluation_limit_exceeded"
    assert "100,000,000" in refused.json()["message"]
    assert "MLC_EVAL_MAX_ITEMS" in refused.json()["message"]
    assert requests.get(server.base + "/healthz", timeout=10).status_code == 200
    fine = evaluate(server, 3)
    assert fine.status_code == 200 and fine.json()["value"] == [1, 2, 3]


def test_the_limits_are_configured_by_the_environment(small):
    deploy(small, "budget.dmn", DMN.encode())
    assert evaluate(small, 40_000).status_code == 200
    assert evaluate(small, 60_000).status_code == 422


def test_a_juel_expression_past_the_budget_fails_the_start_with_a_422(small):
    power = " * ".join(["x"] * 40)  # 40 factors of a 4,000-digit number: 160,000 digits
    deploy(small, "juel.bpmn", bpmn(
        "juel", '<bpmn:startEvent id="s" />', '<bpmn:exclusiveGateway id="g" />',
        '<bpmn:endEvent id="big" />', '<bpmn:endEvent id="small" />', chain("s", "g"),
        flow("g", "big", f"${{{power} > 0}}"), flow("g", "small", "${true}")))
    r = requests.post(small.base + "/api/process-definitions/juel/start",
                      json={"variables": {"x": 10 ** 3_999}}, timeout=60)
    assert r.status_code == 422, r.text
    assert "evaluation stopped" in r.json()["message"]
    assert requests.get(small.base + "/api/process-instances", timeout=10).json() == []
    assert requests.get(small.base + "/healthz", timeout=10).status_code == 200


def test_mlc_decide_exits_with_the_reason(tmp_path):
    dmn = tmp_path / "budget.dmn"
    dmn.write_text(DMN)
    env = {k: v for k, v in os.environ.items() if not k.startswith("MLC_")}
    env.update(PYTHONPATH=str(ROOT), MLC_EVAL_MAX_STEPS="1000")
    run = subprocess.run([sys.executable, "-c", "from mlc.cli import main; main()", "decide",
                          str(dmn), "-v", "n=5000"], capture_output=True, text=True,
                         cwd=tmp_path, env=env, timeout=120)
    assert run.returncode == 1
    assert run.stderr.startswith("error: evaluation stopped after 1,000 steps")
    assert len(run.stderr.strip().splitlines()) == 1
    ok = subprocess.run([sys.executable, "-c", "from mlc.cli import main; main()", "decide",
                         str(dmn), "-v", "n=5", "--json"], capture_output=True, text=True,
                        cwd=tmp_path, env=env, timeout=120)
    assert ok.returncode == 0, ok.stderr
