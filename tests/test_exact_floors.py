"""Lost tracks' pairs proven below every bound their looks meet are not computed (`Stage1Cost.exact_floors`,
`AppearanceBank.similarity`'s floors), and the tracker outputs exactly what it does when every pair is computed."""

from __future__ import annotations

import numpy as np

from tracker import Tracker, load_config
from tracker import bank as bank_module
from tracker.bank import AppearanceBank
from tracker.stage1 import Stage1Cost
from tracker.testing import track_leave_and_return

FPS = 10.0
DIM = 128


def _run(monkeypatch, floors: bool) -> tuple[list[list[tuple]], int]:
    """Every frame's (track ID, detection, box) of a world of people leaving and coming back, and the pairs left
    uncomputed by the floors."""
    skipped = [0]
    bound_pairs = AppearanceBank._bound_pairs

    def counted(self, slots, counts, emb, candidates, *rest):
        left = bound_pairs(self, slots, counts, emb, candidates, *rest)
        skipped[0] += int(candidates.sum() - left.sum())
        return left

    monkeypatch.setattr(AppearanceBank, "_bound_pairs", counted)
    monkeypatch.setattr(bank_module, "_MIN_BOUNDED_PAIRS", 1)  # the bound pass wherever a pair is asked
    if not floors:
        monkeypatch.setattr(Stage1Cost, "exact_floors", lambda self, lost, border: np.full(len(lost), -np.inf))
    tracker = Tracker(load_config(overrides=["device=cpu"]), frame_rate=FPS)
    shown = track_leave_and_return(tracker, people=8, dim=DIM, away_seconds=(2.0, 8.0), seed=3, noise_seed=103)
    monkeypatch.undo()
    return shown, skipped[0]


def test_skipping_lost_pairs_below_every_bound_changes_no_output(monkeypatch):
    with_floors, skipped = _run(monkeypatch, floors=True)
    without, none_skipped = _run(monkeypatch, floors=False)
    assert skipped > 50 and none_skipped == 0  # lost tracks' pairs were skipped, and only with the floors
    assert with_floors == without
