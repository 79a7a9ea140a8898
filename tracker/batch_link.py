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
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from itertools import combinations
from pathlib import Path
from typing import Any

from tracker.config import TrackerConfig
from tracker.gallery import Gallery, GalleryConflictError
from tracker.gallery_file import written_by_another
from tracker.io.mot import read_mot_rows, write_text_atomic
from tracker.io.strict_json import write_json_atomic

__all__ = ["LinkedVideo", "link_batch", "save_video_identities"]

log = logging.getLogger(__name__)

IDENTITIES_SUFFIX = ".identities"  # a video's identities (gallery file format)
META_SUFFIX = ".identities.json"  # its tracks' global IDs and the pairs seen together
GLOBAL_JSON_SUFFIX = ".global.json"
GLOBAL_TXT_SUFFIX = ".global.txt"


@dataclass(frozen=True)
class LinkedVideo:
    """A finished video of the batch: its output folder and the stem of its files."""

    out_dir: Path
    stem: str


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
    together = set()
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


def link_batch(videos: list[LinkedVideo], gallery_path: Path, cfg: TrackerConfig) -> list[dict[int, int]]:
    """The reduce step: one global ID per identity across `videos` (in batch order), the gallery saved.

    Returns {track id: global ID} per video, in the order of `videos`. Files written beside each video:
    `<stem>.global.json`, `<stem>.global.txt`.
    Raises GalleryError / GalleryModelError for a gallery or a video's identities that cannot be used, OSError
    (naming the file) for a gallery that cannot be saved: nothing is written then (the gallery is saved first).
    """
    gallery = _open_start_gallery(gallery_path, cfg)
    units: list[tuple[int, Any]] = []  # (video position, Identity) in the order they are linked
    metas: list[dict[str, Any]] = []
    for v, video in enumerate(videos):
        kept = Gallery.load(video.out_dir / f"{video.stem}{IDENTITIES_SUFFIX}", cfg.gallery, prune=False)
        if kept.model is not None:
            gallery.bind_model(kept.model)  # identities of another ReID model are refused
        gallery.name_classes(kept.class_names)
        metas.append(json.loads((video.out_dir / f"{video.stem}{META_SUFFIX}").read_text()))
        order = sorted(kept.identities, key=lambda i: (i.first_seen.frame, i.global_id))
        units += [(v, ident) for ident in order]
    position = {(v, ident.global_id): k for k, (v, ident) in enumerate(units)}
    cannot_link = [
        (position[(v, a)], position[(v, b)])
        for v, meta in enumerate(metas)
        for a, b in meta["together"]
        if (v, a) in position and (v, b) in position
    ]
    ids = gallery.link(
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
    _save(gallery, gallery_path)  # first: a save that fails leaves no video with global IDs the gallery lacks
    for video, tracks, by_task_gid in zip(videos, result, by_task_gids, strict=True):
        _write_global(video, tracks, by_task_gid)
    log.info("gallery %s: %d identities after linking %d", gallery_path, len(gallery), len(units))
    return result


def _save(gallery: Gallery, path: Path) -> None:
    """Save the linked gallery (atomically: a failed save leaves the file as it was and no temp file), or raise an
    OSError naming the file, what is kept and how to link again; a GalleryConflictError, in the same words, for a
    file another program wrote since the reduce read it."""
    try:
        gallery.save(path, lock=False)  # `track_many` holds its lock from the start of the batch
    except GalleryConflictError as exc:  # said "... save with overwrite=True": Python advice to a command-line user
        raise GalleryConflictError(
            f"{written_by_another(path, 'during the batch')}: it is left as it is; the videos' outputs and identity "
            "files are kept: re-run the batch to link them into it (it reuses the finished videos)"
        ) from exc
    except OSError as exc:  # (a full disk, its folder made read-only during the batch)
        raise OSError(
            f"the gallery {path} could not be saved ({exc.strerror or exc}): it is as it was; the videos' outputs are "
            "kept: re-run the batch to link them (it reuses the finished videos)"
        ) from exc


def _write_global(video: LinkedVideo, tracks: dict[int, int], by_task_gid: dict[int, int]) -> None:
    """`<stem>.global.json` and `<stem>.global.txt` (the task's MOT rows with the batch's global IDs)."""
    note = {"tracks": {str(t): g for t, g in sorted(tracks.items())}}
    write_json_atomic(video.out_dir / f"{video.stem}{GLOBAL_JSON_SUFFIX}", note, indent=1)
    lines = []
    for row in read_mot_rows(video.out_dir / f"{video.stem}.txt"):
        gid = by_task_gid.get(int(row[1]), int(row[1]))
        x, y, w, h = row[2:6]
        lines.append(f"{int(row[0])},{gid},{x:.2f},{y:.2f},{w:.2f},{h:.2f},{row[6]:.4f},-1,-1,-1\n")
    write_text_atomic(video.out_dir / f"{video.stem}{GLOBAL_TXT_SUFFIX}", "".join(lines))
