"""Intermediate representation of a kernel: functions, arrays, loops and the
dataflow of each loop body, as the front-end reads them from C.

Every region (a loop body, or a function body outside its loops) holds its own
operations in program order. An operation's operands are ids of the operations
that produce its inputs, possibly in an enclosing region; a ``phi`` opens a
scalar that a loop carries from one iteration to the next, and ``carried_from``
names the operation whose value it receives on the back edge.
"""

from __future__ import annotations

import functools
from collections import Counter
from dataclasses import dataclass, field
from typing import Literal

# Operation kinds, grouped as an HLS engineer counts them.
ARITHMETIC_KINDS = ("add", "mul", "div", "cmp", "shift", "logic", "select", "cast")


@dataclass(frozen=True)
class ScalarType:
    """A C scalar type reduced to what hardware cares about."""

    c_name: str
    bits: int | None
    is_float: bool = False
    signed: bool = True

    @property
    def short(self) -> str:
        """``f64``, ``i32``, ``u8`` ...; the C name for structs and the like."""
        if self.bits is None:
            return self.c_name
        if self.is_float:
            return f"f{self.bits}"
        return f"{'i' if self.signed else 'u'}{self.bits}"


Affine = dict[str, int]
"""An index as {variable: coefficient}; the key ``""`` holds the constant."""


@dataclass
class Op:
    id: int
    kind: str
    type: str
    operands: tuple[int, ...] = ()
    line: int = 0
    array: str | None = None
    index: list[Affine | None] | None = None
    index_operands: tuple[int, ...] = ()
    var: str | None = None
    callee: str | None = None
    carried_from: int | None = None
    is_address: bool = False


@dataclass
class Array:
    name: str
    function: str
    kind: Literal["argument", "local", "global"]
    dims: list[int | None]
    element: ScalarType
    line: int
    access: Literal["read", "write", "readwrite", "none"] = "none"
    const: bool = False

    @property
    def size(self) -> int | None:
        total = 1
        for dim in self.dims:
            if dim is None:
                return None
            total *= dim
        return total


@dataclass
class Region:
    """A body of straight-line code: its operations and the pragmas written in it."""

    ops: list[Op] = field(default_factory=list)
    pragmas: list[str] = field(default_factory=list)

    def op_counts(self) -> Counter[str]:
        """Datapath operations by ``kind.type`` (address arithmetic and memory excluded)."""
        return Counter(f"{op.kind}.{op.type}" for op in self.ops
                       if op.kind in ARITHMETIC_KINDS and not op.is_address)

    def address_op_counts(self) -> Counter[str]:
        return Counter(f"{op.kind}.{op.type}" for op in self.ops
                       if op.kind in ARITHMETIC_KINDS and op.is_address)

    def accesses(self, kind: str) -> Counter[str]:
        return Counter(op.array for op in self.ops if op.kind == kind)

    @property
    def calls(self) -> list[str]:
        return [op.callee for op in self.ops if op.kind == "call"]


@dataclass
class Loop(Region):
    name: str = ""
    label: str | None = None
    function: str = ""
    parent: str | None = None
    depth: int = 1
    line: int = 0
    column: int = 0
    statement: Literal["for", "while", "do"] = "for"
    induction: str | None = None
    trip_count: int | None = None
    trip_min: int | None = None
    trip_max: int | None = None
    bound: Literal["static", "variable", "dynamic"] = "dynamic"
    children: list[str] = field(default_factory=list)
    start: int | None = None  # the induction variable's first value and stride, when the same on every entry
    stride: int | None = None
    order: int = 0  # its place in program order among operation ids: it runs after the ops with lower ids

    @property
    def carried_scalars(self) -> list[str]:
        """Scalars whose value one iteration hands to the next."""
        return [op.var for op in self.ops if op.kind == "phi" and op.carried_from is not None]


@dataclass
class Function(Region):
    name: str = ""
    line: int = 0
    column: int = 0
    params: list[str] = field(default_factory=list)
    loops: list[str] = field(default_factory=list)
    in_main_file: bool = True


@dataclass
class Kernel:
    source: str
    top: str
    functions: dict[str, Function]
    arrays: list[Array]
    loops: dict[str, Loop]

    def __deepcopy__(self, memo: dict) -> Kernel:
        """The IR is never changed once read: a copy (scikit-learn's clone of a surrogate, say)
        shares it, and with it what is computed per kernel."""
        return self

    def array(self, name: str, function: str | None = None) -> Array:
        """An array visible in ``function`` (default: the top), locals before globals."""
        scope = function or self.top
        for candidate in self.arrays:
            if candidate.name == name and candidate.function in (scope, ""):
                return candidate
        raise KeyError(name)

    def partitionable_array(self, name: str) -> Array:
        """The array a partition knob names: the top's argument or local, else a helper's local."""
        for candidate in self.arrays:
            if candidate.name == name and (candidate.function == self.top or candidate.kind == "local"):
                return candidate
        raise KeyError(name)

    @property
    def constant_tables(self) -> list[Array]:
        return [a for a in self.arrays if a.kind == "global"]

    def reachable_functions(self) -> list[str]:
        """The top and every defined function it calls, directly or not, top first."""
        order, pending = [], [self.top]
        while pending:
            name = pending.pop(0)
            if name in order or name not in self.functions:
                continue
            order.append(name)
            function = self.functions[name]
            pending += function.calls + [c for loop in self.loops_of(name) for c in loop.calls]
        return order

    def loops_of(self, function: str) -> list[Loop]:
        return [loop for loop in self.loops.values() if loop.function == function]

    def index_in_iterations(self, op: Op) -> list[Affine | None] | None:
        """An access's index with each enclosing loop's induction variable ``v`` written as its
        iteration number ``n`` (``v = start + stride * n``) where the loop's start and stride are
        known: banks and dependences follow the iterations, whatever the loop counts in."""
        return self._indices_in_iterations.get(op.id, op.index)

    @functools.cached_property
    def _indices_in_iterations(self) -> dict[int, list[Affine | None]]:
        """:meth:`index_in_iterations` of every access in a loop, computed once (the IR never changes)."""
        found = {}
        for loop in self.loops.values():
            counting = {}
            for enclosing in reversed([loop, *self.ancestors(loop)]):  # the innermost loop of a name wins
                if enclosing.induction and enclosing.start is not None and enclosing.stride is not None:
                    counting[enclosing.induction] = enclosing.start, enclosing.stride
                elif enclosing.induction:
                    counting.pop(enclosing.induction, None)
            for op in loop.ops:
                if op.index is not None:
                    found[op.id] = [_counted(affine, counting) for affine in op.index]
        return found

    def ancestors(self, loop: Loop) -> list[Loop]:
        """The loops that enclose ``loop``, innermost first."""
        found = []
        while loop.parent:
            loop = self.loops[loop.parent]
            found.append(loop)
        return found


def _counted(affine: Affine | None, counting: dict[str, tuple[int, int]]) -> Affine | None:
    """One dimension's index with the variables of ``counting`` (name -> start, stride) replaced
    by their iteration numbers."""
    if affine is None or not counting.keys() & affine.keys():
        return affine
    rewritten = dict(affine)
    for var, (start, stride) in counting.items():
        if var in affine:
            rewritten[var] = affine[var] * stride
            if start:
                rewritten[""] = rewritten.get("", 0) + affine[var] * start
    return rewritten


def array_record(array: Array) -> dict:
    return {"name": array.name, "function": array.function or None, "kind": array.kind, "dims": array.dims,
            "size": array.size, "type": array.element.short, "c_type": array.element.c_name,
            "bits": array.element.bits, "access": array.access, "const": array.const, "line": array.line}


def loop_record(loop: Loop) -> dict:
    return {"name": loop.name, "label": loop.label, "function": loop.function, "parent": loop.parent,
            "depth": loop.depth, "line": loop.line, "statement": loop.statement, "induction": loop.induction,
            "trip_count": loop.trip_count, "trip_min": loop.trip_min, "trip_max": loop.trip_max,
            "bound": loop.bound, "start": loop.start, "stride": loop.stride, "children": loop.children,
            "ops": dict(sorted(loop.op_counts().items())),
            "address_ops": dict(sorted(loop.address_op_counts().items())),
            "loads": dict(loop.accesses("load")), "stores": dict(loop.accesses("store")),
            "calls": loop.calls, "carried": loop.carried_scalars, "pragmas": loop.pragmas}


def kernel_record(kernel: Kernel) -> dict:
    """Everything ``dse inspect --json`` prints, as plain JSON-ready data."""
    functions = [kernel.functions[name] for name in kernel.reachable_functions()]
    return {
        "file": kernel.source,
        "top": kernel.top,
        "functions": [{"name": f.name, "line": f.line, "params": f.params, "loops": f.loops,
                       "calls": sorted(set(f.calls + [c for l in kernel.loops_of(f.name) for c in l.calls])),
                       "pragmas": f.pragmas} for f in functions],
        "arrays": [array_record(a) for a in kernel.arrays if a.kind != "global"],
        "constant_tables": [array_record(a) for a in kernel.constant_tables],
        "loops": [loop_record(loop) for loop in kernel.loops.values()],
    }
