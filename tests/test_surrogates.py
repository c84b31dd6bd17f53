"""Surrogates: the dataset loader, knob encodings, the scikit-learn estimator contract, the
model file, and the train/predict commands."""

import json
import math
import pickle
import random

import numpy as np
import pandas as pd
import pytest
from sklearn.base import clone

from dse import Configuration, Space
from dse.backends import get_backend
from dse.dataset import load_table
from dse.estimate import Estimator
from dse.executor import LocalExecutor
from dse.features import KnobEncoder
from dse.frontend import read_kernel, source_hash
from dse.kernels import resolve_kernel
from dse.paths import bundled
from dse.render import directives
from dse.runner import design_points, run_points
from dse.searchers import SEARCHERS
from dse.store import Store
from dse.structure import Structure
from dse.surrogates import (MODEL_FORMAT, BlendSurrogate, ConformalSurrogate, GuidedSurrogate, LinearSurrogate,
                            SurrogateModel, baseline, candidates, scores)
from dse.targets import get_target


@pytest.fixture(scope="module")
def sweep(tmp_path_factory):
    """A builtin sweep of gemm_ncubed: 160 random points."""
    db = tmp_path_factory.mktemp("surrogates") / "gemm.sqlite"
    space = Space.load(bundled("pragmas") / "gemm_ncubed.toml")
    source = resolve_kernel("gemm_ncubed")
    points = design_points(SEARCHERS["random"](space, seed=5).propose(160), kernel="gemm_ncubed",
                           source=str(source.path), source_hash=source_hash(source.path), top=None, include_dirs=(),
                           defines=(), target="xc7z020", clock_ns=10.0, fidelity="estimate")
    with Store(db) as store, LocalExecutor(2) as executor:
        run_points(points, get_backend("builtin"), store, executor)
    return db


def test_table_from_a_sweep_merges_duplicates_and_drops_failures(tmp_path, sweep):
    table = load_table(sweep)
    assert table.knobs[:3] == ["clock.period_ns", "inner.ii", "inner.pipeline"] and "status" not in table.knobs
    assert table.metrics[:6] == ["latency_cycles", "ii", "lut", "ff", "dsp", "bram"]
    assert "clock_ns" not in table.metrics  # the requested clock is an input of a sweep
    assert len(table.frame) == 160 and table.target == "xc7z020" and table.kernel == "gemm_ncubed"
    frame = pd.DataFrame({"u": [1, 1, 2, 4, 4], "p": ["on", "on", "off", "on", "on"],
                          "lut": [10.0, 20.0, 30.0, None, 50.0], "status": ["ok", "ok", "ok", "ok", "failed"]})
    frame.to_csv(tmp_path / "t.csv", index=False)
    table = load_table(tmp_path / "t.csv", knobs=["u", "p"])
    assert table.frame["u"].tolist() == [1, 2, 4] and table.frame["p"].tolist() == ["on", "off", "on"]
    assert table.frame["lut"].tolist()[:2] == [15.0, 30.0] and np.isnan(table.frame["lut"].iloc[2])


@pytest.mark.parametrize("knobs, message", [
    (None, "name the knob columns with --knobs"),
    (["u", "q"], "no knob column 'q'"),
])
def test_table_errors_are_one_line(tmp_path, knobs, message):
    pd.DataFrame({"u": [1, 2], "lut": [1.0, 2.0]}).to_csv(tmp_path / "t.csv", index=False)
    with pytest.raises(Exception, match=message):
        load_table(tmp_path / "t.csv", knobs=knobs)


def test_encoder_uses_log2_factors_one_hot_and_factor_text():
    frame = pd.DataFrame({"u": [1, 4, 16], "p": ["on", "off", None], "d": ["unroll factor=2", "pipeline",
                                                                          "unroll factor=8"]})
    encoder = KnobEncoder(["u", "p", "d"]).fit(frame)
    features = pd.DataFrame(encoder.transform(frame), columns=encoder.columns_)
    assert features["u:log2"].tolist() == [0.0, 2.0, 4.0]
    assert features["p=-"].tolist() == [0.0, 0.0, 1.0] and features["p=on"].tolist() == [1.0, 0.0, 0.0]
    assert features["d:factor_log2"].tolist() == [1.0, 0.0, 3.0]
    pairs = KnobEncoder(["u", "p"], interactions=True).fit(frame)
    assert "u:log2*p=off" in pairs.columns_ and "p=off*p=on" not in pairs.columns_  # categories exclude each other
    assert "u:log2*p=on" not in pairs.columns_  # constant (0) on these rows


def test_structure_follows_the_directives():
    structure = Structure(read_kernel(resolve_kernel("gemm_ncubed").path), get_target("xc7z020"))
    piped = {"middle.pipeline": "on", "middle.ii": 1}
    configs = pd.DataFrame([{}, {"inner.unroll": 4}, piped,
                            {**piped, "m1.partition": "cyclic", "m1.factor": 64, "m2.partition": "block", "m2.factor": 64},
                            {**piped, "m1.partition": "cyclic", "m1.factor": 64, "m2.partition": "cyclic", "m2.factor": 64},
                            {**piped, "m1.partition": "block", "m1.factor": 64, "m2.partition": "block", "m2.factor": 64}],
                           dtype=object)
    features = structure.features(configs)
    # 64^3 runs of one copy; unrolled by 4; flattened into the pipelined middle loop
    assert list(features["inner:log2_runs"]) == [18, 16, 12, 12, 12, 12]
    assert list(features["inner:log2_copies"]) == [0, 2, 6, 6, 6, 6]
    # m1[i*64+k] and m2[k*64+j] over the 64 flattened k: II 32 on 2 ports, unless the banks split k:
    # cyclic m1 and block m2 do; stride-64 reads of a cyclic m2 all reach one bank, and so do
    # stride-1 reads of a block m1
    assert list(features["middle:log2_ii"]) == [0, 0, 5, 0, 5, 5]
    # f64 multiplier 11 DSP, adder 3: one each; the unrolled products wait for two ports (2 each);
    # a pipeline at II 32 needs 64/32 of each; at II 1, 64 of each
    assert list(features["dsp"]) == [14, 25, 28, 896, 28, 28]


def test_structure_remembers_rows_but_not_in_a_model_file():
    structure = Structure(read_kernel(resolve_kernel("gemm_ncubed").path), get_target("xc7z020"))
    configs = pd.DataFrame([{}, {"inner.unroll": 4}, {}], dtype=object)
    first = structure.features(configs)
    assert len(structure._memo) == 2 and list(first["inner:log2_copies"]) == [0, 2, 0]
    again = structure.features(configs.iloc[[1, 0]])
    assert list(again["inner:log2_copies"]) == [2, 0] and len(structure._memo) == 2
    assert pickle.loads(pickle.dumps(structure))._memo == {}


def test_structure_features_of_a_row_do_not_depend_on_the_rows_beside_it():
    space = Space.load(bundled("pragmas") / "viterbi.toml")
    structure = Structure(read_kernel(resolve_kernel("viterbi").path), get_target("xc7z020"))
    rng = random.Random(1)
    frame = pd.DataFrame([space.sample(rng).as_dict() for _ in range(30)], columns=list(space.knobs), dtype=object)
    batch = structure._features({knob: frame[knob].to_numpy() for knob in frame}, len(frame))
    for row in range(len(frame)):
        alone = structure._features({knob: frame[knob].to_numpy()[row:row + 1] for knob in frame}, 1)
        assert {name: values[0] for name, values in alone.items()} == \
            pytest.approx({name: values[row] for name, values in batch.items()})


def test_structure_proxies_follow_the_builtin_estimator():
    kernel = read_kernel(resolve_kernel("stencil2d").path)
    piped = {"stencil_label2.pipeline": "on", "stencil_label2.ii": 1}
    configs = [{}, {**piped, "stencil_label2.unroll": 62},  # unrolled whole: the pipeline directive is void
               {"stencil_label2.unroll": 31},  # 31 copies of the label3 loop, one after another
               {"stencil_label3.pipeline": "on", "stencil_label3.ii": 1, "orig.partition": "cyclic", "orig.factor": 4},
               {**piped, "orig.partition": "cyclic", "orig.factor": 8, "filter.partition": "complete"}]
    features = Structure(kernel, get_target("xc7z020")).features(pd.DataFrame(configs, dtype=object))
    estimates = [Estimator(kernel, directives(kernel, Configuration.of(c)), get_target("xc7z020"), 10.0).run()
                 for c in configs]
    assert [e.dsp for e in estimates] == [3, 3, 3, 6, 15] == list(features["dsp"])
    assert features["lut"] == pytest.approx([e.lut for e in estimates], rel=0.05)
    assert features["latency"] == pytest.approx([e.latency_cycles for e in estimates], rel=0.12)
    # each of the 31 copies keeps its 32-bit store address while its label3 loop runs
    assert features["ff_late_address"][2] == 31 * 32


def test_port_proxies_follow_the_busiest_bank():
    kernel = read_kernel(resolve_kernel("stencil3d").path)
    piped = {"loop_row.pipeline": "on", "loop_row.ii": 1}
    configs = [{**piped, "orig.partition": "cyclic", "orig.factor": 64},
               {**piped, "loop_row.unroll": 7, "loop_col.unroll": 30, "orig.partition": "block", "orig.factor": 32}]
    features = Structure(kernel, get_target("xc7z020")).features(pd.DataFrame(configs, dtype=object))
    estimates = [Estimator(kernel, directives(kernel, Configuration.of(c)), get_target("xc7z020"), 10.0).run()
                 for c in configs]
    # orig[i-1], orig[i] and orig[i+1] are 512 apart: one bank of 64 holds all three (II 2); in blocks of 512
    # (loops counted from 1), the 7 copies' centres and row and column neighbours share one bank (35 reads)
    assert [next(l.ii for l in e.loops if l.name == "loop_row") for e in estimates] == [2, 18]
    assert np.exp2(features["loop_row:log2_ii"]) == pytest.approx([2, 18])
    assert [e.dsp for e in estimates] == [3, 3] == list(features["dsp"])


def test_loads_pace_operators_where_the_banks_of_their_patterns_meet():
    kernel = read_kernel(resolve_kernel("viterbi").path)
    config = {"L_prev_state.unroll": 63, "llike.partition": "complete", "llike.dim": 2,
              "transition.partition": "block", "transition.factor": 64}
    features = Structure(kernel, get_target("xc7z020")).features(pd.DataFrame([config], dtype=object))
    estimate = Estimator(kernel, directives(kernel, Configuration.of(config)), get_target("xc7z020"), 10.0).run()
    # the 63 copies read llike and transition on 63 banks each, beside one read of llike[t-1][0] and the store
    # of llike[t][curr] at the end: every first add starts at once (64 double adders of 3 DSP), where adding
    # up the patterns' loads per bank (3, two cycles) halved them
    assert estimate.dsp == 192 == features["dsp"][0]


def test_copies_whose_loads_follow_a_sub_loop_of_the_copy_before_do_not_start_together():
    kernel = read_kernel(resolve_kernel("viterbi").path)
    config = {"L_curr_state.unroll": 2, "L_prev_state.pipeline": "on", "L_prev_state.ii": 4}
    features = Structure(kernel, get_target("xc7z020")).features(pd.DataFrame([config], dtype=object))
    estimate = Estimator(kernel, directives(kernel, Configuration.of(config)), get_target("xc7z020"), 10.0).run()
    # the second copy reads llike after the first copy's L_prev_state has read it: one double adder
    assert estimate.dsp == 3 == features["dsp"][0]


def test_a_loops_own_address_arithmetic_lengthens_it_unless_unrolled():
    kernel = read_kernel(resolve_kernel("stencil3d").path)
    structure = Structure(kernel, get_target("xc7z020"))
    loop_row = next(f for f in structure.loops if f.loop.name == "loop_row")
    # INDX(k, j, i) = k + 16 * (j + 32 * i) before each of the seven loads: constants once unrolled
    assert structure._depth(loop_row, 10.0) == pytest.approx(4.282, abs=1e-3)
    assert structure._depth(loop_row, 10.0, folded=False) == pytest.approx(5.351, abs=1e-3)


def test_a_carried_chain_registers_results_only_across_a_clock_edge():
    kernel = read_kernel(resolve_kernel("stencil2d").path)
    banks = {"filter.partition": "complete", "orig.partition": "cyclic", "orig.factor": 64}
    configs = [{**banks, "stencil_label4.unroll": 3}, {**banks, "stencil_label3.unroll": 3, "stencil_label4.unroll": 3}]
    features = Structure(kernel, get_target("xc7z020")).features(pd.DataFrame(configs, dtype=object))
    estimates = [Estimator(kernel, directives(kernel, Configuration.of(c)), get_target("xc7z020"), 10.0).run()
                 for c in configs]
    # three chained adds of temp fit in one cycle; nine do not, and six of the nine products wait for the sum
    assert list(features["ff_chain"]) == [0, 6 * 32]
    assert features["ff"] == pytest.approx([e.ff for e in estimates], rel=0.05)


def test_a_carried_chain_backs_up_the_more_operators_feed_it_at_once():
    kernel = read_kernel(resolve_kernel("stencil2d").path)
    flat = {"orig.partition": "cyclic", "orig.factor": 64, "sol.partition": "block", "sol.factor": 62,
            "stencil_label2.unroll": 62, "stencil_label3.unroll": 3, "stencil_label4.unroll": 3,
            "stencil_label4.pipeline": "on"}
    configs = [{**flat, "filter.partition": kind, "filter.factor": 4} for kind in ("block", "cyclic")]
    features = Structure(kernel, get_target("xc7z020")).features(pd.DataFrame(configs, dtype=object))
    estimates = [Estimator(kernel, directives(kernel, Configuration.of(c)), get_target("xc7z020"), 10.0).run()
                 for c in configs]
    # the 9 taps on 3 of 4 block banks, or on all 4 cyclic ones: the more taps are read at once, the more
    # multipliers start together (the builtin flow binds 8 and 10; the proxy counts 6 and 8) and the more
    # products wait for their running sums
    assert [e.dsp for e in estimates] == [24, 30] and [e.ff for e in estimates] == [13961, 18601]
    assert features["ff_chain"][0] == features["ff_chain"][1] == 62 * 6 * 32
    assert features["ff_chain_backlog"] == pytest.approx([62 * 6 * 32 * math.log2(6), 62 * 6 * 32 * math.log2(8)])

def test_register_proxies_follow_the_builtin_estimator():
    kernel = read_kernel(resolve_kernel("gemm_ncubed").path)
    piped = {"middle.pipeline": "on", "middle.ii": 1}
    configs = [{}, piped, {**piped, "middle.unroll": 4}, {"inner.unroll": 8},
               {"inner.pipeline": "on", "inner.ii": 1, "inner.unroll": 4}]
    features = Structure(kernel, get_target("xc7z020")).features(pd.DataFrame(configs, dtype=object))
    estimates = [Estimator(kernel, directives(kernel, Configuration.of(c)), get_target("xc7z020"), 10.0).run()
                 for c in configs]
    assert features["ff"] == pytest.approx([e.ff for e in estimates], rel=0.06)
    assert features["lut"] == pytest.approx([e.lut for e in estimates], rel=0.06)
    # pipelining middle flattens the 64 products of inner: 63 of them wait for the running sum
    assert features["ff_chain"][1] == 63 * 64


def test_proxy_models_predict_beyond_the_training_range(sweep):
    table = load_table(sweep)
    kernel = read_kernel(resolve_kernel("gemm_ncubed").path)
    for metric in ("dsp", "lut"):
        frame = table.frame[table.frame[metric].notna()]
        small = frame[metric] <= frame[metric].quantile(0.75)
        family = candidates(table.knobs, kernel, metric=metric)
        family["guided"] = GuidedSurrogate(family["ridge/log/kernel"], family["proxy/log"], np.log(1.5))
        fitted = {name: clone(family[name]).fit(frame[small], frame[small][metric])
                  for name in ("proxy/log", "ridge/log/kernel", "guided")}
        r2 = {name: scores(frame[~small][metric], model.predict(frame[~small]))["r2"] for name, model in fitted.items()}
        # the largest quarter of the designs (DSP up to 28x the largest seen in training)
        assert r2["proxy/log"] > 0.95 and r2["ridge/log/kernel"] < 0.5 and r2["guided"] > 0.8, (metric, r2)
        apart = np.log1p(fitted["guided"].predict(frame[~small])) - np.log1p(fitted["proxy/log"].predict(frame[~small]))
        assert np.abs(apart).max() <= np.log(1.5) + 1e-9  # within the band


def test_a_metric_never_negative_is_never_predicted_negative():
    table = pd.DataFrame({"a": [1, 2, 4, 8]})
    lut = np.array([10.0, 40.0, 160.0, 640.0])  # a straight line in log2(a) falls below 0 at a = 1
    unbounded = LinearSurrogate(["a"], "ols", log_target=False, bounded=False).fit(table, lut)
    assert unbounded.predict(table) == pytest.approx([0, 112, 313, 514])
    assert min(unbounded.interval(table)[1]) == 0
    assert baseline(["a"]).fit(table, lut).predict(table) == pytest.approx([-89, 112, 313, 514])  # plain OLS
    guided = GuidedSurrogate(unbounded, unbounded, np.log(1.5)).fit(table, lut)
    assert min(guided.interval(table)[1]) == 0
    slack = LinearSurrogate(["a"], "ols", log_target=False, bounded=False).fit(table, lut - 100)  # may be negative
    assert slack.floor_ == -np.inf and slack.predict(table)[0] < -100


def test_intervals_come_from_errors_on_rows_the_model_did_not_see():
    y = np.arange(1.0, 11.0) * 100  # ten designs; out of fold, the model missed each by 10%
    out_of_fold = y * 1.1
    wrapped = ConformalSurrogate.around(LinearSurrogate(["a"], "ols", log_target=False), y, out_of_fold)
    # the 90% x (1 + 1/10) = 99% quantile of |log1p(y) - log1p(1.1 y)|: nearly log(1.1)
    assert wrapped.relative and wrapped.half_width == pytest.approx(np.quantile(np.log((1 + 1.1 * y) / (1 + y)), 0.99))
    table = pd.DataFrame({"a": [1, 2, 4, 8]})
    fitted = clone(wrapped).fit(table, [100.0, 200.0, 300.0, 400.0])  # a straight line in log2(a)
    mean, low, high = fitted.interval(table)
    # in proportion to the prediction: the same width on the log1p scale for every design
    assert mean == pytest.approx([100, 200, 300, 400])
    assert np.allclose(np.log1p(high) - np.log1p(mean), wrapped.half_width)
    assert np.allclose(np.log1p(mean) - np.log1p(low), wrapped.half_width)
    # a metric that may be negative (a slack): an interval of the same width everywhere
    signed = ConformalSurrogate.around(LinearSurrogate(["a"], "ols", log_target=False), y - 500, y - 500 + 20)
    assert not signed.relative and signed.half_width == pytest.approx(20)


def test_surrogate_follows_scikit_learn_rules(sweep):
    table = load_table(sweep)
    frame = table.frame
    model = LinearSurrogate(table.knobs, model="bayes", log_target=True)
    assert model.get_params()["model"] == "bayes" and not hasattr(model, "regressor_")
    assert model.fit(frame, frame["lut"]) is model
    mean, std = model.predict(frame, return_std=True)
    assert mean.shape == std.shape == (len(frame),) and (std > 0).all()
    mean, low, high = model.interval(frame)
    assert (low <= mean).all() and (mean <= high).all()
    copy = clone(model)
    assert copy.get_params() == model.get_params() and not hasattr(copy, "regressor_")
    raw = LinearSurrogate(table.knobs, log_target=False)
    blend = BlendSurrogate([model, raw])
    assert blend.fit(frame, frame["lut"]) is blend and not hasattr(blend.members[1], "regressor_")
    members = [m.predict(frame) for m in blend.members_]
    assert np.allclose(blend.predict(frame), (members[0] + members[1]) / 2)
    mean, low, high = blend.interval(frame)
    assert (low <= np.minimum(*members) + 1e-6).all() and (high >= np.maximum(*members) - 1e-6).all()
    fitted = LinearSurrogate(table.knobs, interactions=True, kernel=read_kernel(resolve_kernel("gemm_ncubed").path),
                             log_target=False, bounded=False).fit(frame, frame["latency_cycles"])
    assert len(fitted.encoder_.pairs_) > 10
    # weights folded onto the unscaled base columns predict what the fitted scikit-learn model does
    sklearn_route = fitted.regressor_.predict(fitted.scaler_.transform(fitted.encoder_.transform(frame)))
    assert np.allclose(fitted.predict(frame), sklearn_route, rtol=1e-9, atol=1e-6)
    ours = scores(frame["latency_cycles"], fitted.predict(frame))
    theirs = scores(frame["latency_cycles"], baseline(table.knobs).fit(frame, frame["latency_cycles"]).predict(frame))
    assert ours["r2"] > theirs["r2"] and ours["r2"] > 0.9  # on its own training rows


def test_train_and_predict_commands(run_cli, tmp_path, sweep):
    model_file = tmp_path / "m.joblib"
    code, out, err = run_cli("train", "--data", sweep, "--metrics", "latency_cycles,dsp", "--folds", 3,
                             "-o", model_file, "--json", "--plot", tmp_path / "p.html")
    assert code == 0, err
    report = json.loads(out)["metrics"]
    assert set(report) == {"latency_cycles", "dsp"}
    assert set(report["dsp"]) == {"cv_r2", "cv_mape", "baseline_cv_r2"}
    assert report["latency_cycles"]["cv_r2"] > report["latency_cycles"]["baseline_cv_r2"]
    assert "data:image/png;base64," in (tmp_path / "p.html").read_text()
    code, out, err = run_cli("predict", "--model", model_file, "--set", "inner.unroll=4", "--set",
                             "inner.pipeline=on", "--set", "inner.ii=1", "--json")
    assert code == 0, err
    [record] = json.loads(out)
    latency = record["latency_cycles"]
    assert latency["low"] <= latency["mean"] <= latency["high"] and latency["mean"] > 0
    assert record["fits"] in (True, False) and "dsp" in record["utilisation_pct"]


def test_model_file_errors(run_cli, tmp_path, sweep):
    model_file = tmp_path / "m.joblib"
    assert run_cli("train", "--data", sweep, "--metrics", "lut", "--folds", 2, "-o", model_file)[0] == 0
    code, _, err = run_cli("predict", "--model", model_file, "--set", "iner.unroll=4")
    assert code == 2 and "unknown knob 'iner.unroll' (did you mean 'inner.unroll'?)" in err
    code, _, err = run_cli("predict", "--model", model_file, "--set", "inner.unroll=3")
    assert code == 2 and "inner.unroll=3: not a value the model was trained on" in err
    model = SurrogateModel.load(model_file)
    model.versions["scikit-learn"] = "0.1"
    model.save(tmp_path / "old.joblib")
    code, _, err = run_cli("predict", "--model", tmp_path / "old.joblib", "--set", "inner.unroll=4")
    assert code == 2 and "trained with scikit-learn 0.1" in err and err.count("\n") == 1
    del model.versions["model format"]  # a file from before its pickled internals last changed shape
    model.versions["scikit-learn"] = SurrogateModel.load(model_file).versions["scikit-learn"]
    model.save(tmp_path / "older.joblib")
    code, _, err = run_cli("predict", "--model", tmp_path / "older.joblib", "--set", "inner.unroll=4")
    assert code == 2 and f"trained with model format unknown, this is model format {MODEL_FORMAT}" in err
    (tmp_path / "bad.joblib").write_text("not a model")
    code, _, err = run_cli("predict", "--model", tmp_path / "bad.joblib", "--set", "inner.unroll=4")
    assert code == 2 and "not a model file written by dse train" in err
