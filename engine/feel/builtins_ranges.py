"""FEEL's range functions (DMN 1.4+): the interval relations
``before``, ``after``, ``meets``, ``overlaps`` ... between points and ranges (``range(text)``
evaluates FEEL text, so it lives in :mod:`engine.feel.expression`).

The relations follow the spec's definitions term by term, in three-valued logic: an
unknown comparison gives null rather than a guess. A range written as a comparison
(``< 10``) has an unbounded end.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from engine.feel.builtin_registry import builtin
from engine.feel.operators import compare, logical_and, logical_or
from engine.feel.scope import Scope
from engine.feel.values import Range

_LOW, _HIGH = object(), object()  # the unbounded ends of `< x` / `> x`


def _ends(rng: Range) -> tuple[Any, Any]:
    start = _LOW if rng.start is None and rng.op else rng.start
    end = _HIGH if rng.end is None and rng.op else rng.end
    return start, end


def _cmp(op: str, a: Any, b: Any) -> bool | None:
    if a is _LOW or a is _HIGH or b is _LOW or b is _HIGH:
        rank_a, rank_b = _RANK.get(id(a), 0), _RANK.get(id(b), 0)
        if rank_a == rank_b:
            return op in ("=", "<=", ">=")
        return rank_a < rank_b if op in ("<", "<=") else (rank_a > rank_b if op != "=" else
                                                           False)
    return compare(op, a, b, Scope({}))


_RANK = {id(_LOW): -1, id(_HIGH): 1}


def _and(*values: Any) -> bool | None:
    result: bool | None = True
    for v in values:
        result = logical_and(result, v)
    return result


def _or(*values: Any) -> bool | None:
    result: bool | None = False
    for v in values:
        result = logical_or(result, v)
    return result


Relation = Callable[[Any, Any], "bool | None"]


def _relation(name: str, *signatures: tuple[str, str]) -> Callable[[Relation], Relation]:
    """Register ``fn`` under every signature, refusing null arguments before it runs."""

    def register(fn: Relation) -> Relation:
        def dispatch(a: Any, b: Any) -> bool | None:
            if a is None or b is None:
                raise TypeError("arguments must not be null")
            return fn(a, b)
        for params in signatures:
            builtin(name, *params)(dispatch)
        return fn
    return register


_POINTS = (("point1", "point2"), ("point", "range"), ("range", "point"), ("range1", "range2"))


@_relation("before", *_POINTS)
def _before(a: Any, b: Any) -> bool | None:
    if not isinstance(a, Range) and not isinstance(b, Range):
        return _cmp("<", a, b)
    if not isinstance(a, Range):
        start, _ = _ends(b)
        return _or(_cmp("<", a, start), _and(_cmp("=", a, start), not b.start_included))
    if not isinstance(b, Range):
        _, end = _ends(a)
        return _or(_cmp("<", end, b), _and(_cmp("=", end, b), not a.end_included))
    _, end1 = _ends(a)
    start2, _ = _ends(b)
    return _or(_cmp("<", end1, start2),
               _and(not a.end_included or not b.start_included, _cmp("=", end1, start2)))


@_relation("after", *_POINTS)
def _after(a: Any, b: Any) -> bool | None:
    if not isinstance(a, Range) and not isinstance(b, Range):
        return _cmp(">", a, b)
    if not isinstance(a, Range):
        _, end = _ends(b)
        return _or(_cmp(">", a, end), _and(_cmp("=", a, end), not b.end_included))
    if not isinstance(b, Range):
        start, _ = _ends(a)
        return _or(_cmp(">", start, b), _and(_cmp("=", start, b), not a.start_included))
    start1, _ = _ends(a)
    _, end2 = _ends(b)
    return _or(_cmp(">", start1, end2),
               _and(not a.start_included or not b.end_included, _cmp("=", start1, end2)))


def _ranges(a: Any, b: Any) -> tuple[Range, Range]:
    if not isinstance(a, Range) or not isinstance(b, Range):
        raise TypeError("expects two ranges")
    return a, b


@_relation("meets", ("range1", "range2"))
def _meets(a: Any, b: Any) -> bool | None:
    a, b = _ranges(a, b)
    return _and(a.end_included, b.start_included, _cmp("=", _ends(a)[1], _ends(b)[0]))


@_relation("met by", ("range1", "range2"))
def _met_by(a: Any, b: Any) -> bool | None:
    a, b = _ranges(a, b)
    return _and(a.start_included, b.end_included, _cmp("=", _ends(a)[0], _ends(b)[1]))


@_relation("overlaps", ("range1", "range2"))
def _overlaps(a: Any, b: Any) -> bool | None:
    a, b = _ranges(a, b)
    (s1, e1), (s2, e2) = _ends(a), _ends(b)
    return _and(
        _or(_cmp(">", e1, s2), _and(_cmp("=", e1, s2), a.end_included, b.start_included)),
        _or(_cmp("<", s1, e2), _and(_cmp("=", s1, e2), a.start_included, b.end_included)))


@_relation("overlaps before", ("range1", "range2"))
def _overlaps_before(a: Any, b: Any) -> bool | None:
    a, b = _ranges(a, b)
    (s1, e1), (s2, e2) = _ends(a), _ends(b)
    return _and(
        _or(_cmp("<", s1, s2), _and(_cmp("=", s1, s2), a.start_included,
                                    not b.start_included)),
        _or(_cmp(">", e1, s2), _and(_cmp("=", e1, s2), a.end_included, b.start_included)),
        _or(_cmp("<", e1, e2), _and(_cmp("=", e1, e2), not a.end_included or b.end_included)))


@_relation("overlaps after", ("range1", "range2"))
def _overlaps_after(a: Any, b: Any) -> bool | None:
    a, b = _ranges(a, b)
    return _overlaps_before(b, a)


@_relation("finishes", ("point", "range"), ("range1", "range2"))
def _finishes(a: Any, b: Any) -> bool | None:
    if not isinstance(b, Range):
        raise TypeError("the second argument must be a range")
    if not isinstance(a, Range):
        return _and(b.end_included, _cmp("=", _ends(b)[1], a))
    (s1, e1), (s2, e2) = _ends(a), _ends(b)
    return _and(a.end_included == b.end_included, _cmp("=", e1, e2),
                _or(_cmp(">", s1, s2), _and(_cmp("=", s1, s2),
                                            not a.start_included or b.start_included)))


@_relation("finished by", ("range", "point"), ("range1", "range2"))
def _finished_by(a: Any, b: Any) -> bool | None:
    if not isinstance(a, Range):
        raise TypeError("the first argument must be a range")
    if not isinstance(b, Range):
        return _and(a.end_included, _cmp("=", _ends(a)[1], b))
    return _finishes(b, a)


@_relation("includes", ("range", "point"), ("range1", "range2"))
def _includes(a: Any, b: Any) -> bool | None:
    if not isinstance(a, Range):
        raise TypeError("the first argument must be a range")
    s1, e1 = _ends(a)
    if not isinstance(b, Range):
        return _or(_and(_cmp("<", s1, b), _cmp(">", e1, b)),
                   _and(_cmp("=", s1, b), a.start_included),
                   _and(_cmp("=", e1, b), a.end_included))
    s2, e2 = _ends(b)
    return _and(
        _or(_cmp("<", s1, s2), _and(_cmp("=", s1, s2), a.start_included or not b.start_included)),
        _or(_cmp(">", e1, e2), _and(_cmp("=", e1, e2), a.end_included or not b.end_included)))


@_relation("during", ("point", "range"), ("range1", "range2"))
def _during(a: Any, b: Any) -> bool | None:
    return _includes(b, a)


@_relation("starts", ("point", "range"), ("range1", "range2"))
def _starts(a: Any, b: Any) -> bool | None:
    if not isinstance(b, Range):
        raise TypeError("the second argument must be a range")
    if not isinstance(a, Range):
        return _and(_cmp("=", _ends(b)[0], a), b.start_included)
    (s1, e1), (s2, e2) = _ends(a), _ends(b)
    return _and(_cmp("=", s1, s2), a.start_included == b.start_included,
                _or(_cmp("<", e1, e2), _and(_cmp("=", e1, e2),
                                            not a.end_included or b.end_included)))


@_relation("started by", ("range", "point"), ("range1", "range2"))
def _started_by(a: Any, b: Any) -> bool | None:
    if not isinstance(a, Range):
        raise TypeError("the first argument must be a range")
    if not isinstance(b, Range):
        return _and(_cmp("=", _ends(a)[0], b), a.start_included)
    return _starts(b, a)


@_relation("coincides", ("point1", "point2"), ("range1", "range2"))
def _coincides(a: Any, b: Any) -> bool | None:
    if isinstance(a, Range) != isinstance(b, Range):
        raise TypeError("expects two points or two ranges")
    if not isinstance(a, Range):
        return _cmp("=", a, b)
    (s1, e1), (s2, e2) = _ends(a), _ends(b)
    return _and(_cmp("=", s1, s2), a.start_included == b.start_included,
                _cmp("=", e1, e2), a.end_included == b.end_included)
