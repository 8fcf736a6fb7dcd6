"""A model's ``requirements.model``: pinned requirements, checked, and the key of the
environment they make.

The file is a pip requirements file restricted to what keeps a cached environment honest:
every line is ``name[extras]==version`` (optionally ``; marker`` and a trailing ``# comment``).
Ranges, URLs, local paths, ``-r`` / ``-e`` and index options are refused with the line named:
an environment is cached by the file's content, so two builds of the same file must install
the same versions. (Private indexes are configured where the installer reads them:
``UV_INDEX_URL`` / ``PIP_INDEX_URL`` in the engine's environment.)
"""

from __future__ import annotations

import hashlib
import platform
import re
import sys
from dataclasses import dataclass
from pathlib import Path

from packaging.requirements import InvalidRequirement, Requirement
from packaging.utils import canonicalize_name

from engine.errors import ValidationError

REQUIREMENTS_FILE = "requirements.model"
TESTS_FILE = "test_model.py"

# What the model subprocess itself needs in every environment (it reads and writes frames,
# and runs the model's tests). Unpinned: the resolver picks versions that agree with the
# model's own pins, which always win.
RUNNER_REQUIREMENTS = ("pandas", "pyarrow", "pytest")

# Bumped when the layout of an environment changes, so old cached ones are not reused.
_KEY_VERSION = "mlc-model-env/1"


@dataclass(frozen=True)
class PinnedRequirement:
    line: int
    text: str
    name: str  # canonical (PEP 503) name

    def __str__(self) -> str:
        return self.text


@dataclass(frozen=True)
class ModelRequirements:
    """The checked content of one ``requirements.model``."""

    path: Path
    text: str
    pins: tuple[PinnedRequirement, ...]

    @property
    def key(self) -> str:
        """sha256 of the file's content, the runner's requirements and the Python it runs on:
        the identity of the environment they make."""
        digest = hashlib.sha256()
        for part in (_KEY_VERSION, python_tag(), "\n".join(RUNNER_REQUIREMENTS), self.text):
            digest.update(part.encode())
            digest.update(b"\0")
        return digest.hexdigest()

    def blame(self, installer_output: str) -> str | None:
        """The requirement an installer's error output is about (the first one it names), as
        ``'name==1.0' (line 3)``; the runner's own requirements are named as such."""
        text = _normalised(installer_output)
        named: list[tuple[int, str]] = []
        for pin in self.pins:
            found = re.search(rf"(?<![a-z0-9-]){re.escape(pin.name)}(?![a-z0-9-])", text)
            if found:
                named.append((found.start(), f"{pin.text!r} (line {pin.line})"))
        for name in RUNNER_REQUIREMENTS:
            found = re.search(rf"(?<![a-z0-9-]){name}(?![a-z0-9-])", text)
            if found and not any(p.name == name for p in self.pins):
                named.append((found.start(), f"the runner's requirement {name!r}"))
        return min(named)[1] if named else None


def python_tag() -> str:
    """The interpreter an environment is built for (environments are not portable across)."""
    return (f"{sys.implementation.name}-{sys.version_info.major}.{sys.version_info.minor}-"
            f"{platform.machine()}")


def _normalised(text: str) -> str:
    return re.sub(r"[-_.]+", "-", text.lower())


def read_requirements(model_dir: Path) -> ModelRequirements | None:
    """The model folder's ``requirements.model``, checked; None when the folder has none.

    Raises:
        ValidationError: a line is not a pinned requirement (the message names the line).
    """
    path = Path(model_dir) / REQUIREMENTS_FILE
    if not path.is_file():
        return None
    try:
        text = path.read_text()
    except (OSError, UnicodeDecodeError) as exc:
        raise ValidationError(f"{path}: cannot be read: {exc}") from exc
    return parse_requirements(text, path)


def parse_requirements(text: str, path: Path) -> ModelRequirements:
    """Check every line of a ``requirements.model`` text (see the module docstring)."""
    pins: list[PinnedRequirement] = []
    seen: dict[str, int] = {}
    for number, raw in enumerate(text.splitlines(), start=1):
        line = re.sub(r"(^|\s)#.*$", "", raw).strip()
        if not line:
            continue
        where = f"{path.name} line {number}"
        if line.startswith("-"):
            raise ValidationError(f"{where}: {line!r}: options are not supported (only "
                                  f"name==version lines; set UV_INDEX_URL / PIP_INDEX_URL "
                                  f"for a private index)")
        try:
            requirement = Requirement(line)
        except InvalidRequirement as exc:
            raise ValidationError(f"{where}: {line!r} is not a requirement: {exc}") from None
        if requirement.url:
            raise ValidationError(f"{where}: {line!r}: URLs and local paths are not "
                                  f"supported; pin a released version (name==version)")
        specs = list(requirement.specifier)
        if (len(specs) != 1 or specs[0].operator not in ("==", "===")
                or "*" in specs[0].version):
            raise ValidationError(f"{where}: {line!r} is not pinned (write "
                                  f"{requirement.name}==VERSION)")
        name = canonicalize_name(requirement.name)
        if name in seen:
            raise ValidationError(f"{where}: {requirement.name} is already pinned on line "
                                  f"{seen[name]}")
        seen[name] = number
        pins.append(PinnedRequirement(number, line, name))
    return ModelRequirements(path, text, tuple(pins))
