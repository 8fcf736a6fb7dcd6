"""Automations: JFrog ML-style scheduled and metric-triggered build-and-deploy.

Users declare automations in Python files::

    from connectors.automations import (Automation, BuildAndDeploy, BuildMetric,
        BuildSpecifications, ScheduledTrigger, SlackNotification, ThresholdDirection)

and register them with ``mlc automations register -p DIR``. Each automation becomes a small
process ``automation_<name>`` (a cron timer start event run by the engine's timer scheduler)
that calls the shipped ``processes/build_and_deploy.bpmn``; metric triggers are polled by
:class:`MetricTriggerPoller`. Everything a run does is in the engine's history.

Public surface: the declaration classes, :class:`AutomationService` (register / list / pause /
resume / delete / run now), :func:`discover` (find declarations in files),
:func:`install_automations` (wiring), :class:`MetricQueryRunner` and :func:`check_query`
(safe metric SQL), :data:`ANALYTICS_VIEWS`, and the errors.
"""

from ._build import GitBuilder, secrets_in
from ._declarations import (
    Automation,
    BuildAndDeploy,
    BuildMetric,
    BuildSpecifications,
    CustomWebhook,
    DeploymentSpecifications,
    MetricBasedTrigger,
    ScheduledTrigger,
    SlackNotification,
    SqlMetric,
    ThresholdDirection,
)
from ._discovery import Discovery, discover
from ._errors import (
    AutomationConflict,
    AutomationNotFound,
    BuildError,
    DeclarationError,
    MetricQueryError,
)
from ._poller import MetricTriggerPoller
from ._service import AutomationService, Change
from ._sql import MetricQueryRunner, check_query
from ._tables import AutomationRow, BuildMetricRow, BuildRow
from ._views import ANALYTICS_VIEWS, create_views
from ._wiring import install_automations

__all__ = [
    "ANALYTICS_VIEWS", "Automation", "AutomationConflict", "AutomationNotFound",
    "AutomationRow", "AutomationService", "BuildAndDeploy", "BuildError", "BuildMetric",
    "BuildMetricRow", "BuildRow", "BuildSpecifications", "Change", "CustomWebhook",
    "DeclarationError", "DeploymentSpecifications", "Discovery", "GitBuilder",
    "MetricBasedTrigger", "MetricQueryError", "MetricQueryRunner", "MetricTriggerPoller",
    "ScheduledTrigger", "SlackNotification", "SqlMetric", "ThresholdDirection", "check_query",
    "create_views", "discover", "install_automations", "secrets_in",
]
