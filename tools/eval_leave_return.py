"""The leave-and-return world: people who leave for 10-60 s and come back elsewhere; do they keep their ID?

    python tools/eval_leave_return.py                 # seeds 0-4, 8 people x 3 visits, D=512, 10 fps
    python tools/eval_leave_return.py --seeds 0 1 2 --same 0.8

Each seed is a new world (`tracker.testing.leave_and_return_world`, tracked by `score_leave_and_return`);
embeddings are ReID-like (two people ~0.45 cosine, two looks of one person ~`--same`). Reported per seed, with the
gallery and without it: reappearances (visits after a person's first), kept (shown under the ID the person had
before), revival precision (revived IDs that went to the right person), frames where two people in view shared an
ID.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # this checkout's tracker/, not the installed one

from tracker.cli_args import non_negative_int, positive_int  # noqa: E402
from tracker.closed_pipe import run_tool  # noqa: E402
from tracker.config import MAX_FRAME_RATE, MIN_FRAME_RATE  # noqa: E402
from tracker.testing import score_leave_and_return  # noqa: E402


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--seeds", type=non_negative_int, nargs="+", default=[0, 1, 2, 3, 4])
    p.add_argument("--people", type=positive_int, default=8)
    p.add_argument("--dim", type=positive_int, default=512)
    p.add_argument("--same", type=float, default=0.85, help="cosine of two looks of one person, in (0, 1]")
    p.add_argument("--fps", type=float, default=10.0)
    args = p.parse_args()
    if not 0 < args.same <= 1:  # the looks' noise is sqrt((1 / same - 1) / dim): NaN looks above 1, none at 0
        p.error(f"argument --same: a cosine in (0, 1], got {args.same:g}")
    if not MIN_FRAME_RATE <= args.fps <= MAX_FRAME_RATE:  # else the Tracker's ValueError, as a traceback
        p.error(f"argument --fps: must be between {MIN_FRAME_RATE:g} and {MAX_FRAME_RATE:g} frames/s, got {args.fps:g}")
    print(f"{'seed':>4} {'gallery':>8} {'returns':>7} {'kept':>5} {'recall':>7} {'precision':>9} {'shared':>6}")
    totals = {True: [0, 0, 0], False: [0, 0, 0]}
    for seed in args.seeds:
        for gallery in (True, False):
            s = score_leave_and_return(seed, gallery, args.people, args.dim, args.same, args.fps)
            counts = (s.reappearances, s.kept, s.revivals)
            totals[gallery] = [a + b for a, b in zip(totals[gallery], counts, strict=True)]
            print(
                f"{seed:>4} {'yes' if gallery else 'no':>8} {s.reappearances:>7} {s.kept:>5} {s.recall:>7.3f} "
                f"{s.precision:>9.3f} {s.shared_frames:>6}",
                flush=True,
            )
    for gallery, (returns, kept, revivals) in totals.items():
        precision = kept / revivals if revivals else 1.0
        print(f" all {'yes' if gallery else 'no':>8} {returns:>7} {kept:>5} {kept / returns:>7.3f} {precision:>9.3f}")


if __name__ == "__main__":
    raise SystemExit(run_tool(main))
