"""Strict JSON for every file the tracker writes: NaN and infinities become `null`, and every string is UTF-8.

Python's `json` writes bare `NaN` / `Infinity` by default, which is not JSON (RFC 8259): jq, JavaScript and
strict parsers reject the whole file. Metrics that are undefined (revival precision with no revivals) are NaN
in memory; in our files they are `null`, and our readers turn a `null` metric back into NaN (`nan_for_null`).

A name that is not UTF-8 (a Latin-1 `caf\\xe9` folder) is held by Python with lone surrogates, which `json` wrote
as `"\\udce9"` escapes: no UTF-8 text, and strict readers (Rust's serde_json, Go's and JavaScript's UTF-8
decoders) refuse or mangle them. Such a string is written as it is shown (`shown_name`: U+FFFD for each byte that is
not UTF-8); a path whose exact bytes matter is written with `path_fields`, which adds them, lossless, as a file URI
(`<key>_uri`: RFC 8089, each such byte percent-escaped), and read back with `path_from_fields`.
"""

from __future__ import annotations

import json
import math
import os
import urllib.parse
from pathlib import Path
from typing import Any

from tracker.io.mot import write_text_atomic
from tracker.io.names import is_utf8, shown_apart, shown_name

__all__ = [
    "metrics_from_json",
    "nan_for_null",
    "path_fields",
    "path_from_fields",
    "to_json",
    "write_json_atomic",
    "written_keys",
]

URI_SUFFIX = "_uri"  # `path_fields`' key of a path's exact bytes: `<key>_uri`
URI_SCHEMES = ("file", "")  # the schemes of `<key>_uri`: an absolute path's file URI, a relative path's reference
URI_HOSTS = ("", "localhost")  # the hosts a file URI of this machine names (RFC 8089: none, or localhost)
# `json` writes a lone surrogate (a name's byte that is not UTF-8) as this escape (`\udce9`); also the start of the
# escapes of a character beyond U+FFFF (a valid pair), which only make the check rebuild and change nothing
SURROGATE_ESCAPE = "\\ud"
ESCAPE = "\\"  # the start of every escape json writes: a text without one holds no `SURROGATE_ESCAPE`


def _strict(obj: Any) -> Any:
    """`obj` with every non-finite float (NaN, +-inf) replaced by None and every string that is not UTF-8 by its
    `shown_name` (a key by its `written_keys` form), containers rebuilt as dicts / lists."""
    if isinstance(obj, float):
        return obj if math.isfinite(obj) else None
    if isinstance(obj, str):
        return obj if is_utf8(obj) else shown_name(obj)
    if isinstance(obj, dict):
        if all(is_utf8(k) for k in obj if isinstance(k, str)):  # every usual object: no `written_keys` needed
            return {k if isinstance(k, str) else _strict(k): _strict(v) for k, v in obj.items()}
        return dict(zip(written_keys(list(obj)), map(_strict, obj.values()), strict=True))
    if isinstance(obj, list | tuple):
        return [_strict(v) for v in obj]
    return obj


def written_keys(keys: list[Any]) -> list[Any]:
    """The keys of one JSON object as `to_json` writes them, in order: a key that is not UTF-8 as shown (U+FFFD for
    each such byte), or where another key of the object would be written alike (`caf\\xe9` and `caf\\xe8`, two
    sequences' folders), with each such byte as `\\xNN` (one of them was lost: a dict holds a key once); any
    other key as it is. A reader maps the keys it finds back to its names with it."""
    texts = iter(shown_apart([k for k in keys if isinstance(k, str)]))  # (no other key is written as text)
    return [next(texts) if isinstance(k, str) else _strict(k) for k in keys]


def to_json(obj: Any, indent: int | None = None) -> str:
    """Standard JSON text of `obj` (`json.dumps` with `allow_nan=False`): NaN and +-inf are written as `null`, and a
    string that is not UTF-8 (a name's bytes Python decoded to lone surrogates) as it is shown, U+FFFD for each such
    byte (`shown_name`; `path_fields` keeps a path's exact bytes beside it), and a key that would be written like
    another key of its object with each such byte as `\\xNN` (`written_keys`: both are kept).

    The common case (no non-finite number, no such string) costs one `json.dumps` and a search of its text for a
    backslash (for `SURROGATE_ESCAPE` where it has one); only an object with either is rebuilt.
    Raises TypeError for objects `json` cannot write and ValueError for a circular reference, as `json.dumps` does.
    """
    try:
        text = json.dumps(obj, indent=indent, allow_nan=False)
    except ValueError:  # a non-finite float somewhere, or a circular reference
        pass
    else:
        if ESCAPE not in text or SURROGATE_ESCAPE not in text:  # (the first: one fast pass over most texts)
            return text
    try:
        strict = _strict(obj)
    except RecursionError:  # only a circular reference rebuilds without end: json's error, not a recursion
        raise ValueError("Circular reference detected") from None
    return json.dumps(strict, indent=indent, allow_nan=False)


def path_fields(key: str, path: str | os.PathLike[str]) -> dict[str, str]:
    """`{key: path}` for a JSON file, where `path` is UTF-8 (every usual name); else `{key: path as shown (U+FFFD
    for each byte that is not UTF-8), key + "_uri": its exact bytes as a URI}`: the file URI of an absolute path
    (`file:///data/caf%E9`, RFC 8089), a relative reference of another (`caf%E9/x`), each such byte and every
    character a URI cannot hold percent-escaped (`urllib.parse.unquote_to_bytes` gives the bytes back).
    `path_from_fields` reads either back."""
    text = os.fspath(path)
    if is_utf8(text):
        return {key: text}
    exact = Path(text).as_uri() if os.path.isabs(text) else urllib.parse.quote(os.fsencode(text))
    return {key: shown_name(text), key + URI_SUFFIX: exact}


def path_from_fields(fields: dict[str, Any], key: str) -> str | None:
    """The path `path_fields` wrote under `key` in `fields` (a JSON object read back), exactly as it was (a name that
    is not UTF-8 with its bytes as lone surrogates, from `<key>_uri`); None where neither key holds a string (an older
    file's exact path under `key` is taken as it is).

    Raises:
        ValueError: `<key>_uri` is a string but no URI `path_fields` writes (another scheme or host, a query or
            fragment, or a string that is no URI: a file edited by hand); the message names the key and the value.
    """
    uri = fields.get(key + URI_SUFFIX)
    if isinstance(uri, str):
        try:
            parts = urllib.parse.urlsplit(uri)
        except ValueError:  # `file://[x`: "Invalid IPv6 URL", which named neither the key nor the file
            parts = None
        foreign = parts is None or parts.scheme not in URI_SCHEMES or parts.netloc not in URI_HOSTS
        if parts is None or foreign or parts.query or parts.fragment:
            raise ValueError(f"{key + URI_SUFFIX} is {uri!r}, not a file URI nor a relative reference to a path")
        return os.fsdecode(urllib.parse.unquote_to_bytes(parts.path))
    value = fields.get(key)
    return value if isinstance(value, str) else None


def write_json_atomic(path: str | Path, obj: Any, indent: int | None = None) -> None:
    """`to_json(obj)` written to `path` atomically and durably (`write_text_atomic`: temp file, fsync, rename)."""
    write_text_atomic(path, to_json(obj, indent))


def nan_for_null(value: Any) -> Any:
    """A value read back from our JSON: `null` (a metric that was NaN) is NaN again; anything else unchanged."""
    return math.nan if value is None else value


def metrics_from_json(metrics: dict[str, Any]) -> dict[str, Any]:
    """One row of metrics read back from our JSON ({name: value}), with `null` values as NaN."""
    return {k: nan_for_null(v) for k, v in metrics.items()}
