"""Frame sources: video files, image folders or globs, MOTChallenge sequences, webcams and streams.

`open_source(spec)` returns a `FrameSource`; iterating it yields `(frame_number, BGR image)` with 1-based
frame numbers that are positions in the source, so a skipped frame leaves a gap rather than shifting the
rest. Unreadable frames are skipped and counted in `corrupt_frames`; a file that ends before the length its
header announces (truncated) stops there and says so in `ended_early`; a stream that stops is reopened with
exponential backoff before giving up with a `SourceError`.
"""

from __future__ import annotations

import glob
import logging
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np

from tracker.io.mot import read_sequence_info

__all__ = ["FrameSource", "SourceError", "open_source"]

log = logging.getLogger(__name__)

IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".png", ".bmp", ".tif", ".tiff", ".webp")
GLOB_CHARS = "*?["
MAX_CONSECUTIVE_FAILURES = 30  # a video that fails this many grabs in a row has ended (truncated or damaged)
STREAM_RETRIES = 5  # reopen attempts for a dropped webcam/URL stream
STREAM_BACKOFF_S = 0.5  # first wait before reopening; doubles on each retry
STREAM_TIMEOUT_MS = 5000  # open/read timeout handed to FFmpeg for URLs, so a dead server cannot hang the run
STOP_POLL_S = 0.1  # how often a backoff wait checks whether the run was asked to stop


class SourceError(Exception):
    """The source cannot be opened or read (the message is one line, for users)."""


FrameIterator = Iterator[tuple[int, np.ndarray]]


@dataclass
class FrameSource:
    """An iterable of `(frame_number, image)`.

    Attributes:
        name: a file-name-safe stem for the outputs (video stem, folder name, sequence name, webcam0 ...).
        kind: "video", "images", "sequence" or "stream".
        frame_rate: frames per second the source declares, or None (image folders, most streams).
        total: frames expected, or None where unknown (streams).
        corrupt_frames: frames skipped because they could not be decoded (grows while iterating).
        ended_early: for a video whose data stops before `total` (truncated), the last frame number read.
        should_stop: polled during stream backoff waits; the run loop sets it to its stop flag.
    """

    name: str
    kind: str
    frame_rate: float | None
    total: int | None
    corrupt_frames: int = 0
    ended_early: int | None = None
    should_stop: Callable[[], bool] = field(default=lambda: False, repr=False)
    _frames: Callable[[FrameSource], FrameIterator] | None = field(default=None, repr=False)

    def __iter__(self) -> FrameIterator:
        if self._frames is None:
            raise SourceError(f"{self.name}: source has no frame reader")
        return self._frames(self)


def _is_stream(spec: str) -> bool:
    return spec.isdigit() or "://" in spec


def open_source(spec: str | Path) -> FrameSource:
    """Open a video file, image folder or glob, MOTChallenge sequence folder, webcam index or URL.

    Nothing is decoded beyond the first frame of a video (to reject files that are not videos).

    Raises:
        SourceError: missing path, nothing readable, or a file that is not a video.
    """
    spec = str(spec)
    if _is_stream(spec):
        return _stream_source(spec)
    path = Path(spec).expanduser()
    if not path.exists() and any(ch in spec for ch in GLOB_CHARS):
        files = sorted(f for f in glob.glob(str(path)) if f.lower().endswith(IMAGE_EXTENSIONS))
        if not files:
            raise SourceError(f"no images match {spec}")
        return _image_source(path.parent.name or "images", [Path(f) for f in files], None, "images")
    if not path.exists():
        raise SourceError(f"no such file or folder: {spec}")
    if path.is_dir():
        return _folder_source(path)
    return _video_source(path)


def _folder_source(path: Path) -> FrameSource:
    if (path / "seqinfo.ini").is_file():
        try:
            info = read_sequence_info(path)
        except (OSError, ValueError) as exc:
            raise SourceError(f"{path}: bad MOTChallenge seqinfo.ini: {exc}") from None
        count = info.frames_with_images()  # some copies hold only the first frames: stop where images stop
        if count == 0:
            raise SourceError(f"{path}: MOTChallenge sequence without images in {info.image_dir}")
        if count < info.length:
            log.info("%s: images for %d of %d frames; tracking those", info.name, count, info.length)
        files = [info.image_path(f) for f in range(1, count + 1)]
        return _image_source(info.name, files, info.frame_rate, "sequence")
    if (path / "img1").is_dir():
        return _folder_source(path / "img1")  # a sequence folder without seqinfo.ini
    files = sorted(p for p in path.iterdir() if p.suffix.lower() in IMAGE_EXTENSIONS)
    if not files:
        raise SourceError(f"{path}: folder holds no images ({', '.join(IMAGE_EXTENSIONS)})")
    return _image_source(path.name, files, None, "images")


def _image_source(name: str, files: list[Path], fps: float | None, kind: str) -> FrameSource:
    def frames(src: FrameSource) -> FrameIterator:
        for number, file in enumerate(files, start=1):
            image = cv2.imread(str(file), cv2.IMREAD_COLOR)  # grayscale and 4-channel files come back as BGR
            if image is None or image.size == 0:
                src.corrupt_frames += 1
                log.warning("skipped unreadable image %s", file)
                continue
            yield number, image

    return FrameSource(name, kind, fps, len(files), _frames=frames)


def _video_source(path: Path) -> FrameSource:
    if not path.is_file():
        raise SourceError(f"{path}: not a regular file")
    try:
        size = path.stat().st_size
        with path.open("rb"):
            pass
    except OSError as exc:
        raise SourceError(f"cannot read {path}: {exc.strerror or exc}") from None
    if size == 0:
        raise SourceError(f"{path}: empty file (0 bytes), not a video")
    cap = cv2.VideoCapture(str(path))
    try:
        ok, first = cap.read() if cap.isOpened() else (False, None)
        fps = cap.get(cv2.CAP_PROP_FPS) if cap.isOpened() else 0.0
        total = int(cap.get(cv2.CAP_PROP_FRAME_COUNT)) if cap.isOpened() else 0
    finally:
        cap.release()
    if not ok or first is None:
        raise SourceError(f"{path}: not a readable video (OpenCV could not decode a frame; not a video, or truncated)")

    def frames(src: FrameSource) -> FrameIterator:
        capture = cv2.VideoCapture(str(path))
        position, last_good = 0, 0  # frames consumed so far; the last one decoded
        try:
            while position - last_good < MAX_CONSECUTIVE_FAILURES:
                if not capture.grab():
                    if not total or position >= total:
                        break  # the normal end
                    position += 1  # a damaged packet: the demuxer usually resynchronises on the next one
                    continue
                position += 1
                ok, image = capture.retrieve()
                if not ok or image is None:
                    continue
                skipped = position - last_good - 1
                if skipped:
                    src.corrupt_frames += skipped
                    log.warning("%s: skipped %d unreadable frame(s) before frame %d", path, skipped, position)
                last_good = position
                yield position, image
            if position > last_good:  # failures that never recovered: the data stops here
                src.ended_early = last_good
                log.warning("%s: no readable frames after frame %d of %d (truncated?)", path, last_good, total)
        finally:
            capture.release()

    return FrameSource(path.stem, "video", fps if fps and fps > 0 else None, total or None, _frames=frames)


def _open_capture(target: int | str) -> cv2.VideoCapture:
    if isinstance(target, int):
        return cv2.VideoCapture(target)
    params = [cv2.CAP_PROP_OPEN_TIMEOUT_MSEC, STREAM_TIMEOUT_MS, cv2.CAP_PROP_READ_TIMEOUT_MSEC, STREAM_TIMEOUT_MS]
    return cv2.VideoCapture(target, cv2.CAP_ANY, params)


def _wait(seconds: float, should_stop: Callable[[], bool]) -> bool:
    """Sleep up to `seconds`; True when asked to stop meanwhile."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if should_stop():
            return True
        time.sleep(min(STOP_POLL_S, max(deadline - time.monotonic(), 0.0)))
    return should_stop()


def _stream_source(spec: str) -> FrameSource:
    target: int | str = int(spec) if spec.isdigit() else spec

    def frames(src: FrameSource) -> FrameIterator:
        number, retries, wait = 0, 0, STREAM_BACKOFF_S
        capture = _open_capture(target)
        try:
            while True:
                ok, image = capture.read() if capture.isOpened() else (False, None)
                if ok and image is not None:
                    number += 1
                    retries, wait = 0, STREAM_BACKOFF_S
                    yield number, image
                    continue
                if retries >= STREAM_RETRIES:
                    what = "did not open" if number == 0 else f"dropped after {number} frames and did not come back"
                    raise SourceError(f"stream {spec} {what} ({STREAM_RETRIES} retries with backoff)")
                retries += 1
                log.warning("stream %s: no frame; reopening in %.1f s (%d/%d)", spec, wait, retries, STREAM_RETRIES)
                capture.release()
                if _wait(wait, src.should_stop):
                    return
                wait *= 2
                capture = _open_capture(target)
        finally:
            capture.release()

    stem = Path(spec.split("?")[0].rstrip("/")).name
    name = f"webcam{spec}" if spec.isdigit() else Path(stem).stem or "stream"
    return FrameSource(name, "stream", None, None, _frames=frames)
