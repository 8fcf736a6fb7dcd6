"""Parse JUEL expression text with a LALR grammar (juel.lark) into closures.

The basic (not contextual) lexer keeps JUEL's reserved words (``and``, ``empty``, ``div``...)
reserved everywhere, so ``a.empty`` is a syntax error as in JUEL, never a property.

Parsing is the slow part, so compiled bodies are cached by text: a process definition deployed
many times, or the same condition on many flows, is parsed once per process.
"""

from __future__ import annotations

from functools import lru_cache
from importlib.resources import files

from lark import Lark, Token, Tree
from lark.exceptions import UnexpectedCharacters, UnexpectedEOF, UnexpectedInput, UnexpectedToken

from engine.expressions.compiler import Compiled, CompileError, compile_tree

_GRAMMAR = files("engine.expressions").joinpath("juel.lark").read_text(encoding="utf-8")
_PARSER = Lark(_GRAMMAR, parser="lalr", lexer="basic", start="start", propagate_positions=False)

#: Longer texts are refused: no real condition or mapping is this long.
MAX_LENGTH = 10_000


class SyntaxFault(Exception):
    """The text is not a valid expression; the message says where (column) and why."""


def parse(body: str) -> Tree[Token]:
    """Parse the body of one ``${...}`` (without the delimiters)."""
    if len(body) > MAX_LENGTH:
        raise SyntaxFault(f"Expression is longer than {MAX_LENGTH} characters")
    if not body.strip():
        raise SyntaxFault("Nothing to evaluate between the braces")
    try:
        return _PARSER.parse(body)
    except UnexpectedEOF:
        raise SyntaxFault("Syntax error: unexpected end of input") from None
    except UnexpectedCharacters as exc:
        raise SyntaxFault(f"Syntax error at column {exc.column}: unexpected character "
                          f"{exc.char!r}") from None
    except UnexpectedToken as exc:
        if exc.token.type == "$END":
            raise SyntaxFault("Syntax error: unexpected end of input") from None
        raise SyntaxFault(f"Syntax error at column {exc.column}: unexpected "
                          f"{str(exc.token)!r}") from None
    except UnexpectedInput as exc:  # pragma: no cover - the three above are exhaustive
        raise SyntaxFault(f"Syntax error at column {exc.column}") from None


@lru_cache(maxsize=4096)
def compile_body(body: str) -> Compiled:
    """Parse and compile one expression body; SyntaxFault on any error (the same text always
    fails the same way, so failures are not cached)."""
    tree = parse(body)
    try:
        return compile_tree(tree)
    except CompileError as exc:
        raise SyntaxFault(str(exc)) from None
    except RecursionError:
        raise SyntaxFault("Expression is nested too deeply") from None
