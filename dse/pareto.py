"""Pareto sets of designs under objectives to minimise, and how far a found set is from a
reference one.

* :func:`pareto_mask`: the designs no other design dominates (at least as good everywhere,
  better somewhere).
* :func:`nondominated_ranks`: the front each design is on (0 = Pareto set, 1 = the Pareto set
  of the rest, …), the order in which successive halving promotes under several objectives.
* :func:`adrs`: the average distance from a reference set: for each reference design, the
  smallest over found designs of the largest relative excess over the objectives; averaged.
* :func:`hypervolume_improvement`: the area a new design adds to what a front dominates (two
  objectives), which the Bayesian searcher expects over its posterior.
"""

from __future__ import annotations

import numpy as np


def pareto_mask(values: np.ndarray) -> np.ndarray:
    """Which rows of ``values`` (designs × objectives, minimised) are not dominated.

    In lexicographic order a design can only be dominated by one before it, and whatever
    dominates it, something already on the front does too: each design is compared with the
    front alone, never with every other design."""
    values = np.asarray(values, dtype=float)
    mask = np.zeros(len(values), dtype=bool)
    front = np.empty((0, values.shape[1]))
    for row in np.lexsort(values.T[::-1]):
        candidate = values[row]
        if not ((front <= candidate).all(axis=1) & (front < candidate).any(axis=1)).any():
            mask[row] = True
            front = np.vstack([front, candidate])
    return mask


def nondominated_ranks(values: np.ndarray) -> np.ndarray:
    """Each row's front: 0 for the Pareto set, then 1 for the Pareto set of the rest, and so on."""
    values = np.asarray(values, dtype=float)
    ranks = np.full(len(values), -1)
    front = 0
    while (ranks < 0).any():
        remaining = np.flatnonzero(ranks < 0)
        ranks[remaining[pareto_mask(values[remaining])]] = front
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


def hypervolume_improvement(points: np.ndarray, front: np.ndarray, reference: np.ndarray) -> np.ndarray:
    """For each of ``points`` (… × 2), the area it dominates within ``reference`` (a point every
    design of interest beats) that no design of ``front`` (n × 2) dominates. The area the front
    leaves free is a staircase: below the front's least first objective nothing is dominated,
    and past each front design's first objective the second must beat that design's."""
    front = np.asarray(front, dtype=float)
    front = front[pareto_mask(front)] if len(front) else front.reshape(0, 2)
    front = front[np.argsort(front[:, 0])]  # first objective up, second down
    starts = np.concatenate([[-np.inf], front[:, 0]])
    ends = np.concatenate([front[:, 0], [np.inf]])
    ceilings = np.minimum(np.concatenate([[reference[1]], front[:, 1]]), reference[1])
    points = np.asarray(points, dtype=float)[..., None, :]  # one column per step of the staircase
    widths = np.minimum(ends, reference[0]) - np.maximum(starts, points[..., 0])
    heights = ceilings - points[..., 1]
    return np.sum(np.maximum(widths, 0.0) * np.maximum(heights, 0.0), axis=-1)
