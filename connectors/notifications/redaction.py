"""Keeping webhook URLs and tokens out of text that may be logged, stored or shown.

A Slack incoming-webhook URL *is* its credential, and custom webhook URLs often carry tokens in
the path or query, so only the scheme and host of a target are ever printed.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from urllib.parse import urlsplit


def redact_url(url: str) -> str:
    """``https://hooks.slack.com/services/T0/B0/XYZ`` -> ``https://hooks.slack.com/***``."""
    try:
        parts = urlsplit(url)
        host = parts.hostname or "?"
        port = f":{parts.port}" if parts.port else ""
    except ValueError:
        return "***"
    return f"{parts.scheme or '?'}://{host}{port}/***"


def redact(text: str, secrets: Iterable[str | None]) -> str:
    """``text`` with every non-empty secret replaced by ``***``."""
    for secret in secrets:
        if secret:
            text = text.replace(secret, "***")
    return text


class _SecretLogFilter(logging.Filter):
    """Rewrites log records that contain a registered secret (urllib3 logs request paths)."""

    def __init__(self) -> None:
        super().__init__()
        self.secrets: set[str] = set()

    def filter(self, record: logging.LogRecord) -> bool:
        if self.secrets:
            message = record.getMessage()
            if any(s in message for s in self.secrets):
                longest_first: list[str] = sorted(self.secrets, key=len, reverse=True)
                record.msg, record.args = redact(message, longest_first), ()
        return True


_LOG_FILTER = _SecretLogFilter()
_FILTERED_LOGGERS = ("urllib3.connectionpool",)
for _name in _FILTERED_LOGGERS:
    logging.getLogger(_name).addFilter(_LOG_FILTER)


def hide_url_in_logs(url: str) -> None:
    """Keep the path and query of ``url`` out of HTTP client debug logs.

    urllib3 logs ``"POST /services/T0/B0/XYZ HTTP/1.1"`` at DEBUG level, which for a Slack
    webhook is the credential itself.
    """
    try:
        parts = urlsplit(url)
    except ValueError:
        return
    for secret in (parts.path if len(parts.path) > 1 else "", parts.query):
        if secret:
            _LOG_FILTER.secrets.add(secret)
