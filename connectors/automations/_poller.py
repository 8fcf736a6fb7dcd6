"""Metric triggers: evaluate each active metric automation's SQL every ``poll_seconds`` and
start a run when the value crosses the threshold; re-arm when it crosses back.

Safe with several pollers (``mlc serve`` processes) on one database: a poller first claims the
evaluation with a conditional UPDATE of ``checked_at`` (only one wins per interval), and fires
only through a conditional UPDATE of ``armed`` from true to false (only one wins per
crossing). A value that stays crossed fires once; a NULL/no-row result changes nothing.
"""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Any

from sqlalchemy import or_, update

from engine import clock
from engine.db import affected_rows

from ._declarations import MetricBasedTrigger, is_sql_threshold
from ._errors import MetricQueryError
from ._service import AutomationService
from ._sql import MetricQueryRunner
from ._tables import AutomationRow

log = logging.getLogger("mlc.automations")


class MetricTriggerPoller:
    """``poll_once()`` is the hook ``mlc serve`` calls (``services.automation_poller``)."""

    def __init__(self, service: AutomationService, sql: MetricQueryRunner | None = None) -> None:
        self.service = service
        self.sql = sql or MetricQueryRunner(service.db)

    def poll_once(self) -> list[dict[str, Any]]:
        """Evaluate what is due; return one entry per evaluation (name, value, fired...)."""
        results = []
        for row in self.service.metric_rows():
            try:
                result = self._evaluate(row)
            except Exception:
                log.exception("metric trigger of automation %s failed", row.name)
                continue
            if result is not None:
                results.append(result)
        return results

    def _claim(self, row: AutomationRow, interval: int) -> bool:
        now = clock.now()
        with self.service.db.write_session() as s:
            claimed = s.execute(update(AutomationRow).where(
                AutomationRow.id == row.id, AutomationRow.status == "active",
                or_(AutomationRow.checked_at.is_(None),
                    AutomationRow.checked_at <= now - timedelta(seconds=interval)))
                .values(checked_at=now))
        return affected_rows(claimed) == 1

    def _evaluate(self, row: AutomationRow) -> dict[str, Any] | None:
        trigger = self.service.automation(row.name).trigger
        if not isinstance(trigger, MetricBasedTrigger) or not self._claim(row, trigger.poll_seconds):
            return None
        what = f"metric {trigger.name!r} of automation {row.name}"
        try:
            value = self.sql.value(trigger.metric.sql_query, what)
            threshold = (self.sql.value(trigger.threshold, f"threshold of {what}")
                         if is_sql_threshold(trigger.threshold) else float(trigger.threshold))
        except MetricQueryError as exc:
            log.warning("%s", exc.message)
            return {"name": row.name, "error": exc.message, "fired": False}
        crossed = (value is not None and threshold is not None
                   and trigger.direction.holds(value, threshold))
        fired = False
        with self.service.db.write_session() as s:
            s.execute(update(AutomationRow).where(AutomationRow.id == row.id)
                      .values(last_value=value))
            if crossed:
                fired = affected_rows(s.execute(update(AutomationRow).where(
                    AutomationRow.id == row.id, AutomationRow.armed.is_(True))
                    .values(armed=False))) == 1
            elif value is not None and threshold is not None:
                s.execute(update(AutomationRow).where(AutomationRow.id == row.id)
                          .values(armed=True))
        instance_id = None
        if fired:
            try:
                instance_id = self.service.start_run(row, {
                    "TRIGGER": "metric", "TRIGGER_METRIC": trigger.name,
                    "TRIGGER_VALUE": value, "TRIGGER_THRESHOLD": threshold,
                    "TRIGGER_DIRECTION": trigger.direction.value}).id
                log.info("automation %s: %s = %s crossed %s %s; run %s started", row.name,
                         trigger.name, value, trigger.direction.value, threshold, instance_id)
            except Exception:
                with self.service.db.write_session() as s:  # let the next poll try again
                    s.execute(update(AutomationRow).where(AutomationRow.id == row.id)
                              .values(armed=True))
                raise
        return {"name": row.name, "value": value, "threshold": threshold, "crossed": crossed,
                "fired": fired, "instance_id": instance_id}
