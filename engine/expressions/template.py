"""Split Camunda composite text (``Model ${id} failed``) into literal text and ``${...}`` bodies.

The body of an eval part ends at the first ``}`` outside a string literal (JUEL 2.2 has no
braces of its own). As in JUEL, ``\\${`` and ``\\#{`` in literal text stand for ``${`` / ``#{``.
"""

from __future__ import annotations

from dataclasses import dataclass


class TemplateFault(Exception):
    """The text has an unterminated ``${``."""


@dataclass(frozen=True, slots=True)
class Part:
    """One piece of a template: literal text, or an expression body when ``is_expression``."""

    text: str
    is_expression: bool


def is_expression(text: str) -> bool:
    """True if ``text`` contains an eval expression (``${`` or JUEL's deferred ``#{``)."""
    return "${" in text or "#{" in text


def split(text: str) -> list[Part]:
    """Split ``text`` into literal and expression parts, merging adjacent literal text."""
    parts: list[Part] = []
    literal: list[str] = []
    i, n = 0, len(text)
    while i < n:
        ch = text[i]
        if ch == "\\" and text.startswith(("${", "#{"), i + 1):
            literal.append(text[i + 1:i + 3])
            i += 3
            continue
        if ch in "$#" and text.startswith("{", i + 1):
            end = _find_end(text, i + 2)
            if literal:
                parts.append(Part("".join(literal), False))
                literal = []
            parts.append(Part(text[i + 2:end], True))
            i = end + 1
            continue
        literal.append(ch)
        i += 1
    if literal:
        parts.append(Part("".join(literal), False))
    return parts


def _find_end(text: str, start: int) -> int:
    """Index of the ``}`` closing an eval part whose body starts at ``start``."""
    quote: str | None = None
    i = start
    while i < len(text):
        ch = text[i]
        if quote:
            if ch == "\\":
                i += 1
            elif ch == quote:
                quote = None
        elif ch in "'\"":
            quote = ch
        elif ch == "}":
            return i
        i += 1
    raise TemplateFault(f"Unterminated expression starting at column {start - 1}: missing '}}'")
