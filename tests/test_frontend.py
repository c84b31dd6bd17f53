"""The front-end against the facts of docs/machsuite-kernels.md, real MachSuite layouts and bad input."""

from __future__ import annotations

import json
import shutil

import pytest

from dse.frontend import read_kernel
from dse.kernels import bundled_kernels, machsuite_dir

# Loop labels and trip counts (None: data-dependent) from the facts doc.
LOOPS = {
    "gemm_ncubed": {"outer": 64, "middle": 64, "inner": 64},
    "gemm_blocked": {"loopjj": 8, "loopkk": 8, "loopi": 64, "loopk": 8, "loopj": 8},
    "stencil2d": {"stencil_label1": 126, "stencil_label2": 62, "stencil_label3": 3, "stencil_label4": 3},
    "stencil3d": {"height_bound_col": 32, "height_bound_row": 16, "col_bound_height": 30, "col_bound_row": 16,
                  "row_bound_height": 30, "row_bound_col": 30, "loop_height": 30, "loop_col": 30, "loop_row": 14},
    "spmv_ellpack": {"ellpack_1": 494, "ellpack_2": 10},
    "md_knn": {"loop_i": 256, "loop_j": 16},
    "viterbi": {"L_init": 64, "L_timestep": 139, "L_curr_state": 64, "L_prev_state": 63, "L_end": 63,
                "L_backtrack": 139, "L_state": 63},
    "spmv_crs": {"spmv_1": 494, "spmv_2": None},
    "nw": {"init_row": 129, "init_col": 129, "fill_out": 128, "fill_in": 128, "trace": None, "pad_a": None,
           "pad_b": None},
    "kmp": {"c1": 3, "c2": None, "k1": 32411, "k2": None},
    "fft_strided": {"outer": 10, "inner": 512},
    "sort_radix": {"sort_1": 16, "init_1": 2048, "hist_1": 512, "hist_2": 4, "local_1": 128, "local_2": 15,
                   "sum_1": 127, "last_1": 128, "last_2": 16, "update_1": 512, "update_2": 4},
}
# Top function and its arrays: name -> (size, type, access).
TOPS = {
    "gemm_ncubed": ("gemm", {"m1": (4096, "f64", "read"), "m2": (4096, "f64", "read"), "prod": (4096, "f64", "write")}),
    "gemm_blocked": ("bbgemm", {"m1": (4096, "f64", "read"), "m2": (4096, "f64", "read"),
                                "prod": (4096, "f64", "readwrite")}),
    "stencil2d": ("stencil", {"orig": (8192, "i32", "read"), "sol": (8192, "i32", "write"), "filter": (9, "i32", "read")}),
    "stencil3d": ("stencil3d", {"C": (2, "i32", "read"), "orig": (16384, "i32", "read"), "sol": (16384, "i32", "write")}),
    "spmv_ellpack": ("ellpack", {"nzval": (4940, "f64", "read"), "cols": (4940, "i32", "read"),
                                 "vec": (494, "f64", "read"), "out": (494, "f64", "readwrite")}),
    "md_knn": ("md_kernel", {"force_x": (256, "f64", "write"), "position_x": (256, "f64", "read"),
                             "NL": (4096, "i32", "read")}),
    "viterbi": ("viterbi", {"obs": (140, "u8", "read"), "init": (64, "f64", "read"), "transition": (4096, "f64", "read"),
                            "emission": (4096, "f64", "read"), "path": (140, "u8", "readwrite"),
                            "llike": (140 * 64, "f64", "readwrite")}),
    "spmv_crs": ("spmv", {"val": (1666, "f64", "read"), "cols": (1666, "i32", "read"),
                          "rowDelimiters": (495, "i32", "read"), "vec": (494, "f64", "read"), "out": (494, "f64", "write")}),
    "nw": ("needwun", {"SEQA": (128, "i8", "read"), "alignedA": (256, "i8", "write"), "M": (16641, "i32", "readwrite"),
                       "ptr": (16641, "i8", "readwrite")}),
    "kmp": ("kmp", {"pattern": (4, "i8", "read"), "input": (32411, "i8", "read"), "kmpNext": (4, "i32", "readwrite"),
                    "n_matches": (1, "i32", "readwrite")}),
    "fft_strided": ("fft", {"real": (1024, "f64", "readwrite"), "img": (1024, "f64", "readwrite"),
                            "real_twid": (512, "f64", "read")}),
    "sort_radix": ("ss_sort", {"a": (2048, "i32", "readwrite"), "b": (2048, "i32", "readwrite"),
                               "bucket": (2048, "i32", "readwrite"), "sum": (128, "i32", "readwrite")}),
}


@pytest.mark.parametrize("kernel", sorted(LOOPS))
def test_inspect_json_matches_the_facts(run_cli, kernel):
    code, out, _ = run_cli("inspect", kernel, "--json")
    assert code == 0
    record = json.loads(out)
    top, arrays = TOPS[kernel]
    assert record["top"] == top
    assert {loop["name"]: loop["trip_count"] for loop in record["loops"]} == LOOPS[kernel]
    assert all(loop["label"] == loop["name"] for loop in record["loops"])
    found = {a["name"]: (a["size"], a["type"], a["access"]) for a in record["arrays"] if a["function"] == top}
    assert {name: found[name] for name in arrays} == arrays


def test_fft_inner_trip_count_comes_from_simulating_its_control():
    loop = read_kernel(bundled_kernels()["fft_strided"].path).loops["inner"]
    assert (loop.trip_count, loop.bound, loop.induction) == (512, "static", "odd")


def test_loops_know_where_they_start_and_their_stride():
    stencil = read_kernel(bundled_kernels()["stencil3d"].path)
    blocked = read_kernel(bundled_kernels()["gemm_blocked"].path)
    viterbi = read_kernel(bundled_kernels()["viterbi"].path)
    assert [(l.start, l.stride) for l in (stencil.loops["loop_row"], blocked.loops["loopjj"],
                                           viterbi.loops["L_backtrack"])] == [(1, 1), (0, 8), (138, -1)]
    # orig[k-1 + 16j + 512i] counted in iterations n of each loop (k = 1 + n_k, ...): 528 + n_k + 16 n_j + 512 n_i
    below = next(op for op in stencil.loops["loop_row"].ops if op.index and op.index[0].get("") == -1)
    assert stencil.index_in_iterations(below) == [{"k": 1, "": 528, "j": 16, "i": 512}]
    column = next(op for op in blocked.loops["loopj"].ops if op.array == "m2")  # m2[(k + kk) * 64 + j + jj]
    assert column.index == [{"k": 64, "kk": 64, "j": 1, "jj": 1}]
    assert blocked.index_in_iterations(column) == [{"k": 64, "kk": 512, "j": 1, "jj": 8}]  # kk, jj step by 8


def test_gemm_inner_body_dataflow():
    kernel = read_kernel(bundled_kernels()["gemm_ncubed"].path)
    inner = kernel.loops["inner"]
    assert dict(inner.op_counts()) == {"mul.f64": 1, "add.f64": 1}
    assert dict(inner.address_op_counts()) == {"mul.i32": 1, "add.i32": 2}
    assert inner.carried_scalars == ["sum"]
    indices = {op.array: op.index for op in inner.ops if op.array}
    assert indices == {"m1": [{"i": 64, "k": 1}], "m2": [{"k": 64, "j": 1}]}
    assert (kernel.loops["middle"].parent, kernel.loops["inner"].depth) == ("outer", 3)


def test_operations_per_loop_body():
    md = read_kernel(bundled_kernels()["md_knn"].path).loops["loop_j"]
    assert dict(md.op_counts()) == {"add.f64": 9, "mul.f64": 11, "div.f64": 1}
    assert sorted(md.carried_scalars) == ["fx", "fy", "fz"]
    radix = read_kernel(bundled_kernels()["sort_radix"].path)
    hist = radix.loops["hist_2"]  # bucket[...]++ is one load, one add, one store
    assert (dict(hist.accesses("load")), dict(hist.accesses("store"))) == ({"a": 1, "bucket": 1}, {"bucket": 1})
    assert dict(hist.op_counts()) == {"add.i32": 1}
    assert radix.reachable_functions()[0] == "ss_sort" and set(radix.reachable_functions()) == {
        "ss_sort", "init", "hist", "local_scan", "sum_scan", "last_step_scan", "update"}


def _machsuite_checkout(tmp_path, with_pragma: bool = False):
    """The layout of a user's MachSuite clone: gemm/ncubed/ with ../../common/support.h."""
    kernel_dir = tmp_path / "MachSuite" / "gemm" / "ncubed"
    kernel_dir.mkdir(parents=True)
    shutil.copytree(machsuite_dir() / "common", tmp_path / "MachSuite" / "common")
    for name in ("gemm.c", "gemm.h"):
        shutil.copy(machsuite_dir() / "gemm_ncubed" / name, kernel_dir / name)
    (tmp_path / "MachSuite" / "common" / "support.h").open("a").write(
        "#include <stdio.h>\nstatic inline void dump(FILE *f, const char *s) { fprintf(f, \"%s\\n\", s); }\n")
    if with_pragma:
        source = (kernel_dir / "gemm.c").read_text()
        (kernel_dir / "gemm.c").write_text(source.replace(
            "k_row = k * col_size;", "#pragma HLS pipeline II=1\n        k_row = k * col_size;"))
    return kernel_dir / "gemm.c"


def test_reads_a_machsuite_checkout_with_support_h_and_pragmas(tmp_path):
    kernel = read_kernel(_machsuite_checkout(tmp_path, with_pragma=True))
    assert kernel.top == "gemm"
    assert kernel.loops["inner"].pragmas == ["HLS pipeline II=1"]
    assert [l.trip_count for l in kernel.loops.values()] == [64, 64, 64]


def test_unlabelled_loops_get_stable_names(tmp_path):
    source = tmp_path / "dot.c"
    source.write_text("#define N 32\ndouble dot(double a[N], double b[N]) {\n  double s = 0;\n"
                      "  for (int i = 0; i < N; i++) s += a[i] * b[i];\n"
                      "  for (int i = N - 1; i >= 0; i -= 2) { a[i] = 0; }\n  return s;\n}\n")
    kernel = read_kernel(source)
    assert [(l.name, l.label, l.trip_count) for l in kernel.loops.values()] == [
        ("dot_L1", None, 32), ("dot_L2", None, 16)]


BAD_SOURCES = {
    "syntax.c": ("int f(int a[4]) {\n  int x = 1\n  return x;\n}\n", "syntax.c:3: syntax error before 'return'"),
    "goto.c": ("int f(int a[4]) {\n  int i = 0;\nagain:\n  a[i++] = 0;\n  if (i < 4) goto again;\n  return 0;\n}\n",
               "goto.c:5: unsupported: goto again"),
    "recursion.c": ("int g(int n) {\n  return n ? g(n - 1) : 0;\n}\nint f(void) { return g(3); }\n",
                    "recursion.c:2: unsupported: recursive call to g"),
    "include.c": ('#include "missing.h"\nint f(void) { return 0; }\n', "missing.h: No such file or directory"),
    "two_tops.c": ("int f(void) { return 0; }\nint h(void) { return 1; }\n",
                   "several candidate top functions (f, h); choose one with --top"),
}


@pytest.mark.parametrize("name", sorted(BAD_SOURCES))
def test_bad_c_is_one_line_and_exit_2(run_cli, tmp_path, name):
    text, expected = BAD_SOURCES[name]
    (tmp_path / name).write_text(text)
    code, out, err = run_cli("inspect", tmp_path / name)
    assert code == 2 and out == ""
    assert len(err.strip().splitlines()) == 1 and expected in err and "Traceback" not in err


@pytest.mark.parametrize("args, expected", [
    (["inspect", "no_such_kernel"], "not a bundled kernel"),
    (["inspect", "missing/file.c"], "missing/file.c: no such file"),
    (["inspect", "gemm_ncubed", "--top", "nope"], "unknown top function 'nope' (functions defined: gemm)"),
])
def test_bad_arguments_are_one_line_and_exit_2(run_cli, args, expected):
    code, _, err = run_cli(*args)
    assert code == 2 and len(err.strip().splitlines()) == 1 and expected in err
