"""A cursor over FEEL tokens that reads names the way FEEL needs.

FEEL names may hold spaces, keywords and operator characters (``Another Date and Time``,
``Date-Time``), which no grammar can tell from the operators without knowing the names in
scope. The cursor is given the names that need this (the model's names, every built-in's
name, and those the text defines itself, declared as the parser meets them); any other run
of words is one name (``Monthly Salary``).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import NoReturn

from engine.feel.errors import FeelError
from engine.feel.lexer import OPERATORS, Token, tokenize

MAX_SOURCE = 100_000  # characters; a cell longer than this is a mistake, not a formula
MAX_DEPTH = 400       # nesting of the recursive descent

KEYWORDS = frozenset({"and", "or", "in", "between", "instance", "then", "else", "return",
                      "satisfies", "for", "some", "every", "if", "function", "external",
                      "true", "false", "null"})


def name_tokens(name: str) -> tuple[str, ...]:
    """The token texts of a name, or () when the name is not FEEL text at all."""
    try:
        return tuple(t.text for t in tokenize(name)[:-1])
    except FeelError:
        return ()


def needs_declaring(name: str) -> bool:
    """Whether the parser must know ``name`` to read it: it is not a plain run of words."""
    tokens = name_tokens(name)
    return len(tokens) > 1 and any(not _plain_word(t) for t in tokens)


def _plain_word(text: str) -> bool:
    return text not in KEYWORDS and not text[0].isdigit() and text not in OPERATORS


class TokenCursor:
    """Tokens of one text, a position in them, and the names declared so far."""

    def __init__(self, text: str, names: Iterable[str] = ()) -> None:
        if len(text) > MAX_SOURCE:
            raise FeelError(f"FEEL text longer than {MAX_SOURCE} characters",
                            expression=text[:80])
        self.text = text
        self.tokens = tokenize(text)
        self.pos = 0
        self.depth = 0
        self.special: dict[str, list[tuple[tuple[str, ...], str]]] = {}
        for name in names:
            self.declare(name)

    # ---- names
    def declare(self, name: str) -> None:
        """Make ``name`` readable as one name from here on (if it needs it)."""
        tokens = name_tokens(name)
        if len(tokens) > 1 and any(not _plain_word(t) for t in tokens):
            entries = self.special.setdefault(tokens[0], [])
            if (tokens, name) not in entries:
                entries.append((tokens, name))
                entries.sort(key=lambda e: -len(e[0]))

    def try_name(self) -> str | None:
        """Read a name at the current position (the longest declared one first)."""
        token = self.tokens[self.pos]
        if token.kind != "word":
            return None
        for texts, name in self.special.get(token.text, ()):
            end = self.pos + len(texts)
            if end < len(self.tokens) and all(
                    self.tokens[self.pos + i].text == t for i, t in enumerate(texts)):
                self.pos = end
                return name
        if token.text in KEYWORDS:
            return None
        words = [token.text]
        self.pos += 1
        while self.tokens[self.pos].kind == "word" and self.tokens[self.pos].text not in KEYWORDS:
            if self.tokens[self.pos].text in self.special:
                break  # a declared name starts here, e.g. `x date and time(...)`
            words.append(self.tokens[self.pos].text)
            self.pos += 1
        return " ".join(words)

    def name(self) -> str:
        name = self.try_name()
        if name is None:
            self.fail("a name")
        return name

    # ---- token helpers
    def peek(self, offset: int = 0) -> Token:
        return self.tokens[min(self.pos + offset, len(self.tokens) - 1)]

    def at(self, *texts: str) -> bool:
        token = self.tokens[self.pos]
        return token.kind in ("op", "word") and token.text in texts

    def at_words(self, *words: str) -> bool:
        return all(self.peek(i).kind == "word" and self.peek(i).text == w
                   for i, w in enumerate(words))

    def accept(self, text: str) -> bool:
        if self.at(text):
            self.pos += 1
            return True
        return False

    def expect(self, text: str) -> None:
        if not self.accept(text):
            self.fail(repr(text))

    def fail(self, wanted: str) -> NoReturn:
        token = self.tokens[self.pos]
        found = "end of text" if token.kind == "end" else repr(token.text)
        raise FeelError(f"syntax error at column {token.start + 1}: expected {wanted}, "
                        f"found {found}", expression=self.text)

    def done(self) -> None:
        if self.tokens[self.pos].kind != "end":
            token = self.tokens[self.pos]
            raise FeelError(f"syntax error at column {token.start + 1}: unexpected "
                            f"{token.text!r}", expression=self.text)

    def enter(self) -> None:
        self.depth += 1
        if self.depth > MAX_DEPTH:
            raise FeelError("expression is nested too deeply", expression=self.text[:80])

    def argument_name(self) -> str:
        """The words before a ``:`` (a named argument, a context type's key)."""
        words = []
        while self.peek().kind == "word":
            words.append(self.peek().text)
            self.pos += 1
        return " ".join(words)
