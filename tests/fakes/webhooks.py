"""A webhook receiver standing in for Slack and for users' custom webhooks.

Records every request (method, path, query, headers, JSON body) and answers with whatever
``state.answer`` says, so tests can play Slack's ``ok`` or its ``invalid_payload`` errors.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from flask import Flask, Response

from .server import FakeServerState, ServerThread, install_recorder


@dataclass
class FakeWebhookState(FakeServerState):
    answer_status: int = 200
    answer_body: str = "ok"


def create_webhook_app(state: FakeWebhookState) -> Flask:
    app = Flask("fake_webhooks")
    install_recorder(app, state)

    @app.route("/", defaults={"path": ""}, methods=["GET", "POST", "PUT", "PATCH", "DELETE"])
    @app.route("/<path:path>", methods=["GET", "POST", "PUT", "PATCH", "DELETE"])
    def receive(path: str):
        return Response(state.answer_body, status=state.answer_status, content_type="text/plain")

    return app


@contextmanager
def running_webhook_receiver(state: FakeWebhookState | None = None
                             ) -> Iterator[tuple[str, FakeWebhookState]]:
    state = state or FakeWebhookState()
    with ServerThread(create_webhook_app(state)) as server:
        yield server.url, state
