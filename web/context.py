"""Access to the application from a request: views stay free of globals and of wiring."""

from __future__ import annotations

from typing import Any

from flask import current_app

from engine.errors import MlcError


def application() -> Any:
    return current_app.extensions["mlc_application"]


def engine() -> Any:
    return application().engine


def tasks() -> Any:
    return application().tasks


def idempotency_key() -> str | None:
    """The request's ``Idempotency-Key`` header: a repeat within 24 h answers as the first
    request did and changes nothing."""
    from flask import request

    return request.headers.get("Idempotency-Key") or None


def task_latency() -> Any:
    return current_app.extensions["mlc_task_latency"]


class ServiceNotConfigured(MlcError):
    """The application behind this app was built without the connector a route needs."""

    code = "not_configured"
    status = 404


def service(name: str) -> Any:
    """The connector service ``name`` the composition root put on ``Application.services``."""
    found = (getattr(application(), "services", None) or {}).get(name)
    if found is None:
        raise ServiceNotConfigured(f"this server has no {name} service (it was built without "
                                   "mlc.wiring.register_handlers)")
    return found
