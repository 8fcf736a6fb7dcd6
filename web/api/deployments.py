"""``POST /api/deployments``: multipart BPMN/DMN files, every file part under any field name."""

from __future__ import annotations

from flask import Blueprint, jsonify, request
from flask.typing import ResponseReturnValue

from engine.errors import ValidationError

from ..context import engine
from ..openapi import UnsupportedMediaType, operation
from ..schemas import DEPLOYMENT_FORM

bp = Blueprint("deployments", __name__, url_prefix="/api")

TRUE = ("true", "1", "yes", "on")
FALSE = ("false", "0", "no", "off", "")


def form_flag(name: str, default: bool) -> bool:
    raw = request.form.get(name)
    if raw is None:
        return default
    if raw.strip().lower() in TRUE:
        return True
    if raw.strip().lower() in FALSE:
        return False
    raise ValidationError(f"form field {name!r} must be true or false, not {raw!r}")


def uploaded_files() -> list[tuple[str, bytes]]:
    """Every uploaded file part as (file name, bytes); a part without a file name uses its field name."""
    if request.mimetype != "multipart/form-data":
        raise UnsupportedMediaType("deployments are multipart/form-data uploads of .bpmn/.dmn files")
    files = []
    for field, storage in request.files.items(multi=True):
        name = storage.filename or field
        files.append((name, storage.read()))
    if not files:
        raise ValidationError("a deployment needs at least one .bpmn or .dmn file part")
    return files


@operation(bp, "/deployments", "POST", multipart=DEPLOYMENT_FORM,
           responses={201: "deployed (unchanged definitions are listed under filtered)"})
def create_deployment() -> ResponseReturnValue:
    """Deploy .bpmn/.dmn files; unchanged definitions keep their version."""
    files = uploaded_files()
    result = engine().deploy(files, name=request.form.get("name", ""),
                             source=request.form.get("source") or "api",
                             duplicate_filtering=form_flag("duplicate_filtering", True))
    return jsonify(result), 201
