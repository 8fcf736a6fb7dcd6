"""The two ways a model environment is built: ``uv`` (from PyPI, the ``uv`` package this
project depends on) or, where uv is missing, the standard library's ``venv`` plus pip.

Each installer is two commands (create the environment, install into it); running them,
their time limit and their output are :mod:`connectors.packages.environments`' business.
"""

from __future__ import annotations

import shutil
import sys
from dataclasses import dataclass
from pathlib import Path

from engine.errors import ConfigurationError

INSTALLERS = ("auto", "uv", "pip")


@dataclass(frozen=True)
class Installer:
    """How to create an environment and install requirements into it."""

    name: str
    uv: str | None = None  # the uv binary, for the uv installer

    def create(self, target: Path, base_python: str) -> list[str]:
        if self.uv:
            # --relocatable: the environment is built under a temporary name and renamed into
            # place, so nothing in it may remember the path it was built at.
            return [self.uv, "venv", "--quiet", "--relocatable", "--no-python-downloads",
                    "--python", base_python, str(target)]
        return [base_python, "-m", "venv", str(target)]

    def install(self, env_python: Path, requirements_file: Path,
                extra: tuple[str, ...]) -> list[str]:
        if self.uv:
            return [self.uv, "pip", "install", "--no-progress", "--no-python-downloads",
                    "--python", str(env_python), "-r", str(requirements_file), *extra]
        return [str(env_python), "-m", "pip", "install", "--disable-pip-version-check",
                "--no-input", "--progress-bar", "off", "-r", str(requirements_file), *extra]


def find_uv() -> str | None:
    """The uv binary: the one the ``uv`` package installed next to this Python, else PATH."""
    try:
        import uv  # the PyPI package ships the binary

        return uv.find_uv_bin()
    except (ImportError, FileNotFoundError):
        return shutil.which("uv")


def pick_installer(choice: str = "auto") -> Installer:
    """``uv`` when asked for or available (``auto``), else ``venv`` + pip.

    Raises:
        ConfigurationError: an unknown choice, or ``uv`` asked for and not installed.
    """
    if choice not in INSTALLERS:
        raise ConfigurationError(f"MLC_MODEL_ENV_INSTALLER must be one of "
                                 f"{', '.join(INSTALLERS)}, not {choice!r}")
    uv = find_uv() if choice in ("auto", "uv") else None
    if choice == "uv" and uv is None:
        raise ConfigurationError("MLC_MODEL_ENV_INSTALLER=uv but uv is not installed "
                                 "(pip install uv)")
    return Installer("uv", uv) if uv else Installer("pip")


def base_python() -> str:
    """The interpreter model environments are made from: the engine's own."""
    return sys.executable
