"""Strict JSON for every file the tracker writes: NaN and infinities become `null`.

Python's `json` writes bare `NaN` / `Infinity` by default, which is not JSON (RFC 8259): jq, JavaScript and
strict parsers reject the whole file. Metrics that are undefined (revival precision with no revivals) are NaN
in memory; in our files they are `null`, and our readers turn a `null` metric back into NaN (`nan_for_null`).
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

from tracker.io.mot import write_text_atomic

__all__ = ["metrics_from_json", "nan_for_null", "to_json", "write_json_atomic"]


def _finite(obj: Any) -> Any:
    """`obj` with every non-finite float (NaN, +-inf) replaced by None, containers rebuilt as dicts / lists."""
    if isinstance(obj, float):
        return obj if math.isfinite(obj) else None
    if isinstance(obj, dict):
        return {k: _finite(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [_finite(v) for v in obj]
    return obj


def to_json(obj: Any, indent: int | None = None) -> str:
    """Standard JSON text of `obj` (`json.dumps` with `allow_nan=False`): NaN and +-inf are written as `null`.

    The common case (no non-finite number) costs one `json.dumps`; only a refused object is rebuilt.
    Raises TypeError for objects `json` cannot write and ValueError for a circular reference, as `json.dumps` does.
    """
    try:
        return json.dumps(obj, indent=indent, allow_nan=False)
    except ValueError:  # a non-finite float somewhere, or a circular reference
        try:
            finite = _finite(obj)
        except RecursionError:  # only a circular reference rebuilds without end: json's error, not a recursion
            raise ValueError("Circular reference detected") from None
        return json.dumps(finite, indent=indent, allow_nan=False)


def write_json_atomic(path: str | Path, obj: Any, indent: int | None = None) -> None:
    """`to_json(obj)` written to `path` atomically and durably (`write_text_atomic`: temp file, fsync, rename)."""
    write_text_atomic(path, to_json(obj, indent))


def nan_for_null(value: Any) -> Any:
    """A value read back from our JSON: `null` (a metric that was NaN) is NaN again; anything else unchanged."""
    return math.nan if value is None else value


def metrics_from_json(metrics: dict[str, Any]) -> dict[str, Any]:
    """One row of metrics read back from our JSON ({name: value}), with `null` values as NaN."""
    return {k: nan_for_null(v) for k, v in metrics.items()}
