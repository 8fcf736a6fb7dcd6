"""The Flask application factory: blueprints, JSON errors for every failure, bearer/basic
token auth, request size limits and request logging (never headers or bodies, so secrets
stay out of the log)."""

from __future__ import annotations

import importlib
import logging
import time
from collections.abc import Iterable
from typing import Any

from flask import Blueprint, Flask, Response, g, jsonify, request
from flask.typing import ResponseReturnValue
from sqlalchemy.exc import DataError, InterfaceError, OperationalError, StatementError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from werkzeug.exceptions import HTTPException, MethodNotAllowed

from engine.errors import MlcError

from .context import WebApplication
from .tokens import token_ok

log = logging.getLogger("mlc.web")

MAX_CONTENT_LENGTH = 16 * 1024 * 1024  # a deployment of a few 5 MiB files at most
RETRY_AFTER_SECONDS = 5  # what a 503 for an unavailable database asks clients to wait

# Modules whose ``bp`` is registered, in this order.
CORE_BLUEPRINTS = [
    "web.api.system", "web.api.deployments", "web.api.definitions", "web.api.instances",
    "web.api.events", "web.api.incidents", "web.api.external_tasks", "web.api.decisions",
    "web.api.models", "web.api.artifacts", "web.api.runtimes", "web.api.deployed_models",
    "web.api.predictions", "web.api.jobs",
    "web.api.tickets", "web.api.notifications", "web.api.webhooks", "web.api.automations",
    "web.api.user_tasks", "web.api.nodes",
    "web.engine_rest.meta", "web.engine_rest.deployment", "web.engine_rest.process",
    "web.engine_rest.events", "web.engine_rest.external_task", "web.engine_rest.task",
    "web.modelop",
]

CAMUNDA_PREFIXES = ("/engine-rest", "/mlc-service")
OPEN_PATHS = {"/healthz"}


def _camunda_type(status: int, exc: BaseException | None) -> str:
    if status == 401:
        return "AuthenticationException"
    if status in (409, 422) or status >= 500:
        return "RestException"
    return "InvalidRequestException"


def error_body(path: str, status: int, code: str, message: str, problems: list[dict[str, Any]] | None = None,
               exc: BaseException | None = None) -> dict[str, Any]:
    """One JSON error body; Camunda's ``{"type", "message"}`` under the compatible prefixes."""
    if path.startswith(CAMUNDA_PREFIXES):
        return {"type": _camunda_type(status, exc), "message": message}
    return {"error": code, "message": message, "problems": problems or []}


def error_response(status: int, code: str, message: str, problems: list[dict[str, Any]] | None = None,
                   exc: BaseException | None = None) -> Response:
    """:func:`error_body` of the current request as a response."""
    response = jsonify(error_body(request.path, status, code, message, problems, exc))
    response.status_code = status
    if status == 401:
        response.headers["WWW-Authenticate"] = 'Bearer realm="mlc", Basic realm="mlc"'
    return response


def _register_error_handlers(app: Flask) -> None:
    @app.errorhandler(MlcError)
    def mlc_error(exc: MlcError) -> Response:
        if exc.status >= 500:
            log.error("%s %s failed: %s", request.method, request.path, exc.message)
        return error_response(exc.status, exc.code, exc.message, exc.to_dict()["problems"], exc)

    @app.errorhandler(HTTPException)
    def http_error(exc: HTTPException) -> Response:
        code = (exc.name or "error").lower().replace(" ", "_")
        message = exc.description or exc.name
        if exc.code == 404:
            message = f"no route {request.path}"
        elif exc.code == 405:
            message = f"{request.method} is not allowed on {request.path}"
        elif exc.code == 413:
            message = f"request body larger than {app.config['MAX_CONTENT_LENGTH']} bytes"
        response = error_response(exc.code or 500, code, message, exc=exc)
        if isinstance(exc, MethodNotAllowed) and exc.valid_methods:
            response.headers["Allow"] = ", ".join(exc.valid_methods)
        return response

    @app.errorhandler(OperationalError)
    @app.errorhandler(InterfaceError)
    @app.errorhandler(PoolTimeout)
    def database_unavailable(exc: Exception) -> Response:
        # the database is down, restarting or saturated: the request may well work again
        log.warning("%s %s: database unavailable: %s", request.method, request.path,
                    type(getattr(exc, "orig", None) or exc).__name__)
        response = error_response(503, "database_unavailable",
                                  "the database is unavailable; retry shortly", exc=exc)
        response.headers["Retry-After"] = str(RETRY_AFTER_SECONDS)
        return response

    @app.errorhandler(StatementError)
    def unserializable(exc: StatementError) -> Response:
        if isinstance(exc.orig, ValueError):  # the JSON columns' strict serializer
            return error_response(400, "invalid_value", "a value cannot be stored: NaN and "
                                  "Infinity are not JSON numbers", exc=exc)
        return unexpected(exc)

    @app.errorhandler(DataError)
    def unstorable(exc: DataError) -> Response:
        # The database refused a value of the request (PostgreSQL: a NUL character, a string
        # longer than its column...). The driver's text quotes the values, so it is not shown.
        log.info("%s %s: database refused a value: %s", request.method, request.path,
                 type(exc.orig).__name__)
        return error_response(400, "validation_error", "a value in the request cannot be "
                              "stored (too long, or it contains a NUL character)", exc=exc)

    @app.errorhandler(Exception)
    def unexpected(exc: Exception) -> Response:
        log.exception("%s %s failed", request.method, request.path)
        return error_response(500, "internal_error",
                              "internal error; the server log has the details", exc=exc)


def _install_auth_and_logging(app: Flask, token: str | None,
                              open_paths: Iterable[str] = ()) -> None:
    open_paths = OPEN_PATHS | set(open_paths)

    @app.before_request
    def authenticate() -> ResponseReturnValue | None:
        g.started = time.perf_counter()
        nul = _nul_in_request()
        if nul:
            # PostgreSQL cannot store NUL characters and SQLite can: refuse them everywhere
            return error_response(400, "validation_error", f"{nul} contains a NUL character")
        if not token or request.path in open_paths:
            return None
        if request.blueprint == "cockpit":
            return None  # the cockpit signs browsers in itself (web.cockpit.auth)
        if request.method == "GET" and request.path == "/api/openapi.json" and _cockpit_session():
            return None  # what the cockpit's /api/docs page reads
        header = request.headers.get("Authorization", "")
        if not header:
            return error_response(401, "unauthorized",
                                  "authentication required: Authorization: Bearer <token>")
        if not token_ok(header, token):
            return error_response(401, "unauthorized", "invalid credentials")
        return None

    @app.after_request
    def log_request(response: Response) -> Response:
        elapsed = (time.perf_counter() - g.get("started", time.perf_counter())) * 1000
        # path only: query strings and headers may carry credentials
        log.info("%s %s %s %.1fms", request.method, request.path, response.status_code, elapsed)
        return response


def _cockpit_session() -> bool:
    from .cockpit import signed_in as cockpit_signed_in

    return cockpit_signed_in()


def _nul_in_request() -> str | None:
    """Which part of the request (path, query, form) holds a NUL character, if any.

    JSON bodies are checked where they are parsed (:mod:`engine.jsonsafe`)."""
    if "\x00" in request.path:
        return "the path"
    for name, value in request.args.items(multi=True):
        if "\x00" in name or "\x00" in value:
            return "the query string"
    if request.mimetype in ("multipart/form-data", "application/x-www-form-urlencoded"):
        request.get_data(cache=True, parse_form_data=False)  # the view may want it raw too
        for name, value in request.form.items(multi=True):
            if "\x00" in (name or "") or "\x00" in (value or ""):
                return f"form field {name.replace(chr(0), '?')!r}"
        for name, upload in request.files.items(multi=True):
            if "\x00" in (upload.filename or ""):
                return f"the name of file {name.replace(chr(0), '?')!r}"
    return None


def _load_blueprints(names: Iterable[str]) -> list[Blueprint]:
    found: list[Blueprint] = [importlib.import_module(name).bp for name in names]
    return found


def create_app(application: WebApplication, *, config: dict[str, Any] | None = None,
               blueprints: Iterable[Blueprint] = ()) -> Flask:
    """Build the app over the application the composition root built
    (:class:`mlc.wiring.Application`).

    The application is passed in, never built here: ``web`` sits below ``mlc`` and imports
    nothing of it.

    Args:
        application: the application whose engine, settings and services the routes call.
        config: Flask config overrides (e.g. ``MAX_CONTENT_LENGTH``).
        blueprints: extra blueprints (the lead's connector routes) registered after the core.
    """
    if not hasattr(application, "engine") or not hasattr(application, "settings"):
        raise TypeError("create_app needs the composition root's Application, "
                        f"not {type(application)}")
    from .json import MlcJSONProvider

    app = Flask("mlc", static_folder=None)  # the cockpit blueprint serves /static
    app.json = MlcJSONProvider(app)
    app.config.update(MAX_CONTENT_LENGTH=MAX_CONTENT_LENGTH, JSON_SORT_KEYS=False)
    app.config.update(config or {})
    app.extensions["mlc_application"] = application
    from .metrics import TaskLatency

    app.extensions.setdefault("mlc_task_latency", TaskLatency())
    _register_error_handlers(app)
    from .api.webhooks import webhook_paths_open

    # signed webhooks authenticate by their signature instead (see web.api.webhooks)
    _install_auth_and_logging(app, application.settings.api_token,
                              webhook_paths_open(application.settings))
    for bp in [*_load_blueprints(CORE_BLUEPRINTS), *blueprints]:
        app.register_blueprint(bp)
    from . import cockpit

    app.register_blueprint(cockpit.bp)
    cockpit.init_app(app)
    return app
