"""Boxed expressions (DMN 1.5 chapter 7): each element compiled once to a node ``scope -> value``.

Literal expressions and decision tables keep their own model classes (the result shapes of
tables matter to callers); contexts, invocations, relations, lists, conditionals, filters,
iterators (``for``/``some``/``every``) and function definitions become
:class:`~engine.dmn.model.BoxedExpression` nodes built from the nodes of their parts.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from lxml import etree

from engine.dmn.model import BoxedExpression, DecisionTable, LiteralExpression, Logic, Node
from engine.dmn.reader import Reader
from engine.dmn.table_loader import read_table
from engine.dmn.tables import evaluate_table
from engine.dmn.types import conform, resolve
from engine.feel import Scope
from engine.feel.calls import call_function, define_function
from engine.feel.external import external_function
from engine.feel.operators import logical_and, logical_or
from engine.feel.sequences import filter_list, iteration_domain

KINDS = ("literalExpression", "decisionTable", "context", "invocation", "relation", "list",
         "conditional", "filter", "for", "some", "every", "functionDefinition")


def logic_node(logic: Logic) -> Node:
    """The node that evaluates any logic to its DMN value (tables non-strictly)."""
    if isinstance(logic, LiteralExpression):
        return logic.expression.evaluate_in
    if isinstance(logic, DecisionTable):
        return lambda scope: evaluate_table(logic, scope, "decision table", False).value
    return logic.node


class BoxedReader:
    """Compiles the boxed expressions of one load, reporting problems on ``reader``."""

    def __init__(self, reader: Reader) -> None:
        self.reader = reader

    def find(self, holder: etree._Element) -> etree._Element | None:
        """The boxed expression element directly inside ``holder``, if any."""
        for child in holder:
            if self.reader.local(child) in KINDS:
                return child
        return None

    def logic(self, holder: etree._Element, owner: str) -> Logic | None:
        """The logic of a decision, BKM or context entry; None if absent or broken."""
        element = self.find(holder)
        if element is None:
            unknown = [c for c in holder if isinstance(c.tag, str) and
                       etree.QName(c).namespace == self.reader.ns and self.reader.local(c)
                       not in _NOT_LOGIC]
            if unknown:
                self.reader.problem(f"{owner!r}: boxed expression "
                                    f"{self.reader.local(unknown[0])!r} is not supported",
                                    unknown[0])
            return None
        return self.read(element, owner)

    def read(self, element: etree._Element, owner: str) -> Logic | None:
        kind = self.reader.local(element)
        if kind == "decisionTable":
            return read_table(self.reader, element, owner)
        type_ref = element.get("typeRef")
        node: Node | None
        if kind == "literalExpression":
            literal = self.literal(element, owner)
            if literal is None or not type_ref:
                return literal
            node = literal.expression.evaluate_in
        elif kind in _READERS:
            node = _READERS[kind](self, element, owner)
            if node is None:
                return None
        else:  # callers pass only elements whose kind is in KINDS
            raise ValueError(f"not a boxed expression: {kind!r}")
        return BoxedExpression(kind, _typed(node, type_ref, owner) if type_ref else node)

    def node(self, holder: etree._Element | None, owner: str, *, direct: bool = False
             ) -> Node | None:
        """The node of the boxed expression in ``holder`` (or of ``holder`` itself when
        ``direct``); an absent expression is null."""
        if holder is None:
            return _null
        element = holder if direct else self.find(holder)
        if element is None:
            return _null
        logic = self.read(element, owner)
        return logic_node(logic) if logic is not None else None

    # ---- kinds
    def literal(self, element: etree._Element, owner: str) -> LiteralExpression | None:
        if not self.reader.check_language(element, f"literal expression of {owner!r}"):
            return None
        text = self.reader.text_of(element) or ""
        compiled = self.reader.expression(text.strip() or "null", element,
                                          f"literal expression of {owner!r}")
        return LiteralExpression(text, compiled) if compiled else None

    def _context(self, element: etree._Element, owner: str) -> Node | None:
        variables: list[tuple[str | None, str | None]] = []
        nodes: list[Node | None] = []
        for entry in self.reader.children(element, "contextEntry"):
            variable = entry.find(self.reader.q("variable"))
            name = variable.get("name") if variable is not None else None
            type_ref = variable.get("typeRef") if variable is not None else None
            variables.append((name, type_ref))
            nodes.append(self.node(entry, name or owner))
        compiled = _all_compiled(nodes)
        if compiled is None:
            return None
        entries = [(name, type_ref, node) for (name, type_ref), node in zip(variables, compiled)]

        def context(scope: Scope) -> Any:
            built: dict[str, Any] = {}
            inner = scope.child(built)
            for name, type_ref, node in entries:
                value = node(inner)
                if name is None:
                    return value
                built[name] = conform(value, type_ref, scope.types, scope.errors,
                                      f"context entry {name!r}")
            return built
        return context

    def _invocation(self, element: etree._Element, owner: str) -> Node | None:
        callee = self.node(element, owner)
        names: list[str] = []
        nodes: list[Node | None] = []
        for binding in self.reader.children(element, "binding"):
            parameter = binding.find(self.reader.q("parameter"))
            name = parameter.get("name") if parameter is not None else None
            if not name:
                self.reader.problem(f"{owner!r}: an invocation binding has no parameter",
                                    binding)
                return None
            names.append(name)
            nodes.append(self.node(binding, name))
        compiled = _all_compiled(nodes)
        if callee is None or compiled is None:
            return None
        bindings = list(zip(names, compiled))

        def invoke(scope: Scope) -> Any:
            named = {name: node(scope) for name, node in bindings}
            return call_function(callee(scope), [], named, scope)
        return invoke

    def _relation(self, element: etree._Element, owner: str) -> Node | None:
        columns = [c.get("name") or "" for c in self.reader.children(element, "column")]
        rows: list[list[Node]] = []
        broken = False
        for row in self.reader.children(element, "row"):
            cells = [self.node(c, owner, direct=True) for c in row
                     if self.reader.local(c) in KINDS]
            if len(cells) != len(columns):
                self.reader.problem(f"{owner!r}: a relation row has {len(cells)} cells for "
                                    f"{len(columns)} columns", row)
                return None
            compiled = _all_compiled(cells)
            broken = broken or compiled is None
            rows.append(compiled or [])
        if broken:
            return None
        return lambda scope: [{name: cell(scope) for name, cell in zip(columns, row)}
                              for row in rows]

    def _list(self, element: etree._Element, owner: str) -> Node | None:
        items = _all_compiled([self.node(c, owner, direct=True) for c in element
                               if self.reader.local(c) in KINDS])
        if items is None:
            return None
        return lambda scope: [item(scope) for item in items]

    def _part(self, element: etree._Element, tag: str, owner: str) -> Node | None:
        return self.node(element.find(self.reader.q(tag)), owner)

    def _conditional(self, element: etree._Element, owner: str) -> Node | None:
        test, then, other = (self._part(element, t, owner) for t in ("if", "then", "else"))
        if test is None or then is None or other is None:
            return None

        def conditional(scope: Scope) -> Any:
            try:
                verdict = _boolean(test(scope), scope, "the condition")
            except _NotBoolean:
                return None
            return then(scope) if verdict is True else other(scope)
        return conditional

    def _filter(self, element: etree._Element, owner: str) -> Node | None:
        items, match = self._part(element, "in", owner), self._part(element, "match", owner)
        if items is None or match is None:
            return None

        def boolean_match(scope: Scope) -> Any:
            return _boolean(match(scope), scope, "the filter")

        def filtered(scope: Scope) -> Any:
            try:
                return filter_list(items(scope), boolean_match, scope)
            except _NotBoolean:
                return None
        return filtered

    def _iterator(self, element: etree._Element, owner: str, body_tag: str
                  ) -> tuple[str, Node, Node] | None:
        name = element.get("iteratorVariable") or "item"
        domain, body = self._part(element, "in", owner), self._part(element, body_tag, owner)
        if domain is None or body is None:
            return None
        return name, domain, body

    def _for(self, element: etree._Element, owner: str) -> Node | None:
        parts = self._iterator(element, owner, "return")
        if parts is None:
            return None
        name, domain, body = parts

        def loop(scope: Scope) -> Any:
            values = iteration_domain(domain(scope), scope)
            if values is None:
                return None
            results: list[Any] = []
            for value in values:
                scope.meter.step()
                results.append(body(scope.child({name: value, "partial": results})))
            return results
        return loop

    def _quantified(self, element: etree._Element, owner: str, every: bool) -> Node | None:
        parts = self._iterator(element, owner, "satisfies")
        if parts is None:
            return None
        name, domain, body = parts
        kind = "every" if every else "some"

        def quantified(scope: Scope) -> Any:
            values = iteration_domain(domain(scope), scope)
            if values is None:
                return None
            result: bool | None = every
            for value in values:
                scope.meter.step()
                try:
                    verdict = _boolean(body(scope.child({name: value})), scope, kind)
                except _NotBoolean:
                    return None
                result = logical_and(result, verdict) if every else logical_or(result, verdict)
                if result is (not every):
                    break
            return result
        return quantified

    def _some(self, element: etree._Element, owner: str) -> Node | None:
        return self._quantified(element, owner, every=False)

    def _every(self, element: etree._Element, owner: str) -> Node | None:
        return self._quantified(element, owner, every=True)

    def function_definition(self, element: etree._Element, owner: str) -> Node | None:
        """A node giving the function defined by ``element`` (FEEL or Java kind)."""
        params = [(p.get("name") or "", p.get("typeRef"))
                  for p in self.reader.children(element, "formalParameter")]
        names = tuple(name for name, _ in params)
        kinds = tuple(resolve(t) if t else None for _, t in params)
        body = self.node(element, owner)
        kind = (element.get("kind") or "FEEL").upper()
        if body is None:
            return None
        if kind == "JAVA":
            return lambda scope: external_function({"java": body(scope)}, names, scope)
        if kind != "FEEL":
            self.reader.problem(f"{owner!r}: function kind {kind!r} is not supported "
                                "(FEEL and Java are)", element)
            return None
        typed = kinds if any(k is not None for k in kinds) else None
        return lambda scope: define_function(names, typed, body, scope)


_NOT_LOGIC = {"variable", "description", "informationRequirement", "knowledgeRequirement",
              "authorityRequirement", "extensionElements", "question", "allowedAnswers",
              "formalParameter", "supportedObjective", "impactedPerformanceIndicator",
              "decisionMaker", "decisionOwner", "usingProcess", "usingTask"}


_READERS: dict[str, Callable[[BoxedReader, etree._Element, str], Node | None]] = {
    "context": BoxedReader._context, "invocation": BoxedReader._invocation,
    "relation": BoxedReader._relation, "list": BoxedReader._list,
    "conditional": BoxedReader._conditional, "filter": BoxedReader._filter,
    "for": BoxedReader._for, "some": BoxedReader._some, "every": BoxedReader._every,
    "functionDefinition": BoxedReader.function_definition,
}


def _all_compiled(nodes: list[Node | None]) -> list[Node] | None:
    """The nodes, or None when any failed to compile (each failure is already reported)."""
    compiled = [node for node in nodes if node is not None]
    return compiled if len(compiled) == len(nodes) else None


def _null(scope: Scope) -> None:
    return None


def _typed(node: Node, type_ref: str, owner: str) -> Node:
    """``node`` whose value is converted to ``type_ref`` (null when it does not conform)."""
    def typed(scope: Scope) -> Any:
        return conform(node(scope), type_ref, scope.types, scope.errors,
                       f"expression of {owner!r}")
    return typed


def _boolean(value: Any, scope: Scope, what: str) -> bool | None:
    """A condition's verdict; a value that is neither boolean nor null is an error."""
    if value is None or type(value) is bool:
        return value
    scope.error(f"{what} gave {type(value).__name__}, not a boolean")
    raise _NotBoolean


class _NotBoolean(Exception):
    """A boxed condition gave something other than a boolean: the expression is null."""
