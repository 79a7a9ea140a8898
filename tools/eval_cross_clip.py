"""Cross-video identity, measured honestly: split each sequence into clips, track the clips as separate videos.

    python tools/eval_cross_clip.py --data ../shared/data/MOT15/train/TUD-Campus ../shared/data/PETS09-S3-MF1 \
        --set detector.model=../shared/weights/yolov8n_int8_openvino_model \
        --set reid.weights=../shared/weights/osnet_x0_25_msmt17.pth

Each sequence is cut into `--clips` equal clips with `--gaps` seconds between them (frame numbers after a cut
are shifted by the gap, in the results and in the ground truth alike, as if the camera had been off). Every
clip is a new video for every tracker (its state is gone; only the gallery survives), and the concatenation
is scored by TrackEval:

- ours + gallery: one `Gallery` shared by the clips; the MOT rows carry the global IDs;
- ours, no gallery: every clip starts new IDs (what every tracker does today across videos);
- the peers (Ultralytics' trackers, no gallery), also one clip at a time;
- for reference, ours on the whole sequence without cuts (the ceiling: no identity has to cross a gap).

Cross-clip IDF1 is the figure. Revival precision: of the tracks of clip k >= 2 that took a global ID from an
earlier clip, the fraction whose ground-truth person (matched by IoU >= 0.5, majority over the track) is the
person that ID had before; right at the revival: the person the revived track starts on (first matched frame)
is the one the ID ended on in its latest earlier clip (the gallery stores the looks a track ended on).
Inputs (detections, embeddings) come from `track eval`'s cache.
"""

from __future__ import annotations

import argparse
import itertools
import math
import sys
import tempfile
from collections import Counter
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # this checkout's tracker/, not the installed one

from tracker import Tracker, load_config  # noqa: E402
from tracker.assignment import linear_assignment  # noqa: E402
from tracker.association import iou_matrix  # noqa: E402
from tracker.cli_args import positive_int  # noqa: E402
from tracker.closed_pipe import run_tool  # noqa: E402
from tracker.config import TrackerConfig  # noqa: E402
from tracker.eval.inputs import FrameInputs, load_inputs  # noqa: E402
from tracker.eval.peers import PEERS, PeerTracker  # noqa: E402
from tracker.eval.scoring import score_results  # noqa: E402
from tracker.eval.sequences import Sequence, find_sequences  # noqa: E402
from tracker.gallery import Gallery  # noqa: E402
from tracker.io.mot import format_mot_row, read_mot_rows, tlwh_to_xyxy  # noqa: E402
from tracker.io.strict_json import write_json_atomic  # noqa: E402

CLIP_ID_OFFSET = 100000  # without a gallery, clip k's IDs are k * this + the tracker's own (new IDs per clip)
MIN_IOU = 0.5  # a result box is a ground-truth person's when their IoU is at least this
GT_ID_COLUMN, GT_TLWH = 1, slice(2, 6)
WITH_GALLERY, NO_GALLERY, WHOLE = "ours+gallery", "ours (no gallery)", "ours, uncut (reference)"

Rows = list[tuple[int, int, np.ndarray, float]]  # (frame in the sequence, ID, xyxy, score)


def clip_ranges(frames: int, clips: int) -> list[range]:
    """`clips` consecutive 1-based frame ranges of (nearly) equal length covering 1..frames."""
    edges = np.linspace(0, frames, clips + 1).round().astype(int)
    return [range(int(a) + 1, int(b) + 1) for a, b in itertools.pairwise(edges)]


def run_ours(
    cfg: TrackerConfig,
    frames: list[FrameInputs],
    clips: list[range],
    fps: float,
    gallery: bool,
    frame_size: tuple[int, int] | None = None,
) -> Rows:
    """Our tracker, one clip at a time (a new video each); with one gallery across them, or new IDs per clip.

    `frame_size` (height, width) turns on the border rules, as `track eval` and `track` do.
    """
    shared = Gallery(cfg.gallery) if gallery else None
    rows: Rows = []
    for k, clip in enumerate(clips):
        tracker = Tracker(cfg, frame_rate=fps, gallery=shared, source_name=f"clip{k + 1}")
        for number in clip:
            for o in frames[number - 1].track(tracker, frame_size=frame_size):
                tid = o.global_id if gallery else k * CLIP_ID_OFFSET + o.track_id
                rows.append((number, int(tid), o.xyxy, o.score))
        tracker.reset()  # end of the clip: its people go to the gallery
    return rows


def run_peer(name: str, frames: list[FrameInputs], clips: list[range], fps: float) -> Rows:
    rows: Rows = []
    for k, clip in enumerate(clips):
        peer = PeerTracker.create(name, fps)
        for number in clip:
            f = frames[number - 1]
            for r in peer.update(f.boxes_xyxy, f.scores, f.class_ids, f.embeddings):
                rows.append((number, k * CLIP_ID_OFFSET + int(r[0]), r[1:5], float(r[5])))
    return rows


def shift_of(clips: list[range], gap_frames: list[int]) -> dict[int, int]:
    """Frame -> how far the cuts before it push it (the sum of the gaps before its clip)."""
    shifts = np.concatenate([[0], np.cumsum(gap_frames)])
    return {number: int(shifts[k]) for k, clip in enumerate(clips) for number in clip}


def write_concatenation(
    seq: Sequence, clips: list[range], gap_frames: list[int], results: dict[str, Rows], root: Path
) -> tuple[Sequence, dict[str, Path]]:
    """The sequence with its gaps (gt renumbered) and each tracker's results renumbered the same way."""
    shift = shift_of(clips, gap_frames)
    folder = root / seq.name
    (folder / "gt").mkdir(parents=True)
    gt = read_mot_rows(seq.info.root / "gt" / "gt.txt")
    gt = gt[np.isin(gt[:, 0], list(shift))]
    gt[:, 0] += [shift[int(f)] for f in gt[:, 0]]
    np.savetxt(folder / "gt" / "gt.txt", gt, delimiter=",", fmt="%.6g")
    length = seq.info.length + sum(gap_frames)
    (folder / "seqinfo.ini").write_text(
        f"[Sequence]\nname={seq.name}\nimDir=img1\nframeRate={seq.info.frame_rate}\nseqLength={length}\n"
        f"imWidth={seq.info.width}\nimHeight={seq.info.height}\nimExt=.jpg\n"
    )
    files = {}
    for name, rows in results.items():
        path = root / "results" / f"{name.replace(' ', '_').replace('/', '_')}.txt"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("".join(format_mot_row(f + shift[f], tid, xyxy, s) for f, tid, xyxy, s in rows))
        files[name] = path
    return find_sequences(folder)[0], files


def revival_precision(seq: Sequence, clips: list[range], rows: Rows) -> dict[str, int]:
    """Revivals across cuts checked against the ground truth (see the module docstring)."""
    gt = read_mot_rows(seq.info.root / "gt" / "gt.txt")
    clip_of = {number: k for k, clip in enumerate(clips) for number in clip}
    votes: dict[tuple[int, int], Counter] = {}
    ends: dict[tuple[int, int], list[int]] = {}  # (clip, ID) -> [person at its first, at its last matched frame]
    by_frame: dict[int, list[tuple[int, np.ndarray]]] = {}
    for f, tid, xyxy, _ in rows:
        by_frame.setdefault(f, []).append((tid, np.asarray(xyxy)))
    for f, objs in sorted(by_frame.items()):
        truth = gt[gt[:, 0] == f]
        if not len(truth):
            continue
        boxes = np.stack([b for _, b in objs])
        iou = iou_matrix(boxes, tlwh_to_xyxy(truth[:, GT_TLWH]))
        for i, j in linear_assignment(1.0 - iou, 1.0 - MIN_IOU).pairs:
            who = int(truth[j, GT_ID_COLUMN])
            votes.setdefault((clip_of[f], objs[i][0]), Counter())[who] += 1
            ends.setdefault((clip_of[f], objs[i][0]), [who, who])[1] = who
    person = {key: c.most_common(1)[0][0] for key, c in votes.items()}
    first_clip: dict[int, int] = {}
    for clip, tid in sorted(person):
        first_clip.setdefault(tid, clip)
    revivals = [(clip, tid) for clip, tid in person if clip > first_clip[tid]]
    correct = sum(person[(clip, tid)] == person[(first_clip[tid], tid)] for clip, tid in revivals)
    # the decision itself: the person the revived track starts on vs the one the ID ended on in its latest clip
    before = {(clip, tid): max(c for c, t in person if t == tid and c < clip) for clip, tid in revivals}
    right_at_start = sum(ends[key][0] == ends[(before[key], key[1])][1] for key in revivals)
    people_by_clip = [{p for (c, _), p in person.items() if c == k} for k in range(len(clips))]
    returning = sum(len(people_by_clip[k] & set().union(*people_by_clip[:k])) for k in range(1, len(clips)))
    return {
        "revivals": len(revivals),
        "correct": int(correct),
        "correct_at_start": int(right_at_start),
        "returning_people": returning,
    }


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--data", nargs="+", required=True, help="MOTChallenge sequence folders with images")
    p.add_argument("--detections", choices=("detector", "public"), default="detector")
    p.add_argument("--clips", type=positive_int, default=3, help="clips per sequence (2-3)")
    p.add_argument("--gaps", type=float, nargs="+", default=[5.0, 15.0], help="seconds between clips (cycled)")
    p.add_argument("--peers", nargs="*", choices=list(PEERS), default=list(PEERS))
    p.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", help="config override")
    p.add_argument("--config", help="YAML config")
    p.add_argument("--out", type=Path, help="write the tables as JSON here")
    args = p.parse_args(argv)
    bad_gaps = [gap for gap in args.gaps if not 0 <= gap < math.inf]  # a negative gap made clips overlap
    if bad_gaps:
        p.error(f"argument --gaps: seconds >= 0, got {bad_gaps[0]:g}")
    source = "detector" if args.detections == "detector" else "public"
    try:  # a bad key, folder or weights file: one usage line before anything runs (was a traceback)
        cfg = load_config(args.config, overrides=["device=cpu", *args.set])
        prepared = [(seq, load_inputs(seq, source, cfg, None)) for seq in (find_sequences(d)[0] for d in args.data)]
    except (OSError, ValueError) as exc:  # (ConfigError is a ValueError)
        p.error(str(exc))
    report: dict[str, dict] = {}
    for seq, inputs in prepared:
        fps = seq.info.frame_rate
        clips = clip_ranges(seq.num_frames, args.clips)
        gap_frames = [round(args.gaps[k % len(args.gaps)] * fps) for k in range(len(clips) - 1)]
        size = (seq.info.height, seq.info.width) if seq.info.height > 0 and seq.info.width > 0 else None
        results = {
            WITH_GALLERY: run_ours(cfg, inputs.frames, clips, fps, gallery=True, frame_size=size),
            NO_GALLERY: run_ours(cfg, inputs.frames, clips, fps, gallery=False, frame_size=size),
            **{name: run_peer(name, inputs.frames, clips, fps) for name in args.peers},
            WHOLE: run_ours(cfg, inputs.frames, [range(1, seq.num_frames + 1)], fps, gallery=False, frame_size=size),
        }
        with tempfile.TemporaryDirectory() as tmp:
            cut = {name: rows for name, rows in results.items() if name != WHOLE}
            joined, files = write_concatenation(seq, clips, gap_frames, cut, Path(tmp))
            scores = {name: score_results([joined], {joined.name: path})[joined.name] for name, path in files.items()}
        whole = score_results([seq], _written(results[WHOLE], seq))[seq.name]
        scores[WHOLE] = whole
        revival = revival_precision(seq, clips, results[WITH_GALLERY])
        report[seq.name] = {
            "clips": [[c.start, c.stop - 1] for c in clips],
            "gap_seconds": [g / fps for g in gap_frames],
            "appearance": inputs.appearance,
            "scores": scores,
            "revival": revival,
        }
        print(f"\n{seq.name}: {len(clips)} clips {report[seq.name]['clips']}, gaps {gap_frames} frames at {fps:g} fps")
        print(f"{'tracker':<28} {'IDF1':>6} {'HOTA':>6} {'AssA':>6} {'MOTA':>6} {'IDSW':>5}")
        for name, s in scores.items():
            print(f"{name:<28} {s['IDF1']:>6.1f} {s['HOTA']:>6.1f} {s['AssA']:>6.1f} {s['MOTA']:>6.1f} {s['IDSW']:>5}")
        print(
            f"gallery revivals across cuts: {revival['correct']}/{revival['revivals']} right by majority, "
            f"{revival['correct_at_start']} right at the revival ({revival['returning_people']} people seen again "
            "after a cut)"
        )
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        write_json_atomic(args.out, report, indent=2)
    return 0


def _written(rows: Rows, seq: Sequence) -> dict[str, Path]:
    path = Path(tempfile.mkdtemp(prefix="cross_clip_")) / f"{seq.name}.txt"
    path.write_text("".join(format_mot_row(f, tid, xyxy, s) for f, tid, xyxy, s in rows))
    return {seq.name: path}


if __name__ == "__main__":
    raise SystemExit(run_tool(main))
