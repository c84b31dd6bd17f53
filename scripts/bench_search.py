"""How close searches get to the true Pareto front (latency vs area) for their budget.

    python3 scripts/bench_search.py [--seeds 10] [--spaces gemm_ncubed,...,md-knn,spmv-ellpack]
                                    [--strategies random,bayes,halving,bayes-halving,tpe,nsga2] [--overhead]

* Spaces: the three benchmark spaces in scripts/spaces/ (each enumerated through the builtin
  flow, then replayed) and the complete real spaces of ../shared/data/real (md-knn and
  spmv-ellpack, Vitis HLS 2021.1), replayed. The reference front is every design's.
* ADRS (average over the reference front of the smallest, over designs found, of the largest
  relative excess over the objectives) after 2%, 5% and 10% of the space is evaluated,
  averaged over the seeds, for our strategies and for Optuna's TPE and NSGA-II (ask/tell over
  the same knobs, conditional knobs suggested only when active; TPE multivariate and grouped,
  as Optuna advises for conditional spaces; a configuration that breaks a constraint or repeats
  costs nothing; after 10 asks per evaluation of the budget, a sampler that keeps repeating
  itself is stopped with what it found: an ask costs Optuna time in proportion to its trials).
  Successive halving needs two fidelities; these tables have one, so it is reported n/a (the
  builtin spaces are enumerated at estimate only: synth costs seconds to minutes a design).
  Beside them, the least ADRS that any search reaches with as many evaluations.
* Overhead: the bayes searcher's time per proposal on a space of more than 10^6 configurations.
"""

from __future__ import annotations

import argparse
import math
import random
import tempfile
import time
from itertools import combinations
from pathlib import Path

import numpy as np
import pandas as pd

from dse import Configuration, Space
from dse.backends import DesignPoint, get_backend
from dse.dataset import results_frame
from dse.errors import DseError
from dse.executor import LocalExecutor
from dse.frontend import read_kernel, source_hash
from dse.kernels import resolve_kernel
from dse.objectives import Goals
from dse.pareto import adrs, pareto_mask
from dse.paths import bundled
from dse.runner import design_points, run_points
from dse.searchers import BayesSearcher
from dse.store import Store
from dse.study import Search, make_scheduler, make_searcher, observation

HERE = Path(__file__).resolve().parent
REAL = HERE.parents[1] / "shared" / "data" / "real" / "genhlsoptimizer_machsuite"
BUILTIN_SPACES = ("gemm_ncubed", "stencil2d", "spmv_ellpack")
REAL_SPACES = ("md-knn", "spmv-ellpack")
FRACTIONS = (0.02, 0.05, 0.10)
GOALS = Goals.parse("latency_cycles,area")


def point_fields(kernel: str, source: str, digest: str, target: str) -> dict:
    return dict(kernel=kernel, source=source, source_hash=digest, top=None, include_dirs=(), defines=(),
                target=target, clock_ns=10.0)


def enumerated_builtin(kernel: str, folder: Path) -> tuple[Path, Space]:
    """Every configuration of the benchmark space through the builtin flow, as a replay table."""
    space = Space.load(HERE / "spaces" / f"{kernel}.toml")
    source = resolve_kernel(kernel)
    db = folder / f"{kernel}.sqlite"
    points = design_points(list(space.enumerate()), fidelity="estimate",
                           **point_fields(kernel, str(source.path), source_hash(source.path), "xc7z020"))
    with Store(db) as store, LocalExecutor(2) as executor:
        run_points(points, get_backend("builtin"), store, executor)
        frame = results_frame(store)
    table = folder / f"{kernel}.csv"
    frame.to_csv(table, index=False)
    return table, space


def run_ours(strategy: str, backend, space: Space, budget: int, seed: int, kernel) -> list[tuple[float, ...] | None]:
    """Objective values of each evaluation in order (None: not measured)."""
    with tempfile.TemporaryDirectory() as folder, Store(Path(folder) / "s.sqlite") as store, \
            LocalExecutor(1) as executor:
        search = Search("bench", space, backend, make_searcher(strategy, space, seed, budget, GOALS, kernel),
                        make_scheduler(strategy, backend.fidelities, GOALS, 3), GOALS, budget,
                        point_fields("bench", str(backend.table), "table", "xc7z020"))
        search.run(store, executor)
        trials = store.trials("bench")
    found = []
    for trial in trials:
        if trial["status"] == "unknown":
            continue
        seen = observation(Configuration.of(trial["config"]), trial["status"], trial["metrics"], GOALS)
        found.append(tuple(seen.values[m] for m in GOALS.objectives) if seen.measured(GOALS) else None)
    return found


def run_optuna(sampler_name: str, backend, space: Space, budget: int, seed: int) -> list[tuple[float, ...] | None]:
    import warnings

    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    warnings.filterwarnings("ignore", category=optuna.exceptions.ExperimentalWarning)
    sampler = (optuna.samplers.TPESampler(seed=seed, multivariate=True, group=True) if sampler_name == "tpe"
               else optuna.samplers.NSGAIISampler(seed=seed, population_size=max(8, budget // 10)))
    study = optuna.create_study(directions=["minimize"] * len(GOALS.objectives), sampler=sampler)
    seen: dict[str, tuple | None] = {}
    found = []
    point = point_fields("bench", str(backend.table), "table", "xc7z020")
    for _ in range(10 * budget):
        if len(found) >= budget:
            break
        trial = study.ask()
        values: dict = {}
        for knob in space.knobs.values():
            if knob.active(values):
                values[knob.name] = trial.suggest_categorical(knob.name, list(knob.values))
        if space.broken_constraints(values):
            study.tell(trial, state=optuna.trial.TrialState.FAIL)
            continue
        config = Configuration.of(values)
        if config.hash not in seen:
            result = backend.run(get_point(config, backend, point), None)
            if result.status == "unknown":
                study.tell(trial, state=optuna.trial.TrialState.FAIL)
                continue
            measured = observation(config, result.status, result.metrics, GOALS)
            seen[config.hash] = (tuple(measured.values[m] for m in GOALS.objectives)
                                 if measured.measured(GOALS) else None)
            found.append(seen[config.hash])
        if seen[config.hash] is None:
            study.tell(trial, state=optuna.trial.TrialState.FAIL)
        else:
            study.tell(trial, list(seen[config.hash]))
    return found


def get_point(config: Configuration, backend, fields: dict):
    """The design point of ``config`` at the table's (top) fidelity."""
    return DesignPoint(config=config, fidelity=backend.fidelities[-1], **fields)


def reference_front(backend, space: Space) -> np.ndarray:
    point = point_fields("bench", str(backend.table), "table", "xc7z020")
    values = []
    for config in space.enumerate():
        result = backend.run(get_point(config, backend, point), None)
        measured = observation(config, result.status, result.metrics, GOALS)
        if measured.measured(GOALS):
            values.append([measured.values[m] for m in GOALS.objectives])
    values = np.unique(np.array(values, float), axis=0)
    return values[pareto_mask(values)]


def adrs_curve(reference: np.ndarray, found: list, budgets: list[int]) -> list[float]:
    curve = []
    for budget in budgets:
        measured = np.array([v for v in found[:budget] if v is not None], float).reshape(-1, reference.shape[1])
        curve.append(100 * adrs(reference, measured))
    return curve


def least_adrs(reference: np.ndarray, budget: int) -> float:
    """The smallest ADRS any ``budget`` designs reach (NaN: too many subsets to try). A design
    covers no reference design better than a reference design that dominates it does, so only
    subsets of the reference front need trying."""
    if budget >= len(reference):
        return 0.0
    if math.comb(len(reference), budget) > 200_000:
        return math.nan
    return min(adrs(reference, reference[list(chosen)]) for chosen in combinations(range(len(reference)), budget))


def bench_space(name: str, backend, space: Space, strategies: list[str], seeds: int, kernel) -> list[dict]:
    size = space.count()
    reference = reference_front(backend, space)
    budgets = [max(1, round(f * size)) for f in FRACTIONS]
    print(f"\n## {name}: {size:,} configurations, {len(reference)} on the reference front; "
          f"budgets {', '.join(map(str, budgets))} evaluations")
    floor = {f"{int(100 * f)}%": 100 * least_adrs(reference, b) for f, b in zip(FRACTIONS, budgets)}
    print(f"  {'least possible':14s} ADRS % at {', '.join(f'{v:7.2f}' for v in floor.values())}   "
          f"(the best {', '.join(map(str, budgets))} designs of the space)")
    rows = [{"space": name, "strategy": "least possible", **floor, "seconds": np.nan}]
    for strategy in strategies:
        if strategy.endswith("halving") and len(backend.fidelities) < 2:
            rows.append({"space": name, "strategy": strategy, **{f"{int(100 * f)}%": np.nan for f in FRACTIONS},
                         "seconds": np.nan})
            continue
        curves, started = [], time.perf_counter()
        for seed in range(seeds):
            if strategy in ("tpe", "nsga2"):
                found = run_optuna(strategy, backend, space, budgets[-1], seed)
            else:
                found = run_ours(strategy, backend, space, budgets[-1], seed, kernel)
            curves.append(adrs_curve(reference, found, budgets))
        mean = np.mean(curves, axis=0)
        rows.append({"space": name, "strategy": strategy, **{f"{int(100 * f)}%": v for f, v in zip(FRACTIONS, mean)},
                     "seconds": (time.perf_counter() - started) / seeds})
        print(f"  {strategy:14s} ADRS % at {', '.join(f'{v:7.2f}' for v in mean)}   "
              f"({rows[-1]['seconds']:.1f} s per search)", flush=True)
    return rows


def overhead(proposals: int = 20) -> None:
    """The bayes searcher's time per proposal on the bundled md_knn space (> 10^9 configurations)
    with 60 builtin results to learn from."""
    kernel_name = "md_knn"
    space = Space.load(bundled("pragmas") / f"{kernel_name}.toml")
    source = resolve_kernel(kernel_name)
    kernel = read_kernel(source.path)
    backend = get_backend("builtin")
    fields = point_fields(kernel_name, str(source.path), source_hash(source.path), "xc7z020")
    rng = random.Random(0)
    configs = list({c.hash: c for c in (space.sample(rng) for _ in range(60))}.values())
    history = []
    for config in configs:
        result = backend.run(DesignPoint(config=config, fidelity="estimate", **fields), None)
        history.append(observation(config, result.status, result.metrics, GOALS))
    searcher = BayesSearcher(space, 0, 1000, GOALS, kernel)
    excluded = {c.hash for c in configs}
    started = time.perf_counter()
    searcher.ask(1, history, excluded)  # the first ask also draws the candidate pool
    first = time.perf_counter() - started
    started, cpu = time.perf_counter(), time.process_time()
    for _ in range(proposals):
        proposed = searcher.ask(1, history, excluded)
        excluded.add(proposed[0].hash)
    each, each_cpu = ((time.perf_counter() - started) / proposals, (time.process_time() - cpu) / proposals)
    print(f"\noverhead: bayes proposes one configuration of {space.count():.3g} (md_knn) in {1000 * each:.0f} ms "
          f"wall, {1000 * each_cpu:.0f} ms CPU (60 observations, {searcher.pool} candidates + neighbours; "
          f"the first ask, which draws the candidates, {1000 * first:.0f} ms)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seeds", type=int, default=10)
    parser.add_argument("--spaces", default=",".join(BUILTIN_SPACES + REAL_SPACES))
    parser.add_argument("--strategies", default="random,bayes,halving,bayes-halving,tpe,nsga2")
    parser.add_argument("--overhead", action="store_true", help="only the overhead measurement")
    args = parser.parse_args()
    if not args.overhead:
        strategies = args.strategies.split(",")
        rows = []
        with tempfile.TemporaryDirectory() as folder:
            for name in args.spaces.split(","):
                if name in BUILTIN_SPACES:
                    table, space = enumerated_builtin(name, Path(folder))
                    backend = get_backend("replay", table=table, knobs=list(space.knobs))
                    kernel = read_kernel(resolve_kernel(name).path)
                else:
                    path = REAL / f"machsuite-{name}.csv"
                    if not path.is_file():
                        raise DseError(f"{path}: not found (the real data is in ../shared/data/real)")
                    backend = get_backend("replay", table=path)
                    space, kernel = backend.space(name), None
                rows += bench_space(name, backend, space, strategies, args.seeds, kernel)
        frame = pd.DataFrame(rows)
        print("\n## ADRS (%) by evaluated share of the space, mean over seeds\n")
        print(frame.to_string(index=False, float_format=lambda v: f"{v:.2f}"))
        ours = frame[frame.strategy == "bayes"].set_index("space")["10%"]
        for other in ("random", "tpe", "nsga2"):
            theirs = frame[frame.strategy == other].set_index("space")["10%"]
            if len(theirs):
                print(f"at 10%: bayes / {other} ADRS ratio per space: "
                      + ", ".join(f"{s} {ours[s] / theirs[s]:.2f}" if theirs[s] else f"{s} -" for s in ours.index))
    overhead()


if __name__ == "__main__":
    main()
