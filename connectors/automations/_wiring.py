"""Building the automation collaborators for an application (called once by ``mlc.wiring``)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ._build import GitBuilder, secrets_in
from ._handlers import AutomationTopics, register_automation_handlers
from ._notify import AutomationNotifier
from ._poller import MetricTriggerPoller
from ._service import AutomationService
from ._sql import MetricQueryRunner

POLL_INTERVAL_SECONDS = 15.0  # how often the poller looks; each trigger has its own period


def builds_root(settings: Any) -> Path:
    """``settings.automation_builds`` (``MLC_AUTOMATION_BUILDS``), else ``automation-builds``
    under the first data root, else ``var/automation-builds``."""
    explicit = getattr(settings, "automation_builds", None)
    if explicit:
        return Path(explicit)
    roots = list(getattr(settings, "data_roots", None) or [])
    return Path(roots[0]) / "automation-builds" if roots else Path("var/automation-builds")


def install_automations(application: Any, *, builder: GitBuilder | None = None,
                        notify_timeout: float | tuple[float, float] = (5.0, 15.0)) -> AutomationService:
    """Register the automation topics on ``application.handlers`` and put the service and the
    metric poller in ``application.services`` (``automations``, ``automation_poller``)."""
    from connectors.notifications import NotificationFeed
    from connectors.registry import SqlModelRegistry

    service = AutomationService(application.engine)
    # no signal publisher: a build's snapshot should not also start the snapshot-created MLC
    registry = SqlModelRegistry(application.db)
    sql = MetricQueryRunner(application.db)
    builder = builder or GitBuilder(builds_root(application.settings),
                                    secrets_in(getattr(application.settings, "secrets", {})))
    topics = AutomationTopics(service, registry, builder,
                              AutomationNotifier(service, NotificationFeed(application.db),
                                                 notify_timeout), sql)
    register_automation_handlers(application.handlers, topics)
    application.services.automations = service
    application.services.automation_poller = MetricTriggerPoller(service, sql)
    return service
