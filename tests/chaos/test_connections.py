"""1,000 idle sockets and 200 long polls held open against one ``mlc serve`` while clients
work: everyone is served, each new task goes to exactly one poll, nothing acknowledged is
lost, and the server is healthy once they all let go."""

from __future__ import annotations

import json
import socket
import time

import pytest
import requests

from tests.integration.test_serving import answer, has_answered, poll
from tests.support.bpmn import bpmn, chain, external
from tests.support.chaos import CHAOS_PROCESS, Load, assert_nothing_lost_or_doubled, deploy
from tests.support.serve import Server

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("chaos")]

IDLE, POLLS, TASKS = 1000, 200, 40
POLLED = bpmn("polled", '<bpmn:startEvent id="s"/>', external("t", "chaos.polled"),
              '<bpmn:endEvent id="e"/>', chain("s", "t", "e"))


def test_idle_sockets_and_long_polls_do_not_starve_anyone(tmp_path):
    server = Server(tmp_path, workers=1, args=["--idle-timeout", "300", "--lock", "5"])
    held: list[socket.socket] = []
    try:
        deploy(server.base, "chaos.bpmn", CHAOS_PROCESS)
        deploy(server.base, "polled.bpmn", POLLED)
        held += [socket.create_connection(("127.0.0.1", server.port)) for _ in range(IDLE)]
        polls = [poll(server.port, "chaos.polled", wait_ms=120_000) for _ in range(POLLS)]
        with Load([server.base], clients=3, pause=0.05) as load:
            for _ in range(20):
                r = requests.get(server.base + "/healthz", timeout=10)
                assert r.status_code == 200
                time.sleep(0.25)
            started = [requests.post(server.base + "/api/process-definitions/polled/start",
                                     json={}, timeout=30).json()["id"] for _ in range(TASKS)]
            answered: dict[int, dict] = {}
            deadline = time.monotonic() + 60
            while len(answered) < TASKS and time.monotonic() < deadline:
                for i, sock in enumerate(polls):
                    if i not in answered and has_answered(sock):
                        status, _, tasks = answer(sock)
                        assert status == 200 and len(tasks) == 1
                        answered[i] = tasks[0]
                time.sleep(0.1)
        got = [t["processInstanceId"] for t in answered.values()]
        assert sorted(got) == sorted(started)  # each task once, to one poll
        time.sleep(1)
        assert not any(has_answered(s) for i, s in enumerate(polls) if i not in answered)
        for task in answered.values():
            r = requests.post(f"{server.rest}/external-task/{task['id']}/complete",
                              json={"workerId": "raw"}, timeout=30)
            assert r.status_code == 204, r.text
        for instance in started:
            assert server.api(f"/api/process-instances/{instance}").json()["status"] == \
                "completed"
        open_now = sum(1 for s in held if not has_answered(s))
        assert open_now == IDLE  # held, not dropped, while all this went on
        assert_nothing_lost_or_doubled(server.database_url, load)
        for sock in held + polls:
            sock.close()
        time.sleep(1)
        assert requests.get(server.base + "/healthz", timeout=10).status_code == 200
        left = requests.post(server.base + "/api/process-definitions/polled/start", json={},
                             timeout=30).json()["id"]
        time.sleep(1)  # the 160 closed polls must not have claimed it
        unclaimed = requests.get(f"{server.rest}/external-task?processInstanceId={left}",
                                 timeout=30).json()
        assert [t["workerId"] for t in unclaimed] == [None], json.dumps(unclaimed)
    finally:
        for sock in held:
            sock.close()
        server.stop()
