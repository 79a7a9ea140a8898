"""Whether an MP4 / MOV file lacks its index (`moov` box), as a recording cut off before it was finished does.

A phone or camera that lost power, a recorder killed, a copy or download stopped half way: the frames (`mdat`) are
there, but the index that says where each one is, written when recording stops, is not, and FFmpeg (so OpenCV) can
read none of them. Telling this apart from "not a video" gives the user the real cause.
"""

from __future__ import annotations

import struct
from pathlib import Path

__all__ = ["missing_mp4_index"]

_HEADER = struct.Struct(">I4s")  # box size (bytes, header included), box type
_LARGE_SIZE = struct.Struct(">Q")  # the 64-bit size that follows a header whose size field is 1
_FIRST_TYPES = (b"ftyp", b"wide", b"free", b"mdat", b"skip")  # an ISO media file starts with one of these boxes
_MAX_BOXES = 10_000  # top-level boxes walked at most (a real file has a handful)


def missing_mp4_index(path: str | Path) -> bool:
    """True for an ISO media file (MP4, MOV, M4V, 3GP: it starts with an `ftyp`, `wide`, `free`, `skip` or `mdat`
    box) whose top-level boxes hold no `moov`, whose last box runs past the end of the file before one, or whose
    `moov` itself runs past the end (a copy a few bytes short of a file indexed at its end): the file was cut short.
    False for anything else (another container, a whole MP4, an unreadable file)."""
    try:
        with Path(path).open("rb") as fh:
            size = fh.seek(0, 2)
            at = 0
            for _ in range(_MAX_BOXES):
                if at + _HEADER.size > size:
                    return at > 0  # the boxes end with the file, none of them a `moov`
                fh.seek(at)
                length, kind = _HEADER.unpack(fh.read(_HEADER.size))
                if at == 0 and kind not in _FIRST_TYPES:
                    return False  # not an ISO media file
                if length == 1:  # a 64-bit size follows
                    length = _LARGE_SIZE.unpack(fh.read(_LARGE_SIZE.size))[0]
                elif length == 0:  # the box runs to the end of the file: a `moov` whole, else no `moov` after it
                    return kind != b"moov"
                if length < _HEADER.size:
                    return False  # not box structure after all
                if kind == b"moov":
                    return at + length > size  # the index, cut short, is as unreadable as none
                at += length
            return False
    except (OSError, struct.error):
        return False
