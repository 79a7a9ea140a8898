"""Another process holding a gallery file's lock, as a running `track --gallery` does, for the tests of what the
gallery commands and saves do meanwhile."""

from __future__ import annotations

import contextlib
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

HOLD_WAIT_S = 30  # how long a test waits for the holder to let the lock go once its block ends

# Another process that holds a gallery's lock (as a running `track --gallery` does) and says "held" once it does
_HOLDER = """
import sys
from tracker.io.lock import gallery_lock
with gallery_lock(sys.argv[1]):
    print("held", flush=True)
    input()
"""


@contextlib.contextmanager
def gallery_held(path: Path) -> Iterator[subprocess.Popen]:
    """Another process holds the lock of the gallery `path` for the block (its Popen). The block starts once that
    process holds the lock with its process ID written, as it says on its stdout: its lock file exists before the
    lock is taken, and a test that waited for the file ran, on a loaded machine, while no one held the lock yet."""
    with subprocess.Popen(
        [sys.executable, "-c", _HOLDER, str(path)], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    ) as holding:
        try:
            said = holding.stdout.readline()  # (it ends the line inside the lock, or ends: "")
            assert said == "held\n", f"the lock holder ended before taking the lock: {said!r}, {holding.wait()}"
            yield holding
        finally:
            holding.communicate("done\n", timeout=HOLD_WAIT_S)
