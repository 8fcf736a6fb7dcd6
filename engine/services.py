"""What commands share: parsed models, decisions, listeners, the cache of live instances, and
the embedded worker's claim on the tasks it will run itself."""

from __future__ import annotations

import threading
from collections import Counter, OrderedDict
from collections.abc import Callable, Mapping
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from . import clock
from .bpmn.model import ProcessModel
from .deployments import DefinitionStore
from .dmn import map_decision_result as map_result
from .hotpath import Writes, hot
from .notify import TaskAvailability, notice
from .states import ENDED, WorkState
from .values import jsonable

if TYPE_CHECKING:  # pragma: no cover
    from sqlalchemy import Connection

    from .rows import Derived
    from .unit_of_work import CachedInstance, UnitOfWork


class InstanceCache:
    """The newest committed state of recently used instances (LRU, thread-safe).

    Entries carry the version they were written at; the version-checked UPDATE of the next
    write tells when another process changed the instance meanwhile.
    """

    def __init__(self, capacity: int = 5_000) -> None:
        self.capacity = capacity
        self._entries: OrderedDict[str, CachedInstance] = OrderedDict()
        self._lock = threading.Lock()
        self.hits = self.misses = 0

    def get(self, instance_id: str) -> CachedInstance | None:
        with self._lock:
            found = self._entries.get(instance_id)
            if found is None:
                self.misses += 1
                return None
            self._entries.move_to_end(instance_id)
            self.hits += 1
            return found

    def put(self, instance_id: str, entry: CachedInstance) -> None:
        with self._lock:
            if entry.row.get("status") in ENDED:
                self._entries.pop(instance_id, None)
                return
            self._entries[instance_id] = entry
            self._entries.move_to_end(instance_id)
            while len(self._entries) > self.capacity:
                self._entries.popitem(last=False)

    def drop(self, instance_id: str) -> None:
        with self._lock:
            self._entries.pop(instance_id, None)

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()


class LocalClaims:
    """Topics an embedded worker of this process takes as soon as their tasks exist.

    A task created for such a topic is written already locked by that worker, in the same
    transaction, and handed to it after the commit: no claim transaction, and if this
    process dies the lock simply expires and any worker may take the task.
    """

    def __init__(self) -> None:
        self.worker_id: str | None = None
        self.lock_seconds = 300.0
        self.topics: frozenset[str] = frozenset()
        self.deliver: Callable[[list[dict[str, Any]]], None] | None = None
        # reserve(n) -> how many of n new tasks the worker takes (held until delivered or
        # released: a poll between the commit and the delivery sees the room as taken)
        self.reserve: Callable[[int], int] = lambda n: 0
        self.release: Callable[[int], None] = lambda n: None
        self.overflow: Callable[[], None] = lambda: None  # local tasks left for the poll


class EngineServices:
    """The engine's shared collaborators, as the unit of work and the runner need them."""

    def __init__(self, definitions: DefinitionStore, *, allow_scripts: bool,
                 delegates: Callable[[str], Callable[..., Any] | None]) -> None:
        self.definitions = definitions
        self.allow_scripts = allow_scripts
        self.delegates = delegates
        self.cache = InstanceCache()
        self.claims = LocalClaims()
        self.availability: TaskAvailability | None = None  # long polls of this database
        self.on_jobs_created: list[Callable[[], None]] = []
        self.node_id: str | None = None  # stamped on history this process writes

    def model(self, definition_id: str, conn: Connection) -> ProcessModel:
        return self.definitions.model(conn, definition_id)

    def runner_services(self, conn: Connection) -> _BoundServices:
        return _BoundServices(self, conn)

    def decide(self, conn: Connection, ref: str, variables: Mapping[str, Any], *,
               binding: str = "latest", version: Any = None,
               map_decision_result: str = "resultList", element_id: str | None = None,
               caller_definition_id: str | None = None) -> Any:
        model = self.definitions.bound_decision_model(conn, ref, binding, version,
                                                      caller_definition_id)
        result = model.evaluate(ref, dict(variables))
        return jsonable(map_result(result, map_decision_result))

    def claim_new_external(self, uow: UnitOfWork, derived: Derived, new_ids: list[str],
                           out: Writes) -> None:
        """External tasks about to be inserted: the embedded worker's share is inserted
        already locked by it (no claim transaction) and handed to it after the commit;
        long polls here and in other processes are told about the rest."""
        claims = self.claims
        mine: list[dict[str, Any]] = []
        if claims.deliver is not None and claims.worker_id is not None:
            local = [derived.external[i] for i in new_ids
                     if derived.external[i]["topic"] in claims.topics]
            mine = local[:claims.reserve(len(local))] if local else []
            if mine:
                release, count = claims.release, len(mine)
                uow.on_rollback(lambda: release(count))
            if len(mine) < len(local):
                uow.on_commit(claims.overflow)
            if mine:
                expires = clock.now() + timedelta(seconds=claims.lock_seconds)
                for row in mine:
                    row.update(state=WorkState.LOCKED, lock_owner=claims.worker_id,
                               lock_expires_at=expires, attempts=1)
                handed = [dict(row) for row in mine]
                deliver = claims.deliver
                uow.on_commit(lambda: deliver(handed))
        taken = {row["id"] for row in mine}
        left = Counter(derived.external[i]["topic"] for i in new_ids if i not in taken)
        if left and self.availability is not None:
            if uow.dialect == "postgresql" and (payload := notice(left)) is not None:
                hot(uow.dialect).notify_tasks(out, payload)
            availability = self.availability
            uow.on_commit(lambda: availability.publish(left))


class _BoundServices:
    """:class:`~engine.bpmn.runner.RunnerServices` over one connection."""

    def __init__(self, services: EngineServices, conn: Connection) -> None:
        self._services = services
        self._conn = conn
        self.allow_scripts = services.allow_scripts

    def model(self, definition_id: str) -> ProcessModel:
        return self._services.definitions.model(self._conn, definition_id)

    def called(self, key: str, binding: str, version: Any,
               caller_definition_id: str) -> tuple[str, ProcessModel]:
        return self._services.definitions.called(self._conn, key, binding, version,
                                                 caller_definition_id)

    def decide(self, ref: str, variables: Mapping[str, Any], **kwargs: Any) -> Any:
        return self._services.decide(self._conn, ref, variables, **kwargs)

    def delegate(self, name: str) -> Callable[..., Any] | None:
        return self._services.delegates(name)
