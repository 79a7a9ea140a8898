"""`make demo` / `python -m tracker.demo`: make a clip offline and track it.

The clip is built from the street photo ultralytics ships (bus.jpg, four people): a camera that slowly pans
and zooms, and a striped pillar sweeping across the frame, hiding each person in turn for about a second.
The annotated video shows the IDs that come back from behind the pillar with their number and colour ("back"
and a white frame when they return). Weights come from the shared folder when present ($TRACKER_WEIGHTS_DIR,
$TRACKER_SHARED/weights or ../shared/weights beside the project); elsewhere ultralytics downloads its official
yolo11n.pt and, without OSNet weights, appearance comes from the detector's own features (reid.model=auto).
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from pathlib import Path

import cv2
import numpy as np

from tracker.config import load_config
from tracker.io.mot import make_output_folder
from tracker.io.opencv_files import NotUTF8Name, opencv_name, read_image
from tracker.run_config import reid_fallback
from tracker.weights import OSNET_ZOO_URL, weights_dir

__all__ = ["ClipNotWritten", "find_shared_weights", "main", "make_clip"]

ROOT = Path(__file__).resolve().parents[1]
PHOTO = "bus.jpg"
FRAME_SIZE = (640, 480)  # output width, height
FPS = 15
SECONDS = 8.0
VIEW_START = (0, 350, 810)  # camera crop at the first frame: left, top, width (source pixels; height = 3/4 width)
VIEW_END = (40, 380, 750)  # ... and at the last frame: a slow pan right and zoom in
PILLAR_WIDTH = 300  # output pixels; wider than each person, so each is fully hidden for a moment
PILLAR_START = 0.125  # the pillar enters from the right at this fraction of the clip ...
PILLAR_END = 0.68  # ... and has left on the left at this one (then everyone is visible again)
STRIPE = 24  # pillar stripe period, pixels
STRIPE_GREYS = (70, 110)
DETECTOR_FILES = ("yolov8n_int8_openvino_model", "yolo11n_int8_openvino_model", "yolo11n.pt")  # CPU-fastest first
OSNET_FILE = "osnet_x0_25_msmt17.pth"
OFFICIAL_DETECTOR = "yolo11n.pt"  # downloaded by ultralytics on first use
MAX_SECONDS = 600.0  # --seconds at most: ten minutes of clip (9000 frames) is already a long demo


class ClipNotWritten(OSError):
    """The demo clip could not be written where asked (its folder cannot be made, or OpenCV's writer did not open
    the file); the message names the place."""


def _view(t: float) -> tuple[int, int, int, int]:
    """Camera crop (left, top, width, height) in source pixels at clip time fraction `t` in [0, 1]."""
    left, top, width = (round(a + (b - a) * t) for a, b in zip(VIEW_START, VIEW_END, strict=True))
    return left, top, width, round(width * FRAME_SIZE[1] / FRAME_SIZE[0])


def _draw_pillar(view: np.ndarray, left: int) -> None:
    a, b = max(left, 0), min(left + PILLAR_WIDTH, view.shape[1])
    if b > a:
        stripes = ((np.arange(a, b) // (STRIPE // 2)) % 2)[None, :, None]
        view[:, a:b] = np.where(stripes, *STRIPE_GREYS).astype(np.uint8)


def make_clip(path: Path, seconds: float = SECONDS) -> Path:
    """Write the demo clip (mp4, `seconds` long at `FPS`) from ultralytics' bundled photo and return its path.

    Raises:
        FileNotFoundError: ultralytics' bundled photo is missing (a damaged install).
        NotUTF8Name: `path` is not UTF-8 (OpenCV's writer would crash the process on it).
        ClipNotWritten: `path`'s folder cannot be created (under a file, read-only) or the clip cannot be written.
    """
    from ultralytics.utils import ASSETS

    target = opencv_name(path)  # before the photo is read: the error comes at once
    photo = read_image(ASSETS / PHOTO)
    if photo is None:
        raise FileNotFoundError(f"ultralytics' bundled image {ASSETS / PHOTO} is missing")
    frames = max(round(seconds * FPS), 2)
    start = round(PILLAR_START * frames)
    end = max(round(PILLAR_END * frames), start + 1)
    try:
        make_output_folder(path.parent, "demo folder")
    except OSError as exc:  # (mkdir's traceback)
        raise ClipNotWritten(str(exc)) from None
    writer = cv2.VideoWriter(target, cv2.VideoWriter.fourcc(*"mp4v"), FPS, FRAME_SIZE)
    if not writer.isOpened():  # OpenCV writes nothing then, without a word: "made" of no clip
        raise ClipNotWritten(f"cannot write the clip {path} (OpenCV's video writer could not open it)")
    try:
        for f in range(frames):
            left, top, width, height = _view(f / (frames - 1))
            view = cv2.resize(photo[top : top + height, left : left + width], FRAME_SIZE, interpolation=cv2.INTER_AREA)
            progress = min(max((f - start) / (end - start), 0.0), 1.0)
            _draw_pillar(view, round(FRAME_SIZE[0] - progress * (FRAME_SIZE[0] + PILLAR_WIDTH)))
            writer.write(view)
    finally:
        writer.release()
    return path


def find_shared_weights() -> Path | None:
    """The shared weights folder: $TRACKER_WEIGHTS_DIR, $TRACKER_SHARED/weights or ../shared/weights."""
    candidates = [] if (folder := weights_dir()) is None else [folder]
    if os.environ.get("TRACKER_SHARED"):
        candidates.append(Path(os.environ["TRACKER_SHARED"]).expanduser() / "weights")
    candidates.append(ROOT.parent / "shared" / "weights")
    return next((p for p in candidates if any((p / name).exists() for name in DETECTOR_FILES)), None)


def _weights_overrides(weights: Path | None) -> tuple[list[str], str]:
    """`--set` overrides for the models, and a line saying where they come from."""
    if weights is None:
        return [f"detector.model={OFFICIAL_DETECTOR}"], f"no shared weights: ultralytics fetches {OFFICIAL_DETECTOR}"
    detector = next(weights / name for name in DETECTOR_FILES if (weights / name).exists())
    overrides = [f"detector.model={detector}"]
    if (weights / OSNET_FILE).is_file():
        overrides.append(f"reid.weights={weights / OSNET_FILE}")
    return overrides, f"weights from {weights}"


def _reid_fallback(overrides: list[str]) -> str | None:
    """Where OSNet's weights are absent, the `reid.model` fallback `track` would choose, added to `overrides` as
    the demo's own choice, and the demo's line saying how to give it OSNet (None: found, nothing added). `track`'s
    own note says `--set reid.weights=PATH`, which the demo does not take."""
    cfg, note = reid_fallback(load_config(overrides=overrides), asked=False)
    if note is None:
        return None
    overrides.append(f"reid.model={cfg.reid.model}")
    uses = "the detector's own features" if cfg.reid.model == "auto" else "motion only"
    return (
        f"demo: no {OSNET_FILE}, so appearance uses {uses} (reid.model={cfg.reid.model}); for OSNet's ReID get it "
        f"from {OSNET_ZOO_URL}, put it in a folder with the detector and run `TRACKER_WEIGHTS_DIR=FOLDER make demo`"
    )


def _clip_seconds(text: str) -> float:
    """argparse type of --seconds: a length in (0, MAX_SECONDS] (NaN was a traceback, -5 a 2-frame clip)."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a number of seconds, got {text!r}") from None
    if not 0 < value <= MAX_SECONDS:
        raise argparse.ArgumentTypeError(f"must be more than 0 and at most {MAX_SECONDS:g} seconds, got {text}")
    return value


def main(argv: list[str] | None = None) -> int:
    """Make the clip, track it with `track`, say where the annotated video is. Returns the exit code."""
    parser = argparse.ArgumentParser(
        prog="python -m tracker.demo", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--out", type=Path, default=Path("runs/demo"), help="folder for the clip and the outputs")
    parser.add_argument("--seconds", type=_clip_seconds, default=SECONDS, help="clip length (default %(default)g)")
    parser.add_argument("--quiet", action="store_true", help="no progress bar")
    args = parser.parse_args(argv)

    started = time.perf_counter()
    try:
        clip = make_clip(args.out / "demo_clip.mp4", args.seconds)
    except (NotUTF8Name, ClipNotWritten) as exc:  # (a segmentation fault in OpenCV's writer; mkdir's traceback)
        print(f"demo: error: {exc}: choose another --out", file=sys.stderr)
        return 2
    weights = find_shared_weights()
    overrides, origin = _weights_overrides(weights)
    reid_note = _reid_fallback(overrides)
    print(f"demo: made {clip} ({args.seconds:g} s at {FPS} fps, a pillar sweeps across four people); {origin}")
    if reid_note is not None:
        print(reid_note, file=sys.stderr)
    tracked = args.out / "tracked"
    argv_track = [str(clip), "--out", str(tracked), *[a for o in overrides for a in ("--set", o)]]
    if args.quiet:
        argv_track.append("--quiet")
    # The `track` command in its own process, as a user runs it, with OpenMP threads that sleep rather than spin
    # while waiting: spinning threads make the small ReID network ~50x slower when another program (or
    # OpenVINO's own workers) shares the 2 cores.
    env = {**os.environ, "OMP_WAIT_POLICY": os.environ.get("OMP_WAIT_POLICY", "PASSIVE")}
    code = subprocess.call([sys.executable, "-m", "tracker.cli", *argv_track], env=env)
    if code == 0:
        print(
            f"demo: done in {time.perf_counter() - started:.0f} s. Watch {tracked / clip.name}: "
            "an ID that comes back from behind the pillar keeps its number and colour ('back' marks it)"
        )
    elif weights is None:  # `track`'s line says `--set detector.model=PATH`, which the demo does not take
        print(
            f"demo: no weights folder was found; where {OFFICIAL_DETECTOR} cannot be downloaded, put it (and "
            f"{OSNET_FILE} for ReID) in a folder and run `TRACKER_WEIGHTS_DIR=FOLDER make demo`",
            file=sys.stderr,
        )
    return code


if __name__ == "__main__":
    sys.exit(main())
