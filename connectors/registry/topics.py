"""Handlers for the registry topics (see :mod:`connectors.jobs.topics` for the variables).

``model.get-snapshot``, ``monitors.add-missing``, ``runtime.match``, ``model.deploy``,
``model.update-expiration`` and ``model.copy-schedules``: bookkeeping on the registry that
the MLC processes call between jobs.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from engine.errors import BpmnError, NotFoundError, ValidationError
from engine.handlers import TaskContext

from ._artifacts import ArtifactRefused
from ._interface import ModelRegistry
from ._records import SnapshotRecord

KNOWN_TAGS = ("train", "run_test", "jira", "servicenow")
COMMON_MONITORS = ("Data Drift Monitor: Comprehensive Analysis",
                   "Concept Drift Monitor: Comprehensive Analysis",
                   "Stability Monitor: PSI/CSI")
MONITORS_BY_METHODOLOGY = {
    "regression": ("Performance Monitor: Regression",) + COMMON_MONITORS,
    "classification": ("Performance Monitor: Classification",) + COMMON_MONITORS,
}


def _tag_flag(tag: str) -> str:
    return "TAG_" + "".join(c if c.isalnum() else "_" for c in tag).upper()


def snapshot_for(registry: ModelRegistry, ctx: TaskContext) -> SnapshotRecord:
    """SNAPSHOT_ID's snapshot, else MODEL_ID's current one (see :func:`current_snapshot`);
    unknown ids raise a BpmnError."""
    return _chosen_snapshot(registry, ctx)[0]


def current_snapshot(registry: ModelRegistry, model_id: str) -> tuple[SnapshotRecord, str]:
    """The snapshot a model runs as: its latest deployed one, or, when none is deployed, its
    newest. Returns it with how it was chosen (``deployed`` or ``newest, none deployed``).

    A back test asked for by model must test what runs, not a snapshot nobody approved yet.
    """
    model = registry.get_model(model_id)
    deployed = registry.list_deployments(model_id=model.id, state="deployed")  # newest first
    if deployed:
        return registry.get_snapshot(deployed[0].snapshot_id), "deployed"
    snapshots = registry.list_snapshots(model.id)
    if not snapshots:
        raise NotFoundError(f"model {model_id!r} has no snapshot")
    return snapshots[-1], "newest, none deployed"


def _chosen_snapshot(registry: ModelRegistry, ctx: TaskContext) -> tuple[SnapshotRecord, str]:
    try:
        snapshot_id = ctx.get("SNAPSHOT_ID")
        if snapshot_id:
            return registry.get_snapshot(str(snapshot_id)), "SNAPSHOT_ID"
        model_id = ctx.get("MODEL_ID")
        if model_id:
            return current_snapshot(registry, str(model_id))
    except NotFoundError as exc:
        raise BpmnError("SNAPSHOT_NOT_FOUND", exc.message) from exc
    raise BpmnError("MISSING_VARIABLE", f"{ctx.topic} needs SNAPSHOT_ID (or MODEL_ID)")


def get_snapshot(registry: ModelRegistry, ctx: TaskContext) -> dict[str, Any]:
    snapshot, chosen_by = _chosen_snapshot(registry, ctx)
    model = registry.get_model(snapshot.model_id)
    test_data = snapshot.asset("TEST_DATA")
    out: dict[str, Any] = {
        "MODEL_ID": model.id, "MODEL_NAME": model.name, "METHODOLOGY": model.methodology,
        "MODEL_OWNER": model.owner, "SNAPSHOT_ID": snapshot.id,
        "SNAPSHOT_VERSION": snapshot.version, "SOURCE": snapshot.source,
        "TAGS": list(snapshot.tags), "STAGE": snapshot.stage,
        "SERVICE_TAG": snapshot.service_tag, "METADATA": snapshot.metadata,
        "DMN_DECISION_KEY": snapshot.dmn_decision_key, "MONITORS": list(snapshot.monitors),
        "EXPIRATION_DATE": snapshot.expiration_date.isoformat()
        if snapshot.expiration_date else None,
        "SCHEDULES": list(snapshot.schedules),
        "ASSETS": [{"role": a.role, "uri": a.uri, "format": a.format, "version": a.version}
                   for a in snapshot.assets],
        "HAS_TEST_DATA": test_data is not None,
        "TEST_DATA_FILE": test_data.uri if test_data else None,
        "CHANGES": snapshot_changes(registry, snapshot),
        "SNAPSHOT_CHOSEN_BY": chosen_by,
    }
    for tag in KNOWN_TAGS + tuple(snapshot.tags):
        out[_tag_flag(tag)] = tag in snapshot.tags
    return out


CHANGE_FIELDS = (("tags", "Tags"), ("stage", "Stage"), ("service_tag", "Service tag"),
                 ("source", "Source"), ("dmn_decision_key", "DMN decision"),
                 ("metadata", "Metadata"))


def snapshot_changes(registry: ModelRegistry, snapshot: SnapshotRecord) -> list[str]:
    """What differs from the model's previous snapshot, one readable line per change."""
    earlier = [s for s in registry.list_snapshots(snapshot.model_id)
               if s.version < snapshot.version]
    if not earlier:
        return [f"first snapshot of the model (version {snapshot.version})"]
    previous = earlier[-1]
    changes = [f"{label}: {getattr(previous, name)!r} -> {getattr(snapshot, name)!r}"
               for name, label in CHANGE_FIELDS
               if getattr(previous, name) != getattr(snapshot, name)]
    old_assets = {(a.role, a.uri) for a in previous.assets}
    changes += [f"asset {role}: {uri}" for role, uri in sorted(
        {(a.role, a.uri) for a in snapshot.assets} - old_assets)]
    return changes or [f"no change from version {previous.version} but the snapshot itself"]


def add_missing_monitors(registry: ModelRegistry, ctx: TaskContext) -> dict[str, Any]:
    """Attach REQUIRED_MONITORS (from the monitors-by-methodology DMN) or the built-in list."""
    snapshot = snapshot_for(registry, ctx)
    methodology = registry.get_model(snapshot.model_id).methodology
    required = ctx.get("REQUIRED_MONITORS") or MONITORS_BY_METHODOLOGY.get(methodology)
    if isinstance(required, str):
        required = [required]
    if not required:
        raise BpmnError("UNKNOWN_METHODOLOGY", f"no monitors defined for {methodology!r}")
    added = registry.add_monitors(snapshot.id, required)
    return {"MONITORS": list(registry.get_snapshot(snapshot.id).monitors),
            "MONITORS_ADDED": added}


def match_runtime(registry: ModelRegistry, ctx: TaskContext) -> dict[str, Any]:
    snapshot: SnapshotRecord | None = None
    stage = ctx.get("RUNTIME_STAGE") or ctx.get("STAGE")
    service_tag = ctx.get("SERVICE_TAG")
    if not stage or "SERVICE_TAG" not in ctx.variables:
        snapshot = snapshot_for(registry, ctx)
        stage = stage or snapshot.stage
        if "SERVICE_TAG" not in ctx.variables:
            service_tag = snapshot.service_tag
    try:
        runtimes = registry.match_runtimes(str(stage), service_tag)
    except ValidationError as exc:
        raise BpmnError("NO_RUNTIME", exc.message) from exc
    if not runtimes:
        raise BpmnError("NO_RUNTIME", f"no runtime of stage {stage} with service tag "
                                      f"{service_tag!r}")
    best = runtimes[0]
    return {"RUNTIME_ID": best.id, "RUNTIME_NAME": best.name,
            "RUNTIME_IDS": [r.id for r in runtimes],
            "DEPLOYMENT_MODE": "batch" if best.batch_only else "online"}


def find_deployment(registry: ModelRegistry, ctx: TaskContext) -> dict[str, Any]:
    """The newest batch deployment still ``deployed`` whose snapshot has service tag TAG
    (and stage MODEL_STAGE, when given)."""
    tag = ctx.get("TAG") or ctx.get("SERVICE_TAG")
    if not tag:
        raise BpmnError("MISSING_VARIABLE", "model.find-deployment needs TAG (a service tag)")
    stage = ctx.get("MODEL_STAGE")
    for deployment in registry.list_deployments(state="deployed"):  # newest first
        if deployment.mode != "batch":
            continue
        snapshot = registry.get_snapshot(deployment.snapshot_id)
        if snapshot.service_tag != tag or (stage and snapshot.stage != stage):
            continue
        model = registry.get_model(snapshot.model_id)
        return {"DEPLOYED_MODEL_ID": deployment.id, "SNAPSHOT_ID": snapshot.id,
                "MODEL_ID": model.id, "MODEL_NAME": model.name,
                "SNAPSHOT_VERSION": snapshot.version, "STAGE": snapshot.stage,
                "SERVICE_TAG": tag, "DEPLOYMENT_RUNTIME_ID": deployment.runtime_id,
                "ARTIFACT_ID": deployment.artifact_id}
    where = f"service tag {tag!r}" + (f" and stage {stage}" if stage else "")
    raise BpmnError("NO_DEPLOYMENT", f"no model is deployed as batch with {where}")


def deploy(registry: ModelRegistry, ctx: TaskContext) -> dict[str, Any]:
    snapshot = snapshot_for(registry, ctx)
    runtime_id = str(ctx.require("RUNTIME_ID"))
    previous = [d for d in registry.list_deployments(model_id=snapshot.model_id,
                                                     runtime_id=runtime_id, state="deployed")
                if d.snapshot_id != snapshot.id]
    artifact_id = ctx.get("ARTIFACT_ID") or None
    try:
        if artifact_id:
            registry.get_artifact(str(artifact_id))
    except NotFoundError as exc:
        raise BpmnError("ARTIFACT_REFUSED", exc.message) from exc
    try:
        deployment = registry.deploy(snapshot.id, runtime_id,
                                     idempotency_key=ctx.idempotency_key,
                                     artifact_id=artifact_id)
    except (ArtifactRefused, ValidationError) as exc:
        raise BpmnError("ARTIFACT_REFUSED", exc.message) from exc
    except NotFoundError as exc:
        raise BpmnError("NO_RUNTIME", exc.message) from exc
    out = {"DEPLOYED_MODEL_ID": deployment.id, "DEPLOYMENT_MODE": deployment.mode,
           "RETIRED_DEPLOYMENT_IDS": [d.id for d in previous],
           "ARTIFACT_ID": deployment.artifact_id}
    if previous:
        out["PREVIOUS_SNAPSHOT_ID"] = previous[0].snapshot_id
    return out


def parse_expiration(value: Any) -> datetime:
    """An ISO date or date-time (a Jira "Expiration Date" field is a date) as UTC."""
    if isinstance(value, datetime):
        parsed = value
    elif isinstance(value, date):
        parsed = datetime.combine(value, time())
    else:
        text = str(value).strip()
        try:
            parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
        except ValueError:
            raise BpmnError("INVALID_EXPIRATION_DATE",
                            f"EXPIRATION_DATE {text!r} is not an ISO 8601 date") from None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def update_expiration(registry: ModelRegistry, ctx: TaskContext) -> dict[str, Any]:
    snapshot = snapshot_for(registry, ctx)
    raw = ctx.get("EXPIRATION_DATE")
    expiration = (parse_expiration(raw) if raw not in (None, "")
                  else datetime.now(UTC) + timedelta(days=365))
    updated = registry.set_expiration(snapshot.id, expiration)
    assert updated.expiration_date is not None
    return {"EXPIRATION_DATE": updated.expiration_date.isoformat()}


def copy_schedules(registry: ModelRegistry, ctx: TaskContext) -> dict[str, Any]:
    """Carry the previous deployment's schedules over, keeping any the snapshot already has."""
    snapshot = snapshot_for(registry, ctx)
    previous_id = ctx.get("PREVIOUS_SNAPSHOT_ID")
    if not previous_id:
        earlier = [d for d in registry.list_deployments(model_id=snapshot.model_id)
                   if d.snapshot_id != snapshot.id]
        previous_id = earlier[0].snapshot_id if earlier else None
    if not previous_id:
        return {"SCHEDULES": list(snapshot.schedules), "SCHEDULES_COPIED": 0,
                "PREVIOUS_SNAPSHOT_ID": None}
    previous = registry.get_snapshot(str(previous_id))
    merged = list(snapshot.schedules)
    copied = [s for s in previous.schedules if s not in merged]
    if copied:
        merged += copied
        registry.set_schedules(snapshot.id, merged)
    return {"SCHEDULES": merged, "SCHEDULES_COPIED": len(copied),
            "PREVIOUS_SNAPSHOT_ID": previous.id}


HANDLERS = {
    "model.get-snapshot": get_snapshot,
    "monitors.add-missing": add_missing_monitors,
    "runtime.match": match_runtime,
    "model.find-deployment": find_deployment,
    "model.deploy": deploy,
    "model.update-expiration": update_expiration,
    "model.copy-schedules": copy_schedules,
}
