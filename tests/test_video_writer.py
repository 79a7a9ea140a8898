"""The annotated video (`tracker.io.video.VideoWriter`): every frame size a source can give is written."""

from __future__ import annotations

import cv2
import numpy as np
import pytest
from media import undecodable_path

from tracker.io.video import VideoWriter


@pytest.mark.parametrize(("height", "width"), [(1, 1), (1, 500), (500, 1), (3, 2), (479, 641)])
def test_a_frame_one_pixel_high_or_wide_is_written_not_an_error(tmp_path, height, width):
    """`track` of images 1 px high or wide (a line-scan camera, a strip cut from a panorama) tracked the first frame,
    then ended with "track: error: cannot write video ...mp4" (OpenCV's mp4v writer takes sides of 2 px or more).
    Every frame is written, at 2 px or more a side; the video has one frame per frame given."""
    path = tmp_path / "strip.mp4"
    frames = [np.full((height, width, 3), 40 * i, np.uint8) for i in range(3)]
    with VideoWriter(path, 25) as writer:
        for frame in frames:
            writer.write(frame)
    capture = cv2.VideoCapture(str(path))
    read = []
    while True:
        ok, image = capture.read()
        if not ok:
            break
        read.append(image)
    capture.release()
    assert len(read) == writer.frames == len(frames)
    assert [int(np.median(image)) for image in read] == pytest.approx([40 * i for i in range(3)], abs=3)


def test_a_path_that_is_not_utf8_is_an_error_not_a_crash(tmp_path):
    """`track ... --out caf<0xE9>` (a Latin-1 folder name) ended in a segmentation fault at the first frame: OpenCV's
    string conversion crashes on the path Python decodes with surrogates. One OSError naming the file now."""
    path = undecodable_path(tmp_path, b"caf\xe9.mp4")
    with VideoWriter(path, 25) as writer, pytest.raises(OSError, match="OpenCV cannot open a path that is not UTF-8"):
        writer.write(np.zeros((48, 64, 3), np.uint8))
    assert writer.frames == 0 and not path.exists()
