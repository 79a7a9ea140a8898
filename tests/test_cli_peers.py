"""`track` for users of ultralytics' `yolo track` and BoxMOT's `boxmot track`: their options that `track` has
(`--vid-stride`, `--model`, `--line-width`), and the hint or refusal each of the others gets.

`--vid-stride 2 --model ...` were "unrecognized arguments". The stride's tests use the blob detector of test_cli
(no model files), the last one the real detector and OSNet on the first frames of TUD-Campus.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import cv2
import numpy as np
import pytest
from media import write_video
from test_cli import blob_detector, colour_embedder, scene, use_fake_models, weights_args
from test_resume import checkpoint_every, kill, outputs, stop_at

import tracker.run as run
import tracker.run_summary as run_summary
from tracker.cli import _parser, main
from tracker.cli_args import BOXMOT_OPTIONS, PEER_OPTIONS, TRACK_ONLY_OPTIONS
from tracker.config import load_config
from tracker.io import line_sizes
from tracker.io.video import MAX_LINE_WIDTH, Annotator
from tracker.resume import CHECKPOINT_NAME
from tracker.types import TrackedObject, TrackState

FRAMES = 60  # the synthetic clip's length (two walkers crossing around frame 25)
STRIDE = 2
STOP_AT = 37  # a source frame the stride keeps, where a run is killed
EVERY = 5  # checkpoint interval of the fake clock, in tracked frames
TUD_FRAMES = 16  # the real clip: TUD-Campus's first frames (25 frames/s)


def frame_numbers(txt: Path) -> list[int]:
    """The distinct frame numbers of a MOT txt, in order."""
    return sorted({int(line.split(",")[0]) for line in txt.read_text().splitlines()})


def video_frames(path: Path) -> tuple[int, float]:
    """(frames decoded, frames/s declared) of a video."""
    capture = cv2.VideoCapture(str(path))
    rate, count = capture.get(cv2.CAP_PROP_FPS), 0
    while capture.read()[0]:
        count += 1
    capture.release()
    return count, rate


@pytest.fixture
def clip(tmp_path) -> Path:
    return write_video(tmp_path / "walk.avi", scene(FRAMES))


@pytest.fixture
def fake_models(monkeypatch):
    """The blob detector with a colour ReID; returns the configs `track` builds trackers with."""
    return use_fake_models(monkeypatch, embedder=colour_embedder)


@pytest.fixture
def rates(monkeypatch) -> list[float]:
    """The frame rates `track` builds its trackers at (the blob detector, no ReID), in order."""
    built: list[float] = []

    def from_config(cfg, frame_rate=None, gallery=None):
        built.append(frame_rate)
        return run.Tracker(cfg, frame_rate, detector=blob_detector)

    monkeypatch.setattr(run.Tracker, "from_config", staticmethod(from_config))
    return built


def test_vid_stride_tracks_every_nth_source_frame_at_the_time_between_them(clip, tmp_path, rates):
    """`--vid-stride 2` tracks source frames 1, 3, 5, ...: the txt and JSONL keep those numbers, the tracker is
    built at the source's rate / 2 (the time between the frames it is given), and the mp4 holds the tracked frames
    only, at that rate (a video of the source's length would replay each frame twice as long)."""
    out = tmp_path / "s2"
    assert main([str(clip), "--vid-stride", str(STRIDE), "--out", str(out), "--quiet"]) == 0
    numbers = frame_numbers(out / "walk.txt")
    assert numbers and set(numbers) <= set(range(1, FRAMES + 1, STRIDE)), numbers
    jsonl = [json.loads(line)["frame"] for line in (out / "walk.jsonl").read_text().splitlines()]
    assert jsonl == list(range(1, FRAMES + 1, STRIDE)), jsonl
    assert rates == [25 / STRIDE]
    assert video_frames(out / "walk.mp4") == (FRAMES // STRIDE, 25 / STRIDE)
    summary = json.loads((out / "summary.json").read_text())
    assert summary["frames"] == FRAMES // STRIDE and summary["corrupt_frames"] == 0, summary
    # the rate is the tracked frames' (the source's / N), and the stride says why: not a 12.5 frames/s source
    assert summary["frame_rate"] == 25 / STRIDE and summary["vid_stride"] == STRIDE, summary


def test_max_frames_counts_source_frames_with_a_stride(clip, tmp_path, rates):
    """`--max-frames 10 --vid-stride 3` stops after the source's first 10 frames: it tracks 1, 4, 7 and 10."""
    out = tmp_path / "s3"
    assert main([str(clip), "--vid-stride", "3", "--max-frames", "10", "--out", str(out), "--quiet"]) == 0
    jsonl = [json.loads(line)["frame"] for line in (out / "walk.jsonl").read_text().splitlines()]
    assert jsonl == [1, 4, 7, 10], jsonl


@pytest.mark.parametrize(
    ("options", "tracked", "bar"),
    [
        ([], 71, 71),
        (["--max-frames", "6"], 6, 6),
        (["--vid-stride", "2"], 36, 36),
        (["--vid-stride", "2", "--max-frames", "6"], 3, 3),
    ],
    ids=["all", "max-frames", "vid-stride", "both"],
)
def test_an_image_folder_s_summary_gives_the_frames_it_expected(
    options, tracked, bar, shared, tmp_path, rates, monkeypatch, capsys
):
    """TUD-Campus's image folder (71 images): summary.json gave no `expected_frames` (only inside `ended_early`, for
    a video), so a run's `frames` could not be told from a whole run's; its count is the folder's file list, at
    `--vid-stride 2` the 36 it keeps. The printed summary says how far short of it a run stopped, the progress bar
    counts in the same frames (to a `--max-frames` first)."""
    import tqdm

    totals: list[int | None] = []

    class Bar(tqdm.tqdm):
        def __init__(self, *args, **kwargs):
            totals.append(kwargs.get("total"))
            super().__init__(*args, **kwargs)

    monkeypatch.setattr(tqdm, "tqdm", Bar)
    sequence = shared / "data" / "MOT15" / "train" / "TUD-Campus"
    out = tmp_path / "run"
    assert main([str(sequence / "img1"), *options, "--fps", "25", "--no-save-video", "--out", str(out)]) == 0
    summary = json.loads((out / "summary.json").read_text())
    assert summary["frames"] == tracked and summary["expected_frames"] == (36 if "--vid-stride" in options else 71)
    assert totals == [bar], totals
    said = capsys.readouterr().out.splitlines()[0]
    short = f", of the {summary['expected_frames']} to the source's end"
    assert said.endswith(short) if tracked < summary["expected_frames"] else short not in said, said


def test_a_video_s_summary_at_a_stride_names_its_tracked_and_its_source_frames_apart(shared, tmp_path, rates, capsys):
    """people.mp4 (302 frames in its header) at `--vid-stride 2 --max-frames 6`: `expected_frames` is the 151 frames
    it would track to the end, in `frames`' unit, as the printed summary says; the header's 302 is
    `expected_source_frames`, the name `ended_early` gives it too (it called it `expected_frames`, which at a stride
    held the other number)."""
    video = shared / "videos" / "people.mp4"
    header = int(cv2.VideoCapture(str(video)).get(cv2.CAP_PROP_FRAME_COUNT))
    out = tmp_path / "run"
    options = ["--vid-stride", "2", "--max-frames", "6", "--no-save-video", "--out", str(out)]
    assert main([str(video), *options]) == 0
    summary = json.loads((out / "summary.json").read_text())
    assert (summary["frames"], summary["expected_frames"], summary["expected_source_frames"]) == (3, 151, header)
    assert header == 302 and summary["vid_stride"] == 2 and "ended_early" not in summary
    assert capsys.readouterr().out.splitlines()[0].endswith(", of the 151 to the source's end")
    cut = run.RunSummary(frames=40, vid_stride=2, ended_early=81, expected_frames=302, to_track=151).to_json()
    assert cut["ended_early"] == {"last_frame": 81, "expected_source_frames": 302}, cut
    assert (cut["expected_frames"], cut["expected_source_frames"]) == (151, 302)


def test_several_sources_sum_their_frame_counts_and_keep_the_cut_video_s_own():
    """`track a.mp4 b.mp4`'s one summary: `expected_frames` and `expected_source_frames` are the sources' sums (None
    where one's is unknown), while `ended_early` keeps the count the cut video's header announced. The source count
    was that video's alone (or null when none was cut), beside a summed `expected_frames`."""
    whole = run.RunSummary(frames=151, vid_stride=2, expected_frames=302, to_track=151)
    cut = run.RunSummary(frames=40, vid_stride=2, ended_early=81, expected_frames=200, to_track=100)
    both = run_summary.combine([whole, cut]).to_json()
    assert (both["expected_frames"], both["expected_source_frames"]) == (251, 502), both
    assert both["ended_early"] == {"last_frame": 81, "expected_source_frames": 200}, both
    live = run.RunSummary(frames=10)
    assert run_summary.combine([whole, live]).to_json()["expected_source_frames"] is None


@pytest.fixture
def frame_clock(monkeypatch):
    """Checkpoints every EVERY tracked frames (`test_resume.checkpoint_every`)."""
    checkpoint_every(monkeypatch, EVERY)


@pytest.mark.parametrize("video", [[], ["--no-save-video"]], ids=["video", "no-video"])
def test_a_killed_strided_run_resumes_to_the_outputs_of_an_uninterrupted_one(
    video, clip, tmp_path, monkeypatch, fake_models, frame_clock, capsys
):
    """A `--vid-stride 2` run killed at source frame 37 and resumed with `--vid-stride 2` writes the txt, JSONL and
    video of one never stopped (with a video, the frames before the checkpoint drawn again; without, passed over
    undecoded); resumed without the stride (or with another) it is refused, naming the stride (not the tracker's
    rate it sets) and `--vid-stride 2`."""
    stride = ["--vid-stride", str(STRIDE), *video]
    assert main([str(clip), *stride, "--out", str(tmp_path / "whole"), "--quiet"]) == 0
    whole = outputs(tmp_path / "whole", "walk")
    out = tmp_path / "run"
    with monkeypatch.context() as m:
        stop_at(m, STOP_AT, kill)
        assert main([str(clip), *stride, "--out", str(out), "--quiet"]) == 130
    assert (out / CHECKPOINT_NAME).exists()
    capsys.readouterr()
    for other in ([], ["--vid-stride", "3"]):
        assert main([str(clip), "--resume", "--out", str(out), "--quiet", *other, *video]) == 2
        err = capsys.readouterr().err
        assert "vid_stride: 2 then" in err, err
        # the tracker's rate follows the stride: not named as a change of its own (it was 'frame_rate: 12.5 then,
        # 25.0 now', a rate the user never gave), and the option to resume with is
        assert "frame_rate" not in err and "resume with --vid-stride 2" in err, err
    assert main([str(clip), "--resume", "--out", str(out), "--quiet", *stride]) == 0
    assert outputs(out, "walk") == whole
    if not video:
        tracked = (FRAMES // STRIDE, 25 / STRIDE)  # (frames, frames/s)
        assert video_frames(out / "walk.mp4") == video_frames(tmp_path / "whole" / "walk.mp4") == tracked
    assert not (out / CHECKPOINT_NAME).exists()


def test_the_same_ids_as_the_every_other_frame_clip_at_half_the_rate(shared, shared_weights, tmp_path, monkeypatch):
    """The real detector and OSNet: TUD-Campus (25 frames/s) with `--vid-stride 2` gives source frames 1, 3, 5, ...
    and the same IDs and boxes as its odd frames copied into a folder tracked at 12.5 frames/s (the tracker sees
    the true time between the frames it is given). The models load once (as for several sources of one run)."""
    load = run.Tracker.from_config
    loaded: list[run.Tracker] = []

    def from_config(cfg, frame_rate=None, gallery=None):
        if not loaded:
            loaded.append(load(cfg, frame_rate=frame_rate, gallery=gallery))
            return loaded[0]
        return run.Tracker(cfg, frame_rate, detector=loaded[0].detector, embedder=loaded[0].embedder)

    monkeypatch.setattr(run.Tracker, "from_config", staticmethod(from_config))
    sequence = shared / "data" / "MOT15" / "train" / "TUD-Campus"
    odd = tmp_path / "odd"
    odd.mkdir()
    for number in range(1, TUD_FRAMES + 1, STRIDE):
        shutil.copy(sequence / "img1" / f"{number:06d}.jpg", odd)
    models = weights_args(shared_weights)
    strided = ["--vid-stride", str(STRIDE), "--max-frames", str(TUD_FRAMES)]
    assert main([str(sequence), *strided, *models, "--out", str(tmp_path / "s2"), "--quiet"]) == 0
    assert main([str(odd), "--fps", "12.5", *models, "--out", str(tmp_path / "odd_run"), "--quiet"]) == 0
    rows = np.loadtxt(tmp_path / "s2" / "TUD-Campus.txt", delimiter=",", ndmin=2)
    alone = np.loadtxt(tmp_path / "odd_run" / "odd.txt", delimiter=",", ndmin=2)
    assert sorted(set(rows[:, 0])) == list(range(1, TUD_FRAMES + 1, STRIDE))
    assert len(set(rows[:, 1])) > 1  # (several people: IDs to keep apart)
    rows[:, 0] = (rows[:, 0] - 1) // STRIDE + 1  # source frame 2k - 1 is the odd folder's frame k
    np.testing.assert_array_equal(rows, alone)


def test_model_is_the_detector_weights_option(clip, tmp_path, monkeypatch, fake_models, capsys):
    """`--model PATH` (ultralytics' model=, BoxMOT's --yolo-model) sets detector.model, a path with YAML's special
    characters as it is; a `--set detector.model=` that says otherwise is a usage error naming both."""
    weights = tmp_path / "my: [models]" / "best.pt"
    assert main([str(clip), "--model", str(weights), "--max-frames", "2", "--out", str(tmp_path / "m"), "-q"]) == 0
    assert fake_models[-1].detector.model == str(weights)
    for command in ([], ["batch", "--out", str(tmp_path / "batch")]):  # (`track batch --model` too)
        with pytest.raises(SystemExit) as stopped:
            main([*command, str(clip), "--model", "a.pt", "--set", "detector.model=b.pt"])
        assert stopped.value.code == 2, stopped.value.code  # (a usage error: exit status 2)
        err = capsys.readouterr().err
        assert "--model and --set detector.model=b.pt say different things" in err, err


def test_a_missing_model_says_the_option_it_was_given_with(clip, tmp_path, monkeypatch, capsys):
    """`track cam.mp4 --model missing.pt`: the error says how to give the detector as the user did, with `--model`
    (it said only `--set detector.model=PATH`), and names the file."""
    monkeypatch.delenv("TRACKER_WEIGHTS_DIR", raising=False)
    missing = tmp_path / "missing.pt"
    assert main([str(clip), "--model", str(missing), "--out", str(tmp_path / "m"), "-q"]) == 2
    err = capsys.readouterr().err
    assert f"'{missing}' not found" in err and "`--model PATH` in track and track batch" in err, err
    assert "--set detector.model=PATH" in err, err  # eval and compare take the detector so


def test_line_width_draws_boxes_that_wide():
    """`Annotator(line_width)` (`--line-width`) draws a box's sides `line_width` pixels wide, whatever the frame's
    size; by default they scale with it; below 1 is refused."""
    box = TrackedObject(1, np.array([100.0, 100.0, 300.0, 300.0]), 0.9, 0, TrackState.TRACKED, 0)
    frame = np.zeros((480, 640, 3), np.uint8)
    column = 200  # across the box's top side, under no label
    drawn = {w: int((Annotator(w).draw(frame, [box])[:, column].max(axis=1) > 0)[90:130].sum()) for w in (None, 9)}
    assert drawn[9] >= 9 > drawn[None], drawn
    with pytest.raises(ValueError, match="line width"):
        Annotator(0)


def _trail_reach(stride: int, frame_rate: float | None, step: float = 4.0) -> int:
    """Pixels below its box that a trail reaches once an ID has walked up `step` px per source frame for 100 frames,
    drawn every `stride`-th frame by an `Annotator` told `frame_rate` (frames/s of the frames drawn)."""
    annotator, frame, drawn, bottom = Annotator(frame_rate=frame_rate), np.zeros((640, 200, 3), np.uint8), None, 0
    for number in range(0, 100, stride):
        top = 500.0 - step * number
        bottom = round(top) + 60
        box = TrackedObject(1, np.array([80.0, top, 120.0, top + 60]), 0.9, 0, TrackState.TRACKED, 0)
        drawn = annotator.draw(frame, [box])
    assert drawn is not None
    below = np.flatnonzero(drawn[:, 100].max(axis=1) > 0)  # (the box's centre column: its side, then the trail)
    return int(below.max()) - bottom


def test_a_stride_draws_trails_as_long_in_time():
    """A trail was its ID's last 30 drawn frames: at `--vid-stride 2` (every other frame drawn, at 12.5 frames/s)
    it reached back 2.4 s of the source's time, twice the 1.2 s of the same clip drawn at 25 frames/s; at 50
    frames/s half as far back. The trail's length is in seconds of the source's time (`TRAIL_SECONDS`): the same reach
    whatever the stride or the rate, within one drawn frame's step."""
    every = _trail_reach(1, 25.0)
    assert abs(every - 29 * 4) <= 2, every  # (the 30 points of 1.2 s at 25 frames/s, as drawn before; its line's width)
    assert abs(_trail_reach(2, 12.5) - every) <= 2 * 4, (_trail_reach(2, 12.5), every)
    assert _trail_reach(1, None) == every  # (not told: 25 frames/s)
    assert abs(_trail_reach(1, 50.0, step=2.0) - every) <= 4  # (the same walk filmed at 50 frames/s)
    with pytest.raises(ValueError, match="frame rate"):
        Annotator(frame_rate=0.0)


def _person(left: float, recovered: bool = False) -> TrackedObject:
    """ID 1's box, 20 px wide and 60 px tall, its bottom centre at (left + 10, 200)."""
    return TrackedObject(1, np.array([left, 140.0, left + 20, 200.0]), 0.9, 0, TrackState.TRACKED, 0, recovered)


@pytest.mark.parametrize("rate", [12.5, 50.0])
def test_the_back_mark_and_a_hidden_trail_last_seconds_of_the_source(rate):
    """ea8c159 made the "back" mark (1.2 s) and a hidden ID's kept trail (2.4 s) seconds of the source's time, as
    the trail itself: 30 and 60 drawn frames at 25 frames/s, 15 and 30 at `--vid-stride 2`'s 12.5, 60 and 120 at 50.
    The mark's white outer frame shows on that many drawn frames; an ID hidden that many frames joins its old trail
    on return (a line between its two places), one frame longer starts a new one."""
    frame = np.zeros((240, 240, 3), np.uint8)
    annotator = Annotator(frame_rate=rate)
    marked = [bool((annotator.draw(frame, [_person(40, n == 0)]) == 255).all(axis=2).any()) for n in range(200)]
    assert marked.index(False) == round(1.2 * rate) and not any(marked[marked.index(False) :]), marked
    for hidden, joined in ((round(2.4 * rate), True), (round(2.4 * rate) + 1, False)):
        annotator = Annotator(frame_rate=rate)
        annotator.draw(frame, [_person(40)])
        for _ in range(hidden):
            annotator.draw(frame, [])
        drawn = annotator.draw(frame, [_person(140)])
        assert bool(drawn[195:206, 100].any()) == joined, (hidden, joined)  # (midway between the two places)


@pytest.mark.parametrize(("seconds", "reach"), [(2.4, 59 * 4), (0.0, 0)])
def test_the_trail_reaches_back_the_configured_seconds(seconds, reach):
    """The trail's length was the constant TRAIL_SECONDS (1.2 s), which no user could change; it is the config key
    `video.trail_seconds` (2.4: a walk twice as long; 0: no trail at all)."""
    video = load_config(None, [f"video.trail_seconds={seconds}"]).video
    annotator, frame, drawn, bottom = (
        Annotator(frame_rate=25.0, video=video),
        np.zeros((640, 200, 3), np.uint8),
        None,
        0,
    )
    for number in range(100):
        top = 500.0 - 4.0 * number
        bottom = round(top) + 60
        drawn = annotator.draw(
            frame, [TrackedObject(1, np.array([80.0, top, 120.0, top + 60]), 0.9, 0, TrackState.TRACKED, 0)]
        )
    assert drawn is not None
    below = np.flatnonzero(drawn[:, 100].max(axis=1) > 0)
    assert abs((int(below.max()) - bottom) - reach) <= 2, (int(below.max()) - bottom, reach)


def test_a_hidden_trail_is_kept_the_configured_seconds():
    """A hidden ID's trail was kept the constant TRAIL_KEEP_SECONDS (2.4 s); `video.trail_keep_seconds` sets it."""
    frame = np.zeros((240, 240, 3), np.uint8)
    video = load_config(None, ["video.trail_keep_seconds=1.0"]).video
    for hidden, joined in ((25, True), (26, False)):  # (1 s at 25 frames/s)
        annotator = Annotator(frame_rate=25.0, video=video)
        annotator.draw(frame, [_person(40)])
        for _ in range(hidden):
            annotator.draw(frame, [])
        drawn = annotator.draw(frame, [_person(140)])
        assert bool(drawn[195:206, 100].any()) == joined, (hidden, joined)


def test_track_draws_with_the_trail_seconds_its_config_gives(clip, tmp_path, monkeypatch, fake_models):
    """`track --set video.trail_seconds=3` reaches the drawing (and the run's saved `config.yaml`)."""
    given = []
    real = run.Annotator
    monkeypatch.setattr(run, "Annotator", lambda *a: given.append(a[2]) or real(*a))
    out = tmp_path / "w"
    assert main([str(clip), "--set", "video.trail_seconds=3", "--max-frames", "2", "--out", str(out), "-q"]) == 0
    assert [v.trail_seconds for v in given] == [3.0], given
    assert "trail_seconds: 3.0" in (out / "config.yaml").read_text()


@pytest.fixture
def annotators(monkeypatch):
    """The (line_width, frame_rate) of each `Annotator` a `track` run builds (the real one draws)."""
    made: list[tuple[int | None, float | None]] = []
    real = run.Annotator

    def annotator(line_width=None, frame_rate=None, video=None):
        made.append((line_width, frame_rate))
        return real(line_width, frame_rate, video)

    monkeypatch.setattr(run, "Annotator", annotator)
    return made


def test_the_video_is_drawn_at_the_tracked_rate(clip, tmp_path, annotators, fake_models):
    """`track --vid-stride 2` of a 25 frames/s clip draws at 12.5 frames/s: its trails' seconds are the source's."""
    assert main([str(clip), "--vid-stride", "2", "--max-frames", "4", "--out", str(tmp_path / "w"), "-q"]) == 0
    rates = [rate for _, rate in annotators]
    assert rates == [12.5], rates


def test_a_line_width_beyond_what_opencv_draws_is_refused_before_any_frame(clip, tmp_path, monkeypatch, capsys):
    """`--line-width 40000` is one usage error naming the option and its largest value, before a model loads; it
    tracked the first frame, then stopped with OpenCV's traceback (`thickness <= MAX_THICKNESS in function
    'rectangle'`). The largest width accepted draws a recovered ID (its outer frame twice as wide) without error."""
    monkeypatch.setattr(run, "Tracker", None)  # no tracker may be built
    with pytest.raises(SystemExit) as stop:
        main([str(clip), "--line-width", "40000", "--out", str(tmp_path / "w"), "-q"])
    assert stop.value.code == 2
    err = capsys.readouterr().err
    assert f"argument --line-width: must be at most {MAX_LINE_WIDTH}, got 40000" in err, err
    assert "Traceback" not in err and not (tmp_path / "w").exists()
    with pytest.raises(ValueError, match="line width"):
        Annotator(MAX_LINE_WIDTH + 1)
    back = TrackedObject(1, np.array([10.0, 10.0, 30.0, 30.0]), 0.9, 0, TrackState.TRACKED, 0, recovered=True)
    assert Annotator(MAX_LINE_WIDTH).draw(np.zeros((48, 64, 3), np.uint8), [back]).any()


def test_a_line_width_with_no_video_to_draw_is_a_usage_error(clip, tmp_path, monkeypatch, capsys):
    """`--line-width 4 --no-save-video` (no `--show`) draws nothing: one usage error saying so, before a model
    loads; it tracked the whole source and the option did nothing, silently. With `--show` the width is the
    window's, and is taken."""
    monkeypatch.setattr(run, "Tracker", None)  # no tracker may be built
    with pytest.raises(SystemExit) as stop:
        main([str(clip), "--line-width", "4", "--no-save-video", "--out", str(tmp_path / "w"), "-q"])
    assert stop.value.code == 2
    err = capsys.readouterr().err
    assert "--line-width draws the annotated video, which --no-save-video turns off" in err, err
    assert not (tmp_path / "w").exists()
    monkeypatch.delenv("DISPLAY", raising=False)  # --show then stops at its own check, past the usage errors
    assert main([str(clip), "--line-width", "4", "--no-save-video", "--show", "--out", str(tmp_path / "s")]) == 2
    assert "--show needs a display" in capsys.readouterr().err


def test_line_width_reaches_the_video(clip, tmp_path, annotators, fake_models):
    """`track --line-width 7` draws its video with that width."""
    assert main([str(clip), "--line-width", "7", "--max-frames", "2", "--out", str(tmp_path / "w"), "-q"]) == 0
    widths = [width for width, _ in annotators]
    assert widths == [7]


PEER_TOLD = {  # a `yolo track` / `boxmot track` habit: what `track` says of it
    "--agnostic-nms": "for ultralytics' --agnostic-nms, give no option: ultralytics' non-maximum suppression runs "
    "per class",
    "--agnostic_nms": "for ultralytics' --agnostic-nms, give no option",
    "--max-det": "for ultralytics' --max-det, give no option: this tracker keeps the boxes of ultralytics' default",
    "--img": "for ultralytics' --img, give --set detector.image_size=VALUE",
    "--img-size": "for ultralytics' --img-size, give --set detector.image_size=VALUE",
    "--exist-ok": "for ultralytics' --exist-ok, give --out DIR",
    "--weights": "for ultralytics' --weights, give --model PATH for the detector's",
    "--save-conf": "for ultralytics' --save-conf, give no option: the JSONL holds each box's score",
    "--save-crop": "for ultralytics' --save-crop, give no option: no crops are written",
    "--show-labels": "for ultralytics' --show-labels, give no option: the annotated mp4 always labels",
    "--show-conf": "for ultralytics' --show-conf, give no option: the annotated mp4 shows no scores",
    "--stream-buffer": "for ultralytics' --stream-buffer, give no option",
    "--persist": "for ultralytics' --persist, give no option: IDs persist",
    "--yolo-model": "for BoxMOT's --yolo-model, give --model PATH",
    "--save-id-crops": "for BoxMOT's --save-id-crops, give no option: no crops are written",
    "--vid_stride": "write it with dashes (--vid-stride)",
    "--line_width": "write it with dashes (--line-width)",
}


@pytest.mark.parametrize("option", list(PEER_TOLD))
def test_each_peer_option_is_told_ours_or_why_there_is_none(option, tmp_path, monkeypatch, capfd):
    """Each of these was "unrecognized arguments"; now one line says what to give here, or why nothing, before
    anything loads."""
    monkeypatch.chdir(tmp_path)
    with pytest.raises(SystemExit) as stopped:
        main(["walk.mp4", option, "1"])
    assert stopped.value.code == 2, stopped.value.code  # (a usage error: exit status 2)
    err = capfd.readouterr().err.strip().splitlines()[-1]
    assert err.startswith(f"track: error: {option} is not an option of track: {PEER_TOLD[option]}"), err
    assert option.replace("_", "-") in PEER_OPTIONS or "dashes" in err or "BoxMOT" in err


@pytest.mark.parametrize(
    ("command", "option", "says"),
    [
        (["batch", "--out", "out"], "--vid-stride", "a batch tracks every frame of each video"),
        (["batch", "--out", "out"], "--line-width", "a batch draws each video's boxes at the width scaled"),
        (["eval"], "--vid-stride", TRACK_ONLY_OPTIONS["--vid-stride"]),
        (["eval"], "--line-width", TRACK_ONLY_OPTIONS["--line-width"]),
        (["eval"], "--model", "give the detector as --set detector.model=PATH"),
        (["compare"], "--model", "give the detector as --set detector.model=PATH"),
    ],
)
def test_options_of_track_alone_are_refused_by_its_other_commands(command, option, says, tmp_path, monkeypatch, capfd):
    """`track batch` and `track eval` have no `--vid-stride` (eval's scores are of every frame) nor `--line-width`:
    each says so and what does it, instead of "unrecognized arguments"."""
    monkeypatch.chdir(tmp_path)
    prog = f"track {command[0]}"
    with pytest.raises(SystemExit) as stopped:
        main([*command, *(["walk.mp4"] if command[0] == "batch" else []), option, "2"])
    assert stopped.value.code == 2, stopped.value.code  # (a usage error: exit status 2)
    err = capfd.readouterr().err.strip().splitlines()[-1]
    assert err.startswith(f"{prog}: error: {option} is an option of track, not of {prog}: {says}"), err
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize(
    ("word", "says"),
    [
        ("vid_stride=2", "vid_stride=2 is ultralytics' setting: give --vid-stride 2"),
        ("model=yolo11n.pt", "model=yolo11n.pt is ultralytics' setting: give --model yolo11n.pt"),
        ("line_width=3", "line_width=3 is ultralytics' setting: give --line-width 3"),
        ("show=True", "show=True is ultralytics' setting: give --show"),
        ("show=False", "show=False is ultralytics' setting: leave --show out (it is off unless given)"),
        ("verbose=False", "verbose=False is ultralytics' setting: leave --verbose out (it is off unless given)"),
        ("classes=[0,2]", "classes=[0,2] is ultralytics' setting: give --classes 0 2"),
        ("device=0", "device=0 is ultralytics' setting: give --device cuda:0"),
        ("save_txt=True", f"save_txt=True is ultralytics' setting: give {PEER_OPTIONS['--save-txt']}"),
        ("project=runs", f"project=runs is ultralytics' setting: give {PEER_OPTIONS['--project']}"),
        ("save=False", f"save=False is ultralytics' setting: give {BOXMOT_OPTIONS['--save']}"),
    ],
)
def test_ultralytics_words_of_our_options_are_told_the_option(word, says, tmp_path, monkeypatch, capfd):
    """`track cam.mp4 vid_stride=2` (as `yolo track` takes it) said "no file or folder, nor a setting --set takes:
    unknown config key"; it names the option now. A switch is told as one: `show=False` was told "give --show
    False", itself a usage error ("unrecognized arguments: False"), as were `classes=[0,2]`'s "--classes [0,2]" and
    `device=0`'s "--device 0"; ultralytics' keys that `track` has no option of (`save_txt=True`, `project=runs`)
    listed the config's sections instead of what to give, as their `--save-txt` and `--project` say."""
    monkeypatch.chdir(tmp_path)
    assert main(["walk.mp4", word]) == 2
    assert capfd.readouterr().err.strip() == f"track: error: {says}"


def test_frames_the_stride_passes_over_are_not_read(tmp_path, rates):
    """An image folder whose 2nd image is damaged: `--vid-stride 2` never reads it (a skipped frame is not counted
    as unreadable in summary.json), as every frame tracked counts it."""
    folder = tmp_path / "frames"
    folder.mkdir()
    for number, image in enumerate(scene(6), start=1):
        cv2.imwrite(str(folder / f"{number:06d}.png"), image)
    (folder / "000002.png").write_bytes(b"not an image")
    for stride, unreadable in ((STRIDE, 0), (1, 1)):
        out = tmp_path / f"s{stride}"
        assert main([str(folder), "--vid-stride", str(stride), "--fps", "25", "--out", str(out), "-q"]) == 0
        assert json.loads((out / "summary.json").read_text())["corrupt_frames"] == unreadable


def test_a_strided_gallery_run_to_the_last_frame_is_not_cut_short(clip, tmp_path, fake_models, capsys):
    """`--max-frames 60 --vid-stride 2` of a 60-frame clip tracks it to its end (its last tracked frame is 59): with
    a gallery, it was told "stopped ... before the end" and kept a checkpoint to go on from."""
    args = [str(clip), "--vid-stride", str(STRIDE), "--gallery", str(tmp_path / "g.gallery"), "-q"]
    assert main([*args, "--max-frames", str(FRAMES), "--out", str(tmp_path / "all")]) == 0
    err = capsys.readouterr().err
    assert "before the end" not in err and not (tmp_path / "all" / CHECKPOINT_NAME).exists(), err
    assert main([*args, "--max-frames", str(FRAMES - 3), "--out", str(tmp_path / "cut"), "--relink"]) == 0
    assert "before the end" in capsys.readouterr().err  # (frame 59 is left: cut short)


def test_a_strided_run_cut_by_max_frames_says_the_frames_it_was_given(clip, tmp_path, fake_models, capsys):
    """`--max-frames 20 --vid-stride 2 --gallery g`: the note said "stopped after 10 frames (--max-frames)", as if
    10 were the count given; it now names both options and the source frames they stand for."""
    args = [str(clip), "--vid-stride", str(STRIDE), "--gallery", str(tmp_path / "g.gallery"), "-q"]
    assert main([*args, "--max-frames", "20", "--out", str(tmp_path / "cut")]) == 0
    err = capsys.readouterr().err
    said = "stopped after 10 frames, one in 2 of the source's first 20 (--max-frames 20 --vid-stride 2), before the end"
    assert said in err, err


def test_a_stride_that_leaves_too_slow_a_rate_is_one_error_naming_it(clip, tmp_path, rates, capsys):
    """`--fps 0.001 --vid-stride 2` (0.0005 frames/s) said "frame_rate must be at least 0.001", an option not given."""
    assert main([str(clip), "--fps", "0.001", "--vid-stride", "2", "--out", str(tmp_path / "slow"), "-q"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("track: error: --vid-stride 2 of walk's 0.001 frames/s tracks 0.0005 frames/s"), err
    assert "give a smaller --vid-stride" in err and rates == []


def test_track_gallery_is_not_told_to_give_a_set_it_has_not(tmp_path, monkeypatch, capfd):
    """`track gallery ls FILE --model x` is no tracking command: it is not told "--set detector.model=PATH", an
    option it does not take."""
    monkeypatch.chdir(tmp_path)
    with pytest.raises(SystemExit) as stopped:
        main(["gallery", "ls", "site.gallery", "--model", "x.pt"])
    assert stopped.value.code == 2, stopped.value.code  # (a usage error: exit status 2)
    err = capfd.readouterr().err
    assert "unrecognized arguments: --model x.pt" in err and "--set" not in err, err


def test_a_strided_runs_summary_says_its_stride_and_an_unstrided_one_says_nothing_new():
    """The printed summary and summary.json of a `--vid-stride 3` run say 1 source frame in 3 was tracked (its
    frame_rate is the tracked frames'); a run without the option keeps its summary as before; several sources
    combined keep the one stride."""
    from tracker.run_summary import RunSummary, combine

    strided = RunSummary(frames=10, seconds=1.0, frame_rate=25 / 3, vid_stride=3, name="a")
    assert "tracked 10 frames in 1.0 s (10.0 frames/s), 1 source frame in 3 (--vid-stride 3)" in strided.describe()
    assert strided.to_json()["vid_stride"] == 3
    plain = RunSummary(frames=10, seconds=1.0, frame_rate=25.0)
    assert "vid_stride" not in plain.to_json() and "source frame in" not in plain.describe()
    other = RunSummary(frames=5, seconds=1.0, frame_rate=25 / 3, vid_stride=3, name="b")
    assert combine([strided, other]).to_json()["vid_stride"] == 3


def test_the_line_width_help_states_the_widths_the_drawing_uses(monkeypatch):
    """`track --help` wrote `--line-width`'s range (16383) as a literal beside the code's `MAX_LINE_WIDTH`, and not
    the default width at all: a change of either left the help saying another value. It reads both from where the
    drawing takes them (`tracker.io.line_sizes`)."""
    monkeypatch.setattr(line_sizes, "MAX_LINE_WIDTH", 999)
    monkeypatch.setattr(line_sizes, "LINE_WIDTH", 5)
    monkeypatch.setattr(line_sizes, "REFERENCE_HEIGHT", 1080)
    (action,) = [a for a in _parser()._actions if "--line-width" in a.option_strings]
    assert "(1 to 999)" in action.help and "(default: 5 at 1080 rows, scaled with the frame's height)" in action.help
