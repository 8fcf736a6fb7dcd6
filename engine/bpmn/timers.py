"""Timer event definitions that read the engine clock and understand cron cycles.

SpiffWorkflow's own timers read the wall clock directly and know only ISO 8601; Camunda also
accepts cron in ``timeCycle`` (Quartz syntax, seconds first, ``?`` allowed). All times are UTC.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from croniter import croniter
from SpiffWorkflow.bpmn.specs.mixins.events.start_event import StartEvent
from SpiffWorkflow.util.task import TaskState
from SpiffWorkflow.bpmn.specs.event_definitions.timer import (
    CycleTimerEventDefinition,
    DurationTimerEventDefinition,
    TimeDateEventDefinition,
    TimerEventDefinition,
)

from .. import clock
from ..errors import ExpressionError


def is_cron(expression: str) -> bool:
    text = expression.strip()
    return not text.upper().startswith(("R", "P")) and len(text.split()) in (5, 6, 7)


def cron_iterator(expression: str, start: datetime) -> croniter:
    """A croniter for a Unix (5 fields) or Quartz (6-7 fields, seconds first) expression."""
    fields = expression.replace("?", "*").split()
    if len(fields) == 7:  # Quartz's optional year field is not supported by croniter
        if fields[6] not in ("*",):
            raise ExpressionError("cron year field is not supported", expression=expression)
        fields = fields[:6]
    try:
        return croniter(" ".join(fields), start, ret_type=datetime,
                        second_at_beginning=len(fields) == 6)
    except (ValueError, KeyError) as exc:
        raise ExpressionError(f"invalid cron expression: {exc}", expression=expression) from None


def parse_date(text: str) -> datetime:
    """An ISO 8601 date-time (or week date) in UTC; one without an offset *is* UTC.

    SpiffWorkflow reads an offset-less time in the server's local zone, so the same file
    would fire at different instants on differently configured machines.
    """
    text = text.strip()
    if "W" in text.upper():
        parsed = TimerEventDefinition.parse_iso_week(text)
    else:
        parsed = datetime.fromisoformat(text)
    if parsed.tzinfo is None:
        return parsed.replace(tzinfo=timezone.utc)
    return parsed.astimezone(timezone.utc)


def parse_cycle(text: str) -> tuple[int, datetime, timedelta]:
    """``R[n]/duration``, ``R[n]/start/duration`` or ``R[n]/duration/end`` ->
    (repetitions, -1 for unbounded; first due time; interval).

    A cycle without a start first falls due one interval after *the engine clock's* now
    (SpiffWorkflow uses the wall clock, which tests that move the engine clock cannot reach).
    """
    parts = text.strip().replace("--", "/").split("/")
    if not parts[0].upper().startswith("R") or len(parts) not in (2, 3):
        raise ValueError(f"{text!r} is not an ISO 8601 repeating interval such as R3/PT1H")
    cycles = int(parts[0][1:]) if parts[0][1:] else -1
    if len(parts) == 2:
        now = clock.now()
        duration = TimerEventDefinition.get_timedelta_from_start(
            TimerEventDefinition.parse_iso_duration(parts[1]), now)
        return cycles, now + duration, duration
    first, second = parts[1], parts[2]
    if first.upper().startswith("P"):
        end = parse_date(second)
        duration = TimerEventDefinition.get_timedelta_from_end(
            TimerEventDefinition.parse_iso_duration(first), end)
        return cycles, end - duration, duration
    start = parse_date(first)
    duration = TimerEventDefinition.get_timedelta_from_start(
        TimerEventDefinition.parse_iso_duration(second), start)
    return cycles, start, duration


def validate_timer_value(kind: str, value: str) -> None:
    """Raise ExpressionError when a literal timer value cannot be understood."""
    try:
        if kind == "duration":
            TimerEventDefinition.parse_iso_duration(value)
        elif kind == "date":
            parse_date(value)
        elif is_cron(value):
            cron_iterator(value, clock.now())
        else:
            parse_cycle(value)
    except ExpressionError:
        raise
    except Exception as exc:  # Spiff raises bare Exception/ValueError for bad ISO text
        raise ExpressionError(f"invalid timer {kind} {value!r}: {exc}") from None


def _evaluate(my_task, expression: str) -> str:
    value = my_task.workflow.script_engine.evaluate(my_task, expression)
    if isinstance(value, datetime):
        return value.astimezone(timezone.utc).isoformat()
    return str(value).strip()


class _OneShot:
    """A timer that fires once at a due time, computed by ``_due`` when the task first waits."""

    def _due(self, my_task) -> datetime:
        raise NotImplementedError

    def has_fired(self, my_task):
        if my_task._get_internal_data("event_fired", False):
            return True
        event_value = my_task._get_internal_data("event_value")
        if event_value is None:
            event_value = self._due(my_task).isoformat()
            my_task._set_internal_data(event_value=event_value)
        if datetime.fromisoformat(event_value) <= clock.now():
            my_task._set_internal_data(event_fired=True)
        return my_task._get_internal_data("event_fired", False)


class ClockTimeDate(_OneShot, TimeDateEventDefinition):
    def _due(self, my_task) -> datetime:
        return parse_date(_evaluate(my_task, self.expression))


class ClockDuration(_OneShot, DurationTimerEventDefinition):
    def _due(self, my_task) -> datetime:
        parsed = TimerEventDefinition.parse_iso_duration(_evaluate(my_task, self.expression))
        start = clock.now()
        return start + TimerEventDefinition.get_timedelta_from_start(parsed, start)


class ClockCycle(CycleTimerEventDefinition):
    """ISO ``R<n>/<start>/<duration>`` cycles and cron cycles (infinite)."""

    def has_fired(self, my_task):
        fired = my_task._get_internal_data("event_fired", False)
        if fired and not my_task.children and _is_start_event(my_task):
            # The engine fires a cycle start event itself (one instance per due time), but
            # Spiff predicts no children for cycle timers: without this the instance would
            # stop at its start event whenever the cycle was not already due (cron).
            for output in my_task.task_spec.outputs:
                child = my_task._add_child(output, TaskState.FUTURE)
                child.task_spec._predict(child, mask=TaskState.NOT_FINISHED_MASK)
        return fired

    def cycle_complete(self, my_task):
        event_value = my_task._get_internal_data("event_value")
        if event_value is None:
            text = _evaluate(my_task, self.expression)
            if is_cron(text):
                nxt = cron_iterator(text, clock.now()).get_next(datetime)
                event_value = {"cycles": -1, "next": nxt.isoformat(), "cron": text}
            else:
                cycles, start, duration = parse_cycle(text)
                event_value = {"cycles": cycles, "next": start.isoformat(),
                               "duration": duration.total_seconds()}
        ready = False
        if event_value["cycles"] != 0:
            next_event = datetime.fromisoformat(event_value["next"])
            if next_event <= clock.now():
                if "cron" in event_value:
                    nxt = cron_iterator(event_value["cron"], max(next_event, clock.now()))
                    event_value["next"] = nxt.get_next(datetime).isoformat()
                else:
                    event_value["next"] = (next_event + timedelta(seconds=event_value["duration"])).isoformat()
                    event_value["cycles"] -= 1
                ready = True
        else:
            # exhausted: keep the spent value (cycles 0) so a later call cannot start over
            my_task.internal_data["event_fired"] = True
        my_task._set_internal_data(event_value=event_value)
        return ready


def _is_start_event(my_task) -> bool:
    return isinstance(my_task.task_spec, StartEvent)


def next_due(my_task) -> datetime | None:
    """When a waiting timer task falls due (None when it never will again)."""
    value = my_task._get_internal_data("event_value")
    if value is None:
        return None
    if isinstance(value, dict):
        return datetime.fromisoformat(value["next"]) if value.get("cycles") != 0 else None
    return datetime.fromisoformat(value)
