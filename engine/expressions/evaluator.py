"""Compiled expressions and templates: the objects the BPMN runtime caches per element.

Errors never escape as Python exceptions: each one becomes an
:class:`~engine.errors.ExpressionError` that names the expression text and the element id, so an
incident or a deployment problem says exactly which condition of which flow failed.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from engine.budget import check_size
from engine.errors import EvaluationLimitError, ExpressionError
from engine.expressions.coercion import Fault, describe, to_string
from engine.expressions.compiler import UnknownVariable
from engine.expressions.parser import SyntaxFault, compile_body
from engine.expressions.template import TemplateFault, is_expression, split

__all__ = ["Expression", "Template", "UnknownVariableError", "compile_expression",
           "compile_template"]


class UnknownVariableError(ExpressionError):
    """An expression names a variable the scope does not hold; ``.variable`` says which."""

    def __init__(self, message: str, *, variable: str, expression: str | None = None,
                 element_id: str | None = None) -> None:
        super().__init__(message, expression=expression, element_id=element_id)
        self.variable = variable


class Expression:
    """One compiled ``${...}`` expression (or bare JUEL text): compile once, evaluate many times.

    Attributes:
        source: the text as written in the BPMN file.
        element_id: the BPMN element it belongs to, for error messages.
        variables: top-level variable names it reads and requires (``execution`` excluded).
        optional_variables: names read with ``execution.getVariable('x')``, which yields null
            rather than an error when absent.
    """

    __slots__ = ("source", "element_id", "variables", "optional_variables", "_fn")

    def __init__(self, source: str, fn: Callable[[Mapping[str, Any]], Any],
                 variables: frozenset[str], optional_variables: frozenset[str] = frozenset(),
                 element_id: str | None = None) -> None:
        self.source = source
        self.element_id = element_id
        self.variables = variables
        self.optional_variables = optional_variables
        self._fn = fn

    @property
    def is_literal(self) -> bool:
        """True for plain text with no ``${...}`` (only templates can be literal)."""
        return False

    def evaluate(self, variables: Mapping[str, Any]) -> Any:
        """Evaluate against a variable scope; raise ExpressionError naming expression and element."""
        try:
            return self._fn(variables)
        except UnknownVariable as fault:
            raise UnknownVariableError(fault.message, variable=fault.name, expression=self.source,
                                       element_id=self.element_id) from None
        except Fault as fault:
            raise ExpressionError(fault.message, expression=self.source,
                                  element_id=self.element_id) from None
        except EvaluationLimitError as exc:
            where = f" at element {self.element_id!r}" if self.element_id else ""
            raise EvaluationLimitError(f"{exc.message} in expression {self.source!r}{where}"
                                       ) from None
        except (ArithmeticError, TypeError, ValueError, RecursionError) as exc:
            # Defensive: coercion should have caught these; never leak a bare Python error.
            raise ExpressionError(f"Evaluation failed: {exc}", expression=self.source,
                                  element_id=self.element_id) from exc

    def evaluate_condition(self, variables: Mapping[str, Any]) -> bool:
        """Evaluate a sequence-flow condition, which must yield a boolean (Camunda refuses null
        and other types with "condition expression returns non-Boolean")."""
        result = self.evaluate(variables)
        if not isinstance(result, bool):
            raise ExpressionError(f"Condition expression returns non-Boolean: {describe(result)}",
                                  expression=self.source, element_id=self.element_id)
        return result

    def __repr__(self) -> str:
        where = f", element_id={self.element_id!r}" if self.element_id else ""
        return f"{type(self).__name__}({self.source!r}{where})"


class Template(Expression):
    """Camunda composite text: literal text with embedded ``${...}``, evaluated to a string.

    Each embedded value is converted as JUEL's coerceToString does: null becomes "", floats
    print like Java (``2.0``, ``1.0E10``), booleans as ``true``/``false``.
    """

    __slots__ = ("_literal",)

    def __init__(self, source: str, fn: Callable[[Mapping[str, Any]], Any],
                 variables: frozenset[str], optional_variables: frozenset[str] = frozenset(),
                 element_id: str | None = None, literal: bool = False) -> None:
        super().__init__(source, fn, variables, optional_variables, element_id)
        self._literal = literal

    @property
    def is_literal(self) -> bool:
        return self._literal


def _syntax_error(exc: Exception, source: str, element_id: str | None) -> ExpressionError:
    return ExpressionError(str(exc), expression=source, element_id=element_id)


def compile_expression(text: str, element_id: str | None = None) -> Expression:
    """Compile one expression: ``${...}`` / ``#{...}``, or bare JUEL text without delimiters.

    Composite text (``a ${b}``) is refused here; the runtime uses :func:`compile_template`.
    Raises ExpressionError (with ``.expression`` and ``.element_id``) on any syntax error or
    refused construct (unknown method, dunder name, function call).
    """
    if not isinstance(text, str):
        raise ExpressionError(f"Expression must be text, not {describe(text)}",
                              element_id=element_id)
    stripped = text.strip()
    body = stripped
    if stripped.startswith(("${", "#{")):
        try:
            parts = split(stripped)
        except TemplateFault as exc:
            raise _syntax_error(exc, text, element_id) from None
        if len(parts) != 1 or not parts[0].is_expression:
            raise ExpressionError("Expected a single ${...} expression, got composite text "
                                  "(use compile_template)", expression=text,
                                  element_id=element_id)
        body = parts[0].text
    elif is_expression(stripped):
        raise ExpressionError("Expected a single ${...} expression, got composite text "
                              "(use compile_template)", expression=text, element_id=element_id)
    try:
        compiled = compile_body(body)
    except SyntaxFault as exc:
        raise _syntax_error(exc, text, element_id) from None
    return Expression(text, compiled.fn, compiled.variables, compiled.optional_variables,
                      element_id)


def compile_template(text: str, element_id: str | None = None) -> Expression:
    """Compile text as Camunda evaluates attribute and parameter values.

    * plain text without ``${``/``#{`` evaluates to the text unchanged (``PT5M``, ``mlc.retrain``);
    * text that is exactly one ``${...}`` (surrounding whitespace ignored, as Camunda trims
      element text) evaluates to the typed value (a number stays a number);
    * mixed text evaluates to a str, each value converted by JUEL's coerceToString.
    """
    if not isinstance(text, str):
        raise ExpressionError(f"Expression must be text, not {describe(text)}",
                              element_id=element_id)
    try:
        parts = split(text)
    except TemplateFault as exc:
        raise _syntax_error(exc, text, element_id) from None
    expressions = [p for p in parts if p.is_expression]
    if not expressions:
        literal = "".join(p.text for p in parts)
        return Template(text, lambda _v: literal, frozenset(), element_id=element_id, literal=True)
    if len(expressions) == 1 and all(p.is_expression or not p.text.strip() for p in parts):
        return compile_expression(text, element_id)
    pieces: list[Callable[[Mapping[str, Any]], str]] = []
    variables: set[str] = set()
    optional: set[str] = set()
    for part in parts:
        if part.is_expression:
            try:
                compiled = compile_body(part.text)
            except SyntaxFault as exc:
                raise _syntax_error(exc, text, element_id) from None
            variables |= compiled.variables
            optional |= compiled.optional_variables
            pieces.append(_stringify(compiled.fn))
        else:
            pieces.append(_constant(part.text))

    def render(v: Mapping[str, Any]) -> str:
        parts, total = [], 0
        for piece in pieces:
            part = piece(v)
            total += len(part)
            if total > 65_536:  # refuse before joining, not after
                check_size(total, "a string")
            parts.append(part)
        return "".join(parts)

    return Template(text, render, frozenset(variables), frozenset(optional), element_id)


def _stringify(fn: Callable[[Mapping[str, Any]], Any]) -> Callable[[Mapping[str, Any]], str]:
    return lambda v: to_string(fn(v))


def _constant(text: str) -> Callable[[Mapping[str, Any]], str]:
    return lambda _v: text
