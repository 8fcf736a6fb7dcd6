"""Process definitions and instances, Camunda style: start by id or key, query instances,
read variables in Camunda's typed form."""

from __future__ import annotations

import json
from typing import Any, TypeVar

from flask import Blueprint, Response, jsonify

from engine.errors import NotFoundError
from engine.records import InstanceRecord, ProcessDefinitionRecord
from engine.states import ENDED

from ..camunda_types import to_typed
from ..context import engine, idempotency_key
from ..openapi import operation
from . import PREFIX, dtos
from .schemas import DefinitionQuery, InstanceQuery, StartBody, VariableQuery, plain

bp = Blueprint("camunda_process", __name__, url_prefix=PREFIX)

T = TypeVar("T")

MAX_SCAN = 100_000  # the facade filters one status at a time; Camunda lists all running ones


def _page(rows: list[T], first: int, maximum: int | None) -> list[T]:
    return rows[first:] if maximum is None else rows[first:first + maximum]


@operation(bp, "/process-definition", query=DefinitionQuery)
def list_definitions(query: DefinitionQuery) -> Response:
    """Process definitions, optionally of one key / the latest versions only."""
    rows = engine().list_definitions(key=query.key, latest_only=query.latestVersion)
    if query.deploymentId:
        rows = [r for r in rows if r.deployment_id == query.deploymentId]
    return jsonify([dtos.process_definition(r) for r in _page(rows, query.firstResult,
                                                              query.maxResults)])


def _definition_by_id(definition_id: str) -> ProcessDefinitionRecord:
    key = definition_id.split(":", 1)[0]
    for row in engine().list_definitions(key=key):
        if row.id == definition_id:
            return row
    raise NotFoundError(f"No matching definition with id {definition_id}")


def _latest(key: str) -> ProcessDefinitionRecord:
    rows = engine().list_definitions(key=key, latest_only=True)
    if not rows:
        raise NotFoundError(f"No matching process definition with key: {key} and no tenant-id")
    return rows[0]


@operation(bp, "/process-definition/<definition_id>")
def get_definition(definition_id: str) -> Response:
    """One process definition by id."""
    return jsonify(dtos.process_definition(_definition_by_id(definition_id)))


@operation(bp, "/process-definition/key/<key>")
def get_definition_by_key(key: str) -> Response:
    """The latest process definition of a key."""
    return jsonify(dtos.process_definition(_latest(key)))


def _start(body: StartBody, key: str) -> Response:
    variables = plain(body.variables)
    instance = engine().start(key, variables, body.businessKey, idempotency_key=idempotency_key())
    return _started(body, instance)


def _started(body: StartBody, instance: InstanceRecord) -> Response:
    return jsonify(dtos.process_instance(instance, with_variables=body.withVariablesInReturn))


@operation(bp, "/process-definition/<definition_id>/start", "POST", body=StartBody,
           responses={200: "the started instance", 404: "unknown definition"})
def start_by_id(definition_id: str, body: StartBody) -> Response:
    """Start an instance of one exact definition version (what the Modeler calls)."""
    variables = plain(body.variables)
    definition = _definition_by_id(definition_id)
    instance = engine().start(definition.key, variables, body.businessKey,
                              definition_id=definition_id, idempotency_key=idempotency_key())
    return _started(body, instance)


@operation(bp, "/process-definition/key/<key>/start", "POST", body=StartBody,
           responses={200: "the started instance", 404: "unknown key"})
def start_by_key(key: str, body: StartBody) -> Response:
    """Start an instance of the latest version of ``key``."""
    return _start(body, key)


@operation(bp, "/process-definition/key/<key>/tenant-id/<tenant_id>/start", "POST",
           body=StartBody)
def start_by_key_and_tenant(key: str, tenant_id: str, body: StartBody) -> Response:
    """Start by key; this engine has one tenant space, so the tenant id is not a filter."""
    return _start(body, key)


def _instances(query: InstanceQuery) -> list[InstanceRecord]:
    rows = engine().list_instances(key=query.processDefinitionKey,
                                   business_key=query.businessKey, limit=MAX_SCAN, offset=0)
    rows = [r for r in rows if r.status not in ENDED]  # Camunda lists running instances
    if query.processDefinitionId:
        rows = [r for r in rows if r.definition_id == query.processDefinitionId]
    return rows


@operation(bp, "/process-instance", query=InstanceQuery)
def list_instances(query: InstanceQuery) -> Response:
    """Running process instances, filtered like Camunda's query."""
    rows = _page(_instances(query), query.firstResult, query.maxResults)
    return jsonify([dtos.process_instance(r) for r in rows])


@operation(bp, "/process-instance/count", query=InstanceQuery)
def count_instances(query: InstanceQuery) -> Response:
    """How many running instances match."""
    return jsonify({"count": len(_instances(query))})


@operation(bp, "/process-instance/<instance_id>")
def get_instance(instance_id: str) -> Response:
    """One process instance."""
    return jsonify(dtos.process_instance(engine().get_instance(instance_id)))


@operation(bp, "/process-instance/<instance_id>", "DELETE", responses={204: "terminated"})
def delete_instance(instance_id: str) -> Response:
    """Cancel a running instance (Camunda's delete; the history stays)."""
    engine().terminate(instance_id, "deleted over /engine-rest")
    return Response(status=204)


@operation(bp, "/process-instance/<instance_id>/variables", query=VariableQuery)
def variables(instance_id: str, query: VariableQuery) -> Response:
    """Every variable of an instance, typed."""
    values = engine().get_instance(instance_id).variables or {}
    return jsonify({k: to_typed(v) for k, v in values.items()})


def _variable(instance_id: str, name: str) -> Any:
    values = engine().get_instance(instance_id).variables or {}
    if name not in values:
        raise NotFoundError(f"process variable with name {name} does not exist")
    return values[name]


@operation(bp, "/process-instance/<instance_id>/variables/<name>", query=VariableQuery)
def variable(instance_id: str, name: str, query: VariableQuery) -> Response:
    """One variable of an instance, typed."""
    return jsonify(to_typed(_variable(instance_id, name)))


@operation(bp, "/process-instance/<instance_id>/variables/<name>/data")
def variable_data(instance_id: str, name: str) -> Response:
    """A variable's raw value: text as UTF-8, anything else as JSON."""
    value = _variable(instance_id, name)
    data = value.encode() if isinstance(value, str) else json.dumps(value).encode()
    return Response(data, mimetype="application/octet-stream")
