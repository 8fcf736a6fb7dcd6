"""The public exports of ``engine`` and of each connector package, pinned.

A name that joins or leaves an ``__all__`` is a change to what other packages (and users)
may import: this test makes it a visible one, made here on purpose in the same commit.
"""

from __future__ import annotations

import importlib

import pytest

PUBLIC = {
    "engine": [
        "Base", "BpmnError", "ConcurrentUpdateError", "ConfigurationError", "ConflictError",
        "Database", "DecisionDefinitionRecord", "DecisionError", "DeploymentResult", "Engine",
        "ExecutionError", "ExpressionError", "ExternalTaskService", "HandlerRegistry",
        "HistoryRecord", "IncidentRecord", "IncidentStatus", "InstanceRecord", "InstanceStatus",
        "JobExecutor", "LockedTask", "MlcError", "NotFoundError", "ProcessDefinitionRecord",
        "Problem", "ResourceDeploymentRecord", "SignalResult", "TaskContext", "TimerScheduler",
        "UserTaskRecord", "ValidationError", "WorkState", "Worker",
    ],
    "connectors.automations": [
        "ANALYTICS_VIEWS", "Automation", "AutomationConflict", "AutomationNotFound",
        "AutomationRow", "AutomationService", "BuildAndDeploy", "BuildError", "BuildMetric",
        "BuildMetricRow", "BuildRow", "BuildSpecifications", "Change", "CustomWebhook",
        "DeclarationError", "DeploymentSpecifications", "Discovery", "GitBuilder",
        "MetricBasedTrigger", "MetricQueryError", "MetricQueryRunner", "MetricTriggerPoller",
        "ScheduledTrigger", "SlackNotification", "SqlMetric", "ThresholdDirection", "check_query",
        "create_views", "discover", "install_automations", "secrets_in",
    ],
    "connectors.jobs": [
        "DataStore", "JobService", "ModelProcess", "ModelProcessError", "ModelTopics",
        "ProcessPool", "ScoringOptions", "TimeLimitExceeded", "compute_metrics", "confine_path",
        "register_model_handlers", "resolve_model_dir",
    ],
    "connectors.notifications": [
        "Notification", "NotificationError", "NotificationFeed", "register_notification_handlers",
    ],
    "connectors.packages": [
        "EnvironmentBuildError", "ModelEnvironment", "ModelEnvironments", "ModelRequirements",
        "ModelTestsFailed", "REQUIREMENTS_FILE", "RUNNER_REQUIREMENTS", "TESTS_FILE",
        "TestReport", "has_tests", "read_requirements", "run_model_tests",
    ],
    "connectors.registry": [
        "ARTIFACT_ENVS", "ASSET_ROLES", "ArtifactEnv", "ArtifactRecord", "ArtifactRefused",
        "AssetRecord", "AssetRole", "DEPLOYMENT_MODES", "DeploymentRecord", "JOB_STATES",
        "JOB_TYPES", "JobCancelled", "JobRecord", "JobState", "JobStore", "JobType",
        "LeaseKeeper", "METHODOLOGIES", "Methodology", "ModelRecord", "ModelRegistry",
        "RUNTIME_ENGINES", "RedundantExecutionError", "RuntimeEngine", "RuntimeRecord",
        "SNAPSHOT_CREATED_SIGNAL", "STAGES", "SignalPublisher", "SnapshotRecord",
        "SqlModelRegistry", "Stage", "check_artifact_env", "execution_key", "tables",
    ],
    "connectors.serving": ["OnlinePredictor"],
    "connectors.tickets": [
        "AmbiguousTicketError", "DEFAULT_TERMINAL_STATUSES", "LocalTicketBackend",
        "MessageCorrelator", "RESOLVED_MESSAGE", "Resolution", "SYSTEMS", "TICKET_KINDS",
        "Ticket", "TicketBackend", "TicketComponents", "TicketKind", "TicketPoller",
        "TicketRequest", "TicketResolver", "TicketService", "TicketStore", "TicketSystemError",
        "TicketSystemName", "TicketWebhookReceiver", "WebhookAuthenticationError",
        "WebhookOutcome", "WebhookSignatureError", "build_ticket_components",
        "register_ticket_handlers", "ticket_ref",
    ],
}


@pytest.mark.parametrize("package", sorted(PUBLIC))
def test_the_public_names_are_the_pinned_ones(package):
    module = importlib.import_module(package)
    assert sorted(module.__all__) == sorted(PUBLIC[package])
    assert len(set(module.__all__)) == len(module.__all__), "a name listed twice"


@pytest.mark.parametrize("package", sorted(PUBLIC))
def test_every_public_name_exists(package):
    module = importlib.import_module(package)
    assert [name for name in module.__all__ if not hasattr(module, name)] == []
