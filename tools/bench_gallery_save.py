"""Benchmark a gallery save: where its time goes, and how long it holds up the tracking loop of `track`.

    python tools/bench_gallery_save.py                          # 20 000 identities x 4 prototypes, 512-d
    python tools/bench_gallery_save.py --identities 5000 --repeats 1 --folder /tmp/g

1. **Phases.** Each step of a save (`Gallery.save` as `track` runs it, and the Python API's with its lock) timed
   alone, wall and CPU time of the thread, the median over `--repeats`: the lock, the conflict check, the removal
   of interrupted saves' temp files, the snapshot (retention and the identities' records: what `track` does in its
   loop), gathering the prototypes into one array, the SHA-256 of the tensors, the gallery JSON, the whole encoding
   (safetensors), the write, the fsync and the rename (with the folder's fsync); then whole saves. With
   `--gil`, each phase also runs in a second thread while this one ticks (a few microseconds of Python between
   `time.perf_counter` calls): the longest gap between two ticks is how long that phase held the GIL at a stretch
   (on a loaded machine it also counts time slices others took).
2. **Loop.** A `Tracker` fed a synthetic walking scene (`tools/bench_core.py`'s walking world, 512-d, the
   gallery attached) is driven frame by frame with the `GallerySaver` `track` uses after each frame
   (`maybe_save`); at frame `--save-at` the gallery is marked changed and a periodic save comes due. Reported: the
   median frame before it, the longest frame while the save is under way, the frames it spanned and the wall time
   until the file was replaced (the gallery's `file` version changes), and the time `maybe_save` took in the frame
   the save came due in (the snapshot). This part measures any version of the saver: copy the script into a
   checkout of another commit and run it there with `--no-phases` (the phases need `gallery_format.write`).

Times are wall unless marked CPU (`time.thread_time` of the thread doing the phase). Memory: a save briefly holds
one more copy of the prototypes (gathered into the tensor written); `phases` holds a few.
"""

from __future__ import annotations

import argparse
import math
import os
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # this checkout's tracker/, not the installed one
sys.path.insert(0, str(ROOT / "tools"))

from bench_gallery import Looks, build  # noqa: E402

from tracker import Tracker, load_config  # noqa: E402
from tracker.cli_args import positive_int  # noqa: E402
from tracker.closed_pipe import run_tool  # noqa: E402
from tracker.config import GalleryConfig  # noqa: E402
from tracker.gallery import Gallery  # noqa: E402
from tracker.gallery_file import TEMP_SUFFIX, _temp_prefix, check_unchanged, remove_interrupted_saves  # noqa: E402
from tracker.io.atomic import sync_folder  # noqa: E402
from tracker.io.lock import gallery_lock  # noqa: E402
from tracker.io.strict_json import to_json  # noqa: E402
from tracker.run_gallery import GallerySaver  # noqa: E402

DIM = 512  # bench_gallery's looks
WALKERS = 20  # people in the loop's scene
WARMUP_FRAMES = 150  # frames before the save (the tracks' gallery searches are over by then)
QUIET_FRAMES = 100  # the frames before the save whose median and longest are reported
AFTER_FRAMES = 20  # frames run after the save ended
FPS = 30.0
TICK_GAP_S = 1e-3  # `--gil`: gaps between ticks longer than this are counted as stalls


def _timed(fn: Callable[[], Any]) -> tuple[Any, float, float]:
    """fn()'s result, wall seconds and this thread's CPU seconds."""
    w0, c0 = time.perf_counter(), time.thread_time()
    out = fn()
    return out, time.perf_counter() - w0, time.thread_time() - c0


def _held_gil(fn: Callable[[], Any]) -> tuple[Any, float, float]:
    """fn() run in another thread while this one ticks: its result, the longest gap between two ticks (s) and the
    sum of gaps over TICK_GAP_S (s)."""
    box: dict[str, Any] = {}
    worker = threading.Thread(target=lambda: box.setdefault("out", fn()))
    last = time.perf_counter()
    longest = stalled = 0.0
    worker.start()
    while worker.is_alive():
        now = time.perf_counter()
        gap = now - last
        longest = max(longest, gap)
        stalled += gap if gap > TICK_GAP_S else 0.0
        last = now
    worker.join()
    return box.get("out"), longest, stalled


def phases(gallery: Gallery, path: Path, gil: bool) -> dict[str, tuple[float, float, float]]:
    """One save of `gallery` to `path`, step by step as `Gallery.save` does it: phase -> (wall s, CPU s, longest
    GIL hold s; NaN without `gil`)."""
    from tracker import gallery_format

    out: dict[str, tuple[float, float, float]] = {}

    def step(name: str, fn: Callable[[], Any], again: bool = True) -> Any:
        """fn() timed; with `gil` (and `again`: it can run twice) run once more against the ticks."""
        result, wall, cpu = _timed(fn)
        hold = _held_gil(fn)[1] if gil and again else float("nan")
        out[name] = (wall, cpu, hold)
        return result

    step("lock (Python API)", lambda: gallery_lock(path, option="path").__enter__().__exit__(None, None, None))
    step("conflict check", lambda: check_unchanged(path, gallery.file))
    step("interrupted saves", lambda: remove_interrupted_saves(path))
    snapshot = step("snapshot (+ retention)", lambda: gallery._snapshot(prune=True))
    tensors = step("gather prototypes", lambda: gallery_format._gather(snapshot))
    digest = step("sha256", lambda: gallery_format._tensor_digest(tensors))
    step("gallery JSON", lambda: to_json([i.describe() for i in snapshot.identities] + [digest]))
    blob = step("encode (all of the above + safetensors)", lambda: gallery_format.encode(snapshot))
    # named as a save names its temp file (a long name's start and hash: `.<name>.<8>.tmp` of a 250-byte name failed)
    fd, tmp = tempfile.mkstemp(prefix=_temp_prefix(path), suffix=TEMP_SUFFIX, dir=path.parent)
    file = os.fdopen(fd, "wb")

    def write_tensors() -> None:
        file.seek(0)
        file.write(blob)
        file.flush()

    step("write", write_tensors, again=False)  # (a second write over pages being written back can wait for them)
    step("fsync", lambda: os.fsync(file.fileno()))
    file.close()

    def rename() -> None:
        os.replace(tmp, path)
        sync_folder(path.parent)

    step("rename + folder fsync", rename, again=False)  # (a second rename would find no temp file)
    return out


def loop(gallery: Gallery, path: Path, frames: int, save_at: int) -> dict[str, float]:
    """Drive a tracker with `gallery` for `frames` frames, a periodic save due at frame `save_at`; see the module
    docstring. Returns ms figures and the frames the save spanned."""
    from bench_core import world

    cfg = load_config(None)
    detections = world("walking", WALKERS, DIM, frames)
    tracker = Tracker(cfg, frame_rate=FPS, gallery=gallery)
    gallery.save(path, lock=False, overwrite=True)
    saver = GallerySaver(gallery, path, math.inf)  # no save until frame save_at
    times: list[float] = []
    before = gallery.file
    started = done = None
    for i, det in enumerate(detections):
        w0 = time.perf_counter()
        if i == save_at:
            gallery.new_id()  # changed (it is already: its tracks took global IDs), and due at this frame
            saver.every, started = 0.0, w0
        tracker.update_detections(det.boxes_xyxy, det.scores, embeddings=det.embeddings)
        s0 = time.perf_counter()
        saver.maybe_save()
        now = time.perf_counter()
        if i == save_at:
            saver.every, in_loop = math.inf, now - s0
        times.append(now - w0)
        if started is not None and done is None and gallery.file != before:
            done = i
            save_s = now - started
        if done is not None and i >= done + AFTER_FRAMES:
            break
    saver.save()
    if done is None:
        raise SystemExit(f"the save due at frame {save_at} had not finished after {frames} frames: give more --frames")
    quiet = times[max(save_at - QUIET_FRAMES, 0) : save_at]
    during = times[save_at : done + 1]
    return {
        "median_ms": 1e3 * statistics.median(quiet),
        "max_quiet_ms": 1e3 * max(quiet),
        "max_during_ms": 1e3 * max(during),
        "median_during_ms": 1e3 * statistics.median(during),
        "frames_during": len(during),
        "save_s": save_s,
        "in_loop_ms": 1e3 * in_loop,
    }


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--identities", type=positive_int, default=20000)
    p.add_argument("--repeats", type=positive_int, default=3, help="saves measured phase by phase, and loops")
    p.add_argument("--gil", action="store_true", help="also the longest GIL hold of each phase (runs each twice)")
    p.add_argument("--frames", type=positive_int, default=10000, help="the most frames of each loop (one save in each)")
    p.add_argument("--save-at", type=positive_int, default=WARMUP_FRAMES, help="the frame the periodic save is due")
    p.add_argument("--no-loop", action="store_true", help="phases only")
    p.add_argument("--no-phases", action="store_true", help="loop only")
    p.add_argument("--folder", type=Path, help="where the gallery file is written (default: a temp folder)")
    args = p.parse_args()
    if not args.no_loop and args.save_at >= args.frames:  # else every frame ran, then 'the save ... had not finished'
        p.error(f"--save-at {args.save_at} must be below --frames {args.frames}: the save is due inside the loop")
    if args.folder is not None and not args.folder.is_dir():  # else tempfile's FileNotFoundError, as a traceback
        p.error(f"--folder: no such folder: {args.folder}")
    with tempfile.TemporaryDirectory(dir=args.folder) as folder:
        path = Path(folder) / "bench.gallery"
        t0 = time.perf_counter()
        gallery, _, _ = build(args.identities, GalleryConfig(), Looks(args.identities))
        print(f"built {len(gallery)} identities in {time.perf_counter() - t0:.1f} s", flush=True)
        gallery.save(path)
        print(f"file: {path.stat().st_size / 1e6:.1f} MB", flush=True)
        if not args.no_phases:
            rows: dict[str, list[tuple[float, float, float]]] = {}
            for _ in range(args.repeats):
                for name, figures in phases(gallery, path, args.gil).items():
                    rows.setdefault(name, []).append(figures)
                whole = _timed(lambda: gallery.save(path, overwrite=True))  # (after `phases` replaced the file)
                rows.setdefault("Gallery.save (whole)", []).append((whole[1], whole[2], float("nan")))
                saved = _timed(lambda: gallery.save(path, lock=False, overwrite=True))
                rows.setdefault("Gallery.save, lock=False", []).append((saved[1], saved[2], float("nan")))
            print(f"{'phase':<28} {'wall ms':>9} {'CPU ms':>9} {'GIL hold ms':>11}   (median of {args.repeats})")
            for name, figures in rows.items():
                wall, cpu, hold = (statistics.median(column) for column in zip(*figures, strict=True))
                print(f"{name:<28} {1e3 * wall:>9.1f} {1e3 * cpu:>9.1f} {1e3 * hold:>11.1f}", flush=True)
        for _ in range(0 if args.no_loop else args.repeats):
            r = loop(gallery, path, args.frames, args.save_at)
            print(
                f"loop: median frame {r['median_ms']:.1f} ms (longest before the save {r['max_quiet_ms']:.1f}); "
                f"during the save ({r['frames_during']} frames): longest {r['max_during_ms']:.1f} ms, median "
                f"{r['median_during_ms']:.1f} ms; the file replaced {r['save_s']:.2f} s after the save came due; "
                f"maybe_save took {r['in_loop_ms']:.1f} ms of the frame it came due in",
                flush=True,
            )


if __name__ == "__main__":
    raise SystemExit(run_tool(main))
