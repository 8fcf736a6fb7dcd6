"""A small operation registry: one decorator both validates a route's input with pydantic and
records it for the OpenAPI 3 document, so the document can never drift from what is enforced.

A hand-maintained JSON file would drift; a framework swap (flask-openapi3, spectree) would
reshape every view. This keeps Flask views plain and the schemas in one place.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, ParamSpec, TypeVar

from flask import Blueprint, request
from flask.typing import ResponseReturnValue
from pydantic import BaseModel
from pydantic import ValidationError as PydanticValidationError

from engine import jsonsafe
from engine.errors import MlcError, ValidationError


class UnsupportedMediaType(MlcError):
    """The body is not in a format the route accepts."""

    code = "unsupported_media_type"
    status = 415


@dataclass
class Operation:
    """One documented route: where it lives and what it accepts and answers."""

    path: str
    method: str
    summary: str
    tag: str
    body: type[BaseModel] | None = None
    query: type[BaseModel] | None = None
    multipart: dict[str, Any] | None = None
    responses: dict[int, str] = field(default_factory=dict)


OPERATIONS: list[Operation] = []

P = ParamSpec("P")
RV = TypeVar("RV", bound=ResponseReturnValue)

_RULE_ARG = re.compile(r"<(?:[a-z]+:)?([A-Za-z_][A-Za-z0-9_]*)>")


def _problems(exc: PydanticValidationError, where: str) -> list[dict[str, Any]]:
    return [{"message": err["msg"], "field": ".".join(str(p) for p in err["loc"]) or where,
             "in": where} for err in exc.errors(include_url=False, include_context=False,
                                                include_input=False)]


def _invalid(exc: PydanticValidationError, where: str) -> ValidationError:
    problems = _problems(exc, where)
    text = "; ".join(f"{p['field']}: {p['message']}" for p in problems)
    error = ValidationError(f"invalid request {where}: {text}")
    error.problems = problems
    return error


def json_body() -> Any:
    """The request's JSON body; an absent body is ``{}`` so optional-only bodies may be omitted."""
    raw = request.get_data(cache=True)
    if not raw.strip():
        return {}
    if not request.is_json:
        raise UnsupportedMediaType(
            f"expected Content-Type application/json, got {request.mimetype or 'none'!r}")
    return jsonsafe.loads(raw, "JSON body")


def parse_body(model: type[BaseModel]) -> BaseModel:
    data = json_body()
    if not isinstance(data, dict):
        raise ValidationError("the request body must be a JSON object")
    try:
        return model.model_validate(data)
    except PydanticValidationError as exc:
        raise _invalid(exc, "body") from None


def parse_query(model: type[BaseModel]) -> BaseModel:
    try:
        return model.model_validate(request.args.to_dict())
    except PydanticValidationError as exc:
        raise _invalid(exc, "query") from None


def operation(bp: Blueprint, rule: str, method: str = "GET", *, summary: str = "",
              body: type[BaseModel] | None = None, query: type[BaseModel] | None = None,
              multipart: dict[str, Any] | None = None,
              responses: dict[int, str] | None = None,
              ) -> Callable[[Callable[P, RV]], Callable[P, RV]]:
    """Register ``rule`` on ``bp`` and in the OpenAPI registry.

    The view receives ``body=`` and/or ``query=`` as validated pydantic models.
    """

    def decorate(fn: Callable[P, RV]) -> Callable[P, RV]:
        @functools.wraps(fn)
        def view(*args: P.args, **kwargs: P.kwargs) -> RV:
            if body is not None:
                kwargs["body"] = parse_body(body)
            if query is not None:
                kwargs["query"] = parse_query(query)
            return fn(*args, **kwargs)

        bp.add_url_rule(rule, endpoint=fn.__name__, view_func=view, methods=[method])
        OPERATIONS.append(Operation(
            path=(bp.url_prefix or "") + rule, method=method.lower(),
            summary=summary or (fn.__doc__ or fn.__name__).strip().splitlines()[0],
            tag=bp.name, body=body, query=query, multipart=multipart,
            responses=responses or {200: "OK"}))
        return view

    return decorate


def _schema(model: type[BaseModel], components: dict[str, Any]) -> dict[str, Any]:
    schema = model.model_json_schema(ref_template="#/components/schemas/{model}")
    components.update(schema.pop("$defs", {}))
    components[model.__name__] = schema
    return {"$ref": f"#/components/schemas/{model.__name__}"}


def _response_schema(tp: Any, components: dict[str, Any]) -> dict[str, Any]:
    """The JSON schema of what a route answers with (a model, a dataclass, ``list[...]``)."""
    from pydantic import TypeAdapter

    if isinstance(tp, type) and issubclass(tp, BaseModel):
        return _schema(tp, components)
    schema = TypeAdapter(tp).json_schema(ref_template="#/components/schemas/{model}",
                                         mode="serialization")
    components.update(schema.pop("$defs", {}))
    title = getattr(tp, "__name__", None)
    if title and "properties" in schema:  # a dataclass: one named component
        components[title] = schema
        return {"$ref": f"#/components/schemas/{title}"}
    return schema


def _query_parameters(model: type[BaseModel],
                      components: dict[str, Any]) -> list[dict[str, Any]]:
    schema = model.model_json_schema(ref_template="#/components/schemas/{model}")
    components.update(schema.pop("$defs", {}))
    required = set(schema.get("required", []))
    return [{"name": name, "in": "query", "required": name in required, "schema": prop}
            for name, prop in schema.get("properties", {}).items()]


ERROR_SCHEMA = {
    "type": "object",
    "properties": {"error": {"type": "string"}, "message": {"type": "string"},
                   "problems": {"type": "array", "items": {}},
                   "type": {"type": "string"}},
}


def document(title: str = "MLC Engine API", version: str = "1") -> dict[str, Any]:
    """The OpenAPI 3.1 document of every registered operation, with what each one answers."""
    from .responses import OTHER_MEDIA, RESPONSES

    components: dict[str, Any] = {"Error": ERROR_SCHEMA}
    paths: dict[str, dict[str, Any]] = {}
    for op in sorted(OPERATIONS, key=lambda o: (o.path, o.method)):
        path = _RULE_ARG.sub(r"{\1}", op.path)
        params = [{"name": name, "in": "path", "required": True, "schema": {"type": "string"}}
                  for name in _RULE_ARG.findall(op.path)]
        if op.query is not None:
            params += _query_parameters(op.query, components)
        entry: dict[str, Any] = {"summary": op.summary, "tags": [op.tag],
                                 "operationId": f"{op.tag}.{op.method}.{path}"}
        if params:
            entry["parameters"] = params
        if op.body is not None:
            entry["requestBody"] = {"required": False, "content": {
                "application/json": {"schema": _schema(op.body, components)}}}
        elif op.multipart is not None:
            entry["requestBody"] = {"required": True, "content": {
                "multipart/form-data": {"schema": op.multipart}}}
        responses: dict[str, Any] = {str(code): {"description": text}
                                     for code, text in op.responses.items()}
        answer, media = RESPONSES.get((op.method, path)), OTHER_MEDIA.get((op.method, path))
        for code, response in responses.items():
            if code.startswith("2") and code != "204":
                if answer is not None:
                    response["content"] = {"application/json": {
                        "schema": _response_schema(answer, components)}}
                elif media is not None:
                    response["content"] = {media: {"schema": {"type": "string"}}}
        responses["4XX"] = {"description": "bad request, unknown resource or conflict",
                            "content": {"application/json": {
                                "schema": {"$ref": "#/components/schemas/Error"}}}}
        entry["responses"] = responses
        paths.setdefault(path, {})[op.method] = entry
    return {"openapi": "3.1.0", "info": {"title": title, "version": version},
            "paths": paths, "components": {"schemas": components,
                                           "securitySchemes": {
                                               "bearer": {"type": "http", "scheme": "bearer"},
                                               "basic": {"type": "http", "scheme": "basic"}}},
            "security": [{}, {"bearer": []}, {"basic": []}]}
