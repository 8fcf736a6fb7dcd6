"""Notifications: Slack incoming webhooks, custom webhooks and the local feed.

Public surface: :func:`register_notification_handlers` (topic ``notify.send``),
:class:`NotificationFeed` (list for REST / CLI), :class:`NotificationError`.
"""

from .errors import NotificationError
from .feed import Notification, NotificationFeed
from .handlers import register_notification_handlers

__all__ = ["Notification", "NotificationError", "NotificationFeed",
           "register_notification_handlers"]
