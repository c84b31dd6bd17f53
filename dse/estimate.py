"""The builtin HLS estimator: directives applied to the front-end's IR, then
scheduled and bound the way an HLS tool (Vitis HLS semantics) would do it.

The model, loop by loop from the innermost out:

* **Unroll** by u replicates the body u times; a scalar the loop carries (a
  phi) chains through the copies, so an accumulation becomes a chain of u adds.
  Floating-point chains are kept in order (Vitis does not reassociate floats).
  A loop inside a pipelined loop is unrolled completely, as Vitis does.
* **Array partition** splits an array into banks: cyclic (bank = index mod F),
  block (bank = index div ceil(n/F)), complete (one bank per element). Each
  access's bank is derived from its affine index and the copy it belongs to;
  accesses whose bank cannot be told apart statically share one bank, as in
  an HLS tool that cannot prove them apart. Memory banks have 2 ports (block
  RAM, or dual-port ap_memory for top-level arguments); banks of one element
  are registers and have no port limit.
* **Pipeline**: II = max(requested II, ResMII from the ports each bank needs per
  iteration, RecMII from every loop-carried dependence: carried scalars, and
  loads that may read what an earlier iteration stored, at their distance).
  Latency = depth + (trips - 1) * II; an enclosing loop pays fill and drain
  on each of its iterations because it schedules the pipelined loop as one
  step of its body.
* **Scheduling** of a body is as-soon-as-possible with the ports of each bank
  as the limiting resource (modulo II for pipelined bodies) and chaining of
  combinational operators within the usable part of the clock period;
  floating-point cores, wide multipliers and dividers take the cycles
  :mod:`dse.targets` gives at the clock. Block RAM reads return one cycle
  after their address.
* **Binding**: in a pipelined loop each core is shared by at most II
  operations; in sequential code the expensive cores (floating point,
  multipliers, dividers) are shared across the states of a function, cheap
  logic is not. Values that live across a clock edge cost flip-flops for each
  cycle they live (pipeline registers). Partitioned banks read with a bank
  that is not known statically cost a read multiplexer.
* **Inline** merges a function into its caller's schedule (no call overhead,
  its operators duplicated per call site); otherwise it is one shared
  instance called with a cycle of handshake.
* **Memories** map to registers (one element per bank), distributed RAM (up
  to 1 kbit per bank) or block RAM tiles chosen from the device's aspect
  ratios; arrays on the top function's interface are outside the design.
* **Clock**: the longest chained path in any state, or the longest stage of a
  pipelined core, plus register overhead gives the achievable period.

Loops whose trip count the front-end cannot bound use the ``avg``/``max`` of a
``loop_tripcount`` pragma if the source has one, else one trip (noted).
"""

from __future__ import annotations

import gc
import math
import re
from collections import Counter, defaultdict
from contextlib import contextmanager
from dataclasses import dataclass, field
from itertools import islice

from .ir import Array, Function, Kernel, Loop, Op
from .render import Directive
from .targets import Operator, Target, type_bits

MAX_BODY_OPERATIONS = 60_000
"""A body that unrolling and pipelining would flatten beyond this many operations is not
built: Vitis HLS stops such unrolling too (XFORM 203-504, "large runtime and excessive memory
usage due to increase in code size"), so the design is reported infeasible."""
CALL_OVERHEAD = 1
MAX_ALIAS_CHECKS = 64


class Infeasible(Exception):
    """Directives that no HLS tool would carry out, with the reason."""


@dataclass
class LoopEstimate:
    name: str
    trips: int
    unroll: int
    pipelined: bool
    ii: int | None
    depth: int
    latency: int
    limited_by: str = ""


@dataclass
class Estimate:
    latency_cycles: int
    interval: int
    lut: int
    ff: int
    dsp: int
    bram: int
    clock_ns: float
    loops: list[LoopEstimate] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


@dataclass
class Schedule:
    """One region as scheduled (kept for RTL generation): its nodes in program order with
    their start and finish cycles, the initiation interval when pipelined, the length of one
    iteration in cycles and the iterations it runs."""

    region: Loop | Function
    nodes: list
    ii: int | None
    length: int
    iterations: int


@dataclass
class _Resources:
    """Operators bound in one schedule: shareable cores by class, plus everything else."""

    cores: Counter = field(default_factory=Counter)
    lut: float = 0.0
    ff: float = 0.0
    dsp: int = 0

    def add(self, other: _Resources) -> None:
        self.cores.update(other.cores)
        self.lut += other.lut
        self.ff += other.ff
        self.dsp += other.dsp

    def merge_sequential(self, other: _Resources) -> None:
        """Regions that run one after another share cores; their other logic adds up."""
        for key, count in other.cores.items():
            self.cores[key] = max(self.cores[key], count)
        self.lut += other.lut
        self.ff += other.ff
        self.dsp += other.dsp


@dataclass
class _Timed:
    """What a sub-loop or a call looks like to the body that contains it."""

    latency: int
    resources: _Resources
    loads: frozenset = frozenset()
    stores: frozenset = frozenset()
    region: str = ""  # the key of its Schedule


class _Accesses:
    """Earlier accesses to one array, grouped by the unknown terms of their indices: accesses
    with the same terms alias only at the same constant offsets."""

    def __init__(self):
        self.groups: dict[tuple, dict[tuple, list[_Node]]] = {}
        self.unindexed: list[_Node] = []

    def add(self, node: _Node) -> None:
        if node.alias_key is None:
            self.unindexed.append(node)
        else:
            terms, offsets = node.alias_key
            self.groups.setdefault(terms, {}).setdefault(offsets, []).append(node)

    def aliasing(self, node: _Node) -> list[_Node]:
        """The earlier accesses that may touch the element ``node`` touches."""
        found = self.unindexed[-MAX_ALIAS_CHECKS:]
        key, index = node.alias_key, node.index
        for terms, by_offset in self.groups.items():
            if key is not None and terms == key[0]:
                found += by_offset.get(key[1], [])[-MAX_ALIAS_CHECKS:]
            else:
                for nodes in islice(reversed(by_offset.values()), MAX_ALIAS_CHECKS):
                    found += [n for n in nodes[-MAX_ALIAS_CHECKS:] if index is None or _may_alias(index, n.index)]
        return found


class _OpFacts:
    """What scheduling and binding need of one op under the current directives, worked out
    once per op and shared by all its unrolled copies. ``timing`` is one of: free (wires),
    timed (a sub-loop or call), register (an access to a bank of one element), memory (an
    access to a RAM bank), pipelined (a multi-cycle core), chained (combinational logic)."""

    __slots__ = ("timing", "operator", "stages", "stage_ns", "core", "bits", "array", "dim", "banks", "scheme", "block",
                 "index")

    def __init__(self, timing: str, bits: int = 0):
        self.timing, self.bits = timing, bits
        self.operator: Operator | None = None
        self.stages, self.stage_ns, self.core = 0, 0.0, ""
        self.array: Array | None = None
        self.dim, self.banks, self.block = 0, 1, 1  # partitioned dimension, banks, elements per block
        self.scheme = ""  # how an index picks its bank: element (complete, all dimensions), cyclic, block
        self.index: list | None = None  # an access's index per dimension: (constant, terms), or None


_FREE, _TIMED = _OpFacts("free"), _OpFacts("timed")


class _Node:
    __slots__ = ("op", "kind", "facts", "deps", "inputs", "start", "finish", "port", "exact", "index", "alias_key",
                 "array", "timed", "order", "first_use", "last_use")

    def __init__(self, kind: str, op: Op | None, facts: _OpFacts, timed: _Timed | None = None):
        self.op, self.kind, self.facts, self.timed = op, kind, facts, timed
        self.deps: list[_Node] = []
        self.inputs: list[_Node | None] = []  # producers of the op's operands, then of its index (None: outside)
        self.start = self.finish = (0, 0.0)
        self.port: tuple | None = None
        self.exact = True
        self.index: list | None = None  # per dimension (unknown terms, constant), or None
        self.alias_key: tuple | None = None  # (terms of every dimension, constants of every dimension)
        self.first_use = self.last_use = -1  # cycles of the first and last node that reads this one
        self.array: str | None = None
        self.order = 0


@dataclass
class _Partition:
    type: str
    factor: int
    dim: int


class Estimator:
    """Estimates one kernel under one set of directives on one target at one clock."""

    def __init__(self, kernel: Kernel, directives: list[Directive], target: Target, clock_ns: float,
                 cache: dict | None = None, keep_schedules: bool = False):
        """``cache``: a dict kept across estimates of the same kernel; loops whose directives
        did not change since an earlier estimate are not scheduled again. ``keep_schedules``:
        keep every region's :class:`Schedule` in ``schedules`` (by loop name, or function name
        followed by ``()``); the cache is not used then."""
        self.kernel, self.target, self.clock_ns = kernel, target, clock_ns
        self.cache = None if keep_schedules else cache
        self.schedules: dict[str, Schedule] | None = {} if keep_schedules else None
        self.usable = target.usable_ns(clock_ns)
        self.notes: list[str] = []
        self.unroll: dict[str, int] = {}
        self.pipeline: dict[str, int] = {}
        self.partition: dict[str, _Partition] = {}
        self.inline: dict[str, bool] = {}
        for d in directives:
            if d.kind == "unroll":
                self.unroll[d.loop] = d.factor or self.trips(kernel.loops[d.loop])
            elif d.kind == "pipeline":
                self.pipeline[d.loop] = d.ii or 1
            elif d.kind == "array_partition":
                self.partition[d.array] = _Partition(d.type, d.factor or 0, 1 if d.dim is None else d.dim)
            elif d.kind == "inline":
                self.inline[d.function] = not d.off
        facts = cache.get(_KERNEL_FACTS) if cache is not None else None
        if facts is None:
            facts = _kernel_facts(kernel)
            if cache is not None:
                cache[_KERNEL_FACTS] = facts
        self.function_of, self.live, self.foldable = facts
        self.loop_reports: dict[str, LoopEstimate] = {}
        self._timed: dict[str, _Timed] = {}
        self._subtree: dict[str, tuple[list[Op], set[int], frozenset, frozenset]] = {}
        self.max_path_ns = 0.0
        self._operators: dict[tuple[str, str], tuple[Operator, int]] = {}
        self._op_facts: dict[int, _OpFacts] = {}
        self._region_items: dict[tuple, list] = {}
        self._bankings: dict[tuple | None, tuple[int, int, int]] = {}
        for name in list(self.pipeline):
            blocked = [c.name for c in self._descendants(kernel.loops[name]) if c.trip_count is None]
            if blocked:
                self.notes.append(f"pipeline on {name} not applied: sub-loop {blocked[0]} has no constant trip count")
                del self.pipeline[name]

    # ----- facts -----------------------------------------------------------------------------
    def trips(self, loop: Loop) -> int:
        if loop.trip_count is not None:
            return loop.trip_count
        for pragma in loop.pragmas:
            match = re.search(r"loop_tripcount\b.*?\b(?:avg|max)\s*=\s*(\d+)", pragma, re.I)
            if match:
                return int(match.group(1))
        if loop.trip_max is not None:
            return loop.trip_max
        note = f"{loop.name}: trip count unknown, counted as 1 (add #pragma HLS loop_tripcount)"
        if note not in self.notes:
            self.notes.append(note)
        return 1

    def _descendants(self, loop: Loop) -> list[Loop]:
        found = []
        for child in loop.children:
            found += [self.kernel.loops[child], *self._descendants(self.kernel.loops[child])]
        return found

    def _array(self, name: str, function: str) -> Array | None:
        try:
            return self.kernel.array(name, function)
        except KeyError:
            return None

    # ----- memories ----------------------------------------------------------------------------
    def _items(self, region: Loop | Function, folding: bool) -> list:
        """A region's live operations and its sub-loops, in program order (folded address
        arithmetic left out when ``folding``): by id, not by line (an expression may span lines,
        and a select that merges branches has none)."""
        key = (region.name, isinstance(region, Loop), folding)
        if key not in self._region_items:
            if isinstance(region, Loop):
                loops = [self.kernel.loops[c] for c in region.children]
            else:
                loops = [loop for loop in self.kernel.loops_of(region.name) if loop.parent is None]
            ops = [op for op in region.ops if op.id in self.live and not (folding and op.id in self.foldable)]
            self._region_items[key] = sorted([*ops, *loops],
                                             key=lambda item: item.order if isinstance(item, Loop) else item.id)
        return self._region_items[key]

    def banking(self, array: Array | None) -> tuple[int, int, int]:
        """(partitioned dimension index, banks, elements per bank) of ``array`` under the directives."""
        key = None if array is None else (array.name, array.function)
        if key not in self._bankings:
            self._bankings[key] = self._compute_banking(array)
        return self._bankings[key]

    def _compute_banking(self, array: Array | None) -> tuple[int, int, int]:
        if array is None or array.size is None:
            return 0, 1, 1 << 30
        part = self.partition.get(array.name)
        if part is None:
            return 0, 1, array.size
        if part.dim == 0:
            return 0, array.size, 1
        d = min(part.dim, len(array.dims)) - 1
        n = array.dims[d]
        banks = n if part.type == "complete" else min(part.factor, n)
        return d, banks, array.size // n * math.ceil(n / banks)

    @staticmethod
    def _bank(facts: _OpFacts, index: list, ranges: dict) -> tuple[object, bool]:
        """(bank, exact) of an access to a partitioned array, from its index (per dimension:
        unknown terms, constant) with the unrolled copies substituted. The bank is a number
        when the tool can place the access, possibly relative to accesses with the same
        unknown index terms; '?' when it cannot. ``exact`` is false when the bank varies at
        run time (a read multiplexer)."""
        banks, scheme = facts.banks, facts.scheme
        if scheme == "element":
            exact = all(i is not None and not i[0] for i in index)
            return (tuple(i[1] for i in index) if exact else "?"), exact
        affine = index[facts.dim] if facts.dim < len(index) else None
        if affine is None:
            return "?", False
        unknown, const = affine
        if scheme == "cyclic":
            return const % banks, not any(c % banks for _, c in unknown)
        block = facts.block
        low = high = const
        for var, coef in unknown:
            if coef % block == 0:
                continue
            if var not in ranges:
                return "?", False
            lo, hi = ranges[var]
            low += min(coef * lo, coef * hi)
            high += max(coef * lo, coef * hi)
        if low // block != high // block:
            return "?", False
        return low // block, not any(c % block == 0 and c for _, c in unknown)

    def memory_resources(self, function: str) -> tuple[int, float, float]:
        """(block RAM tiles, LUT, FF) of the arrays a function owns (locals; constant tables for the top)."""
        owned = [a for a in self.kernel.arrays if a.function == function and a.kind == "local"]
        if function == self.kernel.top:
            owned += self.kernel.constant_tables
        bram, lut, ff = 0, 0.0, 0.0
        for array in owned:
            if array.size is None or array.element.bits is None:
                continue
            _, banks, words = self.banking(array)
            tiles, memory_lut, memory_ff = self.target.memory_cost(array.element.bits, banks, words)
            bram, lut, ff = bram + int(tiles), lut + float(memory_lut), ff + float(memory_ff)
        return bram, lut, ff

    # ----- bodies ------------------------------------------------------------------------------
    def _subtree_of(self, loop: Loop) -> tuple[list[Op], set[int], frozenset, frozenset]:
        """All ops of a loop, its sub-loops and the functions they call; the operands they take
        from outside; the arrays they read and write."""
        if loop.name not in self._subtree:
            ops = list(loop.ops)
            for child in self._descendants(loop):
                ops += child.ops
            for callee in {op.callee for op in ops if op.kind == "call"} & set(self.kernel.functions):
                ops += self.kernel.functions[callee].ops
                for inner in self.kernel.loops_of(callee):
                    ops += inner.ops
            inside = {op.id for op in ops}
            outside = {o for op in ops for o in (*op.operands, *op.index_operands)} - inside
            self._subtree[loop.name] = (ops, outside, *_arrays_accessed(ops))
        return self._subtree[loop.name]

    def _body(self, root: Loop | Function, copies: int, ranges: dict, flatten_all: bool) -> list[_Node]:
        """The nodes of one body in program order: ``copies`` copies of a loop's body (its
        fully unrolled sub-loops flattened in, the others as single steps), or a function's."""
        return _Body(self, root, ranges, flatten_all).build(copies)

    def _facts_of(self, op: Op) -> _OpFacts:
        """The facts of an op."""
        kind = bound_kind(op)
        if kind is None:
            facts = _OpFacts("free", type_bits(op.type))
        elif kind in ("load", "store"):
            array = self._array(op.array, self.function_of[op.id])
            dim, banks, per_bank = self.banking(array)
            facts = _OpFacts("register" if per_bank == 1 else "memory", type_bits(op.type))
            facts.array, facts.dim, facts.banks = array, dim, banks
            if facts.banks > 1:
                part = self.partition[array.name]
                facts.scheme = "element" if part.dim == 0 else "block" if part.type == "block" else "cyclic"
                facts.block = math.ceil(array.dims[facts.dim] / facts.banks)
            facts.index = [None if i is None else _compile_affine(i)
                           for i in self.kernel.index_in_iterations(op) or [None]]
        else:
            key = (kind, op.type)
            if key not in self._operators:
                operator = self.target.operator(kind, op.type)
                self._operators[key] = operator, self.target.stages(operator, self.clock_ns)
            operator, stages = self._operators[key]
            facts = _OpFacts("pipelined" if stages else "chained", type_bits(op.type))
            facts.operator, facts.stages, facts.core = operator, stages, f"{op.kind}.{op.type}"
            facts.stage_ns = operator.delay_ns / stages if stages else operator.delay_ns
        self._op_facts[op.id] = facts
        return facts

    def _inlined(self, function: str) -> bool:
        if function in self.inline:
            return self.inline[function]
        return not self.kernel.loops_of(function)  # the tool inlines small loop-free functions itself

    # ----- scheduling --------------------------------------------------------------------------
    def _timing(self, node: _Node, cycle: int, ns: float, ii: int | None, ports: tuple | None) -> None:
        """Place one node whose inputs are ready at (cycle, ns); ``ports`` holds the bookings of
        bank ports (None: ports ignored)."""
        facts = node.facts
        timing = facts.timing
        if timing == "free":
            node.start = node.finish = (cycle, ns)
        elif timing == "timed":
            start = cycle + (ns > 0)
            node.start, node.finish = (start, 0.0), (start + node.timed.latency, 0.0)
        elif timing == "register":
            mux = 0.0 if node.exact else self.target.logic_level_ns * 2
            if ns + mux > self.usable:
                cycle, ns = cycle + 1, 0.0
            node.start = (cycle, ns)
            node.finish = (cycle, ns + mux) if node.kind == "load" else (cycle + 1, 0.0)
        elif timing == "memory":
            start = cycle + (ns + 0.5 > self.usable)
            if ports is not None:
                start = self._book_port(ports[0][node.port], ports[1][node.port], start, ii)
            out = self.target.memory.clock_to_out_ns + (0.0 if node.exact else self.target.logic_level_ns)
            node.start, node.finish = (start, 0.0), (start + 1, out if node.kind == "load" else 0.0)
        elif timing == "pipelined":
            if facts.stage_ns > self.max_path_ns:
                self.max_path_ns = facts.stage_ns
            start = cycle + (ns + facts.stage_ns > self.usable)
            node.start, node.finish = (start, 0.0), (start + facts.stages, 0.0)
        else:
            if ns > 0 and ns + facts.stage_ns > self.usable:
                cycle, ns = cycle + 1, 0.0
            node.start, node.finish = (cycle, ns), (cycle, ns + facts.stage_ns)
        if node.finish[1] > self.max_path_ns:
            self.max_path_ns = node.finish[1]

    @staticmethod
    def _book_port(booked: Counter, jumps: dict, cycle: int, ii: int | None) -> int:
        """Book one of a bank's two ports at ``cycle`` or later: slots are cycles, or cycles
        modulo ``ii`` when pipelined (ResMII leaves a free one). Full slots remember where
        the search went on (``jumps``), so booking stays fast on long schedules."""
        first = slot = cycle % ii if ii else cycle
        path = []
        while booked[slot] >= 2 and len(path) <= (ii or len(path) + 1):
            path.append(slot)
            slot = jumps.get(slot, slot + 1)
            if ii:
                slot %= ii
        for full in path:
            jumps[full] = slot
        booked[slot] += 1
        return cycle + (slot - first) % ii if ii else slot

    def _schedule(self, nodes: list[_Node], ii: int | None) -> int:
        """ASAP list scheduling with chaining and bank ports (modulo ``ii`` when pipelined).
        Returns the schedule length in cycles."""
        ports = (defaultdict(Counter), defaultdict(dict))
        length = 1
        for node in nodes:
            cycle, ns = max([d.finish for d in node.deps]) if node.deps else (0, 0.0)
            self._timing(node, cycle, ns, ii, ports)
            length = max(length, node.finish[0] + (node.finish[1] > 0))
        return length

    def _path_cycles(self, sources: list[_Node], sinks: list[_Node], nodes: list[_Node]) -> list[int]:
        """Cycles from a source starting (the latest of them) to each sink finishing, along
        dependences only."""
        first = min(s.order for s in sources)
        for source in sources:
            self._timing(source, 0, 0.0, None, None)
        reached, starts = set(), set(sources)
        for node in nodes[first: max(s.order for s in sinks) + 1]:
            ready = [d.finish for d in node.deps if d in reached]
            if ready:
                self._timing(node, *max(ready), None, None)
                reached.add(node)
            elif node in starts:
                reached.add(node)
        return [s.finish[0] + (s.finish[1] > 0) if s in reached else 0 for s in sinks]

    # ----- binding -----------------------------------------------------------------------------
    def _bind(self, nodes: list[_Node], ii: int | None, length: int) -> _Resources:
        resources = _Resources()
        starts: dict[str, Counter] = defaultdict(Counter)
        counts: Counter = Counter()
        callees: dict[str, _Resources] = {}
        producers: dict[_Node, tuple[_Node, ...]] = {}  # what a free node (phi, cast) passes on
        for node in nodes:
            cycle = node.start[0]
            for dep in node.deps:
                for source in producers.get(dep, (dep,)):
                    if source.first_use < 0 or cycle < source.first_use:
                        source.first_use = cycle
                    if cycle > source.last_use:
                        source.last_use = cycle
            if node.facts.timing == "free" and node.deps:
                producers[node] = tuple(dict.fromkeys(s for d in node.deps for s in producers.get(d, (d,))))
        for node in nodes:
            if node.kind == "timed":
                if node.op is not None:
                    callees[node.op.callee] = node.timed.resources
                else:
                    resources.merge_sequential(node.timed.resources)
                continue
            facts = node.facts
            if node.kind == "load" and not node.exact:  # a read multiplexer over the banks, per port
                key = f"mux{facts.banks}.{node.op.type}"
                counts[key] += 1
                starts[key][node.start[0] % ii if ii else node.start[0]] += 1
            operator = facts.operator
            if operator is None:
                continue
            key = facts.core
            if operator.shareable:
                counts[key] += 1
                starts[key][node.start[0] % ii if ii else node.start[0]] += 1
            else:
                resources.lut += operator.lut
                resources.ff += operator.ff
                resources.dsp += operator.dsp
            # a value crossing a clock edge is registered; scheduled as late as its first use
            # allows, it lives from there to its last use (one register per cycle when pipelined)
            if node.last_use > node.finish[0]:
                lifetime = node.last_use - max(node.first_use - 1, node.finish[0])
                resources.ff += facts.bits * (lifetime if ii else 1)
        for key, count in counts.items():
            units = math.ceil(count / ii) if ii else max(starts[key].values())
            if key.startswith("mux"):
                banks = int(key[3:].split(".")[0])
                resources.lut += units * self.target.read_mux_luts(type_bits(key.split(".")[1]), banks)
                continue
            resources.cores[key] = max(resources.cores[key], units)
            shared_by = math.ceil(count / units)
            if shared_by > 1:  # operand multiplexers in front of a shared core
                resources.lut += units * self.target.operand_mux_luts(type_bits(key.split(".")[1]), shared_by)
        states = len({node.start[0] for node in nodes if node.kind != "timed"}) + \
            sum(node.kind == "timed" for node in nodes)
        resources.lut += states if ii is None else 2 * length  # one-hot FSM states, or pipeline control
        resources.ff += states if ii is None else length
        for shared in callees.values():
            resources.add(shared)
        return resources

    def _core_cost(self, cores: Counter) -> tuple[float, float, int]:
        lut = ff = dsp = 0
        for key, units in cores.items():
            operator = self.target.operator(*key.split("."))
            lut += units * operator.lut
            ff += units * operator.ff
            dsp += units * operator.dsp
        return lut, ff, dsp

    # ----- loops and functions -----------------------------------------------------------------
    def _cache_key(self, loop: Loop) -> tuple:
        """Everything a loop's estimate depends on: the directives on its sub-loops, on the
        arrays it touches and on the functions it calls."""
        ops, _, loads, stores = self._subtree_of(loop)
        functions = {op.callee for op in ops if op.kind == "call"}
        loops = {loop.name, *(d.name for d in self._descendants(loop)),
                 *(inner.name for f in functions for inner in self.kernel.loops_of(f))}
        arrays = loads | stores
        return (self.target.name, self.clock_ns, loop.name,
                tuple(sorted((n, v) for n, v in self.unroll.items() if n in loops)),
                tuple(sorted((n, v) for n, v in self.pipeline.items() if n in loops)),
                tuple(sorted((n, v.type, v.factor, v.dim) for n, v in self.partition.items() if n in arrays)),
                tuple(sorted((n, v) for n, v in self.inline.items() if n in functions)))

    def loop_timed(self, loop: Loop) -> _Timed:
        if loop.name in self._timed:
            return self._timed[loop.name]
        key = self._cache_key(loop) if self.cache is not None else None
        if self.cache is not None and key in self.cache:
            timed, reports, path_ns, notes = self.cache[key]
        else:
            outer_path_ns, self.max_path_ns = self.max_path_ns, 0.0
            known_reports, known_notes = set(self.loop_reports), len(self.notes)
            timed = self._estimate_loop(loop)
            reports = {n: r for n, r in self.loop_reports.items() if n not in known_reports}
            path_ns, notes = self.max_path_ns, self.notes[known_notes:]
            self.max_path_ns = outer_path_ns
            if self.cache is not None:
                self.cache[key] = timed, reports, path_ns, notes
        self.loop_reports.update(reports)
        self.notes += [n for n in notes if n not in self.notes]
        self.max_path_ns = max(self.max_path_ns, path_ns)
        self._timed[loop.name] = timed
        return timed

    def _estimate_loop(self, loop: Loop) -> _Timed:
        trips = self.trips(loop)
        unroll = min(self.unroll.get(loop.name, 1), trips)
        iterations = math.ceil(trips / unroll)
        pipelined = loop.name in self.pipeline
        ranges = {ancestor.induction: (0, max(0, self.trips(ancestor) - 1))
                  for ancestor in self.kernel.ancestors(loop) if ancestor.induction}
        if loop.induction:
            ranges[loop.induction] = (0, iterations - 1)
        nodes = self._body(loop, unroll, ranges, flatten_all=pipelined)
        ii, limited_by = None, ""
        if pipelined:
            res_mii, port = self._res_mii(nodes)
            rec_mii, recurrence = self._rec_mii(nodes, loop)
            ii = max(self.pipeline[loop.name], res_mii, rec_mii)
            if ii > self.pipeline[loop.name]:
                limited_by = f"ports of {port}" if res_mii >= rec_mii else f"recurrence on {recurrence}"
        length = self._schedule(nodes, ii)
        resources = self._bind(nodes, ii, length)
        counter_bits = max(1, iterations.bit_length())
        resources.lut += 2 * counter_bits
        resources.ff += counter_bits
        latency = (iterations - 1) * ii + length if pipelined else iterations * length + 1
        if self.schedules is not None:
            self.schedules[loop.name] = Schedule(loop, nodes, ii, length, iterations)
        self.loop_reports[loop.name] = LoopEstimate(loop.name, trips, unroll, pipelined, ii, length, latency,
                                                    limited_by)
        return _Timed(latency, resources, *self._subtree_of(loop)[2:], loop.name)

    def _res_mii(self, nodes: list[_Node]) -> tuple[int, str]:
        demand = Counter(n.port for n in nodes if n.facts.timing == "memory")
        if not demand:
            return 1, ""
        port, count = demand.most_common(1)[0]
        return math.ceil(count / 2), port[0]

    def _rec_mii(self, nodes: list[_Node], loop: Loop) -> tuple[int, str]:
        """The longest loop-carried cycle, in cycles per iteration: carried scalars, and
        stores that a later iteration's load may read."""
        best, what = 1, ""
        last: dict[int, _Node] = {node.op.id: node for node in nodes if node.op is not None}
        own = {op.id for op in loop.ops}
        for node in nodes:
            if node.kind == "phi" and not node.deps and node.op.id in own and node.op.carried_from in last:
                cycles = self._path_cycles([node], [last[node.op.carried_from]], nodes)[0]
                if cycles > best:
                    best, what = cycles, node.op.var or "a carried scalar"
        loads_of: dict[str, list[_Node]] = defaultdict(list)
        stores_of: dict[str, list[_Node]] = defaultdict(list)
        for node in nodes:
            if node.kind in ("load", "store"):
                (loads_of if node.kind == "load" else stores_of)[node.array].append(node)
        for array, stores in stores_of.items():
            loads = loads_of.get(array, [])
            if loads and all(n.alias_key is None for n in loads + stores):
                # unknown indices: every later store may be read one iteration on, so one walk from
                # all the loads at once finds each store's longest cycle
                cycles = max(self._path_cycles(loads, stores, nodes))
                if cycles > best:
                    best, what = cycles, f"array {array}"
                continue
            stores_at = _StoresByIndex(stores, loop.induction)
            for load in loads:
                carried = [(s, d) for s, d in stores_at.carried(load) if s.order > load.order]
                if not carried:
                    continue
                sinks, distances = zip(*carried)
                for cycles, distance in zip(self._path_cycles([load], list(sinks), nodes), distances):
                    if math.ceil(cycles / distance) > best:
                        best, what = math.ceil(cycles / distance), f"array {array}"
        return best, what

    def function_timed(self, name: str) -> _Timed:
        if name in self._timed:
            return self._timed[name]
        function = self.kernel.functions[name]
        nodes = self._body(function, 1, {}, flatten_all=False)
        length = self._schedule(nodes, None)
        if self.schedules is not None:
            self.schedules[f"{name}()"] = Schedule(function, nodes, None, length, 1)
        ops = list(function.ops) + [op for loop in self.kernel.loops_of(name) for op in loop.ops]
        self._timed[name] = _Timed(length + CALL_OVERHEAD, self._bind(nodes, None, length), *_arrays_accessed(ops),
                                   f"{name}()")
        return self._timed[name]

    def run(self) -> Estimate:
        with _cyclic_collector_paused():
            top = self.function_timed(self.kernel.top)
        lut, ff, dsp = self._core_cost(top.resources.cores)
        lut += top.resources.lut
        ff += top.resources.ff
        dsp += top.resources.dsp
        bram = 0
        for function in self.kernel.reachable_functions():
            tiles, memory_lut, memory_ff = self.memory_resources(function)
            bram, lut, ff = bram + tiles, lut + memory_lut, ff + memory_ff
        clock = max(self.max_path_ns, self.target.memory.clock_to_out_ns) + self.target.register_overhead_ns
        return Estimate(latency_cycles=top.latency, interval=top.latency + 1, lut=round(lut), ff=round(ff),
                        dsp=dsp, bram=bram, clock_ns=round(clock, 3),
                        loops=[self.loop_reports[n] for n in self.kernel.loops if n in self.loop_reports],
                        notes=self.notes)


class _Body:
    """Builds the nodes of one body with their dependences: data, memory order and steps.
    (A class rather than nested closures, so that no reference cycle keeps the nodes alive.)"""

    def __init__(self, estimator: Estimator, root: Loop | Function, ranges: dict, flatten_all: bool):
        self.estimator, self.root, self.ranges, self.flatten_all = estimator, root, ranges, flatten_all
        self.nodes: list[_Node] = []
        self.latest: dict[int, _Node] = {}
        self.loads_of: dict[str, _Accesses] = defaultdict(_Accesses)
        self.stores_of: dict[str, _Accesses] = defaultdict(_Accesses)
        self.steps: list[_Node] = []  # sub-loops and calls: they run one after the other

    def build(self, copies: int) -> list[_Node]:
        if isinstance(self.root, Loop):
            self.expand_loop(self.root, {}, copies, full=False)
        else:
            self.expand(self.root, {}, {}, False)
        for position, node in enumerate(self.nodes):
            node.order = position
        return self.nodes

    def depend(self, node: _Node, operand_ids) -> None:
        latest = self.latest
        for operand in operand_ids:
            producer = latest.get(operand)
            if producer is not None:
                node.deps.append(producer)

    def order_memory(self, node: _Node, arrays, writes: bool) -> None:
        """Reads wait for earlier writes that may alias; writes for earlier reads and writes."""
        for array in arrays:
            node.deps += self.stores_of[array].aliasing(node)
            if writes:
                node.deps += self.loads_of[array].aliasing(node)
            (self.stores_of if writes else self.loads_of)[array].add(node)

    def add_step(self, node: _Node, operand_ids, ops: list[Op], loads, stores) -> None:
        self.depend(node, operand_ids)
        node.deps += self.steps[-1:]
        self.steps.append(node)
        self.order_memory(node, loads | stores, True)
        for op in ops:
            self.latest[op.id] = node
        self.nodes.append(node)

    def add_op(self, op: Op, env: dict, carried: dict, folding: bool) -> None:
        estimator = self.estimator
        if op.kind == "call" and op.callee in estimator.kernel.functions:
            if self.flatten_all or estimator._inlined(op.callee):
                self.expand(estimator.kernel.functions[op.callee], env, {}, folding)
                node = _Node("join", op, _FREE)
                self.depend(node, op.operands)
                self.latest[op.id] = node
                self.nodes.append(node)
            else:
                timed = estimator.function_timed(op.callee)
                self.add_step(_Node("timed", op, _TIMED, timed), op.operands, [op], timed.loads, timed.stores)
            return
        facts = estimator._op_facts.get(op.id) or estimator._facts_of(op)
        node = _Node(op.kind, op, facts)
        if self.estimator.schedules is not None:
            node.inputs = [self.latest.get(o) for o in (*op.operands, *op.index_operands)]
        if op.kind == "phi" and op.id in carried:
            node.deps.append(carried[op.id])
            node.inputs = [carried[op.id]]
        else:  # a phi's first iteration takes its value from before the loop
            self.depend(node, op.operands)
            self.depend(node, op.index_operands)
        if facts.index is not None:
            node.array = op.array
            node.index = index = [None if i is None else _substitute(i, env) for i in facts.index]
            if None not in index:
                node.alias_key = tuple(i[0] for i in index), tuple(i[1] for i in index)
            if facts.banks == 1:
                node.port = (op.array, 0)
            else:
                bank, node.exact = estimator._bank(facts, index, self.ranges)
                node.port = (op.array, 0 if bank == "?" else bank)
            self.order_memory(node, [op.array], op.kind == "store")
        self.latest[op.id] = node
        self.nodes.append(node)
        if len(self.nodes) > MAX_BODY_OPERATIONS:
            raise Infeasible(f"{self.root.name}: unrolling flattens more than {MAX_BODY_OPERATIONS:,} operations "
                             f"into one body (Vitis stops such unrolling: XFORM 203-504)")

    def expand(self, region: Loop | Function, env: dict, carried: dict, folding: bool) -> None:
        estimator = self.estimator
        for item in estimator._items(region, folding):
            if not isinstance(item, Loop):
                self.add_op(item, env, carried, folding)
            elif self.flatten_all or (item.trip_count and estimator.unroll.get(item.name, 1) >= item.trip_count):
                self.expand_loop(item, env, item.trip_count, full=True)
            else:
                ops, outside, loads, stores = estimator._subtree_of(item)
                self.add_step(_Node("timed", None, _TIMED, estimator.loop_timed(item)), outside, ops, loads, stores)

    def expand_loop(self, loop: Loop, env: dict, count: int, full: bool) -> None:
        latest = self.latest
        for copy in range(count):
            inner = dict(env)
            if loop.induction:
                inner[loop.induction] = (0, copy) if full else (count, copy)
            carried = {op.id: latest[op.carried_from] for op in loop.ops
                       if op.kind == "phi" and copy > 0 and op.carried_from in latest}
            # addresses in fully unrolled copies are constants the tool folds away
            self.expand(loop, inner, carried, full)


@contextmanager
def _cyclic_collector_paused():
    """An estimate allocates many short-lived objects without reference cycles (reference
    counting frees them); meanwhile the cyclic collector would rescan the long-lived kernel IR
    and caches every few hundred allocations, which took about 40% of the time."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def bound_kind(op: Op) -> str | None:
    """The kind of operator an HLS tool binds ``op`` to (an integer product with a constant is
    shifts and adds); None for what costs none: phis, casts between integer widths."""
    if op.kind == "phi" or (op.kind == "cast" and not op.type.startswith("f")):
        return None
    if op.kind == "mul" and not op.type.startswith("f") and len(op.operands) < 2:
        return "add"
    return op.kind


def _arrays_accessed(ops: list[Op]) -> tuple[frozenset, frozenset]:
    """The arrays some of ``ops`` read, and those they write."""
    return (frozenset(op.array for op in ops if op.kind == "load"),
            frozenset(op.array for op in ops if op.kind == "store"))


_KERNEL_FACTS = "kernel facts"
"""The key under which an estimator cache keeps :func:`_kernel_facts`."""


def _kernel_facts(kernel: Kernel) -> tuple[dict[int, str], set[int], set[int]]:
    """What depends on the kernel alone: each op's function, the live ops, the foldable ones."""
    function_of: dict[int, str] = {}
    for function in kernel.functions.values():
        function_of.update((op.id, function.name) for op in function.ops)
    for loop in kernel.loops.values():
        function_of.update((op.id, loop.function) for op in loop.ops)
    ops = {op.id: op for region in [*kernel.functions.values(), *kernel.loops.values()] for op in region.ops}
    return function_of, _live_ops(ops), _foldable(ops)


def _compile_affine(affine: dict) -> tuple[int, tuple]:
    """An affine index as (constant, sorted (variable, coefficient) pairs)."""
    return affine.get("", 0), tuple(sorted((var, coef) for var, coef in affine.items() if var))


def _substitute(affine: tuple[int, tuple], env: dict) -> tuple[tuple, int]:
    """A compiled affine index with unrolled copies substituted: (unknown terms as sorted
    (variable, coefficient) pairs, constant). ``env`` maps an induction variable to
    (multiplier, offset): v = multiplier * v' + offset."""
    const, terms = affine
    unknown = []
    for var, coef in terms:
        if var in env:
            mult, offset = env[var]
            const += coef * offset
            if mult:
                unknown.append((var, coef * mult))
        else:
            unknown.append((var, coef))
    return tuple(unknown), const


def _may_alias(first: list, second: list) -> bool:
    for a, b in zip(first, second):
        if a is None or b is None:
            return True
        if a[0] == b[0] and a[1] != b[1]:
            return False
    return True


class _StoresByIndex:
    """The stores to one array in a pipelined body, indexed so that the stores a later
    iteration's load may read, and at how many iterations' distance, are found without
    comparing every load with every store."""

    def __init__(self, stores: list[_Node], induction: str | None):
        self.induction = induction
        self.unindexed: list[_Node] = []
        self.shapes: dict[tuple, dict[tuple, list[_Node]]] = {}  # index terms -> constants -> stores
        for store in stores:
            if store.alias_key is None:
                self.unindexed.append(store)
            else:
                terms, offsets = store.alias_key
                self.shapes.setdefault(terms, {}).setdefault(offsets, []).append(store)
        self.bounds = {terms: (tuple(map(min, zip(*by_offsets))), tuple(map(max, zip(*by_offsets))))
                       for terms, by_offsets in self.shapes.items()}
        self.splits = {terms: [self._split(t) for t in terms] for terms in self.shapes}

    def _split(self, terms: tuple) -> tuple[tuple, int]:
        """A dimension's terms other than the induction variable, and its coefficient."""
        return tuple(t for t in terms if t[0] != self.induction), dict(terms).get(self.induction, 0)

    def carried(self, load: _Node) -> list[tuple[_Node, int]]:
        """(store, distance in iterations) for every store that ``load`` may read a later
        iteration. A dimension whose terms other than the induction variable match on both
        sides tells the distance (or that the elements never meet); one that does not match
        tells nothing, and with nothing told the distance is 1."""
        found = [(s, 1) for s in self.unindexed]
        if load.alias_key is None:
            return found + [(s, 1) for by in self.shapes.values() for group in by.values() for s in group]
        terms, offsets = load.alias_key
        mine = [self._split(t) for t in terms]
        for shape, by_offsets in self.shapes.items():
            if len(shape) != len(terms):
                found += [(s, 1) for group in by_offsets.values() for s in group]
                continue
            known = [d for d, split in enumerate(self.splits[shape]) if split == mine[d]]
            steps = [mine[d][1] for d in range(len(terms))]
            if len(known) == len(terms) and any(steps):
                # every dimension is known: the stores a later iteration reads sit at fixed offsets
                low, high = self.bounds[shape]
                span = max(max(abs(low[d] - offsets[d]), abs(high[d] - offsets[d])) // abs(steps[d])
                           for d in known if steps[d])
                for distance in range(1, span + 1):
                    target = tuple(o + distance * c for o, c in zip(offsets, steps))
                    found += [(s, distance) for s in by_offsets.get(target, [])]
                continue
            for other, group in by_offsets.items():
                distance = _distance(offsets, other, steps, known)
                if distance:
                    found += [(s, distance) for s in group]
        return found


def _distance(load: tuple, store: tuple, steps: list[int], known: list[int]) -> int:
    """Iterations from a store at constant offsets ``store`` to a later load at ``load`` of
    the same element, over the dimensions that are ``known``; 0 when they never meet."""
    distance = None
    for d in known:
        delta = store[d] - load[d]
        if steps[d] == 0:
            if delta:
                return 0
            continue
        if delta % steps[d] or delta // steps[d] <= 0 or distance not in (None, delta // steps[d]):
            return 0
        distance = delta // steps[d]
    return distance or 1


def _live_ops(ops: dict[int, Op]) -> set[int]:
    """Ops whose value reaches a store, a call or a loop-carried use (dead-code elimination)."""
    live = {i for i, op in ops.items() if op.kind in ("store", "call")}
    pending = list(live)
    while pending:
        op = ops[pending.pop()]
        for used in (*op.operands, *op.index_operands, *([op.carried_from] if op.carried_from else [])):
            if used in ops and used not in live:
                live.add(used)
                pending.append(used)
    return live


def _foldable(ops: dict[int, Op]) -> set[int]:
    """Address arithmetic computed from induction variables and constants only."""
    foldable = {i for i, op in ops.items() if op.is_address and op.kind != "load"}
    changed = True
    while changed:
        changed = False
        for i in list(foldable):
            if any(o in ops and o not in foldable for o in (*ops[i].operands, *ops[i].index_operands)):
                foldable.discard(i)
                changed = True
    return foldable
