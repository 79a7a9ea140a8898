"""Test media written on the fly (no files in the repository)."""

from __future__ import annotations

import os
import struct
from pathlib import Path

import cv2
import numpy as np
import pytest


def write_video(path: Path, frames: list[np.ndarray], fourcc: str = "FFV1", fps: float = 25) -> Path:
    """Write BGR `frames` with `fourcc` (FFV1 is lossless); skips the test where OpenCV cannot write it."""
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*fourcc), fps, (frames[0].shape[1], frames[0].shape[0]))
    if not writer.isOpened():
        pytest.skip(f"this OpenCV build cannot write {fourcc}")
    for frame in frames:
        writer.write(frame)
    writer.release()
    return path


def set_display_rotation(path: Path, degrees: int) -> Path:
    """Give the (first) track of an mp4 the display matrix of a phone held sideways (`rotate=90` or 270 in ffmpeg's
    terms: show the stored picture turned that many degrees clockwise), in place."""
    one = 0x10000  # 16.16 fixed point
    a, b, c, d = {90: (0, one, -one, 0), 270: (0, -one, one, 0)}[degrees]
    data = bytearray(path.read_bytes())
    box = data.find(b"tkhd") + 4  # version (1 byte), flags (3), then times, track id, duration, layer ... matrix
    header = 4 + (8 + 8 + 4 + 4 + 8 if data[box] == 1 else 4 + 4 + 4 + 4 + 4) + 8 + 8
    struct.pack_into(">9i", data, box + header, a, b, 0, c, d, 0, 0, 0, 0x40000000)
    path.write_bytes(bytes(data))
    return path


def undecodable_path(folder: Path, name: bytes) -> Path:
    """The path of `name` (bytes that are not UTF-8, as an old archive or a Latin-1 camera writes) in `folder`, as
    Python decodes it (lone surrogates); skips the test where the file system refuses such names."""
    path = Path(os.fsdecode(os.path.join(os.fsencode(folder), name)))
    try:
        path.touch()
        path.unlink()
    except (OSError, UnicodeError):
        pytest.skip("this file system takes only UTF-8 names")
    return path
