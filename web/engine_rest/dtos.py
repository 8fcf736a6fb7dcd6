"""Camunda 7 response bodies built from the engine facade's records."""

from __future__ import annotations

from typing import Any

from flask import request

from engine import LockedTask
from engine.records import (
    DecisionDefinitionRecord,
    DeploymentResult,
    InstanceRecord,
    ProcessDefinitionRecord,
    ResourceDeploymentRecord,
)
from engine.states import ENDED

from ..camunda_types import camunda_time, variables_out
from . import PREFIX

BPMN_CATEGORY = "http://bpmn.io/schema/bpmn"


def link(path: str, rel: str = "self", method: str = "GET") -> dict[str, str]:
    return {"method": method, "href": request.host_url.rstrip("/") + PREFIX + path, "rel": rel}


def process_definition(d: ProcessDefinitionRecord) -> dict[str, Any]:
    return {"id": d.id, "key": d.key, "category": BPMN_CATEGORY, "description": None,
            "name": d.name, "version": d.version, "resource": d.resource,
            "deploymentId": d.deployment_id, "diagram": None, "suspended": False,
            "tenantId": None, "versionTag": d.version_tag, "historyTimeToLive": None,
            "startableInTasklist": True}


def decision_definition(d: DecisionDefinitionRecord) -> dict[str, Any]:
    return {"id": d.id, "key": d.key, "category": BPMN_CATEGORY, "name": d.name,
            "version": d.version, "resource": None, "deploymentId": d.deployment_id,
            "tenantId": None, "decisionRequirementsDefinitionId": None,
            "decisionRequirementsDefinitionKey": None, "historyTimeToLive": None,
            "versionTag": None}


def deployment(d: ResourceDeploymentRecord, deployed: DeploymentResult | None = None
               ) -> dict[str, Any]:
    """A deployment; with ``deployed``, also the definitions it deployed (Camunda's answer
    to a create, where the maps are null when empty)."""
    out: dict[str, Any] = {
        "links": [link(f"/deployment/{d.id}")], "id": d.id, "name": d.name,
        "source": d.source, "deploymentTime": camunda_time(d.created_at),
        "tenantId": d.tenant_id}
    if deployed is not None:
        out["deployedProcessDefinitions"] = (
            {p.id: process_definition(p) for p in deployed.processes} or None)
        out["deployedCaseDefinitions"] = None
        out["deployedDecisionDefinitions"] = (
            {x.id: decision_definition(x) for x in deployed.decisions} or None)
        out["deployedDecisionRequirementsDefinitions"] = None
    return out


def process_instance(i: InstanceRecord, *, with_variables: bool = False) -> dict[str, Any]:
    out: dict[str, Any] = {"links": [link(f"/process-instance/{i.id}")], "id": i.id,
           "definitionId": i.definition_id, "businessKey": i.business_key,
           "caseInstanceId": None, "ended": i.status in ENDED,
           "suspended": False, "tenantId": None}
    if with_variables:
        out["variables"] = variables_out(i.variables or {})
    return out


def external_task(t: LockedTask, *, definition_id: str | None = None,
                  names: list[str] | None = None, with_variables: bool = True,
                  with_properties: bool = True) -> dict[str, Any]:
    out: dict[str, Any] = {
        "activityId": t.activity_id, "activityInstanceId": f"{t.activity_id}:{t.id}",
        "errorMessage": t.error_message, "errorDetails": t.error_details,
        "executionId": t.instance_id, "id": t.id,
        "lockExpirationTime": camunda_time(t.lock_expires_at),
        "processDefinitionId": definition_id, "processDefinitionKey": t.process_key,
        "processDefinitionVersionTag": None, "processInstanceId": t.instance_id,
        "retries": t.retries, "suspended": False, "workerId": t.worker_id or None,
        "topicName": t.topic, "tenantId": None, "priority": 0,
        "businessKey": t.business_key}
    if with_variables:
        out["variables"] = variables_out(t.variables, names)
    if with_properties:
        out["extensionProperties"] = dict(t.properties or {})
    return out
