"""`FrameReport` (tracker/frame_report.py) reads the core's table, still boxes, ground line, birth shapes and report
weight and keeps no state: a checkpoint does not hold it (as one written before the report had a module of its own
did not), and a core restored from one reports from its own restored parts and goes on exactly as the core that
never stopped."""

from __future__ import annotations

import pickle

from tracker import Tracker, load_config
from tracker.core import TrackerCore
from tracker.testing import track_leave_and_return

FPS = 10.0
DIM = 64
STOP = 40  # the frame after which the checkpoint is taken (people are away and coming back)


def _run(stop_and_resume: bool) -> tuple[list[list[tuple]], TrackerCore]:
    """Every frame's (track ID, detection, box, recovered) of people leaving and coming back; with `stop_and_resume`
    the core is replaced after frame `STOP` by its pickled copy."""
    tracker = Tracker(load_config(overrides=["device=cpu", "motion.report_gap_frame=true"]), frame_rate=FPS)

    def resume_at_stop(f: int) -> None:
        if stop_and_resume and f == STOP:
            state = tracker.core.__getstate__()
            assert "frame_report" not in state
            restored = TrackerCore.__new__(TrackerCore)
            restored.__setstate__(pickle.loads(pickle.dumps(state)))
            tracker.core = restored

    shown = track_leave_and_return(tracker, 6, DIM, (1.0, 4.0), seed=5, noise_seed=11, before_frame=resume_at_stop)
    return shown, tracker.core


def test_a_resumed_core_reports_from_its_own_state_and_goes_on_unchanged():
    straight, _ = _run(stop_and_resume=False)
    resumed, core = _run(stop_and_resume=True)
    assert resumed == straight
    report = core.frame_report
    assert report.table is core.table and report.still is core.still and report.ground is core.ground
    assert report.births is core.births and report.report_weight is core.report_weight
    assert core.report_width() == report.report_width() is not None, "the core's report of the widths is the module's"
