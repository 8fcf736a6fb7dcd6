"""Response schemas of the OpenAPI document, by (method, path): what each route answers with.

Kept beside the routes rather than in their decorators so the routes stay untouched;
``tests/integration/test_openapi_responses.py`` checks that every JSON route has one and that
real answers validate against them, so the document cannot drift from what is served.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from connectors.registry import (
    ArtifactRecord,
    JobRecord,
    ModelRecord,
    RuntimeRecord,
    SnapshotRecord,
)

JSON = Any
Timestamp = str | None


class Schema(BaseModel):
    """A documented answer; servers may add fields later, so more are allowed."""

    model_config = ConfigDict(extra="allow")


# -- native /api ----------------------------------------------------------------------------

class IncidentOut(Schema):
    id: str
    instance_id: str
    activity_id: str | None
    external_task_id: str | None
    kind: str
    message: str
    status: str
    created_at: str
    resolved_at: Timestamp


class InstanceOut(Schema):
    id: str
    definition_id: str
    key: str
    business_key: str | None
    status: str
    outcome: str | None = Field(description="the process's OUTCOME variable (engine "
                                               "setting MLC_OUTCOME_VARIABLE), null until set")
    variables: dict[str, JSON]
    active_activities: list[str]
    error: str | None
    created_at: str
    ended_at: Timestamp
    incidents: list[IncidentOut]


class HistoryEntryOut(Schema):
    id: int
    at: str
    kind: str
    activity_id: str | None
    name: str | None
    data: dict[str, JSON]


class DefinitionOut(Schema):
    id: str
    key: str
    name: str | None
    version: int
    deployment_id: str
    resource: str | None


class DecisionDefinitionOut(Schema):
    id: str
    key: str
    name: str | None
    version: int
    deployment_id: str


class DeploymentOut(Schema):
    id: str
    name: str
    created_at: str
    processes: list[DefinitionOut]
    decisions: list[DecisionDefinitionOut]
    filtered: list[str]


class SignalOut(Schema):
    started: list[str]
    resumed: list[str]
    unheard: bool = Field(description="nothing started or resumed: usually a typo in the "
                                      "signal name (the server logs a warning)")


class MessageOut(Schema):
    instances: list[str]


class ExternalTaskOut(Schema):
    id: str
    topic: str
    instance_id: str
    process_key: str
    business_key: str | None
    activity_id: str
    variables: dict[str, JSON]
    properties: dict[str, str]
    idempotency_key: str
    attempt: int
    retries: int | None
    worker_id: str
    lock_expires_at: Timestamp
    error_message: str | None
    error_details: str | None


class DecisionOut(Schema):
    decision_id: str
    result: list[dict[str, JSON]]
    value: JSON
    matched_rules: list[JSON]
    errors: list[str]


class PredictionsOut(Schema):
    status: Literal["ok"]
    deployed_model_id: str
    predictions: list[JSON]


class TicketOut(Schema):
    key: str
    system: str
    ref: str  # the identity as one value, "system:key"
    status: str
    summary: str
    description: str
    kind: str
    fields: dict[str, JSON]
    idempotency_key: str | None
    instance_id: str | None
    url: str | None
    created_at: Timestamp
    updated_at: Timestamp


class TicketEventOut(Schema):
    event: str
    body: str | None
    from_status: str | None
    to_status: str | None
    fields: dict[str, JSON]
    created_at: str


class TicketWithEventsOut(TicketOut):
    events: list[TicketEventOut]


class ResolutionOut(Schema):
    outcome: str = Field(description="resolved, not_terminal, already_resolved or not_waiting")
    system: str | None
    ticket_key: str
    status: str
    instance_ids: list[str]
    message: str = Field(description="the outcome in words")


class DeployedModelOut(Schema):
    """A deployment with the model's and the runtime's names beside their ids."""

    id: str
    snapshot_id: str
    model_id: str
    model_name: str | None
    runtime_id: str
    runtime_name: str | None
    mode: str
    state: str
    deployed_at: Timestamp
    retired_at: Timestamp
    artifact_id: str | None = Field(default=None,
                                       description="the uploaded artifact it runs with")


class TransitionOut(Schema):
    ticket: TicketOut
    resolution: ResolutionOut | None


class WebhookOut(ResolutionOut):
    reason: str | None


class NotificationOut(Schema):
    id: int
    channel: str
    status: str
    title: str
    text: str
    data: dict[str, JSON]
    instance_id: str | None
    process_key: str | None
    created_at: Timestamp


class AutomationChangeOut(Schema):
    name: str
    model_id: str
    action: str
    source_file: str | None


class BuildOut(Schema):
    id: str
    status: str
    git_commit: str | None
    snapshot_id: str | None
    metrics: dict[str, JSON] | None
    deployment: JSON
    reason: str | None
    started_at: str
    finished_at: Timestamp


class AutomationRunOut(Schema):
    instance_id: str
    status: str
    started_at: str
    ended_at: Timestamp
    trigger: JSON
    outcome: JSON
    build: BuildOut | None
    incidents: list[IncidentOut]


class AutomationOut(Schema):
    name: str
    model_id: str
    status: str
    trigger_kind: str
    description: str
    process_key: str
    source_file: str | None
    created_at: str
    updated_at: str
    spec: dict[str, JSON]
    cron: str | None = None
    next_due_at: Timestamp = None
    metric_state: dict[str, JSON] | None = None


class AutomationWithRunsOut(AutomationOut):
    runs: list[AutomationRunOut]


class AutomationDeletedOut(Schema):
    name: str
    deleted: bool


class BuildDetailOut(BuildOut):
    automation: str
    model_id: str
    instance_id: str | None
    log_tail: str | None


class HealthOut(Schema):
    status: str
    database: str


# -- Camunda 7 /engine-rest and ModelOp /mlc-service ----------------------------------------

class CamundaLink(Schema):
    method: str
    href: str
    rel: str


class CamundaTypedValue(Schema):
    value: JSON
    type: str
    valueInfo: dict[str, JSON]


class CamundaProcessDefinition(Schema):
    id: str
    key: str
    name: str | None
    version: int
    resource: str | None
    deploymentId: str
    suspended: bool


class CamundaDeployment(Schema):
    links: list[CamundaLink]
    id: str
    name: str | None
    source: str | None
    deploymentTime: str | None
    tenantId: str | None


class CamundaDeploymentWithDefinitions(CamundaDeployment):
    deployedProcessDefinitions: dict[str, CamundaProcessDefinition] | None
    deployedDecisionDefinitions: dict[str, dict[str, JSON]] | None


class CamundaProcessInstance(Schema):
    links: list[CamundaLink]
    id: str
    definitionId: str
    businessKey: str | None
    ended: bool
    suspended: bool
    variables: dict[str, CamundaTypedValue] | None = None


class CamundaExternalTask(Schema):
    activityId: str
    id: str
    lockExpirationTime: str | None
    processDefinitionKey: str
    processInstanceId: str
    retries: int | None
    workerId: str | None
    topicName: str
    businessKey: str | None
    errorMessage: str | None


class CamundaLockedExternalTask(CamundaExternalTask):
    variables: dict[str, CamundaTypedValue]
    extensionProperties: dict[str, str] | None = None


class CamundaCount(Schema):
    count: int


class CamundaVersion(Schema):
    version: str


class CamundaEngine(Schema):
    name: str


class CamundaMessageResult(Schema):
    resultType: str
    execution: dict[str, JSON] | None = None
    processInstance: CamundaProcessInstance | None = None
    variables: dict[str, CamundaTypedValue] | None = None


class StartedOut(Schema):
    started: list[str]


class UserTaskOut(Schema):
    id: str
    name: str | None
    instance_id: str
    definition_id: str
    process_key: str
    business_key: str | None
    activity_id: str
    assignee: str | None
    candidate_users: list[str]
    candidate_groups: list[str]
    due_date: str | None
    follow_up_date: str | None
    priority: int
    form_key: str | None
    form: dict[str, JSON]
    created_at: str


class NodeHoldings(Schema):
    external_tasks: int
    jobs: int


class NodeOut(Schema):
    id: str
    kind: str
    host: str
    pid: int
    started_at: str
    heartbeat_at: str
    alive: bool
    topics: list[str]
    holds: NodeHoldings


class CamundaTask(Schema):
    id: str
    name: str | None
    assignee: str | None
    created: str | None
    due: str | None
    priority: int
    processDefinitionId: str
    processInstanceId: str
    taskDefinitionKey: str
    formKey: str | None


class ModelOpSignalResult(Schema):
    started: list[CamundaProcessInstance]
    resumed: list[str]


R = "/engine-rest"

RESPONSES: dict[tuple[str, str], Any] = {
    # native
    ("get", "/api/process-definitions"): list[DefinitionOut],
    ("post", "/api/process-definitions/{key}/start"): InstanceOut,
    ("post", "/api/deployments"): DeploymentOut,
    ("get", "/api/process-instances"): list[InstanceOut],
    ("get", "/api/process-instances/{instance_id}"): InstanceOut,
    ("get", "/api/process-instances/{instance_id}/history"): list[HistoryEntryOut],
    ("post", "/api/process-instances/{instance_id}/terminate"): InstanceOut,
    ("post", "/api/signals"): SignalOut,
    ("post", "/api/conditions"): StartedOut,
    ("post", "/api/process-instances/{instance_id}/variables"): InstanceOut,
    ("get", "/api/user-tasks"): list[UserTaskOut],
    ("get", "/api/user-tasks/{task_id}"): UserTaskOut,
    ("post", "/api/user-tasks/{task_id}/claim"): UserTaskOut,
    ("post", "/api/messages"): MessageOut,
    ("get", "/api/nodes"): list[NodeOut],
    ("get", "/api/incidents"): list[IncidentOut],
    ("post", "/api/incidents/{incident_id}/retry"): InstanceOut,
    ("get", "/api/external-tasks"): list[ExternalTaskOut],
    ("get", "/api/external-tasks/{task_id}"): ExternalTaskOut,
    ("post", "/api/decisions/{key}/evaluate"): DecisionOut,
    ("get", "/api/models"): list[ModelRecord],
    ("post", "/api/models"): ModelRecord,
    ("get", "/api/models/{model_id}"): ModelRecord,
    ("get", "/api/models/{model_id}/snapshots"): list[SnapshotRecord],
    ("post", "/api/models/{model_id}/snapshots"): SnapshotRecord,
    ("get", "/api/snapshots/{snapshot_id}"): SnapshotRecord,
    ("get", "/api/models/{model_id}/artifacts"): list[ArtifactRecord],
    ("post", "/api/models/{model_id}/artifacts"): ArtifactRecord,
    ("post", "/api/models/{model_id}/artifacts/promote"): ArtifactRecord,
    ("get", "/api/models/{model_id}/artifacts/{env}/{version}"): ArtifactRecord,
    ("get", "/api/runtimes"): list[RuntimeRecord],
    ("post", "/api/runtimes"): RuntimeRecord,
    ("get", "/api/runtimes/{runtime_id}"): RuntimeRecord,
    ("get", "/api/deployed-models"): list[DeployedModelOut],
    ("get", "/api/deployed-models/{deployment_id}"): DeployedModelOut,
    ("post", "/api/deployed-models/{deployment_id}/predict"): PredictionsOut,
    ("get", "/api/jobs"): list[JobRecord],
    ("get", "/api/jobs/{job_id}"): JobRecord,
    ("post", "/api/jobs/{job_id}/cancel"): JobRecord,
    ("get", "/api/tickets"): list[TicketOut],
    ("get", "/api/tickets/{key}"): TicketWithEventsOut,
    ("post", "/api/tickets/{key}/transition"): TransitionOut,
    ("get", "/api/tickets/{system}/{key}"): TicketWithEventsOut,
    ("post", "/api/tickets/{system}/{key}/transition"): TransitionOut,
    ("post", "/api/webhooks/jira"): WebhookOut,
    ("post", "/api/webhooks/servicenow"): WebhookOut,
    ("get", "/api/notifications"): list[NotificationOut],
    ("get", "/api/automations"): list[AutomationOut],
    ("post", "/api/automations"): AutomationChangeOut,
    ("get", "/api/automations/{name}"): AutomationWithRunsOut,
    ("delete", "/api/automations/{name}"): AutomationDeletedOut,
    ("get", "/api/automations/{name}/runs"): list[AutomationRunOut],
    ("post", "/api/automations/{name}/pause"): AutomationOut,
    ("post", "/api/automations/{name}/resume"): AutomationOut,
    ("post", "/api/automations/{name}/run-now"): InstanceOut,
    ("get", "/api/automation-builds/{build_id}"): BuildDetailOut,
    ("get", "/healthz"): HealthOut,
    ("get", "/api/openapi.json"): dict[str, JSON],
    # Camunda 7 and ModelOp
    ("post", f"{R}/deployment/create"): CamundaDeploymentWithDefinitions,
    ("get", f"{R}/deployment"): list[CamundaDeployment],
    ("get", f"{R}/deployment/count"): CamundaCount,
    ("get", f"{R}/deployment/{{deployment_id}}"): CamundaDeployment,
    ("post", f"{R}/message"): list[CamundaMessageResult],
    ("post", f"{R}/external-task/fetchAndLock"): list[CamundaLockedExternalTask],
    ("get", f"{R}/external-task"): list[CamundaExternalTask],
    ("get", f"{R}/external-task/count"): CamundaCount,
    ("get", f"{R}/external-task/{{task_id}}"): CamundaExternalTask,
    ("get", f"{R}/version"): CamundaVersion,
    ("get", f"{R}/engine"): list[CamundaEngine],
    ("get", f"{R}/process-definition"): list[CamundaProcessDefinition],
    ("get", f"{R}/process-definition/{{definition_id}}"): CamundaProcessDefinition,
    ("get", f"{R}/process-definition/key/{{key}}"): CamundaProcessDefinition,
    ("post", f"{R}/process-definition/{{definition_id}}/start"): CamundaProcessInstance,
    ("post", f"{R}/process-definition/key/{{key}}/start"): CamundaProcessInstance,
    ("post", f"{R}/process-definition/key/{{key}}/tenant-id/{{tenant_id}}/start"):
        CamundaProcessInstance,
    ("get", f"{R}/process-instance"): list[CamundaProcessInstance],
    ("get", f"{R}/process-instance/count"): CamundaCount,
    ("get", f"{R}/process-instance/{{instance_id}}"): CamundaProcessInstance,
    ("get", f"{R}/process-instance/{{instance_id}}/variables"): dict[str, CamundaTypedValue],
    ("get", f"{R}/process-instance/{{instance_id}}/variables/{{name}}"): CamundaTypedValue,
    ("post", f"{R}/condition"): list[CamundaProcessInstance],
    ("get", f"{R}/task"): list[CamundaTask],
    ("get", f"{R}/task/{{task_id}}"): CamundaTask,
    ("post", "/mlc-service/rest/signalResponsive"): ModelOpSignalResult,
}

# Answers that are not JSON: (method, path) -> media type.
OTHER_MEDIA = {
    ("get", "/metrics"): "text/plain",
    ("get", f"{R}/process-instance/{{instance_id}}/variables/{{name}}/data"):
        "application/octet-stream",
}
