"""Read a DMN 1.1-1.5 file (as Camunda Modeler and other tools write it) into the model.

Every FEEL text is compiled here, so a cell that does not parse is a load error naming the
file, line, rule and column, never a surprise during a process run. What the engine cannot
evaluate (another expression language, a PMML function, an unknown boxed expression) is a
load error too, naming the construct.
"""

from __future__ import annotations

import hashlib
import threading
from collections import OrderedDict
from collections.abc import Iterable
from typing import Any

from lxml import etree

from engine.dmn.boxed import BoxedReader
from engine.dmn.definitions import DmnDefinitions
from engine.dmn.model import (
    BoxedExpression,
    BusinessKnowledgeModel,
    Decision,
    DecisionService,
    Import,
    InputData,
)
from engine.dmn.reader import Reader
from engine.dmn.types import resolve
from engine.errors import Problem, ValidationError
from engine.feel import Scope
from engine.feel.types import ANY, ConstrainedType, ContextType, FeelType, FunctionType, ListType
from engine.xmlsafe import parse_xml

DMN_NAMESPACES = {
    "http://www.omg.org/spec/DMN/20151101/dmn.xsd": "1.1",
    "http://www.omg.org/spec/DMN/20180521/MODEL/": "1.2",
    "https://www.omg.org/spec/DMN/20191111/MODEL/": "1.3",
    "https://www.omg.org/spec/DMN/20211108/MODEL/": "1.4",
    "https://www.omg.org/spec/DMN/20230324/MODEL/": "1.5",
}

_CACHE: OrderedDict[tuple[Any, ...], DmnDefinitions] = OrderedDict()
_CACHE_LOCK = threading.Lock()
_CACHE_SIZE = 256


def load_dmn(source: bytes | str, filename: str = "<string>", *,
             imports: Iterable[DmnDefinitions] = ()) -> DmnDefinitions:
    """Load and compile a DMN file; identical content is compiled only once (cached).

    Args:
        imports: loaded models this one may import (matched by namespace).

    Raises:
        ValidationError: with one Problem(file, line, element_id) per defect found.
    """
    data = source.encode("utf-8") if isinstance(source, str) else bytes(source)
    available = {d.namespace: d for d in imports}
    key = (hashlib.sha256(data).hexdigest(), filename,
           tuple(sorted((ns, id(d)) for ns, d in available.items())))
    with _CACHE_LOCK:
        cached = _CACHE.get(key)
        if cached is not None:
            _CACHE.move_to_end(key)
            return cached
    definitions = _DocumentReader(filename, available).read(parse_xml(data, filename))
    with _CACHE_LOCK:
        _CACHE[key] = definitions
        while len(_CACHE) > _CACHE_SIZE:
            _CACHE.popitem(last=False)
    return definitions


def load_dmn_files(files: Iterable[tuple[str, bytes]]) -> dict[str, DmnDefinitions]:
    """Load several DMN files that may import each other; {filename: definitions}.

    Raises:
        ValidationError: a file is invalid, or imports a namespace none of them has.
    """
    pending = {name: data for name, data in files}
    namespaces = {name: _namespace_of(data, name) for name, data in pending.items()}
    loaded: dict[str, DmnDefinitions] = {}
    while pending:
        progress = False
        for name in list(pending):
            wanted = _imported_namespaces(pending[name], name)
            ready = [d for d in loaded.values() if d.namespace in wanted]
            waiting = wanted - {d.namespace for d in ready}
            if waiting & {ns for n, ns in namespaces.items() if n in pending and n != name}:
                continue  # an import is among the files still to load
            loaded[name] = load_dmn(pending.pop(name), name, imports=ready)
            progress = True
        if not progress:
            cycle = ", ".join(sorted(pending))
            raise ValidationError("DMN files import each other in a cycle:",
                                  [Problem(f"import cycle among {cycle}", file=n)
                                   for n in sorted(pending)])
    return loaded


def _namespace_of(data: bytes, filename: str) -> str:
    return parse_xml(data, filename).get("namespace") or ""


def _imported_namespaces(data: bytes, filename: str) -> set[str]:
    root = parse_xml(data, filename)
    ns = etree.QName(root).namespace
    return {e.get("namespace") or "" for e in root.findall(f"{{{ns}}}import")}


class _DocumentReader(Reader):
    """One load of one document: reads every element, then builds the definitions."""

    def __init__(self, filename: str, available: dict[str, DmnDefinitions]) -> None:
        super().__init__(filename)
        self.available = available
        self.boxed = BoxedReader(self)

    def read(self, root: etree._Element) -> DmnDefinitions:
        qname = etree.QName(root)
        if qname.localname != "definitions" or qname.namespace not in DMN_NAMESPACES:
            self.problem(f"root element is {{{qname.namespace}}}{qname.localname}, not a DMN "
                         "1.1-1.5 definitions element", root)
            raise ValidationError(f"{self.filename}: not a DMN file:", self.problems)
        self.ns = qname.namespace
        imports, imported = self.imports(root)
        self.names = frozenset(self.names_in(root, imported))
        types = self.types(root, imports, imported)
        inputs = {}
        for e in self.children(root, "inputData"):
            data = InputData(e.get("id") or e.get("name") or "", e.get("name") or e.get("id")
                             or "", self.variable_type(e))
            inputs[data.id] = data
        knowledge = {}
        for element in self.children(root, "businessKnowledgeModel"):
            bkm = self.knowledge_model(element)
            knowledge[bkm.id] = bkm
        decisions = {}
        for element in self.children(root, "decision"):
            decision = self.decision(element)
            if decision.id in decisions:
                self.problem(f"duplicate decision id {decision.id!r}", element)
            decisions[decision.id] = decision
        services = {}
        for element in self.children(root, "decisionService"):
            service = self.service(element)
            services[service.id] = service
        self.check_references(decisions, inputs, knowledge, services)
        if self.problems:
            raise ValidationError(f"{self.filename}: invalid DMN:", self.problems)
        return DmnDefinitions(
            id=root.get("id") or "", name=root.get("name") or "",
            namespace=root.get("namespace") or "", decisions=decisions, inputs=inputs,
            knowledge=knowledge, services=services, types=types, imports=tuple(imports),
            imported=imported, dmn_version=DMN_NAMESPACES[self.ns], filename=self.filename,
            names=self.names)

    # ---- scope of names
    def names_in(self, root: etree._Element, imported: dict[str, DmnDefinitions]
                 ) -> set[str]:
        """Every name the document (and what it imports) defines: what FEEL texts may use."""
        names = {e.get("name") for e in root.iter() if isinstance(e.tag, str)} | \
            {e.get("iteratorVariable") for e in root.iter() if isinstance(e.tag, str)}
        for definitions in imported.values():
            names |= definitions.names
        names.discard(None)
        return names

    def imports(self, root: etree._Element) -> tuple[list[Import], dict[str, DmnDefinitions]]:
        imports, imported = [], {}
        for element in self.children(root, "import"):
            namespace = element.get("namespace") or ""
            kind = element.get("importType") or ""
            if kind and kind not in DMN_NAMESPACES:
                continue  # XML Schema or PMML imports bring types we do not check
            found = self.available.get(namespace)
            if found is None:
                self.problem(f"imports namespace {namespace!r}, which is not among the files "
                             "loaded with it", element)
                continue
            imports.append(Import(element.get("name") or "", namespace))
            imported[namespace] = found
        return imports, imported

    # ---- types
    def types(self, root: etree._Element, imports: list[Import],
              imported: dict[str, DmnDefinitions]) -> dict[str, FeelType]:
        types: dict[str, FeelType] = {}
        for item in imports:
            for name, kind in imported[item.namespace].types.items():
                types[f"{item.name}.{name}" if item.name else name] = kind
        for element in self.children(root, "itemDefinition"):
            types[element.get("name") or element.get("id") or ""] = self.item_type(element)
        return types

    def item_type(self, element: etree._Element) -> FeelType:
        name = element.get("name") or element.get("id") or ""
        type_ref = self.text_of(element, "typeRef") or element.get("typeRef")
        components = self.children(element, "itemComponent")
        function = element.find(self.q("functionItem"))
        kind: FeelType
        if function is not None:
            params = [resolve(p.get("typeRef") or "Any")
                      for p in self.children(function, "parameters")]
            kind = FunctionType(params, resolve(function.get("outputTypeRef") or "Any"))
        elif components:
            kind = ContextType({c.get("name") or "": self.item_type(c) for c in components})
        elif type_ref:
            kind = resolve(type_ref)
        else:
            kind = ANY
        kind = self.constrained(element, "allowedValues", name, kind)
        if element.get("isCollection") == "true":
            kind = ListType(kind)
        return self.constrained(element, "typeConstraint", name, kind)

    def constrained(self, element: etree._Element, tag: str, name: str,
                    kind: FeelType) -> FeelType:
        text = self.text_of(element.find(self.q(tag)))
        if text is None or not text.strip():
            return kind
        tests = self.unary_tests(text, element, f"{tag} of type {name!r}")
        if tests is None:
            return kind
        return ConstrainedType(name, kind, lambda value: tests.test(value, Scope({})))

    def variable_type(self, element: etree._Element) -> str | None:
        variable = element.find(self.q("variable"))
        return variable.get("typeRef") if variable is not None else None

    # ---- DRG elements
    def requirements(self, element: etree._Element, tag: str, child: str) -> tuple[str, ...]:
        refs = []
        for requirement in self.children(element, tag):
            target = self.href(requirement.find(self.q(child)))
            if target:
                refs.append(target)
        return tuple(refs)

    def decision(self, element: etree._Element) -> Decision:
        name = element.get("name") or element.get("id") or ""
        return Decision(
            id=element.get("id") or name, name=name, type_ref=self.variable_type(element),
            logic=self.boxed.logic(element, name),
            required_decisions=self.requirements(element, "informationRequirement",
                                                 "requiredDecision"),
            required_inputs=self.requirements(element, "informationRequirement",
                                              "requiredInput"),
            required_knowledge=self.requirements(element, "knowledgeRequirement",
                                                 "requiredKnowledge"),
            line=element.sourceline)

    def knowledge_model(self, element: etree._Element) -> BusinessKnowledgeModel:
        name = element.get("name") or element.get("id") or ""
        holder = element.find(self.q("encapsulatedLogic"))
        parameters: tuple[tuple[str, str | None], ...] = ()
        logic = None
        if holder is not None:
            parameters = tuple((p.get("name") or "", p.get("typeRef"))
                               for p in self.children(holder, "formalParameter"))
            node = self.boxed.function_definition(holder, name)
            logic = BoxedExpression("functionDefinition", node) if node is not None else None
        return BusinessKnowledgeModel(element.get("id") or name, name, parameters, logic,
                                      self.requirements(element, "knowledgeRequirement",
                                                        "requiredKnowledge"))

    def service(self, element: etree._Element) -> DecisionService:
        name = element.get("name") or element.get("id") or ""

        def refs(tag: str) -> tuple[str, ...]:
            return tuple(r for r in (self.href(e) for e in self.children(element, tag)) if r)

        return DecisionService(element.get("id") or name, name, self.variable_type(element),
                               refs("outputDecision"), refs("encapsulatedDecision"),
                               refs("inputDecision"), refs("inputData"), element.sourceline)

    def check_references(self, decisions: dict[str, Any], inputs: dict[str, Any],
                         knowledge: dict[str, Any], services: dict[str, Any]) -> None:
        local = {**decisions, **inputs, **knowledge, **services}
        imported_ids = {i for d in self.available.values()
                        for i in (*d.decisions, *d.inputs, *d.knowledge, *d.services)}
        for decision in decisions.values():
            for ref, kind in ((decision.required_decisions, "decision"),
                              (decision.required_inputs, "input data"),
                              (decision.required_knowledge, "knowledge")):
                for target in ref:
                    if target not in local and target not in imported_ids:
                        self.problems.append(Problem(
                            f"decision {decision.name!r} requires unknown {kind} {target!r}",
                            file=self.filename, line=decision.line, element_id=decision.id))
        for service in services.values():
            for target in (*service.output_decisions, *service.encapsulated_decisions,
                           *service.input_decisions):
                if target not in decisions:
                    self.problems.append(Problem(
                        f"decision service {service.name!r} names unknown decision "
                        f"{target!r}", file=self.filename, line=service.line,
                        element_id=service.id))
        self.check_cycles(decisions)

    def check_cycles(self, decisions: dict[str, Decision]) -> None:
        """A cycle of required decisions would recurse forever at evaluation time."""
        state: dict[str, int] = {}

        def visit(decision_id: str, path: list[str]) -> None:
            if state.get(decision_id) == 2 or decision_id not in decisions:
                return
            if state.get(decision_id) == 1:
                cycle = " -> ".join(path[path.index(decision_id):] + [decision_id])
                self.problems.append(Problem(f"decision requirements form a cycle: {cycle}",
                                             file=self.filename, element_id=decision_id,
                                             line=decisions[decision_id].line))
                return
            state[decision_id] = 1
            for required in decisions[decision_id].required_decisions:
                visit(required, path + [decision_id])
            state[decision_id] = 2

        for decision_id in decisions:
            visit(decision_id, [])
