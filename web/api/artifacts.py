"""A model's artifacts per environment: upload a version, promote test to prod, history.

``POST /api/models/{id}/artifacts`` is a multipart upload: ``env`` (``test`` | ``prod``),
optional ``metadata`` (a JSON object) and ``user`` (who uploads; default ``api``), and one
file part per file, each named by its path inside the artifact (``model.pkl``,
``scalers/x.pkl``). The answer is the new version (``env/n``, counted per model and
environment) with its content hash.
"""

from __future__ import annotations

import json
from typing import Any

from flask import Blueprint, Response, jsonify, request
from flask.typing import ResponseReturnValue
from pydantic import Field

from connectors.registry import ARTIFACT_ENVS, ArtifactEnv
from engine.errors import ValidationError

from ..context import services
from ..openapi import UnsupportedMediaType, operation
from ..schemas import Body, Query, ShortText

bp = Blueprint("artifacts", __name__, url_prefix="/api")

MAX_UPLOAD_BYTES = 1024 ** 3  # an artifact upload may be larger than other requests

ARTIFACT_FORM = {
    "type": "object",
    "properties": {
        "env": {"type": "string", "enum": list(ARTIFACT_ENVS)},
        "metadata": {"type": "string", "description": "a JSON object, e.g. {\"auc\": 0.91}"},
        "user": {"type": "string", "description": "who uploads (kept in the history)"},
        "files": {"type": "array", "items": {"type": "string", "format": "binary"},
                  "description": "the artifact's files, each named by its relative path"},
    },
    "required": ["env", "files"],
}


class ArtifactQuery(Query):
    env: ArtifactEnv | None = None


class PromoteRequest(Body):
    version: int = Field(ge=1, description="the test version to promote")
    user: ShortText = "api"
    metadata: dict[str, Any] = Field(default_factory=dict,
                                     description="added to the test version's metadata")


def artifacts() -> Any:
    return services().artifacts


def _metadata(raw: str | None) -> dict[str, Any]:
    if not raw:
        return {}
    try:
        value = json.loads(raw)
    except ValueError:
        raise ValidationError("form field 'metadata' must be a JSON object") from None
    if not isinstance(value, dict):
        raise ValidationError("form field 'metadata' must be a JSON object")
    return value


@operation(bp, "/models/<model_id>/artifacts", query=ArtifactQuery,
           responses={200: "uploads and promotions, oldest first", 404: "unknown model"})
def list_artifacts(model_id: str, query: ArtifactQuery) -> Response:
    """The model's artifacts (of one environment, or all): its artifact history."""
    registry = services().registry
    model = registry.get_model(model_id)
    return jsonify([a.to_dict() for a in registry.list_artifacts(model.id, query.env)])


@operation(bp, "/models/<model_id>/artifacts", "POST", multipart=ARTIFACT_FORM,
           responses={201: "stored as the next version of its environment",
                      404: "unknown model"})
def upload_artifact(model_id: str) -> ResponseReturnValue:
    """Upload files as the next version of the model's artifact in ``env``."""
    request.max_content_length = MAX_UPLOAD_BYTES
    if request.mimetype != "multipart/form-data":
        raise UnsupportedMediaType("an artifact upload is multipart/form-data: env and files")
    env = request.form.get("env", "")
    parts = [(storage.filename or field, storage.stream)
             for field, storage in request.files.items(multi=True)]
    if not parts:
        raise ValidationError("an artifact upload needs at least one file part")
    user = (request.form.get("user") or "api").strip()[:200]
    record = artifacts().upload_files(model_id, env, parts,
                                      metadata=_metadata(request.form.get("metadata")),
                                      user=user)
    return jsonify(record.to_dict()), 201


@operation(bp, "/models/<model_id>/artifacts/promote", "POST", body=PromoteRequest,
           responses={201: "the prod version made from the test version",
                      404: "unknown model or test version"})
def promote_artifact(model_id: str, body: PromoteRequest) -> ResponseReturnValue:
    """Promote a test version: copied to the next prod version (once)."""
    record = artifacts().promote(model_id, body.version, user=body.user,
                                 metadata=body.metadata)
    return jsonify(record.to_dict()), 201


@operation(bp, "/models/<model_id>/artifacts/<env>/<int:version>",
           responses={200: "the artifact version", 404: "unknown"})
def get_artifact_version(model_id: str, env: str, version: int) -> Response:
    """One version of the model's artifact in ``env`` (``test`` or ``prod``)."""
    registry = services().registry
    return jsonify(registry.find_artifact(registry.get_model(model_id).id, env,
                                          version).to_dict())
