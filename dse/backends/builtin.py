"""The builtin backend: our own open-source HLS estimation flow, always available.

Fidelity ``estimate`` runs :class:`dse.estimate.Estimator` on the front-end's IR
under the configuration's directives; it takes milliseconds per point."""

from __future__ import annotations

import time
from pathlib import Path

from .. import __version__
from ..estimate import Estimator, Infeasible
from ..render import directives
from ..targets import TARGETS, get_target
from .base import Backend, DesignPoint, Result, forget_kernels, point_kernel

_ESTIMATES: dict[tuple, dict] = {}
"""Per worker process, kernel source and top: the estimator's caches."""


def clear_caches() -> None:
    """Forget kernels and estimates (worker processes forked after this start cold)."""
    forget_kernels()
    _ESTIMATES.clear()


class BuiltinBackend(Backend):
    name = "builtin"
    fidelities = ("estimate",)
    targets = tuple(TARGETS)

    def version(self) -> str:
        return f"hls-dse {__version__} estimate"

    def run(self, point: DesignPoint, workdir: Path | None) -> Result:
        started = time.perf_counter()
        kernel = point_kernel(point)
        cache = _ESTIMATES.setdefault((point.source_hash, point.top), {})
        if len(cache) > 50_000:
            cache.clear()
        target = get_target(point.target)
        try:
            estimate = Estimator(kernel, directives(kernel, point.config), target, point.clock_ns, cache).run()
        except Infeasible as why:
            return Result("infeasible", tool_version=self.version(), runtime_s=time.perf_counter() - started,
                          error=str(why))
        metrics = {
            "latency_cycles": estimate.latency_cycles, "ii": estimate.interval, "lut": estimate.lut,
            "ff": estimate.ff, "dsp": estimate.dsp, "bram": estimate.bram, "clock_ns_est": estimate.clock_ns,
            "fmax_mhz": round(1000 / estimate.clock_ns, 2),
            "util_lut": round(100 * estimate.lut / target.lut, 2), "util_ff": round(100 * estimate.ff / target.ff, 2),
            "util_dsp": round(100 * estimate.dsp / target.dsp, 2),
            "util_bram": round(100 * estimate.bram / target.bram18, 2),
        }
        details = {"loops": [vars(loop) for loop in estimate.loops], "notes": estimate.notes}
        return Result("ok", metrics, self.version(), time.perf_counter() - started, details=details)
