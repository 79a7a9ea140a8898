"""What of the log a `track` command prints on stderr. The library only logs (a library never configures logging);
the command line decides what its user sees:

- without `--verbose`: the tracker's own warnings (`tracker.*` loggers), each as one line in the form of the
  command's other notes, `track: warning: motion.camera_exclude ... leaves no pixel ...`: they tell of the user's own
  input (a setting that cannot work, a video unreadable before its end), which a run at ERROR hid; other libraries'
  warnings (torch, OpenVINO, Ray) stay hidden, and any logger's errors show as before (`ERROR name: message`);
- with `--verbose`: every logger's INFO lines and up (`LEVEL name: message`), the tracker's included.

`printing_log` installs one handler on the root logger for the command's duration and takes it off after, restoring
the root's level: a process (or a test) that calls `main` keeps its logging as it was.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Iterator
from contextlib import contextmanager

from tqdm import tqdm

from tracker.io.names import shown_name
from tracker.log_source import is_library_record

__all__ = ["printing_log"]

_FORMAT = "%(levelname)s %(name)s: %(message)s"  # every other printed record (and all of them with --verbose)


class _CommandLog(logging.Handler):
    """Prints records on the stderr of the moment (`sys.stderr` looked up at each record: a redirected stderr is
    written, not the one there was when the command started)."""

    def __init__(self, prog: str, verbose: bool) -> None:
        super().__init__(logging.INFO if verbose else logging.WARNING)
        self.prog = prog
        self.verbose = verbose
        self.setFormatter(logging.Formatter(_FORMAT))

    def filter(self, record: logging.LogRecord) -> bool:
        """Without --verbose: the tracker's warnings and every logger's errors; other libraries' warnings are not."""
        if not super().filter(record):
            return False
        return self.verbose or record.levelno >= logging.ERROR or is_library_record(record)

    def format(self, record: logging.LogRecord) -> str:
        if self.verbose or record.levelno != logging.WARNING:
            return super().format(record)
        return f"{self.prog}: warning: {' '.join(record.getMessage().split())}"  # one line, as the command's notes

    def emit(self, record: logging.LogRecord) -> None:
        stream = sys.stderr
        if stream is None:  # `track ... 2>&-` (main runs with stderr on /dev/null then; a caller may not)
            return
        try:
            with tqdm.external_write_mode(file=stream):  # a progress bar drawn there is cleared, then drawn below
                print(shown_name(self.format(record)), file=stream, flush=True)  # (U+FFFD, not `\\udce9`)
        except Exception:  # (a closed or broken stderr: Python's own handlers report it the same way)
            self.handleError(record)


@contextmanager
def printing_log(prog: str, verbose: bool) -> Iterator[None]:
    """While inside, log records are printed on stderr as `track` shows them (see the module's docstring); `prog`
    (`track`, `track batch`) starts each warning line. The root logger's level and handlers are as before after."""
    root = logging.getLogger()
    handler = _CommandLog(prog, verbose)
    level = root.level
    root.setLevel(min(level, handler.level))  # (a caller's lower level stays lower: 0 logs everything)
    root.addHandler(handler)
    try:
        yield
    finally:
        root.removeHandler(handler)
        root.setLevel(level)
