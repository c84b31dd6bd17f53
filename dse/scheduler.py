"""Schedulers decide at which fidelity a configuration runs; searchers decide which
configurations exist. A search asks its scheduler first (is a configuration due for a more
expensive fidelity?) and its searcher only when nothing is.

:class:`FifoScheduler` runs every configuration once, at the search's fidelity.
:class:`AshaScheduler` is asynchronous successive halving: rungs are the backend's flow stages
(cheapest first); a configuration enters at the lowest, and whenever a worker is free, one in
the best 1/η of the results so far at some rung is promoted to the next. Several objectives are
ranked by non-dominated sorting; a design that misses the constraints ranks after every one
that fits.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass

import numpy as np
from scipy.stats import rankdata

from .errors import DseError
from .objectives import Goals
from .pareto import nondominated_ranks
from .searchers import Observation
from .space import Configuration


@dataclass(frozen=True)
class Job:
    config: Configuration
    rung: int


class Scheduler(ABC):
    """``rungs``: the fidelities it uses, cheapest first."""

    entry = 0
    """The rung at which new configurations start."""

    def __init__(self, rungs: tuple[str, ...]):
        self.rungs = rungs

    @abstractmethod
    def promotion(self, results: dict[int, list[Observation]], taken: set[tuple[str, int]]) -> Job | None:
        """A configuration to run at a higher rung, given each rung's results and the
        (configuration hash, rung) pairs run or running; None when no promotion is due."""


class FifoScheduler(Scheduler):
    """Every configuration at one fidelity, in the order the searcher proposes them."""

    def __init__(self, rungs: tuple[str, ...]):
        super().__init__(rungs[-1:])

    def promotion(self, results, taken):
        return None


class AshaScheduler(Scheduler):
    """Asynchronous successive halving over ``rungs`` with reduction factor ``eta``."""

    def __init__(self, rungs: tuple[str, ...], goals: Goals, eta: int = 3):
        if len(rungs) < 2:
            raise DseError(f"successive halving needs at least two fidelities; {', '.join(rungs) or 'none'} given "
                           f"(use --strategy random or bayes with this backend)")
        if eta < 2:
            raise DseError("--eta must be at least 2")
        super().__init__(rungs)
        self.goals, self.eta = goals, eta

    def promotion(self, results, taken):
        for rung in reversed(range(len(self.rungs) - 1)):  # the most advanced first
            done = results.get(rung, [])
            for index in ranked(done, self.goals)[:len(done) // self.eta]:
                config = done[index].config
                if (config.hash, rung + 1) not in taken:
                    return Job(config, rung + 1)
        return None


def ranked(observations: list[Observation], goals: Goals) -> list[int]:
    """Positions of ``observations``, best first: designs that fit the constraints by
    non-dominated front (within a front, by their mean rank over the objectives), then those
    that do not by how far they miss, then those with no measurement."""
    if not observations:
        return []
    measured = np.array([o.measured(goals) for o in observations])
    values = np.array([[o.values.get(m) if ok else np.nan for m in goals.objectives]
                       for o, ok in zip(observations, measured)], float)
    excess = np.array([goals.values(o.values)[1] if ok else np.inf for o, ok in zip(observations, measured)])
    front = np.full(len(observations), np.inf)
    fits = measured & (excess == 0)
    if fits.any():
        front[fits] = nondominated_ranks(values[fits])
    mean_rank = np.zeros(len(observations))
    if measured.any():
        mean_rank[measured] = np.mean([rankdata(column) for column in values[measured].T], axis=0)
    return list(np.lexsort((mean_rank, front, excess, ~measured)))
