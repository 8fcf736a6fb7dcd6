"""FEEL tokens: numbers, strings, words and operators, with their positions in the text.

Names are not tokens of their own: FEEL names may hold spaces and even keywords
(``Another Date and Time``), so the parser assembles them from ``word`` tokens, knowing
which names are defined.
"""

from __future__ import annotations

import re
from typing import NamedTuple

from engine.feel.errors import FeelError


class Token(NamedTuple):
    kind: str  # "number", "string", "word", "op", "end"
    text: str
    start: int
    end: int


OPERATORS = ("..", "**", "<=", ">=", "!=", "->", "(", ")", "[", "]", "{", "}", ",", ".", ":",
              "+", "-", "*", "/", "<", ">", "=", "@", "?")
_SPACE = re.compile(r"(?:\s|//[^\n]*|/\*.*?\*/)+", re.S)
_NUMBER = re.compile(r"(?:\d+(?:\.\d+)?|\.\d+)(?:[eE][+-]?\d+)?")
_STRING = re.compile(r'"(?:[^"\\]|\\.)*"', re.S)
# A word: anything up to whitespace or a character FEEL uses as punctuation. Quotes and `?`
# may appear inside (``Applicant's age``), digits after the first character.
_WORD = re.compile(r"""[^\s\d"'()\[\]{},.:;<>=!+\-*/@?#%&|^~\\`]"""
                   r"""[^\s"()\[\]{},.:;<>=!+\-*/@#%&|^~\\`]*""")


def tokenize(text: str) -> list[Token]:
    """Split FEEL ``text`` into tokens; raises FeelError with the column of a bad character."""
    tokens: list[Token] = []
    position, length = 0, len(text)
    while True:
        space = _SPACE.match(text, position)
        if space:
            position = space.end()
        if position >= length:
            tokens.append(Token("end", "", length, length))
            return tokens
        char = text[position]
        match = None
        if char == '"':
            match = _STRING.match(text, position)
            if not match:
                raise FeelError(f"syntax error at column {position + 1}: unterminated string",
                                expression=text)
            kind = "string"
        elif char.isdigit() or (char == "." and text[position + 1:position + 2].isdigit()):
            match = _NUMBER.match(text, position)
            kind = "number"
        else:
            match = _WORD.match(text, position)
            kind = "word"
        if match:
            tokens.append(Token(kind, match.group(), position, match.end()))
            position = match.end()
            continue
        for operator in OPERATORS:
            if text.startswith(operator, position):
                tokens.append(Token("op", operator, position, position + len(operator)))
                position += len(operator)
                break
        else:
            raise FeelError(f"syntax error at column {position + 1}: unexpected character "
                            f"{char!r}", expression=text)


_ESCAPES = {"n": "\n", "t": "\t", "r": "\r", "b": "\b", "f": "\f", '"': '"', "'": "'",
            "\\": "\\"}


def unescape(token: str) -> str:
    """The value of a FEEL string literal: ``\\"``, ``\\n``, ``\\uXXXX`` (surrogate pairs
    joined) and ``\\UXXXXXX`` resolved; any other backslash stays, as regular expressions
    (``"\\d{3}"``) need it."""
    body = token[1:-1]
    if "\\" not in body:
        return body
    out: list[str] = []
    i = 0
    while i < len(body):
        ch = body[i]
        if ch != "\\" or i + 1 >= len(body):
            out.append(ch)
            i += 1
            continue
        nxt = body[i + 1]
        if nxt == "u" and re.fullmatch(r"[0-9a-fA-F]{4}", body[i + 2:i + 6]):
            out.append(chr(int(body[i + 2:i + 6], 16)))
            i += 6
        elif nxt == "U" and re.fullmatch(r"[0-9a-fA-F]{6}", body[i + 2:i + 8]):
            out.append(chr(min(int(body[i + 2:i + 8], 16), 0x10FFFF)))
            i += 8
        else:
            out.append(_ESCAPES.get(nxt, "\\" + nxt))
            i += 2
    return _join_surrogates("".join(out))


def _join_surrogates(text: str) -> str:
    if not any("\ud800" <= ch <= "\udfff" for ch in text):
        return text
    return text.encode("utf-16", "surrogatepass").decode("utf-16", "replace")
