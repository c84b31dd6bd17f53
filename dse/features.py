"""Features for surrogates: knob encodings that suit directives, interaction terms between
knobs of one loop nest, and the kernel's structural proxies (:mod:`dse.structure`).

Directive values act multiplicatively (an unroll factor divides iterations and multiplies
operators), so ordinal knobs are encoded as log2 and categorical knobs one-hot; a text value
naming a factor (``unroll factor=4``, as in tables of other tools) also gets its log2.
"""

from __future__ import annotations

import itertools
import re

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, TransformerMixin

from .ir import Kernel
from .structure import PROXY_ONLY, Columns, Structure, columns_of, numbers, row_count, texts
from .targets import DEFAULT_TARGET, get_target

_FACTOR = re.compile(r"factor\s*=\s*(\d+)")
INACTIVE = "-"


class KnobEncoder(TransformerMixin, BaseEstimator):
    """Encodes a table of knob values (one column per knob; empty = inactive) as numbers.

    ``interactions``: add the products of every pair of encoded columns that belong to knobs
    acting on the same loop nest or array (all pairs when no kernel is given).
    ``kernel``: the kernel's IR, for structural features (:mod:`dse.structure`, costed on
    ``target``) and for grouping knobs by nest. ``structure``: None, the knobs' columns (and
    the structural features, with a kernel; all but :data:`~dse.structure.PROXY_ONLY`);
    ``"all"``, those structural features alone; a
    tuple of names, those structural features alone (the proxies of one metric: few, and
    linear in what the tool builds)."""

    def __init__(self, knobs: list[str], interactions: bool = False, kernel: Kernel | None = None,
                 target: str = DEFAULT_TARGET, structure: tuple[str, ...] | str | None = None):
        self.knobs = knobs
        self.interactions = interactions
        self.kernel = kernel
        self.target = target
        self.structure = structure

    def fit(self, X: pd.DataFrame | Columns, y=None) -> KnobEncoder:
        self._fit(X)
        return self

    def fit_transform(self, X: pd.DataFrame | Columns, y=None) -> np.ndarray:
        return self.expand(self.base_matrix(self._fit(X), row_count(X)))

    def _fit(self, X: pd.DataFrame | Columns) -> dict[str, np.ndarray]:
        """Fit, and return the base columns of ``X``."""
        if self.kernel is not None:
            self.structure_ = kernel_structure(self.kernel, self.target)
        self.numeric_: dict[str, bool] = {}  # numeric knob -> encoded as log2 (every value positive)
        self.categories_: dict[str, list[str]] = {}
        knobs = columns_of(X, self.knobs)
        inactive = {knob: pd.isna(values) for knob, values in knobs.items()}
        for knob, values in knobs.items():
            active = numbers(values[~inactive[knob]])
            if len(active) and not np.isnan(active).any():
                self.numeric_[knob] = bool((active > 0).all())
            else:
                self.categories_[knob] = sorted(set(texts(values, INACTIVE)))
        self.sometimes_inactive_ = [k for k in self.numeric_ if inactive[k].any()]
        columns = self.encode(X)
        self.base_columns_ = list(columns)
        self.pairs_ = self._pairs(columns) if self.interactions else []
        position = {column: i for i, column in enumerate(self.base_columns_)}
        self.pair_positions_ = (np.array([position[a] for a, _ in self.pairs_], dtype=int),
                                np.array([position[b] for _, b in self.pairs_], dtype=int))
        self.columns_ = self.base_columns_ + [f"{a}*{b}" for a, b in self.pairs_]
        return columns

    def transform(self, X: pd.DataFrame | Columns) -> np.ndarray:
        return self.expand(self.base_matrix(self.encode(X), row_count(X)))

    def base_matrix(self, encoded: dict[str, np.ndarray], rows: int) -> np.ndarray:
        """The base columns from :meth:`encode` as a matrix (shared by encoders fitted alike);
        a column ``encoded`` lacks is 0."""
        matrix = np.zeros((rows, len(self.base_columns_)))
        for position, column in enumerate(self.base_columns_):
            if column in encoded:
                matrix[:, position] = encoded[column]
        return matrix

    def expand(self, base: np.ndarray) -> np.ndarray:
        """The base matrix with the interaction products appended: the full feature matrix."""
        left, right = self.pair_positions_
        return np.hstack([base, base[:, left] * base[:, right]])

    def encode(self, X: pd.DataFrame | Columns, shared: dict | None = None) -> dict[str, np.ndarray]:
        """Each base column (before interactions) of ``X``. ``shared`` keeps the structural
        features of ``X`` for other encoders of the same kernel."""
        knobs = columns_of(X, self.knobs)
        columns: dict[str, np.ndarray] = {}
        features = self._structural(knobs, {} if shared is None else shared) if self.kernel is not None else {}
        general = [name for name in features if name not in PROXY_ONLY]
        if self.kernel is not None and self.structure is not None:
            return {f"kernel:{name}": features[name] for name in
                    (general if self.structure == "all" else self.structure)}
        for knob, log in self.numeric_.items():
            values = numbers(knobs[knob])
            active = ~np.isnan(values)
            values = np.where(active, values, 1.0 if log else 0.0)
            columns[f"{knob}:log2" if log else knob] = np.log2(np.maximum(values, 1e-9)) if log else values
            if knob in self.sometimes_inactive_:
                columns[f"{knob}:active"] = active.astype(float)
        for knob, categories in self.categories_.items():
            text = texts(knobs[knob], INACTIVE)
            for category in categories:
                columns[f"{knob}={category}"] = (text == category).astype(float)
            factors = {c: float(found.group(1)) for c in categories if (found := _FACTOR.search(c))}
            if factors:
                columns[f"{knob}:factor_log2"] = np.log2([factors.get(t, 1.0) for t in text])
        for name in general:
            columns[f"kernel:{name}"] = features[name]
        return columns

    def _structural(self, knobs: dict[str, np.ndarray], shared: dict) -> dict[str, np.ndarray]:
        """The structural features of ``knobs``, kept in ``shared`` under this kernel's structure."""
        key = ("structure", id(self.structure_), tuple(self.knobs))
        if key not in shared:
            shared[key] = self.structure_.features(knobs)
        return shared[key]

    def _pairs(self, columns: dict[str, np.ndarray]) -> list[tuple[str, str]]:
        groups = _knob_groups(self.knobs, self.kernel)
        owner = {c: c.split("=")[0].split(":")[0] for c in columns}
        pairs = []
        for a, b in itertools.combinations(columns, 2):
            if owner[a] == owner[b] and "=" in a and "=" in b:
                continue  # two categories of one knob never both hold
            if self.kernel is None and "=" in a and "=" in b:
                continue  # products of categories of every knob pair: too many for tables of many knobs
            if groups.get(owner[a], 0) & groups.get(owner[b], 0) or owner[a] == owner[b] != "kernel":
                if np.std(columns[a] * columns[b]) > 0:
                    pairs.append((a, b))
        return pairs


_STRUCTURES: dict[int, tuple[Kernel, dict[str, Structure]]] = {}
"""Per kernel (by identity, kept alive here) and target, its :class:`Structure`: encoders
fitted again and again on one kernel share the rows it remembers."""


def kernel_structure(kernel: Kernel, target: str) -> Structure:
    _, by_target = _STRUCTURES.setdefault(id(kernel), (kernel, {}))
    if target not in by_target:
        by_target[target] = Structure(kernel, get_target(target))
    return by_target[target]


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
