"""``GET /version`` and ``GET /engine``: what Camunda clients probe before anything else."""

from __future__ import annotations

from flask import Blueprint, Response, jsonify

from ..openapi import operation
from . import PREFIX

bp = Blueprint("camunda_meta", __name__, url_prefix=PREFIX)

CAMUNDA_VERSION = "7.21.0"  # the Camunda 7 REST behaviour this subset follows


@operation(bp, "/version")
def version() -> Response:
    """The Camunda REST version this engine speaks (the Modeler checks it)."""
    return jsonify({"version": CAMUNDA_VERSION})


@operation(bp, "/engine")
def engines() -> Response:
    """The process engines behind this REST API: one, named default."""
    return jsonify([{"name": "default"}])
