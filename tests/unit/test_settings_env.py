"""Every setting is read in ``mlc.settings.Settings`` and passed down: no other module of the
product reads an environment variable by name (copying the whole environment for a child
process is not a read)."""

from __future__ import annotations

import ast
from pathlib import Path

from mlc.settings import Settings, secrets_from

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("engine", "connectors", "web", "mlc")
THE_ONE_READER = ROOT / "mlc" / "settings.py"


def _is_environ(node: ast.expr) -> bool:
    """``os.environ`` or a bare ``environ`` (``from os import environ``)."""
    return (isinstance(node, ast.Attribute) and node.attr == "environ") or (
        isinstance(node, ast.Name) and node.id == "environ")


def env_reads(source: str) -> list[int]:
    """Lines that read one variable: ``os.environ[...]``, ``os.environ.get(...)``,
    ``os.getenv(...)``, or a click option's ``envvar=``."""
    lines = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Subscript) and _is_environ(node.value) \
                and isinstance(node.ctx, ast.Load):
            lines.append(node.lineno)
        elif isinstance(node, ast.Call):
            fn = node.func
            if isinstance(fn, ast.Attribute) and _is_environ(fn.value) \
                    and fn.attr in ("get", "setdefault", "pop"):
                lines.append(node.lineno)
            elif (isinstance(fn, ast.Attribute) and fn.attr == "getenv") or (
                    isinstance(fn, ast.Name) and fn.id == "getenv"):
                lines.append(node.lineno)
            elif any(k.arg in ("envvar", "auto_envvar_prefix") for k in node.keywords):
                lines.append(node.lineno)
    return lines


def test_the_finder_sees_every_kind_of_read():
    source = ("import os\nfrom os import environ, getenv\n"
              "a = os.environ['A']\nb = os.environ.get('B')\nc = os.getenv('C')\n"
              "d = getenv('D')\ne = environ.get('E')\n"
              "f = click.option('--f', envvar='F')\n"
              "child = {**os.environ, 'X': '1'}\nitems = dict(os.environ.items())\n")
    assert env_reads(source) == [3, 4, 5, 6, 7, 8]


def test_no_module_but_settings_reads_the_environment():
    found = [f"{path.relative_to(ROOT)}:{line}"
             for package in PACKAGES for path in sorted((ROOT / package).rglob("*.py"))
             if path != THE_ONE_READER
             for line in env_reads(path.read_text())]
    assert found == []


def test_settings_reads_what_the_connectors_used_to_read_themselves():
    settings = Settings.from_env({"MLC_MODEL_CACHE": "/cache", "MLC_S3_ENDPOINT_URL": "http://s3",
                                  "MLC_AUTOMATION_BUILDS": "/builds",
                                  "MLC_SECRET_GIT_TOKEN": "t0k", "MLC_SECRET_EMPTY": "",
                                  "MLC_CONFIG": "/nonexistent.toml"})
    assert (settings.model_cache, settings.s3_endpoint_url, settings.automation_builds) == (
        "/cache", "http://s3", "/builds")
    assert settings.secrets == {"MLC_SECRET_GIT_TOKEN": "t0k"}
    assert settings.public()["secrets"] == "***"
    assert secrets_from({"PATH": "/bin", "MLC_SECRET_A": "1"}) == {"MLC_SECRET_A": "1"}
