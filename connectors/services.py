"""The connector services of one application, as typed fields.

``mlc.wiring`` fills them (one instance of each, shared by every CLI command, route and
worker); ``web`` and the connectors' click groups read them. Here, below both, so that
``web`` can name the type without importing the composition root above it. A field left
``None`` is a service the application was built without (a test's or an embedder's app).
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # annotations only: building an application imports no connector early
    from connectors.automations import AutomationService, MetricTriggerPoller
    from connectors.jobs import JobService
    from connectors.notifications import NotificationFeed
    from connectors.packages.artifacts import ArtifactService
    from connectors.registry import SqlModelRegistry
    from connectors.serving import OnlinePredictor
    from connectors.tickets import TicketComponents, TicketPoller


@dataclass
class ConnectorServices:
    tickets: TicketComponents | None = None
    ticket_poller: TicketPoller | None = None  # ``mlc serve`` polls it in the background
    notifications: NotificationFeed | None = None
    registry: SqlModelRegistry | None = None
    jobs: JobService | None = None
    artifacts: ArtifactService | None = None
    predictor: OnlinePredictor | None = None
    automations: AutomationService | None = None
    automation_poller: MetricTriggerPoller | None = None  # ``mlc serve`` polls it too

    def wired(self) -> list[str]:
        """The names of the services this application has."""
        return [f.name for f in fields(self) if getattr(self, f.name) is not None]

    def close(self) -> None:
        """End the model processes the job pool and the predictor started, if any."""
        for service in (self.jobs, self.predictor):
            if service is not None:
                service.close()
