"""`tools/stage1_trace.py`: the per-frame stage 1 dump used to trace issue 13's TUD-Campus pan8 cells. It must name
the stage of each match rightly (stage 2's low-score match is not called stage 1), print only the tracks asked for,
and leave the tracking unchanged (the traced run is the run being explained)."""

from __future__ import annotations

import numpy as np
import pytest
from tool_scripts import load_tool

from tracker import Tracker, load_config
from tracker.eval.inputs import FrameInputs
from tracker.testing import Walker

FRAMES = 12
LOW_FRAME = 8  # walker A is found only by a low-score box on this frame (0-based): stage 2 matches it
LOW_SCORE = 0.2  # between association.low_score and high_score


def _frames() -> list[FrameInputs]:
    a = Walker(0, lambda f: (100.0 + 4.0 * f, 200.0))
    b = Walker(1, lambda f: (400.0 - 4.0 * f, 200.0))
    out = []
    for f in range(FRAMES):
        boxes = np.stack([a.box_xyxy(f), b.box_xyxy(f)])
        scores = np.array([LOW_SCORE if f == LOW_FRAME else 0.9, 0.9])
        out.append(FrameInputs(boxes, scores, np.zeros(2, dtype=np.int64), None))
    return out


def _run(traced: bool) -> tuple[list[list[tuple[int, int]]], list[str]]:
    tool = load_tool("stage1_trace")
    tracker = Tracker(load_config(None, overrides=["device=cpu"]), frame_rate=10)
    frames = _frames()
    trace = tool.StageTrace({1})
    if traced:
        trace.attach(tracker.core)
    shown = []
    for frame in frames:
        objects = tracker.update_detections(frame.boxes_xyxy, frame.scores, frame.class_ids, frame_size=(480, 640))
        shown.append([(o.track_id, o.detection_index) for o in objects])
    return shown, trace.lines


def test_the_trace_names_each_matchs_stage_and_changes_no_decision():
    plain, _ = _run(traced=False)
    shown, lines = _run(traced=True)
    assert shown == plain, "tracing changed the tracking"
    low = LOW_FRAME + 1  # the core counts frames from 1
    assert f"f{low} T1 <- d0 (stage 2)" in lines
    assert f"f{low} T1 <- d0 (stage 1)" not in lines
    assert f"f{low + 1} T1 <- d0 (stage 1)" in lines
    assert all(" T2 " not in line and "T2 <-" not in line for line in lines), "a track not asked for was printed"
    candidate = lines[lines.index(next(x for x in lines if x.startswith(f"f{low + 1} T1 state=1"))) + 1]
    assert "d0 " in candidate and "kalman_gate=1" in candidate, candidate


def test_trace_sequence_runs_the_frames_as_track_eval_does():
    """`trace_sequence` over the same frames without images gives the lines `attach` gathers by hand."""
    tool = load_tool("stage1_trace")
    tracker = Tracker(load_config(None, overrides=["device=cpu"]), frame_rate=10)
    frames = _frames()
    lines = tool.trace_sequence(tracker, frames, [None] * len(frames), (480, 640), tool.StageTrace({1}))
    assert lines == _run(traced=True)[1]


def test_trace_sequence_with_images_and_either_compensation():
    """Images given (the sequence has them all): with `motion.camera_compensation: none` there is no estimator and no
    motion, as in `track eval` (it once raised AttributeError there); with `sparse_flow` a still frame estimates none
    either, so both runs give the lines of the image-less run."""
    tool = load_tool("stage1_trace")
    frames = _frames()
    images = [np.full((480, 640, 3), 128, dtype=np.uint8) for _ in frames]
    expected = _run(traced=True)[1]
    for mode in ("none", "sparse_flow"):
        cfg = load_config(None, overrides=["device=cpu", f"motion.camera_compensation={mode}"])
        lines = tool.trace_sequence(Tracker(cfg, frame_rate=10), frames, images, (480, 640), tool.StageTrace({1}))
        assert lines == expected, mode


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (["--ids", "a,b"], "argument --ids: track IDs must be positive integers separated by commas, got 'a,b'"),
        (["--ids", "0"], "argument --ids: track IDs start at 1"),
        (["--ids", "1", "--frames", "x"], "argument --frames: a frame, a range FIRST-LAST or FIRST-"),
        (["--ids", "1", "--frames", "9-3"], "with 1 <= FIRST <= LAST, got '9-3'"),
        (["--ids", "1", "--set", "motion.nope=1"], "unknown config key"),
        (["--ids", "1"], "no such folder"),
        (["--ids", "1", "--frames", "0-"], "with 1 <= FIRST <= LAST, got '0-'"),
    ],
)
def test_bad_arguments_give_one_error_line_not_a_traceback(tmp_path, capsys, args, says):
    """A wrong ID list, frame range, config key or sequence folder: exit 2 with `error: ...` naming what is wrong,
    before any sequence is read (these raised ValueError, ConfigError or FileNotFoundError tracebacks)."""
    tool = load_tool("stage1_trace")
    with pytest.raises(SystemExit) as stop:
        tool.main([str(tmp_path / "no-such-sequence"), *args])
    assert stop.value.code == 2
    err = capsys.readouterr().err
    error_lines = [line for line in err.splitlines() if "error:" in line]
    assert len(error_lines) == 1 and says in error_lines[0], err
    assert "Traceback" not in err


def test_frames_to_the_end_and_a_seqinfo_path_are_understood(tmp_path, capsys):
    """`--frames 3-` read as frame 3 alone; a sequence's seqinfo.ini (as a shell completes the path) was refused
    naming `--data`, an option this tool does not have. Now FIRST- runs to the last frame, and the file's folder is
    the sequence."""
    tool = load_tool("stage1_trace")
    assert tool._frames("3-") == (3, None) and tool._frames("3") == (3, 3) and tool._frames("3-5") == (3, 5)
    with pytest.raises(SystemExit) as stopped:
        tool.main([str(tmp_path / "seq" / "seqinfo.ini"), "--ids", "1"])
    assert stopped.value.code == 2, stopped.value.code  # (a usage error: exit status 2)
    err = capsys.readouterr().err
    assert f"no such folder: {tmp_path / 'seq'}" in err and "--data" not in err, err
