"""A small client of the native REST API (``/api``), used by ``mlc demo`` and the acceptance
tests: the same calls a user makes with curl, plus polling helpers for asynchronous work."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import requests

from engine.errors import MlcError


class ApiError(MlcError):
    """The server answered with an error (the body's message is kept)."""

    code = "api_error"


class MlcClient:
    """Calls ``base`` (e.g. ``http://127.0.0.1:8080``) with an optional bearer token."""

    def __init__(self, base: str, token: str | None = None, timeout: float = 30.0) -> None:
        self.base = base.rstrip("/")
        self.session = requests.Session()
        if token:
            self.session.headers["Authorization"] = f"Bearer {token}"
        self.timeout = timeout

    # ------------------------------------------------------------------ plumbing

    def request(self, method: str, path: str, *, expect: Iterable[int] = (200, 201),
                **kwargs: Any) -> Any:
        response = self.session.request(method, self.base + path, timeout=self.timeout, **kwargs)
        if response.status_code not in tuple(expect):
            raise ApiError(f"{method} {path} answered {response.status_code}: "
                           f"{response.text[:500]}")
        return response.json() if response.content else None

    def get(self, path: str, **params: Any) -> Any:
        return self.request("GET", path, params={k: v for k, v in params.items()
                                                 if v is not None})

    def post(self, path: str, body: Any = None, **kwargs: Any) -> Any:
        return self.request("POST", path, json=body, **kwargs)

    def wait(self, probe: Callable[[], Any], what: str, timeout: float = 60.0,
             interval: float = 0.1) -> Any:
        """Call ``probe`` until it returns something truthy; fail after ``timeout`` seconds."""
        deadline = time.monotonic() + timeout
        while True:
            found = probe()
            if found:
                return found
            if time.monotonic() > deadline:
                raise TimeoutError(f"timed out after {timeout:g}s waiting for {what}")
            time.sleep(interval)

    # ------------------------------------------------------------------ engine

    def deploy(self, paths: Iterable[Path], name: str = "mlc") -> Any:
        files = [("files", (p.name, p.read_bytes(), "application/xml")) for p in paths]
        return self.request("POST", "/api/deployments", data={"name": name}, files=files)

    def signal(self, name: str, variables: dict[str, Any] | None = None) -> dict[str, Any]:
        return _object(self.post("/api/signals", {"name": name, "variables": variables or {}}))

    def instance(self, instance_id: str) -> dict[str, Any]:
        return _object(self.get(f"/api/process-instances/{instance_id}"))

    def instances(self, key: str | None = None,
                  status: str | None = None) -> list[dict[str, Any]]:
        return _list(self.get("/api/process-instances", key=key, status=status, limit=500))

    def history(self, instance_id: str) -> list[dict[str, Any]]:
        return _list(self.get(f"/api/process-instances/{instance_id}/history"))

    def wait_instance(self, instance_id: str, until: Callable[[dict[str, Any]], bool], what: str,
                      timeout: float = 90.0) -> dict[str, Any]:
        def probe() -> dict[str, Any] | None:
            found = self.instance(instance_id)
            if found["status"] == "incident":
                raise ApiError(f"instance {instance_id} has an incident: {found['incidents']}")
            return found if until(found) else None
        return _object(self.wait(probe, what, timeout))

    def wait_ended(self, instance_id: str, timeout: float = 90.0) -> dict[str, Any]:
        return self.wait_instance(instance_id, lambda i: i["status"] in ("completed",
                                                                       "terminated"),
                                  f"instance {instance_id} to end", timeout)

    def wait_at(self, instance_id: str, activity: str, timeout: float = 90.0) -> dict[str, Any]:
        return self.wait_instance(instance_id, lambda i: activity in i["active_activities"],
                                  f"instance {instance_id} to reach {activity}", timeout)

    def started_by_snapshot(self, snapshot_id: str, key: str = "deploy_with_test_and_jira",
                            timeout: float = 30.0) -> dict[str, Any]:
        def probe() -> dict[str, Any] | None:
            return next((i for i in self.instances(key=key)
                         if i["variables"].get("SNAPSHOT_ID") == snapshot_id), None)
        return _object(self.wait(probe, f"the {key} instance of snapshot {snapshot_id}",
                                 timeout))

    def completed_activities(self, instance_id: str) -> list[str]:
        return [h["activity_id"] for h in self.history(instance_id)
                if h["kind"] == "activity.completed" and h["activity_id"]]

    # ------------------------------------------------------------------ registry

    def create_model(self, name: str, methodology: str, **extra: Any) -> dict[str, Any]:
        return _object(self.post("/api/models",
                                 {"name": name, "methodology": methodology, **extra}))

    def create_snapshot(self, model_id: str, **body: Any) -> dict[str, Any]:
        return _object(self.post(f"/api/models/{model_id}/snapshots", body))

    def snapshot(self, snapshot_id: str) -> dict[str, Any]:
        return _object(self.get(f"/api/snapshots/{snapshot_id}"))

    def create_runtime(self, name: str, stage: str, **body: Any) -> dict[str, Any]:
        return _object(self.post("/api/runtimes", {"name": name, "stage": stage, **body}))

    def deployed_models(self, **query: Any) -> list[dict[str, Any]]:
        return _list(self.get("/api/deployed-models", **query))

    def jobs(self, **query: Any) -> list[dict[str, Any]]:
        return _list(self.get("/api/jobs", **query))

    # ------------------------------------------------------------------ tickets, notifications

    def tickets(self, **query: Any) -> list[dict[str, Any]]:
        return _list(self.get("/api/tickets", **query))

    def ticket(self, key: str, system: str | None = None) -> dict[str, Any]:
        return _object(self.get(f"/api/tickets/{_ticket_path(key, system)}"))

    def transition(self, key: str, status: str, fields: dict[str, Any] | None = None,
                   system: str | None = None) -> dict[str, Any]:
        return _object(self.post(f"/api/tickets/{_ticket_path(key, system)}/transition",
                                 {"status": status, "fields": fields or {}}))

    def notifications(self, **query: Any) -> list[dict[str, Any]]:
        return _list(self.get("/api/notifications", **query))


def _object(answer: Any) -> dict[str, Any]:
    """A JSON object the server answered (an :class:`ApiError` if it answered something else)."""
    if not isinstance(answer, dict):
        raise ApiError(f"expected a JSON object, the server answered {type(answer).__name__}")
    return answer


def _list(answer: Any) -> list[dict[str, Any]]:
    """A JSON list of objects the server answered."""
    if not isinstance(answer, list) or not all(isinstance(x, dict) for x in answer):
        raise ApiError("expected a JSON list of objects, the server answered "
                       f"{type(answer).__name__}")
    return answer


def _ticket_path(key: str, system: str | None) -> str:
    """``system/key`` (a ticket's identity), or the key alone while it is unambiguous."""
    return f"{system}/{key}" if system else key
