"""Random valid Camunda-dialect diagrams, run by the engine and by a small reference
interpreter written for this test; the paths they take must agree.

Hypothesis builds a block tree (sequences, exclusive and parallel splits, loops, embedded
sub-processes, multi-instance tasks, external tasks with an error boundary, random ids that
include every name SpiffWorkflow or the old engine used internally). The tree is written out
as BPMN and deployed; the engine runs it with the embedded worker. The reference walks the
tree itself (it never sees the BPMN) and predicts, for the same inputs, how often each
activity completes and which variables end up set. A run must never fail with anything but
the predicted outcome, and its history must match the prediction.
"""

from __future__ import annotations

import itertools
from collections import Counter
from dataclasses import dataclass, field

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from engine import BpmnError, Database, Engine, HandlerRegistry, Worker, clock
from tests.support.bpmn import flow

pytestmark = pytest.mark.slow

RESERVED = ["Start", "End", "Root", "EndJoin", "p.EndJoin", "BoundaryEventSplit",
            "BoundaryEventJoin", "execution", "task", "_child", "__class__", "loopCounter"]


# ------------------------------------------------------------------ the block tree


@dataclass
class Task:
    id: str
    external: bool = False
    fails: bool = False           # an external task whose handler throws a BPMN error
    handler: Block | None = None  # error boundary path (external tasks that may fail)


@dataclass
class Seq:
    items: list


@dataclass
class Xor:
    id: str
    threshold: int
    then: Block
    other: Block


@dataclass
class And:
    id: str
    branches: list


@dataclass
class Loop:
    id: str
    times: int
    body: Block
    var: str = ""  # the counter: ids may hold '-' and '.', which an expression cannot name


@dataclass
class Sub:
    id: str
    body: Block


@dataclass
class Multi:
    id: str
    times: int
    sequential: bool


Block = Task | Seq | Xor | And | Loop | Sub | Multi


@dataclass
class Ids:
    """Hands out unique NCNames, sometimes ones an engine might use internally."""

    draw: object
    used: set = field(default_factory=set)
    counter: itertools.count = field(default_factory=itertools.count)

    def __call__(self, hint: str) -> str:
        base = self.draw(st.sampled_from(RESERVED + [hint, hint.upper(), f"{hint}-x.y"]))
        name = base
        while name in self.used:
            name = f"{base}_{next(self.counter)}"
        self.used.add(name)
        return name


def blocks(draw, ids: Ids, depth: int) -> Block:
    choices = ["task", "ext", "seq"] + (["xor", "and", "loop", "sub", "multi"] if depth < 3 else [])
    kind = draw(st.sampled_from(choices))
    if kind == "task":
        return Task(ids("t"))
    if kind == "ext":
        handler = blocks(draw, ids, depth + 1) if draw(st.booleans()) else None
        return Task(ids("x"), external=True, fails=handler is not None and draw(st.booleans()),
                    handler=handler)
    if kind == "seq":
        return Seq([blocks(draw, ids, depth + 1) for _ in range(draw(st.integers(1, 3)))])
    if kind == "xor":
        return Xor(ids("g"), draw(st.integers(0, 10)), blocks(draw, ids, depth + 1),
                   blocks(draw, ids, depth + 1))
    if kind == "and":
        return And(ids("p"), [blocks(draw, ids, depth + 1) for _ in range(draw(st.integers(2, 3)))])
    if kind == "loop":
        return Loop(ids("l"), draw(st.integers(1, 4)), blocks(draw, ids, depth + 1),
                    f"n{next(ids.counter)}")
    if kind == "sub":
        return Sub(ids("sub"), blocks(draw, ids, depth + 1))
    return Multi(ids("mi"), draw(st.integers(0, 3)), draw(st.booleans()))


# ------------------------------------------------------------------ the reference


def reference(block: Block, x: int) -> tuple[Counter, set[str]]:
    """What the engine must do: completions per activity id and the variables set."""
    done: Counter = Counter()
    variables: set[str] = set()

    def run(b: Block) -> None:
        if isinstance(b, Task):
            if b.external and b.fails:
                run(b.handler)  # the boundary takes over; the task never completes
                return
            done[b.id] += 1
            variables.add(f"v_{b.id}")
        elif isinstance(b, Seq):
            for item in b.items:
                run(item)
        elif isinstance(b, Xor):
            run(b.then if x > b.threshold else b.other)
        elif isinstance(b, And):
            for branch in b.branches:
                run(branch)
        elif isinstance(b, Loop):
            for _ in range(b.times):
                run(b.body)
            variables.add(b.var)
        elif isinstance(b, Sub):
            run(b.body)
            done[b.id] += 1
        elif isinstance(b, Multi):
            done[b.id] += b.times
            if b.times:
                variables.add(f"v_{b.id}")

    run(block)
    return done, variables


# ------------------------------------------------------------------ writing BPMN


class Writer:
    def __init__(self) -> None:
        self.parts: list[str] = []
        self.n = itertools.count()

    def add(self, xml: str) -> None:
        self.parts.append(xml)

    def link(self, source: str, target: str, condition: str | None = None) -> None:
        self.add(flow(source, target, condition, fid=f"flow_{next(self.n)}"))

    def write(self, b: Block) -> tuple[str, str]:
        """Write ``b``; return its (entry, exit) node ids."""
        if isinstance(b, Task):
            return self._task(b)
        if isinstance(b, Seq):
            entry, last = self.write(b.items[0])
            for item in b.items[1:]:
                start, end = self.write(item)
                self.link(last, start)
                last = end
            return entry, last
        if isinstance(b, Xor):
            split, merge = b.id, f"{b.id}-merge"
            self.add(f'<bpmn:exclusiveGateway id="{split}" default="{split}-else" />'
                     f'<bpmn:exclusiveGateway id="{merge}" />')
            then_in, then_out = self.write(b.then)
            else_in, else_out = self.write(b.other)
            self.link(split, then_in, f"${{x > {b.threshold}}}")
            self.add(flow(split, else_in, fid=f"{split}-else"))
            self.link(then_out, merge)
            self.link(else_out, merge)
            return split, merge
        if isinstance(b, And):
            split, join = b.id, f"{b.id}-join"
            self.add(f'<bpmn:parallelGateway id="{split}" /><bpmn:parallelGateway id="{join}" />')
            for branch in b.branches:
                entry, exit_ = self.write(branch)
                self.link(split, entry)
                self.link(exit_, join)
            return split, join
        if isinstance(b, Loop):
            counter = b.var
            init, merge, inc, test = (f"{b.id}-init", f"{b.id}-merge", f"{b.id}-inc",
                                      f"{b.id}-test")
            self.add(_output_task(init, counter, "${0}") + f'<bpmn:exclusiveGateway id="{merge}" />'
                     + _output_task(inc, counter, f"${{{counter} + 1}}")
                     + f'<bpmn:exclusiveGateway id="{test}" default="{test}-back" />'
                     + f'<bpmn:exclusiveGateway id="{b.id}" />')
            entry, exit_ = self.write(b.body)
            self.link(init, merge)
            self.link(merge, entry)
            self.link(exit_, inc)
            self.link(inc, test)
            self.link(test, b.id, f"${{{counter} >= {b.times}}}")
            self.add(flow(test, merge, fid=f"{test}-back"))
            return init, b.id
        if isinstance(b, Sub):
            inner = Writer()
            inner.n = self.n
            entry, exit_ = inner.write(b.body)
            start, end = f"{b.id}-start", f"{b.id}-end"
            inner.link(start, entry)
            inner.link(exit_, end)
            self.add(f'<bpmn:subProcess id="{b.id}"><bpmn:startEvent id="{start}" />'
                     + "".join(inner.parts) + f'<bpmn:endEvent id="{end}" /></bpmn:subProcess>')
            return b.id, b.id
        self.add(f'<bpmn:task id="{b.id}"><bpmn:extensionElements><camunda:inputOutput>'
                 f'<camunda:outputParameter name="v_{b.id}">${{loopCounter}}'
                 '</camunda:outputParameter></camunda:inputOutput></bpmn:extensionElements>'
                 f'<bpmn:multiInstanceLoopCharacteristics isSequential="'
                 f'{str(b.sequential).lower()}"><bpmn:loopCardinality>{b.times}'
                 '</bpmn:loopCardinality></bpmn:multiInstanceLoopCharacteristics></bpmn:task>')
        return b.id, b.id

    def _task(self, b: Task) -> tuple[str, str]:
        if not b.external:
            self.add(_output_task(b.id, f"v_{b.id}", "${1}"))
            return b.id, b.id
        self.add(f'<bpmn:serviceTask id="{b.id}" camunda:type="external" camunda:topic="gen" />')
        if b.handler is None:
            return b.id, b.id
        catch, merge = f"{b.id}-caught", f"{b.id}-after"
        self.add(f'<bpmn:boundaryEvent id="{catch}" attachedToRef="{b.id}">'
                 '<bpmn:errorEventDefinition /></bpmn:boundaryEvent>'
                 f'<bpmn:exclusiveGateway id="{merge}" />')
        entry, exit_ = self.write(b.handler)
        self.link(catch, entry)
        self.link(b.id, merge)
        self.link(exit_, merge)
        return b.id, merge


def _output_task(tid: str, name: str, expr: str) -> str:
    return (f'<bpmn:task id="{tid}"><bpmn:extensionElements><camunda:inputOutput>'
            f'<camunda:outputParameter name="{name}">{expr}</camunda:outputParameter>'
            '</camunda:inputOutput></bpmn:extensionElements></bpmn:task>')


def diagram(block: Block, key: str) -> bytes:
    w = Writer()
    entry, exit_ = w.write(block)
    w.link("generated_start", entry)
    w.link(exit_, "generated_end")
    from tests.support.bpmn import HEADER

    return (HEADER + f'<bpmn:process id="{key}" isExecutable="true">'
            '<bpmn:startEvent id="generated_start" /><bpmn:endEvent id="generated_end" />'
            + "".join(w.parts) + "</bpmn:process></bpmn:definitions>").encode()


def fails_map(block: Block) -> dict[str, bool]:
    found: dict[str, bool] = {}

    def walk(b):
        if isinstance(b, Task):
            if b.external:
                found[b.id] = b.fails
            if b.handler is not None:
                walk(b.handler)
        for child in (getattr(b, "items", None) or getattr(b, "branches", None) or []):
            walk(child)
        for attr in ("then", "other", "body"):
            if hasattr(b, attr):
                walk(getattr(b, attr))

    walk(block)
    return found


# ------------------------------------------------------------------ the property


@pytest.fixture(scope="module")
def engine_and_worker(tmp_path_factory):
    db = Database(f"sqlite:///{tmp_path_factory.mktemp('gen') / 'gen.db'}")
    db.create_all()
    handlers = HandlerRegistry()
    engine = Engine(db, handlers)
    worker = Worker(engine, handlers, worker_id="gen", max_tasks=20)
    yield engine, worker, handlers
    db.dispose()


@st.composite
def cases(draw):
    ids = Ids(draw)
    return blocks(draw, ids, 0), draw(st.integers(0, 10))


KEYS = itertools.count()


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow,
                                                                 HealthCheck.data_too_large])
@given(case=cases())
def test_random_diagrams_take_the_path_the_reference_predicts(engine_and_worker, case):
    engine, worker, handlers = engine_and_worker
    block, x = case
    clock.reset()
    key = f"generated_{next(KEYS)}"
    engine.deploy([(f"{key}.bpmn", diagram(block, key))])
    fails = fails_map(block)

    def handler(ctx):
        if fails[ctx.activity_id]:
            raise BpmnError("GENERATED", "the reference said so")
        return {f"v_{ctx.activity_id}": 1}

    handlers.register("gen", handler, replace=True)
    instance = engine.start(key, {"x": x})
    for _ in range(500):
        if not worker.run_once():
            break
    done = engine.get_instance(instance.id)
    expected, variables = reference(block, x)
    assert done.status == "completed", (done, block)
    completed = Counter(h.activity_id for h in engine.history(instance.id)
                        if h.kind == "activity.completed"
                        and not h.data.get("multi_instance_body")
                        and h.activity_id in expected)
    assert completed == +expected, block
    assert variables <= set(done.variables), block
    assert {v for v in done.variables if v.startswith("v_")} == {
        v for v in variables if v.startswith("v_")}, block
