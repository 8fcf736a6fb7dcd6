"""The cockpit in a real Chromium (Debian's, driven by Playwright) against a real ``mlc serve``
with the sample model that ``mlc setup`` registers, behind MLC_API_TOKEN.

A reviewer signs in, sees the deploy process drawn by bpmn-js with the instance waiting at the
review, approves MLC-1 in the inbox and sees the instance complete; an operator retries an
incident from the instance page; a process edited in the modeler is deployed as version 2.
Every page is screenshot into ``$MLC_BROWSER_ARTIFACTS`` (default: a temporary folder,
printed) at 1280 px and at a phone's width.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests

from tests.integration.test_serve_e2e import free_port
from tests.support.api import MODELER, ROOT

pytestmark = [pytest.mark.slow, pytest.mark.browser, pytest.mark.xdist_group("cockpit-browser")]

CHROMIUM = Path(os.environ.get("MLC_CHROMIUM", "/usr/bin/chromium"))
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]
TOKEN = "browser-test-token"
DEPLOY = "deploy_with_test_and_jira"
# dmn-js ships a development build of Inferno, which says so on the console
HARMLESS_CONSOLE = ("development build of Inferno",)

if not CHROMIUM.exists():
    pytest.skip(f"{CHROMIUM} is not installed (apt-get install chromium; .ci/run does)",
                allow_module_level=True)

playwright_api = pytest.importorskip("playwright.sync_api")


class Served:
    """``mlc setup`` then ``mlc serve`` in a temporary folder; killed in teardown."""

    def __init__(self, workdir: Path) -> None:
        self.workdir = workdir
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        data = workdir / "data"
        data.mkdir()
        self.env = {**{k: v for k, v in os.environ.items() if not k.startswith("MLC_")},
                    "MLC_DATABASE_URL": f"sqlite:///{workdir / 'mlc.db'}",
                    "MLC_DATA_ROOTS": str(data), "MLC_TICKETS": "local",
                    "MLC_API_TOKEN": TOKEN, "PYTHONPATH": str(ROOT)}
        self.setup_output = self._mlc("setup", "--base-url", self.base)
        self.log = (workdir / "serve.log").open("w+")
        self.proc = subprocess.Popen(
            [sys.executable, "-c", "from mlc.cli import main; main()", "serve", "--port",
             str(self.port), "--grace", "5"], cwd=ROOT, env=self.env, stdout=self.log,
            stderr=subprocess.STDOUT)
        self.wait(lambda: self.get("/healthz").status_code == 200, "healthy")

    def _mlc(self, *args: str) -> str:
        done = subprocess.run([sys.executable, "-c", "from mlc.cli import main; main()", *args],
                              cwd=ROOT, env=self.env, capture_output=True, text=True, timeout=300)
        assert done.returncode == 0, done.stderr
        return done.stdout + done.stderr

    def get(self, path: str, **kwargs):
        return requests.get(self.base + path, headers={"Authorization": f"Bearer {TOKEN}"},
                            timeout=10, **kwargs)

    def post(self, path: str, **kwargs):
        return requests.post(self.base + path, headers={"Authorization": f"Bearer {TOKEN}"},
                             timeout=30, **kwargs)

    def wait(self, condition, what: str, timeout: float = 120) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"mlc serve exited: {self.output()}")
            try:
                if condition():
                    return
            except requests.ConnectionError:
                pass
            time.sleep(0.25)
        raise AssertionError(f"not {what} after {timeout}s; server log:\n{self.output()[-4000:]}")

    def output(self) -> str:
        self.log.flush()
        self.log.seek(0)
        return self.log.read()

    def deploy_instance(self) -> dict:
        [found] = self.get(f"/api/process-instances?key={DEPLOY}").json()
        return found

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
        self.log.close()


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    server = Served(tmp_path_factory.mktemp("cockpit-served"))
    try:
        server.wait(lambda: server.get("/api/tickets?open=true").json(), "waiting on MLC-1", 180)
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="module")
def artifacts(tmp_path_factory) -> Path:
    folder = Path(os.environ.get("MLC_BROWSER_ARTIFACTS") or tmp_path_factory.mktemp("screens"))
    folder.mkdir(parents=True, exist_ok=True)
    print(f"cockpit screenshots in {folder}")
    return folder


@pytest.fixture(scope="module")
def browser():
    with playwright_api.sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


class Cockpit:
    """One signed-in browser context; collects console errors (CSP violations included)."""

    def __init__(self, browser, served: Served, artifacts: Path, width: int = 1280) -> None:
        self.served = served
        self.artifacts = artifacts
        self.width = width
        self.context = browser.new_context(viewport={"width": width, "height": 900})
        self.page = self.context.new_page()
        self.errors: list[str] = []
        self.page.on("console", self._console)
        self.page.on("pageerror", lambda e: self.errors.append(f"page error: {e}"))

    def _console(self, message) -> None:
        if message.type == "error" and not any(h in message.text for h in HARMLESS_CONSOLE):
            self.errors.append(f"{self.page.url}: {message.text}")

    def open(self, path: str):
        response = self.page.goto(self.served.base + path)
        assert response.status == 200, f"{path}: {response.status}"
        return self.page

    def sign_in(self) -> None:
        page = self.page
        page.goto(self.served.base + "/")
        assert page.url.startswith(self.served.base + "/signin")
        self.shot("signin")
        page.get_by_label("API token").fill("wrong")
        page.get_by_role("button", name="Sign in").click()
        assert "not this server" in page.inner_text("main")
        page.get_by_label("API token").fill(TOKEN)
        page.get_by_role("button", name="Sign in").click()
        page.wait_for_url(self.served.base + "/")
        self.errors.clear()  # the refused attempt's 401, which the browser logs

    def shot(self, name: str) -> Path:
        path = self.artifacts / f"{name}{'' if self.width == 1280 else f'-{self.width}px'}.png"
        self.page.screenshot(path=str(path), full_page=True)
        return path

    def close(self) -> None:
        self.context.close()


@pytest.fixture
def cockpit(browser, served, artifacts):
    session = Cockpit(browser, served, artifacts)
    session.sign_in()
    yield session
    errors = session.errors
    session.close()
    assert not errors, errors


def wait_rendered(page, selector: str = "#diagram[data-rendered]") -> None:
    page.wait_for_selector(selector, timeout=30_000)


def test_deploy_process_drawn_with_the_waiting_review(cockpit, served):
    instance = served.deploy_instance()
    assert instance["active_activities"] == ["Event_review_resolved"]
    page = cockpit.open(f"/processes/{DEPLOY}")
    wait_rendered(page)
    # bpmn-js drew the process's elements, and the overlay counts the waiting instance
    assert page.locator(".djs-element[data-element-id='Task_get_snapshot']").count() == 1
    assert int(page.get_attribute("#diagram", "data-rendered")) > 40
    waiting = page.locator(".djs-overlays[data-container-id='Event_review_resolved'] .count.waiting")
    assert waiting.inner_text() == "1"
    page.get_by_label("Heat map of history").check()
    page.wait_for_selector("#diagram[data-heat=shown]")
    assert page.locator(".djs-element.heat-4, .djs-element.heat-3").count() >= 1
    cockpit.shot("process-definition")

    page = cockpit.open(f"/instances/{instance['id']}")
    wait_rendered(page)
    assert page.locator("[data-element-id='Event_review_resolved'].active-token").count() == 1
    assert page.locator("[data-element-id='Task_metrics'].completed-activity").count() == 1
    assert page.locator(".djs-connection.completed-flow").count() >= 5
    cockpit.shot("instance-waiting")


def test_reviewer_approves_mlc1_and_the_instance_completes(cockpit, served):
    page = cockpit.open("/")
    page.get_by_role("link", name="Tickets", exact=True).click()
    page.get_by_role("link", name="MLC-1").first.click()
    assert "Review requested" in page.inner_text("main")
    assert "roc_auc" in page.inner_text("main")
    cockpit.shot("ticket-review")
    page.get_by_label("Expiration Date").fill("2031-06-30")
    page.get_by_role("button", name="Approve (Done)").click()
    assert re.search(r"MLC-1 approved; process \w+ resumed", page.inner_text("main"))
    instance = served.deploy_instance()
    served.wait(lambda: served.get(f"/api/process-instances/{instance['id']}").json()["status"]
                == "completed", "deployed", 120)
    page = cockpit.open(f"/instances/{instance['id']}")
    wait_rendered(page)
    assert "completed" in page.inner_text("h1")
    assert page.locator("[data-element-id='End_deployed'].completed-activity").count() == 1
    assert "OUTCOME" in page.inner_text("main") and "deployed" in page.inner_text("main")
    cockpit.shot("instance-completed")
    snapshot = instance["variables"]["SNAPSHOT_ID"]
    page = cockpit.open(f"/snapshots/{snapshot}")
    assert "2031-06-30" in page.inner_text("main")
    page.wait_for_selector("#roc-chart")
    cockpit.shot("snapshot")


def test_incident_is_retried_from_the_instance_page(cockpit, served):
    files = {"file": ("echo.bpmn", (MODELER / "echo.bpmn").read_bytes())}
    assert served.post("/api/deployments", files=files).status_code == 201
    started = served.post("/api/process-definitions/echo/start", json={"variables": {"x": 1}})
    instance_id = started.json()["id"]
    rest = served.base + "/engine-rest/external-task"
    auth = {"Authorization": f"Bearer {TOKEN}"}
    [task] = requests.post(rest + "/fetchAndLock", headers=auth, timeout=10, json={
        "workerId": "w", "maxTasks": 1, "topics": [{"topicName": "test.echo",
                                                     "lockDuration": 60000}]}).json()
    failed = requests.post(f"{rest}/{task['id']}/failure", headers=auth, timeout=10, json={
        "workerId": "w", "errorMessage": "echo service down", "retries": 0, "retryTimeout": 0})
    assert failed.status_code == 204
    page = cockpit.open(f"/instances/{instance_id}")
    wait_rendered(page)
    assert "echo service down" in page.inner_text("main")
    assert page.locator("[data-element-id='Task_echo'].incident-activity").count() == 1
    cockpit.shot("instance-incident")
    page.get_by_role("button", name="Retry incident at Task_echo").click()
    assert "Incident retried" in page.inner_text("main")
    assert "Incidents" not in [h.inner_text() for h in page.locator("h2").all()]
    assert served.get(f"/api/process-instances/{instance_id}").json()["incidents"] == []
    assert "not locked" in page.inner_text("main")  # the task is there for a worker again


def test_modeler_checks_and_deploys_version_2(cockpit, served):
    page = cockpit.open("/modeler/run_batch_job")
    wait_rendered(page, "#canvas[data-rendered]")
    assert page.locator(".bio-properties-panel").count() == 1
    # edit in the properties panel: select the first task, rename it
    page.locator(".djs-element[data-element-id='Task_find_deployment']").click()
    general = page.locator(".bio-properties-panel-group-header", has_text="General")
    if "open" not in (general.get_attribute("class") or ""):
        general.click()
    name = page.locator("#bio-properties-panel-name")
    name.fill("Find the newest batch deployment")
    name.press("Tab")
    # an invalid edit first: a service task without its topic is refused, located on the task
    page.evaluate("""() => {
        const registry = window.mlcModeler.get('elementRegistry');
        window.mlcModeler.get('modeling').updateProperties(
            registry.get('Task_resolve_data'), {'camunda:topic': ''});
    }""")
    page.get_by_role("button", name="Check against this engine").click()
    page.wait_for_selector("#modeler-problems li")
    assert "Task_resolve_data" in page.inner_text("#modeler-problems")
    assert page.locator("[data-element-id='Task_resolve_data'].problem-element").count() == 1
    cockpit.shot("modeler-problems")
    page.evaluate("() => window.mlcModeler.get('commandStack').undo()")  # the broken topic
    page.get_by_role("button", name="Check against this engine").click()
    status = playwright_api.expect(page.locator("#modeler-status"))
    status.to_contain_text("No problems", timeout=30_000)
    page.get_by_role("button", name="Deploy as a new version").click()
    status.to_contain_text("Deployed run_batch_job version 2", timeout=30_000)
    cockpit.shot("modeler-deployed")
    versions = served.get("/api/process-definitions?key=run_batch_job").json()
    assert [v["version"] for v in versions] == [1, 2]
    page.get_by_role("link", name="Open it").click()
    wait_rendered(page)
    label = page.locator(".djs-element[data-element-id='Task_find_deployment'] text").text_content()
    assert "Find the newest" in label  # version 2 carries the edit


def test_every_page_renders_at_desktop_and_phone_width(browser, served, artifacts):
    instance = served.deploy_instance()
    model = served.get("/api/models").json()[0]
    snapshot = served.get(f"/api/models/{model['id']}/snapshots").json()[-1]
    jobs = served.get("/api/jobs").json()
    pages = {"dashboard": "/", "processes": "/processes", "instances": "/instances",
             "incidents": "/incidents?show=all", "tickets": "/tickets", "models": "/models",
             "model": f"/models/{model['id']}", "decisions": "/decisions",
             "decision": "/decisions/classification_approval", "automations": "/automations",
             "modeler-index": "/modeler", "api-docs": "/api/docs", "runtimes": "/runtimes",
             "jobs": "/jobs", "job": f"/jobs/{jobs[-1]['id']}", "notifications": "/notifications",
             "instance": f"/instances/{instance['id']}", "snapshot": f"/snapshots/{snapshot['id']}"}
    for width in (1280, 390):
        session = Cockpit(browser, served, artifacts, width)
        try:
            session.sign_in()
            for name, path in pages.items():
                page = session.open(path)
                if name == "api-docs":
                    page.wait_for_selector(".opblock", timeout=30_000)
                if name == "decision":
                    page.wait_for_selector("#decision[data-rendered]", timeout=30_000)
                page.wait_for_load_state("networkidle")
                overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
                assert overflow <= 1, f"{path} is {overflow}px wider than a {width}px screen"
                session.shot(name)
            page = session.open("/decisions/classification_approval")
            page.get_by_label(re.compile("^Stage")).fill('"DEV"')
            page.get_by_label(re.compile("^AUC")).fill("0.9")
            page.get_by_label(re.compile("^F1")).fill("0.8")
            page.get_by_role("button", name="Evaluate").click()
            page.wait_for_selector("#decision .matched-rule", timeout=30_000)
            session.shot("decision-evaluated")
        finally:
            errors = session.errors
            session.close()
        assert not errors, errors


def test_pages_work_from_the_keyboard(cockpit):
    page = cockpit.open("/")
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.textContent") == "Skip to content"
    page.keyboard.press("Enter")
    assert page.evaluate("document.activeElement.id") == "main"
    # every form field on the instance and ticket pages has a label
    for path in ("/tickets/MLC-1", f"/processes/{DEPLOY}"):
        page = cockpit.open(path)
        unlabeled = page.evaluate("""() => [...document.querySelectorAll(
            'main input:not([type=hidden]), main select, main textarea')]
            .filter(e => !(e.labels && e.labels.length) && !e.getAttribute('aria-label'))
            .map(e => e.name)""")
        assert unlabeled == [], (path, unlabeled)
