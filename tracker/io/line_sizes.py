"""The annotated video's line widths, apart from the drawing (`tracker.io.video`, which imports OpenCV and torch):
`track --help` states them without loading either."""

from __future__ import annotations

__all__ = ["LINE_WIDTH", "MAX_LINE_WIDTH", "REFERENCE_HEIGHT"]

LINE_WIDTH = 2  # px: box and trail width at scale 1 (a frame `REFERENCE_HEIGHT` rows high), `--line-width`'s default
REFERENCE_HEIGHT = 720  # rows: the frame height at which the drawing's scale is 1
# px: the widest line width (`--line-width`): OpenCV draws no line wider than its MAX_THICKNESS, 32767, and a recovered
# ID's outer frame is drawn twice as wide as its box
MAX_LINE_WIDTH = 16383
