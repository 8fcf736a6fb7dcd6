"""A stand-in for the engine facade's ``correlate_message`` that records what it was given."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from engine.errors import NotFoundError


@dataclass
class RecordingCorrelator:
    """Resumes "instances" that wait for a given ``TICKET_KEY``; records every correlation.

    ``waiting`` maps a ticket key to the instance id waiting for it; a key not in it raises
    NotFoundError, as the engine does when no instance waits. A resumed instance stops
    waiting, so a second correlation for the same ticket fails like the real engine would.
    """

    waiting: dict[str, str] = field(default_factory=dict)
    calls: list[dict[str, Any]] = field(default_factory=list)

    def wait_for(self, ticket_key: str, instance_id: str = "instance-1") -> None:
        self.waiting[ticket_key] = instance_id

    def correlate_message(self, name: str, *, business_key: str | None = None,
                          correlation: dict | None = None,
                          variables: dict | None = None) -> list[str]:
        self.calls.append({"name": name, "business_key": business_key,
                           "correlation": dict(correlation or {}),
                           "variables": dict(variables or {})})
        key = (correlation or {}).get("TICKET_KEY")
        if key not in self.waiting:
            raise NotFoundError(f"no instance waits for message {name!r} with {correlation}")
        return [self.waiting.pop(key)]
