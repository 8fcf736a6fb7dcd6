"""Everything the cockpit shows or does, gathered in one place.

Views never call the engine or a connector themselves: they ask this module, which talks to
the engine facade (``Engine``, ``ExternalTaskService``), the read queries of
``engine.inspection`` and the connectors' services, and hands back plain dicts and lists for
the templates. When the facade's return types change (dicts today, typed records later), this
is the one module to adapt.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from engine import Database, LockedTask, inspection
from engine.errors import ConflictError, NotFoundError, ValidationError
from engine.records import (
    DeploymentResult,
    IncidentRecord,
    InstanceRecord,
    ProcessDefinitionRecord,
    SignalResult,
)
from engine.values import jsonable
from engine.xmlsafe import parse_xml

from ..camunda_types import to_typed
from ..context import engine, services, tasks, wired_services

if TYPE_CHECKING:
    from connectors.registry import SqlModelRegistry

DMN_NS = {"dmn": "https://www.omg.org/spec/DMN/20191111/MODEL/"}
RECENT = 8
THROUGHPUT_HOURS = 24


def _db() -> Database:
    return engine().db


def _iso(value: Any) -> str | None:
    return value.isoformat() if isinstance(value, datetime) else value


# -- dashboard ------------------------------------------------------------------------------

def dashboard() -> dict[str, Any]:
    counts = engine().counts()
    by_process = inspection.instances_by_key_and_status(_db())
    since = datetime.now(UTC).replace(minute=0, second=0, microsecond=0) \
        - timedelta(hours=THROUGHPUT_HOURS - 1)
    buckets = inspection.throughput_by_hour(_db(), since)
    hours = [(since + timedelta(hours=i)).strftime("%Y-%m-%dT%H") for i in range(THROUGHPUT_HOURS)]
    wired = wired_services()
    jobs, feed = wired.jobs, wired.notifications
    return {
        "instances": counts.get("instances", {}),
        "incident_count": counts.get("incidents", {}).get("open", 0),
        "by_process": sorted(by_process.items()),
        "incidents": engine().incidents("open")[-RECENT:][::-1],
        "tickets": open_tickets(limit=RECENT),
        "jobs": [j.to_dict() for j in jobs.list(limit=RECENT)] if jobs else [],
        "notifications": [n.to_dict() for n in feed.list(limit=RECENT)] if feed else [],
        "throughput": {"hours": [h[11:] + ":00" for h in hours],
                       "started": [buckets.get(h, {}).get("started", 0) for h in hours],
                       "completed": [buckets.get(h, {}).get("completed", 0) for h in hours]},
        "recent": instances(limit=RECENT)["instances"],
    }


# -- processes ------------------------------------------------------------------------------

def definitions() -> list[dict[str, Any]]:
    """One entry per process key: its versions (newest first) and instances by status."""
    counts = inspection.instances_by_key_and_status(_db())
    by_key: dict[str, dict[str, Any]] = {}
    for d in engine().list_definitions():
        entry = by_key.setdefault(d.key, {"key": d.key, "versions": []})
        entry["versions"].insert(0, d)
    for entry in by_key.values():
        entry["latest"] = entry["versions"][0]
        entry["instances"] = counts.get(entry["key"], {})
    return sorted(by_key.values(), key=lambda e: e["key"])


def definition(key: str, version: int | None = None) -> dict[str, Any]:
    versions = engine().list_definitions(key=key)
    if not versions:
        raise NotFoundError(f"no process definition with key {key!r} is deployed")
    chosen = versions[-1] if version is None else next(
        (d for d in versions if d.version == version), None)
    if chosen is None:
        raise NotFoundError(f"process {key!r} has no version {version}")
    db = _db()
    return {"definition": chosen, "versions": versions[::-1],
            "waiting": inspection.waiting_by_activity(db, chosen.id),
            "incidents": inspection.open_incidents_by_activity(db, chosen.id),
            "recent": instances(key=key, limit=20)["instances"]}


def heat(definition_id: str) -> dict[str, int]:
    """Times each activity completed over the whole history of one version: read only when
    the heat map is asked for, as it reads every history entry of the version's instances."""
    inspection.definition_resource(_db(), definition_id)  # 404 for an unknown id
    return inspection.completions_by_activity(_db(), definition_id)


def definition_xml(definition_id: str) -> bytes:
    content: bytes = inspection.definition_resource(_db(), definition_id)["content"]
    return content


def latest_xml(key: str, version: int | None = None) -> dict[str, Any]:
    """The deployed file of a process (latest or given version), for the modeler."""
    chosen: ProcessDefinitionRecord = definition(key, version)["definition"]
    resource = inspection.definition_resource(_db(), chosen.id)
    return {**chosen.to_json(), "file": resource["name"], "xml": resource["content"].decode("utf-8")}


def start(key: str, variables: dict[str, Any], business_key: str | None) -> InstanceRecord:
    return engine().start(key, variables, business_key or None)


def deploy(files: list[tuple[str, bytes]], name: str = "") -> DeploymentResult:
    return engine().deploy(files, name=name, source="cockpit")


def validate(files: list[tuple[str, bytes]]) -> list[dict[str, Any]]:
    """The located problems a deployment of ``files`` would be refused with (none: it deploys)."""
    return [p.to_dict() for p in
            inspection.validate_deployment(_db(), engine().definitions, files)]


# -- instances ------------------------------------------------------------------------------

def instances(*, status: str | None = None, key: str | None = None,
              business_key: str | None = None, limit: int = 50, offset: int = 0) -> dict[str, Any]:
    page = inspection.instance_rows(_db(), status=status, key=key, business_key=business_key,
                                    limit=limit, offset=offset)
    for row in page["instances"]:
        row["created_at"], row["ended_at"] = _iso(row["created_at"]), _iso(row["ended_at"])
    return page


def instance(instance_id: str, history_limit: int = 200) -> dict[str, Any]:
    found = engine().get_instance(instance_id)
    db = _db()
    version = next((d for d in engine().list_definitions(key=found.key)
                    if d.id == found.definition_id), None)
    variables = [{"name": name, **to_typed(value)}
                 for name, value in sorted((found.variables or {}).items())]
    tickets = wired_services().tickets
    return {
        "instance": found, "definition": version, "variables": variables,
        "completed": inspection.completed_activity_ids(db, instance_id),
        "history": inspection.history_tail(db, instance_id, history_limit),
        "external_tasks": [_task(t) for t in tasks().list(instance_id=instance_id)],
        "waits": [{**w, "due_at": _iso(w["due_at"])}
                  for w in inspection.instance_subscriptions(db, instance_id)],
        "tickets": [t.to_dict() for t in tickets.store.list(instance_id=instance_id)]
        if tickets else [],
    }


def _task(task: LockedTask) -> dict[str, Any]:
    expires = task.lock_expires_at
    locked = bool(task.worker_id and expires and expires > datetime.now(UTC))
    return {"id": task.id, "topic": task.topic, "activity_id": task.activity_id,
            "locked": locked, "worker_id": task.worker_id or None,
            "lock_expires_at": _iso(expires), "retries": task.retries,
            "attempt": task.attempt, "last_error": task.error_message}


def set_variables(instance_id: str, values: dict[str, Any], reason: str) -> InstanceRecord:
    return engine().set_variables(instance_id, values, reason=reason)


def terminate(instance_id: str, reason: str) -> InstanceRecord:
    return engine().terminate(instance_id, reason)


def incidents(status: str | None = "open") -> list[IncidentRecord]:
    return engine().incidents(status)[::-1]


def retry_incident(incident_id: str) -> InstanceRecord:
    return tasks().retry_incident(incident_id)


def send_signal(name: str, variables: dict[str, Any]) -> SignalResult:
    return engine().signal(name, variables)


def send_message(name: str, business_key: str | None, correlation: dict[str, Any],
                 variables: dict[str, Any]) -> list[str]:
    return engine().correlate_message(name, business_key=business_key or None,
                                      correlation=correlation or None, variables=variables)


# -- decisions ------------------------------------------------------------------------------

def decisions() -> list[dict[str, Any]]:
    by_key: dict[str, dict[str, Any]] = {}
    for d in inspection.decision_definitions(_db()):
        by_key[d["key"]] = {**d, "created_at": _iso(d["created_at"])}
    return sorted(by_key.values(), key=lambda d: d["key"])


def decision(key: str) -> dict[str, Any]:
    resource = inspection.decision_resource(_db(), key)
    return {"id": resource["id"], "key": resource["key"], "name": resource["name"],
            "version": resource["version"], "file": resource["file"],
            "inputs": _decision_inputs(resource["content"], key)}


def decision_xml(key: str) -> bytes:
    content: bytes = inspection.decision_resource(_db(), key)["content"]
    return content


def _decision_inputs(content: bytes, key: str) -> list[dict[str, str]]:
    """The input columns of decision ``key``: what the evaluate form asks for."""
    root = parse_xml(content, f"{key}.dmn")
    ns = {"dmn": root.nsmap.get(None) or DMN_NS["dmn"]}
    out = []
    for clause in root.xpath("//dmn:decision[@id=$key]//dmn:input", namespaces=ns, key=key):
        text = clause.xpath("string(dmn:inputExpression/dmn:text)", namespaces=ns).strip()
        type_ref = clause.xpath("string(dmn:inputExpression/@typeRef)", namespaces=ns)
        out.append({"label": clause.get("label") or text, "expression": text,
                    "type": type_ref or "string"})
    return out


def evaluate(key: str, variables: dict[str, Any]) -> dict[str, Any]:
    result = engine().evaluate_decision(key, variables)
    return {"rows": jsonable(result.rows), "matched_rules": [str(r) for r in result.matched_rules],
            "errors": list(result.errors)}


# -- models ---------------------------------------------------------------------------------

def _registry() -> SqlModelRegistry:
    return services().registry


def models() -> list[dict[str, Any]]:
    registry = _registry()
    deployments = [d.to_dict() for d in registry.list_deployments(state="deployed")]
    out = []
    for m in registry.list_models():
        snapshots = registry.list_snapshots(m.id)
        out.append({**m.to_dict(), "snapshots": len(snapshots),
                    "latest": snapshots[-1].to_dict() if snapshots else None,
                    "deployed": sum(1 for d in deployments if d["model_id"] == m.id)})
    return out


def model(model_id: str) -> dict[str, Any]:
    registry = _registry()
    found = registry.get_model(model_id)
    snapshots = [s.to_dict() for s in registry.list_snapshots(found.id)]
    names = sorted({k for s in snapshots for k, v in (s["test_results"] or {}).items()
                    if isinstance(v, (int, float)) and not isinstance(v, bool)})
    history = {"versions": [f"v{s['version']}" for s in snapshots],
               "metrics": {n: [s["test_results"].get(n) for s in snapshots] for n in names}}
    runtimes = {r.id: r.name for r in registry.list_runtimes()}
    deployments = [{**d.to_dict(), "runtime": runtimes.get(d.runtime_id, d.runtime_id)}
                   for d in registry.list_deployments(model_id=found.id)]
    return {"model": found.to_dict(), "snapshots": snapshots[::-1], "history": history,
            "deployments": deployments}


def snapshot(snapshot_id: str) -> dict[str, Any]:
    registry, jobs = _registry(), wired_services().jobs
    found = registry.get_snapshot(snapshot_id).to_dict()
    results = found["test_results"] or {}
    roc = None
    if jobs and results.get("job_id"):
        try:
            roc = jobs.get(results["job_id"]).outputs.get("roc_curve")
        except NotFoundError:
            roc = None
    return {"snapshot": found, "model": registry.get_model(found["model_id"]).to_dict(),
            "metrics": {k: v for k, v in results.items()
                        if isinstance(v, (int, float)) and not isinstance(v, bool)},
            "confusion": results.get("confusion_matrix"), "roc": roc,
            "jobs": [j.to_dict() for j in jobs.list(snapshot_id=snapshot_id, limit=50)]
            if jobs else [],
            "deployments": [d.to_dict() for d in registry.list_deployments()
                            if d.snapshot_id == snapshot_id]}


def runtimes() -> dict[str, Any]:
    registry = _registry()
    runtime_names = {r.id: r.name for r in registry.list_runtimes()}
    return {"runtimes": [r.to_dict() for r in registry.list_runtimes()],
            "deployments": [{**d.to_dict(), "runtime": runtime_names.get(d.runtime_id)}
                            for d in registry.list_deployments()]}


def deployment(deployment_id: str) -> dict[str, Any]:
    registry = _registry()
    found = registry.get_deployment(deployment_id)
    snap = registry.get_snapshot(found.snapshot_id)
    features = []
    test = snap.asset("TEST_DATA")
    label = str(snap.metadata.get("label_column") or "label")
    if test is not None and test.uri.endswith(".csv"):
        features = _csv_columns(test.uri, label)
    return {"deployment": found.to_dict(), "runtime": registry.get_runtime(found.runtime_id).to_dict(),
            "model": registry.get_model(found.model_id).to_dict(), "snapshot": snap.to_dict(),
            "features": features}


def _csv_columns(uri: str, label: str) -> list[str]:
    """Feature names for the predict form, from the test data's header (best effort)."""
    try:
        with open(uri, encoding="utf-8") as handle:
            header = handle.readline()
    except OSError:
        return []
    return [c.strip() for c in header.split(",") if c.strip() and c.strip() != label]


def predict(deployment_id: str, records: list[dict[str, Any]]) -> list[Any]:
    return services().predictor.predict(deployment_id, records)


def jobs(job_type: str | None = None, state: str | None = None) -> list[dict[str, Any]]:
    return [j.to_dict() for j in services().jobs.list(job_type=job_type, state=state, limit=100)]


def job(job_id: str) -> dict[str, Any]:
    return services().jobs.get(job_id).to_dict()


# -- tickets --------------------------------------------------------------------------------

def open_tickets(limit: int = 200, system: str | None = None) -> list[dict[str, Any]]:
    parts = wired_services().tickets
    if parts is None:
        return []
    found = parts.store.list(system=system, limit=5000)
    return [t.to_dict() for t in found
            if not parts.resolver.is_terminal(t.system, t.status)][:limit]


def decided_tickets(limit: int = 50) -> list[dict[str, Any]]:
    parts = services().tickets
    found = parts.store.list(limit=5000)
    return [t.to_dict() for t in found if parts.resolver.is_terminal(t.system, t.status)][-limit:][::-1]


def ticket(key: str) -> dict[str, Any]:
    """A ticket with what a reviewer decides on: model, snapshot, test results, failures."""
    parts = services().tickets
    found = parts.store.get(key)
    out: dict[str, Any] = {"ticket": found.to_dict(), "events": parts.store.events(key, found.system),
                           "open": not parts.resolver.is_terminal(found.system, found.status),
                           "instance": None, "model": None, "snapshot": None, "metrics": {}}
    if found.instance_id:
        try:
            out["instance"] = engine().get_instance(found.instance_id)
        except NotFoundError:
            pass
    variables = out["instance"].variables if out["instance"] else {}
    registry = wired_services().registry
    if registry and variables.get("SNAPSHOT_ID"):
        try:
            out["snapshot"] = registry.get_snapshot(str(variables["SNAPSHOT_ID"])).to_dict()
            out["model"] = registry.get_model(out["snapshot"]["model_id"]).to_dict()
        except NotFoundError:
            pass
    results = variables.get("TEST_RESULTS") or (out["snapshot"] or {}).get("test_results") or {}
    if isinstance(results, dict):
        out["metrics"] = {k: v for k, v in results.items() if not isinstance(v, (dict, list))}
    out["failures"] = {k: variables[k] for k in ("FAILURE_DETAILS", "REJECTION_REASON",
                                                  "JOB_ERROR", "CHANGES", "DECISION_RESULT")
                       if variables.get(k) not in (None, "", [], {})}
    return out


def decide_ticket(key: str, status: str, fields: dict[str, Any]) -> dict[str, Any]:
    parts = services().tickets
    found = parts.store.get(key)
    if found.system != "local":
        raise ConflictError(f"ticket {key} lives in {found.system}: decide it there")
    if parts.resolver.is_terminal(found.system, found.status):
        raise ConflictError(f"ticket {key} is already decided ({found.status})")
    ticket_, resolution = parts.transition(key, status, fields)
    return {"ticket": ticket_.to_dict(), "resolution": resolution.to_dict() if resolution else None}


# -- automations and notifications ----------------------------------------------------------

def automations() -> list[dict[str, Any]]:
    found = wired_services().automations
    return found.list() if found else []


def automation(name: str) -> dict[str, Any]:
    return services().automations.get(name)


def automation_action(name: str, action: str) -> dict[str, Any] | InstanceRecord:
    automations_ = services().automations
    if action == "pause":
        return automations_.pause(name)
    if action == "resume":
        return automations_.resume(name)
    if action == "run-now":
        return automations_.run_now(name, {})
    raise ValidationError(f"unknown automation action {action!r}")


def notifications(limit: int = 100) -> list[dict[str, Any]]:
    feed = wired_services().notifications
    return [n.to_dict() for n in feed.list(limit=limit)] if feed else []
