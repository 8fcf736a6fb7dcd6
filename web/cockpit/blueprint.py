"""The cockpit blueprint: who may see it, what every page shares (navigation, CSRF token,
flash messages, security headers), and errors rendered as pages instead of JSON."""

from __future__ import annotations

import json
import logging
from datetime import datetime
from pathlib import Path
from typing import Any

from flask import Blueprint, Flask, Response, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException
from werkzeug.wrappers import Response as WerkzeugResponse

from engine.errors import MlcError

from . import auth

log = logging.getLogger("mlc.cockpit")

STATIC = Path(__file__).resolve().parent.parent / "static"

bp = Blueprint("cockpit", __name__, template_folder="templates", static_folder=str(STATIC),
               static_url_path="/static")

NAVIGATION = [
    ("cockpit.dashboard", "Dashboard"), ("cockpit.processes", "Processes"),
    ("cockpit.instances", "Instances"), ("cockpit.incidents", "Incidents"),
    ("cockpit.tickets", "Tickets"), ("cockpit.models", "Models"),
    ("cockpit.decisions", "Decisions"), ("cockpit.automations", "Automations"),
    ("cockpit.modeler_index", "Modeler"), ("cockpit.api_docs", "API docs"),
]

# Inline styles are what bpmn-js, dmn-js and Swagger UI position their elements with; scripts
# only ever come from this server's own files.
CSP = ("default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
       "img-src 'self' data:; font-src 'self' data:; connect-src 'self'; object-src 'none'; "
       "frame-ancestors 'none'; base-uri 'self'; form-action 'self'")

OPEN_ENDPOINTS = {"cockpit.signin", "cockpit.static"}


@bp.before_request
def guard() -> ResponseReturnValue | None:
    """Static files are public; every other page needs a signed-in browser, every POST a
    valid CSRF token (the sign-in form too)."""
    if request.endpoint == "cockpit.static":
        return None
    if request.method == "POST":
        auth.csrf.protect()
    if request.endpoint in OPEN_ENDPOINTS or auth.signed_in():
        return None
    if request.method == "GET":
        return redirect(url_for("cockpit.signin", next=request.full_path.rstrip("?")))
    return auth.signin_page("Sign in first: your session has ended.", 401)


@bp.after_request
def security_headers(response: Response) -> Response:
    response.headers.setdefault("Content-Security-Policy", CSP)
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    response.headers.setdefault("Referrer-Policy", "same-origin")
    if request.endpoint != "cockpit.static":
        response.headers.setdefault("Cache-Control", "no-store")
    return response


def wants_json() -> bool:
    return request.accept_mimetypes.best == "application/json" or request.is_json


def error_page(status: int, title: str, message: str, problems: list[dict[str, Any]] | None = None) -> ResponseReturnValue:
    if wants_json():
        body = {"error": title, "message": message, "problems": problems or []}
        return Response(json.dumps(body), status, mimetype="application/json")
    return render_template("cockpit/error.html", status=status, title=title, message=message,
                           problems=problems or [], back=_same_site(request.referrer)), status


def _same_site(url: str | None) -> str | None:
    return url if url and url.startswith(request.host_url) else None


@bp.errorhandler(CSRFError)
def csrf_refused(exc: CSRFError) -> ResponseReturnValue:
    return error_page(400, "Form expired or forged",
                      f"{exc.description} Reload the page and submit the form again.")


@bp.errorhandler(MlcError)
def refused(exc: MlcError) -> ResponseReturnValue:
    if exc.status >= 500:
        log.error("%s %s failed: %s", request.method, request.path, exc.message)
    title = ("Not done" if request.method == "POST"
             else "Not found" if exc.status == 404 else "Cannot show this")
    return error_page(exc.status, title, exc.message, exc.to_dict()["problems"])


@bp.errorhandler(HTTPException)
def http_error(exc: HTTPException) -> ResponseReturnValue:
    return error_page(exc.code or 500, exc.name, exc.description or exc.name)


@bp.errorhandler(Exception)
def unexpected(exc: Exception) -> ResponseReturnValue:
    log.exception("%s %s failed", request.method, request.path)
    return error_page(500, "Internal error", "Something failed; the server log has the details.")


def done(message: str, endpoint: str, **values: Any) -> WerkzeugResponse:
    """After a successful form: say what happened and show the result (POST-redirect-GET),
    on the page the form named in its ``next`` field, or else on ``endpoint``."""
    flash(message, "success")
    default = url_for(endpoint, **values)
    return redirect(auth.safe_next(request.form.get("next"), default), 303)


@bp.app_template_filter("when")
def when(value: Any) -> str:
    """An ISO timestamp as ``2026-05-01 14:03:07`` UTC (empty for none)."""
    if not value:
        return ""
    if isinstance(value, str):
        text = value
        try:
            value = datetime.fromisoformat(text)
        except ValueError:
            return text
    shown: str = value.strftime("%Y-%m-%d %H:%M:%S")
    return shown


@bp.app_template_filter("short")
def short(value: Any, length: int = 8) -> str:
    return str(value)[:length] if value else ""


@bp.app_template_filter("pretty")
def pretty(value: Any) -> str:
    if isinstance(value, str):
        return value
    return json.dumps(value, indent=2, sort_keys=True, default=str)


@bp.app_context_processor
def shared() -> dict[str, Any]:
    return {"navigation": NAVIGATION, "signed_in_with_token": bool(auth.api_token())}


def init_app(app: Flask) -> None:
    """Sessions and CSRF for the cockpit; call after registering :data:`bp`."""
    auth.configure_sessions(app, app.extensions["mlc_application"].settings.api_token)
