import re
from pathlib import Path

import pytest

from dse import read_kernel
from dse.backends import get_backend
from dse.backends.base import DesignPoint
from dse.estimate import Estimator
from dse.frontend import source_hash
from dse.render import directives
from dse.rtl import Unsupported, generate_verilog
from dse.space import Configuration
from dse.targets import get_target
from dse.yosys import count_resources

KERNELS = Path(__file__).resolve().parent / "kernels"


def verilog(source: Path, target: str = "xc7z020", **config) -> str:
    kernel = read_kernel(source)
    estimator = Estimator(kernel, directives(kernel, Configuration.of(config)), get_target(target), 10.0,
                          keep_schedules=True)
    estimator.run()
    return generate_verilog(estimator)


def synth_point(source: Path, target: str, **config) -> DesignPoint:
    return DesignPoint(source.stem, str(source), source_hash(source), None, (), (), Configuration.of(config), target,
                       10.0, "synth")


def test_the_rtl_has_the_schedules_cores_controllers_and_memory_ports():
    text = verilog(KERNELS / "vmul.c")
    # dmul is a 6-cycle core at 10 ns on the xc7z020; the top and the loop each get a controller
    assert text.count("hls_fmul #(11, 52, 6) ") == 1
    assert "reg r0_run;" in text and "reg r1_run;" in text
    assert "assign r1_go = (r0_run && r0_step == 0);" in text
    for array in ("a", "b"):
        assert f"output [9:0] m_vmul_{array}_0_p0_addr" in text
    assert "output m_vmul_y_0_p0_write" in text
    # unrolled by 2 and pipelined: two multipliers, a valid shift register, both ports of every bank
    text = verilog(KERNELS / "vmul.c", **{"scale.unroll": 2, "scale.pipeline": "on"})
    assert text.count("hls_fmul #(11, 52, 6) ") == 2
    assert "r1_valid <= {r1_valid, r1_fire};" in text
    assert "output m_vmul_y_0_p1_write" in text


def test_a_value_made_two_loops_down_reaches_the_store_after_them(tmp_path):
    source = tmp_path / "nest.c"
    source.write_text("void nest(int a[64], int y[4]) {\n outer: for (int i = 0; i < 4; i++) {\n  int s = 0;\n"
                      "  middle: for (int j = 0; j < 4; j++)\n   inner: for (int k = 0; k < 4; k++)\n"
                      "    s += a[i * 16 + j * 4 + k];\n  y[i] = s;\n }\n}\n")
    stored = re.search(r"assign m_nest_y_0_p0_d = (\w+);", verilog(source)).group(1)
    assert re.fullmatch(r"h\d+", stored)  # the sum, held from the inner loop; not a module input (in<N>)


def test_an_operation_the_generator_lacks_is_named(tmp_path):
    source = tmp_path / "idiv.c"
    source.write_text("void idiv(int a[8], int b[8]) { L: for (int i = 0; i < 8; i++) b[i] = a[i] / b[i]; }\n")
    with pytest.raises(Unsupported, match="div on i32 \\(line 1\\)"):
        verilog(source)
    result = get_backend("builtin").run(synth_point(source, "ecp5-85"), None)
    assert result.status == "failed" and "does not implement div on i32" in result.error and not result.metrics


def test_yosys_cells_count_as_the_vendor_counts_them():
    assert count_resources({"LUT3": 4, "LUT6": 2, "SRL16E": 3, "RAM64M": 1, "CARRY4": 9, "FDRE": 7, "DSP48E1": 2,
                            "RAMB18E1": 1, "RAMB36E1": 2}) == {"lut": 13, "ff": 7, "dsp": 2, "bram": 5}
    assert count_resources({"LUT4": 10, "CCU2C": 3, "TRELLIS_FF": 4, "MULT18X18D": 3, "DP16KD": 2}) == \
        {"lut": 16, "ff": 4, "dsp": 3, "bram": 2}


def test_synth_fidelity_takes_resources_from_yosys_and_timing_from_the_schedule():
    backend = get_backend("builtin")
    assert backend.fidelities == ("estimate", "synth")
    source = KERNELS / "imul.c"
    estimate = backend.run(DesignPoint(**{**vars(synth_point(source, "ecp5-85")), "fidelity": "estimate"}), None)
    synth = backend.run(synth_point(source, "ecp5-85"), None)
    assert synth.status == "ok", synth.error
    assert "Yosys" in synth.tool_version
    assert synth.metrics["latency_cycles"] == estimate.metrics["latency_cycles"] == 322
    # a 32 x 32 product on ECP5 takes three 18x18 multipliers; unrolled by two, six
    assert synth.metrics["dsp"] == 3 and synth.metrics["bram"] == 0
    assert synth.metrics["util_dsp"] == round(100 * 3 / 156, 2)
    unrolled = backend.run(synth_point(source, "ecp5-85", **{"scale.unroll": 2}), None)
    assert unrolled.metrics["dsp"] == 6 and unrolled.metrics["latency_cycles"] == 162
    assert unrolled.metrics["ff"] > synth.metrics["ff"]
