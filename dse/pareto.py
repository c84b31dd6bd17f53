"""Pareto sets of designs under objectives to minimise, and how far a found set is from a
reference one.

* :func:`pareto_mask`: the designs no other design dominates (at least as good everywhere,
  better somewhere).
* :func:`spread_order`: front after front, the designs in the order that represents each
  front best: the order in which successive halving promotes and the Bayesian searcher's prior
  design is chosen.
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
    front alone, never with every other design (two objectives: all at once, :func:`_pareto_mask_2d`)."""
    values = np.asarray(values, dtype=float)
    if values.ndim == 2 and values.shape[1] == 2 and len(values) and not np.isnan(values).any():
        return _pareto_mask_2d(values)
    mask = np.zeros(len(values), dtype=bool)
    front = np.empty((0, values.shape[1]))
    for row in np.lexsort(values.T[::-1]):
        candidate = values[row]
        if not ((front <= candidate).all(axis=1) & (front < candidate).any(axis=1)).any():
            mask[row] = True
            front = np.vstack([front, candidate])
    return mask


def _pareto_mask_2d(values: np.ndarray) -> np.ndarray:
    """:func:`pareto_mask` of two objectives without a loop: in lexicographic order, a design
    is dominated by an earlier one with a smaller first objective and a second no larger, or
    with the same first objective and a smaller second (the first of its group has the least)."""
    order = np.lexsort(values.T[::-1])
    first, second = values[order, 0], values[order, 1]
    new_group = np.r_[True, first[1:] != first[:-1]]
    group = np.cumsum(new_group) - 1
    least = second[new_group]  # each group's least second objective
    before = np.r_[np.inf, np.minimum.accumulate(least)[:-1]]  # the least over the groups before
    mask = np.empty(len(values), dtype=bool)
    mask[order] = ~((before[group] <= second) | (least[group] < second))
    return mask


def spread_order(values: np.ndarray) -> np.ndarray:
    """Positions of ``values`` (designs × objectives, minimised) in the order that represents
    them best: front after front, within a front each next design the one that lowers the
    front's :func:`adrs` most (the ends and the middle before their neighbours); a design
    equal to one before it comes after every distinct one."""
    values = np.maximum(np.asarray(values, dtype=float), 1e-12)
    distinct, first = np.unique(values, axis=0, return_index=True)
    remaining, order = np.arange(len(distinct)), []
    while len(remaining):
        on_front = remaining[pareto_mask(distinct[remaining])]
        front = distinct[on_front]
        excess = np.maximum(0.0, (front[None] - front[:, None]) / front[:, None]).max(axis=2)  # reference x design
        nearest = np.full(len(front), np.inf)  # each front design's distance to those placed
        for _ in range(len(front)):
            best = int(np.argmin(np.minimum(nearest[:, None], excess).mean(axis=0)))
            nearest = np.minimum(nearest, excess[:, best])
            excess[:, best] = np.inf
            order.append(first[on_front[best]])
        remaining = np.setdiff1d(remaining, on_front)
    placed = set(order)
    return np.array(order + [i for i in range(len(values)) if i not in placed], dtype=int)


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
