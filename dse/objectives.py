"""What a search minimises and the budget a design must fit: objectives and constraints over
a result's metrics.

Objectives are metric names (``latency_cycles``, ``lut``, ``ff``, ``dsp``, ``bram``, any
other the backend reports) or ``area``: the mean utilisation of LUT, FF, DSP and BRAM in % of
the target; ``area(lut=1,dsp=4)`` weighs them (a resource not named weighs 0). Constraints
read ``METRIC<=VALUE`` or ``METRIC<=VALUE%``; a percentage of a resource is of the target's
capacity (``lut<=60%``).
"""

from __future__ import annotations

import functools
import re
from collections.abc import Collection
from dataclasses import dataclass

import numpy as np

from .errors import DseError, did_you_mean
from .targets import TARGETS

RESOURCES = ("lut", "ff", "dsp", "bram")
"""The resources a result counts, and whose utilisation (``util_lut``...) it may report."""
AREA = "area"
_WEIGHTED_AREA = re.compile(r"^area\((.*)\)$")
_OBJECTIVES = re.compile(r",(?![^(]*\))")  # commas outside parentheses
_LIMIT = re.compile(r"^\s*([A-Za-z_][\w.]*)\s*(<=|<|>=|>)\s*([-+0-9.eE]+)\s*(%?)\s*$")


def utilisation_column(resource: str) -> str:
    return f"util_{resource}"


UTILISATION = tuple(map(utilisation_column, RESOURCES))


def is_area(name: str) -> bool:
    """Whether the objective ``name`` is ``area`` or a weighted ``area(...)``."""
    return name == AREA or name.startswith(AREA + "(")


def metric_value(metrics: dict, name: str, target: str | None = None) -> float | None:
    """A metric of one result: as reported, or utilisation computed from the target's capacity,
    or ``area``; None when the result does not have it."""
    value = metrics.get(name)
    if value is not None:
        return float(value)
    if is_area(name):
        weights = area_weights(name)
        parts = {r: metric_value(metrics, utilisation_column(r), target) for r in weights}
        known = [r for r, part in parts.items() if part is not None]
        total = sum(weights[r] for r in known)
        return sum(weights[r] * parts[r] for r in known) / total if total else None
    if name.startswith("util_") and name[5:] in RESOURCES and target in TARGETS:
        count = metrics.get(name[5:])
        return None if count is None else 100.0 * float(count) / TARGETS[target].capacity[name[5:]]
    return None


def resources_of(name: str) -> list[str]:
    """The resources whose utilisation the metric ``name`` reads: those an area weighs, the one
    of ``util_<resource>``; none for another metric."""
    if is_area(name):
        return [resource for resource, weight in area_weights(name).items() if weight > 0]
    return [name[5:]] if name.startswith("util_") and name[5:] in RESOURCES else []


def computable(name: str, known: Collection[str], target: str | None = None) -> bool:
    """Whether :func:`metric_value` can give ``name`` from results that have the metrics ``known``
    (a utilisation from a count needs the ``target``'s capacity)."""
    return name in known or any(utilisation_column(r) in known or (r in known and target in TARGETS)
                                for r in resources_of(name))


@functools.cache
def area_weights(name: str) -> dict[str, float]:
    """The weight of each resource's utilisation in the objective ``name`` (``area`` or
    ``area(lut=1,dsp=4)``)."""
    if name == AREA:
        return dict.fromkeys(RESOURCES, 1.0)
    found = _WEIGHTED_AREA.match(name)
    weights = {}
    for part in (found.group(1).split(",") if found else ["?"]):
        resource, _, weight = (text.strip() for text in part.partition("="))
        try:
            weights[resource] = float(weight)
        except ValueError:
            weights[resource] = -1.0
        if resource not in RESOURCES or weights[resource] < 0:
            raise DseError(f"objective '{name}': write area(RESOURCE=WEIGHT,...) with resources among "
                           f"{', '.join(RESOURCES)} and weights >= 0 (e.g. area(lut=1,dsp=4))")
    if not any(weights.values()):
        raise DseError(f"objective '{name}': give some resource a weight above 0")
    return weights


@dataclass(frozen=True)
class Limit:
    """One constraint: ``metric`` compared with ``bound`` (a percentage reads the utilisation)."""

    text: str
    metric: str
    upper: bool
    bound: float

    @classmethod
    def parse(cls, text: str) -> Limit:
        found = _LIMIT.match(text)
        if not found:
            raise DseError(f"constraint '{text}': write METRIC<=VALUE or METRIC<=VALUE% (e.g. lut<=60%, dsp<=100)")
        metric, comparison, number, percent = found.groups()
        try:
            bound = float(number)
        except ValueError:
            raise DseError(f"constraint '{text}': {number!r} is not a number") from None
        if percent:
            if metric not in RESOURCES:
                raise DseError(f"constraint '{text}': a percentage applies to {', '.join(RESOURCES)} "
                               f"(of the target's capacity)")
            metric = utilisation_column(metric)
        return cls(text.strip(), metric, comparison.startswith("<"), bound)

    def excess(self, value: float | None) -> float:
        """0 if ``value`` satisfies the limit, else how far it is off, relative to the bound
        (a missing value is off by 1)."""
        if value is None:
            return 1.0
        over = (value - self.bound) if self.upper else (self.bound - value)
        return max(0.0, over) / max(abs(self.bound), 1e-9)


@dataclass(frozen=True)
class Goals:
    """Objectives (all minimised) and constraints of a search."""

    objectives: tuple[str, ...]
    limits: tuple[Limit, ...] = ()
    target: str | None = None

    @classmethod
    def parse(cls, objectives: str, constraints: list[str] | tuple = (), target: str | None = None) -> Goals:
        names = tuple(n.strip() for n in _OBJECTIVES.split(objectives) if n.strip())
        if not names:
            raise DseError("--objectives: name at least one metric (e.g. latency_cycles,area)")
        if len(set(names)) < len(names):
            raise DseError(f"--objectives {objectives}: a metric is named twice")
        for name in names:
            if name.startswith(AREA + "("):
                area_weights(name)  # checked now, not at the first result
        return cls(names, tuple(Limit.parse(c) for c in constraints), target)

    @property
    def metrics(self) -> tuple[str, ...]:
        """Every metric the goals read."""
        return tuple(dict.fromkeys([*self.objectives, *(limit.metric for limit in self.limits)]))

    def values(self, metrics: dict) -> tuple[list[float | None], float]:
        """The objective values of one result and its total constraint excess (0: it fits)."""
        objectives = [metric_value(metrics, name, self.target) for name in self.objectives]
        excess = sum(limit.excess(metric_value(metrics, limit.metric, self.target)) for limit in self.limits)
        return objectives, excess

    def table(self, observations) -> tuple[np.ndarray, np.ndarray]:
        """Of observations whose objectives are all measured (anything with ``values``): their
        objective values (designs × objectives) and which of them meet every constraint."""
        values = np.array([[o.values[m] for m in self.objectives] for o in observations], float)
        return values.reshape(-1, len(self.objectives)), np.array([self.values(o.values)[1] == 0 for o in observations],
                                                                  dtype=bool)

    def check(self, known: Collection[str], source: str) -> None:
        """Raise :class:`DseError` for the first metric the goals read that results with the
        metrics ``known`` (those of ``source``) never give."""
        named = [(f"objective '{name}'", name) for name in self.objectives]
        for what, name in named + [(f"constraint '{limit.text}'", limit.metric) for limit in self.limits]:
            if not computable(name, known, self.target):
                counts = [resource for resource in resources_of(name) if resource in known]
                hint = (f"; a utilisation from {', '.join(counts)} needs the device's capacity: --target "
                        f"{' or '.join(TARGETS)}") if counts else did_you_mean(name, known)
                raise DseError(f"{what}: no metric '{name}' in {source} (there are {', '.join(sorted(known))}){hint}")

    def describe(self) -> str:
        text = "minimise " + ", ".join(self.objectives)
        return text + (" subject to " + ", ".join(limit.text for limit in self.limits) if self.limits else "")
