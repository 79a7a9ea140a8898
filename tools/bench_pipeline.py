"""Per-stage pipeline timings on real frames: decode, detect, embed, associate; crop paths; end-to-end fps.

Uses ../shared (or $TRACKER_SHARED): PETS09-S3-MF1 (768x576 images) and videos/people.mp4 (1080p).
Embedding and association are timed with N synthetic person-shaped boxes (N = 10, 50, 200) that drift a
little from frame to frame, so every stage sees the same N whatever the detector finds. End to end, ReID on and
detection only run alternately, each through `update()` per frame and through `stream()` (the next frame
detected in a background thread); the tool stops if the two give different tracks.

    python tools/bench_pipeline.py [--frames 10] [--e2e-frames 40] [--threads 0] [--device cpu] [--skip-stages]
"""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import cv2
import numpy as np
import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tracker import Tracker, TrackerConfig, load_config  # noqa: E402
from tracker.cli_args import non_negative_int, positive_int  # noqa: E402
from tracker.closed_pipe import run_tool  # noqa: E402
from tracker.config import ConfigError  # noqa: E402
from tracker.detector import build_detector, quiet_ultralytics  # noqa: E402
from tracker.device import resolve_device  # noqa: E402
from tracker.embedder import IMAGENET_MEAN, IMAGENET_STD, build_embedder, crop_boxes, cut_crops  # noqa: E402
from tracker.io.opencv_files import image_file  # noqa: E402
from tracker.io.prefetch import Prefetch  # noqa: E402
from tracker.model_setup import require_model_files  # noqa: E402

BOX_COUNTS = (10, 50, 200)
BOX_HEIGHT = (0.1, 0.5)  # person boxes between 10% and 50% of the frame height
BOX_ASPECT = 0.4  # width / height
DRIFT_PX = 3.0  # per-frame box jitter, pixels
WARMUP = 2  # untimed calls before each measurement (oneDNN primitive creation, OpenVINO compile)
MS = 1000.0
REID_MODES = ("osnet_x0_25", "none")  # ReID on, detection only
LOOPS = {  # the two ways of running the pipeline, timed alternately
    "update": "update() per frame",
    "stream": "stream(): next frame detected ahead",
}


def shared_root() -> Path:
    env = os.environ.get("TRACKER_SHARED")
    root = Path(env) if env else ROOT.parent / "shared"
    if not root.is_dir():
        sys.exit(f"shared data not found at {root} (set TRACKER_SHARED)")
    return root


def shared_config(device: str, overrides: list[str]) -> tuple[Path, TrackerConfig]:
    """The shared folder and the default config with its yolov8n INT8 detector and OSNet weights, plus `overrides`."""
    shared = shared_root()
    weights = shared / "weights"
    models = [
        f"detector.model={weights / 'yolov8n_int8_openvino_model'}",
        f"reid.weights={weights / 'osnet_x0_25_msmt17.pth'}",
    ]
    cfg = load_config(ROOT / "configs" / "default.yaml", overrides=[*models, f"device={device}", *overrides])
    return shared, cfg


def shared_config_or_usage(
    parser: argparse.ArgumentParser, device: str, overrides: list[str], check_models: bool = True
) -> tuple[Path, TrackerConfig]:
    """`shared_config`, where a bad --set (an unknown key, a value out of range) or, with `check_models`, a weights
    file that is not there (`models_or_usage`) is one usage line before any frame or model loads, not a traceback."""
    try:
        shared, cfg = shared_config(device, overrides)
    except ConfigError as exc:
        parser.error(str(exc))
    if check_models:
        models_or_usage(parser, cfg)
    return shared, cfg


def models_or_usage(parser: argparse.ArgumentParser, cfg: TrackerConfig) -> None:
    """One usage line, naming the file and where it can come from, where a weights file `Tracker.from_config(cfg)`
    reads is not there (`require_model_files`); it was a traceback once the frames had been read."""
    try:
        require_model_files(cfg)
    except (FileNotFoundError, ValueError) as exc:
        parser.error(str(exc))


def read_frames(source: Path, count: int) -> tuple[list[np.ndarray], float]:
    """The first `count` frames and the decode time per frame in ms."""
    start = time.perf_counter()
    frames = list(_frames(source, count))
    return frames, (time.perf_counter() - start) * MS / max(len(frames), 1)


def _frames(source: Path, count: int) -> Iterator[np.ndarray]:
    if source.is_dir():
        for path in sorted((source / "img1").glob("*.jpg"))[:count]:
            yield image_file(path)
        return
    capture = cv2.VideoCapture(str(source))
    try:
        for _ in range(count):
            ok, frame = capture.read()
            if not ok:
                return
            yield frame
    finally:
        capture.release()


def synthetic_boxes(n: int, height: int, width: int, frames: int, seed: int = 0) -> list[np.ndarray]:
    """`frames` arrays of (n, 4) xyxy boxes inside the frame, drifting by a few pixels per frame."""
    rng = np.random.default_rng(seed)
    h = rng.uniform(*BOX_HEIGHT, n) * height
    w = h * BOX_ASPECT
    x1, y1 = rng.uniform(0, width - w), rng.uniform(0, height - h)
    base = np.stack([x1, y1, x1 + w, y1 + h], axis=1)
    drift = np.cumsum(rng.normal(scale=DRIFT_PX, size=(frames, n, 2)), axis=0)
    return [base + np.concatenate([d, d], axis=1) for d in drift]


def timed(fn: Callable[[int], object], calls: int) -> float:
    """Mean ms per call of fn(i) for i in range(calls), after WARMUP untimed calls; on CUDA the queued work is
    waited for before and after, so the time is the device's, not only the launches' (a CUDA graph's replay, or
    the crops of a frame already on the GPU, return before the work is done)."""
    for i in range(WARMUP):
        fn(i % calls)
    _synchronize()
    start = time.perf_counter()
    for i in range(calls):
        fn(i)
    _synchronize()
    return (time.perf_counter() - start) * MS / calls


def _synchronize() -> None:
    """Wait for the work queued on the GPU, if CUDA is in use."""
    if torch.cuda.is_initialized():
        torch.cuda.synchronize()


def cv2_crops(frame: np.ndarray, boxes_xyxy: np.ndarray, size: tuple[int, int], device: torch.device) -> torch.Tensor:
    """The per-crop CPU path being compared: integer crop, cv2.resize each, stack, upload, normalise."""
    h, w = frame.shape[:2]
    out = np.empty((len(boxes_xyxy), size[0], size[1], 3), dtype=np.uint8)
    for i, (x1, y1, x2, y2) in enumerate(np.round(boxes_xyxy).astype(int)):
        x1, x2 = np.clip([x1, x2], 0, w)
        y1, y2 = np.clip([y1, y2], 0, h)
        out[i] = cv2.resize(frame[y1 : max(y2, y1 + 1), x1 : max(x2, x1 + 1)], (size[1], size[0]))
    crops = torch.from_numpy(out).to(device).permute(0, 3, 1, 2).flip(1).float().div_(255.0)
    mean = torch.tensor(IMAGENET_MEAN, device=device).view(1, 3, 1, 1)
    std = torch.tensor(IMAGENET_STD, device=device).view(1, 3, 1, 1)
    return (crops - mean) / std


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=positive_int, default=10, help="frames timed per measurement")
    parser.add_argument("--e2e-frames", type=positive_int, default=150, help="frames of the end-to-end fps runs")
    parser.add_argument("--threads", type=non_negative_int, default=0, help="torch CPU threads (0: torch's default)")
    parser.add_argument("--repeats", type=positive_int, default=3, help="alternating end-to-end runs per source")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--skip-stages", action="store_true", help="only the end-to-end runs, not the stage table")
    parser.add_argument("--skip-decode", action="store_true", help="no decode-ahead comparison")
    parser.add_argument("--set", action="append", default=[], dest="overrides", help="config override key=value")
    args = parser.parse_args()
    quiet_ultralytics()  # its "Loading ..." lines are noise among the tool's figures (as `track -q`)
    try:  # a bad --set or --device: one usage line before any model loads, not a traceback
        resolve_device(args.device)
        shared, cfg = shared_config(args.device, args.overrides)
    except (ConfigError, ValueError) as exc:
        parser.error(str(exc))
    if args.threads:
        torch.set_num_threads(args.threads)
    device = torch.device(args.device)
    try:  # a model name ultralytics downloads, on a machine without a network: one usage line, not a traceback
        detector = build_detector(cfg.detector, device)
    except ConnectionError as exc:
        parser.error(str(exc))
    embedder = build_embedder(cfg.reid, device, detector)
    if embedder is None and not args.skip_stages:  # the stage table times the embedding of every frame's crops
        parser.error(f"the stage table times the ReID, and reid.model={cfg.reid.model} has none: add --skip-stages")
    torch_embedder = build_embedder(cfg.replace(["reid.backend=torch", "reid.int8=false"]).reid, device, detector)
    size = (cfg.reid.crop_height, cfg.reid.crop_width)
    sources = {
        "768x576": shared / "data" / "PETS09-S3-MF1",
        "1080p": shared / "videos" / "people.mp4",
    }
    print(f"device {device}, torch threads {torch.get_num_threads()}, {args.frames} frames per measurement")
    print(f"detector {Path(cfg.detector.model).name}, ReID {cfg.reid.model}, load average {os.getloadavg()[0]:.2f}\n")
    header = (
        f"{'frame':>8} {'N':>4} {'decode':>7} {'detect':>7} {'batched':>9} {'cv2 loop':>8} {'crop x':>6} "
        f"{'uint8':>8} {'embed':>7} {'torch':>7} {'assoc':>7}   (ms/frame; batched: grid_sample crops (torch "
        f"backend), uint8: cut_crops (OpenVINO backend); embed: reid.backend={cfg.reid.backend}, torch: the PyTorch "
        "backend)"
    )
    print(header)
    e2e_rows = []
    decode_rows = []
    for label, source in sources.items():
        if args.skip_stages:
            break
        frames, decode_ms = read_frames(source, args.frames)
        n_frames = len(frames)
        detect_ms = timed(lambda i, frames=frames: detector(frames[i]), n_frames)
        height, width = frames[0].shape[:2]
        for n in BOX_COUNTS:
            boxes = synthetic_boxes(n, height, width, n_frames)
            tensors = [torch.from_numpy(f).to(device) for f in frames]
            crop_ms = timed(lambda i, t=tensors, b=boxes: crop_boxes(t[i], b[i], size), n_frames)
            loop_ms = timed(lambda i, b=boxes, fr=frames: cv2_crops(fr[i], b[i], size, device), n_frames)
            uint8_ms = timed(lambda i, b=boxes, fr=frames: cut_crops(fr[i], b[i], size), n_frames)
            embed_ms, torch_ms = (  # each with its upload of the frame, as `Tracker.update` does
                timed(lambda i, e=e, fr=frames, b=boxes: e(torch.from_numpy(fr[i]).to(device), b[i]), n_frames)
                for e in (embedder, torch_embedder)
            )
            embeddings = [embedder(tensors[i], boxes[i]) for i in range(n_frames)]
            scores = np.full(n, 0.9)
            tracker = Tracker(cfg, frame_rate=cfg.frame_rate)
            assoc_ms = timed(
                lambda i, b=boxes, e=embeddings, tr=tracker, s=scores: tr.update_detections(b[i], s, embeddings=e[i]),
                n_frames,
            )
            print(
                f"{label:>8} {n:>4} {decode_ms:7.1f} {detect_ms:7.1f} {crop_ms:9.1f} {loop_ms:8.1f} "
                f"{loop_ms / crop_ms:5.2f}x {uint8_ms:8.1f} {embed_ms:7.1f} {torch_ms:7.1f} {assoc_ms:7.2f}"
            )
    for label, source in sources.items():
        e2e_frames, _ = read_frames(source, args.e2e_frames)
        trackers = {}
        for reid in REID_MODES:
            trackers[reid] = Tracker.from_config(cfg.replace([f"reid.model={reid}"]), frame_rate=cfg.frame_rate)
            for frame in e2e_frames[:WARMUP]:
                trackers[reid].update(frame)
        runs: dict[tuple[str, str], list[float]] = {(loop, reid): [] for loop in LOOPS for reid in trackers}
        cpu_runs: dict[tuple[str, str], list[float]] = {key: [] for key in runs}  # frames per CPU second
        outputs: dict[tuple[str, str], list] = {}
        for _ in range(args.repeats):  # alternate all four so they see the same machine; medians reported
            for loop in LOOPS:
                for reid, tracker in trackers.items():
                    tracker.reset()
                    start, start_cpu = time.perf_counter(), time.process_time()
                    if loop == "update":
                        result = [tracker.update(frame) for frame in e2e_frames]
                    else:
                        result = list(tracker.stream(e2e_frames))
                    runs[loop, reid].append(len(e2e_frames) / (time.perf_counter() - start))
                    cpu_runs[loop, reid].append(len(e2e_frames) / (time.process_time() - start_cpu))
                    outputs[loop, reid] = [[(o.track_id, tuple(o.xyxy)) for o in objects] for objects in result]
        for reid in trackers:
            if outputs["update", reid] != outputs["stream", reid]:
                sys.exit(f"{label}, reid {reid}: stream() gave other tracks than update()")
        e2e_rows.append((label, runs, cpu_runs))
        if not args.skip_decode:
            decode_rows.append((label, decode_overlap(trackers[REID_MODES[0]], source, args.e2e_frames, args.repeats)))
    print(
        f"\nend to end over {args.e2e_frames} frames, {args.repeats} alternating runs (real detections, lazy "
        f"embedding as configured), frames/s median (range); ratio = ReID on / detection only per run, median (range)"
        f"; CPU-time ratio: the same from the process's CPU time, all threads (less sensitive to other processes "
        f"on the cores; counts the detector's spinning threads); load average {os.getloadavg()[0]:.2f}:"
    )
    for label, runs, cpu_runs in e2e_rows:
        for loop in LOOPS:
            on, off = (np.array(runs[loop, reid]) for reid in REID_MODES)
            ratio = on / off
            cpu_ratio = np.array(cpu_runs[loop, REID_MODES[0]]) / np.array(cpu_runs[loop, REID_MODES[1]])
            print(
                f"{label:>8} {LOOPS[loop]:<36}: ReID on {np.median(on):6.2f} ({on.min():.2f}-{on.max():.2f})  "
                f"detection only {np.median(off):6.2f} ({off.min():.2f}-{off.max():.2f})  "
                f"ratio {np.median(ratio):.3f} ({ratio.min():.3f}-{ratio.max():.3f})  "
                f"CPU-time ratio {np.median(cpu_ratio):.3f} ({cpu_ratio.min():.3f}-{cpu_ratio.max():.3f})"
            )
        for reid in REID_MODES:
            gain = np.array(runs["stream", reid]) / np.array(runs["update", reid])
            print(
                f"{label:>8} stream / update frames/s, reid {reid:<12}: {np.median(gain):.3f} "
                f"({gain.min():.3f}-{gain.max():.3f})"
            )
    if decode_rows:
        print("\nwith decoding (ReID on, update loop), frames/s, median (range) of alternating runs:")
    for label, (inline, ahead) in decode_rows:
        print(
            f"{label:>8}: decode in the loop {np.median(inline):6.2f} ({min(inline):.2f}-{max(inline):.2f})  "
            f"decode ahead (Prefetch) {np.median(ahead):6.2f} ({min(ahead):.2f}-{max(ahead):.2f})  "
            f"ratio {np.median(ahead) / np.median(inline):.2f}"
        )


def decode_overlap(tracker: Tracker, source: Path, count: int, repeats: int) -> tuple[list[float], list[float]]:
    """Frames/s of decode + track, decoding in the loop vs in a background thread (alternating runs)."""
    inline, ahead = [], []
    for _ in range(repeats):
        for fps, prefetch in ((inline, False), (ahead, True)):
            tracker.reset()
            start = time.perf_counter()
            frames = _frames(source, count)
            with Prefetch(frames) if prefetch else contextlib.nullcontext(frames) as items:
                n = sum(1 for frame in items if tracker.update(frame) is not None)
            fps.append(n / (time.perf_counter() - start))
    return inline, ahead


if __name__ == "__main__":
    raise SystemExit(run_tool(main))
