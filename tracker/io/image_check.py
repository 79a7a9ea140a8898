"""Image files cut short: a JPEG whose compressed data stops before its end marker.

OpenCV decodes such a file without an error: libjpeg fills the missing rows with grey, prints "Premature end of
JPEG file" on standard error (past `--quiet`) and returns a frame whose lower part is blank, so the people there
vanish for a frame and come back as returns after occlusion. `cut_short` tells such a file from its bytes, so the
frame is skipped and counted like any unreadable one, and the same bytes are then decoded (each file is read once).
(A truncated PNG needs no check: OpenCV refuses it.)
"""

from __future__ import annotations

__all__ = ["cut_short"]

_SOI = b"\xff\xd8"  # a JPEG's first two bytes
_EOI = b"\xff\xd9"  # its end marker, after the compressed data
_SOS = 0xDA  # start of scan: the compressed data follows this segment
_STANDALONE = frozenset({0x01, *range(0xD0, 0xD8)})  # markers without a length field (TEM, RST0-7)
_MARKER = 0xFF
_LENGTH_BYTES = 2


def cut_short(data: bytes) -> bool:
    """True for the bytes of a JPEG file (by their content, whatever the file's name) whose data stops before its
    end marker; False for a whole JPEG, any other file, or one whose segments cannot be followed (OpenCV then
    decides)."""
    if data.startswith(_SOI):
        return _jpeg_cut_short(data)
    return False


def _jpeg_cut_short(data: bytes) -> bool:
    """The end marker is looked for after the first scan's header only, since inside compressed data 0xFF is always
    followed by 0x00 or a restart marker (an EXIF thumbnail's end marker, before the scan, does not count)."""
    at = len(_SOI)
    while at + 1 < len(data):
        if data[at] != _MARKER:
            return False  # not a segment boundary: a layout this walk does not know
        marker = data[at + 1]
        if marker == _MARKER:  # fill byte before a marker
            at += 1
            continue
        if marker in _STANDALONE:
            at += 2
            continue
        if at + 2 + _LENGTH_BYTES > len(data):
            return True  # stops inside a segment header
        length = int.from_bytes(data[at + 2 : at + 2 + _LENGTH_BYTES], "big")
        if marker == _SOS:
            return data.find(_EOI, at + 2 + length) < 0
        if marker == _EOI[1]:
            return False  # an end before any scan: not ours to judge
        at += 2 + length
    return True  # the headers stop before any compressed data
