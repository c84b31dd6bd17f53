"""Pareto sets of designs under objectives to minimise, and how far a found set is from a
reference one.

* :func:`pareto_mask`: the designs no other design dominates (at least as good everywhere,
  better somewhere).
* :func:`nondominated_ranks`: the front each design is on (0 = Pareto set, 1 = the Pareto set
  of the rest, …), the order in which successive halving promotes under several objectives.
* :func:`adrs`: the average distance from a reference set: for each reference design, the
  smallest over found designs of the largest relative excess over the objectives; averaged.
"""

from __future__ import annotations

import numpy as np


def _dominated_by(values: np.ndarray) -> np.ndarray:
    """``[i, j]``: design j dominates design i."""
    at_most = (values[None, :, :] <= values[:, None, :]).all(axis=2)
    below = (values[None, :, :] < values[:, None, :]).any(axis=2)
    return at_most & below


def pareto_mask(values: np.ndarray) -> np.ndarray:
    """Which rows of ``values`` (designs × objectives, minimised) are not dominated."""
    values = np.asarray(values, dtype=float)
    if len(values) == 0:
        return np.zeros(0, dtype=bool)
    return ~_dominated_by(values).any(axis=1)


def nondominated_ranks(values: np.ndarray) -> np.ndarray:
    """Each row's front: 0 for the Pareto set, then 1 for the Pareto set of the rest, and so on."""
    values = np.asarray(values, dtype=float)
    dominated = _dominated_by(values)
    ranks = np.full(len(values), -1)
    front = 0
    while (ranks < 0).any():
        remaining = ranks < 0
        current = remaining & ~(dominated[:, remaining].any(axis=1))
        ranks[current] = front
        front += 1
    return ranks


def adrs(reference: np.ndarray, found: np.ndarray) -> float:
    """Average distance from the ``reference`` set (designs × objectives, positive, minimised)
    to the ``found`` designs: 0 when every reference design was found; infinite when nothing was."""
    reference, found = np.asarray(reference, dtype=float), np.asarray(found, dtype=float)
    if len(found) == 0:
        return float("inf")
    excess = np.maximum(0.0, (found[None, :, :] - reference[:, None, :]) / reference[:, None, :])
    return float(excess.max(axis=2).min(axis=1).mean())
