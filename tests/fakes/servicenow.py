"""A fake ServiceNow Table API: ``/api/now/table/<table>`` query, create and update.

Supports the encoded-query subset the connector sends (``a=b`` joined by ``^`` and
``fieldNOT INx,y``), ``sysparm_display_value=true`` (state labels), and basic auth.
"""

from __future__ import annotations

import base64
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from flask import Flask, jsonify, request

from .server import FakeServerState, ServerThread, install_recorder

STATE_LABELS = {"1": "New", "2": "In Progress", "3": "On Hold", "6": "Resolved", "7": "Closed",
                "8": "Canceled"}


@dataclass
class FakeServiceNowState(FakeServerState):
    user: str = "mlc.integration"
    password: str = "snow-secret-password"
    records: dict[str, dict[str, dict[str, Any]]] = field(default_factory=dict)
    counter: int = 0

    def set_state(self, number: str, state: str, table: str = "incident", **columns: Any) -> None:
        """Change a record as a ServiceNow user would."""
        with self.lock:
            record = self.find(number, table)
            record["state"] = state
            record.update(columns)

    def find(self, number: str, table: str = "incident") -> dict[str, Any]:
        return next(r for r in self.records.get(table, {}).values() if r["number"] == number)


def create_servicenow_app(state: FakeServiceNowState) -> Flask:
    app = Flask("fake_servicenow")
    install_recorder(app, state)
    base = "/api/now/table/<table>"

    @app.before_request
    def _auth():
        expected = "Basic " + base64.b64encode(
            f"{state.user}:{state.password}".encode()).decode()
        if request.headers.get("Authorization") != expected:
            return jsonify({"error": {"message": "User Not Authenticated"}}), 401
        return None

    def shown(record: dict[str, Any]) -> dict[str, Any]:
        if request.args.get("sysparm_display_value") == "true":
            return {**record, "state": STATE_LABELS.get(record["state"], record["state"])}
        return dict(record)

    @app.get(base)
    def query(table: str):
        keep = _encoded_query(request.args.get("sysparm_query", ""))
        limit = int(request.args.get("sysparm_limit", "10000"))
        found = [shown(r) for r in state.records.get(table, {}).values() if keep(r)]
        return jsonify({"result": found[:limit]})

    @app.post(base)
    def create(table: str):
        with state.lock:
            state.counter += 1
            sys_id = uuid.uuid4().hex
            record = {"sys_id": sys_id, "number": f"INC{10000 + state.counter:07d}",
                      "state": "1", "comments": "", **request.get_json()}
            state.records.setdefault(table, {})[sys_id] = record
        return jsonify({"result": shown(record)}), 201

    @app.patch(f"{base}/<sys_id>")
    def update(table: str, sys_id: str):
        record = state.records.get(table, {}).get(sys_id)
        if record is None:
            return jsonify({"error": {"message": "No Record found"}}), 404
        with state.lock:
            changes = dict(request.get_json())
            if "comments" in changes:
                changes["comments"] = (record["comments"] + "\n" + changes["comments"]).strip()
            record.update(changes)
        return jsonify({"result": shown(record)})

    return app


def _encoded_query(query: str):
    tests = []
    for part in filter(None, query.split("^")):
        if "NOT IN" in part:
            column, values = part.split("NOT IN", 1)
            tests.append(lambda r, c=column, vs=values.split(","): str(r.get(c)) not in vs)  # noqa: B008
        else:
            column, value = part.split("=", 1)
            tests.append(lambda r, c=column, v=value: str(r.get(c)) == v)
    return lambda record: all(t(record) for t in tests)


@contextmanager
def running_fake_servicenow(state: FakeServiceNowState | None = None
                            ) -> Iterator[tuple[str, FakeServiceNowState]]:
    state = state or FakeServiceNowState()
    with ServerThread(create_servicenow_app(state)) as server:
        yield server.url, state
