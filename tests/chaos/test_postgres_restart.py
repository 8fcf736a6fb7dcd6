"""PostgreSQL restarted under load (a private cluster, never the shared server): while it is
down requests answer 503 with Retry-After, acknowledged starts survive, and the same
``mlc serve`` process recovers by itself."""

from __future__ import annotations

import threading
import time

import pytest
import requests

from tests.support.chaos import CHAOS_PROCESS, Load, assert_nothing_lost_or_doubled, deploy
from tests.support.serve import Server

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("chaos")]


def test_postgres_restart_under_load_recovers_without_restarting_the_server(
        tmp_path, private_postgres):
    server = Server(tmp_path, workers=2, database_url=private_postgres.url,
                    args=["--lock", "3", "--threads", "4"])
    outage: list[requests.Response] = []
    try:
        deploy(server.base, "chaos.bpmn", CHAOS_PROCESS)
        with Load([server.base], clients=2, pause=0.1) as load:
            time.sleep(4)
            restarting = threading.Thread(target=private_postgres.restart, args=(4,))
            restarting.start()
            time.sleep(1.5)  # the database is down now
            for _ in range(5):
                outage.append(requests.get(server.base + "/api/process-instances", timeout=15))
                outage.append(requests.post(server.base + "/api/signals",
                                            json={"name": "nobody"}, timeout=15))
                time.sleep(0.3)
            restarting.join(timeout=120)
            deadline = time.monotonic() + 60
            while requests.get(server.base + "/healthz", timeout=15).status_code != 200:
                assert time.monotonic() < deadline, "the server did not recover"
                time.sleep(0.5)
            time.sleep(4)  # load on the recovered database
        assert server.proc.poll() is None  # the same process throughout
        down = [r for r in outage if r.status_code == 503]
        assert down, [r.status_code for r in outage]
        assert all(r.headers.get("Retry-After") == "5" for r in down)
        assert {r.json()["error"] for r in down if r.request.path_url.startswith("/api/")} == {
            "database_unavailable"}
        assert load.statuses[503] > 0 and len(load.acked) > 20, load.statuses
        assert_nothing_lost_or_doubled(private_postgres.url, load)
        r = requests.post(server.base + "/api/process-definitions/chaos/start",
                          json={"business_key": "after"}, timeout=15)
        assert r.status_code == 201
    finally:
        server.stop()
