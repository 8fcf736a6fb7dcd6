"""Deployed models (online predictions are in :mod:`web.api.predictions`)."""

from __future__ import annotations

from typing import Any, Literal

from flask import Blueprint, Response, jsonify

from ..context import services
from ..openapi import operation
from ..schemas import Name, Query

bp = Blueprint("deployed_models", __name__, url_prefix="/api")


class DeploymentQuery(Query):
    model_id: Name | None = None
    runtime_id: Name | None = None
    snapshot_id: Name | None = None
    state: Literal["deployed", "retired"] | None = None
    mode: Literal["batch", "online"] | None = None


@operation(bp, "/deployed-models", query=DeploymentQuery)
def list_deployed_models(query: DeploymentQuery) -> Response:
    """Deployments, newest first, filtered by model, runtime, snapshot, state or mode."""
    found = services().registry.list_deployments(model_id=query.model_id,
                                                  runtime_id=query.runtime_id,
                                                  state=query.state)
    return jsonify(_named([d for d in found
                           if (query.mode is None or d.mode == query.mode)
                           and (query.snapshot_id is None or d.snapshot_id == query.snapshot_id)]))


@operation(bp, "/deployed-models/<deployment_id>", responses={200: "the deployment",
                                                              404: "unknown"})
def get_deployed_model(deployment_id: str) -> Response:
    """One deployment (by id or a unique prefix of it)."""
    return jsonify(_named([services().registry.get_deployment(deployment_id)])[0])


def _named(deployments: list[Any]) -> list[dict[str, Any]]:
    """Deployments with the model's and the runtime's names beside their ids."""
    registry = services().registry
    models = {m.id: m.name for m in registry.list_models()} if deployments else {}
    runtimes = {r.id: r.name for r in registry.list_runtimes()} if deployments else {}
    return [{**d.to_dict(), "model_name": models.get(d.model_id),
             "runtime_name": runtimes.get(d.runtime_id)} for d in deployments]
