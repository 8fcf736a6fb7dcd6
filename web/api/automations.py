"""Automations over REST: the same operations as ``mlc automations``.

Registration over REST takes the declaration as JSON (the stored form, ``__kind__``-tagged,
as ``GET /api/automations/{name}?raw=1`` would not show credentials, so clients send their
own); files of Python declarations are registered with the CLI, which imports them.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from flask import Blueprint, Response, jsonify
from pydantic import BaseModel, Field

from ..context import services
from ..openapi import operation

if TYPE_CHECKING:
    from connectors.automations import AutomationService

bp = Blueprint("automations", __name__, url_prefix="/api")


class AutomationQuery(BaseModel):
    model_id: str | None = Field(None, description="only this model's automations")


class AutomationBody(BaseModel):
    """An automation declaration in its stored JSON form (see README, Automations)."""

    name: str = Field(min_length=1, max_length=100)
    model_id: str = Field(min_length=1, max_length=200)
    description: str = ""
    trigger: dict[str, Any]
    action: dict[str, Any]
    on_success: dict[str, Any] | None = None
    on_error: dict[str, Any] | None = None


class RunBody(BaseModel):
    variables: dict[str, Any] = Field(default_factory=dict)


def _service() -> AutomationService:
    return services().automations


@operation(bp, "/automations", query=AutomationQuery)
def list_automations(query: AutomationQuery) -> Response:
    """Automations with status, schedule and metric trigger state."""
    return jsonify(_service().list(query.model_id))


@operation(bp, "/automations", "POST", body=AutomationBody,
           responses={200: "registered (created, updated or unchanged)", 400: "invalid",
                      409: "name used by another model"})
def register_automation(body: AutomationBody) -> Response:
    """Register or update one automation from its JSON declaration."""
    from connectors.automations import Automation, DeclarationError

    try:
        automation = Automation.from_dict(body.model_dump())
    except (TypeError, ValueError, AttributeError, KeyError) as exc:
        raise DeclarationError(f"invalid automation: {exc}") from None
    return jsonify(_service().register(automation, source_file="api").to_dict())


@operation(bp, "/automations/<name>", responses={200: "the automation", 404: "unknown"})
def get_automation(name: str) -> Response:
    """One automation (credentials hidden) with its latest runs."""
    return jsonify(_service().get(name))


@operation(bp, "/automations/<name>/runs", responses={200: "runs", 404: "unknown"})
def automation_runs(name: str) -> Response:
    """The automation's runs, newest first, with their builds."""
    return jsonify(_service().runs(name, limit=50))


@operation(bp, "/automations/<name>/pause", "POST", responses={200: "paused", 404: "unknown"})
def pause_automation(name: str) -> Response:
    """Stop scheduling / polling the automation."""
    return jsonify(_service().pause(name))


@operation(bp, "/automations/<name>/resume", "POST", responses={200: "active", 404: "unknown"})
def resume_automation(name: str) -> Response:
    """Schedule / poll the automation again."""
    return jsonify(_service().resume(name))


@operation(bp, "/automations/<name>/run-now", "POST", body=RunBody,
           responses={200: "the started run (process instance)", 404: "unknown"})
def run_automation_now(name: str, body: RunBody) -> Response:
    """Start a run at once."""
    return jsonify(_service().run_now(name, body.variables))


@operation(bp, "/automations/<name>", "DELETE", responses={200: "deleted", 404: "unknown"})
def delete_automation(name: str) -> Response:
    """Remove the automation; its runs stay in history."""
    return jsonify(_service().delete(name))


@operation(bp, "/automation-builds/<build_id>", responses={200: "the build", 404: "unknown"})
def get_build(build_id: str) -> Response:
    """One build: status, commit, metrics, deployment, reason and log tail."""
    return jsonify(_service().build(build_id))
