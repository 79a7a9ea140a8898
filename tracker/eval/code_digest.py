"""Which code made an evaluation result: a digest of the source files of the modules that write it.

A result of `track eval` / `track compare` is reused by a re-run into the same --out when its fingerprint matches
(`tracker.eval.runner`). Settings and inputs alone let a re-run after an update of this package (a tracking fix, the
peers' boxes clipped to the frame) report the earlier code's figures as the new code's; the digest of the code that
tracks and writes the rows is part of the fingerprint, so such results are made again.
"""

from __future__ import annotations

import functools
import hashlib
from pathlib import Path

__all__ = ["OURS_CODE", "PEER_CODE", "code_digest"]

_PACKAGE = Path(__file__).resolve().parents[1]  # tracker/
_EVAL = Path(__file__).resolve().parent  # tracker/eval/
_DIGEST_CHARS = 16  # hex characters of the SHA-256 kept (64 bits: no two versions of the code collide in practice)
_DRIVERS = ("eval/runner.py", "eval/inputs.py", "io/mot.py")  # feed a tracker its frames and write its rows
_EVAL_MODULES_OF_OURS = ("runner.py", "inputs.py")  # of tracker/eval/, the ones that shape ours' rows

OURS_CODE = "ours"
"""`code_digest` kind: our tracker's code (the package, but for the evaluation's scoring and reporting modules)."""
PEER_CODE = "peer"
"""`code_digest` kind: the code that runs a peer (our adapters of Ultralytics' and BoxMOT's trackers, and the
runner); the packages themselves are identified by their versions."""


def _files(kind: str) -> list[Path]:
    if kind == OURS_CODE:
        return sorted(
            path for path in _PACKAGE.rglob("*.py") if path.parent != _EVAL or path.name in _EVAL_MODULES_OF_OURS
        )
    if kind == PEER_CODE:
        return sorted(_PACKAGE / name for name in (*_DRIVERS, "eval/peers.py", "eval/boxmot_peers.py"))
    raise ValueError(f"unknown code kind {kind!r}; expected {OURS_CODE!r} or {PEER_CODE!r}")


@functools.cache
def code_digest(kind: str) -> str:
    """Hex digest (16 characters) of the paths and bytes of the source files that make `kind`'s result files
    (`OURS_CODE` or `PEER_CODE`); computed once per process (~100 files, a few ms).

    Raises:
        ValueError: an unknown `kind`.
    """
    digest = hashlib.sha256()
    for path in _files(kind):
        digest.update(path.relative_to(_PACKAGE).as_posix().encode() + b"\0")
        digest.update(path.read_bytes() + b"\0")
    return digest.hexdigest()[:_DIGEST_CHARS]
