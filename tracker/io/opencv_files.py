"""File names given to OpenCV, safely: OpenCV's string conversion crashes the process (a segmentation fault, no Python
error) on a name that is not UTF-8, i.e. bytes Python decodes to lone surrogates (a Latin-1 `caf\\xe9` folder of an
old archive or camera). Every OpenCV call of the library that takes a path goes through here: `opencv_name` checks a
name OpenCV must open itself (a video to read or write, FFmpeg's URLs, `cv2.imcount`); `read_image` and `write_image`
pass bytes, not the name, so they read and write any path.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

import cv2
import numpy as np

from tracker.io.names import is_utf8, shown_name

__all__ = [
    "NotUTF8Name",
    "check_video_folder",
    "image_file",
    "is_utf8",
    "opencv_name",
    "read_image",
    "shown_name",
    "write_image",
]


class NotUTF8Name(ValueError):
    """A name OpenCV cannot be given (not UTF-8); the message names it, one U+FFFD for each undecodable byte."""


def opencv_name(text: str | os.PathLike[str]) -> str:
    """`text` (a file name or URL) as a string OpenCV may be given.

    Raises:
        NotUTF8Name: the name is not UTF-8 (OpenCV would crash the process on it); the message is
            "<name>: OpenCV cannot open a name that is not UTF-8", the name as `shown_name` shows it.
    """
    name = str(text)
    if not is_utf8(name):
        raise NotUTF8Name(f"{shown_name(name)}: OpenCV cannot open a name that is not UTF-8")
    return name


def read_image(path: str | os.PathLike[str], flags: int = cv2.IMREAD_COLOR) -> np.ndarray | None:
    """The image file at `path` decoded as `cv2.imread(path, flags)` decodes it (the same pixels: OpenCV's decoder
    given the file's bytes), whatever the path's name; (H, W, 3) uint8 BGR with the default `flags`.

    Returns None where `cv2.imread` would: the file is missing, unreadable, empty or not an image OpenCV decodes.
    """
    try:
        data = np.fromfile(os.fspath(path), np.uint8)
    except (OSError, ValueError):  # missing, a folder, no permission
        return None
    if not data.size:  # (OpenCV asserts on an empty buffer)
        return None
    return cv2.imdecode(data, flags)


def image_file(path: str | os.PathLike[str], flags: int = cv2.IMREAD_COLOR) -> np.ndarray:
    """The image file at `path` decoded as `read_image` decodes it (any path's name), where it must be there (a
    sequence's frame a tool reads): `cv2.imread` gave None and the tool failed later on it, far from the file.

    Raises:
        OSError: the file is missing, unreadable, empty or not an image OpenCV decodes; one line naming it.
    """
    image = read_image(path, flags)
    if image is None:
        raise OSError(f"cannot read the image {shown_name(path)}: missing, unreadable, or not an image OpenCV decodes")
    return image


def write_image(path: str | os.PathLike[str], image: np.ndarray, params: Sequence[int] = ()) -> None:
    """Write `image` ((H, W) or (H, W, C) uint8, BGR) to `path` in the format its extension names (`.jpg`, `.png`
    ...), the bytes `cv2.imwrite(path, image, params)` writes, whatever the path's name. Not atomic: write into a
    folder published by rename.

    Raises:
        OSError: OpenCV cannot encode the image in that format, or the file cannot be written; names the file.
    """
    target = Path(path)
    try:
        ok, encoded = cv2.imencode(target.suffix, image, list(params))
    except cv2.error:  # an extension no encoder takes (OpenCV raises rather than answering False)
        ok = False
    if not ok:
        raise OSError(f"cannot write {shown_name(target)}: OpenCV cannot encode this image as {target.suffix!r}")
    with target.open("wb") as file:  # (an error names the file: numpy's own opening named none)
        encoded.tofile(file)


def check_video_folder(out: Path, setting: str = "--out", no_video: str = "--no-save-video") -> None:
    """Raise ValueError where an annotated video cannot be written in `out`: its path is not UTF-8 (OpenCV would
    crash on it). `setting` and `no_video` are what the caller calls the folder and the choice of no video
    (`track`'s options, or `track_many`'s `out_dir` and `save_video=False`), for the error."""
    if not is_utf8(str(out)):
        raise ValueError(
            f"{setting} {shown_name(str(out))}: OpenCV cannot write the annotated video in a folder whose path is not "
            f"UTF-8: rename it, choose another {setting}, or {no_video}"
        )
