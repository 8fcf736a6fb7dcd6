"""Every cockpit form does what it says, refuses bad input with a 400 naming the problem and
changes nothing then, and refuses a missing or forged CSRF token."""

from __future__ import annotations

from tests.support.cockpit import ROOT, world  # noqa: F401  (fixture)


def history_kinds(world, instance_id):
    return [h.kind for h in world.application.engine.history(instance_id)]


def test_every_form_refuses_a_missing_or_forged_csrf_token(world):
    flow = world.ids["flow"]
    for action in ("/processes/flow/start", f"/instances/{flow}/terminate",
                   f"/incidents/{world.ids['incident']}/retry",
                   f"/tickets/{world.ids['ticket']}/approve", "/modeler/validate",
                   "/automations/churn-daily/pause"):
        for token in (None, "forged"):
            data = {"csrf_token": token} if token else {}
            response = world.client.post(action, data=data)
            assert response.status_code == 400, action
            assert "Form expired or forged" in response.text
    assert world.instance(flow).status == "incident"
    assert world.application.engine.list_instances(key="flow", limit=10).__len__() == 1


def test_start_with_typed_variables_and_refused_input(world):
    response = world.submit("/processes/flow", "/processes/flow/start",
                            {"business_key": "bk-2", "variables": "retries = 3\nurl = http://x\n"
                             'flags = {"a": true}'})
    assert response.status_code == 303
    instance_id = response.headers["Location"].rsplit("/", 1)[1]
    variables = world.instance(instance_id).variables
    assert variables == {"retries": 3, "url": "http://x", "flags": {"a": True}}
    refused = world.submit("/processes/flow", "/processes/flow/start", {"variables": "no equals"})
    assert refused.status_code == 400 and "line 1" in refused.text
    assert len(world.application.engine.list_instances(key="flow")) == 2


def test_edit_variable_is_typed_and_audited(world):
    flow = world.ids["flow"]
    page = f"/instances/{flow}"
    done = world.submit(page, f"{page}/variables", {"name": "retries", "type": "Integer",
                                                     "value": "5", "reason": "more tries"})
    assert done.status_code == 303
    assert world.instance(flow).variables["retries"] == 5
    [audit] = [h for h in world.application.engine.history(flow) if h.kind == "operator.set_variables"]
    assert audit.data == {"names": ["retries"], "reason": "more tries"}
    bad = world.submit(page, f"{page}/variables", {"name": "retries", "type": "Integer",
                                                    "value": "five"})
    assert bad.status_code == 400 and "Integer" in bad.text
    bad = world.submit(page, f"{page}/variables", {"name": "x", "type": "Json", "value": "{"})
    assert bad.status_code == 400 and "not valid JSON" in bad.text
    assert world.instance(flow).variables["retries"] == 5


def test_retry_incident_then_message_completes_the_instance(world):
    flow = world.ids["flow"]
    world.ids["fail"]["on"] = False
    retried = world.submit(f"/instances/{flow}", f"/incidents/{world.ids['incident']}/retry",
                           {"next": f"/instances/{flow}"})
    assert retried.status_code == 303 and retried.headers["Location"] == f"/instances/{flow}"
    world.drain()
    assert world.instance(flow).active_activities == ["wait_go"]
    again = world.submit(f"/instances/{flow}", f"/incidents/{world.ids['incident']}/retry")
    assert again.status_code == 409
    sent = world.submit(f"/instances/{flow}", f"/instances/{flow}/message",
                        {"name": "go", "business_key": "bk-1", "variables": "approved = true"})
    assert sent.status_code == 303
    done = world.instance(flow)
    assert done.status == "completed" and done.variables["approved"] is True
    missing = world.submit("/processes", f"/instances/{flow}/message", {"name": "go"})
    assert missing.status_code == 404


def test_signal_and_terminate(world):
    review = world.ids["review"]
    sent = world.submit("/", "/signals", {"name": "nobody.listens", "next": "/incidents"})
    assert sent.status_code == 303 and sent.headers["Location"] == "/incidents"
    follow = world.client.get("/incidents")
    assert "Signal sent: 0 started, 0 resumed" in follow.text
    outside = world.submit("/", "/signals", {"name": "x", "next": "https://evil.example/"})
    assert outside.headers["Location"] == "/"
    assert world.submit("/", "/signals", {"name": ""}).status_code == 400
    done = world.submit(f"/instances/{review}", f"/instances/{review}/terminate",
                        {"reason": "duplicate"})
    assert done.status_code == 303 and world.instance(review).status == "terminated"
    assert "instance.terminated" in history_kinds(world, review)
    again = world.submit("/processes", f"/instances/{review}/terminate")
    assert again.status_code == 409


def test_deploy_upload(world):
    xml = (ROOT / "processes" / "run_batch_job.bpmn").read_bytes()
    import io

    done = world.submit("/processes", "/processes/deploy",
                        {"files": (io.BytesIO(xml), "run_batch_job.bpmn")},
                        content_type="multipart/form-data")
    assert done.status_code == 303
    assert "Deployed run_batch_job v1" in world.client.get("/processes").text
    broken = world.submit("/processes", "/processes/deploy",
                          {"files": (io.BytesIO(b"<bpmn:definitions"), "broken.bpmn")},
                          content_type="multipart/form-data")
    assert broken.status_code == 400 and "broken.bpmn" in broken.text
    empty = world.submit("/processes", "/processes/deploy", {}, content_type="multipart/form-data")
    assert empty.status_code == 400 and "choose at least one" in empty.text


def test_modeler_validates_with_located_problems_and_deploys_a_new_version(world):
    definition = world.instance(world.ids["flow"]).definition_id
    xml = world.client.get(f"/definitions/{definition}/diagram.bpmn").data
    token = world.token_of("/modeler/flow")
    headers = {"X-CSRFToken": token, "Content-Type": "application/xml"}
    ok = world.client.post("/modeler/validate?file=flow.bpmn", data=xml, headers=headers)
    assert ok.status_code == 200 and ok.json == {"valid": True, "problems": []}
    broken = xml.replace(b'camunda:topic="cockpit.call"', b'camunda:topic=""')
    checked = world.client.post("/modeler/validate?file=flow.bpmn", data=broken, headers=headers)
    assert checked.json["valid"] is False
    assert [p["element_id"] for p in checked.json["problems"]] == ["call"]
    assert checked.json["problems"][0]["line"]
    refused = world.client.post("/modeler/deploy?file=flow.bpmn", data=broken, headers=headers)
    assert refused.status_code == 400 and refused.json["deployed"] is False
    assert [d.version for d in world.application.engine.list_definitions(key="flow")] == [1]
    edited = xml.replace(b'name="Wait for go"', b'name="Wait for the go"')
    deployed = world.client.post("/modeler/deploy?file=flow.bpmn", data=edited, headers=headers)
    assert deployed.status_code == 200 and deployed.json["deployed"] is True
    assert [d.version for d in world.application.engine.list_definitions(key="flow")] == [1, 2]
    no_token = world.client.post("/modeler/deploy?file=flow.bpmn", data=edited,
                                 headers={"Content-Type": "application/xml"})
    assert no_token.status_code == 400


def test_decision_evaluate_shows_matched_rules(world):
    page = "/decisions/classification_approval"
    result = world.submit(page, page, {"in-0": '"PROD"', "in-1": "0.9", "in-2": "0.9"})
    assert result.status_code == 200
    assert "Matched rules" in result.text and '"matched": [' in result.text
    assert "meet the PROD thresholds" in result.text
    failing = world.submit(page, page, {"in-0": "PROD", "in-1": "0.5", "in-2": "0.5"})
    assert "below the" in failing.text


def test_reviewer_approves_and_the_process_resumes(world):
    key, review = world.ids["ticket"], world.ids["review"]
    page = f"/tickets/{key}"
    bad = world.submit(page, f"{page}/approve", {"expiration_date": "next year"})
    assert bad.status_code == 400 and "YYYY-MM-DD" in bad.text
    assert world.instance(review).status == "waiting"
    done = world.submit(page, f"{page}/approve", {"expiration_date": "2031-01-31",
                                                   "comment": "fine"})
    assert done.status_code == 303
    assert "approved; process" in world.client.get(page).text
    finished = world.instance(review)
    assert finished.status == "completed"
    assert finished.variables["TICKET_FIELDS"]["Expiration Date"] == "2031-01-31"
    twice = world.submit("/processes", f"{page}/reject", {"reason": "changed my mind"})
    assert twice.status_code == 409 and "already decided" in twice.text


def test_reject_needs_a_reason(world):
    page = f"/tickets/{world.ids['ticket']}"
    assert world.submit(page, f"{page}/reject", {"reason": " "}).status_code == 400
    done = world.submit(page, f"{page}/reject", {"reason": "AUC too low"})
    assert done.status_code == 303
    assert world.instance(world.ids["review"]).variables["TICKET_STATUS"] == "Rejected"


def test_automation_actions(world):
    page = "/automations"
    assert world.submit(page, "/automations/churn-daily/pause").status_code == 303
    assert "paused" in world.client.get("/automations/churn-daily").text
    assert world.submit(page, "/automations/churn-daily/resume").status_code == 303
    started = world.submit(page, "/automations/churn-daily/run-now", {"next": "/automations"})
    assert started.status_code == 303
    runs = world.application.services.automations.runs("churn-daily")
    assert len(runs) == 1
    assert world.submit(page, "/automations/churn-daily/explode").status_code == 400
    assert world.submit(page, "/automations/nope/pause").status_code == 404


def test_predict_form_refuses_bad_records_and_batch_deployments(world):
    page = f"/deployed-models/{world.ids['deployment']}"
    bad = world.submit("/processes", page, {"records": "{not json"})
    assert bad.status_code == 400 and "not valid JSON" in bad.text
    batch = world.submit("/processes", page, {"records": '{"x": 1}'})
    assert batch.status_code == 409
