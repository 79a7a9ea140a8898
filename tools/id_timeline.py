"""Which track ID covered each ground-truth person, for one or more result files of the same sequence.

    python tools/id_timeline.py ../shared/data/MOT15/train/TUD-Campus runs/compare/ours/TUD-Campus.txt \\
        runs/compare/BoxMOT-OccluBoost/TUD-Campus.txt

One line per gt person and result file: runs of frames with the same matched track ID (`-` where no result box
matched, IoU >= 0.5 one-to-one per frame), e.g. `7 | ours | 2:1-11 1:12-45`: person 7 had ID 2 on frames 1-11,
then ID 1. Use it to see which people and frames make the ID switches and fragmentations TrackEval counts. Both
modes read the boxes TrackEval scores: on MOT16/17 gt, pedestrians not marked 0, and no result box that its
preprocessing matches to a distractor (a static person, a reflection ...).

With `--idf1`, where each file's IDF1 is lost instead (`tracker.eval.identity`): a header with IDF1, IDTP and the
box counts, then per person e.g. `2 | ours | 38 boxes | IDTP 0 (no ID) | 2:35>7 7:4>-`: the identity matching gave
person 2 no ID; ID 2 covered 35 of their boxes but belongs to person 7 (it carried 2 onto 7), ID 7 covered 4 and
belongs to nobody. The boxes a person lost, and to whose track, are what a rule has to win back.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tracker.closed_pipe import run_tool  # noqa: E402
from tracker.eval.identity import (  # noqa: E402
    IdentityBreakdown,
    as_trackeval_reads,
    identity_breakdown,
    refuse_unscorable,
    scored_rows,
)
from tracker.eval.report import result_split  # noqa: E402
from tracker.eval.revival import identity_timeline  # noqa: E402
from tracker.eval.sequences import benchmark_of, val_half_frames, window_rows  # noqa: E402
from tracker.io.mot import read_mot_rows, read_sequence_info  # noqa: E402


def format_runs(runs: list[tuple[int | None, int, int]]) -> str:
    """`ID:first-last` runs, `-` for unmatched frames."""
    return " ".join(f"{'-' if t is None else t}:{a}-{b}" for t, a, b in runs)


def format_breakdown(label: str, breakdown: IdentityBreakdown) -> list[str]:
    """The `--idf1` lines of one result file: a header, then one line per gt person."""
    lines = [
        f"{label}: IDF1 {100 * breakdown.idf1:.2f} | IDTP {breakdown.idtp} | gt boxes {breakdown.gt_boxes} | "
        f"result boxes {breakdown.result_boxes}"
    ]
    for person, p in sorted(breakdown.people.items()):
        own = "no ID" if p.track is None else f"ID {p.track}"
        covered = " ".join(
            f"{t}:{n}>{'-' if breakdown.owner[t] is None else breakdown.owner[t]}"
            for t, n in sorted(p.covered.items(), key=lambda item: -item[1])
        )
        lines.append(f"{person} | {label} | {p.frames} boxes | IDTP {p.idtp} ({own}) | {covered or '-'}")
    return lines


def print_breakdowns(gts: dict[Path, np.ndarray], results: dict[Path, np.ndarray], benchmark: str) -> None:
    """`--idf1`: each file's breakdown in turn against its ground truth (`gts`), on the boxes TrackEval scores
    (MOT17: pedestrians not marked 0, results on distractors left out), so its IDF1 is `track eval`'s."""
    for path, rows in results.items():
        breakdown = identity_breakdown(*scored_rows(gts[path], rows, benchmark))
        print("\n".join(format_breakdown(path.parent.name, breakdown)))


def read_as_trackeval(path: Path, gt: bool = False) -> np.ndarray:
    """A MOTChallenge file's rows as TrackEval reads them (`as_trackeval_reads`); ValueError naming the file where
    it is no csv or TrackEval refuses a row (a nan frame, an ID twice in a frame)."""
    rows = as_trackeval_reads(read_mot_rows(path), gt=gt)
    try:
        refuse_unscorable(rows, "gt" if gt else "result")
    except ValueError as exc:
        raise ValueError(f"{path}: {exc}") from None
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("sequence", type=Path, help="sequence folder with gt/gt.txt (frames numbered as the results)")
    parser.add_argument("results", type=Path, nargs="+", help="MOTChallenge result files of that sequence")
    parser.add_argument("--idf1", action="store_true", help="per person: IDTP, their ID, and whose IDs took the rest")
    args = parser.parse_args(argv)
    for path in (args.sequence / "gt" / "gt.txt", *args.results):
        if not path.is_file():  # one usage line, not a traceback
            parser.error(f"no such file: {path}")
    try:  # a file that is not MOTChallenge csv (a row of words, too few columns): one usage line naming it
        # (frames and IDs as TrackEval reads them: a frame of 1.5 is frame 1)
        gt = read_as_trackeval(args.sequence / "gt" / "gt.txt", gt=True)
        benchmark = benchmark_of(args.sequence)
        results = {path: read_as_trackeval(path) for path in args.results}
        length = read_sequence_info(args.sequence).length if (args.sequence / "seqinfo.ini").is_file() else None
    except ValueError as exc:
        parser.error(str(exc))
    gts = {path: gt for path in results}
    for path, rows in results.items():  # TrackEval refuses such a file ("invalid timesteps"): no IDF1 of ours
        last, frames = length, f"seqLength={length}"
        if length is not None and result_split(path) == "val-half":  # frames renumbered from 1, as its scores' gt
            first, _ = val_half_frames(length)
            gts[path] = window_rows(gt, first, length)
            last, frames = length - first + 1, f"{length - first + 1} (its --split val-half run's frames)"
        outside = rows[(rows[:, 0] < 1) | (rows[:, 0] > last)] if last is not None and len(rows) else rows[:0]
        if len(outside):
            parser.error(f"{path}: frame {outside[0, 0]:g} is outside 1..{frames} of {args.sequence}")
    if args.idf1:
        print_breakdowns(gts, results, benchmark)
        return 0
    scored = {path: scored_rows(gts[path], rows, benchmark) for path, rows in results.items()}  # as TrackEval's
    timelines = {path: identity_timeline(*rows) for path, rows in scored.items()}
    for person in sorted({int(g) for rows in scored.values() for g in rows[0][:, 1]}):
        for path, timeline in timelines.items():
            print(f"{person} | {path.parent.name} | {format_runs(timeline.get(person, []))}")
    return 0


if __name__ == "__main__":
    raise SystemExit(run_tool(main))
