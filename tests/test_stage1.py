"""`Stage1Cost` (tracker/stage1.py) reads the core's table, bank and calibration: a core restored from a checkpoint,
also one written before the stage 1 rules had a module of their own (no `stage1` in its state), prices stage 1 from
its own restored state and goes on exactly as the core that never stopped."""

from __future__ import annotations

import pickle

import numpy as np
import pytest

from tracker import Tracker, load_config
from tracker.core import TrackerCore
from tracker.testing import leave_and_return_world, noise_for_similarity, reid_like_identities, render

FPS = 10.0
DIM = 64
STOP = 40  # the frame after which the checkpoint is taken (people are away and coming back: lost tracks' pairs)


def _run(stop_and_resume: bool, without_stage1: bool = False) -> tuple[list[list[tuple]], TrackerCore]:
    """Every frame's (track ID, detection, box, recovered) of people leaving and coming back; with `stop_and_resume`
    the core is replaced after frame `STOP` by its pickled copy (without its `stage1` attribute: `without_stage1`)."""
    walkers, _, frames = leave_and_return_world(people=6, frame_rate=FPS, away_seconds=(1.0, 4.0), seed=5)
    identities = reid_like_identities(6, DIM, different=0.2, seed=5)
    noise, rng = noise_for_similarity(0.85, DIM), np.random.default_rng(11)
    tracker = Tracker(load_config(overrides=["device=cpu"]), frame_rate=FPS)
    shown = []
    for f in range(frames):
        if stop_and_resume and f == STOP:
            state = tracker.core.__getstate__()
            if without_stage1:
                del state["stage1"]
            restored = TrackerCore.__new__(TrackerCore)
            restored.__setstate__(pickle.loads(pickle.dumps(state)))
            tracker.core = restored
        det = render(walkers, f, identities, noise, rng)
        out = tracker.update_detections(det.boxes_xyxy, det.scores, embeddings=det.embeddings)
        shown.append([(o.track_id, o.detection_index, tuple(o.xyxy.tolist()), o.recovered) for o in out])
    return shown, tracker.core


@pytest.mark.parametrize("without_stage1", [False, True], ids=["checkpoint", "checkpoint_before_stage1_module"])
def test_a_resumed_core_prices_stage_1_from_its_own_state_and_goes_on_unchanged(without_stage1):
    straight, _ = _run(stop_and_resume=False)
    resumed, core = _run(stop_and_resume=True, without_stage1=without_stage1)
    assert resumed == straight
    assert core.stage1.table is core.table and core.stage1.bank is core.bank
    assert core.stage1.calibration is core.calibration
    assert any(o[3] for row in straight[STOP:] for o in row), "a lost track came back after the checkpoint"
