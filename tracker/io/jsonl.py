"""The `<name>.jsonl` of a `track` run: one line per frame, `{"frame": N, "tracks": [...]}`.

Each track is `{"id", ["global_id", "recognised",] "xyxy", "score", "class", "recovered"[, "predicted"]}` (pixels
rounded to `JSON_DECIMALS`, scores to `JSON_SCORE_DECIMALS`; `global_id` and `recognised` with a gallery:
`recognised` true on the frame the gallery gave a new track a remembered identity, which `recovered` marks too;
`predicted`: a gap frame, the track lost). `JsonlWriter` writes
it frame by frame (flushed every frame; a resumed run's file cut to its checkpoint's length and continued);
`read_jsonl_tracks` reads the tracks of its first bytes back (a resumed run draws its video again from them).
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np

from tracker.io.mot import open_truncated
from tracker.io.strict_json import to_json
from tracker.types import TrackedObject, TrackState

__all__ = ["JSON_DECIMALS", "JSON_SCORE_DECIMALS", "JsonlWriter", "read_jsonl_tracks"]


JSON_DECIMALS = 2  # pixels
JSON_SCORE_DECIMALS = 4


class JsonlWriter:
    """`<name>.jsonl`: one line per frame, flushed every frame (`resume_bytes`: an earlier run's file, cut to that
    length and continued)."""

    def __init__(self, path: Path, resume_bytes: int | None = None) -> None:
        self._file = path.open("w") if resume_bytes is None else open_truncated(path, resume_bytes)

    def sync(self) -> int:
        """Make the lines written so far durable (fsync); returns the file's length."""
        os.fsync(self._file.fileno())
        return self._file.tell()

    def write(self, frame: int, objects: list[TrackedObject]) -> None:
        """One line: source frame `frame` (1-based) and its `objects`, flushed."""
        tracks = [
            {
                "id": o.track_id,
                **({} if o.global_id is None else {"global_id": o.global_id, "recognised": bool(o.recognised)}),
                "xyxy": [round(float(v), JSON_DECIMALS) for v in o.xyxy],
                "score": round(float(o.score), JSON_SCORE_DECIMALS),
                "class": int(o.class_id),
                "recovered": bool(o.recovered),
                **({"predicted": True} if o.state is TrackState.LOST else {}),  # a gap frame (report_gap_frame)
            }
            for o in objects
        ]
        self._file.write(to_json({"frame": frame, "tracks": tracks}) + "\n")
        self._file.flush()

    def close(self) -> None:
        """Close the file (what was written stays)."""
        self._file.close()


def read_jsonl_tracks(path: Path, length: int, shown_global: bool) -> dict[int, list[TrackedObject]]:
    """frame -> the tracks the first `length` bytes of a `<name>.jsonl` give it (the IDs the video showed: global
    ones with a gallery). A file written before `recognised` existed reads as no recognition."""
    with path.open("rb") as f:
        lines = f.read(length).decode().splitlines()
    out = {}
    for line in lines:
        row = json.loads(line)
        out[row["frame"]] = [
            TrackedObject(
                track_id=t.get("global_id", t["id"]) if shown_global else t["id"],
                xyxy=np.asarray(t["xyxy"], dtype=np.float64),
                score=t["score"],
                class_id=t["class"],
                state=TrackState.LOST if t.get("predicted") else TrackState.TRACKED,
                detection_index=-1,
                recovered=t["recovered"],
                recognised=t.get("recognised", False),
            )
            for t in row["tracks"]
        ]
    return out
