"""Safe evaluator for Camunda 7 ``${...}`` expressions (a JUEL 2.2 subset).

Expression text from BPMN files is parsed with a LALR grammar and compiled to closures; it is
never passed to Python ``eval``/``exec``/``compile``, and values are only ever read as maps,
lists and strings (no attribute access), so a process file cannot run code.

    >>> e = compile_expression("${score >= 0.8 && stage == 'PROD'}", element_id="Flow_1")
    >>> e.evaluate({"score": 0.9, "stage": "PROD"})
    True
    >>> compile_template("Model ${MODEL_ID} failed").evaluate({"MODEL_ID": 7})
    'Model 7 failed'

The semantics chosen where JUEL leaves room are in ``SEMANTICS.md`` next to this file.
"""

from engine.expressions.compiler import EXECUTION
from engine.expressions.evaluator import (
    Expression,
    Template,
    UnknownVariableError,
    compile_expression,
    compile_template,
)
from engine.expressions.template import is_expression

__all__ = [
    "EXECUTION",
    "Expression",
    "Template",
    "UnknownVariableError",
    "compile_expression",
    "compile_template",
    "is_expression",
]
