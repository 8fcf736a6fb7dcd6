"""A fake Jira Server (REST API v2) speaking what the ``jira`` client calls.

Endpoints: ``serverInfo``, ``field``, ``issue`` create/get/update, ``comment``,
``transitions`` get/post, and ``search`` with a small JQL subset
(``project = X``, ``labels = y``, ``status not in (a, b)``, joined by ``AND``). Basic auth is
checked; ``state.down = True`` makes every call answer 503.
"""

from __future__ import annotations

import base64
import re
import shlex
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from flask import Flask, jsonify, request

from .server import FakeServerState, ServerThread, install_recorder

FIELDS = [
    {"id": "summary", "name": "Summary", "custom": False, "clauseNames": ["summary"]},
    {"id": "status", "name": "Status", "custom": False, "clauseNames": ["status"]},
    {"id": "labels", "name": "Labels", "custom": False, "clauseNames": ["labels"]},
    {"id": "customfield_10050", "name": "Expiration Date", "custom": True,
     "clauseNames": ["cf[10050]", "Expiration Date"], "schema": {"type": "date"}},
    {"id": "customfield_10060", "name": "Model Id", "custom": True,
     "clauseNames": ["cf[10060]", "Model Id"], "schema": {"type": "string"}},
]
STATUSES = ["Open", "In Review", "Done", "Rejected"]


@dataclass
class FakeJiraState(FakeServerState):
    user: str = "bot@example.com"
    token: str = "jira-secret-token"
    issues: dict[str, dict[str, Any]] = field(default_factory=dict)
    comments: dict[str, list[str]] = field(default_factory=dict)
    counter: int = 0

    def set_status(self, key: str, status: str, **fields: Any) -> None:
        """Move an issue as a reviewer would in Jira's UI."""
        with self.lock:
            self.issues[key]["fields"]["status"] = {"name": status}
            self.issues[key]["fields"].update(fields)


def create_jira_app(state: FakeJiraState) -> Flask:
    app = Flask("fake_jira")
    install_recorder(app, state)
    api = "/rest/api/2"

    @app.before_request
    def _auth():
        expected = "Basic " + base64.b64encode(f"{state.user}:{state.token}".encode()).decode()
        if request.headers.get("Authorization") != expected:
            return jsonify({"errorMessages": ["not authenticated"]}), 401
        return None

    def issue_json(key: str) -> dict[str, Any]:
        issue = state.issues[key]
        return {"id": issue["id"], "key": key, "self": f"{request.host_url}{api[1:]}/issue/{key}",
                "fields": issue["fields"]}

    def missing(key: str):
        return jsonify({"errorMessages": [f"Issue {key} does not exist"]}), 404

    @app.get(f"{api}/serverInfo")
    def server_info():
        return jsonify({"baseUrl": request.host_url.rstrip("/"), "version": "9.12.0",
                        "versionNumbers": [9, 12, 0], "deploymentType": "Server",
                        "serverTitle": "Fake Jira"})

    @app.get(f"{api}/field")
    def fields():
        return jsonify(FIELDS)

    @app.post(f"{api}/issue")
    def create_issue():
        data = request.get_json()["fields"]
        known = {f["id"] for f in FIELDS} | {"project", "issuetype", "description"}
        unknown = sorted(set(data) - known)
        if unknown:
            return jsonify({"errors": {name: "Field cannot be set" for name in unknown}}), 400
        with state.lock:
            state.counter += 1
            key = f"{data['project']['key']}-{state.counter}"
            stored = dict(data)
            stored["status"] = {"name": "Open"}
            stored.setdefault("labels", [])
            state.issues[key] = {"id": str(10000 + state.counter), "fields": stored}
        return jsonify({"id": state.issues[key]["id"], "key": key,
                        "self": f"{request.host_url}{api[1:]}/issue/{key}"}), 201

    @app.get(f"{api}/issue/<key>")
    def get_issue(key: str):
        if key not in state.issues:
            return missing(key)
        return jsonify(issue_json(key))

    @app.put(f"{api}/issue/<key>")
    def update_issue(key: str):
        if key not in state.issues:
            return missing(key)
        with state.lock:
            state.issues[key]["fields"].update(request.get_json().get("fields", {}))
        return "", 204

    @app.post(f"{api}/issue/<key>/comment")
    def add_comment(key: str):
        if key not in state.issues:
            return missing(key)
        body = request.get_json()["body"]
        with state.lock:
            state.comments.setdefault(key, []).append(body)
            number = len(state.comments[key])
        return jsonify({"id": str(number), "body": body}), 201

    @app.get(f"{api}/issue/<key>/transitions")
    def transitions(key: str):
        if key not in state.issues:
            return missing(key)
        return jsonify({"transitions": [
            {"id": str(11 + i), "name": name, "to": {"name": name}}
            for i, name in enumerate(STATUSES)]})

    @app.post(f"{api}/issue/<key>/transitions")
    def transition(key: str):
        if key not in state.issues:
            return missing(key)
        data = request.get_json()
        index = int(data["transition"]["id"]) - 11
        if not 0 <= index < len(STATUSES):
            return jsonify({"errorMessages": ["bad transition"]}), 400
        state.set_status(key, STATUSES[index], **data.get("fields", {}))
        return "", 204

    @app.route(f"{api}/search", methods=["GET", "POST"])
    def search():
        params = request.get_json() if request.method == "POST" else request.args
        try:
            keep = _jql_filter(params["jql"])
        except ValueError as exc:
            return jsonify({"errorMessages": [str(exc)]}), 400
        found = [issue_json(k) for k in state.issues if keep(state.issues[k]["fields"])]
        return jsonify({"startAt": 0, "maxResults": 50, "total": len(found), "issues": found})

    return app


def _jql_filter(jql: str):
    """A predicate for the tiny JQL subset the connector uses; anything else is a 400."""
    tests = []
    for clause in re.split(r"\s+AND\s+", jql.strip(), flags=re.IGNORECASE):
        m = re.fullmatch(r'(\w+)\s*=\s*(.+)', clause.strip())
        if m and m.group(1) in ("project", "labels"):
            name, value = m.group(1), shlex.split(m.group(2))[0]
            if name == "project":
                tests.append(lambda f, v=value: f["project"]["key"] == v)
            else:
                tests.append(lambda f, v=value: v in f.get("labels", []))
            continue
        m = re.fullmatch(r'status\s+not\s+in\s*\((.*)\)', clause.strip(), flags=re.IGNORECASE)
        if m:
            values = [v.strip().strip('"') for v in m.group(1).split(",")]
            tests.append(lambda f, vs=values: f["status"]["name"] not in vs)
            continue
        raise ValueError(f"unsupported JQL clause {clause!r}")
    return lambda fields: all(t(fields) for t in tests)


@contextmanager
def running_fake_jira(state: FakeJiraState | None = None) -> Iterator[tuple[str, FakeJiraState]]:
    """Start a fake Jira; yields (base URL, state)."""
    state = state or FakeJiraState()
    with ServerThread(create_jira_app(state)) as server:
        yield server.url, state
