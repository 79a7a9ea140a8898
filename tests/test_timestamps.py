"""A frame's time (`update(..., timestamp=)`): a live stream's outage is advanced, not taken for one frame."""

from __future__ import annotations

import copy
import itertools
import json
import logging
import pickle
import re
import time

import cv2
import numpy as np
import pytest

from tracker import Tracker, TrackerConfig, load_config, stream_clock
from tracker.config import ConfigError
from tracker.gallery import Gallery
from tracker.io import live_clock, sources
from tracker.io.sources import FrameSource, _live_frames
from tracker.run import track_source
from tracker.testing import Walker, linear_path, noise_for_similarity, reid_like_identities, render

RATE = 30.0  # frames/s of the scenes
SIZE = (480, 2000)  # (height, width): wide, so the walker stays in view through a gap
SPEED = 4.0  # px per frame the walker walks to the right


def walker_box(t: float) -> np.ndarray:
    """(1, 4) the walker's box at time `t` seconds (constant speed)."""
    x = 100.0 + SPEED * t * RATE
    return np.array([[x, 200.0, x + 40.0, 300.0]])


def walk(tracker: Tracker, times: list[float], stamped: bool = True) -> list[int | None]:
    """Track the walker at `times` (given as timestamps, or not); each frame's ID (None: not reported)."""
    ids = []
    for t in times:
        out = tracker.update_detections(
            walker_box(t), np.array([0.9]), frame_size=SIZE, timestamp=t if stamped else None
        )
        ids.append(out[0].track_id if out else None)
    return ids


def times_with_gap(before: int, gap_s: float, after: int) -> list[float]:
    """`before` frames at the rate, then `gap_s` seconds with none, then `after` frames."""
    first = [i / RATE for i in range(before)]
    start = first[-1] + gap_s
    return first + [start + i / RATE for i in range(after)]


def test_a_person_walking_through_a_two_second_gap_keeps_their_id_with_timestamps(caplog):
    """2 s without frames: with the times, the tracks are advanced 59 frames (predicted and missed), so the walker
    is looked for where they walked to and keeps ID 1. Without the times (as before), the prediction moved one frame
    while they walked 240 px: a new ID."""
    times = times_with_gap(60, 2.0, 30)
    with caplog.at_level(logging.WARNING, logger="tracker.pipeline"):
        stamped = walk(Tracker(TrackerConfig(), RATE), times)
    assert stamped[60:] == [1] * 30, stamped
    assert "stream gap of 2.0 s before the frame at 3.967 s: tracks advanced 59 frames" in caplog.text
    plain = walk(Tracker(TrackerConfig(), RATE), times, stamped=False)
    assert plain[:60] == [1] * 60
    assert set(plain[62:]) == {2}, plain  # what happens without times: the walker is taken for someone new


def test_gaps_frame_after_frame_are_told_as_a_unit_or_rate_mistake(caplog):
    """Milliseconds given as seconds make every frame a gap of ~33 s: each gap's warning says, from the second gap
    in a row, that the times may not be seconds or the frame rate not the stream's. One outage is told without it."""
    with caplog.at_level(logging.WARNING, logger="tracker.pipeline"):
        walk(Tracker(TrackerConfig(), RATE), [1000.0 * i / RATE for i in range(4)])
    gaps = [r.getMessage() for r in caplog.records if "stream gap" in r.getMessage()]
    assert len(gaps) == 3, gaps
    assert "not milliseconds" not in gaps[0]
    hint = "are the timestamps seconds, not milliseconds, and is the tracker's frame_rate 30"
    assert all(hint in g for g in gaps[1:])
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="tracker.pipeline"):
        times = times_with_gap(5, 2.0, 5)
        walk(Tracker(TrackerConfig(), RATE), times + [times[-1] + 2.0 + i / RATE for i in range(3)])  # two outages
    assert caplog.text.count("stream gap") == 2
    assert "not milliseconds" not in caplog.text


@pytest.mark.parametrize(("min_gap", "jitter"), [(0.0, 0.006), (0.2, 0.012)])
def test_frames_a_frame_apart_give_the_outputs_of_no_timestamps(min_gap, jitter):
    """Times one frame apart advance nothing: the outputs are those without times. With `lifecycle.min_gap_seconds`
    0 a clock's jitter under a quarter frame is rounded away; the default 0.2 s takes more (+-12 ms at 30 frames/s:
    two frames 57 ms apart, rounded to 2 frames at 0)."""
    rng = np.random.default_rng(0)
    times = [i / RATE + rng.uniform(-jitter, jitter) for i in range(90)]
    cfg = load_config(overrides={"lifecycle.min_gap_seconds": min_gap})
    boxes, plain = [], []
    for stamped, into in ((True, boxes), (False, plain)):
        tracker = Tracker(cfg, RATE)
        for i, t in enumerate(times):
            out = tracker.update_detections(
                walker_box(i / RATE), np.array([0.9]), frame_size=SIZE, timestamp=t if stamped else None
            )
            into.append([(o.track_id, *o.xyxy) for o in out])
    assert boxes == plain


def test_a_gap_longer_than_a_lost_track_is_kept_removes_the_tracks(caplog):
    """A 3 s gap, past `max_seconds_lost_motion` (2 s) of a track without looks: the walker's track is removed in the
    gap, and the advance stops stepping once no track is left (the rest only counted)."""
    tracker = Tracker(TrackerConfig(), RATE)
    walk(tracker, [i / RATE for i in range(30)])
    assert len(tracker.core.tracks) == 1
    before = tracker.core.frame_index
    with caplog.at_level(logging.WARNING, logger="tracker.pipeline"):
        tracker.update_detections(np.zeros((0, 4)), np.zeros(0), frame_size=SIZE, timestamp=29 / RATE + 3.0)
    assert tracker.core.tracks == []
    assert tracker.core.frame_index == before + 90  # 89 advanced, then the frame
    assert "tracks advanced 89 frames (61 with a track left)" in caplog.text
    untimed = Tracker(TrackerConfig(), RATE)  # without the time, one frame passed: the track is only lost
    walk(untimed, [i / RATE for i in range(30)], stamped=False)
    untimed.update_detections(np.zeros((0, 4)), np.zeros(0), frame_size=SIZE)
    assert len(untimed.core.tracks) == 1


def test_a_gap_past_max_gap_seconds_is_a_scene_cut_and_ids_go_on(caplog):
    """Above `lifecycle.max_gap_seconds` every track ends at once (nothing stepped) and the next person gets the next
    ID, not 1 again (one stream's outputs never give an ID twice); 1 s, below it, is advanced."""
    cfg = load_config(overrides={"lifecycle.max_gap_seconds": 1.5})
    tracker = Tracker(cfg, RATE)
    walk(tracker, [i / RATE for i in range(30)])
    with caplog.at_level(logging.WARNING, logger="tracker.pipeline"):
        ids = walk(tracker, [29 / RATE + 1.6 + i / RATE for i in range(5)])
    assert ids[2:] == [2] * 3 and 1 not in ids, ids  # (confirmed after `min_seconds_tentative`)
    assert "above lifecycle.max_gap_seconds 1.5: a scene cut, 1 track(s) ended" in caplog.text
    assert tracker.core.frame_index == 30 + 48 + 4  # the cut's frames counted
    near = Tracker(cfg, RATE)
    walk(near, [i / RATE for i in range(30)])
    assert walk(near, [29 / RATE + 1.0 + i / RATE for i in range(5)]) == [1] * 5


@pytest.mark.parametrize("again", [0.0, -0.5])
def test_a_timestamp_that_repeats_or_goes_back_is_refused_and_changes_nothing(again):
    """One ValueError naming both times; the tracker goes on as one that never got the call."""
    tracker = Tracker(TrackerConfig(), RATE)
    walk(tracker, [i / RATE for i in range(20)])
    fork = copy.deepcopy(tracker)
    last = 19 / RATE
    with pytest.raises(ValueError, match=rf"timestamp {last + again:.6f} s .* last frame's {last:.6f} s"):
        tracker.update_detections(walker_box(last + 2.0), np.array([0.9]), frame_size=SIZE, timestamp=last + again)
    assert tracker.core.frame_index == fork.core.frame_index
    later = [last + 2.0 + i / RATE for i in range(10)]
    assert walk(tracker, later) == walk(fork, later)


@pytest.mark.parametrize(("last", "far"), [(-1e308, 1e308), (0.0, 1e18)])
def test_two_times_too_far_apart_for_the_frames_between_to_be_counted_are_refused_and_change_nothing(last, far):
    """Finite times ~2e308 s apart (an infinite gap) or a gap of more frames than int64 counts: one ValueError naming
    both times, not a bare OverflowError; the tracker goes on as one that never got the call."""
    tracker = Tracker(TrackerConfig(), RATE)
    box = walker_box(0.0)
    tracker.update_detections(box, np.array([0.9]), frame_size=SIZE, timestamp=last)
    fork = copy.deepcopy(tracker)
    refused = re.escape(f"timestamp {far:g} s is too far after the last frame's {last:g} s")
    for _ in range(2):  # (the second time the same: the last frame's time did not move)
        with pytest.raises(ValueError, match=refused):
            tracker.update_detections(box, np.array([0.9]), frame_size=SIZE, timestamp=far)
    assert tracker.core.frame_index == fork.core.frame_index
    if last == 0.0:  # (after -1e308, no later float is a countable gap: nothing to go on with)
        later = [last + 2.0 + i / RATE for i in range(10)]
        assert walk(tracker, later) == walk(fork, later)


def test_a_timestamp_that_is_not_a_time_is_refused():
    tracker = Tracker(TrackerConfig(), RATE)
    with pytest.raises(TypeError, match="timestamp must be the frame's time in seconds as a float"):
        tracker.update_detections(walker_box(0.0), np.array([0.9]), timestamp="12:00")
    for endless in (float("nan"), 10**400):  # (an int beyond any float: no OverflowError that names nothing)
        with pytest.raises(ValueError, match="timestamp must be a finite number of seconds"):
            tracker.update_detections(walker_box(0.0), np.array([0.9]), timestamp=endless)
    assert tracker.core.frame_index == 0


def test_min_gap_seconds_above_max_gap_seconds_is_refused():
    with pytest.raises(ConfigError, match="min_gap_seconds"):
        load_config(overrides={"lifecycle.min_gap_seconds": 5.0, "lifecycle.max_gap_seconds": 2.0})


# ------------------------------------------------------------------------------------- frames: update, stream, CMC
def frame_of(t: float, pan: float = 0.0) -> np.ndarray:
    """A textured scene panned by `pan` px, with the walker as a white box at time `t`."""
    texture = np.random.default_rng(7).integers(0, 200, (SIZE[0], SIZE[1] + 200), dtype=np.uint8)
    shift = round(pan)
    image = np.repeat(texture[:, shift : shift + SIZE[1], None], 3, axis=2).copy()
    x1, y1, x2, y2 = walker_box(t)[0].astype(int)
    image[y1:y2, x1:x2] = 255
    return image


def white_box_detector(frame: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The white box of `frame_of`."""
    ys, xs = np.nonzero((frame == 255).all(axis=2))
    if not len(xs):
        return np.zeros((0, 4)), np.zeros(0), np.zeros(0, dtype=np.int64)
    return np.array([[xs.min(), ys.min(), xs.max() + 1, ys.max() + 1]], float), np.array([0.9]), np.zeros(1, int)


def test_stream_takes_timestamps_in_step_with_its_frames(caplog):
    times = times_with_gap(30, 2.0, 10)
    tracker = Tracker(TrackerConfig(), RATE, detector=white_box_detector)
    with caplog.at_level(logging.WARNING, logger="tracker.pipeline"):
        ids = [[o.track_id for o in out] for out in tracker.stream((frame_of(t) for t in times), timestamps=times)]
    assert ids[30:] == [[1]] * 10
    assert "tracks advanced 59 frames" in caplog.text
    short = Tracker(TrackerConfig(), RATE, detector=white_box_detector).stream(
        [frame_of(t) for t in times[:3]], detect_ahead=False, timestamps=times[:2]
    )
    with pytest.raises(ValueError, match="timestamps ended before frame 2"):
        list(short)
    for single in (0.5, np.float64(0.5), np.array(0.5)):  # one time (numpy's too), not one per frame
        one = Tracker(TrackerConfig(), RATE, detector=white_box_detector).stream([frame_of(0.0)], timestamps=single)
        with pytest.raises(ValueError, match="timestamps must be an iterable of times in seconds"):
            next(one)


def test_the_camera_motion_across_a_gap_is_not_estimated_but_counted_as_a_fallback():
    """A pan of 4 px a frame: estimated between consecutive frames; across a 2 s gap (the camera panned 240 px) the
    estimate is skipped (no motion applied) and counted in `camera_motion_failures`."""
    cfg = load_config(overrides={"motion.camera_compensation": "sparse_flow"})
    tracker = Tracker(cfg, RATE, detector=white_box_detector)
    calls = []
    estimator = tracker.camera_motion
    estimate = estimator.estimate
    estimator.estimate = lambda frame, boxes=None: calls.append(1) or estimate(frame, boxes)
    for i in range(10):
        tracker.update(frame_of(i / RATE, pan=i * 0.5), timestamp=i / RATE)
    assert tracker.camera_motion_failures == 0 and len(calls) == 10
    tracker.update(frame_of(9 / RATE + 2.0, pan=35.0), timestamp=9 / RATE + 2.0)
    assert tracker.camera_motion_failures == 1 and len(calls) == 10
    assert estimator.estimates == 10  # 9 estimated, and the one skipped
    tracker.update(frame_of(10 / RATE + 2.0, pan=35.5), timestamp=10 / RATE + 2.0)
    assert tracker.camera_motion_failures == 1 and len(calls) == 11


# ------------------------------------------------------------------------------------------------ the CLI's live path
def test_track_passes_a_live_streams_frame_times_to_the_tracker(tmp_path):
    """`track` of a live source hands each frame's `FrameSource.frame_time` to the tracker: a 2 s outage is
    advanced (the walker keeps one ID); a video file's frames stay consecutive."""
    times = times_with_gap(30, 2.0, 20)

    def frames(src: FrameSource):
        for number, t in enumerate(times, start=1):
            src.frame_time = t
            yield number, frame_of(t)

    results = {}
    for live in (True, False):
        source = FrameSource("cam", "stream" if live else "video", RATE, None, live=live, _frames=frames)
        tracker = Tracker(TrackerConfig(), RATE, detector=white_box_detector)
        summary = track_source(tracker, source, tmp_path / str(live), save_video=False, progress=False)
        results[live] = (summary.tracks, tracker.core.frame_index)
    assert results[True] == ({1}, len(times) + 59)
    assert results[False][1] == len(times) and len(results[False][0]) == 2


class _Capture:
    """A stand-in for a live `cv2.VideoCapture`: its frames' `CAP_PROP_POS_MSEC`, each read taking `waits` seconds
    of a fake monotonic clock."""

    def __init__(self, positions: list[float], waits: list[float], clock: list[float]) -> None:
        self.positions, self.waits, self.clock, self.at = positions, waits, clock, -1

    def isOpened(self) -> bool:  # OpenCV's name
        return True

    def read(self) -> tuple[bool, np.ndarray | None]:
        self.at += 1
        if self.at >= len(self.positions):
            raise KeyboardInterrupt  # (the end of the test's stream)
        self.clock[0] += self.waits[self.at]
        return True, np.zeros((4, 4, 3), np.uint8)

    def get(self, prop: int) -> float:
        assert prop == cv2.CAP_PROP_POS_MSEC
        return self.positions[self.at]

    def release(self) -> None:
        pass


def live_times(monkeypatch, positions: list[float], waits: list[float]) -> list[float]:
    clock = [100.0]
    monkeypatch.setattr(live_clock.time, "monotonic", lambda: clock[0])
    source = FrameSource("cam", "stream", None, None, live=True)
    reader = _live_frames(0, "cam", _Capture(positions, waits, clock))(source)
    times = []
    with pytest.raises(KeyboardInterrupt):
        for _ in reader:
            times.append(source.frame_time)
    return times


def test_a_live_streams_times_are_its_presentation_times_where_plausible(monkeypatch):
    """The stream's own times tell a stall (and frames it dropped) whatever the waits; a tracker slower than the
    stream (no wait: frames buffered) does not make gaps."""
    times = live_times(monkeypatch, [0.0, 40.0, 80.0, 5080.0, 5120.0], [0.0, 0.0, 0.0, 0.0, 0.0])
    assert times == pytest.approx([0.0, 0.04, 0.08, 5.08, 5.12])


def test_a_live_stream_without_presentation_times_is_timed_by_the_waits_for_its_frames(monkeypatch):
    """A webcam whose backend gives no time (0 always): the time waited for each frame, a stall of 5 s included."""
    times = live_times(monkeypatch, [0.0] * 5, [0.01, 0.04, 0.04, 5.0, 0.0])
    assert times[1:] == pytest.approx([0.04, 0.08, 5.08, 5.08], abs=1e-9)
    assert all(b > a for a, b in itertools.pairwise(times))  # strictly later, a wait of 0 too


def test_a_scene_cut_stores_the_people_in_the_gallery_and_recognises_them_after_it():
    """The cut ends every track as one lost too long: its identity goes to the gallery, so the three people seen
    before a cut get new track IDs after it but their global IDs back."""
    identities = reid_like_identities(3, 512)
    walkers = [Walker(i, linear_path(150 + 300 * i, 300, 1, 0)) for i in range(3)]
    cfg = load_config(overrides={"device": "cpu", "lifecycle.max_gap_seconds": 1.5})
    tracker = Tracker(cfg, 10.0, gallery=Gallery(cfg.gallery))
    rng = np.random.default_rng(0)

    def seen(frames: range, start: float) -> dict[int, tuple[int, int | None]]:
        people = {}
        for f in frames:
            det = render(walkers, f, identities, noise_for_similarity(0.85, 512), rng)
            out = tracker.update_detections(
                det.boxes_xyxy, det.scores, embeddings=det.embeddings, timestamp=start + f / 10
            )
            people.update({int(det.identities[o.detection_index]): (o.track_id, o.global_id) for o in out})
        return people

    before = seen(range(20), 0.0)
    after = seen(range(20, 40), 2.0)
    assert sorted(i for i, _ in before.values()) == [1, 2, 3]
    assert sorted(i for i, _ in after.values()) == [4, 5, 6]
    assert {p: g for p, (_, g) in after.items()} == {p: g for p, (_, g) in before.items()}


def test_a_scene_cut_stopped_part_way_ends_the_rest_when_its_frame_is_given_again(caplog):
    """Ctrl-C while a cut stores the second of three people: the log says so, and the frame given again ends the
    other two, so each identity is stored once, the cut is counted once, and the three get their global IDs back after
    it as in an uninterrupted run. Before, the cut counted as done: the two stayed live (frame index past the gap, no
    gap left when the frame came again), one of them took a person after the cut, and they were stored later again."""
    identities = reid_like_identities(3, 512)
    walkers = [Walker(i, linear_path(150 + 300 * i, 300, 1, 0)) for i in range(3)]
    cfg = load_config(overrides={"device": "cpu", "lifecycle.max_gap_seconds": 1.5})

    def run(interrupt: bool) -> tuple[dict[int, tuple[int, int | None]], list[int], int, tuple]:
        tracker = Tracker(cfg, 10.0, gallery=Gallery(cfg.gallery))
        rng = np.random.default_rng(0)
        add, stored = tracker.gallery.add, []

        def counted(global_id, *args, **kwargs):
            if interrupt and len(stored) == 1:
                interrupt_once.append(1)
                if len(interrupt_once) == 1:
                    raise KeyboardInterrupt
            stored.append(global_id)
            return add(global_id, *args, **kwargs)

        interrupt_once: list[int] = []
        tracker.gallery.add = counted
        people = {}
        for f in range(40):
            det = render(walkers, f, identities, noise_for_similarity(0.85, 512), rng)
            args = (det.boxes_xyxy, det.scores)
            when = (0.0 if f < 20 else 2.0) + f / 10
            if f == 20 and interrupt:
                with pytest.raises(KeyboardInterrupt), caplog.at_level(logging.WARNING, logger="tracker.pipeline"):
                    tracker.update_detections(*args, embeddings=det.embeddings, timestamp=when)
            out = tracker.update_detections(*args, embeddings=det.embeddings, timestamp=when)
            people.update({int(det.identities[o.detection_index]): (o.track_id, o.global_id) for o in out})
        return people, sorted(stored), tracker.core.frame_index, tracker.time_gaps

    straight = run(False)
    assert sorted(i for i, _ in straight[0].values()) == [4, 5, 6]
    again = run(True)
    assert again[:3] == straight[:3]
    assert again[1] == [1, 2, 3]  # each identity stored once, at the cut
    assert again[3].cuts == straight[3].cuts == 1
    assert "scene cut before the frame at 4.000 s stopped part-way: 1 of 3 track(s) ended" in caplog.text


def test_a_frame_that_fails_after_a_gap_is_given_again_as_the_next_frame():
    """The gap stays advanced when its frame fails (an `embed` raising): given again with the same time, the frame is
    tracked once, not after a second advance; `reset()` starts a new clock (an earlier time is then no error)."""
    tracker = Tracker(TrackerConfig(), RATE)
    walk(tracker, [i / RATE for i in range(20)])
    late = 19 / RATE + 2.0

    def failing(rows):
        raise RuntimeError("out of memory")

    with pytest.raises(RuntimeError, match="out of memory"):
        tracker.update_detections(walker_box(late), np.array([0.9]), frame_size=SIZE, embed=failing, timestamp=late)
    assert tracker.core.frame_index == 20 + 59
    assert walk(tracker, [late]) == [1]
    assert tracker.core.frame_index == 20 + 59 + 1
    tracker.reset()
    assert walk(tracker, [0.0, 1 / RATE]) == [1, 1]


def test_a_time_after_frames_without_one_is_refused_only_before_the_last_time_given():
    """A frame without a time is taken one frame after the one before; a time given next that is earlier than that
    guess but later than the last time given (a source a little faster than the tracker's rate) is the next frame,
    not a clock that went back: the user never gave the time it "goes back from"."""
    tracker = Tracker(TrackerConfig(), RATE)
    ids = []
    for i, t in enumerate([0.0, None, None, 0.06, 0.09]):
        out = tracker.update_detections(walker_box(i / RATE), np.array([0.9]), frame_size=SIZE, timestamp=t)
        ids.append(out[0].track_id if out else None)
    assert tracker.core.frame_index == 5  # nothing advanced
    assert ids[-1] == 1
    with pytest.raises(ValueError, match=r"timestamp 0\.090000 s repeats the last frame's 0\.090000 s"):
        tracker.update_detections(walker_box(0.2), np.array([0.9]), frame_size=SIZE, timestamp=0.09)
    tracker.update_detections(walker_box(0.2), np.array([0.9]), frame_size=SIZE, timestamp=None)
    with pytest.raises(ValueError, match=r"timestamp 0\.050000 s goes back from the last frame's 0\.090000 s"):
        tracker.update_detections(walker_box(0.2), np.array([0.9]), frame_size=SIZE, timestamp=0.05)


def test_a_scene_cut_dates_the_identities_it_stores_before_the_gap():
    """The people a cut ends were last seen before the gap: the gallery dates their last sighting the gap's hour
    ago, not at the end of the gap (it said "just now" after an hour's outage); its frame is the last one matched."""
    identities = reid_like_identities(1, 512)
    walkers = [Walker(0, linear_path(300, 300, 1, 0))]
    cfg = load_config(overrides={"device": "cpu"})
    tracker = Tracker(cfg, 10.0, gallery=Gallery(cfg.gallery))
    rng = np.random.default_rng(0)
    for f in range(20):
        det = render(walkers, f, identities, noise_for_similarity(0.85, 512), rng)
        tracker.update_detections(det.boxes_xyxy, det.scores, embeddings=det.embeddings, timestamp=f / 10)
    hour = 3600.0
    now = time.time()
    tracker.update_detections(np.zeros((0, 4)), np.zeros(0), embeddings=np.zeros((0, 512)), timestamp=1.9 + hour)
    (stored,) = tracker.gallery.identities
    assert stored.last_seen.frame == 20  # the frame it was last matched on (1-based)
    assert now - stored.last_seen.time == pytest.approx(hour, abs=60.0)
    assert stored.last_seen.time - stored.first_seen.time == pytest.approx(1.9, abs=0.2)


class _Reconnecting(_Capture):
    """A `_Capture` of the walker's frames from `start` seconds on (the frames `frame_of` draws), ending with a drop."""

    def __init__(self, positions: list[float], waits: list[float], clock: list[float], start: float) -> None:
        super().__init__(positions, waits, clock)
        self.start = start

    def read(self) -> tuple[bool, np.ndarray | None]:
        if self.at + 1 >= len(self.positions):
            return False, None  # (the stream drops: `_live_frames` reopens it)
        super().read()
        return True, frame_of(self.start + self.at / RATE)


def test_a_live_stream_whose_clock_restarts_on_a_reconnect_is_tracked_on_through_the_outage(monkeypatch, tmp_path):
    """`track` of a live stream that drops for 2 s and comes back with its presentation times reset to 0 (then NaN,
    negative, and back to 0 within the capture): the times the tracker gets still only grow (no ValueError
    mid-stream), the outage is advanced and the walker keeps one ID."""
    clock = [100.0]
    monkeypatch.setattr(live_clock.time, "monotonic", lambda: clock[0])
    before = _Reconnecting([i * 1000.0 / RATE for i in range(30)], [1 / RATE] * 30, clock, 0.0)
    after_ms = [0.0, float("nan"), -5.0, 1000.0, 0.0] + [i * 1000.0 / RATE for i in range(1, 16)]  # (back at 0)
    after = _Reconnecting(after_ms, [2.0] + [1 / RATE] * 19, clock, 29 / RATE + 2.0)
    monkeypatch.setattr(sources, "_open_capture", lambda target: after)
    monkeypatch.setattr(sources, "_wait", lambda seconds, should_stop: False)
    source = FrameSource("cam", "stream", RATE, None, live=True, _frames=_live_frames(0, "cam", before))
    tracker = Tracker(TrackerConfig(), RATE, detector=white_box_detector)
    summary = track_source(tracker, source, tmp_path, save_video=False, progress=False, max_frames=50)
    assert summary.tracks == {1}
    assert tracker.core.frame_index == 50 + 59  # the 2 s outage advanced


def test_a_frame_that_fails_after_a_gap_keeps_the_camera_motion_auto_held_back():
    """`auto` holds back sub-noise motion; the frame after a gap releases it (its own estimate skipped). When that
    frame fails (its step raises) and is given again, the tracker goes on exactly as if it had not failed: the held
    motion released with it, not dropped, and its estimate skipped again (counted once), not made from itself."""
    cfg = load_config(overrides={"motion.camera_compensation": "auto"})
    after = 19 / RATE + 1.0
    times = [i / RATE for i in range(20)] + [after + i / RATE for i in range(5)]
    pans = [i * 0.1 for i in range(20)] + [(49 + i) * 0.1 for i in range(5)]

    def run(fail: bool) -> tuple[list, int, int]:
        tracker = Tracker(cfg, RATE, detector=white_box_detector)
        outputs = []
        for t, pan in zip(times, pans, strict=True):
            frame = frame_of(t, pan)
            if fail and t == after:
                step = tracker.core.step

                def failing(dets, *args, step=step, **kwargs):  # (the gap's empty steps run; the frame's fails)
                    if len(dets.boxes_xyxy):
                        raise RuntimeError("out of memory")
                    return step(dets, *args, **kwargs)

                tracker.core.step = failing
                with pytest.raises(RuntimeError, match="out of memory"):
                    tracker.update(frame, timestamp=t)
                tracker.core.step = step
            outputs.append([(o.track_id, *o.xyxy) for o in tracker.update(frame, timestamp=t)])
        estimator = tracker.camera_motion
        return outputs, estimator.estimates, estimator.failures

    plain = run(False)
    assert plain[1:] == (24, 1)
    assert run(True) == plain


def test_calls_between_the_frames_of_a_paused_stream_are_refused_and_change_nothing():
    """Between two frames of a `stream`, `update` detected while the stream's thread detected its next frame (one
    detector in two threads at once) and tracked its frame among the stream's: its later time then ended the stream
    with "goes back from". Now it, `update_detections`, `reset` and a second `stream` are one RuntimeError saying to
    close the stream, nothing changed; a copy taken meanwhile is free, and once the stream ends the tracker is too."""
    times = [i / RATE for i in range(10)]
    tracker = Tracker(TrackerConfig(), RATE, detector=white_box_detector)
    frames = [frame_of(t) for t in times]
    stream = tracker.stream(frames, timestamps=times)
    ids = [[o.track_id for o in next(stream)]]
    refused = r"Tracker\.{} called while a stream\(\) of this tracker is open .* close the stream first"
    calls = {
        "update": lambda: tracker.update(frame_of(5.0), timestamp=5.0),
        "update_detections": lambda: tracker.update_detections(walker_box(5.0), np.array([0.9]), timestamp=5.0),
        "reset": tracker.reset,
        "stream": lambda: next(tracker.stream([frame_of(5.0)])),
    }
    for name, call in calls.items():
        with pytest.raises(RuntimeError, match=refused.format(name)):
            call()
    assert tracker.core.frame_index == 1
    fork = copy.deepcopy(tracker)  # (a service's checkpoint between frames: allowed, and the copy is free)
    assert [o.track_id for o in fork.update(frames[1], timestamp=times[1])] == [1]
    ids += [[o.track_id for o in out] for out in stream]
    assert ids == [[1]] * 10
    assert [o.track_id for o in tracker.update(frame_of(0.4), timestamp=0.4)] == [1]  # (the stream ended)
    closed = tracker.stream([frame_of(0.5), frame_of(0.6)], timestamps=[0.5, 0.6])
    next(closed)
    closed.close()
    tracker.reset()  # (closed early: the tracker takes calls again)


def gallery_walker(timestamps: list[float | None], rate: float = 10.0) -> tuple[Tracker, float]:
    """A tracker with a gallery after one person walked through frames at `timestamps` (None: no time given), and
    the Unix time before its first frame."""
    identities = reid_like_identities(1, 512)
    walkers = [Walker(0, linear_path(300, 300, 1, 0))]
    cfg = load_config(overrides={"device": "cpu"})
    tracker = Tracker(cfg, rate, gallery=Gallery(cfg.gallery))
    rng = np.random.default_rng(0)
    start = time.time()
    for f, t in enumerate(timestamps):
        det = render(walkers, f, identities, noise_for_similarity(0.85, 512), rng)
        tracker.update_detections(det.boxes_xyxy, det.scores, embeddings=det.embeddings, timestamp=t)
    return tracker, start


def test_a_track_removed_in_an_advanced_gap_is_dated_by_the_time_of_the_frame_after_it():
    """A 30 s outage (under `max_gap_seconds`: advanced) removes the person's track 10 s into it
    (`max_seconds_lost`): its last sighting is 30 s before the frame that came after the outage, not 10 s (it was
    dated from the step that removed it, as if that step were now)."""
    tracker, _ = gallery_walker([f / 10 for f in range(20)])
    now = time.time()
    tracker.update_detections(np.zeros((0, 4)), np.zeros(0), embeddings=np.zeros((0, 512)), timestamp=1.9 + 30.0)
    (stored,) = tracker.gallery.identities
    assert stored.last_seen.frame == 20
    assert now - stored.last_seen.time == pytest.approx(30.0, abs=1.0)
    assert stored.last_seen.time - stored.first_seen.time == pytest.approx(1.9, abs=1e-3)


def test_sightings_are_dated_by_the_frames_times_not_their_count():
    """A 15 frames/s camera tracked at 30 (its frames 67 ms apart, each the next frame): 600 frames are 40 s, not the
    20 s their count says at 30 frames/s. The identity `reset()` stores spans 39.93 s, its first frame's time kept
    while the frames no live track needs are dropped; without times it spans the frames' count, as before."""
    frames = 600
    timed, _ = gallery_walker([f / 15 for f in range(frames)], rate=30.0)
    assert len(timed.core.gallery_link.times.seen) <= stream_clock.FRAME_TIMES_KEPT
    untimed, _ = gallery_walker([None] * frames, rate=30.0)
    spans = []
    for tracker in (timed, untimed):
        tracker.reset()
        (stored,) = tracker.gallery.identities
        spans.append(stored.last_seen.time - stored.first_seen.time)
    assert spans == pytest.approx([(frames - 1) / 15, (frames - 1) / 30], abs=1e-3)


def test_the_gaps_passed_are_counted_for_the_api_and_in_tracks_summary(tmp_path):
    """`Tracker.time_gaps` counts the gaps advanced, their frames, the scene cuts and the seconds without frames
    (`reset()` starts again); `track` of a live stream with a 2 s stall gives them in its printed summary and in
    summary.json's `time_gaps` (they were only in the log); a video file's summary has none."""
    cfg = load_config(overrides={"lifecycle.max_gap_seconds": 1.5})
    tracker = Tracker(cfg, RATE)
    assert tracker.time_gaps == (0, 0, 0, 0.0)
    walk(tracker, times_with_gap(10, 1.0, 10))  # advanced: 29 frames
    walk(tracker, [tracker._clock.last + 2.0])  # a cut: 59 frames
    assert tracker.time_gaps == (1, 29 + 59, 1, pytest.approx(3.0))
    tracker.reset()
    assert tracker.time_gaps == (0, 0, 0, 0.0)

    times = times_with_gap(30, 2.0, 20)

    def frames(src: FrameSource):
        for number, t in enumerate(times, start=1):
            src.frame_time = t
            yield number, frame_of(t)

    for live in (True, False):
        source = FrameSource("cam", "stream" if live else "video", RATE, None, live=live, _frames=frames)
        tracker = Tracker(TrackerConfig(), RATE, detector=white_box_detector)
        out = tmp_path / str(live)
        summary = track_source(tracker, source, out, save_video=False, progress=False)
        written = json.loads((out / "summary.json").read_text())
        if live:
            assert written["time_gaps"] == {"advanced": 1, "frames": 59, "scene_cuts": 0, "seconds": 2.0}
            said = "gaps in the frames' times: 1 gap advanced, 59 frames with no detections, 2.0 s without frames"
            assert said in summary.describe()
        else:
            assert "time_gaps" not in written and "gaps in the frames' times" not in summary.describe()


def test_a_restored_tracker_whose_clock_restarted_goes_on_after_rebase_clock():
    """A service pickles its tracker at monotonic 5000 s and restores it after a reboot (the clock back near 0): the
    next time is refused with a ValueError naming `rebase_clock()` (before, its only advice was `reset()`, which forgets
    the tracks), nothing changed; after `rebase_clock()` the next frame is the next frame, the walker keeps its ID
    and the frames after it are timed on the new clock (a 2 s stall advanced)."""
    tracker = Tracker(TrackerConfig(), RATE)
    for i in range(20):
        tracker.update_detections(walker_box(i / RATE), np.array([0.9]), frame_size=SIZE, timestamp=5000.0 + i / RATE)
    restored = pickle.loads(pickle.dumps(tracker))
    frames = restored.core.frame_index
    restart = 3.0
    box = walker_box(20 / RATE)
    with pytest.raises(ValueError, match=r"goes back from the last frame's 5000\.633333 s: .* rebase_clock\(\) first"):
        restored.update_detections(box, np.array([0.9]), frame_size=SIZE, timestamp=restart)
    assert restored.core.frame_index == frames
    restored.rebase_clock()
    out = restored.update_detections(box, np.array([0.9]), frame_size=SIZE, timestamp=restart)
    assert [o.track_id for o in out] == [1] and restored.core.frame_index == frames + 1
    later = restart + 2.0
    out = restored.update_detections(walker_box(21 / RATE + 2.0), np.array([0.9]), frame_size=SIZE, timestamp=later)
    assert [o.track_id for o in out] == [1] and restored.core.frame_index == frames + 1 + 60
    assert restored.time_gaps[:3] == (1, 59, 0)


def test_a_tracker_pickled_before_frame_times_dated_sightings_restores_and_dates_them_by_frames():
    """A checkpoint whose gallery link holds no frame times (pickled before they were kept) restores with none: its
    identities are stored dated by frames, and the frames after it are timed again."""
    tracker, _ = gallery_walker([f / 10 for f in range(20)])
    del tracker.core.gallery_link.times  # (the link's state as pickled before)
    restored = pickle.loads(pickle.dumps(tracker))
    assert restored.core.gallery_link.times.seen == {}
    restored.reset()
    (stored,) = restored.gallery.identities
    assert stored.last_seen.time - stored.first_seen.time == pytest.approx(19 / 10, abs=1e-3)


@pytest.mark.parametrize("done", [9, 56])
def test_a_gap_whose_advance_is_interrupted_advances_the_rest_when_its_frame_is_given_again(done):
    """Ctrl-C 9 frames into a 2 s gap's advance (59 frames): the frame given again advances the other 50, so the walker
    keeps ID 1 and the tracker is where an uninterrupted one is. Before, the clock took the whole gap as advanced: the
    frame came 9 frames after the last match, the walker 240 px on, and got ID 2. Also 56 frames in: the rest, 3
    frames (0.13 s), is shorter than `min_gap_seconds` but still the gap's (it was taken for the next frame: 3 frames
    short, and the gap not counted)."""
    times = times_with_gap(30, 2.0, 10)

    def run(interrupt: bool) -> tuple[list[int | None], int, tuple]:
        tracker = Tracker(TrackerConfig(), RATE)
        ids = walk(tracker, times[:30])
        if interrupt:
            step, steps = tracker.core.step, []

            def interrupted(dets, *args, **kwargs):
                steps.append(1)
                if len(steps) == done + 1:
                    raise KeyboardInterrupt
                return step(dets, *args, **kwargs)

            tracker.core.step = interrupted
            with pytest.raises(KeyboardInterrupt):
                walk(tracker, times[30:31])
            assert tracker.core.frame_index == 30 + done
            tracker.core.step = step
        ids += walk(tracker, times[30:])
        return ids, tracker.core.frame_index, tracker.time_gaps

    straight = run(False)
    assert straight[0] == [1] * 40 and straight[1] == 30 + 59 + 10
    again = run(True)
    assert again[:2] == straight[:2]
    assert again[2] == (1, 59, 0, pytest.approx(2.0))


def test_a_time_earlier_than_the_guess_for_frames_without_one_does_not_date_the_frame_back():
    """A frame without a time is guessed one frame after the one before; a time given next that is earlier than that
    guess (but later than the last time given) is the next frame, so its stream time is one frame after the frame
    before, not back before the frames without times: the stream time only goes forward, and an identity seen in
    all 14 frames spans 1.3 s (it spanned 0.25 s, frame 12 dated 0.95 s before frame 11)."""
    tracker, _ = gallery_walker([0.0] + [None] * 10 + [0.05, 0.15, 0.25])
    seen = tracker.core.gallery_link.times.seen
    times = [seen[frame] for frame in sorted(seen)]
    assert times == sorted(times) and len(set(times)) == len(times), times
    tracker.reset()
    (stored,) = tracker.gallery.identities
    assert (stored.first_seen.frame, stored.last_seen.frame) == (1, 14)
    assert stored.last_seen.time - stored.first_seen.time == pytest.approx(1.3, abs=1e-6)
