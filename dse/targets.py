"""Target devices and their operator libraries.

A target gives the device's capacity (for utilisation in %) and, per operation
kind and type, what an HLS tool instantiates for it: its delay, whether it is a
pipelined core (floating point, wide multipliers, dividers) and its LUT/FF/DSP
cost. The estimator turns delays into cycles at the requested clock.

Sources of the numbers (approximate by nature; they carry facts, not code):

* Device capacities: AMD DS190 (Zynq-7000 overview: xc7z020 has 53,200 LUT,
  106,400 FF, 220 DSP48E1, 140 BRAM36) and Lattice FPGA-DS-02012 (ECP5 family:
  LFE5U-85 has 83,640 LUT4 and as many flip-flops, 156 18x18 multipliers,
  208 DP16KD 18 kbit blocks).
* Floating-point cores on 7-series: the latencies Vitis HLS 2022.x reports at
  100 MHz for its full-DSP cores (fadd 4, dadd 5, fmul 3, dmul 6, fdiv 16,
  ddiv 31 cycles, compares combinational), and their LUT/FF/DSP from the
  binding tables of its csynth reports and the Floating-Point Operator product
  guide (PG060). The delay of a core is set so that, with Vitis' default clock
  uncertainty of 27%, it needs exactly those cycles at 10 ns.
* Integer operators: a carry chain costs one LUT per bit on 7-series (two LUT4
  per bit on ECP5, whose carry logic is slower); multipliers use DSP48E1 tiles
  (25x18) or ECP5 MULT18X18D blocks, tiled over the operand widths.
* Memories: 7-series BRAM18 (18 kbit, up to 36 bits wide in true dual port),
  ECP5 DP16KD (18 kbit, up to 18 bits wide in true dual port), distributed RAM
  in 64x1 (7-series LUT6) or 16x4 (ECP5 slice) pieces; BRAM clock-to-out from
  the DC and switching characteristics data sheets (DS187, FPGA-DS-02012).
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass

import numpy as np

from .errors import DseError

CLOCK_UNCERTAINTY = 0.27
"""Share of the clock period an HLS scheduler keeps as margin (Vitis HLS' default)."""
LUTRAM_MAX_BITS = 1024
"""Largest bank an HLS tool maps to distributed RAM rather than block RAM."""


@dataclass(frozen=True)
class Operator:
    """What one operation costs in hardware.

    ``delay_ns`` is the combinational delay of a chainable operator, or the total
    delay of a pipelined core, which the estimator splits into stages."""

    delay_ns: float
    lut: int
    ff: int = 0
    dsp: int = 0
    pipelined: bool = False
    shareable: bool = False


@dataclass(frozen=True)
class Memory:
    """A block RAM flavour: its size and the (width, depth) shapes it can take."""

    name: str
    bits: int
    shapes: tuple[tuple[int, int], ...]
    clock_to_out_ns: float
    lutram_depth: int
    lutram_luts_per_bit: float


@dataclass(frozen=True)
class Target:
    name: str
    part: str
    lut: int
    ff: int
    dsp: int
    bram18: int
    lut_inputs: int
    multiplier_widths: tuple[int, int]
    float_cores: dict[str, tuple[float, int, int, int]]
    carry_ns_per_bit: float
    logic_level_ns: float
    memory: Memory
    register_overhead_ns: float

    @property
    def capacity(self) -> dict[str, int]:
        """What the device has of each resource (block RAM in 18 kbit tiles)."""
        return {"lut": self.lut, "ff": self.ff, "dsp": self.dsp, "bram": self.bram18}

    def usable_ns(self, clock_ns: float) -> float:
        """The part of a clock period the scheduler may fill with logic."""
        return clock_ns * (1 - CLOCK_UNCERTAINTY)

    def stages(self, operator: Operator, clock_ns: float) -> int:
        """Cycles a pipelined core takes at this clock (0 for chainable operators)."""
        if not operator.pipelined:
            return 0
        return max(1, math.ceil(operator.delay_ns / self.usable_ns(clock_ns)))

    def read_mux_luts(self, bits, inputs):
        """LUTs of a ``bits``-wide multiplexer over ``inputs`` banks (numbers or numpy arrays)."""
        return bits * -(-(inputs - 1) // max(1, self.lut_inputs - 3))

    @staticmethod
    def operand_mux_luts(bits, shared_by):
        """LUTs of the operand multiplexers in front of a core that ``shared_by`` operations
        share (numbers or numpy arrays)."""
        return 2 * bits * -(-(shared_by - 1) // 3)

    def memory_cost(self, width: int, banks, words) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(block RAM tiles, LUT, FF) of ``banks`` banks of ``words`` ``width``-bit elements:
        registers for one word, LUTRAM up to ``LUTRAM_MAX_BITS``, else the cheapest block RAM
        shape (numbers or numpy arrays)."""
        memory = self.memory
        banks, words = np.asarray(banks, float), np.asarray(words, float)
        registers = words == 1
        lutram = ~registers & (words * width <= LUTRAM_MAX_BITS)
        tiles = np.minimum.reduce([np.ceil(width / w) * np.ceil(words / depth) for w, depth in memory.shapes])
        lut = np.where(registers, width * banks / 2,
                       np.where(lutram, banks * width * np.ceil(words / memory.lutram_depth)
                                * memory.lutram_luts_per_bit, 0.0))
        return (np.where(registers | lutram, 0.0, banks * tiles), lut, np.where(registers, width * banks, 0.0))

    def multiplier_blocks(self, bits: int) -> int:
        """Hard multiplier blocks for a bits x bits product (low half kept, as C does)."""
        wide, narrow = self.multiplier_widths
        if bits <= narrow:
            return 1
        tiles = math.ceil(bits / (wide - 1)) * math.ceil(bits / (narrow - 1))
        return max(1, tiles - math.ceil(bits / (wide - 1)) + 1)

    def operator(self, kind: str, type_: str) -> Operator:
        """The operator an HLS tool binds to ``kind`` on values of ``type_`` (``f64``, ``i32`` ...)."""
        bits = type_bits(type_)
        lut_scale = 6 / self.lut_inputs
        if type_.startswith("f"):
            key = f"{kind}.{type_}"
            if key not in self.float_cores:
                key = f"add.{type_}" if kind in ("cast", "select") else key
            if kind == "select":
                return Operator(self.logic_level_ns, math.ceil(bits * lut_scale))
            delay, lut, ff, dsp = self.float_cores.get(key, self.float_cores[f"div.{type_}"])
            return Operator(delay, lut, ff, dsp, pipelined=kind != "cmp", shareable=True)
        carry = self.carry_ns_per_bit * bits
        if kind == "add":
            return Operator(self.logic_level_ns + carry, math.ceil(bits * lut_scale))
        if kind == "cmp":
            return Operator(self.logic_level_ns + carry / 2, math.ceil(bits / 2 * lut_scale))
        if kind in ("logic", "select"):
            return Operator(self.logic_level_ns, math.ceil(bits * lut_scale))
        if kind == "shift":
            levels = max(1, math.ceil(math.log2(bits) / math.log2(self.lut_inputs / 2)))
            return Operator(self.logic_level_ns * levels, math.ceil(bits * levels * lut_scale))
        if kind == "mul":
            blocks = self.multiplier_blocks(bits)
            return Operator(3.0 + 1.2 * math.log2(blocks + 1) + carry, math.ceil(bits * lut_scale) if blocks > 1 else 0,
                            dsp=blocks, pipelined=blocks > 1, shareable=True)
        if kind == "div":
            # a radix-2 divider: one subtract-and-select per quotient bit
            return Operator(bits * (self.logic_level_ns + carry), math.ceil(bits * bits * 1.1 * lut_scale),
                            ff=bits * bits * 2, pipelined=True, shareable=True)
        if kind == "call":
            return Operator(self.logic_level_ns * 2, 50)
        return Operator(0.0, 0)  # casts between integer widths are wiring


@functools.cache
def type_bits(type_: str) -> int:
    """Width of an IR type such as ``f64``, ``i32`` or ``u8`` (32 for anything else)."""
    digits = type_.lstrip("fiu")
    return int(digits) if digits.isdigit() else 32


_XILINX_FLOAT = {
    # kind.type: (delay ns, LUT, FF, DSP48E1); delay = cycles at 100 MHz x 7.3 ns usable
    "add.f32": (29.0, 227, 214, 2), "add.f64": (36.0, 630, 1060, 3),
    "mul.f32": (21.0, 140, 143, 3), "mul.f64": (43.0, 208, 318, 11),
    "div.f32": (116.0, 761, 1410, 0), "div.f64": (226.0, 3211, 3270, 0),
    "cmp.f32": (4.0, 66, 0, 0), "cmp.f64": (5.0, 130, 0, 0),
    "cast.f32": (29.0, 360, 340, 0), "cast.f64": (36.0, 480, 450, 0),
}
# ECP5 has no vendor floating-point cores in an open flow: soft cores in LUT4,
# mantissa products on 18x18 multipliers (24x24 -> 4, 53x53 -> 9), about twice
# the delay of the 7-series cores.
_ECP5_FLOAT = {
    "add.f32": (58.0, 520, 430, 0), "add.f64": (72.0, 1300, 1100, 0),
    "mul.f32": (42.0, 240, 290, 4), "mul.f64": (86.0, 600, 640, 9),
    "div.f32": (232.0, 1500, 1400, 0), "div.f64": (452.0, 5600, 5300, 0),
    "cmp.f32": (8.0, 110, 0, 0), "cmp.f64": (10.0, 220, 0, 0),
    "cast.f32": (58.0, 600, 500, 0), "cast.f64": (72.0, 800, 700, 0),
}

DEFAULT_TARGET = "xc7z020"

TARGETS: dict[str, Target] = {
    "xc7z020": Target(
        name="xc7z020", part="xc7z020clg484-1", lut=53_200, ff=106_400, dsp=220, bram18=280, lut_inputs=6,
        multiplier_widths=(25, 18), float_cores=_XILINX_FLOAT, carry_ns_per_bit=0.03, logic_level_ns=0.6,
        memory=Memory("BRAM18", 18 * 1024, ((1, 16384), (2, 8192), (4, 4096), (9, 2048), (18, 1024), (36, 512)),
                      clock_to_out_ns=2.1, lutram_depth=64, lutram_luts_per_bit=2),
        register_overhead_ns=0.5),
    "ecp5-85": Target(
        name="ecp5-85", part="LFE5U-85F-6BG381C", lut=83_640, ff=83_640, dsp=156, bram18=208, lut_inputs=4,
        multiplier_widths=(18, 18), float_cores=_ECP5_FLOAT, carry_ns_per_bit=0.06, logic_level_ns=1.0,
        memory=Memory("DP16KD", 18 * 1024, ((1, 16384), (2, 8192), (4, 4096), (9, 2048), (18, 1024)),
                      clock_to_out_ns=3.8, lutram_depth=16, lutram_luts_per_bit=0.5),
        register_overhead_ns=0.8),
}


def costed_on(target: str | None) -> str:
    """The target whose operator library costs designs meant for ``target``: itself if it is
    one of :data:`TARGETS`, else the default (a table recorded on a device not modelled here)."""
    return target if target in TARGETS else DEFAULT_TARGET


def get_target(name: str) -> Target:
    try:
        return TARGETS[name]
    except KeyError:
        raise DseError(f"unknown target '{name}' (known: {', '.join(TARGETS)})") from None
