"""The builtin backend: our own open-source HLS flow, always available.

Fidelity ``estimate`` runs :class:`dse.estimate.Estimator` on the front-end's IR
under the configuration's directives; it takes milliseconds per point. Fidelity
``synth`` writes the Verilog of that schedule (:mod:`dse.rtl`) and synthesises it
with Yosys (:mod:`dse.yosys`): LUT, FF, DSP and BRAM are Yosys' counts; latency, II
and clock stay the schedule's. It takes seconds to minutes per point."""

from __future__ import annotations

import subprocess
import tempfile
import time
from pathlib import Path

from .. import __version__
from ..estimate import Estimator, Infeasible
from ..parsers import utilisation
from ..render import directives
from ..rtl import REVISION, TOP, Unsupported, generate_verilog
from ..targets import TARGETS, get_target
from ..yosys import synthesise, yosys_version
from .base import Backend, DesignPoint, Result, forget_kernels, point_kernel

_ESTIMATES: dict[tuple, dict] = {}
"""Per worker process, kernel source and top: the estimator's caches."""


def clear_caches() -> None:
    """Forget kernels and estimates (worker processes forked after this start cold)."""
    forget_kernels()
    _ESTIMATES.clear()


class BuiltinBackend(Backend):
    name = "builtin"
    fidelities = ("estimate", "synth")
    targets = tuple(TARGETS)
    costs = {"estimate": 0.01, "synth": 1.0}

    def version(self) -> str:
        return f"hls-dse {__version__} estimate, rtl {REVISION}"

    def check(self, target: str, fidelity: str) -> None:
        super().check(target, fidelity)
        if fidelity == "synth":
            yosys_version()  # Yosys missing: one clear error before any run

    def run(self, point: DesignPoint, workdir: Path | None) -> Result:
        started = time.perf_counter()
        kernel = point_kernel(point)
        synth = point.fidelity == "synth"
        cache = _ESTIMATES.setdefault((point.source_hash, point.top), {})
        if len(cache) > 50_000:
            cache.clear()
        target = get_target(point.target)
        try:
            estimator = Estimator(kernel, directives(kernel, point.config), target, point.clock_ns, cache,
                                  keep_schedules=synth)
            estimate = estimator.run()
        except Infeasible as why:
            return Result("infeasible", tool_version=self.version(), runtime_s=time.perf_counter() - started,
                          error=str(why))
        resources = {"lut": estimate.lut, "ff": estimate.ff, "dsp": estimate.dsp, "bram": estimate.bram}
        details = {"loops": [vars(loop) for loop in estimate.loops], "notes": estimate.notes}
        version = self.version()
        if synth:
            version = f"{version} + {yosys_version()}"
            try:
                resources = self._synthesise(estimator, point, workdir)
            except Unsupported as why:
                return Result("failed", tool_version=version, runtime_s=time.perf_counter() - started,
                              error=f"synth: the RTL generator does not implement {why} yet")
            except RuntimeError as why:
                return Result("failed", tool_version=version, runtime_s=time.perf_counter() - started,
                              error=f"synth: Yosys: {why}")
        metrics = {"latency_cycles": estimate.latency_cycles, "ii": estimate.interval, **resources,
                   "clock_ns_est": estimate.clock_ns, "fmax_mhz": round(1000 / estimate.clock_ns, 2),
                   **utilisation(resources, target.capacity)}
        return Result("ok", metrics, version, time.perf_counter() - started, details=details)

    def _synthesise(self, estimator: Estimator, point: DesignPoint, workdir: Path | None) -> dict[str, int]:
        """Yosys' resources for the schedule's Verilog (kept in the point's folder under ``workdir``)."""
        verilog = generate_verilog(estimator)
        with tempfile.TemporaryDirectory() as scratch:
            folder = self.folder(point, workdir) if workdir is not None else Path(scratch)
            path = folder / f"{TOP}.v"
            path.write_text(verilog)
            try:
                return synthesise(path, point.target, TOP)
            except subprocess.TimeoutExpired as expired:
                raise RuntimeError(f"no result after {expired.timeout:g} s") from None
