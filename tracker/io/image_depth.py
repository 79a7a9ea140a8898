"""8-bit BGR frames from image files of any depth, with 10-, 12- and 14-bit data in 16-bit files kept visible.

OpenCV's `IMREAD_COLOR` turns a 16-bit image into 8 bits by dropping its low 8 bits. That is right for images that
use the whole 16-bit range, but machine-vision, thermal and raw-camera datasets store 10-, 12- or 14-bit values in
16-bit PNG or TIFF files: their top value is 1023, 4095 or 16383, so dropping 8 bits left frames of values 0-3,
0-15 or 0-63, near black, and the detector found nobody in them without a word. `DepthReader` reads the
significant bits of the first 16-bit image that is not all black once (the smallest of 10, 12, 14 and 16 that
holds its largest value)
and reads every image of the source with that one scale, so a darker frame later is not brightened apart from the
rest.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path

import cv2
import numpy as np

from tracker.io.image_check import broken

__all__ = ["SENSOR_BITS", "DepthReader", "significant_bits"]

log = logging.getLogger(__name__)

SENSOR_BITS = (10, 12, 14, 16)  # sample depths of camera sensors stored in 16-bit files, smallest first
_BYTE_BITS = 8
_WIDE = np.uint16


def significant_bits(image: np.ndarray) -> int:
    """The bits a 16-bit `image` ((H, W) or (H, W, C) uint16) uses: the smallest of `SENSOR_BITS` whose top value is
    at least its largest value (16 for an image that uses the whole range, or for an all-black one)."""
    top = int(image.max()) if image.size else 0
    return next((bits for bits in SENSOR_BITS if top < 1 << bits), SENSOR_BITS[-1])


class DepthReader:
    """Reads image files as (H, W, 3) uint8 BGR, 16-bit ones scaled by the significant bits of the first read that
    is not all black.

    Attributes:
        bits: the significant bits of the source's 16-bit images (None until one not all black is read; 16:
            OpenCV's scale).
    """

    def __init__(self) -> None:
        self.bits: int | None = None
        self._wide = False  # the last image read was 16-bit
        self._probed: tuple[int, np.ndarray] | None = None  # the image the probe ended on, and its position

    def probe(self, paths: Sequence[Path]) -> bool:
        """Read `paths` in order until one fixes the depth (an 8-bit image, or a 16-bit one not all black), so every
        later read of the source, a resumed run's too, scales alike; False when none of them decodes. The image it
        ended on is kept for `take_probed` (a source's first frame is then read once, not twice)."""
        decoded = False
        for position, path in enumerate(paths):
            image = self.read(path)
            decoded = decoded or image is not None
            if image is not None and (self.bits is not None or not self._wide):
                self._probed = position, image
                break
        return decoded

    def take_probed(self) -> tuple[int, np.ndarray] | None:
        """(position in the probed paths, 8-bit BGR image) of the image `probe` ended on, once (the reader keeps
        no image after: a second pass reads its file again), or None."""
        probed, self._probed = self._probed, None
        return probed

    def read(self, path: str | Path) -> np.ndarray | None:
        """The image at `path` as 8-bit BGR, or None where it cannot be read, OpenCV cannot decode it, or it is a
        JPEG or PNG cut short or a PNG with a damaged chunk (`broken`: OpenCV would give a JPEG's missing rows grey,
        and libpng would print its error on standard error).
        The file is read once and its bytes decoded as `cv2.imread(path, flags)` decodes the file (EXIF rotation
        applied): grayscale and 4-channel files become BGR as with `cv2.IMREAD_COLOR`; 8-bit files are read
        exactly as that does."""
        try:
            data = Path(path).read_bytes()
        except OSError:
            return None
        if not data or broken(data):
            return None
        buffer = np.frombuffer(data, np.uint8)
        # depth kept, EXIF rotation applied (an array of any dtype: the stubs' union of integer and float dtypes
        # allows no `>>`, which the 16-bit images take below)
        image: np.ndarray | None = cv2.imdecode(buffer, cv2.IMREAD_ANYDEPTH | cv2.IMREAD_COLOR)
        if image is None or image.size == 0:
            return None
        self._wide = image.dtype == _WIDE
        if image.dtype == np.uint8:
            return image
        if image.dtype != _WIDE:  # 32-bit float TIFF and the like: OpenCV's own conversion
            return cv2.imdecode(buffer, cv2.IMREAD_COLOR)
        if not image.any():  # all black at any scale (a camera warming up, a lens cap): it tells no depth
            return np.zeros(image.shape, np.uint8)
        if self.bits is None:
            self.bits = significant_bits(image)
            if self.bits < SENSOR_BITS[-1]:
                log.warning(
                    "%s: 16-bit image with values up to %d: read as %d-bit data (scaled to 8 bits by 2^-%d, not "
                    "2^-8), and so is every image of this source",
                    path,
                    int(image.max()),
                    self.bits,
                    self.bits - _BYTE_BITS,
                )
        return np.minimum(image >> (self.bits - _BYTE_BITS), np.iinfo(np.uint8).max).astype(np.uint8)
