"""Sign-in with ``MLC_API_TOKEN``: a signed session cookie (HttpOnly, SameSite=Strict) holds
the fact that the browser knows the token, never the token itself. Without a token the
cockpit is open, as the API is. CSRF tokens (Flask-WTF) guard every form either way."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from datetime import timedelta
from urllib.parse import urlsplit

from flask import Flask, render_template, request, session
from flask.typing import ResponseReturnValue
from flask_wtf.csrf import CSRFProtect

from ..context import application

csrf = CSRFProtect()

SESSION_HOURS = 12


def configure_sessions(app: Flask, token: str | None) -> None:
    """Session cookie and CSRF settings; the signing key is derived from the token, so every
    server sharing a token accepts the same cookies and a new token signs everyone out."""
    if not app.secret_key:
        app.secret_key = (hmac.new(token.encode(), b"mlc-cockpit-session", hashlib.sha256)
                          .hexdigest() if token else secrets.token_hex(32))
    app.config.update(SESSION_COOKIE_NAME="mlc_session", SESSION_COOKIE_HTTPONLY=True, SESSION_COOKIE_SAMESITE="Strict",
                      PERMANENT_SESSION_LIFETIME=timedelta(hours=SESSION_HOURS),
                      WTF_CSRF_CHECK_DEFAULT=False,  # only the cockpit's forms; the API uses Bearer
                      WTF_CSRF_TIME_LIMIT=SESSION_HOURS * 3600)
    csrf.init_app(app)


def api_token() -> str | None:
    return application().settings.api_token


def signed_in() -> bool:
    """True when no token is configured, the session says so, or the request carries the token."""
    token = api_token()
    if not token:
        return True
    if session.get("signed_in") is True:
        return True
    from ..tokens import token_ok

    header = request.headers.get("Authorization", "")
    return bool(header) and token_ok(header, token)


def token_matches(candidate: str) -> bool:
    token = api_token() or ""
    return bool(token) and hmac.compare_digest(candidate.encode(), token.encode())


def sign_in() -> None:
    session.clear()  # a fresh session (and CSRF token) after signing in
    session.permanent = True
    session["signed_in"] = True


def safe_next(target: str | None, default: str = "/") -> str:
    """A local path to return to after signing in (never another host)."""
    if not target:
        return default
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//") \
            or "\\" in target:
        return default
    return target


def signin_page(error: str | None = None, status: int = 200) -> ResponseReturnValue:
    return render_template("cockpit/signin.html", error=error,
                           next=safe_next(request.values.get("next"))), status
