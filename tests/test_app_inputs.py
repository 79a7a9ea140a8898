"""What an application embedding the tracker hands it by mistake: each is one clear error naming the argument and
what was expected (and the tracker as before the call), or, where it carries no information, is taken.

Found by driving the library as a new user would (check31): frames of the wrong kind, `None` for an array, an
empty frame's ReID output of another shape, configs made in Python with `dataclasses.replace` (which skip
`load_config`'s checks), `load_config(overrides="...")` with one string, `Tracker.from_config({...})`, and a gallery
given to a motion-only tracker. No model runs here: the detector is scripted."""

from __future__ import annotations

import dataclasses
import datetime
import logging
import time
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import numpy as np
import PIL.Image
import pytest
import torch

from tracker import ConfigError, Tracker, load_config
from tracker.gallery import Gallery
from tracker.testing import identity_embeddings

FPS = 30
BOXES = np.array([[100, 100, 150, 250], [400, 120, 450, 260.0]])
SCORES = np.array([0.9, 0.8])
FRAME = np.zeros((480, 640, 3), np.uint8)


def scripted_tracker() -> Tracker:
    """A motion-only Tracker whose detector sees the same two people, a little further right, on every frame."""
    calls = iter(range(1000))

    def detector(frame: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        return BOXES + 3 * next(calls), SCORES, np.zeros(2, np.int64)

    return Tracker(load_config(None, ["device=cpu", "reid.model=none"]), frame_rate=FPS, detector=detector)


def outputs(tracker: Tracker, frames: int) -> list[list[tuple[int, tuple[float, ...]]]]:
    return [[(o.track_id, tuple(np.round(o.xyxy, 3))) for o in tracker.update(FRAME)] for _ in range(frames)]


@pytest.mark.parametrize(
    ("frame", "expected"),
    [
        (FRAME.astype(np.float32) / 255, r"uint8 .*got float32 \(\(frame \* 255\)\.astype\(np\.uint8\) for floats in"),
        (FRAME.astype(np.uint16) * 257, r"uint8 .*got uint16 \(\(frame // 257\)\.astype\(np\.uint8\) for 16 bits"),
        (FRAME.astype(np.int64), r"uint8 .*got int64 \(.* frame\.astype\(np\.uint8\) for values in \[0, 255\]\)"),
        (np.zeros((3, 480, 640), np.uint8), r"got \(3, 480, 640\) \(channels first\? frame\.transpose\(1, 2, 0\)\)"),
        (None, r"got NoneType \(cv2 reads None at the end of a video or on a failed read\)"),
        (torch.zeros(480, 640, 3, dtype=torch.uint8), r"numpy uint8 array .*got Tensor \(a torch tensor: .cpu"),
        (np.zeros((480, 640, 5), np.uint8), r"\(H, W, 3\) BGR, \(H, W\) or \(H, W, 1\) gray, or \(H, W, 4\) BGRA"),
        (np.zeros((0, 640), np.uint8), r"frame is empty: shape \(0, 640\)"),
        (np.zeros((480, 0, 3), np.uint8), r"frame is empty: shape \(480, 0, 3\)"),
        (PIL.Image.new("RGB", (64, 48)), r"got Image \(np\.asarray\(frame\) first; PIL and imageio give RGB: "),
        ((True, FRAME), r"got tuple \(cap\.read\(\) returns \(ok, frame\): ok, frame = cap\.read\(\), then give"),
        ((False, None), r"got tuple \(cap\.read\(\) returns \(ok, frame\)"),
        ([FRAME, FRAME], r"got list \(several frames\? update takes one; stream\(frames\) takes an iterable"),
        # these got no hint, or one for 16-bit data (`frame // 257` of an 8-bit frame gives a black one)
        (FRAME.astype(np.int8), r"got int8 \(frame\.view\(np\.uint8\): its bytes as unsigned pixels\)$"),
        (FRAME > 0, r"got bool \(a mask\? frame\.astype\(np\.uint8\) \* 255\)$"),
        (FRAME[None], r"got \(1, 480, 640, 3\) \(a batch of one frame\? frame\[0\]\)$"),
        (np.stack([FRAME] * 2), r"got \(2, 480, 640, 3\) \(several frames\? update takes one; stream\(frames\) "),
        # a DataLoader's (N, C, H, W) batch got no hint
        (
            FRAME.transpose(2, 0, 1)[None],
            r"got \(1, 3, 480, 640\) \(a batch of one frame\? frame\[0\]\.transpose\(1, 2, 0\)\)$",
        ),
        (np.stack([FRAME.transpose(2, 0, 1)] * 2), r"got \(2, 3, 480, 640\) \(several frames\? update takes one; "),
        # BoxMOT's `tracker.update(dets, img)`: (N, 6) detection rows were told "frame must be uint8 ... got float32
        # ((frame * 255).astype(np.uint8) ...)", a conversion that made them a 2x6 picture
        (
            np.hstack([BOXES, SCORES[:, None], np.zeros((2, 1))]).astype(np.float32),
            r"got float32 \(detection rows\? update\(frame\) runs the detector: for \(x1, y1, x2, y2, score, class\) "
            r"rows \(BoxMOT's update\(dets, img\)\), tracker\.update_detections\(dets\[:, :4\], dets\[:, 4\], "
            r"dets\[:, 5\], frame_size=img\.shape\[:2\]\)\)$",
        ),
        (np.zeros((0, 6)), r"got float64 \(detection rows\? update\(frame\) runs the detector: "),
    ],
)
def test_a_frame_update_cannot_take_says_what_it_takes_and_changes_nothing(frame, expected):
    """A (H, W, 5) frame was told "must have shape (H, W, 3)" though gray and BGRA are taken, an empty one (a failed
    read) the same, and a float one, a 16-bit one or a tensor got no hint of the conversion."""
    tracker, reference = scripted_tracker(), scripted_tracker()
    before = outputs(tracker, 4)
    assert before == outputs(reference, 4)
    with pytest.raises(ValueError, match=expected):
        tracker.update(frame)
    assert outputs(tracker, 3) == outputs(reference, 3)  # the refused frame neither detected nor tracked


@pytest.mark.filterwarnings("ignore:the matrix subclass:PendingDeprecationWarning")  # the user's np.matrix, not ours
def test_a_gray_frame_given_as_a_numpy_matrix_is_tracked_as_the_gray_frame_it_holds():
    """`np.asmatrix(gray)` passed the frame check (2-D, uint8) and then raised numpy's "AxisError: axis 2 is out of
    bounds" while turned into BGR (np.matrix stays 2-D), or aborted the process ("double free or corruption") after
    other frames. It is the gray frame it holds now, as a masked array or a memmap is its data."""
    tracker = scripted_tracker()
    seen = []
    detector = tracker.detector
    tracker.detector = lambda frame: seen.append((type(frame), frame.shape)) or detector(frame)
    got = [
        [(o.track_id, tuple(np.round(o.xyxy, 3))) for o in tracker.update(np.asmatrix(FRAME[:, :, 0]))] for _ in "ab"
    ]
    assert got == outputs(scripted_tracker(), 2) and got[-1]
    assert seen == [(np.ndarray, FRAME.shape)] * 2


@pytest.mark.parametrize("frame", [FRAME, FRAME[:, :, 0], FRAME[:, :, :1], torch.from_numpy(FRAME)])
def test_one_frame_given_to_stream_is_named_not_tracked_row_by_row(frame):
    """`tracker.stream(frame)` (one frame where frames belong) iterated the frame: its 480 rows were tracked as 480
    gray frames of 640 x 3 pixels, with a size-change warning and no error. One ValueError now, at the first step,
    the tracker as before; a stack of frames (N, H, W, C) is still frames."""
    tracker = scripted_tracker()
    with pytest.raises(ValueError, match=r"^frames must be an iterable of frames .* got one frame of shape"):
        next(tracker.stream(frame))
    got = [[(o.track_id, tuple(np.round(o.xyxy, 3))) for o in out] for out in tracker.stream(np.stack([FRAME] * 4))]
    assert got == outputs(scripted_tracker(), 4) and got[-1]


class NotIterable:
    """Stands for a cv2.VideoCapture: frames come from its read(), it has no __iter__."""


@pytest.mark.parametrize(
    ("frames", "expected"),
    [
        ("clip.mp4", r"got the path 'clip.mp4': stream does not read videos"),
        (Path("clip.mp4"), r"got the path 'clip.mp4': stream does not read videos"),
        (b"clip.mp4", r"got the path 'clip.mp4': stream does not read videos"),
        (NotIterable(), r"got NotIterable, which is not iterable \(a video capture\? stream does not read videos"),
        (None, r"got NoneType, which is not iterable"),
    ],
)
def test_a_path_or_a_capture_given_to_stream_is_named_as_no_frames(frames, expected):
    """`tracker.stream("clip.mp4")` took the path's characters for frames and said "frame must be a numpy uint8 array
    ..., got str" (the frame blamed, not the argument); `tracker.stream(cv2.VideoCapture(path))` raised a bare
    "TypeError: 'cv2.VideoCapture' object is not iterable". One ValueError naming `frames` and what it got now, at
    the first step, the tracker as before."""
    tracker = scripted_tracker()
    with pytest.raises(ValueError, match=r"^frames must be an iterable of frames .*" + expected):
        next(tracker.stream(frames))
    assert outputs(tracker, 3) == outputs(scripted_tracker(), 3)


@pytest.mark.parametrize(
    ("returned", "got"),
    [
        ((BOXES, SCORES), "tuple of 2"),  # class ids forgotten
        (None, "NoneType"),
        ((BOXES, SCORES, np.zeros(2, np.int64), None), "tuple of 4"),
        ([object()], "list of 1"),  # a list of something else
        # ultralytics' own results (`YOLO(...)(frame)`): one Results, with its `boxes`
        (
            [SimpleNamespace(boxes=None)],
            r"list of 1 \(ultralytics' results: r = model\(frame\)\[0\]; return \(r\.boxes\.xyxy, r\.boxes\.conf, "
            r"r\.boxes\.cls\)\)",
        ),
        # one (N, 6) array of x1, y1, x2, y2, score, class rows: with N = 3 its rows were unpacked as the three parts
        (np.zeros((3, 6)), r"one ndarray of shape \(3, 6\) \(rows of x1, y1, x2, y2, score, class, .*a\[:, 5\]\)\)"),
        (torch.zeros(3, 6), r"one Tensor of shape \(3, 6\) \(rows of x1, y1, x2, y2, score, class, .*a\[:, 5\]\)\)"),
        (np.zeros((2, 6)), r"one ndarray of shape \(2, 6\) \(rows of x1, y1, x2, y2, score, class, .*a\[:, 5\]\)\)"),
        (
            np.zeros((3, 4)),
            r"one ndarray of shape \(3, 4\) \(boxes only\? return \(boxes, scores, class_ids or None\)\)",
        ),
        # a torchvision detector's output (one image's): its three keys unpacked as the three parts
        (
            {"boxes": BOXES, "labels": np.zeros(2, np.int64), "scores": SCORES},
            r"dict with keys 'boxes', 'labels', 'scores' \(return its arrays: \(out\['boxes'\], out\['scores'\], "
            r"out\['labels'\]\) for torchvision's\)",
        ),
    ],
)
@pytest.mark.parametrize("via_stream", [False, True])
def test_a_detector_returning_other_than_three_parts_is_named_and_changes_nothing(returned, got, via_stream):
    """`Tracker(detector=...)` takes a callable frame -> (boxes_xyxy, scores, class_ids); one returning (boxes, scores)
    or None made `update` and `stream` raise a bare "not enough values to unpack (expected 3, got 2)" or "cannot
    unpack non-iterable NoneType object", naming neither the detector nor what it must return. One ValueError now,
    the tracker as before (the next frames track as a reference tracker's). One (N, 6) array of detection rows was
    unpacked as the three parts on a frame of three detections ("boxes_xyxy must have shape (N, 4), got (6,)"): it is
    named, with how to split it, on every frame."""
    tracker, reference = scripted_tracker(), scripted_tracker()
    assert outputs(tracker, 4) == outputs(reference, 4)
    detector = tracker.detector
    tracker.detector = lambda frame: returned
    expected = rf"^the detector must return \(boxes_xyxy, scores, class_ids\): .*; got {got}$"
    with pytest.raises(ValueError, match=expected):
        if via_stream:
            next(tracker.stream([FRAME], detect_ahead=True))
        else:
            tracker.update(FRAME)
    tracker.detector = detector
    assert outputs(tracker, 3) == outputs(reference, 3)


def test_none_for_boxes_or_scores_is_named_not_read_as_one_row():
    """`scores=None` was read by numpy as one NaN row: "scores has 1 rows but boxes_xyxy has 2"."""
    tracker = Tracker(load_config(None, ["device=cpu"]), frame_rate=FPS)
    with pytest.raises(ValueError, match=r"^scores must be an array \(N,\) \(empty for no detections\), got None"):
        tracker.update_detections(BOXES, None)
    with pytest.raises(ValueError, match=r"^boxes_xyxy must be an array \(N, 4\) .*got None"):
        tracker.update_detections(None, SCORES)


def twins_after_five_frames() -> tuple[Tracker, Tracker, np.ndarray]:
    """Two trackers fed the same five frames of two people (16-d looks): one to give a bad input, one to compare
    with; and the looks."""
    looks = identity_embeddings(2, 16)
    tracker = Tracker(load_config(None, ["device=cpu"]), frame_rate=FPS)
    reference = Tracker(load_config(None, ["device=cpu"]), frame_rate=FPS)
    for f in range(5):
        for t in (tracker, reference):
            t.update_detections(BOXES + f, SCORES, embeddings=looks)
    return tracker, reference, looks


def test_one_box_given_alone_says_how_to_give_it():
    """A single box as (4,) was refused as "must have shape (N, 4), got (4,)" without the way to give it."""
    tracker, reference, looks = twins_after_five_frames()
    with pytest.raises(ValueError, match=r"got \(4,\) \(one box: boxes_xyxy\[None\], with scores of shape \(1,\)\)"):
        tracker.update_detections(BOXES[0] + 5, SCORES[:1], embeddings=looks[:1])
    assert tracker.update_detections(BOXES[None, 0] + 5, SCORES[:1], embeddings=looks[:1]) == (
        reference.update_detections(BOXES[None, 0] + 5, SCORES[:1], embeddings=looks[:1])
    )


@pytest.mark.parametrize("columns", [5, 6, 7])
def test_detection_rows_with_score_and_class_given_as_boxes_say_which_columns_go_where(columns):
    """A detector's (N, 6) rows (x1, y1, x2, y2, score, class: ultralytics' `boxes.data`) or (N, 5) rows given as
    `boxes_xyxy` were refused as "must have shape (N, 4), got (2, 6)", without saying which columns go where. The
    error now gives the slices (7 columns: no such guess, the shape only); the tracker is as before the call."""
    tracker, reference, looks = twins_after_five_frames()
    rows = np.hstack([BOXES + 5, SCORES[:, None], np.zeros((2, 1)), np.zeros((2, 1))])[:, :columns]
    hint = r"rows of \(x1, y1, x2, y2, score(, class)?\)\? boxes_xyxy=rows\[:, :4\], scores=rows\[:, 4\]"
    said = r"got \(2, 7\)$" if columns == 7 else hint
    with pytest.raises(ValueError, match=r"boxes_xyxy must have shape \(N, 4\), .*" + said):
        tracker.update_detections(rows, SCORES, embeddings=looks)
    assert tracker.update_detections(rows[:, :4], rows[:, 4], embeddings=looks) == reference.update_detections(
        BOXES + 5, SCORES, embeddings=looks
    )


def test_embeddings_given_as_the_third_positional_argument_are_named_not_read_as_class_ids():
    """`update_detections(boxes, scores, looks)` put (N, D) looks into `class_ids`: "class_ids has 32 rows but
    boxes_xyxy has 2", an error that names neither the shape nor the slip."""
    tracker, reference, looks = twins_after_five_frames()
    with pytest.raises(
        ValueError, match=r"class_ids must have shape \(N,\) with N = 2 .* got \(2, 16\) \(embeddings\? "
    ):
        tracker.update_detections(BOXES + 5, SCORES, looks)
    with pytest.raises(ValueError, match=r"scores must have shape \(N,\) with N = 2 .* got \(2, 2\)$"):
        tracker.update_detections(BOXES + 5, np.eye(2), embeddings=looks)
    assert tracker.update_detections(BOXES + 5, SCORES[:, None], [[0], [0]], looks) == reference.update_detections(
        BOXES + 5, SCORES, embeddings=looks
    )  # (N, 1) columns are taken, and the refused calls changed nothing


def test_a_frame_given_to_update_detections_as_embeddings_says_it_takes_no_frame():
    """`update_detections(boxes, scores, class_ids, frame)` (BoxMOT's `update(dets, img)` carried over) put the frame
    into `embeddings`: "embeddings must have shape (N, D) with N = 2 rows, got (480, 640, 3)", which did not say
    that the method takes no frame, nor where its size goes."""
    tracker, reference, looks = twins_after_five_frames()
    with pytest.raises(
        ValueError,
        match=r"got \(480, 640, 3\) \(a frame\? update_detections takes no frame: frame_size=frame\.shape\[:2\] "
        r"for the border rules; embeddings are \(N, D\) looks, one row per box\)$",
    ):
        tracker.update_detections(BOXES + 5, SCORES, None, FRAME)
    assert tracker.update_detections(BOXES + 5, SCORES, embeddings=looks) == reference.update_detections(
        BOXES + 5, SCORES, embeddings=looks
    )  # (the refused call changed nothing)


@pytest.mark.parametrize("place", ["class_ids", "scores"])
def test_a_frame_given_as_class_ids_or_scores_says_it_takes_no_frame(place):
    """`update_detections(boxes, scores, frame)` (BoxMOT's `update(dets, img)`, the frame third) put it into
    `class_ids`, and `update_detections(boxes, frame)` into `scores`: "class_ids must have shape (N,) with N = 2 (one
    per row of boxes_xyxy), got (480, 640, 3)", which, unlike the same slip in `embeddings`' place, did not say that
    the method takes no frame, nor where its size goes."""
    tracker, reference, looks = twins_after_five_frames()
    with pytest.raises(
        ValueError,
        match=rf"^{place} must have shape \(N,\) with N = 2 .* got \(480, 640, 3\) \(a frame\? update_detections takes "
        r"no frame: frame_size=frame\.shape\[:2\] for the border rules\)$",
    ):
        if place == "class_ids":
            tracker.update_detections(BOXES + 5, SCORES, FRAME)
        else:
            tracker.update_detections(BOXES + 5, FRAME)
    assert tracker.update_detections(BOXES + 5, SCORES, embeddings=looks) == reference.update_detections(
        BOXES + 5, SCORES, embeddings=looks
    )  # (the refused call changed nothing)


@pytest.mark.parametrize("name", ["boxes_xyxy", "scores", "class_ids"])
@pytest.mark.parametrize("kind", ["numpy", "torch"])
def test_complex_boxes_scores_or_class_ids_are_refused_not_cut_to_their_real_parts(name, kind):
    """Complex embeddings were refused, but complex boxes, scores and class ids were cast to their real parts with
    numpy's ComplexWarning (torch's for a tensor): a slip upstream, taken silently."""
    tracker, reference, looks = twins_after_five_frames()
    given = {"boxes_xyxy": BOXES + 5, "scores": SCORES, "class_ids": np.zeros(2)}
    given[name] = given[name] * (1 + 0j) if kind == "numpy" else torch.from_numpy(given[name] * (1 + 0j))
    with pytest.raises(ValueError, match=f"^{name} must be real numbers, got (a )?complex"):
        tracker.update_detections(**given, embeddings=looks)
    assert tracker.update_detections(BOXES + 5, SCORES, embeddings=looks) == reference.update_detections(
        BOXES + 5, SCORES, embeddings=looks
    )


@pytest.mark.parametrize("name", ["boxes_xyxy", "scores", "class_ids", "embeddings"])
@pytest.mark.parametrize("kind", ["numpy", "list", "torch"])
def test_a_mask_given_as_boxes_scores_or_class_ids_is_refused_not_read_as_0_and_1(name, kind):
    """`class_ids=keep` (a boolean mask where the class ids belong) was read as classes 1 and 0, so the kept person
    became a bicycle, which no person's track continues; `scores=keep` gave the others score 0, dropped; a mask as
    the fourth argument was taken as looks of 0 and 1. Booleans are refused as `camera_motion` refuses them, the
    tracker as before the call."""
    tracker, reference, looks = twins_after_five_frames()
    given = {"boxes_xyxy": BOXES + 5, "scores": SCORES, "class_ids": np.zeros(2), "embeddings": looks}
    mask = np.ones(given[name].shape, dtype=bool)
    given[name] = {"numpy": mask, "list": mask.tolist(), "torch": torch.from_numpy(mask)}[kind]
    with pytest.raises(ValueError, match=rf"^{name} must be numbers, got booleans \(a mask\? select the rows"):
        tracker.update_detections(**given)
    assert tracker.update_detections(BOXES + 5, SCORES, embeddings=looks) == reference.update_detections(
        BOXES + 5, SCORES, embeddings=looks
    )


class TextColumn:
    """A pandas column (Series or DataFrame) read from a CSV as text: numpy's array of it holds the strings as
    objects, and asked for floats it converts them (as `pandas.Series.__array__(dtype)` does)."""

    def __init__(self, values: np.ndarray) -> None:
        self._text = values.astype(str).astype(object)

    def __array__(self, dtype: Any = None, copy: Any = None) -> np.ndarray:
        return self._text if dtype is None else self._text.astype(dtype)


class DateColumn:
    """A pandas column of dates with a time zone (`pd.to_datetime(...).tz_localize("UTC")`): numpy's array of it
    holds Timestamp objects (datetimes), and asked for floats it gives nanoseconds since 1970 (as pandas does)."""

    def __init__(self, values: np.ndarray) -> None:
        self._ns = values.astype(np.int64)
        epoch = datetime.datetime(1970, 1, 1, tzinfo=datetime.UTC)
        self._dates = np.array([epoch + datetime.timedelta(microseconds=int(v) // 1000) for v in self._ns.flat])
        self._dates = self._dates.reshape(values.shape)

    def __array__(self, dtype: Any = None, copy: Any = None) -> np.ndarray:
        return self._dates if dtype is None else self._ns.astype(dtype)


def none_first(rows: list) -> list:
    """`rows` (a list of values or of rows) with its first value None."""
    (rows[0] if isinstance(rows[0], list) else rows)[0] = None
    return rows


@pytest.mark.parametrize("name", ["boxes_xyxy", "scores", "class_ids", "embeddings"])
@pytest.mark.parametrize(
    ("kind", "said"),
    [
        ("text array", r"numbers, got text \(dtype <U\d+\): convert it where it is read"),
        ("text list", r"numbers, got text \(dtype <U\d+\): convert it where it is read"),
        ("bytes array", r"numbers, got text \(dtype \|S\d+\)"),
        ("object array", r"a numeric array, got dtype object \(mixed or non-numeric values\?\)"),
        ("text column", r"numbers, got text \('.+' among objects\): convert it where it is read"),
        ("text among None", r"numbers, got text \('.+' among objects\): convert it where it is read"),
        ("datetime array", r"numbers, got dates or durations \(dtype <M8\[s\]\): convert it where it is read"),
        ("timedelta array", r"numbers, got dates or durations \(dtype <m8\[ms\]\): convert it where it is read"),
        ("datetime list", r"numbers, got dates or durations \(dtype <M8\[D\]\): convert it where it is read"),
        ("zoned date column", r"numbers, got dates or durations \('.+' among objects\): convert it where it is read"),
    ],
)
def test_numbers_written_as_text_or_held_as_objects_are_refused_naming_the_argument(name, kind, said):
    """Boxes, scores, class ids or looks read from a CSV as text (`np.loadtxt(dtype=str)`, a list of strings) or held
    in an object array (pandas' `.values` of mixed columns) were converted without a word (`'1e3'` too). Each is one
    error naming the argument and the dtype; the tracker as before. Also text that numpy holds as objects: a pandas
    column read as text (dtype object, "string" or "category": `df["score"]` itself, not its `.values`) and a list
    holding None beside text were still converted without a word (a list's None alone is a NaN: its row dropped).
    Dates and durations (datetime64, timedelta64) were read as counts of their unit: refused as text is; a pandas
    column of dates with a time zone (Timestamp objects) still was, as nanoseconds since 1970."""
    tracker, reference, looks = twins_after_five_frames()
    given = {"boxes_xyxy": BOXES + 5, "scores": SCORES, "class_ids": np.zeros(2), "embeddings": looks}
    value = given[name]
    given[name] = {
        "text array": lambda: value.astype(str),
        "text list": lambda: value.astype(str).tolist(),
        "bytes array": lambda: value.astype(bytes),
        "object array": lambda: value.astype(object),
        "text column": lambda: TextColumn(value),
        "text among None": lambda: none_first(value.astype(str).tolist()),
        "datetime array": lambda: value.astype(np.int64).astype("datetime64[s]"),
        "timedelta array": lambda: value.astype(np.int64).astype("timedelta64[ms]"),
        "datetime list": lambda: list(value.astype(np.int64).astype("datetime64[D]")),
        "zoned date column": lambda: DateColumn(value),
    }[kind]()
    with pytest.raises(ValueError, match=rf"^{name} must be {said}"):
        tracker.update_detections(**given)
    assert tracker.update_detections(BOXES + 5, SCORES, embeddings=looks) == reference.update_detections(
        BOXES + 5, SCORES, embeddings=looks
    )


@pytest.mark.filterwarnings("error")
@pytest.mark.parametrize("far", [1e300, 1e100])
def test_boxes_beyond_any_pixel_are_dropped_as_invalid_ones(far, caplog):
    """A box at 1e300 px (a detector's bug) was tracked: numpy overflow RuntimeWarnings in the Kalman gate and IoU on
    every frame; one at 1e100 px made every later camera motion "beyond floating-point range" (its track's variances
    squared), refused. Both are dropped with the warning invalid boxes get, as if never given."""
    tracker, reference, looks = twins_after_five_frames()
    shift = np.array([[1.0, 0, 2], [0, 1, 0]])
    for f in range(5, 10):
        boxes = np.vstack([BOXES + f, [far, far, 1.5 * far, 2 * far]])
        got = tracker.update_detections(boxes, [*SCORES, 0.9], embeddings=np.vstack([looks, looks[:1]]))
        assert got == reference.update_detections(BOXES + f, SCORES, embeddings=looks)
    assert "dropped 1 invalid detection(s) (non-finite or beyond" in caplog.text
    moved = tracker.update_detections(BOXES + 12, SCORES, embeddings=looks, camera_motion=shift)
    assert moved == reference.update_detections(BOXES + 12, SCORES, embeddings=looks, camera_motion=shift)


@pytest.mark.parametrize("empty", [np.zeros(0), np.zeros((0, 0)), np.zeros((0, 32)), [], torch.zeros(0)])
def test_a_frame_without_detections_takes_any_empty_embeddings(empty):
    """A ReID returns `np.empty(0)` for a frame with nobody in it: once the banks held D = 16 that raised "embeddings
    have D = 0, the tracker's banks hold D = 16" (the first frames, before D was known, took it). No rows carry no
    look; the tracks go on as after a frame given without embeddings."""
    tracker, reference, looks = twins_after_five_frames()
    tracker.update_detections(np.zeros((0, 4)), [], embeddings=empty)
    reference.update_detections(np.zeros((0, 4)), [], embeddings=np.zeros((0, 16)))
    got = [(o.track_id, o.detection_index) for o in tracker.update_detections(BOXES + 6, SCORES, embeddings=looks)]
    assert got == [
        (o.track_id, o.detection_index) for o in reference.update_detections(BOXES + 6, SCORES, embeddings=looks)
    ]
    assert got == [(1, 0), (2, 1)]
    with pytest.raises(ValueError, match="embeddings have D = 32, the tracker's banks hold D = 16"):
        tracker.update_detections(BOXES + 7, SCORES, embeddings=np.ones((2, 32)))  # rows of another D: refused


@pytest.mark.parametrize(
    ("section", "key", "value", "message"),
    [
        ("appearance", "bank_capacity", 0, r"appearance.bank_capacity: 0 is out of range \[1, "),
        ("appearance", "bank_capacity", "20", r"appearance.bank_capacity: expected an integer, got the text '20' \("),
        ("appearance", "match_threshold", float("nan"), "appearance.match_threshold: nan is not a finite number"),
        ("association", "low_score", 0.99, r"association.low_score \(0.99\) must not exceed"),
    ],
)
def test_a_config_made_with_dataclasses_replace_is_checked_by_the_tracker(section, key, value, message):
    """`dataclasses.replace` skips `load_config`'s checks: bank_capacity=0 was built and crashed at the first
    look with "IndexError: index 0 is out of bounds for axis 0 with size 0"; "20" and NaN ran without a word."""
    cfg = load_config(None, ["device=cpu"])
    bad = dataclasses.replace(cfg, **{section: dataclasses.replace(getattr(cfg, section), **{key: value})})
    with pytest.raises(ConfigError, match=message):
        Tracker(bad, frame_rate=FPS)
    with pytest.raises(ConfigError, match=message):  # before any model is loaded (there is none at this path)
        Tracker.from_config(dataclasses.replace(bad, detector=dataclasses.replace(bad.detector, model="/no/such.pt")))


def test_a_frame_rate_refused_from_the_config_names_its_value():
    """`dataclasses.replace(cfg, frame_rate=0)` was refused with "got None" (the argument left out)."""
    cfg = dataclasses.replace(load_config(None, ["device=cpu"]), frame_rate=0.0)
    with pytest.raises(ConfigError, match=r"frame_rate: 0.0 is out of range"):
        Tracker(cfg)
    with pytest.raises(ValueError, match=r"frame_rate must be positive and at most 1000 frames/s, got 0 \("):
        Tracker(load_config(None, ["device=cpu"]), frame_rate=0)


def test_a_frame_rate_of_0_from_opencv_says_to_pass_none():
    """`Tracker.from_config(cfg, frame_rate=cap.get(cv2.CAP_PROP_FPS))` (the README's example without its `or None`)
    on a video that does not say its rate: OpenCV reads 0.0, refused as "frame_rate must be positive ..., got 0.0",
    which left the user to find that None takes the config's rate. The error says so, before any model loads."""
    expected = r"got 0\.0 \(OpenCV reads 0 for a video that does not say its rate: pass None, the config's\)$"
    with pytest.raises(ValueError, match=expected):
        Tracker(load_config(None, ["device=cpu"]), frame_rate=0.0)
    with pytest.raises(ValueError, match=expected):
        Tracker.from_config(load_config(None, ["device=cpu", "detector.model=/no/such.pt"]), frame_rate=0.0)
    with pytest.raises(ValueError, match=r"got -1\.0$"):
        Tracker(load_config(None, ["device=cpu"]), frame_rate=-1.0)


def test_a_streams_bogus_frame_rate_says_what_to_pass():
    """`Tracker.from_config(cfg, frame_rate=cap.get(cv2.CAP_PROP_FPS))` on an RTSP stream: OpenCV often reads 90000
    frames/s, refused as "frame_rate must be positive and at most 1000 frames/s, got 90000.0", which left the user
    to find that the declared rate is wrong and what to pass instead. The error says so, before any model loads."""
    expected = r"got 90000\.0 \(a stream's declared rate is often bogus.*: pass the real rate, or None.*\)$"
    with pytest.raises(ValueError, match=expected):
        Tracker(load_config(None, ["device=cpu"]), frame_rate=90000.0)
    with pytest.raises(ValueError, match=expected):
        Tracker.from_config(load_config(None, ["device=cpu", "detector.model=/no/such.pt"]), frame_rate=90000.0)


@pytest.mark.parametrize("frame_rate", [1e-300, 1e-210, 0.0009])
def test_a_frame_rate_below_the_configs_floor_is_refused_when_the_tracker_is_built(frame_rate):
    """`Tracker(frame_rate=1e-300)` was built, and its first `update_detections` raised a bare "OverflowError: (34,
    'Numerical result out of range')" from the Kalman noise ((25 / rate)^1.5); the config's frame_rate stops at
    0.001 frames/s. One ValueError naming `frame_rate` and the floor now, and 0.001 itself still tracks."""
    cfg = load_config(None, ["device=cpu"])
    with pytest.raises(ValueError, match=r"^frame_rate must be at least 0.001 frames/s .*; got " + f"{frame_rate}$"):
        Tracker(cfg, frame_rate=frame_rate)
    tracker = Tracker(cfg, frame_rate=0.001)
    boxes, scores = np.array([[10.0, 10.0, 50.0, 100.0]]), np.array([0.9])
    for _ in range(3):
        tracker.update_detections(boxes, scores, frame_size=(480, 640))


@pytest.mark.parametrize("frame_rate", ["30", True, [30], {"fps": 30}, b"30"])
def test_a_frame_rate_that_is_no_number_is_named_before_any_model_loads(frame_rate):
    """`Tracker(cfg, frame_rate="30")` ran at 30 and `frame_rate=True` at 1 frame/s (every time limit 30 times
    longer, without a word); `[30]` raised float()'s TypeError, which named no argument; `from_config` found out
    only after loading its models. One ValueError naming `frame_rate` now, before any model (none at that path)."""
    cfg = load_config(None, ["device=cpu"])
    with pytest.raises(ValueError, match=r"^frame_rate must be a number of frames/s \(or None"):
        Tracker(cfg, frame_rate=frame_rate)
    missing = cfg.replace(["detector.model=/no/such.pt", "reid.model=none"])
    with pytest.raises(ValueError, match=r"^frame_rate must be a number of frames/s"):
        Tracker.from_config(missing, frame_rate=frame_rate)
    with pytest.raises(ValueError, match=r"^frame_rate must be positive"):
        Tracker.from_config(missing, frame_rate=0)


@pytest.mark.parametrize("frame_rate", [np.float32(25), np.int64(25), torch.tensor(25.0), np.array([25.0]), 25])
def test_a_frame_rate_of_numpy_or_torch_is_its_value(frame_rate):
    tracker = Tracker(load_config(None, ["device=cpu"]), frame_rate=frame_rate)
    assert tracker.frame_rate == 25.0 and type(tracker.frame_rate) is float


@pytest.mark.parametrize("section", [None, {"high_score": 0.3}, "motion"])
def test_a_section_replaced_by_something_else_is_named(section):
    """`dataclasses.replace(cfg, association=None)` (or a dict of its keys, or another section) passed the check,
    which read it as the section's defaults, and the Tracker then failed with "AttributeError: 'NoneType' object
    has no attribute 'reid_threshold'". One ConfigError naming the section now, before any model loads."""
    cfg = load_config(None, ["device=cpu", "reid.model=none"])
    bad = dataclasses.replace(cfg, association=cfg.motion if section == "motion" else section)
    message = r"^association: expected AssociationConfig \(dataclasses.replace\(cfg.association, key=value\)"
    with pytest.raises(ConfigError, match=message):
        Tracker(bad)
    with pytest.raises(ConfigError, match=message):  # before the detector (none at this path)
        Tracker.from_config(dataclasses.replace(bad, detector=dataclasses.replace(bad.detector, model="/no/such.pt")))


def test_numpy_numbers_in_a_config_made_in_python_are_taken_as_python_numbers():
    """`dataclasses.replace(cfg.appearance, bank_capacity=np.int64(50))` or `overrides={"...": np.float32(0.5)}`
    (a value computed with numpy) was refused: "expected an integer, got np.int64(50)". Taken now, and the
    tracker computes with the Python number (float32 arithmetic would round its thresholds)."""
    cfg = load_config(None, ["device=cpu", "reid.model=none"])
    plain = cfg.replace(["appearance.bank_capacity=50", "association.high_score=0.5", "detector.classes=[0, 2]"])
    made = dataclasses.replace(
        cfg,
        appearance=dataclasses.replace(cfg.appearance, bank_capacity=np.int64(50)),
        association=dataclasses.replace(cfg.association, high_score=np.float32(0.5)),
        detector=dataclasses.replace(cfg.detector, classes=[np.int64(0), np.int64(2)]),
    )
    config = Tracker(made).config
    assert config == plain
    assert type(config.appearance.bank_capacity) is int and type(config.association.high_score) is float
    assert config.detector.classes == (0, 2) and all(type(c) is int for c in config.detector.classes)
    given = {"appearance.bank_capacity": np.int64(50), "association.high_score": np.float32(0.5)}
    assert load_config(None, given).replace(["detector.classes=[0, 2]", "device=cpu", "reid.model=none"]) == plain


def test_overrides_given_as_one_string_are_refused_whole():
    """`load_config(overrides="appearance.bank_capacity=50")` iterated the string: "override 'a' is not of the
    form section.key=value"."""
    with pytest.raises(
        ConfigError, match=r"overrides must be a list .* got str .*write \['appearance.bank_capacity=50'\]"
    ):
        load_config(overrides="appearance.bank_capacity=50")  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match="overrides must be a list"):
        load_config().replace("appearance.bank_capacity=50")  # type: ignore[arg-type]
    assert load_config(overrides=("appearance.bank_capacity=50",)).appearance.bank_capacity == 50


def test_from_config_given_a_dict_says_to_use_load_config():
    """`Tracker.from_config({...})` failed in pathlib: "expected str, bytes or os.PathLike object, not dict"."""
    with pytest.raises(TypeError, match=r"config must be a TrackerConfig, a YAML path or None \(load_config"):
        Tracker.from_config({"appearance": {"bank_capacity": 5}})  # type: ignore[arg-type]


def test_from_config_refuses_a_gallery_without_appearance_before_loading_models(tmp_path):
    """`reid.model=none` with a loaded gallery was refused as a GalleryModelError naming a model "none" with the
    (unused) OSNet weights, after the detector had loaded; it is refused at once (`from_config` builds no ReID, so
    `update(frame)` has no looks for it). It names only the key to change ("set appearance.enabled=true and a
    reid.model" sent users to a key already true)."""
    cfg = load_config(None, ["device=cpu", "reid.model=none", "detector.model=/no/such.pt"])
    needs = r"a gallery needs appearance embeddings: set reid\.model to a model, not none \(osnet_x0_25 \| osnet"
    with pytest.raises(ValueError, match=needs):
        Tracker.from_config(cfg, gallery=Gallery(cfg.gallery))


def test_your_own_embeddings_feed_a_gallery_whatever_reid_model_says():
    """`Tracker(cfg, gallery=...)` with `reid.model=none` was refused ("set reid.model to a model"), though that
    tracker builds no ReID and `update_detections` used the embeddings given, banks and all: a user with their own
    ReID who set `reid.model=none` (so that nothing would load OSNet) could not have a gallery. Only
    `appearance.enabled=false`, where no look is used, refuses it."""
    cfg = load_config(None, ["device=cpu", "reid.model=none"])
    gallery = Gallery(cfg.gallery)
    tracker = Tracker(cfg, frame_rate=10, gallery=gallery)
    boxes, scores = np.array([[0.0, 0.0, 40.0, 100.0], [200.0, 0.0, 240.0, 100.0]]), np.array([0.9, 0.9])
    looks = identity_embeddings(2, 64, 0)
    for frame in range(10):
        out = tracker.update_detections(boxes + frame, scores, embeddings=looks)
    assert sorted(o.global_id for o in out) == [1, 2]
    assert tracker.core.gallery is gallery
    off = load_config(None, ["device=cpu", "reid.model=none", "appearance.enabled=false"])
    with pytest.raises(ValueError, match=r"^a gallery needs appearance embeddings: set appearance\.enabled=true$"):
        Tracker(off, gallery=Gallery(off.gallery))


def test_a_gallery_with_banks_too_small_for_its_identities_is_refused_before_loading_models():
    """A gallery stores (and offers) a track only once its bank holds `gallery.min_embeddings` looks (3): with
    `appearance.bank_capacity=2` (a small memory) no bank ever did, and the gallery stayed empty without a word (60
    frames of two people: 0 identities, 2 with a capacity of 3). One ConfigError naming the key, before any model
    loads; without a gallery the same config tracks, and a capacity of 3 takes one."""
    cfg = load_config(None, ["device=cpu", "appearance.bank_capacity=2", "detector.model=/no/such.pt"])
    said = r"^gallery\.min_embeddings \(3\) must not exceed appearance\.bank_capacity \(2\) with a gallery: "
    with pytest.raises(ConfigError, match=said) as refused:
        Tracker.from_config(cfg, gallery=Gallery(cfg.gallery))
    assert refused.value.key == "gallery.min_embeddings"
    with pytest.raises(ConfigError, match=said):
        Tracker(cfg, gallery=Gallery(cfg.gallery))
    assert len(Tracker(cfg).update_detections(BOXES, SCORES)) == len(BOXES)
    fits = dataclasses.replace(cfg, appearance=dataclasses.replace(cfg.appearance, bank_capacity=3))
    Tracker(fits, gallery=Gallery(fits.gallery))


def test_from_config_refuses_float16_banks_on_the_cpu_before_loading_models():
    """`appearance.bank_dtype=float16` is a GPU's storage: on the CPU it is one error before the detector or the
    ReID loads (a missing model file here would otherwise be the error), and `Tracker(...)` gives the same."""
    cfg = load_config(None, ["device=cpu", "appearance.bank_dtype=float16", "detector.model=/no/such.pt"])
    with pytest.raises(ValueError, match=r"appearance\.bank_dtype=float16 needs a GPU: on the CPU use float32"):
        Tracker.from_config(cfg)
    with pytest.raises(ValueError, match=r"bank_dtype=float16 needs a GPU"):
        Tracker(cfg)


def test_a_gallery_tied_to_your_own_reid_refuses_a_file_of_another(tmp_path):
    """README (Identity gallery): with your own embeddings the tracker cannot tell which model made them, so a gallery
    of OSNet looks took 512-d looks of any other ReID without a word; `bind_model` with your model's identity makes
    a file of another model (or D) refused, as `from_config` does for the ReID it builds."""
    from tracker.gallery import GalleryModelError, ModelIdentity

    cfg = load_config(None, ["device=cpu", "gallery.min_embeddings=1"])
    looks = identity_embeddings(2, 16)
    gallery = Gallery(cfg.gallery)
    gallery.bind_model(ModelIdentity("my-reid", "v1"))
    tracker = Tracker(cfg, frame_rate=FPS, gallery=gallery)
    for f in range(12):
        tracker.update_detections(BOXES + f, SCORES, embeddings=looks)
    tracker.reset()  # the two people are stored
    tracker.gallery.save(tmp_path / "site.gallery")
    assert len(Gallery.load(tmp_path / "site.gallery", cfg.gallery)) == 2
    Gallery.load(tmp_path / "site.gallery", cfg.gallery).bind_model(ModelIdentity("my-reid", "v1"))  # the same: taken
    with pytest.raises(
        GalleryModelError, match=r"made with ReID model my-reid \(weights v1, D = 16\), the tracker uses"
    ):
        Gallery.load(tmp_path / "site.gallery", cfg.gallery).bind_model(ModelIdentity("other-reid", "v7"))


def test_from_config_refuses_a_gallery_of_looks_of_another_d_than_its_reid(tmp_path, monkeypatch):
    """A gallery saved from `update_detections` without `bind_model` (16-d looks, no model named) was taken by
    `from_config` with OSNet: the gallery was bound to OSNet as "D = 16", and every `update` then failed. It is
    refused at once, naming both D; a gallery of the ReID's D is bound with it."""
    import tracker.detector
    import tracker.embedder
    import tracker.model_setup
    from tracker.gallery import GalleryModelError, Sighting

    class FakeReID:
        dim = 512

        def __call__(self, image: torch.Tensor, boxes: np.ndarray) -> torch.Tensor:
            raise AssertionError("no frame is embedded here")

    monkeypatch.setattr(tracker.model_setup, "require_model_files", lambda *args: None)
    monkeypatch.setattr(tracker.detector, "build_detector", lambda *args, **kwargs: lambda frame: None)
    monkeypatch.setattr(tracker.embedder, "build_embedder", lambda *args, **kwargs: FakeReID())
    cfg = load_config(None, ["device=cpu"])
    for dim, refused in ((16, True), (512, False)):
        gallery = Gallery(cfg.gallery)
        gallery.add(gallery.new_id(), identity_embeddings(1, dim), 0, Sighting(1, time.time(), "mine"))
        gallery.save(tmp_path / f"{dim}.gallery")
        loaded = Gallery.load(tmp_path / f"{dim}.gallery", cfg.gallery)
        if refused:
            with pytest.raises(
                GalleryModelError, match=r"holds embeddings of D = 16, the tracker uses osnet_x0_25 "
            ) as e:
                Tracker.from_config(cfg, gallery=loaded)
            assert loaded.model is None and loaded.dim == 16  # not bound: as loaded
            # (it said "track with the ReID model and weights this gallery was made with": it records none)
            assert str(e.value).endswith(
                "track with a ReID model of D = 16 (the gallery records no model), or give another gallery file (a "
                "new path starts an empty one)"
            ), e.value
        else:
            assert Tracker.from_config(cfg, gallery=loaded).gallery.model.dim == 512


@pytest.mark.parametrize(
    ("motion", "kind"),
    [
        ([[1, 0, 2], [0, 1]], "list"),
        ("identity", "str"),
        (object(), "object"),
        (np.eye(3).astype(str), "ndarray: dtype <U32"),
        (np.eye(3).astype(str).tolist(), "list: dtype <U3"),
        (np.eye(3).astype(object), r"ndarray: dtype \|O"),
        # (dates or durations were read as counts of their unit: an identity of 1 s durations moved the tracks)
        (np.eye(2, 3, dtype=np.int64).astype("timedelta64[s]"), r"ndarray: dtype <m8\[s\] \(dates or durations"),
        (np.eye(3, dtype=np.int64).astype("datetime64[D]"), r"ndarray: dtype <M8\[D\] \(dates or durations"),
    ],
)
def test_a_camera_motion_that_is_not_numbers_is_named(motion, kind):
    """A ragged list or a string reached the caller as numpy's own words ("setting an array element with a
    sequence", "could not convert string to float"), not naming `camera_motion`; numbers written as text (a matrix
    read from a file as strings) or held in an object array were converted without a word. The tracker is as
    before."""
    tracker, reference, looks = twins_after_five_frames()
    with pytest.raises(ValueError, match=rf"^camera_motion must be a numeric \(2, 3\) or \(3, 3\) array .*got {kind}"):
        tracker.update_detections(BOXES + 5, SCORES, embeddings=looks, camera_motion=motion)
    after = tracker.update_detections(BOXES + 5, SCORES, embeddings=looks)
    expected = reference.update_detections(BOXES + 5, SCORES, embeddings=looks)
    assert [(o.track_id, o.xyxy.tolist()) for o in after] == [(o.track_id, o.xyxy.tolist()) for o in expected]


def test_a_gallery_given_the_whole_config_says_to_pass_its_gallery_section(tmp_path):
    """`Gallery(cfg)` or `Gallery.load(path, cfg)` (the whole TrackerConfig, not `cfg.gallery`) failed with
    "AttributeError: 'TrackerConfig' object has no attribute 'prototypes'"; a dict the same."""
    cfg = load_config(None, ["device=cpu"])
    Gallery(cfg.gallery).save(tmp_path / "site.gallery")
    expected = r"config must be a GalleryConfig \(load_config\(...\)\.gallery\), got TrackerConfig: pass its gallery"
    with pytest.raises(TypeError, match=expected):
        Gallery(cfg)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match=expected):
        Gallery.load(tmp_path / "site.gallery", cfg)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match=r"config must be a GalleryConfig .*got dict$"):
        Gallery.load(tmp_path / "site.gallery", {"margin": 0.1})  # type: ignore[arg-type]
    assert len(Gallery.load(tmp_path / "site.gallery", cfg.gallery)) == 0


def test_one_gallery_serves_trackers_in_several_threads_one_call_at_a_time(monkeypatch):
    """Several camera streams in one process, one Tracker per stream in its own thread, one Gallery so a person keeps
    one ID across cameras: a search in one thread ran while another thread stored an identity, and a tracker died
    with "RuntimeError: dictionary changed size during iteration" (`Gallery.dim`, seen with three trackers of 1500
    frames each). The gallery now takes one call at a time: here a store waits while a search is inside."""
    import threading

    from tracker.gallery import Sighting

    looks = identity_embeddings(3, 16)
    gallery = Gallery(load_config(None, ["device=cpu"]).gallery)
    gallery.add(gallery.new_id(), looks[:1], 0, Sighting(0, 0.0, "cam1"))
    inside, release = threading.Event(), threading.Event()
    search = Gallery._search_identities

    def paused_search(self, *args, **kwargs):
        inside.set()
        assert release.wait(30)
        return search(self, *args, **kwargs)

    monkeypatch.setattr(Gallery, "_search_identities", paused_search)
    found: list[np.ndarray] = []
    searcher = threading.Thread(target=lambda: found.append(gallery.match(looks[:1])))
    searcher.start()
    assert inside.wait(30)
    stored = threading.Thread(target=lambda: gallery.add(gallery.new_id(), looks[1:2], 0, Sighting(0, 0.0, "cam2")))
    stored.start()
    stored.join(timeout=1.0)
    waited = stored.is_alive()  # the store waits for the search to end
    release.set()
    searcher.join(30)
    stored.join(30)
    assert waited, "a gallery store ran in the middle of another thread's search"
    assert found[0].tolist() == [1] and len(gallery) == 2


@pytest.mark.parametrize(
    "given", ["gallery.npz", Path("gallery.npz"), {}, Gallery], ids=["str", "path", "dict", "class"]
)
def test_a_gallery_that_is_not_a_gallery_is_one_type_error_before_any_model_loads(monkeypatch, given):
    """`Tracker(gallery="gallery.npz")` raised "AttributeError: 'str' object has no attribute 'attach'" (the class
    itself: "'TrackerCore' object has no attribute '_guard'"), and `from_config` only after the models had loaded."""
    import tracker.detector
    import tracker.model_setup

    built = []
    monkeypatch.setattr(tracker.model_setup, "require_model_files", lambda *args: None)
    monkeypatch.setattr(tracker.detector, "build_detector", lambda *args, **kwargs: built.append("detector"))
    cfg = load_config(None, ["device=cpu"])
    expected = r"^gallery must be a Gallery \(Gallery\(\) or Gallery\.load\(path\)\) or None, got "
    with pytest.raises(TypeError, match=expected):
        Tracker(cfg, frame_rate=FPS, gallery=given)
    with pytest.raises(TypeError, match=expected):
        Tracker.from_config(cfg, frame_rate=FPS, gallery=given)
    assert built == [], "refused before any model loads"


@pytest.mark.parametrize("argument", ["detector", "embedder"])
def test_a_detector_or_embedder_that_is_not_callable_is_refused_when_the_tracker_is_built(argument):
    """`Tracker(detector="yolo11n.pt")` (or an embedder given as a model name) was built, and its first `update`
    raised a bare "TypeError: 'str' object is not callable"; it is refused at once, pointing to `from_config`."""
    models = {"detector": scripted_tracker().detector, argument: "yolo11n.pt"}
    with pytest.raises(TypeError, match=rf"^{argument} must be a callable .* got str: .*Tracker\.from_config"):
        Tracker(load_config(None, ["device=cpu"]), frame_rate=FPS, **models)


def test_numpy_bools_and_arrays_in_a_config_made_in_python_are_taken_as_python_values():
    """`dataclasses.replace(cfg.appearance, enabled=np.True_)` (a bool computed with numpy) was refused at
    `Tracker(...)` as "appearance.enabled: expected true or false, got np.True_", and `classes=np.unique(labels)`
    (or a lone `np.int64(0)`) as "detector.classes: expected a list of int, got array([0, 2])"; numpy's numbers were
    already taken. Taken as Python's now; a wrong type is still refused."""
    cfg = load_config(None, ["device=cpu", "reid.model=none"])
    plain = cfg.replace(["appearance.enabled=false", "detector.classes=[0, 2]", "classes.compatible_groups=[[2, 5]]"])
    made = dataclasses.replace(
        cfg,
        appearance=dataclasses.replace(cfg.appearance, enabled=np.bool_(False)),
        detector=dataclasses.replace(cfg.detector, classes=np.array([0, 2])),
        classes=dataclasses.replace(cfg.classes, compatible_groups=np.array([[2, 5]])),
    )
    config = Tracker(made).config
    assert config == plain
    assert type(config.appearance.enabled) is bool and all(type(c) is int for c in config.detector.classes)
    given = {"appearance.enabled": np.False_, "detector.classes": np.array([0, 2]), "device": "cpu"}
    assert load_config(None, given).detector.classes == (0, 2)
    assert load_config(None, {"detector.classes": np.int64(2)}).detector.classes == (2,)
    with pytest.raises(ConfigError, match=r"^appearance\.enabled: expected true or false, got np\.int64\(1\)"):
        load_config(None, {"appearance.enabled": np.int64(1)})
    with pytest.raises(ConfigError, match=r"^detector\.classes\[0\]: expected an integer, got 0\.5"):
        load_config(None, {"detector.classes": np.array([0.5])})


def test_a_pathlib_path_for_a_model_or_weights_key_is_taken_as_its_string():
    """`load_config(overrides={"reid.weights": WEIGHTS / "osnet.pth"})` or `dataclasses.replace(cfg.detector,
    model=Path(...))` was refused as "expected a string, got PosixPath(...)", though `load_config` takes the config
    file itself as a Path. Taken as the path's string."""
    cfg = load_config(None, ["device=cpu"])
    plain = cfg.replace(["reid.weights=/models/osnet.pth", "detector.model=/models/yolo.pt"])
    given = {"reid.weights": Path("/models/osnet.pth"), "detector.model": Path("/models/yolo.pt")}
    assert cfg.replace(given) == plain and load_config(None, {**given, "device": "cpu"}) == plain
    made = dataclasses.replace(
        cfg,
        reid=dataclasses.replace(cfg.reid, weights=Path("/models/osnet.pth")),
        detector=dataclasses.replace(cfg.detector, model=Path("/models/yolo.pt")),
    )
    config = Tracker(made).config
    assert config == plain and type(config.reid.weights) is str


def test_from_config_refuses_a_gallery_of_another_reid_model_before_loading_models(monkeypatch):
    """`Tracker.from_config(cfg, gallery=other_models_gallery)` loaded (or, offline, failed to download) the detector
    first: the user waited seconds for the refusal, or was told about a detector download instead of the gallery."""
    import tracker.detector
    import tracker.model_setup
    from tracker.gallery import GalleryModelError, ModelIdentity

    built = []
    monkeypatch.setattr(tracker.model_setup, "require_model_files", lambda *args: None)
    monkeypatch.setattr(tracker.detector, "build_detector", lambda *args, **kwargs: built.append("detector"))
    cfg = load_config(None, ["device=cpu"])
    gallery = Gallery(cfg.gallery, ModelIdentity("other-reid", "v7", 256))
    with pytest.raises(GalleryModelError, match="made with ReID model other-reid"):
        Tracker.from_config(cfg, gallery=gallery)
    assert built == [], "refused before any model loads"
    assert gallery.model == ModelIdentity("other-reid", "v7", 256)


def test_reopen_after_the_weights_moved_says_to_put_them_back_and_keeps_the_tracks(tmp_path, monkeypatch):
    """reopen() of a tracker whose weights were moved since `from_config` said "set reid.weights to its path
    (`--set ...` on the command line, overrides=[...] in Python)": a key of the config the tracker was built with,
    which reopen() takes no other of. It names the file and says to put it back; the tracker stays closed with its
    tracks (update_detections goes on with them), and reopens once the file is back."""
    import tracker.detector
    import tracker.embedder

    box = np.array([[100.0, 50.0, 140.0, 150.0]])

    class FakeReID:
        dim = 512

        def __call__(self, image: torch.Tensor, boxes: np.ndarray) -> torch.Tensor:
            return torch.ones((len(boxes), self.dim))

    monkeypatch.setattr(tracker.detector, "build_detector", lambda *a, **k: lambda frame: (box, np.ones(1), None))
    monkeypatch.setattr(tracker.embedder, "build_embedder", lambda *args, **kwargs: FakeReID())
    reid, detector = tmp_path / "osnet.pth", tmp_path / "detector.pt"
    reid.write_bytes(b"osnet weights")
    detector.write_bytes(b"yolo weights")
    cfg = load_config(None, ["device=cpu", f"reid.weights={reid}", f"detector.model={detector}"])
    built = Tracker.from_config(cfg, frame_rate=FPS)
    frame = np.zeros((240, 320, 3), np.uint8)
    tracked = [built.update(frame) for _ in range(5)][-1]
    built.close()
    for kind, moved in (("reid", reid), ("detector", detector)):
        moved.rename(tmp_path / "elsewhere")
        with pytest.raises(FileNotFoundError) as refused:
            built.reopen()
        assert str(refused.value) == (
            f"{kind} weights '{moved}' not found (looked at the path); this tracker was built with them: put them "
            "back where they were and reopen() again (it stays closed meanwhile, its tracks kept: update_detections "
            "goes on with them)"
        )
        with pytest.raises(RuntimeError, match="was closed"):
            built.update(frame)
        (tmp_path / "elsewhere").rename(moved)
    kept = built.update_detections(box, np.ones(1), embeddings=np.ones((1, 512)))
    assert [o.track_id for o in kept] == [o.track_id for o in tracked] == [1]
    built.reopen()
    assert [o.track_id for o in built.update(frame)] == [1]


def test_reopen_in_another_working_folder_loads_the_weights_from_config_loaded(tmp_path, monkeypatch):
    """Weights given by relative paths were looked up again by reopen(), in the working folder of that moment: a
    service that changed folder since (or a pickle restored in another one) loaded other files of those names
    (another detector, silently; another ReID, refused as "the file was replaced"), or was told the files it was
    built with were missing. reopen() loads the files from_config found, by their absolute paths; when one of them is
    gone, the error names it there."""
    import pickle

    import tracker.detector
    import tracker.embedder

    box = np.array([[100.0, 50.0, 140.0, 150.0]])
    loaded = []

    class FakeReID:
        dim = 512

        def __call__(self, image: torch.Tensor, boxes: np.ndarray) -> torch.Tensor:
            return torch.ones((len(boxes), self.dim))

    def build_detector(cfg, *args, **kwargs):
        loaded.append(Path(cfg.model).resolve())
        return lambda frame: (box, np.ones(1), None)

    monkeypatch.setattr(tracker.detector, "build_detector", build_detector)
    monkeypatch.setattr(tracker.embedder, "build_embedder", lambda *args, **kwargs: FakeReID())
    for folder in ("built", "elsewhere"):  # the same names in both folders, other weights in each
        (tmp_path / folder).mkdir()
        (tmp_path / folder / "osnet.pth").write_bytes(f"osnet weights of {folder}".encode())
        (tmp_path / folder / "detector.pt").write_bytes(f"yolo weights of {folder}".encode())
    monkeypatch.chdir(tmp_path / "built")
    cfg = load_config(None, ["device=cpu", "reid.weights=osnet.pth", "detector.model=detector.pt"])
    built = Tracker.from_config(cfg, frame_rate=FPS)
    frame = np.zeros((240, 320, 3), np.uint8)
    tracked = [built.update(frame) for _ in range(5)][-1]
    built.close()
    checkpoint = pickle.dumps(built)
    monkeypatch.chdir(tmp_path / "elsewhere")
    built.reopen()  # (it said "reid.weights 'osnet.pth' is now ReID model osnet_x0_25 (weights ...)")
    assert loaded == [tmp_path / "built" / "detector.pt"] * 2, "the detector it was built with"
    assert [o.track_id for o in built.update(frame)] == [o.track_id for o in tracked] == [1]
    assert built.config.detector.model == "detector.pt", "its config is as given"
    (tmp_path / "built" / "detector.pt").rename(tmp_path / "moved.pt")
    restored = pickle.loads(checkpoint)
    with pytest.raises(FileNotFoundError) as refused:
        restored.reopen()
    assert str(refused.value).startswith(
        f"detector weights '{tmp_path / 'built' / 'detector.pt'}' not found (looked at the path); this tracker was "
        "built with them: put them back where they were"
    ), refused.value
    (tmp_path / "moved.pt").rename(tmp_path / "built" / "detector.pt")
    restored.reopen()
    assert loaded[-1] == tmp_path / "built" / "detector.pt"


def test_reopen_of_a_tracker_pickled_before_reopen_existed_says_so(monkeypatch):
    """A checkpoint of a `from_config` tracker pickled by a version before reopen() (no record of who built its
    models) was told "this Tracker was not built by Tracker.from_config", which is false. It says that the pickle
    cannot tell; one pickled now reopens."""
    import copy
    import pickle

    import tracker.detector
    import tracker.embedder
    import tracker.model_setup

    monkeypatch.setattr(tracker.model_setup, "require_model_files", lambda *args: None)
    monkeypatch.setattr(tracker.detector, "build_detector", lambda *args, **kwargs: lambda frame: None)
    monkeypatch.setattr(tracker.embedder, "build_embedder", lambda *args, **kwargs: lambda image, boxes: None)
    built = Tracker.from_config(load_config(None, ["device=cpu"]), frame_rate=FPS)
    built.close()
    recorded_since = ("_config_models", "_reid_identity", "_closings", "_model_config")  # what that pickle lacks
    before = {key: value for key, value in copy.deepcopy(built).__getstate__().items() if key not in recorded_since}
    old = Tracker.__new__(Tracker)
    old.__setstate__(before)  # (what unpickling that version's pickle does)
    with pytest.raises(RuntimeError, match=r"^this Tracker was pickled by a version of the tracker before reopen\(\)"):
        old.reopen()
    restored = pickle.loads(pickle.dumps(built))
    restored.reopen()
    assert restored.detector is not None


@pytest.mark.parametrize("via_stream", [False, True])
def test_a_detector_of_yours_with_boxes_wholly_outside_the_frame_drops_them_as_update_detections(via_stream, caplog):
    """`update_detections(frame_size=...)` drops boxes wholly outside the frame (counted, first warned); `update`
    with a detector of yours that does not clip its boxes tracked them: a box left of a 480x640 frame took ID 1 (a
    track out of view, never reported), the one person in view ID 2, and `outside_detections` read 0 (with a ReID, a
    box above and left of a frame was reported, wholly outside it). They are dropped alike."""
    inside, left = [100.0, 100, 150, 250], [-80.0, 100, -20, 250]
    boxes = np.array([left, inside])

    def detector(frame: np.ndarray) -> tuple[np.ndarray, np.ndarray, None]:
        return boxes, SCORES, None

    tracker = Tracker(load_config(None, ["device=cpu", "reid.model=none"]), frame_rate=FPS, detector=detector)
    with caplog.at_level(logging.WARNING, logger="tracker.types"):
        frames = [FRAME] * 5
        out = list(tracker.stream(frames)) if via_stream else [tracker.update(frame) for frame in frames]
    assert [[(o.track_id, o.detection_index) for o in tracks] for tracks in out] == [[(1, 1)]] * 5
    assert tracker.outside_detections == 5
    assert "dropped 1 detection(s) wholly outside the frame: the frame is 480x640 (height x width)" in caplog.text


@pytest.mark.parametrize(
    ("call", "said"),
    [
        (lambda t: t.update(FRAME, camera_motion_noise=2.0), "update: camera_motion_noise without a camera_motion"),
        (
            lambda t: list(t.stream([FRAME], camera_motion_noise=2.0)),
            "stream: camera_motion_noise without camera_motions",
        ),
    ],
)
def test_a_camera_motion_noise_fault_is_named_for_the_method_called(call, said, caplog):
    """`update(frame, camera_motion_noise=2.0)` without a motion was warned as "update_detections: ...", a method the
    user had not called (`stream`'s too, which takes `camera_motions`); a noise beyond `update`'s frame was refused
    as beyond "frame_size", an argument `update` has not. Each names what the user gave."""
    tracker = scripted_tracker()
    with caplog.at_level(logging.WARNING, logger="tracker"):
        call(tracker)
    assert said in caplog.text and "update_detections" not in caplog.text
    with pytest.raises(ValueError, match=r"larger side \(640 px of the 480x640 frame\)") as refused:
        tracker.update(FRAME, camera_motion=np.eye(3), camera_motion_noise=1e6)
    assert "frame_size" not in str(refused.value)


@pytest.mark.parametrize(
    ("name", "value", "said"),
    [("frame_rate", 60.0, r"Tracker\.frame_rate is fixed .* another rate needs another Tracker"), ("config", None, "")],
)
def test_the_frame_rate_and_config_of_a_built_tracker_cannot_be_reassigned(name, value, said):
    """`tracker.frame_rate = 60` (the video's rate, found after the tracker was built) was taken without a word and
    changed nothing the tracker does: every time limit stays converted with the rate it was built with, while
    `frame_rate` (the run summary's) said 60; `tracker.config = ...` likewise. Both are one AttributeError saying
    to build another Tracker, and the tracker tracks on as before."""
    tracker = scripted_tracker()
    before = outputs(tracker, 3)
    given = load_config(None, ["device=cpu", "lifecycle.min_hits=5"]) if name == "config" else value
    with pytest.raises(AttributeError, match=said or r"Tracker\.config is fixed .* build another Tracker"):
        setattr(tracker, name, given)
    assert (tracker.frame_rate, tracker.config.lifecycle.min_hits) == (FPS, 2)
    again = scripted_tracker()
    assert before + outputs(tracker, 3) == outputs(again, 6)


@pytest.mark.parametrize("when", ["after", "before"])
def test_a_subclass_that_sets_its_config_and_frame_rate_in_its_init_still_builds(when):
    """A subclass of Tracker whose `__init__` keeps its arguments as `self.config` and `self.frame_rate` (the rate
    None: the config's), after `super().__init__` or before it, as it could before they were read-only: it was an
    AttributeError. Setting what the tracker was built with changes nothing; another value is still refused."""

    class Mine(Tracker):
        def __init__(self, config, frame_rate=None):
            if when == "before":
                self.config, self.frame_rate = config, frame_rate
            super().__init__(config, frame_rate, detector=scripted_tracker().detector)
            self.config, self.frame_rate = config, frame_rate

    mine = Mine(load_config(None, ["device=cpu", "reid.model=none"]))
    assert (mine.frame_rate, mine.config.lifecycle.min_hits) == (FPS, 2)
    assert outputs(mine, 4) == outputs(scripted_tracker(), 4)
    mine.frame_rate = float(FPS)
    with pytest.raises(AttributeError, match=r"Tracker\.frame_rate is fixed"):
        mine.frame_rate = 25
    with pytest.raises(AttributeError, match=r"Tracker\.config is fixed"):
        mine.config = mine.config.replace(["lifecycle.min_hits=5"])


def test_a_tracker_pickled_with_its_frame_rate_and_config_as_plain_fields_restores_them():
    """A checkpoint pickled before `frame_rate` and `config` were read-only (its state holds them by those names)
    restores with both and tracks on."""
    built = scripted_tracker()
    state = built.__getstate__()
    state["frame_rate"], state["config"] = state.pop("_frame_rate"), state.pop("_config")
    old = Tracker.__new__(Tracker)
    old.__setstate__(state)
    assert (old.frame_rate, old.config) == (built.frame_rate, built.config)
    assert len(outputs(old, 2)[-1]) == 2


def test_a_detector_of_yours_giving_logits_or_negative_classes_is_warned_once_as_update_detections_is(caplog):
    """`update_detections` warns once of scores outside [0, 1] (every score threshold reads logits wrong) and of
    negative class ids; `update` with a `detector=` of yours returning the same said nothing. It warns the same,
    once, naming the detector."""

    def detector(frame: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        return BOXES, np.array([3.5, -1.0]), np.array([0, -1])

    tracker = Tracker(load_config(None, ["device=cpu", "reid.model=none"]), frame_rate=FPS, detector=detector)
    with caplog.at_level(logging.WARNING, logger="tracker.pipeline"):
        for _ in range(3):
            tracker.update(FRAME)
    said = [r.getMessage() for r in caplog.records]
    assert len(said) == 2, said
    assert said[0].startswith("the detector: detection scores from -1 to 3.5, outside [0, 1]")
    assert said[1].startswith("the detector: negative class id -1")


def test_an_embedder_given_to_a_tracker_without_appearance_is_warned_as_unused(caplog):
    """`Tracker(cfg, embedder=my_reid)` with `appearance.enabled=false`: `update` never calls the embedder, which
    went without a word, as embeddings given to `update_detections` did. It is warned once, when the tracker is
    built; a tracker with appearance, or without an embedder, says nothing."""
    calls = []

    def embedder(frame, boxes):
        calls.append(len(boxes))
        return identity_embeddings(len(boxes), 8)

    off = load_config(None, ["device=cpu", "appearance.enabled=false"])
    with caplog.at_level(logging.WARNING, logger="tracker.pipeline"):
        Tracker(off.replace(["appearance.enabled=true"]), frame_rate=FPS, embedder=embedder)
        Tracker(off, frame_rate=FPS)
        assert caplog.text == ""
        tracker = Tracker(off, frame_rate=FPS, detector=scripted_tracker().detector, embedder=embedder)
        outputs(tracker, 3)
    said = [r.getMessage() for r in caplog.records]
    assert said == ["embedder given with appearance.enabled=false: not used (update never calls it)"] and calls == []


@pytest.mark.parametrize("given", ["embeddings", "embed"])
def test_embeddings_given_to_a_tracker_without_appearance_are_warned_once_as_unused(given, caplog):
    """With `appearance.enabled=false` the embeddings (or `embed`) given to `update_detections` are not used: that
    went without a word (a config copied from a motion-only run silently dropped the user's ReID). It is warned once,
    as unused (not "used as given"); an empty frame's empty embeddings are not warned of."""
    tracker = Tracker(load_config(None, ["device=cpu", "appearance.enabled=false"]), frame_rate=FPS)
    looks = identity_embeddings(2, 8)
    with caplog.at_level(logging.WARNING, logger="tracker.pipeline"):
        tracker.update_detections(np.zeros((0, 4)), [], embeddings=np.empty(0))
        assert caplog.text == ""
        for frame in range(3):
            if given == "embed":
                tracker.update_detections(BOXES + frame, SCORES, embed=lambda rows: looks[rows])
            else:
                tracker.update_detections(BOXES + frame, SCORES, embeddings=looks)
    said = [r.getMessage() for r in caplog.records]
    assert said == [f"update_detections: {given} given with appearance.enabled=false: not used (warned once)"]


def _grid_boxes(count: int) -> np.ndarray:
    """`count` disjoint 10 x 20 px boxes on a grid, as many as a detector's candidates before NMS."""
    rows, cols = np.divmod(np.arange(count), 100)
    return np.stack([cols * 12.0, rows * 22.0, cols * 12.0 + 10, rows * 22.0 + 20], axis=1)


@pytest.mark.parametrize("via_detector", [False, True], ids=["update_detections", "update"])
def test_implausibly_many_detections_are_tracked_and_warned_once(via_detector, caplog):
    """A detector's candidates before non-maximum suppression (8400 for YOLO at 640 px) were tracked without a word:
    a frame took 15-20 s and 3.4 GB, and the user saw a hang. More than `plausible_detections` boxes in one frame are
    still tracked as given, warned once per tracker naming the key and NMS; a frame of exactly that many says
    nothing."""
    cfg = load_config(None, ["device=cpu", "reid.model=none", "plausible_detections=30"])
    counts = [30, 31, 40, 31]
    calls = iter(counts)

    def detector(frame: np.ndarray) -> tuple[np.ndarray, np.ndarray, None]:
        count = next(calls)
        return _grid_boxes(count), np.full(count, 0.9), None

    tracker = Tracker(cfg, frame_rate=FPS, detector=detector if via_detector else None)
    said = []
    with caplog.at_level(logging.WARNING, logger="tracker.pipeline"):
        for count in counts:
            tracked = (
                tracker.update(FRAME) if via_detector else tracker.update_detections(_grid_boxes(count), [0.9] * count)
            )
            said.append([r.getMessage() for r in caplog.records])
            caplog.clear()
    assert said[0] == [], said[0]
    (warning,) = said[1]
    caller = "the detector" if via_detector else "update_detections"
    assert warning.startswith(f"{caller}: 31 detections in one frame, more than plausible_detections=30"), warning
    assert "non-maximum suppression" in warning
    assert said[2:] == [[], []], "warned once per tracker, not every frame"
    assert len(tracked) == 31, "the boxes are tracked as given"
    assert load_config(None).plausible_detections == 1000


@pytest.mark.parametrize("call", ["update", "stream"])
def test_a_tracker_without_a_detector_says_each_way_to_track_frames(call):
    """`Tracker(cfg).update(frame)` said only "build it with Tracker.from_config(...)": a user who built a Tracker
    for their own detector was not told of `update_detections` or `detector=`, which the docstrings name."""
    tracker = Tracker(load_config(None, ["device=cpu"]), frame_rate=FPS)
    with pytest.raises(RuntimeError, match="no detector") as raised:
        tracker.update(FRAME) if call == "update" else next(tracker.stream([FRAME]))
    for way in ("Tracker.from_config", "detector=", "update_detections"):
        assert way in str(raised.value), str(raised.value)


@pytest.mark.parametrize("kind", ["datetime64", "timedelta64", "zoned date column"])
def test_the_remedy_for_dates_is_not_the_cast_that_misread_them(kind):
    """Dates or durations given as scores were refused with "convert it where it is read, e.g. np.asarray(values,
    dtype=float)": that cast is how they were misread (2020-01-01 is 18262.0, days since 1970). The error sends the
    user to the values meant, and says what the cast gives."""
    tracker = Tracker(load_config(), frame_rate=30)
    days = np.array([18262, 18263])
    scores = {
        "datetime64": days.astype("datetime64[D]"),
        "timedelta64": days.astype("timedelta64[s]"),
        "zoned date column": DateColumn(days * 86_400 * 10**9),
    }[kind]
    with pytest.raises(ValueError, match=r"^scores must be numbers, got dates or durations") as caught:
        tracker.update_detections(BOXES, scores)
    assert "dtype=float" not in str(caught.value)
    assert "from the values meant as scores (cast to float, a date or duration is a count of its unit" in str(
        caught.value
    )


def test_boxes_normalised_to_the_unit_square_are_warned_once_where_the_frame_is_known(caplog):
    """A detector giving boxes as fractions of the frame (TF's and MediaPipe's [0, 1] boxes), given as pixels: on a
    640 x 480 frame every box lies within its top-left pixel, and was tracked without a word (ReID crops of less
    than a pixel, border rules all at the corner). Warned once, naming boxes_xyxy and the scaling to do, by
    `update_detections(frame_size=)` and `update` with a detector of yours; boxes of pixels, or no frame size
    (nothing to compare them with), say nothing."""
    unit = BOXES / np.array([640.0, 480.0, 640.0, 480.0])

    def detector(frame: np.ndarray) -> tuple[np.ndarray, np.ndarray, None]:
        return unit, SCORES, None

    config = load_config(None, ["device=cpu", "reid.model=none"])
    with caplog.at_level(logging.WARNING, logger="tracker.pipeline"):
        for _ in range(3):
            Tracker(config, frame_rate=FPS).update_detections(BOXES, SCORES, frame_size=(480, 640))
            Tracker(config, frame_rate=FPS).update_detections(unit, SCORES)
        assert not caplog.records
        own = Tracker(config, frame_rate=FPS)
        by_update = Tracker(config, frame_rate=FPS, detector=detector)
        for _ in range(3):
            own.update_detections(unit, SCORES, frame_size=(480, 640))
            by_update.update(np.zeros((480, 640, 3), np.uint8))
    said = [r.getMessage() for r in caplog.records]
    assert len(said) == 2, said
    assert said[0].startswith("update_detections: every box within [0, 1] on a frame of 480x640 px")
    assert said[1].startswith("the detector: every box within [0, 1] on a frame of 480x640 px")
    assert "boxes_xyxy are pixels: multiply fractions by (width, height, width, height)" in said[0]


def test_boxes_off_the_frame_above_and_left_are_not_taken_for_fractions(caplog):
    """Boxes wholly above and left of the frame (a detector of yours that does not clip, a person who walked out
    at the top-left corner) have every coordinate below 1 px: they were warned as "every box within [0, 1]" (boxes
    of fractions), a wrong diagnosis beside the right one (dropped, wholly outside the frame), and the once-per-
    tracker warning was spent, so boxes of fractions given later said nothing."""
    off_frame = np.array([[-80.0, -200.0, -20.0, -10.0]])
    unit = BOXES / np.array([640.0, 480.0, 640.0, 480.0])
    tracker = Tracker(load_config(None, ["device=cpu", "reid.model=none"]), frame_rate=FPS)
    with caplog.at_level(logging.WARNING, logger="tracker"):
        tracker.update_detections(off_frame, np.array([0.9]), frame_size=(480, 640))
        said = [r.getMessage() for r in caplog.records]
        assert not [s for s in said if "within [0, 1]" in s], said
        assert [s for s in said if "wholly outside the frame" in s], said
        caplog.clear()
        tracker.update_detections(unit, SCORES, frame_size=(480, 640))
    said = [r.getMessage() for r in caplog.records]
    assert [s for s in said if s.startswith("update_detections: every box within [0, 1]")], said
