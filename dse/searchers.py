"""Searchers propose configurations of a space. They are deterministic for a seed, so a
re-run of the same command proposes the same points (which is how sweeps resume).

In a search they are asked for the next configurations given what has been observed so
far (:meth:`Searcher.ask`); they keep no state of their own between calls, so a search
resumed from its store carries on where it stopped. Grid, random and Latin hypercube follow
a plan fixed by the seed and the budget; :class:`BayesSearcher` learns from the observations.
"""

from __future__ import annotations

import functools
import random
from abc import ABC, abstractmethod
from dataclasses import dataclass

import numpy as np
from scipy.stats import norm, qmc
from threadpoolctl import ThreadpoolController

from .errors import DseError
from .ir import Kernel
from .objectives import Goals, metric_value, resources_of
from .pareto import hypervolume_improvement, pareto_mask, spread_order
from .space import Configuration, Space, pragma_directives
from .structure import PROXIES, Columns
from .targets import costed_on

GRID_LIMIT = 2_000_000
ENUMERATE_LIMIT = 20_000
"""Spaces up to this size are listed in full where a searcher needs every candidate."""
WHOLE_SPACE = 5_000
"""The Bayesian searcher weighs every configuration of spaces up to this size."""
MAX_FEATURES = 400
"""The most features for which the Bayesian searcher's surrogates take interaction terms."""
THOMPSON = 3
"""Every THOMPSON-th proposal takes the best of one posterior sample (Thompson sampling)
instead of the expected improvement, which alone can settle on one part of the front."""
EHVI_MARGIN = 0.1
"""The hypervolume's reference point lies this share of the observed range beyond the worst
design observed in each objective, so that the ends of the front add volume too."""
PRIOR_UNTIL = 10
"""With the kernel known, a metric with fewer observations than this is modelled as a power law
of its structural proxy alone (few weights, so a few observations calibrate it); from then on
over every knob and structural feature."""
REFIT_GROWTH = 0.05
"""The surrogates are fitted again once the observations have grown by this share since their
last fit (at least one: with few observations, on every one), not on every proposal: a search
of a cheap fidelity asks thousands of times."""
CORNERS = 0.3
"""Dirichlet concentration of the scalarisation weights: below 1, weights near one objective
alone are frequent, so the ends of the front (the fastest designs, the smallest) are sought too."""


@dataclass(frozen=True)
class Observation:
    """One result a searcher learns from: its status and the values of the metrics the
    search's goals read (None where the result lacks one)."""

    config: Configuration
    status: str
    values: dict[str, float | None]

    def measured(self, goals: Goals) -> bool:
        return self.status == "ok" and all(self.values.get(m) is not None for m in goals.objectives)


class Searcher(ABC):
    """``planned``: how many configurations the search will ask for in all (the plan of a
    non-adaptive searcher is spread over them)."""

    name: str

    def __init__(self, space: Space, seed: int = 0, planned: int = 100):
        self.space, self.seed, self.planned = space, seed, planned
        self._plan: list[Configuration] | None = None

    @abstractmethod
    def propose(self, count: int) -> list[Configuration]:
        """``count`` distinct legal configurations (fewer only if the space is smaller)."""

    def ask(self, count: int, history: list[Observation], excluded: set[str]) -> list[Configuration]:
        """Up to ``count`` new configurations, none of whose hashes is in ``excluded``: the
        next of the plan, then uniform draws once the plan is used up."""
        if self._plan is None:
            self._plan = self.propose(min(self.planned, self.space.count()))
        chosen = [c for c in self._plan if c.hash not in excluded][:count]
        return chosen + _unseen_at_random(self.space, random.Random(f"{self.seed}:{len(excluded)}"),
                                          excluded | {c.hash for c in chosen}, count - len(chosen))

    def choose(self, candidates: list[Configuration], history: list[Observation]) -> int | None:
        """Which of ``candidates`` (measured at a cheaper fidelity) it would run next, having
        learnt ``history``; None: no preference (a searcher that does not learn)."""
        return None


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
        return _unseen_at_random(self.space, random.Random(self.seed), set(), count)


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
        # tiny spaces with heavy collisions: topped up with uniform draws
        return list(found.values()) + _unseen_at_random(self.space, rng, set(found), count - len(found))


def _unseen_at_random(space: Space, rng: random.Random, excluded: set[str], count: int,
                      attempts: int = 50) -> list[Configuration]:
    """Up to ``count`` uniform draws not in ``excluded`` (fewer when the space is nearly used up)."""
    found: dict[str, Configuration] = {}
    for _ in range(attempts * max(count, 0)):
        if len(found) >= count:
            break
        config = space.sample(rng)
        if config.hash not in excluded:
            found.setdefault(config.hash, config)
    if len(found) < count and space.count() <= ENUMERATE_LIMIT:
        rest = [c for c in space.enumerate() if c.hash not in excluded and c.hash not in found]
        found.update((c.hash, c) for c in rng.sample(rest, min(len(rest), count - len(found))))
    return list(found.values())


def _proxy_features(metric: str) -> tuple[str, ...] | None:
    """The structural features of which ``metric`` is a power law, or None: the log of its own
    proxy, or of each resource whose utilisation it reads (every resource has a proxy)."""
    if metric in PROXIES:
        return (f"log2_{PROXIES[metric][0]}",)
    return tuple(f"log2_{resource}" for resource in resources_of(metric)) or None


@functools.cache
def _blas() -> ThreadpoolController:
    """The BLAS libraries loaded (found once: looking them up takes milliseconds)."""
    return ThreadpoolController()


SEARCHERS: dict[str, type[Searcher]] = {s.name: s for s in (GridSearcher, RandomSearcher, LatinHypercubeSearcher)}
"""The searchers that need no feedback, which a sweep can use."""


class BayesSearcher(Searcher):
    """Bayesian optimisation with the predictor's linear surrogates.

    The initial design is the design without directives and, when the kernel is known, the designs
    that best represent the front its structural proxies predict (:func:`~dse.pareto.spread_order`),
    else a Latin hypercube; a
    table's columns whose pragma texts act on the kernel's loops and arrays (the space's
    ``on``) are read as those directives. Then each objective (and each constrained metric) gets a
    Bayesian ridge surrogate on log values with interactions between knobs of one loop nest
    (and the kernel's structural features when the kernel is known; with fewer than
    :data:`PRIOR_UNTIL` results, a power law of the metric's structural proxy alone), refitted
    as results come (:data:`REFIT_GROWTH`);
    ``interactions`` None: with interactions while they stay few (:data:`MAX_FEATURES`).
    Candidates are not enumerated: they are uniform draws plus every one-knob neighbour of
    the best designs found (the whole space when it is small). With ``acquisition`` "ehvi" and
    two objectives, a proposal is the candidate with the largest expected hypervolume
    improvement over the observed front (estimated from posterior samples; the proposals of a
    batch before it count as on the front, at their predicted values); otherwise (or with
    "chebyshev") each proposal draws its own random weights over the objectives and takes the
    largest expected improvement of their augmented Chebyshev scalarisation. Either is weighed
    by the probability that the candidate fits the constraints."""

    name = "bayes"

    def __init__(self, space: Space, seed: int = 0, planned: int = 100, goals: Goals | None = None,
                 kernel: Kernel | None = None, initial: int | None = None, pool: int = 600, samples: int = 32,
                 interactions: bool | None = None, acquisition: str = "ehvi"):
        super().__init__(space, seed, planned)
        self.goals = goals or Goals(("latency_cycles", "area"))
        self.kernel, self.initial, self.pool, self.samples = kernel, initial, pool, samples
        self.interactions, self.acquisition = interactions, acquisition
        self.trips = {name: loop.trip_count for name, loop in kernel.loops.items()} if kernel else {}
        self.pragmas = space.pragma_columns if kernel else {}  # table columns read as the kernel's directives
        self.knobs = list(space.knobs) + sorted({
            name for column, target in self.pragmas.items() for value in space.knobs[column].values
            for name in pragma_directives(target, str(value), self.trips.get(target))})
        self._draws: list[Configuration] | None = None
        self._fitted: tuple[list[Observation], dict] = ([], {})
        self._neighbours: dict[str, list[Configuration]] = {}

    @property
    def initial_size(self) -> int:
        """``initial``, else a tenth of the plan (3 to 12); with the kernel known, a plan of at most
        :data:`PRIOR_UNTIL` designs is all initial design: results that few only calibrate the
        structure's prediction, whose front the initial designs already represent best."""
        if self.initial:
            return self.initial
        return self.planned if self.kernel is not None and self.planned <= PRIOR_UNTIL \
            else int(np.clip(self.planned // 10, 3, 12))

    def propose(self, count):
        """Without feedback: the initial design: the design without directives if the space has it
        (the small end of most fronts, which a proxy that misjudges a directive's cost would leave
        out) and designs spread along the front of the kernel's structural proxies when the kernel is
        known, else a Latin hypercube."""
        prior = self._prior_values(self._whole_or_drawn(random.Random(self.seed), set())) if self.kernel else None
        if prior is None:
            spread = LatinHypercubeSearcher(self.space, self.seed).propose(count)
        else:
            configs, values = prior
            spread = [configs[i] for i in spread_order(values)[:count]]
        plain = self.space.plain()
        return list({c.hash: c for c in ([plain] if plain else []) + spread}.values())[:count]

    def _prior_values(self, configs: list[Configuration]) -> tuple[list[Configuration], np.ndarray] | None:
        """``configs`` and their objectives as the builtin flow's operator library costs them
        (:mod:`dse.structure`, uncalibrated), or None if an objective has no proxy."""
        from .features import kernel_structure

        target = costed_on(self.goals.target)
        features = kernel_structure(self.kernel, target).features(self._frame(configs))
        proxies = {metric: features[parts[0]] for metric, parts in PROXIES.items()}
        values = [[metric_value({m: v[row] for m, v in proxies.items()}, name, target)
                   for name in self.goals.objectives] for row in range(len(configs))]
        if any(v is None for row in values for v in row):
            return None
        return configs, np.array(values, float).reshape(len(configs), -1)

    def ask(self, count, history, excluded):
        measured = [o for o in history if o.measured(self.goals)]
        if len(measured) < self.initial_size:
            if self._plan is None:
                self._plan = self.propose(min(self.initial_size, self.space.count()))
            return super().ask(count, history, excluded)
        values, feasible = self.goals.table(measured)
        front = [o.config for o, best in zip(measured, pareto_mask(values) & (feasible if feasible.any() else True))
                 if best]
        rng = np.random.default_rng([self.seed, len(history)])
        candidates = self._candidates(rng, front, excluded)
        return [candidates[i] for i in self._best(candidates, measured, count, rng, len(history))]

    def choose(self, candidates, history):
        """The candidate the acquisition prefers, once the initial design is measured."""
        measured = [o for o in history if o.measured(self.goals)]
        if len(measured) < self.initial_size or not candidates:
            return None
        return self._best(candidates, measured, 1, np.random.default_rng([self.seed, len(history)]), len(history))[0]

    def _best(self, candidates: list[Configuration], measured: list[Observation], count: int,
              rng: np.random.Generator, asked: int) -> list[int]:
        """Positions of the ``count`` candidates the acquisition picks, one after another, having
        learnt ``measured`` (``asked``: observations so far, which set the Thompson turns)."""
        if not candidates:
            return []
        values, feasible = self.goals.table(measured)
        with _blas().limit(limits=1):  # matrices this small are slower on several BLAS threads
            mean, spread, fits = self._predict(measured, candidates)
        observed = np.log1p(np.maximum(values, 0))
        low, span = observed.min(axis=0), np.maximum(np.ptp(observed, axis=0), 1e-9)
        draws = (mean + spread * rng.standard_normal((self.samples, *mean.shape)) - low) / span
        fitting = (observed[feasible] - low) / span  # the designs that fit, on the draws' scale
        chosen: list[int] = []
        for _ in range(min(count, len(candidates))):
            weights = rng.dirichlet(np.full(mean.shape[1], CORNERS))
            scalar = lambda z: (weights * z).max(axis=-1) + 0.05 * (weights * z).sum(axis=-1)
            if feasible.any() and (asked + len(chosen)) % THOMPSON == THOMPSON - 1:
                score = -scalar(draws[0]) * fits  # one posterior draw: explores where the model is unsure
            elif feasible.any() and self.acquisition == "ehvi" and mean.shape[1] == 2:
                believed = np.vstack([fitting, (mean[chosen] - low) / span])  # the batch's earlier proposals too
                score = hypervolume_improvement(draws, believed, np.full(2, 1 + EHVI_MARGIN)).mean(axis=0) * fits
            elif feasible.any():
                best = scalar(fitting).min()
                score = np.maximum(0.0, best - scalar(draws)).mean(axis=0) * fits
            else:  # nothing fits yet: the likeliest to fit
                score = fits.copy()
            score[chosen] = -np.inf
            chosen.append(int(np.argmax(score)))
        return chosen

    def _frame(self, configs: list[Configuration]) -> Columns:
        """The knob values of ``configs`` by column (None: inactive)."""
        values = [self.space.with_directives(c.as_dict(), self.trips) if self.pragmas else c.as_dict()
                  for c in configs]
        return {knob: np.array([v.get(knob) for v in values], dtype=object) for knob in self.knobs}

    def _candidates(self, rng: np.random.Generator, front: list[Configuration],
                    excluded: set[str]) -> list[Configuration]:
        """Uniform draws (or the whole unseen space, if small) and the one-knob neighbours of
        designs on the observed ``front``, none already tried."""
        seed = int(rng.integers(2 ** 31))
        if self._draws is None:  # drawn once, topped up a little on every ask
            self._draws = self._whole_or_drawn(random.Random(seed), excluded)
        elif self.space.count() > WHOLE_SPACE:
            self._draws += _unseen_at_random(self.space, random.Random(seed), excluded, self.pool // 50)
        self._draws = [c for c in self._draws if c.hash not in excluded][-max(self.pool, WHOLE_SPACE):]
        pool = {c.hash: c for c in self._draws}
        ordered = sorted(front, key=lambda c: c.hash)  # not the order results came in: the same draw every time
        for config in random.Random(seed).sample(ordered, min(len(front), 3)):
            pool.update((c.hash, c) for c in self._neighbours_of(config) if c.hash not in excluded)
        return list(pool.values())

    def _whole_or_drawn(self, rng: random.Random, excluded: set[str]) -> list[Configuration]:
        """The whole space if small, else uniform draws not in ``excluded``."""
        if self.space.count() <= WHOLE_SPACE:
            return list(self.space.enumerate())
        return _unseen_at_random(self.space, rng, excluded, self.pool // 2)

    def _neighbours_of(self, config: Configuration) -> list[Configuration]:
        """Every configuration that differs from ``config`` in one knob (kept: front designs recur)."""
        if config.hash not in self._neighbours:
            self._neighbours[config.hash] = [
                other for knob in self.space.knobs.values() if knob.name in config.as_dict()
                for value in knob.values
                if value != config[knob.name] and (other := self.space.neighbour(config, knob.name, value))]
        return self._neighbours[config.hash]

    def _interactions(self, training: Columns) -> bool:
        """``interactions``, or when None (auto): with interaction terms unless they make more than
        :data:`MAX_FEATURES` features (decided once per search; they cost time per proposal)."""
        if self.interactions is None:
            from .features import KnobEncoder
            columns = KnobEncoder(self.knobs, True, self.kernel).fit(training).columns_
            self.interactions = len(columns) <= MAX_FEATURES
        return self.interactions

    def _models(self, measured: list[Observation]) -> dict:
        """A surrogate per metric with two or more values among ``measured``; those of the last
        fit while ``measured`` extends what they learnt by less than :data:`REFIT_GROWTH`."""
        from .surrogates import LinearSurrogate

        learnt = self._fitted[0]
        if len(learnt) <= len(measured) < len(learnt) * (1 + REFIT_GROWTH) and \
                all(a is b for a, b in zip(learnt, measured)):
            return self._fitted[1]
        training = self._frame([o.config for o in measured])
        models = {}
        for metric in self.goals.metrics:
            rows = [i for i, o in enumerate(measured) if o.values.get(metric) is not None]
            if len(rows) < 2:
                continue
            proxies = _proxy_features(metric) if self.kernel is not None and len(rows) < PRIOR_UNTIL else None
            model = LinearSurrogate(self.knobs, "bayes", log_target=True, kernel=self.kernel, bounded=False,
                                    interactions=proxies is None and self._interactions(training),
                                    target=costed_on(self.goals.target), structure=proxies)
            target = np.array([measured[i].values[metric] for i in rows], float)
            subset = {knob: values[rows] for knob, values in training.items()}
            try:
                models[metric] = model.fit(subset, target)
            except np.linalg.LinAlgError:  # LAPACK's SVD now and then fails on a rank-deficient table
                models[metric] = model.set_params(interactions=False).fit(subset, target)
        self._fitted = (list(measured), models)
        return models

    def _predict(self, measured: list[Observation], candidates: list[Configuration]):
        """Posterior mean and spread of each objective (log scale) over the candidates, and the
        probability that each fits every constraint."""
        table, encoded = self._frame(candidates), {}
        latent = {metric: model._latent(table, encoded) for metric, model in self._models(measured).items()}
        mean = np.stack([latent[m][0] for m in self.goals.objectives], axis=1)
        spread = np.stack([latent[m][1] for m in self.goals.objectives], axis=1)
        fits = np.ones(len(candidates))
        for limit in self.goals.limits:
            if limit.metric in latent:
                centre, sigma = latent[limit.metric]
                z = (np.log1p(max(limit.bound, 0.0)) - centre) / np.maximum(sigma, 1e-9)
                fits *= norm.cdf(z if limit.upper else -z)
        return mean, spread, fits
