"""The gallery's decision for one frame's newcomers: which identity each gets, if any, from their similarities.

Several newcomers of one frame never get the same identity (Hungarian assignment over the candidates at or above
`min_similarity`), and a newcomer gets one only when it is unambiguous: it beats every identity no other newcomer
takes by `margin` (a ratio test: a new ID is safer than a wrong one), and swapping identities with any other
newcomer of the frame costs at least `margin` (an identity another newcomer takes is no rival: two people visible
together are two people). The similarities come from the gallery's search (`tracker.gallery`, `Gallery.match`).
"""

from __future__ import annotations

import numpy as np

from tracker.assignment import linear_assignment

__all__ = ["assign_unambiguous"]


def assign_unambiguous(ranked: list[dict[int, float]], min_similarity: float, margin: float) -> dict[int, int]:
    """Query position -> global ID for the queries that get an identity (the others are left out).

    Args:
        ranked: per query, its candidate identities (global ID -> cosine similarity): those it may be given.
        min_similarity: the least similarity a query's identity has.
        margin: the least lead of its identity over each alternative (cosine).
    """
    columns = sorted({g for r in ranked for g, s in r.items() if s >= min_similarity})
    if not columns:
        return {}
    cost = np.full((len(ranked), len(columns)), np.inf)
    for qi, r in enumerate(ranked):
        for c, g in enumerate(columns):
            if r.get(g, -np.inf) >= min_similarity:
                cost[qi, c] = 1.0 - r[g]
    pairs = {int(a): columns[b] for a, b in linear_assignment(cost, 1.0 - min_similarity).pairs}
    # Ratio test with the cannot-link constraint: an identity another newcomer of this frame takes is not a
    # rival (two people visible together are two people), but swapping the two must cost at least `margin`.
    accepted = dict(pairs)
    for _ in range(len(pairs) + 1):
        kept = {qi: g for qi, g in pairs.items() if _unambiguous(qi, g, accepted, ranked, margin)}
        if kept == accepted:
            break
        accepted = kept
    return accepted


def _unambiguous(qi: int, g: int, accepted: dict[int, int], ranked: list[dict[int, float]], margin: float) -> bool:
    """Does query `qi` taking identity `g` beat every alternative by `margin`: any identity no other query
    takes, and swapping identities with any other query of the batch (sum of the two similarities)?"""
    sims = ranked[qi]
    taken = {h: other for other, h in accepted.items() if other != qi}
    free = [s for h, s in sims.items() if h != g and h not in taken]
    if free and sims[g] - max(free) < margin:
        return False
    for h, other in taken.items():
        if h in sims and g in ranked[other]:
            loss = sims[g] + ranked[other][h] - sims[h] - ranked[other][g]
            if loss < margin:
                return False
    return True
