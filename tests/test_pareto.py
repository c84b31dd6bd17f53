"""Pareto sets, non-dominated fronts and ADRS on small cases worked by hand."""

import numpy as np
import pytest

from dse.pareto import adrs, hypervolume_improvement, pareto_mask, spread_order

# (latency, area): b dominates d (better in both), a/b/c trade off, e equals c
DESIGNS = np.array([[1, 9], [2, 4], [5, 2], [3, 6], [5, 2], [8, 8]])


def test_pareto_mask_keeps_the_designs_nothing_dominates():
    assert pareto_mask(DESIGNS).tolist() == [True, True, True, False, True, False]
    assert pareto_mask(np.zeros((0, 2))).tolist() == []


def test_pareto_mask_of_two_objectives_agrees_with_the_general_one():
    rng = np.random.default_rng(0)
    for _ in range(200):  # small integers: many ties in one objective or both
        values = rng.integers(0, 6, size=(rng.integers(1, 30), 2)).astype(float)
        general = pareto_mask(np.hstack([values, np.zeros((len(values), 1))]))  # a third, constant objective
        assert pareto_mask(values).tolist() == general.tolist()


def test_spread_order_represents_each_front_best_then_the_fronts_behind():
    # front (1, 9), (2, 4), (5, 2): (2, 4) has the least mean excess over it, (4 + 0 + 1.25 ... ) / 3 = 0.67;
    # then (1, 9) and (5, 2) would each bring it to 0.33, the first in order wins; then the fronts behind
    assert spread_order(DESIGNS).tolist() == [1, 0, 2, 3, 5, 4]  # 4 equals 2: after every distinct design
    values = np.array([[1, 10], [2, 5], [3, 4], [4, 3.5], [10, 1], [2, 6], [5, 5], [1, 10]], float)
    # (3, 4): mean excess 1.13 over the front ((2, 5): 1.14); then the ends, which lower it most
    assert spread_order(values).tolist() == [2, 4, 0, 1, 3, 5, 6, 7]


def test_adrs_is_the_mean_worst_relative_excess():
    reference = np.array([[1.0, 9.0], [2.0, 4.0], [5.0, 2.0]])
    assert adrs(reference, reference) == 0.0
    # only (2, 4) found: from (1, 9) latency is 100% over; from (5, 2) area is 100% over
    assert adrs(reference, np.array([[2.0, 4.0]])) == (1.0 + 0.0 + 1.0) / 3
    # (2.2, 4) instead: 10% over for (2, 4); (1, 9) takes 120%; (5, 2) still 100%
    assert np.isclose(adrs(reference, np.array([[2.2, 4.0], [8.0, 8.0]])), (1.2 + 0.1 + 1.0) / 3)
    assert adrs(reference, np.zeros((0, 2))) == float("inf")


def test_hypervolume_improvement_is_the_area_a_design_adds_to_the_front():
    front = np.array([[1, 3], [2, 2], [3, 1], [3, 3]])  # (3, 3) is dominated: it adds nothing
    reference = np.array([4, 4])
    points = np.array([[0, 0], [2.5, 1.5], [1.5, 1.5], [1, 3], [5, 0]])
    # the front dominates 1 + 2 + 3 = 6 of the 4 x 4 box; (2.5, 1.5) adds 0.5 x 0.5 beside (2, 2) and (3, 1);
    # (1.5, 1.5) adds 0.5 x 1.5 + 1 x 0.5; a design on the front or beyond the reference point adds nothing
    assert hypervolume_improvement(points, front, reference) == pytest.approx([10, 0.25, 1.25, 0, 0])
    # against an empty front, the whole box a design dominates; samples × candidates keep their shape
    assert hypervolume_improvement(np.array([[[2, 2]], [[3, 0]]]), np.empty((0, 2)), reference).tolist() == [[4], [4]]
