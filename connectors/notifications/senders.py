"""Delivering to Slack incoming webhooks and custom webhooks over HTTP.

Every failure is reported with the target redacted to scheme and host, and without the
``requests`` exception text (which repeats the full URL).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import requests

from .errors import NotificationError
from .redaction import hide_url_in_logs, redact, redact_url

DEFAULT_TIMEOUT = (5.0, 15.0)
BODY_METHODS = ("POST", "PUT", "PATCH", "DELETE")


def send_slack(url: str, text: str, blocks: list[dict[str, Any]] | None = None, *,
               timeout: float | tuple[float, float] = DEFAULT_TIMEOUT,
               session: requests.Session | None = None) -> None:
    """Post to a Slack incoming webhook; anything but HTTP 200 with body ``ok`` is an error."""
    payload: dict[str, Any] = {"text": text}
    if blocks:
        payload["blocks"] = blocks
    response = _send(session, "POST", url, timeout, json=payload)
    body = response.text.strip()
    if response.status_code != 200 or body != "ok":
        raise NotificationError(
            f"Slack webhook {redact_url(url)} answered HTTP {response.status_code}: "
            f"{redact(body[:120], [url])!r}")


def send_webhook(url: str, fields: Mapping[str, Any], *, method: str = "POST",
                 headers: Mapping[str, str] | None = None,
                 timeout: float | tuple[float, float] = DEFAULT_TIMEOUT,
                 session: requests.Session | None = None) -> int:
    """Call a custom webhook: GET puts ``fields`` in the query string, other methods send JSON.

    Returns the HTTP status; 4xx/5xx answers are errors.
    """
    method = method.upper()
    if method not in ("GET", *BODY_METHODS):
        raise NotificationError(f"webhook method {method!r} is not supported")
    kwargs: dict[str, Any] = {"headers": dict(headers or {})}
    if method == "GET":
        kwargs["params"] = {k: _query_value(v) for k, v in fields.items() if v is not None}
    else:
        kwargs["json"] = dict(fields)
    response = _send(session, method, url, timeout, **kwargs)
    if response.status_code >= 400:
        raise NotificationError(
            f"webhook {method} {redact_url(url)} answered HTTP {response.status_code}")
    return response.status_code


def _send(session: requests.Session | None, method: str, url: str,
          timeout: float | tuple[float, float], **kwargs: Any) -> requests.Response:
    hide_url_in_logs(url)
    failure: str
    try:
        return (session or requests).request(method, url, timeout=timeout, **kwargs)
    except requests.RequestException as exc:
        failure = type(exc).__name__
    except ValueError as exc:  # an invalid URL
        failure = type(exc).__name__
    raise NotificationError(f"could not reach webhook {redact_url(url)}: {failure}")


def _query_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (dict, list)):
        import json

        return json.dumps(value, default=str)
    return str(value)
