"""Directive spaces: knobs per loop, array and function, the clock, and constraints.

A space file (TOML) names its kernel and lists, per target, the values each
directive may take::

    [kernel]
    name = "gemm_ncubed"          # a bundled kernel, or: source = "path/to/file.c"
    top = "gemm"

    [clock]
    period_ns = [10.0]

    [loops.inner]
    trip = 64                     # fact from the front-end, usable in constraints
    unroll = [1, 2, 4, 8]         # "complete" means the trip count
    pipeline = ["off", "on"]
    ii = [1, 2]                   # active only when pipeline = "on"

    [arrays.m1]
    size = 4096
    partition = ["none", "cyclic", "block", "complete"]
    factor = [2, 4, 8]            # active only for cyclic and block
    dim = [1]                     # multi-dimensional arrays: active when partitioned

    [functions.helper]
    inline = ["off", "on"]

    [tools.bambu]                 # a tool's own options, checked by its backend
    opt_level = ["O2", "O3"]

    [columns.L1]                  # a knob that is a column of a recorded table (replay backend)
    values = ["pipeline", "unroll factor=2"]
    on = "inner"                  # optional: the loop, array or function its pragma texts act on

    [[constraints]]
    expr = "m1.factor >= inner.unroll"
    why = "enough banks for the unrolled reads"

Knobs are named ``<target>.<directive>`` (``inner.unroll``, ``m1.partition``,
``clock.period_ns``); a table's column is a knob under its own name. A configuration gives every active knob a value; its
canonical form lists them sorted by name, and its hash is that form's SHA-256.
"""

from __future__ import annotations

import dataclasses
import difflib
import functools
import hashlib
import itertools
import json
import math
import random
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator, Mapping

import numpy as np
import tomlkit
from tomlkit.exceptions import TOMLKitError

from .constraints import Constraint
from .errors import DseError
from .ir import Kernel, Loop

# Directives per kind of target, in the order their conditions need.
DIRECTIVES: dict[str, tuple[str, ...]] = {
    "loops": ("unroll", "pipeline", "ii"),
    "arrays": ("partition", "factor", "dim"),
    "functions": ("inline",),
    "clock": ("period_ns",),
    "tools": (),  # options of one HLS tool ([tools.bambu]), checked by that tool's backend
    "columns": ("values",),  # a column of a recorded table, named as the table names it
}
FACTS = {"loops": ("trip",), "arrays": ("size", "dim1", "dim2", "dim3", "dim4"), "columns": ("on",)}
CHOICES = {"pipeline": ("off", "on"), "partition": ("none", "cyclic", "block", "complete"), "inline": ("off", "on")}
# directive -> (directive it depends on, values of that directive that activate it)
CONDITIONS = {"ii": ("pipeline", {"on"}), "factor": ("partition", {"cyclic", "block"}),
              "dim": ("partition", {"cyclic", "block", "complete"}),
              "channels_number": ("channels_type", {"MEM_ACC_N1", "MEM_ACC_NN"})}
MINIMUM = {"unroll": 1, "ii": 1, "factor": 2, "dim": 0}
PLAIN = {"unroll": 1, "pipeline": "off", "partition": "none"}
"""Per directive, the value that leaves the kernel as written."""



@dataclass(frozen=True)
class Knob:
    kind: str
    target: str
    directive: str
    values: tuple

    @property
    def name(self) -> str:
        return self.target if self.kind == "columns" else f"{self.target}.{self.directive}"

    @property
    def default(self):
        return self.values[0]

    def condition(self) -> tuple[str, set[str]] | None:
        """The knob name and values that make this knob active, if it is conditional."""
        if self.directive not in CONDITIONS:
            return None
        parent, allowed = CONDITIONS[self.directive]
        return f"{self.target}.{parent}", allowed

    def active(self, values: Mapping[str, Any]) -> bool:
        condition = self.condition()
        return condition is None or values.get(condition[0]) in condition[1]

    def parse(self, text: str, facts: Mapping[str, Any]):
        """A value given on the command line, checked against the domain."""
        value: Any = text.strip()
        if self.directive == "unroll" and value == "complete":
            value = facts.get(f"{self.target}.trip", value)
        elif self.directive == "period_ns":
            try:
                value = float(value)
            except ValueError:
                pass
        elif self.directive not in CHOICES:
            for number in (int, float) if self.kind == "columns" else (int,):
                try:
                    value = number(value)
                    break
                except ValueError:
                    pass
        if value not in self.values:
            raise DseError(f"knob '{self.name}': {text!r} is not one of {list(self.values)}")
        return value


@dataclass(frozen=True)
class Configuration:
    """Values of the active knobs of one design point, in canonical (sorted) order."""

    items: tuple[tuple[str, Any], ...]

    @classmethod
    def of(cls, values: Mapping[str, Any]) -> Configuration:
        return cls(tuple(sorted(values.items())))

    def as_dict(self) -> dict[str, Any]:
        return dict(self.items)

    @functools.cached_property
    def canonical(self) -> str:
        return json.dumps(self.as_dict(), separators=(",", ":"), sort_keys=True)

    @functools.cached_property
    def hash(self) -> str:
        return hashlib.sha256(self.canonical.encode()).hexdigest()

    def __getitem__(self, name: str):
        return self.as_dict()[name]


def knob_text(value) -> str:
    """A knob value as text that identifies it: 4, 4.0 and "4" are one value; an inactive knob
    (None, or an empty table cell) is ""."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


_PRAGMA_NUMBER = {name: re.compile(rf"\b{name}\s*=\s*(\d+)", re.IGNORECASE) for name in ("factor", "dim", "II")}


def pragma_directives(target: str, text: str, trip: int | None = None) -> dict[str, Any]:
    """The directive knobs that a Vitis HLS pragma, as tables of other tools record it
    (``pipeline II=1``, ``unroll factor=4``, ``unroll (full)``, ``array_partition A cyclic
    factor=4 dim=1``, ``inline``), sets on ``target``; a full unroll takes ``trip``. Empty for
    a pragma it does not know."""
    words = text.replace("#pragma", "").replace("HLS", "").split()
    kind = words[0].lower() if words else ""
    number = lambda name, default: int(found.group(1)) if (found := _PRAGMA_NUMBER[name].search(text)) else default
    if kind == "pipeline":
        return {f"{target}.pipeline": "on", f"{target}.ii": number("II", 1)}
    if kind == "unroll":
        factor = number("factor", trip)
        return {f"{target}.unroll": factor} if factor else {}
    if kind == "array_partition" and len(words) > 2 and words[2] in CHOICES["partition"]:
        array, scheme = words[1], words[2]
        values = {f"{array}.partition": scheme, f"{array}.dim": number("dim", 1)}
        return values | ({f"{array}.factor": number("factor", 2)} if scheme in ("cyclic", "block") else {})
    if kind == "inline":
        return {f"{target}.inline": "off" if "off" in words[1:] else "on"}
    return {}


def _domain(kind: str, target: str, directive: str, raw, facts: dict, where: str) -> tuple:
    """Check and normalise one directive's list of values from a space file."""
    values = list(raw) if isinstance(raw, list) else [raw]
    label = f"{where}: {kind}.{target}.{directive}"
    if not values:
        raise DseError(f"{label}: empty list of values")
    normalised = []
    for value in values:
        if kind in ("tools", "columns"):
            if isinstance(value, bool) or not isinstance(value, (str, int, float)) or \
                    (kind == "tools" and isinstance(value, float)):
                raise DseError(f"{label}: {value!r} is not an option value (text or number)")
        elif directive in CHOICES:
            if value not in CHOICES[directive]:
                raise DseError(f"{label}: {value!r} is not one of {list(CHOICES[directive])}")
        elif directive == "period_ns":
            if isinstance(value, bool) or not isinstance(value, (int, float)) or value <= 0:
                raise DseError(f"{label}: {value!r} is not a positive clock period in ns")
            value = float(value)
        else:
            if directive == "unroll" and value == "complete":
                if f"{target}.trip" not in facts:
                    raise DseError(f"{label}: 'complete' needs the loop's trip count (trip = N)")
                value = facts[f"{target}.trip"]
            if isinstance(value, bool) or not isinstance(value, int) or value < MINIMUM[directive]:
                raise DseError(f"{label}: {value!r} is not a whole number >= {MINIMUM[directive]}")
        if value in normalised:
            raise DseError(f"{label}: {value!r} is listed twice")
        normalised.append(value)
    return tuple(normalised)


@dataclass
class Space:
    kernel: str
    knobs: dict[str, Knob]
    constraints: list[Constraint] = field(default_factory=list)
    facts: dict[str, Any] = field(default_factory=dict)
    top: str | None = None
    source: str | None = None
    path: Path | None = None

    def __post_init__(self):
        self._components: list[_Component] | None = None
        known = set(self.knobs) | set(self.facts)
        for constraint in self.constraints:
            for name in sorted(constraint.names - known):
                close = difflib.get_close_matches(name, known, n=1)
                hint = f" (did you mean {close[0]}?)" if close else ""
                raise DseError(f"{self.where}: constraint '{constraint.expr}': unknown knob or fact '{name}'{hint}")

    @classmethod
    def of_columns(cls, name: str, columns: Mapping[str, list]) -> Space:
        """A space whose knobs are a table's columns, each taking the values listed."""
        knobs = {column: Knob("columns", column, "values", _domain("columns", column, "values", list(values), {},
                                                                   name)) for column, values in columns.items()}
        return cls(name, knobs)

    def with_clock(self, period_ns: float) -> Space:
        """This space with the clock fixed at ``period_ns``."""
        knobs = {**self.knobs, "clock.period_ns": Knob("clock", "clock", "period_ns", (float(period_ns),))}
        return dataclasses.replace(self, knobs=knobs)

    @property
    def where(self) -> str:
        return str(self.path) if self.path else f"space of {self.kernel}"

    # -- files
    @classmethod
    def load(cls, path: str | Path) -> Space:
        path = Path(path)
        try:
            document = tomlkit.parse(path.read_text()).unwrap()
        except FileNotFoundError:
            raise DseError(f"{path}: no such file") from None
        except TOMLKitError as error:
            raise DseError(f"{path}: not valid TOML: {error}") from None
        return cls.from_document(document, path)

    @classmethod
    def from_document(cls, document: dict, path: Path | None = None) -> Space:
        where = str(path or "space")
        allowed = {"kernel", "constraints", *DIRECTIVES}
        for key in document:
            if key not in allowed:
                raise DseError(f"{where}: unknown table [{key}] (known: {', '.join(sorted(allowed))})")
        header = document.get("kernel", {})
        if not header.get("name") and not header.get("source"):
            raise DseError(f"{where}: [kernel] needs a name (bundled kernel) or a source (C file)")
        facts: dict[str, Any] = {}
        knobs: dict[str, Knob] = {}
        tables = [("clock", "clock", document.get("clock", {}))] if "clock" in document else []
        for kind in ("loops", "arrays", "functions", "tools", "columns"):
            tables += [(kind, target, table) for target, table in document.get(kind, {}).items()]
        for kind, target, table in tables:
            for fact in FACTS.get(kind, ()):
                if fact in table:
                    facts[f"{target}.{fact}"] = table[fact]
            for key, raw in table.items():
                if key in FACTS.get(kind, ()):
                    continue
                if kind != "tools" and key not in DIRECTIVES[kind]:
                    known = ", ".join(DIRECTIVES[kind] + FACTS.get(kind, ()))
                    raise DseError(f"{where}: {kind}.{target}: unknown directive '{key}' (known: {known})")
                knob = Knob(kind, target, key, _domain(kind, target, key, raw, facts, where))
                knobs[knob.name] = knob
        constraints = []
        for entry in document.get("constraints", []):
            if "expr" not in entry:
                raise DseError(f"{where}: a [[constraints]] entry has no expr")
            constraints.append(Constraint(entry["expr"], entry.get("why", "")))
        source = header.get("source")
        if source and path is not None and not Path(source).is_absolute():
            source = str((path.parent / source).resolve())
        return cls(header.get("name") or Path(source).stem, knobs, constraints, facts,
                   top=header.get("top"), source=source, path=path)

    def to_toml(self) -> str:
        document = tomlkit.document()
        document.add(tomlkit.comment(f"Directive space for {self.kernel}, written by `dse space`."))
        document.add(tomlkit.comment("Edit the value lists; see `dse space --help` for the format."))
        header = tomlkit.table()
        header["name"] = self.kernel
        if self.source:
            header["source"] = self.source
        if self.top:
            header["top"] = self.top
        document["kernel"] = header
        for kind in ("clock", "loops", "arrays", "functions", "tools", "columns"):
            targets = list(dict.fromkeys(k.target for k in self.knobs.values() if k.kind == kind))
            if not targets:
                continue
            container = tomlkit.table(is_super_table=kind != "clock")
            for target in targets:
                table = tomlkit.table()
                for fact in FACTS.get(kind, ()):
                    if f"{target}.{fact}" in self.facts:
                        table[fact] = self.facts[f"{target}.{fact}"]
                for knob in (k for k in self.knobs.values() if k.kind == kind and k.target == target):
                    table[knob.directive] = list(knob.values)
                    condition = knob.condition()
                    if condition:
                        table[knob.directive].comment(
                            f"only when {condition[0]} is {' or '.join(sorted(condition[1]))}")
                if kind == "clock":
                    container = table
                else:
                    container[target] = table
            document[kind] = container
        if self.constraints:
            entries = tomlkit.aot()
            for constraint in self.constraints:
                entry = tomlkit.table()
                entry["expr"] = constraint.expr
                if constraint.why:
                    entry["why"] = constraint.why
                entries.append(entry)
            document["constraints"] = entries
        return tomlkit.dumps(document)

    # -- configurations
    @functools.cached_property
    def pragma_columns(self) -> dict[str, str]:
        """Each table column that names what its pragma texts act on (``on``): column -> target."""
        return {k.name: self.facts[f"{k.name}.on"] for k in self.knobs.values()
                if k.kind == "columns" and f"{k.name}.on" in self.facts}

    def with_directives(self, values: Mapping[str, Any], trips: Mapping[str, int | None]) -> dict[str, Any]:
        """``values`` and the directive knobs its :attr:`pragma_columns` set (:func:`pragma_directives`;
        ``trips``: loop trip counts, for full unrolls)."""
        translated = dict(values)
        for column, target in self.pragma_columns.items():
            if column in values:
                translated.update(pragma_directives(target, str(values[column]), trips.get(target)))
        return translated

    def parse_assignments(self, items: list[str]) -> dict[str, Any]:
        """``knob=value`` strings from the command line."""
        values = {}
        for item in items:
            name, text = split_assignment(item)
            values[name] = self.knob(name).parse(text, self.facts)
        return values

    def knob(self, name: str) -> Knob:
        if name not in self.knobs:
            close = difflib.get_close_matches(name, self.knobs, n=1)
            hint = f"did you mean {close[0]}?" if close else f"knobs: {', '.join(self.knobs)}"
            raise DseError(f"{self.where}: unknown knob '{name}' ({hint})")
        return self.knobs[name]

    def configuration(self, values: Mapping[str, Any] | None = None) -> Configuration:
        """A legal configuration: the given values, defaults for the other active knobs."""
        values = dict(values or {})
        for name, value in values.items():
            knob = self.knob(name)
            if value not in knob.values:
                raise DseError(f"knob '{name}': {value!r} is not one of {list(knob.values)}")
        chosen = self._active(values)
        for name in values.keys() - chosen.keys():
            parent, allowed = self.knobs[name].condition()
            raise DseError(f"knob '{name}' applies only when {parent} is {' or '.join(sorted(allowed))}")
        for constraint in self.broken_constraints(chosen):
            reason = f" ({constraint.why})" if constraint.why else ""
            raise DseError(f"configuration breaks constraint '{constraint.expr}'{reason}")
        return Configuration.of(chosen)

    def plain(self) -> Configuration | None:
        """The design without directives: every unroll, pipeline and partition knob that can leave
        the kernel as written does (:data:`PLAIN`), the other knobs take their defaults; None if no
        knob can, or that design breaks a constraint."""
        values = {knob.name: PLAIN[knob.directive] for knob in self.knobs.values()
                  if knob.directive in PLAIN and PLAIN[knob.directive] in knob.values}
        if not values or self.broken_constraints(chosen := self._active(values)):
            return None
        return Configuration.of(chosen)

    def neighbour(self, config: Configuration, name: str, value) -> Configuration | None:
        """``config`` with knob ``name`` set to ``value`` (knobs that become active take their
        default, those that become inactive go), or None if that breaks a constraint."""
        chosen = self._active({**config.as_dict(), name: value})
        return None if self.broken_constraints(chosen) else Configuration.of(chosen)

    def _active(self, values: Mapping[str, Any]) -> dict[str, Any]:
        """``values`` of the knobs they leave active, defaults for the active knobs they lack."""
        chosen: dict[str, Any] = {}
        for knob in self.knobs.values():
            if knob.active(chosen):
                chosen[knob.name] = values.get(knob.name, knob.default)
        return chosen

    def broken_constraints(self, values: Mapping[str, Any]) -> list[Constraint]:
        scope = {**self.facts, **values}
        return [c for c in self.constraints if not c.holds(scope)]

    # -- size, enumeration, sampling
    @property
    def components(self) -> list[_Component]:
        if self._components is None:
            self._components = _components(self)
        return self._components

    def raw_size(self) -> int:
        """Configurations before constraints (conditional knobs counted only when active)."""
        return math.prod(len(options) for c in self.components for options in c.options)

    def count(self) -> int:
        """Number of legal configurations (exact)."""
        return math.prod(component.size for component in self.components)

    def enumerate(self) -> Iterator[Configuration]:
        """Every legal configuration, lazily."""
        for parts in itertools.product(*(list(c.legal()) for c in self.components)):
            merged: dict[str, Any] = {}
            for part in parts:
                merged.update(part)
            yield Configuration.of(merged)

    def sample(self, rng: random.Random, uniforms: Iterator[float] | None = None) -> Configuration:
        """One legal configuration, uniformly at random; ``uniforms`` (one number in [0, 1) per
        variable, see :meth:`variables`) replaces the random draws, e.g. for a Latin hypercube."""
        if not self.count():
            raise DseError(f"{self.where}: the constraints leave no legal configuration")
        merged: dict[str, Any] = {}
        for component in self.components:
            merged.update(component.draw(rng, uniforms))
        return Configuration.of(merged)

    def variables(self) -> int:
        """How many draws :meth:`sample` makes (one per target with options)."""
        return sum(len(component.buckets) for component in self.components)

    def check_against(self, kernel: Kernel) -> None:
        """Every loop, array and function the space names exists in the kernel."""
        arrays = {a.name for a in kernel.arrays if a.function == kernel.top or a.kind == "local"}
        present = {"loops": set(kernel.loops), "arrays": arrays, "functions": set(kernel.functions)}
        for knob in self.knobs.values():
            if knob.kind in present and knob.target not in present[knob.kind]:
                known = ", ".join(sorted(present[knob.kind])) or "none"
                raise DseError(f"{self.where}: {knob.kind[:-1]} '{knob.target}' is not in {kernel.source} "
                               f"({knob.kind}: {known})")


class _Component:
    """Targets tied together by constraints; independent of every other component.

    Counting and uniform sampling use variable elimination: each target is a
    variable whose values are its option list, each constraint a 0/1 factor over
    the targets it reads; summing targets out one at a time (smallest product
    first) gives the exact number of legal assignments, and the factors kept per
    step let us draw uniformly, or list every legal assignment, without dead ends.
    """

    def __init__(self, space: Space, targets: list[tuple[str, str]], constraints: list[Constraint]):
        self.facts = space.facts
        self.constraints = constraints
        self.options = [_target_options([k for k in space.knobs.values() if (k.kind, k.target) == t])
                        for t in targets]
        owner = {k.name: i for i, t in enumerate(targets) for k in space.knobs.values() if (k.kind, k.target) == t}
        factors = [((i,), np.ones(len(o), dtype=object)) for i, o in enumerate(self.options)]
        factors += [self._factor(c, tuple(sorted({owner[n] for n in c.names if n in owner}))) for c in constraints]
        self.buckets: list[tuple[int, list[_Factor]]] = []
        sizes = [len(o) for o in self.options]
        left = set(range(len(targets)))
        while left:
            variable = min(left, key=lambda v: math.prod(
                sizes[u] for u in set().union(*(f[0] for f in factors if v in f[0]))))
            involved = [f for f in factors if variable in f[0]]
            scope, table = _multiply(involved, sizes)
            factors = [f for f in factors if variable not in f[0]]
            factors.append((tuple(u for u in scope if u != variable), table.sum(axis=scope.index(variable))))
            self.buckets.append((variable, involved))
            left.remove(variable)
        self.size = int(math.prod(int(table) for _, table in factors))

    def _factor(self, constraint: Constraint, scope: tuple[int, ...]) -> _Factor:
        table = np.zeros([len(self.options[v]) for v in scope], dtype=object)
        for index in itertools.product(*(range(len(self.options[v])) for v in scope)):
            values = dict(self.facts)
            for variable, position in zip(scope, index):
                values.update(self.options[variable][position])
            table[index] = int(constraint.holds(values))
        return scope, table

    def _weights(self, variable: int, involved: list[_Factor], chosen: dict[int, int]) -> np.ndarray:
        weights = np.ones(len(self.options[variable]), dtype=object)
        for scope, table in involved:
            index = tuple(slice(None) if v == variable else chosen[v] for v in scope)
            weights = weights * table[index]
        return weights

    def draw(self, rng: random.Random, uniforms: Iterator[float] | None = None) -> dict:
        """One legal assignment, uniformly at random (by inverse transform of ``uniforms`` if given)."""
        chosen: dict[int, int] = {}
        for variable, involved in reversed(self.buckets):
            weights = [float(w) for w in self._weights(variable, involved, chosen)]
            u = rng.random() if uniforms is None else next(uniforms)
            cumulative = np.cumsum(weights)
            chosen[variable] = min(int(np.searchsorted(cumulative, u * cumulative[-1], side="right")),
                                   len(weights) - 1)
        return self._merge(chosen)

    def legal(self) -> Iterator[dict]:
        """Every legal assignment."""
        order = list(reversed(self.buckets))

        def extend(depth: int, chosen: dict[int, int]):
            if depth == len(order):
                yield self._merge(chosen)
                return
            variable, involved = order[depth]
            for position, weight in enumerate(self._weights(variable, involved, chosen)):
                if weight:
                    yield from extend(depth + 1, {**chosen, variable: position})

        if self.size:
            yield from extend(0, {})

    def _merge(self, chosen: dict[int, int]) -> dict:
        merged: dict[str, Any] = {}
        for variable, position in sorted(chosen.items()):
            merged.update(self.options[variable][position])
        return merged


_Factor = tuple[tuple[int, ...], np.ndarray]


def _multiply(factors: list[_Factor], sizes: list[int]) -> _Factor:
    """Product of factors over the union of their scopes (object arrays: exact integers)."""
    scope = tuple(sorted(set().union(*(f[0] for f in factors))))
    result = np.ones([sizes[v] for v in scope], dtype=object)
    for variables, table in factors:
        aligned = np.transpose(table, [variables.index(v) for v in scope if v in variables])
        result = result * aligned.reshape([sizes[v] if v in variables else 1 for v in scope])
    return scope, result


def _target_options(knobs: list[Knob]) -> list[dict]:
    """Every assignment of one target's knobs, conditional knobs only where active."""
    options: list[dict] = [{}]
    for knob in knobs:
        extended = []
        for option in options:
            if knob.active(option):
                extended += [{**option, knob.name: value} for value in knob.values]
            else:
                extended.append(option)
        options = extended
    return options


def _components(space: Space) -> list[_Component]:
    targets = list(dict.fromkeys((k.kind, k.target) for k in space.knobs.values()))
    parent = {t: t for t in targets}

    def root(t):
        while parent[t] != t:
            parent[t] = parent[parent[t]]
            t = parent[t]
        return t

    def target_of(name: str):
        knob = space.knobs.get(name)
        return (knob.kind, knob.target) if knob else None

    for constraint in space.constraints:
        linked = [t for t in map(target_of, constraint.names) if t]
        for other in linked[1:]:
            parent[root(other)] = root(linked[0])
    groups: dict[tuple, list] = {}
    for t in targets:
        groups.setdefault(root(t), []).append(t)
    components = []
    for members in groups.values():
        names = {k.name for k in space.knobs.values() if (k.kind, k.target) in members}
        constraints = [c for c in space.constraints if c.names & names]
        components.append(_Component(space, members, constraints))
    return components


# -- a default space derived from the front-end -------------------------------------

def _unroll_factors(trip: int) -> tuple[int, ...]:
    """Divisors of the trip count: powers of two up to 64 and the whole trip if small,
    then small other divisors until there are four choices."""
    divisors = [d for d in range(1, trip + 1) if trip % d == 0]
    chosen = {d for d in divisors if d <= 64 and d & (d - 1) == 0}
    if trip <= 64:
        chosen.add(trip)
    for d in divisors:
        if len(chosen) >= 4:
            break
        if d <= 64:
            chosen.add(d)
    return tuple(sorted(chosen))


def _copies_when_unrolled(loop: Loop, kernel: Kernel) -> float:
    """Copies of the innermost bodies if everything inside ``loop`` were unrolled, the loops
    of the functions it calls included (pipelining a loop flattens those too)."""
    return _copies_inside([kernel.loops[c] for c in loop.children], loop.calls, kernel)


def _copies_inside(loops: list[Loop], calls: list[str], kernel: Kernel) -> float:
    total = 0.0
    for loop in loops:
        if loop.trip_count is None:
            return math.inf
        total += loop.trip_count * _copies_when_unrolled(loop, kernel)
    for callee in calls:
        function = kernel.functions.get(callee)
        if function is not None and kernel.loops_of(callee):
            total += _copies_inside([l for l in kernel.loops_of(callee) if l.parent is None], function.calls, kernel)
    return total or 1


def _descendants(loop: Loop, loops: dict[str, Loop]) -> list[Loop]:
    found = []
    for child in (loops[c] for c in loop.children):
        found += [child, *_descendants(child, loops)]
    return found


def _reads_with_induction(loop: Loop, array: str) -> bool:
    """Whether the loop body accesses ``array`` at an index that moves with the loop."""
    for op in loop.ops:
        if op.array == array and op.kind in ("load", "store"):
            if any(index is None or index.get(loop.induction, 0) for index in op.index or [None]):
                return True
    return False


def split_assignment(item: str) -> tuple[str, str]:
    """A ``knob=value`` string from the command line as (knob, value text)."""
    name, sep, text = item.partition("=")
    if not sep:
        raise DseError(f"--set {item!r}: expected knob=value")
    return name.strip(), text.strip()


def derive_space(kernel: Kernel, name: str, source: str | None = None, clock_ns: float = 10.0) -> Space:
    """A sensible default space: unroll/pipeline on the inner loops, partitioning of the
    top's arrays, inlining of helpers, and the constraints that keep points meaningful."""
    loops = {n: l for n, l in kernel.loops.items() if l.function in kernel.reachable_functions()}
    knobs: dict[str, Knob] = {}
    facts: dict[str, Any] = {}
    constraints: list[Constraint] = []

    def add(kind, target, directive, values):
        if len(values) > 1 or directive == "factor":  # cyclic and block always need a factor
            knobs[f"{target}.{directive}"] = Knob(kind, target, directive, tuple(values))

    knobs["clock.period_ns"] = Knob("clock", "clock", "period_ns", (float(clock_ns),))
    for loop in loops.values():
        copies = _copies_when_unrolled(loop, kernel)
        inner_levels = max((d.depth for d in _descendants(loop, loops)), default=loop.depth) - loop.depth
        if loop.trip_count:
            facts[f"{loop.name}.trip"] = loop.trip_count
            if loop.trip_count > 1 and (inner_levels <= 1 or copies <= 16):
                add("loops", loop.name, "unroll", _unroll_factors(loop.trip_count))
        if copies <= 64:
            add("loops", loop.name, "pipeline", CHOICES["pipeline"])
            add("loops", loop.name, "ii", (1, 2, 4))

    for array in kernel.arrays:
        if array.kind == "global" or (array.kind == "argument" and array.function != kernel.top):
            continue
        size = array.size
        if not size or size < 2:
            continue
        facts[f"{array.name}.size"] = size
        unrolls = {u for loop in loops.values() if _reads_with_induction(loop, array.name)
                   for u in knobs.get(f"{loop.name}.unroll", Knob("", "", "", (1,))).values}
        limit = min(64, size // 2)
        factors = sorted({2 ** p for p in range(1, 7) if 2 ** p <= limit} | {u for u in unrolls if 1 < u <= limit})
        partitions = ["none"] + (["cyclic", "block"] if factors else []) + (["complete"] if size <= 1024 else [])
        add("arrays", array.name, "partition", partitions)
        if factors:
            add("arrays", array.name, "factor", factors)
        if len(array.dims) > 1:
            for position, extent in enumerate(array.dims, start=1):
                facts[f"{array.name}.dim{position}"] = extent
            add("arrays", array.name, "dim", list(range(1, len(array.dims) + 1)))
            extent = f"{array.name}.dim{len(array.dims)}"
            for d in range(len(array.dims) - 1, 0, -1):
                extent = f"({array.name}.dim{d} if {array.name}.dim == {d} else {extent})"
            constraints.append(Constraint(f"{array.name}.factor <= {extent}",
                                          "no more banks than elements along the partitioned dimension"))

    for function in kernel.reachable_functions()[1:]:
        add("functions", function, "inline", CHOICES["inline"])

    for loop in loops.values():
        unroll = f"{loop.name}.unroll"
        if unroll in knobs:
            constraints.append(Constraint(f"{loop.name}.trip % {unroll} == 0", "the unroll factor divides the trip count"))
            for array in kernel.arrays:
                if f"{array.name}.factor" in knobs and array.function == loop.function \
                        and _reads_with_induction(loop, array.name):
                    constraints.append(Constraint(f"{array.name}.factor >= {unroll}",
                                                  f"enough banks of {array.name} for unrolled {loop.name}"))
        if f"{loop.name}.pipeline" in knobs:
            for inner in _descendants(loop, loops):
                if f"{inner.name}.pipeline" in knobs:
                    constraints.append(Constraint(f"{loop.name}.pipeline == 'off' or {inner.name}.pipeline == 'off'",
                                                  f"pipelining {loop.name} unrolls {inner.name} completely"))
                if f"{inner.name}.unroll" in knobs:
                    constraints.append(Constraint(f"{loop.name}.pipeline == 'off' or {inner.name}.unroll == 1",
                                                  f"pipelining {loop.name} unrolls {inner.name} completely"))
    return Space(name, knobs, constraints, facts, top=kernel.top, source=source)
