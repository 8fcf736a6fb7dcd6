"""The runtime state of one process instance: tokens moving through scopes.

This is Camunda's execution tree, split in two:

* a :class:`Scope` holds variables and stands for one instance of a process, sub-process,
  event sub-process, transaction, multi-instance body or inner instance, or of an activity
  with an input/output mapping (its local variables). Lookups walk up the parents; a called
  process's scope is *isolated* (lookups stop there, as for a Camunda call activity).
* a :class:`Token` stands where an execution is: at a flow node, in a flow scope (the one
  whose completion it counts for), in a state that says what it waits for.

Everything the database indexes (event subscriptions, external tasks, user tasks, jobs) is
derived from this state, so the state is the single source of truth and stays small: no
predicted tasks, no per-path data copies. :func:`encode` / :func:`decode` give its compact JSON.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from ..errors import ExecutionFault

FORMAT = 2


class TokenState(StrEnum):
    READY = "ready"                # on the agenda (never stored except inside a command)
    WAIT = "wait"                  # at a task, catch event or event-based gateway
    JOIN = "join"                  # arrived at a joining gateway
    SCOPE = "scope"                # at a scope activity whose child scope runs
    ASYNC_BEFORE = "async-before"  # a job will enter the node
    ASYNC_AFTER = "async-after"    # a job will leave the node
    COMPENSATING = "compensating"  # a compensation throw waits for its handlers
    INCIDENT = "incident"          # stopped by an error nobody caught (an incident is open)


class ScopeKind(StrEnum):
    PROCESS = "process"   # the instance, or a called process (isolated)
    SUB = "sub"           # embedded sub-process / transaction
    EVENT = "event"       # event sub-process
    MI_BODY = "mi"        # multi-instance body: nrOfInstances, ...
    MI_INNER = "inner"    # one inner instance: loopCounter, element variable
    LOCAL = "local"       # an activity's input/output mapping


@dataclass(slots=True, eq=False)
class Scope:
    id: int
    parent: int | None
    kind: ScopeKind
    node: str                    # process key, sub-process id or activity id
    vars: dict[str, Any] = field(default_factory=dict)
    owner: int | None = None     # the token at the scope's activity (None: root)
    data: dict[str, Any] = field(default_factory=dict)  # timers, compensation log, model ...

    @property
    def isolated(self) -> bool:
        return self.kind is ScopeKind.PROCESS


@dataclass(slots=True, eq=False)
class Token:
    id: int
    node: str
    scope: int                   # flow scope
    state: TokenState = TokenState.READY
    local: int | None = None     # variable scope of the activity (io mapping), if any
    child: int | None = None     # the child flow scope of a scope activity
    data: dict[str, Any] = field(default_factory=dict)

    @property
    def var_scope(self) -> int:
        return self.local if self.local is not None else self.scope


@dataclass(slots=True, eq=False)
class InstanceState:
    """Scopes and tokens of one instance; ``seq`` hands out ids that never repeat."""

    scopes: dict[int, Scope] = field(default_factory=dict)
    tokens: dict[int, Token] = field(default_factory=dict)
    seq: int = 0
    ended: bool = False

    def next_id(self) -> int:
        self.seq += 1
        return self.seq

    @property
    def root(self) -> Scope:
        return self.scopes[1]

    def new_scope(self, parent: int | None, kind: ScopeKind, node: str,
                  variables: dict[str, Any] | None = None, owner: int | None = None) -> Scope:
        scope = Scope(self.next_id(), parent, kind, node, dict(variables or {}), owner)
        self.scopes[scope.id] = scope
        return scope

    def new_token(self, node: str, scope: int, state: TokenState = TokenState.READY) -> Token:
        token = Token(self.next_id(), node, scope, state)
        self.tokens[token.id] = token
        return token

    def owner_of(self, scope: Scope) -> Token:
        """The token at the activity that opened ``scope`` (every scope but the root has one)."""
        if scope.owner is None or scope.owner not in self.tokens:
            raise ExecutionFault(f"{scope.kind} scope {scope.id} of {scope.node!r} has no "
                                 "activity instance that owns it")
        return self.tokens[scope.owner]

    def local_of(self, token: Token) -> Scope:
        """The variable scope of the activity at ``token`` (its io mapping, a multi-instance
        body's counters)."""
        if token.local is None:
            raise ExecutionFault(f"activity instance {token.id} at {token.node!r} has no local "
                                 "scope")
        return self.scopes[token.local]

    def tokens_in(self, scope_id: int) -> list[Token]:
        return [t for t in self.tokens.values() if t.scope == scope_id]

    def children_of(self, scope_id: int) -> list[Scope]:
        return [s for s in self.scopes.values() if s.parent == scope_id]

    def chain(self, scope_id: int | None) -> Iterator[Scope]:
        """The scope and its ancestors, stopping after an isolated (process) scope."""
        while scope_id is not None:
            scope = self.scopes[scope_id]
            yield scope
            if scope.isolated:
                return
            scope_id = scope.parent

    def lookup(self, scope_id: int, name: str, default: Any = None) -> Any:
        for scope in self.chain(scope_id):
            if name in scope.vars:
                return scope.vars[name]
        return default

    def visible(self, scope_id: int) -> dict[str, Any]:
        """Every variable visible from ``scope_id``, inner scopes winning."""
        merged: dict[str, Any] = {}
        for scope in reversed(list(self.chain(scope_id))):
            merged.update(scope.vars)
        return merged

    def process_scope(self, scope_id: int) -> Scope:
        """The (called) process instance scope ``scope_id`` belongs to."""
        for scope in self.chain(scope_id):
            if scope.isolated:
                return scope
        raise KeyError(scope_id)  # pragma: no cover - every chain ends in a process scope

    def copy(self) -> InstanceState:
        """An independent copy a command can change and throw away on failure.

        Variable values are never changed in place (commands replace them), so copying each
        scope's dict, not the values, is enough.
        """
        return InstanceState(
            {i: Scope(s.id, s.parent, s.kind, s.node, dict(s.vars), s.owner, _copy_data(s.data))
             for i, s in self.scopes.items()},
            {i: Token(t.id, t.node, t.scope, t.state, t.local, t.child, _copy_data(t.data))
             for i, t in self.tokens.items()},
            self.seq, self.ended)


def _copy_data(data: dict[str, Any]) -> dict[str, Any]:
    return {k: _clone(v) for k, v in data.items()} if data else {}


def _clone(value: Any) -> Any:
    """A deep copy of JSON-like data (dicts, lists, scalars), much cheaper than deepcopy."""
    if isinstance(value, dict):
        return {k: _clone(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_clone(v) for v in value]
    return value


# ------------------------------------------------------------------------------ codec


def encode(state: InstanceState) -> str:
    """Compact JSON: ``{"v": 2, "seq": n, "s": [...], "t": [...]}``."""
    scopes = [[s.id, s.parent, s.kind.value, s.node, s.vars, s.owner, s.data or 0]
              for s in state.scopes.values()]
    tokens = [[t.id, t.node, t.scope, t.state.value, t.local, t.child, t.data or 0]
              for t in state.tokens.values()]
    body: dict[str, Any] = {"v": FORMAT, "seq": state.seq, "s": scopes, "t": tokens}
    if state.ended:
        body["end"] = 1
    return json.dumps(body, separators=(",", ":"), default=_json_default)


def _json_default(value: Any) -> Any:
    from ..values import json_default

    return json_default(value)


def is_current_format(text: str) -> bool:
    return text.startswith('{"v":2')


def decode(text: str) -> InstanceState:
    body = json.loads(text)
    if body.get("v") != FORMAT:
        raise ValueError("not a current-format instance state")
    state = InstanceState(seq=body["seq"], ended=bool(body.get("end")))
    for sid, parent, kind, node, variables, owner, data in body["s"]:
        state.scopes[sid] = Scope(sid, parent, ScopeKind(kind), node, variables, owner, data or {})
    for tid, node, scope, tstate, local_scope, child, data in body["t"]:
        state.tokens[tid] = Token(tid, node, scope, TokenState(tstate), local_scope, child,
                                  data or {})
    return state
