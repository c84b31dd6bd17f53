"""Analytic proxies of what a configuration costs, computed from the kernel's IR for many
configurations at once (numpy over rows): the surrogates' structural features.

Per loop, the directives decide how many copies of its body are in hardware, how often one
copy runs, and which loop is the scheduled region it belongs to (a fully unrolled loop melts
into its parent; a pipeline flattens everything below it). Per region, operations are counted
by operator and the cores they need follow: the count over the II in a pipeline, over the
cycles the memory ports impose otherwise. Cores are shared between regions that run one after
another, so a kernel needs the largest region's cores; everything else adds up. Read
multiplexers serve loads whose bank is known only at run time; registers hold values that wait
(for another operand, for loads the ports spread, for a carried chain, for a sub-loop). Costs
come from the target's operator library and block RAM shapes, the same facts the builtin flow
uses, but nothing is scheduled: these are first-order figures for a regression to calibrate,
summed per metric into a proxy (:data:`PROXIES`).
"""

from __future__ import annotations

import functools
import math
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from .estimate import _kernel_facts, bound_kind
from .ir import Kernel, Loop
from .targets import Operator, Target, type_bits

DEFAULT_CLOCK_NS = 10.0
PORTS_PER_BANK = 2
CARRIED = "<carried>"


MEMO_ROWS, MEMO_BATCH = 50_000, 2_000
"""Rows of features a :class:`Structure` remembers (then it starts afresh), and the largest
table whose rows it looks up (a larger one is computed at once)."""

PROXIES: dict[str, tuple[str, ...]] = {
    "latency_cycles": ("latency",),
    "ii": ("latency",),  # the top function's interval: its latency and one
    "lut": ("lut", "lut_cores", "lut_plain", "lut_mux", "lut_memory", "states", "counters"),
    "ff": ("ff", "ff_cores", "ff_plain", "ff_memory", "states", "counters", "ff_registers", "ff_pipeline",
           "ff_waiting", "ff_ports", "ff_chain", "ff_chain_backlog", "ff_address", "ff_late_address"),
    "dsp": ("dsp",),
    "bram": ("bram",),
}
"""Per metric, its structural proxy and the parts a linear model weighs: those it sums, and for
FF the backlog of results waiting for a carried chain, whose scale only the data tells."""

PROXY_ONLY = frozenset({"ff_chain_backlog"})
"""Parts only their metric's proxy model weighs: not structural features of their own."""

Columns = Mapping[str, np.ndarray]
"""A table as numpy object arrays by column name: element-wise work on a few rows is many
times faster on these than on pandas columns."""


def columns_of(table: pd.DataFrame | Columns, names: Iterable[str] | None = None) -> dict[str, np.ndarray]:
    """The columns ``names`` (default: all) of a data frame or of :data:`Columns` (kept as they are)."""
    names = list(table.keys() if names is None else names)
    if isinstance(table, pd.DataFrame):  # one conversion, not one per column (nor a selection: slower still)
        every = dict(zip(table.columns, table.to_numpy(dtype=object).T))
        return {name: every[name] for name in names}
    return {name: table[name] for name in names}


def row_count(table: pd.DataFrame | Columns) -> int:
    return len(table) if isinstance(table, pd.DataFrame) else len(next(iter(table.values()), ()))


def numbers(values: np.ndarray) -> np.ndarray:
    """Values as floats; empty or not a number: NaN."""
    try:
        return np.asarray(values, dtype=float)  # the common case, many times faster than pandas
    except (TypeError, ValueError):
        return np.asarray(pd.to_numeric(values, errors="coerce"), dtype=float)


def numbers_or(values: np.ndarray, default: float) -> np.ndarray:
    """Values as floats; ``default`` where empty or not a number."""
    values = numbers(values)
    return np.where(np.isnan(values), default, values)


def texts(values: np.ndarray, empty: str) -> np.ndarray:
    """Values as text; ``empty`` where there is none."""
    return np.where(pd.isna(values), empty, values).astype(str)


@dataclass
class _LoopFacts:
    """What one loop's own operations (one iteration, sub-loops excluded) are made of."""

    loop: Loop
    chain: list[int]  # positions of the loop and its ancestors, innermost first
    trips: int
    cores: Counter = field(default_factory=Counter)  # (shareable operator key, what feeds it, level) -> count
    plain: np.ndarray = field(default_factory=lambda: np.zeros(3))  # LUT, FF, DSP of operators never shared
    address_cores: Counter = field(default_factory=Counter)  # address arithmetic: hardware unless unrolled
    address_plain: np.ndarray = field(default_factory=lambda: np.zeros(3))
    address_bits: int = 0
    inner_arrays: frozenset = frozenset()  # arrays the loops inside it access
    port_waits: Counter = field(default_factory=Counter)  # (own arrays, others, address?) -> bits waiting for others
    chain_bits: int = 0  # bits of results that wait for a scalar carried from the previous iteration
    late_address_bits: int = 0  # addresses of accesses that wait for a sub-loop's result (registered then)
    value_bits: int = 0  # bits of the values its operations produce (registers when they cross a cycle)
    accesses: list = field(default_factory=list)  # (array, per-dimension affine index or None, a load) of each access
    loaded: list = field(default_factory=list)  # (array, index, arrays it waits for) of each load
    chain_step: tuple[int, int] | None = None  # (phi, op it is carried from) of a scalar carried between iterations
    updates: list = field(default_factory=list)  # (store, load, index) of read-modify-writes of one element
    depth: dict[tuple, float] = field(default_factory=dict)  # cycles of paths, by clock, source and sink


@dataclass
class _Partition:
    """One array's partitioning, per configuration."""

    block: np.ndarray  # block partitioning (else cyclic; complete is cyclic with a bank per element)
    banks: np.ndarray
    words: np.ndarray  # elements per bank
    position: np.ndarray  # the partitioned dimension
    block_size: np.ndarray
    whole: np.ndarray  # completely partitioned in every dimension: a register per element

    @functools.cached_property
    def dimensions(self) -> np.ndarray:
        """The partitioned dimensions of any row."""
        return np.unique(self.position)

    def placement(self, index: list, unknown: list[tuple[str | None, np.ndarray, np.ndarray]]
                  ) -> tuple[np.ndarray, np.ndarray]:
        """Whether the tool can place one access on a bank (else it takes the ports of one bank),
        and whether it knows that bank outright (else a read multiplexer picks it at run time),
        when the loops of ``unknown`` (induction, multiplier of its coefficient, largest value)
        run: a cyclic index is placed by its constant part and known if it steps by multiples
        of the banks; a block index must stay within one block."""
        rows = len(self.banks)
        inductions = [induction for induction, _, _ in unknown if induction]
        constant = all(a is not None and not any(a.get(i) for i in inductions) for a in index)
        placed, known = np.zeros(rows, bool), np.zeros(rows, bool)
        for position in self.dimensions:
            affine = index[position] if position < len(index) else None
            if affine is None:
                continue
            cyclic, block, span = np.ones(rows, bool), np.ones(rows, bool), np.zeros(rows)
            for induction, scale, top in unknown:
                step = (affine.get(induction, 0) if induction else 0) * scale
                cyclic &= step % self.banks == 0
                whole_blocks = step % self.block_size == 0
                block &= ~(whole_blocks & (step != 0))
                span += np.where(whole_blocks, 0.0, np.abs(step) * top)
            inside = span < self.block_size
            here = self.position == position
            placed = np.where(here, ~self.block | inside, placed)
            known = np.where(here, np.where(self.block, block & inside, cyclic), known)
        single = self.banks <= 1
        return (np.where(self.whole, constant, placed) | single), (np.where(self.whole, constant, known) | single)

    def offset_bank(self, index: list) -> np.ndarray:
        """The bank of an index's constant part (its copies and loops start from there)."""
        bank = np.zeros(len(self.banks))
        for position in self.dimensions:
            affine = index[position] if position < len(index) else None
            if affine is not None:
                constant = affine.get("", 0)
                here = np.where(self.block, np.floor(constant / self.block_size), constant % self.banks)
                bank = np.where(self.position == position, here, bank)
        return bank

    def reached(self, index: list, inductions: list[str | None], counts: list[np.ndarray]) -> np.ndarray:
        """How many banks the copies of one access reach when the loops of ``inductions`` run
        ``counts`` copies side by side: the residues of the index modulo the banks (cyclic), or
        the blocks its span covers (block). An unknown index reaches one bank."""
        reached = np.ones(len(self.banks))
        for position in self.dimensions:
            affine = index[position] if position < len(index) else None
            if affine is None:
                continue
            residues, span = np.ones(len(self.banks)), np.zeros(len(self.banks))
            for induction, count in zip(inductions, counts):
                step = abs(affine.get(induction, 0)) if induction else 0
                if step:
                    residues *= np.minimum(count, self.banks / np.gcd(step, self.banks.astype(int)))
                    span += step * (count - 1)
            spread = np.where(self.block, np.floor(span / self.block_size) + 1, residues)
            reached = np.where(self.position == position, np.minimum(self.banks, spread), reached)
        return reached


class Structure:
    """A kernel compiled for :meth:`features` on one target."""

    def __init__(self, kernel: Kernel, target: Target):
        self.kernel, self.target = kernel, target
        self._memo: dict[tuple, np.ndarray] = {}  # row of knob values -> its features, in the order of _names
        self._names: list[str] = []
        self._batch: tuple[dict, dict] | None = None  # the last large table's columns and features
        _, self.live, self.foldable = _kernel_facts(kernel)
        reachable = kernel.reachable_functions()
        self.partitionable = sorted({a.name for a in kernel.arrays if a.size})
        self.bits = {name: kernel.partitionable_array(name).element.bits or 32 for name in self.partitionable}
        loops = [loop for loop in kernel.loops.values() if loop.function in reachable]
        self.position = position = {loop.name: i for i, loop in enumerate(loops)}
        self.loops = [self._loop_facts(loop, [position[a.name] for a in [loop, *kernel.ancestors(loop)]])
                      for loop in loops]
        self.function_cores: Counter = Counter()
        for name in reachable:
            for op in kernel.functions[name].ops:
                if (operator := self._operator(op)) is not None and operator.shareable:
                    self.function_cores[self._core(op)] += 1
        self.core_keys = sorted({key for facts in self.loops for key, _, _ in facts.cores} | set(self.function_cores)
                                | {key for facts in self.loops for key in facts.address_cores})
        self.operators = {key: target.operator(*key.split(".")) for key in self.core_keys}
        self.memories = [a for a in kernel.arrays if a.function in reachable and a.kind == "local"
                         and a.size and a.element.bits] + \
            [a for a in kernel.constant_tables if a.size and a.element.bits]

    # ----- compiled once -------------------------------------------------------------------
    @staticmethod
    def _core(op) -> str:
        return f"{op.kind}.{op.type}"

    def _operator(self, op, folded: bool = True) -> Operator | None:
        """The operator of a live op of the datapath (not a memory access or a call; not address
        arithmetic that unrolling folds into constants, when ``folded``)."""
        kind = bound_kind(op)
        if kind is None or kind in ("load", "store", "call") or op.id not in self.live or \
                (folded and op.id in self.foldable):
            return None
        return self.target.operator(kind, op.type)

    def _subtree(self, loop: Loop) -> list[Loop]:
        """``loop`` and every loop inside it."""
        return [loop, *(sub for name in loop.children for sub in self._subtree(self.kernel.loops[name]))]

    def _loop_facts(self, loop: Loop, chain: list[int]) -> _LoopFacts:
        facts = _LoopFacts(loop, chain, loop.trip_count or 1)
        inner_ops = [op for sub in self._subtree(loop)[1:] for op in sub.ops]
        inner = {op.id for op in inner_ops}
        facts.inner_arrays = frozenset(op.array for op in inner_ops if op.array)
        addresses: set[int] = set()
        loaded = {(op.array, repr(op.index)): op for op in loop.ops if op.kind == "load" and op.index}
        feeders: dict[int, frozenset] = {}  # op -> arrays whose loads it waits for; CARRIED: a carried scalar
        level: dict[int, int] = {}  # op -> operators and loads on its longest input path (same level: same start)
        made: dict[int, int] = {}  # operator results so far -> their bits
        for op in loop.ops:
            inputs = (*op.operands, *op.index_operands)
            feeders[op.id] = frozenset().union(*(feeders.get(o, frozenset()) for o in inputs))
            level[op.id] = max((level.get(o, 0) for o in inputs), default=0)
            if op.kind == "load" and op.array in self.partitionable:
                feeders[op.id] |= {op.array}
            elif op.kind == "phi" and op.carried_from is not None:
                feeders[op.id] |= {CARRIED}
            if op.id not in self.live:
                continue
            results = [o for o in dict.fromkeys(inputs) if o in made]
            if CARRIED in feeders[op.id]:  # the chain of a carried scalar: other results wait for it
                facts.chain_bits += sum(made[o] for o in results if CARRIED not in feeders[o] and o not in addresses)
            for o in results:  # a result waits for the other inputs when ports spread their loads
                others = frozenset().union(*(feeders.get(i, frozenset()) for i in inputs if i != o)) - feeders[o]
                if op.kind == "load" and op.array in self.partitionable:
                    others |= {op.array}
                if others - {CARRIED}:
                    facts.port_waits[feeders[o] - {CARRIED}, others - {CARRIED}, o in addresses] += made[o]
            if op.kind == "store" and (op.array, repr(op.index)) in loaded and None not in op.index:
                facts.updates.append((op, loaded[op.array, repr(op.index)], op.index))
            if op.kind in ("load", "store"):
                if any(o in inner for o in op.operands):
                    facts.late_address_bits += sum(made[o] for o in op.index_operands if o in addresses)
                if op.array in self.partitionable:
                    index = self.kernel.index_in_iterations(op) or [None]  # one object: placements look it up
                    facts.accesses.append((op.array, index, op.kind == "load"))
                    if op.kind == "load":
                        facts.loaded.append((op.array, index, feeders[op.id]))
            elif op.kind == "phi" and op.carried_from is not None:
                facts.chain_step = facts.chain_step or (op.id, op.carried_from)
            operator, unfolded = self._operator(op), self._operator(op, folded=False)
            if op.kind == "load" or operator is not None:
                level[op.id] += 1
            if unfolded is not None:
                made[op.id] = type_bits(op.type)
            if operator is None:
                if unfolded is not None:  # address arithmetic: hardware unless its loop is unrolled
                    addresses.add(op.id)
                    facts.address_bits += made[op.id]
                    if unfolded.shareable:
                        facts.address_cores[self._core(op)] += 1
                    else:
                        facts.address_plain += (unfolded.lut, unfolded.ff, unfolded.dsp)
                continue
            facts.value_bits += type_bits(op.type)
            if operator.shareable:
                facts.cores[self._core(op), feeders[op.id], level[op.id]] += 1
            else:
                facts.plain += (operator.lut, operator.ff, operator.dsp)
        return facts

    def _finish(self, facts: _LoopFacts, clock_ns: float, source: int | None = None, folded: bool = True
                ) -> dict[int, float]:
        """When each of a loop's own operations (one iteration) finishes, in cycles, started as
        soon as its inputs are ready; with ``source``, only those reached from op ``source``.
        ``folded``: address arithmetic takes no time (the loop is unrolled into constants)."""
        usable = self.target.usable_ns(clock_ns)
        finish: dict[int, float] = {}
        for op in facts.loop.ops:  # program order: operands come first
            inputs = [finish[o] for o in (*op.operands, *op.index_operands) if o in finish]
            if source is not None and op.id != source and not inputs:
                continue  # not reached from the source
            operator = self._operator(op, folded)
            if op.kind in ("load", "store"):
                took = 1.0
            elif operator is None:
                took = 0.0
            elif operator.pipelined:
                took = float(self.target.stages(operator, clock_ns))
            else:
                took = operator.delay_ns / usable
            finish[op.id] = max(inputs, default=0.0) + took
        return finish

    def _depth(self, facts: _LoopFacts, clock_ns: float, source: int | None = None, sink: int | None = None,
               folded: bool = True) -> float:
        """Cycles of the longest dependence path through one iteration of a loop's own
        operations, or of the path from op ``source`` to op ``sink``; ``folded`` as in :meth:`_finish`."""
        key = (clock_ns, source, sink, folded)
        if key not in facts.depth:
            finish = self._finish(facts, clock_ns, source, folded)
            facts.depth[key] = finish.get(sink, 0.0) if sink is not None else max(finish.values(), default=0.0)
        return facts.depth[key]

    def _waiting(self, facts: _LoopFacts, clock_ns: float, folded: bool = True) -> tuple[float, float]:
        """Bits of the operator results of one iteration that are registered, because one of their
        uses is a clock edge or more after they are made (each made as late as its first use
        allows; loaded values stay in the memory's output register), and those bits times the
        cycles they live."""
        key = (clock_ns, "waiting", folded)
        if key not in facts.depth:
            finish = self._finish(facts, clock_ns, folded=folded)
            first: dict[int, float] = {}
            last: dict[int, float] = {}
            for op in facts.loop.ops:
                inputs = [o for o in {*op.operands, *op.index_operands} if o in finish]
                start = max((finish[o] for o in inputs), default=0.0)
                for o in inputs:
                    first[o], last[o] = min(first.get(o, start), start), max(last.get(o, start), start)
            bits = bit_cycles = 0.0
            for op in facts.loop.ops:
                made = math.floor(finish.get(op.id, 0.0))
                if op.id in last and math.floor(last[op.id]) > made and self._operator(op, folded) is not None:
                    lifetime = math.floor(last[op.id]) - max(math.floor(first[op.id]) - 1, made)
                    bits += type_bits(op.type)
                    bit_cycles += type_bits(op.type) * lifetime
            facts.depth[key] = (bits, bit_cycles)
        return facts.depth[key]

    # ----- per configuration ---------------------------------------------------------------
    def __getstate__(self) -> dict:
        return {**self.__dict__, "_memo": {}, "_batch": None}  # a model file need not carry what was computed

    def features(self, configs: pd.DataFrame | Columns) -> dict[str, np.ndarray]:
        """Per row of ``configs`` (one column per knob, empty when inactive): per loop the log2
        of its copies in hardware, its sequential runs and its II; in total the proxies
        ``latency``, ``dsp``, ``lut``, ``ff``, ``bram`` and their parts. Rows seen before are
        remembered (a search or a cross-validation asks for the same rows again and again)."""
        columns = columns_of(configs)
        if row_count(configs) > MEMO_BATCH:  # computed at once, and kept while the same columns come again
            if self._batch is None or len(self._batch[0]) != len(columns) or \
                    any(columns.get(name) is not values for name, values in self._batch[0].items()):
                self._batch = columns, self._features(columns, row_count(configs))
            return self._batch[1]
        names = sorted(columns)
        keys = list(zip(*(np.where(pd.isna(columns[n]), None, columns[n]).tolist() for n in names))) \
            if names else [()] * row_count(configs)
        missing = list(dict.fromkeys(k for k in keys if k not in self._memo))
        if missing:
            if len(self._memo) + len(missing) > MEMO_ROWS:
                self._memo.clear()
            fresh = self._features({n: np.array([k[i] for k in missing], dtype=object) for i, n in enumerate(names)},
                                   len(missing))
            self._names = list(fresh)
            self._memo.update(zip(missing, np.column_stack([fresh[n] for n in self._names])))
        table = np.stack([self._memo[k] for k in keys]) if keys else np.zeros((0, len(self._names)))
        return {name: table[:, j] for j, name in enumerate(self._names)}

    def _features(self, columns: dict[str, np.ndarray], rows: int) -> dict[str, np.ndarray]:
        number = lambda knob, default: (numbers_or(columns[knob], default) if knob in columns
                                        else np.full(rows, float(default)))
        text = lambda knob, default: texts(columns[knob], default) if knob in columns else np.full(rows, default)
        clock = number("clock.period_ns", DEFAULT_CLOCK_NS)
        clocks, at_clock = np.unique(clock, return_inverse=True)
        per_clock = lambda value: np.array([value(float(c)) for c in clocks])[at_clock]  # once per distinct clock
        banks, words, partitions = {}, {}, {}
        for array in self.partitionable:
            partitions[array] = self._partition(array, text(f"{array}.partition", "none"),
                                                number(f"{array}.factor", 1), number(f"{array}.dim", 1))
            banks[array], words[array] = partitions[array].banks, partitions[array].words

        loops = self.loops
        trips = [np.full(rows, float(f.trips)) for f in loops]
        unroll = [np.minimum(number(f"{f.loop.name}.unroll", 1), f.trips) for f in loops]
        pipelined = [(text(f"{f.loop.name}.pipeline", "off") == "on") & (unroll[i] < f.trips)  # unrolled: no loop
                     for i, f in enumerate(loops)]
        flattened = [np.logical_or.reduce([pipelined[a] for a in f.chain[1:]] + [np.zeros(rows, bool)])
                     for f in loops]
        full = [flattened[i] | (unroll[i] >= f.trips) for i, f in enumerate(loops)]
        factor = [np.where(full[i], trips[i], unroll[i]) for i in range(len(loops))]
        iterations = [np.where(full[i], 1.0, np.ceil(trips[i] / unroll[i])) for i in range(len(loops))]
        copies = [np.prod([factor[a] for a in f.chain], axis=0) for f in loops]
        runs = [np.prod([iterations[a] for a in f.chain], axis=0) for f in loops]
        region = [~full[i] for i in range(len(loops))]
        is_pipeline = [region[i] & pipelined[i] for i in range(len(loops))]

        # what each region's body holds: its own copies and those of the fully unrolled loops below
        zeros = lambda: np.zeros(rows)
        held = [defaultdict(zeros) for _ in loops]  # bits, depth, chain, recurrence
        groups = [{} for _ in loops]  # (core, feeders) -> [count, copies chained by a carried scalar]
        # (array, index without its constant) -> (copies, banks reached, bank of the constant) of each access
        accesses = [defaultdict(list) for _ in loops]
        muxed = [defaultdict(zeros) for _ in loops]  # array -> loads through a read multiplexer
        port_waits = [defaultdict(zeros) for _ in loops]  # (own arrays, others) -> bits of results waiting for others
        plain = [zeros() for _ in range(3)]
        address_registers, late_registers = zeros(), zeros()
        for i, f in enumerate(loops):
            sub_loops = np.logical_or.reduce([region[self.position[sub.name]] for sub in self._subtree(f.loop)[1:]]
                                             + [np.zeros(rows, bool)])  # some loop inside stays a loop
            inside = np.ones(rows, bool)  # every level below the candidate region is fully unrolled
            multiplier = np.ones(rows)
            for step, r in enumerate(f.chain):
                member, mult = inside & region[r], multiplier * unroll[r]
                inside, multiplier = inside & full[r], multiplier * trips[r]  # for the next level up
                if not member.any():  # no row holds these copies in this region: they add nothing
                    continue
                mult = np.where(member, mult, 0.0)
                body = held[r]
                folded = step > 0  # a loop unrolled in full: its addresses are constants
                chained = unroll[r] if step == 0 else trips[f.chain[0]]  # copies a carried scalar runs through
                cores = [*f.cores.items(), *(((key, frozenset(), 0), count) for key, count in f.address_cores.items()
                                             if step == 0)]  # a loop's own addresses, unless it is unrolled
                for (key, fed_by, level), count in cores:
                    group = groups[r].setdefault((key, fed_by, level), [zeros(), zeros()])
                    group[0] += mult * count
                    if CARRIED in fed_by:
                        group[1] = np.maximum(group[1], np.where(member, chained, 0.0))
                    if step == 0 and fed_by & f.inner_arrays:  # its loads wait for the loops of the copies before
                        group[1] = np.maximum(group[1], np.where(member & sub_loops, unroll[r], 0.0))
                levels = f.chain[:step + 1]
                counts = [trips[level] for level in levels[:-1]] + [unroll[r]]
                inductions = [loops[level].loop.induction for level in levels]
                for store, load, index in f.updates:  # copies that update one element wait for each other
                    serial = [c for c, induction in zip(counts, inductions) if not any(a.get(induction) for a in index)]
                    path = per_clock(lambda c: self._depth(f, c, load.id, store.id, folded))
                    waits = np.prod(serial, axis=0) * path if serial else 0.0
                    body["chain"] = np.maximum(body["chain"], np.where(member, waits, 0.0))
                    if not any(a.get(inductions[-1]) for a in index):  # the same element every iteration
                        body["recurrence"] = np.maximum(body["recurrence"], np.where(member, waits, 0.0))
                unknown = [(loops[r].loop.induction, unroll[r], iterations[r] - 1),
                           *((loops[a].loop.induction, np.ones(rows), trips[a] - 1) for a in f.chain[step + 1:])]
                placements = {id(index): partitions[array].placement(index, unknown) for array, index, _ in f.accesses}
                for array, index, fed_by in f.loaded:  # loads whose bank is known only at run time
                    muxed[r][array, fed_by] += np.where(placements[id(index)][1], 0.0, mult)
                for array, index, load in f.accesses:  # copies, the banks they reach, the bank of the constant part
                    placed, _ = placements[id(index)]
                    reached = np.where(placed, partitions[array].reached(index, inductions, counts), 1.0)
                    offset = np.where(placed, partitions[array].offset_bank(index), 0.0)
                    pattern = tuple(sorted((k, v) for a in index if a for k, v in a.items() if k))
                    accesses[r][array, pattern].append((mult, np.where(member, reached, 1.0),
                                                        np.where(member, offset, np.nan), load))
                body["bits"] += mult * f.value_bits
                waiting = per_clock(lambda c: self._waiting(f, c, folded))
                body["waiting"] += mult * waiting[:, 0]
                body["waiting_cycles"] += mult * waiting[:, 1]
                for (own, others, address), bits in f.port_waits.items():
                    if step == 0 or not address:  # addresses fold into constants when unrolled
                        port_waits[r][own, others] += mult * bits
                depth = per_clock(lambda c: self._depth(f, c, folded=folded))
                body["depth"] = np.maximum(body["depth"], np.where(member, depth, 0.0))
                if f.chain_step:  # its own iterations chain in a recurrence; a melted loop's, in the body
                    link = per_clock(lambda c: self._depth(f, c, *f.chain_step, folded))
                    body["chained"] += np.where(chained > 1, mult * f.chain_bits * (chained - 1) / chained, 0.0)
                    body["chain_cycles"] = np.maximum(body["chain_cycles"], np.where(member, chained * link, 0.0))
                    serial = np.where(member, chained * np.ceil(link), 0.0)  # copies it runs through, one after another
                    part = "recurrence" if step == 0 else "chain"
                    body[part] = np.maximum(body[part], serial)
            own = np.where(region[i], copies[i], 0.0)  # copies that compute their own addresses
            address_registers += own * f.address_bits
            late_registers += own * np.where(sub_loops, f.late_address_bits, 0.0)
            for part in range(3):
                plain[part] += copies[i] * f.plain[part] + own * f.address_plain[part]
        interval, length, units = {}, {}, {key: zeros() for key in self.core_keys}
        mux_lut, read_mux, registers, pipeline_registers, waiting, states, counters, port_registers, \
            chain_registers, backlog = (zeros() for _ in range(10))
        for i, f in enumerate(loops):
            body = held[i]
            # accesses on the busiest bank, and loads (what feeds operators) where their spans meet most
            per_bank, patterns = defaultdict(zeros), defaultdict(list)
            for (array, _), each in accesses[i].items():
                busiest, *span = self._per_bank(each, banks[array])
                per_bank[array] += busiest
                loads = [access for access in each if access[3]]
                if loads:
                    patterns[array].append(span if len(loads) == len(each) else self._per_bank(loads, banks[array])[1:])
            on_average = {array: self._densest(spans, banks[array]) for array, spans in patterns.items()}
            cycles = lambda counts, whole: {
                array: np.where(words[array] > 1, np.maximum(1.0, whole(count / PORTS_PER_BANK)), 1.0)
                for array, count in counts.items()}
            port_cycles, feed_cycles = cycles(per_bank, np.ceil), cycles(on_average, lambda c: c)  # a pace, not a count
            ports = np.max([*port_cycles.values(), np.ones(rows)], axis=0)
            interval[i] = np.where(is_pipeline[i], np.maximum.reduce([number(f"{f.loop.name}.ii", 1), ports,
                                                                      body["recurrence"]]), 1.0)
            serial = body["depth"] + body["chain"] + np.where(is_pipeline[i], 0.0, body["recurrence"])
            length[i] = np.where(region[i], np.maximum(serial, ports), 0.0)
            instances = copies[i] / np.maximum(factor[i], 1.0)  # hardware copies of this region
            waits_for = lambda arrays: np.maximum.reduce(  # cycles the ports of ``arrays`` spread accesses over
                [np.ones(rows), *(feed_cycles[a] for a in arrays if a in feed_cycles)])  # (most, not the last)
            # outside a pipeline, copies start together unless the ports of the arrays that feed them,
            # or a carried scalar, spread them over cycles
            by_level, counts, started = defaultdict(zeros), defaultdict(zeros), defaultdict(zeros)
            spread = defaultdict(lambda: np.ones(rows))
            for (key, fed_by, level), (count, chained) in groups[i].items():
                waits = np.maximum(chained, waits_for(fed_by))
                by_level[key, level] += np.ceil(count / waits)
                counts[key] += count
                spread[key] = np.maximum(spread[key], waits)
            for (key, _), count in by_level.items():  # copies of one level start together
                started[key] = np.maximum(started[key], count)
            for key, count in counts.items():  # levels spread over more cycles than the body's depth overlap
                overlap = (spread[key] > 1) & (spread[key] > body["depth"])
                started[key] = np.maximum(started[key], np.where(overlap, np.ceil(count / spread[key]), 0.0))
            most = np.ones(rows)  # the most operators of one kind that start in one cycle
            for key in self.core_keys:
                count = counts[key]
                needed = np.where(is_pipeline[i], np.ceil(count / interval[i]), np.minimum(started[key], count))
                needed = np.where(region[i], needed, 0.0)
                units[key] = np.maximum(units[key], needed)
                most = np.maximum(most, needed)
                shared_by = np.ceil(count / np.maximum(needed, 1.0))
                mux_lut += instances * needed * self.target.operand_mux_luts(type_bits(key.split(".")[1]), shared_by)
            # every value is registered once; in a pipeline, some live on for up to its length
            registers += np.where(region[i], instances * body["bits"], 0.0)
            pipeline_registers += np.where(is_pipeline[i], instances * body["bits"] * (length[i] - 1), 0.0)
            waiting += instances * np.where(is_pipeline[i], body["waiting_cycles"],
                                            np.where(region[i], body["waiting"], 0.0))
            # FSM states or pipeline stages, and a state of the enclosing body per hardware copy
            states += np.where(region[i], instances * (length[i] + 1), 0.0)
            # results wait for a carried scalar only if its chain crosses a clock edge: it is long, or ports
            # spread the loads that feed it
            chained = instances * np.where((body["chain_cycles"] >= 1) | (ports > 1), body["chained"], 0.0)
            chain_registers += chained
            # the more operators start together, the more results reach the chain before it can take them
            backlog += chained * np.log2(most)
            for (own, others), bits in port_waits[i].items():  # the others' loads come later
                port_registers += instances * np.where(waits_for(others) > waits_for(own), bits, 0.0)
            counters += np.where(region[i], instances * np.ceil(np.log2(1 + iterations[i])), 0.0)
            for (array, fed_by), count in muxed[i].items():  # as many as start in one cycle, as ports allow
                needed = np.ceil(count / np.where(is_pipeline[i], interval[i], waits_for(fed_by)))
                read_mux += instances * needed * self.target.read_mux_luts(self.bits[array], banks[array])
        for key, count in self.function_cores.items():
            units[key] = np.maximum(units[key], count)

        latency = self._latency(region, is_pipeline, iterations, interval, length, unroll, trips)
        core_cost = {part: sum(units[k] * getattr(self.operators[k], part) for k in self.core_keys) + zeros()
                     for part in ("lut", "ff", "dsp")}
        bram, memory_lut, memory_ff = self._memory(banks, words, rows)
        totals = {
            "latency": latency, "dsp": core_cost["dsp"] + plain[2], "bram": bram,
            "lut": core_cost["lut"] + plain[0] + mux_lut + read_mux + memory_lut + 2 * states + 2 * counters,
            "ff": core_cost["ff"] + plain[1] + memory_ff + states + counters + waiting + port_registers + late_registers
            + chain_registers,
            "lut_cores": core_cost["lut"], "lut_plain": plain[0], "lut_mux": mux_lut + read_mux,
            "lut_memory": memory_lut, "ff_cores": core_cost["ff"], "ff_plain": plain[1], "ff_registers": registers,
            "ff_pipeline": pipeline_registers, "ff_waiting": waiting, "ff_ports": port_registers,
            "ff_chain": chain_registers, "ff_address": address_registers, "ff_late_address": late_registers,
            "ff_memory": memory_ff, "states": states, "counters": counters,
            "banks": sum((b for b in banks.values()), zeros()),
        }
        features = {}
        for i, f in enumerate(loops):
            name = f.loop.name
            features[f"{name}:log2_copies"] = np.log2(copies[i])
            features[f"{name}:log2_runs"] = np.log2(runs[i])
            features[f"{name}:log2_ii"] = np.log2(interval[i])
        for name, total in totals.items():
            features[name] = total
            features[f"log2_{name}"] = np.log2(1 + total)
        features["ff_chain_backlog"] = backlog
        return features

    @staticmethod
    def _per_bank(accesses: list, banks: np.ndarray) -> tuple[np.ndarray, ...]:
        """Of accesses to one array in a body that differ only in their constant offsets: those on
        the busiest bank; and on average, those per bank over the span of banks they spread over
        (the banks their copies reach times the distinct banks of the offsets), its first bank and
        its length. Offsets that share a bank pile up there, its copies spread only over the banks
        they reach."""
        mults, reached, offsets = (np.stack(part) for part in list(zip(*accesses))[:3])
        ordered = np.sort(offsets, axis=0)
        distinct = ~np.isnan(ordered[0]) + np.sum(np.diff(ordered, axis=0) > 0, axis=0)  # NaN: not in the body
        spread = np.minimum(banks, reached.max(axis=0) * np.maximum(distinct, 1))
        average = mults.sum(axis=0) / spread
        same_bank = np.sum((offsets[:, None] == offsets[None]) * (mults / reached)[None], axis=1)
        busiest = np.max(np.where(np.isnan(offsets), 0.0, same_bank), axis=0)
        return np.maximum(average, busiest), average, np.nan_to_num(ordered[0]), spread

    @staticmethod
    def _densest(spans: list, banks: np.ndarray) -> np.ndarray:
        """Accesses per bank where the spans of several access patterns to one array overlap most
        (each span: accesses per bank, first bank, banks, wrapping round): a pattern that reaches
        every bank and one that stays on one add up only on that one."""
        return np.max([sum(density * (np.mod(bank - first, np.maximum(banks, 1)) < length)
                           for density, first, length in spans) for _, bank, _ in spans], axis=0)

    def _partition(self, name: str, scheme: np.ndarray, factor: np.ndarray, dim: np.ndarray) -> _Partition:
        """An array's banks and elements per bank, as the partition directives make them."""
        array = self.kernel.partitionable_array(name)
        extents = np.array([d or 1 for d in array.dims], float)
        position = (np.clip(dim, 1, len(extents)) - 1).astype(int)
        extent = extents[position]
        every = (scheme == "complete") & (dim == 0)
        banks = np.where(scheme == "none", 1.0, np.where(scheme == "complete", extent, np.minimum(factor, extent)))
        banks = np.where(every, float(array.size), banks)
        words = np.where(every, 1.0, array.size / extent * np.ceil(extent / banks))
        return _Partition(scheme == "block", banks, words, position, np.ceil(extent / banks), every)

    def _memory(self, banks: dict, words: dict, rows: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Block RAM tiles, LUT and FF of the local arrays and constant tables."""
        bram, lut, ff = np.zeros(rows), np.zeros(rows), np.zeros(rows)
        for array in self.memories:
            tiles, memory_lut, memory_ff = self.target.memory_cost(
                array.element.bits, banks.get(array.name, 1.0), words.get(array.name, float(array.size)))
            bram, lut, ff = bram + tiles, lut + memory_lut, ff + memory_ff
        return bram, lut, ff

    def _latency(self, region, is_pipeline, iterations, interval, length, unroll, trips) -> np.ndarray:
        """Cycles of the top function: each region's latency, its sub-regions' copies run one
        after another inside the region that holds them (an upper bound)."""
        rows = len(region[0]) if region else 1
        inner = [np.zeros(rows) for _ in self.loops]
        total = np.zeros(rows)
        for i in reversed(range(len(self.loops))):  # sub-loops first
            own = np.where(is_pipeline[i], (iterations[i] - 1) * interval[i] + length[i],
                           iterations[i] * (length[i] + inner[i]) + 1)
            own = np.where(region[i], own, 0.0)
            multiplier, placed = np.ones(rows), np.zeros(rows, bool)
            for r in self.loops[i].chain[1:]:  # the nearest enclosing region holds it
                holds = ~placed & region[r]
                inner[r] += np.where(holds, own * multiplier * unroll[r], 0.0)
                placed |= holds
                multiplier = multiplier * trips[r]
            total += np.where(placed, 0.0, own * multiplier)
        return total
