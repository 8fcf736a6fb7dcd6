"""The serving front of a real ``mlc serve``: long polls that hold no thread and wake on the
commit that creates their task, idle / slow / oversized clients cut off, and the caps on
connections and long polls (README, "The server's limits")."""

from __future__ import annotations

import http.client
import json
import socket
import time

import pytest
import requests
from sqlalchemy import text

from engine import Engine
from engine.db import Database
from tests.conftest import POSTGRES_URL, _fresh_database
from tests.support.serve import MODELER, Server

pytestmark = pytest.mark.slow

ECHO = MODELER / "echo.bpmn"


def poll(port: int, topic: str = "test.echo", wait_ms: int = 60_000) -> socket.socket:
    """Send a fetchAndLock that long-polls; the answer is read later with :func:`answer`."""
    body = json.dumps({"workerId": "raw", "maxTasks": 1, "asyncResponseTimeout": wait_ms,
                       "topics": [{"topicName": topic, "lockDuration": 60_000}]}).encode()
    sock = socket.create_connection(("127.0.0.1", port), timeout=30)
    sock.sendall(b"POST /engine-rest/external-task/fetchAndLock HTTP/1.1\r\nHost: x\r\n"
                 b"Content-Type: application/json\r\nContent-Length: %d\r\n\r\n" % len(body)
                 + body)
    return sock


def answer(sock: socket.socket, timeout: float = 30) -> tuple[int, dict, object]:
    sock.settimeout(timeout)
    response = http.client.HTTPResponse(sock)
    response.begin()
    headers = {k.lower(): v for k, v in response.getheaders()}
    return response.status, headers, json.loads(response.read() or b"null")


def has_answered(sock: socket.socket) -> bool:
    sock.setblocking(False)
    try:
        return bool(sock.recv(1, socket.MSG_PEEK))
    except BlockingIOError:
        return False
    finally:
        sock.setblocking(True)


def closed_by_server(sock: socket.socket, within: float) -> bool:
    sock.settimeout(within)
    try:
        return sock.recv(1) == b""
    except ConnectionResetError:
        return True
    except TimeoutError:
        return False


def start_echo(server: Server) -> str:
    r = requests.post(server.base + "/api/process-definitions/echo/start", json={}, timeout=30)
    assert r.status_code == 201, r.text
    return r.json()["id"]


@pytest.fixture
def narrow(tmp_path):
    """Two request threads only: anything that held one per waiting poll would starve."""
    srv = Server(tmp_path, workers=0, args=["--threads", "2", "--max-long-polls", "40",
                                             "--idle-timeout", "2", "--body-timeout", "1"])
    srv.deploy_file(ECHO)
    yield srv
    srv.stop()


def test_long_polls_hold_no_thread_and_each_new_task_wakes_one_poll(narrow):
    polls = [poll(narrow.port) for _ in range(30)]
    time.sleep(0.5)
    for _ in range(3):  # 30 waiting polls and only 2 threads: still answered
        assert requests.get(narrow.base + "/healthz", timeout=10).status_code == 200
    started = {start_echo(narrow) for _ in range(3)}
    got, deadline = {}, time.monotonic() + 20
    while len(got) < 3 and time.monotonic() < deadline:
        for i, sock in enumerate(polls):
            if i not in got and has_answered(sock):
                status, _, tasks = answer(sock)
                assert status == 200 and len(tasks) == 1
                got[i] = tasks[0]["processInstanceId"]
        time.sleep(0.05)
    assert set(got.values()) == started  # woken by the commits, long before the 60 s deadline
    time.sleep(1.0)
    assert not any(has_answered(s) for i, s in enumerate(polls) if i not in got)
    for sock in polls:
        sock.close()


def test_a_poll_answers_an_empty_list_at_its_deadline_without_the_wait_header(narrow):
    began = time.monotonic()
    status, headers, tasks = answer(poll(narrow.port, wait_ms=1500))
    assert status == 200 and tasks == [] and time.monotonic() - began >= 1.4
    assert not any(h.lower().startswith("x-mlc") for h in headers)


def test_a_poll_whose_client_left_claims_nothing(narrow):
    gone = poll(narrow.port)
    time.sleep(0.5)
    gone.close()
    time.sleep(1.0)
    instance = start_echo(narrow)
    time.sleep(1.0)
    status, _, tasks = answer(poll(narrow.port, wait_ms=5000))
    assert status == 200 and [t["processInstanceId"] for t in tasks] == [instance]


def test_idle_and_slow_loris_connections_are_closed(narrow):
    idle = socket.create_connection(("127.0.0.1", narrow.port))
    assert closed_by_server(idle, within=10)
    loris = socket.create_connection(("127.0.0.1", narrow.port))
    loris.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n")
    cut_off = False
    for _ in range(40):  # one header line every 0.25 s, never the blank line
        try:
            loris.sendall(b"X-Slow: 1\r\n")
        except OSError:
            cut_off = True
            break
        if closed_by_server(loris, within=0.25):
            cut_off = True
            break
    assert cut_off
    assert requests.get(narrow.base + "/healthz", timeout=10).status_code == 200


def test_a_slow_body_gets_408_and_an_oversized_one_413(narrow):
    slow = socket.create_connection(("127.0.0.1", narrow.port))
    slow.sendall(b"POST /api/signals HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                 b"Content-Length: 100\r\n\r\n{\"name\"")
    status, _, body = answer(slow, timeout=15)
    assert status == 408 and "within 1 s" in body["message"]
    big = requests.post(narrow.base + "/api/signals", data=b"x" * (17 * 1024 * 1024),
                        headers={"Content-Type": "application/json"}, timeout=30)
    assert big.status_code == 413 and big.json()["error"] == "payload_too_large"


def test_connections_beyond_the_cap_are_closed_and_the_server_recovers(tmp_path):
    server = Server(tmp_path, workers=0, args=["--max-connections", "20"])
    try:
        time.sleep(0.5)  # the readiness probe's connection is gone
        held = [socket.create_connection(("127.0.0.1", server.port)) for _ in range(20)]
        time.sleep(0.5)
        extra = socket.create_connection(("127.0.0.1", server.port))
        assert closed_by_server(extra, within=10)
        for sock in held[:5]:
            sock.close()
        time.sleep(0.5)
        assert requests.get(server.base + "/healthz", timeout=10).status_code == 200
        for sock in held[5:]:
            sock.close()
    finally:
        server.stop()


def test_long_polls_beyond_the_cap_get_503_with_retry_after(tmp_path):
    server = Server(tmp_path, workers=0, args=["--max-long-polls", "2"])
    try:
        waiting = [poll(server.port), poll(server.port)]
        time.sleep(0.5)
        status, headers, body = answer(poll(server.port))
        assert status == 503 and headers.get("retry-after") == "5"
        assert "long polls" in body["message"] and body["type"] == "RestException"
        for sock in waiting:
            sock.close()
    finally:
        server.stop()


@pytest.mark.parametrize("backend", ["sqlite"] + (["postgres"] if POSTGRES_URL else []))
def test_a_task_committed_by_another_process_wakes_the_poll(tmp_path, backend):
    db, url, cleanup = _fresh_database(backend, tmp_path)
    db.dispose()
    server = Server(tmp_path, workers=0, database_url=url)
    try:
        server.deploy_file(ECHO)
        waiting = poll(server.port)
        time.sleep(0.5)
        other = Engine(Database(url))  # another process's engine, as far as the server knows
        began = time.monotonic()
        instance = other.start("echo", {}).id
        status, _, tasks = answer(waiting, timeout=30)
        assert status == 200 and [t["processInstanceId"] for t in tasks] == [instance]
        assert time.monotonic() - began < 30  # not the 60 s deadline
        other.db.dispose()
    finally:
        server.stop()
        cleanup()


@pytest.mark.postgres
@pytest.mark.skipif(not POSTGRES_URL, reason="MLC_TEST_POSTGRES_URL not set")
def test_postgres_commits_notify_and_the_watch_listens(tmp_path):
    """The commit sends NOTIFY inside its transaction; another process's watch wakes its
    waiters from it, with the database poll turned off."""
    import threading

    from engine.notify import TaskWatch, Waiter, availability_for
    from engine.persistence import ExternalTaskRow  # noqa: F401 - registers the tables

    db, url, cleanup = _fresh_database("postgres", tmp_path)
    try:
        db.create_all()
        engine = Engine(db)
        engine.deploy([("echo.bpmn", ECHO.read_bytes())])
        listener = db.engine.raw_connection()
        pg = listener.driver_connection
        pg.autocommit = True
        channel = pg.execute("SELECT 'mlc_tasks_' || left(md5(current_schema()), 16)").fetchone()[0]
        pg.execute(f'LISTEN "{channel}"')
        engine.start("echo", {})
        notes = list(pg.notifies(timeout=5, stop_after=1))
        assert json.loads(notes[0].payload)["topics"] == {"test.echo": 1}

        woken = threading.Event()
        availability_for(db).add(Waiter({"elsewhere.topic"}, woken.set))
        stop = threading.Event()
        watch = TaskWatch(db, interval=3600)
        thread = threading.Thread(target=watch.run, args=(stop,), daemon=True)
        thread.start()
        time.sleep(1.5)  # the listener is connected
        payload = json.dumps({"origin": "another-process", "topics": {"elsewhere.topic": 1}})
        pg.execute("SELECT pg_notify(%s, %s)", (channel, payload))
        assert woken.wait(10)
        stop.set()
        thread.join(timeout=10)
        listener.close()
        with db.session() as s:  # the notifying commit stored its task
            assert s.execute(text("SELECT count(*) FROM mlc_external_tasks")).scalar() == 1
    finally:
        cleanup()
