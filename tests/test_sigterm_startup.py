"""SIGTERM (`kill PID`, `docker stop`) before a `track` run handles signals itself (the models loading) ends the
command as Ctrl-C does: "track: interrupted", exit status 130, and the run folder it had claimed removed. (It ended
the process at once: exit status 143, no word, an empty run folder left behind.)"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from media import write_video
from test_cli import child_env, scene

from tracker.cli_args import EXIT_INTERRUPTED
from tracker.stop_flag import interrupts_held, terminating_interrupts

CHILD_SECONDS = 120  # the child imports torch and cv2: seconds, not minutes
# The child: models "load" (Tracker.from_config) when the process gets SIGTERM; the sleep is where it arrives.
CHILD = """
import os, signal, sys, time
import tracker.run as run
from tracker.cli import main

def loading(*args, **kwargs):
    os.kill(os.getpid(), signal.SIGTERM)
    time.sleep(60)

run.Tracker.from_config = staticmethod(loading)
sys.exit(main([sys.argv[1], "--out", sys.argv[2], "--quiet"]))
"""


def test_sigterm_while_the_models_load_ends_as_ctrl_c_and_leaves_no_run_folder(tmp_path):
    clip = write_video(tmp_path / "walk.avi", scene(5))
    out: Path = tmp_path / "run"
    child = subprocess.run(
        [sys.executable, "-c", CHILD, str(clip), str(out)],
        env=child_env(),
        capture_output=True,
        text=True,
        timeout=CHILD_SECONDS,
    )
    assert child.returncode == EXIT_INTERRUPTED, (child.returncode, child.stderr[-500:])
    assert "track: interrupted" in child.stderr
    assert not out.exists(), sorted(p.name for p in out.iterdir())


def test_sigterm_is_an_interrupt_inside_the_commands_unless_the_process_was_started_ignoring_it():
    """`track`, `track batch` and `track eval` share one rule (`terminating_interrupts`; batch and eval had copies of
    their own, which also took over a SIGTERM the process was started ignoring): inside, SIGTERM raises
    KeyboardInterrupt, as Ctrl-C; an ignored SIGTERM stays ignored; the handler before is back after."""
    before = signal.getsignal(signal.SIGTERM)
    try:
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        with pytest.raises(KeyboardInterrupt), terminating_interrupts():
            os.kill(os.getpid(), signal.SIGTERM)
            time.sleep(1)  # (the handler runs at the next bytecode: never reached)
        assert signal.getsignal(signal.SIGTERM) is signal.SIG_DFL
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        with terminating_interrupts():
            os.kill(os.getpid(), signal.SIGTERM)  # ignored: nothing happens
        assert signal.getsignal(signal.SIGTERM) is signal.SIG_IGN
    finally:
        signal.signal(signal.SIGTERM, before)


def test_interrupts_held_reach_the_handler_before_once_the_step_has_ended():
    """`interrupts_held` (around Ray's shutdown: a second Ctrl-C cut it short, and Ray then ended the driver with
    exit status 1): Ctrl-C and SIGTERM inside do not cut the step; after it they reach the handlers set before (a
    KeyboardInterrupt); an ignored SIGTERM stays ignored; the handlers before are back after."""
    steps = []
    before = signal.getsignal(signal.SIGTERM)
    try:
        with pytest.raises(KeyboardInterrupt), terminating_interrupts(), interrupts_held():
            for _ in range(2):
                os.kill(os.getpid(), signal.SIGINT)  # (Python handlers run at the next bytecode)
                os.kill(os.getpid(), signal.SIGTERM)
            steps.append("ended")
        assert steps == ["ended"] and signal.getsignal(signal.SIGINT) is signal.default_int_handler
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        with interrupts_held():
            os.kill(os.getpid(), signal.SIGTERM)  # ignored: nothing happens, then or after
        assert signal.getsignal(signal.SIGTERM) is signal.SIG_IGN
    finally:
        signal.signal(signal.SIGTERM, before)
