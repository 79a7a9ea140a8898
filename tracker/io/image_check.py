"""Image files the decoders would mishandle: a JPEG cut short, a PNG cut short or damaged inside.

OpenCV decodes a JPEG cut short without an error: libjpeg fills the missing rows with grey, prints "Premature end
of JPEG file" on standard error (past `--quiet`) and returns a frame whose lower part is blank, so the people there
vanish for a frame and come back as returns after occlusion. OpenCV refuses a PNG cut short, but libpng first
prints "libpng error: Read Error" on standard error, past `--quiet` too (its default error handler, which OpenCV
leaves in place); a PNG damaged inside (a flipped bit on a disk or in a copy) the same way, with "IDAT: CRC error".
`broken` tells each from the file's bytes (a PNG's damage by the checksum of each critical chunk, which libpng
checks and refuses the image for anyway: no image OpenCV reads is refused), so the frame is skipped and counted like
any unreadable one without a word on standard error, and the same bytes are then decoded (each file is read once).
"""

from __future__ import annotations

import zlib

__all__ = ["broken"]

_SOI = b"\xff\xd8"  # a JPEG's first two bytes
_EOI = b"\xff\xd9"  # its end marker, after the compressed data
_SOS = 0xDA  # start of scan: the compressed data follows this segment
_STANDALONE = frozenset({0x01, *range(0xD0, 0xD8)})  # markers without a length field (TEM, RST0-7)
_MARKER = 0xFF
_LENGTH_BYTES = 2

_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"  # a PNG's first eight bytes
_IEND = b"IEND"  # the type of a PNG's last chunk
_CHUNK_LENGTH_BYTES = 4  # a chunk: length, type, data, CRC
_CHUNK_TYPE_BYTES = 4
_CHUNK_CRC_BYTES = 4
_PNG_MAX_LENGTH = 2**31 - 1  # the PNG specification's largest chunk length
_ANCILLARY_BIT = 0x20  # set in a chunk type's first letter (lower case) for an ancillary chunk: libpng skips a bad one


def broken(data: bytes) -> bool:
    """True for the bytes of a JPEG or PNG file (by their content, whatever the file's name) that a decoder would
    mishandle: a JPEG whose data stops before its end marker, a PNG that stops before its `IEND` chunk ends or one of
    whose critical chunks before it (IHDR, PLTE, IDAT) does not match its CRC. False for a whole file, any other kind
    of file, or one whose segments or chunks cannot be followed (OpenCV then decides)."""
    if data.startswith(_SOI):
        return _jpeg_cut_short(data)
    if data.startswith(_PNG_SIGNATURE):
        return _png_broken(data)
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


def _png_broken(data: bytes) -> bool:
    """Walks the chunks by their lengths to the `IEND` chunk, checking each critical chunk's CRC on the way; bytes
    after `IEND` (padding some writers add) do not count, nor does a bad CRC of an ancillary chunk (text, times,
    colour profiles) or of `IEND` (libpng only warns of them, and OpenCV reads the image). A length over the
    specification's limit is damage of another kind, left to OpenCV."""
    view = memoryview(data)
    at = len(_PNG_SIGNATURE)
    header = _CHUNK_LENGTH_BYTES + _CHUNK_TYPE_BYTES
    while at + header <= len(data):
        length = int.from_bytes(data[at : at + _CHUNK_LENGTH_BYTES], "big")
        if length > _PNG_MAX_LENGTH:
            return False
        end = at + header + length
        if end + _CHUNK_CRC_BYTES > len(data):
            return True  # stops inside a chunk
        kind = data[at + _CHUNK_LENGTH_BYTES : at + header]
        if kind == _IEND:
            return False
        stored = int.from_bytes(data[end : end + _CHUNK_CRC_BYTES], "big")
        if not kind[0] & _ANCILLARY_BIT and zlib.crc32(view[at + _CHUNK_LENGTH_BYTES : end]) != stored:
            return True
        at = end + _CHUNK_CRC_BYTES
    return True  # stops between chunks, or inside a chunk's header, before the end
