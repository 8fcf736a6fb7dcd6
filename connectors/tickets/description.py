"""What a ticket says: summary and a readable description built from process variables.

Reviewers never see the engine, so the ticket must carry everything they decide on. The
builder reads these process variables (all optional; absent ones are left out):

=====================  ==================================================================
``MODEL_ID``           registry id of the model
``MODEL_NAME``         human name of the model
``MODEL_VERSION``      model version (or ``SNAPSHOT_VERSION``)
``SNAPSHOT_ID``        registry id of the snapshot under review
``SNAPSHOT_NAME``      human name of the snapshot
``TEST_RESULTS``       dict of metrics (nested dicts are flattened as ``a.b``) -> a table
``CHANGES``            what changed since the last approved snapshot (text, list or dict)
``JOB_ID``             the training / metrics / scoring job concerned
``JOB_ERROR``          why that job failed (text, or dict with ``message`` / ``traceback``)
``FAILURE_DETAILS``    further failure text (e.g. the failing DMN rules)
``MODEL_TEST_REPORT``  report of the model's own tests (``model.run-tests``) -> counts and
                       the failing tests' output
``REJECTION_REASON``   why a reviewer or a decision rejected the snapshot
``ERROR_CODE``         a BPMN error code (kind ``error``)
``ERROR_MESSAGE``      its message
``TICKET_SUMMARY``     overrides the generated one-line summary
``TICKET_NOTES``       free text put first in the description
=====================  ==================================================================

Rendering is separate from content: Jira gets wiki markup (``||head||`` tables, ``{code}``),
the local back end and ServiceNow get plain text.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

MAX_METRIC_ROWS = 60
MAX_CELL_CHARS = 200
MAX_TEXT_CHARS = 8000

KIND_TITLES = {
    "test_failure": "Model test failed",
    "review": "Review requested",
    "rejection": "Snapshot rejected",
    "error": "Process error",
}


@dataclass(frozen=True)
class Section:
    """One block of the description: ``text``, ``table`` (rows of pairs) or ``code``."""

    title: str
    style: str
    text: str = ""
    rows: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True)
class TicketContent:
    summary: str
    sections: tuple[Section, ...] = field(default_factory=tuple)


def build_ticket_content(kind: str, variables: Mapping[str, Any], *,
                         process_key: str | None = None,
                         instance_id: str | None = None) -> TicketContent:
    """The summary and sections of a ``kind`` ticket for the given process variables."""
    model = _model_label(variables)
    title = KIND_TITLES.get(kind, kind.replace("_", " ").capitalize())
    summary = str(variables.get("TICKET_SUMMARY") or (f"{title}: {model}" if model else title))
    sections: list[Section] = []

    notes = variables.get("TICKET_NOTES")
    if notes:
        sections.append(Section("Notes", "text", _text(notes)))

    details = [(label, str(variables[name])) for label, name in (
        ("Model", "MODEL_NAME"), ("Model id", "MODEL_ID"), ("Model version", "MODEL_VERSION"),
        ("Snapshot", "SNAPSHOT_NAME"), ("Snapshot id", "SNAPSHOT_ID"),
        ("Snapshot version", "SNAPSHOT_VERSION"), ("Job id", "JOB_ID"),
    ) if variables.get(name) not in (None, "")]
    if process_key:
        details.append(("Process", process_key))
    if instance_id:
        details.append(("Process instance", instance_id))
    if details:
        sections.append(Section("Model", "table", rows=tuple(details)))

    if variables.get("CHANGES") not in (None, "", [], {}):
        sections.append(Section("What changed", "text", _text(variables["CHANGES"])))

    metrics = variables.get("TEST_RESULTS")
    if isinstance(metrics, Mapping) and metrics:
        sections.append(Section("Test results", "table", rows=tuple(_metric_rows(metrics))))
    elif metrics not in (None, "", [], {}):
        sections.append(Section("Test results", "code", _text(metrics)))

    failure = _failure_text(variables)
    if failure:
        sections.append(Section("Failure details", "code", failure))

    report = variables.get("MODEL_TEST_REPORT")
    if isinstance(report, Mapping) and report:
        sections.extend(_model_test_sections(report))

    if variables.get("REJECTION_REASON"):
        sections.append(Section("Rejection reason", "text", _text(variables["REJECTION_REASON"])))

    if kind == "error" and (variables.get("ERROR_CODE") or variables.get("ERROR_MESSAGE")):
        text = ": ".join(str(variables[n]) for n in ("ERROR_CODE", "ERROR_MESSAGE")
                         if variables.get(n))
        sections.append(Section("Error", "text", text))

    return TicketContent(summary=summary[:255], sections=tuple(sections))


def render_plain(content: TicketContent) -> str:
    """Plain text (Markdown-flavoured) for the local back end and ServiceNow."""
    parts: list[str] = []
    for section in content.sections:
        parts.append(f"## {section.title}")
        if section.style == "table":
            width = max(len(k) for k, _ in section.rows)
            parts.extend(f"{k.ljust(width)}  {v}" for k, v in section.rows)
        else:
            parts.append(section.text)
        parts.append("")
    return "\n".join(parts).strip() + "\n" if parts else ""


def render_jira(content: TicketContent) -> str:
    """Jira wiki markup (REST API v2): headings, tables and code blocks render in the issue."""
    parts: list[str] = []
    for section in content.sections:
        parts.append(f"h3. {section.title}")
        if section.style == "table":
            head = ("Metric", "Value") if section.title == "Test results" else ("Field", "Value")
            parts.append(f"||{head[0]}||{head[1]}||")
            parts.extend(f"|{_jira_cell(k)}|{_jira_cell(v)}|" for k, v in section.rows)
        elif section.style == "code":
            parts.append("{code}\n" + section.text + "\n{code}")
        else:
            parts.append(section.text)
        parts.append("")
    return "\n".join(parts).strip() + "\n" if parts else ""


def _model_label(variables: Mapping[str, Any]) -> str:
    name = variables.get("MODEL_NAME") or variables.get("MODEL_ID") or ""
    version = variables.get("MODEL_VERSION") or variables.get("SNAPSHOT_VERSION")
    label = f"{name} v{version}" if name and version else str(name)
    snapshot = variables.get("SNAPSHOT_NAME") or variables.get("SNAPSHOT_ID")
    return f"{label} (snapshot {snapshot})" if label and snapshot else label


def _metric_rows(metrics: Mapping[str, Any], prefix: str = "") -> list[tuple[str, str]]:
    rows: list[tuple[str, str]] = []
    for name, value in metrics.items():
        label = f"{prefix}{name}"
        if isinstance(value, Mapping) and value:
            rows.extend(_metric_rows(value, prefix=label + "."))
        else:
            rows.append((label, _cell(value)))
        if len(rows) >= MAX_METRIC_ROWS:
            rows = rows[:MAX_METRIC_ROWS]
            rows.append(("…", "more metrics left out"))
            break
    return rows


def _cell(value: Any) -> str:
    if isinstance(value, float):
        text = f"{value:.6g}"
    elif isinstance(value, (str, int, bool)) or value is None:
        text = str(value)
    else:
        text = json.dumps(value, default=str)
    return text if len(text) <= MAX_CELL_CHARS else text[:MAX_CELL_CHARS - 1] + "…"


def _jira_cell(text: str) -> str:
    # A bare "|" would split the cell; an empty cell collapses the table row.
    return text.replace("|", "\\|") or " "


def _text(value: Any) -> str:
    if isinstance(value, str):
        text = value
    elif isinstance(value, (list, tuple)):
        text = "\n".join(f"- {_cell(v) if not isinstance(v, str) else v}" for v in value)
    elif isinstance(value, Mapping):
        text = "\n".join(f"- {k}: {_cell(v)}" for k, v in value.items())
    else:
        text = str(value)
    return text if len(text) <= MAX_TEXT_CHARS else text[:MAX_TEXT_CHARS - 1] + "…"


def _model_test_sections(report: Mapping[str, Any]) -> list[Section]:
    """The report of ``test_model.py``: a table of what ran, then each failing test's output."""
    rows = [(label, _cell(report[name])) for label, name in (
        ("Status", "status"), ("Passed", "passed"), ("Failed", "failed"), ("Errors", "errors"),
        ("Skipped", "skipped"), ("Duration (s)", "duration"), ("Why it could not run", "reason"),
    ) if report.get(name) not in (None, "")]
    environment = report.get("environment")
    if isinstance(environment, Mapping) and environment.get("requirements"):
        rows.append(("Environment", _cell(", ".join(map(str, environment["requirements"])))))
    sections = [Section("Model tests", "table", rows=tuple(rows))]
    failures = [f for f in report.get("failures") or () if isinstance(f, Mapping)]
    if failures:
        text = "\n\n".join(f"{f.get('test')}: {f.get('message', '')}\n{f.get('output', '')}"
                           for f in failures)
        sections.append(Section("Failing tests", "code", _text(text)))
    return sections


def _failure_text(variables: Mapping[str, Any]) -> str:
    parts: list[str] = []
    error = variables.get("JOB_ERROR")
    if isinstance(error, Mapping):
        parts.extend(str(error[k]) for k in ("message", "traceback") if error.get(k))
        if not parts:
            parts.append(_text(error))
    elif error:
        parts.append(str(error))
    if variables.get("FAILURE_DETAILS"):
        parts.append(_text(variables["FAILURE_DETAILS"]))
    text = "\n".join(parts)
    return text if len(text) <= MAX_TEXT_CHARS else text[:MAX_TEXT_CHARS - 1] + "…"
