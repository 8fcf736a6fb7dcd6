"""Deployments as Camunda Modeler sends and reads them.

A refused deployment answers 400 with a ``ParseException`` whose message starts with
``ENGINE-09005 Could not parse BPMN process.``: that prefix is what makes the Modeler show
its parse-error dialog with the problems instead of a generic failure.
"""

from __future__ import annotations

import logging
from typing import Any

from flask import Blueprint, Response, jsonify, request
from flask.typing import ResponseReturnValue

from engine.deployments import file_kind
from engine.errors import NotFoundError, ValidationError
from engine.records import ResourceDeploymentRecord

from ..api.deployments import form_flag, uploaded_files
from ..context import application, engine
from ..openapi import operation
from . import PREFIX, dtos
from .schemas import CAMUNDA_DEPLOY_FORM, DeploymentQuery

log = logging.getLogger("mlc.web")

bp = Blueprint("camunda_deployment", __name__, url_prefix=PREFIX)

PARSE_ERROR_PREFIX = "ENGINE-09005 Could not parse BPMN process. Errors: "


def parse_exception(exc: ValidationError) -> tuple[dict[str, Any], int]:
    """Camunda's ParseException body for a refused deployment."""
    details: dict[str, dict[str, list[dict[str, Any]]]] = {}
    lines = []
    for problem in exc.problems:
        if isinstance(problem, dict):
            message, file, line, element = (problem.get("message", ""), problem.get("file"),
                                            problem.get("line"), problem.get("element_id"))
        else:
            message, file, line, element = (problem.message, problem.file, problem.line,
                                            problem.element_id)
        text = message + (f" | resource {file}" if file else "") + (
            f" | line {line}" if line is not None else "") + (
            f" | element {element}" if element else "")
        lines.append(text)
        details.setdefault(file or "deployment", {"errors": [], "warnings": []})["errors"].append(
            {"message": message, "line": line or 0, "column": 0, "mainElementId": element,
             "elementIds": [element] if element else []})
    if not lines:
        lines.append(exc.message)
    body = {"type": "ParseException",
            "message": PARSE_ERROR_PREFIX + "".join(f"\n* {t}" for t in lines),
            "details": details}
    return body, 400


@operation(bp, "/deployment/create", "POST", multipart=CAMUNDA_DEPLOY_FORM,
           responses={200: "deployed", 400: "ParseException (ENGINE-09005)"})
def create() -> ResponseReturnValue:
    """Camunda's deployment: form fields plus each resource as a part named after its file."""
    files = uploaded_files()
    resources = []
    for name, data in files:
        try:
            file_kind(name)
        except ValidationError:
            # forms and other attachments the Modeler sends along: nothing to run here
            log.info("deployment resource %s ignored (not BPMN/DMN)", name)
            continue
        resources.append((name, data))
    if not resources:
        raise ValidationError("a deployment needs at least one .bpmn or .dmn resource")
    changed_only = form_flag("deploy-changed-only", False)
    try:
        result = engine().deploy(
            resources, name=request.form.get("deployment-name", ""),
            source=request.form.get("deployment-source") or None,
            duplicate_filtering=changed_only or form_flag("enable-duplicate-filtering", False),
            tenant_id=request.form.get("tenant-id") or None)
    except ValidationError as exc:
        if not exc.problems:
            raise
        body, status = parse_exception(exc)
        return jsonify(body), status
    stored = ResourceDeploymentRecord(result.id, result.name,
                                      request.form.get("deployment-source") or None,
                                      request.form.get("tenant-id") or None, result.created_at)
    return jsonify(dtos.deployment(stored, result))


@operation(bp, "/deployment", query=DeploymentQuery)
def list_deployments(query: DeploymentQuery) -> Response:
    """Deployments (``?maxResults=0`` is the Modeler's connection check)."""
    if query.maxResults == 0:
        return jsonify([])
    rows = application().engine.list_deployments(name=query.name, deployment_id=query.id,
                                             limit=query.maxResults, offset=query.firstResult)
    return jsonify([dtos.deployment(r) for r in rows])


@operation(bp, "/deployment/count")
def count() -> Response:
    """How many deployments exist."""
    return jsonify({"count": application().engine.count_deployments()})


@operation(bp, "/deployment/<deployment_id>")
def get_deployment(deployment_id: str) -> Response:
    """One deployment."""
    rows = application().engine.list_deployments(deployment_id=deployment_id)
    if not rows:
        raise NotFoundError(f"Deployment with id '{deployment_id}' does not exist")
    return jsonify(dtos.deployment(rows[0]))

