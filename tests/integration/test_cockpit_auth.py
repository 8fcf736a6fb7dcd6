"""Signing in to the cockpit with MLC_API_TOKEN: session cookie flags, redirects that stay on
this server, Bearer auth of the API unchanged, and an open cockpit without a token."""

from __future__ import annotations

import re

from tests.support.api import make_wired_app
from tests.support.cockpit import TOKEN, guarded, world  # noqa: F401

BEARER = {"Authorization": f"Bearer {TOKEN}"}


def sign_in(client, token=TOKEN, next_path="/tickets"):
    page = client.get(f"/signin?next={next_path}")
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)
    return client.post("/signin", data={"csrf_token": csrf, "token": token, "next": next_path})


def test_pages_redirect_to_sign_in_and_the_api_still_wants_bearer(guarded):
    client = guarded.client
    response = client.get("/tickets")
    assert response.status_code == 302 and response.headers["Location"] == "/signin?next=/tickets"
    assert client.get("/api/process-instances").status_code == 401
    assert client.get("/api/process-instances", headers=BEARER).status_code == 200
    assert client.get("/tickets", headers=BEARER).status_code == 200  # a script may use Bearer
    assert client.get("/static/cockpit/cockpit.css").status_code == 200  # public assets
    refused = client.post("/processes/flow/start", data={})
    assert refused.status_code == 400  # no CSRF token: refused before anything else


def test_sign_in_sets_a_strict_http_only_session(guarded):
    client = guarded.client
    wrong = sign_in(client, token="guess")
    assert wrong.status_code == 401 and "not this server" in wrong.text
    assert client.get("/").status_code == 302
    done = sign_in(client)
    assert done.status_code == 303 and done.headers["Location"] == "/tickets"
    cookie = done.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Strict" in cookie and TOKEN not in cookie
    assert client.get("/").status_code == 200
    # the session opens the cockpit and its API document, not the API itself
    assert client.get("/api/openapi.json").status_code == 200
    assert client.get("/api/process-instances").status_code == 401
    started = guarded.submit("/processes/flow", "/processes/flow/start", {"variables": ""})
    assert started.status_code == 303
    out = guarded.submit("/", "/signout")
    assert out.status_code == 303 and out.headers["Location"] == "/signin"
    assert client.get("/").status_code == 302


def test_sign_in_never_redirects_to_another_host(guarded):
    for target in ("//evil.example/", "https://evil.example/", "/\\evil.example"):
        guarded.client.get("/")  # fresh page, fresh token
        response = sign_in(guarded.client, next_path=target)
        assert response.status_code == 303 and response.headers["Location"] == "/", target


def test_a_session_of_another_token_is_refused(guarded, sqlite_database):
    sign_in(guarded.client)
    cookie = guarded.client.get_cookie("mlc_session")
    other = make_wired_app(sqlite_database, api_token="another-token")
    try:
        client = other.test_client()
        client.set_cookie("mlc_session", cookie.value)
        assert client.get("/").status_code == 302
    finally:
        other.extensions["mlc_application"].close()


def test_without_a_token_the_cockpit_is_open_but_forms_still_need_csrf(world):
    assert world.client.get("/").status_code == 200
    assert world.client.get("/signin").status_code == 302
    assert "Sign out" not in world.client.get("/").text
    assert world.client.post("/signals", data={"name": "x"}).status_code == 400
