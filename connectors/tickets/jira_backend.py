"""Jira tickets through the PyPI ``jira`` client.

Custom fields are named by their display name ("Expiration Date") in processes and resolved
to ``customfield_NNNNN`` through Jira's field list, fetched once per back end. The task's
idempotency key travels as a label (``mlc-idem-<hash>``) so a JQL search finds a ticket that
an earlier attempt opened before the worker died.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, TypeVar

import requests

from engine.errors import ConfigurationError, NotFoundError

from .backend import (
    DEFAULT_TERMINAL_STATUSES,
    Ticket,
    TicketBackend,
    TicketRequest,
    idempotency_tag,
    split_credentials,
)
from .errors import TicketSystemError

if TYPE_CHECKING:  # imported lazily below: the client is only needed once a call is made
    from jira import JIRA

log = logging.getLogger(__name__)
T = TypeVar("T")

MLC_LABEL = "mlc"


class JiraTicketBackend(TicketBackend):
    """Issues in one Jira project.

    Args:
        url, user, token: the Jira server and its API credentials (basic auth).
        project: the project key new issues go to.
        issue_type: default issue type (a task property may override it).
        terminal_statuses: statuses ``list_open`` leaves out.
        max_retries, timeout, max_retry_delay: bound every call, so an outage fails the task
            (and the engine retries it) instead of hanging a worker.
    """

    system = "jira"

    def __init__(self, url: str, user: str, token: str, project: str = "MLC", *,
                 issue_type: str = "Task",
                 terminal_statuses: Sequence[str] = DEFAULT_TERMINAL_STATUSES["jira"],
                 max_retries: int = 2, timeout: float | tuple[float, float] = (5.0, 30.0),
                 max_retry_delay: int = 5) -> None:
        url, url_user, url_token = split_credentials(url or "")
        user, token = user or url_user or "", token or url_token or ""
        if not url or not user or not token:
            raise ConfigurationError(
                "Jira tickets need MLC_JIRA_URL, MLC_JIRA_USER and MLC_JIRA_TOKEN")
        self.url = url.rstrip("/")  # never with credentials: it appears in errors and links
        self._user = user
        self._token = token
        self.project = project
        self.issue_type = issue_type
        self.terminal_statuses = tuple(terminal_statuses)
        self.max_retries = max_retries
        self.timeout = timeout
        self.max_retry_delay = max_retry_delay
        self._client_value: JIRA | None = None
        self._field_ids: dict[str, str] | None = None
        self._lock = threading.Lock()

    def __repr__(self) -> str:  # never show the token
        return f"JiraTicketBackend(url={self.url!r}, project={self.project!r})"

    # -- TicketBackend -------------------------------------------------------------------

    def create(self, request: TicketRequest) -> Ticket:
        labels = [MLC_LABEL, f"mlc-{request.kind.replace('_', '-')}", *request.labels]
        if request.idempotency_key:
            labels.append(idempotency_tag(request.idempotency_key))
        fields: dict[str, Any] = {
            "project": {"key": self.project},
            "summary": request.summary,
            "description": request.description,
            "issuetype": {"name": request.issue_type or self.issue_type},
            "labels": list(dict.fromkeys(labels)),
        }
        fields.update(self.field_ids_for(request.fields))
        issue = self._call("create an issue",
                           lambda c: c.create_issue(fields=fields, prefetch=False))
        return self.get(issue.key)

    def get(self, key: str) -> Ticket:
        issue = self._call(f"read {key}", lambda c: c.issue(key), not_found=key)
        return self._ticket(issue.raw)

    def find_by_idempotency_key(self, idempotency_key: str) -> Ticket | None:
        jql = f'project = "{self.project}" AND labels = "{idempotency_tag(idempotency_key)}"'
        found = self._search(jql, max_results=1)
        return found[0] if found else None

    def comment(self, key: str, body: str) -> None:
        self._call(f"comment on {key}", lambda c: c.add_comment(key, body), not_found=key)

    def transition(self, key: str, status: str, fields: dict[str, Any] | None = None) -> Ticket:
        transitions = self._call(f"list transitions of {key}", lambda c: c.transitions(key),
                                 not_found=key)
        wanted = status.strip().lower()
        match = next((t for t in transitions if t.get("name", "").lower() == wanted
                      or t.get("to", {}).get("name", "").lower() == wanted), None)
        if match is None:
            names = ", ".join(t.get("to", {}).get("name", t.get("name", "")) for t in transitions)
            raise NotFoundError(f"Jira issue {key} cannot move to {status!r} (possible: {names})")
        custom = self.field_ids_for(fields or {})
        self._call(f"transition {key}",
                   lambda c: c.transition_issue(key, match["id"], fields=custom or None),
                   not_found=key)
        return self.get(key)

    def list_open(self) -> list[Ticket]:
        done = ", ".join(f'"{s}"' for s in self.terminal_statuses)
        jql = f'project = "{self.project}" AND labels = "{MLC_LABEL}"'
        if done:
            jql += f" AND status not in ({done})"
        return self._search(jql, max_results=200)

    # -- fields by display name ----------------------------------------------------------

    def field_ids_for(self, fields_by_name: dict[str, Any]) -> dict[str, Any]:
        """``{"Expiration Date": v}`` -> ``{"customfield_10050": v}``; unknown names refused."""
        ids = self._field_id_map()
        out: dict[str, Any] = {}
        for name, value in fields_by_name.items():
            field_id = ids.get(name.lower()) or (name if name in ids.values() else None)
            if field_id is None:
                raise ConfigurationError(f"Jira has no field named {name!r}")
            out[field_id] = value
        return out

    def fields_by_name(self, raw_fields: Mapping[str, Any]) -> dict[str, Any]:
        """Custom fields of an issue (as Jira sends them) keyed by display name."""
        names = {field_id: name for name, field_id in self._field_names().items()}
        out: dict[str, Any] = {}
        for field_id, value in raw_fields.items():
            if field_id.startswith("customfield_") and value not in (None, "", []):
                out[names.get(field_id, field_id)] = _plain_value(value)
        return out

    def _field_id_map(self) -> dict[str, str]:
        return {name.lower(): field_id for name, field_id in self._field_names().items()}

    def _field_names(self) -> dict[str, str]:
        """Display name -> field id, fetched once: the field list rarely changes."""
        if self._field_ids is None:
            listed = self._call("list fields", lambda c: c.fields())
            self._field_ids = {f["name"]: f["id"] for f in listed if "name" in f and "id" in f}
        return self._field_ids

    # -- plumbing ------------------------------------------------------------------------

    def _ticket(self, raw: dict[str, Any]) -> Ticket:
        fields = raw.get("fields") or {}
        labels = fields.get("labels") or []
        kind = next((label[4:].replace("-", "_") for label in labels
                     if label.startswith("mlc-") and not label.startswith("mlc-idem-")), "")
        return Ticket(key=raw["key"], system=self.system,
                      status=(fields.get("status") or {}).get("name", ""),
                      summary=fields.get("summary") or "",
                      description=fields.get("description") or "", kind=kind,
                      fields=self.fields_by_name(fields), url=f"{self.url}/browse/{raw['key']}")

    def _search(self, jql: str, max_results: int) -> list[Ticket]:
        result = self._call("search issues", lambda c: c.search_issues(
            jql, maxResults=max_results, json_result=True, validate_query=True))
        return [self._ticket(raw) for raw in result.get("issues", [])]

    def _client(self) -> JIRA:
        with self._lock:
            if self._client_value is None:
                from jira import JIRA

                client = JIRA(self.url, basic_auth=(self._user, self._token),
                              max_retries=self.max_retries, timeout=self.timeout,
                              get_server_info=True, logging=False)
                client._session.max_retry_delay = self.max_retry_delay
                self._client_value = client
            return self._client_value

    def _call(self, what: str, fn: Callable[[Any], T], not_found: str | None = None) -> T:
        """Run ``fn(client)``; turn client errors into errors that carry no credentials.

        ``JIRAError``'s text includes the request headers (the Authorization header among them),
        so it is never chained or logged: only its status code is kept.
        """
        from jira import JIRAError

        failure: str
        status: int | None = None
        try:
            return fn(self._client())
        except JIRAError as exc:
            status = exc.status_code
            failure = f"HTTP {status}" if status else "invalid answer"
        except requests.RequestException as exc:
            failure = type(exc).__name__
        except ValueError as exc:  # a non-JSON answer from something that is not Jira
            failure = f"invalid answer ({type(exc).__name__})"
        if status == 404 and not_found:
            raise NotFoundError(f"Jira issue {not_found} does not exist")
        if status in (401, 403):
            raise ConfigurationError(
                f"Jira refused the credentials of MLC_JIRA_USER while trying to {what} "
                f"(HTTP {status})")
        raise TicketSystemError(f"Jira at {self.url} failed to {what}: {failure}")


def _plain_value(value: Any) -> Any:
    """Option fields arrive as ``{"value": ...}``, users and statuses as ``{"name": ...}``."""
    if isinstance(value, dict):
        for key in ("value", "name", "displayName", "key"):
            if key in value:
                return value[key]
    if isinstance(value, list):
        return [_plain_value(v) for v in value]
    return value
