"""Accuracy and speed of the surrogates against the seed paper's baseline (OLS on one-hot knobs).

    python3 scripts/bench_predictor.py [--kernels gemm_ncubed,...] [--real] [--builtin] [--speed]

* builtin: for each tier-A MachSuite kernel, a builtin sweep of 500 random points; the first
  300 train (cross-validated choice of surrogate), the other 200 test. Test R² and MAPE per
  metric for ours and the baseline, and a learning curve (test R² at 20, 50, 100, 200 rows).
* real: every table in ../shared/data/real, split 80/20 by configuration (seed 0); knobs are
  the tables' configuration columns and metrics their result columns.
* speed: one prediction after loading (each of a round of 20 configurations not seen before),
  and 10^5 configurations, with a model trained on a sweep: the median of 5 rounds, and their
  range (a shared machine has slow moments).
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

from dse import Space
from dse.backends import get_backend
from dse.dataset import Table, load_table
from dse.errors import DseError
from dse.executor import LocalExecutor
from dse.frontend import read_kernel, source_hash
from dse.kernels import resolve_kernel
from dse.paths import bundled
from dse.runner import design_points, run_points
from dse.searchers import SEARCHERS
from dse.store import Store
from dse.surrogates import SurrogateModel, baseline, choose, scores, train

TIER_A = "gemm_ncubed,gemm_blocked,stencil2d,stencil3d,spmv_ellpack,md_knn,viterbi"
METRICS = ["latency_cycles", "lut", "ff", "dsp", "bram"]
REAL = Path(__file__).resolve().parents[2] / "shared" / "data" / "real"
GENHLS_METRICS = ["latency_cycles_est", "util_lut_pct", "util_ff_pct", "util_dsp_pct", "util_bram_pct"]
HGNN_METRICS = ["latency_cycles", "lut", "ff", "dsp"]
SPEED_ROUNDS = 5


def builtin_sweep(kernel: str, folder: Path, points: int = 500) -> Path:
    db = folder / f"{kernel}.sqlite"
    space = Space.load(bundled("pragmas") / f"{kernel}.toml")
    source = resolve_kernel(kernel)
    configs = SEARCHERS["random"](space, seed=11).propose(points)
    with Store(db) as store, LocalExecutor(2) as executor:
        run_points(design_points(configs, kernel=kernel, source=str(source.path), source_hash=source_hash(source.path),
                                 top=None, include_dirs=(), defines=(), target="xc7z020", clock_ns=10.0,
                                 fidelity="estimate"), get_backend("builtin"), store, executor)
    return db


def split(table: Table, rows: int) -> tuple[Table, Table]:
    """The first ``rows`` of a seeded shuffle train, the others test; rows are put in a fixed
    order first, since a parallel sweep stores them in the order they finish."""
    frame = table.frame.sort_values(table.knobs, key=lambda column: column.astype(str), ignore_index=True)
    frame = frame.sample(frac=1.0, random_state=0).reset_index(drop=True)
    part = lambda f: Table(f.reset_index(drop=True), table.knobs, table.metrics, table.source, table.target)
    return part(frame.iloc[:rows]), part(frame.iloc[rows:])


def score_table(name: str, table: Table, train_rows: int, kernel=None) -> list[dict]:
    training, test = split(table, train_rows)
    model = train(training, kernel, test=test)
    return [{"data": name, "metric": metric, "rows": len(training.frame), "model": report["model"],
             "r2": report.get("test_r2"), "mape": report.get("test_mape"),
             "baseline_r2": report.get("baseline_test_r2"), "baseline_mape": report.get("baseline_test_mape")}
            for metric, report in model.report.items()]


def learning_curve(name: str, table: Table, kernel, sizes=(20, 50, 100, 200)) -> list[dict]:
    training, test = split(table, 300)
    rows = []
    for metric in table.metrics:
        if training.frame[metric].nunique() < 2:
            continue
        for size in sizes:
            part = training.frame.iloc[:size]
            if part[metric].nunique() < 2:
                continue
            _, model, _, _ = choose(part, part[metric], table.knobs, kernel, folds=5, metric=metric)
            ours = scores(test.frame[metric], model.predict(test.frame))["r2"]
            theirs = scores(test.frame[metric], baseline(table.knobs).fit(part, part[metric]).predict(test.frame))["r2"]
            rows.append({"data": name, "metric": metric, "train": size, "r2": ours, "baseline_r2": theirs})
    return rows


def real_tables() -> list[tuple[str, Table]]:
    if not REAL.is_dir():
        raise DseError(f"{REAL}: not found (the real data is in ../shared/data/real beside the project)")
    tables = []
    for path in sorted((REAL / "genhlsoptimizer_machsuite").glob("machsuite-*.csv")):
        frame = pd.read_csv(path, nrows=1)
        knobs = [c for c in frame.columns if c.startswith("L") and c[1:].isdigit()]
        tables.append((path.stem, load_table(path, knobs, GENHLS_METRICS)))
    for path in sorted((REAL / "hgnn_polybench").glob("*.csv")):
        if path.stem == "summary":
            continue
        frame = pd.read_csv(path, nrows=1)
        knobs = [c for c in frame.columns if c.startswith(("partition[", "pipeline[", "unroll[", "loop_flatten["))]
        tables.append((f"polybench-{path.stem}", load_table(path, knobs, HGNN_METRICS)))
    return tables


def speed(table: Table, kernel) -> None:
    model = train(split(table, 300)[0], kernel, folds=3)
    with tempfile.TemporaryDirectory() as folder:
        model.save(Path(folder) / "m.joblib")
        model = SurrogateModel.load(Path(folder) / "m.joblib")
    knobs = table.frame[table.knobs]
    model.predict(knobs.iloc[[0]])  # first call: imports and caches
    singles = []  # rounds of 20 configurations not predicted before
    for first in range(1, 1 + SPEED_ROUNDS * 20, 20):
        started = time.perf_counter()
        for index in range(first, first + 20):
            model.predict(knobs.iloc[[index]])
        singles.append((time.perf_counter() - started) / 20)
    many = pd.concat([knobs] * (100_000 // len(knobs) + 1), ignore_index=True).iloc[:100_000]
    batches = []
    for _ in range(SPEED_ROUNDS):
        started = time.perf_counter()
        model.predict(many)
        batches.append(time.perf_counter() - started)
    print(f"speed ({table.source}), median of {SPEED_ROUNDS} rounds (range): one configuration "
          f"{1000 * np.median(singles):.1f} ms ({1000 * min(singles):.1f}-{1000 * max(singles):.1f}); "
          f"100,000 configurations {np.median(batches):.2f} s ({min(batches):.2f}-{max(batches):.2f})")


def show(rows: list[dict], title: str) -> None:
    frame = pd.DataFrame(rows)
    print(f"\n## {title}\n")
    print(frame.to_string(index=False, float_format=lambda v: f"{v:.3f}"))
    if {"r2", "baseline_r2"} <= set(frame):
        means = frame.groupby("metric")[["r2", "baseline_r2"]].mean()
        print("\nmean test R² per metric (ours vs baseline):")
        print(means.to_string(float_format=lambda v: f"{v:.3f}"))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--kernels", default=TIER_A)
    for part in ("builtin", "real", "speed", "curve"):
        parser.add_argument(f"--{part}", action="store_true", help=f"run the {part} part (default: all)")
    args = parser.parse_args()
    everything = not (args.builtin or args.real or args.speed or args.curve)
    with tempfile.TemporaryDirectory() as folder:
        sweeps = {}
        if everything or args.builtin or args.speed or args.curve:
            for kernel in args.kernels.split(","):
                table = load_table(builtin_sweep(kernel, Path(folder)), metrics=METRICS)
                sweeps[kernel] = table, read_kernel(resolve_kernel(kernel).path)
        if everything or args.builtin:
            show([row for name, (table, kernel) in sweeps.items() for row in score_table(name, table, 300, kernel)],
                 "builtin sweeps: 300 training, 200 test configurations")
        if everything or args.curve:
            show([row for name, (table, kernel) in sweeps.items() for row in learning_curve(name, table, kernel)],
                 "learning curve: test R² by training rows")
        if everything or args.real:
            rows = []
            for name, table in real_tables():
                rows += score_table(name, table, int(0.8 * len(table.frame)))
            show(rows, "real Vitis HLS data: 80/20 split by configuration")
        if everything or args.speed:
            for name, (table, kernel) in list(sweeps.items())[:2]:
                speed(table, kernel)


if __name__ == "__main__":
    main()
