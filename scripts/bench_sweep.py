"""Throughput of sweeps at the builtin backend's estimate fidelity: design points per second
with 1 and 2 worker processes, and the parallel efficiency, on gemm_ncubed and stencil3d.

    python3 scripts/bench_sweep.py [--budget 600] [--kernels gemm_ncubed,stencil3d] [--repeat 3]

Each run starts from an empty database (nothing reused) and includes proposing the points,
hashing, running them in workers and committing every result to SQLite. Targets: >= 100
points/s with 2 jobs, parallel efficiency >= 80%. For reference, the last line is the machine's
own parallel efficiency on a pure-Python CPU loop, measured in the same run: no sweep can
scale better than that.
"""

from __future__ import annotations

import argparse
import tempfile
from concurrent.futures import ProcessPoolExecutor
import time
from pathlib import Path

from dse import Space
from dse.backends import get_backend
from dse.backends.builtin import clear_caches
from dse.executor import LocalExecutor
from dse.frontend import source_hash
from dse.kernels import resolve_kernel
from dse.paths import bundled
from dse.runner import design_points, run_points
from dse.searchers import SEARCHERS
from dse.store import Store


def points_per_second(kernel: str, budget: int, jobs: int, folder: Path) -> float:
    clear_caches()  # every run starts cold, also in workers forked from this process
    started = time.perf_counter()
    space = Space.load(bundled("pragmas") / f"{kernel}.toml")
    source = resolve_kernel(kernel)
    configs = SEARCHERS["random"](space, seed=7).propose(budget)
    points = design_points(configs, kernel=kernel, source=str(source.path), source_hash=source_hash(source.path),
                           top=None, include_dirs=(), defines=(), target="xc7z020", clock_ns=10.0,
                           fidelity="estimate")
    with Store(folder / f"{kernel}-{jobs}-{time.time_ns()}.sqlite") as store, LocalExecutor(jobs) as executor:
        summary = run_points(points, get_backend("builtin"), store, executor)
    assert summary.ran == budget, summary
    return budget / (time.perf_counter() - started)


def _spin(steps: int) -> int:
    total = 0
    for i in range(steps):
        total += i * i % 7
    return total


def machine_efficiency(repeat: int, steps: int = 5_000_000) -> float:
    """Speed-up of 2 processes over 1 on the same pure-Python loop, over 2 (best runs)."""
    one = two = float("inf")
    with ProcessPoolExecutor(2) as pool:
        pool.submit(_spin, 1).result()  # workers up
        for _ in range(repeat):
            started = time.perf_counter()
            _spin(steps)
            _spin(steps)
            one = min(one, time.perf_counter() - started)
            started = time.perf_counter()
            list(pool.map(_spin, [steps, steps]))
            two = min(two, time.perf_counter() - started)
    return one / two / 2


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--budget", type=int, default=600)
    parser.add_argument("--kernels", default="gemm_ncubed,stencil3d")
    parser.add_argument("--repeat", type=int, default=3, help="runs of each measurement; the best counts")
    args = parser.parse_args()
    print(f"{'kernel':14s} {'1 job pts/s':>12s} {'2 jobs pts/s':>13s} {'speed-up':>9s} {'efficiency':>11s}")
    with tempfile.TemporaryDirectory() as folder:
        for kernel in args.kernels.split(","):
            runs = {1: [], 2: []}
            for _ in range(args.repeat):  # alternating, so that drift in the machine's load hits both
                for jobs in runs:
                    runs[jobs].append(points_per_second(kernel, args.budget, jobs, Path(folder)))
            one, two = max(runs[1]), max(runs[2])
            print(f"{kernel:14s} {one:12.1f} {two:13.1f} {two / one:8.2f}x {100 * two / one / 2:10.0f}%")
    print(f"{'(machine)':14s} {'':12s} {'':13s} {'':9s} {100 * machine_efficiency(args.repeat):10.0f}%  pure-Python loop, 2 processes")


if __name__ == "__main__":
    main()
