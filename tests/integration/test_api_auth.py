"""Token auth: off by default; when MLC_API_TOKEN is set every route but /healthz needs
``Authorization: Bearer <token>`` or Basic auth with the token as password."""

from __future__ import annotations

import base64
import logging

import pytest

from tests.support.api import TOKEN, make_app


def basic(user: str, password: str) -> dict:
    raw = base64.b64encode(f"{user}:{password}".encode()).decode()
    return {"Authorization": f"Basic {raw}"}


@pytest.fixture
def secured(sqlite_database):
    return make_app(sqlite_database, token=TOKEN).test_client()


def test_auth_off_by_default(sqlite_database):
    client = make_app(sqlite_database).test_client()
    assert client.get("/api/incidents").status_code == 200
    assert client.get("/engine-rest/version").status_code == 200


@pytest.mark.parametrize("path", ["/api/incidents", "/api/openapi.json", "/metrics",
                                  "/engine-rest/version", "/engine-rest/deployment?maxResults=0",
                                  "/api/no-such-route"])
def test_every_route_but_healthz_needs_the_token(secured, path):
    r = secured.get(path)
    assert r.status_code == 401
    assert "Bearer" in r.headers["WWW-Authenticate"]
    assert secured.get(path, headers={"Authorization": f"Bearer {TOKEN}"}).status_code in (200, 404)
    assert secured.get(path, headers=basic("modeler", TOKEN)).status_code in (200, 404)


def test_wrong_credentials_are_refused(secured):
    for headers in ({"Authorization": "Bearer nope"}, {"Authorization": f"Bearer {TOKEN}x"},
                    basic(TOKEN, "wrong"), {"Authorization": "Basic !!!notbase64"},
                    {"Authorization": f"Token {TOKEN}"}, {"Authorization": TOKEN}):
        r = secured.get("/api/incidents", headers=headers)
        assert r.status_code == 401 and r.json["error"] == "unauthorized"
    r = secured.post("/engine-rest/signal", json={"name": "x"}, headers=basic("u", "bad"))
    assert r.status_code == 401 and r.json == {"type": "AuthenticationException",
                                               "message": "invalid credentials"}


def test_healthz_stays_open(secured):
    assert secured.get("/healthz").status_code == 200


def test_request_log_has_no_secrets(secured, caplog):
    with caplog.at_level(logging.INFO, logger="mlc.web"):
        secured.get("/api/incidents?x=1", headers={"Authorization": f"Bearer {TOKEN}"})
        secured.get("/api/incidents", headers=basic("u", TOKEN))
    text = caplog.text
    assert "GET /api/incidents 200" in text
    assert TOKEN not in text and base64.b64encode(f"u:{TOKEN}".encode()).decode() not in text
