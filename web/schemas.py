"""Request schemas of the native ``/api``: they validate bodies and query strings and are the
source of the OpenAPI document (see :mod:`web.openapi`)."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

Variables = dict[str, Any]


class Body(BaseModel):
    """A request body: unknown fields are refused so a typo never passes silently."""

    model_config = ConfigDict(extra="forbid")


class Query(BaseModel):
    """A query string: unknown parameters are ignored, as browsers and proxies add some."""

    model_config = ConfigDict(extra="ignore")


class StartRequest(Body):
    variables: Variables = Field(default_factory=dict)
    business_key: str | None = Field(default=None, max_length=255)
    definition_id: str | None = Field(default=None, max_length=100,
                                      description="start this exact version instead of the latest")


class SignalRequest(Body):
    name: str = Field(min_length=1, max_length=255)
    variables: Variables = Field(default_factory=dict)


class MessageRequest(Body):
    name: str = Field(min_length=1, max_length=255)
    business_key: str | None = Field(default=None, max_length=255)
    correlation: dict[str, str | int | float | bool] | None = None
    variables: Variables = Field(default_factory=dict)
    all: bool = False


class TerminateRequest(Body):
    reason: str = Field(default="terminated over the API", max_length=2000)


class DecisionRequest(Body):
    variables: Variables = Field(default_factory=dict)


class DefinitionQuery(Query):
    key: str | None = None
    latest_only: bool = False


InstanceStatus = Literal["running", "waiting", "completed", "incident", "terminated"]


class InstanceQuery(Query):
    status: InstanceStatus | None = None
    outcome: str | None = Field(default=None, max_length=255,
                                description="the process's OUTCOME variable, e.g. failed")
    key: str | None = None
    business_key: str | None = None
    limit: int = Field(default=100, ge=1, le=1000)
    offset: int = Field(default=0, ge=0, le=10_000_000)


class IncidentQuery(Query):
    status: Literal["open", "resolved", "all"] = "open"


class ExternalTaskQuery(Query):
    topic: str | None = None
    instance_id: str | None = None


DEPLOYMENT_FORM = {
    "type": "object",
    "properties": {
        "name": {"type": "string", "description": "deployment name"},
        "source": {"type": "string"},
        "duplicate_filtering": {"type": "string", "enum": ["true", "false"]},
        "files": {"type": "array", "items": {"type": "string", "format": "binary"},
                  "description": ".bpmn and .dmn files (any field name)"},
    },
    "required": ["files"],
}


# Text fields of the connector routes: bounded by their database columns, and free of NUL,
# which PostgreSQL cannot store (so a bad value is a 400 naming the field, never a 500).
NO_NUL = r"^[^\x00]*$"
Name = Annotated[str, StringConstraints(min_length=1, max_length=200, pattern=NO_NUL)]
ShortText = Annotated[str, StringConstraints(max_length=200, pattern=NO_NUL)]
LongText = Annotated[str, StringConstraints(max_length=20_000, pattern=NO_NUL)]
Uri = Annotated[str, StringConstraints(min_length=1, max_length=1000, pattern=NO_NUL)]


class ConditionRequest(Body):
    variables: Variables = Field(default_factory=dict)
    business_key: str | None = Field(default=None, max_length=255)


class VariablesRequest(Body):
    variables: Variables = Field(min_length=1)
    reason: str = Field(default="", max_length=2000)


class UserTaskQuery(Query):
    assignee: str | None = None
    candidate_group: str | None = None
    instance_id: str | None = None
    process_key: str | None = None
    limit: int = Field(default=100, ge=1, le=1000)


class ClaimRequest(Body):
    user: str | None = Field(default=None, max_length=255,
                             description="the new assignee; null unclaims")


class CompleteUserTaskRequest(Body):
    variables: Variables = Field(default_factory=dict)
    user: str | None = Field(default=None, max_length=255,
                             description="who completes it (must be the assignee, if any)")
