"""The interface every backend implements: a design point in, a result record out."""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import json
from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from pathlib import Path

from ..errors import DseError, did_you_mean
from ..frontend import read_kernel
from ..ir import Kernel
from ..objectives import UTILISATION
from ..space import Configuration, Space

NEUTRAL = {"unroll": 1, "pipeline": "off", "partition": "none"}
"""The value of a directive that asks for nothing, for knobs a backend cannot apply."""

STATUSES = ("ok", "failed", "timeout", "infeasible", "unknown")
"""``unknown``: a configuration a replayed table does not have (it costs nothing)."""
METRICS = ("latency_cycles", "ii", "lut", "ff", "dsp", "bram", "clock_ns_est", "fmax_mhz")


@dataclass(frozen=True)
class DesignPoint:
    """One configuration of one kernel, to be run on a target at a clock and a fidelity."""

    kernel: str  # the study's name: a bundled kernel name or the C file's stem
    source: str  # path of the C file
    source_hash: str  # hash of the preprocessed source (see :func:`dse.kernels.source_hash`)
    top: str | None
    include_dirs: tuple[str, ...]
    defines: tuple[str, ...]
    config: Configuration
    target: str
    clock_ns: float
    fidelity: str

    def key(self, backend: str, version: str) -> str:
        """The content hash that identifies this point's result in a store."""
        parts = [self.source_hash, self.top, sorted(self.defines), self.config.canonical, backend, version,
                 self.target, self.clock_ns, self.fidelity]
        return hashlib.sha256(json.dumps(parts).encode()).hexdigest()


@dataclass
class Result:
    """What one backend run produced. Metrics are None when the tool did not report them."""

    status: str
    metrics: dict[str, float | None] = field(default_factory=dict)
    tool_version: str = ""
    runtime_s: float = 0.0
    log_path: str | None = None
    error: str | None = None
    details: dict = field(default_factory=dict)


@functools.lru_cache(maxsize=16)
def _read(source: str, source_hash: str, top: str | None, include_dirs: tuple, defines: tuple) -> Kernel:
    return read_kernel(source, top=top, include_dirs=list(include_dirs), defines=list(defines))


def point_kernel(point: DesignPoint) -> Kernel:
    """The kernel of a design point, read once per process."""
    return _read(point.source, point.source_hash, point.top, point.include_dirs, point.defines)


def forget_kernels() -> None:
    _read.cache_clear()


class Backend(ABC):
    """An HLS flow. ``fidelities`` lists what it can run, cheapest first; ``directives`` the
    space's directives it applies; ``options`` its own options a space may explore
    (``[tools.<name>]``), each with its legal values (an int type: any whole number >= 1)."""

    name: str
    fidelities: tuple[str, ...]
    targets: tuple[str, ...]
    directives: frozenset[str] = frozenset({"unroll", "pipeline", "ii", "partition", "factor", "dim", "inline",
                                            "period_ns"})
    options: dict[str, tuple | type] = {}
    metrics: frozenset[str] = frozenset({*METRICS, *UTILISATION})
    """What its results may report: the metrics objectives and constraints can name."""
    costs: dict[str, float] = {}
    """What one run of each fidelity costs, in any unit (a search counts its budget in the cost
    of its most expensive fidelity); a fidelity missing here costs 1."""

    def cost(self, fidelity: str) -> float:
        return self.costs.get(fidelity, 1.0)

    def adapt(self, space: Space) -> tuple[Space, list[str]]:
        """The space as this backend runs it, and the knobs it fixed: its own options are
        checked, another tool's are refused, and a directive it cannot apply is fixed at its
        neutral value (so that no two configurations give the same design)."""
        knobs, fixed = {}, []
        for name, knob in space.knobs.items():
            if knob.kind == "tools":
                self._check_option(space, name, knob)
            elif knob.kind == "columns" and "values" not in self.directives:
                raise DseError(f"{space.where}: knob '{name}' is a column of a recorded table; only the replay "
                               f"backend runs those")
            elif knob.directive not in self.directives and len(knob.values) > 1:
                neutral = NEUTRAL.get(knob.directive, knob.default)
                knob = dataclasses.replace(knob, values=(neutral if neutral in knob.values else knob.default,))
                if knob.condition() is None:  # a conditional knob follows its parent
                    fixed.append(name)
            knobs[name] = knob
        return dataclasses.replace(space, knobs=knobs), fixed

    def _check_option(self, space: Space, name: str, knob) -> None:
        if knob.target != self.name:
            raise DseError(f"{space.where}: knob '{name}' is an option of {knob.target}; "
                           f"the {self.name} backend cannot apply it")
        if knob.directive not in self.options:
            known = ", ".join(self.options) or "none"
            raise DseError(f"{space.where}: unknown {self.name} option '{knob.directive}'"
                           f"{did_you_mean(knob.directive, self.options)} (known: {known})")
        legal = self.options[knob.directive]
        for value in knob.values:
            if (value not in legal) if isinstance(legal, tuple) else not (isinstance(value, int) and value >= 1):
                allowed = ", ".join(map(str, legal)) if isinstance(legal, tuple) else "a whole number >= 1"
                raise DseError(f"{space.where}: {name} = {value!r} is not a legal value ({allowed})")

    def folder(self, point: DesignPoint, workdir: Path | None) -> Path:
        """A folder of its own for one point's files: ``WORKDIR/<kernel>/<key prefix>``."""
        if workdir is None:
            raise DseError(f"the {self.name} backend needs a folder for its runs (--workdir DIR)")
        folder = Path(workdir) / point.kernel / point.key(self.name, self.version())[:16]
        folder.mkdir(parents=True, exist_ok=True)
        return folder

    @abstractmethod
    def version(self) -> str:
        """The tool's version, part of every result's key."""

    @abstractmethod
    def run(self, point: DesignPoint, workdir: Path | None) -> Result:
        """Run one design point; ``workdir`` is where the backend may render and keep files."""

    def accepts(self, target: str) -> bool:
        """Whether this backend can run for ``target``."""
        return target in self.targets

    def check(self, target: str, fidelity: str) -> None:
        """Refuse a target or fidelity this backend cannot run, with a clear error."""
        if fidelity not in self.fidelities:
            raise DseError(f"backend '{self.name}' has no fidelity '{fidelity}' "
                           f"(it offers: {', '.join(self.fidelities)})")
        if not self.accepts(target):
            raise DseError(f"unknown target '{target}' for backend '{self.name}' (known: {', '.join(self.targets)})")
