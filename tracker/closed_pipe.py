"""Printing to a reader that may leave early (`track gallery ls | head`, `python tools/id_timeline.py ... | head`).

When the reader of stdout exits, the next write raises BrokenPipeError, and so would Python's own flush at exit. A
reader that has read what it wanted is no failure of the command: these helpers point stdout at the null device
(the recipe of Python's documentation, "Note on SIGPIPE") and let the command end with its own status.
"""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Callable

__all__ = ["run_tool", "silence_stdout"]

_EXIT_OK = 0  # the status of a tool whose reader left: what it printed was read as far as wanted


def silence_stdout() -> None:
    """Point stdout's file descriptor at the null device (after a BrokenPipeError): later writes and the flush at
    exit go nowhere instead of raising again."""
    os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())


def run_tool(main: Callable[[], int | None]) -> int:
    """Run a tool's `main` (`raise SystemExit(run_tool(main))`): its status (None: 0), or 0 when its reader left
    while it printed (BrokenPipeError), with stdout silenced for the rest of the process. A `main` that ended
    (returned, or `sys.exit("message")` / `sys.exit(1)`) keeps its status where the reader left before what it
    still had buffered: Python's flush at exit failed then, "Exception ignored ... BrokenPipeError" and status 120.
    With no stderr (`2>&-`), what `main` says there goes nowhere: argparse put its usage line on stdout.

    Raises:
        SystemExit: `main`'s own, once stdout is flushed (its message, if any, is printed by Python on stderr).
    """
    if sys.stderr is None:  # (print_usage(file=None), print(file=None): stdout, among the tool's output)
        with open(os.devnull, "w") as nowhere, contextlib.redirect_stderr(nowhere):
            return run_tool(main)
    try:
        status = main()
    except SystemExit:
        _flush_or_silence()
        raise
    except BrokenPipeError:
        silence_stdout()
        return _EXIT_OK
    _flush_or_silence()
    return _EXIT_OK if status is None else status


def _flush_or_silence() -> None:
    """Flush stdout (what a tool still has buffered), or silence it when its reader has left."""
    try:
        sys.stdout.flush()
    except BrokenPipeError:
        silence_stdout()
