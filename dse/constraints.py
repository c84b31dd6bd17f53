"""Constraint expressions over knobs, parsed safely (never with ``eval``).

An expression uses Python's syntax for a small language: dotted names
(``inner.unroll``, ``m1.factor``, facts such as ``inner.trip``), numbers and
strings, ``+ - * / // % **``, comparisons (including ``in`` a tuple), ``and``,
``or``, ``not``, ``x if c else y`` and the functions ``min``, ``max``, ``abs``.
It is parsed with :mod:`ast` and compiled to Python closures; any other syntax
is refused when the space is loaded.

A constraint that reads a knob which is inactive in a configuration (``ii``
while the loop is not pipelined, ``factor`` of an unpartitioned array) does not
apply to that configuration.
"""

from __future__ import annotations

import ast
import operator
from dataclasses import dataclass, field
from typing import Any, Callable, Mapping

from .errors import DseError


class Inactive(Exception):
    """Raised when an expression reads a knob the configuration leaves inactive."""


_BINARY = {ast.Add: operator.add, ast.Sub: operator.sub, ast.Mult: operator.mul, ast.Div: operator.truediv,
           ast.FloorDiv: operator.floordiv, ast.Mod: operator.mod, ast.Pow: operator.pow}
_COMPARE = {ast.Eq: operator.eq, ast.NotEq: operator.ne, ast.Lt: operator.lt, ast.LtE: operator.le,
            ast.Gt: operator.gt, ast.GtE: operator.ge,
            ast.In: lambda a, b: a in b, ast.NotIn: lambda a, b: a not in b}
_FUNCTIONS = {"min": min, "max": max, "abs": abs}

Evaluator = Callable[[Mapping[str, Any]], Any]


def _dotted(node: ast.AST) -> str | None:
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        base = _dotted(node.value)
        return f"{base}.{node.attr}" if base else None
    return None


class _Compiler:
    def __init__(self, text: str):
        self.text = text
        self.names: set[str] = set()

    def refuse(self, node: ast.AST):
        raise DseError(f"constraint '{self.text}': {type(node).__name__} is not allowed in a constraint")

    def compile(self, node: ast.AST) -> Evaluator:
        name = _dotted(node)
        if name is not None:
            if any(part.startswith("_") for part in name.split(".")):
                self.refuse(node)
            self.names.add(name)

            def read(values, name=name):
                try:
                    return values[name]
                except KeyError:
                    raise Inactive(name) from None
            return read
        if isinstance(node, ast.Constant) and isinstance(node.value, (int, float, str)):
            value = node.value
            return lambda values: value
        if isinstance(node, (ast.Tuple, ast.List)):
            items = [self.compile(item) for item in node.elts]
            return lambda values: tuple(item(values) for item in items)
        if isinstance(node, ast.BinOp) and type(node.op) in _BINARY:
            apply, left, right = _BINARY[type(node.op)], self.compile(node.left), self.compile(node.right)
            return lambda values: apply(left(values), right(values))
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.Not, ast.USub)):
            inner = self.compile(node.operand)
            if isinstance(node.op, ast.Not):
                return lambda values: not inner(values)
            return lambda values: -inner(values)
        if isinstance(node, ast.BoolOp):
            parts = [self.compile(v) for v in node.values]
            if isinstance(node.op, ast.And):
                return lambda values: all(part(values) for part in parts)
            return lambda values: any(part(values) for part in parts)
        if isinstance(node, ast.Compare) and all(type(op) in _COMPARE for op in node.ops):
            first = self.compile(node.left)
            rest = [(_COMPARE[type(op)], self.compile(c)) for op, c in zip(node.ops, node.comparators)]

            def compare(values):
                left = first(values)
                for apply, right in rest:
                    value = right(values)
                    if not apply(left, value):
                        return False
                    left = value
                return True
            return compare
        if isinstance(node, ast.IfExp):
            test, yes, no = self.compile(node.test), self.compile(node.body), self.compile(node.orelse)
            return lambda values: yes(values) if test(values) else no(values)
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in _FUNCTIONS \
                and not node.keywords:
            function, args = _FUNCTIONS[node.func.id], [self.compile(a) for a in node.args]
            return lambda values: function(*(arg(values) for arg in args))
        self.refuse(node)


@dataclass
class Constraint:
    """A boolean expression that every legal configuration satisfies."""

    expr: str
    why: str = ""
    names: frozenset[str] = field(init=False)
    _evaluate: Evaluator = field(init=False, repr=False)

    def __post_init__(self):
        try:
            tree = ast.parse(self.expr.strip(), mode="eval")
        except SyntaxError as error:
            raise DseError(f"constraint '{self.expr}': not an expression ({error.msg})") from None
        compiler = _Compiler(self.expr)
        self._evaluate = compiler.compile(tree.body)
        self.names = frozenset(compiler.names)

    def holds(self, values: Mapping[str, Any]) -> bool:
        """True if satisfied, or if it reads a knob that is inactive in ``values``."""
        try:
            return bool(self._evaluate(values))
        except Inactive:
            return True
        except (TypeError, ZeroDivisionError) as error:
            raise DseError(f"constraint '{self.expr}': cannot be evaluated ({error})") from None
