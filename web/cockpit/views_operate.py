"""Operating the engine: sign-in, dashboard, processes, instances, incidents, events and the
modeler. Thin views: data comes from :mod:`.data`, input from :mod:`.forms`."""

from __future__ import annotations

from flask import Response, jsonify, redirect, render_template, request, session, url_for
from flask.typing import ResponseReturnValue
from werkzeug.wrappers import Response as WerkzeugResponse

from engine.errors import ValidationError
from engine.records import DecisionDefinitionRecord, ProcessDefinitionRecord

from . import auth, data, forms
from .blueprint import bp, done

INSTANCE_STATUSES = ("running", "waiting", "incident", "completed", "terminated")
PAGE = 50


# -- sign-in --------------------------------------------------------------------------------

@bp.route("/signin", methods=["GET", "POST"])
def signin() -> ResponseReturnValue:
    if not auth.api_token():
        return redirect(url_for("cockpit.dashboard"))
    if request.method == "GET":
        return auth.signin_page()
    if not auth.token_matches(request.form.get("token", "")):
        return auth.signin_page("That token is not this server's MLC_API_TOKEN.", 401)
    auth.sign_in()
    return redirect(auth.safe_next(request.form.get("next")), 303)


@bp.route("/signout", methods=["POST"])
def signout() -> WerkzeugResponse:
    session.clear()
    return redirect(url_for("cockpit.signin") if auth.api_token()
                    else url_for("cockpit.dashboard"), 303)


# -- dashboard ------------------------------------------------------------------------------

@bp.route("/")
def dashboard() -> str:
    return render_template("cockpit/dashboard.html", d=data.dashboard(),
                           statuses=INSTANCE_STATUSES)


# -- processes ------------------------------------------------------------------------------

@bp.route("/processes")
def processes() -> str:
    return render_template("cockpit/processes.html", processes=data.definitions())


@bp.route("/processes/deploy", methods=["POST"])
def deploy() -> ResponseReturnValue:
    result = data.deploy(forms.uploads(), forms.text("name", max_length=200))
    deployed: list[ProcessDefinitionRecord | DecisionDefinitionRecord] = [
        *result.processes, *result.decisions]
    changed = [f"{d.key} v{d.version}" for d in deployed if d.key not in result.filtered]
    message = ("Deployed " + ", ".join(changed)) if changed else "Nothing changed"
    if result.filtered:
        message += f" (unchanged: {', '.join(result.filtered)})"
    return done(message, "cockpit.processes")


@bp.route("/processes/<key>")
def process(key: str) -> str:
    version = request.args.get("version", type=int)
    return render_template("cockpit/process.html", p=data.definition(key, version))


@bp.route("/processes/<key>/start", methods=["POST"])
def start(key: str) -> ResponseReturnValue:
    instance = data.start(key, forms.assignments("variables"),
                          forms.text("business_key", max_length=255))
    return done(f"Started instance {instance.id[:8]} ({instance.status})",
                "cockpit.instance", instance_id=instance.id)


@bp.route("/definitions/<definition_id>/diagram.bpmn")
def definition_diagram(definition_id: str) -> ResponseReturnValue:
    response = Response(data.definition_xml(definition_id), mimetype="application/xml")
    response.headers["Cache-Control"] = "private, max-age=86400, immutable"  # ids never change
    return response


@bp.route("/definitions/<definition_id>/heat.json")
def definition_heat(definition_id: str) -> Response:
    return jsonify(data.heat(definition_id))


# -- instances ------------------------------------------------------------------------------

@bp.route("/instances")
def instances() -> str:
    status = request.args.get("status") or None
    if status is not None and status not in INSTANCE_STATUSES:
        raise ValidationError(f"status must be one of {', '.join(INSTANCE_STATUSES)}")
    key = request.args.get("key") or None
    business_key = request.args.get("business_key") or None
    page = max(1, request.args.get("page", 1, type=int))
    found = data.instances(status=status, key=key, business_key=business_key, limit=PAGE,
                           offset=(page - 1) * PAGE)
    return render_template("cockpit/instances.html", found=found, status=status, key=key,
                           business_key=business_key, page=page, page_size=PAGE,
                           statuses=INSTANCE_STATUSES,
                           keys=[p["key"] for p in data.definitions()])


@bp.route("/instances/<instance_id>")
def instance(instance_id: str) -> str:
    return render_template("cockpit/instance.html", i=data.instance(instance_id),
                           types=forms.VARIABLE_TYPES)


@bp.route("/instances/<instance_id>/variables", methods=["POST"])
def set_variable(instance_id: str) -> ResponseReturnValue:
    name, value = forms.typed_variable()
    reason = forms.text("reason", max_length=500) or "edited in the cockpit"
    data.set_variables(instance_id, {name: value}, reason)
    return done(f"Variable {name} set", "cockpit.instance", instance_id=instance_id)


@bp.route("/instances/<instance_id>/terminate", methods=["POST"])
def terminate(instance_id: str) -> ResponseReturnValue:
    data.terminate(instance_id, forms.text("reason", max_length=2000) or "terminated in the cockpit")
    return done("Instance terminated", "cockpit.instance", instance_id=instance_id)


@bp.route("/instances/<instance_id>/message", methods=["POST"])
def message(instance_id: str) -> ResponseReturnValue:
    business_key = forms.text("business_key", max_length=255)
    delivered = data.send_message(forms.text("name", required=True, max_length=255),
                                  business_key, forms.assignments("correlation"),
                                  forms.assignments("variables"))
    return done(f"Message delivered to {len(delivered)} instance(s)", "cockpit.instance",
                instance_id=instance_id)


# -- incidents and signals ------------------------------------------------------------------

@bp.route("/incidents")
def incidents() -> str:
    show = request.args.get("show", "open")
    if show not in ("open", "resolved", "all"):
        raise ValidationError("show must be open, resolved or all")
    return render_template("cockpit/incidents.html", show=show,
                           incidents=data.incidents(None if show == "all" else show))


@bp.route("/incidents/<incident_id>/retry", methods=["POST"])
def retry(incident_id: str) -> ResponseReturnValue:
    instance = data.retry_incident(incident_id)
    return done(f"Incident retried: instance {instance.id[:8]} is {instance.status}",
                "cockpit.incidents")


@bp.route("/signals", methods=["POST"])
def signal() -> ResponseReturnValue:
    result = data.send_signal(forms.text("name", required=True, max_length=255),
                              forms.assignments("variables"))
    return done(f"Signal sent: {len(result.started)} started, "
                f"{len(result.resumed)} resumed", "cockpit.dashboard")


# -- modeler --------------------------------------------------------------------------------

@bp.route("/modeler")
def modeler_index() -> str:
    return render_template("cockpit/modeler_index.html", processes=data.definitions())


@bp.route("/modeler/<key>")
def modeler(key: str) -> str:
    version = request.args.get("version", type=int)
    return render_template("cockpit/modeler.html", m=data.latest_xml(key, version))


def _posted_bpmn() -> list[tuple[str, bytes]]:
    """The modeler posts the diagram as the body (``application/xml``) with its file name."""
    name = request.args.get("file") or "diagram.bpmn"
    body = request.get_data()
    if not body.strip():
        raise ValidationError("no BPMN XML in the request body")
    return [(name if name.lower().endswith((".bpmn", ".bpmn20.xml")) else name + ".bpmn", body)]


@bp.route("/modeler/validate", methods=["POST"])
def modeler_validate() -> Response:
    problems = data.validate(_posted_bpmn())
    return jsonify({"valid": not problems, "problems": problems})


@bp.route("/modeler/deploy", methods=["POST"])
def modeler_deploy() -> ResponseReturnValue:
    files = _posted_bpmn()
    problems = data.validate(files)
    if problems:
        return jsonify({"deployed": False, "problems": problems}), 400
    result = data.deploy(files, name=f"{files[0][0]} (cockpit modeler)")
    return jsonify({"deployed": True, "processes": result.processes,
                    "filtered": result.filtered})
