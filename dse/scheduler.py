"""Schedulers decide at which fidelity a configuration runs; searchers decide which
configurations exist. A search asks its scheduler first (is a configuration due for a more
expensive fidelity?) and its searcher only when nothing is.

:class:`FifoScheduler` runs every configuration once, at the search's fidelity.
:class:`AshaScheduler` is asynchronous successive halving: rungs are the backend's flow stages
(cheapest first); a configuration enters at the lowest, and whenever a worker is free, one in
the best 1/η of the results so far at some rung is promoted to the next. Several objectives are
ranked by non-dominated sorting; a design that misses the constraints ranks after every one
that fits. With several brackets it is asynchronous Hyperband: bracket b's configurations enter
at rung b, so that a cheap stage that ranks designs poorly does not decide alone; each bracket
promotes among its own, and new configurations are spread so that the brackets spend alike.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections import Counter
from dataclasses import dataclass

import numpy as np
from scipy.stats import rankdata

from .errors import DseError
from .objectives import Goals
from .pareto import nondominated_ranks
from .searchers import Observation
from .space import Configuration

DEFAULT_ETA, DEFAULT_BRACKETS = 3, 1
"""Successive halving keeps the best third of each rung; one bracket is ASHA."""


@dataclass(frozen=True)
class Job:
    config: Configuration
    rung: int


class Scheduler(ABC):
    """``rungs``: the fidelities it uses, cheapest first."""

    entry = 0
    """The lowest rung at which new configurations start."""

    def __init__(self, rungs: tuple[str, ...]):
        self.rungs = rungs

    def start(self, taken: set[tuple[str, int]]) -> int:
        """The rung at which the next new configuration starts, given the (configuration hash,
        rung) pairs run or running."""
        return self.entry

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
    """Asynchronous successive halving over ``rungs`` with reduction factor ``eta``; with
    ``brackets`` > 1, asynchronous Hyperband."""

    def __init__(self, rungs: tuple[str, ...], goals: Goals, eta: int = DEFAULT_ETA,
                 brackets: int = DEFAULT_BRACKETS):
        if len(rungs) < 2:
            raise DseError(f"successive halving needs at least two fidelities; {', '.join(rungs) or 'none'} given "
                           f"(use --strategy random or bayes with this backend)")
        if eta < 2:
            raise DseError("--eta must be at least 2")
        if not 1 <= brackets <= len(rungs):
            raise DseError(f"--brackets must be between 1 and the number of fidelities ({len(rungs)})")
        super().__init__(rungs)
        self.goals, self.eta, self.brackets = goals, eta, brackets
        # Hyperband's bracket sizes: a bracket halving s times takes η^s / (s + 1) configurations
        # for each one of the bracket that starts at the top, so that each spends about the same
        self.shares = [eta ** (len(rungs) - 1 - b) / (len(rungs) - b) for b in range(brackets)]

    def start(self, taken):
        entered = Counter(_brackets(taken).values())
        return min(range(self.brackets), key=lambda b: ((entered[b] + 1) / self.shares[b], b))

    def promotion(self, results, taken):
        bracket = _brackets(taken | {(o.config.hash, rung) for rung, done in results.items() for o in done})
        for rung in reversed(range(len(self.rungs) - 1)):  # the most advanced first
            for b in range(min(rung, self.brackets - 1) + 1):
                done = [o for o in results.get(rung, []) if bracket.get(o.config.hash) == b]
                for index in ranked(done, self.goals)[:len(done) // self.eta]:
                    config = done[index].config
                    if (config.hash, rung + 1) not in taken:
                        return Job(config, rung + 1)
        return None


def _brackets(taken: set[tuple[str, int]]) -> dict[str, int]:
    """Each configuration's bracket: the lowest rung it ran at."""
    lowest: dict[str, int] = {}
    for config, rung in taken:
        lowest[config] = min(rung, lowest.get(config, rung))
    return lowest


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
