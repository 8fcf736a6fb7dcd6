"""Nodes: the ``mlc serve`` / ``mlc worker`` processes sharing this database."""

from __future__ import annotations

from flask import Blueprint, Response, jsonify

from engine.nodes import list_nodes

from ..context import application
from ..openapi import operation

bp = Blueprint("nodes", __name__, url_prefix="/api")


@operation(bp, "/nodes")
def nodes() -> Response:
    """Live nodes: kind, host, pid, last heartbeat, topics, and what each holds."""
    return jsonify(list_nodes(application().db))
