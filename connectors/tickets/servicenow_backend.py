"""ServiceNow incidents through the Table API, spoken with plain ``requests``.

pysnow (named by the design card) cannot co-install cleanly: it pins ``requests-oauthlib<2``
and would downgrade the ``oauthlib`` / ``requests-oauthlib`` that the ``jira`` client uses
(and pull a 2019 ``pytz``). ServiceNow's own ``pysnc`` sends requests without any timeout and
refuses non-``https`` URLs. The Table API is three calls (query, create, update), so this
module uses ``requests`` with explicit timeouts and bounded retries, behind the same
:class:`TicketBackend` interface so a client library can replace it later.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from typing import Any

import requests
from requests.adapters import HTTPAdapter
from urllib3.util.retry import Retry

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

log = logging.getLogger(__name__)

# Incident states as the out-of-the-box ``incident.state`` choice list numbers them.
STATE_CODES = {"new": "1", "in progress": "2", "on hold": "3", "resolved": "6", "closed": "7",
               "canceled": "8", "cancelled": "8"}
STATE_LABELS = {"1": "New", "2": "In Progress", "3": "On Hold", "6": "Resolved", "7": "Closed",
                "8": "Canceled"}
DEFAULT_FIELD_COLUMNS = {"Expiration Date": "u_expiration_date",
                         "Resolution code": "close_code", "Resolution notes": "close_notes"}
MLC_MARK = "MLC"


def state_label(value: Any) -> str:
    """``"6"`` or ``"Resolved"`` -> ``"Resolved"``: webhooks send either form."""
    text = str(value or "").strip()
    return STATE_LABELS.get(text, text)


class ServiceNowTicketBackend(TicketBackend):
    """Records of one ServiceNow table (``incident`` by default; ``change_request`` works too).

    Args:
        url, user, password: the instance (``https://dev000.service-now.com``) and credentials.
        table: the Table API table.
        field_columns: display name -> column, for fields processes name (e.g. the
            ``Expiration Date`` custom column).
        timeout, max_retries: bound every call so an outage fails the task instead of hanging.
    """

    system = "servicenow"

    def __init__(self, url: str, user: str, password: str, *, table: str = "incident",
                 field_columns: Mapping[str, str] | None = None,
                 terminal_statuses: Sequence[str] = DEFAULT_TERMINAL_STATUSES["servicenow"],
                 timeout: float | tuple[float, float] = (5.0, 30.0),
                 max_retries: int = 2) -> None:
        url, url_user, url_password = split_credentials(url or "")
        user, password = user or url_user or "", password or url_password or ""
        if not url or not user or not password:
            raise ConfigurationError("ServiceNow tickets need MLC_SERVICENOW_URL, "
                                     "MLC_SERVICENOW_USER and MLC_SERVICENOW_PASSWORD")
        self.url = url.rstrip("/")  # never with credentials: it appears in errors and links
        self.table = table
        self.field_columns = dict(DEFAULT_FIELD_COLUMNS if field_columns is None
                                  else field_columns)
        self.terminal_statuses = tuple(terminal_statuses)
        self.timeout = timeout
        self._session = requests.Session()
        self._session.auth = (user, password)
        self._session.headers.update({"Accept": "application/json"})
        # Only reads and updates are retried by the adapter: a retried POST could open a
        # second incident; creates are made safe by the idempotency lookup instead.
        retry = Retry(total=max_retries, backoff_factor=0.5,
                      status_forcelist=(429, 502, 503, 504),
                      allowed_methods=frozenset({"GET", "PATCH"}), raise_on_status=False)
        self._session.mount(self.url, HTTPAdapter(max_retries=retry))

    def __repr__(self) -> str:
        return f"ServiceNowTicketBackend(url={self.url!r}, table={self.table!r})"

    # -- TicketBackend -------------------------------------------------------------------

    def create(self, request: TicketRequest) -> Ticket:
        body: dict[str, Any] = {
            "short_description": request.summary,
            "description": request.description,
            "correlation_display": MLC_MARK,
        }
        if request.idempotency_key:
            body["correlation_id"] = idempotency_tag(request.idempotency_key)
        body.update(self.columns_for(request.fields))
        record = self._request("POST", f"/api/now/table/{self.table}", "create a record",
                               json=body)["result"]
        return self._ticket(record, kind=request.kind)

    def get(self, key: str) -> Ticket:
        return self._ticket(self._record(key))

    def find_by_idempotency_key(self, idempotency_key: str) -> Ticket | None:
        found = self._query(f"correlation_id={idempotency_tag(idempotency_key)}", limit=1)
        return self._ticket(found[0]) if found else None

    def comment(self, key: str, body: str) -> None:
        record = self._record(key)
        self._request("PATCH", f"/api/now/table/{self.table}/{record['sys_id']}",
                      f"comment on {key}", json={"comments": body})

    def transition(self, key: str, status: str, fields: dict[str, Any] | None = None) -> Ticket:
        code = STATE_CODES.get(status.strip().lower())
        if code is None:
            raise NotFoundError(f"ServiceNow has no incident state {status!r} "
                                f"(possible: {', '.join(sorted(set(STATE_LABELS.values())))})")
        record = self._record(key)
        body = {"state": code, **self.columns_for(fields or {})}
        updated = self._request("PATCH", f"/api/now/table/{self.table}/{record['sys_id']}",
                                f"update {key}", json=body)["result"]
        return self._ticket(updated)

    def list_open(self) -> list[Ticket]:
        done = ",".join(STATE_CODES[s.lower()] for s in self.terminal_statuses
                        if s.lower() in STATE_CODES)
        query = f"correlation_display={MLC_MARK}" + (f"^stateNOT IN{done}" if done else "")
        return [self._ticket(r) for r in self._query(query, limit=200)]

    # -- fields by display name ----------------------------------------------------------

    def columns_for(self, fields_by_name: Mapping[str, Any]) -> dict[str, Any]:
        out = {}
        for name, value in fields_by_name.items():
            column = self.field_columns.get(name)
            if column is None:
                if not name.replace("_", "").isalnum() or name.lower() != name:
                    raise ConfigurationError(f"no ServiceNow column configured for {name!r}")
                column = name  # already a column name
            out[column] = value
        return out

    def fields_by_name(self, record: Mapping[str, Any]) -> dict[str, Any]:
        return {name: _display(record[column]) for name, column in self.field_columns.items()
                if _display(record.get(column)) not in (None, "")}

    # -- plumbing ------------------------------------------------------------------------

    def _ticket(self, record: Mapping[str, Any], kind: str = "") -> Ticket:
        number = _display(record.get("number"))
        return Ticket(key=number, system=self.system, status=state_label(_display(record.get("state"))),
                      summary=_display(record.get("short_description")) or "",
                      description=_display(record.get("description")) or "", kind=kind,
                      fields=self.fields_by_name(record),
                      url=f"{self.url}/nav_to.do?uri={self.table}.do?sys_id="
                          f"{_display(record.get('sys_id'))}")

    def _record(self, key: str) -> dict[str, Any]:
        found = self._query(f"number={key}", limit=1)
        if not found:
            raise NotFoundError(f"ServiceNow record {key} does not exist")
        return found[0]

    def _query(self, query: str, limit: int) -> list[dict[str, Any]]:
        records = self._request("GET", f"/api/now/table/{self.table}", "query records",
                                params={"sysparm_query": query, "sysparm_limit": str(limit)}
                                )["result"]
        if not isinstance(records, list) or not all(isinstance(r, dict) for r in records):
            raise TicketSystemError(f"ServiceNow at {self.url} failed to query records: "
                                    "answer without a list of records")
        return records

    def _request(self, method: str, path: str, what: str, **kwargs: Any) -> dict[str, Any]:
        """One Table API call; failures become errors without credentials or raw answers."""
        params = {"sysparm_display_value": "true", "sysparm_exclude_reference_link": "true",
                  **kwargs.pop("params", {})}
        failure: str
        try:
            response = self._session.request(method, self.url + path, params=params,
                                             timeout=self.timeout, **kwargs)
            if response.status_code in (401, 403):
                raise ConfigurationError(f"ServiceNow refused the credentials of "
                                         f"MLC_SERVICENOW_USER while trying to {what} "
                                         f"(HTTP {response.status_code})")
            if response.ok:
                data = response.json()
                if isinstance(data, dict) and "result" in data:
                    return data
                failure = "answer without a result"
            else:
                failure = f"HTTP {response.status_code}"
        except requests.RequestException as exc:
            failure = type(exc).__name__
        except ValueError:
            failure = "invalid JSON answer"
        raise TicketSystemError(f"ServiceNow at {self.url} failed to {what}: {failure}")


def _display(value: Any) -> Any:
    """With ``sysparm_display_value=all`` a value is ``{"display_value", "value"}``."""
    if isinstance(value, dict) and "display_value" in value:
        return value["display_value"]
    return value
