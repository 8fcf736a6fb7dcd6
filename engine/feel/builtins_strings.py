"""FEEL's string functions. Positions count code points, as FEEL does; patterns are XML
Schema / XPath regular expressions (see :mod:`engine.feel.xpath_regex`), matched within the
time left in the evaluation's budget; strings they build are bounded by it too."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from engine.budget import check_size
from engine.errors import EvaluationLimitError
from engine.feel.builtin_registry import as_list, builtin, num, text
from engine.feel.scope import Scope
from engine.feel.xpath_regex import compile_pattern, expand_replacement


@builtin("substring", "string", "start position", "length?")
def _substring(source: Any, start: Any, length: Any = None) -> str:
    chars = text(source, "string")
    begin = int(num(start, "start position").to_integral_value())
    index = begin - 1 if begin > 0 else len(chars) + begin
    if length is None:
        return chars[max(index, 0):]
    count = int(num(length, "length"))
    end = index + count
    return chars[max(index, 0):max(end, 0)]


builtin("string length", "string")(lambda s: Decimal(len(text(s, "string"))))
builtin("upper case", "string")(lambda s: text(s, "string").upper())
builtin("lower case", "string")(lambda s: text(s, "string").lower())
builtin("contains", "string", "match")(lambda s, m: text(m, "match") in text(s, "string"))
builtin("starts with", "string", "match")(
    lambda s, m: text(s, "string").startswith(text(m, "match")))
builtin("ends with", "string", "match")(
    lambda s, m: text(s, "string").endswith(text(m, "match")))


@builtin("substring before", "string", "match")
def _substring_before(source: Any, match: Any) -> str:
    source, match = text(source, "string"), text(match, "match")
    return source.split(match, 1)[0] if match and match in source else ""


@builtin("substring after", "string", "match")
def _substring_after(source: Any, match: Any) -> str:
    whole, part = text(source, "string"), text(match, "match")
    if not part:
        return whole
    return whole.split(part, 1)[1] if part in whole else ""


@builtin("matches", "input", "pattern", "flags?", wants_scope=True)
def _matches(scope: Scope | None, source: Any, pattern: Any, flags: Any = None) -> bool:
    compiled = compile_pattern(text(pattern, "pattern"), _flags(flags))
    return _timed(lambda t: compiled.search(text(source, "input"), timeout=t), scope) \
        is not None


@builtin("replace", "input", "pattern", "replacement", "flags?", wants_scope=True)
def _replace(scope: Scope | None, source: Any, pattern: Any, replacement: Any,
             flags: Any = None) -> str:
    compiled = compile_pattern(text(pattern, "pattern"), _flags(flags))
    if compiled.search(""):
        raise ValueError("the pattern matches the empty string")
    template = expand_replacement(text(replacement, "replacement"), compiled.groups)
    return _bounded(_timed(lambda t: compiled.sub(template, text(source, "input"), timeout=t),
                           scope), scope)


def _flags(flags: Any) -> str:
    return "" if flags is None else text(flags, "flags")


def _timed(run: Any, scope: Scope | None) -> Any:
    """Run a match with the time left in the budget; past it, the evaluation stops."""
    seconds = scope.meter.seconds_left() if scope is not None else None
    try:
        return run(seconds)
    except TimeoutError:
        raise EvaluationLimitError("evaluation stopped: a regular expression ran out of "
                                   "time (limit MLC_EVAL_MAX_SECONDS)") from None


def _bounded(result: str, scope: Scope | None) -> str:
    if len(result) > 4096:
        if scope is not None:
            scope.meter.size(len(result), "a string")
        else:
            check_size(len(result), "a string")
    return result


@builtin("split", "string", "delimiter", wants_scope=True)
def _split(scope: Scope | None, source: Any, delimiter: Any) -> list[str]:
    compiled = compile_pattern(text(delimiter, "delimiter"), "")
    parts: list[str] = _timed(lambda t: compiled.split(text(source, "string"), timeout=t), scope)
    return parts


@builtin("string join", "list", "delimiter?", wants_scope=True)
def _string_join(scope: Scope | None, items: Any, delimiter: Any = None) -> str:
    values = items if isinstance(items, list) else [text(items, "list")]
    parts = [text(v, "list item") for v in as_list(values) if v is not None]
    return _bounded(("" if delimiter is None else text(delimiter, "delimiter")).join(parts),
                    scope)
