"""Finding MOTChallenge sequences and reading their detections, ground truth and frame ranges."""

from __future__ import annotations

import os
from dataclasses import dataclass, replace
from functools import cached_property
from pathlib import Path
from typing import Any

import numpy as np

from tracker.io.mot import (
    SequenceInfo,
    csv_row_line,
    parse_mot_rows,
    read_mot_rows,
    read_sequence_info,
    tlwh_to_xyxy,
)

__all__ = [
    "Sequence",
    "benchmark_of",
    "find_sequences",
    "folder_name",
    "public_scores",
    "require_frame_sizes",
    "require_ground_truth",
    "require_public_detections",
    "scored_gt_rows",
    "val_half_frames",
    "window_rows",
]

_SCORE_COLUMN = 6
_ID_COLUMN = 1  # gt: the person's id (a result: the track's)
_MAX_SCORED_ID = 100_000  # larger gt ids are renumbered 1..n for TrackEval, which sizes arrays by the largest id
_TLWH_COLUMNS = slice(2, 6)
_TLWH_NAMES = ("left", "top", "width", "height")
_SIZE_COLUMNS = slice(4, 6)  # width, height
_CLASS_COLUMN = 7  # MOT16/17 gt: class id (1 = pedestrian); MOT15 format: -1 or a ground-plane coordinate
_VISIBILITY_COLUMN = 8  # MOT16/17 gt: visible fraction; MOT15 format: -1 or a ground-plane coordinate
_MOT17_GT_COLUMNS = 9
_MIN_GT_COLUMNS = 6  # frame, id, left, top, width, height: shorter gt rows are an error
_SCORED_GT_COLUMNS = 7  # TrackEval reads column 7 (conf: 0 marks a box not to score); 6-column gt gets 1
_FLAG_COLUMN = _SCORE_COLUMN  # gt's column 7 (0-based 6): 0 marks a box not to score, in both formats
_PEDESTRIAN = 1  # MOT16/17 gt class scored as pedestrians
_GT_PAD = (1.0, -1.0, -1.0, -1.0)  # conf 1 (scored), then MOT15's unused x, y, z
_MOT17_KEPT_DETECTOR = "FRCNN"  # of MOT17's three copies of each sequence, the one evaluated
_MOT17_OTHER_DETECTORS = ("DPM", "SDP")
_IMAGE_DIR = "img1"  # MOTChallenge's image folder: a folder with it (or gt/) but no seqinfo.ini is named in the error
_UTF8_BOM = b"\xef\xbb\xbf"
_FORMAT_PROBE_ROWS = 1000  # rows read to tell MOT17-format gt from MOT15-format
_HALF_SCORE_QUANTILE = 0.1  # non-[0, 1] scores: this quantile of the sequence's scores maps to 0.5
_HALF = 0.5
# val-half as CenterTrack, FairMOT, ByteTrack and BoT-SORT split MOT17 train (their convert_mot17_to_coco.py): the
# train half is 0-based frames [0, N // 2], the val half [N // 2 + 1, N - 1], i.e. 1-based N // 2 + 2 .. N
_VAL_HALF_START = 2  # the first val-half frame (1-based) is N // 2 + this
_VAL_HALF_MIN_LENGTH = 3  # shorter sequences have no val-half frame


def window_rows(rows: np.ndarray, first: int, last: int) -> np.ndarray:
    """The MOTChallenge rows (N, >= 1; frame in the first column) of frames `first`..`last`, renumbered so `first` is
    frame 1, as a run over those frames numbers its results (`--split val-half`: `val_half_frames`); a new array."""
    window = rows[(rows[:, 0] >= first) & (rows[:, 0] <= last)].copy()
    window[:, 0] -= first - 1
    return window


def val_half_frames(length: int) -> tuple[int, int]:
    """The 1-based frames (first, last) of the val half of a `length`-frame sequence: N // 2 + 2 .. N.

    This is CenterTrack's, FairMOT's, ByteTrack's and BoT-SORT's `val_half` (their `convert_mot17_to_coco.py`
    keeps 0-based frames [N // 2 + 1, N - 1] and writes `gt_val_half.txt` renumbered from 1): MOT17-02 (600
    frames) evaluates frames 302..600, 299 frames; our result files, numbered from 1 at `first`, score against
    their `gt_val_half.txt` as they are.

    Raises:
        ValueError: `length` < 3 (no frame is left for the val half).
    """
    if length < _VAL_HALF_MIN_LENGTH:
        raise ValueError(f"{length} frame(s); the val half needs at least {_VAL_HALF_MIN_LENGTH} (frames N//2+2..N)")
    return length // 2 + _VAL_HALF_START, length


def public_scores(raw: np.ndarray) -> np.ndarray:
    """(N,) public detection scores mapped into [0, 1] (see `Sequence.public_detections`): (N,) float64, the same
    values where all lie in [0, 1] already."""
    raw = np.asarray(raw, dtype=np.float64)
    if not len(raw) or (raw.min() >= 0.0 and raw.max() <= 1.0):
        return raw
    clipped = np.maximum(raw, 0.0)
    half = float(np.quantile(clipped, _HALF_SCORE_QUANTILE))
    if half <= 0.0:
        half = _HALF * float(clipped.max()) or 1.0
    return clipped / (clipped + half)


@dataclass(frozen=True)
class _MotFile:
    """A sequence's gt/gt.txt or det/det.txt as read once: its bytes (the scorer's copy of the gt, the cache keys)
    and every row parsed."""

    data: bytes
    rows: np.ndarray  # (R, C) float64, all frames, as `read_mot_rows` reads them (read-only)


def _read_mot_file(path: Path) -> _MotFile:
    """The bytes of a MOT text file (gt.txt, det.txt) and its parsed rows, read once for every reader."""
    data = path.read_bytes()
    rows = parse_mot_rows(data, path)
    rows.setflags(write=False)  # shared by every reader: a slip writing into it raises instead
    return _MotFile(data, rows)


_GT_CACHE = "_gt_file"  # the attribute `Sequence._gt_file` caches its read under (left out of pickles)
_DET_CACHE = "_det_file"  # the attribute `Sequence._det_file` caches det/det.txt's read under (left out of pickles)


@dataclass(frozen=True)
class Sequence:
    """One sequence to evaluate, restricted to a frame range (1-based, inclusive).

    Its gt/gt.txt is read once, when first needed (by `find_sequences`, which takes `benchmark` from it), and kept:
    every reader here and the scorer use that read. So is its det/det.txt (public detections: checked, hashed for
    the inputs' cache key, tracked and reported from one read). A pickled Sequence (a worker's) leaves both reads out
    and reads again what it needs.

    Attributes:
        info: its seqinfo.ini.
        first, last: the frames evaluated (val-half: `val_half_frames`).
        benchmark: "MOT17" (class column in gt) or "MOT15" (no classes).
    """

    info: SequenceInfo
    first: int
    last: int
    benchmark: str

    def __getstate__(self) -> dict[str, Any]:
        """The fields to pickle, without the gt and det reads (a tracking job needs neither; a scoring one reads
        the gt)."""
        return {key: value for key, value in self.__dict__.items() if key not in (_GT_CACHE, _DET_CACHE)}

    @property
    def gt_path(self) -> Path:
        """Its ground truth file, gt/gt.txt (which may be missing: `require_ground_truth` says so)."""
        return self.info.root / "gt" / "gt.txt"

    @cached_property
    def _gt_file(self) -> _MotFile:
        return _read_mot_file(self.gt_path)

    @property
    def det_path(self) -> Path:
        """Its public detections, det/det.txt (which may be missing: `check_public_detections` says so)."""
        return self.info.root / "det" / "det.txt"

    @cached_property
    def _det_file(self) -> _MotFile:
        return _read_mot_file(self.det_path)

    @property
    def det_bytes(self) -> bytes:
        """The bytes of det/det.txt (read once, with its rows; FileNotFoundError without one): the inputs' cache key
        hashes them."""
        return self._det_file.data

    @property
    def gt_bytes(self) -> bytes:
        """The bytes of gt/gt.txt (read once; FileNotFoundError without one)."""
        return self._gt_file.data

    @property
    def gt_rows(self) -> np.ndarray:
        """(G, C) every row of gt/gt.txt, all frames, as in the file (read once; a read-only array).

        Raises:
            FileNotFoundError: no gt/gt.txt.
            ValueError: it is not a numeric csv (the message names it).
        """
        return self._gt_file.rows

    @property
    def name(self) -> str:
        """The sequence's name (its folder's, as seqinfo.ini gives it)."""
        return self.info.name

    @property
    def num_frames(self) -> int:
        """Frames evaluated: `first` to `last`, both included."""
        return self.last - self.first + 1

    @cached_property
    def frame_size(self) -> tuple[int, int] | None:
        """(height, width) of the frames in pixels: seqinfo.ini's imHeight and imWidth, or where either is 0 or
        missing, the first frame's image's; None with neither (boxes are then not clipped to the frame)."""
        if self.info.height > 0 and self.info.width > 0:
            return self.info.height, self.info.width
        return self._first_image_size()

    def _first_image_size(self) -> tuple[int, int] | None:
        """(height, width) of frame 1's image; None where it is missing or unreadable."""
        import cv2  # here: `track --help` reads sequences' module without OpenCV

        from tracker.io.opencv_files import read_image

        path = self.info.image_path(1)
        image = read_image(path, cv2.IMREAD_UNCHANGED) if path.is_file() else None
        return None if image is None else (int(image.shape[0]), int(image.shape[1]))

    def check_frame_size(self) -> None:
        """Refuse a seqinfo.ini whose imWidth and imHeight contradict frame 1's image: every tracker clips its
        boxes to that size and drops those outside it (imWidth=100 on 1920-pixel frames scored HOTA 0.83, not 51).

        Raises:
            ValueError: the sizes differ; the message names seqinfo.ini, both sizes and the image.
        """
        declared = (self.info.height, self.info.width)
        if min(declared) <= 0:
            return  # not declared: `frame_size` takes the image's
        real = self._first_image_size()
        if real is not None and real != declared:
            raise ValueError(
                f"{self.info.root / 'seqinfo.ini'}: imWidth={declared[1]}, imHeight={declared[0]}, but "
                f"{self.info.image_path(1)} is {real[1]}x{real[0]}: correct seqinfo.ini (every tracker clips its "
                "boxes to that size)"
            )

    @property
    def has_all_images(self) -> bool:
        """Whether the image folder holds the images of frames 1 to `last` (every evaluated frame's)."""
        return self.info.frames_with_images() >= self.last

    def public_detections(self) -> dict[int, tuple[np.ndarray, np.ndarray]]:
        """Frame -> (boxes_xyxy (N, 4), scores (N,) in [0, 1]) from det/det.txt, evaluated frames only.

        Scores already in [0, 1] (MOT17's FRCNN, SDP) are kept. Other scales (MOT15's ACF reports margins
        such as 51.8) are mapped by `s / (s + q)`, q the sequence's 10th-percentile score: monotone, bounded,
        and, as with FRCNN's public boxes, about nine in ten boxes score above 0.5. Negative scores count as 0
        (score 0); where a tenth or more are <= 0, q is half the largest score.

        Raises:
            ValueError: det.txt is not a numeric csv, or has no score column (the message names it).
        """
        rows = self._detection_rows()
        scores = public_scores(rows[:, _SCORE_COLUMN]) if len(rows) else np.zeros(0)
        keep = (rows[:, 0] >= self.first) & (rows[:, 0] <= self.last)
        rows, scores = rows[keep], scores[keep]
        boxes = tlwh_to_xyxy(rows[:, _TLWH_COLUMNS])
        frames = rows[:, 0].astype(int)
        return {int(f): (boxes[frames == f], scores[frames == f]) for f in np.unique(frames)}

    def repeated_detections(self) -> int:
        """Rows of det/det.txt in the evaluated frames that repeat an earlier row exactly (a detector run twice into
        one file): each is tracked as a box of its own, so every tracker pays them as false positives."""
        rows = self._evaluated_detection_rows()
        return len(rows) - len(np.unique(rows, axis=0))

    def public_box_count(self) -> int:
        """Rows of det/det.txt in the evaluated frames (0: an empty file, or boxes only outside them)."""
        return len(self._evaluated_detection_rows())

    def _evaluated_detection_rows(self) -> np.ndarray:
        rows = self._detection_rows()
        return rows[(rows[:, 0] >= self.first) & (rows[:, 0] <= self.last)]

    def _detection_rows(self) -> np.ndarray:
        """Every row of det/det.txt (all frames, read once: `_det_file`); ValueError naming the file when it has no
        score column."""
        path = self.det_path
        rows = self._det_file.rows
        if len(rows) and rows.shape[1] <= _SCORE_COLUMN:
            raise ValueError(
                f"{path}: {rows.shape[1]} columns; public detections need frame,id,left,top,width,height,score"
            )
        return rows

    def require_public_detections(self) -> None:
        """FileNotFoundError (pointing at `--detections detector`) when the sequence has no det/det.txt file (a
        folder of that name is said to be one)."""
        if not self.det_path.is_file():
            raise FileNotFoundError(
                f"{self.name}: no public detections ({_absent(self.det_path)}); "
                "--detections detector runs the detector on the images instead"
            )

    def check_public_detections(self) -> None:
        """Refuse a det/det.txt that would be tracked wrongly without a word: a frame that is not a whole number in
        1..seqLength (0-based frames were tracked a frame early, frame 0 dropped; frames past the sequence and
        fractions were dropped or truncated), a non-finite box or score, or a box without a positive width and
        height (each tracker did its own thing with it: ours dropped it, the peers tracked it).

        Raises:
            FileNotFoundError: no det/det.txt (the message points at `--detections detector`).
            ValueError: det.txt is not a numeric csv, has no score column, or has such a row; the message names
                the file, the first such row's line and what was expected.
        """
        self.require_public_detections()
        path = self.det_path
        rows = self._detection_rows()
        if not len(rows):
            return
        frames, tlwh, scores = rows[:, 0], rows[:, _TLWH_COLUMNS], rows[:, _SCORE_COLUMN]
        faults = [
            (frames != np.round(frames), lambda r: f"frame {r[0]:g} is not a whole number (frames are 1, 2, ...)"),
            (frames < 1, lambda r: f"frame {r[0]:g}; MOTChallenge frames start at 1 (add 1 to 0-based frames)"),
            (
                frames > self.info.length,
                lambda r: f"frame {r[0]:g}, beyond seqLength={self.info.length} in {self.info.root / 'seqinfo.ini'}",
            ),
            (
                ~np.isfinite(np.column_stack([tlwh, scores])).all(axis=1),
                lambda r: "left, top, width, height and score must be finite numbers",
            ),
            (
                (rows[:, _SIZE_COLUMNS] <= 0).any(axis=1),
                lambda r: (
                    f"{_TLWH_NAMES[2]} {r[4]:g}, {_TLWH_NAMES[3]} {r[5]:g}: a box needs both > 0 "
                    "(columns 3-6 are left, top, width, height)"
                ),
            ),
        ]
        bad = [(int(np.argmax(mask)), why) for mask, why in faults if mask.any()]
        if not bad:
            return
        row, why = min(bad, key=lambda fault: fault[0])
        line, quoted = csv_row_line(self.det_bytes, row)
        raise ValueError(f"{path}: line {line}, {quoted}: {why(rows[row])}")

    def ground_truth(self, dense_ids: bool = False) -> np.ndarray:
        """(G, >= 7) gt rows of the evaluated frames, renumbered so `first` becomes frame 1; 6-column gt
        (`frame,id,x,y,w,h`) gets conf 1 and MOT15's -1 columns (10 columns). With `dense_ids`, the ids are
        renumbered 1..n in their order (what TrackEval is given: it sizes arrays by the largest id, and a file is
        written with 6 significant digits). A new array each call."""
        gt = self.gt_rows
        if len(gt) and gt.shape[1] < _SCORED_GT_COLUMNS:
            gt = np.hstack([gt, np.tile(_GT_PAD[gt.shape[1] - _MIN_GT_COLUMNS :], (len(gt), 1))])
        gt = window_rows(gt, self.first, self.last)
        if dense_ids and len(gt):
            gt[:, _ID_COLUMN] = np.unique(gt[:, _ID_COLUMN], return_inverse=True)[1] + 1
        return gt

    @property
    def gt_needs_rewrite(self) -> bool:
        """Whether the scorer must be given `ground_truth()` rather than gt/gt.txt itself: val-half, gt rows
        with fewer columns than TrackEval reads, a file starting with a UTF-8 byte-order mark, or one with blank or
        `#` comment lines (our reader skips them, as numpy does; TrackEval stopped on them with a traceback), or
        ids above _MAX_SCORED_ID (renumbered: `ground_truth(dense_ids=True)`)."""
        if self.first != 1 or self.last != self.info.length:
            return True
        if self.gt_bytes.startswith(_UTF8_BOM):
            return True  # TrackEval would read the first frame as "\ufeff1"
        if b"#" in self.gt_bytes or any(not line.strip() for line in self.gt_bytes.splitlines()):
            return True
        if len(self.gt_rows) and self.gt_rows[:, _ID_COLUMN].max() > _MAX_SCORED_ID:
            return True  # TrackEval sizes an array by the largest id: 1e14 asked for 728 TiB
        gt = self.gt_rows
        return bool(len(gt)) and gt.shape[1] < _SCORED_GT_COLUMNS


def _check_gt_frames(seq: Sequence) -> None:
    """TrackEval stops with a traceback, after everything was tracked, on gt frames outside 1..seqLength."""
    gt = seq.gt_path
    frames = seq.gt_rows[:, 0]
    if not len(frames):
        return
    if np.any(frames != np.round(frames)):
        bad = frames[frames != np.round(frames)][0]
        raise ValueError(f"{gt}: frame {bad:g} is not a whole number (MOTChallenge frames are 1, 2, ...)")
    if frames.min() < 1:
        raise ValueError(f"{gt}: frame {frames.min():g}; MOTChallenge frames start at 1 (add 1 to 0-based frames)")
    if frames.max() > seq.info.length:
        raise ValueError(
            f"{gt}: frames up to {frames.max():g}, beyond seqLength={seq.info.length} in "
            f"{seq.info.root / 'seqinfo.ini'}"
        )
    _check_gt_rows(seq)


def _check_gt_rows(seq: Sequence) -> None:
    """TrackEval stops with a traceback, after everything was tracked, on a gt row with a value that is not a finite
    number ("matrix contains invalid numeric entries") or an ID given twice in one frame; it truncates a fractional
    ID and indexes an array with a negative one. Refuse each, naming the file's line."""
    rows = seq.gt_rows
    ids = rows[:, _ID_COLUMN]
    first_of: dict[tuple[Any, Any], int] = {}  # (frame, id) -> row of its first line
    repeated = np.zeros(len(rows), dtype=bool)
    for row, pair in enumerate(zip(rows[:, 0].tolist(), ids.tolist(), strict=True)):
        repeated[row] = first_of.setdefault(pair, row) != row

    def again(r: np.ndarray) -> str:
        line, _ = csv_row_line(seq.gt_bytes, first_of[(r[0], r[_ID_COLUMN])])
        return f"id {r[_ID_COLUMN]:g} is in frame {r[0]:g} already, on line {line}: an id is one person per frame"

    faults = [
        (~np.isfinite(rows).all(axis=1), lambda r: "every column must be a finite number"),
        ((ids != np.round(ids)) | (ids < 0), lambda r: f"id {r[_ID_COLUMN]:g}: gt ids are whole numbers >= 0"),
        (repeated, again),
    ]
    bad = [(int(np.argmax(mask)), why) for mask, why in faults if mask.any()]
    if bad:
        row, why = min(bad, key=lambda fault: fault[0])
        line, quoted = csv_row_line(seq.gt_bytes, row)
        raise ValueError(f"{seq.gt_path}: line {line}, {quoted}: {why(rows[row])}")


def scored_gt_rows(gt: np.ndarray, benchmark: str) -> np.ndarray:
    """The rows of gt `gt` (G, >= 6) that TrackEval scores as people: a non-zero flag (column 7) in both formats,
    and in "MOT17" format class 1 (pedestrian). Its other MOT17 rows are distractors or ignored classes."""
    if len(gt) and gt.shape[1] > _FLAG_COLUMN:
        gt = gt[gt[:, _FLAG_COLUMN] != 0]
    if benchmark == "MOT17" and len(gt) and gt.shape[1] > _CLASS_COLUMN:
        gt = gt[gt[:, _CLASS_COLUMN] == _PEDESTRIAN]
    return gt


def require_ground_truth(sequences: list[Sequence]) -> None:
    """Scoring needs each sequence's gt/gt.txt, its frames within 1..seqLength: say so before anything is
    tracked, naming the sequences without it.

    Raises:
        FileNotFoundError: some sequence has no gt/gt.txt (the message names the file, how to leave the
            sequence out, and that `track SEQ` tracks a sequence without scoring it).
        ValueError: a gt.txt is not a MOTChallenge csv, or has a frame that is not a whole number in
            1..seqLength (the message names the file and the frame), a value that is not a finite number, an id
            that is not a whole number >= 0, or an id twice in one frame (the message names the file's line);
            MOT15- and MOT17-format sequences together
            (TrackEval reads their gt differently: the message names one of each).
    """
    missing = [s for s in sequences if not (s.info.root / "gt" / "gt.txt").is_file()]
    if not missing:
        for seq in sequences:
            _check_gt_frames(seq)
        _require_one_format(sequences)
        return
    first = missing[0].info.root
    others = f" (and {len(missing) - 1} more sequence(s) without one)" if len(missing) > 1 else ""
    leave_out = "; --sequences NAME... scores the others" if len(missing) < len(sequences) else ""
    raise FileNotFoundError(
        f"{missing[0].name}: no ground truth to score against ({_absent(first / 'gt' / 'gt.txt')}){others}"
        f"{leave_out}; `track {first}` tracks a sequence without scoring it"
    )


def _absent(path: Path) -> str:
    """Why a file a sequence needs cannot be read, for its error line: `PATH is missing`, or `PATH is a folder, not a
    file` (a det.txt or gt.txt unpacked as a directory was reported missing, and the user saw it there)."""
    return f"{path} is a folder, not a file" if path.is_dir() else f"{path} is missing"


def _require_one_format(sequences: list[Sequence]) -> None:
    """TrackEval scores one format per call (MOT17's class and flag columns, MOT15 without): refuse a mix up front."""
    by_format = {seq.benchmark: seq for seq in sequences}
    if len(by_format) > 1:
        named = ", ".join(f"{seq.name} is {fmt}" for fmt, seq in sorted(by_format.items()))
        raise ValueError(
            f"cannot score MOT15- and MOT17-format ground truth together ({named}: the MOT17 format has class and "
            "visibility columns); run one format at a time with --sequences NAME..."
        )


def require_frame_sizes(sequences: list[Sequence]) -> None:
    """Check every sequence's declared image size against its first image (`Sequence.check_frame_size`) before
    anything is tracked or written.

    Raises:
        ValueError: as `Sequence.check_frame_size`, for the first faulty sequence.
    """
    for seq in sequences:
        seq.check_frame_size()


def require_public_detections(sequences: list[Sequence]) -> None:
    """`--detections public` reads each sequence's det/det.txt: check every one (`Sequence.check_public_detections`)
    before anything is tracked or written.

    Raises:
        FileNotFoundError, ValueError: as `Sequence.check_public_detections`, for the first faulty sequence.
    """
    for seq in sequences:
        seq.check_public_detections()


def benchmark_of(root: Path) -> str:
    """The format of the sequence folder `root`'s gt/gt.txt: "MOT17" when it has the MOT16/17 columns (integer
    class >= 1, visibility in [0, 1]), else "MOT15" (also with no gt, and 6-column `frame,id,x,y,w,h` gt).

    Raises:
        ValueError: gt.txt is not a numeric csv, or its rows have fewer than 6 columns (the message names it).
    """
    gt = root / "gt" / "gt.txt"
    return _benchmark_of_rows(read_mot_rows(gt), gt) if gt.is_file() else "MOT15"


def _benchmark_of_rows(rows: np.ndarray, gt: Path) -> str:
    """`benchmark_of` the gt file `gt` (named in errors) whose rows (G, C) are `rows`, judged by its first
    _FORMAT_PROBE_ROWS rows."""
    rows = rows[:_FORMAT_PROBE_ROWS]
    if not len(rows):
        return "MOT15"
    if rows.shape[1] < _MIN_GT_COLUMNS:
        raise ValueError(
            f"{gt}: {rows.shape[1]} columns; MOTChallenge gt needs at least frame,id,left,top,width,height"
        )
    if rows.shape[1] < _MOT17_GT_COLUMNS:
        return "MOT15"
    classes, visibility = rows[:, _CLASS_COLUMN], rows[:, _VISIBILITY_COLUMN]
    is_mot17 = (
        np.all(classes >= 1) and np.all(classes == np.round(classes)) and np.all((visibility >= 0) & (visibility <= 1))
    )
    return "MOT17" if is_mot17 else "MOT15"


def _mot17_duplicate(root: Path, roots: list[Path]) -> bool:
    """MOT17 ships each sequence three times (-DPM, -FRCNN, -SDP: the same frames and gt, other public
    detections): the -DPM and -SDP copies of a sequence whose -FRCNN copy is there are left out."""
    stem, _, detector = root.name.rpartition("-")
    if detector not in _MOT17_OTHER_DETECTORS:
        return False
    return any(p.name == f"{stem}-{_MOT17_KEPT_DETECTOR}" for p in roots)


def find_sequences(data: str | Path, split: str = "train", names: list[str] | None = None) -> list[Sequence]:
    """Sequences under `data`: a sequence folder, a folder of sequences, or a MOT17 root (train/*-FRCNN: the
    -DPM and -SDP copies of a sequence are left out where its -FRCNN copy is there, unless `names` names them; other
    folders are all kept).

    Args:
        data: the path given by the user.
        split: "train" (whole sequences) or "val-half" (frames N // 2 + 2 .. N, `val_half_frames`).
        names: keep only these sequence names.
    Each sequence is named as its folder (seqinfo.ini's `name` may differ, or be shared by copies).

    Raises:
        FileNotFoundError: `data` does not exist or is a file, nothing that looks like a MOTChallenge sequence is
            under it, or one of `names` is not there (the message names it and lists the sequences found); without
            `names`, a folder beside its sequences holds sequences of its own (`data/MOT17/train/...`: named), or
            a sequence lies beside a MOTChallenge root's `train/` (`data/train/...` and `data/PETS09-S3-MF1`: named).
        ValueError: split "val-half" and a sequence shorter than 3 frames (the message names its seqinfo.ini).
    """
    data = Path(data)
    if not data.exists():
        raise FileNotFoundError(f"no such folder: {data} (a MOTChallenge root, a folder of sequences, or one sequence)")
    if not data.is_dir():  # a video or a seqinfo.ini: said "no MOTChallenge sequences under" the file
        hint = f"its folder, {data.parent}" if data.name == "seqinfo.ini" else f"`track {data}` tracks it unscored"
        raise FileNotFoundError(
            f"{data} is a file, not a folder: --data takes a MOTChallenge root, a folder of sequences, or one "
            f"sequence ({hint})"
        )
    base = _sequences_folder(data)
    if (data / "seqinfo.ini").is_file():
        roots = [data]
    else:
        roots = sorted(p for p in base.iterdir() if (p / "seqinfo.ini").is_file()) if base.is_dir() else []
        # a copy --sequences names is evaluated (`--sequences MOT17-09-DPM` was "no sequence MOT17-09-DPM")
        roots = [p for p in roots if (names and p.name in names) or not _mot17_duplicate(p, roots)]
        if roots:
            _refuse_sequences_without_seqinfo(base, names)
            if not names:  # (`--sequences` names what it evaluates: folders beside them are not asked about)
                _refuse_folders_of_sequences(base)
                _refuse_sequences_beside_train(data, base)
    if names and roots:
        unknown = [n for n in names if n not in {folder_name(p) for p in roots}]
        if unknown:
            found = ", ".join(folder_name(p) for p in roots)
            listed = "; names are separate words (A B), not a comma list" if any("," in n for n in unknown) else ""
            raise FileNotFoundError(f"no sequence {', '.join(unknown)} under {data} (there: {found}){listed}")
        roots = [p for p in roots if folder_name(p) in names]
    if not roots:
        hint = ""
        if _looks_like_a_sequence(data):
            hint = f"; {data} looks like a sequence: {_add_seqinfo(data)}"
        elif lacking := _sequences_without_seqinfo(base, names):  # (a root whose every sequence lacks one)
            hint = f"; {lacking[0]} looks like a sequence{_more_without(lacking)}: {_add_seqinfo(lacking[0])}"
        elif nested := _folders_of_sequences(base):  # (`--data data` above `data/MOT17`)
            hint = f"; {nested[0]}{_more_nested(nested)} holds sequences: give it as --data"
        elif (data.parent / "seqinfo.ini").is_file():  # (`--data SEQ/img1` or `SEQ/gt`: a folder of a sequence)
            hint = f"; it is a folder of the sequence {data.parent}: give that as --data"
        raise FileNotFoundError(f"no MOTChallenge sequences (folders with seqinfo.ini) under {data}{hint}")
    sequences = []
    for root in roots:
        info = replace(read_sequence_info(root), name=folder_name(root))  # named as its folder, like --sequences
        first, last = 1, info.length
        if split == "val-half":
            try:
                first, last = val_half_frames(info.length)
            except ValueError as exc:
                raise ValueError(f"{root / 'seqinfo.ini'}: seqLength={info.length}: --split val-half: {exc}") from None
        sequences.append(_with_benchmark(Sequence(info, first, last, "")))
    return sequences


def folder_name(folder: Path) -> str:
    """The name of `folder` as given, or where that has none (`.`, `..`, `seq/..`), of the folder it is: `--data .`
    in a sequence's folder named the sequence "" (its results `ours/.txt`, a hidden file). Symbolic links are kept
    as the user named them (not resolved)."""
    name = folder.name
    return name if name not in ("", ".", "..") else Path(os.path.abspath(folder)).name


def _looks_like_a_sequence(folder: Path) -> bool:
    """A folder with MOTChallenge's gt/gt.txt, det/det.txt or image folder: a sequence, seqinfo.ini or not."""
    files = (folder / "gt" / "gt.txt", folder / "det" / "det.txt")
    return any(path.is_file() for path in files) or (folder / _IMAGE_DIR).is_dir()


def _add_seqinfo(folder: Path) -> str:
    """What to do for a sequence `folder` without its seqinfo.ini."""
    return f"add {folder / 'seqinfo.ini'} ([Sequence] with frameRate, seqLength)"


def _more_without(lacking: list[Path]) -> str:
    """How many more folders than the first named lack their seqinfo.ini (empty for one)."""
    return f" (and {len(lacking) - 1} more folder(s) without one)" if len(lacking) > 1 else ""


def _sequences_without_seqinfo(base: Path, names: list[str] | None) -> list[Path]:
    """The folders under `base` that look like sequences but have no seqinfo.ini (those `names` asks for, if any)."""
    if not base.is_dir():
        return []
    return sorted(
        p for p in base.iterdir()
        if p.is_dir() and not (p / "seqinfo.ini").is_file() and _looks_like_a_sequence(p)
        and (not names or p.name in names)
    )  # fmt: skip


def _refuse_sequences_without_seqinfo(base: Path, names: list[str] | None) -> None:
    """A folder of sequences where one lacks its seqinfo.ini was evaluated without it, silently: the COMBINED row
    covered fewer sequences than the folder holds. Raise FileNotFoundError naming the first such folder (one that
    `--sequences` leaves out is not asked about)."""
    lacking = _sequences_without_seqinfo(base, names)
    if lacking:
        raise FileNotFoundError(
            f"{lacking[0]} looks like a sequence but has no seqinfo.ini{_more_without(lacking)}: "
            f"{_add_seqinfo(lacking[0])}, or --sequences NAME... to evaluate the others"
        )


def _folders_of_sequences(base: Path) -> list[Path]:
    """The folders under `base` that are no sequence but hold sequences: a MOTChallenge root (its `train/`) or a
    folder of sequences, one level further down than `--data` looks."""
    if not base.is_dir():
        return []
    nested = []
    for folder in sorted(p for p in base.iterdir() if p.is_dir() and not (p / "seqinfo.ini").is_file()):
        if not _looks_like_a_sequence(folder) and _holds_sequences(_sequences_folder(folder)):
            nested.append(folder)
    return nested


def _more_nested(nested: list[Path]) -> str:
    """How many more folders of sequences than the first named there are (empty for one)."""
    return f" (and {len(nested) - 1} more folder(s) of sequences)" if len(nested) > 1 else ""


def _holds_sequences(folder: Path) -> bool:
    """Whether `folder` (a directory) holds a sequence folder (one with a seqinfo.ini) directly."""
    try:
        return any((p / "seqinfo.ini").is_file() for p in folder.iterdir())
    except OSError:  # (a folder that cannot be listed holds nothing to evaluate)
        return False


def _sequences_folder(data: Path) -> Path:
    """Where `--data data`'s sequences are: `data/train` for a MOTChallenge root (a train/ folder), else `data`
    itself, also where train/ holds no sequence and `data` does (an empty train/ beside sequences said "no
    MOTChallenge sequences under data")."""
    train = data / "train"
    if not train.is_dir():
        return data
    return train if _holds_sequences(train) or not _holds_sequences(data) else data


def _refuse_sequences_beside_train(data: Path, base: Path) -> None:
    """`--data data` where `data/train` holds sequences and `data` holds some too: only train/'s were evaluated, those
    beside it left out, silently. Raise FileNotFoundError naming the first of them."""
    if base == data:
        return
    beside = sorted(p for p in data.iterdir() if (p / "seqinfo.ini").is_file())
    if beside:
        more = f" (and {len(beside) - 1} more)" if len(beside) > 1 else ""
        raise FileNotFoundError(
            f"{beside[0]}{more} is a sequence beside {base}, whose sequences --data {data} evaluates, leaving it out: "
            f"give {base} as --data, and {data / beside[0].name} in a run of its own (or move it into {base})"
        )


def _refuse_folders_of_sequences(base: Path) -> None:
    """`--data data` where `data` holds sequences and also `data/MOT17` (a root, or a folder of sequences): the
    sequences of `data` were evaluated and those a level down left out, silently (`--data ../shared/data` scored
    PETS09-S3-MF1 alone, as COMBINED). Raise FileNotFoundError naming the first such folder."""
    nested = _folders_of_sequences(base)
    if nested:
        raise FileNotFoundError(
            f"{nested[0]}{_more_nested(nested)} holds sequences of its own, which --data {base} leaves out (it "
            f"evaluates the sequences in {base} itself): give it as --data in a run of its own, or --sequences "
            f"NAME... to evaluate only those of {base}"
        )


def _with_benchmark(seq: Sequence) -> Sequence:
    """`seq` with its benchmark taken from its gt (read now, and kept: the one read of the file), as `benchmark_of`
    tells it ("MOT15" without gt)."""
    benchmark = _benchmark_of_rows(seq.gt_rows, seq.gt_path) if seq.gt_path.is_file() else "MOT15"
    object.__setattr__(seq, "benchmark", benchmark)  # (frozen: set once, before anyone else holds the Sequence)
    return seq
