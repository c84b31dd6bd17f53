"""Parsers of the reports HLS tools write, into the store's metric names.

Vitis HLS and Vivado HLS: ``csynth.xml`` (or ``<top>_csynth.xml``) after C synthesis, its
text twin ``<top>_csynth.rpt``, and ``export_syn.xml`` / ``export_impl.xml`` (Vivado HLS:
``<top>_export.xml``) after ``export_design -flow syn|impl``. PandA Bambu: its standard
output (scheduling, binding and, with ``--simulate``, evaluation summaries) and the results
XML it writes with ``--simulate`` or ``--evaluation``.

A value the tool does not report, or reports as ``undef``/``NA``/``-``, is ``None``, never 0.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ElementTree
from dataclasses import dataclass, field
from pathlib import Path

from .errors import DseError
from .objectives import RESOURCES, utilisation_column


@dataclass
class Report:
    """What one report says: metrics under the store's names, and the rest as details."""

    metrics: dict[str, float | None] = field(default_factory=dict)
    details: dict = field(default_factory=dict)
    available: dict[str, float] = field(default_factory=dict)  # device capacity per resource, when reported
    error: str | None = None  # the tool's own error line, when the report shows a failed run



def utilisation(metrics: dict[str, float | None], available: dict[str, float]) -> dict[str, float]:
    """``util_<resource>``: % of the device's ``available`` resources, for those both give."""
    return {utilisation_column(r): round(100 * metrics[r] / available[r], 2) for r in RESOURCES
            if metrics.get(r) is not None and available.get(r)}


def number(text: str | None) -> float | None:
    """A report cell as a number: ``undef``, ``NA``, ``-``, empty or absent are None;
    ``~0`` (Vitis' rounding of a small share) is 0; thousands separators are dropped."""
    if text is None:
        return None
    cleaned = text.strip().replace(",", "").lstrip("~")
    try:
        value = float(cleaned)
    except ValueError:
        return None
    return int(value) if value.is_integer() and "." not in cleaned else value


def _fmax(period_ns: float | None) -> float | None:
    return round(1000 / period_ns, 2) if period_ns else None


def _xml(path: Path) -> ElementTree.Element:
    try:
        return ElementTree.parse(path).getroot()
    except FileNotFoundError:
        raise DseError(f"{path}: report missing") from None
    except ElementTree.ParseError as error:
        raise DseError(f"{path}: not a readable XML report ({error})") from None


def _text(root: ElementTree.Element, path: str) -> str | None:
    found = root.find(path)
    return found.text if found is not None else None


# ----- Vitis HLS / Vivado HLS ---------------------------------------------------------------
_XML_RESOURCES = {"lut": ("LUT",), "ff": ("FF",), "dsp": ("DSP", "DSP48E"), "bram": ("BRAM_18K", "BRAM")}


def _resources(element: ElementTree.Element | None) -> dict[str, float | None]:
    """LUT/FF/DSP/BRAM of a ``<Resources>`` element, in either dialect (Vivado HLS names
    DSPs ``DSP48E``), with URAM when the device has it."""
    found: dict[str, float | None] = {}
    for metric, tags in _XML_RESOURCES.items():
        found[metric] = next((number(element.findtext(t)) for t in tags
                              if element is not None and element.find(t) is not None), None)
    if element is not None and element.find("URAM") is not None:
        found["uram"] = number(element.findtext("URAM"))
    return found


def _loop_summary(element: ElementTree.Element) -> dict:
    """One loop of ``<SummaryOfLoopLatency>``; a range (``<range><min>…<max>``) keeps its max."""
    def value(tag: str) -> float | None:
        node = element.find(tag)
        if node is None:
            return None
        return number(node.findtext("range/max")) if node.find("range") is not None else number(node.text)
    loop = {"name": element.tag, "trip_count": value("TripCount"), "latency": value("Latency"),
            "iteration_latency": value("IterationLatency"), "ii": value("PipelineII"),
            "depth": value("PipelineDepth")}
    inner = [_loop_summary(child) for child in element
             if child.find("TripCount") is not None or child.find("Latency") is not None]
    if inner:
        loop["loops"] = inner
    return loop


def parse_csynth_xml(path: str | Path) -> Report:
    """A ``csynth.xml`` of Vitis HLS or Vivado HLS (C synthesis estimates)."""
    path = Path(path)
    root = _xml(path)
    if root.find("PerformanceEstimates") is None and root.find("AreaEstimates") is None:
        raise DseError(f"{path}: not a C synthesis report (no PerformanceEstimates or AreaEstimates)")
    overall = "PerformanceEstimates/SummaryOfOverallLatency/"
    estimated = number(_text(root, "PerformanceEstimates/SummaryOfTimingAnalysis/EstimatedClockPeriod"))
    worst = number(_text(root, overall + "Worst-caseLatency"))
    metrics = {"latency_cycles": worst, "ii": number(_text(root, overall + "Interval-max")),
               **_resources(root.find("AreaEstimates/Resources")), "clock_ns_est": estimated,
               "fmax_mhz": _fmax(estimated)}
    loops = root.find("PerformanceEstimates/SummaryOfLoopLatency")
    details = {
        "tool_version": _text(root, "ReportVersion/Version"), "part": _text(root, "UserAssignments/Part"),
        "top": _text(root, "UserAssignments/TopModelName"),
        "target_clock_ns": number(_text(root, "UserAssignments/TargetClockPeriod")),
        "clock_uncertainty_ns": number(_text(root, "UserAssignments/ClockUncertainty")),
        "latency_best": number(_text(root, overall + "Best-caseLatency")),
        "latency_average": number(_text(root, overall + "Average-caseLatency")),
        "latency_worst": worst, "interval_min": number(_text(root, overall + "Interval-min")),
        "interval_max": metrics["ii"], "pipeline_type": _text(root, "PerformanceEstimates/PipelineType"),
        "loops": [_loop_summary(loop) for loop in loops] if loops is not None else [],
    }
    available = {k: v for k, v in _resources(root.find("AreaEstimates/AvailableResources")).items() if v}
    return Report(metrics, details, available)


def parse_export_xml(path: str | Path) -> Report:
    """``export_syn.xml`` / ``export_impl.xml`` (Vivado HLS: ``<top>_export.xml``): resources
    after Vivado synthesis or implementation, and the achieved clock period."""
    path = Path(path)
    root = _xml(path)
    if root.find("AreaReport") is None and root.find("TimingReport") is None:
        raise DseError(f"{path}: not an export_design report (no AreaReport or TimingReport)")
    achieved = number(_text(root, "TimingReport/AchievedClockPeriod"))
    metrics = {**_resources(root.find("AreaReport/Resources")), "clock_ns_est": achieved, "fmax_mhz": _fmax(achieved)}
    details = {"run_type": _text(root, "RunData/RUN_TYPE"),
               "target_clock_ns": number(_text(root, "TimingReport/TargetClockPeriod")),
               "timing_met": _text(root, "TimingReport/TIMING_MET"),
               "slice": number(_text(root, "AreaReport/Resources/SLICE")),
               "srl": number(_text(root, "AreaReport/Resources/SRL"))}
    available = {k: v for k, v in _resources(root.find("AreaReport/AvailableResources")).items() if v}
    return Report(metrics, details, available)


def _table_rows(lines: list[str], start: int) -> list[list[str]]:
    """The cells of each ``|…|`` row of the ASCII table starting at or after ``start``."""
    rows, seen_table = [], False
    for line in lines[start:]:
        stripped = line.strip()
        if stripped.startswith("|"):
            rows.append([cell.strip() for cell in stripped.strip("|").split("|")])
            seen_table = True
        elif seen_table and not stripped.startswith("+"):
            break
    return rows


def _line_after(lines: list[str], marker: str, path: Path) -> int:
    for position, line in enumerate(lines):
        if marker in line:
            return position
    raise DseError(f"{path}: no '{marker.strip()}' section; not a complete csynth report")


def parse_csynth_rpt(path: str | Path) -> Report:
    """The text ``<top>_csynth.rpt`` of Vitis HLS or Vivado HLS: clock, overall latency and
    interval, the utilisation totals and the device's capacity."""
    path = Path(path)
    try:
        lines = path.read_text(errors="replace").splitlines()
    except FileNotFoundError:
        raise DseError(f"{path}: report missing") from None
    if any("== Synthesis Summary Report" in line for line in lines):
        return _parse_summary_rpt(lines, path)
    timing = _table_rows(lines, _line_after(lines, "+ Timing", path))
    clock = next((row for row in timing if row[0] == "ap_clk"), None)
    estimated = number(clock[2].replace("ns", "")) if clock else None
    latency = _table_rows(lines, _line_after(lines, "+ Latency", path))
    summary = next((row for row in latency if number(row[0]) is not None or row[0] in ("?", "undef")), None)
    utilisation = _table_rows(lines, _line_after(lines, "== Utilization Estimates", path))
    header = next(row for row in utilisation if row[0] == "Name")
    columns = {name.strip(): position for position, name in enumerate(header)}

    def resources(row_name: str) -> dict[str, float | None]:
        row = next((r for r in utilisation if r[0] == row_name), None)
        found = {}
        for metric, tags in _XML_RESOURCES.items():
            tag = next((t for t in tags if t in columns), None)
            found[metric] = number(row[columns[tag]]) if row and tag else None
        return found

    metrics = {"latency_cycles": number(summary[1]) if summary else None,
               "ii": number(summary[5]) if summary else None, **resources("Total"),
               "clock_ns_est": estimated, "fmax_mhz": _fmax(estimated)}
    version = next((line.split(":", 1)[1].strip() for line in lines if line.startswith("* Version:")), None)
    details = {"tool_version": version, "target_clock_ns": number(clock[1].replace("ns", "")) if clock else None,
               "latency_best": number(summary[0]) if summary else None,
               "pipeline_type": summary[6] if summary and len(summary) > 6 else None}
    available = {k: v for k, v in resources("Available").items() if v}
    return Report(metrics, details, available)


def _parse_summary_rpt(lines: list[str], path: Path) -> Report:
    """The "Synthesis Summary Report" ``csynth.rpt`` of Vitis HLS 2020.2 and later: the top
    module's row of its table (``+`` marks modules, ``o`` loops). It writes a resource the
    design does not use as ``-`` (its ``<top>_csynth.rpt`` twin says 0)."""
    rows = _table_rows(lines, _line_after(lines, "+ Performance & Resource Estimates", path))
    top = next((row for row in rows if row[0].startswith("+")), None)
    if top is None or len(top) < 13:
        raise DseError(f"{path}: the summary table has no module row")

    def resource(cell: str) -> float | None:
        return 0 if cell == "-" else number(cell.split("(")[0])
    metrics = {"latency_cycles": number(top[3]), "ii": number(top[6]), "bram": resource(top[9]),
               "dsp": resource(top[10]), "ff": resource(top[11]), "lut": resource(top[12]),
               "clock_ns_est": None, "fmax_mhz": None}
    version = next((line.split(":", 1)[1].strip() for line in lines if "* Version:" in line), None)
    details = {"tool_version": version, "top": top[0].lstrip("+ ").strip(), "slack_ns": number(top[2]),
               "pipelined": top[8],
               "loops": [{"name": row[0].lstrip("o ").strip(), "latency": number(row[3]), "ii": number(row[6]),
                          "trip_count": number(row[7]), "pipelined": row[8]}
                         for row in rows if row[0].startswith("o ")]}
    return Report(metrics, details)


# ----- PandA Bambu ---------------------------------------------------------------------------
_BAMBU_LOG = {
    "control_steps": r"Number of control steps:\s*(\S+)",
    "fmax_mhz": r"Estimated max frequency \(MHz\):\s*(\S+)",
    "area": r"Total estimated area:\s*(\S+)",
    "dsp": r"Estimated number of DSPs:\s*(\S+)",
    "ff": r"Total number of flip-flops in function \S+:\s*(\S+)",
    "latency_cycles": r"Total cycles\s*:\s*(\d+) cycles",
    "average_cycles": r"Average execution\s*:\s*(\d+) cycles",
}


def parse_bambu_log(path: str | Path) -> Report:
    """Bambu's standard output: for the top function (the first one reported) its control
    steps, estimated frequency, area, DSPs and flip-flops; with ``--simulate`` its cycles.
    An ``error ->`` line or an area of ``inf`` makes the report a failed run's."""
    path = Path(path)
    try:
        text = path.read_text(errors="replace")
    except FileNotFoundError:
        raise DseError(f"{path}: report missing") from None
    if "Bambu executed with" not in text and "PandA" not in text:
        raise DseError(f"{path}: not a Bambu log (no 'Bambu executed with' line)")
    found = {name: (match.group(1) if (match := re.search(pattern, text)) else None)
             for name, pattern in _BAMBU_LOG.items()}
    frequency = number(found["fmax_mhz"])
    metrics = {"latency_cycles": number(found["latency_cycles"]), "ff": number(found["ff"]),
               "dsp": number(found["dsp"]), "fmax_mhz": round(frequency, 2) if frequency else None,
               "clock_ns_est": round(1000 / frequency, 3) if frequency else None}
    version = re.search(r"Version: PandA (\S+)", text)
    command = re.search(r"Bambu executed with: (.*)", text)
    details = {"tool_version": version.group(1) if version else None,
               "command": command.group(1).strip() if command else None,
               "control_steps": number(found["control_steps"]), "estimated_area": number(found["area"]),
               "average_cycles": number(found["average_cycles"])}
    error = next((line.strip() for line in text.splitlines() if line.strip().startswith("error ->")), None)
    if error is None and found["area"] is not None and found["area"].lower() == "inf":
        error = "Bambu estimated an infinite area (the design cannot be built with these options)"
    return Report(metrics, details, error=error)


_BAMBU_XML = {"latency_cycles": "CYCLES", "lut": "SLICE_LUTS", "ff": "REGISTERS", "dsp": "DSPS", "bram": "BRAMS",
              "fmax_mhz": "FREQUENCY"}


def parse_bambu_xml(path: str | Path) -> Report:
    """The ``bambu_results_*.xml`` Bambu writes with ``--simulate`` (cycles) or ``--evaluation``
    (cycles, and area, registers, DSPs, BRAMs and frequency after logic synthesis)."""
    path = Path(path)
    root = _xml(path)
    if root.tag != "bambu_results":
        raise DseError(f"{path}: not a Bambu results file (root <{root.tag}>)")

    def value(tag: str) -> float | None:
        node = root.find(tag)
        return number(node.get("value")) if node is not None else None
    metrics = {metric: value(tag) for metric, tag in _BAMBU_XML.items()}
    if metrics["fmax_mhz"]:
        metrics["clock_ns_est"] = round(1000 / metrics["fmax_mhz"], 3)
    version = re.search(r"PandA (\S+)", root.get("bambu_version", ""))
    details = {"tool_version": version.group(1) if version else None, "command": root.get("bambu_args"),
               "area": value("AREA"), "slices": value("SLICE"), "execution_time": value("HLS_execution_time")}
    return Report(metrics, details)


def parse_report(tool: str, path: str | Path) -> Report:
    """Any report of ``tool`` (``vitis`` or ``bambu``), told apart by its name: for Vitis an
    ``export*.xml`` or another ``.xml`` (csynth) or a ``.rpt``; for Bambu an ``.xml`` or a log."""
    path = Path(path)
    if tool not in ("vitis", "bambu"):
        raise DseError(f"unknown tool '{tool}' (known: vitis, bambu)")
    if not path.is_file():
        raise DseError(f"{path}: no such report")
    suffix = path.suffix.lower()
    if tool == "bambu":
        return parse_bambu_xml(path) if suffix == ".xml" else parse_bambu_log(path)
    if suffix == ".rpt":
        return parse_csynth_rpt(path)
    if suffix != ".xml":
        raise DseError(f"{path}: Vitis reports read here are csynth.xml, export_syn/impl.xml and *_csynth.rpt")
    return parse_export_xml(path) if "export" in path.name else parse_csynth_xml(path)
