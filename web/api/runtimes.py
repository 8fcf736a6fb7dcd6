"""Runtimes that models deploy to: with endpoints they serve online, without only batch."""

from __future__ import annotations

from typing import Literal

from flask import Blueprint, jsonify
from pydantic import Field

from connectors.registry import STAGES

from ..context import service
from ..openapi import operation
from ..schemas import Body, Name, Uri

bp = Blueprint("runtimes", __name__, url_prefix="/api")


class RuntimeCreate(Body):
    name: Name
    stage: Literal[STAGES]  # type: ignore[valid-type]
    service_tags: list[Name] = Field(default_factory=list, max_length=100)
    endpoints: list[Uri] = Field(default_factory=list, max_length=100,
                                 description="none means batch only")


@operation(bp, "/runtimes")
def list_runtimes():
    """Runtimes, most recent first."""
    return jsonify([r.to_dict() for r in service("registry").list_runtimes()])


@operation(bp, "/runtimes", "POST", body=RuntimeCreate,
           responses={201: "added", 409: "a runtime of that name exists"})
def create_runtime(body: RuntimeCreate):
    """Add a runtime."""
    runtime = service("registry").add_runtime(body.name, body.stage,
                                              service_tags=body.service_tags,
                                              endpoints=body.endpoints)
    return jsonify(runtime.to_dict()), 201


@operation(bp, "/runtimes/<runtime_id>", responses={200: "the runtime", 404: "unknown"})
def get_runtime(runtime_id: str):
    """One runtime, by id or name."""
    return jsonify(service("registry").get_runtime(runtime_id).to_dict())
