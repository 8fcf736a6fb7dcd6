"""What every part of one DMN load shares: the namespace, the names in scope, and the list of
located problems (file, line, element id) that make the file refused."""

from __future__ import annotations

from lxml import etree

from engine.errors import Problem
from engine.feel import (
    CompiledExpression,
    FeelError,
    UnaryTests,
    compile_expression,
    compile_unary_tests,
)

_FEEL_LANGUAGES = {"feel", "http://www.omg.org/spec/feel/20140401"}


class Reader:
    """One load: compiles every FEEL text it is given, collecting every problem."""

    def __init__(self, filename: str) -> None:
        self.filename = filename
        self.problems: list[Problem] = []
        self.ns = ""
        self.names: frozenset[str] = frozenset()

    def problem(self, message: str, element: etree._Element | None,
                element_id: str | None = None) -> None:
        line = element.sourceline if element is not None else None
        if element_id is None and element is not None:
            element_id = element.get("id")
        self.problems.append(Problem(message, file=self.filename, line=line,
                                     element_id=element_id))

    def q(self, tag: str) -> str:
        return f"{{{self.ns}}}{tag}"

    def local(self, element: etree._Element) -> str | None:
        """The local name of a DMN element (None for comments and foreign elements)."""
        if not isinstance(element.tag, str):
            return None
        qname = etree.QName(element)
        return qname.localname if qname.namespace == self.ns else None

    def children(self, element: etree._Element, tag: str) -> list[etree._Element]:
        found: list[etree._Element] = element.findall(self.q(tag))
        return found

    def text_of(self, element: etree._Element | None, child: str = "text") -> str | None:
        if element is None:
            return None
        node = element.find(self.q(child))
        return node.text if node is not None and node.text is not None else None

    def expression(self, text: str, element: etree._Element, where: str,
                   element_id: str | None = None) -> CompiledExpression | None:
        try:
            return compile_expression(text, self.names)
        except FeelError as exc:
            self.problem(f"{where}: {exc.message}", element, element_id)
            return None

    def unary_tests(self, text: str, element: etree._Element, where: str,
                    element_id: str | None = None) -> UnaryTests | None:
        try:
            return compile_unary_tests(text, self.names)
        except FeelError as exc:
            self.problem(f"{where}: {exc.message}", element, element_id)
            return None

    def check_language(self, element: etree._Element, where: str) -> bool:
        language = element.get("expressionLanguage")
        if language and language.lower() not in _FEEL_LANGUAGES and "/feel/" not in \
                language.lower():
            self.problem(f"{where}: expression language {language!r} is not supported "
                         "(only FEEL)", element)
            return False
        return True

    @staticmethod
    def href(element: etree._Element | None) -> str | None:
        """The id an ``href`` points at (``#id`` or ``namespace#id``)."""
        if element is None:
            return None
        href = element.get("href") or ""
        return href.rsplit("#", 1)[-1] or None
