"""Annotated video: boxes, ID labels, short trails, a stable colour per ID, a mark on recovered IDs."""

from __future__ import annotations

import colorsys
import logging
from collections import deque
from pathlib import Path

import cv2
import numpy as np

from tracker.config import VideoConfig
from tracker.io.line_sizes import LINE_WIDTH, MAX_LINE_WIDTH, REFERENCE_HEIGHT
from tracker.io.opencv_files import NotUTF8Name, opencv_name, shown_name
from tracker.types import TrackedObject

__all__ = ["MAX_LINE_WIDTH", "MIN_VIDEO_FRAME_RATE", "Annotator", "VideoWriter", "id_colour"]

log = logging.getLogger(__name__)

# The drawing's times are seconds of the source's time, not drawn frames: at `--vid-stride 2` (half the frames drawn)
# or at 50 frames/s a trail covers as long a walk as at 25 frames/s (a count of frames drew it twice or half as long).
# The trails' are config keys (`video.trail_seconds`, `video.trail_keep_seconds`: `tracker.config.VideoConfig`).
RECOVERED_MARK_SECONDS = 1.2  # s: how long the "back" mark stays on an ID that returned after occlusion
DRAWING_FRAME_RATE = 25.0  # frames/s the drawing assumes when not told the frames' rate (30, 60, 30 frames above)
MIN_TRAIL_POINTS = 2  # a trail is a line: at least two points, at any rate
MIN_SCALE = 0.6  # smallest drawing scale (small frames still get readable labels)
FONT_SCALE = 0.7
LABEL_PAD = 3  # pixels around the label text
RECOVERED_COLOUR = (255, 255, 255)  # BGR: outer frame and label of a recovered ID
TEXT_COLOUR = (0, 0, 0)
_GOLDEN = 0.618033988749895  # hue step: consecutive IDs get well-separated colours
_SATURATION, _VALUE = 0.85, 1.0
_FONT = cv2.FONT_HERSHEY_SIMPLEX
_FOURCC = "mp4v"
# frames/s: OpenCV's FFmpeg writer stores a rate as a fraction n / 10^k within 0.001 of it and cannot open one that
# comes out 0 / 1 (0.001 frames/s, the least `frame_rate` may be): slower rates are written at this one
MIN_VIDEO_FRAME_RATE = 0.002
# px: OpenCV's mp4v writer rounds each side down to an even count and cannot open a side of 0; a frame 1 px high or
# wide (a line-scan camera, a strip of a panorama) is written stretched to this
MIN_VIDEO_SIDE = 2
_MAX_BYTE = 255


def id_colour(track_id: int) -> tuple[int, int, int]:
    """A stable, distinct BGR colour per ID."""
    r, g, b = colorsys.hsv_to_rgb((track_id * _GOLDEN) % 1.0, _SATURATION, _VALUE)
    return round(_MAX_BYTE * b), round(_MAX_BYTE * g), round(_MAX_BYTE * r)


class Annotator:
    """Draws tracks on frames, remembering trails and recent recoveries across calls (one per video).

    Args:
        line_width: the boxes' and trails' width in pixels, whatever the frame's size (ultralytics' `line_width`);
            None: `LINE_WIDTH` scaled by the frame's height over `REFERENCE_HEIGHT` (at least `MIN_SCALE`).
        frame_rate: frames/s of the frames drawn (the tracker's: the source's rate / `--vid-stride`), which turns
            the trails' and the "back" mark's seconds (`video`, `RECOVERED_MARK_SECONDS`) into frames; None:
            `DRAWING_FRAME_RATE`.
        video: the trails' lengths in seconds (`video.trail_seconds`, `video.trail_keep_seconds`: the run's config);
            None: their defaults (`VideoConfig()`).

    Raises:
        ValueError: a `line_width` below 1 or above `MAX_LINE_WIDTH` (OpenCV draws no wider line); a `frame_rate`
            that is not a positive finite number.
    """

    def __init__(
        self, line_width: int | None = None, frame_rate: float | None = None, video: VideoConfig | None = None
    ) -> None:
        if line_width is not None and not 1 <= line_width <= MAX_LINE_WIDTH:
            raise ValueError(f"line width must be 1 to {MAX_LINE_WIDTH} pixels, got {line_width}")
        rate = DRAWING_FRAME_RATE if frame_rate is None else frame_rate
        if not 0 < rate < float("inf"):  # (NaN too)
            raise ValueError(f"frame rate must be a positive number of frames/s, got {frame_rate}")
        video = video or VideoConfig()
        trail = video.trail_seconds  # (0: no trail; else a line, of at least two points)
        self._trail_points = max(MIN_TRAIL_POINTS, round(trail * rate)) if trail > 0 else 0
        self._keep_frames = round(video.trail_keep_seconds * rate)
        self._mark_frames = max(1, round(RECOVERED_MARK_SECONDS * rate))  # (shown on its own frame at least)
        self._line_width = line_width
        self._trails: dict[int, deque[tuple[int, int]]] = {}
        self._last_seen: dict[int, int] = {}
        self._recovered: dict[int, int] = {}  # id -> frames left to show the mark
        self._frame = 0

    def draw(self, frame: np.ndarray, objects: list[TrackedObject]) -> np.ndarray:
        """Return an annotated copy of `frame`, an (H, W, 3) uint8 BGR image: each object's box, label and trail
        (the frame itself is not changed)."""
        self._frame += 1
        canvas = frame.copy()
        scale = max(MIN_SCALE, canvas.shape[0] / REFERENCE_HEIGHT)
        width = self._line_width or max(1, round(LINE_WIDTH * scale))
        for obj in objects:
            if obj.recovered:
                self._recovered[obj.track_id] = self._mark_frames
            self._trail(obj).append(_bottom_centre(obj))
            self._last_seen[obj.track_id] = self._frame
        for obj in objects:  # trails first, so boxes and labels stay on top
            points = np.array(self._trails[obj.track_id], dtype=np.int32)
            if len(points) > 1:
                cv2.polylines(canvas, [points], False, id_colour(obj.track_id), width, cv2.LINE_AA)
        for obj in objects:
            self._box(canvas, obj, scale, width)
        self._forget()
        return canvas

    def _trail(self, obj: TrackedObject) -> deque[tuple[int, int]]:
        return self._trails.setdefault(obj.track_id, deque(maxlen=self._trail_points))

    def _box(self, canvas: np.ndarray, obj: TrackedObject, scale: float, width: int) -> None:
        colour = id_colour(obj.track_id)
        x1, y1, x2, y2 = (round(float(v)) for v in obj.xyxy)
        recovered = obj.track_id in self._recovered
        if recovered:  # a white outer frame: this ID came back after being hidden
            cv2.rectangle(canvas, (x1 - width, y1 - width), (x2 + width, y2 + width), RECOVERED_COLOUR, width * 2)
        cv2.rectangle(canvas, (x1, y1), (x2, y2), colour, width, cv2.LINE_AA)
        label = f"ID {obj.track_id}" + (" back" if recovered else "")
        font = FONT_SCALE * scale
        (tw, th), base = cv2.getTextSize(label, _FONT, font, width)
        top = max(y1 - th - base - 2 * LABEL_PAD, 0)  # inside the frame even for boxes at the top edge
        fill = RECOVERED_COLOUR if recovered else colour
        cv2.rectangle(canvas, (x1, top), (x1 + tw + 2 * LABEL_PAD, top + th + base + 2 * LABEL_PAD), fill, -1)
        origin = (x1 + LABEL_PAD, top + th + LABEL_PAD)
        cv2.putText(canvas, label, origin, _FONT, font, TEXT_COLOUR, width, cv2.LINE_AA)

    def _forget(self) -> None:
        for tid in list(self._recovered):
            self._recovered[tid] -= 1
            if self._recovered[tid] <= 0:
                del self._recovered[tid]
        for tid in [t for t, seen in self._last_seen.items() if self._frame - seen > self._keep_frames]:
            del self._trails[tid], self._last_seen[tid]


def _bottom_centre(obj: TrackedObject) -> tuple[int, int]:
    x1, _, x2, y2 = (float(v) for v in obj.xyxy)
    return round((x1 + x2) / 2), round(y2)


class VideoWriter:
    """mp4 (mp4v) writer that fixes its size on the first frame (each side at least `MIN_VIDEO_SIDE`); later frames
    of another size are resized.

    The video plays at `frame_rate` frames/s, or at `MIN_VIDEO_FRAME_RATE` for a slower rate (a time-lapse), which
    the container cannot store (logged). Use as a context manager or call `close()` (in a `finally`): the file is
    only playable once released.
    """

    def __init__(self, path: str | Path, frame_rate: float) -> None:
        self.path = Path(path)
        self.frame_rate = max(frame_rate, MIN_VIDEO_FRAME_RATE)
        if frame_rate < MIN_VIDEO_FRAME_RATE:  # (it raised "cannot write video" after the first frame was tracked)
            log.warning(
                "%s plays at %g frames/s, the least an mp4 stores (the source's %g frames/s is slower)",
                self.path,
                MIN_VIDEO_FRAME_RATE,
                frame_rate,
            )
        self._writer: cv2.VideoWriter | None = None
        self._size: tuple[int, int] | None = None
        self.frames = 0

    def write(self, frame: np.ndarray) -> None:
        """Append one (H, W, 3) uint8 BGR frame; the first sets the video's size (a side under `MIN_VIDEO_SIDE` px
        stretched to it), a frame of another size is resized to it.

        Raises:
            OSError: OpenCV cannot open the file for writing (at the first frame), or its path is not UTF-8 (OpenCV
                would crash on it).
        """
        if self._writer is None:
            try:  # OpenCV's string conversion crashes the process on a path that is not UTF-8 (lone surrogates)
                name = opencv_name(self.path)
            except NotUTF8Name:
                raise OSError(
                    f"cannot write video {shown_name(self.path)}: OpenCV cannot open a path that is not UTF-8"
                ) from None
            self._size = (max(frame.shape[1], MIN_VIDEO_SIDE), max(frame.shape[0], MIN_VIDEO_SIDE))
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._writer = cv2.VideoWriter(name, cv2.VideoWriter.fourcc(*_FOURCC), self.frame_rate, self._size)
            if not self._writer.isOpened():
                raise OSError(f"cannot write video {self.path}")
        if (frame.shape[1], frame.shape[0]) != self._size:
            frame = cv2.resize(frame, self._size)
        self._writer.write(frame)
        self.frames += 1

    def close(self) -> None:
        """Finish the file; idempotent."""
        if self._writer is not None:
            self._writer.release()
            self._writer = None

    def __enter__(self) -> VideoWriter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
