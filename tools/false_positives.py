"""Per-track false positives of `track eval` results, classified: where a run's FP come from.

    python tools/false_positives.py OUT_DIR --data ../shared/data/MOT15/train/TUD-Campus ../shared/data/PETS09-S3-MF1
    python tools/false_positives.py OUT_DIR --ref REF_DIR --data ...     # FP per cell against another run
    python tools/false_positives.py OUT_DIR --data ... --min-fp 5        # also list each track with >= 5 FP

Every `ours/<sequence>.txt` under OUT_DIR (any depth: one `track eval --out`, or an acc_eval.sh folder of them) is
matched to its ground truth frame by frame (Hungarian on 1 - IoU, a pair at IoU >= 0.5, as CLEAR MOT), and each of
our unmatched boxes is a false positive of its track. A variant's ground truth is read from the variants cache
(`tracker.eval.variants.default_variants_dir`); an original sequence's from the `--data` folder of that name. Every
ground-truth row counts (the MOT15 layout of TUD-Campus and PETS09-S3-MF1): MOT16/17's ignore flags and distractor
classes are not applied, so a box on a MOT17 distractor counts as matched. A `--split val-half` run's results,
numbered from 1 at the val half's first frame (its summary.json says so), meet the ground truth of those frames.

A track's false positives are classified by their boxes (the first class that applies):
    duplicate     on average overlapping (IoU > 0.3) another of our boxes that did match a person;
    border        mostly (> half) within 0.1 box heights of a frame border (cut boxes, people entering/leaving);
    fixed-object  no person there (mean IoU with the nearest ground-truth box < 0.1) and a box that stays put
                  (median centre step < 0.01 box heights a frame), at least 5 frames;
    no-person     no person there, the box moves (a fixed object seen by a moving camera, or a phantom);
    loc/partial   a person there, but the box is off (IoU 0.1-0.5): an occluded or partly detected person, a
                  box drifting after its detection ended; `loc-only` when the track never matched anybody.

Beside the classes, `cut-out` counts the false positives (of any class) on a person whose ground truth a moving
variant's crop rule dropped: the source's box mapped into the variant, partly in view but less than
`variants.MIN_VISIBLE_FRACTION` of it, matched at IoU >= 0.5 to the clipped box. Every tracker that reports a
person the border cuts that far pays these alike: they measure the rule, not the tracking.
"""

from __future__ import annotations

import argparse
import collections
import configparser
import json
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # this checkout's tracker/, not the installed one

from tracker.assignment import linear_assignment  # noqa: E402
from tracker.association import iou_matrix  # noqa: E402
from tracker.closed_pipe import run_tool  # noqa: E402
from tracker.eval.report import result_split  # noqa: E402
from tracker.eval.sequences import find_sequences, val_half_frames, window_rows  # noqa: E402
from tracker.eval.variants import MIN_VISIBLE_FRACTION, NAME_SEPARATOR, FrameTransform, default_variants_dir  # noqa: E402
from tracker.io.mot import read_mot_rows, tlwh_to_xyxy  # noqa: E402

MATCH_IOU = 0.5  # CLEAR MOT's match threshold
DUPLICATE_IOU = 0.3  # mean IoU with a matched box of ours that makes a duplicate
BORDER_HEIGHTS = 0.1  # a box this close to a border (in its heights) is at the border
BORDER_SHARE = 0.5  # a track with more than this share of its false positives at a border is a border track
NO_PERSON_IOU = 0.1  # mean IoU with the nearest person below this: nobody there
STILL_STEP = 0.01  # median centre step (box heights a frame) below this: the box stays put
MIN_FIXED_FRAMES = 5  # frames a box must stay put to be called a fixed object
CLASSES = ("fixed-object", "no-person", "loc/partial", "loc-only", "duplicate", "border")


@dataclass
class TrackFP:
    track_id: int
    fp: int
    tp: int
    first: int
    last: int
    mean_box: list[float]
    mean_iou: float
    kind: str
    cut_out: int = 0  # of `fp`: on a person the variant's crop rule dropped (less than half in view)


def iou_tlwh(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """(N, M) IoU of (N, 4) and (M, 4) top-left-width-height boxes (the tracker's `iou_matrix`)."""
    return iou_matrix(tlwh_to_xyxy(a), tlwh_to_xyxy(b))


def sequence_folder(name: str, data: list[Path]) -> Path | None:
    """The folder holding `name`'s gt/ and seqinfo.ini: a variant in the cache, or in `data` (found as `track eval
    --data` finds it, `find_sequences`: the sequence itself, `.` inside it too, a folder of sequences, or a
    MOTChallenge root with train/); None if neither."""
    if NAME_SEPARATOR in name:
        found = sorted(default_variants_dir(None).glob(f"{name}-*"))
        return found[0] if found else None
    for folder in data:  # (`--data ../shared/data/MOT17`, as the run was given, found none of its sequences)
        try:  # `track eval`'s own discovery: also `--data .` inside the sequence (its folder named "" before)
            (sequence,) = find_sequences(folder, names=[name])
        except FileNotFoundError:  # (not under this folder)
            continue
        return sequence.info.root
    return None


def cut_out_people(folder: Path, width: int, height: int) -> np.ndarray:
    """(R, 6) rows frame, id, x, y, w, h of the people a moving variant's crop rule dropped from its ground truth:
    the source's boxes mapped into the variant and clipped to it, partly in view but less than
    `MIN_VISIBLE_FRACTION` of their area. Empty for an original sequence (no variant.json) or a variant whose
    source ground truth is gone."""
    note = folder / "variant.json"
    if not note.is_file():
        return np.zeros((0, 6))
    meta = json.loads(note.read_text())
    source = Path(meta["source"]) / "gt" / "gt.txt"
    if not source.is_file():
        return np.zeros((0, 6))
    by_source = {int(s): FrameTransform(int(f), int(s), sc, x0, y0) for f, s, sc, x0, y0 in meta["transforms"]}
    out = []
    for row in read_mot_rows(source):
        t = by_source.get(int(row[0]))
        if t is None:
            continue
        x1, y1 = t.scale * (row[2] - t.x0), t.scale * (row[3] - t.y0)
        x2, y2 = x1 + t.scale * row[4], y1 + t.scale * row[5]
        cx1, cy1, cx2, cy2 = max(x1, 0.0), max(y1, 0.0), min(x2, width), min(y2, height)
        inside = max(cx2 - cx1, 0.0) * max(cy2 - cy1, 0.0)
        if 0.0 < inside < MIN_VISIBLE_FRACTION * (x2 - x1) * (y2 - y1):
            out.append([t.frame, row[1], cx1, cy1, cx2 - cx1, cy2 - cy1])
    return np.array(out).reshape(-1, 6)


def classify(results: Path, folder: Path, val_half: bool = False) -> tuple[int, list[TrackFP]]:
    """(false positives, per-track list, most first) of one result file against `folder`'s ground truth; with
    `val_half`, a `--split val-half` run's, whose frame 1 is the val half's first (`val_half_frames`)."""
    info = configparser.ConfigParser()
    info.read(folder / "seqinfo.ini")
    width, height = int(info["Sequence"]["imWidth"]), int(info["Sequence"]["imHeight"])
    gt = read_mot_rows(folder / "gt" / "gt.txt")
    if val_half:  # renumbered as the results are (else the first half's people met the second half's boxes)
        gt = window_rows(gt, *val_half_frames(int(info["Sequence"]["seqLength"])))
    ours = read_mot_rows(results)
    cut_out = cut_out_people(folder, width, height)
    fps: dict[int, list[tuple[int, np.ndarray, float, float, bool]]] = collections.defaultdict(list)
    tps: collections.Counter[int] = collections.Counter()
    for frame in np.unique(ours[:, 0]) if len(ours) else []:
        mine, truth = ours[ours[:, 0] == frame], gt[gt[:, 0] == frame]
        overlap = iou_tlwh(mine[:, 2:6], truth[:, 2:6]) if len(truth) else np.zeros((len(mine), 0))
        matched = np.zeros(len(mine), dtype=bool)
        if overlap.size:
            matched[linear_assignment(1.0 - overlap, 1.0 - MATCH_IOU).pairs[:, 0]] = True
        among = iou_tlwh(mine[:, 2:6], mine[:, 2:6])
        np.fill_diagonal(among, 0.0)
        for i in range(len(mine)):
            if matched[i]:
                tps[int(mine[i, 1])] += 1
                continue
            nearest = float(overlap[i].max()) if overlap.size else 0.0
            dropped = cut_out[cut_out[:, 0] == frame, 2:6]
            on_cut = bool(len(dropped)) and float(iou_tlwh(mine[i : i + 1, 2:6], dropped).max()) >= MATCH_IOU
            fps[int(mine[i, 1])].append((int(frame), mine[i, 2:6], nearest, float((among[i] * matched).max()), on_cut))
    tracks = [_track(tid, rows, tps[tid], width, height) for tid, rows in fps.items()]
    return sum(t.fp for t in tracks), sorted(tracks, key=lambda t: -t.fp)


def _track(tid: int, rows: list, tp: int, width: int, height: int) -> TrackFP:
    frames = [r[0] for r in rows]
    boxes = np.array([r[1] for r in rows])
    nearest, duplicate = np.array([r[2] for r in rows]), np.array([r[3] for r in rows])
    centres, heights = boxes[:, :2] + boxes[:, 2:] / 2, boxes[:, 3]
    steps = np.hypot(*np.diff(centres, axis=0).T) / heights[1:] if len(rows) > 1 else np.zeros(1)
    margin = BORDER_HEIGHTS * heights
    at_border = (
        (boxes[:, 0] < margin)
        | (boxes[:, 1] < margin)
        | (boxes[:, 0] + boxes[:, 2] > width - margin)
        | (boxes[:, 1] + boxes[:, 3] > height - margin)
    )
    if duplicate.mean() > DUPLICATE_IOU:
        kind = "duplicate"
    elif at_border.mean() > BORDER_SHARE:
        kind = "border"
    elif nearest.mean() < NO_PERSON_IOU:
        still = np.median(steps) < STILL_STEP and len(rows) >= MIN_FIXED_FRAMES
        kind = "fixed-object" if still else "no-person"
    else:
        kind = "loc/partial" if tp else "loc-only"
    mean_box = boxes.mean(axis=0).round(0).tolist()
    cut = sum(r[4] for r in rows)
    return TrackFP(tid, len(rows), tp, frames[0], frames[-1], mean_box, round(float(nearest.mean()), 2), kind, cut)


def cells(root: Path, data: list[Path]) -> dict[str, tuple[int, list[TrackFP]]]:
    """{cell (result folder below `root` / sequence): classify(...)} for every ours/*.txt under `root`."""
    out = {}
    for results in sorted(root.rglob("ours/*.txt")):
        folder = sequence_folder(results.stem, data)
        if folder is None:
            print(f"skipped {results}: no --data folder or cached variant named {results.stem}", file=sys.stderr)
            continue
        # one cell per result file: an --out folder of several sequences (MOT17's seven) holds them side by side
        out[str(results.parent.parent.relative_to(root) / results.stem)] = classify(
            results, folder, result_split(results) == "val-half"
        )
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("results", type=Path, help="a `track eval --out` folder, or a folder of them")
    parser.add_argument(
        "--data",
        type=Path,
        nargs="+",
        default=[],
        help="the original sequences' folders, folders of them or MOTChallenge roots, as `track eval --data`",
    )
    parser.add_argument("--ref", type=Path, help="another run's folder: its FP per cell are shown beside")
    parser.add_argument("--min-fp", type=int, default=0, help="list the tracks with at least this many FP")
    args = parser.parse_args()
    for folder in (args.results, args.ref):
        if folder is not None and not any(folder.rglob("ours/*.txt")):  # else an empty table of zeros, no word
            parser.error(f"no results (ours/*.txt) under {folder}: give a `track eval --out` folder")
    missing = [str(folder) for folder in args.data if not folder.is_dir()]
    if missing:  # else each of its sequences 'skipped' and a table without them, exit status 0
        parser.error(f"--data: no such folder: {', '.join(missing)}")
    ours = cells(args.results, args.data)
    if not ours:  # else the 'skipped' lines and a table of zeros, exit status 0: as if the run had no FP
        parser.error(f"no result under {args.results} is of a sequence in --data: give the folders it evaluated")
    ref = cells(args.ref, args.data) if args.ref else {}
    print("| cell | FP | " + " | ".join(CLASSES) + " | cut-out |" + (" FP ref |" if ref else ""))
    print("|---" * (len(CLASSES) + 3 + bool(ref)) + "|")
    totals: collections.Counter[str] = collections.Counter()
    for cell, (count, tracks) in ours.items():
        by_kind = collections.Counter()
        for t in tracks:
            by_kind[t.kind] += t.fp
            by_kind["cut-out"] += t.cut_out
        totals.update(by_kind)
        extra = f" {ref[cell][0]} |" if cell in ref else (" - |" if ref else "")
        print(f"| {cell} | {count} | " + " | ".join(str(by_kind[k]) for k in (*CLASSES, "cut-out")) + " |" + extra)
        for t in tracks:
            if args.min_fp and t.fp >= args.min_fp:
                print(
                    f"|   track {t.track_id}: {t.fp} FP, {t.tp} matched, frames {t.first}-{t.last}, "
                    f"box {t.mean_box}, IoU with the nearest person {t.mean_iou:.2f}, {t.kind} |"
                )
    print("\nall cells: " + ", ".join(f"{k} {totals[k]}" for k in (*CLASSES, "cut-out")))


if __name__ == "__main__":
    raise SystemExit(run_tool(main))
