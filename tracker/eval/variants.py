"""Evaluation data variants: moving-camera, downscaled and frame-dropped versions of MOTChallenge sequences.

A variant maps every kept frame of a sequence through a per-frame similarity transform (scale s and crop
origin x0, y0; a variant pixel u = s * (x - x0)), optionally keeping one frame in `step`. The images, the
ground truth and the public detections go through the same transform: boxes are mapped, clipped at the
borders, and dropped when less than `MIN_VISIBLE_FRACTION` of them stays inside the frame.

Variants are made on demand, seeded, never committed: each one is a MOTChallenge folder (seqinfo.ini, img1/,
gt/gt.txt, det/det.txt, variant.json with the exact per-frame transforms) in a cache folder, keyed by
(sequence, its gt/det/seqinfo bytes and image sizes and times, variant, seed where it draws from one: jitter, code
version) and written atomically (temporary folder + rename, the maker holding that folder's lock: one left by a
killed run is removed by the next), so the input cache, the runner and TrackEval work on them unchanged.
Sequences with only a few images (MOT17 in ../shared) get their images transformed as far as they go and their
gt and detections in full.

Kinds (names accepted by `track eval --variants`):
- moving (`pan2`, `pan8`, `pan20`, `zoom`, `jitter`, `jump`): a window of `CROP_FRACTION` of the frame slides
  back and forth at 2, 8 or 20 px/frame, zooms slowly in and out, shakes like a handheld camera (random walk
  plus tremor), or jumps by `JUMP_PX` every `JUMP_PERIOD_S` seconds;
- small (`scale0.5`, `scale0.35`): the whole frame downscaled;
- dropped (`drop2`): every second frame dropped, the frame rate halved in seqinfo.ini.
`original` is the sequence itself; `all` is every variant.
"""

from __future__ import annotations

import hashlib
import json
import logging
import math
import os
import shutil
import tempfile
import time
import zlib
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from tracker.eval.sequences import Sequence
from tracker.io.lock import LOCK_NAME, FolderLock
from tracker.io.mot import read_mot_rows, read_sequence_info, tlwh_to_xyxy, xyxy_to_tlwh
from tracker.io.names import bounded_name
from tracker.io.opencv_files import read_image, write_image
from tracker.io.strict_json import to_json
from tracker.weights import content_digest, file_digest

__all__ = [
    "GROUPS",
    "ORIGINAL",
    "VARIANTS",
    "FrameTransform",
    "VariantSpec",
    "default_variants_dir",
    "frame_transforms",
    "load_transforms",
    "materialise",
    "parse_variants",
    "relative_motion",
    "transform_rows",
    "variant_sequences",
]

log = logging.getLogger(__name__)

VARIANTS_VERSION = 1  # bump when a transform, the clipping rule or the folder layout changes
ORIGINAL = "original"
NAME_SEPARATOR = "+"  # variant sequence names: "<sequence>+<variant>"
CROP_FRACTION = 0.75  # moving variants: the window (and output frame) is this fraction of the source frame
MIN_VISIBLE_FRACTION = 0.5  # a mapped box keeps at least this fraction of its area inside the frame, or is dropped
ZOOM_RATE = 0.01  # zoom: relative change of the window size per frame
ZOOM_MAX = 1.5  # zoom: ping-pong between the base window and the base window / ZOOM_MAX
JITTER_WALK_PX = 3.0  # jitter: std of the random-walk step of the window centre, px/frame
JITTER_TREMOR_PX = 2.0  # jitter: std of the frame-to-frame tremor added on top of the walk, px
JUMP_PX = 100.0  # jump: size of the sudden horizontal shift of the window
JUMP_PERIOD_S = 1.0  # jump: seconds between two jumps
JPEG_QUALITY = 95  # variant images are written as JPEG at this quality
SEEDED_KINDS = frozenset({"jitter"})  # the kinds whose window path draws random numbers from the variant seed
_KEY_CHARS = 12  # hex characters of the SHA-256 kept in a variant's folder name (48 bits: no two variants collide)
_PARTIAL_PREFIX = ".partial-"  # a variant being made: <root>/.partial-<name>-<random>/, renamed when whole
_UNLOCKED_GRACE_S = 60.0  # a `.partial-*` folder without a locked lock file, nothing written in it for this long, is
# no maker's: a maker locks its folder right after creating it, or (a file system without locks) writes an image at
# least this often
_REMOVING_SUFFIX = "-removing"  # an abandoned `.partial-*` folder is renamed so before it is deleted
_NOTE = "variant.json"
_TLWH = slice(2, 6)


@dataclass(frozen=True)
class VariantSpec:
    """One variant: its kind and its parameter (pan speed px/frame, scale factor, frame step)."""

    name: str
    kind: str  # "pan" | "zoom" | "jitter" | "jump" | "scale" | "drop"
    value: float = 0.0
    group: str = ""


VARIANTS: dict[str, VariantSpec] = {
    v.name: v
    for v in (
        VariantSpec("pan2", "pan", 2.0, "moving"),
        VariantSpec("pan8", "pan", 8.0, "moving"),
        VariantSpec("pan20", "pan", 20.0, "moving"),
        VariantSpec("zoom", "zoom", ZOOM_RATE, "moving"),
        VariantSpec("jitter", "jitter", JITTER_WALK_PX, "moving"),
        VariantSpec("jump", "jump", JUMP_PX, "moving"),
        VariantSpec("scale0.5", "scale", 0.5, "small"),
        VariantSpec("scale0.35", "scale", 0.35, "small"),
        VariantSpec("drop2", "drop", 2, "dropped"),
    )
}
"""Variant name -> spec, in report order."""
GROUPS: dict[str, list[str]] = {
    "moving": [n for n, v in VARIANTS.items() if v.group == "moving"],
    "small": [n for n, v in VARIANTS.items() if v.group == "small"],
    "dropped": [n for n, v in VARIANTS.items() if v.group == "dropped"],
    "all": list(VARIANTS),
}
"""Group name -> the variants it stands for."""


@dataclass(frozen=True)
class FrameTransform:
    """How output frame `frame` is made: source frame `source`, variant pixel u = scale * (x - x0, y - y0)."""

    frame: int
    source: int
    scale: float
    x0: float
    y0: float

    def matrix(self) -> np.ndarray:
        """(2, 3) affine from source pixels to variant pixels."""
        s = self.scale
        return np.array([[s, 0.0, -s * self.x0], [0.0, s, -s * self.y0]])


def parse_variants(text: str) -> list[str]:
    """`"moving,scale0.5"` -> variant names in order (groups expanded; a name given twice, or also in a group given,
    is kept once: each variant runs once).

    Raises:
        ValueError: an unknown name (the message lists the known ones), none, or an empty one (`pan8,`, `pan8,,zoom`:
            a comma too many, or a shell variable left unset, which ran the other variants without a word).
    """
    parts = [p.strip() for p in text.split(",")]
    if not any(parts):
        raise ValueError("no variant named (a shell variable left unset?): give NAME[,NAME...]")
    if not all(parts):
        raise ValueError(
            f"an empty variant name in {text!r} (a comma too many, or a shell variable left unset?): give "
            "NAME[,NAME...]"
        )
    names: list[str] = []
    for part in parts:
        expanded = GROUPS.get(part, [part])
        for name in expanded:
            if name != ORIGINAL and name not in VARIANTS:
                known = ", ".join([ORIGINAL, *GROUPS, *VARIANTS])
                raise ValueError(f"unknown variant {part!r}; known: {known}")
            if name not in names:
                names.append(name)
    return names


def default_variants_dir(cache_dir: Path | None) -> Path:
    """Variants live in `<eval input cache>/variants`."""
    from tracker.eval.inputs import default_cache_dir

    return (cache_dir or default_cache_dir()) / "variants"


def _rng(seed: int, name: str) -> np.random.Generator:
    return np.random.default_rng([seed, zlib.crc32(name.encode())])


def _ping_pong(t: np.ndarray, span: float) -> np.ndarray:
    """Triangle wave: 0 -> span -> 0 ..., slope 1 per unit of t."""
    if span <= 0:
        return np.zeros_like(t)
    phase = np.mod(t, 2 * span)
    return np.where(phase <= span, phase, 2 * span - phase)


def _window_path(
    spec: VariantSpec, n: int, width: int, height: int, frame_rate: float, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(centre x (n,), centre y (n,), window width (n,)) of a moving variant, in source pixels."""
    base_w = CROP_FRACTION * width
    margin_x, margin_y = (1 - CROP_FRACTION) * width / 2, (1 - CROP_FRACTION) * height / 2
    t = np.arange(n, dtype=np.float64)
    cx, cy, ww = np.full(n, width / 2), np.full(n, height / 2), np.full(n, base_w)
    if spec.kind == "pan":
        cx = width / 2 - margin_x + _ping_pong(t * spec.value, 2 * margin_x)
    elif spec.kind == "zoom":
        ww = base_w * np.exp(-_ping_pong(t * spec.value, math.log(ZOOM_MAX)))
    elif spec.kind == "jitter":
        walk = np.cumsum(rng.normal(0.0, spec.value, size=(n, 2)), axis=0)
        tremor = rng.normal(0.0, JITTER_TREMOR_PX, size=(n, 2))
        offset = walk + tremor
        cx = width / 2 + np.clip(offset[:, 0], -margin_x, margin_x)
        cy = height / 2 + np.clip(offset[:, 1], -margin_y, margin_y)
    elif spec.kind == "jump":
        period = max(1, round(JUMP_PERIOD_S * frame_rate))
        side = np.where((t // period) % 2 == 0, -1.0, 1.0)
        cx = width / 2 + side * min(spec.value / 2, margin_x)
    return cx, cy, ww


def frame_transforms(
    spec: VariantSpec, length: int, width: int, height: int, frame_rate: float, seed: int, name: str
) -> tuple[list[FrameTransform], int, int, float]:
    """The per-frame transforms of a variant of a `width` x `height` sequence of `length` frames.

    Returns:
        (transforms in output order, output width, output height, output frame rate).
    Raises:
        ValueError: the sequence has no image size in seqinfo.ini (imWidth, imHeight).
    """
    if width <= 0 or height <= 0:
        raise ValueError(f"{name}: seqinfo.ini lacks imWidth/imHeight, needed for variant {spec.name}")
    if spec.kind == "drop":
        step = int(spec.value)
        sources = range(1, length + 1, step)
        out = [FrameTransform(k, src, 1.0, 0.0, 0.0) for k, src in enumerate(sources, start=1)]
        return out, width, height, frame_rate / step
    if spec.kind == "scale":
        s = spec.value
        out = [FrameTransform(f, f, s, 0.0, 0.0) for f in range(1, length + 1)]
        return out, round(width * s), round(height * s), frame_rate
    out_w, out_h = round(CROP_FRACTION * width), round(CROP_FRACTION * height)
    cx, cy, ww = _window_path(spec, length, width, height, frame_rate, _rng(seed, name))
    scale = out_w / ww
    x0, y0 = cx - ww / 2, cy - ww * out_h / out_w / 2
    out = [FrameTransform(f + 1, f + 1, float(scale[f]), float(x0[f]), float(y0[f])) for f in range(length)]
    return out, out_w, out_h, frame_rate


def transform_rows(rows: np.ndarray, transforms: list[FrameTransform], width: int, height: int) -> np.ndarray:
    """(M, >=6) MOT rows (frame, id, x, y, w, h, ...; tlwh in the source's pixels) of the source -> (M', >=6) rows of
    the variant, in its pixels.

    Rows of frames the variant drops are removed, frames renumbered, boxes mapped and clipped to the
    `width` x `height` output, and boxes keeping less than MIN_VISIBLE_FRACTION of their area dropped.
    Other columns are kept as they are.
    """
    by_source = {t.source: t for t in transforms}
    keep = np.array([int(f) in by_source for f in rows[:, 0]], dtype=bool) if len(rows) else np.zeros(0, bool)
    rows = rows[keep].copy()
    if not len(rows):
        return rows
    ts = [by_source[int(f)] for f in rows[:, 0]]
    scale = np.array([t.scale for t in ts])[:, None]
    origin = np.array([[t.x0, t.y0, t.x0, t.y0] for t in ts])
    boxes = (tlwh_to_xyxy(rows[:, _TLWH]) - origin) * scale
    clipped = np.clip(boxes, 0.0, [width, height, width, height])
    area = np.prod(boxes[:, 2:] - boxes[:, :2], axis=1)
    inside = np.prod(np.maximum(clipped[:, 2:] - clipped[:, :2], 0.0), axis=1)
    visible = inside >= MIN_VISIBLE_FRACTION * np.maximum(area, np.finfo(float).tiny)
    rows[:, 0] = [t.frame for t in ts]
    rows[:, _TLWH] = xyxy_to_tlwh(clipped)
    return rows[visible]


def _source_state(seq: Sequence) -> dict[str, object]:
    """What a variant is made of besides its spec: the bytes of seqinfo.ini, gt.txt (as `seq` read it) and det.txt,
    and each image's size and modification time, so a sequence edited in place (a corrected gt, new detections, new
    frames) gets its variant made again instead of the stale one."""
    info = seq.info
    state: dict[str, object] = {}
    for part in ("seqinfo.ini", "det/det.txt"):
        path = info.root / part
        state[part] = file_digest(path) if path.is_file() else None
    state["gt/gt.txt"] = content_digest(seq.gt_bytes) if seq.gt_path.is_file() else None  # (the key's order: sorted)
    state["images"] = info.image_stats(1, info.frames_with_images())
    return state


def _key(seq: Sequence, spec: VariantSpec, seed: int) -> str:
    parts = {
        "version": VARIANTS_VERSION,
        "seq": str(seq.info.root.resolve()),
        "source": _source_state(seq),
        "variant": spec.name,
        "seed": seed,
        # the images are OpenCV's resampling and JPEG encoding: OpenCV 5.1's variants differ from 4.14's, enough to
        # move a cell by several HOTA (README "Moving cameras")
        "opencv": cv2.__version__,
    }
    return hashlib.sha256(json.dumps(parts, sort_keys=True).encode()).hexdigest()[:_KEY_CHARS]


def _write_rows(path: Path, rows: np.ndarray) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    np.savetxt(path, rows, delimiter=",", fmt="%.6g")


def _build(seq: Sequence, spec: VariantSpec, seed: int, folder: Path) -> None:
    """Write the whole variant into `folder` (a fresh temporary folder)."""
    info = seq.info
    name = f"{info.name}{NAME_SEPARATOR}{spec.name}"
    transforms, width, height, fps = frame_transforms(
        spec, info.length, info.width, info.height, info.frame_rate, seed, info.name
    )
    (folder / "img1").mkdir(parents=True)
    with_images = info.frames_with_images()
    for t in transforms:
        if t.source > with_images:
            break
        image = read_image(info.image_path(t.source))  # (bytes, as written: any path's name)
        if image is None:
            raise FileNotFoundError(f"cannot read {info.image_path(t.source)}")
        if t.scale != 1.0 or t.x0 or t.y0:
            interp = cv2.INTER_AREA if spec.kind == "scale" else cv2.INTER_LINEAR
            if spec.kind == "scale":
                image = cv2.resize(image, (width, height), interpolation=interp)
            else:
                image = cv2.warpAffine(
                    image, t.matrix(), (width, height), flags=interp, borderMode=cv2.BORDER_REPLICATE
                )
        write_image(folder / "img1" / f"{t.frame:06d}.jpg", image, [cv2.IMWRITE_JPEG_QUALITY, JPEG_QUALITY])
    for sub in ("gt", "det"):
        src = info.root / sub / f"{sub}.txt"
        if src.is_file():
            rows = seq.gt_rows if src == seq.gt_path else read_mot_rows(src)
            _write_rows(folder / sub / f"{sub}.txt", transform_rows(rows, transforms, width, height))
    (folder / "seqinfo.ini").write_text(
        f"[Sequence]\nname={name}\nimDir=img1\nframeRate={fps:g}\nseqLength={len(transforms)}\n"
        f"imWidth={width}\nimHeight={height}\nimExt=.jpg\n"
    )
    note = {
        "sequence": info.name,
        "source": str(info.root.resolve()),
        "variant": spec.name,
        "seed": seed,
        "version": VARIANTS_VERSION,
        "opencv": cv2.__version__,
        "transforms": [[t.frame, t.source, t.scale, t.x0, t.y0] for t in transforms],
    }
    (folder / _NOTE).write_text(to_json(note))


def _remove_abandoned(root: Path) -> None:
    """Remove the temporary folders in `root` whose maker is gone, whatever variant, cache key or version they were
    for: a run killed outright (`kill -9`, the out-of-memory killer) while making a variant left `.partial-*` with
    its images for good (a new one made beside it by each re-run), and one made under an older key (another OpenCV,
    another version) or of a variant already made was never removed. A maker holds its folder's lock (`FolderLock`:
    the kernel's, let go when the process ends, however) from just after creating it until it is renamed; a folder
    whose lock can be taken is abandoned. One without a locked lock file (made before variants were locked, or a
    maker between creating and locking it, or a maker on a file system without locks: `materialise`) is abandoned once
    nothing was written in it (its images included) for `_UNLOCKED_GRACE_S`: the folder's own time is that of its
    start, and a live maker's folder was removed under it after a minute, which failed its run.

    A folder is renamed (`_REMOVING_SUFFIX`) before it is deleted: a maker whose lock did not hold (a lock that
    does not lock across the machines of a network mount) and that renames its variant into place at that moment
    either finds its folder gone (an error: nothing published) or publishes it whole; deleting in place could delete
    files of a variant just published, whose seqinfo.ini (what marks it complete) might then stay."""
    for partial in root.glob(f"{_PARTIAL_PREFIX}*"):
        lock = partial / LOCK_NAME
        try:
            if not lock.is_file() or lock.stat().st_size == 0:
                if time.time() - _last_written(partial) < _UNLOCKED_GRACE_S:
                    continue
            else:
                with FolderLock(partial, subject=f"the abandoned variant folder {partial}", option=None):
                    pass
        except OSError:  # FolderInUse: its maker runs (this process or another); or unreadable: leave it
            continue
        log.info("removing %s, left by a run that was making a variant and was killed", partial)
        removing = (
            partial if partial.name.endswith(_REMOVING_SUFFIX) else partial.with_name(partial.name + _REMOVING_SUFFIX)
        )
        try:
            partial.rename(removing)
        except OSError:  # (gone: its maker renamed it, or another run removes it)
            continue
        shutil.rmtree(removing, ignore_errors=True)


def _last_written(partial: Path) -> float:
    """The latest modification time (Unix s) of a `.partial-*` folder and the folders a maker writes into (`_build`:
    the variant, its images, gt and det)."""
    seq = partial / "seq"
    times = [partial.stat().st_mtime]
    for folder in (seq, seq / "img1", seq / "gt", seq / "det"):
        try:
            times.append(folder.stat().st_mtime)
        except OSError:  # (not made yet)
            continue
    return max(times)


def materialise(
    seq: Sequence, variant: str, seed: int = 0, root: Path | None = None, unlocked_said: set[Path] | None = None
) -> Sequence:
    """The variant `variant` of `seq` as a Sequence (made now unless already in the cache).

    Args:
        seq: a whole sequence (split "train").
        variant: a name of VARIANTS, or "original" (returns `seq`).
        seed: seeds the random motion (jitter); the same seed gives the same variant. The other variants draw
            nothing from it: every seed gives seed 0's folder (made once, its variant.json saying seed 0).
        root: the variants folder (default: `default_variants_dir(None)`).
        unlocked_said: the variants folders whose "cannot be locked" warning (a file system without locks) was
            given already in this run: `root` is not warned again (DEBUG), and is added once warned. None: warned.
    Raises:
        ValueError: unknown variant; a seed that is not a whole number >= 0; a val-half sequence; no image size in
            seqinfo.ini.
        OSError: a variant image cannot be written (a full disk, a read-only cache), or another run removed the folder
            this one was making (where the cache's locks do not hold).
    """
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:  # (`--variant-seed`'s rule)
        raise ValueError(f"variant seed must be a whole number >= 0, got {seed!r}")
    if variant == ORIGINAL:
        return seq
    if variant not in VARIANTS:
        raise ValueError(f"unknown variant {variant!r}")
    if seq.first != 1 or seq.last != seq.info.length:
        raise ValueError(f"{seq.name}: variants are made of whole sequences (use --split train)")
    spec = VARIANTS[variant]
    if spec.kind not in SEEDED_KINDS:  # the same for every seed: made once, as seed 0's (and its inputs cached once)
        seed = 0
    root = Path(root) if root is not None else default_variants_dir(None)
    final = root / f"{bounded_name(seq.name)}{NAME_SEPARATOR}{spec.name}-{_key(seq, spec, seed)}"
    if root.is_dir():
        _remove_abandoned(root)
    if not (final / "seqinfo.ini").is_file():
        root.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=f"{_PARTIAL_PREFIX}{final.name}-", dir=root))
        try:
            # (see _remove_abandoned; a file system without locks: a warning, and the folder is live while written)
            said = unlocked_said if unlocked_said is not None else set()
            with FolderLock(
                tmp, subject=f"the variant cache {root}", option=None, warn_unlocked=root not in said
            ) as held:
                if not held.locked:
                    said.add(root)
                try:
                    _build(seq, spec, seed, tmp / "seq")
                    os.replace(tmp / "seq", final)
                except OSError as exc:  # another process finished the same variant first: keep theirs
                    if (final / "seqinfo.ini").is_file():
                        pass
                    elif not tmp.is_dir():
                        raise OSError(
                            f"variant {spec.name} of {seq.name}: another run removed {tmp} while this one made it "
                            "(taken for abandoned: its lock did not hold); run again"
                        ) from exc
                    else:
                        raise
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
        log.info("made variant %s of %s in %s", spec.name, seq.name, final)
    info = read_sequence_info(final)
    _warn_if_the_camera_stays_still(spec, seq.name, _read_transforms(final), seq.info.frame_rate)
    return Sequence(info, 1, info.length, seq.benchmark)


def _warn_if_the_camera_stays_still(
    spec: VariantSpec, name: str, transforms: list[FrameTransform], frame_rate: float
) -> None:
    """Warn when a moving variant's window is the same on every frame: a sequence too short for it (`jump` on one
    shorter than a jump period, any on one frame) is then a still crop, scored under a moving variant's name."""
    if spec.group != "moving" or len({(t.scale, t.x0, t.y0) for t in transforms}) > 1:
        return
    needs = (
        f"a jump every {max(1, round(JUMP_PERIOD_S * frame_rate))} frames"
        if spec.kind == "jump"
        else "two frames at least"
    )
    log.warning(
        "variant %s of %s: the camera does not move in its %d frame(s) (it needs %s): scored as a still crop",
        spec.name,
        name,
        len(transforms),
        needs,
    )


def variant_sequences(
    sequences: list[Sequence],
    variant: str,
    seed: int = 0,
    root: Path | None = None,
    unlocked_said: set[Path] | None = None,
) -> list[Sequence]:
    """`materialise` for each sequence; the variants folder's "cannot be locked" warning is said once over them
    (and once over every call given the same `unlocked_said`: a run's variants)."""
    said = unlocked_said if unlocked_said is not None else set()
    return [materialise(s, variant, seed, root, said) for s in sequences]


def load_transforms(seq: Sequence) -> list[FrameTransform] | None:
    """The exact per-frame transforms of a variant sequence (None for an original)."""
    path = seq.info.root / _NOTE
    if not path.is_file():
        return None
    return _read_transforms(seq.info.root)


def _read_transforms(folder: Path) -> list[FrameTransform]:
    """The per-frame transforms in the `variant.json` of the variant folder `folder`."""
    note = json.loads((folder / _NOTE).read_text())
    return [FrameTransform(int(f), int(s), sc, x0, y0) for f, s, sc, x0, y0 in note["transforms"]]


def relative_motion(previous: FrameTransform, current: FrameTransform) -> np.ndarray:
    """(2, 3) affine taking variant pixels of `previous` to variant pixels of `current` (the camera motion)."""
    prev = np.vstack([previous.matrix(), [0.0, 0.0, 1.0]])
    cur = np.vstack([current.matrix(), [0.0, 0.0, 1.0]])
    return (cur @ np.linalg.inv(prev))[:2]
