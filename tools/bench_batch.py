"""`track batch` throughput: 1, 2 and 4 videos on the local engine and on Ray, side by side in one run;
the overhead Ray adds to one video; and a paper estimate of the cluster for many cameras.

Every video is a copy of the same real clip (../shared/videos/one-by-one-person-detection.mp4, 768x432; copies, as a
batch refuses one file given twice) cut to --frames, tracked with the real detector and ReID (yolov8n INT8 OpenVINO +
OSNet-x0.25), no annotated video.
Throughput = frames of all videos / wall time of the batch (model loading in each task included: that is
what a batch costs). Ray is started once, before the timed runs (its start-up is reported apart).

The overhead of Ray on one video: the same video of --overhead-frames frames run as `track` runs it (in a
fresh process with the same thread settings as a task; timed inside it, so Python start-up is not counted)
and as one Ray task on the already started Ray, alternating --repeats times; the ratio of the medians of the
wall times (model loading included on both sides), and of the frame loops alone.

    python tools/bench_batch.py [--frames 150] [--overhead-frames 1000] [--repeats 2] [--device cpu]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tracker.batch import track_many  # noqa: E402
from tracker.batch_engines import OMP_THREADS_ENV  # noqa: E402
from tracker.batch_task import THREADS_PER_VIDEO  # noqa: E402
from tracker.cli_args import non_negative_float, positive_int  # noqa: E402
from tracker.closed_pipe import run_tool  # noqa: E402
from tracker.config import load_config  # noqa: E402
from tracker.detector import quiet_ultralytics  # noqa: E402
from tracker.io.strict_json import to_json  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_pipeline import shared_root  # noqa: E402  (one lookup of ../shared for the tools)

COUNTS = (1, 2, 4)
ENGINES = ("local", "ray")
CAMERAS = 1000  # the paper estimate: this many cameras ...
CAMERA_FPS = 10.0  # ... each tracked at this frame rate
VIDEO = Path("videos") / "one-by-one-person-detection.mp4"


def config(shared: Path, device: str):
    weights = shared / "weights"
    return load_config(
        None,
        overrides=[
            f"detector.model={weights / 'yolov8n_int8_openvino_model'}",
            f"reid.weights={weights / 'osnet_x0_25_msmt17.pth'}",
            f"device={device}",
        ],
    )


def batch_fps(engine: str, videos: list[Path], cfg, frames: int, scratch: Path, gpus: float) -> tuple[float, float]:
    """Frames/s of the whole batch and its wall seconds (a fresh output folder: nothing reused)."""
    out = Path(tempfile.mkdtemp(dir=scratch))
    share = gpus if engine == "ray" else 0.0
    summary = track_many(videos, cfg, out, engine=engine, save_video=False, max_frames=frames, progress=False,
                         gpus_per_video=share)  # fmt: skip
    shutil.rmtree(out, ignore_errors=True)
    if summary.failed:
        sys.exit(summary.describe())
    return summary.fps, summary.seconds


def copies(video: Path, count: int, folder: Path) -> list[Path]:
    """`count` copies of `video` in `folder` (cam1.mp4, cam2.mp4, ...): a batch refuses one file given twice
    (`tracker.batch_repeats`: a link or another spelling of it too), so the n videos of a row are n files."""
    folder.mkdir(parents=True, exist_ok=True)
    made = [folder / f"cam{i + 1}{video.suffix}" for i in range(count)]
    for path in made:
        shutil.copyfile(video, path)
    return made


def direct_seconds(video: Path, frames: int, device: str) -> tuple[float, float]:
    """One video as `track` runs it, in a fresh process with a task's thread settings (OMP_NUM_THREADS and
    torch threads = THREADS_PER_VIDEO, as Ray and the local engine give a task): (wall seconds with the
    models built, frame-loop seconds), both measured inside that process."""
    env = os.environ | {OMP_THREADS_ENV: str(THREADS_PER_VIDEO), "PYTHONPATH": str(ROOT)}
    cmd = [sys.executable, __file__, "--direct-child", str(video), "--overhead-frames", str(frames), "--device", device]
    done = subprocess.run(cmd, env=env, capture_output=True, text=True, check=True)
    wall, loop = json.loads(done.stdout.strip().splitlines()[-1])
    return wall, loop


def direct_child(video: Path, frames: int, device: str) -> None:
    import torch

    from tracker.io.sources import open_source
    from tracker.pipeline import Tracker
    from tracker.run import track_source

    torch.set_num_threads(THREADS_PER_VIDEO)
    cfg = config(shared_root(), device)
    start = time.perf_counter()
    source = open_source(video)
    tracker = Tracker.from_config(cfg, frame_rate=source.frame_rate)
    with tempfile.TemporaryDirectory() as out:
        summary = track_source(tracker, source, Path(out), save_video=False, progress=False, max_frames=frames)
    print(to_json([time.perf_counter() - start, summary.seconds]))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--frames", type=positive_int, default=150, help="frames per video in the 1/2/4-video table")
    parser.add_argument(
        "--overhead-frames", type=positive_int, default=1000, help="frames of the one-video overhead run"
    )
    parser.add_argument("--repeats", type=positive_int, default=2, help="alternating repeats of the overhead run")
    parser.add_argument("--device", default="cpu", help="cpu or cuda")
    parser.add_argument(
        "--gpus-per-video", type=non_negative_float, default=0.0, help="GPU share each Ray task asks for (cuda)"
    )
    parser.add_argument("--direct-child", type=Path, help=argparse.SUPPRESS)  # internal: the in-process baseline
    args = parser.parse_args()
    quiet_ultralytics()  # its "Loading ..." lines are noise among the tool's figures (as `track -q`)
    if args.direct_child:
        direct_child(args.direct_child, args.overhead_frames, args.device)
        return
    import ray

    shared = shared_root()
    video = shared / VIDEO
    cfg = config(shared, args.device)
    cores = os.cpu_count() or 1
    scratch = Path(tempfile.mkdtemp(prefix="bench_batch"))
    started = time.perf_counter()
    gpus = 1 if args.device.startswith("cuda") else 0
    ray.init(num_cpus=cores, num_gpus=gpus, include_dashboard=False, log_to_driver=False)
    ray_start = time.perf_counter() - started
    print(f"{cores} cores; Ray started in {ray_start:.1f} s; clip {video.name}, {args.frames} frames per video")
    track_many([video], cfg, scratch / "warm", engine="ray", save_video=False, max_frames=5, progress=False)

    rows = {}
    clips = copies(video, max(COUNTS), scratch / "clips")
    for n in COUNTS:
        for engine in ENGINES:  # side by side: both engines for one count before the next count
            rows[(engine, n)] = batch_fps(engine, clips[:n], cfg, args.frames, scratch, args.gpus_per_video)
    print("\nvideos | local frames/s (s) | ray frames/s (s) | ray / local")
    print("---|---|---|---")
    for n in COUNTS:
        (lf, ls), (rf, rs) = rows[("local", n)], rows[("ray", n)]
        print(f"{n} | {lf:.1f} ({ls:.1f}) | {rf:.1f} ({rs:.1f}) | {rf / lf:.2f}")

    direct, on_ray, loops, ray_loops = [], [], [], []
    for _ in range(args.repeats):
        wall, loop = direct_seconds(video, args.overhead_frames, args.device)
        direct.append(wall)
        loops.append(loop)
        out = Path(tempfile.mkdtemp(dir=scratch))
        t = time.perf_counter()
        summary = track_many([video], cfg, out, engine="ray", save_video=False, max_frames=args.overhead_frames,
                             progress=False, gpus_per_video=args.gpus_per_video)  # fmt: skip
        on_ray.append(time.perf_counter() - t)
        ray_loops.append(summary.videos[0].seconds)
    d, r = statistics.median(direct), statistics.median(on_ray)
    dl, rl = statistics.median(loops), statistics.median(ray_loops)
    print(f"\none video of {args.overhead_frames} frames, median of {args.repeats} alternating runs:")
    print(
        f"  wall (models built in both): as `track` (a plain process) {d:.1f} s, as a Ray task {r:.1f} s: "
        f"Ray adds {100 * (r / d - 1):+.1f}% (goal <= 5%)"
    )
    print(f"  frame loop only: {dl:.1f} s vs {rl:.1f} s ({100 * (rl / dl - 1):+.1f}%)")
    loops += ray_loops

    frames_per_core_s = args.overhead_frames / statistics.median(loops)  # one video = one core (THREADS_PER_VIDEO)
    needed = CAMERAS * CAMERA_FPS / frames_per_core_s
    print(f"\none video on one core: {frames_per_core_s:.1f} frames/s ({1000 / frames_per_core_s:.1f} ms/frame)")
    print(f"paper estimate, {CAMERAS} cameras at {CAMERA_FPS:g} frames/s = {CAMERAS * CAMERA_FPS:.0f} frames/s:")
    print(f"  {needed:.0f} such cores (e.g. {needed / 32:.0f} nodes of 32 cores) at this per-frame cost")
    ray.shutdown()
    shutil.rmtree(scratch, ignore_errors=True)


if __name__ == "__main__":
    raise SystemExit(run_tool(main))
