"""MOT17 train (7 FRCNN sequences, public detections) with TrackEval: ours, or ours beside Ultralytics' trackers.

    python tools/eval_mot17.py                          # `track eval` on ../shared/data/MOT17
    python tools/eval_mot17.py --compare --workers 2    # `track compare`: all peers, one table and chart
    python tools/eval_mot17.py --split val-half --set lifecycle.min_hits=3

A thin wrapper: every flag after the tool's own is passed to `track eval` / `track compare` unchanged;
--data defaults to $TRACKER_SHARED/data/MOT17 or ../shared/data/MOT17.
"""

from __future__ import annotations

import logging
import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # this checkout's tracker/, not the installed one

from tracker.closed_pipe import run_tool  # noqa: E402
from tracker.eval.cli import command_parser, compare_main, eval_main  # noqa: E402

HELP_FLAGS = ("-h", "--help")


def default_data() -> Path:
    shared = Path(os.environ["TRACKER_SHARED"]) if os.environ.get("TRACKER_SHARED") else ROOT.parent / "shared"
    return shared / "data" / "MOT17"


def main(argv: list[str]) -> int:
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    compare = "--compare" in argv
    argv = [a for a in argv if a != "--compare"]
    wants_help = any(a in HELP_FLAGS for a in argv)
    if wants_help:  # the tool's own --compare and --data default, then `track eval`'s / `track compare`'s options
        print(__doc__)
        # `track eval`'s / `track compare`'s help with --data optional, as it is here (it said "--data DIR" required)
        command_parser(compare, data_default=str(default_data())).parse_args(argv)  # (exits once printed)
    if not wants_help and not any(a == "--data" or a.startswith("--data=") for a in argv):  # both spellings
        data = default_data()
        if not data.is_dir():
            print(f"eval_mot17: {data} not found; pass --data MOT17_ROOT", file=sys.stderr)
            return 2
        argv = ["--data", str(data), *argv]
    return (compare_main if compare else eval_main)(argv)


if __name__ == "__main__":
    raise SystemExit(run_tool(lambda: main(sys.argv[1:])))
