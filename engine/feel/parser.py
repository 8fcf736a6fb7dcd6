"""The FEEL parser: tokens -> a small tree of tuples, by recursive descent.

Hand-written rather than generated because FEEL names are context-sensitive (see
:mod:`engine.feel.cursor`, which reads them). Trees are tuples ``(kind, *children)``; see
:mod:`engine.feel.compiler` for each kind.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from decimal import Decimal, InvalidOperation
from typing import Any

from engine.feel.errors import FeelError
from engine.feel.lexer import unescape
from engine.feel.type_parser import TypeParser

Tree = tuple[Any, ...]

COMPARATORS = ("<=", ">=", "!=", "<", ">", "=")


class Parser(TypeParser):
    """One parse of one text, by recursive descent (see module doc)."""

    # ---- entry points
    def parse_expression(self) -> Tree:
        tree = self.expression()
        self.done()
        return tree

    def parse_unary_tests(self) -> Tree:
        """An input entry: ``-``, ``not(tests)`` or tests separated by commas."""
        if self.at("-") and self.peek(1).kind == "end":
            return ("any",)
        if self.at_words("not") and self.peek(1).text == "(":
            start = self.pos
            self.pos += 2
            try:
                tests = self.positive_tests()
                self.expect(")")
                if self.peek().kind == "end":
                    return ("not", tests)
            except FeelError:
                pass
            self.pos = start
        tests = self.positive_tests()
        self.done()
        return ("tests", tests)

    def positive_tests(self) -> list[Tree]:
        tests = [self.positive_test()]
        while self.accept(","):
            tests.append(self.positive_test())
        return tests

    def positive_test(self) -> Tree:
        if self.at(*COMPARATORS):
            op = self.peek().text
            self.pos += 1
            return ("cmprange", op, self.additive())
        return self.expression()

    # ---- expressions, lowest precedence first
    def expression(self) -> Tree:
        self.enter()
        try:
            token = self.peek()
            if token.kind == "word" and token.text in ("if", "for", "some", "every", "function") \
                    and not self.special.get(token.text):
                # one parse method per keyword: _if, _for, _some, _every, _function
                keyword: Callable[[], Tree] = getattr(self, "_" + token.text)
                return keyword()
            return self.disjunction()
        finally:
            self.depth -= 1

    def _if(self) -> Tree:
        self.pos += 1
        condition = self.expression()
        self.expect("then")
        then = self.expression()
        self.expect("else")
        return ("if", condition, then, self.expression())

    def iterations(self) -> list[tuple[str, Tree, Tree | None]]:
        out = []
        while True:
            name = self.name()
            self.declare(name)
            self.expect("in")
            low = self.expression()
            high = self.expression() if self.accept("..") else None
            out.append((name, low, high))
            if not self.accept(","):
                return out

    def _for(self) -> Tree:
        self.pos += 1
        iterations = self.iterations()
        self.expect("return")
        return ("for", iterations, self.expression())

    def _some(self) -> Tree:
        self.pos += 1
        iterations = self.iterations()
        self.expect("satisfies")
        return ("some", iterations, self.expression())

    def _every(self) -> Tree:
        self.pos += 1
        iterations = self.iterations()
        self.expect("satisfies")
        return ("every", iterations, self.expression())

    def _function(self) -> Tree:
        self.pos += 1
        self.expect("(")
        params: list[tuple[str, Tree | None]] = []
        if not self.at(")"):
            while True:
                name = self.name()
                self.declare(name)
                kind = self.type_() if self.accept(":") else None
                params.append((name, kind))
                if not self.accept(","):
                    break
        self.expect(")")
        if self.at_words("external"):
            self.pos += 1
            return ("function", params, self.expression(), True)
        return ("function", params, self.expression(), False)

    def disjunction(self) -> Tree:
        left = self.conjunction()
        while self.at_words("or"):
            self.pos += 1
            left = ("or", left, self.conjunction())
        return left

    def conjunction(self) -> Tree:
        left = self.comparison()
        while self.at_words("and"):
            self.pos += 1
            left = ("and", left, self.comparison())
        return left

    def comparison(self) -> Tree:
        left = self.additive()
        while True:
            if self.at(*COMPARATORS) and self.peek().kind == "op":
                op = self.peek().text
                self.pos += 1
                left = ("cmp", op, left, self.additive())
            elif self.at_words("between"):
                self.pos += 1
                low = self.additive()
                self.expect("and")
                left = ("between", left, low, self.additive())
            elif self.at_words("in"):
                self.pos += 1
                left = ("in", left, self.in_tests())
            elif self.at_words("instance", "of"):
                self.pos += 2
                left = ("instance", left, self.type_())
            else:
                return left

    def in_tests(self) -> list[Tree]:
        """The right side of ``in``: one positive unary test, or several in parentheses."""
        if self.at(*COMPARATORS):
            return [self.positive_test()]
        tree = self.additive()
        if tree[0] == "testlist":
            tests: list[Tree] = tree[1]
            return tests
        return [tree]

    def additive(self) -> Tree:
        left = self.multiplicative()
        while self.at("+", "-") and self.peek().kind == "op":
            op = "add" if self.peek().text == "+" else "sub"
            self.pos += 1
            left = (op, left, self.multiplicative())
        return left

    def multiplicative(self) -> Tree:
        left = self.power()
        while self.at("*", "/") and self.peek().kind == "op":
            op = "mul" if self.peek().text == "*" else "div"
            self.pos += 1
            left = (op, left, self.power())
        return left

    def power(self) -> Tree:
        left = self.unary()
        while self.accept("**"):
            left = ("pow", left, self.unary())
        return left

    def unary(self) -> Tree:
        if self.at("-") and self.peek().kind == "op":
            self.pos += 1
            self.enter()
            try:
                operand = self.unary()
            finally:
                self.depth -= 1
            if operand[0] == "num":
                return ("num", -operand[1])
            return ("neg", operand)
        return self.postfix(filters=True)

    def postfix(self, filters: bool) -> Tree:
        tree = self.primary()
        while True:
            if self.accept("."):
                tree = ("path", tree, self.member_name())
            elif filters and self.at("["):
                self.pos += 1
                tree = ("filter", tree, self.expression())
                self.expect("]")
            elif self.at("("):
                self.pos += 1
                tree = self.call(tree)
            else:
                return tree

    def member_name(self) -> str:
        token = self.peek()
        if token.kind == "word":
            return self.try_name() or self.keyword_as_name()
        if token.kind == "string":
            self.pos += 1
            return unescape(token.text)
        self.fail("a name")

    def keyword_as_name(self) -> str:
        token = self.peek()
        self.pos += 1
        return token.text

    def call(self, callee: Tree) -> Tree:
        if self.accept(")"):
            return ("call", callee, [], None)
        if self.named_argument_ahead():
            named: list[tuple[str, Tree]] = []
            while True:
                name = self.argument_name()
                self.expect(":")
                named.append((name, self.expression()))
                if not self.accept(","):
                    break
            self.expect(")")
            return ("call", callee, [], named)
        args = [self.expression()]
        while self.accept(","):
            args.append(self.expression())
        self.expect(")")
        return ("call", callee, args, None)

    def named_argument_ahead(self) -> bool:
        index = self.pos
        while self.tokens[index].kind == "word":
            index += 1
        return index > self.pos and self.tokens[index].text == ":" and \
            self.tokens[index].kind == "op"

    # ---- atoms
    def primary(self) -> Tree:
        token = self.peek()
        kind, text = token.kind, token.text
        if kind == "number":
            self.pos += 1
            try:
                return ("num", Decimal(text))
            except InvalidOperation:  # pragma: no cover - the lexer only yields numbers
                self.fail("a number")
        if kind == "string":
            self.pos += 1
            return ("str", unescape(text))
        if kind == "op":
            return self.operator_primary(text)
        if kind == "word":
            if text in ("true", "false") and not self.special.get(text):
                self.pos += 1
                return ("bool", text == "true")
            if text == "null" and not self.special.get(text):
                self.pos += 1
                return ("null",)
            if text in ("if", "for", "some", "every", "function"):
                return self.expression()
            name = self.try_name()
            if name is not None:
                if "." in name and self.special.get(text):
                    return ("name", name, _as_path(name))
                return ("name", name)
        self.fail("an expression")

    def operator_primary(self, text: str) -> Tree:
        if text == "(":
            return self.parenthesised()
        if text == "[":
            return self.bracketed()
        if text == "]":
            self.pos += 1
            return self.range_rest(False, self.expression())
        if text == "{":
            return self.context()
        if text == "@":
            self.pos += 1
            token = self.peek()
            if token.kind != "string":
                self.fail("a string after '@'")
            self.pos += 1
            return ("temporal", unescape(token.text))
        if text == "?":
            self.pos += 1
            return ("input",)
        self.fail("an expression")

    def parenthesised(self) -> Tree:
        self.pos += 1
        first = self.positive_test()
        if first[0] != "cmprange" and self.accept(".."):
            return self.range_end(False, first)
        if self.at(","):
            tests = [first]
            while self.accept(","):
                tests.append(self.positive_test())
            self.expect(")")
            return ("testlist", tests)
        self.expect(")")
        return first

    def bracketed(self) -> Tree:
        self.pos += 1
        if self.accept("]"):
            return ("list", [])
        first = self.expression()
        if self.accept(".."):
            return self.range_end(True, first)
        items = [first]
        while self.accept(","):
            items.append(self.expression())
        self.expect("]")
        return ("list", items)

    def range_rest(self, start_included: bool, start: Tree) -> Tree:
        self.expect("..")
        return self.range_end(start_included, start)

    def range_end(self, start_included: bool, start: Tree) -> Tree:
        end = self.range_endpoint()
        token = self.peek()
        if token.kind == "op" and token.text in ("]", "[", ")"):
            self.pos += 1
            return ("range", start_included, start, end, token.text == "]")
        self.fail("']', '[' or ')' to close the range")

    def range_endpoint(self) -> Tree:
        """The end of a range: no filter, so that ``]1..x[`` does not read ``x[``."""
        negative = False
        while self.at("-") and self.peek().kind == "op":
            self.pos += 1
            negative = not negative
        tree = self.postfix(filters=False)
        while self.at("+", "-", "*", "/", "**") and self.peek().kind == "op":
            op = {"+": "add", "-": "sub", "*": "mul", "/": "div", "**": "pow"}[self.peek().text]
            self.pos += 1
            tree = (op, tree, self.postfix(filters=False))
        if negative:
            return ("num", -tree[1]) if tree[0] == "num" else ("neg", tree)
        return tree

    def context(self) -> Tree:
        self.pos += 1
        entries: list[tuple[str, Tree]] = []
        if self.accept("}"):
            return ("context", entries)
        while True:
            key = self.context_key()
            self.expect(":")
            self.declare(key)
            entries.append((key, self.expression()))
            if not self.accept(","):
                break
        self.expect("}")
        return ("context", entries)

    def context_key(self) -> str:
        token = self.peek()
        if token.kind == "string":
            self.pos += 1
            return unescape(token.text)
        start = self.pos
        while not (self.peek().kind == "op" and self.peek().text == ":") and \
                self.peek().kind != "end":
            self.pos += 1
        if self.pos == start:
            self.fail("a context key")
        first, last = self.tokens[start], self.tokens[self.pos - 1]
        return " ".join(self.text[first.start:last.end].split())


def _as_path(name: str) -> Tree:
    """``a.b.c`` read as paths: what a declared dotted name means where it is not bound
    (a BKM parameter ``Person.Name`` is a name in the BKM, a path in the invocation)."""
    parts = [" ".join(p.split()) for p in name.split(".")]
    tree: Tree = ("name", parts[0])
    for part in parts[1:]:
        tree = ("path", tree, part)
    return tree


def parse_expression(text: str, names: Iterable[str] = ()) -> Tree:
    """Parse FEEL expression ``text``; raise FeelError with the column on failure."""
    try:
        return Parser(text, names).parse_expression()
    except RecursionError:
        raise FeelError("expression is nested too deeply", expression=text[:80]) from None


def parse_unary_tests(text: str, names: Iterable[str] = ()) -> Tree:
    """Parse a DMN input entry (unary tests); raise FeelError on failure."""
    try:
        return Parser(text, names).parse_unary_tests()
    except RecursionError:
        raise FeelError("expression is nested too deeply", expression=text[:80]) from None
