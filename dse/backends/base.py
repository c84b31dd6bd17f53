"""The interface every backend implements: a design point in, a result record out."""

from __future__ import annotations

import hashlib
import json
from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from pathlib import Path

from ..errors import DseError
from ..space import Configuration

STATUSES = ("ok", "failed", "timeout", "infeasible")
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


class Backend(ABC):
    """An HLS flow. ``fidelities`` lists what it can run, cheapest first."""

    name: str
    fidelities: tuple[str, ...]
    targets: tuple[str, ...]

    @abstractmethod
    def version(self) -> str:
        """The tool's version, part of every result's key."""

    @abstractmethod
    def run(self, point: DesignPoint, workdir: Path | None) -> Result:
        """Run one design point; ``workdir`` is where the backend may render and keep files."""

    def check(self, target: str, fidelity: str) -> None:
        """Refuse a target or fidelity this backend cannot run, with a clear error."""
        if fidelity not in self.fidelities:
            raise DseError(f"backend '{self.name}' has no fidelity '{fidelity}' "
                           f"(it offers: {', '.join(self.fidelities)})")
        if target not in self.targets:
            raise DseError(f"unknown target '{target}' for backend '{self.name}' (known: {', '.join(self.targets)})")
