"""Throughput of sweeps at the builtin backend's estimate fidelity: design points per second
with 1 and 2 worker processes, and the parallel efficiency, on gemm_ncubed and stencil3d.

    python3 scripts/bench_sweep.py [--budget 600] [--kernels gemm_ncubed,stencil3d]

Each run starts from an empty database (nothing reused) and includes proposing the points,
hashing, running them in workers and committing every result to SQLite. Targets: >= 100
points/s with 2 jobs, parallel efficiency >= 80%.
"""

from __future__ import annotations

import argparse
import tempfile
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
    with Store(folder / f"{kernel}-{jobs}.sqlite") as store, LocalExecutor(jobs) as executor:
        summary = run_points(points, get_backend("builtin"), store, executor)
    assert summary.ran == budget, summary
    return budget / (time.perf_counter() - started)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--budget", type=int, default=600)
    parser.add_argument("--kernels", default="gemm_ncubed,stencil3d")
    args = parser.parse_args()
    print(f"{'kernel':14s} {'1 job pts/s':>12s} {'2 jobs pts/s':>13s} {'speed-up':>9s} {'efficiency':>11s}")
    with tempfile.TemporaryDirectory() as folder:
        for kernel in args.kernels.split(","):
            one = points_per_second(kernel, args.budget, 1, Path(folder))
            two = points_per_second(kernel, args.budget, 2, Path(folder))
            print(f"{kernel:14s} {one:12.1f} {two:13.1f} {two / one:8.2f}x {100 * two / one / 2:10.0f}%")


if __name__ == "__main__":
    main()
