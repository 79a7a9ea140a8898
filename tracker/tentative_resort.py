"""Stage 1 with the tentative tracks beside it: a box that held two people splits, and the newcomer's tentative track
re-sorts the pairs.

Two people walking together are often one detection for a few frames (one box covers both). The confirmed track
that held the merged box comes out of it with two candidates, its own person and the other one, both overlapping its
prediction, and its looks taken during the merge resemble both. The other person's box of the first split frame
starts a tentative track. In the next frame stage 1 matches confirmed tracks first, and only then (stage 3) the
tentative tracks get the leftovers: the confirmed track may take the newcomer's box (it is the bigger box, where the
merged box was), leaving its own person to start yet another track. Traced on TUD-Campus ACF drop2 (frames 30-31): gt5's
track took gt8's box at IoU 0.70 / similarity 0.90 against gt5's own 0.62 / 0.82 (gt5's box covered 0.6 by gt8's),
while gt8's one-frame tentative track overlapped gt8's box at 0.51; BoxMOT's OccluBoost, where a confident new box
is confirmed at once and joins the one assignment, kept both (IDF1 77.3 against our 74.2).

The rule: after stage 1, the tentative tracks join the same assignment (their cost is stage 3's, the IoU cost fused with
the score, refused beyond `association.max_iou_distance_tentative`). The joint assignment replaces stage 1's only where
it changes some confirmed track's detection, leaves no confirmed track unmatched that stage 1 matched, and moves each
confirmed track only to a detection its looks call its person (bank similarity at the calibrated "reid" bound, from
which stage 4 calls two looks one person): a tentative track may make a confirmed track take its other candidate when
appearance cannot tell the two apart, never take a confirmed track's only one, nor overrule a look that tells. The other
candidate must also lie inside the confirmed track's Kalman gate: the two boxes of a split are where the merged box was
(yolov8n TUD-Campus pan20 without compensation, frames 66-67: gt5's track was moved onto gt8's box outside its gate; so
were the earlier moves at yolov8n pan20 frames 53-54 and zoom frame 37, compensated). Stage 1 fixes the pairs that are
each other's clear best before its assignment (`association.clear_pair_margin`); in a detection a tentative track
reaches, the joint assignment keeps such a pair fixed only when it is clear by `association.tentative_resort_margin`:
the merged box's heir is the confirmed track's clear best by motion and looks alike (TUD-Campus ACF frame 60: clear by
0.107-0.118 in the original, 0.5x and five moving variants, where the rule did not fire), while a tentative track born
on a one-frame box beside a tracked person meets a pair clear by more (0.35x and zoom frame 46: 0.251 and 0.279).
Elsewhere stage 1 and stage 3 run as before (outputs unchanged). Traced on TUD-Campus ACF drop2 frame 12, without the
similarity condition: a tentative track moved gt3's track (similarity 0.83 to gt3's box) onto gt5's box (0.61, below the
bound 0.70), an ID switch.
"""

from __future__ import annotations

import numpy as np

from tracker.assignment import assign_around, clear_pairs, linear_assignment

__all__ = ["resort_with_tentative"]


def resort_with_tentative(
    confirmed_cost: np.ndarray,
    tentative_cost: np.ndarray,
    stage1_pairs: np.ndarray,
    similarity: np.ndarray,
    same_person: float,
    max_cost: float,
    clear_margin: float | None = None,
    contested_margin: float | None = None,
    expected: np.ndarray | None = None,
) -> np.ndarray | None:
    """The joint assignment of confirmed and tentative tracks, where it re-sorts stage 1 (module docstring).

    Args:
        confirmed_cost: (C, N) stage 1 cost of the confirmed tracks x stage 1 detections (inf: refused).
        tentative_cost: (T, N) cost of the tentative tracks x the same detections (inf: refused).
        stage1_pairs: (M, 2) stage 1's pairs in local indices (row in [0, C), column in [0, N)).
        similarity: (C, N) bank similarity of the confirmed tracks x detections (cosine; NaN: unknown).
        same_person: the similarity from which a look is the track's person (`Calibration.bound("reid")`): a
            confirmed track is moved only to a detection that reaches it.
        max_cost: the highest cost a pair may have (`association.max_cost`).
        clear_margin: `linear_assignment`'s clear-pair margin (None: off), as stage 1 uses it.
        contested_margin: in a detection some tentative track reaches (a finite `tentative_cost` entry), a clear
            pair is fixed before the assignment only at this margin (`association.tentative_resort_margin`; None:
            `clear_margin` there too). Ignored where `clear_margin` is None.
        expected: (C, N) bool, the detections inside each confirmed track's Kalman gate (None: every one): a
            confirmed track is moved only to one of them.
    Returns:
        (P, 2) local pairs of the joint assignment (rows in [0, C) confirmed, [C, C + T) tentative), or None where it
        changes no confirmed track's detection, leaves a track of `stage1_pairs` unmatched, or moves a confirmed
        track to a detection below `same_person` (or of unknown similarity).
    """
    confirmed = confirmed_cost.shape[0]
    if tentative_cost.shape[0] == 0 or len(stage1_pairs) == 0 or not np.isfinite(tentative_cost).any():
        return None
    # a tentative track can re-sort stage 1 only through a detection stage 1 gave away
    taken = stage1_pairs[:, 1]
    if not np.isfinite(tentative_cost[:, taken]).any():
        return None
    joint = _joint_assignment(
        np.vstack([confirmed_cost, tentative_cost]), tentative_cost, max_cost, clear_margin, contested_margin
    )
    mine = joint[joint[:, 0] < confirmed]
    before = {int(r): int(c) for r, c in stage1_pairs}
    after = {int(r): int(c) for r, c in mine}
    if not set(before) <= set(after) or all(after.get(r) == c for r, c in before.items()):
        return None
    moved = [(r, c) for r, c in after.items() if before.get(r) != c]
    if not all(similarity[r, c] >= same_person for r, c in moved):  # (NaN never reaches it)
        return None
    if expected is not None and not all(expected[r, c] for r, c in moved):
        return None
    return joint


def _joint_assignment(
    cost: np.ndarray, tentative_cost: np.ndarray, max_cost: float, margin: float | None, contested: float | None
) -> np.ndarray:
    """(P, 2) pairs of the joint (C + T, N) `cost` (confirmed rows, then the tentative tracks' (T, N)
    `tentative_cost`). Stage 1 fixes its clear pairs (`assignment.clear_pairs` at `margin`) before the assignment;
    here a pair in a detection some tentative track reaches stays fixed only when clear by `contested` too. The
    merged box's heir is the confirmed track's clear best by its last looks and its motion, and the split is for the
    whole assignment to sort. Traced on TUD-Campus ACF frame 60 (original, 0.5x and the six moving variants): gt5's
    track kept gt8's box at cost 0.196-0.200 against 0.305-0.316 for its own (margins 0.107-0.118, clear at 0.1),
    while gt8's tentative track and gt5's own box total 0.853 against 1.0 for stage 1's pair and two left over. A
    tentative track born on a one-frame box beside a tracked person (TUD-Campus ACF 0.35x and zoom, frame 46:
    margins 0.251 and 0.279) does not get to re-sort."""
    if margin is None:
        return linear_assignment(cost, max_cost).pairs
    fixed = clear_pairs(cost, max_cost, margin)
    if contested is not None and contested > margin and len(fixed):
        reached = np.isfinite(tentative_cost[:, fixed[:, 1]]).any(axis=0)
        if reached.any():
            still_clear = np.zeros(cost.shape, dtype=bool)  # the pairs clear at the wider margin too (a subset)
            wide = clear_pairs(cost, max_cost, contested)
            still_clear[wide[:, 0], wide[:, 1]] = True
            fixed = fixed[~reached | still_clear[fixed[:, 0], fixed[:, 1]]]
    return assign_around(cost, max_cost, fixed).pairs
