"""Repeated SIGKILL of server and worker processes under load: nothing acknowledged is lost,
nothing runs twice, and the survivors finish everything without any restart of theirs."""

from __future__ import annotations

import random
import subprocess
import sys
import time

import pytest

from tests.support.chaos import CHAOS_PROCESS, Load, assert_nothing_lost_or_doubled, deploy
from tests.support.serve import Server, mlc_env

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("chaos")]

LOAD_SECONDS = 20
KILL_EVERY = 2.5
LOCK = "3"  # seconds: a killed worker's claims come back quickly


class Worker:
    """An ``mlc worker`` process."""

    def __init__(self, tmp_path, url: str) -> None:
        self.tmp_path, self.url = tmp_path, url
        self.log = (tmp_path / "worker.log").open("a")
        self.start()

    def start(self) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-c", "from mlc.cli import main; main()", "worker", "--lock", LOCK,
             "--poll", "0.2"], cwd=self.tmp_path, env=mlc_env(self.url), stdout=self.log,
            stderr=subprocess.STDOUT)

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(timeout=30)

    def stop(self) -> None:
        self.kill()
        self.log.close()


def test_sigkill_of_servers_and_workers_under_load_loses_and_doubles_nothing(
        tmp_path, chaos_database):
    url = chaos_database
    args = ["--lock", LOCK, "--threads", "4"]
    servers = [Server(tmp_path, workers=1, database_url=url, args=args, name=f"s{i}")
               for i in range(2)]
    worker = Worker(tmp_path, url)
    kills = 0
    try:
        deploy(servers[0].base, "chaos.bpmn", CHAOS_PROCESS)
        rng = random.Random(15)
        with Load([s.base for s in servers], clients=2, pause=0.15) as load:
            deadline = time.monotonic() + LOAD_SECONDS
            while time.monotonic() < deadline:
                time.sleep(KILL_EVERY)
                victim = rng.choice(["s0", "s1", "worker"])
                if victim == "worker":
                    worker.kill()
                    worker.start()
                else:
                    i = int(victim[1])
                    servers[i].kill()
                    servers[i].log.close()
                    servers[i] = Server(tmp_path, workers=1, database_url=url, args=args,
                                        port=servers[i].port, name=victim, wait=False)
                kills += 1
            for server in servers:  # the last victim is back before the load stops
                server.wait_ready()
        assert kills >= 6 and load.statuses[0] > 0, load.statuses  # kills hit requests
        assert_nothing_lost_or_doubled(url, load)
    finally:
        for server in servers:
            server.stop()
        worker.stop()
