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

The rule: after stage 1, the tentative tracks join the same assignment (their cost is stage 3's, the IoU cost
fused with the score, refused beyond `association.max_iou_distance_tentative`). The joint assignment replaces stage
1's only where it changes some confirmed track's detection, leaves no confirmed track unmatched that stage 1
matched, and moves each confirmed track only to a detection its looks call its person (bank similarity at the
calibrated "reid" bound, from which stage 4 calls two looks one person): a tentative track may make a confirmed track
take its other candidate when appearance cannot tell the two apart, never take a confirmed track's only one, nor
overrule a look that tells. Elsewhere stage 1 and stage 3 run as before (outputs unchanged). Traced on TUD-Campus ACF
drop2 frame 12, without the similarity condition: a tentative track moved gt3's track (similarity 0.83 to gt3's box)
onto gt5's box (0.61, below the bound 0.70), an ID switch.
"""

from __future__ import annotations

import numpy as np

from tracker.assignment import linear_assignment

__all__ = ["resort_with_tentative"]


def resort_with_tentative(
    confirmed_cost: np.ndarray,
    tentative_cost: np.ndarray,
    stage1_pairs: np.ndarray,
    similarity: np.ndarray,
    same_person: float,
    max_cost: float,
    clear_margin: float | None = None,
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
    joint = linear_assignment(np.vstack([confirmed_cost, tentative_cost]), max_cost, clear_margin).pairs
    mine = joint[joint[:, 0] < confirmed]
    before = {int(r): int(c) for r, c in stage1_pairs}
    after = {int(r): int(c) for r, c in mine}
    if not set(before) <= set(after) or all(after.get(r) == c for r, c in before.items()):
        return None
    moved = [(r, c) for r, c in after.items() if before.get(r) != c]
    if not all(similarity[r, c] >= same_person for r, c in moved):  # (NaN never reaches it)
        return None
    return joint
