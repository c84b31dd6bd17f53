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

import math
from abc import ABC, abstractmethod
from collections import Counter
from dataclasses import dataclass
from typing import Callable

import numpy as np

from .errors import DseError
from .objectives import Goals
from .pareto import spread_order
from .searchers import Observation
from .space import Configuration

DEFAULT_ETA, DEFAULT_BRACKETS = None, 1
"""Successive halving's η by default follows the costs (:func:`cost_etas`); one bracket is ASHA."""
MIN_ETA = 3
"""The least η :func:`cost_etas` gives: the best third of a rung at most goes on."""


def cost_etas(rungs: tuple[str, ...], costs: dict[str, float]) -> list[int]:
    """η between each rung and the next: how many times the next one costs (at least
    :data:`MIN_ETA`), so that each rung spends about as much as the one above it. A stage a
    hundred times cheaper screens a hundred designs for each one it lets through."""
    return [max(MIN_ETA, round(costs.get(high, 1.0) / max(costs.get(low, 1.0), 1e-12)))
            for low, high in zip(rungs, rungs[1:])]


Chooser = Callable[[list[Configuration]], "int | None"]
"""Picks one of the configurations that may go up a rung (its position), or None: no preference."""


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

    def leftover(self, results: dict[int, list[Observation]], taken: set[tuple[str, int]],
                 choose: Chooser | None = None) -> Job | None:
        """When the searcher has nothing new: a configuration to run at a higher rung although
        no promotion is due (``choose`` picks among those that may go), or None."""
        return None


class FifoScheduler(Scheduler):
    """Every configuration at one fidelity, in the order the searcher proposes them."""

    def __init__(self, rungs: tuple[str, ...]):
        super().__init__(rungs[-1:])

    def promotion(self, results, taken):
        return None


class AshaScheduler(Scheduler):
    """Asynchronous successive halving over ``rungs`` with reduction factor ``eta`` (None: each
    rung's from the ``costs`` of the rungs, :func:`cost_etas`); with ``brackets`` > 1,
    asynchronous Hyperband."""

    def __init__(self, rungs: tuple[str, ...], goals: Goals, eta: int | None = DEFAULT_ETA,
                 brackets: int = DEFAULT_BRACKETS, costs: dict[str, float] | None = None):
        if len(rungs) < 2:
            raise DseError(f"successive halving needs at least two fidelities; {', '.join(rungs) or 'none'} given "
                           f"(use --strategy random or bayes with this backend)")
        if eta is not None and eta < 2:
            raise DseError("--eta must be at least 2")
        if not 1 <= brackets <= len(rungs):
            raise DseError(f"--brackets must be between 1 and the number of fidelities ({len(rungs)})")
        super().__init__(rungs)
        self.goals, self.brackets = goals, brackets
        self.etas = cost_etas(rungs, costs or {}) if eta is None else [eta] * (len(rungs) - 1)
        # Hyperband's bracket sizes: a bracket halving s times takes η^s / (s + 1) configurations
        # for each one of the bracket that starts at the top, so that each spends about the same
        self.shares = [math.prod(self.etas[b:]) / (len(rungs) - b) for b in range(brackets)]
        self._ranks: dict[tuple[int, int], list[int]] = {}  # (rung, bracket) -> ranking of its results

    def start(self, taken):
        entered = Counter(_brackets(taken).values())
        return min(range(self.brackets), key=lambda b: ((entered[b] + 1) / self.shares[b], b))

    def promotion(self, results, taken):
        return self._promote(results, taken, lambda done, rung: len(done) // self.etas[rung])

    def leftover(self, results, taken, choose=None):
        """A measured design not promoted yet, as if the whole rung were its best 1/η: with
        nothing new to try, the budget left is spent higher up. ``choose`` picks it (a searcher
        that learnt the higher rung), else the best ranked goes."""
        return self._promote(results, taken, lambda done, rung: sum(o.measured(self.goals) for o in done), choose)

    def _promote(self, results, taken, promotable, choose: Chooser | None = None) -> Job | None:
        """Of each rung's best ``promotable(results of a bracket, rung)`` not taken at the next
        rung yet, the most advanced rung first: the one ``choose`` picks, else the best."""
        bracket = _brackets(taken | {(o.config.hash, rung) for rung, done in results.items() for o in done})
        for rung in reversed(range(len(self.rungs) - 1)):
            for b in range(min(rung, self.brackets - 1) + 1):
                done = [o for o in results.get(rung, []) if bracket.get(o.config.hash) == b]
                order = self._ranks.get((rung, b))
                if order is None or len(order) != len(done):  # results only grow: ranked again when they do
                    order = self._ranks[rung, b] = ranked(done, self.goals)
                waiting = [done[i].config for i in order[:promotable(done, rung)]
                           if (done[i].config.hash, rung + 1) not in taken]
                if waiting:
                    picked = choose(waiting) if choose else None
                    return Job(waiting[picked or 0], rung + 1)
        return None


def _brackets(taken: set[tuple[str, int]]) -> dict[str, int]:
    """Each configuration's bracket: the lowest rung it ran at."""
    lowest: dict[str, int] = {}
    for config, rung in taken:
        lowest[config] = min(rung, lowest.get(config, rung))
    return lowest


def ranked(observations: list[Observation], goals: Goals) -> list[int]:
    """Positions of ``observations``, best first: designs that fit the constraints front after
    front, each front in the order that represents it best (:func:`~dse.pareto.spread_order`),
    then those that do not by how far they miss, then those with no measurement."""
    measured = [i for i, o in enumerate(observations) if o.measured(goals)]
    excess = {i: goals.values(observations[i].values)[1] for i in measured}
    fitting = [i for i in measured if excess[i] == 0]
    values = np.array([[observations[i].values[m] for m in goals.objectives] for i in fitting], float)
    missing = sorted((i for i in measured if excess[i] > 0), key=excess.get)
    return ([fitting[j] for j in spread_order(values)] if fitting else []) + missing + \
        [i for i in range(len(observations)) if i not in excess]
