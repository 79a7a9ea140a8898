"""Record what `update(frame)` reports on the shared real videos, or check it against a recorded reference.

    python tools/update_outputs.py record ref.pkl    # before a change to the update path (another checkout)
    python tools/update_outputs.py check ref.pkl     # after it: every object of every frame identical

The sources: TUD-Campus (71 frames), PETS09-S3-MF1 (107) and the 1080p street (people.mp4, first `--frames`), each
through a fresh `Tracker.from_config` with the yolov8n INT8 detector and the OSNet weights of ../shared, frame by frame.
Per frame and object the record holds every field of the `TrackedObject` (ID, box, score, class, state, detection
row, recovered, global ID) and, at the end, the calibration summary. `check` prints the first difference of each
source and exits 1 if any differs; both print how many crops the ReID embedded. `--set key=value` overrides the
config (e.g. `--set reid.requests=2` against a record made with the defaults).
"""

from __future__ import annotations

import argparse
import pickle
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # this checkout's tracker/, not the installed one

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_pipeline import read_frames, shared_config  # noqa: E402

from tracker import Tracker  # noqa: E402
from tracker.cli_args import positive_int  # noqa: E402
from tracker.closed_pipe import run_tool  # noqa: E402
from tracker.config import ConfigError, TrackerConfig  # noqa: E402
from tracker.detector import quiet_ultralytics  # noqa: E402

STREET_FRAMES = 100  # frames of the 1080p street by default
ALL_FRAMES = 10**6  # the image sequences: every frame they hold


def sources(shared: Path, street_frames: int) -> dict[str, tuple[Path, int]]:
    """name -> (path, frames)."""
    return {
        "TUD-Campus": (shared / "data" / "MOT15" / "train" / "TUD-Campus", ALL_FRAMES),
        "PETS09-S3-MF1": (shared / "data" / "PETS09-S3-MF1", ALL_FRAMES),
        "people.mp4": (shared / "videos" / "people.mp4", street_frames),
    }


def _count_crops(tracker: Tracker, counts: dict[str, int]) -> None:
    """Count the crops the embedder is asked for (none without one: `reid.model=none`)."""
    embedder = tracker.embedder
    if embedder is None:
        return

    def counted(frame: Any, boxes: Any) -> Any:
        counts["crops"] += len(boxes)
        return embedder(frame, boxes)

    tracker.embedder = counted


def record(shared: Path, cfg: TrackerConfig, street_frames: int) -> tuple[dict[str, Any], dict[str, dict[str, int]]]:
    results, crops = {}, {}
    for name, (path, count) in sources(shared, street_frames).items():
        frames, _ = read_frames(path, count)
        tracker = Tracker.from_config(cfg)
        counts = crops[name] = {"crops": 0}
        _count_crops(tracker, counts)
        per_frame = []
        for frame in frames:
            objects = tracker.update(frame)
            per_frame.append(
                [
                    (o.track_id, tuple(map(float, o.xyxy)), float(o.score), o.class_id, o.state.name,
                     o.detection_index, bool(o.recovered), o.global_id)
                    for o in objects
                ]
            )  # fmt: skip
        results[name] = {"frames": per_frame, "calibration": tracker.core.calibration.summary()}
    return results, crops


def _reference(parser: argparse.ArgumentParser, path: Path) -> dict[str, Any]:
    """The record `record` wrote to `path`, read before any model loads; anything else is the parser's usage error."""
    try:
        reference = pickle.loads(path.read_bytes())
    except Exception as exc:  # (a pickle's load raises almost anything on a file that is not one)
        parser.error(f"{path} is not a record of `update_outputs.py record`: {type(exc).__name__}: {exc}")
    names = sources(Path(), STREET_FRAMES)
    if not isinstance(reference, dict) or set(reference) != set(names):
        parser.error(f"{path} is not a record of `update_outputs.py record` (it has no {', '.join(names)})")
    return reference


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("action", choices=("record", "check"))
    parser.add_argument("path", type=Path)
    parser.add_argument("--frames", type=positive_int, default=STREET_FRAMES, help="frames of the 1080p street")
    parser.add_argument("--set", action="append", default=[], dest="overrides", help="config override")
    args = parser.parse_args(argv)
    quiet_ultralytics()  # its "Loading ..." lines are noise among the tool's figures (as `track -q`)
    # one usage line before any model loads (else after minutes of tracking, a traceback)
    if args.action == "check" and not args.path.is_file():
        parser.error(f"no such reference file: {args.path} (make it with `record` before the change)")
    if args.action == "record" and not args.path.parent.is_dir():
        parser.error(f"no such folder: {args.path.parent}")
    reference = _reference(parser, args.path) if args.action == "check" else None
    try:
        shared, cfg = shared_config("cpu", args.overrides)
    except (ConfigError, ValueError) as exc:
        parser.error(str(exc))
    results, crops = record(shared, cfg, args.frames)
    for name, counts in crops.items():
        print(f"{name}: crops embedded {counts['crops']}")
    if args.action == "record":
        args.path.write_bytes(pickle.dumps(results))
        print(f"recorded {args.path}")
        return
    assert reference is not None
    failed = False
    for name, result in results.items():
        ref = reference[name]
        frames = sum(len(f) for f in result["frames"])
        if len(result["frames"]) != len(ref["frames"]):  # not a difference of outputs: of the frames asked for
            failed = True
            print(f"{name}: the reference holds {len(ref['frames'])} frames, this run {len(result['frames'])} "
                  "(check with the --frames the reference was recorded with)")  # fmt: skip
            continue
        diff = next((i for i, (a, b) in enumerate(zip(result["frames"], ref["frames"], strict=True)) if a != b), None)
        same_calibration = result["calibration"] == ref["calibration"]
        if diff is None and same_calibration:
            print(f"{name}: identical ({len(result['frames'])} frames, {frames} objects, calibration summary)")
            continue
        failed = True
        where = "calibration summary" if diff is None else f"frame {diff + 1}"
        print(f"{name}: DIFFERS at {where}")
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    raise SystemExit(run_tool(main))
