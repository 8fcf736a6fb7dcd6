"""FEEL, the expression language of DMN: parse once with a lark LALR grammar, evaluate fast.

Public API::

    expr = compile_expression("a + b * 2")       # cached, reusable, thread-safe
    expr.evaluate({"a": 1, "b": Decimal(2)})      # -> Decimal("5")
    tests = compile_unary_tests(">= 0.8, [1..5]")
    tests.matches(value, context)                 # True / False / None (FEEL null)

Value representation is described in :mod:`engine.feel.values`. Runtime type mismatches
give FEEL ``null`` and are appended to the ``errors`` list passed to ``evaluate``.
"""

from engine.feel.builtins import BUILTINS
from engine.feel.errors import FeelError
from engine.feel.expression import CompiledExpression, compile_expression, \
    compile_unary_tests, evaluate
from engine.feel.scope import Scope
from engine.feel.unary import UnaryTests
from engine.feel.values import FeelFunction, Range, YearsMonthsDuration, to_feel, type_name

__all__ = [
    "BUILTINS", "CompiledExpression", "FeelError", "FeelFunction", "Range", "Scope",
    "UnaryTests", "YearsMonthsDuration", "compile_expression", "compile_unary_tests",
    "evaluate", "to_feel", "type_name",
]
