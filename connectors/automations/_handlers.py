"""The automation topics (the service tasks of ``build_and_deploy`` and ``automation_*``).

- ``automation.prepare``: the automation's name, model, trigger and condition into variables.
- ``automation.build``: clone, train, test, log metrics, register the build as a snapshot.
- ``automation.evaluate-condition``: the logged metric vs the (fixed or SQL) threshold.
- ``automation.deploy``: deploy the snapshot to the spec's environments (registry runtimes).
- ``automation.notify``: ``on_success`` / ``on_error`` (property ``status``) via Slack or a
  custom webhook, recorded in the notification feed.

Any failure of build / evaluate / deploy is a BPMN error ``AUTOMATION_FAILED`` carrying
``FAILED_STEP`` and ``ERROR_REASON``: the process routes it to ``on_error`` instead of
retrying a broken build three times. Only names, ids, metric values and reasons go into
variables; git tokens, env var values and webhook URLs stay out of history.
"""

from __future__ import annotations

import functools
import logging
import uuid
from collections.abc import Callable
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from connectors.jobs.topics import keep_lock
from connectors.registry import ModelRegistry
from engine import BpmnError, clock
from engine.errors import NotFoundError
from engine.handlers import HandlerRegistry, TaskContext

from ._build import GitBuilder
from ._declarations import is_sql_threshold
from ._notify import AutomationNotifier
from ._service import AutomationService
from ._sql import MetricQueryRunner
from ._tables import BuildMetricRow, BuildRow

log = logging.getLogger("mlc.automations")

ERROR_CODE = "AUTOMATION_FAILED"
TOPICS = ("automation.prepare", "automation.build", "automation.evaluate-condition",
          "automation.deploy", "automation.notify")


Step = Callable[["AutomationTopics", TaskContext], dict[str, Any]]


def _step(name: str) -> Callable[[Step], Step]:
    """Turn any failure of a step into the BPMN error that leads to on_error."""

    def wrap(fn: Step) -> Step:
        @functools.wraps(fn)
        def run(self: AutomationTopics, ctx: TaskContext) -> dict[str, Any]:
            try:
                return fn(self, ctx)
            except BpmnError:
                raise
            except Exception as exc:  # every failure is reported, none is retried blindly
                reason = getattr(exc, "message", None) or str(exc) or type(exc).__name__
                log.warning("automation %s: %s failed: %s", ctx.get("AUTOMATION_NAME"), name,
                            reason)
                raise BpmnError(ERROR_CODE, reason, {
                    "FAILED_STEP": name, "ERROR_REASON": reason[:2000],
                    "AUTOMATION_OUTCOME": "failed"}) from exc

        return run

    return wrap


class AutomationTopics:
    """The handlers, bound to their collaborators."""

    def __init__(self, service: AutomationService, registry: ModelRegistry, builder: GitBuilder,
                 notifier: AutomationNotifier, sql: MetricQueryRunner | None = None) -> None:
        self.service = service
        self.registry = registry
        self.builder = builder
        self.notifier = notifier
        self.sql = sql or MetricQueryRunner(service.db)

    def prepare(self, ctx: TaskContext) -> dict[str, Any]:
        # the schedule process names its automation in the local input parameter AUTOMATION
        name = ctx.get("AUTOMATION") or ctx.require("AUTOMATION_NAME")
        automation = self.service.automation(name)
        condition = automation.action.deployment_condition
        return {"AUTOMATION_NAME": name, "MODEL_ID": automation.model_id,
                "TRIGGER": ctx.get("TRIGGER") or "schedule",
                "DEPLOYMENT_CONDITION": (f"{condition.metric_name} {condition.direction.value} "
                                         f"{condition.threshold}") if condition else "always"}

    @_step("build")
    def build(self, ctx: TaskContext) -> dict[str, Any]:
        name = ctx.require("AUTOMATION_NAME")
        automation = self.service.automation(name)
        db = self.service.db
        with db.write_session() as s:
            row = s.scalar(select(BuildRow).where(BuildRow.idempotency_key == ctx.idempotency_key))
            if row is not None and row.status == "built":  # a redelivered, finished build
                return _build_variables(row)
            if row is None:
                row = BuildRow(id=str(uuid.uuid4()), automation=name,
                               model_id=automation.model_id, instance_id=ctx.instance_id,
                               idempotency_key=ctx.idempotency_key, status="running",
                               metrics={}, deployment={}, log_tail="", started_at=clock.now())
                s.add(row)
            else:
                row.status, row.reason, row.started_at = "running", None, clock.now()
            build_id = row.id
        try:
            model = self.registry.get_model(automation.model_id)
            spec = automation.action.build_spec
            with keep_lock(ctx):
                result = self.builder.build(build_id, spec, model.methodology)
            snapshot = self.registry.create_snapshot(
                model.id, str(result.code_dir), tags=spec.tags,
                metadata={"automation": name, "build_id": build_id, "git_uri": spec.git_uri,
                          "git_branch": spec.git_branch, "git_commit": result.commit,
                          "env_vars": sorted(spec.environment())},
                assets=[{"role": "ARTIFACT", "uri": str(result.artifact_dir),
                         "format": "folder"}])
            self.registry.record_test_results(snapshot.id, {**result.metrics,
                                                            "build_id": build_id})
        except Exception as exc:
            reason = getattr(exc, "message", None) or str(exc) or type(exc).__name__
            self._finish(build_id, "failed", reason=reason)
            raise BpmnError(ERROR_CODE, reason, {
                "BUILD_ID": build_id, "BUILD_STATUS": "failed", "FAILED_STEP": "build",
                "ERROR_REASON": reason[:2000], "AUTOMATION_OUTCOME": "failed"}) from exc
        with db.write_session() as s:
            row = _build_row(s, build_id)
            row.status, row.git_commit, row.snapshot_id = "built", result.commit, snapshot.id
            row.metrics, row.log_tail, row.finished_at = result.metrics, result.log_tail, clock.now()
            s.execute(delete(BuildMetricRow).where(BuildMetricRow.build_id == build_id))
            s.add_all(BuildMetricRow(build_id=build_id, automation=name,
                                     model_id=automation.model_id, name=k, value=v,
                                     logged_at=clock.now()) for k, v in result.metrics.items())
            return _build_variables(row)

    def _finish(self, build_id: str, status: str, reason: str | None = None,
                **values: Any) -> None:
        with self.service.db.write_session() as s:
            row = s.get(BuildRow, build_id)
            if row is not None:
                row.status, row.reason, row.finished_at = status, reason, clock.now()
                for key, value in values.items():
                    setattr(row, key, value)

    @_step("evaluate-condition")
    def evaluate(self, ctx: TaskContext) -> dict[str, Any]:
        automation = self.service.automation(ctx.require("AUTOMATION_NAME"))
        build_id = ctx.require("BUILD_ID")
        condition = automation.action.deployment_condition
        if condition is None:
            return {"CONDITION_MET": True, "METRIC_NAME": None, "METRIC_VALUE": None,
                    "THRESHOLD_VALUE": None, "DECISION": "no deployment condition: deploy"}
        value = self.service.build_metric(build_id, condition.metric_name)
        if value is None:
            logged = sorted(self.service.build(build_id)["metrics"] or {})
            raise BpmnError(ERROR_CODE, f"the build did not log metric {condition.metric_name!r}",
                            {"FAILED_STEP": "evaluate-condition", "AUTOMATION_OUTCOME": "failed",
                             "ERROR_REASON": f"the build did not log metric "
                                             f"{condition.metric_name!r} (logged: "
                                             f"{', '.join(logged) or 'none'})"})
        if is_sql_threshold(condition.threshold):
            threshold = self.sql.value(condition.threshold, "deployment threshold query")
            if threshold is None:
                raise ValueError("the deployment threshold query returned no value")
        else:
            threshold = float(condition.threshold)
        met = condition.direction.holds(value, threshold)
        word = "above" if condition.direction.value == "ABOVE" else "below"
        decision = (f"{condition.metric_name} = {value:g} is {'' if met else 'not '}{word} "
                    f"{threshold:g}: {'deploy' if met else 'do not deploy'}")
        return {"CONDITION_MET": met, "METRIC_NAME": condition.metric_name,
                "METRIC_VALUE": value, "THRESHOLD_VALUE": threshold, "DECISION": decision,
                **({} if met else {"AUTOMATION_OUTCOME": "built, not deployed"})}

    @_step("deploy")
    def deploy(self, ctx: TaskContext) -> dict[str, Any]:
        automation = self.service.automation(ctx.require("AUTOMATION_NAME"))
        build_id = ctx.require("BUILD_ID")
        snapshot_id = ctx.require("SNAPSHOT_ID")
        spec = automation.action.deployment_spec
        if spec.environments:
            runtimes = [self.registry.get_runtime(env) for env in spec.environments]
        else:
            snapshot = self.registry.get_snapshot(snapshot_id)
            runtimes = self.registry.match_runtimes(snapshot.stage, None)[:1]
            if not runtimes:
                raise ValueError(f"no runtime of stage {snapshot.stage} to deploy to; name "
                                 "environments in the deployment spec or add a runtime")
        deployments = [self.registry.deploy(snapshot_id, rt.id,
                                            idempotency_key=f"{ctx.idempotency_key}:{rt.id}")
                       for rt in runtimes]
        record = {"deployment_ids": [d.id for d in deployments],
                  "runtimes": [rt.name for rt in runtimes],
                  "number_of_pods": spec.number_of_pods, "cpu_fraction": spec.cpu_fraction,
                  "memory": spec.memory, "variation_name": spec.variation_name}
        self._finish(build_id, "deployed", deployment=record)
        return {"DEPLOYMENT_IDS": record["deployment_ids"], "DEPLOYED_TO": record["runtimes"],
                "AUTOMATION_OUTCOME": "deployed"}

    def notify(self, ctx: TaskContext) -> dict[str, Any]:
        status = ctx.properties.get("status") or "success"
        return self.notifier.notify(ctx, status)


def _build_row(s: Session, build_id: str) -> BuildRow:
    """The build this task started; gone only if someone deleted it while it ran."""
    row = s.get(BuildRow, build_id)
    if row is None:
        raise NotFoundError(f"build {build_id} was deleted while it ran")
    return row


def _build_variables(row: BuildRow) -> dict[str, Any]:
    return {"BUILD_ID": row.id, "BUILD_STATUS": "built", "GIT_COMMIT": row.git_commit,
            "SNAPSHOT_ID": row.snapshot_id, "BUILD_METRICS": dict(row.metrics or {})}


def register_automation_handlers(registry: HandlerRegistry, topics: AutomationTopics) -> None:
    """Register the five automation topics (the build may take as long as its timeout)."""
    registry.register("automation.prepare", topics.prepare)
    registry.register("automation.build", topics.build, timeout=4 * 3600)
    registry.register("automation.evaluate-condition", topics.evaluate)
    registry.register("automation.deploy", topics.deploy)
    registry.register("automation.notify", topics.notify)
