"""FEEL, the expression language of DMN: parse once, compile to closures, evaluate fast.

Public API::

    expr = compile_expression("a + b * 2")       # cached, reusable, thread-safe
    expr.evaluate({"a": 1, "b": Decimal(2)})      # -> Decimal("5")
    tests = compile_unary_tests(">= 0.8, [1..5]")
    tests.matches(value, context)                 # True / False / None (FEEL null)

Value representation is described in :mod:`engine.feel.values`. Runtime type mismatches
give FEEL ``null`` and are appended to the ``errors`` list passed to ``evaluate``; an
evaluation past its budget (:mod:`engine.budget`) raises ``EvaluationLimitError``.
"""

from engine.feel.builtins import BUILTINS
from engine.feel.errors import FeelError
from engine.feel.expression import CompiledExpression, compile_expression, evaluate
from engine.feel.scope import Scope
from engine.feel.temporal import (
    DayTimeDuration,
    FeelDate,
    FeelDateTime,
    FeelTime,
    YearsMonthsDuration,
)
from engine.feel.unary import UnaryTests, compile_unary_tests
from engine.feel.values import FeelFunction, Range, to_feel, to_python, type_name

__all__ = [
    "BUILTINS", "CompiledExpression", "DayTimeDuration", "FeelDate", "FeelDateTime",
    "FeelError", "FeelFunction", "FeelTime", "Range", "Scope", "UnaryTests",
    "YearsMonthsDuration", "compile_expression", "compile_unary_tests", "evaluate",
    "to_feel", "to_python", "type_name",
]
