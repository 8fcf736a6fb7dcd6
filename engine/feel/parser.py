"""The FEEL parser: one LALR table built from grammar.lark at import, shared by all threads."""

from __future__ import annotations

from pathlib import Path

from lark import Lark, Tree
from lark.exceptions import LarkError, UnexpectedCharacters, UnexpectedInput, UnexpectedToken

from engine.feel.errors import FeelError

_GRAMMAR = (Path(__file__).with_name("grammar.lark")).read_text(encoding="utf-8")
_PARSER = Lark(_GRAMMAR, parser="lalr", start=["expression", "unary_tests"],
               propagate_positions=False, maybe_placeholders=True, cache=False)

MAX_SOURCE = 100_000  # characters; a cell longer than this is a mistake, not a formula


def parse(text: str, start: str = "expression") -> Tree:
    """Parse FEEL ``text`` from rule ``start``; raise FeelError with the column on failure."""
    if len(text) > MAX_SOURCE:
        raise FeelError(f"FEEL text longer than {MAX_SOURCE} characters", expression=text[:80])
    try:
        return _PARSER.parse(text, start=start)
    except UnexpectedInput as exc:
        raise FeelError(f"syntax error at column {exc.column}: {_describe(exc)}",
                        expression=text) from None
    except LarkError as exc:  # pragma: no cover - other lark failures
        raise FeelError(f"syntax error: {exc}", expression=text) from None


def _describe(exc: UnexpectedInput) -> str:
    if isinstance(exc, UnexpectedToken):
        if exc.token.type == "$END":
            return "unexpected end of text"
        return f"unexpected {str(exc.token)!r}"
    if isinstance(exc, UnexpectedCharacters):
        return f"unexpected character {exc.char!r}"
    return "unexpected input"
