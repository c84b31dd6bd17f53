"""The sweep runner: design points through a backend, in parallel, into the store.

Points are proposed deterministically, looked up by content hash, and only the
missing ones run; each result is stored the moment it arrives. A backend that
raises gives a ``failed`` result with the error text, a point that runs past
its time limit a ``timeout`` result; the sweep goes on. A timeout is run again
when the limit is longer than the one it had (or there is none).
"""

from __future__ import annotations

import signal
import threading
import time
import traceback
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from .backends import Backend, DesignPoint, Result
from .errors import DseError
from .executor import Executor
from .space import Configuration
from .store import Store


class PointTimeout(Exception):
    pass


@contextmanager
def _time_limit(seconds: float | None):
    """Interrupt the body after ``seconds`` (when running in a process's main thread)."""
    if not seconds or threading.current_thread() is not threading.main_thread():
        yield
        return

    def expire(signum, frame):
        raise PointTimeout()

    previous = signal.signal(signal.SIGALRM, expire)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


@dataclass(frozen=True)
class Task:
    key: str
    backend: Backend
    point: DesignPoint
    timeout: float | None
    workdir: str | None


def evaluate(task: Task) -> Result:
    """Run one design point in a worker; never raises."""
    backend = task.backend
    started = time.perf_counter()
    try:
        with _time_limit(task.timeout):
            return backend.run(task.point, Path(task.workdir) if task.workdir else None)
    except PointTimeout:
        return Result("timeout", tool_version=backend.version(), runtime_s=time.perf_counter() - started,
                      error=f"no result after {task.timeout:g} s", details={"timeout_s": task.timeout})
    except DseError as error:  # e.g. a report the tool wrote but nobody can read
        return Result("failed", tool_version=backend.version(), runtime_s=time.perf_counter() - started,
                      error=str(error))
    except Exception as error:  # a crash of the flow is a result, not the sweep's end
        where = traceback.extract_tb(error.__traceback__)[-1]
        return Result("failed", tool_version=backend.version(), runtime_s=time.perf_counter() - started,
                      error=f"{type(error).__name__}: {error} ({Path(where.filename).name}:{where.lineno})")


@dataclass
class SweepSummary:
    proposed: int
    reused: int
    ran: int
    statuses: dict[str, int]
    seconds: float


def run_points(points: list[DesignPoint], backend: Backend, store: Store, executor: Executor,
               timeout: float | None = None, workdir: str | None = None,
               progress: Callable[[Result], None] | None = None) -> SweepSummary:
    """Run every point that the store does not have yet; store each result as it completes."""
    started = time.perf_counter()
    version = backend.version()
    keys = {point.key(backend.name, version): point for point in points}
    done = store.known(keys, timeout)
    pending = [Task(key, backend, point, timeout, workdir) for key, point in keys.items() if key not in done]
    statuses: dict[str, int] = {}
    ran = 0
    for task, result in executor.map_unordered(evaluate, pending):
        store.put(task.key, task.point, backend.name, result)
        statuses[result.status] = statuses.get(result.status, 0) + 1
        ran += 1
        if progress:
            progress(result)
    return SweepSummary(len(keys), len(done), ran, statuses, time.perf_counter() - started)


def design_points(configs: list[Configuration], **common) -> list[DesignPoint]:
    """Design points for configurations; a ``clock.period_ns`` knob overrides ``clock_ns``."""
    points = []
    for config in configs:
        clock = config.as_dict().get("clock.period_ns", common["clock_ns"])
        if clock <= 0:
            raise DseError(f"clock period {clock} ns is not positive")
        points.append(DesignPoint(config=config, **{**common, "clock_ns": float(clock)}))
    return points
