"""The model registry's models and their immutable snapshots.

Creating a snapshot broadcasts the signal ``mlc.snapshot.created`` (with ``MODEL_ID`` and
``SNAPSHOT_ID``) after it commits, which is what starts the shipped MLC processes.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from flask import Blueprint, Response, jsonify
from flask.typing import ResponseReturnValue
from pydantic import Field

from connectors.jobs.formats import DataFormat
from connectors.registry import AssetRole, Methodology, Stage

from ..context import services
from ..openapi import operation
from ..schemas import Body, LongText, Name, ShortText, Uri

bp = Blueprint("models", __name__, url_prefix="/api")


class ModelCreate(Body):
    name: Name
    methodology: Methodology
    description: LongText = ""
    owner: ShortText = ""


class AssetSpec(Body):
    role: AssetRole
    uri: Uri
    format: DataFormat | None = None


class SnapshotCreate(Body):
    source: Uri = Field(description="model folder, sample:NAME or git_uri#subdir")
    tags: list[Name] = Field(default_factory=list, max_length=100,
                             description="e.g. train, run_test, jira")
    stage: Stage = "DEV"
    service_tag: Name | None = None
    metadata: dict[str, Any] = Field(default_factory=dict)
    dmn_decision_key: Name | None = None
    monitors: list[Name] = Field(default_factory=list, max_length=100)
    expiration_date: datetime | None = Field(
        default=None, description="ISO date or date-time (UTC when no offset is given)")
    schedules: list[Any] = Field(default_factory=list, max_length=100)
    assets: list[AssetSpec] = Field(default_factory=list, max_length=100)


def registry() -> Any:
    return services().registry


def _utc(value: datetime | None) -> datetime | None:
    if value is None:
        return None
    return value if value.tzinfo else value.replace(tzinfo=UTC)


@operation(bp, "/models")
def list_models() -> Response:
    """Registered models, by name."""
    return jsonify([m.to_dict() for m in registry().list_models()])


@operation(bp, "/models", "POST", body=ModelCreate,
           responses={201: "registered", 409: "a model of that name exists"})
def create_model(body: ModelCreate) -> ResponseReturnValue:
    """Register a model."""
    model = registry().register_model(body.name, body.methodology,
                                      description=body.description, owner=body.owner)
    return jsonify(model.to_dict()), 201


@operation(bp, "/models/<model_id>", responses={200: "the model", 404: "unknown"})
def get_model(model_id: str) -> Response:
    """One model, by id or name."""
    return jsonify(registry().get_model(model_id).to_dict())


@operation(bp, "/models/<model_id>/snapshots", responses={200: "oldest first", 404: "unknown"})
def list_snapshots(model_id: str) -> Response:
    """The model's snapshots, oldest version first."""
    return jsonify([s.to_dict() for s in registry().list_snapshots(model_id)])


@operation(bp, "/models/<model_id>/snapshots", "POST", body=SnapshotCreate,
           responses={201: "created; signal mlc.snapshot.created broadcast",
                      404: "unknown model"})
def create_snapshot(model_id: str, body: SnapshotCreate) -> ResponseReturnValue:
    """Create the model's next snapshot and broadcast ``mlc.snapshot.created``."""
    reg = registry()
    snapshot = reg.create_snapshot(
        reg.get_model(model_id).id, body.source, tags=body.tags, stage=body.stage,
        service_tag=body.service_tag, metadata=body.metadata,
        dmn_decision_key=body.dmn_decision_key, monitors=body.monitors,
        expiration_date=_utc(body.expiration_date), schedules=body.schedules,
        assets=[a.model_dump() for a in body.assets])
    return jsonify(snapshot.to_dict()), 201


@operation(bp, "/snapshots/<snapshot_id>", responses={200: "the snapshot", 404: "unknown"})
def get_snapshot(snapshot_id: str) -> Response:
    """A snapshot with its assets, monitors and test results."""
    return jsonify(registry().get_snapshot(snapshot_id).to_dict())
