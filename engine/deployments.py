"""Deploying BPMN and DMN files: validation, versioning, duplicate filtering, start-event
subscriptions, and the in-memory cache of parsed specs (rebuilt from the stored bytes)."""

from __future__ import annotations

import hashlib
import threading
import uuid
from dataclasses import dataclass, field
from typing import Any, Callable

from lxml import etree
from sqlalchemy import delete, select
from sqlalchemy.orm import Session
from SpiffWorkflow.bpmn.parser.ValidationException import ValidationException

from . import clock
from .bpmn.parser import build_parser, spiff_problem, validate_bpmn
from .bpmn.timers import TimerEventDefinition, cron_iterator, is_cron, parse_cycle, parse_date
from .errors import NotFoundError, Problem, ValidationError
from .persistence import DecisionDefinition, Deployment, EventSubscription, ProcessDefinition, Resource
from .xmlsafe import parse_xml

MAX_FILE_BYTES = 5 * 1024 * 1024


@dataclass
class DeploymentResult:
    id: str
    name: str
    created_at: Any
    processes: list[dict] = field(default_factory=list)
    decisions: list[dict] = field(default_factory=list)
    filtered: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.id, "name": self.name, "created_at": self.created_at.isoformat(),
                "processes": self.processes, "decisions": self.decisions, "filtered": self.filtered}


def file_kind(name: str) -> str:
    lower = name.lower()
    if lower.endswith((".bpmn", ".bpmn20.xml", ".bpmn2")):
        return "bpmn"
    if lower.endswith(".dmn") or lower.endswith(".dmn11.xml"):
        return "dmn"
    raise ValidationError(f"{name}: only .bpmn and .dmn files can be deployed",
                          [Problem("unsupported file type", file=name)])


def first_due(kind: str, value: str):
    """When a timer start event first falls due, counted from now."""
    now = clock.now()
    if kind == "date":
        return parse_date(value)
    if kind == "duration":
        parsed = TimerEventDefinition.parse_iso_duration(value)
        return now + TimerEventDefinition.get_timedelta_from_start(parsed, now)
    if is_cron(value):
        return cron_iterator(value, now).get_next()
    _cycles, start, _duration = parse_cycle(value)
    return start


def next_cycle_due(config: dict, fired_at):
    """The next due time of a timer-start cycle after one firing, or None when exhausted."""
    value = config["value"]
    if config["kind"] != "cycle":
        return None, config
    if is_cron(value):
        return cron_iterator(value, max(fired_at, clock.now())).get_next(), config
    cycles, _start, duration = parse_cycle(value)
    remaining = config.get("remaining", cycles)
    remaining = remaining - 1 if remaining > 0 else remaining
    if remaining == 0:
        return None, config
    return fired_at + duration, dict(config, remaining=remaining)


class DefinitionStore:
    """Deploys files and hands out parsed SpiffWorkflow specs for stored definitions."""

    def __init__(self, allow_scripts: bool, compile_template: Callable[[str], Any],
                 load_dmn: Callable[[bytes, str], Any] | None) -> None:
        self.allow_scripts = allow_scripts
        self._compile_template = compile_template
        self._load_dmn = load_dmn
        self._specs: dict[str, tuple] = {}
        self._decisions: dict[str, Any] = {}
        self._lock = threading.Lock()

    # -- deployment -------------------------------------------------------------------------

    def deploy(self, session: Session, files: list[tuple[str, bytes]], name: str = "",
               source: str | None = None, duplicate_filtering: bool = True,
               tenant_id: str | None = None) -> DeploymentResult:
        if not files:
            raise ValidationError("a deployment needs at least one .bpmn or .dmn file")
        problems: list[Problem] = []
        bpmn: list[tuple[str, bytes, list]] = []
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
                infos, found = validate_bpmn(root, filename, allow_scripts=self.allow_scripts,
                                             compile_template=self._compile_template)
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
            problems.extend(self._check_specs(session, bpmn))
        if problems:
            raise ValidationError("deployment refused:", problems)

        dep = Deployment(id=str(uuid.uuid4()), name=name or files[0][0], source=source,
                         tenant_id=tenant_id, created_at=clock.now())
        session.add(dep)
        result = DeploymentResult(dep.id, dep.name, dep.created_at)
        for filename, data, infos in bpmn:
            resource = self._resource(session, dep, filename, "bpmn", data)
            for info in infos:
                digest = hashlib.sha256(data + info.key.encode()).hexdigest()
                latest = self._latest(session, ProcessDefinition, info.key)
                if duplicate_filtering and latest is not None and latest.content_hash == digest:
                    result.filtered.append(info.key)
                    result.processes.append(self.describe(latest))
                    continue
                version = (latest.version + 1) if latest else 1
                definition = ProcessDefinition(
                    id=f"{info.key}:{version}:{uuid.uuid4()}", key=info.key, name=info.name,
                    version=version, deployment_id=dep.id, resource_id=resource.id,
                    content_hash=digest, created_at=dep.created_at,
                    info={"signal_starts": info.signal_starts, "message_starts": info.message_starts,
                          "timer_starts": info.timer_starts, "none_start": info.none_start,
                          "called_elements": info.called_elements, "file": filename})
                session.add(definition)
                session.flush()
                self._replace_start_subscriptions(session, definition)
                result.processes.append(self.describe(definition))
        for filename, data, model in dmn:
            resource = self._resource(session, dep, filename, "dmn", data)
            # decisions, decision services and business knowledge models can all be evaluated
            for decision_id, decision in getattr(model, "invocables", model.decisions).items():
                digest = hashlib.sha256(data + decision_id.encode()).hexdigest()
                latest = self._latest(session, DecisionDefinition, decision_id)
                if duplicate_filtering and latest is not None and latest.content_hash == digest:
                    result.filtered.append(decision_id)
                    result.decisions.append(self.describe_decision(latest))
                    continue
                version = (latest.version + 1) if latest else 1
                row = DecisionDefinition(
                    id=f"{decision_id}:{version}:{uuid.uuid4()}", key=decision_id,
                    name=getattr(decision, "name", None), version=version, deployment_id=dep.id,
                    resource_id=resource.id, content_hash=digest, created_at=dep.created_at)
                session.add(row)
                result.decisions.append(self.describe_decision(row))
        session.flush()
        return result

    def _load_dmn_with(self, data: bytes, filename: str, siblings: list[tuple[str, bytes]]):
        """Load one DMN file; one that imports other models is loaded with the DMN files
        deployed beside it (an import is resolved within its deployment)."""
        if b"import" not in data or not _imports_models(data, filename):
            return self._load_dmn(data, filename)
        from .dmn import load_dmn_files

        return load_dmn_files(siblings)[filename]

    def _resource(self, session, dep, filename, kind, data) -> Resource:
        resource = Resource(id=str(uuid.uuid4()), deployment_id=dep.id, name=filename, kind=kind,
                            content=data, content_hash=hashlib.sha256(data).hexdigest())
        session.add(resource)
        return resource

    def _check_specs(self, session: Session, bpmn) -> list[Problem]:
        """Let SpiffWorkflow build every process, resolving call activities across files."""
        problems: list[Problem] = []
        sources = [(f, d) for f, d, _ in bpmn]
        local_keys = {info.key for _, _, infos in bpmn for info in infos}
        called = {c for _, _, infos in bpmn for info in infos for c in info.called_elements}
        for key in sorted(called - local_keys):
            latest = self._latest(session, ProcessDefinition, key)
            if latest is None:
                problems.append(Problem(f"callActivity calls {key!r}, which is neither in this "
                                        "deployment nor deployed", file=bpmn[0][0]))
            else:
                sources.append((latest.info.get("file", key), session.get(Resource, latest.resource_id).content))
        if problems:
            return problems
        try:
            parser = build_parser(sources)
        except ValidationError as exc:
            return exc.problems
        for filename, _data, infos in bpmn:
            for info in infos:
                try:
                    parser.get_spec(info.key)
                    parser.get_subprocess_specs(info.key)
                except ValidationException as exc:
                    problems.append(spiff_problem(exc, filename))
        return problems

    @staticmethod
    def _latest(session: Session, model, key: str):
        return session.scalars(select(model).where(model.key == key)
                               .order_by(model.version.desc()).limit(1)).first()

    def _replace_start_subscriptions(self, session: Session, definition: ProcessDefinition) -> None:
        older = select(ProcessDefinition.id).where(ProcessDefinition.key == definition.key,
                                                   ProcessDefinition.id != definition.id)
        session.execute(delete(EventSubscription).where(
            EventSubscription.definition_id.in_(older), EventSubscription.instance_id.is_(None)))
        info = definition.info
        for name in info["signal_starts"]:
            session.add(EventSubscription(id=str(uuid.uuid4()), kind="signal-start", name=name,
                                          definition_id=definition.id))
        for name in info["message_starts"]:
            session.add(EventSubscription(id=str(uuid.uuid4()), kind="message-start", name=name,
                                          definition_id=definition.id))
        for element_id, kind, value in info["timer_starts"]:
            if "${" in value:
                continue  # an expression timer start is evaluated when an instance exists
            session.add(EventSubscription(
                id=str(uuid.uuid4()), kind="timer-start", activity_id=element_id,
                definition_id=definition.id, due_at=first_due(kind, value),
                config={"kind": kind, "value": value}))

    # -- lookups ----------------------------------------------------------------------------

    @staticmethod
    def describe(d: ProcessDefinition) -> dict[str, Any]:
        return {"id": d.id, "key": d.key, "name": d.name, "version": d.version,
                "deployment_id": d.deployment_id, "resource": d.info.get("file")}

    @staticmethod
    def describe_decision(d: DecisionDefinition) -> dict[str, Any]:
        return {"id": d.id, "key": d.key, "name": d.name, "version": d.version,
                "deployment_id": d.deployment_id}

    def latest_definition(self, session: Session, key: str) -> ProcessDefinition:
        found = self._latest(session, ProcessDefinition, key)
        if found is None:
            raise NotFoundError(f"no process definition with key {key!r} is deployed")
        return found

    def definition(self, session: Session, definition_id: str) -> ProcessDefinition:
        found = session.get(ProcessDefinition, definition_id)
        if found is None:
            raise NotFoundError(f"no process definition with id {definition_id!r}")
        return found

    def spec_by_id(self, session: Session, definition_id: str) -> tuple:
        """Like :meth:`spec_for`, reading the definition row only when the spec is not cached."""
        cached = self._specs.get(definition_id)
        if cached is not None:
            return cached
        return self.spec_for(session, self.definition(session, definition_id))

    def spec_for(self, session: Session, definition: ProcessDefinition) -> tuple:
        """(spec, subprocess_specs) for a definition, parsed once per process."""
        cached = self._specs.get(definition.id)
        if cached is not None:
            return cached
        with self._lock:
            cached = self._specs.get(definition.id)
            if cached is not None:
                return cached
            sources = [(definition.info.get("file", definition.key),
                        session.get(Resource, definition.resource_id).content)]
            seen = {definition.key}
            pending = list(definition.info.get("called_elements", []))
            while pending:
                key = pending.pop()
                if key in seen:
                    continue
                seen.add(key)
                called = self._latest(session, ProcessDefinition, key)
                if called is None:
                    continue  # defined in the same file
                if called.resource_id != definition.resource_id:
                    sources.append((called.info.get("file", key),
                                    session.get(Resource, called.resource_id).content))
                pending.extend(called.info.get("called_elements", []))
            parser = build_parser(sources)
            spec = parser.get_spec(definition.key)
            subprocess_specs = parser.get_subprocess_specs(definition.key)
            self._specs[definition.id] = (spec, subprocess_specs)
            return spec, subprocess_specs

    def decision_model(self, session: Session, key: str, version: int | None = None):
        """The loaded DMN definitions holding decision ``key`` (latest or a given version).

        ``key`` is the id of a decision, decision service or business knowledge model, or
        else its name."""
        row = None
        for column in (DecisionDefinition.key, DecisionDefinition.name):
            query = select(DecisionDefinition).where(column == key)
            if version is not None:
                query = query.where(DecisionDefinition.version == int(version))
            row = session.scalars(query.order_by(DecisionDefinition.version.desc())
                                  .limit(1)).first()
            if row is not None:
                break
        if row is None:
            suffix = f" version {version}" if version is not None else ""
            raise NotFoundError(f"no decision definition with key {key!r}{suffix} is deployed")
        model = self._decisions.get(row.id)
        if model is None:
            resource = session.get(Resource, row.resource_id)
            siblings = session.scalars(select(Resource).where(
                Resource.deployment_id == resource.deployment_id, Resource.kind == "dmn")).all()
            model = self._decisions[row.id] = self._load_dmn_with(
                resource.content, resource.name, [(r.name, r.content) for r in siblings])
        return model


def _imports_models(data: bytes, filename: str) -> bool:
    """Whether a DMN file has ``<import>`` elements (of other models)."""
    root = parse_xml(data, filename)
    return root.find(f"{{{etree.QName(root).namespace}}}import") is not None
