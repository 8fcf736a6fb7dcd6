"""The HTTP face of the engine: native ``/api``, Camunda 7-compatible ``/engine-rest`` and
ModelOp-compatible ``/mlc-service/rest``, built by :func:`create_app`."""

from .app import CORE_BLUEPRINTS, create_app

__all__ = ["CORE_BLUEPRINTS", "create_app"]
