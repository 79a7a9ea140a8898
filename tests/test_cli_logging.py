"""What `track` prints of the log while its progress bar is drawn."""

from __future__ import annotations

import io
import logging
import sys

from tqdm import tqdm

from tracker.cli_logging import printing_log
from tracker.progress_stream import ProgressStream


def test_a_warning_while_the_bar_is_drawn_is_a_line_of_its_own_and_the_bar_is_drawn_again(monkeypatch):
    err = io.StringIO()
    monkeypatch.setattr(sys, "stderr", err)
    with printing_log("track", verbose=False), tqdm(total=10, file=ProgressStream(), mininterval=0) as bar:
        bar.update(3)
        logging.getLogger("tracker.x").warning("look")
        before, after = err.getvalue().split("track: warning: look\n")
    assert before.split("\r")[-1] == ""  # the bar's line was cleared: the warning starts its own line
    assert "3/10" in after  # and the bar is drawn again below it


def test_a_warning_naming_a_file_that_is_not_utf8_shows_its_byte_as_u_fffd(monkeypatch):
    """A warning naming a file whose name is not UTF-8 (`caf\\xe9`: a lone surrogate in Python) was printed with
    Python's `\\udce9` escape on stderr; it is shown with U+FFFD for the byte, as the commands' other lines."""
    err = io.StringIO()
    monkeypatch.setattr(sys, "stderr", err)
    with printing_log("track", verbose=False):
        logging.getLogger("tracker.x").warning("cannot read %s", "caf\udce9.png")
    assert err.getvalue() == "track: warning: cannot read caf\ufffd.png\n"
