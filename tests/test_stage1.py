"""`Stage1Cost` (tracker/stage1.py) reads the core's table, bank and calibration: a core restored from a checkpoint,
also one written before the stage 1 rules had a module of their own (no `stage1` in its state), prices stage 1 from
its own restored state and goes on exactly as the core that never stopped."""

from __future__ import annotations

import pickle

import pytest

from tracker import Tracker, load_config
from tracker.core import TrackerCore
from tracker.testing import track_leave_and_return

FPS = 10.0
DIM = 64
STOP = 40  # the frame after which the checkpoint is taken (people are away and coming back: lost tracks' pairs)


def _run(stop_and_resume: bool, without_stage1: bool = False) -> tuple[list[list[tuple]], TrackerCore]:
    """Every frame's (track ID, detection, box, recovered) of people leaving and coming back; with `stop_and_resume`
    the core is replaced after frame `STOP` by its pickled copy (without its `stage1` attribute: `without_stage1`)."""
    tracker = Tracker(load_config(overrides=["device=cpu"]), frame_rate=FPS)

    def resume_at_stop(f: int) -> None:
        if stop_and_resume and f == STOP:
            state = tracker.core.__getstate__()
            if without_stage1:
                del state["stage1"]
            restored = TrackerCore.__new__(TrackerCore)
            restored.__setstate__(pickle.loads(pickle.dumps(state)))
            tracker.core = restored

    shown = track_leave_and_return(tracker, 6, DIM, (1.0, 4.0), seed=5, noise_seed=11, before_frame=resume_at_stop)
    return shown, tracker.core


@pytest.mark.parametrize("without_stage1", [False, True], ids=["checkpoint", "checkpoint_before_stage1_module"])
def test_a_resumed_core_prices_stage_1_from_its_own_state_and_goes_on_unchanged(without_stage1):
    straight, _ = _run(stop_and_resume=False)
    resumed, core = _run(stop_and_resume=True, without_stage1=without_stage1)
    assert resumed == straight
    assert core.stage1.table is core.table and core.stage1.bank is core.bank
    assert core.stage1.calibration is core.calibration
    assert any(o[3] for row in straight[STOP:] for o in row), "a lost track came back after the checkpoint"
