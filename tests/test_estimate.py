"""The builtin estimator's directive effects, with the numbers it gives."""

from pathlib import Path

import pytest

from dse import Space, read_kernel, resolve_kernel
from dse.estimate import Estimator, Infeasible
from dse.render import Directive, directives
from dse.space import derive_space
from dse.targets import TARGETS, get_target

HERE = Path(__file__).parent


def estimate(kernel, space, target="xc7z020", clock_ns=10.0, **values):
    config = space.configuration({k.replace("__", "."): v for k, v in values.items()})
    return Estimator(kernel, directives(kernel, config), get_target(target), clock_ns).run()


@pytest.fixture(scope="module")
def vmul():
    kernel = read_kernel(HERE / "kernels" / "vmul.c")
    return kernel, derive_space(kernel, "vmul")


@pytest.fixture(scope="module")
def gemm():
    kernel = read_kernel(resolve_kernel("gemm_ncubed").path)
    return kernel, Space.load(Path(__file__).parents[1] / "pragmas" / "gemm_ncubed.toml")


def loop(result, name):
    return next(l for l in result.loops if l.name == name)


def test_unrolling_without_partitioning_is_port_bound(vmul):
    base = estimate(*vmul, scale__pipeline="on", scale__ii=1)
    unrolled = estimate(*vmul, scale__pipeline="on", scale__ii=1, scale__unroll=4)
    assert loop(base, "scale").ii == 1
    assert loop(unrolled, "scale").ii == 2  # 4 reads of a per iteration on 2 ports
    assert loop(unrolled, "scale").limited_by == "ports of a"
    assert (base.latency_cycles, unrolled.latency_cycles) == (1033, 521)


def test_cyclic_partition_lets_unrolled_copies_run_in_parallel(vmul):
    base = estimate(*vmul, scale__pipeline="on", scale__ii=1)
    banks = {f"{a}__{d}": v for a in "aby" for d, v in (("partition", "cyclic"), ("factor", 4))}
    fast = estimate(*vmul, scale__pipeline="on", scale__ii=1, scale__unroll=4, **banks)
    assert loop(fast, "scale").ii == 1
    assert 3.5 < base.latency_cycles / fast.latency_cycles <= 4.0
    assert (base.dsp, fast.dsp) == (11, 44)  # one dmul per copy, 11 DSP48E1 each
    assert fast.lut > 3 * base.lut


def test_double_accumulation_is_bounded_by_the_adder(gemm):
    piped = estimate(*gemm, inner__pipeline="on", inner__ii=1)
    assert loop(piped, "inner").ii == 5  # dadd takes 5 cycles at 10 ns
    assert loop(piped, "inner").limited_by == "recurrence on sum"
    assert loop(estimate(*gemm, clock_ns=5.0, inner__pipeline="on", inner__ii=1), "inner").ii == 10
    # unrolled, the sum is a chain of 4 dadds: no faster, as floats are not reassociated
    unrolled = estimate(*gemm, inner__pipeline="on", inner__ii=1, inner__unroll=4, m1__partition="cyclic",
                        m1__factor=4, m2__partition="cyclic", m2__factor=4)
    assert loop(unrolled, "inner").ii == 20
    assert unrolled.latency_cycles == piped.latency_cycles


def test_pipelining_an_outer_loop_unrolls_the_inner_one_and_needs_banks(gemm):
    ports = estimate(*gemm, middle__pipeline="on", middle__ii=1)
    assert loop(ports, "middle").ii == 32  # 64 reads of m1 per iteration on 2 ports
    assert loop(ports, "middle").limited_by == "ports of m1"
    banked = estimate(*gemm, middle__pipeline="on", middle__ii=1, m1__partition="cyclic", m1__factor=64,
                      m2__partition="block", m2__factor=64)  # m2 is read down a column: block banks
    assert loop(banked, "middle").ii == 1
    assert (ports.latency_cycles, banked.latency_cycles) == (150082, 25090)
    assert banked.dsp == 64 * 14  # 64 dmul + 64 dadd, none shared at II 1
    cyclic_m2 = estimate(*gemm, middle__pipeline="on", middle__ii=1, m1__partition="cyclic", m1__factor=64,
                         m2__partition="cyclic", m2__factor=64)
    assert loop(cyclic_m2, "middle").ii == 32  # column reads all land in one cyclic bank


def test_memory_recurrence_and_memory_mapping():
    kernel = read_kernel(HERE / "kernels" / "hist.c")
    space = derive_space(kernel, "hist")
    result = estimate(kernel, space, count__pipeline="on", count__ii=1)
    assert loop(result, "count").ii == 2  # read-modify-write of bins from one iteration to the next
    assert loop(result, "count").limited_by == "recurrence on array bins"
    assert result.bram == 4  # buf: 1024 x 64 bit = 2 x 2 BRAM18; arguments are outside the design
    registers = estimate(kernel, space, count__pipeline="on", count__ii=1, buf__partition="complete")
    assert registers.bram == 0
    assert registers.ff > 1024 * 64 > result.ff  # one register per bit of buf


def test_memory_recurrence_distance():
    kernel = read_kernel(HERE / "kernels" / "recur.c")
    space = derive_space(kernel, "recur")
    result = estimate(kernel, space, near__pipeline="on", near__ii=1, far__pipeline="on", far__ii=1,
                      same__pipeline="on", same__ii=1)
    # a[i] = a[i-1] * 0.5: load, dmul (6 stages at 10 ns), store = 9 cycles around the recurrence
    assert (loop(result, "near").ii, loop(result, "near").limited_by) == (9, "recurrence on array a")
    assert loop(result, "far").ii == 3  # b[i] = b[i-4] * 0.5: the same 9 cycles over 4 iterations
    assert loop(result, "same").ii == 1  # c[i] = c[i] * 0.5 reads what no earlier iteration wrote


def test_flattening_beyond_what_a_tool_would_build_is_infeasible():
    kernel = read_kernel(resolve_kernel("sort_radix").path)
    # pipelining sort_1 would flatten the 2048-iteration loops of every function it calls
    with pytest.raises(Infeasible, match="sort_1: unrolling flattens more than 60,000 operations"):
        Estimator(kernel, [Directive("pipeline", "ss_sort", loop="sort_1", ii=1)], get_target("xc7z020"), 10.0).run()


def test_targets_and_clock(gemm):
    xilinx = estimate(*gemm, middle__pipeline="on", middle__ii=1)
    lattice = estimate(*gemm, target="ecp5-85", middle__pipeline="on", middle__ii=1)
    fast_clock = estimate(*gemm, clock_ns=5.0, middle__pipeline="on", middle__ii=1)
    assert xilinx.dsp == 2 * 11 + 2 * 3  # II 32 shares 64 dmul/dadd over 2 cores each
    assert lattice.dsp == 2 * 9  # 53x53 mantissa product on 3x3 MULT18X18D, soft adders
    assert xilinx.clock_ns <= 10.0 and fast_clock.clock_ns <= 5.0
    assert fast_clock.latency_cycles > xilinx.latency_cycles  # deeper cores at 5 ns
    assert TARGETS["xc7z020"].lut == 53_200 and TARGETS["ecp5-85"].bram18 == 208


def test_every_bundled_kernel_estimates(gemm):
    import random

    from dse.kernels import bundled_kernels
    from dse.paths import bundled

    for name, source in bundled_kernels().items():
        kernel = read_kernel(source.path)
        space = Space.load(bundled("pragmas") / f"{name}.toml")
        for seed in range(3):
            config = space.sample(random.Random(seed)) if seed else space.configuration()
            result = Estimator(kernel, directives(kernel, config), get_target("xc7z020"), 10.0).run()
            assert result.latency_cycles > 0 and result.lut > 0, name


def test_a_sum_carried_through_fully_unrolled_loops_is_one_chain():
    kernel = read_kernel(resolve_kernel("stencil2d").path)
    space = Space.load(Path(__file__).parents[1] / "pragmas" / "stencil2d.toml")
    banks = dict(filter__partition="complete", orig__partition="cyclic", orig__factor=64)
    result = estimate(kernel, space, stencil_label3__unroll=3, stencil_label4__unroll=3, **banks)
    # temp += filter * orig nine times: 9 chained i32 adds of 1.56 ns cross a 10 ns clock edge (one cycle
    # more than three independent chains would take), and the running sum is registered where it does
    assert loop(result, "stencil_label2").depth == 6
    # 213, not 149: a sum that crosses an edge on its way through a loop's phi is registered too
    assert result.ff == 213


def test_operations_are_scheduled_in_program_order_not_by_line():
    kernel = read_kernel(resolve_kernel("viterbi").path)
    space = Space.load(Path(__file__).parents[1] / "pragmas" / "viterbi.toml")
    result = estimate(kernel, space, L_prev_state__pipeline="on", L_prev_state__ii=1, L_prev_state__unroll=7)
    # p's sum spans two source lines and min_p's select (which merges the if) has none: ordered by line,
    # each copy's select came before its compare and read the previous copy's, so the seven compare-and-
    # select links of min_p fell apart and the ports of llike set II 4 with 4 double adders (12 DSP)
    prev = loop(result, "L_prev_state")
    assert (prev.ii, prev.limited_by, prev.depth) == (7, "recurrence on min_p", 19)
    assert result.dsp == 6  # 14 adds in 7 cycles: 2 double adders of 3 DSP
