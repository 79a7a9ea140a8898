"""The log records of spawned workers (`track batch`'s local engine, `track eval --workers N`) are printed by the
parent as its own: one `track eval: warning: ...` line, other libraries' hidden, INFO lines with --verbose."""

from __future__ import annotations

import logging

from tracker.cli_logging import printing_log
from tracker.eval.runner import parallel_map


def test_a_workers_warnings_are_printed_as_the_commands_own_and_other_libraries_are_hidden(capfd):
    with printing_log("track eval", verbose=False):
        parallel_map(logging.getLogger("tracker.eval.x").warning, ["two\nlines", "another"], workers=2)
        parallel_map(logging.getLogger("openvino").warning, ["theirs"], workers=2)
    lines = capfd.readouterr().err.splitlines()
    assert sorted(lines) == ["track eval: warning: another", "track eval: warning: two lines"]


def test_a_workers_info_lines_show_with_verbose():
    seen: list[str] = []

    class Keep(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            seen.append(f"{record.levelname} {record.name}: {record.getMessage()}")

    keep = Keep()
    root = logging.getLogger()
    root.addHandler(keep)
    try:
        with printing_log("track eval", verbose=True):
            parallel_map(logging.getLogger("tracker.eval.x").info, ["one", "two"], workers=2)
    finally:
        root.removeHandler(keep)
    assert sorted(seen) == ["INFO tracker.eval.x: one", "INFO tracker.eval.x: two"]
