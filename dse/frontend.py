"""C front-end: a real preprocessor (gcc -E) and a real C parser (pycparser).

Why pycparser rather than libclang: it is pure Python (no native library to
match to the machine), it parses the C99 that HLS kernels are written in, and
its AST keeps each node's file and line through gcc's linemarkers, which is all
we need to place pragmas and to report errors. Its limit is GNU extensions
found in system headers; we therefore drop the system headers' text after
preprocessing (and, first, every header outside the kernel's own folder, such
as MachSuite's ``support.h``), and give the parser the standard typedefs.
"""

from __future__ import annotations

import hashlib
import itertools
import os
import re
import shutil
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

from pycparser import c_ast, c_parser

from .errors import DseError, FrontendError
from .ir import Affine, Array, Function, Kernel, Loop, Op, Region, ScalarType

# -- types -------------------------------------------------------------------

_FIXED_WIDTH = {f"{'u' if unsigned else ''}int{bits}_t": (bits, not unsigned)
                for bits in (8, 16, 32, 64) for unsigned in (False, True)}
_STANDARD_TYPEDEFS = {
    **_FIXED_WIDTH,
    **{f"{'u' if u else ''}int_{kind}{bits}_t": (bits if kind == "least" or bits == 8 else 64, not u)
       for bits in (8, 16, 32, 64) for u in (False, True) for kind in ("fast", "least")},
    "intptr_t": (64, True), "uintptr_t": (64, False), "ptrdiff_t": (64, True),
    "size_t": (64, False), "ssize_t": (64, True), "intmax_t": (64, True), "uintmax_t": (64, False),
    "bool": (1, False),
}
# Declared for the parser in place of the system headers that are dropped.
_C_SPELLING = {1: "_Bool", 8: "char", 16: "short", 32: "int", 64: "long"}
_PRELUDE = "".join(
    f"typedef {'' if signed else 'unsigned '}{_C_SPELLING[bits]} {name};\n"
    for name, (bits, signed) in _STANDARD_TYPEDEFS.items()
) + "typedef struct __dse_file FILE;\ntypedef char *va_list;\n"

_FLOAT_BITS = {"float": 32, "double": 64}
_INT_BITS = {"char": 8, "short": 16, "int": 32, "long": 64, "_Bool": 1}
_LIBM_DOUBLE = {"exp", "log", "sqrt", "sin", "cos", "tan", "pow", "fabs", "floor", "ceil", "atan", "atan2"}

INT32 = ScalarType("int", 32)


def _base_type(names: list[str]) -> ScalarType:
    words = [n for n in names if n not in ("signed", "unsigned", "const", "volatile", "register")]
    unsigned = "unsigned" in names
    spelled = " ".join(names)
    if "double" in words or "float" in words:
        return ScalarType(spelled, 128 if words.count("long") else _FLOAT_BITS[words[-1]], is_float=True)
    if "void" in words:
        return ScalarType("void", None)
    bits = max((_INT_BITS[w] for w in words if w in _INT_BITS), default=32)
    return ScalarType(spelled, bits, signed=not unsigned and bits != 1)


# -- constant evaluation -----------------------------------------------------

_CHAR_ESCAPES = {"n": 10, "t": 9, "r": 13, "0": 0, "\\": 92, "'": 39, '"': 34, "a": 7, "b": 8, "f": 12, "v": 11}


def _literal(node: c_ast.Constant) -> tuple[int | float, ScalarType]:
    text = node.value
    if node.type == "char":
        body = text[1:-1]
        if body.startswith("\\"):
            tail = body[1:]
            if tail[0] == "x":
                return int(tail[1:], 16), ScalarType("char", 8)
            if tail[0].isdigit() and tail != "0":
                return int(tail, 8), ScalarType("char", 8)
            return _CHAR_ESCAPES.get(tail, ord(tail[0])), ScalarType("char", 8)
        return ord(body), ScalarType("char", 8)
    if node.type in ("float", "double", "long double"):
        single = text[-1] in "fF"
        return float(text.rstrip("fFlL")), ScalarType("float" if single else "double", 32 if single else 64, True)
    if node.type == "string":
        raise ValueError("string literal")
    digits = text.rstrip("uUlL")
    suffix = text[len(digits):].lower()
    value = int(digits, 0) if not re.fullmatch(r"0[0-7]+", digits) else int(digits, 8)
    wide = "l" in suffix or value > 0x7FFFFFFF
    return value, ScalarType("long" if wide else "int", 64 if wide else 32, signed="u" not in suffix)


def _c_div(a, b):
    if isinstance(a, int) and isinstance(b, int):
        quotient = abs(a) // abs(b)
        return quotient if (a >= 0) == (b >= 0) else -quotient
    return a / b


_BINARY = {
    "+": lambda a, b: a + b, "-": lambda a, b: a - b, "*": lambda a, b: a * b, "/": _c_div,
    "%": lambda a, b: a - _c_div(a, b) * b, "<<": lambda a, b: a << b, ">>": lambda a, b: a >> b,
    "&": lambda a, b: a & b, "|": lambda a, b: a | b, "^": lambda a, b: a ^ b,
    "<": lambda a, b: int(a < b), ">": lambda a, b: int(a > b), "<=": lambda a, b: int(a <= b),
    ">=": lambda a, b: int(a >= b), "==": lambda a, b: int(a == b), "!=": lambda a, b: int(a != b),
    "&&": lambda a, b: int(bool(a) and bool(b)), "||": lambda a, b: int(bool(a) or bool(b)),
}


def const_value(node: c_ast.Node | None, env: dict[str, int | float]) -> int | float | None:
    """Value of a C expression made of literals and the names in ``env``, or None."""
    try:
        return _evaluate(node, env)
    except (KeyError, ValueError, ZeroDivisionError, TypeError, AttributeError):
        return None


def _evaluate(node, env):
    if isinstance(node, c_ast.Constant):
        return _literal(node)[0]
    if isinstance(node, c_ast.ID):
        return env[node.name]
    if isinstance(node, c_ast.BinaryOp):
        return _BINARY[node.op](_evaluate(node.left, env), _evaluate(node.right, env))
    if isinstance(node, c_ast.UnaryOp):
        value = _evaluate(node.expr, env)
        return {"-": lambda v: -v, "+": lambda v: v, "~": lambda v: ~v, "!": lambda v: int(not v)}[node.op](value)
    if isinstance(node, c_ast.Cast):
        value = _evaluate(node.expr, env)
        names = getattr(node.to_type.type.type, "names", ["int"])
        return value if _base_type(names).is_float else int(value)
    if isinstance(node, c_ast.TernaryOp):
        return _evaluate(node.iftrue if _evaluate(node.cond, env) else node.iffalse, env)
    raise ValueError(type(node).__name__)


def _names_in(node: c_ast.Node | None) -> set[str]:
    """Every identifier an expression or statement mentions."""
    if node is None:
        return set()
    found = {node.name} if isinstance(node, c_ast.ID) else set()
    for _, child in node.children():
        found |= _names_in(child)
    return found


def _assigned_names(node: c_ast.Node | None) -> set[str]:
    """Scalars a statement assigns (by =, op= or ++/--), nested statements included."""
    found: set[str] = set()
    if node is None:
        return found
    if isinstance(node, c_ast.Assignment) and isinstance(node.lvalue, c_ast.ID):
        found.add(node.lvalue.name)
    elif isinstance(node, c_ast.UnaryOp) and node.op in ("++", "--", "p++", "p--") and isinstance(node.expr, c_ast.ID):
        found.add(node.expr.name)
    elif isinstance(node, c_ast.Decl) and node.init is not None:
        found.add(node.name)
    for _, child in node.children():
        found |= _assigned_names(child)
    return found


def _contains(node: c_ast.Node, kinds: tuple[type, ...], stop: tuple[type, ...] = ()) -> c_ast.Node | None:
    """First descendant of one of ``kinds``, not looking inside ``stop`` nodes."""
    for _, child in node.children():
        if isinstance(child, kinds):
            return child
        if not isinstance(child, stop):
            hit = _contains(child, kinds, stop)
            if hit is not None:
                return hit
    return None


# -- preprocessing and parsing ---------------------------------------------------

_LINEMARKER = re.compile(r'^# (\d+) "((?:[^"\\]|\\.)*)"(.*)$')
# GNU spellings that reach user code through macros; the parser knows none of them.
_GNU_DEFINES = ["-D__attribute__(x)=", "-D__extension__=", "-D__restrict=restrict", "-D__restrict__=restrict",
                "-D__inline=inline", "-D__inline__=inline", "-D__asm__(x)=", "-D__volatile__=volatile",
                "-D__const=const", "-D__signed__=signed"]


def find_preprocessor() -> str:
    """The C compiler used as preprocessor: $CC, else gcc, cc or clang."""
    for candidate in (os.environ.get("CC"), "gcc", "cc", "clang"):
        if candidate and shutil.which(candidate):
            return candidate
    raise DseError("no C preprocessor found: install gcc (or set CC to a C compiler)")


def ancestor_include_dirs(source: Path) -> list[Path]:
    """MachSuite keeps support.h in a ``common/`` folder one or two levels up."""
    return [d / "common" for d in list(source.parents)[:3] if (d / "common" / "support.h").is_file()]


def preprocess(source: Path, include_dirs: list[Path], defines: list[str]) -> str:
    command = [find_preprocessor(), "-E", "-std=gnu99", "-DNDEBUG", "-D__SYNTHESIS__", *_GNU_DEFINES]
    for directory in [source.parent, *include_dirs, *ancestor_include_dirs(source)]:
        command += ["-I", str(directory)]
    command += [f"-D{d}" for d in defines] + [str(source)]
    result = subprocess.run(command, capture_output=True, text=True)
    if result.returncode != 0:
        errors = [line for line in result.stderr.splitlines() if "error" in line] or result.stderr.splitlines()
        raise DseError(errors[0].strip() if errors else f"{source}: the preprocessor failed")
    return result.stdout


def source_hash(source: Path, include_dirs: list[Path] = (), defines: list[str] = ()) -> str:
    """SHA-256 of the preprocessed kernel without line markers: it changes when the kernel or
    a header it includes changes, not when the files move."""
    text = preprocess(Path(source), [Path(d) for d in include_dirs], list(defines))
    code = "\n".join(line for line in text.splitlines() if not line.startswith("#"))
    return hashlib.sha256(code.encode()).hexdigest()


def select_lines(text: str, keep) -> str:
    """Keep the lines of files for which ``keep(path, is_system)`` holds; re-mark line numbers."""
    out, current, line_no, in_sync, keeping = [], "", 0, False, False
    for raw in text.splitlines():
        marker = _LINEMARKER.match(raw)
        if marker:
            line_no, current = int(marker.group(1)), marker.group(2)
            keeping = keep(current, " 3" in marker.group(3))
            in_sync = False
            continue
        if raw.startswith("#") and not raw.startswith("#pragma"):
            line_no += 1
            continue
        if keeping:
            if not in_sync:
                out.append(f'# {line_no} "{current}"')
                in_sync = True
            out.append(raw)
        line_no += 1
    return "\n".join(out) + "\n"


def _parse(text: str, source: Path) -> c_ast.FileAST:
    try:
        return c_parser.CParser().parse(f'# 1 "<dse-prelude>"\n{_PRELUDE}{text}', str(source))
    except c_parser.ParseError as error:
        message = str(error)
        where = re.match(r"(.*?):(\d+)(?::\d+)?: (.*)", message)
        if where:
            detail = where.group(3).replace("before: ", "syntax error before '") + ("'" if "before:" in message else "")
            raise FrontendError(where.group(1), int(where.group(2)), detail) from None
        raise FrontendError(str(source), None, message) from None


def parse_file(source: Path, include_dirs: list[Path] = (), defines: list[str] = ()) -> c_ast.FileAST:
    """Preprocess and parse; headers outside the kernel's folder are read only if needed."""
    text = preprocess(source, list(include_dirs), list(defines))
    own_folder = str(source.resolve().parent)

    def own(path: str, system: bool) -> bool:
        return not system and str(Path(path).resolve()).startswith(own_folder)

    try:
        return _parse(select_lines(text, own), source)
    except FrontendError as first:
        try:
            return _parse(select_lines(text, lambda path, system: not system and not path.startswith("<")), source)
        except FrontendError:
            raise first from None


# -- lowering to the IR ----------------------------------------------------------


@dataclass
class _Var:
    type: ScalarType
    dims: list[int | None] | None  # None for a scalar
    function: str


@dataclass
class _Value:
    op: int | None
    type: ScalarType
    affine: Affine | None = None
    const: int | float | None = None


@dataclass
class _Module:
    """What every function's lowering shares."""

    source: str
    typedefs: dict[str, c_ast.Node]
    globals: dict[str, _Var]
    constants: dict[str, int | float]
    prototypes: dict[str, ScalarType]
    arrays: list[Array] = field(default_factory=list)
    loops: dict[str, Loop] = field(default_factory=dict)
    ops: dict[int, Op] = field(default_factory=dict)
    ids: itertools.count = field(default_factory=itertools.count)

    def describe(self, node: c_ast.Node) -> tuple[ScalarType, list[int | None] | None]:
        """Element type and dimensions (None for a scalar) of a declarator."""
        dims: list[int | None] = []
        while True:
            if isinstance(node, c_ast.ArrayDecl):
                size = const_value(node.dim, self.constants) if node.dim is not None else None
                dims.append(int(size) if isinstance(size, (int, float)) else None)
                node = node.type
            elif isinstance(node, c_ast.PtrDecl):
                dims.append(None)
                node = node.type
            elif isinstance(node, (c_ast.TypeDecl, c_ast.Typename)):
                node = node.type
            elif isinstance(node, c_ast.IdentifierType):
                name = " ".join(node.names)
                if name in self.typedefs:
                    inner, inner_dims = self.describe(self.typedefs[name])
                    named = ScalarType(name, inner.bits, inner.is_float, inner.signed)
                    combined = dims + (inner_dims or [])
                    return named, (combined or None)
                if name in _STANDARD_TYPEDEFS:
                    bits, signed = _STANDARD_TYPEDEFS[name]
                    return ScalarType(name, bits, signed=signed), dims or None
                return _base_type(node.names), dims or None
            elif isinstance(node, (c_ast.Struct, c_ast.Union)):
                return ScalarType(f"struct {node.name or ''}".strip(), None), dims or None
            elif isinstance(node, c_ast.Enum):
                return INT32, dims or None
            elif isinstance(node, c_ast.FuncDecl):
                node = node.type
            else:
                return ScalarType(type(node).__name__, None), dims or None


def _usual_conversion(a: ScalarType, b: ScalarType) -> ScalarType:
    if a.is_float or b.is_float:
        return max((t for t in (a, b) if t.is_float), key=lambda t: t.bits or 0)
    bits = max(32, a.bits or 32, b.bits or 32)
    unsigned = (not a.signed and (a.bits or 0) >= bits) or (not b.signed and (b.bits or 0) >= bits)
    return ScalarType("int" if bits == 32 else "long", bits, signed=not unsigned)


_KIND = {"+": "add", "-": "add", "*": "mul", "/": "div", "%": "div", "<<": "shift", ">>": "shift",
         "&": "logic", "|": "logic", "^": "logic", "&&": "logic", "||": "logic",
         "<": "cmp", ">": "cmp", "<=": "cmp", ">=": "cmp", "==": "cmp", "!=": "cmp"}


def _affine_combine(op: str, left: Affine | None, right: Affine | None) -> Affine | None:
    if left is None or right is None:
        return None
    if op in ("+", "-"):
        sign = 1 if op == "+" else -1
        merged = dict(left)
        for var, coef in right.items():
            merged[var] = merged.get(var, 0) + sign * coef
        return {v: c for v, c in merged.items() if c or v == ""}
    if op in ("*", "<<"):
        if op == "<<":
            if set(right) - {""}:
                return None
            right = {"": 1 << right.get("", 0)}
        for constant, other in ((left, right), (right, left)):
            if not set(constant) - {""}:
                factor = constant.get("", 0)
                return {v: c * factor for v, c in other.items() if c * factor or v == ""}
    return None


class _FunctionLowering:
    """Builds one function's regions, loops and dataflow."""

    def __init__(self, definition: c_ast.FuncDef, module: _Module, in_main_file: bool):
        self.node, self.module = definition, module
        self.name = definition.decl.name
        coord = definition.decl.coord
        self.function = Function(name=self.name, line=coord.line, column=coord.column, in_main_file=in_main_file)
        self.scope: dict[str, _Var] = dict(module.globals)
        self.defs: dict[str, int | None] = {}
        self.affine: dict[str, Affine | None] = {}
        self.bindings: list[tuple[str, dict[int, str]]] = []
        self.loop_count = 0
        self.controls: dict[str, _LoopControl] = {}

    # -- helpers
    def fail(self, node: c_ast.Node, message: str):
        raise FrontendError(node.coord.file if node.coord else self.module.source,
                            node.coord.line if node.coord else None, f"unsupported: {message}")

    def emit(self, region: Region, kind: str, type_: ScalarType, node: c_ast.Node | None, **fields) -> int:
        op = Op(id=next(self.module.ids), kind=kind, type=type_.short,
                line=node.coord.line if node is not None and node.coord else 0, **fields)
        region.ops.append(op)
        self.module.ops[op.id] = op
        return op.id

    def declare(self, decl: c_ast.Decl, kind: str) -> None:
        element, dims = self.module.describe(decl.type)
        if dims is not None and dims[0] is None and isinstance(decl.init, c_ast.InitList):
            dims[0] = len(decl.init.exprs)
        self.scope[decl.name] = _Var(element, dims, self.name)
        if dims is not None:
            self.module.arrays.append(Array(decl.name, self.name, kind, dims, element,
                                            decl.coord.line, const="const" in decl.quals))

    # -- build
    def build(self) -> tuple[Function, list[tuple[str, dict[int, str]]]]:
        params = self.node.decl.type.args.params if self.node.decl.type.args else []
        for param in params:
            if isinstance(param, c_ast.Decl) and param.name:
                self.declare(param, "argument")
                self.function.params.append(param.name)
                if self.scope[param.name].dims is None:
                    self.affine[param.name] = {param.name: 1}
        self.statement(self.node.body, self.function, None)
        return self.function, self.bindings

    def statement(self, node: c_ast.Node | None, region: Region, loop: Loop | None, label: str | None = None):
        if node is None:
            return
        if isinstance(node, c_ast.Compound):
            for item in node.block_items or []:
                self.statement(item, region, loop)
        elif isinstance(node, c_ast.Label):
            if isinstance(node.stmt, (c_ast.For, c_ast.While, c_ast.DoWhile)):
                self.statement(node.stmt, region, loop, label=node.name)
            else:
                self.statement(node.stmt, region, loop)
        elif isinstance(node, (c_ast.For, c_ast.While, c_ast.DoWhile)):
            self.lower_loop(node, region, loop, label)
        elif isinstance(node, c_ast.Decl):
            self.declare(node, "local")
            if node.init is not None and self.scope[node.name].dims is None:
                self.assign_scalar(node.name, self.expression(node.init, region), region)
        elif isinstance(node, c_ast.DeclList):
            for decl in node.decls:
                self.statement(decl, region, loop)
        elif isinstance(node, c_ast.If):
            self.lower_if(node, region, loop)
        elif isinstance(node, c_ast.Switch):
            self.expression(node.cond, region)
            self.lower_branches([node.stmt], region, loop, condition=None)
        elif isinstance(node, (c_ast.Case, c_ast.Default)):
            for item in node.stmts or []:
                self.statement(item, region, loop)
        elif isinstance(node, c_ast.Pragma):
            region.pragmas.append(node.string)
        elif isinstance(node, c_ast.Return):
            if node.expr is not None:
                self.expression(node.expr, region)
        elif isinstance(node, c_ast.Goto):
            self.fail(node, f"goto {node.name}")
        elif isinstance(node, (c_ast.Break, c_ast.Continue, c_ast.EmptyStatement, c_ast.Typedef)):
            pass
        else:
            self.expression(node, region)

    def lower_if(self, node: c_ast.If, region: Region, loop: Loop | None):
        condition = self.expression(node.cond, region)
        if condition.const is not None:  # folded: only the live branch exists
            self.statement(node.iftrue if condition.const else node.iffalse, region, loop)
            return
        self.lower_branches([node.iftrue, node.iffalse], region, loop, condition)

    def lower_branches(self, branches, region: Region, loop: Loop | None, condition: _Value | None):
        """Each branch sees the values before it; a scalar they set differently becomes a select."""
        before_defs, before_affine = dict(self.defs), dict(self.affine)
        outcomes = []
        for branch in branches:
            self.defs, self.affine = dict(before_defs), dict(before_affine)
            self.statement(branch, region, loop)
            outcomes.append(self.defs)
        self.affine = before_affine
        merged = dict(before_defs)
        for var in set().union(*outcomes):
            choices = [outcome.get(var, before_defs.get(var)) for outcome in outcomes]
            if len(set(choices)) == 1:
                merged[var] = choices[0]
                continue
            operands = tuple(c for c in ([condition.op] if condition else []) + choices if c is not None)
            merged[var] = self.emit(region, "select", self.scope[var].type if var in self.scope else INT32,
                                    None, operands=operands, var=var)
            self.affine[var] = None
        self.defs = merged

    def lower_loop(self, node, region: Region, parent: Loop | None, label: str | None):
        self.loop_count += 1
        name = label or f"{self.name}_L{self.loop_count}"
        if name in self.module.loops:
            name = f"{self.name}_{name}"
        loop = Loop(name=name, label=label, function=self.name, parent=parent.name if parent else None,
                    depth=(parent.depth + 1) if parent else 1, line=node.coord.line, column=node.coord.column,
                    statement={c_ast.For: "for", c_ast.While: "while", c_ast.DoWhile: "do"}[type(node)])
        self.module.loops[name] = loop
        (parent.children if parent else self.function.loops).append(name)

        control = _LoopControl.analyse(node)
        self.controls[name] = control
        loop.induction = control.iv if control else None
        if isinstance(node, c_ast.For) and node.init is not None:
            self.statement(node.init, region, parent)
        loop.order = next(self.module.ids)

        carried = sorted(_assigned_names(node) - ({control.iv} if control else set()))
        for var in carried:
            if var in self.scope and self.scope[var].dims is None:
                before = self.defs.get(var)
                self.defs[var] = self.emit(loop, "phi", self.scope[var].type, None, var=var,
                                           operands=(before,) if before is not None else ())
            self.affine[var] = None
        if control:
            self.defs[control.iv] = None
            self.affine[control.iv] = {control.iv: 1}
        if not control and not isinstance(node, c_ast.DoWhile) and node.cond is not None:
            self.expression(node.cond, loop)
        self.statement(node.stmt, loop, loop)
        if not control and isinstance(node, c_ast.For) and node.next is not None:
            self.expression(node.next, loop)
        if isinstance(node, c_ast.DoWhile):
            self.expression(node.cond, loop)
        for op in loop.ops:
            if op.kind == "phi":
                final = self.defs.get(op.var)
                op.carried_from = final if final != op.id else None
        for var in carried + ([control.iv] if control else []):
            self.affine[var] = None

    # -- expressions
    def assign_scalar(self, name: str, value: _Value, region: Region):
        self.defs[name] = value.op
        self.affine[name] = value.affine
        var = self.scope.get(name)
        if var is not None and value.op is not None and self.module.ops[value.op].var is None:
            self.module.ops[value.op].var = name

    def read_scalar(self, name: str, node: c_ast.Node) -> _Value:
        var = self.scope.get(name)
        if name in self.module.constants and (var is None or name not in self.defs):
            value = self.module.constants[name]
            return _Value(None, var.type if var else INT32, {"": value} if isinstance(value, int) else None, value)
        if var is None:
            return _Value(None, INT32, {name: 1})
        return _Value(self.defs.get(name), var.type, self.affine.get(name))

    def array_access(self, node: c_ast.Node, region: Region) -> tuple[str, list[Affine | None], tuple[int, ...]]:
        """Base array name, per-dimension affine index and index operands of ``a[i][j]``/``*p``."""
        indices: list[c_ast.Node] = []
        while isinstance(node, c_ast.ArrayRef):
            indices.insert(0, node.subscript)
            node = node.name
        if isinstance(node, c_ast.StructRef):
            node = node.name
            while isinstance(node, (c_ast.ArrayRef, c_ast.StructRef)):
                indices.insert(0, node.subscript) if isinstance(node, c_ast.ArrayRef) else None
                node = node.name
        offset = None
        if isinstance(node, c_ast.BinaryOp) and node.op in "+-":  # *(base + k)
            node, offset = node.left, node.right
        if not isinstance(node, c_ast.ID):
            self.fail(node, f"memory access through {type(node).__name__}")
        affines, operands = [], []
        for index in indices or [offset or c_ast.Constant("int", "0")]:
            value = self.expression(index, region)
            affines.append(value.affine)
            if value.op is not None:
                operands.append(value.op)
        return node.name, affines, tuple(operands)

    def load(self, node: c_ast.Node, region: Region) -> _Value:
        name, index, operands = self.array_access(node, region)
        element = self.scope[name].type if name in self.scope else INT32
        op = self.emit(region, "load", element, node, array=name, index=index, index_operands=operands)
        return _Value(op, element)

    def store(self, node: c_ast.Node, value: _Value, region: Region):
        name, index, operands = self.array_access(node, region)
        element = self.scope[name].type if name in self.scope else INT32
        self.emit(region, "store", element, node, array=name, index=index, index_operands=operands,
                  operands=(value.op,) if value.op is not None else ())

    def arithmetic(self, op: str, left: _Value, right: _Value, node: c_ast.Node, region: Region) -> _Value:
        if left.const is not None and right.const is not None:
            try:
                folded = _BINARY[op](left.const, right.const)
                return _Value(None, _usual_conversion(left.type, right.type),
                              {"": folded} if isinstance(folded, int) else None, folded)
            except (ZeroDivisionError, TypeError):
                pass
        operand_type = _usual_conversion(left.type, right.type)
        result_type = INT32 if _KIND[op] == "cmp" or op in ("&&", "||") else operand_type
        operands = tuple(v.op for v in (left, right) if v.op is not None)
        op_id = self.emit(region, _KIND[op], operand_type, node, operands=operands)
        return _Value(op_id, result_type, _affine_combine(op, left.affine, right.affine))

    def expression(self, node: c_ast.Node, region: Region) -> _Value:
        if isinstance(node, c_ast.Constant):
            if node.type == "string":
                return _Value(None, ScalarType("char *", 64))
            value, type_ = _literal(node)
            return _Value(None, type_, {"": value} if isinstance(value, int) else None, value)
        if isinstance(node, c_ast.ID):
            var = self.scope.get(node.name)
            if var is not None and var.dims is not None:
                return _Value(None, var.type)  # an array name used as a pointer
            return self.read_scalar(node.name, node)
        if isinstance(node, (c_ast.ArrayRef, c_ast.StructRef)):
            return self.load(node, region)
        if isinstance(node, c_ast.BinaryOp):
            left = self.expression(node.left, region)
            right = self.expression(node.right, region)
            return self.arithmetic(node.op, left, right, node, region)
        if isinstance(node, c_ast.Assignment):
            return self.lower_assignment(node, region)
        if isinstance(node, c_ast.UnaryOp):
            return self.lower_unary(node, region)
        if isinstance(node, c_ast.TernaryOp):
            condition = self.expression(node.cond, region)
            if condition.const is not None:
                return self.expression(node.iftrue if condition.const else node.iffalse, region)
            yes, no = self.expression(node.iftrue, region), self.expression(node.iffalse, region)
            type_ = _usual_conversion(yes.type, no.type)
            operands = tuple(v.op for v in (condition, yes, no) if v.op is not None)
            return _Value(self.emit(region, "select", type_, node, operands=operands), type_)
        if isinstance(node, c_ast.Cast):
            inner = self.expression(node.expr, region)
            target, _ = self.module.describe(node.to_type)
            if inner.const is not None:
                value = inner.const if target.is_float else int(inner.const)
                return _Value(None, target, {"": value} if isinstance(value, int) else None, value)
            if inner.op is not None and inner.type.is_float != target.is_float:
                return _Value(self.emit(region, "cast", target, node, operands=(inner.op,)), target)
            return _Value(inner.op, target, inner.affine)
        if isinstance(node, c_ast.FuncCall):
            return self.lower_call(node, region)
        if isinstance(node, c_ast.ExprList):
            values = [self.expression(e, region) for e in node.exprs]
            return values[-1] if values else _Value(None, INT32)
        if isinstance(node, c_ast.InitList):
            self.fail(node, "initialiser list inside an expression")
        if isinstance(node, c_ast.CompoundLiteral):
            self.fail(node, "compound literal")
        self.fail(node, f"{type(node).__name__} expression")

    def lower_assignment(self, node: c_ast.Assignment, region: Region) -> _Value:
        return self.update(node, region)[1]

    def update(self, node: c_ast.Assignment, region: Region) -> tuple[_Value, _Value]:
        """Lower an assignment; returns the target's old value (for op=) and the new one."""
        value = current = self.expression(node.rvalue, region)
        if node.op != "=":
            current = self.expression(node.lvalue, region)
            value = self.arithmetic(node.op[:-1], current, value, node, region)
        target = node.lvalue
        if isinstance(target, c_ast.ID):
            var = self.scope.get(target.name)
            if var is not None and var.dims is not None:
                self.fail(node, f"assignment to array {target.name}")
            if value.op is not None and var is not None and value.type.is_float != var.type.is_float:
                value = _Value(self.emit(region, "cast", var.type, node, operands=(value.op,)), var.type)
            self.assign_scalar(target.name, value, region)
        elif isinstance(target, (c_ast.ArrayRef, c_ast.StructRef)) or (
                isinstance(target, c_ast.UnaryOp) and target.op == "*"):
            self.store(target.expr if isinstance(target, c_ast.UnaryOp) else target, value, region)
        else:
            self.fail(node, f"assignment to {type(target).__name__}")
        return current, value

    def lower_unary(self, node: c_ast.UnaryOp, region: Region) -> _Value:
        if node.op in ("++", "--", "p++", "p--"):
            one = c_ast.Constant("int", "1")
            step = c_ast.Assignment("+=" if "+" in node.op else "-=", node.expr, one, node.coord)
            before, after = self.update(step, region)
            return before if node.op.startswith("p") else after
        if node.op == "*":
            return self.load(node.expr, region)
        if node.op == "&":
            return _Value(None, ScalarType("pointer", 64))
        if node.op == "sizeof":
            target = node.expr
            if isinstance(target, c_ast.ID) and target.name in self.scope:
                var = self.scope[target.name]
                elements = 1
                for dim in var.dims or []:
                    elements *= dim or 0
                size = elements * (var.type.bits or 0) // 8
                return _Value(None, INT32, {"": size}, size)
            return _Value(None, INT32)
        operand = self.expression(node.expr, region)
        if operand.const is not None:
            value = {"-": -operand.const, "+": operand.const, "!": int(not operand.const)}.get(node.op)
            if value is None and node.op == "~" and isinstance(operand.const, int):
                value = ~operand.const
            if value is not None:
                return _Value(None, operand.type, {"": value} if isinstance(value, int) else None, value)
        kind = {"-": "add", "+": None, "~": "logic", "!": "logic"}[node.op]
        if kind is None:
            return operand
        affine = {v: -c for v, c in operand.affine.items()} if node.op == "-" and operand.affine else None
        operands = (operand.op,) if operand.op is not None else ()
        return _Value(self.emit(region, kind, operand.type, node, operands=operands), operand.type, affine)

    def lower_call(self, node: c_ast.FuncCall, region: Region) -> _Value:
        if not isinstance(node.name, c_ast.ID):
            self.fail(node, "call through a function pointer")
        callee = node.name.name
        arrays: dict[int, str] = {}
        operands = []
        for position, argument in enumerate(node.args.exprs if node.args else []):
            base = argument
            if isinstance(base, c_ast.UnaryOp) and base.op == "&":
                base = base.expr
            while isinstance(base, (c_ast.ArrayRef, c_ast.BinaryOp)):
                base = base.name if isinstance(base, c_ast.ArrayRef) else base.left
            if isinstance(base, c_ast.ID) and base.name in self.scope and self.scope[base.name].dims is not None:
                arrays[position] = base.name
                continue
            value = self.expression(argument, region)
            if value.op is not None:
                operands.append(value.op)
        self.bindings.append((callee, arrays))
        returns = self.module.prototypes.get(callee) or (
            ScalarType("double", 64, True) if callee in _LIBM_DOUBLE else INT32)
        op = self.emit(region, "call", returns, node, callee=callee, operands=tuple(operands))
        return _Value(op, returns)


# -- loop control and trip counts ------------------------------------------------

_STEP_LIMIT = 2_000_000


@dataclass
class _LoopControl:
    """The induction variable of a ``for`` loop and the statements that move it."""

    iv: str
    init: c_ast.Node
    cond: c_ast.Node
    steps: list[c_ast.Node]
    free: set[str]
    exits_early: bool

    @staticmethod
    def analyse(node) -> _LoopControl | None:
        if not isinstance(node, c_ast.For) or node.cond is None or node.next is None:
            return None
        step_exprs = node.next.exprs if isinstance(node.next, c_ast.ExprList) else [node.next]
        candidates = _names_in(node.cond) & set().union(*(_assigned_names(s) for s in step_exprs))
        if len(candidates) != 1:
            return None
        iv = candidates.pop()
        init = _initialiser(node.init, iv)
        steps = [s for s in step_exprs if iv in _assigned_names(s)]
        body = (node.stmt.block_items or []) if isinstance(node.stmt, c_ast.Compound) else [node.stmt]
        body_steps = [s for s in body if iv in _assigned_names(s)]
        nested = [s for s in body if s not in body_steps and iv in _assigned_names(s)]
        if nested or any(not isinstance(s, (c_ast.Assignment, c_ast.UnaryOp)) for s in body_steps):
            return None
        exits = _contains(node.stmt, (c_ast.Return, c_ast.Goto)) is not None or _contains(
            node.stmt, (c_ast.Break,), stop=(c_ast.For, c_ast.While, c_ast.DoWhile, c_ast.Switch)) is not None
        moving = body_steps + steps
        free = (_names_in(init) | _names_in(node.cond) | set().union(*(_names_in(s) for s in moving))) - {iv}
        return _LoopControl(iv, init, node.cond, moving, free, exits)

    def values(self, env: dict[str, int], budget: list[int]) -> list[int] | None:
        """The induction variable's successive values on one entry, or None if unknown."""
        scope = dict(env)
        start = const_value(self.init, scope)
        if start is None:
            return None
        scope[self.iv], seen = start, []
        while True:
            budget[0] -= 1
            if budget[0] < 0:
                return None
            test = const_value(self.cond, scope)
            if test is None:
                return None
            if not test:
                return seen
            seen.append(scope[self.iv])
            for step in self.steps:
                if not _apply_step(step, scope):
                    return None


def _initialiser(init: c_ast.Node | None, iv: str) -> c_ast.Node | None:
    items = init.exprs if isinstance(init, c_ast.ExprList) else init.decls if isinstance(init, c_ast.DeclList) else [init]
    for item in items:
        if isinstance(item, c_ast.Assignment) and item.op == "=" and isinstance(item.lvalue, c_ast.ID) \
                and item.lvalue.name == iv:
            return item.rvalue
        if isinstance(item, c_ast.Decl) and item.name == iv:
            return item.init
    return None


def _apply_step(step: c_ast.Node, scope: dict[str, int]) -> bool:
    if isinstance(step, c_ast.UnaryOp):
        scope[step.expr.name] += 1 if "+" in step.op else -1
        return True
    value = const_value(step.rvalue, scope)
    if value is None:
        return False
    name = step.lvalue.name
    scope[name] = value if step.op == "=" else _BINARY[step.op[:-1]](scope[name], value)
    return True


def _trip_counts(kernel_loops: dict[str, Loop], controls: dict[str, _LoopControl | None],
                 constants: dict[str, int | float]) -> None:
    """Fill trip_count/min/max and the bound kind of every loop."""
    def enclosing(loop: Loop) -> list[Loop]:
        chain = []
        while loop.parent:
            loop = kernel_loops[loop.parent]
            chain.insert(0, loop)
        return chain

    for name, loop in kernel_loops.items():
        control = controls.get(name)
        if control is None:
            continue
        outer = [l for l in enclosing(loop) if controls.get(l.name)]
        outer_ivs = {controls[l.name].iv: l for l in outer}
        unknown = control.free - set(constants) - set(outer_ivs)
        if unknown:
            continue
        budget = [_STEP_LIMIT]
        envs = _environments([l for l in outer if controls[l.name].iv in _closure(control, outer_ivs, controls)],
                             controls, dict(constants), budget)
        trips, starts, strides = set(), set(), set()
        for env in envs:
            values = control.values(env, budget) if env is not None else None
            if values is None:
                trips = None
                break
            trips.add(len(values))
            starts.update(values[:1])
            strides.update(b - a for a, b in zip(values, values[1:]))
        if not trips:
            continue
        loop.trip_min, loop.trip_max = min(trips), max(trips)
        if len(starts) == 1 and len(strides) <= 1:
            loop.start, loop.stride = starts.pop(), strides.pop() if strides else 1
        if control.exits_early:
            continue
        if len(trips) == 1:
            loop.trip_count, loop.bound = loop.trip_min, "static"
        else:
            loop.bound = "variable"


def _closure(control: _LoopControl, outer_ivs: dict[str, Loop], controls) -> set[str]:
    """Enclosing induction variables this loop's control depends on, directly or not."""
    needed, pending = set(), [control]
    while pending:
        current = pending.pop()
        for var in current.free & set(outer_ivs):
            if var not in needed:
                needed.add(var)
                pending.append(controls[outer_ivs[var].name])
    return needed


def _environments(chain: list[Loop], controls, base: dict, budget: list[int]):
    """Every combination of the chain's induction variables (outermost first)."""
    if not chain:
        yield base
        return
    first, rest = chain[0], chain[1:]
    values = controls[first.name].values(base, budget)
    if values is None:
        yield None
        return
    for value in values:
        yield from _environments(rest, controls, {**base, controls[first.name].iv: value}, budget)


# -- the kernel ------------------------------------------------------------------


def _mark_address_arithmetic(ops: dict[int, Op]) -> None:
    """An arithmetic op is address arithmetic when all its results feed array indices."""
    uses: dict[int, list[tuple[int, bool]]] = {}
    for op in ops.values():
        for operand in op.operands:
            uses.setdefault(operand, []).append((op.id, False))
        for operand in op.index_operands:
            uses.setdefault(operand, []).append((op.id, True))
    for op_id in sorted(ops, reverse=True):
        op = ops[op_id]
        if op.kind in ("load", "store", "call", "phi"):
            continue
        consumers = uses.get(op_id, [])
        op.is_address = bool(consumers) and all(index or ops[user].is_address for user, index in consumers)


def _drop_unused_phis(kernel_loops: dict[str, Loop], ops: dict[int, Op]) -> None:
    """A scalar that every iteration writes before reading is not carried; phis of
    outer loops that only fed such phis go too, hence the fixpoint."""
    while True:
        used = {operand for op in ops.values() for operand in (*op.operands, *op.index_operands)}
        unused = [op for op in ops.values() if op.kind == "phi" and op.id not in used]
        if not unused:
            return
        for op in unused:
            del ops[op.id]
        for loop in kernel_loops.values():
            loop.ops = [op for op in loop.ops if op.id in ops]


def _propagate_access(arrays: list[Array], bindings: dict[str, list[tuple[str, dict[int, str]]]],
                      functions: dict[str, Function], kernel_loops: dict[str, Loop]) -> None:
    """read/write/readwrite per array, through calls that pass arrays to helpers."""
    modes: dict[tuple[str, str], set[str]] = {}
    for region in [*functions.values(), *kernel_loops.values()]:
        function = region.name if isinstance(region, Function) else region.function
        for op in region.ops:
            if op.kind in ("load", "store"):
                modes.setdefault((function, op.array), set()).add("read" if op.kind == "load" else "write")
    changed = True
    while changed:
        changed = False
        for caller, calls in bindings.items():
            for callee, passed in calls:
                if callee not in functions:
                    continue
                for position, array in passed.items():
                    params = functions[callee].params
                    if position < len(params):
                        inner = modes.get((callee, params[position]), set())
                        outer = modes.setdefault((caller, array), set())
                        if not inner <= outer:
                            outer |= inner
                            changed = True
    for array in arrays:
        found = modes.get((array.function, array.name), set())
        if array.kind == "global":
            found = set().union(*(m for (f, a), m in modes.items() if a == array.name))
        array.access = "readwrite" if len(found) == 2 else found.pop() if found else "none"


def _call_graph(definitions: dict[str, c_ast.FuncDef]) -> dict[str, list[tuple[str, c_ast.FuncCall]]]:
    graph: dict[str, list[tuple[str, c_ast.FuncCall]]] = {}

    class Calls(c_ast.NodeVisitor):
        def __init__(self):
            self.found = []

        def visit_FuncCall(self, node):
            if isinstance(node.name, c_ast.ID):
                self.found.append((node.name.name, node))
            self.generic_visit(node)

    for name, definition in definitions.items():
        visitor = Calls()
        visitor.visit(definition.body)
        graph[name] = visitor.found
    return graph


def _choose_top(source: Path, definitions: dict[str, c_ast.FuncDef], graph, top: str | None,
                main_file: set[str]) -> str:
    if top is not None:
        if top not in definitions:
            known = ", ".join(sorted(main_file)) or "none"
            raise DseError(f"{source}: unknown top function '{top}' (functions defined: {known})")
        return top
    called = {callee for caller in main_file for callee, _ in graph[caller]}
    roots = sorted(n for n in main_file if n not in called and n != "main")
    if len(roots) == 1:
        return roots[0]
    if not roots:
        raise DseError(f"{source}: no function definition to use as top")
    raise DseError(f"{source}: several candidate top functions ({', '.join(roots)}); choose one with --top")


def _check_recursion(top: str, graph) -> list[str]:
    """The functions reachable from top, in call order; recursion is unsupported."""
    order: list[str] = []

    def visit(name: str, stack: tuple[str, ...]):
        for callee, call in graph.get(name, []):
            if callee in stack:
                raise FrontendError(call.coord.file, call.coord.line, f"unsupported: recursive call to {callee}")
            if callee in graph and callee not in order:
                order.append(callee)
                visit(callee, stack + (callee,))

    order.append(top)
    visit(top, (top,))
    return order


def read_kernel(source: str | Path, top: str | None = None, include_dirs: list[str | Path] = (),
                defines: list[str] = ()) -> Kernel:
    """Read a C kernel: its top function, arrays, loops with trip counts, and dataflow."""
    path = Path(source)
    if not path.is_file():
        raise DseError(f"{source}: no such file")
    tree = parse_file(path, [Path(d) for d in include_dirs], list(defines))

    typedefs, globals_, constants, prototypes = {}, {}, {}, {}
    definitions: dict[str, c_ast.FuncDef] = {}
    main_file: set[str] = set()
    module = _Module(str(source), typedefs, globals_, constants, prototypes)
    resolved_main = path.resolve()
    for node in tree.ext:
        if isinstance(node, c_ast.Typedef):
            typedefs[node.name] = node.type
        elif isinstance(node, c_ast.FuncDef):
            definitions[node.decl.name] = node
            prototypes[node.decl.name] = module.describe(node.decl.type)[0]
            if Path(node.coord.file).resolve() == resolved_main:
                main_file.add(node.decl.name)
        elif isinstance(node, c_ast.Decl) and isinstance(node.type, c_ast.FuncDecl):
            prototypes[node.name] = module.describe(node.type)[0]
        elif isinstance(node, c_ast.Decl) and node.name:
            element, dims = module.describe(node.type)
            globals_[node.name] = _Var(element, dims, "")
            if dims is None and "const" in node.quals and node.init is not None:
                value = const_value(node.init, constants)
                if value is not None:
                    constants[node.name] = value
            elif dims is not None:
                if dims[0] is None and isinstance(node.init, c_ast.InitList):
                    dims[0] = len(node.init.exprs)
                module.arrays.append(Array(node.name, "", "global", dims, element, node.coord.line,
                                           const="const" in node.quals))
        elif isinstance(node, c_ast.Decl) and isinstance(node.type, c_ast.Enum) and node.type.values:
            counter = 0
            for item in node.type.values.enumerators:
                counter = const_value(item.value, constants) if item.value is not None else counter
                constants[item.name] = counter
                counter += 1

    graph = _call_graph(definitions)
    chosen = _choose_top(path, definitions, graph, top, main_file)
    functions: dict[str, Function] = {}
    bindings: dict[str, list[tuple[str, dict[int, str]]]] = {}
    controls: dict[str, _LoopControl | None] = {}
    for name in _check_recursion(chosen, graph):
        lowering = _FunctionLowering(definitions[name], module, name in main_file)
        functions[name], bindings[name] = lowering.build()
        controls.update(lowering.controls)

    used_globals = {op.array for op in module.ops.values() if op.array}
    module.arrays = [a for a in module.arrays if a.kind != "global" or a.name in used_globals]
    _drop_unused_phis(module.loops, module.ops)
    _mark_address_arithmetic(module.ops)
    _trip_counts(module.loops, controls, constants)
    _propagate_access(module.arrays, bindings, functions, module.loops)
    return Kernel(str(source), chosen, functions, module.arrays, module.loops)
