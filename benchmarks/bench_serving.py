"""The serving front under idle and long-polling connections: ``/healthz`` and a signal while
50 clients post signals, with and without 1,000 idle connections and 200 long polls held
open, against one ``mlc serve`` (SQLite) on loopback.

The baseline is the same server in the same run with only the 50 active clients; the ratio
says what the idle connections and long polls cost everyone else. The active clients run in
a separate process, so their CPU use does not slow the probe's own measurements.
``BENCH_SERVING_SECONDS``, ``BENCH_SERVING_IDLE``, ``BENCH_SERVING_POLLS`` and
``BENCH_SERVING_ACTIVE`` change the load; ``BENCH_SERVING_ARGS`` adds ``mlc serve`` options
(e.g. ``--threads 16``).
"""

from __future__ import annotations

import json
import multiprocessing
import os
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parent.parent
SECONDS = float(os.environ.get("BENCH_SERVING_SECONDS", "15"))
IDLE = int(os.environ.get("BENCH_SERVING_IDLE", "1000"))
POLLS = int(os.environ.get("BENCH_SERVING_POLLS", "200"))
ACTIVE = int(os.environ.get("BENCH_SERVING_ACTIVE", "50"))
PROBE_INTERVAL = 0.05
SIGNAL = {"name": "bench.nobody", "variables": {"x": 1}}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(folder: Path, *extra: str, url: str | None = None) -> tuple[subprocess.Popen, str]:
    """``mlc serve`` on a free port over ``url`` (a new SQLite file by default)."""
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("MLC_")}
    env.update(MLC_DATABASE_URL=url or f"sqlite:///{folder / 'serve.db'}", PYTHONPATH=str(ROOT))
    proc = subprocess.Popen([sys.executable, "-c", "from mlc.cli import main; main()", "serve",
                             "--port", str(port), "--workers", "0", "--log-level", "WARNING",
                             *extra], cwd=folder, env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        try:
            if requests.get(base + "/healthz", timeout=1).ok:
                return proc, base
        except requests.ConnectionError:
            time.sleep(0.1)
    proc.kill()
    raise RuntimeError("mlc serve did not start")


def open_idle(base: str, count: int) -> list[socket.socket]:
    """``count`` connections that never send a byte."""
    host, port = base.rsplit("/", 1)[1].split(":")
    return [socket.create_connection((host, int(port)), timeout=10) for _ in range(count)]


def open_long_polls(base: str, count: int, seconds: float) -> list[socket.socket]:
    """``count`` fetchAndLock requests on a topic nobody serves, waiting ``seconds``."""
    host, port = base.rsplit("/", 1)[1].split(":")
    body = json.dumps({"workerId": "bench-poller", "maxTasks": 1,
                       "asyncResponseTimeout": int(seconds * 1000),
                       "topics": [{"topicName": "bench.idle", "lockDuration": 1000}]}).encode()
    request = (f"POST /engine-rest/external-task/fetchAndLock HTTP/1.1\r\nHost: {host}\r\n"
               f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n"
               ).encode() + body
    polls = []
    for _ in range(count):
        s = socket.create_connection((host, int(port)), timeout=10)
        s.sendall(request)
        polls.append(s)
    return polls


def _active_client(base: str, stop_at: float, out) -> None:
    session = requests.Session()
    latencies, errors = [], 0
    while time.time() < stop_at:
        started = time.perf_counter()
        try:
            r = session.post(base + "/api/signals", json=SIGNAL, timeout=60)
            if r.status_code >= 300:
                errors += 1
            else:
                latencies.append(time.perf_counter() - started)
        except requests.RequestException:
            errors += 1
    out.put((latencies, errors))


def _active_process(base: str, clients: int, stop_at: float, out) -> None:
    import queue

    results: queue.Queue = queue.Queue()
    threads = [threading.Thread(target=_active_client, args=(base, stop_at, results))
               for _ in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    latencies, errors = [], 0
    while not results.empty():
        got, failed = results.get()
        latencies += got
        errors += failed
    out.put((latencies, errors))


def percentile(values: list[float], p: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(p * len(ordered)))] * 1000


def measure(base: str, seconds: float, active: int) -> dict:
    """Probe /healthz every 50 ms while ``active`` clients post signals for ``seconds``."""
    ctx = multiprocessing.get_context("spawn")
    out = ctx.Queue()
    stop_at = time.time() + seconds
    loader = ctx.Process(target=_active_process, args=(base, active, stop_at, out))
    loader.start()
    time.sleep(1.0)  # let the clients get going
    health, health_errors = [], 0
    session = requests.Session()
    while time.time() < stop_at - 0.5:
        started = time.perf_counter()
        try:
            if session.get(base + "/healthz", timeout=30).ok:
                health.append(time.perf_counter() - started)
            else:
                health_errors += 1
        except requests.RequestException:
            health_errors += 1
        time.sleep(PROBE_INTERVAL)
    signals, signal_errors = out.get(timeout=seconds + 120)
    loader.join(timeout=60)
    return {"health_p50": percentile(health, 0.5), "health_p99": percentile(health, 0.99),
            "health_n": len(health), "health_errors": health_errors,
            "signal_p50": percentile(signals, 0.5), "signal_p99": percentile(signals, 0.99),
            "signal_rps": len(signals) / seconds, "signal_errors": signal_errors}


def run() -> str:
    folder = Path(tempfile.mkdtemp(prefix="mlc-bench-serving-"))
    proc, base = start_server(folder, *os.environ.get("BENCH_SERVING_ARGS", "").split())
    held: list[socket.socket] = []
    try:
        baseline = measure(base, SECONDS, ACTIVE)
        held += open_idle(base, IDLE)
        held += open_long_polls(base, POLLS, SECONDS * 4)
        time.sleep(1.0)
        loaded = measure(base, SECONDS, ACTIVE)
        alive = sum(1 for s in held if _still_open(s))
    finally:
        for s in held:
            s.close()
        proc.terminate()
        try:
            proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            proc.kill()
    rows = [("50 active clients only (baseline)", baseline),
            (f"+ {IDLE} idle connections + {POLLS} long polls", loaded)]
    for label, m in rows:
        print(f"{label}: /healthz p50 {m['health_p50']:.1f} ms p99 {m['health_p99']:.1f} ms "
              f"({m['health_n']} probes, {m['health_errors']} errors); signal p50 "
              f"{m['signal_p50']:.1f} ms p99 {m['signal_p99']:.1f} ms, {m['signal_rps']:.0f}/s, "
              f"{m['signal_errors']} errors", flush=True)
    print(f"connections still open at the end: {alive} of {len(held)}")
    lines = ["## Serving front (`bench_serving`)", "",
             f"`mlc serve` (Hypercorn + the asynchronous front, 8 request threads, SQLite) on "
             f"loopback; {ACTIVE} clients post a signal nobody subscribes to, back to back, for "
             f"{SECONDS:g} s from another process, while this process probes `/healthz` every "
             f"{PROBE_INTERVAL * 1000:.0f} ms. Baseline: the same server in the same run "
             "without the idle connections and long polls.", "",
             "| load | /healthz p50 ms | /healthz p99 ms | signal p50 ms | signal p99 ms | "
             "signals/s | errors |", "|---|---:|---:|---:|---:|---:|---:|"]
    for label, m in rows:
        lines.append(f"| {label} | {m['health_p50']:.1f} | {m['health_p99']:.1f} | "
                     f"{m['signal_p50']:.1f} | {m['signal_p99']:.1f} | {m['signal_rps']:.0f} | "
                     f"{m['health_errors'] + m['signal_errors']} |")
    lines += ["", f"Ratio loaded / baseline: /healthz p99 "
              f"**{loaded['health_p99'] / baseline['health_p99']:.2f}**, signal p99 "
              f"**{loaded['signal_p99'] / baseline['signal_p99']:.2f}**; "
              f"{alive} of {len(held)} idle and long-polling connections were still open "
              "at the end. Target: /healthz under 100 ms."]
    return "\n".join(lines) + "\n"


def _still_open(s: socket.socket) -> bool:
    try:
        s.setblocking(False)
        return s.recv(1, socket.MSG_PEEK) != b""
    except BlockingIOError:
        return True
    except OSError:
        return False


if __name__ == "__main__":
    print(run())
