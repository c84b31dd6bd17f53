"""How close searches get to the true Pareto front (latency vs area) for their budget.

    python3 scripts/bench_search.py [--seeds 10] [--spaces gemm_ncubed,...,md-knn,spmv-ellpack]
                                    [--strategies random,bayes,halving,bayes-halving,tpe,nsga2] [--overhead]

* Spaces: the three benchmark spaces in scripts/spaces/ (each enumerated through the builtin
  estimate, then replayed); their ``-synth`` spaces (1,008 designs each, of those Yosys
  synthesises within about a minute), enumerated at estimate and synth on the ECP5 and kept in
  data/bench/ (built once: 1 s to a minute a synthesis, a timeout past it; seven hours on two cores);
  and the complete real spaces of ../shared/data/real (md-knn and spmv-ellpack, Vitis HLS
  2021.1, 3.33 ns), replayed with the space files that say which loop each column's pragmas act on
  (scripts/spaces/genhls-*.toml) and the tables' clock. The reference front is every design's at
  the last fidelity. Our searches are told the table's device where it has one (the -synth
  tables: the ECP5), as `dse search --target` would: bayes' prior costs operators on it.
* ADRS (average over the reference front of the smallest, over designs found, of the largest
  relative excess over the objectives) after 2%, 5% and 10% of the space's cost is spent
  (a design at the last fidelity costs 1, at estimate its share of the run time), averaged over
  the seeds, for our strategies and for Optuna's TPE and NSGA-II (ask/tell over
  the same knobs, conditional knobs suggested only when active; TPE multivariate and grouped,
  as Optuna advises for conditional spaces; a configuration that breaks a constraint or repeats
  costs nothing; after 10 asks per evaluation of the budget, a sampler that keeps repeating
  itself is stopped with what it found: an ask costs Optuna time in proportion to its trials).
  Successive halving needs two fidelities: n/a on the spaces with one.
  Beside them, the least ADRS that any search reaches with as many evaluations.
* Overhead: the bayes searcher's time per proposal on a space of more than 10^6 configurations.
"""

from __future__ import annotations

import argparse
import itertools
import math
import random
import tempfile
import time
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
from dse.targets import DEFAULT_TARGET

HERE = Path(__file__).resolve().parent
REAL = HERE.parents[1] / "shared" / "data" / "real" / "genhlsoptimizer_machsuite"
BUILTIN_SPACES = ("gemm_ncubed", "stencil2d", "spmv_ellpack")
SYNTH_SPACES = tuple(f"{name}-synth" for name in BUILTIN_SPACES)
DATA = HERE.parent / "data" / "bench"
REAL_SPACES = ("md-knn", "spmv-ellpack")
REAL_CLOCK_NS = 3.33
"""The clock the real tables were recorded at (xczu7ev at 300 MHz: ../shared/data/real/README.md)."""
FRACTIONS = (0.02, 0.05, 0.10)
GOALS = Goals.parse("latency_cycles,area")


def point_fields(kernel: str, source: str, digest: str, target: str, top: str | None = None) -> dict:
    """What every design point of a benchmark shares (as `dse sweep` on the space's file has it)."""
    return dict(kernel=kernel, source=source, source_hash=digest, top=top, include_dirs=(), defines=(),
                target=target, clock_ns=10.0)


def builtin_table(name: str, fidelities: tuple[str, ...], target: str, db: Path, timeout: float | None = None
                  ) -> tuple[Path, Space]:
    """Every configuration of the benchmark space ``name`` through the builtin flow at each of
    ``fidelities``, kept in ``db`` (a rerun resumes), as a replay table beside it."""
    space = Space.load(HERE / "spaces" / f"{name}.toml")
    source = resolve_kernel(space.kernel)
    table = db.with_suffix(".csv")
    backend = get_backend("builtin")
    points = [point for fidelity in fidelities for point in design_points(
        list(space.enumerate()), fidelity=fidelity,
        **point_fields(space.kernel, str(source.path), source_hash(source.path), target, space.top))]
    with Store(db) as store, LocalExecutor(2) as executor:
        run_points(points, backend, store, executor, timeout=timeout)
        keys = {point.key(backend.name, backend.version()) for point in points}  # not an older flow's results
        results_frame(store, keys).to_csv(table, index=False)
    return table, space


def two_fidelity_table(name: str) -> tuple[Path, Space]:
    """The ``-synth`` benchmark space at estimate and synth (Yosys, ECP5), kept in data/bench/:
    synthesis takes seconds to a minute a design (a minute at most: then it is a timeout), so
    the table is built once; delete its CSV to build it again (the database beside it resumes)."""
    table = DATA / f"{name}.csv"
    if table.is_file():
        return table, Space.load(HERE / "spaces" / f"{name}.toml")
    DATA.mkdir(parents=True, exist_ok=True)
    return builtin_table(name, ("estimate", "synth"), "ecp5-85", table.with_suffix(".sqlite"), timeout=60)


def run_ours(strategy: str, backend, space: Space, budget: int, seed: int, kernel) -> list[tuple[float, tuple | None]]:
    """Each evaluation in order: its cost, and its objective values (None: not measured, or
    measured at a cheaper fidelity than the table's last)."""
    goals = Goals.parse(",".join(GOALS.objectives), target=backend.target)  # the device the prior costs on
    with tempfile.TemporaryDirectory() as folder, Store(Path(folder) / "s.sqlite") as store, \
            LocalExecutor(1) as executor:
        search = Search("bench", space, backend, make_searcher(strategy, space, seed, budget, goals, kernel),
                        make_scheduler(strategy, backend.fidelities, goals, costs=backend.costs), goals, budget,
                        point_fields("bench", str(backend.table), "table", backend.target or DEFAULT_TARGET))
        search.run(store, executor)
        trials = store.trials("bench")
    found = []
    for trial in trials:
        if trial["status"] == "unknown":
            continue
        seen = observation(Configuration.of(trial["config"]), trial["status"], trial["metrics"], GOALS)
        top = trial["fidelity"] == backend.fidelities[-1] and seen.measured(GOALS)
        values = tuple(seen.values[m] for m in GOALS.objectives) if top else None
        found.append((backend.costs[trial["fidelity"]], values))
    return found


def run_optuna(sampler_name: str, backend, space: Space, budget: int, seed: int) -> list[tuple[float, tuple | None]]:
    """As :func:`run_ours`, every evaluation at the table's last fidelity."""
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
            found.append((1.0, seen[config.hash]))
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


def adrs_curve(reference: np.ndarray, found: list[tuple[float, tuple | None]], budgets: list[int]) -> list[float]:
    """ADRS (%) of the designs measured before each budget's cost is spent."""
    spent = np.cumsum([cost for cost, _ in found])
    curve = []
    for budget in budgets:
        measured = np.array([v for (_, v), total in zip(found, spent) if v is not None and total <= budget + 1e-9],
                            float).reshape(-1, reference.shape[1])
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
    return min(adrs(reference, reference[list(chosen)])
               for chosen in itertools.combinations(range(len(reference)), budget))


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
    parser.add_argument("--spaces", default=",".join(BUILTIN_SPACES + SYNTH_SPACES + REAL_SPACES))
    parser.add_argument("--strategies", default="random,bayes,halving,bayes-halving,tpe,nsga2")
    parser.add_argument("--overhead", action="store_true", help="only the overhead measurement")
    args = parser.parse_args()
    if not args.overhead:
        strategies = args.strategies.split(",")
        rows = []
        with tempfile.TemporaryDirectory() as folder:
            for name in args.spaces.split(","):
                if name in BUILTIN_SPACES or name in SYNTH_SPACES:
                    table, space = (builtin_table(name, ("estimate",), "xc7z020", Path(folder) / f"{name}.sqlite")
                                    if name in BUILTIN_SPACES else two_fidelity_table(name))
                    backend = get_backend("replay", table=table, knobs=list(space.knobs))
                    kernel = read_kernel(resolve_kernel(space.kernel).path)
                else:
                    path = REAL / f"machsuite-{name}.csv"
                    if not path.is_file():
                        raise DseError(f"{path}: not found (the real data is in ../shared/data/real)")
                    space = Space.load(HERE / "spaces" / f"genhls-{name}.toml")
                    backend = get_backend("replay", table=path, knobs=list(space.knobs))
                    space = space.with_clock(REAL_CLOCK_NS)  # what bayes' prior costs the operators at
                    kernel = read_kernel(resolve_kernel(space.kernel).path)
                rows += bench_space(name, backend, space, strategies, args.seeds, kernel)
        frame = pd.DataFrame(rows)
        print("\n## ADRS (%) by evaluated share of the space, mean over seeds\n")
        print(frame.to_string(index=False, float_format=lambda v: f"{v:.2f}"))
        at_10 = frame.pivot(index="space", columns="strategy", values="10%")
        for mine, other in itertools.product(("bayes", "halving", "bayes-halving"), ("random", "tpe", "nsga2")):
            if {mine, other} <= set(at_10):
                ratios = (at_10[mine] / at_10[other]).dropna()
                print(f"at 10%: {mine} / {other} ADRS ratio per space: "
                      + ", ".join(f"{space} {ratio:.2f}" for space, ratio in ratios.items()))
    overhead()


if __name__ == "__main__":
    main()
