"""Reading FEEL types: ``number``, ``date and time``, ``list<T>``, ``range<T>``,
``context<name: T, ...>``, ``function<T, ...> -> T`` and (qualified) item definition names,
as ``instance of`` and typed function parameters write them."""

from __future__ import annotations

from typing import Any

from engine.feel.cursor import KEYWORDS, TokenCursor
from engine.feel.lexer import unescape

Tree = tuple[Any, ...]


class TypeParser(TokenCursor):
    """The type rules of the FEEL grammar (the parser's base)."""

    def type_(self) -> Tree:
        self.enter()
        try:
            return self._type()
        finally:
            self.depth -= 1

    def _type(self) -> Tree:
        if self.at_words("function") and self.peek(1).text == "<":
            self.pos += 2
            params = []
            if not self.accept(">"):
                params.append(self.type_())
                while self.accept(","):
                    params.append(self.type_())
                self.expect(">")
            self.expect("->")
            return ("function_t", params, self.type_())
        for generic in ("list", "range"):
            if self.at_words(generic) and self.peek(1).text == "<":
                self.pos += 2
                inner = self.type_()
                self.expect(">")
                return (generic + "_t", inner)
        if self.at_words("context") and self.peek(1).text == "<":
            self.pos += 2
            fields = []
            if not self.accept(">"):
                while True:
                    key = self.argument_name() if self.peek().kind == "word" else \
                        unescape(self.peek().text)
                    if self.peek().kind == "string":
                        self.pos += 1
                    self.expect(":")
                    fields.append((key, self.type_()))
                    if not self.accept(","):
                        break
                self.expect(">")
            return ("context_t", fields)
        for words in ("date and time", "days and time duration", "years and months duration"):
            if self.at_words(*words.split()):
                self.pos += len(words.split())
                return ("type", words)
        parts = [self.type_name_part()]
        while self.at(".") and self.peek(1).kind == "word":
            self.pos += 1
            parts.append(self.type_name_part())
        return ("type", ".".join(parts))

    def type_name_part(self) -> str:
        words: list[str] = []
        while self.peek().kind == "word" and (not words or self.peek().text not in KEYWORDS):
            words.append(self.peek().text)
            self.pos += 1
        if not words:
            self.fail("a type name")
        return " ".join(words)


def parse_type(text: str) -> Tree:
    """Parse a FEEL type such as ``list<number>`` or ``context<a: string>``."""
    parser = TypeParser(text)
    tree = parser.type_()
    parser.done()
    return tree
