"""Runtimes that models deploy to: with endpoints they serve online, without only batch.

A runtime's ``engine`` says where its jobs run: ``local`` (the worker node's process pool) or
``dask`` (one Dask task per input file on the cluster whose scheduler it names).
"""

from __future__ import annotations

from flask import Blueprint, Response, jsonify
from flask.typing import ResponseReturnValue
from pydantic import Field

from connectors.registry import RuntimeEngine, Stage

from ..context import services
from ..openapi import operation
from ..schemas import Body, Name, Uri

bp = Blueprint("runtimes", __name__, url_prefix="/api")


class RuntimeCreate(Body):
    name: Name
    stage: Stage
    service_tags: list[Name] = Field(default_factory=list, max_length=100)
    endpoints: list[Uri] = Field(default_factory=list, max_length=100,
                                 description="none means batch only")
    engine: RuntimeEngine = Field(
        default="local", description="local: the node's process pool; dask: a Dask cluster")
    scheduler: Uri | None = Field(default=None, max_length=500,
                                  description="the Dask scheduler, e.g. tcp://scheduler:8786 "
                                              "(engine dask only)")


@operation(bp, "/runtimes")
def list_runtimes() -> Response:
    """Runtimes, most recent first."""
    return jsonify([r.to_dict() for r in services().registry.list_runtimes()])


@operation(bp, "/runtimes", "POST", body=RuntimeCreate,
           responses={201: "added", 400: "a bad engine / scheduler pair",
                      409: "a runtime of that name exists"})
def create_runtime(body: RuntimeCreate) -> ResponseReturnValue:
    """Add a runtime."""
    runtime = services().registry.add_runtime(body.name, body.stage,
                                               service_tags=body.service_tags,
                                               endpoints=body.endpoints, engine=body.engine,
                                               scheduler=body.scheduler)
    return jsonify(runtime.to_dict()), 201


@operation(bp, "/runtimes/<runtime_id>", responses={200: "the runtime", 404: "unknown"})
def get_runtime(runtime_id: str) -> Response:
    """One runtime, by id or name."""
    return jsonify(services().registry.get_runtime(runtime_id).to_dict())
