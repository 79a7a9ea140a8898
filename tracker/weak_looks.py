"""Stage 1 near-ties with a track that has no clear look: weak appearance must not decide them, motion does.

A track's bank holds only clear looks (confident, unoccluded: the quality gate), so a track whose person has never
been seen clear of others has an empty bank, and nothing tells its person from anyone else by appearance. Take a
detection that such a look-less track's motion vouches for, and that a track with a bank claims too: the two pairs
are a near-tie that motion cannot settle and appearance can settle from one side only. The banked track's similarity
says how much the detection resembles its own looks, not that it is not the look-less track's person: different
people resemble each other up to the calibrated "reid" bound (the high quantile of this video's different-identity
similarities, from which stage 4 calls two looks one person). Below that bound the similarity is weak evidence, so in
such a tie it may not lower the banked pair's cost below its motion cost: motion decides (a veto still stands: a look
unlike the bank is evidence against the pair either way). At or above the bound the look is the banked track's person
and keeps its weight.

"Motion vouches for a pair" is judged by the Kalman filter's own gate (squared Mahalanobis distance within the
chi-square bound `motion.gate_chi2`), not by overlap: a lost track's predicted box drifts from its person while its
covariance grows to cover that drift, so the gate still holds the person when the IoU no longer does; a pair
admitted only because the boxes overlap (stage 1's gate also takes IoU > 0) is not vouched for. The banked track's
own gate does not matter: inside it, both pairs are plausible by motion (the tie is real); outside it, only its
appearance speaks for the pair.
"""

from __future__ import annotations

import numpy as np

__all__ = ["near_tie_costs"]


def near_tie_costs(
    cost: np.ndarray,
    motion_cost: np.ndarray,
    similarity: np.ndarray,
    kalman_gate: np.ndarray,
    cols: np.ndarray,
    no_look: np.ndarray,
    reid_bound: float,
) -> np.ndarray:
    """Stage 1 costs of P gated (track, detection) pairs with the near-tie rule applied (module docstring).

    Args:
        cost: (P,) fused appearance + motion cost (`association.appearance_motion_cost`), inf where vetoed.
        motion_cost: (P,) the motion-only cost of the same pairs (1 - IoU, fused with the score as `cost` is).
        similarity: (P,) bank similarity of each pair, NaN where unknown.
        kalman_gate: (P,) bool, the pair's squared Mahalanobis distance is within the chi-square gate.
        cols: (P,) detection index of each pair (pairs of one detection share it).
        no_look: (P,) bool, the pair's track has no clear look (an empty bank).
        reid_bound: cosine similarity from which two looks are one person (`Calibration.bound("reid")`).
    Returns:
        (P,) float64 costs: a banked track's pair to a detection inside a look-less track's Kalman gate costs at least
        its motion cost unless its similarity reaches `reid_bound`; every other pair keeps `cost`.
    """
    cost = np.array(cost, dtype=np.float64)
    if len(cost) == 0 or not no_look.any():
        return cost
    _, col_at = np.unique(cols, return_inverse=True)
    claimed = np.bincount(col_at, weights=kalman_gate & no_look)[col_at] > 0  # a look-less track's gate holds it
    weak = claimed & ~no_look & ~(similarity >= reid_bound)  # (NaN: no appearance term to weaken)
    cost[weak] = np.maximum(cost[weak], motion_cost[weak])
    return cost
