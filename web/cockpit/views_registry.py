"""Decisions, models, jobs, the reviewer's ticket inbox, automations, notifications and the
API docs. Thin views: data comes from :mod:`.data`, input from :mod:`.forms`."""

from __future__ import annotations

import json
from datetime import date
from typing import Any

from flask import Response, render_template, request
from flask.typing import ResponseReturnValue

from engine.errors import ValidationError

from . import data, forms
from .blueprint import bp, done

AUTOMATION_ACTIONS = {"pause": "paused", "resume": "resumed", "run-now": "started"}


# -- decisions ------------------------------------------------------------------------------

@bp.route("/decisions")
def decisions() -> str:
    return render_template("cockpit/decisions.html", decisions=data.decisions())


@bp.route("/decisions/<key>", methods=["GET", "POST"])
def decision(key: str) -> str:
    found = data.decision(key)
    result, values = None, {}
    if request.method == "POST":
        values = {i["expression"]: request.form.get(f"in-{n}", "")
                  for n, i in enumerate(found["inputs"])}
        variables = {k: _decision_value(v) for k, v in values.items() if k and v.strip()}
        variables.update(forms.assignments("extra"))
        result = data.evaluate(key, variables)
    return render_template("cockpit/decision.html", d=found, result=result, values=values)


def _decision_value(raw: str) -> Any:
    try:
        return json.loads(raw)
    except ValueError:
        return raw


@bp.route("/decisions/<key>/diagram.dmn")
def decision_diagram(key: str) -> Response:
    return Response(data.decision_xml(key), mimetype="application/xml")


# -- models, runtimes, jobs -----------------------------------------------------------------

@bp.route("/models")
def models() -> str:
    return render_template("cockpit/models.html", models=data.models())


@bp.route("/models/<model_id>")
def model(model_id: str) -> str:
    return render_template("cockpit/model.html", m=data.model(model_id))


@bp.route("/snapshots/<snapshot_id>")
def snapshot(snapshot_id: str) -> str:
    return render_template("cockpit/snapshot.html", s=data.snapshot(snapshot_id))


@bp.route("/runtimes")
def runtimes() -> str:
    return render_template("cockpit/runtimes.html", r=data.runtimes())


@bp.route("/deployed-models/<deployment_id>", methods=["GET", "POST"])
def deployment(deployment_id: str) -> str:
    found = data.deployment(deployment_id)
    predictions, records_text = None, request.form.get("records", "")
    if request.method == "POST":
        try:
            records = json.loads(records_text)
        except ValueError as exc:
            raise ValidationError(f"records: not valid JSON ({exc})") from None
        if isinstance(records, dict):
            records = [records]
        if not isinstance(records, list) or not all(isinstance(r, dict) for r in records):
            raise ValidationError("records: a JSON object, or a list of objects, one per row")
        predictions = data.predict(deployment_id, records)
    elif found["features"]:
        records_text = json.dumps({f: 0 for f in found["features"]}, indent=1)
    return render_template("cockpit/deployment.html", d=found, predictions=predictions,
                           records=records_text)


@bp.route("/jobs")
def jobs() -> str:
    return render_template("cockpit/jobs.html", jobs=data.jobs(
        request.args.get("type") or None, request.args.get("state") or None))


@bp.route("/jobs/<job_id>")
def job(job_id: str) -> str:
    found = data.job(job_id)
    template = "cockpit/_job_status.html" if request.headers.get("HX-Request") else "cockpit/job.html"
    return render_template(template, job=found)


# -- tickets --------------------------------------------------------------------------------

@bp.route("/tickets")
def tickets() -> str:
    return render_template("cockpit/tickets.html", open_tickets=data.open_tickets(),
                           decided=data.decided_tickets())


@bp.route("/tickets/<key>")
def ticket(key: str) -> str:
    return render_template("cockpit/ticket.html", t=data.ticket(key),
                           next_year=date.today().replace(year=date.today().year + 1).isoformat())


@bp.route("/tickets/<key>/approve", methods=["POST"])
def approve(key: str) -> ResponseReturnValue:
    expiration = forms.text("expiration_date", max_length=32)
    if expiration:
        try:
            date.fromisoformat(expiration)
        except ValueError:
            raise ValidationError(f"expiration_date: {expiration!r} is not a date "
                                  "(YYYY-MM-DD)") from None
    fields = {"Expiration Date": expiration} if expiration else {}
    comment = forms.text("comment", max_length=2000)
    if comment:
        fields["Comment"] = comment
    outcome = data.decide_ticket(key, "Done", fields)
    return done(_decided("approved", key, outcome), "cockpit.ticket", key=key)


@bp.route("/tickets/<key>/reject", methods=["POST"])
def reject(key: str) -> ResponseReturnValue:
    reason = forms.text("reason", required=True, max_length=2000)
    outcome = data.decide_ticket(key, "Rejected", {"Rejection Reason": reason})
    return done(_decided("rejected", key, outcome), "cockpit.ticket", key=key)


def _decided(verb: str, key: str, outcome: dict[str, Any]) -> str:
    resolution = outcome["resolution"] or {}
    resumed = resolution.get("instance_ids") or []
    tail = f"; process {resumed[0][:8]} resumed" if resumed else ""
    return f"{key} {verb}{tail}"


# -- automations, notifications, API docs ---------------------------------------------------

@bp.route("/automations")
def automations() -> str:
    return render_template("cockpit/automations.html", automations=data.automations())


@bp.route("/automations/<name>")
def automation(name: str) -> str:
    return render_template("cockpit/automation.html", a=data.automation(name))


@bp.route("/automations/<name>/<action>", methods=["POST"])
def automation_action(name: str, action: str) -> ResponseReturnValue:
    if action not in AUTOMATION_ACTIONS:
        raise ValidationError(f"unknown action {action!r}: pause, resume or run-now")
    data.automation_action(name, action)
    return done(f"Automation {name} {AUTOMATION_ACTIONS[action]}", "cockpit.automation", name=name)


@bp.route("/notifications")
def notifications() -> str:
    return render_template("cockpit/notifications.html", notifications=data.notifications())


@bp.route("/api/docs")
def api_docs() -> str:
    return render_template("cockpit/api_docs.html")
