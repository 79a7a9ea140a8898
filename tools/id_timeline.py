"""Which track ID covered each ground-truth person, for one or more result files of the same sequence.

    python tools/id_timeline.py ../shared/data/MOT15/train/TUD-Campus runs/compare/ours/TUD-Campus.txt \\
        runs/compare/BoxMOT-OccluBoost/TUD-Campus.txt

One line per gt person and result file: runs of frames with the same matched track ID (`-` where no result box
matched, IoU >= 0.5 one-to-one per frame), e.g. `7 | ours | 2:1-11 1:12-45`: person 7 had ID 2 on frames 1-11,
then ID 1. Use it to see which people and frames make the ID switches and fragmentations TrackEval counts.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tracker.eval.revival import identity_timeline  # noqa: E402
from tracker.io.mot import read_mot_rows  # noqa: E402


def format_runs(runs: list[tuple[int | None, int, int]]) -> str:
    """`ID:first-last` runs, `-` for unmatched frames."""
    return " ".join(f"{'-' if t is None else t}:{a}-{b}" for t, a, b in runs)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("sequence", type=Path, help="sequence folder with gt/gt.txt (frames numbered as the results)")
    parser.add_argument("results", type=Path, nargs="+", help="MOTChallenge result files of that sequence")
    args = parser.parse_args(argv)
    for path in (args.sequence / "gt" / "gt.txt", *args.results):
        if not path.is_file():  # one usage line, not a traceback
            parser.error(f"no such file: {path}")
    gt = read_mot_rows(args.sequence / "gt" / "gt.txt")
    timelines = {path: identity_timeline(gt, read_mot_rows(path)) for path in args.results}
    for person in sorted({int(g) for g in gt[:, 1]}):
        for path, timeline in timelines.items():
            print(f"{person} | {path.parent.name} | {format_runs(timeline.get(person, []))}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
