"""Templating: golden files, gcc-compilable output, pragmas inside the loops they name."""

from __future__ import annotations

import random
import shutil
import subprocess
from pathlib import Path

import pytest

from dse.frontend import read_kernel
from dse.kernels import bundled_kernels, machsuite_dir
from dse.paths import bundled
from dse.render import directives, render
from dse.space import Space, derive_space

GOLDEN = Path(__file__).parent / "golden"
GOLDEN_CASES = {
    "gemm_ncubed_vitis": ("gemm_ncubed", "vitis", ["inner.unroll=4", "inner.pipeline=on", "inner.ii=2",
                                                   "m1.partition=cyclic", "m1.factor=4", "m2.partition=block",
                                                   "m2.factor=4"]),
    "viterbi_vivado": ("viterbi", "vivado", ["L_prev_state.unroll=7", "L_prev_state.pipeline=on",
                                             "llike.partition=cyclic", "llike.factor=8", "llike.dim=2",
                                             "init.partition=complete"]),
    "sort_radix_vitis": ("sort_radix", "vitis", ["hist.inline=on", "update.inline=off", "last_2.unroll=16",
                                                 "bucket.partition=cyclic", "bucket.factor=16"]),
}


@pytest.mark.parametrize("case", sorted(GOLDEN_CASES))
def test_render_matches_golden_files(run_cli, tmp_path, case):
    kernel, dialect, settings = GOLDEN_CASES[case]
    args = ["render", kernel, "--dialect", dialect, "-o", tmp_path]
    for setting in settings:
        args += ["--set", setting]
    code, out, _ = run_cli(*args)
    assert code == 0
    for golden in sorted((GOLDEN / case).iterdir()):
        assert (tmp_path / golden.name).read_text() == golden.read_text(), golden.name


def _compile(source: Path, kernel: str) -> None:
    result = subprocess.run(["gcc", "-fsyntax-only", "-Wall", "-Wno-unknown-pragmas", "-Wno-unused-label",
                             "-I", str(bundled_kernels()[kernel].directory), "-I", str(machsuite_dir() / "common"),
                             str(source)], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr


@pytest.mark.parametrize("kernel", sorted(bundled_kernels()))
def test_random_points_compile_and_pragmas_sit_in_their_loops(tmp_path, kernel):
    if shutil.which("gcc") is None:
        pytest.skip("gcc is not installed")
    original = read_kernel(bundled_kernels()[kernel].path)
    space = Space.load(bundled("pragmas") / f"{kernel}.toml")
    rng = random.Random(kernel)
    for point in range(4):
        config = space.sample(rng)
        out = tmp_path / str(point)
        source = next(p for p in render(original, space, config, out) if p.suffix == ".c")
        _compile(source, kernel)
        rendered = read_kernel(source, include_dirs=[bundled_kernels()[kernel].directory, machsuite_dir() / "common"])
        for directive in directives(original, config):
            if directive.loop:
                pragmas = rendered.loops[directive.loop].pragmas
                assert any(p.startswith(f"HLS {directive.kind}") for p in pragmas), (directive, pragmas)
            else:
                assert any(p.startswith(f"HLS {directive.kind}") for p in rendered.functions[directive.function].pragmas)
        expected = sum(1 for d in directives(original, config))
        found = sum(len(l.pragmas) for l in rendered.loops.values()) + sum(
            len(f.pragmas) for f in rendered.functions.values())
        assert found == expected


def test_unlabelled_loops_get_their_names_as_labels(tmp_path):
    source = tmp_path / "scale.c"
    source.write_text("void scale(int a[64], int k) {\n  for (int i = 0; i < 64; i++) { a[i] = a[i] * k; }\n}\n")
    kernel = read_kernel(source)
    space = derive_space(kernel, "scale")
    render(kernel, space, space.configuration({"scale_L1.unroll": 4, "a.partition": "cyclic", "a.factor": 4}),
           tmp_path / "out")
    text = (tmp_path / "out" / "scale.c").read_text()
    assert "  scale_L1: for (int i = 0; i < 64; i++) {\n    #pragma HLS unroll factor=4\n    a[i] = a[i] * k; }" in text
    assert 'set_directive_unroll -factor 4 "scale/scale_L1"' in (tmp_path / "out" / "directives.tcl").read_text()
    assert read_kernel(tmp_path / "out" / "scale.c").loops["scale_L1"].pragmas == ["HLS unroll factor=4"]


def test_braceless_loop_body_is_a_clear_error(run_cli, tmp_path):
    source = tmp_path / "k.c"
    source.write_text("void k(int a[8]) {\n  int i;\n  L: for (i = 0; i < 8; i++)\n    a[i] = 0;\n}\n")
    code, _, err = run_cli("render", source, "--set", "L.unroll=2", "-o", tmp_path / "out")
    assert code == 2 and f"{source}:3: loop L has no braces around its body" in err


@pytest.mark.parametrize("settings, message", [
    (["inner.unroll=3"], "knob 'inner.unroll': '3' is not one of [1, 2, 4, 8, 16, 32, 64]"),
    (["inner.unrolled=2"], "unknown knob 'inner.unrolled' (did you mean inner.unroll?)"),
    (["inner.unroll=8", "m1.partition=cyclic", "m1.factor=4"],
     "configuration breaks constraint 'm1.factor >= inner.unroll'"),
    (["inner.unroll"], "--set 'inner.unroll': expected knob=value"),
])
def test_render_rejects_bad_settings_in_one_line(run_cli, tmp_path, settings, message):
    args = ["render", "gemm_ncubed", "-o", tmp_path / "out"]
    for setting in settings:
        args += ["--set", setting]
    code, _, err = run_cli(*args)
    assert code == 2 and err.strip().splitlines() == [f"dse: error: {message}" if "--set" in message
                                                      else err.strip()] and message in err
    assert not (tmp_path / "out").exists()


def test_space_naming_a_missing_loop_is_rejected(run_cli, tmp_path):
    text = (bundled("pragmas") / "gemm_ncubed.toml").read_text().replace("[loops.inner]", "[loops.innermost]")
    text = text.replace("inner.", "innermost.")
    (tmp_path / "s.toml").write_text(text)
    code, _, err = run_cli("render", "gemm_ncubed", "--space", tmp_path / "s.toml", "-o", tmp_path / "out")
    assert code == 2 and "loop 'innermost' is not in" in err
