"""REST ingestion under load: 50 concurrent clients for 10 s against ``mlc serve`` on
loopback (SQLite), against a baseline of the same engine calls made in-process by 50
threads (no HTTP), measured in the same run.

Two requests: a ModelOp-style signal no process subscribes to (the HTTP + validation +
subscription lookup cost), and starting a short process through ``/api`` (a full instance
transaction). ``BENCH_API_SECONDS`` / ``BENCH_API_CLIENTS`` change the load.
"""

from __future__ import annotations

import os
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Callable

import requests

ROOT = Path(__file__).resolve().parent.parent
SECONDS = float(os.environ.get("BENCH_API_SECONDS", "10"))
CLIENTS = int(os.environ.get("BENCH_API_CLIENTS", "50"))


def _load(call: Callable[[object], None], make_state: Callable[[], object],
          seconds: float, clients: int) -> dict:
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
    elapsed = time.monotonic() - began
    latencies.sort()
    pct = (lambda p: latencies[min(len(latencies) - 1, int(p * len(latencies)))] * 1000
           ) if latencies else (lambda p: float("nan"))
    return {"n": len(latencies), "errors": errors[0], "rps": len(latencies) / elapsed,
            "p50": pct(0.50), "p99": pct(0.99),
            "mean": statistics.fmean(latencies) * 1000 if latencies else float("nan")}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _serve(folder: Path) -> tuple[subprocess.Popen, str]:
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("MLC_")}
    env.update(MLC_DATABASE_URL=f"sqlite:///{folder / 'http.db'}", PYTHONPATH=str(ROOT))
    proc = subprocess.Popen([sys.executable, "-c", "from mlc.cli import main; main()", "serve",
                             "--port", str(port), "--workers", "0", "--threads", "64",
                             "--log-level", "WARNING"], cwd=folder, env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if requests.get(base + "/healthz", timeout=1).ok:
                return proc, base
        except requests.ConnectionError:
            time.sleep(0.1)
    proc.kill()
    raise RuntimeError("mlc serve did not start")


def _in_process(folder: Path):
    from engine import Engine
    from engine.db import Database
    from engine.migrate import upgrade

    url = f"sqlite:///{folder / 'inproc.db'}"
    upgrade(url)
    engine = Engine(Database(url))
    engine.deploy([("loop.bpmn", (ROOT / "tests/fixtures/bpmn/loop.bpmn").read_bytes())])
    return engine


def run() -> str:
    folder = Path(tempfile.mkdtemp(prefix="mlc-bench-api-"))
    engine = _in_process(folder)
    rows = []
    base_signal = _load(lambda _: engine.signal("bench.nobody", {"x": 1}), lambda: None,
                        SECONDS, CLIENTS)
    base_start = _load(lambda _: engine.start("loop", {"limit": 1}), lambda: None,
                       SECONDS, CLIENTS)
    proc, base = _serve(folder)
    try:
        with (ROOT / "tests/fixtures/bpmn/loop.bpmn").open("rb") as f:
            requests.post(base + "/api/deployments", files={"f": ("loop.bpmn", f)}, timeout=30)

        def post(path: str, body: dict) -> Callable[[requests.Session], None]:
            def call(session: requests.Session) -> None:
                r = session.post(base + path, json=body, timeout=60)
                if r.status_code >= 300:
                    raise RuntimeError(r.status_code)
            return call

        http_signal = _load(post("/mlc-service/rest/signal",
                                 {"name": "bench.nobody", "variables": {"x": {"value": 1}}}),
                            requests.Session, SECONDS, CLIENTS)
        http_start = _load(post("/api/process-definitions/loop/start",
                                {"variables": {"limit": 1}}), requests.Session, SECONDS, CLIENTS)
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
    for label, http, inproc in (("signal (no subscriber)", http_signal, base_signal),
                                ("start `loop` (limit=1)", http_start, base_start)):
        rows.append((label, http, inproc))
        print(f"{label}: HTTP {http['rps']:.0f} req/s p50 {http['p50']:.1f} ms "
              f"p99 {http['p99']:.1f} ms errors {http['errors']} | in-process "
              f"{inproc['rps']:.0f} calls/s p50 {inproc['p50']:.1f} ms p99 {inproc['p99']:.1f} ms"
              f" | HTTP/in-process throughput {http['rps'] / inproc['rps']:.2f}", flush=True)
    lines = [f"## REST API ingestion (`bench_api`)", "",
             f"{CLIENTS} concurrent clients for {SECONDS:g} s each; `mlc serve` (Hypercorn and "
             "the asynchronous front, 64 request threads, SQLite) on loopback vs the same engine "
             "call from "
             f"{CLIENTS} threads in-process.", "",
             "| request | HTTP req/s | HTTP p50 ms | HTTP p99 ms | errors | in-process calls/s "
             "| in-process p50 ms | in-process p99 ms | HTTP / in-process |",
             "|---|---|---|---|---|---|---|---|---|"]
    for label, http, inproc in rows:
        lines.append(f"| {label} | {http['rps']:.0f} | {http['p50']:.1f} | {http['p99']:.1f} | "
                     f"{http['errors']} | {inproc['rps']:.0f} | {inproc['p50']:.1f} | "
                     f"{inproc['p99']:.1f} | {http['rps'] / inproc['rps']:.2f} |")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    print(run())
