"""The JSON every route answers with: timestamps in ISO 8601 (Flask's default writes HTTP
dates such as ``Mon, 30 Nov 2026 ...GMT``), keys in the order the route built them, and
indented when the request asks with ``?pretty=1``."""

from __future__ import annotations

import dataclasses
import datetime as dt
import decimal
import uuid
from typing import Any

from flask import request
from flask.json.provider import DefaultJSONProvider
from werkzeug.sansio.response import Response

PRETTY_VALUES = {"1", "true", "yes"}


def _default(value: Any) -> Any:
    if isinstance(value, (dt.datetime, dt.date, dt.time)):
        return value.isoformat()
    if isinstance(value, decimal.Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, uuid.UUID):
        return str(value)
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        # engine values have to_json(), connector records to_dict(): both write ISO times
        encode = getattr(value, "to_json", None) or getattr(value, "to_dict", None)
        return encode() if callable(encode) else dataclasses.asdict(value)
    if isinstance(value, (set, frozenset, tuple)):
        return list(value)
    raise TypeError(f"{type(value).__name__} is not JSON serializable")


class MlcJSONProvider(DefaultJSONProvider):
    """ISO 8601 timestamps; ``?pretty=1`` indents by two spaces."""

    default = staticmethod(_default)
    sort_keys = False

    def response(self, *args: Any, **kwargs: Any) -> Response:
        if request and request.args.get("pretty", "").strip().lower() in PRETTY_VALUES:
            obj = self._prepare_response_obj(args, kwargs)
            return self._app.response_class(self.dumps(obj, indent=2) + "\n",
                                            mimetype=self.mimetype)
        return super().response(*args, **kwargs)
