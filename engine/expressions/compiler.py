"""Turn a lark parse tree into Python closures, once per expression.

Evaluation then costs one closure call per operator and no tree walking, which matters because
the runtime evaluates the same gateway conditions and mappings on every pass through a loop.
Every check that can be made without variables (method whitelist, argument counts, dunder
names, function calls) is made here, so a bad expression fails at deployment, not at run time.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

from lark import Token, Tree

from engine.expressions import coercion as c
from engine.expressions.coercion import Fault
from engine.expressions.methods import ALLOWED_METHODS, EXECUTION_METHODS, call_method

Evaluator = Callable[[Mapping[str, Any]], Any]
Ast = Tree[Token]  # what the LALR parser gives
Branch = Ast | Token

#: The identifier that denotes the execution context (Camunda's ``execution``).
EXECUTION = "execution"
_EMPTY_EXECUTION: Mapping[str, Any] = MappingProxyType({})
_ESCAPE = re.compile(r"\\(.)", re.S)


class CompileError(Exception):
    """A semantic error found while compiling (raised as ExpressionError by the parser)."""


@dataclass(frozen=True, slots=True)
class Node:
    """A compiled sub-expression: its closure, and for bare identifiers their name."""

    fn: Evaluator
    name: str | None = None


@dataclass(slots=True)
class Compiled:
    """The result of compiling one expression: the root closure and the names it reads."""

    fn: Evaluator
    variables: frozenset[str]
    optional_variables: frozenset[str]


@dataclass(slots=True)
class _Compiler:
    variables: set[str] = field(default_factory=set)
    optional: set[str] = field(default_factory=set)

    def build(self, tree: Branch) -> Node:
        if isinstance(tree, Tree):
            # one handler per grammar rule (or alias): _int_lit, _var, _add, ...
            handler: Callable[..., Node] | None = getattr(self, "_" + tree.data, None)
            if handler is not None:
                return handler(*tree.children)
        # the grammar wraps every token in a known rule, so this never happens
        raise CompileError(f"Unsupported syntax: {tree!r}")  # pragma: no cover

    # literals -------------------------------------------------------------------------
    @staticmethod
    def _const(value: Any) -> Node:
        return Node(lambda _v: value)

    def _int_lit(self, token: Token) -> Node:
        return self._const(int(token))

    def _float_lit(self, token: Token) -> Node:
        return self._const(float(token))

    def _str_lit(self, token: Token) -> Node:
        return self._const(_ESCAPE.sub(r"\1", str(token)[1:-1]))

    def _true_lit(self) -> Node:
        return self._const(True)

    def _false_lit(self) -> Node:
        return self._const(False)

    def _null_lit(self) -> Node:
        return self._const(None)

    # identifiers and access -----------------------------------------------------------
    def _var(self, token: Token) -> Node:
        name = _check_name(str(token), "identifier")
        if name == EXECUTION:
            return Node(_execution, name=name)
        self.variables.add(name)

        def lookup(v: Mapping[str, Any]) -> Any:
            try:
                return v[name]
            except KeyError:
                raise UnknownVariable(name) from None

        return Node(lookup, name=name)

    def _prop(self, base: Ast, token: Token) -> Node:
        key = _check_name(str(token), "property")
        get, fn = c.get_property, self.build(base).fn
        return Node(lambda v: get(fn(v), key))

    def _index(self, base: Ast, key: Ast) -> Node:
        if isinstance(key, Tree) and key.data == "str_lit":
            _check_name(_ESCAPE.sub(r"\1", str(key.children[0])[1:-1]), "property")
        get, fn, kfn = c.get_property, self.build(base).fn, self.build(key).fn
        return Node(lambda v: get(fn(v), kfn(v)))

    def _function(self, token: Token, _args: Ast | None) -> Node:
        raise CompileError(f"Function calls are not supported: '{token}(...)'")

    def _call(self, base: Ast, token: Token, args: Ast | None) -> Node:
        name = _check_name(str(token), "method")
        arg_trees = list(args.children) if args is not None else []
        receiver = self.build(base)
        if receiver.name == EXECUTION and name in EXECUTION_METHODS:
            return self._execution_call(name, arg_trees)
        if name in EXECUTION_METHODS:
            raise CompileError(f"Method '{name}' can only be called on 'execution'")
        if name not in ALLOWED_METHODS:
            allowed = ", ".join(sorted(set(ALLOWED_METHODS) | set(EXECUTION_METHODS)))
            raise CompileError(f"Method '{name}' is not allowed (allowed: {allowed})")
        if len(arg_trees) not in ALLOWED_METHODS[name]:
            raise CompileError(f"Method '{name}' does not take {len(arg_trees)} argument(s)")
        fn = receiver.fn
        arg_fns = tuple(self.build(a).fn for a in arg_trees)
        return Node(lambda v: call_method(fn(v), name, tuple(a(v) for a in arg_fns)))

    def _execution_call(self, name: str, arg_trees: list[Branch]) -> Node:
        if len(arg_trees) != EXECUTION_METHODS[name]:
            raise CompileError(f"Method 'execution.{name}' takes {EXECUTION_METHODS[name]} "
                               f"argument(s), not {len(arg_trees)}")
        if name in ("getVariable", "hasVariable"):
            arg = arg_trees[0]
            if isinstance(arg, Tree) and arg.data == "str_lit":
                self.optional.add(_ESCAPE.sub(r"\1", str(arg.children[0])[1:-1]))
            key_fn = self.build(arg).fn
            if name == "getVariable":
                return Node(lambda v: v.get(_variable_name(key_fn(v))))
            return Node(lambda v: _variable_name(key_fn(v)) in v)
        if name in ("setVariable", "setVariableLocal", "removeVariable", "removeVariableLocal"):
            return self._execution_write(name, arg_trees)
        field_name = {"getProcessBusinessKey": "processBusinessKey",
                      "getBusinessKey": "processBusinessKey",
                      "getProcessInstanceId": "processInstanceId",
                      "getActivityId": "activityId",
                      "getCurrentActivityId": "activityId"}[name]
        return Node(lambda v: _execution(v).get(field_name))

    def _execution_write(self, name: str, arg_trees: list[Branch]) -> Node:
        """``execution.setVariable('x', v)`` and friends: the engine's execution context does
        the write (with Camunda's propagation); anywhere else they are an evaluation error."""
        key_fn = self.build(arg_trees[0]).fn
        value_fn = self.build(arg_trees[1]).fn if len(arg_trees) > 1 else _no_value
        local = name.endswith("Local")
        remove = name.startswith("remove")

        def write(v: Mapping[str, Any]) -> None:
            ex = _execution(v)
            target = getattr(ex, "remove_variable" if remove else "set_variable", None)
            if target is None:
                raise Fault(f"execution.{name} is not available here")
            key = _variable_name(key_fn(v))
            if remove:
                target(key, local=local)
            else:
                target(key, value_fn(v), local=local)
            return None

        return Node(write)

    # operators ------------------------------------------------------------------------
    def _binary(self, op: Callable[[Any, Any], Any], left: Ast, right: Ast) -> Node:
        lf, rf = self.build(left).fn, self.build(right).fn
        return Node(lambda v: op(lf(v), rf(v)))

    def _add(self, a: Ast, b: Ast) -> Node:
        return self._binary(c.add, a, b)

    def _sub(self, a: Ast, b: Ast) -> Node:
        return self._binary(c.sub, a, b)

    def _mul(self, a: Ast, b: Ast) -> Node:
        return self._binary(c.mul, a, b)

    def _div(self, a: Ast, b: Ast) -> Node:
        return self._binary(c.div, a, b)

    def _mod(self, a: Ast, b: Ast) -> Node:
        return self._binary(c.mod, a, b)

    def _eq(self, a: Ast, b: Ast) -> Node:
        return self._binary(c.equals, a, b)

    def _ne(self, a: Ast, b: Ast) -> Node:
        return self._binary(lambda x, y: not c.equals(x, y), a, b)

    def _lt(self, a: Ast, b: Ast) -> Node:
        return self._binary(c.less, a, b)

    def _gt(self, a: Ast, b: Ast) -> Node:
        return self._binary(c.greater, a, b)

    def _le(self, a: Ast, b: Ast) -> Node:
        return self._binary(c.less_equal, a, b)

    def _ge(self, a: Ast, b: Ast) -> Node:
        return self._binary(c.greater_equal, a, b)

    def _and_op(self, a: Ast, b: Ast) -> Node:
        lf, rf, tb = self.build(a).fn, self.build(b).fn, c.to_boolean
        return Node(lambda v: tb(lf(v)) and tb(rf(v)))

    def _or_op(self, a: Ast, b: Ast) -> Node:
        lf, rf, tb = self.build(a).fn, self.build(b).fn, c.to_boolean
        return Node(lambda v: tb(lf(v)) or tb(rf(v)))

    def _cond(self, test: Ast, then: Ast, other: Ast) -> Node:
        tf, af, bf, tb = self.build(test).fn, self.build(then).fn, self.build(other).fn, c.to_boolean
        return Node(lambda v: af(v) if tb(tf(v)) else bf(v))

    def _neg(self, a: Ast) -> Node:
        fn, neg = self.build(a).fn, c.neg
        return Node(lambda v: neg(fn(v)))

    def _not_op(self, a: Ast) -> Node:
        fn, tb = self.build(a).fn, c.to_boolean
        return Node(lambda v: not tb(fn(v)))

    def _empty(self, a: Ast) -> Node:
        fn, empty = self.build(a).fn, c.is_empty
        return Node(lambda v: empty(fn(v)))


class UnknownVariable(Fault):
    """An identifier names no variable (Camunda: "Cannot resolve identifier 'x'")."""

    def __init__(self, name: str) -> None:
        super().__init__(f"Cannot resolve identifier '{name}': no such variable")
        self.name = name


def _check_name(name: str, what: str) -> str:
    """Refuse dunder/private names outright: nothing may even look like reaching Python internals."""
    if name.startswith("__"):
        raise CompileError(f"The {what} name '{name}' is not allowed")
    return name


def _execution(v: Mapping[str, Any]) -> Mapping[str, Any]:
    """The execution context: variable ``execution`` if it is a map, else an empty one."""
    try:
        ex = v[EXECUTION]
    except KeyError:
        return _EMPTY_EXECUTION
    if isinstance(ex, Mapping):
        return ex
    raise Fault(f"The reserved variable 'execution' must be a map, not {c.describe(ex)}")


def _variable_name(name: Any) -> str:
    if not isinstance(name, str):
        raise Fault(f"execution.getVariable needs a variable name, not {c.describe(name)}")
    return name


def _no_value(v: Mapping[str, Any]) -> None:
    """The value argument of the ``remove*`` methods, which take none."""
    return None


def compile_tree(tree: Ast) -> Compiled:
    """Compile a parse tree; raise CompileError for refused constructs."""
    compiler = _Compiler()
    root = compiler.build(tree)
    return Compiled(root.fn, frozenset(compiler.variables), frozenset(compiler.optional))
