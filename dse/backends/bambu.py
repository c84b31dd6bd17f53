"""The bambu backend: PandA Bambu, the open-source HLS tool, driven by its command line.

The configuration gives the command line (clock period, optimisation level, memory
allocation policy and channels, functional pipelining: the ``[tools.bambu]`` knobs of a
space) and the loop unrolling, written into the source as the ``#pragma GCC unroll`` its
GCC and clang front-ends honour. Bambu has no loop pipelining or array partitioning
directives: those knobs are held at their neutral values.

Fidelities: ``estimate`` (Bambu's own scheduling and binding summary: control steps,
estimated frequency, area, DSPs, flip-flops), ``simulate`` (adds the cycle count of an RTL
simulation on a generated all-zero testbench) and ``evaluation`` (adds logic synthesis:
LUTs, registers, DSPs, BRAMs and frequency).
"""

from __future__ import annotations

import time
from pathlib import Path
from xml.sax.saxutils import quoteattr

from ..errors import DseError
from ..ir import Kernel
from ..parsers import parse_bambu_log, parse_bambu_xml
from ..render import annotate_source
from .base import Backend, DesignPoint, Result, point_kernel
from .tool import error_line, find_tool, run_tool, tool_version

INSTALL_HINT = "install PandA Bambu (its AppImage, renamed bambu, on PATH) or give --tool-path with its folder"
RELEASE = r"PandA (\S+)"
"""The release in Bambu's banner: ``Version: PandA 0.9.8 - Revision …``."""
DEVICES = {"xc7z020": "xc7z020-1clg484-VVD"}
"""Bambu's device names for the named targets; any other target is passed on as it is."""
OPTIONS: dict[str, tuple | type] = {
    "opt_level": ("O0", "O1", "O2", "O3", "Os"),
    "memory_policy": ("ALL_BRAM", "NO_BRAM", "LSS", "GSS", "EXT_PIPELINED_BRAM"),
    "channels_type": ("MEM_ACC_11", "MEM_ACC_N1", "MEM_ACC_NN"),
    "channels_number": int,  # only with MEM_ACC_N1 / MEM_ACC_NN
    "pipelining": ("off", "on"),
}
FLAGS = {"opt_level": "-{}", "memory_policy": "--memory-allocation-policy={}", "channels_type": "--channels-type={}",
         "channels_number": "--channels-number={}"}


def testbench(kernel: Kernel) -> str:
    """A Bambu testbench (XML) that calls the top function once with every argument zero."""
    values = []
    for name in kernel.functions[kernel.top].params:
        array = next((a for a in kernel.arrays if a.name == name and a.function == kernel.top), None)
        size = array.size if array is not None else None
        if array is not None and size is None:
            raise DseError(f"{kernel.source}: argument '{name}' of {kernel.top} has no known size; "
                           "Bambu's simulation needs one")
        values.append(f"{name}={quoteattr('{' + ','.join(['0'] * size) + '}' if size else '0')}")
    return f'<?xml version="1.0"?>\n<function>\n  <testbench {" ".join(values)}/>\n</function>\n'


class BambuBackend(Backend):
    name = "bambu"
    fidelities = ("estimate", "simulate", "evaluation")
    costs = {"estimate": 1.0, "simulate": 1.5, "evaluation": 8.0}  # typical run times relative to --estimate
    targets = tuple(DEVICES)
    directives = frozenset({"unroll", "period_ns"})
    options = OPTIONS

    def __init__(self, tool_path: str | None = None):
        self.tool_path = tool_path
        self._version: str | None = None

    def executable(self) -> Path:
        return find_tool(("bambu",), self.tool_path, INSTALL_HINT)

    def version(self) -> str:
        if self._version is None:
            self._version = f"bambu {tool_version(self.executable(), '--version', RELEASE)}"
        return self._version

    def accepts(self, target: str) -> bool:
        """A named target, or any device name Bambu knows (``xc7vx690t-3ffg1930-VVD``)."""
        return True

    def command(self, point: DesignPoint, source: str) -> list[str]:
        """Bambu's arguments (after the executable) for one point whose source is ``source``."""
        values = point.config.as_dict()
        arguments = [f"--top-fname={point_kernel(point).top}", f"--clock-period={point.clock_ns:g}",
                     f"--device-name={DEVICES.get(point.target, point.target)}"]
        for option, flag in FLAGS.items():
            if f"bambu.{option}" in values:
                arguments.append(flag.format(values[f"bambu.{option}"]))
        if values.get("bambu.pipelining") == "on":
            arguments.append("--pipelining")
        if point.fidelity in ("simulate", "evaluation"):
            arguments += ["--simulate", "--generate-tb=testbench.xml"]
        if point.fidelity == "evaluation":
            arguments.append("--evaluation")
        arguments += [f"-I{d}" for d in point.include_dirs] + [f"-D{d}" for d in point.defines]
        return arguments + ["--no-clean", source]

    def run(self, point: DesignPoint, workdir: Path | None) -> Result:
        started = time.perf_counter()
        folder = self.folder(point, workdir)
        kernel = point_kernel(point)
        source = folder / Path(point.source).name
        source.write_text(annotate_source(kernel, point.config, dialect="bambu"))
        if point.fidelity != "estimate":
            (folder / "testbench.xml").write_text(testbench(kernel))
        include = [f"-I{Path(point.source).resolve().parent}"]  # the kernel's own headers
        argv = [str(self.executable()), *include, *self.command(point, source.name)]
        log = folder / "bambu.log"
        code = run_tool(argv, folder, log)
        try:
            report = parse_bambu_log(log)
        except DseError:  # no summary at all: the tool died early; its last words say why
            report = None

        def failed(error: str) -> Result:
            return Result("failed", tool_version=self.version(), runtime_s=time.perf_counter() - started,
                          log_path=str(log), error=error)
        if report is None or report.error or code != 0:
            return failed(report.error if report and report.error else
                          f"bambu exited with {code}: {error_line(log, ('error ->', 'ERROR', 'Error'))}")
        metrics = {k: v for k, v in report.metrics.items() if v is not None}
        details = dict(report.details)
        if point.fidelity != "estimate":
            results = sorted(folder.glob("bambu_results*.xml"))
            if not results:
                return failed("report missing: bambu_results_0.xml (no simulation results)")
            measured = parse_bambu_xml(results[-1])
            metrics.update({k: v for k, v in measured.metrics.items() if v is not None})
            details["results"] = measured.details
        return Result("ok", metrics, self.version(), time.perf_counter() - started, str(log), details=details)
