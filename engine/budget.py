"""Evaluation budgets: every FEEL and JUEL evaluation is bounded in steps, time and size.

A decision or an expression comes from a deployed file or a request, so it must not be able to
take the server down (``for i in 1..100000000 return i`` would build a list of 10^8 numbers).
The limits are configured once by the composition root (``mlc.wiring`` reads the ``MLC_EVAL_*``
settings and calls :func:`configure`); engine code never reads the environment. Exceeding a
limit raises :class:`~engine.errors.EvaluationLimitError`, a 4xx for the API and the CLI and
an incident inside a process.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from engine.errors import EvaluationLimitError

_CHECK_EVERY = 1024  # steps between two looks at the clock


@dataclass(frozen=True)
class EvaluationLimits:
    """What one evaluation may spend.

    Attributes:
        max_steps: loop iterations, filter tests and function calls of one evaluation.
        max_items: length of a list, string or number (in digits) it may build, and of a
            range it may expand.
        max_seconds: wall time of one evaluation.
    """

    max_steps: int = 1_000_000
    max_items: int = 1_000_000
    max_seconds: float = 5.0

    def __post_init__(self) -> None:
        if self.max_steps < 1 or self.max_items < 1 or not self.max_seconds > 0:
            raise ValueError("evaluation limits must be positive")


_limits = EvaluationLimits()


def configure(limits: EvaluationLimits) -> None:
    """Set the limits every later evaluation uses unless it is given its own."""
    global _limits
    _limits = limits


def current_limits() -> EvaluationLimits:
    return _limits


class Meter:
    """The budget of one evaluation: counts steps, watches the clock and value sizes."""

    __slots__ = ("limits", "steps", "built", "deadline", "next_check")

    def __init__(self, limits: EvaluationLimits | None = None) -> None:
        self.limits = limits or _limits
        self.steps = 0
        self.built = 0  # items of the large values built so far
        # The clock starts at the first check, so an evaluation that never loops (most
        # decision tables) never reads it; what runs before that is a bounded number of steps.
        self.deadline: float | None = None
        #: hot loops inline ``step``: ``steps += 1; if steps >= next_check: check()``
        self.next_check = min(_CHECK_EVERY, self.limits.max_steps)

    def step(self, count: int = 1) -> None:
        """Spend ``count`` steps; raise once the step or time budget is gone."""
        self.steps += count
        if self.steps >= self.next_check:
            self.check()

    def _clock(self) -> tuple[float, float]:
        """(now, the deadline), starting the clock at the first call."""
        now = time.monotonic()
        if self.deadline is None:
            self.deadline = now + self.limits.max_seconds
        return now, self.deadline

    def check(self) -> None:
        """Raise when the step or time budget is gone (called every 1,024 steps)."""
        if self.steps > self.limits.max_steps:
            raise EvaluationLimitError(
                f"evaluation stopped after {self.limits.max_steps:,} steps "
                "(loop iterations, filter tests or function calls); limit MLC_EVAL_MAX_STEPS")
        now, deadline = self._clock()
        if now > deadline:
            raise EvaluationLimitError(
                f"evaluation stopped after {self.limits.max_seconds:g} s; limit "
                "MLC_EVAL_MAX_SECONDS")
        self.next_check = min(self.steps + _CHECK_EVERY, self.limits.max_steps + 1)

    def seconds_left(self) -> float:
        now, deadline = self._clock()
        return max(deadline - now, 0.001)

    def size(self, count: int, what: str) -> None:
        """Refuse to build (or expand) a value of ``count`` items, or more than ten times
        ``max_items`` in all (memory is then bounded even when many large values live)."""
        check_size(count, what, self.limits)
        self.built += count
        if self.built > 10 * self.limits.max_items:
            raise EvaluationLimitError(
                f"evaluation stopped: it built more than {10 * self.limits.max_items:,} "
                "items of lists and strings in all (10 x MLC_EVAL_MAX_ITEMS)")


def check_size(count: int, what: str, limits: EvaluationLimits | None = None) -> None:
    """Raise when a value of ``count`` items (characters, list items, digits) is too large."""
    limit = (limits or _limits).max_items
    if count > limit:
        raise EvaluationLimitError(
            f"evaluation stopped: {what} of {count:,} items is larger than the limit of "
            f"{limit:,} (MLC_EVAL_MAX_ITEMS)")
