"""Scoring result files with TrackEval (HOTA, CLEAR, Identity), the official MOTChallenge code.

TrackEval's MotChallenge2DBox reads a fixed layout; it is built in a temporary folder per call:
`gt/<seq>/gt/gt.txt` + `seqinfo.ini` and `trackers/tracker/data/<seq>.txt`, with the sequence list and
lengths passed as SEQ_INFO (no seqmap file) and SKIP_SPLIT_FOL. MOT17-format gt is scored as MOTChallenge
does (class 1 only; boxes matched to distractor classes 2, 7, 8, 12 removed by TrackEval's preprocessing);
MOT15-format gt (no class column) with BENCHMARK="MOT15".
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
import logging
import shutil
import tempfile
from pathlib import Path
from typing import Any

import numpy as np

from tracker.eval.sequences import Sequence
from tracker.io.names import bounded_name, shown_name
from tracker.io.strict_json import metrics_from_json, write_json_atomic, written_keys

__all__ = ["METRICS", "saved_scores", "score_results", "score_results_cached"]

log = logging.getLogger(__name__)

METRICS = ("HOTA", "DetA", "AssA", "MOTA", "IDF1", "IDSW", "FP", "FN")
_PERCENT = 100.0
_TRACKER_NAME = "tracker"
_SCORES_VERSION = 1  # bump when _metrics_of changes


def _metrics_of(res: dict) -> dict[str, float]:
    hota, clear, ident = res["HOTA"], res["CLEAR"], res["Identity"]
    return {
        "HOTA": _PERCENT * float(np.mean(hota["HOTA"])),
        "DetA": _PERCENT * float(np.mean(hota["DetA"])),
        "AssA": _PERCENT * float(np.mean(hota["AssA"])),
        "MOTA": _PERCENT * float(clear["MOTA"]),
        "IDF1": _PERCENT * float(ident["IDF1"]),
        "IDSW": int(clear["IDSW"]),
        "FP": int(clear["CLR_FP"]),
        "FN": int(clear["CLR_FN"]),
    }


def score_results(sequences: list[Sequence], result_files: dict[str, Path]) -> dict[str, dict[str, float]]:
    """Score one tracker's results ({sequence name: MOT result file}); frames renumbered like the gt. The metrics
    are TrackEval's (the official MOTChallenge code): HOTA (Luiten et al., IJCV 2021), CLEAR MOT (Bernardin &
    Stiefelhagen 2008: MOTA, IDSW, FP, FN) and Identity (IDF1, Ristani et al. 2016), of which `METRICS` are kept.

    Returns:
        {sequence name: metrics, ..., "COMBINED": metrics}, metrics in percent (counts as integers).
    Raises:
        ValueError: MOT15- and MOT17-format sequences together (their gt is read differently).
        RuntimeError: TrackEval returned no combined result (its messages attached).
    """
    import trackeval

    benchmarks = {s.benchmark for s in sequences}
    if len(benchmarks) != 1:
        raise ValueError(f"cannot score MOT15- and MOT17-format sequences together: {sorted(benchmarks)}")
    tmp = Path(tempfile.mkdtemp(prefix="trackeval_"))
    try:
        gt_root, trk_root = tmp / "gt", tmp / "trackers" / _TRACKER_NAME / "data"
        trk_root.mkdir(parents=True)
        # TrackEval finds a sequence by its folder's and result file's name: each under its stem (`bounded_name`: a
        # 250-byte name, or a variant's of a 200-byte one, failed with "File name too long"), its scores renamed back
        by_stem = {bounded_name(seq.name): seq for seq in sequences}
        for stem, seq in by_stem.items():
            seq_dir = gt_root / stem
            (seq_dir / "gt").mkdir(parents=True)
            if not seq.gt_needs_rewrite:
                (seq_dir / "gt" / "gt.txt").write_bytes(seq.gt_bytes)  # a copy of the file, as read once
            else:  # val-half (the evaluated frames, renumbered from 1 like the results) or 6-column gt
                np.savetxt(seq_dir / "gt" / "gt.txt", seq.ground_truth(dense_ids=True), delimiter=",", fmt="%.6g")
            (seq_dir / "seqinfo.ini").write_text(  # (TrackEval reads the lengths from SEQ_INFO, not from here)
                f"[Sequence]\nname={shown_name(stem)}\nseqLength={seq.num_frames}\nframeRate={seq.info.frame_rate}\n"
            )
            if seq.name not in result_files:
                raise ValueError(f"no result file for sequence {seq.name}")
            shutil.copy(result_files[seq.name], trk_root / f"{stem}.txt")
        eval_cfg = trackeval.Evaluator.get_default_eval_config()
        eval_cfg.update(
            USE_PARALLEL=False, PRINT_RESULTS=False, PRINT_CONFIG=False, TIME_PROGRESS=False,
            OUTPUT_SUMMARY=False, OUTPUT_DETAILED=False, PLOT_CURVES=False, LOG_ON_ERROR=None,
            DISPLAY_LESS_PROGRESS=True, PRINT_ONLY_COMBINED=True,
        )  # fmt: skip
        data_cfg = trackeval.datasets.MotChallenge2DBox.get_default_dataset_config()
        data_cfg.update(
            GT_FOLDER=str(gt_root), TRACKERS_FOLDER=str(tmp / "trackers"), TRACKERS_TO_EVAL=[_TRACKER_NAME],
            BENCHMARK=benchmarks.pop(), SPLIT_TO_EVAL="train", SEQ_INFO={k: s.num_frames for k, s in by_stem.items()},
            SKIP_SPLIT_FOL=True, GT_LOC_FORMAT="{gt_folder}/{seq}/gt/gt.txt", TRACKER_SUB_FOLDER="data",
            PRINT_CONFIG=False,
        )  # fmt: skip
        with contextlib.redirect_stdout(io.StringIO()):  # TrackEval prints its configs and progress
            evaluator = trackeval.Evaluator(eval_cfg)
            metrics = [trackeval.metrics.HOTA(), trackeval.metrics.CLEAR(), trackeval.metrics.Identity()]
            results, messages = evaluator.evaluate([trackeval.datasets.MotChallenge2DBox(data_cfg)], metrics)
        per_seq = results["MotChallenge2DBox"][_TRACKER_NAME]
        if not isinstance(per_seq, dict) or "COMBINED_SEQ" not in per_seq:
            raise RuntimeError(f"TrackEval failed: {messages}")
        out = {by_stem[k].name: _metrics_of(res["pedestrian"]) for k, res in per_seq.items() if k != "COMBINED_SEQ"}
        out["COMBINED"] = _metrics_of(per_seq["COMBINED_SEQ"]["pedestrian"])
        return out
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def _scores_key(sequences: list[Sequence], result_files: dict[str, Path]) -> str:
    """Hash of what the scores depend on: results, gt files, frame ranges, benchmark, scorer version."""
    import trackeval

    digest = hashlib.sha256(f"{getattr(trackeval, '__version__', '')}|{_SCORES_VERSION}".encode())
    for seq in sequences:
        # (a name's bytes as on the file system: a name that is not UTF-8 is no error, a UTF-8 one's key unchanged)
        digest.update(f"{seq.name}|{seq.first}|{seq.last}|{seq.benchmark}|".encode("utf-8", "surrogateescape"))
        digest.update(seq.gt_bytes)
        digest.update(Path(result_files[seq.name]).read_bytes())
    return digest.hexdigest()


def saved_scores(sequences: list[Sequence], result_files: dict[str, Path], scores_path: Path) -> Any:
    """The scores saved at `scores_path` if the results and gt are byte-for-byte those scored; else None."""
    try:
        saved = json.loads(scores_path.read_text())
    except (OSError, ValueError):
        return None
    if not isinstance(saved, dict) or saved.get("key") != _scores_key(sequences, result_files):
        return None
    scores = saved.get("scores")
    if not isinstance(scores, dict) or not all(isinstance(m, dict) for m in scores.values()):
        return None
    names = [seq.name for seq in sequences]
    named = dict(zip(written_keys(names), names, strict=True))  # a name that is not UTF-8: as `to_json` wrote it
    return {named.get(name, name): metrics_from_json(metrics) for name, metrics in scores.items()}  # null: NaN


def score_results_cached(
    sequences: list[Sequence], result_files: dict[str, Path], scores_path: Path
) -> dict[str, dict[str, float]]:
    """`score_results`, reusing `scores_path` (JSON) when the results and gt are byte-for-byte unchanged."""
    scores = saved_scores(sequences, result_files, scores_path)
    if scores is None:
        scores = score_results(sequences, result_files)
        write_json_atomic(scores_path, {"key": _scores_key(sequences, result_files), "scores": scores})
    return scores
