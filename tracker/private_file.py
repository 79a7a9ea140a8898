"""Files that hold people's looks (ReID embeddings: biometric data), created readable by their owner only.

A `track` run's resume checkpoint (the pickled tracker: every track's appearance bank and, with `--gallery`, the
whole gallery) is written to a temp file that is renamed into place. `create_private` makes that temp file with mode
0600 from its first byte, whatever the umask, so the file renamed over an existing one is 0600 too (`track eval`'s
input cache, every box's embedding, makes its own per-writer temp file with `tempfile.mkstemp`, 0600 as well);
`keep_private` makes a file read again as it is (an older version's 0644 cache) 0600. The gallery's own files are
written the same way (`tracker.gallery_file.write_atomic`).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import BinaryIO

__all__ = ["PRIVATE_MODE", "create_private", "keep_private"]

PRIVATE_MODE = 0o600  # owner read/write only: the file holds people's looks
OTHERS_BITS = 0o077  # the mode bits that let the group or others at a file: `keep_private` takes them away


def create_private(path: Path) -> BinaryIO:
    """Create `path` anew, mode 0600 (owner read/write only) whatever the umask, and open it for writing (binary).

    A file already at `path` (the temp file of a write killed before its rename) is removed first: opened again it
    would keep its own mode, 0644 if an older version wrote it. The caller closes the file (a `with` block).

    Raises:
        OSError: the folder cannot be written (or a file at `path` cannot be removed): the system's error.
    """
    path.unlink(missing_ok=True)
    # O_EXCL: made here, never another file's (nor one a symbolic link left at the path points to)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, PRIVATE_MODE)
    try:
        os.fchmod(fd, PRIVATE_MODE)  # (the umask can only take bits away; this makes the mode exactly 0600)
        return os.fdopen(fd, "wb")
    except BaseException:
        os.close(fd)
        raise


def keep_private(path: Path) -> None:
    """Take the group's and others' permissions away from the file at `path` (an existing one, read again as it is:
    an input cache an older version wrote 0644), in place: its other bits and its content stay. Nothing is done
    where it has none.

    Raises:
        OSError: no such file, or its mode cannot be changed (another user's file): the system's error.
    """
    mode = os.stat(path).st_mode
    if mode & OTHERS_BITS:
        os.chmod(path, mode & ~OTHERS_BITS & 0o7777)
