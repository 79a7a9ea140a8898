"""Output names made from what a user named (a video's stem, a sequence's folder): within the file system's limit on
a name (255 bytes on Linux, macOS and Windows), with room for the suffixes the outputs add; and the names of the
files kept beside a file (an atomic write's temp file, a lock), which fit wherever the file's own name fits. No
OpenCV here: eval's sequences and batch's names import it without loading the sources' readers.
"""

from __future__ import annotations

import hashlib
import os
import re
from collections import Counter
from collections.abc import Sequence
from pathlib import Path

__all__ = [
    "MAX_NAME_BYTES",
    "NAME_LIMIT_BYTES",
    "bounded_name",
    "escaped_name",
    "fitting_stem",
    "is_utf8",
    "safe_name",
    "shown_apart",
    "shown_name",
    "side_file",
]

# bytes of an output name at most: a file system holds 255 a file name, and the outputs add `.summary.json.partial`
# (21), a run folder's number, `_2` for a second source of the same name, a variant's `+scale0.35-<key>` (23)
MAX_NAME_BYTES = 200
NAME_LIMIT_BYTES = 255  # the longest file name, in bytes, that the file systems of Linux, macOS and Windows hold
# not allowed or awkward in output file names; also the lone surrogates Python decodes a name's non-UTF-8 bytes to
# (`caf\udce9`), which OpenCV's writer crashes on and a strict UTF-8 terminal cannot print
UNSAFE_NAME_CHARS = re.compile(r'[\x00-\x1f<>:"/\\|?*\[\]\ud800-\udfff]')
NAME_DIGEST_CHARS = 8  # hex digits of the full name's hash that tell apart two long names cut to the same start
NAME_DIGEST_SEPARATOR = "~"  # between a long name's kept start and that hash
_FS_ENCODING = ("utf-8", "surrogateescape")  # a name's bytes on the file system (its non-UTF-8 bytes as they were)


def shown_name(text: str | os.PathLike[str]) -> str:
    """`text` printable on a UTF-8 terminal and writable as UTF-8: each byte of it that is not UTF-8 (a lone
    surrogate, as Python decodes such a byte of a name) shown as U+FFFD; `text` itself where it is UTF-8."""
    return _as_utf8(str(text), "replace")


def escaped_name(text: str | os.PathLike[str]) -> str:
    """`text` as UTF-8 text keeping its exact bytes: each byte of it that is not UTF-8 (a lone surrogate, as Python
    decodes such a byte of a name) written as `\\xNN` (`caf\\xe9`); `text` itself where it is UTF-8."""
    return _as_utf8(str(text), "backslashreplace")


def shown_apart(texts: Sequence[str | os.PathLike[str]]) -> list[str]:
    """Each of `texts` (names a message or a table shows together) as `shown_name` shows it, or, where another of
    them that differs would be shown alike (`caf\\xe9`, `caf\\xe8`: both `caf` and U+FFFD), as `escaped_name` writes it
    (its exact bytes): names shown together read apart wherever they are apart."""
    texts = [str(text) for text in texts]
    shown = [shown_name(text) for text in texts]
    alike = Counter(map(shown_name, set(texts)))  # (one name given twice is not two names shown alike)
    return [
        escaped_name(text) if text != seen and alike[seen] > 1 else seen
        for text, seen in zip(texts, shown, strict=True)
    ]


def _as_utf8(text: str, errors: str) -> str:
    """`text` as UTF-8 text, each byte of it that is not UTF-8 (a lone surrogate, as Python decodes such a byte of a
    name) decoded by the codec error handler `errors` ("replace": U+FFFD, "backslashreplace": `\\xNN`)."""
    try:
        return text.encode(*_FS_ENCODING).decode("utf-8", errors)
    except UnicodeEncodeError:  # a lone surrogate no name's byte decodes to (`\ud800`: not from a file name)
        return text.encode("utf-8", "surrogatepass").decode("utf-8", errors)


def is_utf8(text: str | os.PathLike[str]) -> bool:
    """Whether `text` is UTF-8 text (False: it holds lone surrogates, as Python decodes a name's non-UTF-8 bytes)."""
    try:
        str(text).encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def safe_name(text: str, default: str = "source") -> str:
    """`text` usable as an output file stem: characters that are illegal or glob-special in names become `_`, and a
    name longer than `MAX_NAME_BYTES` in UTF-8 keeps its first whole characters within them (a 250-byte video name
    ended the run with "File name too long" at its first output)."""
    name = _whole_characters(UNSAFE_NAME_CHARS.sub("_", text).strip(" ."), MAX_NAME_BYTES).strip(" .")
    return name or default


def bounded_name(name: str) -> str:
    """`name` (a sequence's, already a legal file name) as the stem of files named after it: itself where it holds
    `MAX_NAME_BYTES` bytes at most (every usual name), else its first whole characters, `NAME_DIGEST_SEPARATOR` and
    `NAME_DIGEST_CHARS` hex digits of the whole name's SHA-256, `MAX_NAME_BYTES` bytes at most: two names that differ
    only past the cut keep files of their own, and the same name gets the same stem in every run (resuming finds
    it). Bytes are counted as on the file system (a non-UTF-8 byte is one)."""
    return _cut_with_digest(name, MAX_NAME_BYTES)


def fitting_stem(name: str, added_bytes: int) -> str:
    """`name` (a file's, as it is on disk), or a stand-in for it, to which `added_bytes` more bytes (a temp file's
    or a lock's prefix and suffix) can be added within `NAME_LIMIT_BYTES`: `name` itself where that fits, else its
    first whole characters, `NAME_DIGEST_SEPARATOR` and `NAME_DIGEST_CHARS` hex digits of the whole name's SHA-256
    (a file named with 242-255 bytes was written, but its temp file's longer name failed with "File name too
    long"). The same name always gets the same stem, and two names that differ only past the cut get stems of their
    own (one file's leftovers are never taken for another's). Bytes are counted as on the file system.

    Raises:
        ValueError: `added_bytes` leaves no room for the cut name and its digest (a caller's mistake).
    """
    if NAME_LIMIT_BYTES - added_bytes <= len(NAME_DIGEST_SEPARATOR) + NAME_DIGEST_CHARS:
        raise ValueError(f"{added_bytes} bytes added to a file name leave no room for the name itself")
    return _cut_with_digest(name, NAME_LIMIT_BYTES - added_bytes)


def side_file(path: Path, suffix: str, prefix: str = "") -> Path:
    """The file `<prefix><name><suffix>` beside `path` (`path.name` cut by `fitting_stem` where the whole would be
    longer than a file name can be): `<name>.partial`, `.<name>.lock`. Its name fits wherever `path`'s does."""
    stem = fitting_stem(path.name, len((prefix + suffix).encode(*_FS_ENCODING)))
    return path.with_name(f"{prefix}{stem}{suffix}")


def _cut_with_digest(name: str, limit: int) -> str:
    """`name` where it holds `limit` bytes at most, else its first whole characters, `NAME_DIGEST_SEPARATOR` and
    `NAME_DIGEST_CHARS` hex digits of the whole name's SHA-256, `limit` bytes at most (as on the file system)."""
    data = name.encode(*_FS_ENCODING)
    if len(data) <= limit:
        return name
    digest = hashlib.sha256(data).hexdigest()[:NAME_DIGEST_CHARS]
    room = limit - len(NAME_DIGEST_SEPARATOR) - len(digest)
    return f"{_whole_characters(name, room)}{NAME_DIGEST_SEPARATOR}{digest}"


def _whole_characters(name: str, limit: int) -> str:
    """The first whole characters of `name` within `limit` bytes, counted as on the file system (a non-UTF-8 byte,
    a lone surrogate here, is one)."""
    kept, used = [], 0
    for char in name:
        used += len(char.encode(*_FS_ENCODING))
        if used > limit:
            break
        kept.append(char)
    return "".join(kept)
