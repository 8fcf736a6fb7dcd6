"""The ``bench.step`` topic of ``bench_nodes``, loaded by real ``mlc worker`` processes through
``MLC_HANDLER_MODULES=benchmarks.node_handlers``: a handler that returns at once, so what is
measured is the engine's own cost per step (claim, complete, the instance's next step)."""

from __future__ import annotations

from engine import HandlerRegistry

TOPIC = "bench.step"


def register_handlers(handlers: HandlerRegistry) -> None:
    handlers.register(TOPIC, lambda ctx: {})
