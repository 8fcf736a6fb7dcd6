"""REST latency and throughput under load (issue 13, P5), against ``mlc serve`` on loopback.

1. **Closed loop.** 50 clients, each sending its next request as soon as the last answered,
   for ``BENCH_API_SECONDS``: a signal that starts a one-step process, and a start of the
   three-step ``loop`` process (both a committed instance per request). Target: p99 <= 2x p50
   (nobody starves behind the others). Baseline in the same run: the same engine calls from
   50 threads in this process, no HTTP.
2. **Paced.** Starts sent on a fixed schedule at half the closed-loop rate just measured;
   latency counts from when a request was due, so a stall is not hidden by requests that
   were never sent (no coordinated omission). Target: p99 < 50 ms.
3. **Server processes on PostgreSQL.** The closed-loop start load spread over 1 and 2
   ``mlc serve`` processes sharing one PostgreSQL database (``MLC_BENCH_POSTGRES_URL``, else
   ``MLC_TEST_POSTGRES_URL``; skipped without one): the most starts/s they reach here.

``BENCH_API_SECONDS`` / ``BENCH_API_CLIENTS`` change the load.
"""

from __future__ import annotations

import os
import queue
import statistics
import subprocess
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path

import requests

from benchmarks.bench_serving import start_server
from benchmarks.postgres import fresh_schema

ROOT = Path(__file__).resolve().parent.parent
SECONDS = float(os.environ.get("BENCH_API_SECONDS", "10"))
CLIENTS = int(os.environ.get("BENCH_API_CLIENTS", "50"))
PACED_TARGET_MS = 50.0
TAIL_TARGET = 2.0

SIGNALLED = b"""<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" id="D"
    targetNamespace="http://bpmn.io/schema/bpmn">
  <bpmn:signal id="go" name="bench.go" />
  <bpmn:process id="signalled" isExecutable="true">
    <bpmn:startEvent id="s"><bpmn:signalEventDefinition signalRef="go" /></bpmn:startEvent>
    <bpmn:sequenceFlow id="f" sourceRef="s" targetRef="e" />
    <bpmn:endEvent id="e" />
  </bpmn:process>
</bpmn:definitions>
"""
LOOP = ROOT / "tests/fixtures/bpmn/loop.bpmn"


def _stats(latencies: list[float], errors: int, elapsed: float) -> dict:
    latencies = sorted(latencies)
    pct = (lambda p: latencies[min(len(latencies) - 1, int(p * len(latencies)))] * 1000
           ) if latencies else (lambda p: float("nan"))
    return {"n": len(latencies), "errors": errors, "rps": len(latencies) / elapsed,
            "p50": pct(0.50), "p99": pct(0.99),
            "mean": statistics.fmean(latencies) * 1000 if latencies else float("nan")}


def closed_loop(call: Callable[[object], None], make_state: Callable[[], object],
                seconds: float = SECONDS, clients: int = CLIENTS) -> dict:
    """``clients`` threads, each calling back to back until ``seconds`` pass."""
    latencies: list[float] = []
    errors = [0]
    lock = threading.Lock()
    deadline = time.monotonic() + seconds

    def client() -> None:
        state = make_state()
        mine, failed = [], 0
        while time.monotonic() < deadline:
            started = time.perf_counter()
            try:
                call(state)
                mine.append(time.perf_counter() - started)
            except Exception:
                failed += 1
        with lock:
            latencies.extend(mine)
            errors[0] += failed

    began = time.monotonic()
    threads = [threading.Thread(target=client) for _ in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return _stats(latencies, errors[0], time.monotonic() - began)


def paced(call: Callable[[object], None], make_state: Callable[[], object], rate: float,
          seconds: float = SECONDS, clients: int = CLIENTS) -> dict:
    """Requests due every ``1/rate`` s, sent by whichever of ``clients`` threads is free;
    latency is measured from the moment each request was due."""
    due: queue.Queue = queue.Queue()
    latencies: list[float] = []
    errors = [0]
    lock = threading.Lock()

    def client() -> None:
        state = make_state()
        while True:
            when = due.get()
            if when is None:
                return
            try:
                call(state)
                with lock:
                    latencies.append(time.perf_counter() - when)
            except Exception:
                with lock:
                    errors[0] += 1

    threads = [threading.Thread(target=client) for _ in range(clients)]
    for t in threads:
        t.start()
    began = time.perf_counter()
    count = int(rate * seconds)
    for i in range(count):
        when = began + i / rate
        pause = when - time.perf_counter()
        if pause > 0:
            time.sleep(pause)
        due.put(when)
    for _ in threads:
        due.put(None)
    for t in threads:
        t.join()
    return _stats(latencies, errors[0], time.perf_counter() - began)


def _stop(procs: list[subprocess.Popen]) -> None:
    for proc in procs:
        proc.terminate()
    for proc in procs:
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()


def _deploy(base: str) -> None:
    for name, data in (("loop.bpmn", LOOP.read_bytes()), ("signalled.bpmn", SIGNALLED)):
        r = requests.post(base + "/api/deployments", files={"f": (name, data)}, timeout=60)
        r.raise_for_status()


def _post(bases: list[str], path: str, body: dict) -> tuple[Callable, Callable]:
    """(call, make_state): each client keeps one session to one server, round robin."""
    turn = iter(range(1 << 30))

    def make_state():
        session = requests.Session()
        session.base = bases[next(turn) % len(bases)]  # type: ignore[attr-defined]
        return session

    def call(session) -> None:
        r = session.post(session.base + path, json=body, timeout=60)
        if r.status_code >= 300:
            raise RuntimeError(r.status_code)

    return call, make_state


START_BODY = {"variables": {"limit": 1}}
SIGNAL_BODY = {"name": "bench.go", "variables": {"x": 1}}


def _in_process(folder: Path):
    from engine import Engine
    from engine.db import Database
    from engine.migrate import upgrade

    url = f"sqlite:///{folder / 'inproc.db'}"
    upgrade(url)
    engine = Engine(Database(url))
    engine.deploy([("loop.bpmn", LOOP.read_bytes()), ("signalled.bpmn", SIGNALLED)])
    return engine


def _line(label: str, r: dict) -> str:
    return (f"{label}: {r['rps']:.0f} req/s p50 {r['p50']:.1f} ms p99 {r['p99']:.1f} ms "
            f"(p99/p50 {r['p99'] / r['p50']:.2f}) errors {r['errors']}")


def run() -> str:
    folder = Path(tempfile.mkdtemp(prefix="mlc-bench-api-"))
    engine = _in_process(folder)
    base_signal = closed_loop(lambda _: engine.signal("bench.go", {"x": 1}), lambda: None)
    base_start = closed_loop(lambda _: engine.start("loop", {"limit": 1}), lambda: None)
    engine.db.dispose()
    proc, base = start_server(folder, url=f"sqlite:///{folder / 'http.db'}")
    try:
        _deploy(base)
        signal = closed_loop(*_post([base], "/api/signals", SIGNAL_BODY))
        print(_line("HTTP signal, closed loop", signal), flush=True)
        start = closed_loop(*_post([base], "/api/process-definitions/loop/start", START_BODY))
        print(_line("HTTP start, closed loop", start), flush=True)
        rate = max(start["rps"] / 2, 1.0)
        calm = paced(*_post([base], "/api/process-definitions/loop/start", START_BODY), rate)
        print(_line(f"HTTP start, paced at {rate:.0f}/s", calm), flush=True)
    finally:
        _stop([proc])
    nodes: list[tuple[int, dict]] = []
    found = fresh_schema("bench_api_")
    if found is not None:
        url, cleanup = found
        try:
            for count in (1, 2):
                procs, bases = [], []
                try:
                    for _ in range(count):
                        p, b = start_server(folder, url=url)
                        procs.append(p)
                        bases.append(b)
                    if count == 1:
                        _deploy(bases[0])
                    r = closed_loop(*_post(bases, "/api/process-definitions/loop/start",
                                           START_BODY))
                    print(_line(f"PostgreSQL, {count} server process(es), start", r), flush=True)
                    nodes.append((count, r))
                finally:
                    _stop(procs)
        finally:
            cleanup()
    return _report(base_signal, base_start, signal, start, rate, calm, nodes)


def _report(base_signal, base_start, signal, start, rate, calm, nodes) -> str:
    def verdict(ok: bool) -> str:
        return "meets" if ok else "misses"

    lines = ["## REST API under load (`bench_api`)", "",
             f"`mlc serve` with its defaults (Hypercorn, the asynchronous front, SQLite) on "
             f"loopback. Closed loop: {CLIENTS} clients for {SECONDS:g} s, each sending its next "
             "request when the last answered. Baseline: the same engine calls from "
             f"{CLIENTS} threads in this process, no HTTP. Every request commits an instance.",
             "",
             "| request | req/s | p50 ms | p99 ms | p99 / p50 | errors | in-process calls/s "
             "| in-process p50 / p99 ms | HTTP / in-process |",
             "|---|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for label, http, inproc in (("signal `bench.go` (starts a process)", signal, base_signal),
                                ("start `loop` (limit=1)", start, base_start)):
        lines.append(f"| {label} | {http['rps']:.0f} | {http['p50']:.1f} | {http['p99']:.1f} | "
                     f"{http['p99'] / http['p50']:.2f} | {http['errors']} | {inproc['rps']:.0f} "
                     f"| {inproc['p50']:.1f} / {inproc['p99']:.1f} | "
                     f"{http['rps'] / inproc['rps']:.2f} |")
    tails = max(signal["p99"] / signal["p50"], start["p99"] / start["p50"])
    lines += ["", f"Target p99 <= {TAIL_TARGET:g}x p50: worst {tails:.2f}x "
              f"(**{verdict(tails <= TAIL_TARGET)}**).", "",
              f"Paced: starts due every {1000 / rate:.1f} ms ({rate:.0f}/s, half the closed-loop "
              f"rate), latency from the moment each was due: p50 {calm['p50']:.1f} ms, p99 "
              f"**{calm['p99']:.1f} ms**, {calm['errors']} errors (target p99 < "
              f"{PACED_TARGET_MS:g} ms: **{verdict(calm['p99'] < PACED_TARGET_MS)}**)."]
    if nodes:
        one = nodes[0][1]["rps"]
        lines += ["", "Server processes on one PostgreSQL database, the closed-loop start load "
                  "spread over them (clients round robin):", "",
                  "| processes | starts/s | p50 ms | p99 ms | vs 1 process |",
                  "|---:|---:|---:|---:|---:|"]
        for count, r in nodes:
            lines.append(f"| {count} | {r['rps']:.0f} | {r['p50']:.1f} | {r['p99']:.1f} | "
                         f"{r['rps'] / one:.2f} |")
    else:
        lines += ["", "(No PostgreSQL configured: the multi-process row was skipped.)"]
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    print(run())
