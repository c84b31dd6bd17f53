"""Pareto sets, non-dominated fronts and ADRS on small cases worked by hand."""

import numpy as np

from dse.pareto import adrs, nondominated_ranks, pareto_mask

# (latency, area): b dominates d (better in both), a/b/c trade off, e equals c
DESIGNS = np.array([[1, 9], [2, 4], [5, 2], [3, 6], [5, 2], [8, 8]])


def test_pareto_mask_keeps_the_designs_nothing_dominates():
    assert pareto_mask(DESIGNS).tolist() == [True, True, True, False, True, False]
    assert pareto_mask(np.zeros((0, 2))).tolist() == []


def test_nondominated_ranks_peel_fronts():
    assert nondominated_ranks(DESIGNS).tolist() == [0, 0, 0, 1, 0, 2]


def test_adrs_is_the_mean_worst_relative_excess():
    reference = np.array([[1.0, 9.0], [2.0, 4.0], [5.0, 2.0]])
    assert adrs(reference, reference) == 0.0
    # only (2, 4) found: from (1, 9) latency is 100% over; from (5, 2) area is 100% over
    assert adrs(reference, np.array([[2.0, 4.0]])) == (1.0 + 0.0 + 1.0) / 3
    # (2.2, 4) instead: 10% over for (2, 4); (1, 9) takes 120%; (5, 2) still 100%
    assert np.isclose(adrs(reference, np.array([[2.2, 4.0], [8.0, 8.0]])), (1.2 + 0.1 + 1.0) / 3)
    assert adrs(reference, np.zeros((0, 2))) == float("inf")
