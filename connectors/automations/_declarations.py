"""What users write in an automation file: JFrog ML-style declarations, validated on creation.

Every class checks its own fields in ``__post_init__`` and raises :class:`DeclarationError`
naming the field, so a mistake surfaces when the file is imported, not when the schedule
fires. ``to_dict`` / ``from_dict`` give the JSON stored in the database (and shown over REST);
secrets are stored as *names* (``git_access_token_secret``) and resolved only at build time.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from enum import Enum
from typing import Any

from ._errors import DeclarationError

NAME_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,99}$")
SECRET_PATTERN = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,99}$")
ENV_NAME_PATTERN = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")

INTERVALS = {"Hourly": "0 * * * *", "Daily": "0 0 * * *", "Weekly": "0 0 * * 0"}
HTTP_METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE")


class ThresholdDirection(str, Enum):  # noqa: UP042 - StrEnum changes str(member)
    """Which side of the threshold counts: a metric ABOVE 0.7, a drift score BELOW 0.1."""

    ABOVE = "ABOVE"
    BELOW = "BELOW"

    def holds(self, value: float, threshold: float) -> bool:
        return value > threshold if self is ThresholdDirection.ABOVE else value < threshold


def _direction(value: Any, where: str) -> ThresholdDirection:
    try:
        return value if isinstance(value, ThresholdDirection) else ThresholdDirection(
            str(value).upper())
    except ValueError:
        raise DeclarationError(f"{where}: direction must be ABOVE or BELOW, not {value!r}") from None


def is_sql_threshold(text: str) -> bool:
    return text.lstrip().lower().startswith(("select", "with", "("))


def _threshold(value: Any, where: str) -> str:
    """A threshold is a string holding a number (as JFrog requires) or a SQL query."""
    if not isinstance(value, str):
        raise DeclarationError(f"{where}: threshold must be a string holding a number "
                               f"(e.g. \"0.7\") or a SQL query, not {type(value).__name__}")
    text = value.strip()
    if is_sql_threshold(text):
        return text
    try:
        number = Decimal(text)
    except InvalidOperation:
        raise DeclarationError(f"{where}: threshold {value!r} is neither a number nor a SQL "
                               "query (SELECT ...)") from None
    if not number.is_finite():
        raise DeclarationError(f"{where}: threshold {value!r} must be a finite number")
    return text


def _check_sql(sql: str, where: str) -> None:
    from ._errors import MetricQueryError
    from ._sql import check_query

    try:
        check_query(sql, where)
    except MetricQueryError as exc:
        raise DeclarationError(exc.message) from None


def _cron(expression: str, where: str) -> str:
    from croniter import croniter

    text = " ".join(str(expression).split())
    if len(text.split()) != 5 or not croniter.is_valid(text):
        raise DeclarationError(f"{where}: {expression!r} is not a valid 5-field cron "
                               "expression (minute hour day month weekday, UTC)")
    return text


# ---------------------------------------------------------------------------------- triggers

@dataclass(frozen=True)
class ScheduledTrigger:
    """Run on a cron expression or a named interval (``Hourly``, ``Daily``, ``Weekly``), UTC."""

    cron: str | None = None
    interval: str | None = None

    def __post_init__(self) -> None:
        if (self.cron is None) == (self.interval is None):
            raise DeclarationError("ScheduledTrigger: give exactly one of cron= or interval=")
        if self.cron is not None:
            object.__setattr__(self, "cron", _cron(self.cron, "ScheduledTrigger.cron"))
        elif self.interval not in INTERVALS:
            raise DeclarationError(f"ScheduledTrigger.interval must be one of "
                                   f"{', '.join(INTERVALS)}, not {self.interval!r}")

    @property
    def cron_expression(self) -> str:
        """The cron expression the engine's timer start event runs on."""
        if self.cron is not None:
            return self.cron
        if self.interval is None:  # __post_init__ refuses this; said here for the type checker
            raise DeclarationError("ScheduledTrigger: give exactly one of cron= or interval=")
        return INTERVALS[self.interval]

    def next_runs(self, count: int = 3, start: datetime | None = None) -> list[datetime]:
        from croniter import croniter

        it = croniter(self.cron_expression, start or datetime.now(UTC))
        return [it.get_next(datetime) for _ in range(count)]


@dataclass(frozen=True)
class SqlMetric:
    """A metric computed by a read-only query over the analytics views (first column of the
    first row)."""

    sql_query: str

    def __post_init__(self) -> None:
        if not isinstance(self.sql_query, str) or not self.sql_query.strip():
            raise DeclarationError("SqlMetric.sql_query must be a non-empty SQL query")
        _check_sql(self.sql_query, "SqlMetric.sql_query")


@dataclass(frozen=True)
class MetricBasedTrigger:
    """Run when ``metric`` crosses ``threshold`` in ``direction``; re-armed when it crosses back.

    ``poll_seconds`` is how often the metric is evaluated (default 300).
    """

    name: str
    metric: SqlMetric
    direction: ThresholdDirection = ThresholdDirection.ABOVE
    threshold: str = "0"
    poll_seconds: int = 300

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not self.name.strip():
            raise DeclarationError("MetricBasedTrigger.name must be a non-empty string")
        if not isinstance(self.metric, SqlMetric):
            raise DeclarationError("MetricBasedTrigger.metric must be a SqlMetric")
        object.__setattr__(self, "direction", _direction(self.direction, "MetricBasedTrigger"))
        object.__setattr__(self, "threshold", _threshold(self.threshold, "MetricBasedTrigger"))
        if is_sql_threshold(self.threshold):
            _check_sql(self.threshold, "MetricBasedTrigger.threshold")
        if not isinstance(self.poll_seconds, int) or self.poll_seconds < 1:
            raise DeclarationError("MetricBasedTrigger.poll_seconds must be a positive integer")


Trigger = ScheduledTrigger | MetricBasedTrigger


# ---------------------------------------------------------------------------------- action

@dataclass(frozen=True)
class BuildSpecifications:
    """Where the model's code is and how to build it.

    ``git_uri`` is ``<repository>#<folder>`` (``file://``, a local path or ``https://``);
    the model code (``model.py``) is in ``<folder>/<main_dir>``, or in ``<folder>`` when it
    has no ``main_dir``. ``git_access_token_secret`` names a secret (environment variable
    ``MLC_SECRET_<NAME>``) used to clone and injected into the build as ``<NAME>``.
    ``env_vars`` are ``key=value`` strings. Training reads ``train.csv`` (testing
    ``test.csv``) from the model folder unless ``training_data`` / ``test_data`` name files.
    """

    git_uri: str
    git_branch: str = "main"
    git_access_token_secret: str | None = None
    main_dir: str = "main"
    tags: Sequence[str] = ()
    env_vars: Sequence[str] = ()
    training_data: str = "train.csv"
    test_data: str = "test.csv"
    label_column: str = "label"
    params: Mapping[str, Any] = field(default_factory=dict)
    timeout_seconds: int = 3600

    def __post_init__(self) -> None:
        if not isinstance(self.git_uri, str) or not self.git_uri.strip():
            raise DeclarationError("BuildSpecifications.git_uri must name a git repository")
        repo, _, folder = self.git_uri.strip().partition("#")
        if not repo:
            raise DeclarationError("BuildSpecifications.git_uri has no repository before '#'")
        if "@" in repo.split("://", 1)[-1].split("/", 1)[0]:
            raise DeclarationError("BuildSpecifications.git_uri must not embed credentials; "
                                   "use git_access_token_secret")
        for label, path in (("git_uri folder", folder), ("main_dir", self.main_dir),
                            ("training_data", self.training_data),
                            ("test_data", self.test_data)):
            if path and (path.startswith("/") or ".." in re.split(r"[\\/]", path)):
                raise DeclarationError(f"BuildSpecifications.{label} must be a relative path "
                                       f"inside the repository, not {path!r}")
        if not re.match(r"^[A-Za-z0-9][A-Za-z0-9._/-]*$", self.git_branch or ""):
            raise DeclarationError(f"BuildSpecifications.git_branch {self.git_branch!r} is "
                                   "not a valid branch name")
        if self.git_access_token_secret is not None and not SECRET_PATTERN.match(
                self.git_access_token_secret):
            raise DeclarationError("BuildSpecifications.git_access_token_secret must be a "
                                   "secret name (letters, digits, _), not a token")
        object.__setattr__(self, "tags", tuple(str(t) for t in self.tags))
        object.__setattr__(self, "env_vars", tuple(self.env_vars))
        for item in self.env_vars:
            key, sep, _value = str(item).partition("=")
            if not sep or not ENV_NAME_PATTERN.match(key):
                raise DeclarationError(f"BuildSpecifications.env_vars: {item!r} is not "
                                       "key=value (key: letters, digits, _)")
        if not isinstance(self.timeout_seconds, int) or self.timeout_seconds < 1:
            raise DeclarationError("BuildSpecifications.timeout_seconds must be positive")
        object.__setattr__(self, "params", dict(self.params))

    @property
    def repository(self) -> str:
        return self.git_uri.strip().partition("#")[0]

    @property
    def folder(self) -> str:
        return self.git_uri.strip().partition("#")[2]

    def environment(self) -> dict[str, str]:
        return dict(str(item).split("=", 1) for item in self.env_vars)


@dataclass(frozen=True)
class BuildMetric:
    """The deployment condition: a metric logged by the build compared with a threshold
    (a number in a string, or a SQL query over the analytics views for a dynamic one)."""

    metric_name: str
    direction: ThresholdDirection = ThresholdDirection.ABOVE
    threshold: str = "0"

    def __post_init__(self) -> None:
        if not isinstance(self.metric_name, str) or not self.metric_name.strip():
            raise DeclarationError("BuildMetric.metric_name must be a non-empty string")
        object.__setattr__(self, "direction", _direction(self.direction, "BuildMetric"))
        object.__setattr__(self, "threshold", _threshold(self.threshold, "BuildMetric"))
        if is_sql_threshold(self.threshold):
            _check_sql(self.threshold, "BuildMetric.threshold")


@dataclass(frozen=True)
class DeploymentSpecifications:
    """How to deploy: ``environments`` name runtimes of the registry (none: the first runtime
    matching the snapshot's stage). Pods, CPU and memory are recorded with the deployment."""

    number_of_pods: int = 1
    cpu_fraction: float = 1.0
    memory: str = "2Gi"
    variation_name: str | None = None
    environments: Sequence[str] = ()

    def __post_init__(self) -> None:
        if not isinstance(self.number_of_pods, int) or self.number_of_pods < 1:
            raise DeclarationError("DeploymentSpecifications.number_of_pods must be >= 1")
        if not isinstance(self.cpu_fraction, (int, float)) or self.cpu_fraction <= 0:
            raise DeclarationError("DeploymentSpecifications.cpu_fraction must be > 0")
        if not re.match(r"^\d+(\.\d+)?(Mi|Gi|M|G)?$", str(self.memory)):
            raise DeclarationError(f"DeploymentSpecifications.memory {self.memory!r} is not a "
                                   "size like 512Mi or 2Gi")
        object.__setattr__(self, "environments", tuple(str(e) for e in self.environments))


@dataclass(frozen=True)
class BuildAndDeploy:
    """Build from git, judge ``deployment_condition`` (None: always deploy), then deploy."""

    build_spec: BuildSpecifications
    deployment_condition: BuildMetric | None = None
    deployment_spec: DeploymentSpecifications = field(default_factory=DeploymentSpecifications)

    def __post_init__(self) -> None:
        if not isinstance(self.build_spec, BuildSpecifications):
            raise DeclarationError("BuildAndDeploy.build_spec must be BuildSpecifications")
        if self.deployment_condition is not None and not isinstance(
                self.deployment_condition, BuildMetric):
            raise DeclarationError("BuildAndDeploy.deployment_condition must be a BuildMetric")
        if not isinstance(self.deployment_spec, DeploymentSpecifications):
            raise DeclarationError("BuildAndDeploy.deployment_spec must be "
                                   "DeploymentSpecifications")


# ---------------------------------------------------------------------------------- notifications

@dataclass(frozen=True)
class SlackNotification:
    """Post to a Slack incoming webhook (the URL is a credential: never shown or logged)."""

    webhook: str

    def __post_init__(self) -> None:
        if not isinstance(self.webhook, str) or not re.match(r"^https?://", self.webhook):
            raise DeclarationError("SlackNotification.webhook must be an http(s) URL")


@dataclass(frozen=True)
class CustomWebhook:
    """Call any URL: GET puts the fields in the query string, other methods send JSON."""

    url: str
    http_method: str = "GET"
    data: Mapping[str, Any] = field(default_factory=dict)
    headers: Mapping[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not isinstance(self.url, str) or not re.match(r"^https?://", self.url):
            raise DeclarationError("CustomWebhook.url must be an http(s) URL")
        method = str(self.http_method).upper()
        if method not in HTTP_METHODS:
            raise DeclarationError(f"CustomWebhook.http_method must be one of "
                                   f"{', '.join(HTTP_METHODS)}, not {self.http_method!r}")
        object.__setattr__(self, "http_method", method)
        object.__setattr__(self, "data", dict(self.data))
        object.__setattr__(self, "headers", {str(k): str(v) for k, v in self.headers.items()})


Notification = SlackNotification | CustomWebhook


# ---------------------------------------------------------------------------------- automation

@dataclass(frozen=True)
class Automation:
    """One automation of one model: when (``trigger``), what (``action``), who to tell."""

    name: str
    model_id: str
    trigger: Trigger
    action: BuildAndDeploy
    on_success: Notification | None = None
    on_error: Notification | None = None
    description: str = ""

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not NAME_PATTERN.match(self.name):
            raise DeclarationError(f"Automation.name {self.name!r} must be 1-100 letters, "
                                   "digits, '_', '.' or '-', starting with a letter or digit")
        if not isinstance(self.model_id, str) or not self.model_id.strip():
            raise DeclarationError(f"automation {self.name}: model_id must be a non-empty string")
        if not isinstance(self.trigger, (ScheduledTrigger, MetricBasedTrigger)):
            raise DeclarationError(f"automation {self.name}: trigger must be a ScheduledTrigger "
                                   "or a MetricBasedTrigger")
        if not isinstance(self.action, BuildAndDeploy):
            raise DeclarationError(f"automation {self.name}: action must be BuildAndDeploy")
        for label in ("on_success", "on_error"):
            value = getattr(self, label)
            if value is not None and not isinstance(value, (SlackNotification, CustomWebhook)):
                raise DeclarationError(f"automation {self.name}: {label} must be a "
                                       "SlackNotification or a CustomWebhook")

    # -- storage form -------------------------------------------------------------------------

    def to_dict(self) -> dict[str, Any]:
        """The JSON stored for this automation (includes webhook URLs: never shown as is)."""
        return {"name": self.name, "model_id": self.model_id, "description": self.description,
                "trigger": _tagged(self.trigger), "action": _tagged(self.action),
                "on_success": _tagged(self.on_success), "on_error": _tagged(self.on_error)}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Automation:
        return cls(name=data["name"], model_id=data["model_id"],
                   description=data.get("description", ""),
                   trigger=_untagged(data["trigger"]), action=_untagged(data["action"]),
                   on_success=_untagged(data.get("on_success")),
                   on_error=_untagged(data.get("on_error")))


_KINDS: dict[str, type] = {c.__name__: c for c in (
    ScheduledTrigger, MetricBasedTrigger, SqlMetric, BuildAndDeploy, BuildSpecifications,
    BuildMetric, DeploymentSpecifications, SlackNotification, CustomWebhook)}


def _tagged(value: Any) -> Any:
    if value is None:
        return None
    out: dict[str, Any] = {"__kind__": type(value).__name__}
    for key, item in asdict(value).items():
        nested = getattr(value, key)
        if type(nested).__name__ in _KINDS:
            out[key] = _tagged(nested)
        elif isinstance(nested, Enum):
            out[key] = nested.value
        elif isinstance(nested, tuple):
            out[key] = list(nested)
        else:
            out[key] = item
    return out


def _untagged(data: Any) -> Any:
    if data is None:
        return None
    if not isinstance(data, Mapping) or data.get("__kind__") not in _KINDS:
        raise DeclarationError(f"stored automation part is not understood: {data!r}")
    kwargs = {k: (_untagged(v) if isinstance(v, Mapping) and "__kind__" in v else v)
              for k, v in data.items() if k != "__kind__"}
    return _KINDS[data["__kind__"]](**kwargs)
