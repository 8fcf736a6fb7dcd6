"""A stand-in for the engine facade's ``correlate_message`` that records what it was given."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from engine.errors import NotFoundError


@dataclass
class RecordingCorrelator:
    """Resumes "instances" waiting for ``ticket.resolved``; records every correlation.

    Like the engine, an instance matches when every correlation variable equals one of its
    variables (and it is the named instance, when one is named). ``wait_for(key, instance,
    system)`` gives the instance ``TICKET_KEY`` and, with a system, ``TICKET_REF`` as
    ``ticket.create`` does; without one it waits the way instances from before
    ``TICKET_REF`` do. A resumed instance stops waiting, so a second correlation for the same
    ticket fails like the real engine would.
    """

    waiting: dict[str, dict[str, Any]] = field(default_factory=dict)
    calls: list[dict[str, Any]] = field(default_factory=list)

    def wait_for(self, ticket_key: str, instance_id: str = "instance-1",
                 system: str | None = None) -> None:
        variables = {"TICKET_KEY": ticket_key}
        if system:
            variables["TICKET_REF"] = f"{system}:{ticket_key}"
        self.waiting[instance_id] = variables

    def correlate_message(self, name: str, *, business_key: str | None = None,
                          correlation: dict | None = None, variables: dict | None = None,
                          instance_id: str | None = None) -> list[str]:
        self.calls.append({"name": name, "business_key": business_key,
                           "correlation": dict(correlation or {}),
                           "variables": dict(variables or {}), "instance_id": instance_id})
        found = [i for i, have in self.waiting.items()
                 if (instance_id is None or i == instance_id)
                 and all(have.get(k) == v for k, v in (correlation or {}).items())]
        if not found:
            raise NotFoundError(f"no instance waits for message {name!r} with {correlation}")
        for i in found:
            del self.waiting[i]
        return found
