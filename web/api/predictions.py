"""Online predictions from models deployed on a runtime with endpoints.

Every answer says how it went, as akerbp.mlops' prediction services do: ``{"status": "ok",
"deployed_model_id", "predictions": [...]}``, or ``{"status": "error", "error": code,
"message": the error text, "problems"}`` with a 4xx (bad records, unknown or batch-only
deployment) or 502 (the model itself failed).
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, jsonify
from flask.typing import ResponseReturnValue
from pydantic import Field

from engine.errors import MlcError

from ..context import services
from ..openapi import operation
from ..schemas import Body

bp = Blueprint("predictions", __name__, url_prefix="/api")

MAX_RECORDS = 10_000


class PredictRequest(Body):
    records: list[dict[str, Any]] = Field(max_length=MAX_RECORDS,
                                          description="one object of features per row")


@bp.errorhandler(MlcError)
def prediction_error(exc: MlcError) -> ResponseReturnValue:
    return jsonify({"status": "error", **exc.to_dict()}), exc.status


@operation(bp, "/deployed-models/<deployment_id>/predict", "POST", body=PredictRequest,
           responses={200: "one prediction object per record", 400: "records the model "
                      "rejects", 404: "unknown deployment",
                      409: "retired or batch-only deployment", 502: "the model failed"})
def predict(deployment_id: str, body: PredictRequest) -> Response:
    """Predict with an online deployment (the model is loaded once, then reused)."""
    predictions = services().predictor.predict(deployment_id, body.records)
    return jsonify({"status": "ok", "deployed_model_id": deployment_id,
                    "predictions": predictions})
