"""Configuration from the environment (and optionally ``mlc.toml``), as DESIGN.md §6 lists it.

Secrets are held here and nowhere else; ``Settings.public()`` is what may be shown or logged.
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

from engine.budget import EvaluationLimits
from engine.errors import ConfigurationError
from engine.outcome import OUTCOME_VARIABLE

SECRET_FIELDS = {"api_token", "jira_token", "jira_webhook_secret", "servicenow_password",
                 "servicenow_webhook_secret", "slack_webhook", "secrets"}
SECRET_PREFIX = "MLC_SECRET_"  # automation secrets: MLC_SECRET_<NAME>, one variable each


@dataclass
class Settings:
    database_url: str = "sqlite:///var/mlc.db"
    api_token: str | None = None
    tickets: str = "local"
    jira_url: str | None = None
    jira_user: str | None = None
    jira_token: str | None = None
    jira_project: str = "MLC"
    jira_webhook_secret: str | None = None
    servicenow_url: str | None = None
    servicenow_user: str | None = None
    servicenow_password: str | None = None
    servicenow_webhook_secret: str | None = None
    slack_webhook: str | None = None
    data_roots: list[str] = field(default_factory=list)
    allow_scripts: bool = False
    ticket_poll_interval: float = 60.0
    # Importable modules whose ``register_handlers(handlers)`` adds in-process topic handlers
    handler_modules: list[str] = field(default_factory=list)
    # Model packages: where per-model environments are cached, how they are built, how long
    # a build may take; where uploaded artifacts are stored (a folder or s3://bucket/prefix).
    model_envs: str = "var/model-envs"
    model_env_installer: str = "auto"
    model_env_timeout: float = 900.0
    artifact_store: str = "var/artifact-store"
    # The budget of every FEEL / JUEL evaluation (engine.budget): steps, items, seconds.
    eval_max_steps: int = 1_000_000
    eval_max_items: int = 1_000_000
    eval_max_seconds: float = 5.0
    outcome_variable: str = OUTCOME_VARIABLE  # what instance summaries show as outcome
    # Where git model sources are checked out (jobs, online serving).
    model_cache: str = "var/model-cache"
    # An S3-compatible endpoint (MinIO...) for s3:// job files; None: AWS.
    s3_endpoint_url: str | None = None
    # Where automation builds go; None: automation-builds in the first data root.
    automation_builds: str | None = None
    # The automation secret store: every MLC_SECRET_<NAME> variable, by its full name
    # (environment only, never mlc.toml).
    secrets: dict[str, str] = field(default_factory=dict)

    @classmethod
    def from_env(cls, environ: dict[str, str] | None = None,
                 toml_path: str | Path | None = None) -> Settings:
        """Read ``mlc.toml`` (if present) then ``MLC_*`` variables, which win."""
        env = dict(os.environ if environ is None else environ)
        values: dict[str, Any] = {}
        path = Path(toml_path or env.get("MLC_CONFIG", "mlc.toml"))
        if path.is_file():
            try:
                values.update(tomllib.loads(path.read_text()))
            except tomllib.TOMLDecodeError as exc:
                raise ConfigurationError(f"{path}: {exc}") from exc
        known = {f.name: f for f in fields(cls) if f.name != "secrets"}
        unknown = sorted(set(values) - set(known))
        if unknown:
            raise ConfigurationError(f"{path}: unknown setting(s) {', '.join(unknown)}")
        for name in known:
            raw = env.get("MLC_" + name.upper())
            if raw is not None and raw != "":
                values[name] = raw
        if isinstance(values.get("data_roots"), str):
            values["data_roots"] = [p for p in values["data_roots"].split(os.pathsep) if p]
        if isinstance(values.get("handler_modules"), str):
            values["handler_modules"] = [m.strip() for m in values["handler_modules"].split(",")
                                         if m.strip()]
        if isinstance(values.get("allow_scripts"), str):
            values["allow_scripts"] = values["allow_scripts"].strip().lower() in ("1", "true", "yes")
        for name in ("ticket_poll_interval", "model_env_timeout"):
            if isinstance(values.get(name), str):
                try:
                    values[name] = float(values[name])
                except ValueError as exc:
                    raise ConfigurationError(
                        f"MLC_{name.upper()} must be a number of seconds") from exc
        for name, kind in (("eval_max_steps", int), ("eval_max_items", int),
                           ("eval_max_seconds", float)):
            values[name] = _positive(values.get(name, getattr(cls, name)), kind,
                                     "MLC_" + name.upper())
        settings = cls(**values, secrets=secrets_from(env))
        if settings.model_env_installer not in ("auto", "uv", "pip"):
            raise ConfigurationError("MLC_MODEL_ENV_INSTALLER must be auto, uv or pip, not "
                                     f"{settings.model_env_installer!r}")
        if settings.tickets not in ("local", "jira", "servicenow"):
            raise ConfigurationError(
                f"MLC_TICKETS must be local, jira or servicenow, not {settings.tickets!r}")
        return settings

    def evaluation_limits(self) -> EvaluationLimits:
        """The evaluation budget these settings give (see engine.budget)."""
        return EvaluationLimits(self.eval_max_steps, self.eval_max_items, self.eval_max_seconds)

    def public(self) -> dict[str, Any]:
        """The settings with every secret masked: safe to log or return over the API.

        URLs keep their host but lose any ``user:password@`` written into them."""
        out = {}
        for f in fields(self):
            value = getattr(self, f.name)
            if f.name in SECRET_FIELDS and value:
                value = "***"
            elif f.name.endswith("_url") and isinstance(value, str):
                value = _without_password(value)
            out[f.name] = value
        return out


def secrets_from(environ: Mapping[str, str]) -> dict[str, str]:
    """The ``MLC_SECRET_<NAME>`` variables of ``environ`` (empty ones left out)."""
    return {k: v for k, v in environ.items() if k.startswith(SECRET_PREFIX) and v}


def _positive(raw: Any, kind: type, name: str) -> Any:
    try:
        value = kind(raw)
    except (TypeError, ValueError) as exc:
        raise ConfigurationError(f"{name} must be a positive {kind.__name__}, not {raw!r}") \
            from exc
    if not value > 0:
        raise ConfigurationError(f"{name} must be positive, not {raw!r}")
    return value


def _without_password(url: str) -> str:
    """``postgresql://mlc:secret@db/mlc`` -> ``postgresql://***@db/mlc``."""
    scheme, sep, rest = url.partition("://")
    userinfo, at, host = rest.rpartition("@")
    if not sep or not at or "/" in userinfo:
        return url
    return f"{scheme}://***@{host}"
