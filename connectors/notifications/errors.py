"""Errors of the notification channels."""

from __future__ import annotations

from engine.errors import MlcError


class NotificationError(MlcError):
    """A Slack or custom webhook did not accept a notification.

    The message names the target only in redacted form (scheme and host): webhook URLs are
    credentials. A ``notify.send`` handler lets it propagate, so the engine retries the task.
    """

    code = "notification_error"
    status = 502
