"""One global ID for all the MOT txt rows of a track, in a `track --gallery` run.

A new track gets a new global ID when it is given its track ID, and during its first `gallery.search_seconds` it is
searched in the gallery again each time its bank grows (`GalleryLink.link_newborn`): a match replaces the new ID by
the remembered identity's. The rows written before the match carry the new ID, which in the MOT txt (one ID column)
reads as an ID switch. So when a source has been tracked to its end, `GlobalIdHistory.replace_in` rewrites its txt
(atomically: temp file and rename) so that every row of such a track carries the global ID the track ended with:
the ID a user looks up in the gallery, and the one the next video gives that person.

A replaced ID is always a new one, given to that track alone (`Gallery.new_id` never gives an ID twice), so its
rows are exactly that track's rows before the match. A replacement is not made where it would show one ID twice in
a frame (the remembered identity's earlier track of this source still reported while the new one began): that track
keeps its switch. A run that stops early (Ctrl-C, an error) keeps its txt as written, so that `--resume` continues it
byte for byte. A run that can be resumed keeps its rows as written in `<name>.txt.partial` (`keep_rows`, the file a
resume continues: it cuts it at the checkpoint's byte length, which the rewritten txt no longer has) until its
checkpoint goes (`drop_kept_rows`), after its last gallery save: a run killed in that save resumes. (The checkpoint
went before the rewrite: a kill in the save left the gallery without the run's people and nothing to resume.)
The JSONL keeps, each frame, the global ID shown then (what the video shows: drawn frames cannot change), beside
the track's local `id`; `summary.json` lists the replaced IDs (`global_ids_replaced`: new ID -> final ID).
"""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING

from tracker.io.mot import atomic_file, partial_file

if TYPE_CHECKING:  # (annotations only: `tracker.resume` checks a checkpoint's spans here without importing torch)
    from tracker.core import TrackerCore
    from tracker.types import TrackedObject

__all__ = ["GlobalIdHistory", "check_spans", "drop_kept_rows", "keep_rows", "live_tracks"]

_SPAN_FIELDS = 4  # a span as a checkpoint keeps it: track ID, global ID, first frame, last frame
_ID_COLUMN = 1  # the ID is the second comma-separated field of a MOT row (frame, id, x, y, w, h, conf, ...)
# Temp files beside the txt: the rewrite's (not `.partial`, which holds the rows a resume continues) and the copy
# of the rows as written before it is renamed to `.partial` (a resume never sees half a copy).
_REWRITE_SUFFIX = ".rewrite"
_COPY_SUFFIX = ".copy"


def check_spans(spans: object, last_frame: int | None = None) -> None:
    """Check `spans` are what `GlobalIdHistory.spans()` gives: a list of `[track ID, global ID, first frame, last
    frame]`, four integers each, IDs >= 0, frames 1-based with the first at most the last (and at most `last_frame`,
    the last source frame tracked before the checkpoint that kept them, where given), one span per (track, global ID)
    pair, and a track's spans over separate frames (a track is reported with one global ID a frame).

    Raises:
        ValueError: the first span that is not so (named, with what is wrong): a checkpoint's header edited by hand
            or damaged.
    """
    if not isinstance(spans, list):
        raise ValueError(f"the spans must be a list of [track, global ID, first, last], got {spans!r}")
    frames: dict[int, list[tuple[int, int]]] = {}  # track ID -> (first, last) of its spans
    pairs: set[tuple[int, int]] = set()  # (track ID, global ID) of the spans before
    for span in spans:
        if not isinstance(span, list) or len(span) != _SPAN_FIELDS or not all(_is_int(v) for v in span):
            raise ValueError(f"a global ID span must be 4 integers (track, global ID, first, last), got {span!r}")
        track, gid, first, last = span
        if track < 0 or gid < 0 or first < 1:
            raise ValueError(f"a global ID span has a negative ID or a frame before the first (1), got {span!r}")
        if first > last:
            raise ValueError(f"a global ID span ends before it begins: {span!r}")
        if last_frame is not None and last > last_frame:
            raise ValueError(f"a global ID span ends after the last frame tracked ({last_frame}): {span!r}")
        if (track, gid) in pairs:
            raise ValueError(f"two global ID spans of track {track} as global ID {gid} (one a pair): {span!r}")
        pairs.add((track, gid))
        held = frames.setdefault(track, [])
        if any(a <= last and first <= b for a, b in held):
            raise ValueError(f"two global ID spans of track {track} share frames (one global ID a frame): {span!r}")
        held.append((first, last))


def _is_int(value: object) -> bool:
    """An int of JSON's (not a bool, which Python counts as one)."""
    return isinstance(value, int) and not isinstance(value, bool)


def keep_rows(txt: Path) -> None:
    """Keep the rows of the finished `txt` as written in `<txt>.partial`, atomically: a run killed after its txt is
    rewritten (`GlobalIdHistory.replace_in`) but before its checkpoint goes resumes from them. The caller removes it
    after the checkpoint."""
    copy = txt.with_name(txt.name + _COPY_SUFFIX)
    try:
        shutil.copyfile(txt, copy)
        os.replace(copy, partial_file(txt))
    except BaseException:
        copy.unlink(missing_ok=True)
        raise


def drop_kept_rows(txt: Path) -> None:
    """The run's checkpoint went: remove the rows `keep_rows` kept for it (and a copy a kill left half made)."""
    for file in (partial_file(txt), txt.with_name(txt.name + _COPY_SUFFIX)):
        file.unlink(missing_ok=True)


def live_tracks(core: TrackerCore) -> dict[int, bool]:
    """{local track ID: whether its global ID may still change (`GalleryLink.relinking`)} of `core`'s tracks that
    have an ID: what `GlobalIdHistory.observe` forgets by (a track not among them has ended for good)."""
    relinking = {id(track) for track in core.gallery_link.relinking()}
    return {t.track_id: id(t) in relinking for t in core.tracks if t.track_id is not None}


class GlobalIdHistory:
    """The frames each (local track ID, global ID) pair was reported in, as first and last frame.

    `observe` is called once per frame with the source's objects (local `track_id`, `global_id`) and its live tracks
    (`live_tracks`). A run's checkpoint keeps `spans()` (`tracker.resume.Progress.global_id_spans`) and a resume
    rebuilds the history from them (`from_spans`); `from_jsonl` rebuilds it from the JSONL rows before a checkpoint
    written before the checkpoint kept them (it reads the whole run's rows and forgets nothing: O(run length)).
    Memory is O(live tracks) plus the tracks whose global ID changed (`replacements`' own size): the span of a track
    that ended with one global ID is forgotten once it cannot clash with a replacement (`_forget`), so a run of days
    keeps no span per track it showed (each one held ~200 bytes: ~130 MB a day at a newcomer every 5 frames).
    """

    def __init__(self) -> None:
        self._spans: dict[tuple[int, int], list[int]] = {}  # (track ID, global ID) -> [first frame, last frame]
        self._kept = 0  # spans kept by the last `_forget` (the next one runs once there are twice as many)

    def observe(
        self, frame: int, objects: Iterable[TrackedObject], live: Callable[[], Mapping[int, bool]] | None = None
    ) -> None:
        """Record the global ID each object (local `track_id`) was reported with in `frame`.

        Args:
            live: gives the source's live tracks after `frame` (`live_tracks`: local track ID -> whether its global
                ID may still change), called only when the spans no replacement can need any more are forgotten, once
                they doubled (amortised O(1) a span). None: nothing is forgotten.
        """
        for obj in objects:
            if obj.global_id is None or obj.track_id is None:
                continue
            span = self._spans.get((obj.track_id, obj.global_id))
            if span is None:
                self._spans[(obj.track_id, obj.global_id)] = [frame, frame]
            else:
                span[1] = frame
        if live is not None and len(self._spans) > 2 * self._kept:
            self._forget(live())
            self._kept = len(self._spans)

    @property
    def kept(self) -> int:
        """The (track ID, global ID) spans held now (the memory: ~200 bytes each)."""
        return len(self._spans)

    def _forget(self, live: Mapping[int, bool]) -> None:
        """Drop the span of each track that ended (not in `live`) with a single global ID G, from frame a to b,
        where `replacements` can never read it: it is only ever read as a holder of G, against a replaced span of
        another track that ended as G and overlaps [a, b]. None does among the spans kept (checked), and none can
        come: a span yet to be replaced is one of a track whose global ID may still change (`live[track]` true),
        which began at or after the first frame of that track's spans, so after b when b is before every such
        first frame; a span yet to be made begins after the frames observed. The spans kept keep their order
        (`replacements` gives them in it), and a track's spans go together (its final ID is read from them)."""
        by_track: dict[int, list[tuple[int, int, int]]] = {}  # track ID -> (global ID, first, last) of each span
        for (track, gid), (first, last) in self._spans.items():
            by_track.setdefault(track, []).append((gid, first, last))
        changing = [first for track, spans in by_track.items() if live.get(track) for _, first, _ in spans]
        horizon = min(changing, default=None)
        replaced: dict[int, list[tuple[int, int, int]]] = {}  # final ID -> (track, first, last) of replaced spans
        for track, spans in by_track.items():
            if len(spans) > 1:
                final = max((last, gid) for gid, _, last in spans)[1]
                replaced.setdefault(final, []).extend((track, a, b) for gid, a, b in spans if gid != final)
        for track, spans in by_track.items():
            if track in live or len(spans) > 1:
                continue
            ((gid, first, last),) = spans
            if horizon is not None and last >= horizon:
                continue
            if any(other != track and a <= last and first <= b for other, a, b in replaced.get(gid, ())):
                continue
            del self._spans[(track, gid)]

    def spans(self) -> list[list[int]]:
        """The spans held, each `[track ID, global ID, first frame, last frame]`, in their order (what a checkpoint
        keeps: O(`kept`), bounded by the live tracks and the replaced ones, not by the run's length)."""
        return [[track, gid, first, last] for (track, gid), (first, last) in self._spans.items()]

    @classmethod
    def from_spans(cls, spans: Iterable[Iterable[int]], kept: int = 0) -> GlobalIdHistory:
        """The history `spans()` gave, with `kept` (its `kept_at`): the resumed run forgets as the uninterrupted one.

        Raises:
            ValueError: spans that `spans()` cannot have given (`check_spans`: a checkpoint's header edited by hand).
        """
        history = cls()
        values = [list(span) for span in spans]
        check_spans(values)
        for track, gid, first, last in values:
            history._spans[(track, gid)] = [first, last]
        history._kept = kept
        return history

    @property
    def kept_at(self) -> int:
        """The spans the last forgetting kept (the next one runs once there are twice as many): a checkpoint keeps it
        with `spans()`."""
        return self._kept

    @classmethod
    def from_jsonl(cls, path: Path, length: int) -> GlobalIdHistory:
        """The history in the first `length` bytes of a `<name>.jsonl` (rows: frame, tracks with id and global_id):
        how a checkpoint written before `spans()` were kept in it is resumed (time and memory O(`length`))."""
        history = cls()
        with path.open("rb") as f:
            lines = f.read(length).decode().splitlines()
        for line in lines:
            row = json.loads(line)
            for t in row["tracks"]:
                if t.get("global_id") is not None:
                    span = history._spans.setdefault((int(t["id"]), int(t["global_id"])), [row["frame"], row["frame"]])
                    span[1] = row["frame"]
        return history

    def replacements(self) -> dict[int, int]:
        """{new global ID: the global ID its track ended with} for every track whose global ID changed, but where
        the final ID's other tracks were reported in the frames the new ID was (one ID twice in a frame)."""
        final: dict[int, tuple[int, int]] = {}  # track ID -> (last frame, global ID) of its latest global ID
        for (track, gid), (_, last) in self._spans.items():
            final[track] = max(final.get(track, (last, gid)), (last, gid))
        holders: dict[int, list[tuple[int, int, int]]] = {}  # global ID -> (track ID, first, last) of each holder
        for (track, gid), (first, last) in self._spans.items():
            holders.setdefault(gid, []).append((track, first, last))
        out = {}
        for (track, gid), (first, last) in self._spans.items():
            ended_as = final[track][1]
            if gid == ended_as:
                continue
            clash = any(other != track and a <= last and first <= b for other, a, b in holders[ended_as])
            if not clash:
                out[gid] = ended_as
        return out

    def replace_in(self, txt: Path, replaced: dict[int, int] | None = None) -> dict[int, int]:
        """Rewrite the MOT txt `txt` (atomically) with `replaced` (default: `replacements()`); returns them ({} leaves
        the file as it is).

        Raises:
            OSError: the file cannot be read or written (it is left as it was).
        """
        replaced = self.replacements() if replaced is None else replaced
        if not replaced:
            return replaced
        with txt.open() as rows, atomic_file(txt, _REWRITE_SUFFIX) as out:
            for row in rows:
                fields = row.split(",", _ID_COLUMN + 1)
                gid = int(fields[_ID_COLUMN])
                if gid in replaced:
                    fields[_ID_COLUMN] = str(replaced[gid])
                    row = ",".join(fields)
                out.write(row)
        return replaced
