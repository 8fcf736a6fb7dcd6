"""Access to the application from a request: views stay free of globals and of wiring."""

from __future__ import annotations

from typing import TYPE_CHECKING, Generic, Protocol, TypeVar

from flask import current_app

from connectors.services import ConnectorServices
from engine import Database, Engine, ExternalTaskService
from engine.errors import MlcError
from engine.user_tasks import UserTaskService

if TYPE_CHECKING:
    from connectors.automations import AutomationService
    from connectors.jobs import JobService
    from connectors.notifications import NotificationFeed
    from connectors.packages.artifacts import ArtifactService
    from connectors.registry import SqlModelRegistry
    from connectors.serving import OnlinePredictor
    from connectors.tickets import TicketComponents

    from .metrics import TaskLatency

T = TypeVar("T")


class WebSettings(Protocol):
    """What the web layer reads of the settings (``mlc.settings.Settings``, which ``web`` may
    not import: it sits above). Webhook secrets are read by name (:mod:`web.api.webhooks`)."""

    @property
    def api_token(self) -> str | None: ...


class WebApplication(Protocol):
    """What the routes use of the composition root's ``mlc.wiring.Application``."""

    @property
    def settings(self) -> WebSettings: ...

    @property
    def db(self) -> Database: ...

    @property
    def engine(self) -> Engine: ...

    @property
    def tasks(self) -> ExternalTaskService: ...

    @property
    def services(self) -> ConnectorServices: ...

    @property
    def user_tasks(self) -> UserTaskService: ...


def application() -> WebApplication:
    found: WebApplication = current_app.extensions["mlc_application"]
    return found


def engine() -> Engine:
    return application().engine


def tasks() -> ExternalTaskService:
    return application().tasks


def idempotency_key() -> str | None:
    """The request's ``Idempotency-Key`` header: a repeat within 24 h answers as the first
    request did and changes nothing."""
    from flask import request

    return request.headers.get("Idempotency-Key") or None


def task_latency() -> TaskLatency:
    found: TaskLatency = current_app.extensions["mlc_task_latency"]
    return found


class ServiceNotConfigured(MlcError):
    """The application behind this app was built without the connector a route needs."""

    code = "not_configured"
    status = 404


class _Required(Generic[T]):
    """One field of :class:`RouteServices`: the application's service, or a 404."""

    def __set_name__(self, owner: type, name: str) -> None:
        self.name = name

    def __get__(self, view: RouteServices, owner: type | None = None) -> T:
        found: T | None = getattr(view.wired, self.name)
        if found is None:
            raise ServiceNotConfigured(f"this server has no {self.name} service (it was built "
                                       "without mlc.wiring.register_handlers)")
        return found


class RouteServices:
    """The connector services as a route reads them: typed, and a service the application was
    built without answers 404 ``not_configured`` instead of failing on ``None``."""

    tickets: _Required[TicketComponents] = _Required()
    notifications: _Required[NotificationFeed] = _Required()
    registry: _Required[SqlModelRegistry] = _Required()
    jobs: _Required[JobService] = _Required()
    artifacts: _Required[ArtifactService] = _Required()
    predictor: _Required[OnlinePredictor] = _Required()
    automations: _Required[AutomationService] = _Required()

    def __init__(self, wired: ConnectorServices) -> None:
        self.wired = wired


def services() -> RouteServices:
    """The services the composition root put on ``Application.services``."""
    return RouteServices(wired_services())


def wired_services() -> ConnectorServices:
    """The same, ``None`` for a service the application was built without (for a page that
    leaves that panel out rather than answering 404)."""
    return application().services
