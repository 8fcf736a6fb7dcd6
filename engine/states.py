"""The states the engine stores in its status columns, one enum per column.

They are ``StrEnum``: a member equals its string, so rows written before these existed, SQL
comparisons and the REST output (``"status": "waiting"``) are unchanged; the enum only names
the values that exist, so a typo is an error rather than a state nothing ever leaves.
"""

from __future__ import annotations

from enum import StrEnum


class InstanceStatus(StrEnum):
    """``mlc_process_instances.status``."""

    RUNNING = "running"        # just created; stored as waiting once its first command ends
    WAITING = "waiting"        # stored, waiting for a task, message, signal, timer or job
    INCIDENT = "incident"      # an incident is open on it
    COMPLETED = "completed"    # reached its end
    TERMINATED = "terminated"  # ended by an operator


# An instance in one of these has ended: nothing changes it any more.
ENDED = (InstanceStatus.COMPLETED, InstanceStatus.TERMINATED)


class IncidentStatus(StrEnum):
    """``mlc_incidents.status``."""

    OPEN = "open"
    RESOLVED = "resolved"


class WorkState(StrEnum):
    """``mlc_external_tasks.state`` and ``mlc_jobs.state``: both are rows a worker fetches,
    locks for a while and completes, and both leave the queue the same way."""

    AVAILABLE = "available"  # fetchable once ``next_attempt_at`` has passed
    LOCKED = "locked"        # held by ``lock_owner`` until ``lock_expires_at``
    INCIDENT = "incident"    # out of retries; an incident is open on it
