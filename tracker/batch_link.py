"""One set of identities for a `track batch`: what each video task keeps, and the reduce that merges them.

In a task, the tracker runs with the gallery as it stood when the batch began (`tracker.gallery`). When the
video ends, `save_video_identities` writes beside its outputs the identities it saw, one per global ID a
track ended with (`<name>.identities`, a gallery file: prototypes, class, sightings), and
`<name>.identities.json`: which global ID each track ended with, and which pairs of them were visible in
the same frame (two people).

`link_batch` is the reduce step, run once when every video has finished: it loads the gallery as it was
at the start, hands all videos' identities to `Gallery.link` (issue 11's linking function: each matched
against the gallery as it grows, never to an identity held by one it was seen with), saves the gallery
atomically, then writes each video's `<name>.global.json` (track -> global ID) and `<name>.global.txt` (the MOT
result with global IDs): a save that fails leaves the gallery as it was and no video's global IDs written.

Each video's sightings are added to the gallery once: the batch folder keeps a record (`LINK_RECORD_NAME`) of the
videos the gallery file holds (each one's fingerprint, the gallery it began from and its global IDs) and of which
file that is, written atomically before the save's rename (naming the file the rename leaves, "pending") and after
it, as `track --gallery` records its saves for --resume. A re-run of the batch on that same file (`linked_before`)
reuses those videos, links them no more (a run killed after the save, before their `.global.*` files, counted
their sightings twice) and writes their `.global.*` files from the record. The gallery file itself records which
sources it holds (`tracker.gallery_sources`; the reduce records each video it links): a file saved by another run
since (`track --gallery`, `track gallery merge`) is not that file, but the videos of the batch's record that it
still holds are reused all the same (they were linked again, counted twice, before it recorded them), and the
batch refuses before any task a video that it holds and this batch's record does not name (`track_many`).
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from itertools import combinations
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tracker.config import TrackerConfig
from tracker.gallery import Gallery, GalleryConflictError, Identity
from tracker.gallery_file import FileVersion, file_version, written_by_another
from tracker.io.mot import format_mot_row, read_mot_rows, tlwh_to_xyxy, write_text_atomic
from tracker.io.strict_json import write_json_atomic

if TYPE_CHECKING:
    import numpy as np

__all__ = ["LINK_RECORD_NAME", "LinkedVideo", "global_outputs", "link_batch", "linked_before", "save_video_identities"]

log = logging.getLogger(__name__)

IDENTITIES_SUFFIX = ".identities"  # a video's identities (gallery file format)
META_SUFFIX = ".identities.json"  # its tracks' global IDs and the pairs seen together
GLOBAL_JSON_SUFFIX = ".global.json"
GLOBAL_TXT_SUFFIX = ".global.txt"
# in the batch folder (hidden: no video's folder name): the videos whose sightings the gallery file holds, and which
# file that is (`linked_before`)
LINK_RECORD_NAME = ".gallery-link.json"
_QUOTED_ENTRY_CHARS = 80  # a record's entry not as the batch writes it is quoted in the error up to this many chars


@dataclass(frozen=True)
class LinkedVideo:
    """A finished video of the batch: its output folder and the stem of its files; for the record of the link, its
    task's fingerprint and the `start_digest` of the gallery it began from; and `linked`, its entry of the record
    (`linked_before`) when the gallery file already holds its sightings (then it is not linked again). For the
    gallery's own record of its sources: `source` as given, its key (`source_digest`; None: a stream) and the
    `frames` tracked; `cut_short`: `--max-frames` stopped it before its end (recorded as its first frames only);
    `source_head`: its head (`source_keys`: a recording grown since is told by it)."""

    out_dir: Path
    stem: str
    fingerprint: str = ""
    start: str | None = None
    linked: Mapping[str, Any] | None = None
    source: str = ""
    source_key: str | None = None
    frames: int = 0
    cut_short: bool = False
    source_head: str | None = None


def linked_before(
    out: Path, gallery_path: Path, recorded: Mapping[str, Any] | None = None
) -> dict[str, dict[str, Any]]:
    """The videos, by output folder name, whose sightings the gallery file now at `gallery_path` holds from an
    earlier run of the batch in `out`: each one's entry of its record (`LINK_RECORD_NAME`: "fingerprint", "start",
    "tracks", "ended_as", and since the gallery records its sources, "source"). {} when there is no record or it is
    of another gallery. When the file there is neither the one that run saved nor the one its save was renaming
    into place when killed (another run saved it since), only the entries whose "source" key is among `recorded`
    (the sources the file holds: `Gallery.sources`). A record that cannot be read, or whose entries are not as the
    batch writes them (edited by hand), is logged and read as none (every video is linked again, as before it
    existed)."""
    path = out / LINK_RECORD_NAME
    try:
        record = json.loads(path.read_text())
        if record["gallery"] != os.path.realpath(gallery_path):
            return {}
        now = file_version(gallery_path)
        if now is None:
            return {}
        pending = record.get("pending")
        if pending is not None and pending["version"] == list(now):
            return _checked_entries(pending["videos"])
        if record["version"] == list(now):
            return _checked_entries(record["videos"])
        held = recorded or {}  # (another run saved the file since: the videos it still records)
        return {name: e for name, e in _checked_entries(record["videos"]).items() if e.get("source") in held}
    except FileNotFoundError:
        return {}
    except (OSError, ValueError, KeyError, TypeError) as exc:
        log.warning("%s cannot be read (%s): every finished video is linked into the gallery again", path, exc)
        return {}


def _checked_entries(videos: Any) -> dict[str, dict[str, Any]]:
    """`videos` of a record as `_link` writes them: {folder name: {"fingerprint": str, "start": str or None,
    "tracks" and "ended_as": {track or task global ID (text of an int): global ID (int)}}}, or ValueError naming
    the first entry that is not (a record edited by hand: read as such, it failed the reduce with a bare KeyError,
    AttributeError or ValueError after every video was tracked)."""
    if not isinstance(videos, dict):
        raise ValueError(f"its videos are {type(videos).__name__}, not an object")
    for name, entry in videos.items():
        fine = (
            isinstance(entry, dict)
            and isinstance(entry.get("fingerprint"), str)
            and (entry.get("start") is None or isinstance(entry["start"], str))
            and all(_global_ids(entry.get(key)) for key in ("tracks", "ended_as"))
        )
        if not fine:
            quoted = json.dumps(entry)[:_QUOTED_ENTRY_CHARS]
            raise ValueError(f"the entry of {name!r} is not as a batch writes it: {quoted}")
    return dict(videos)


def _global_ids(ids: Any) -> bool:
    """True when `ids` is {text of an int: int} (a record's "tracks" or "ended_as", read back with `int`)."""
    if not isinstance(ids, dict):
        return False
    try:
        return all(type(value) is int and isinstance(int(key), int) for key, value in ids.items())
    except ValueError:  # (a key that is no int's text; JSON keys are text)
        return False


def _read_jsonl_ids(jsonl: Path) -> tuple[dict[int, int], dict[int, int], set[tuple[int, int]]]:
    """From a `<name>.jsonl` written with a gallery: the global ID each track ended with, each global ID's
    track, and the pairs of final global IDs visible in one frame."""
    last_gid: dict[int, int] = {}
    owner: dict[int, int] = {}
    frames: list[list[int]] = []
    for line in jsonl.read_text().splitlines():
        tracks = json.loads(line)["tracks"]
        frames.append([int(t["id"]) for t in tracks])
        for t in tracks:
            if t.get("global_id") is not None:
                last_gid[int(t["id"])] = int(t["global_id"])
                owner[int(t["global_id"])] = int(t["id"])
    together: set[tuple[int, int]] = set()
    for ids in frames:
        gids = sorted({last_gid[i] for i in ids if i in last_gid})
        together.update(combinations(gids, 2))
    return last_gid, owner, together


def save_video_identities(gallery: Gallery, out_dir: Path, stem: str) -> None:
    """Write the identities a video's tracks ended with (from the task's gallery, after `Tracker.reset()`).

    Global IDs whose identity never reached the gallery (fewer than `gallery.min_embeddings` bank entries)
    are listed without prototypes: the reduce gives them IDs of their own.
    """
    last_gid, owner, together = _read_jsonl_ids(out_dir / f"{stem}.jsonl")
    kept = Gallery(gallery.config, gallery.model)
    kept.name_classes(gallery.class_names)
    for gid in sorted(set(last_gid.values())):
        if gid in gallery:
            ident = gallery[gid]
            kept.add(gid, ident.prototypes, ident.class_id, ident.last_seen, first_seen=ident.first_seen)
    kept.save(out_dir / f"{stem}{IDENTITIES_SUFFIX}", prune=False, lock=False, overwrite=True)  # this task's own file
    meta = {
        "tracks": {str(k): v for k, v in sorted(last_gid.items())},
        "ended_as": {str(g): last_gid[t] for g, t in sorted(owner.items())},
        "together": sorted([a, b] for a, b in together),
    }
    write_json_atomic(out_dir / f"{stem}{META_SUFFIX}", meta, indent=1)


def _open_start_gallery(path: Path, cfg: TrackerConfig) -> Gallery:
    return Gallery.load(path, cfg.gallery) if path.exists() else Gallery(cfg.gallery)


def link_batch(
    videos: list[LinkedVideo],
    gallery_path: Path,
    cfg: TrackerConfig,
    out: Path | None = None,
    applied: Mapping[str, Mapping[str, Any]] | None = None,
    relink: bool = False,
) -> list[dict[int, int]]:
    """The reduce step: one global ID per identity across `videos` (in batch order), the gallery saved.

    Videos with `linked` (the gallery file holds their sightings already) are not linked again: their global IDs
    are their record's. With `out` (the batch folder), the record of the videos the saved file holds
    (`LINK_RECORD_NAME`: `applied`, the entries `linked_before` found, and these videos') is written there before
    the save's rename and after it; no save when every video was linked before. The gallery records each video it
    links as one of its sources (`Gallery.record_source`; with `relink`, one it held already counts one more link).

    Returns {track id: global ID} per video, in the order of `videos`. Files written beside each video:
    `<stem>.global.json`, `<stem>.global.txt`.
    Raises GalleryError / GalleryModelError for a gallery or a video's identities that cannot be used, OSError
    (naming the file) for a gallery or record that cannot be saved: nothing is written then (the gallery is saved
    first).
    """
    fresh = [video for video in videos if video.linked is None]
    fresh_ids = iter(_link(fresh, gallery_path, cfg, out, applied or {}, relink) if fresh else [])
    result = []
    for video in videos:
        if video.linked is None:
            tracks, by_task_gid = next(fresh_ids)
        else:
            tracks = {int(t): int(g) for t, g in video.linked["tracks"].items()}
            by_task_gid = {int(t): int(g) for t, g in video.linked["ended_as"].items()}
        _write_global(video, tracks, by_task_gid)
        result.append(tracks)
    if out is not None and not fresh:  # (one killed after the save's rename: the record says so now)
        _record_saved(out, gallery_path, dict(applied or {}))
    return result


def _video_identities(
    videos: list[LinkedVideo], gallery: Gallery, cfg: TrackerConfig
) -> tuple[list[tuple[int, Identity]], list[dict[str, Any]]]:
    """What each of `videos` kept (`save_video_identities`): its identities, as (video position, Identity) in the order
    they are linked (video by video, each by its first frame seen, then global ID), and its `META_SUFFIX` note (tracks'
    global IDs, the pairs seen together). `gallery` is bound to their ReID model (identities of another are refused:
    `GalleryModelError`) and learns their class names."""
    units: list[tuple[int, Identity]] = []
    metas: list[dict[str, Any]] = []
    for v, video in enumerate(videos):
        kept = Gallery.load(video.out_dir / f"{video.stem}{IDENTITIES_SUFFIX}", cfg.gallery, prune=False)
        if kept.model is not None:
            gallery.bind_model(kept.model)  # identities of another ReID model are refused
        gallery.name_classes(kept.class_names)
        metas.append(json.loads((video.out_dir / f"{video.stem}{META_SUFFIX}").read_text()))
        order = sorted(kept.identities, key=lambda i: (i.first_seen.frame, i.global_id))
        units += [(v, ident) for ident in order]
    return units, metas


def _link(
    videos: list[LinkedVideo],
    gallery_path: Path,
    cfg: TrackerConfig,
    out: Path | None,
    applied: Mapping[str, Mapping[str, Any]],
    relink: bool = False,
) -> list[tuple[dict[int, int], dict[int, int]]]:
    """Link `videos` into the gallery and save it (with the record, when `out`), recording each video as one of its
    sources (`relink`: one it held counts one more link): each video's {track: global ID} and {its task's global
    ID: the batch's}, in order."""
    gallery = _open_start_gallery(gallery_path, cfg)
    units, metas = _video_identities(videos, gallery, cfg)
    position = {(v, ident.global_id): k for k, (v, ident) in enumerate(units)}
    cannot_link = [
        (position[(v, a)], position[(v, b)])
        for v, meta in enumerate(metas)
        for a, b in meta["together"]
        if (v, a) in position and (v, b) in position
    ]
    ids: np.ndarray | list[int] = gallery.link(
        [ident.prototypes for _, ident in units],
        cannot_link,
        class_ids=[ident.class_id for _, ident in units],
        sightings=[ident.last_seen for _, ident in units],
        first_seen=[ident.first_seen for _, ident in units],
    ) if units else []  # fmt: skip
    final = {(v, ident.global_id): int(g) for (v, ident), g in zip(units, ids, strict=True)}
    result: list[dict[int, int]] = []
    by_task_gids: list[dict[int, int]] = []
    for v, meta in enumerate(metas):
        for gid in sorted(set(meta["tracks"].values())):  # identities too short for the gallery: IDs of their own
            if (v, gid) not in final:  # (not `setdefault(..., new_id())`: it drew an ID for every track, linked or not)
                final[(v, gid)] = gallery.new_id()
        result.append({int(t): final[(v, g)] for t, g in meta["tracks"].items()})
        by_task_gids.append({int(g): final[(v, last)] for g, last in meta["ended_as"].items()})
    entries = dict(applied)
    for video, tracks, by_task_gid in zip(videos, result, by_task_gids, strict=True):
        entries[video.out_dir.name] = {
            "fingerprint": video.fingerprint,
            "start": video.start,
            "tracks": {str(t): g for t, g in sorted(tracks.items())},
            "ended_as": {str(t): g for t, g in sorted(by_task_gid.items())},
            "source": video.source_key,
        }
        if video.source_key is not None:
            # cut short: its first frames only (a later run of the whole video is refused, not taken as held)
            end, tracked = (None, video.frames) if video.cut_short else (video.frames, None)
            gallery.record_source(
                video.source_key, video.source or video.stem, end, again=relink, tracked=tracked, head=video.source_head
            )
    before = file_version(gallery_path)

    def record_pending(pending: FileVersion) -> None:  # just before the save's rename: the file it leaves
        if out is None:
            return
        try:
            _write_record(out, gallery_path, before, dict(applied), pending=(pending, entries))
        except OSError as exc:  # (stops the save: said as the gallery's, which names the record this way)
            record = out / LINK_RECORD_NAME
            raise OSError(
                exc.errno, f"{exc.strerror or exc}: the batch's record {record} could not be written"
            ) from exc

    # first: a save that fails leaves no video with global IDs the gallery lacks
    _save(gallery, gallery_path, record_pending)
    if out is not None:
        _record_saved(out, gallery_path, entries)
    log.info("gallery %s: %d identities after linking %d", gallery_path, len(gallery), len(units))
    return list(zip(result, by_task_gids, strict=True))


def _write_record(
    out: Path,
    gallery_path: Path,
    version: FileVersion | None,
    videos: dict[str, Any],
    pending: tuple[FileVersion, dict[str, Any]] | None = None,
) -> None:
    """Write (atomically) the record `linked_before` reads: the gallery file at `version` holds `videos`' sightings,
    and, with `pending`, the file a save is about to rename into place (its version) holds those of its videos."""
    record: dict[str, Any] = {
        "gallery": os.path.realpath(gallery_path),
        "version": None if version is None else list(version),
        "videos": videos,
    }
    if pending is not None:
        record["pending"] = {"version": list(pending[0]), "videos": pending[1]}
    write_json_atomic(out / LINK_RECORD_NAME, record, indent=1)


def _record_saved(out: Path, gallery_path: Path, videos: dict[str, Any]) -> None:
    """The record once the gallery file there holds `videos`' sightings (`_write_record`), or an OSError saying the
    gallery is saved and how the re-run finishes (the record written before the rename names the file as pending)."""
    try:
        _write_record(out, gallery_path, file_version(gallery_path), videos)
    except OSError as exc:
        raise OSError(
            f"the gallery {gallery_path} was saved, but the batch's record of it ({out / LINK_RECORD_NAME}) could "
            f"not be written: {exc.strerror or exc}; re-run the batch to write the videos' global IDs (it links "
            "them no more)"
        ) from exc


def _save(gallery: Gallery, path: Path, before_replace: Callable[[FileVersion], None] | None = None) -> None:
    """Save the linked gallery (atomically: a failed save leaves the file as it was and no temp file), or raise an
    OSError naming the file, what is kept and how to link again; a GalleryConflictError, in the same words, for a
    file another program wrote since the reduce read it. `before_replace`: `Gallery.save`'s."""
    try:
        gallery.save(path, lock=False, before_replace=before_replace)  # `track_many` holds its lock throughout
    except GalleryConflictError as exc:  # said "... save with overwrite=True": Python advice to a command-line user
        raise GalleryConflictError(
            f"{written_by_another(path, 'during the batch')}: it is left as it is; the videos' outputs and identity "
            "files are kept: re-run the batch to link them into it (it reuses the finished videos)"
        ) from exc
    except OSError as exc:  # (a full disk, its folder made read-only during the batch; the record not written)
        raise OSError(
            f"the gallery {path} could not be saved ({exc.strerror or exc}): it is as it was; the videos' outputs are "
            "kept: re-run the batch to link them (it reuses the finished videos)"
        ) from exc


def global_outputs(out_dir: Path, stem: str) -> list[Path]:
    """The files the reduce writes for a video (`<stem>.global.txt`, `<stem>.global.json`): its outputs with the
    batch's global IDs, which its `VideoResult.outputs` lists once the gallery is saved."""
    return [out_dir / f"{stem}{GLOBAL_TXT_SUFFIX}", out_dir / f"{stem}{GLOBAL_JSON_SUFFIX}"]


def _write_global(video: LinkedVideo, tracks: dict[int, int], by_task_gid: dict[int, int]) -> None:
    """`<stem>.global.json` and `<stem>.global.txt` (the task's MOT rows with the batch's global IDs)."""
    note = {"tracks": {str(t): g for t, g in sorted(tracks.items())}}
    write_json_atomic(video.out_dir / f"{video.stem}{GLOBAL_JSON_SUFFIX}", note, indent=1)
    rows = read_mot_rows(video.out_dir / f"{video.stem}.txt")
    lines = [
        format_mot_row(row[0], by_task_gid.get(int(row[1]), int(row[1])), xyxy, row[6])
        for row, xyxy in zip(rows, tlwh_to_xyxy(rows[:, 2:6]), strict=True)
    ]
    write_text_atomic(video.out_dir / f"{video.stem}{GLOBAL_TXT_SUFFIX}", "".join(lines))
