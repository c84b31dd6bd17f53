"""Features for surrogates: knob encodings that suit directives, interaction terms, and
structural features computed from the kernel's IR (how many copies of each loop body the
directives put in hardware, how often each runs, the II its memory ports allow).

Directive values act multiplicatively (an unroll factor divides iterations and multiplies
operators), so ordinal knobs are encoded as log2 and categorical knobs one-hot; a text value
naming a factor (``unroll factor=4``, as in tables of other tools) also gets its log2.
"""

from __future__ import annotations

import itertools
import math
import re

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, TransformerMixin

from .estimate import _kernel_facts
from .ir import Kernel, Loop

_FACTOR = re.compile(r"factor\s*=\s*(\d+)")
INACTIVE = "-"


class KnobEncoder(TransformerMixin, BaseEstimator):
    """Encodes a table of knob values (one column per knob; empty = inactive) as numbers.

    ``interactions``: add the products of every pair of encoded columns that belong to knobs
    acting on the same loop nest or array (all pairs when no kernel is given).
    ``kernel``: the kernel's IR, for structural features and for grouping knobs by nest."""

    def __init__(self, knobs: list[str], interactions: bool = False, kernel: Kernel | None = None):
        self.knobs = knobs
        self.interactions = interactions
        self.kernel = kernel

    def fit(self, X: pd.DataFrame, y=None) -> KnobEncoder:
        self.numeric_: dict[str, bool] = {}  # numeric knob -> encoded as log2 (every value positive)
        self.categories_: dict[str, list[str]] = {}
        for knob in self.knobs:
            values = X[knob].dropna()
            numbers = pd.to_numeric(values, errors="coerce")
            if len(values) and numbers.notna().all():
                self.numeric_[knob] = bool((numbers > 0).all())
            else:
                self.categories_[knob] = sorted(set(X[knob].fillna(INACTIVE).astype(str)))
        self.sometimes_inactive_ = [k for k in self.numeric_ if X[k].isna().any()]
        columns = self._encode(X)
        self.base_columns_ = list(columns)
        self.pairs_ = self._pairs(columns) if self.interactions else []
        self.columns_ = self.base_columns_ + [f"{a}*{b}" for a, b in self.pairs_]
        return self

    def transform(self, X: pd.DataFrame) -> np.ndarray:
        encoded = self._encode(X)
        columns = {c: encoded.get(c, np.zeros(len(X))) for c in self.base_columns_}  # absent: a feature of 0
        products = [columns[a] * columns[b] for a, b in self.pairs_]
        return np.column_stack(list(columns.values()) + products).astype(float)

    def _encode(self, X: pd.DataFrame) -> dict[str, np.ndarray]:
        columns: dict[str, np.ndarray] = {}
        for knob, log in self.numeric_.items():
            numbers = pd.to_numeric(X[knob], errors="coerce")
            values = numbers.fillna(1.0 if log else 0.0).to_numpy(float)
            columns[f"{knob}:log2" if log else knob] = np.log2(np.maximum(values, 1e-9)) if log else values
            if knob in self.sometimes_inactive_:
                columns[f"{knob}:active"] = numbers.notna().to_numpy(float)
        for knob, categories in self.categories_.items():
            text = X[knob].fillna(INACTIVE).astype(str)
            for category in categories:
                columns[f"{knob}={category}"] = (text == category).to_numpy(float)
            if any(_FACTOR.search(c) for c in categories):
                factors = text.str.extract(_FACTOR)[0].astype(float)
                columns[f"{knob}:factor_log2"] = np.log2(factors.fillna(1.0).to_numpy())
        if self.kernel is not None:
            structure = pd.DataFrame([_cached_structure(self.kernel, tuple(row.items()))
                                      for row in X[self.knobs].to_dict("records")], index=X.index)
            for name in structure:
                columns[f"kernel:{name}"] = structure[name].fillna(0.0).to_numpy(float)
        return columns

    def _pairs(self, columns: dict[str, np.ndarray]) -> list[tuple[str, str]]:
        groups = _knob_groups(self.knobs, self.kernel)
        owner = {c: c.split("=")[0].split(":")[0] for c in columns}
        pairs = []
        for a, b in itertools.combinations(columns, 2):
            if owner[a] == owner[b] and "=" in a and "=" in b:
                continue  # two categories of one knob never both hold
            if owner[a] == "kernel" or owner[b] == "kernel" or groups.get(owner[a], 0) & groups.get(owner[b], 0) \
                    or owner[a] == owner[b]:
                if np.std(columns[a] * columns[b]) > 0:
                    pairs.append((a, b))
        return pairs


def _knob_groups(knobs: list[str], kernel: Kernel | None) -> dict[str, int]:
    """Each knob's loop nests as a bit set: knobs that share a bit interact. Without a kernel
    every knob is in one group."""
    if kernel is None:
        return {knob: 1 for knob in knobs}
    nests = {}
    for loop in kernel.loops.values():
        root = [loop, *kernel.ancestors(loop)][-1]
        nests.setdefault(root.name, set()).add(loop.name)
    bits = {}
    for position, (root, members) in enumerate(sorted(nests.items())):
        arrays = {op.array for name in members for op in kernel.loops[name].ops if op.array}
        for name in members | arrays:
            bits[name] = bits.get(name, 0) | (1 << position)
    everything = (1 << len(nests)) - 1
    return {knob: bits.get(knob.rsplit(".", 1)[0], everything) for knob in knobs}


_STRUCTURE_CACHE: dict[tuple, tuple[Kernel, dict[str, float]]] = {}


def _cached_structure(kernel: Kernel, items: tuple) -> dict[str, float]:
    """:func:`structure_features` of a configuration, computed once per process (cross-
    validation encodes the same rows many times). Entries hold their kernel, so its id is
    not reused while cached."""
    key = (id(kernel), items)
    if key not in _STRUCTURE_CACHE:
        if len(_STRUCTURE_CACHE) > 200_000:
            _STRUCTURE_CACHE.clear()
        _STRUCTURE_CACHE[key] = kernel, structure_features(kernel, dict(items))
    return _STRUCTURE_CACHE[key][1]


def structure_features(kernel: Kernel, config: dict) -> dict[str, float]:
    """What the directives do to the kernel's structure. Per loop: copies of its body in
    hardware (``par``), sequential runs of one copy (``seq``), how many copies the bank ports
    let run at once (``concurrency``), the II or body length that follows, and the loop's
    latency proxy. In total: operators times concurrent copies by class (summed, and the
    largest loop's, since sequential loops share cores), operators times copies (logic that is
    not shared), banks, and the kernel's latency proxy."""
    _, live, foldable = _kernel_facts(kernel)
    reachable = set(kernel.reachable_functions())
    loops = [loop for loop in kernel.loops.values() if loop.function in reachable]

    def value(name: str, default):
        found = config.get(name)
        return default if found is None or (isinstance(found, float) and math.isnan(found)) else found

    pipelined = {loop.name for loop in loops if value(f"{loop.name}.pipeline", "off") == "on"}
    flattened = {loop.name for loop in loops if any(a.name in pipelined for a in kernel.ancestors(loop))}
    banks = {}
    for array in kernel.arrays:
        partition = value(f"{array.name}.partition", "none")
        banks[array.name] = (1 if partition == "none" else array.size or 1 if partition == "complete"
                             else int(value(f"{array.name}.factor", 1)))
    features: dict[str, float] = {}
    totals = {f"{kind}_{how}": 0.0 for kind in ("fp", "mul", "logic") for how in ("concurrent", "copies", "peak")}
    latency = 0.0
    parallel, runs, intervals = {}, {}, {}
    for loop in loops:  # parents come before their sub-loops
        par = seq = 1
        for level in [loop, *kernel.ancestors(loop)]:
            trips, unroll = level.trip_count or 1, int(value(f"{level.name}.unroll", 1))
            if level.name in flattened or unroll >= trips:
                par *= trips
            else:
                par, seq = par * unroll, seq * math.ceil(trips / unroll)
        parallel[loop.name], runs[loop.name] = par, seq
        features[f"{loop.name}:log2_par"] = math.log2(par)
        features[f"{loop.name}:log2_seq"] = math.log2(seq)
        if loop.name in pipelined and loop.name not in flattened:
            unroll = int(value(f"{loop.name}.unroll", 1))
            chained = FLOAT_CHAIN * unroll if _carries_float(loop) else 1
            intervals[loop.name] = max([int(value(f"{loop.name}.ii", 1)), chained,
                                        *(math.ceil(n * unroll / (2 * banks.get(a, 1)))
                                          for a, n in _accesses(kernel, loop, loops, live).items())])
            features[f"{loop.name}:log2_ii"] = math.log2(intervals[loop.name])
    for loop in loops:
        par, seq = parallel[loop.name], runs[loop.name]
        ops = [op for op in loop.ops if op.id in live and op.id not in foldable]
        counts = {"fp": sum(op.type.startswith("f") and op.kind in ("add", "sub", "mul", "div") for op in ops),
                  "mul": sum(op.kind == "mul" and not op.type.startswith("f") and len(op.operands) > 1 for op in ops)}
        counts["logic"] = len(ops) - counts["fp"] - counts["mul"] - sum(op.kind in ("load", "store") for op in ops)
        pipe = next((a.name for a in [loop, *kernel.ancestors(loop)] if a.name in intervals), None)
        if pipe is not None:  # in a pipeline: its copies start every II cycles
            concurrency = par / intervals[pipe]
            length = float(intervals[loop.name]) if loop.name == pipe else 0.0
        elif loop.children:
            concurrency, length = 0.0, 0.0  # a container: its sub-loops are scheduled
        else:
            accesses = _accesses(kernel, loop, [loop], live)
            concurrency = max(1.0, min([float(par), *(2 * banks.get(a, 1) / n for a, n in accesses.items())]))
            chain = FLOAT_CHAIN * par if _carries_float(loop) else 0
            length = max(len(ops), chain, par / concurrency * max(1, len(accesses)))
        if length:
            features[f"{loop.name}:log2_concurrency"] = math.log2(max(concurrency, 1e-3))
            features[f"{loop.name}:log2_latency"] = math.log2(1 + seq * length)
            latency += seq * length
        for kind, count in counts.items():
            totals[f"{kind}_concurrent"] += count * concurrency
            totals[f"{kind}_copies"] += count * par
            totals[f"{kind}_peak"] = max(totals[f"{kind}_peak"], count * concurrency)
    totals["banks"] = float(sum(b for a, b in banks.items() if b > 1))
    for name, total in totals.items():
        features[f"log2_{name}"] = math.log2(1 + total)
        features[name] = total
    features["log2_latency_proxy"] = math.log2(1 + latency)
    features["latency_proxy"] = latency
    return features


FLOAT_CHAIN = 5
"""Cycles a floating-point accumulation adds per chained copy (a double adder's stages at
100 MHz), used only to shape the features; the regression calibrates them."""


def _carries_float(loop: Loop) -> bool:
    """Whether a floating-point scalar is carried from one iteration of ``loop`` to the next."""
    return any(op.kind == "phi" and op.type.startswith("f") and op.carried_from is not None for op in loop.ops)


def _accesses(kernel: Kernel, loop: Loop, loops: list[Loop], live: set[int]) -> dict[str, int]:
    """Accesses per array in one iteration of ``loop``, its sub-loops among ``loops`` unrolled."""
    accesses: dict[str, int] = {}
    for inner in loops:
        chain = [inner, *kernel.ancestors(inner)]
        position = next((i for i, level in enumerate(chain) if level is loop), None)
        if position is None:
            continue
        copies = math.prod(level.trip_count or 1 for level in chain[:position])
        for op in inner.ops:
            if op.kind in ("load", "store") and op.id in live:
                accesses[op.array] = accesses.get(op.array, 0) + copies
    return accesses
