"""Camunda 7 request bodies and query strings. Unknown fields are ignored, as clients send
options this engine has no use for (``tenantId``, ``sorting``, ``deserializeValues`` ...)."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from ..camunda_types import variables_in


class Camunda(BaseModel):
    model_config = ConfigDict(extra="ignore", populate_by_name=True)


class TypedValue(Camunda):
    """``{"value": 1, "type": "Integer", "valueInfo": {}}``; ``type`` may be omitted."""

    value: Any = None
    type: str | None = None
    valueInfo: dict[str, Any] | None = None


TypedVariables = dict[str, TypedValue]


def plain(variables: TypedVariables | None, what: str = "variables") -> dict[str, Any]:
    """Plain engine variables from validated typed ones (400 for unsupported types)."""
    if variables is None:
        return {}
    return variables_in({k: v.model_dump(exclude_none=True) for k, v in variables.items()}, what)


class StartBody(Camunda):
    variables: TypedVariables | None = None
    businessKey: str | None = Field(default=None, max_length=255)
    withVariablesInReturn: bool = False


class SignalBody(Camunda):
    name: str = Field(min_length=1, max_length=255)
    variables: TypedVariables | None = None
    executionId: str | None = None
    tenantId: str | None = None
    withoutTenantId: bool | None = None


class MessageBody(Camunda):
    messageName: str = Field(min_length=1, max_length=255)
    businessKey: str | None = Field(default=None, max_length=255)
    correlationKeys: TypedVariables | None = None
    localCorrelationKeys: TypedVariables | None = None
    processInstanceId: str | None = None
    processVariables: TypedVariables | None = None
    processVariablesLocal: TypedVariables | None = None
    all: bool = False
    resultEnabled: bool = False
    variablesInResultEnabled: bool = False
    tenantId: str | None = None
    withoutTenantId: bool | None = None


class ConditionBody(Camunda):
    variables: TypedVariables | None = None
    businessKey: str | None = Field(default=None, max_length=255)
    processDefinitionId: str | None = None
    tenantId: str | None = None


class TaskQuery(Camunda):
    assignee: str | None = None
    candidateGroup: str | None = None
    processInstanceId: str | None = None
    processDefinitionKey: str | None = None
    maxResults: int = Field(default=100, ge=1, le=1000)


class ClaimBody(Camunda):
    userId: str = Field(min_length=1, max_length=255)


class CompleteTaskBody(Camunda):
    variables: TypedVariables | None = None
    withVariablesInReturn: bool = False


class FetchTopic(Camunda):
    topicName: str = Field(min_length=1, max_length=255)
    lockDuration: int = Field(gt=0, le=2 ** 31 - 1, description="milliseconds")
    variables: list[str] | None = None
    localVariables: bool = False
    businessKey: str | None = None
    processVariables: dict[str, Any] | None = None
    includeExtensionProperties: bool = False
    deserializeValues: bool = False


class FetchAndLockBody(Camunda):
    workerId: str = Field(min_length=1, max_length=255)
    maxTasks: int = Field(default=1, ge=0, le=1000)
    usePriority: bool = False
    asyncResponseTimeout: int | None = Field(default=None, ge=0, le=1_800_000,
                                             description="long polling, milliseconds")
    topics: list[FetchTopic] = Field(default_factory=list)


class CompleteBody(Camunda):
    workerId: str = Field(min_length=1, max_length=255)
    variables: TypedVariables | None = None
    localVariables: TypedVariables | None = None


class FailureBody(Camunda):
    workerId: str = Field(min_length=1, max_length=255)
    errorMessage: str | None = Field(default=None, max_length=100_000)
    errorDetails: str | None = Field(default=None, max_length=1_000_000)
    retries: int | None = Field(default=None, ge=0, le=1_000_000)
    retryTimeout: int | None = Field(default=None, ge=0, le=10 ** 12, description="milliseconds")


class BpmnErrorBody(Camunda):
    workerId: str = Field(min_length=1, max_length=255)
    errorCode: str = Field(min_length=1, max_length=255)
    errorMessage: str | None = Field(default=None, max_length=100_000)
    variables: TypedVariables | None = None


class ExtendLockBody(Camunda):
    workerId: str = Field(min_length=1, max_length=255)
    newDuration: int = Field(gt=0, le=2 ** 31 - 1, description="milliseconds")


class Paging(Camunda):
    firstResult: int = Field(default=0, ge=0, le=10_000_000)
    maxResults: int | None = Field(default=None, ge=0, le=10_000)


class DeploymentQuery(Paging):
    id: str | None = None
    name: str | None = None


class DefinitionQuery(Paging):
    key: str | None = None
    latestVersion: bool = False
    deploymentId: str | None = None


class InstanceQuery(Paging):
    processDefinitionKey: str | None = None
    processDefinitionId: str | None = None
    businessKey: str | None = None
    active: bool | None = None


class ExternalTaskQuery(Paging):
    topicName: str | None = None
    processInstanceId: str | None = None
    workerId: str | None = None
    locked: bool | None = None
    notLocked: bool | None = None


class VariableQuery(Camunda):
    deserializeValues: bool = True


CAMUNDA_DEPLOY_FORM = {
    "type": "object",
    "properties": {
        "deployment-name": {"type": "string"},
        "deployment-source": {"type": "string"},
        "enable-duplicate-filtering": {"type": "string", "enum": ["true", "false"]},
        "deploy-changed-only": {"type": "string", "enum": ["true", "false"]},
        "tenant-id": {"type": "string"},
        "data": {"type": "string", "format": "binary",
                 "description": "each resource as its own part, named after the file"},
    },
}
