"""Deploying BPMN and DMN files: validation, versioning, duplicate filtering, start-event
subscriptions, and the in-memory cache of parsed models (rebuilt from the stored bytes)."""

from __future__ import annotations

import hashlib
import threading
import uuid
from collections.abc import Callable
from datetime import datetime
from typing import Any

from lxml import etree
from sqlalchemy import Connection, RowMapping, Select, delete, select
from sqlalchemy.orm import Session

from . import clock
from .bpmn.model import ProcessModel
from .bpmn.parser import load_models, parse_bpmn
from .bpmn.timers import first_due, next_schedule, schedule
from .db import table_of
from .errors import ExecutionFault, NotFoundError, Problem, ValidationError
from .persistence import (
    DecisionDefinition,
    Deployment,
    EventSubscription,
    ProcessDefinition,
    Resource,
)
from .records import DecisionDefinitionRecord, DeploymentResult, ProcessDefinitionRecord
from .statements import STATIC
from .xmlsafe import parse_xml

MAX_FILE_BYTES = 5 * 1024 * 1024
DEFINITIONS = table_of(ProcessDefinition)
DECISIONS = table_of(DecisionDefinition)
RESOURCES = table_of(Resource)
Reader = Connection | Session  # what lookups read through: a command's or a request's
CAMUNDA_DMN_NS = "http://camunda.org/schema/1.0/dmn"


def file_kind(name: str) -> str:
    lower = name.lower()
    if lower.endswith((".bpmn", ".bpmn20.xml", ".bpmn2")):
        return "bpmn"
    if lower.endswith(".dmn") or lower.endswith(".dmn11.xml"):
        return "dmn"
    raise ValidationError(f"{name}: only .bpmn and .dmn files can be deployed",
                          [Problem("unsupported file type", file=name)])


def next_cycle_due(config: dict[str, Any], fired_at: datetime
                   ) -> tuple[datetime | None, dict[str, Any]]:
    """The next due time of a timer-start cycle after one firing, or None when exhausted."""
    entry = config.get("schedule")
    if entry is None:  # a subscription written before schedules were stored
        entry = schedule(config["kind"], config["value"], fired_at)
        if entry is None:
            return None, config
        if config["kind"] == "cycle" and "remaining" in config:
            entry["left"] = config["remaining"]
        entry["due"] = fired_at.isoformat()
    following = next_schedule(entry)
    if following is None:
        return None, config
    return datetime.fromisoformat(following["due"]), dict(config, schedule=following)


class DefinitionStore:
    """Deploys files and hands out parsed models for stored definitions.

    Args:
        allow_scripts: accept script tasks and script listeners.
        load_dmn: loads DMN bytes into decision definitions.
        known_delegate: whether an in-process listener is registered under a name; a
            deployment naming one that is not is refused.
    """

    def __init__(self, allow_scripts: bool, load_dmn: Callable[[bytes, str], Any] | None,
                 known_delegate: Callable[[str], bool] | None = None) -> None:
        self.allow_scripts = allow_scripts
        self._load_dmn = load_dmn
        self._known_delegate = known_delegate or (lambda name: False)
        self._models: dict[str, ProcessModel] = {}
        self._decisions: dict[str, Any] = {}
        self._decision_tags: dict[str, str | None] = {}
        self._lock = threading.Lock()
        self._latest_by_key: dict[str, Any] = {}

    # -- deployment -------------------------------------------------------------------------

    def deploy(self, session: Session, files: list[tuple[str, bytes]], name: str = "",
               source: str | None = None, duplicate_filtering: bool = True,
               tenant_id: str | None = None) -> DeploymentResult:
        if not files:
            raise ValidationError("a deployment needs at least one .bpmn or .dmn file")
        problems: list[Problem] = []
        bpmn: list[tuple[str, bytes, list[Any]]] = []
        dmn: list[tuple[str, bytes, Any]] = []
        dmn_files = [(f, d) for f, d in files if f.lower().endswith((".dmn", ".dmn11.xml"))]
        for filename, data in files:
            kind = file_kind(filename)
            if len(data) > MAX_FILE_BYTES:
                problems.append(Problem(f"file larger than {MAX_FILE_BYTES} bytes", file=filename))
                continue
            try:
                root = parse_xml(data, filename)
            except ValidationError as exc:
                problems.extend(exc.problems)
                continue
            if kind == "bpmn":
                _models, infos, found = parse_bpmn(root, filename, allow_scripts=self.allow_scripts)
                problems.extend(found)
                bpmn.append((filename, data, infos))
            else:
                if self._load_dmn is None:
                    problems.append(Problem("DMN support is not installed", file=filename))
                    continue
                try:
                    dmn.append((filename, data, self._load_dmn_with(data, filename, dmn_files)))
                except ValidationError as exc:
                    problems.extend(exc.problems or [Problem(exc.message, file=filename)])
        if not problems and bpmn:
            problems.extend(self._check_references(session, bpmn))
        if problems:
            raise ValidationError("deployment refused:", problems)

        dep = Deployment(id=str(uuid.uuid4()), name=name or files[0][0], source=source,
                         tenant_id=tenant_id, created_at=clock.now())
        session.add(dep)
        result = DeploymentResult(dep.id, dep.name, dep.created_at, [], [], [])
        for kind, parsed in (("bpmn", bpmn), ("dmn", dmn)):
            for filename, data, content in parsed:
                resource = self._resource(session, dep, filename, kind, data)
                for table, key, fields in _definitions_in(kind, filename, content):
                    row, created = self._version(session, table, key, data, dep, resource,
                                                 duplicate_filtering, **fields)
                    if not created:
                        result.filtered.append(key)
                    elif table is ProcessDefinition:
                        session.flush()
                        self._replace_start_subscriptions(session, row)
                    if table is ProcessDefinition:
                        result.processes.append(self.describe(row))
                    else:
                        result.decisions.append(self.describe_decision(row))
        session.flush()
        return result

    def _version(self, session: Session, table: Any, key: str, data: bytes, dep: Deployment,
                 resource: Resource, duplicate_filtering: bool, **fields: Any
                 ) -> tuple[Any, bool]:
        """The next version of ``key``, and True; or, when duplicate filtering finds the
        content unchanged, the latest version and False."""
        digest = hashlib.sha256(data + key.encode()).hexdigest()
        latest = self._latest(session, table, key)
        if duplicate_filtering and latest is not None and latest.content_hash == digest:
            return latest, False
        version = (latest.version + 1) if latest else 1
        row = table(id=f"{key}:{version}:{uuid.uuid4()}", key=key, version=version,
                    deployment_id=dep.id, resource_id=resource.id, content_hash=digest,
                    created_at=dep.created_at, **fields)
        session.add(row)
        return row, True

    def _load_dmn_with(self, data: bytes, filename: str,
                       siblings: list[tuple[str, bytes]]) -> Any:
        """Load one DMN file; one that imports other models is loaded with the DMN files
        deployed beside it (an import is resolved within its deployment)."""
        if self._load_dmn is None:
            raise ValidationError("DMN support is not installed")
        if b"import" not in data or not _imports_models(data, filename):
            return self._load_dmn(data, filename)
        from .dmn import load_dmn_files

        return load_dmn_files(siblings)[filename]

    def _resource(self, session: Session, dep: Deployment, filename: str, kind: str,
                  data: bytes) -> Resource:
        resource = Resource(id=str(uuid.uuid4()), deployment_id=dep.id, name=filename, kind=kind,
                            content=data, content_hash=hashlib.sha256(data).hexdigest())
        session.add(resource)
        return resource

    def _check_references(self, session: Session,
                          bpmn: list[tuple[str, bytes, list[Any]]]) -> list[Problem]:
        """Called processes must exist; delegate listeners must be registered."""
        problems: list[Problem] = []
        local_keys = {info.key for _, _, infos in bpmn for info in infos}
        for filename, _data, infos in bpmn:
            for info in infos:
                for key in info.called_elements:
                    if key not in local_keys and self._latest(session, ProcessDefinition,
                                                              key) is None:
                        problems.append(Problem(
                            f"callActivity calls {key!r}, which is neither in this deployment "
                            "nor deployed", file=filename))
                for delegate, element_id, line in info.delegates:
                    if not self._known_delegate(delegate):
                        problems.append(Problem(
                            f"listener {delegate!r} is not registered with this engine (a "
                            "delegateExpression/class listener runs an in-process listener "
                            "registered under that name)", file=filename, line=line,
                            element_id=element_id))
        return problems

    @staticmethod
    def _latest(session: Session, model: Any, key: str) -> Any:
        return session.scalars(select(model).where(model.key == key)
                               .order_by(model.version.desc()).limit(1)).first()

    def _replace_start_subscriptions(self, session: Session, definition: ProcessDefinition) -> None:
        older = select(ProcessDefinition.id).where(ProcessDefinition.key == definition.key,
                                                   ProcessDefinition.id != definition.id)
        session.execute(delete(EventSubscription).where(
            EventSubscription.definition_id.in_(older), EventSubscription.instance_id.is_(None)))
        info = definition.info
        for kind, names in (("signal-start", info["signal_starts"]),
                            ("message-start", info["message_starts"]),
                            ("condition-start", info.get("conditional_starts", []))):
            for sub_name in names:
                session.add(EventSubscription(id=str(uuid.uuid4()), kind=kind, name=sub_name,
                                              definition_id=definition.id))
        for element_id, kind, value in info["timer_starts"]:
            if "${" in value:
                continue  # an expression timer start is evaluated when an instance exists
            entry = schedule(kind, value)
            if entry is None:
                continue
            session.add(EventSubscription(
                id=str(uuid.uuid4()), kind="timer-start", activity_id=element_id,
                definition_id=definition.id, due_at=first_due(kind, value),
                config={"kind": kind, "value": value, "schedule": entry}))

    # -- lookups ----------------------------------------------------------------------------

    @staticmethod
    def describe(d: ProcessDefinition) -> ProcessDefinitionRecord:
        info = d.info or {}
        return ProcessDefinitionRecord(d.id, d.key, d.name, d.version, d.deployment_id,
                                       info.get("file"), info.get("version_tag"))

    @staticmethod
    def describe_decision(d: DecisionDefinition) -> DecisionDefinitionRecord:
        return DecisionDefinitionRecord(d.id, d.key, d.name, d.version, d.deployment_id)

    def latest_definition(self, conn: Reader, key: str) -> RowMapping:
        """The newest definition row of ``key`` (any Session or Connection)."""
        found = conn.execute(select(DEFINITIONS).where(DEFINITIONS.c.key == key)
                             .order_by(DEFINITIONS.c.version.desc()).limit(1)
                             .execution_options(**{STATIC: True})).mappings().first()
        if found is None:
            raise NotFoundError(f"no process definition with key {key!r} is deployed")
        return found

    def cached_latest_definition(self, conn: Reader, key: str) -> RowMapping:
        """The newest definition row of ``key`` as this process last read it. Another node
        may have deployed a newer one since: the caller must check, as the start command
        does with its instance's INSERT (and then calls :meth:`forget_latest`)."""
        found = self._latest_by_key.get(key)
        if found is None:
            found = self._latest_by_key[key] = self.latest_definition(conn, key)
        return found

    def forget_latest(self, key: str | None = None) -> None:
        """Forget the cached latest definition of ``key`` (of every key: after a deploy)."""
        if key is None:
            self._latest_by_key.clear()
        else:
            self._latest_by_key.pop(key, None)

    def definition(self, conn: Reader, definition_id: str) -> RowMapping:
        found = conn.execute(select(DEFINITIONS).where(DEFINITIONS.c.id == definition_id)
                             .execution_options(**{STATIC: True})).mappings().first()
        if found is None:
            raise NotFoundError(f"no process definition with id {definition_id!r}")
        return found

    def model(self, conn: Reader, definition_id: str) -> ProcessModel:
        """The parsed model of a stored definition (parsed once per process)."""
        cached = self._models.get(definition_id)
        if cached is not None:
            return cached
        row = self.definition(conn, definition_id)
        content = conn.execute(select(RESOURCES.c.content).where(
            RESOURCES.c.id == row["resource_id"]).execution_options(**{STATIC: True})
        ).scalar_one()
        file = (row["info"] or {}).get("file", row["key"])
        with self._lock:
            cached = self._models.get(definition_id)
            if cached is None:
                models = load_models(content, file, allow_scripts=True)
                cached = self._models[definition_id] = models[row["key"]]
        return cached

    def called(self, conn: Reader, key: str, binding: str, version: Any,
               caller_definition_id: str) -> tuple[str, ProcessModel]:
        """The definition a call activity starts: latest, same deployment, a version, or the
        one with a version tag."""
        if binding == "versionTag":
            found = self._tagged(conn, key, str(version))
            return found, self.model(conn, found)
        q = select(DEFINITIONS.c.id).where(DEFINITIONS.c.key == key)
        if binding == "deployment":
            caller = self.definition(conn, caller_definition_id)
            q = q.where(DEFINITIONS.c.deployment_id == caller["deployment_id"])
        elif binding == "version":
            try:
                q = q.where(DEFINITIONS.c.version == int(version))
            except (TypeError, ValueError):
                raise NotFoundError(f"camunda:calledElementVersion {version!r} is not a "
                                    "version number") from None
        latest: str | None = conn.execute(q.order_by(DEFINITIONS.c.version.desc()).limit(1)
                                          ).scalar()
        if latest is None:
            raise NotFoundError(f"called process {key!r} ({binding} binding) is not deployed")
        return latest, self.model(conn, latest)

    def _tagged(self, conn: Reader, key: str, tag: str) -> str:
        """The one definition of ``key`` whose ``camunda:versionTag`` is ``tag``; like Camunda
        7, none or several is an error. Definitions deployed before tags were recorded in
        ``info`` are asked through their (cached) parsed model."""
        rows = conn.execute(select(DEFINITIONS.c.id, DEFINITIONS.c.info)
                            .where(DEFINITIONS.c.key == key)).all()
        found = [row.id for row in rows
                 if ((row.info or {}).get("version_tag") if "version_tag" in (row.info or {})
                     else self.model(conn, row.id).version_tag) == tag]
        one: str | None = _only_tagged(found, "process", key, tag)
        if one is None:
            raise NotFoundError(f"called process {key!r} with camunda:versionTag {tag!r} is not "
                                "deployed")
        return one

    def bound_decision_model(self, conn: Reader, key: str, binding: str, version: Any,
                             caller_definition_id: str | None) -> Any:
        """The DMN a business rule task evaluates under its ``camunda:decisionRefBinding``:
        latest, a version, the caller's deployment, or a version tag."""
        if binding == "version":
            return self.decision_model(conn, key, version)
        if binding == "deployment" and caller_definition_id is not None:
            caller = self.definition(conn, caller_definition_id)
            return self.decision_model(conn, key, deployment_id=caller["deployment_id"])
        if binding == "versionTag":
            return self.decision_model(conn, key, version_tag=str(version))
        return self.decision_model(conn, key)

    def decision_model(self, conn: Reader, key: str, version: int | None = None, *,
                       deployment_id: str | None = None, version_tag: str | None = None
                       ) -> Any:
        """The loaded DMN definitions holding decision ``key`` (latest, a given version, the
        latest of a deployment, or the one carrying ``camunda:versionTag`` ``version_tag``).

        ``key`` is the id of a decision, decision service or business knowledge model, or
        else its name (any Session or Connection)."""
        row = None
        for column in (DECISIONS.c.key, DECISIONS.c.name):
            query = select(DECISIONS).where(column == key)
            if version is not None:
                query = query.where(DECISIONS.c.version == int(version))
            if deployment_id is not None:
                query = query.where(DECISIONS.c.deployment_id == deployment_id)
            if version_tag is not None:
                row = self._tagged_decision(conn, key, version_tag, query)
            else:
                row = conn.execute(query.order_by(DECISIONS.c.version.desc()).limit(1)
                                   ).mappings().first()
            if row is not None:
                break
        if row is None:
            suffix = (f" version {version}" if version is not None else
                      " in the caller's deployment" if deployment_id is not None else
                      f" with camunda:versionTag {version_tag!r}" if version_tag is not None
                      else "")
            raise NotFoundError(f"no decision definition with key {key!r}{suffix} is deployed")
        model = self._decisions.get(row["id"])
        if model is None:
            resource = self._decision_resource(conn, row)
            siblings = conn.execute(select(RESOURCES.c.name, RESOURCES.c.content).where(
                RESOURCES.c.deployment_id == resource.deployment_id,
                RESOURCES.c.kind == "dmn")).all()
            model = self._decisions[row["id"]] = self._load_dmn_with(
                resource.content, resource.name, [(r.name, r.content) for r in siblings])
        return model

    @staticmethod
    def _decision_resource(conn: Reader, row: RowMapping) -> Any:
        return conn.execute(select(RESOURCES.c.content, RESOURCES.c.name,
                                   RESOURCES.c.deployment_id).where(
            RESOURCES.c.id == row["resource_id"])).one()

    def _tagged_decision(self, conn: Reader, key: str, tag: str, query: Select[Any]
                         ) -> RowMapping | None:
        """The one decision row of ``query`` whose element carries ``camunda:versionTag``
        ``tag`` (read from its stored DMN, once per row); several is an error, as in
        Camunda 7."""
        found: list[RowMapping] = []
        for row in conn.execute(query).mappings().all():
            if row["id"] not in self._decision_tags:
                resource = self._decision_resource(conn, row)
                self._decision_tags[row["id"]] = _dmn_version_tag(
                    resource.content, resource.name, row["key"])
            if self._decision_tags[row["id"]] == tag:
                found.append(row)
        one: RowMapping | None = _only_tagged(found, "decision", key, tag)
        return one


def _only_tagged(found: list[Any], what: str, key: str, tag: str) -> Any:
    """The single definition carrying a version tag, None for none; Camunda 7 refuses to
    choose among several, and so does this engine."""
    if len(found) > 1:
        raise ExecutionFault(f"{len(found)} deployed versions of {what} {key!r} carry "
                             f"camunda:versionTag {tag!r}; a versionTag binding needs exactly "
                             "one (as in Camunda 7)")
    return found[0] if found else None


def _dmn_version_tag(data: bytes, filename: str, element_id: str) -> str | None:
    """The ``camunda:versionTag`` of the DMN element ``element_id`` (a decision)."""
    for element in parse_xml(data, filename).iter():
        if isinstance(element.tag, str) and element.get("id") == element_id:
            tag: str | None = element.get(f"{{{CAMUNDA_DMN_NS}}}versionTag")
            return tag
    return None


def _imports_models(data: bytes, filename: str) -> bool:
    """Whether a DMN file has ``<import>`` elements (of other models)."""
    root = parse_xml(data, filename)
    return root.find(f"{{{etree.QName(root).namespace}}}import") is not None


def _definitions_in(kind: str, filename: str, content: Any
                    ) -> list[tuple[type[ProcessDefinition] | type[DecisionDefinition], str,
                                    dict[str, Any]]]:
    """What one parsed file versions: (table, key, columns) for each process of a BPMN file;
    for a DMN file each decision, decision service and business knowledge model (all can be
    evaluated)."""
    if kind == "bpmn":
        return [(ProcessDefinition, info.key, {"name": info.name, "info": {
            "signal_starts": info.signal_starts, "message_starts": info.message_starts,
            "timer_starts": info.timer_starts, "conditional_starts": info.conditional_starts,
            "none_start": info.none_start, "called_elements": info.called_elements,
            "file": filename, "version_tag": info.version_tag}}) for info in content]
    invocables = getattr(content, "invocables", content.decisions)
    return [(DecisionDefinition, key, {"name": getattr(decision, "name", None)})
            for key, decision in invocables.items()]
