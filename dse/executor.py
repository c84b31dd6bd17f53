"""Executors run design points in parallel: a local process pool by default, or a Dask
distributed cluster (``dask://HOST:PORT``). Both hand results back as they complete."""

from __future__ import annotations

import itertools
import os
from abc import ABC, abstractmethod
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from typing import Any, Callable, Iterable, Iterator

from .errors import DseError


class Executor(ABC):
    """Runs ``function(task)`` for many tasks; yields (task, outcome) in completion order."""

    jobs: int

    @abstractmethod
    def map_unordered(self, function: Callable[[Any], Any], tasks: Iterable[Any],
                      window: int | None = None) -> Iterator[tuple[Any, Any]]:
        """Tasks are drawn from ``tasks`` lazily, at most ``window`` (default: 4 per worker)
        running or queued at once, so a generator of tasks can look at results already
        yielded before it makes the next task."""

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

    def map_unordered(self, function, tasks, window=None):
        if self._pool is None:
            for task in tasks:
                yield task, function(task)
            return
        tasks = iter(tasks)
        pending = {self._pool.submit(function, task): task for task in itertools.islice(tasks, window or 4 * self.jobs)}
        while pending:
            done, _ = wait(pending, return_when=FIRST_COMPLETED)
            for future in done:
                yield pending.pop(future), future.result()
                for task in itertools.islice(tasks, 1):
                    pending[self._pool.submit(function, task)] = task

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

    def map_unordered(self, function, tasks, window=None):
        from distributed import as_completed

        tasks = iter(tasks)
        futures = {self.client.submit(function, task, pure=False): task
                   for task in itertools.islice(tasks, window or 4 * self.jobs)}
        running = as_completed(list(futures))
        for future in running:
            yield futures.pop(future), future.result()
            for task in itertools.islice(tasks, 1):
                submitted = self.client.submit(function, task, pure=False)
                futures[submitted] = task
                running.add(submitted)

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
