"""Every cockpit page renders what it is about (Flask's test client over a real database)."""

from __future__ import annotations

import re

import pytest

from tests.support.cockpit import world  # noqa: F401  (fixture)
from web.cockpit import data


def page(world, path: str, status: int = 200) -> str:
    response = world.client.get(path)
    assert response.status_code == status, response.text[:2000]
    return response.text


def test_dashboard_counts_and_links_to_every_page(world):
    html = page(world, "/")
    assert 'href="/instances?status=incident"' in html and 'href="/incidents"' in html
    assert world.ids["ticket"] in html and "Model test failed: churn" in html
    for path in ("/processes", "/instances", "/incidents", "/tickets", "/models", "/decisions",
                 "/automations", "/modeler", "/api/docs", "/runtimes", "/jobs",
                 "/notifications"):
        assert f'href="{path}"' in html, path
    assert '"started": [' in html  # the throughput chart's data


def test_process_pages(world):
    assert "flow" in page(world, "/processes") and "review" in page(world, "/processes")
    html = page(world, "/processes/flow")
    # the diagram's data: one instance at the task, with its open incident
    assert '"incidents": {"call": 1}' in html and '"waiting": {"call": 1}' in html
    definition = world.instance(world.ids["flow"]).definition_id
    assert f"/definitions/{definition}/diagram.bpmn" in html
    xml = world.client.get(f"/definitions/{definition}/diagram.bpmn")
    assert xml.status_code == 200 and xml.mimetype == "application/xml"
    assert b'id="flow"' in xml.data
    heat = world.client.get(f"/definitions/{definition}/heat.json")
    assert heat.status_code == 200 and heat.json == {"s": 1}  # one instance passed the start
    page(world, "/definitions/nope/heat.json", 404)
    page(world, "/processes/flow?version=7", 404)
    page(world, "/processes/nope", 404)
    page(world, "/definitions/nope/diagram.bpmn", 404)


def test_instance_pages(world):
    html = page(world, f"/instances/{world.ids['flow']}")
    assert "the model registry is down" in html and "bk-1" in html
    assert '"active": ["call"]' in html and f"/incidents/{world.ids['incident']}/retry" in html
    assert "<code>endpoint</code>" in html and "String" in html  # typed variables
    assert "cockpit.call" in html  # its external task
    listing = page(world, "/instances?status=incident")
    assert world.ids["flow"][:8] in listing and world.ids["review"][:8] not in listing
    assert "1 found" in listing
    page(world, "/instances?status=bogus", 400)
    page(world, "/instances/no-such-instance", 404)
    assert world.ids["incident"] in page(world, "/incidents")
    assert "No resolved incidents" in page(world, "/incidents?show=resolved")


def test_instance_page_shows_the_tail_of_its_history(world, monkeypatch):
    """The timeline lists entries oldest first with their time, kind, activity and details;
    a long history shows only its newest entries and says how many there are in all."""
    html = page(world, f"/instances/{world.ids['flow']}")
    history = html[html.index('id="h-history"'):]
    started = history.index("<strong>instance.started</strong>")
    called = history.index("<strong>activity.started</strong>")
    assert started < called and "<code>call</code>" in history[called:]
    assert re.search(r'<span class="muted">\d{4}-\d\d-\d\d \d\d:\d\d:\d\d</span> '
                     r'<strong>instance.started', history)
    assert "&#34;topic&#34;: &#34;cockpit.call&#34;" in history

    everything = world.application.engine.history(world.ids["flow"])
    assert len(everything) > 2 and f"{len(everything)} entries" in history
    whole = data.instance
    monkeypatch.setattr(data, "instance", lambda instance_id: whole(instance_id, 2))
    history = page(world, f"/instances/{world.ids['flow']}")
    history = history[history.index('id="h-history"'):]
    assert f"the last 2 of {len(everything)} entries" in history
    assert history.count("<li class=") == 2 and everything[-1].kind in history
    assert "<strong>instance.started</strong>" not in history


def test_registry_pages(world):
    ids = world.ids
    assert "churn" in page(world, "/models")
    html = page(world, f"/models/{ids['model']}")
    assert "history-data" in html and "roc_auc" in html and ids["deployment"][:8] in html
    html = page(world, f"/snapshots/{ids['snapshot']}")
    assert "Confusion matrix" in html and ">48<" in html and "0.9100" in html
    assert "batch-dev" in page(world, "/runtimes")
    assert "batch only" in page(world, "/runtimes")
    assert "Batch jobs score it" in page(world, f"/deployed-models/{ids['deployment']}")
    assert ids["job"][:8] in page(world, "/jobs")
    assert "test.csv" in page(world, f"/jobs/{ids['job']}")
    fragment = world.client.get(f"/jobs/{ids['job']}", headers={"HX-Request": "true"})
    assert 'hx-trigger="every 2s"' in fragment.text and "<nav" not in fragment.text
    page(world, "/models/nope", 404)
    page(world, "/snapshots/nope", 404)


def test_decision_pages(world):
    assert "classification_approval" in page(world, "/decisions")
    html = page(world, "/decisions/classification_approval")
    assert "<code>roc_auc</code>" in html and "<code>STAGE</code>" in html
    dmn = world.client.get("/decisions/classification_approval/diagram.dmn")
    assert dmn.status_code == 200 and b"classification_approval" in dmn.data
    page(world, "/decisions/nope", 404)


def test_ticket_pages(world):
    html = page(world, "/tickets")
    assert world.ids["ticket"] in html and "Model test failed: churn" in html
    html = page(world, f"/tickets/{world.ids['ticket']}")
    assert "Approve (Done)" in html and 'type="date"' in html and "Reject" in html
    page(world, "/tickets/NOPE-9", 404)


def test_automation_and_other_pages(world):
    html = page(world, "/automations")
    assert "churn-daily" in html and "0 0 * * *" in html and "Run now" in html
    assert "Last runs" in page(world, "/automations/churn-daily")
    page(world, "/automations/nope", 404)
    assert "None sent yet" in page(world, "/notifications")
    assert 'data-spec-url="/api/openapi.json"' in page(world, "/api/docs")
    assert "flow" in page(world, "/modeler")
    html = page(world, "/modeler/flow")
    assert "modeler-data" in html and "cockpit.call" in html  # the deployed XML to edit


@pytest.mark.parametrize("path", ["/", "/processes/flow", "/tickets", "/api/docs"])
def test_pages_carry_security_headers_and_no_cdn(world, path):
    response = world.client.get(path)
    csp = response.headers["Content-Security-Policy"]
    assert "script-src 'self'" in csp and "frame-ancestors 'none'" in csp
    assert response.headers["Cache-Control"] == "no-store"
    assert "https://" not in response.text.split("<main")[0]  # nothing loads from elsewhere


def test_static_vendor_files_are_served(world):
    for path in ("/static/vendor/bpmn-js/bpmn-navigated-viewer.production.min.js",
                 "/static/vendor/modeler/mlc-modeler.min.js",
                 "/static/vendor/swagger-ui/swagger-ui-bundle.js",
                 "/static/cockpit/cockpit.css"):
        response = world.client.get(path)
        assert response.status_code == 200, path
        response.close()
