"""Searches: the replay backend, goals, searchers, successive halving, studies that resume,
recommendations and the report."""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from dse import Configuration, DseError, Space
from dse.backends import DesignPoint, Result, get_backend
from dse.backends.vitis import configuration_of
from dse.executor import LocalExecutor
from dse.objectives import Goals, Limit, metric_value
from dse.pareto import adrs, pareto_mask
from dse.recommend import pareto_designs
from dse.scheduler import AshaScheduler, Job, cost_etas, ranked
from dse.searchers import BayesSearcher, GridSearcher, Observation, RandomSearcher
from dse.store import Store
from dse.study import Search, make_scheduler, make_searcher, observation
from dse.targets import costed_on

REAL = Path(__file__).resolve().parent / "fixtures" / "real"
MD_KNN = REAL / "machsuite-md-knn.csv"
GOALS = Goals.parse("latency_cycles,area")


def replay_point(config: Configuration, backend, fidelity: str | None = None) -> DesignPoint:
    return DesignPoint("study", str(backend.table), "h", None, (), (), config, "xczu7ev", 10.0,
                       fidelity or backend.fidelities[-1])


def replay_search(backend, strategy: str, budget: float, store: Store, seed: int = 0, name: str = "s",
                  progress=None, jobs: int = 1, max_concurrent: int | None = None):
    space = backend.space("study")
    search = Search(name, space, backend, make_searcher(strategy, space, seed, int(budget), GOALS, None),
                    make_scheduler(strategy, backend.fidelities, GOALS, 3), GOALS, budget,
                    dict(kernel="study", source=str(backend.table), source_hash="h", top=None, include_dirs=(),
                         defines=(), target="xczu7ev", clock_ns=10.0))
    with LocalExecutor(jobs) as executor:
        return search.run(store, executor, progress=progress, max_concurrent=max_concurrent)


def replayed(backend, space: Space) -> list[Observation]:
    """Every configuration of ``space`` as the table has it."""
    return [observation(c, "ok", backend.run(replay_point(c, backend), None).metrics, GOALS) for c in space.enumerate()]


# ----- replay -------------------------------------------------------------------------------

def test_replay_infers_knobs_and_space_and_replays_rows():
    backend = get_backend("replay", table=MD_KNN)
    assert backend.knobs == ["L1", "L2"]
    assert backend.fidelities == ("replay",)
    space = backend.space("md_knn")
    assert space.count() == 48
    assert space.knobs["L1"].values[:3] == ("unroll factor=2", "unroll factor=4", "pipeline II=1")
    result = backend.run(replay_point(Configuration.of({"L1": "unroll factor=2", "L2": "pipeline"}), backend), None)
    assert result.status == "ok"
    assert result.metrics["latency_cycles"] == 55169  # latency_cycles_est, under the store's name
    assert result.metrics["util_lut"] == 16 and result.metrics["util_ff"] == 8 and result.metrics["util_dsp"] == 1
    assert result.runtime_s == 69
    assert metric_value(result.metrics, "area") == pytest.approx((16 + 8 + 1 + 0) / 4)


def test_replay_unknown_and_failed_rows(tmp_path):
    table = tmp_path / "t.csv"
    table.write_text("a,b,lut,feasible\n1,x,10,1\n2,x,20,0\n")
    backend = get_backend("replay", table=table)
    assert backend.knobs == ["a", "b"]
    assert backend.run(replay_point(Configuration.of({"a": 1, "b": "x"}), backend), None).metrics == {"lut": 10.0}
    failed = backend.run(replay_point(Configuration.of({"a": 2, "b": "x"}), backend), None)
    assert failed.status == "failed" and "failed or timed out" in failed.error
    unknown = backend.run(replay_point(Configuration.of({"a": 3, "b": "x"}), backend), None)
    assert unknown.status == "unknown" and unknown.error == "not in t.csv"


def test_replay_bad_tables(tmp_path):
    with pytest.raises(DseError, match="no such table"):
        get_backend("replay", table=tmp_path / "missing.csv")
    (tmp_path / "t.csv").write_text("lut,ff\n1,2\n")
    with pytest.raises(DseError, match="no knob columns"):
        get_backend("replay", table=tmp_path / "t.csv")
    (tmp_path / "binary.csv").write_bytes(Path(__file__).with_name("conftest.py").read_bytes() + b"\n1,2,3\n4,5,6,7\n")
    with pytest.raises(DseError, match="cannot read as a table") as refused:
        get_backend("replay", table=tmp_path / "binary.csv")
    assert "\n" not in str(refused.value)
    with pytest.raises(DseError, match="no knob column 'L11' \\(did you mean 'L1'\\?\\)"):
        get_backend("replay", table=MD_KNN, knobs=["L11"])
    with pytest.raises(DseError, match="only the replay backend"):
        get_backend("builtin").adapt(get_backend("replay", table=MD_KNN).space("x"))


# ----- goals --------------------------------------------------------------------------------

def test_goals_parse_constraints_and_excess():
    goals = Goals.parse("latency_cycles, lut", ["lut<=60%", "dsp<100", "latency_cycles>=10"], target="xc7z020")
    assert goals.objectives == ("latency_cycles", "lut")
    assert goals.limits[0] == Limit("lut<=60%", "util_lut", True, 60.0)
    assert goals.metrics == ("latency_cycles", "lut", "util_lut", "dsp")
    # xc7z020 has 53,200 LUTs: 42,560 is 80%, 20 over a bound of 60 -> excess 1/3
    values, excess = goals.values({"latency_cycles": 5, "lut": 42560, "dsp": 150})
    assert values == [5.0, 42560.0]
    assert excess == pytest.approx(20 / 60 + 50 / 100 + 5 / 10)
    assert goals.values({"latency_cycles": 50, "lut": 100, "dsp": 10})[1] == 0
    for bad, message in (("lut=<3", "write METRIC<=VALUE"), ("latency_cycles<=5%", "a percentage applies")):
        with pytest.raises(DseError, match=message):
            Goals.parse("lut", [bad])
    with pytest.raises(DseError, match="named twice"):
        Goals.parse("lut,lut")


def test_weighted_area_objective():
    goals = Goals.parse("latency_cycles,area(lut=1, dsp=3)", target="xc7z020")
    assert goals.objectives == ("latency_cycles", "area(lut=1, dsp=3)")
    # 10,640 LUTs of 53,200 is 20%, 110 DSPs of 220 is 50%: (1 * 20 + 3 * 50) / 4; FF and BRAM weigh 0
    values, _ = goals.values({"latency_cycles": 7, "lut": 10640, "dsp": 110, "ff": 90000, "bram": 100})
    assert values == [7.0, pytest.approx(42.5)]
    for bad, message in (("area(lut=x)", "write area"), ("area(uram=1)", "write area"), ("area(lut=0)", "above 0")):
        with pytest.raises(DseError, match=message):
            Goals.parse(bad)


def test_goals_name_only_metrics_the_results_can_give():
    builtin = get_backend("builtin").metrics
    Goals.parse("latency_cycles,area(lut=1)", ["lut<=60%", "dsp<=4"]).check(builtin, "builtin")
    md_knn = get_backend("replay", table=MD_KNN).metrics  # utilisation in % only, under the store's names too
    assert {"latency_cycles", "util_lut", "util_lut_pct", "synth_time_s"} <= md_knn and "lut" not in md_knn
    Goals.parse("latency_cycles,area", ["lut<=50%"]).check(md_knn, "md-knn")
    with pytest.raises(DseError, match="objective 'lut': no metric 'lut' in md-knn"):
        Goals.parse("latency_cycles,lut").check(md_knn, "md-knn")
    with pytest.raises(DseError, match="constraint 'dps<=4': no metric 'dps' in builtin .* "
                                       "\\(did you mean 'dsp'\\?\\)"):
        Goals.parse("latency_cycles", ["dps<=4"]).check(builtin, "builtin")
    with pytest.raises(DseError, match="objective 'area\\(dsp=1\\)'"):
        Goals.parse("area(dsp=1)").check({"latency_cycles", "util_lut"}, "t.csv")
    counts = {"latency_cycles", "lut", "dsp"}  # resources as counts: a percentage needs the device
    Goals.parse("area", ["lut<=50%"], target="xc7z020").check(counts, "t.csv")
    with pytest.raises(DseError, match="'util_lut' in t.csv .*; a utilisation from lut needs the device's capacity"):
        Goals.parse("latency_cycles", ["lut<=50%"], target="xczu9eg").check(counts, "t.csv")


# ----- searchers ----------------------------------------------------------------------------

def test_non_adaptive_searchers_skip_what_was_tried():
    space = get_backend("replay", table=MD_KNN).space("x")
    grid = GridSearcher(space, planned=48)
    first = grid.ask(3, [], set())
    assert [c.as_dict() for c in first] == [dict(zip(("L1", "L2"), v)) for v in
                                            (("unroll factor=2", "pipeline"), ("unroll factor=2", "unroll factor=4"),
                                             ("unroll factor=2", "unroll factor=2"))]
    assert grid.ask(1, [], {c.hash for c in first})[0].as_dict() == {"L1": "unroll factor=2", "L2": "pipeline II=1"}
    tried = {c.hash for c in space.enumerate()}
    everything_but_one = set(list(tried)[:-1])
    assert [c.hash for c in RandomSearcher(space, planned=10).ask(5, [], everything_but_one)] == \
        [h for h in tried if h not in everything_but_one]


def test_bayes_proposes_unseen_configurations_that_improve_the_front():
    backend = get_backend("replay", table=MD_KNN)
    space = backend.space("x")
    history = []
    searcher = BayesSearcher(space, seed=0, planned=16, goals=GOALS)
    assert searcher.initial_size == 3
    while len(history) < 16:
        proposed = searcher.ask(1, history, {o.config.hash for o in history})
        assert len(proposed) == 1 and proposed[0].hash not in {o.config.hash for o in history}
        result = backend.run(replay_point(proposed[0], backend), None)
        history.append(observation(proposed[0], result.status, result.metrics, GOALS))
    found = np.array([[o.values[m] for m in GOALS.objectives] for o in history])
    assert found[:, 0].min() == 2708  # the fastest design of the table
    every = replayed(backend, space)
    reference = np.array([[o.values[m] for m in GOALS.objectives] for o in every])
    assert adrs(reference[pareto_mask(reference)], found) < 0.1
    # which of the designs left it would run next: none before its initial design is measured
    left = [o.config for o in every if o.config.hash not in {h.config.hash for h in history}]
    assert searcher.choose(left, history[:2]) is None
    picked = searcher.choose(left, history)
    assert picked == searcher.choose(left, history) and 0 <= picked < len(left)


def test_bayes_proposes_the_same_whatever_order_its_results_came_in():
    # a space too large to take whole: candidates include the neighbours of designs drawn from the front
    space = Space.of_columns("toy", {k: list(range(1, 11)) for k in "abcd"})
    goals = Goals.parse("latency_cycles,lut")
    history = [Observation(c, "ok", {"latency_cycles": 100.0 - 3 * c["a"] - c["b"] + c["c"],
                                     "lut": 10.0 * c["a"] + c["b"] + c["d"]})
               for c in RandomSearcher(space, seed=1).propose(30)]
    tried = {o.config.hash for o in history}
    asks = [BayesSearcher(space, seed=0, planned=60, goals=goals).ask(3, order, tried)
            for order in (history, history[::-1], history[1::2] + history[::2])]
    assert asks[0] == asks[1] == asks[2] and len(asks[0]) == 3


def test_bayes_starts_from_the_design_without_directives():
    gemm = Space.load(Path(__file__).resolve().parents[1] / "pragmas" / "gemm_ncubed.toml")
    initial = BayesSearcher(gemm, seed=0, planned=40, goals=GOALS).propose(4)
    assert initial[0] == gemm.plain() and len({c.hash for c in initial}) == 4


def test_bayes_refits_its_surrogates_as_results_grow_by_a_twentieth():
    backend = get_backend("replay", table=MD_KNN)
    space = backend.space("x")
    every = replayed(backend, space)
    searcher = BayesSearcher(space, seed=0, planned=48, goals=GOALS)
    first = searcher._models(every[:40])
    assert searcher._models(every[:41]) is first  # 41 < 40 * 1.05: the same fit
    assert searcher._models(every[:42]) is not first
    assert searcher._models(every[1:43]) is not searcher._models(every[:43])  # other observations: fitted again


def md_knn_columns(folder: Path) -> Path:
    """A space file for the md-knn table whose columns L1, L2 act on the kernel's loops."""
    table = pd.read_csv(MD_KNN)
    columns = "".join(f'[columns.{c}]\non = "{loop}"\nvalues = {json.dumps(sorted(set(table[c])))}\n'
                      for c, loop in (("L1", "loop_i"), ("L2", "loop_j")))
    (folder / "s.toml").write_text(f'[kernel]\nname = "md_knn"\n{columns}')
    return folder / "s.toml"


@pytest.mark.parametrize("clock, first, latencies, expected", [
    # costed at 10 ns, the structure puts the pipelined inner loop at the small end
    ([], [("unroll factor=8", "unroll (full)"), ("unroll factor=2", "pipeline"), ("pipeline", "pipeline")],
     [12993, 55169, 2708, 25729, 51329], 0.1022),
    # at the table's 3.33 ns, floating-point cores take three times the cycles and the small end is unrolled
    (["--clock-ns", 3.33], [("unroll factor=8", "unroll (full)"), ("pipeline", "pipeline"),
                            ("unroll factor=2", "unroll (full)")], [12993, 2708, 51329, 250497, 25729], 0.0522),
])
def test_bayes_on_a_table_whose_columns_name_the_kernels_loops_starts_from_its_structure(
        run_cli, tmp_path, clock, first, latencies, expected):
    table = pd.read_csv(MD_KNN)
    code, _, err = run_cli("search", "md_knn", "--backend", "replay", "--table", MD_KNN,
                           "--space", md_knn_columns(tmp_path), "--budget", 5, "--db", tmp_path / "r.sqlite",
                           "--jobs", 1, *clock)
    assert code == 0, err
    with Store(tmp_path / "r.sqlite") as store:
        trials = store.trials("md_knn-bayes-s0")
    # a budget this small is all initial design: the designs that best represent the front the kernel's
    # structure predicts, its ends and middle first
    assert [(t["config"]["L1"], t["config"]["L2"]) for t in trials[:3]] == first
    assert {t["config"].get("clock.period_ns") for t in trials} == {clock[1] if clock else None}
    assert [t["metrics"]["latency_cycles"] for t in trials] == latencies
    found = np.array([[metric_value(t["metrics"], m) for m in GOALS.objectives] for t in trials])
    every = np.array([[metric_value(r, m) for m in GOALS.objectives] for r in table.rename(columns={
        "latency_cycles_est": "latency_cycles", "util_lut_pct": "util_lut", "util_ff_pct": "util_ff",
        "util_dsp_pct": "util_dsp", "util_bram_pct": "util_bram"}).to_dict("records")])
    assert adrs(every[pareto_mask(every)], found) == pytest.approx(expected, abs=1e-4)  # random: 1.14 (60 seeds)


# ----- scheduler ----------------------------------------------------------------------------

def _observation(index: int, latency: float | None, area: float, status: str = "ok") -> Observation:
    return Observation(Configuration.of({"i": index}), status, {"latency_cycles": latency, "area": area})


def test_ranked_orders_fronts_then_misses_then_unmeasured():
    goals = Goals.parse("latency_cycles,area", ["area<=50"])
    results = [_observation(0, 100, 10), _observation(1, 50, 20), _observation(2, 200, 5),
               _observation(3, 120, 30), _observation(4, 10, 60), _observation(5, None, 1, "failed"),
               _observation(6, 10, 90)]
    # front 0: 0 (the least mean excess over it), then 1 and 2 (either lowers it to 0.33: the first
    # in lexicographic order wins); front 1: 3; then 4 and 6 by excess; then 5, unmeasured
    assert ranked(results, goals) == [0, 1, 2, 3, 4, 6, 5]


def test_asha_promotes_the_best_third_of_each_rung():
    goals = Goals.parse("latency_cycles,area")
    asha = AshaScheduler(("csynth", "impl"), goals, eta=3)
    rung0 = [_observation(i, latency, area) for i, (latency, area) in
             enumerate([(90, 9), (10, 50), (50, 50), (80, 80), (30, 40), (70, 70)])]
    assert asha.promotion({0: rung0[:2]}, set()) is None  # 2 // 3 = 0 promotable
    first = asha.promotion({0: rung0}, set())
    # front {1, 4, 0}: 1 (10, 50) has the least mean excess over it (1.60; 4: 1.81, 0: 3.33), then 0 (90, 9)
    # lowers it most (to 0.08; 4: to 1.15)
    assert first.rung == 1 and first.config.as_dict() == {"i": 1}
    taken = {(first.config.hash, 1)}
    assert asha.promotion({0: rung0}, taken).config.as_dict() == {"i": 0}
    taken.add((Configuration.of({"i": 0}).hash, 1))
    assert asha.promotion({0: rung0}, taken) is None
    with pytest.raises(DseError, match="at least two fidelities"):
        AshaScheduler(("replay",), goals)


def test_eta_follows_the_costs_and_a_used_up_space_promotes_what_is_left(tmp_path):
    assert cost_etas(("csynth", "syn", "impl"), {"csynth": 1.0, "syn": 4.0, "impl": 12.0}) == [4, 3]
    assert cost_etas(("estimate", "synth"), {"estimate": 0.01, "synth": 1.0}) == [100]
    assert cost_etas(("a", "b"), {}) == [3]  # equal costs: the least eta
    backend = get_backend("replay", table=_two_fidelity_table(tmp_path / "t.csv"), knobs=["a"])
    goals = Goals.parse("latency_cycles,lut")
    space = backend.space("t")
    scheduler = make_scheduler("halving", backend.fidelities, goals, costs=backend.costs)
    assert scheduler.etas == [10]
    with Store(tmp_path / "s.sqlite") as store, LocalExecutor(1) as executor:
        search = Search("h", space, backend, make_searcher("halving", space, 0, 3, goals, None), scheduler, goals,
                        3.0, dict(kernel="t", source="t.csv", source_hash="h", top=None, include_dirs=(), defines=(),
                                  target="xczu7ev", clock_ns=10.0))
        summary = search.run(store, executor)
        trials = store.trials("h")
    # 9 // 10: no promotion is due, but all nine designs ran at csynth (0.9): two go on at impl (2.0)
    assert [t["fidelity"] for t in trials] == ["csynth"] * 9 + ["impl"] * 2
    assert summary.spent == pytest.approx(2.9)
    csynth = [observation(Configuration.of(t["config"]), t["status"], t["metrics"], goals) for t in trials[:9]]
    assert [t["config"] for t in trials[9:]] == [csynth[i].config.as_dict() for i in ranked(csynth, goals)[:2]]
    # a searcher that learnt the higher rung chooses what goes on instead: here the worst ranked
    results = {0: csynth}
    taken = {(o.config.hash, 0) for o in csynth}
    worst = scheduler.leftover(results, taken, choose=lambda configs: len(configs) - 1)
    assert worst == Job(csynth[ranked(csynth, goals)[-1]].config, 1)
    best = scheduler.leftover(results, taken, choose=lambda configs: None)
    assert best == Job(csynth[ranked(csynth, goals)[0]].config, 1)


def test_hyperband_brackets_start_at_their_rungs_and_promote_among_their_own():
    goals = Goals.parse("latency_cycles,area")
    hyperband = AshaScheduler(("csynth", "syn", "impl"), goals, eta=3, brackets=2)
    # per configuration entering at syn, (3^2 / 3) / (3 / 2) = 2 enter at csynth
    assert hyperband.shares == [3.0, 1.5]
    taken, starts = set(), []
    for i in range(6):
        starts.append(hyperband.start(taken))
        taken.add((Configuration.of({"i": i}).hash, starts[-1]))
    assert starts == [0, 0, 1, 0, 0, 1]
    # at syn: three promoted from csynth (bracket 0) and three that entered there (bracket 1)
    syn = [_observation(i, latency, area) for i, (latency, area) in
           enumerate([(10, 10), (20, 20), (30, 30), (40, 40), (50, 50), (60, 60)])]
    taken = {(o.config.hash, 1) for o in syn} | {(o.config.hash, 0) for o in syn[:3]}
    first = hyperband.promotion({1: syn}, taken)
    assert first.rung == 2 and first.config.as_dict() == {"i": 0}
    taken.add((first.config.hash, 2))
    # the best of bracket 1, although design 1 of bracket 0 is better
    assert hyperband.promotion({1: syn}, taken).config.as_dict() == {"i": 3}
    with pytest.raises(DseError, match="between 1 and the number of fidelities"):
        AshaScheduler(("csynth", "impl"), goals, brackets=3)


def _two_fidelity_table(path: Path) -> Path:
    """csynth ranks designs like impl, at a tenth of the run time."""
    rows = []
    for a in range(1, 10):
        for fidelity, scale, runtime in (("csynth", 1.0, 10), ("impl", 1.1, 100)):
            rows.append({"a": a, "fidelity": fidelity, "latency_cycles": 100 * a * scale,
                         "lut": (10 - a) * 10 * scale, "ff": 1, "dsp": 1, "bram": 1, "runtime_s": runtime})
    pd.DataFrame(rows).to_csv(path, index=False)
    return path


def test_halving_runs_cheap_rung_first_and_promotes(tmp_path):
    backend = get_backend("replay", table=_two_fidelity_table(tmp_path / "t.csv"), knobs=["a"])
    assert backend.fidelities == ("csynth", "impl")
    assert backend.costs == {"csynth": 0.1, "impl": 1.0}
    goals = Goals.parse("latency_cycles,lut")
    space = backend.space("t")
    with Store(tmp_path / "s.sqlite") as store, LocalExecutor(1) as executor:
        search = Search("h", space, backend, make_searcher("halving", space, 0, 2, goals, None),
                        make_scheduler("halving", backend.fidelities, goals, 3), goals, 1.5,
                        dict(kernel="t", source="t.csv", source_hash="h", top=None, include_dirs=(), defines=(),
                             target="xczu7ev", clock_ns=10.0))
        summary = search.run(store, executor)
        trials = store.trials("h")
    fidelities = [t["fidelity"] for t in trials]
    # three csynth runs (0.3), one promotion (1.0), a fourth csynth run after which the best of the
    # four is another design, whose promotion the 0.1 left cannot pay: the search stops there
    assert summary.spent == pytest.approx(1.4)
    assert fidelities.count("impl") == 1 and fidelities.count("csynth") == 4
    promoted = trials[fidelities.index("impl")]
    assert fidelities.index("impl") == 3  # due as soon as 3 csynth results exist
    first_three = [t["config"]["a"] for t in trials[:3]]
    assert promoted["config"]["a"] in first_three


def test_hyperband_search_spends_no_more_than_its_budget(tmp_path):
    backend = get_backend("replay", table=_two_fidelity_table(tmp_path / "t.csv"), knobs=["a"])
    goals = Goals.parse("latency_cycles,lut")
    space = backend.space("t")
    with Store(tmp_path / "s.sqlite") as store, LocalExecutor(1) as executor:
        search = Search("hb", space, backend, make_searcher("halving", space, 0, 3, goals, None),
                        make_scheduler("halving", backend.fidelities, goals, 3, brackets=2), goals, 3.0,
                        dict(kernel="t", source="t.csv", source_hash="h", top=None, include_dirs=(), defines=(),
                             target="xczu7ev", clock_ns=10.0))
        summary = search.run(store, executor)
        trials = store.trials("hb")
    # new configurations enter at csynth, impl, csynth, csynth (shares 1.5 : 1); then the best of the three
    # csynth results is promoted (2.3 spent); the next new one would enter at impl and pass 3.0
    assert [t["fidelity"] for t in trials] == ["csynth", "impl", "csynth", "csynth", "impl"]
    assert summary.spent == pytest.approx(2.3)
    assert trials[4]["config"] in [t["config"] for t in trials[:4] if t["fidelity"] == "csynth"]


# ----- studies ------------------------------------------------------------------------------

def test_search_spends_its_budget_and_resumes_after_a_kill(tmp_path):
    backend = get_backend("replay", table=MD_KNN)
    with Store(tmp_path / "s.sqlite") as store:
        def kill_after_five(spent, result):
            if spent >= 5:
                raise KeyboardInterrupt
        with pytest.raises(KeyboardInterrupt):
            replay_search(backend, "bayes", 12, store, progress=kill_after_five)
        kept = [t["config"] for t in store.trials("s")]
        assert len(kept) == 5
        summary = replay_search(backend, "bayes", 12, store)
        trials = store.trials("s")
    assert summary.trials == 12 and summary.spent == 12 and summary.ran == 7
    assert [t["config"] for t in trials[:5]] == kept
    assert len({json.dumps(t["config"], sort_keys=True) for t in trials}) == 12


def test_one_run_at_a_time_on_two_workers_proposes_as_one_worker_does(tmp_path):
    backend = get_backend("replay", table=MD_KNN)
    proposed = {}
    for name, jobs, at_once in (("one", 1, None), ("two", 2, 1), ("both", 2, None)):
        with Store(tmp_path / f"{name}.sqlite") as store:  # apart: results in a store are reused, never run
            replay_search(backend, "bayes", 10, store, name=name, jobs=jobs, max_concurrent=at_once)
            proposed[name] = [t["config"] for t in store.trials(name)]
    # each proposal learns from every result before it, as with one worker; two at once do not
    assert proposed["two"] == proposed["one"] and proposed["both"] != proposed["one"]


def test_results_in_the_store_are_reused_and_unknown_configurations_cost_nothing(tmp_path):
    table = tmp_path / "t.csv"
    pd.DataFrame([{"a": a, "b": b, "latency_cycles": a * 10 + b, "util_lut": 10 - a} for a in range(4)
                  for b in range(3) if (a, b) != (2, 2)]).to_csv(table, index=False)
    backend = get_backend("replay", table=table, knobs=["a", "b"])
    with Store(tmp_path / "s.sqlite") as store:
        first = replay_search(backend, "random", 12, store, name="one")
        second = replay_search(backend, "grid", 12, store, name="two")
        # a result that had timed out within a second is run again by a search without a limit
        timed_out = next(t for t in store.trials("one") if t["status"] == "ok")
        store.put(timed_out["key"], replay_point(Configuration.of(timed_out["config"]), backend), backend.name,
                  Result("timeout", tool_version=backend.version(), details={"timeout_s": 1.0}))
        third = replay_search(backend, "grid", 12, store, name="three")
    assert first.trials == 12 and first.spent == 11 and first.statuses == {"ok": 11, "unknown": 1}
    assert second.ran == 0 and second.reused == 12 and second.spent == 11
    assert (third.ran, third.reused, third.statuses) == (1, 11, {"ok": 1})


def test_a_study_continues_only_with_its_settings(tmp_path):
    with Store(tmp_path / "s.sqlite") as store:
        store.open_study("x", {"strategy": "bayes", "budget": 10})
        assert store.open_study("x", {"strategy": "bayes", "budget": 20}) == {"strategy": "bayes", "budget": 10}
        with pytest.raises(DseError, match="study 'x' was run with strategy = 'bayes', not 'random'"):
            store.open_study("x", {"strategy": "random", "budget": 10})
        store.open_study("y", {"strategy": "halving", "brackets": 2, "budget": 5})
        with pytest.raises(DseError, match="study 'y' was run with brackets = 2, not the default"):
            store.open_study("y", {"strategy": "halving", "budget": 5})
        with pytest.raises(DseError, match="study 'x' was run with brackets = the default, not 2"):
            store.open_study("x", {"strategy": "bayes", "brackets": 2, "budget": 10})


def test_cli_halving_study_continues_only_with_its_brackets(run_cli, tmp_path):
    table, db = _two_fidelity_table(tmp_path / "t.csv"), tmp_path / "s.sqlite"
    search = ("search", "t", "--backend", "replay", "--table", table, "--knobs", "a", "--strategy", "halving",
              "--db", db, "--jobs", 1, "--budget", 2)
    code, _, err = run_cli(*search, "--brackets", 2)
    assert code == 0, err
    code, _, err = run_cli(*search)
    assert code == 2 and "was run with brackets = 2, not the default" in err
    code, _, err = run_cli(*search, "--brackets", 2)
    assert code == 0, err


# ----- command line -------------------------------------------------------------------------

def test_cli_search_recommend_report_on_replay(run_cli, tmp_path):
    db = tmp_path / "r.sqlite"
    code, out, err = run_cli("search", "md_knn", "--backend", "replay", "--table", MD_KNN, "--budget", 12,
                             "--db", db, "--jobs", 1, "--constraint", "util_lut<=20")
    assert code == 0, err
    assert "md_knn-bayes-s0: 12 trials costing 12 of 12" in err
    code, out, err = run_cli("recommend", "--db", db, "--study", "md_knn-bayes-s0", "--emit", tmp_path / "out")
    assert code == 0, err
    emitted = sorted((tmp_path / "out").glob("*/config.json"))
    assert emitted and "no kernel source to annotate" in err
    for path in emitted:
        record = json.loads(path.read_text())
        assert record["metrics"]["util_lut"] <= 20
    code, _, err = run_cli("recommend", "--db", db, "--objectives", "latency_cycles,lut")
    assert code == 2 and f"objective 'lut': no metric 'lut' in {db} (there are latency_cycles, " in err
    missing = tmp_path / "none.sqlite"
    code, _, err = run_cli("report", "--db", db, "-o", tmp_path / "r.html", "--reference", missing)
    assert code == 2 and err.strip() == f"dse: error: {missing}: no such database (--reference)"
    assert not missing.exists()
    code, _, err = run_cli("report", "--db", db, "--study", "md_knn-bayes-s0", "-o", tmp_path / "r.html")
    assert code == 0, err
    page = (tmp_path / "r.html").read_text()
    assert page.count("<img") == 2 and "12 designs (12 ok); " in page


def test_a_replayed_table_names_the_device_its_utilisation_is_of(run_cli, tmp_path):
    table = tmp_path / "t.csv"  # as dse export writes it: a target column; 5 % of the ECP5's LUTs is 4,182
    pd.DataFrame([{"target": "ecp5-85", "a": a, "latency_cycles": 100 - a, "lut": 1000 * a} for a in range(1, 6)]
                 ).to_csv(table, index=False)
    assert get_backend("replay", table=table, knobs=["a"]).target == "ecp5-85"
    for device, fitting in ((), [4, 3, 2, 1]), (("--target", "xc7z020"), [2, 1]):  # 5 % of 53,200: 2,660
        db = tmp_path / f"{device[1] if device else 'table'}.sqlite"
        code, _, err = run_cli("search", "t", "--backend", "replay", "--table", table, "--knobs", "a", "--db", db,
                               "--objectives", "latency_cycles,lut", "--constraint", "lut<=5%", "--strategy", "grid",
                               "--budget", 5, "--jobs", 1, *device)
        assert code == 0, err
        with Store(db) as store:
            assert store.studies()["t-grid-s0"]["target"] == (device[1] if device else "ecp5-85")
        code, out, err = run_cli("recommend", "--db", db, "--study", "t-grid-s0", "--emit", tmp_path / db.stem)
        records = [json.loads(path.read_text()) for path in sorted((tmp_path / db.stem).glob("*/config.json"))]
        assert [r["config"]["a"] for r in records] == fitting


def test_a_table_recorded_on_a_device_not_modelled_is_costed_on_the_default(run_cli, tmp_path):
    assert (costed_on("xczu7ev"), costed_on(None), costed_on("ecp5-85")) == ("xc7z020", "xc7z020", "ecp5-85")
    table = pd.read_csv(MD_KNN)
    table.insert(0, "target", "xczu7ev")  # where GenHLSOptimizer's tables were recorded
    table.to_csv(tmp_path / "zu.csv", index=False)
    db = tmp_path / "z.sqlite"
    code, _, err = run_cli("search", "md_knn", "--backend", "replay", "--table", tmp_path / "zu.csv", "--knobs",
                           "L1,L2", "--space", md_knn_columns(tmp_path), "--budget", 5, "--db", db, "--jobs", 1,
                           "--clock-ns", 3.33)
    assert code == 0, err
    with Store(db) as store:
        assert store.studies()["md_knn-bayes-s0"]["target"] == "xczu7ev"
        # the same designs as the table without its target column (at 3.33 ns, above)
        assert [t["metrics"]["latency_cycles"] for t in store.trials("md_knn-bayes-s0")] == \
            [12993, 2708, 51329, 250497, 25729]


def test_cli_recommend_writes_the_directives_a_tables_columns_name(run_cli, tmp_path):
    db = tmp_path / "r.sqlite"
    code, _, err = run_cli("search", "md_knn", "--backend", "replay", "--table", MD_KNN, "--space",
                           md_knn_columns(tmp_path), "--budget", 5, "--db", db, "--jobs", 1, "--clock-ns", 3.33)
    assert code == 0, err
    code, _, err = run_cli("recommend", "--db", db, "--study", "md_knn-bayes-s0", "--emit", tmp_path / "out")
    assert code == 0 and "out: 5 designs' directives, 10 files" in err
    written = {}
    for folder in sorted((tmp_path / "out").iterdir()):
        config = json.loads((folder / "config.json").read_text())["config"]
        lines = (folder / "directives.tcl").read_text().splitlines()
        assert lines[1].endswith(json.dumps(config, separators=(",", ":")))  # the table's configuration
        written[config["L1"], config["L2"]] = [line for line in lines if line.startswith("set_directive")]
    assert written["unroll factor=2", "unroll factor=4"] == ['set_directive_unroll -factor 2 "md_kernel/loop_i"',
                                                             'set_directive_unroll -factor 4 "md_kernel/loop_j"']
    assert written["unroll factor=2", "unroll (full)"] == ['set_directive_unroll -factor 2 "md_kernel/loop_i"',
                                                           'set_directive_unroll "md_kernel/loop_j"']
    code, _, err = run_cli("recommend", "--db", db, "--emit", tmp_path / "bare")  # no study: no space to read
    assert code == 0 and "5 designs' configurations (config.json; no kernel source to annotate)" in err


def test_cli_recommend_emits_directives_that_render_back(run_cli, tmp_path):
    db = tmp_path / "r.sqlite"
    code, _, err = run_cli("search", "gemm_ncubed", "--budget", 12, "--db", db, "--jobs", 1,
                           "--constraint", "lut<=20%", "--show", 2)
    assert code == 0, err
    code, out, err = run_cli("recommend", "--db", db, "--constraint", "lut<=10%", "--emit", tmp_path / "vitis")
    assert code == 0, err
    folders = sorted((tmp_path / "vitis").iterdir())
    assert folders
    space = Space.load(Path(__file__).resolve().parents[1] / "pragmas" / "gemm_ncubed.toml")
    for folder in folders:
        record = json.loads((folder / "config.json").read_text())
        assert record["metrics"]["util_lut"] <= 10
        parsed = configuration_of((folder / "directives.tcl").read_text())
        assert space.configuration({k: v for k, v in parsed.items() if k in space.knobs}) == \
            Configuration.of(record["config"])
    code, _, err = run_cli("recommend", "--db", db, "--top", 1, "--emit", tmp_path / "pragma", "--format", "pragma")
    assert code == 0, err
    source = next((tmp_path / "pragma").glob("01_*/gemm.c")).read_text()
    assert "#pragma HLS" in source and not list((tmp_path / "pragma").glob("*/directives.tcl"))


@pytest.mark.parametrize("args, message", [
    (("search", "x", "--backend", "replay"), "needs --table"),
    (("search", "gemm_ncubed", "--constraint", "lut=3"), "write METRIC<=VALUE"),
    (("search", "x", "--strategy", "halving", "--backend", "replay", "--table", MD_KNN), "at least two fidelities"),
    (("search", "gemm_ncubed", "--max-concurrent", "0"), "--max-concurrent must be at least 1"),
    (("search", "gemm_ncubed", "--strategy", "halving", "--backend", "replay", "--table", MD_KNN,
      "--fidelity", "replay,replay", "--brackets", "3"),
     "--brackets must be between 1 and the number of fidelities (2)"),
    (("recommend", "--db", "missing.sqlite"), "no such database"),
    (("search", "gemm_ncubed", "--objectives", "latency_cycles,lutt"), "objective 'lutt': no metric 'lutt'"),
    (("search", "x", "--backend", "replay", "--table", MD_KNN, "--constraint", "dsp<=4"), "no metric 'dsp'"),
])
def test_cli_search_errors_are_one_line(run_cli, tmp_path, monkeypatch, args, message):
    monkeypatch.chdir(tmp_path)
    code, out, err = run_cli(*args)
    assert code == 2 and message in err and len(err.strip().splitlines()) == 1
    if Path("results.sqlite").exists():  # a refused search leaves no study behind
        with Store("results.sqlite") as store:
            assert store.studies() == {}


def test_space_of_columns_and_neighbours():
    space = Space.of_columns("t", {"L1": ["pipeline", "unroll factor=2"], "n": [1, 2.5]})
    assert space.knobs["n"].parse("2.5", {}) == 2.5 and space.knobs["n"].parse("1", {}) == 1
    config = space.configuration({"L1": "pipeline", "n": 1})
    assert space.neighbour(config, "n", 2.5).as_dict() == {"L1": "pipeline", "n": 2.5}
    gemm = Space.load(Path(__file__).resolve().parents[1] / "pragmas" / "gemm_ncubed.toml")
    base = gemm.configuration({"inner.pipeline": "on"})
    assert gemm.neighbour(base, "middle.pipeline", "on") is None  # pipelining both breaks a constraint
    assert "inner.ii" not in gemm.neighbour(base, "inner.pipeline", "off").as_dict()
    assert re.fullmatch(r"[0-9a-f]{64}", base.hash)


def test_pareto_designs_keeps_the_first_of_equals_and_spreads_top():
    rows = [{"config": {"i": i}, "status": "ok", "metrics": {"latency_cycles": lat, "area": area}}
            for i, (lat, area) in enumerate([(5, 9), (5, 9), (6, 4), (9, 1), (7, 8), (8, 2)])]
    front = pareto_designs(rows, GOALS)
    assert [c.as_dict()["i"] for c in front["config"]] == [0, 2, 5, 3]
    assert [c.as_dict()["i"] for c in pareto_designs(rows, GOALS, top=2)["config"]] == [0, 3]
