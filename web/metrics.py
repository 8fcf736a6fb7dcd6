"""``GET /metrics`` in the Prometheus text format, and the task-latency histogram.

The text format is a few lines of code; a client library would add a dependency and a
global registry that fights with several apps in one test process.

Task latency is the time from a worker's claim (fetch-and-lock) to its report (complete,
failure or BPMN error), for the embedded workers of ``mlc serve`` and for external workers
that claim through ``/engine-rest``.
"""

from __future__ import annotations

import bisect
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass, field

from flask import Response

BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 1800)
MAX_PENDING = 100_000  # claims remembered for latency; the oldest are forgotten first


@dataclass
class _Series:
    """One histogram series (a topic and outcome): counts per bucket, count and sum."""

    buckets: list[int] = field(default_factory=lambda: [0] * len(BUCKETS))
    count: int = 0
    total: float = 0.0


class TaskLatency:
    """A thread-safe histogram of task handling time, by topic and outcome."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._series: dict[tuple[str, str], _Series] = {}
        self._claimed: OrderedDict[str, tuple[str, float]] = OrderedDict()

    def observe(self, topic: str, outcome: str, seconds: float) -> None:
        with self._lock:
            series = self._series.setdefault((topic, outcome), _Series())
            index = bisect.bisect_left(BUCKETS, seconds)
            if index < len(BUCKETS):
                series.buckets[index] += 1
            series.count += 1
            series.total += seconds

    def claimed(self, task_id: str, topic: str) -> None:
        with self._lock:
            self._claimed[task_id] = (topic, time.monotonic())
            while len(self._claimed) > MAX_PENDING:
                self._claimed.popitem(last=False)

    def reported(self, task_id: str, outcome: str) -> None:
        with self._lock:
            found = self._claimed.pop(task_id, None)
        if found is not None:
            self.observe(found[0], outcome, time.monotonic() - found[1])

    def lines(self) -> list[str]:
        name = "mlc_external_task_duration_seconds"
        out = [f"# HELP {name} Time from a worker's claim of an external task to its report.",
               f"# TYPE {name} histogram"]
        with self._lock:
            series = {k: (list(v.buckets), v.count, v.total) for k, v in self._series.items()}
        for (topic, outcome), (buckets, count, total) in sorted(series.items()):
            labels = f'topic="{_escape(topic)}",outcome="{outcome}"'
            running = 0
            for bound, n in zip(BUCKETS, buckets):
                running += n
                out.append(f'{name}_bucket{{{labels},le="{bound}"}} {running}')
            out.append(f'{name}_bucket{{{labels},le="+Inf"}} {count}')
            out.append(f"{name}_sum{{{labels}}} {total:.6f}")
            out.append(f"{name}_count{{{labels}}} {count}")
        return out


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


INSTANCE_STATUSES = ("running", "waiting", "incident", "completed", "terminated")
TASK_STATES = ("available", "locked", "incident")


def render(counts: dict[str, dict[str, int]], latency: TaskLatency,
           node: dict[str, str] | None = None) -> str:
    lines = []
    if node:
        lines += ["# HELP mlc_node_info The node answering: its id and kind (always 1).",
                  "# TYPE mlc_node_info gauge",
                  f'mlc_node_info{{node="{_escape(node["id"])}",kind="{_escape(node["kind"])}"}} 1']
    lines += ["# HELP mlc_process_instances Process instances by status.",
              "# TYPE mlc_process_instances gauge"]
    instances = counts.get("instances", {})
    for status in sorted(set(INSTANCE_STATUSES) | set(instances)):
        lines.append(f'mlc_process_instances{{status="{_escape(status)}"}} {instances.get(status, 0)}')
    lines += ["# HELP mlc_external_tasks External tasks by state.",
              "# TYPE mlc_external_tasks gauge"]
    tasks = counts.get("external_tasks", {})
    for state in sorted(set(TASK_STATES) | set(tasks)):
        lines.append(f'mlc_external_tasks{{state="{_escape(state)}"}} {tasks.get(state, 0)}')
    lines += ["# HELP mlc_open_incidents Incidents not yet resolved.",
              "# TYPE mlc_open_incidents gauge",
              f"mlc_open_incidents {counts.get('incidents', {}).get('open', 0)}"]
    if "nodes" in counts:
        lines += ["# HELP mlc_nodes Registered nodes sharing this database, by kind (a dead one is reaped within three heartbeats).",
                  "# TYPE mlc_nodes gauge"]
        for kind, n in sorted(counts["nodes"].items()):
            lines.append(f'mlc_nodes{{kind="{_escape(kind)}"}} {n}')
    lines += latency.lines()
    return "\n".join(lines) + "\n"


def metrics_response(counts: dict[str, dict[str, int]], latency: TaskLatency,
                     node: dict[str, str] | None = None) -> Response:
    return Response(render(counts, latency, node),
                    mimetype="text/plain", content_type="text/plain; version=0.0.4; charset=utf-8")


__all__ = ["BUCKETS", "TaskLatency", "metrics_response", "render"]
