"""Directive spaces: file format, constraints, canonical configurations, counting and sampling."""

from __future__ import annotations

import itertools
import random

import pytest

from dse.constraints import Constraint
from dse.errors import DseError
from dse.frontend import read_kernel
from dse.kernels import bundled_kernels
from dse.paths import bundled
from dse.space import Space, derive_space, pragma_directives

SMALL = """
[kernel]
name = "toy"
[clock]
period_ns = [5, 10]
[loops.inner]
trip = 12
unroll = [1, 2, 3, 4, 6, "complete"]
pipeline = ["off", "on"]
ii = [1, 2]
[loops.outer]
trip = 8
pipeline = ["off", "on"]
[arrays.a]
size = 96
partition = ["none", "cyclic", "block", "complete"]
factor = [2, 3, 4, 6]
[[constraints]]
expr = "inner.trip % inner.unroll == 0"
[[constraints]]
expr = "a.factor >= inner.unroll"
why = "enough banks"
[[constraints]]
expr = "outer.pipeline == 'off' or inner.pipeline == 'off'"
"""


@pytest.fixture
def toy(tmp_path) -> Space:
    path = tmp_path / "toy.toml"
    path.write_text(SMALL)
    return Space.load(path)


def _brute_force(space: Space) -> set:
    names = list(space.knobs)
    legal = set()
    for values in itertools.product(*(space.knobs[n].values for n in names)):
        chosen = {n: v for n, v in zip(names, values)}
        active = {}
        for knob in space.knobs.values():
            if knob.active(active):
                active[knob.name] = chosen[knob.name]
        if not space.broken_constraints(active):
            legal.add(tuple(sorted(active.items())))
    return legal


def test_count_enumeration_and_sampling_agree_with_brute_force(toy):
    expected = _brute_force(toy)
    assert toy.count() == len(expected) == 320  # 2 clocks x 40 (unroll, a) x 4 pipelines
    listed = [c.items for c in toy.enumerate()]
    assert len(listed) == len(set(listed)) and set(listed) == expected
    rng = random.Random(3)
    draws = [toy.sample(rng).items for _ in range(3000)]
    assert set(draws) <= expected and len(set(draws)) > 0.9 * len(expected)


def test_complete_unroll_means_the_trip_count(toy):
    assert toy.knobs["inner.unroll"].values == (1, 2, 3, 4, 6, 12)
    assert toy.parse_assignments(["inner.unroll=complete", "clock.period_ns=5"]) == {
        "inner.unroll": 12, "clock.period_ns": 5.0}


def test_configuration_canonical_form_and_hash(toy):
    one = toy.configuration({"inner.unroll": 2, "a.partition": "cyclic", "a.factor": 2})
    two = toy.configuration({"a.factor": 2, "a.partition": "cyclic", "inner.unroll": 2})
    assert one == two and one.hash == two.hash and len(one.hash) == 64
    assert one.canonical == ('{"a.factor":2,"a.partition":"cyclic","clock.period_ns":5.0,"inner.pipeline":"off",'
                             '"inner.unroll":2,"outer.pipeline":"off"}')
    assert toy.configuration().as_dict() == {"clock.period_ns": 5.0, "inner.unroll": 1, "inner.pipeline": "off",
                                             "outer.pipeline": "off", "a.partition": "none"}


@pytest.mark.parametrize("values, message", [
    ({"inner.unrol": 2}, "unknown knob 'inner.unrol' (did you mean inner.unroll?)"),
    ({"inner.unroll": 5}, "knob 'inner.unroll': 5 is not one of [1, 2, 3, 4, 6, 12]"),
    ({"inner.ii": 2}, "knob 'inner.ii' applies only when inner.pipeline is on"),
    ({"inner.unroll": 4, "a.partition": "cyclic", "a.factor": 2},
     "breaks constraint 'a.factor >= inner.unroll' (enough banks)"),
    ({"inner.pipeline": "on", "outer.pipeline": "on"}, "breaks constraint 'outer.pipeline == 'off' or"),
])
def test_illegal_configurations_name_the_knob(toy, values, message):
    with pytest.raises(DseError, match=".*") as error:
        toy.configuration(values)
    assert message in str(error.value)


def test_inactive_knobs_make_a_constraint_vacuous(toy):
    # a.factor is inactive without cyclic/block partitioning: unroll 6 with no partition is legal.
    assert toy.configuration({"inner.unroll": 6})["inner.unroll"] == 6


def test_the_design_without_directives(toy, tmp_path):
    assert toy.plain().as_dict() == {"clock.period_ns": 5, "inner.unroll": 1, "inner.pipeline": "off",
                                     "outer.pipeline": "off", "a.partition": "none"}
    path = tmp_path / "some.toml"
    path.write_text(SMALL.replace("[1, 2, 3, 4, 6,", "[2, 3, 4, 6,"))  # no unroll 1: its default, 2
    assert Space.load(path).plain()["inner.unroll"] == 2
    path.write_text(SMALL + "[[constraints]]\nexpr = \"inner.pipeline == 'on'\"\n")
    assert Space.load(path).plain() is None
    assert Space.of_columns("t", {"L1": ["pipeline", "unroll factor=2"]}).plain() is None


@pytest.mark.parametrize("expr", ["__import__('os').system('true')", "inner.unroll.__class__ == 1",
                                  "open('x')", "[x for x in (1, 2)]", "lambda: 1", "inner.unroll if"])
def test_constraints_refuse_anything_but_the_expression_language(expr):
    with pytest.raises(DseError):
        Constraint(expr).holds({"inner.unroll": 1})


def test_constraint_language():
    values = {"a.partition": "cyclic", "a.factor": 4, "inner.unroll": 8, "inner.trip": 64}
    assert Constraint("a.partition in ('cyclic', 'block') and a.factor * 2 >= inner.unroll").holds(values)
    assert not Constraint("min(a.factor, inner.unroll) > 4").holds(values)
    assert Constraint("inner.trip // inner.unroll == 8 if a.factor else False").holds(values)
    assert Constraint("missing.knob > 3").holds(values)  # reads an inactive knob: does not apply


@pytest.mark.parametrize("edit, message", [
    (("unroll = [1, 2, 3, 4, 6, \"complete\"]", "unrol = [1, 2]"), "loops.inner: unknown directive 'unrol'"),
    (("[arrays.a]", "[array.a]"), "unknown table [array]"),
    (("factor = [2, 3, 4, 6]", "factor = [2, 1]"), "arrays.a.factor: 1 is not a whole number >= 2"),
    (("partition = [\"none\", \"cyclic\", \"block\", \"complete\"]", "partition = [\"none\", \"diagonal\"]"),
     "arrays.a.partition: 'diagonal' is not one of"),
    (("expr = \"a.factor >= inner.unroll\"", "expr = \"a.factors >= inner.unroll\""),
     "unknown knob or fact 'a.factors' (did you mean a.factor?)"),
    (("ii = [1, 2]", "ii = [1, 2"), "not valid TOML"),
])
def test_bad_space_files_are_one_line(tmp_path, edit, message):
    path = tmp_path / "bad.toml"
    path.write_text(SMALL.replace(*edit))
    with pytest.raises(DseError) as error:
        Space.load(path)
    assert message in str(error.value) and str(path) in str(error.value)


@pytest.mark.parametrize("kernel", ["gemm_ncubed", "gemm_blocked", "stencil2d", "stencil3d", "spmv_ellpack",
                                    "md_knn", "viterbi", "spmv_crs", "nw", "kmp", "fft_strided", "sort_radix"])
def test_bundled_spaces_are_large_and_match_derivation(kernel):
    space = Space.load(bundled("pragmas") / f"{kernel}.toml")
    derived = derive_space(read_kernel(bundled_kernels()[kernel].path), kernel)
    assert space.knobs == derived.knobs and [c.expr for c in space.constraints] == [c.expr for c in derived.constraints]
    assert space.count() >= 1000
    rng = random.Random(0)
    for _ in range(20):
        assert not space.broken_constraints(space.sample(rng).as_dict())


def test_gemm_space_has_the_expected_knobs():
    space = Space.load(bundled("pragmas") / "gemm_ncubed.toml")
    assert space.knobs["inner.unroll"].values == (1, 2, 4, 8, 16, 32, 64)
    assert space.knobs["m1.partition"].values == ("none", "cyclic", "block")  # 4096 words: no complete
    assert {c.expr for c in space.constraints} >= {"m1.factor >= inner.unroll", "m2.factor >= inner.unroll",
                                                   "prod.factor >= middle.unroll"}
    assert space.count() == 182939


def test_no_pipeline_on_a_loop_whose_callees_loop():
    space = Space.load(bundled("pragmas") / "sort_radix.toml")
    assert "sort_1.unroll" in space.knobs and "sort_1.pipeline" not in space.knobs  # sort_1 calls 2048-trip loops
    assert "local_2.pipeline" in space.knobs


def test_space_cli_writes_a_loadable_file(run_cli, tmp_path):
    out = tmp_path / "s.toml"
    code, _, err = run_cli("space", "stencil3d", "-o", out)
    assert code == 0 and "legal configurations" in err
    assert Space.load(out).count() == Space.load(bundled("pragmas") / "stencil3d.toml").count()


def test_space_cli_for_a_user_file_records_a_relative_source(run_cli, tmp_path):
    source = tmp_path / "src" / "k.c"
    source.parent.mkdir()
    source.write_text("void k(int a[64]) {\n  L: for (int i = 0; i < 64; i++) {\n    a[i] = a[i] * 3;\n  }\n}\n")
    code, _, _ = run_cli("space", source, "-o", tmp_path / "k.toml")
    space = Space.load(tmp_path / "k.toml")
    assert code == 0 and space.source == str(source) and space.knobs["L.unroll"].values[-1] == 64


@pytest.mark.parametrize("text, directives", [
    ("pipeline", {"L.pipeline": "on", "L.ii": 1}),
    ("#pragma HLS pipeline II=2", {"L.pipeline": "on", "L.ii": 2}),
    ("unroll factor=4", {"L.unroll": 4}),
    ("unroll (full)", {"L.unroll": 16}),
    ("array_partition llike block factor=16 dim=2", {"llike.partition": "block", "llike.factor": 16, "llike.dim": 2}),
    ("array_partition x complete dim=1", {"x.partition": "complete", "x.dim": 1}),
    ("inline off", {"L.inline": "off"}),
    ("loop_flatten off", {}),
])
def test_pragma_texts_of_other_tools_read_as_directives(text, directives):
    assert pragma_directives("L", text, trip=16) == directives


def test_table_columns_that_name_their_loop_translate_to_its_directives(tmp_path):
    path = tmp_path / "s.toml"
    path.write_text('[kernel]\nname = "md_knn"\n[columns.L1]\non = "loop_i"\nvalues = ["pipeline", "unroll factor=2"]\n'
                    '[columns.L2]\nvalues = ["unroll (full)"]\n')
    space = Space.load(path)
    assert space.pragma_columns == {"L1": "loop_i"}
    assert space.with_directives({"L1": "unroll factor=2", "L2": "unroll (full)"}, {"loop_i": 256}) == \
        {"L1": "unroll factor=2", "L2": "unroll (full)", "loop_i.unroll": 2}
