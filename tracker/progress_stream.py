"""The stream a progress bar writes to: stderr, until its reader leaves.

`track v.mp4 2>&1 | head -c 100` (or `| less`, quit early): the bar's next write raised BrokenPipeError inside the
tracking loop, and the run ended there with exit status 1, its txt left `.partial` and no summary.json. A bar is no
output of the run: `ProgressStream` stops writing once its reader is gone and the run goes on to its end; so it does
where stderr cannot be written at all (`2>/dev/full`, a full disk under `2>log.txt`: OSError, which ended the run
before its first frame, exit status 1 and no outputs).
"""

from __future__ import annotations

import sys
from typing import Any, TextIO

__all__ = ["ProgressStream"]


class ProgressStream:
    """A text stream (default: `sys.stderr` as it is when made) whose writes and flushes go nowhere once one found
    its reader gone (BrokenPipeError) or failed otherwise (OSError: a full disk), or from the start where there is
    no stream (stderr closed: None); every other attribute is the stream's (`isatty`, `fileno`, `encoding`)."""

    def __init__(self, stream: TextIO | None = None) -> None:
        self._stream = sys.stderr if stream is None else stream
        # the reader left: nothing more is written (from the start where there is no stderr: `track v.mp4 2>&-`,
        # where Python's sys.stderr is None and the bar's first write ended the run, exit status 1, no outputs)
        self.gone = self._stream is None

    def write(self, text: str) -> int:
        """Write `text`; 0 characters once the reader is gone."""
        if self.gone:
            return 0
        try:
            return self._stream.write(text)
        except OSError:  # (BrokenPipeError: its reader left)
            self.gone = True
            return 0

    def flush(self) -> None:
        """Flush the stream, while its reader is there."""
        if self.gone:
            return
        try:
            self._stream.flush()
        except OSError:  # (BrokenPipeError: its reader left)
            self.gone = True

    def __eq__(self, other: object) -> bool:
        """Equal to the stream it writes to: tqdm's `write` and `external_write_mode(file=sys.stderr)` (a log line
        printed while a bar is drawn) clear the bars on that stream first and draw them again after."""
        return other is self or other is self._stream

    __hash__ = object.__hash__

    def __getattr__(self, name: str) -> Any:
        return getattr(self._stream, name)
