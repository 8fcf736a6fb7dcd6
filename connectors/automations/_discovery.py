"""Finding the automations declared in the Python files of a folder.

Each file is imported on its own under a private module name (the folder is put on
``sys.path`` while importing, so files may import their neighbours), and every failure --
a syntax error, an exception, even ``SystemExit`` -- is reported for that file while the
others are still read. Importing runs the file's code, as with any Python configuration:
register only folders you trust. Hidden folders, virtual environments and ``__pycache__``
are skipped.
"""

from __future__ import annotations

import hashlib
import importlib.util
import sys
import traceback
from dataclasses import dataclass, field
from pathlib import Path

from ._declarations import Automation

SKIPPED_DIRS = {"__pycache__", ".venv", "venv", "node_modules", "site-packages"}


@dataclass
class Discovery:
    automations: list[tuple[Automation, str]] = field(default_factory=list)
    errors: dict[str, str] = field(default_factory=dict)
    files: list[str] = field(default_factory=list)


def python_files(folder: Path) -> list[Path]:
    folder = Path(folder)
    if folder.is_file():
        return [folder]
    return sorted(p for p in folder.rglob("*.py")
                  if not any(part.startswith(".") or part in SKIPPED_DIRS
                             for part in p.relative_to(folder).parts[:-1]))


def discover(folder: Path) -> Discovery:
    """Every ``Automation`` bound at module level in the files under ``folder``."""
    folder = Path(folder).resolve()
    if not folder.exists():
        raise FileNotFoundError(f"{folder} does not exist")
    found = Discovery()
    root = folder if folder.is_dir() else folder.parent
    for path in python_files(folder):
        rel = str(path.relative_to(root))
        found.files.append(rel)
        module_name = "mlc_automation_" + hashlib.sha1(str(path).encode()).hexdigest()[:12]
        sys.path.insert(0, str(path.parent))
        try:
            spec = importlib.util.spec_from_file_location(module_name, path)
            if spec is None or spec.loader is None:
                raise ImportError(f"cannot import {path}")
            module = importlib.util.module_from_spec(spec)
            spec.loader.exec_module(module)
        except BaseException as exc:  # noqa: BLE001 - report per file, go on with the rest
            if isinstance(exc, KeyboardInterrupt):
                raise
            found.errors[rel] = _describe(exc, path)
            continue
        finally:
            sys.path.remove(str(path.parent))
            sys.modules.pop(module_name, None)
        seen: set[int] = set()
        for value in vars(module).values():
            candidates = value if isinstance(value, (list, tuple)) else [value]
            for item in candidates:
                if isinstance(item, Automation) and id(item) not in seen:
                    seen.add(id(item))
                    found.automations.append((item, rel))
    return found


def _describe(exc: BaseException, path: Path) -> str:
    frames = [f for f in traceback.extract_tb(exc.__traceback__) if f.filename == str(path)]
    where = f" (line {frames[-1].lineno})" if frames else ""
    if isinstance(exc, SyntaxError):
        where = f" (line {exc.lineno})"
        return f"SyntaxError{where}: {exc.msg}"
    message = getattr(exc, "message", None) or str(exc)
    return f"{type(exc).__name__}{where}: {message}"
