"""The HTTP face of the engine: native ``/api``, Camunda 7-compatible ``/engine-rest`` and
ModelOp-compatible ``/mlc-service/rest``, built by :func:`create_app`.

Flask is imported on first use of :func:`create_app`, so the CLI can read the server's
limits (:mod:`web.limits`) without loading the web stack.
"""

from __future__ import annotations

from typing import Any

__all__ = ["CORE_BLUEPRINTS", "create_app"]


def __getattr__(name: str) -> Any:
    if name in __all__:
        from . import app

        return getattr(app, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
