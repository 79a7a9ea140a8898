"""Frame rate: an absurd declared rate is not believed (warning, fallback, --fps), and the same physical scene gives
the same outcome sampled anywhere from 2 to 60 frames/s, motion only and with embeddings."""

from __future__ import annotations

import numpy as np
import pytest
from media import write_video
from test_cli import fake_models, scene  # noqa: F401  (fixture)

from tracker import Tracker, load_config
from tracker.cli import main
from tracker.config import ConfigError
from tracker.frame_rate import FrameRateChoice, choose_frame_rate, frames_at_least
from tracker.io.mot import read_mot_rows
from tracker.io.sources import timestamp_rate
from tracker.testing import Walker, identity_embeddings, render

DIM = 64
NOISE = 0.03
SECONDS = 8.0
HEIGHT = 120.0  # px
SPEEDS = (1.0, 1.5)  # box heights per second: a brisk walk, a run
CROSS_AT = 4.0  # s: the two meet here
ENTERS_AT = 2.0  # s: a third person walks in (a track born mid-scene, whose velocity starts unknown)
HIDDEN = (3.5, 4.5)  # s: B is behind A for about one second
MIN_REPORTED = 0.8
PEOPLE = 3


def crossing_walkers(fps: float, speed: float = SPEEDS[0] * HEIGHT) -> list[Walker]:
    """A walks right, B walks left 15 px lower and is hidden behind A for ~1 s around the crossing; C walks in
    diagonally at 2 s, far from both. `speed` in px/s."""
    x_meet = 640.0

    def a(frame: int) -> tuple[float, float]:
        return (x_meet + speed * (frame / fps - CROSS_AT), 300.0)

    def b(frame: int) -> tuple[float, float]:
        return (x_meet - speed * (frame / fps - CROSS_AT), 315.0)

    def b_visible(frame: int) -> bool:
        return not HIDDEN[0] <= frame / fps < HIDDEN[1]

    def c(frame: int) -> tuple[float, float]:
        t = frame / fps - ENTERS_AT
        return (150.0 + 0.6 * speed * t, 650.0 - 0.8 * speed * t)

    size = (50.0, HEIGHT)
    return [
        Walker(0, a, size=size),
        Walker(1, b, size=size, visible=b_visible),
        Walker(2, c, size=size, visible=lambda frame: frame / fps >= ENTERS_AT),
    ]


def track_scene(
    fps: float, appearance: bool, speed: float = SPEEDS[0] * HEIGHT
) -> tuple[dict[int, set[int]], dict[int, float]]:
    cfg = load_config(None, overrides=["device=cpu", f"appearance.enabled={str(appearance).lower()}"])
    tracker = Tracker(cfg, frame_rate=fps)
    walkers = crossing_walkers(fps, speed)
    identities = identity_embeddings(PEOPLE, DIM)
    rng = np.random.default_rng(0)
    ids: dict[int, set[int]] = {k: set() for k in range(PEOPLE)}
    detected, reported = dict.fromkeys(range(PEOPLE), 0), dict.fromkeys(range(PEOPLE), 0)
    for frame in range(round(SECONDS * fps)):
        det = render(walkers, frame, identities, NOISE, rng)
        out = tracker.update_detections(det.boxes_xyxy, det.scores, embeddings=det.embeddings if appearance else None)
        for identity in det.identities:
            detected[int(identity)] += 1
        for obj in out:
            identity = int(det.identities[obj.detection_index])
            ids[identity].add(obj.track_id)
            reported[identity] += 1
    return ids, {k: reported[k] / detected[k] for k in detected}


@pytest.mark.parametrize("speed", SPEEDS, ids=["walk", "run"])
@pytest.mark.parametrize("appearance", [False, True], ids=["motion", "appearance"])
@pytest.mark.parametrize("fps", [60, 30, 10, 5, 3, 2])
def test_crossing_scene_same_outcome_from_2_to_60_fps(fps, appearance, speed):
    ids, reported = track_scene(fps, appearance, speed * HEIGHT)
    for identity in range(PEOPLE):
        assert len(ids[identity]) == 1, f"{fps} fps: person {identity} got IDs {ids[identity]}"
        assert reported[identity] >= MIN_REPORTED, f"{fps} fps: person {identity} reported {reported[identity]:.0%}"
    assert len(set.union(*ids.values())) == PEOPLE, "three people, three IDs"


# ---------------------------------------------------------------------------------------- the source's rate
def test_implausible_declared_rate_falls_back_to_timestamps_then_config():
    cfg = load_config(None)
    probes = []

    def measured(value):
        return lambda: probes.append(value) or value

    choice = choose_frame_rate(1000.0, cfg, timestamp_rate=measured(25.0), source_name="cam.mp4")
    assert (choice.frame_rate, choice.origin) == (25.0, "timestamps")
    assert (
        "cam.mp4 declares 1000 frames/s" in choice.warning and "using 25 frames/s from its timestamps" in choice.warning
    )
    choice = choose_frame_rate(1000.0, cfg, timestamp_rate=measured(1000.0))
    assert (choice.frame_rate, choice.origin) == (30.0, "config") and "frame_rate = 30" in choice.warning
    choice = choose_frame_rate(0.2, cfg, timestamp_rate=measured(None))
    assert choice.frame_rate == 30.0 and "declares 0.2 frames/s" in choice.warning
    assert len(probes) == 3
    for declared in (1.0, 7.0, 25.0, 240.0):
        assert choose_frame_rate(declared, cfg, timestamp_rate=measured(99.0)) == FrameRateChoice(declared, "source")
    assert len(probes) == 3, "timestamps are read only when the header is implausible"
    assert choose_frame_rate(None, cfg) == FrameRateChoice(30.0, "config"), "no rate declared: the config's, silently"
    assert choose_frame_rate(1000.0, cfg, forced=12.5) == FrameRateChoice(12.5, "forced")
    narrow = load_config(None, overrides=["min_frame_rate=10", "max_frame_rate=50"])
    assert choose_frame_rate(60.0, narrow).origin == "config"
    with pytest.raises(ConfigError, match="min_frame_rate"):
        load_config(None, overrides=["min_frame_rate=100", "max_frame_rate=50"])


def test_video_declaring_1000_fps_warns_and_still_tracks(fake_models, tmp_path, capfd):  # noqa: F811
    """The issue's example: 60 frames whose header (and timestamps) claim 1000 frames/s."""
    video = write_video(tmp_path / "fast.mp4", scene(60), "mp4v", fps=1000)
    assert timestamp_rate(str(video)) == pytest.approx(1000.0), "this file's timestamps claim 1000 too"
    capfd.readouterr()
    assert main([str(video), "--out", str(tmp_path / "a"), "--quiet", "--no-save-video"]) == 0
    err = capfd.readouterr().err
    assert "declares 1000 frames/s" in err and "frame_rate = 30" in err
    rows = read_mot_rows(tmp_path / "a" / "fast.txt")
    assert len(np.unique(rows[:, 1])) == 2 and rows[:, 0].min() == 1, "both walkers tracked from the first frame"
    assert main([str(video), "--out", str(tmp_path / "b"), "--quiet", "--no-save-video", "--fps", "30"]) == 0
    assert "declares" not in capfd.readouterr().err, "--fps forces the rate: nothing to warn about"
    np.testing.assert_array_equal(rows, read_mot_rows(tmp_path / "b" / "fast.txt")), "as if the header said 30"
    with pytest.raises(SystemExit) as exit_info:
        main([str(video), "--out", str(tmp_path / "c"), "--quiet", "--fps", "0"])
    assert exit_info.value.code == 2 and "--fps: must be a positive number" in capfd.readouterr().err


@pytest.mark.parametrize("fps", ["1e-300", "0.0009"])
def test_fps_below_the_configs_floor_is_a_usage_error(fps, tmp_path, capfd):
    """`track clip.mp4 --fps 1e-300` tracked with Kalman noises of (25 / rate)^1.5 ("RuntimeWarning: overflow
    encountered in square"), then stopped after its first frame with "track: error: cannot write video ...mp4"
    (OpenCV's writer refuses the rate); `--set frame_rate=` stops at 0.001 frames/s, and so does --fps now."""
    with pytest.raises(SystemExit) as exit_info:
        main([str(tmp_path / "clip.mp4"), "--out", str(tmp_path / "out"), "--quiet", "--fps", fps])
    err = capfd.readouterr().err
    assert exit_info.value.code == 2 and f"--fps: must be at least 0.001 frames/s, got {fps}" in err
    assert not (tmp_path / "out").exists()


def test_tracker_built_with_an_implausible_rate_warns(caplog):
    with caplog.at_level("WARNING", logger="tracker.pipeline"):
        Tracker(load_config(None, overrides=["device=cpu"]), frame_rate=1000)
    assert "frame_rate 1000 is outside the plausible range [1, 240]" in caplog.text


@pytest.mark.parametrize(("seconds", "rate", "frames"), [(0.14, 50, 7), (0.15, 50, 8), (0.3, 10, 3), (0.0, 25, 0)])
def test_a_time_in_frames_is_not_one_frame_longer_for_a_float_rounding_error(seconds, rate, frames):
    """0.14 s x 50 frames/s is 7.000000000000001 in float64: a track confirmed after 0.14 s needs 7 frames, not 8."""
    assert frames_at_least(seconds, rate) == frames


def test_a_video_declaring_no_rate_is_tracked_at_its_timestamps_rate():
    """A video whose header says 0 frames/s (OpenCV's CAP_PROP_FPS of some VFR or muxed files) was tracked at the
    config's 30 frames/s without a word, though its timestamps said 10 (every time limit 3 times too short);
    the README says a rate outside the plausible range falls back to the timestamps, with a warning. Now it does."""
    cfg = load_config(None)
    choice = choose_frame_rate(None, cfg, timestamp_rate=lambda: 10.0, source_name="cam.webm")
    assert (choice.frame_rate, choice.origin) == (10.0, "timestamps")
    assert "cam.webm declares no frame rate; using 10 frames/s from its timestamps" in choice.warning
    assert choose_frame_rate(None, cfg, timestamp_rate=lambda: None) == FrameRateChoice(30.0, "config")
    assert choose_frame_rate(None, cfg, timestamp_rate=lambda: 5000.0) == FrameRateChoice(30.0, "config")
