"""The vitis backend: AMD Vitis HLS (``vitis_hls``), or Vivado HLS (``vivado_hls``) on older
installs, driven through a project script rendered from ``pragmas/templates``.

Fidelities: ``csynth`` (C synthesis estimates, minutes), ``syn`` (Vivado synthesis of the
exported RTL: real LUT/FF/DSP/BRAM and timing) and ``impl`` (place and route: the achieved
clock). Automatic loop pipelining and array partitioning are turned off so that only the
explored directives shape the design.
"""

from __future__ import annotations

import hashlib
import re
import shlex
import time
from pathlib import Path
from typing import Iterator

from ..errors import DseError
from ..parsers import Report, parse_csynth_xml, parse_export_xml, utilisation
from ..render import render_tcl, render_template
from ..space import Configuration
from ..targets import TARGETS
from .base import Backend, DesignPoint, Result, point_kernel
from .tool import error_line, find_tool, run_tool, tool_version

INSTALL_HINT = ("source the settings64.sh of a Vitis HLS (or Vivado HLS) install, "
                "or give --tool-path with its folder")
PROJECT, SOLUTION = "proj", "solution1"
RELEASE = r"v(\d{4}\.\d)"
"""The release in the tools' banner: ``Vitis HLS - High-Level Synthesis … v2022.1 (64-bit)``."""


class VitisBackend(Backend):
    name = "vitis"
    fidelities = ("csynth", "syn", "impl")
    costs = {"csynth": 1.0, "syn": 4.0, "impl": 12.0}  # typical run times relative to C synthesis
    targets = tuple(name for name, target in TARGETS.items() if target.part.startswith("xc"))

    def __init__(self, tool_path: str | None = None):
        self.tool_path = tool_path
        self._version: str | None = None

    def executable(self) -> Path:
        return find_tool(("vitis_hls", "vivado_hls"), self.tool_path, INSTALL_HINT)

    def version(self) -> str:
        if self._version is None:
            executable = self.executable()
            self._version = f"{executable.name} {tool_version(executable, '-version', RELEASE)}"
        return self._version

    def accepts(self, target: str) -> bool:
        """A named target, or any AMD part as it is (``xc7vx485t-ffg1761-2``)."""
        return target in self.targets or (target.startswith("xc") and target not in TARGETS)

    def _part(self, target: str) -> str:
        return TARGETS[target].part if target in TARGETS else target

    def script(self, point: DesignPoint) -> str:
        """The project script (``run_hls.tcl``) for one point."""
        tool, release = self.version().split()
        year, minor = (int(part) for part in release.split("."))
        cflags = " ".join([*(f"-I{d}" for d in point.include_dirs), *(f"-D{d}" for d in point.defines)])
        return render_template(
            "vitis_project.tcl.j2", tool=tool, kernel=point.kernel, hash=point.config.hash, project=PROJECT,
            solution=SOLUTION, top=point_kernel(point).top, source=str(Path(point.source).resolve()), cflags=cflags,
            part=self._part(point.target), clock_ns=f"{point.clock_ns:g}", vitis=tool == "vitis_hls",
            modern_partitioning=tool == "vitis_hls" and (year, minor) >= (2021, 1),
            flow=None if point.fidelity == "csynth" else point.fidelity)

    def run(self, point: DesignPoint, workdir: Path | None) -> Result:
        started = time.perf_counter()
        folder = self.folder(point, workdir)
        kernel = point_kernel(point)
        (folder / "directives.tcl").write_text(render_tcl(kernel, point.config, point.kernel))
        (folder / "run_hls.tcl").write_text(self.script(point))
        log = folder / "hls.log"
        code = run_tool([str(self.executable()), "-f", "run_hls.tcl"], folder, log)

        def failed(error: str) -> Result:
            return Result("failed", tool_version=self.version(), runtime_s=time.perf_counter() - started,
                          log_path=str(log), error=error)
        if code != 0:
            return failed(f"{self.version().split()[0]} exited with {code}: "
                          f"{error_line(log, ('ERROR:', 'Error:', 'CRITICAL WARNING:'))}")
        reports = folder / PROJECT / SOLUTION
        csynth = reports / "syn" / "report" / f"{kernel.top}_csynth.xml"
        if not csynth.is_file():
            return failed(f"report missing: {csynth.relative_to(folder)}")
        report = parse_csynth_xml(csynth)
        export = None
        if point.fidelity != "csynth":
            folder_of_export = reports / "impl" / "report" / "verilog"
            names = [f"export_{point.fidelity}.xml", f"{kernel.top}_export.xml"]  # Vitis HLS, Vivado HLS
            export = next((folder_of_export / n for n in names if (folder_of_export / n).is_file()), None)
            if export is None:
                return failed(f"report missing: {(folder_of_export / names[0]).relative_to(folder)}")
        metrics, measured = _metrics(report, export)
        details = {"csynth": report.details, **({point.fidelity: measured} if export else {})}
        return Result("ok", metrics, self.version(), time.perf_counter() - started, str(log), details=details)


def _metrics(csynth: Report, export: Path | None) -> tuple[dict, dict]:
    """A solution's metrics with utilisation: C synthesis estimates, overridden by what the
    ``export_design`` report measured when there is one; and that report's details."""
    metrics, available = dict(csynth.metrics), dict(csynth.available)
    if export is None:
        return {**metrics, **utilisation(metrics, available)}, {}
    exported = parse_export_xml(export)
    metrics.update({k: v for k, v in exported.metrics.items() if v is not None})
    available.update(exported.available)
    return {**metrics, **utilisation(metrics, available)}, exported.details



_FLAGS = {"-off", "-recursive", "-region", "-skip_exit_check", "-rewind", "-style"}


def configuration_of(directives_tcl: str) -> dict[str, object]:
    """The knobs a ``directives.tcl`` sets (``inner.unroll``, ``m1.partition``, …): the reverse
    of :func:`dse.render.render_tcl`. An unroll without ``-factor`` is ``complete``."""
    knobs: dict[str, object] = {}
    for line in directives_tcl.splitlines():
        words = shlex.split(line, comments=True)
        if not words or not words[0].startswith("set_directive_"):
            continue
        options, places, position = {}, [], 1
        while position < len(words):
            word = words[position]
            if word.startswith("-") and word not in _FLAGS and position + 1 < len(words):
                options[word], position = words[position + 1], position + 2
                continue
            if word.startswith("-"):
                options[word] = True
            else:
                places.append(word)
            position += 1
        kind, where = words[0][len("set_directive_"):], places[0].split("/") if places else [""]
        if kind == "unroll":
            knobs[f"{where[-1]}.unroll"] = int(options["-factor"]) if "-factor" in options else "complete"
        elif kind == "pipeline":
            knobs[f"{where[-1]}.pipeline"] = "off" if "-off" in options else "on"
            if "-II" in options:
                knobs[f"{where[-1]}.ii"] = int(options["-II"])
        elif kind == "array_partition" and len(places) > 1:
            array = places[1]
            knobs[f"{array}.partition"] = options.get("-type", "complete")
            for option, knob in (("-factor", "factor"), ("-dim", "dim")):
                if option in options:
                    knobs[f"{array}.{knob}"] = int(options[option])
        elif kind == "inline":
            knobs[f"{where[0]}.inline"] = "off" if "-off" in options else "on"
    return knobs


def _sources(project: Path) -> list[Path]:
    """The design sources (not test benches) a Vitis or Vivado HLS project file lists."""
    for name in ("hls.app", "vivado_hls.app"):
        if (project / name).is_file():
            text = (project / name).read_text(errors="replace")
            return [(project / found).resolve() for found in re.findall(r'<file name="([^"]+)"[^>]*tb="false"', text)]
    return []


def import_solutions(folder: str | Path, kernel: str | None = None) -> Iterator[tuple[DesignPoint, Result]]:
    """Every solution under ``folder`` that has a C synthesis report, as the design point and
    result a sweep would have stored (one per fidelity reported: csynth, and syn or impl when
    ``export_design`` ran). The configuration comes from the solution's ``directives.tcl`` (or
    that of the folder above the project, where hls-dse writes it); without one, the solution's
    name stands for it. The source hash covers the project's sources, else the report."""
    reports = sorted(Path(folder).rglob("syn/report/*_csynth.xml"))
    if not reports:
        raise DseError(f"{folder}: no Vitis/Vivado HLS solution with a syn/report/<top>_csynth.xml")
    for csynth in reports:
        solution = csynth.parents[2]
        project = solution.parent
        report = parse_csynth_xml(csynth)
        tcl = next((f for f in (solution / "directives.tcl", project.parent / "directives.tcl") if f.is_file()), None)
        config = configuration_of(tcl.read_text()) if tcl else {"vitis.solution": solution.name}
        sources = [s for s in _sources(project) if s.is_file()] or [csynth]
        digest = hashlib.sha256(b"".join(s.read_bytes() for s in sources)).hexdigest()
        version = report.details["tool_version"] or "unknown"
        tool = "vitis_hls" if version[:4].isdigit() and int(version[:4]) >= 2020 else "vivado_hls"
        exports = {f: solution / "impl" / "report" / "verilog" / f"export_{f}.xml" for f in ("syn", "impl")}
        for fidelity in ("csynth", *(f for f, path in exports.items() if path.is_file())):
            metrics, _ = _metrics(report, exports.get(fidelity))
            point = DesignPoint(kernel or report.details["top"] or project.name, str(sources[0]), digest,
                                report.details["top"], (), (), Configuration.of(config),
                                report.details["part"] or "unknown", report.details["target_clock_ns"] or 0.0, fidelity)
            yield point, Result("ok", metrics, f"{tool} {version}", details={"csynth": report.details,
                                                                             "imported_from": str(solution)})
