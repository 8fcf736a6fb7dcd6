"""What a runtime's ``engine`` and ``scheduler`` may be, checked before a row is written."""

from __future__ import annotations

from collections.abc import Sequence
from urllib.parse import urlsplit

from engine.errors import ValidationError

from ._records import RUNTIME_ENGINES

# Dask's own transports between clients, schedulers and workers that span hosts.
SCHEDULER_SCHEMES = ("tcp", "tls")


def check_runtime_engine(engine: str | None, scheduler: str | None,
                         endpoints: Sequence[str]) -> tuple[str, str | None]:
    """The normalised ``(engine, scheduler)`` pair, or a ValidationError naming the problem.

    A ``dask`` runtime needs a scheduler address ``tcp://host:port`` (or ``tls://``) and
    serves batch jobs only, so it has no endpoints; a ``local`` runtime has no scheduler.
    """
    engine = (engine or "local").strip().lower()
    if engine not in RUNTIME_ENGINES:
        raise ValidationError(f"engine must be one of {', '.join(RUNTIME_ENGINES)}, "
                              f"not {engine!r}")
    scheduler = (scheduler or "").strip() or None
    if engine == "local":
        if scheduler:
            raise ValidationError("scheduler applies only to engine 'dask'")
        return engine, None
    if endpoints:
        raise ValidationError("a dask runtime runs batch jobs only: it takes no endpoints")
    if not scheduler:
        raise ValidationError("engine 'dask' needs a scheduler address, e.g. "
                              "tcp://scheduler:8786")
    return engine, _scheduler_address(scheduler)


def _scheduler_address(text: str) -> str:
    parts = urlsplit(text)
    try:
        port = parts.port
    except ValueError:
        port = None
    if (parts.scheme not in SCHEDULER_SCHEMES or not parts.hostname or port is None
            or parts.path not in ("", "/") or parts.query or parts.username):
        raise ValidationError(f"scheduler {text!r} is not an address like "
                              f"tcp://scheduler:8786 (schemes: {', '.join(SCHEDULER_SCHEMES)})")
    return f"{parts.scheme}://{parts.netloc}"
