"""Test media written on the fly (no files in the repository)."""

from __future__ import annotations

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
