"""Stage 1 near-ties with a track that has no clear look: weak appearance never decides them, motion does.

A clear look is a confident, unoccluded, whole view of the person. The bank's quality gate keeps confident,
unoccluded looks only, so a track whose person has never been seen clear of others has an empty bank; a track only
ever seen cut by a side border of the frame has a bank of partial views. Neither bank tells its person from anyone
else: its similarities are weak evidence. Weak evidence may refuse a pair (a look unlike the detection still speaks
against it) but never lowers a pair's cost below its motion cost, on either side of a near-tie:

- a look-less track's own pairs cost at least their motion cost (its few partial looks cannot win a tie);
- a detection that a look-less track's motion vouches for is a near-tie that appearance can judge from one side
  only: another track's similarity says how much the detection resembles that track's looks, not that it is not the
  look-less track's person. Different people resemble each other up to the calibrated "reid" bound (the high
  quantile of this video's different-identity similarities, from which stage 4 calls two looks one person); below it
  the other track's similarity is weak evidence too, and its pair also costs at least its motion cost. Motion
  decides. At or above the bound the look is that track's person and keeps its weight.

A near-tie needs a look-less pair that stage 1 could accept (cost within `association.max_cost`). Where the look-less
track's own pair costs more (lost too long for motion alone to bring it back), it cannot take the detection, and the
other tracks' weak appearance is held back only where it would admit a pair that motion alone rejects (motion cost
above `max_cost`): a weak look still never brings a lost look-alike back onto a person whose track has no look, but
pairs that motion accepts on their own keep their appearance term, which ranks them against each other. (Flooring
those too made motion alone choose between two banked tracks near a hopeless look-less one: traced on TUD-Campus ACF
jitter with compensation, frame 15, where it gave gt2's box to a track lost four frames by 0.668 against 0.710, while
appearance preferred gt2's own track.)

"Motion vouches for a pair" is judged by the Kalman filter's own gate (squared Mahalanobis distance within the
chi-square bound `motion.gate_chi2`), not by overlap: a lost track's predicted box drifts from its person while its
covariance grows to cover that drift, so the gate still holds the person when the IoU no longer does; a pair
admitted only because the boxes overlap (stage 1's gate also takes IoU > 0) is not vouched for. The other track's own
gate does not matter: inside it, both pairs are plausible by motion (the tie is real); outside it, only its
appearance speaks for its pair.
"""

from __future__ import annotations

import numpy as np

__all__ = ["gateless_look_ties", "near_tie_costs", "outranked_thin_pairs", "ungated_lookless_pairs"]


def near_tie_costs(
    cost: np.ndarray,
    motion_cost: np.ndarray,
    similarity: np.ndarray,
    kalman_gate: np.ndarray,
    cols: np.ndarray,
    no_look: np.ndarray,
    reid_bound: float,
    max_cost: float = np.inf,
) -> np.ndarray:
    """Stage 1 costs of P gated (track, detection) pairs with weak appearance kept from deciding (module docstring).

    Args:
        cost: (P,) fused appearance + motion cost (`association.appearance_motion_cost`), inf where vetoed.
        motion_cost: (P,) the motion-only cost of the same pairs (1 - IoU, fused with the score as `cost` is).
        similarity: (P,) bank similarity of each pair, NaN where unknown.
        kalman_gate: (P,) bool, the pair's squared Mahalanobis distance is within the chi-square gate.
        cols: (P,) detection index of each pair, >= 0 (pairs of one detection share it).
        no_look: (P,) bool, the pair's track has no clear look (an empty bank, or only partial views).
        reid_bound: cosine similarity from which two looks are one person (`Calibration.bound("reid")`).
        max_cost: the highest cost stage 1 accepts (`association.max_cost`); inf: every look-less pair in its gate
            makes a near-tie.
    Returns:
        (P,) float64 costs, never below the motion cost for the pairs of look-less tracks, nor, unless their
        similarity reaches `reid_bound`, for the pairs of other tracks to a detection inside a look-less track's
        Kalman gate where that track's pair costs at most `max_cost` or their own motion cost exceeds `max_cost`;
        every other pair keeps `cost` (and so does every veto).
    """
    cost = np.array(cost, dtype=np.float64)
    if len(cost) == 0 or not no_look.any():
        return cost
    cost[no_look] = np.maximum(cost[no_look], motion_cost[no_look])  # its partial looks cannot win a tie
    vouched = kalman_gate & no_look  # a look-less track's gate holds the detection
    claimed = np.bincount(cols, weights=vouched)[cols] > 0
    tied = np.bincount(cols, weights=vouched & (cost <= max_cost))[cols] > 0  # ... and stage 1 could give it to it
    held_back = tied | (claimed & (motion_cost > max_cost))  # else: a pair motion accepts alone keeps its look
    weak = held_back & ~no_look & ~(similarity >= reid_bound)  # (NaN similarity: no appearance term to weaken)
    cost[weak] = np.maximum(cost[weak], motion_cost[weak])
    return cost


def outranked_thin_pairs(
    cost: np.ndarray, similarity: np.ndarray, cols: np.ndarray, lost: np.ndarray, thin: np.ndarray
) -> np.ndarray:
    """Stage 1 pairs of a lost track with a thin bank (`AppearanceBank.thin`: fewer looks than `appearance.topk`, or
    than `appearance.bank_capacity` where smaller) whose detection another lost track, also able to take it in stage
    1, resembles more: appearance does not single the thin track out, and its one or two looks are not an aggregate.
    Ambiguity goes to a new ID (or to the likelier lost track), not to a merge. Traced on TUD-Campus ACF moving cells
    (issue 10): gt6's thin track took gt3's box at frame 15 while gt3's own lost track resembled it more; no right
    return of a thin track was outranked so on TUD-Campus or PETS09.

    Args:
        cost: (P,) stage 1 cost of P gated (track, detection) pairs, inf where vetoed.
        similarity: (P,) bank similarity of each pair, NaN where unknown.
        cols: (P,) detection index of each pair, >= 0.
        lost: (P,) bool, the pair's track is lost.
        thin: (P,) bool, the pair's track's bank is thin (`AppearanceBank.thin`).
    Returns:
        (P,) bool, True for the thin lost tracks' pairs outranked on their detection by another lost track's pair.
    """
    candidate = lost & np.isfinite(cost) & np.isfinite(similarity)
    if not (candidate & thin).any():
        return np.zeros(len(cost), dtype=bool)
    best = np.full(int(cols.max()) + 1, -np.inf)
    np.maximum.at(best, cols[candidate], similarity[candidate])
    return candidate & thin & (similarity < best[cols])


def ungated_lookless_pairs(
    cost: np.ndarray,
    similarity: np.ndarray,
    kalman_gate: np.ndarray,
    cols: np.ndarray,
    no_look: np.ndarray,
    tracked: np.ndarray,
    lost: np.ndarray,
    max_cost: float,
) -> np.ndarray:
    """Stage 1 pairs of a tracked track with no clear look that only overlap admits (outside its Kalman gate), on a
    detection that a lost track with a look could take in stage 1 (a similarity at its stage 1 bound, and a cost,
    appearance and motion fused, within `max_cost`). The look-less track's claim rests on an overlap that the filter's
    innovation covariance calls implausible, and it has no look to speak for it; the lost track's rests on its look
    and on motion that stage 1 accepts with it (its gate grows with the time lost). The detection goes to the lost
    track. Traced on TUD-Campus yolov8n pan8 with compensation (issue 13): gt6's look-less
    track, lost 11 frames, took gt5's box by motion at frame 23 and then held gt5 for 25 frames by overlap outside
    its gate (squared Mahalanobis distance 15.5 at frame 24, IoU 0.64), while gt5's own lost track had it inside
    its gate at similarity 0.68. Without compensation the look-less track's worse prediction lost the overlap at
    frame 26 and gt5's track took its person back. The same on TUD-Campus jitter with compensation at frame 26, where
    gt5's lost track has the box just outside its gate (10.4 against 9.49) at similarity 0.65, IoU 0.14.

    Args:
        cost: (P,) stage 1 cost of P gated (track, detection) pairs, inf where vetoed.
        similarity: (P,) bank similarity of each pair, NaN where unknown.
        kalman_gate: (P,) bool, the pair's squared Mahalanobis distance is within the chi-square gate.
        cols: (P,) detection index of each pair, >= 0.
        no_look: (P,) bool, the pair's track has no clear look (`Stage1Cost._no_clear_look`).
        tracked: (P,) bool, the pair's track is tracked (matched recently, not lost).
        lost: (P,) bool, the pair's track is lost.
        max_cost: the highest cost stage 1 accepts (`association.max_cost`).
    Returns:
        (P,) bool, True for the look-less tracked pairs outside their Kalman gate whose detection such a lost track
        could take.
    """
    ungated = no_look & tracked & ~kalman_gate & np.isfinite(cost)
    if not ungated.any():
        return ungated
    backed = lost & ~no_look & np.isfinite(similarity) & (cost <= max_cost)
    return ungated & (np.bincount(cols, weights=backed)[cols] > 0)


def gateless_look_ties(
    cost: np.ndarray,
    motion_cost: np.ndarray,
    kalman_gate: np.ndarray,
    cols: np.ndarray,
    no_look: np.ndarray,
    tracked: np.ndarray,
    gateless: np.ndarray,
    max_cost: float,
) -> np.ndarray:
    """Stage 1 costs where a tracked track whose Kalman gate holds none of the frame's confident detections (`gateless`:
    its person is hidden, or found only among the low-score boxes) claims, by overlap and a look, a detection that a
    tracked look-less track's gate holds. Motion speaks for the look-less track alone and its missing look cannot
    answer the other's, however strong: near people look alike (a look at the calibrated reid bound is no proof here),
    so the gateless pair costs at least its motion cost and motion decides. Traced on TUD-Campus yolov8n jump with
    compensation (issue 13, frame 51): gt5's banked track, its person found only by a 0.18-score box, took gt8's box
    (IoU 0.59, outside its gate) at similarity 0.832 from gt8's two-frame look-less track (IoU 0.93, in its gate), and
    the two IDs swapped for the rest of the video. A lost look-less rival does not count: its motion is an
    extrapolation (traced: TUD-Campus ACF, frame 13, a lost look-less track's gate held gt2's box that gt2's own
    tracked track reached at similarity 0.74 outside its gate).

    Args:
        cost: (P,) stage 1 cost of P gated (track, detection) pairs, inf where vetoed.
        motion_cost: (P,) the motion-only cost of the same pairs.
        kalman_gate: (P,) bool, the pair's squared Mahalanobis distance is within the chi-square gate.
        cols: (P,) detection index of each pair, >= 0.
        no_look: (P,) bool, the pair's track has no clear look (`Stage1Cost._no_clear_look`).
        tracked: (P,) bool, the pair's track is tracked (matched recently, not lost).
        gateless: (P,) bool, the pair's track is tracked and its gate holds no confident detection of the frame.
        max_cost: the highest cost stage 1 accepts (`association.max_cost`).
    Returns:
        (P,) costs: at least the motion cost for the gateless tracks' pairs with a look outside their gate on a
        detection that a tracked look-less track's gate holds at a cost within `max_cost`; `cost` elsewhere (`cost`
        itself when no pair is such a claim).
    """
    claims = gateless & ~no_look & ~kalman_gate & np.isfinite(cost)
    if not claims.any():
        return cost
    cost = np.array(cost, dtype=np.float64)  # (a copy: the caller's costs stay as they were)
    rival = tracked & no_look & kalman_gate & (cost <= max_cost)
    tied = claims & (np.bincount(cols, weights=rival)[cols] > 0)
    cost[tied] = np.maximum(cost[tied], motion_cost[tied])
    return cost
