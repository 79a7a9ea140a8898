"""Where the end-to-end time of `track` goes, per frame: decode, detect, crops, ReID forward, core, draw, write.

Runs the real pipeline (`Tracker.update` with the configured detector and ReID, lazy embedding as configured)
over the first frames of each ../shared source, timing each stage inside the same run with wrappers around the
stage functions, and counts the crops embedded per frame (and the frames with an embedding call at all). The
detection-only pipeline (`reid.model=none`) runs on the same frames, alternating with ReID on, so the ratio of
their frames/s comes from the same machine load.

    python tools/profile_pipeline.py [--frames 100] [--repeats 3] [--set key=value ...]
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench_pipeline import WARMUP, read_frames, shared_config_or_usage  # noqa: E402

import tracker.embedder as embedder_module  # noqa: E402
from tracker import Tracker  # noqa: E402
from tracker.cli_args import positive_int  # noqa: E402
from tracker.closed_pipe import run_tool  # noqa: E402
from tracker.detector import quiet_ultralytics  # noqa: E402
from tracker.io.video import Annotator, VideoWriter  # noqa: E402

MS = 1000.0
STAGES = ("decode", "detect", "det:pre", "det:infer", "det:post", "crops", "reid fwd", "embed rest", "core", "draw")


class StageClock:
    """Accumulates wall time per stage name for the frame being timed; `frame_done` files the frame's totals."""

    def __init__(self) -> None:
        self.current: dict[str, float] = defaultdict(float)
        self.frames: list[dict[str, float]] = []

    def wrap(self, name: str, fn: Callable[..., Any]) -> Callable[..., Any]:
        def timed(*args: Any, **kwargs: Any) -> Any:
            start = time.perf_counter()
            try:
                return fn(*args, **kwargs)
            finally:
                self.current[name] += (time.perf_counter() - start) * MS

        return timed

    def add(self, name: str, value: float) -> None:
        self.current[name] += value

    def frame_done(self) -> None:
        self.frames.append(dict(self.current))
        self.current = defaultdict(float)

    def mean(self, name: str) -> float:
        return float(np.mean([f.get(name, 0.0) for f in self.frames])) if self.frames else 0.0


def instrument(tracker: Tracker, clock: StageClock) -> None:
    """Wrap the tracker's detector, crop function, ReID forward and embedder with the clock (this process only)."""
    model = tracker.detector.model
    predict = model.predict

    def predict_and_split(*args: Any, **kwargs: Any) -> Any:
        results = predict(*args, **kwargs)
        speed = results[0].speed  # ultralytics' own split, ms
        for key, stage in (("preprocess", "det:pre"), ("inference", "det:infer"), ("postprocess", "det:post")):
            clock.add(stage, float(speed.get(key) or 0.0))
        return results

    model.predict = predict_and_split
    tracker.detector = clock.wrap("detect", tracker.detector)
    if tracker.embedder is not None:
        embedder = tracker.embedder
        embedder.model = clock.wrap("reid fwd", embedder.model)
        for name in ("crop_boxes", "cut_crops"):  # the torch path's crops, the OpenVINO path's
            if hasattr(embedder_module, name):
                setattr(embedder_module, name, clock.wrap("crops", getattr(embedder_module, name)))
        inner = clock.wrap("embed", embedder)

        def counted(frame: Any, boxes_xyxy: np.ndarray) -> Any:
            clock.add("crops/frame", float(len(boxes_xyxy)))
            clock.add("calls/frame", 1.0)
            return inner(frame, boxes_xyxy)

        tracker.embedder = counted


def run(tracker: Tracker, frames: list[np.ndarray], clock: StageClock, decode_ms: float, video: Path | None) -> float:
    """Track `frames` once (after a reset); returns frames/s of `update` alone. Draws and writes when `video`."""
    tracker.reset()
    annotator = Annotator()
    writer = VideoWriter(video, tracker.frame_rate) if video is not None else None
    total = 0.0
    try:
        for frame in frames:
            start = time.perf_counter()
            objects = tracker.update(frame)
            elapsed = (time.perf_counter() - start) * MS
            total += elapsed
            clock.add("update", elapsed)
            clock.add("decode", decode_ms)
            if writer is not None:
                start = time.perf_counter()
                writer.write(annotator.draw(frame, objects))
                clock.add("draw", (time.perf_counter() - start) * MS)
            clock.frame_done()
    finally:
        if writer is not None:
            writer.close()
    return len(frames) / (total / MS)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=positive_int, default=100, help="frames per source")
    parser.add_argument("--repeats", type=positive_int, default=3, help="alternating runs of ReID on / detection only")
    parser.add_argument("--set", action="append", default=[], dest="overrides", help="config override key=value")
    args = parser.parse_args()
    quiet_ultralytics()  # its "Loading ..." lines are noise among the tool's figures (as `track -q`)
    shared, cfg = shared_config_or_usage(parser, "cpu", args.overrides)
    sources = {
        "640x480": shared / "data" / "MOT15" / "train" / "TUD-Campus",
        "768x576": shared / "data" / "PETS09-S3-MF1",
        "1080p": shared / "videos" / "people.mp4",
    }
    print(f"load average {os.getloadavg()[0]:.2f}, {args.frames} frames per source, {args.repeats} alternating runs")
    print(f"overrides: {' '.join(args.overrides) or '(none)'}\n")
    header = f"{'source':>8} {'reid':>5} " + " ".join(f"{s:>10}" for s in (*STAGES, "update", "crops/fr", "calls/fr"))
    rows, ratios = [], []
    with tempfile.TemporaryDirectory() as tmp:
        for label, source in sources.items():
            frames, decode_ms = read_frames(source, args.frames)
            clocks = {"on": StageClock(), "off": StageClock()}
            trackers = {}
            for reid, model in (("on", cfg.reid.model), ("off", "none")):
                tracker = Tracker.from_config(cfg.replace([f"reid.model={model}"]))
                for frame in frames[:WARMUP]:
                    tracker.update(frame)
                instrument(tracker, clocks[reid])
                trackers[reid] = tracker
            fps: dict[str, list[float]] = {"on": [], "off": []}
            for repeat in range(args.repeats):
                for reid, tracker in trackers.items():
                    video = Path(tmp) / f"{label}_{reid}.mp4" if repeat == 0 else None  # draw + write once
                    fps[reid].append(run(tracker, frames, clocks[reid], decode_ms, video))
            for reid in ("on", "off"):
                clock = clocks[reid]
                draw = float(np.mean([f["draw"] for f in clock.frames if "draw" in f]))
                values = [clock.mean(s) for s in STAGES[:-1]] + [draw]
                values[STAGES.index("embed rest")] = (
                    clock.mean("embed") - clock.mean("crops") - clock.mean("reid fwd") if reid == "on" else 0.0
                )
                values[STAGES.index("core")] = clock.mean("update") - clock.mean("detect") - clock.mean("embed")
                per_frame = [f.get("crops/frame", 0.0) for f in clock.frames]
                calls = [f.get("calls/frame", 0.0) for f in clock.frames]
                rows.append(
                    f"{label:>8} {reid:>5} "
                    + " ".join(f"{v:10.2f}" for v in values)
                    + f" {clock.mean('update'):10.2f} {np.mean(per_frame):10.2f} {np.mean(calls):10.2f}"
                )
            on, off = np.array(fps["on"]), np.array(fps["off"])
            ratios.append((label, on, off, on / off))
    print("ms per frame (mean over all runs); core = update - detect - embed; draw + write timed on the first run")
    print(header)
    print("\n".join(rows))
    print("\nframes/s of update (median and range over alternating runs) and the per-run ratio ReID on / off:")
    for label, on, off, ratio in ratios:
        print(
            f"{label:>8}: on {np.median(on):6.2f} ({on.min():.2f}-{on.max():.2f})  off {np.median(off):6.2f} "
            f"({off.min():.2f}-{off.max():.2f})  ratio median {np.median(ratio):.3f} "
            f"({ratio.min():.3f}-{ratio.max():.3f})"
        )
    print(f"load average {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    raise SystemExit(run_tool(main))
