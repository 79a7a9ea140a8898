"""Benchmark `Tracker.update_detections` against Ultralytics' BYTETracker on the same boxes, same run.

    python tools/bench_core.py                 # T=N=50, D=512, K=100, plus the K and T sweeps
    python tools/bench_core.py --frames 300
    python tools/bench_core.py --gallery       # ours with an identity gallery (1000 identities) vs without

Reports the median ms per frame (over alternating ours/ByteTrack repeats) and the ratio ours / ByteTrack
(ByteTrack does no appearance work).
"""

from __future__ import annotations

import argparse
import time
from types import SimpleNamespace

import numpy as np
import torch

from tracker import Tracker, load_config
from tracker.gallery import Gallery, Sighting
from tracker.testing import Walker, identity_embeddings, linear_path, render

WIDTH, HEIGHT = 1920, 1080
NOISE = 0.02


class _Boxes:
    """The minimal ultralytics `Boxes`-like view BYTETracker reads: conf, cls, xywh, xyxy, bool indexing."""

    def __init__(self, xyxy: np.ndarray, conf: np.ndarray, cls: np.ndarray) -> None:
        self.xyxy, self.conf, self.cls = xyxy, conf, cls
        wh = xyxy[:, 2:] - xyxy[:, :2]
        self.xywh = np.concatenate([xyxy[:, :2] + wh / 2, wh], axis=1)

    def __len__(self) -> int:
        return len(self.conf)

    def __getitem__(self, idx: np.ndarray) -> _Boxes:
        return _Boxes(self.xyxy[idx], self.conf[idx], self.cls[idx])


def scene(num_tracks: int, seed: int = 0) -> list[Walker]:
    """`num_tracks` walkers on a grid over a 1080p frame, drifting slowly, never leaving."""
    rng = np.random.default_rng(seed)
    cols = int(np.ceil(np.sqrt(num_tracks * WIDTH / HEIGHT)))
    rows = int(np.ceil(num_tracks / cols))
    cell_w, cell_h = WIDTH / cols, HEIGHT / rows
    walkers = []
    for i in range(num_tracks):
        r, c = divmod(i, cols)
        x0, y0 = (c + 0.5) * cell_w, (r + 0.5) * cell_h
        vx, vy = rng.uniform(-0.5, 0.5, size=2)
        size = (0.35 * cell_w, 0.7 * cell_h)
        walkers.append(Walker(i, linear_path(x0, y0, vx, vy), size))
    return walkers


def frames_for(num_tracks: int, dim: int, count: int) -> list:
    walkers = scene(num_tracks)
    identities = identity_embeddings(num_tracks, dim)
    rng = np.random.default_rng(1)
    return [render(walkers, f, identities, NOISE, rng) for f in range(count)]


def filled_gallery(count: int, dim: int) -> Gallery:
    """A gallery of `count` strangers (none of them in the scene), K_g prototypes each."""
    gallery = Gallery()
    looks = identity_embeddings(count * gallery.config.prototypes, dim, seed=7)
    for i in range(count):
        rows = looks[i * gallery.config.prototypes : (i + 1) * gallery.config.prototypes]
        gallery.add(gallery.new_id(), rows, 0, Sighting(1, time.time(), "bench"))
    return gallery


def time_ours(frames: list, capacity: int, warmup: int, gallery: Gallery | None = None) -> float:
    cfg = load_config(None, overrides=[f"appearance.bank_capacity={capacity}", "device=cpu"])
    tracker = Tracker(cfg, frame_rate=30, gallery=gallery)
    times = []
    for i, det in enumerate(frames):
        start = time.perf_counter()
        tracker.update_detections(det.boxes_xyxy, det.scores, embeddings=det.embeddings)
        if i >= warmup:
            times.append(time.perf_counter() - start)
    return 1e3 * float(np.median(times))


def time_bytetrack(frames: list, warmup: int) -> float:
    from ultralytics.trackers.byte_tracker import BYTETracker

    args = SimpleNamespace(
        track_high_thresh=0.25,
        track_low_thresh=0.1,
        new_track_thresh=0.25,
        track_buffer=30,
        match_thresh=0.8,
        fuse_score=True,
    )
    tracker = BYTETracker(args)
    times = []
    for i, det in enumerate(frames):
        boxes = _Boxes(det.boxes_xyxy, det.scores, np.zeros(len(det.scores)))
        start = time.perf_counter()
        tracker.update(boxes)
        if i >= warmup:
            times.append(time.perf_counter() - start)
    return 1e3 * float(np.median(times))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--frames", type=int, default=250, help="frames per measurement (after warm-up)")
    parser.add_argument("--dim", type=int, default=512, help="embedding size D")
    parser.add_argument("--threads", type=int, default=0, help="torch CPU threads (0: torch's default)")
    parser.add_argument("--repeats", type=int, default=3, help="alternating ours/ByteTrack runs; medians reported")
    parser.add_argument("--gallery", action="store_true", help="compare ours with a gallery to ours without")
    parser.add_argument("--gallery-size", type=int, default=1000, help="identities in the gallery (--gallery)")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)  # one thread is steadier on a machine shared with other jobs

    print(f"CPU threads: {torch.get_num_threads()}, D={args.dim}")
    if args.gallery:
        gallery_ratio(args)
        return
    print(f"{'T=N':>6} {'K':>6} {'ours ms':>9} {'ByteTrack ms':>13} {'ours/BT':>8}")
    cases = [(50, 100), (50, 1), (50, 10), (50, 1000), (10, 100), (100, 100), (500, 100)]
    for num_tracks, capacity in cases:
        warmup = min(capacity, 100) + 5
        frames = frames_for(num_tracks, args.dim, warmup + args.frames)
        # Alternate the two so both see the same machine (a shared CI box drifts), then take each one's median.
        runs = [(time_ours(frames, capacity, warmup), time_bytetrack(frames, warmup)) for _ in range(args.repeats)]
        ours, bt = (float(np.median(column)) for column in zip(*runs, strict=True))
        print(f"{num_tracks:>6} {capacity:>6} {ours:>9.3f} {bt:>13.3f} {ours / bt:>8.2f}")


def gallery_ratio(args: argparse.Namespace) -> None:
    """The tiers cost nothing when nobody leaves: ours with a gallery / ours without, alternating, same frames."""
    print(f"{'T=N':>6} {'K':>6} {'no gallery ms':>14} {'gallery ms':>11} {'ratio':>6}")
    for num_tracks, capacity in ((50, 100), (100, 100)):
        warmup = min(capacity, 100) + 5
        frames = frames_for(num_tracks, args.dim, warmup + args.frames)
        runs = [
            (
                time_ours(frames, capacity, warmup),
                time_ours(frames, capacity, warmup, filled_gallery(args.gallery_size, args.dim)),
            )
            for _ in range(args.repeats)
        ]
        without, with_gallery = (float(np.median(column)) for column in zip(*runs, strict=True))
        print(f"{num_tracks:>6} {capacity:>6} {without:>14.3f} {with_gallery:>11.3f} {with_gallery / without:>6.2f}")


if __name__ == "__main__":
    main()
