"""A search: a searcher proposes configurations, a scheduler picks their fidelity, workers run
them through a backend, and every result lands in the store as one of the study's trials.

The store is the search's whole state: a search started again with the same name reads its
trials, counts what they cost against the budget and carries on, so a search killed at any
moment loses only the points that were running. Results already in the store (from a sweep,
another study or an earlier run) are reused as trials without running again, but for a
timeout that had less time than the search's limit.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from .backends import Backend, DesignPoint, Result
from .errors import DseError
from .executor import Executor
from .ir import Kernel
from .objectives import Goals, metric_value
from .runner import Task, evaluate
from .scheduler import DEFAULT_BRACKETS, DEFAULT_ETA, AshaScheduler, FifoScheduler, Job, Scheduler
from .searchers import SEARCHERS, BayesSearcher, Observation, Searcher
from .space import Configuration, Space
from .store import Store, holds

STRATEGIES = ("random", "grid", "lhs", "bayes", "halving", "bayes-halving")
FREE = ("unknown",)
"""Statuses that cost nothing: a configuration a replayed table does not have."""


def make_searcher(strategy: str, space: Space, seed: int, planned: int, goals: Goals,
                  kernel: Kernel | None) -> Searcher:
    if strategy not in STRATEGIES:
        raise DseError(f"unknown strategy '{strategy}' (known: {', '.join(STRATEGIES)})")
    if strategy.startswith("bayes"):
        return BayesSearcher(space, seed, planned, goals, kernel)
    return SEARCHERS["random" if strategy == "halving" else strategy](space, seed, planned)


def make_scheduler(strategy: str, rungs: tuple[str, ...], goals: Goals, eta: int | None = DEFAULT_ETA,
                   brackets: int = DEFAULT_BRACKETS, costs: dict[str, float] | None = None) -> Scheduler:
    """Successive halving (η None: from the fidelities' ``costs``) or one fidelity."""
    return (AshaScheduler(rungs, goals, eta, brackets, costs) if strategy.endswith("halving")
            else FifoScheduler(rungs))


def observation(config: Configuration, status: str, metrics: dict, goals: Goals) -> Observation:
    return Observation(config, status, {m: metric_value(metrics, m, goals.target) for m in goals.metrics})


@dataclass
class SearchSummary:
    trials: int
    ran: int
    reused: int
    spent: float
    statuses: dict[str, int] = field(default_factory=dict)
    seconds: float = 0.0


@dataclass
class Search:
    """One study. ``point``: the fields every design point shares (kernel, source, target,
    clock…) except ``config`` and ``fidelity``; ``budget`` is in runs of the top rung (a cheaper
    fidelity costs its share; the search ends where its next run would pass it); ``warm``:
    observations from elsewhere the searcher learns from."""

    name: str
    space: Space
    backend: Backend
    searcher: Searcher
    scheduler: Scheduler
    goals: Goals
    budget: float
    point: dict
    warm: list[Observation] = field(default_factory=list)

    def cost(self, rung: int) -> float:
        return self.backend.cost(self.scheduler.rungs[rung]) / self.backend.cost(self.scheduler.rungs[-1])

    def run(self, store: Store, executor: Executor, timeout: float | None = None, workdir: str | None = None,
            time_limit: float | None = None, progress: Callable[[float, Result], None] | None = None,
            max_concurrent: int | None = None) -> SearchSummary:
        """Runs until the budget is spent, nothing is left to propose or ``time_limit`` (seconds)
        passes; at most ``max_concurrent`` runs at once (default: one per worker)."""
        started = time.monotonic()
        state = _State(self, store)
        summary = SearchSummary(0, 0, 0, 0.0)
        version = self.backend.version()
        window = min(executor.jobs, max_concurrent or executor.jobs)
        while state.spent < self.budget - 1e-9:
            if time_limit is not None and time.monotonic() - started > time_limit:
                break
            before = state.count
            tasks = state.tasks(version, timeout, workdir, started, time_limit, summary, progress)
            for task, result in executor.map_unordered(evaluate, tasks, window=window):
                state.finish(task, result)
                summary.ran += 1
                summary.statuses[result.status] = summary.statuses.get(result.status, 0) + 1
                if progress:
                    progress(state.spent, result)
            if state.count == before:  # nothing left to propose
                break
        summary.trials, summary.spent, summary.seconds = state.count, state.spent, time.monotonic() - started
        return summary


class _State:
    """What a running search knows: its trials by rung, what is running, what it spent."""

    def __init__(self, search: Search, store: Store):
        self.search, self.store = search, store
        self.results: dict[int, list[Observation]] = {}
        self.taken: set[tuple[str, int]] = set()
        self.running: dict[str, tuple[Job, float]] = {}
        self.spent = self.count = 0
        rung_of = {fidelity: rung for rung, fidelity in enumerate(search.scheduler.rungs)}
        for trial in store.trials(search.name):
            if trial["fidelity"] in rung_of:
                self._record(Configuration.of(trial["config"]), rung_of[trial["fidelity"]], trial["status"],
                             trial["metrics"], trial["cost"])

    def _record(self, config: Configuration, rung: int, status: str, metrics: dict, cost: float) -> None:
        self.results.setdefault(rung, []).append(observation(config, status, metrics, self.search.goals))
        self.taken.add((config.hash, rung))
        self.spent += cost
        self.count += 1

    def _history(self) -> list[Observation]:
        """What the searcher learns from: the highest rung with enough measured results."""
        goals, need = self.search.goals, getattr(self.search.searcher, "initial_size", 1)
        for rung in sorted(self.results, reverse=True):
            observed = self.results[rung]
            if sum(o.measured(goals) for o in observed) >= need or rung == self.search.scheduler.entry:
                return self.search.warm + observed
        return list(self.search.warm)

    def _next_job(self) -> Job | None:
        search = self.search
        job = search.scheduler.promotion(self.results, self.taken)
        if job is not None:
            return job
        history = self._history()
        proposed = search.searcher.ask(1, history, {h for h, _ in self.taken})
        if proposed:
            return Job(proposed[0], search.scheduler.start(self.taken))
        return search.scheduler.leftover(self.results, self.taken,
                                         lambda configs: search.searcher.choose(configs, history))

    def tasks(self, version: str, timeout, workdir, started: float, time_limit, summary: SearchSummary, progress):
        """Tasks until the budget is committed (what runs counts as spent) or nothing is left."""
        search = self.search
        while (committed := self.spent + sum(cost for _, cost in self.running.values())) < search.budget - 1e-9:
            if time_limit is not None and time.monotonic() - started > time_limit:
                return
            job = self._next_job()
            if job is None:
                return
            fidelity = search.scheduler.rungs[job.rung]
            clock = job.config.as_dict().get("clock.period_ns", search.point["clock_ns"])
            point = DesignPoint(config=job.config, fidelity=fidelity, **{**search.point, "clock_ns": float(clock)})
            key = point.key(search.backend.name, version)
            known = next((row for row in self.store.rows(key=key) if holds(row, timeout)), None)
            cost = 0.0 if known is not None and known["status"] in FREE else search.cost(job.rung)
            if committed + cost > search.budget + 1e-9:  # the next job does not fit in what is left
                return
            self.taken.add((job.config.hash, job.rung))
            if known is not None:  # run before: a trial at no expense of time
                self.store.add_trial(search.name, key, fidelity, cost)
                self._record(job.config, job.rung, known["status"], known["metrics"], cost)
                summary.reused += 1
                if progress:
                    progress(self.spent, Result(known["status"], known["metrics"]))
                continue
            self.running[key] = (job, cost)
            yield Task(key, search.backend, point, timeout, workdir)

    def finish(self, task: Task, result: Result) -> None:
        job, cost = self.running.pop(task.key)
        cost = 0.0 if result.status in FREE else cost
        self.store.put(task.key, task.point, self.search.backend.name, result, trial=(self.search.name, cost))
        self._record(job.config, job.rung, result.status, result.metrics, cost)


def warm_start(path: str | Path, goals: Goals, space: Space, **where: str) -> list[Observation]:
    """Observations from another database's results (those whose columns equal ``where``) whose
    configurations belong to ``space``."""
    observations = []
    with Store.existing(path, "--warm-start") as store:
        for row in store.rows(**where):
            config = Configuration.of(row["config"])
            if set(config.as_dict()) <= set(space.knobs):
                observations.append(observation(config, row["status"], row["metrics"], goals))
    return observations
