"""Executors run design points in parallel: a local process pool by default, or a Dask
distributed cluster (``dask://HOST:PORT``). Both hand results back as they complete."""

from __future__ import annotations

import os
from abc import ABC, abstractmethod
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from typing import Any, Callable, Iterable, Iterator

from .errors import DseError


class Executor(ABC):
    """Runs ``function(task)`` for many tasks; yields (task, outcome) in completion order."""

    jobs: int

    @abstractmethod
    def map_unordered(self, function: Callable[[Any], Any], tasks: Iterable[Any]) -> Iterator[tuple[Any, Any]]:
        ...

    def close(self) -> None:
        """Release workers (pending tasks are dropped)."""

    def __enter__(self) -> Executor:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


class LocalExecutor(Executor):
    """Worker processes on this machine; ``jobs=1`` runs in this process."""

    def __init__(self, jobs: int | None = None):
        self.jobs = jobs or os.cpu_count() or 1
        self._pool = ProcessPoolExecutor(self.jobs) if self.jobs > 1 else None

    def map_unordered(self, function, tasks):
        if self._pool is None:
            for task in tasks:
                yield task, function(task)
            return
        pending = {}
        tasks = iter(tasks)
        window = 4 * self.jobs  # enough queued to keep workers busy, few to drop on interrupt
        for task in tasks:
            pending[self._pool.submit(function, task)] = task
            if len(pending) >= window:
                break
        while pending:
            done, _ = wait(pending, return_when=FIRST_COMPLETED)
            for future in done:
                yield pending.pop(future), future.result()
                for task in tasks:
                    pending[self._pool.submit(function, task)] = task
                    break

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None


class DaskExecutor(Executor):
    """Tasks on a Dask distributed cluster, given by its scheduler address."""

    def __init__(self, address: str):
        try:
            from distributed import Client
        except ImportError:
            raise DseError("--executor dask:// needs Dask distributed: pip install 'hls-dse[dask]'") from None
        try:
            self.client = Client(address, timeout="10s")
        except OSError as error:
            raise DseError(f"cannot reach the Dask scheduler at {address} ({error})") from None
        self.jobs = max(1, sum(self.client.nthreads().values()))

    def map_unordered(self, function, tasks):
        from distributed import as_completed

        futures = {}
        for task in tasks:
            futures[self.client.submit(function, task, pure=False)] = task
        for future in as_completed(futures):
            yield futures[future], future.result()

    def close(self) -> None:
        self.client.close()


def make_executor(spec: str | None, jobs: int | None) -> Executor:
    """``None``/``local`` for the process pool, ``dask://HOST:PORT`` (or ``tcp://…``) for Dask."""
    if spec in (None, "", "local"):
        return LocalExecutor(jobs)
    if spec.startswith("dask://"):
        return DaskExecutor("tcp://" + spec[len("dask://"):])
    if spec.startswith("tcp://"):
        return DaskExecutor(spec)
    raise DseError(f"--executor {spec}: use 'local' or dask://HOST:PORT")
