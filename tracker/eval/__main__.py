"""`python -m tracker.eval [eval|compare] ...` (the same as `track eval ...` / `track compare ...`)."""

import sys

from tracker.eval.cli import compare_main, eval_main

_args = sys.argv[1:]
if _args and _args[0] == "compare":
    sys.exit(compare_main(_args[1:]))
sys.exit(eval_main(_args[1:] if _args and _args[0] == "eval" else _args))
