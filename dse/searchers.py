"""Searchers propose configurations of a space. They are deterministic for a seed, so a
re-run of the same command proposes the same points (which is how sweeps resume)."""

from __future__ import annotations

import random
from abc import ABC, abstractmethod

from scipy.stats import qmc

from .errors import DseError
from .space import Configuration, Space

GRID_LIMIT = 2_000_000


class Searcher(ABC):
    name: str

    def __init__(self, space: Space, seed: int = 0):
        self.space, self.seed = space, seed

    @abstractmethod
    def propose(self, count: int) -> list[Configuration]:
        """``count`` distinct legal configurations (fewer only if the space is smaller)."""


class GridSearcher(Searcher):
    """Every legal configuration in enumeration order; with a smaller budget, evenly spaced ones."""

    name = "grid"

    def propose(self, count):
        total = self.space.count()
        if total > GRID_LIMIT:
            raise DseError(f"grid over {total:,} configurations is too many to enumerate; "
                           "use --sampler random or lhs with a --budget")
        wanted = {int(i * total / count) for i in range(count)} if count < total else None
        return [c for i, c in enumerate(self.space.enumerate()) if wanted is None or i in wanted]


class RandomSearcher(Searcher):
    """Uniform over the legal configurations, without repetition."""

    name = "random"

    def propose(self, count):
        total = self.space.count()
        if count >= total:
            return list(self.space.enumerate())
        return _fill_at_random(self.space, random.Random(self.seed), {}, count)


class LatinHypercubeSearcher(Searcher):
    """A Latin hypercube over the space's draws: every variable's distribution is covered in
    equal strata, mapped to legal configurations by the exact conditional sampler."""

    name = "lhs"

    def propose(self, count):
        total = self.space.count()
        if count >= total:
            return list(self.space.enumerate())
        dimensions = max(1, self.space.variables())
        rng = random.Random(self.seed)
        found: dict[str, Configuration] = {}
        for round_ in range(100):
            points = qmc.LatinHypercube(d=dimensions, seed=self.seed + round_).random(count - len(found))
            for row in points:
                config = self.space.sample(rng, iter(row))
                found.setdefault(config.hash, config)
            if len(found) >= count:
                break
        return _fill_at_random(self.space, rng, found, count)  # tiny spaces with heavy collisions


def _fill_at_random(space: Space, rng: random.Random, found: dict[str, Configuration],
                    count: int) -> list[Configuration]:
    """``found`` topped up with uniform draws until it holds ``count`` distinct configurations."""
    while len(found) < count:
        config = space.sample(rng)
        found.setdefault(config.hash, config)
    return list(found.values())


SEARCHERS: dict[str, type[Searcher]] = {s.name: s for s in (GridSearcher, RandomSearcher, LatinHypercubeSearcher)}
