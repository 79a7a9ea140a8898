"""Image files cut short: a JPEG whose compressed data stops before its end marker, a PNG that stops before its end.

OpenCV decodes a JPEG cut short without an error: libjpeg fills the missing rows with grey, prints "Premature end
of JPEG file" on standard error (past `--quiet`) and returns a frame whose lower part is blank, so the people there
vanish for a frame and come back as returns after occlusion. OpenCV refuses a PNG cut short, but libpng first
prints "libpng error: Read Error" on standard error, past `--quiet` too (its default error handler, which OpenCV
leaves in place). `cut_short` tells both from the file's bytes, so the frame is skipped and counted like any
unreadable one without a word on standard error, and the same bytes are then decoded (each file is read once).
A PNG damaged inside (a flipped bit on a disk or in a copy) is refused by libpng with "libpng error: IDAT: CRC
error" on standard error, past `--quiet` too: `png_damaged` tells it from the checksum of each critical chunk, which
libpng checks and refuses the image for anyway (no image OpenCV reads is refused).
"""

from __future__ import annotations

import zlib

__all__ = ["cut_short", "png_damaged"]

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


def cut_short(data: bytes) -> bool:
    """True for the bytes of a JPEG or PNG file (by their content, whatever the file's name) that stop before the
    file's end: a JPEG whose data stops before its end marker, a PNG that stops before its `IEND` chunk ends. False
    for a whole file, any other kind of file, or one whose segments or chunks cannot be followed (OpenCV then
    decides)."""
    if data.startswith(_SOI):
        return _jpeg_cut_short(data)
    if data.startswith(_PNG_SIGNATURE):
        return _png_cut_short(data)
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


def _png_cut_short(data: bytes) -> bool:
    """Walks the chunks by their lengths to the `IEND` chunk; bytes after it (padding some writers add) do not
    count. A length over the specification's limit is damage of another kind, left to OpenCV."""
    at = len(_PNG_SIGNATURE)
    header = _CHUNK_LENGTH_BYTES + _CHUNK_TYPE_BYTES
    while at + header <= len(data):
        length = int.from_bytes(data[at : at + _CHUNK_LENGTH_BYTES], "big")
        if length > _PNG_MAX_LENGTH:
            return False
        end = at + header + length + _CHUNK_CRC_BYTES
        if end > len(data):
            return True  # stops inside a chunk
        if data[at + _CHUNK_LENGTH_BYTES : at + header] == _IEND:
            return False
        at = end
    return True  # stops between chunks, or inside a chunk's header, before the end


def png_damaged(data: bytes) -> bool:
    """True for the bytes of a PNG file (by their content) one of whose critical chunks before its end (IHDR, PLTE,
    IDAT) does not match its CRC: libpng refuses such an image, printing its error on standard error. False for any
    other file, a PNG cut short (`cut_short`) and one whose chunks cannot be followed (OpenCV then decides); an
    ancillary chunk (text, times, colour profiles) or the IEND chunk with a bad CRC does not count, as libpng only
    warns of it and OpenCV reads the image."""
    if not data.startswith(_PNG_SIGNATURE):
        return False
    view = memoryview(data)
    at = len(_PNG_SIGNATURE)
    header = _CHUNK_LENGTH_BYTES + _CHUNK_TYPE_BYTES
    while at + header <= len(data):
        length = int.from_bytes(data[at : at + _CHUNK_LENGTH_BYTES], "big")
        end = at + header + length
        if length > _PNG_MAX_LENGTH or end + _CHUNK_CRC_BYTES > len(data):
            return False
        kind = data[at + _CHUNK_LENGTH_BYTES : at + header]
        if kind == _IEND:  # (a bad CRC here is only libpng's warning: the image is whole, and OpenCV reads it)
            return False
        stored = int.from_bytes(data[end : end + _CHUNK_CRC_BYTES], "big")
        if not kind[0] & _ANCILLARY_BIT and zlib.crc32(view[at + _CHUNK_LENGTH_BYTES : end]) != stored:
            return True
        at = end + _CHUNK_CRC_BYTES
    return False
