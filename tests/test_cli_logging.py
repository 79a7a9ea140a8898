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
