"""Finding a snapshot's model code on disk from its ``source``.

Accepted sources:

- a folder holding ``model.py``: an absolute path or ``file://`` URI;
- ``sample:<name>``: a model shipped in :mod:`connectors.samples` (e.g. ``sample:classifier``);
- ``<git url>#<subdir>`` (``git+https://…``, ``https://….git``, ``file://….git``): cloned once
  (shallow) into the checkout cache and reused for the same URL.

Model sources are registered by operators and *are* code that will run, so they are not
confined to the data roots; data paths are.
"""

from __future__ import annotations

import hashlib
import subprocess
from pathlib import Path

from engine.errors import ConfigurationError, ValidationError

DEFAULT_MODEL_CACHE = Path("var/model-cache")  # Settings.model_cache's default

SAMPLES_DIR = Path(__file__).resolve().parent.parent / "samples"


def _is_git(source: str) -> bool:
    base = source.split("#", 1)[0]
    return source.startswith("git+") or base.endswith(".git")


def resolve_model_dir(source: str, cache_dir: Path | None = None) -> Path:
    """The local folder of a snapshot's code; it must contain ``model.py``."""
    source = (source or "").strip()
    if source.startswith("sample:"):
        folder = SAMPLES_DIR / source.split(":", 1)[1]
    elif _is_git(source):
        folder = _git_checkout(source, cache_dir or DEFAULT_MODEL_CACHE)
    elif source.startswith("file://"):
        folder = Path(source[len("file://"):])
    else:
        folder = Path(source)
    folder = folder.expanduser().resolve()
    if not (folder / "model.py").is_file():
        raise ValidationError(f"model source {source!r}: no model.py in {folder}")
    return folder


def _git_checkout(source: str, cache_dir: Path) -> Path:
    url, _, subdir = source.partition("#")
    if url.startswith("git+"):
        url = url[len("git+"):]
    if any(part == ".." for part in Path(subdir).parts):
        raise ValidationError(f"model source {source!r}: '..' in the subfolder")
    target = cache_dir.resolve() / hashlib.sha256(url.encode()).hexdigest()[:16]
    if not (target / ".git").is_dir():
        target.parent.mkdir(parents=True, exist_ok=True)
        try:
            subprocess.run(["git", "clone", "--quiet", "--depth", "1", "--", url, str(target)],
                           check=True, capture_output=True, text=True, timeout=300)
        except FileNotFoundError as exc:
            raise ConfigurationError("git is not installed; cannot fetch " + url) from exc
        except subprocess.CalledProcessError as exc:
            raise ValidationError(f"model source {source!r}: git clone failed: "
                                  f"{exc.stderr.strip()[-300:]}") from exc
        except subprocess.TimeoutExpired as exc:
            raise ValidationError(f"model source {source!r}: git clone timed out") from exc
    return target / subdir if subdir else target
