"""`track eval` and `track compare`: MOTChallenge evaluation of ours, and of ours beside the peer trackers
(Ultralytics' trackers, and BoxMOT's when BoxMOT is installed: `pip install -e '.[peers]'`).

Both read the same inputs (public det.txt or the configured detector, plus ReID embeddings where every
image exists), write MOTChallenge result files under --out/<tracker>/, score them with TrackEval and write
summary.json, a CSV and a PNG chart. A re-run into the same --out reuses finished sequences.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager, nullcontext, suppress
from pathlib import Path
from typing import Any

from tracker.cli_args import (
    EXIT_INTERRUPTED,
    EXIT_USER_ERROR,
    VERBOSE_HELP,
    GivenOnce,
    GivenOnceAsSet,
    non_negative_int,
    option_overrides,
    override_text,
    path_arg,
    path_text,
    positive_int,
    refuse_misread_options,
    sequence_name,
    tell,
)
from tracker.cli_args import (
    say as answer,
)
from tracker.cli_logging import printing_log
from tracker.config import (
    ConfigError,
    TrackerConfig,
    config_to_dict,
    has_appearance,
    load_config,
    log_unused_settings,
)
from tracker.eval.boxmot_peers import BOXMOT_PEERS, boxmot_unusable
from tracker.eval.inputs import SequenceInputs, default_cache_dir
from tracker.eval.peers import PEERS, REID_PEERS
from tracker.eval.report import format_table, write_chart, write_csv, write_summary
from tracker.eval.revival import revival_scores
from tracker.eval.runner import (
    OURS,
    OURS_NO_CMC,
    EvalInterrupted,
    RunResult,
    WorkerDied,
    load_all_inputs,
    parallel_map,
    progress_bar,
    run_all,
)
from tracker.eval.scoring import METRICS, saved_scores, score_results_cached
from tracker.eval.sequences import (
    Sequence,
    find_sequences,
    folder_name,
    require_frame_sizes,
    require_ground_truth,
    require_public_detections,
    scored_gt_rows,
)
from tracker.eval.variants import ORIGINAL, VARIANTS, default_variants_dir, parse_variants, variant_sequences
from tracker.extras import require_extra
from tracker.file_errors import one_line
from tracker.io.lock import FolderLock
from tracker.io.mot import make_output_folder
from tracker.io.strict_json import write_json_atomic
from tracker.ray_engine import check_reachable, import_ray, ray_session
from tracker.stop_flag import terminating_interrupts
from tracker.wording import count

__all__ = ["compare_main", "eval_main"]

log = logging.getLogger(__name__)

SCORING_MODULES = ("trackeval", "matplotlib")  # TrackEval scores a run, matplotlib draws its chart: the [eval] extra
_EXIT_FAILED = 1  # a worker died: the run's fault, not the input's
_MS_PER_S = 1e3
_COMPARE_COLUMNS = ("HOTA", "IDF1", "IDSW", "MOTA", "AssA", "DetA", "FP", "FN", "RevP", "RevR", "ms_per_frame")
_EVAL_COLUMNS = (*METRICS, "RevP", "RevR", "Revivals", "Returns", "fps")
_COMBINED = "COMBINED"
_EVAL_TABLE = "metrics"  # `track eval`'s CSV and chart: metrics.csv, metrics.png
_COMPARE_TABLE = "compare"  # `track compare`'s: compare.csv, compare.png
_DEFAULT_WORKERS = 1  # --workers of the process engine when not given
_DEFAULT_VARIANT_SEED = 0  # --variant-seed when not given
_PEER_SPECS: dict[str, Any] = {**PEERS, **BOXMOT_PEERS}  # every peer: Ultralytics', then BoxMOT's
_BOXMOT_REID = [name for name, spec in BOXMOT_PEERS.items() if spec.requires_embeddings]
_TRACKER_NAMES = (OURS, OURS_NO_CMC, *_PEER_SPECS)  # the folders of results: --out/[<variant>/]<tracker>/


def _variant_names(text: str) -> list[str]:
    try:
        return parse_variants(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _parser(prog: str, description: str, default_out: str, data_default: str | None = None) -> argparse.ArgumentParser:
    """`track eval`'s options (and `track compare`'s but `--peers`); each given twice with different values is a usage
    error naming both (`GivenOnce`), as in `track`: `--out a --out b` wrote into b without a word. `data_default`:
    what --data falls back to (a tool's), which makes it optional; required without."""
    p = argparse.ArgumentParser(prog=prog, description=description, allow_abbrev=False)  # (`--conf`: --config)
    # (argparse %-formats help: a '%' in the folder's name, `100%data`, ended --help in a ValueError traceback)
    default = "" if data_default is None else f"; default {data_default.replace('%', '%%')}"
    p.add_argument(
        "--data",
        action=GivenOnce,
        required=data_default is None,
        default=data_default,
        type=path_text,
        metavar="DIR",
        help="MOT root (train/; for MOT17 the -FRCNN copy of each sequence, unless --sequences names another), a "
        f"folder of sequences, or one (a folder with seqinfo.ini; sequences are named as their folders){default}",
    )
    p.add_argument(
        "--split",
        action=GivenOnce,
        choices=["train", "val-half"],
        default="train",
        help="train: whole sequences (the default), or val-half: frames N//2+2..N, ByteTrack's and BoT-SORT's val "
        "half (tracker starts there; results and gt renumbered from 1, as their gt_val_half.txt)",
    )
    p.add_argument(
        "--detections",
        action=GivenOnce,
        choices=["public", "detector"],
        default="public",
        help="public det/det.txt (the default), or the configured detector on img1/ (needs every image)",
    )
    p.add_argument(
        "--config", action=GivenOnce, type=path_text, metavar="FILE", help="tracker YAML (default: built-in defaults)"
    )
    p.add_argument(
        "--set", action="append", default=[], type=override_text, metavar="KEY=VALUE", help="override a config key"
    )
    p.add_argument(
        "--out",
        action=GivenOnce,
        type=path_text,
        default=default_out,
        metavar="DIR",
        help=f"output folder (default {default_out}); a re-run resumes",
    )
    p.add_argument(
        "--workers",
        action=GivenOnce,
        type=positive_int,
        metavar="N",
        help=f"--engine process: processes tracking and scoring in parallel (default {_DEFAULT_WORKERS})",
    )
    p.add_argument(
        "--engine",
        action=GivenOnce,
        choices=["process", "ray"],
        default="process",
        help="process pool (--workers; the default), or Ray tasks, one per free CPU (the cluster at $RAY_ADDRESS, "
        "else a local Ray)",
    )
    p.add_argument(
        "--no-cache",
        action="store_true",
        help="compute detections and embeddings afresh and store none (--variants are still made, or reused, "
        "in the cache's variants/)",
    )
    p.add_argument(
        "--cache-dir",
        action=GivenOnce,
        type=path_arg,
        metavar="DIR",
        help="input cache (default $TRACKER_CACHE or ~/.cache/tracker/eval)",
    )
    p.add_argument(
        "--sequences",
        action=GivenOnceAsSet,  # (a filter: the sequences run and are listed in their folders' order whatever this is)
        nargs="+",
        type=sequence_name,
        metavar="NAME",
        help="only these sequences (separate words)",
    )
    p.add_argument(
        "--variants",
        action=GivenOnce,
        type=_variant_names,
        metavar="NAME[,NAME...]",
        help="evaluate generated variants instead: moving, small, dropped, all, original, or names such as "
        "pan8, zoom, jitter, jump, scale0.5, scale0.35, drop2; results per variant under --out/<variant>/",
    )
    p.add_argument(
        "--variant-seed",
        action=GivenOnce,
        type=non_negative_int,
        metavar="N",
        help="seed (>= 0, default 0) of the random camera motion of the variants (only with --variants)",
    )
    p.add_argument(
        "-q", "--quiet", action="store_true", help="no notes, bars or closing lines on stderr (stdout: only the table)"
    )
    p.add_argument("--verbose", action="store_true", help=VERBOSE_HELP)
    return p


def _score_job(job: tuple[list[Sequence], dict[str, Path], Path]) -> dict[str, dict[str, float]]:
    sequences, files, scores_path = job
    return score_results_cached(sequences, files, scores_path)


def _timing(results: list[RunResult], tracker: str) -> dict[str, float]:
    """Mean ms per frame over all frames of `tracker`, and frames per second."""
    rows = [r for r in results if r.tracker == tracker]
    frames = sum(r.num_frames for r in rows)
    total_ms = sum(r.ms_per_frame * r.num_frames for r in rows)
    ms = total_ms / frames if frames else 0.0
    return {"ms_per_frame": ms, "fps": _MS_PER_S / ms if ms > 0 else float("inf")}


def _evaluate(
    args: argparse.Namespace,
    trackers: list[str],
    cfg: TrackerConfig,
    sequences: list[Sequence],
    out: Path,
    variant: str | None = None,
) -> tuple[list[RunResult], dict[str, dict[str, dict[str, float]]]]:
    workers, engine = args.workers, args.engine
    # Inputs are made here, before Ray starts (~15 s): a missing weights file or image is an error in seconds.
    inputs = load_all_inputs(cfg, sequences, args.detections, args.cache_dir, not args.no_cache, not args.quiet)
    # bars over the tracking and TrackEval's scoring (MOT17's table: minutes of silence), none with --quiet
    bars = None if args.quiet else (f"{variant}: " if variant else "")
    with ray_session(quiet=args.quiet) if engine == "ray" else nullcontext():  # one session: tracking and scoring
        return _track_and_score(args, trackers, cfg, sequences, out, workers, engine, inputs, bars)


def _track_and_score(
    args: argparse.Namespace,
    trackers: list[str],
    cfg: TrackerConfig,
    sequences: list[Sequence],
    out: Path,
    workers: int,
    engine: str,
    inputs: dict[str, SequenceInputs],
    bars: str | None = None,
) -> tuple[list[RunResult], dict[str, dict[str, dict[str, float]]]]:
    use_cache = not args.no_cache
    tracking = None if bars is None else f"{bars}tracking"
    results = run_all(
        trackers, cfg, sequences, args.detections, out, args.cache_dir, use_cache, workers, engine, inputs, tracking
    )
    suffix = "" if args.split == "train" else f"-{args.split}"
    failed = {r.tracker for r in results if r.failure is not None}  # a peer that raised on a sequence: no row
    trackers = [t for t in trackers if t not in failed]
    jobs = [
        (sequences, {r.sequence: r.path for r in results if r.tracker == t}, out / t / f"scores{suffix}.json")
        for t in trackers
    ]
    scores = [saved_scores(*job) for job in jobs]
    pending = [i for i, s in enumerate(scores) if s is None]
    with progress_bar(None if bars is None else f"{bars}scoring (TrackEval)", len(pending), "tracker") as step:
        computed = parallel_map(_score_job, [jobs[i] for i in pending], workers, engine, step)
    for i, tracker_scores in zip(pending, computed, strict=True):
        scores[i] = tracker_scores
    for (seqs, files, _path), tracker_scores in zip(jobs, scores, strict=True):  # revivals beside TrackEval's
        for name, metrics in revival_scores(seqs, files).items():
            tracker_scores[name] = tracker_scores[name] | metrics
    return results, dict(zip(trackers, scores, strict=True))


def _trackers(
    args: argparse.Namespace, compare: bool, any_embeddings: bool, any_images: bool, cmc: bool, note: Any
) -> list[str]:
    """Ours, then the requested peers, each once; ReID-only peers are dropped where no sequence has embeddings,
    and peers with GMC where no sequence has all its images (each drop told by `note`, on stderr)."""
    peers = list(dict.fromkeys(args.peers)) if compare else []  # (`--peers bytetrack ByteTrack`: one run)
    unusable = boxmot_unusable() if any(p in BOXMOT_PEERS for p in peers) else None
    if unusable:  # not installed, or another version / a broken install: said now, not after the other trackers ran
        skipped = [p for p in peers if p in BOXMOT_PEERS]
        peers = [p for p in peers if p not in skipped]
        note(f"{unusable}: skipping {', '.join(skipped)}")
    if not any_embeddings:
        skipped = [p for p in peers if _PEER_SPECS[p].requires_embeddings]
        peers = [p for p in peers if p not in skipped]
        if skipped:
            note(f"no embeddings (motion only): skipping {', '.join(skipped)}")
    if not any_images:
        skipped = [p for p in peers if _PEER_SPECS[p].uses_images]
        peers = [p for p in peers if p not in skipped]
        if skipped:
            note(f"no images for global motion compensation: skipping {', '.join(skipped)}")
    # With camera-motion compensation on, ours without it is a row of its own, for reading the gain.
    no_cmc = [OURS_NO_CMC] if compare and any_images and cmc else []
    return [OURS, *no_cmc, *peers]


def _first_missing_image(seq: Sequence) -> str:
    """`NAME (no img1/000021.jpg)`: the first frame's image the sequence lacks, as seqinfo.ini names it (a folder
    of `1.jpg ...` or of `.png` with imExt=.jpg runs motion only, and this says why)."""
    missing = seq.info.image_path(seq.info.frames_with_images() + 1)
    with suppress(ValueError):  # imDir outside the sequence folder: the whole path
        missing = missing.relative_to(seq.info.root)
    return f"{seq.name} (no {missing})"


def _summary_extra(
    args: argparse.Namespace,
    results: list[RunResult],
    elapsed: float,
    motion_only: list[str],
    uncompensated: list[str],
) -> dict[str, Any]:
    """summary.json's fields beside the metrics (`write_summary`'s extras): the run's inputs, its time and cache use,
    the peers that failed, and ours' per-sequence figures (calibration, still boxes, noise, width, camera motion)."""
    failures = [r for r in results if r.failure is not None]
    return {
        # absolute (as typed, a relative path was of no use from another folder), its links kept: a sequence folder
        # that is a link, resolved, named its target's sequence, not the one the results are named after
        "data": os.path.abspath(args.data),
        "split": args.split,
        "detections": args.detections,
        "elapsed_s": elapsed,
        "cache_hits": sum(r.cache_hit for r in results if r.tracker == OURS),
        "inputs_s": sum(r.inputs_seconds for r in results if r.tracker == OURS),
        "resumed": sum(r.resumed for r in results),
        # ours' embedding rows refused as NaN, infinite or zero, all sequences (matched by motion only; as `track`'s)
        "invalid_embeddings": sum(r.invalid_embeddings for r in results if r.tracker == OURS),
        # peers that raised, left out of the table: {tracker: {sequence: "frame N: Error: message"}}
        "peer_failures": {
            t: {r.sequence: r.failure for r in failures if r.tracker == t}
            for t in dict.fromkeys(r.tracker for r in failures)
        },
        "motion_only": motion_only,
        "no_camera_compensation": uncompensated,  # compensation configured, but no images to estimate it from
        # ours' calibrated appearance bounds per sequence (`Calibration.summary()` at the end of each)
        "calibration": {r.sequence: r.calibration for r in results if r.tracker == OURS and r.calibration},
        # ours' fixed-scene-object figures per sequence (`StillBoxes.summary()`: jitter bound, tracks not reported)
        "still": {r.sequence: r.still for r in results if r.tracker == OURS and r.still},
        # ours' measured box noise per sequence (`MeasurementNoise.summary()`: updates, whiteness, factors)
        "measurement_noise": {
            r.sequence: r.measurement_noise for r in results if r.tracker == OURS and r.measurement_noise
        },
        # ours' reported box width per sequence (`TrackerCore.report_width()`: the aspect width's weight, measured)
        "report_width": {r.sequence: r.report_width for r in results if r.tracker == OURS and r.report_width},
        # ours' camera-motion estimates per sequence where compensation ran (frames estimated, failed, held back)
        "camera_motion": {r.sequence: r.camera_motion for r in results if r.tracker == OURS and r.camera_motion},
    }


def _report(
    args: argparse.Namespace,
    compare: bool,
    cfg: TrackerConfig,
    sequences: list[Sequence],
    results: list[RunResult],
    scores: dict[str, dict[str, dict[str, float]]],
    elapsed: float,
    note: Any,
    out: Path,
    variant: str | None = None,
) -> dict[str, Any]:
    """Print the table (on stdout, under its `variant` heading unless --quiet; `note` tells the remarks on it, on
    stderr) and write summary.json, the CSV and the chart into `out`; returns the combined rows ({tracker: metrics},
    ours first)."""
    appearance = {r.sequence: r.appearance for r in results if r.tracker == OURS}
    motion_only = [s.name for s in sequences if not appearance[s.name]]
    with_reid = [s.name for s in sequences if appearance[s.name]]
    if motion_only and has_appearance(cfg):
        missing = [_first_missing_image(s) for s in sequences if not appearance[s.name]]
        note(f"motion only (img1/ lacks frames, no ReID): {', '.join(missing)}")
    if with_reid:
        note(f"ReID on ({cfg.reid.model}): {', '.join(with_reid)}")
    if args.detections == "public":
        repeated = [f"{s.name} ({n})" for s in sequences if (n := s.repeated_detections())]
        if repeated:
            note(f"det.txt repeats rows exactly (each is tracked as a box of its own): {', '.join(repeated)}")
        no_boxes = [s.name for s in sequences if not s.public_box_count()]
        if no_boxes:
            note(f"det.txt has no boxes in the evaluated frames (every tracker reports nothing): {', '.join(no_boxes)}")
    failures = [r for r in results if r.failure is not None]
    if failures:  # on stderr, also with --quiet: the table lacks these rows
        crashed = "; ".join(f"{r.tracker} on {r.sequence} ({r.failure})" for r in failures)
        tell(f"left out of the table, a peer failed (its other sequences are kept): {crashed}")
    refused = [f"{r.sequence} ({r.invalid_embeddings})" for r in results if r.tracker == OURS and r.invalid_embeddings]
    if refused:
        note(f"NaN, infinite or zero embeddings, those detections matched by motion only: {', '.join(refused)}")
    unscored = [s.name for s in sequences if not len(scored_gt_rows(s.ground_truth(), s.benchmark))]
    if unscored:  # TrackEval's COMBINED MOTA then counts every reported box against none: -100 x boxes
        note(
            "gt.txt has no one to score in the evaluated frames (no rows, or all flagged 0 or of other classes): "
            f"HOTA and IDF1 are 0 and MOTA meaningless for {', '.join(unscored)}"
        )
    # compensation estimates the motion from the images: without all of them it is off (scores as with `none`)
    uncompensated = (
        [s.name for s in sequences if not s.has_all_images] if cfg.motion.camera_compensation != "none" else []
    )
    if uncompensated:
        note(
            f"camera-motion compensation ({cfg.motion.camera_compensation}) off, img1/ lacks frames to estimate it "
            f"from: {', '.join(uncompensated)}"
        )
    trackers = list(scores)
    ours = scores[OURS]
    per_seq = {s.name: ours[s.name] | _timing([r for r in results if r.sequence == s.name], OURS) for s in sequences}
    combined = ours[_COMBINED] | _timing(results, OURS)
    extra = _summary_extra(args, results, elapsed, motion_only, uncompensated)
    title = f"{folder_name(Path(args.data))}: {args.detections} detections, {args.split}"
    if variant is not None:
        extra["variant"] = variant
        extra["variant_seed"] = args.variant_seed  # (jitter's random walk: without it the variant cannot be made again)
        title += f", variant {variant}"
        if not args.quiet:  # (the table's title, on stdout with it)
            answer(f"variant {variant}:")
    reuse = _reuse_line(results, out)
    if reuse:
        note(reuse)
    extra["timing_from_earlier_run"] = [t for t in trackers if any(r.resumed for r in results if r.tracker == t)]
    if compare:
        table = {t: scores[t][_COMBINED] | _timing(results, t) for t in trackers}
        extra["embeddings_fed_to"] = (
            [t for t in trackers if t in (OURS, OURS_NO_CMC) or t in REID_PEERS or t in _BOXMOT_REID]
            if with_reid
            else []
        )
        extra["peer_sequences"] = {t: {k: v for k, v in scores[t].items() if k != _COMBINED} for t in trackers[1:]}
        print(format_table(table, _COMPARE_COLUMNS))
        write_summary(out / "summary.json", combined, per_seq, config_to_dict(cfg), trackers=table, **extra)
        write_csv(out / f"{_COMPARE_TABLE}.csv", table, key="tracker")
        labelled = {f"{t}\n{row['ms_per_frame']:.2f} ms/frame": row for t, row in table.items()}
        write_chart(out / f"{_COMPARE_TABLE}.png", labelled, title)
        return table
    else:
        rows = per_seq | {_COMBINED: combined}
        print(format_table(rows, _EVAL_COLUMNS))
        write_summary(out / "summary.json", combined, per_seq, config_to_dict(cfg), **extra)
        write_csv(out / f"{_EVAL_TABLE}.csv", rows, key="sequence")
        write_chart(out / f"{_EVAL_TABLE}.png", rows, title)
    return {OURS: combined}


def _refuse_other_command(out: Path, compare: bool) -> None:
    """ValueError when `out` holds the other command's run (its CSV there, or in a variant's folder, or its mark:
    one stopped before its tables): this run's summary.json would replace that run's (a compare table lost) and that
    run's CSV and chart would stay beside this run's files, one folder mixing two runs' outputs."""
    from tracker.run_folders import EVAL_MARK_NAME

    other, table = ("eval", _EVAL_TABLE) if compare else ("compare", _COMPARE_TABLE)
    written = [out / f"{table}.csv", *sorted(out.glob(f"*/{table}.csv"))]
    found = next((path for path in written if path.is_file()), None)
    if found is None and _marked_by(out / EVAL_MARK_NAME) == f"track {other}":
        found = out / EVAL_MARK_NAME
    if found is not None:
        raise ValueError(
            f"{out} holds a `track {other}` run ({found.relative_to(out)}); choose another --out (this run's "
            "summary.json would replace that run's)"
        )


@contextmanager
def _marked(out: Path, name: str) -> Iterator[None]:
    """`out` marked as the folder of a `track {name}` run from before its first result (`EVAL_MARK_NAME`, written
    atomically): one stopped before its tables (Ctrl-C, SIGTERM) is still refused by `track --out`, which would write
    its run there (and this run could not resume), and by the other command (`_refuse_other_command`). The mark
    goes again when the run left nothing else there (its folder then removed, as before, when it made it)."""
    from tracker.io.lock import LOCK_NAME
    from tracker.run_folders import EVAL_MARK_NAME

    mark = out / EVAL_MARK_NAME
    write_json_atomic(mark, {"command": f"track {name}"})
    try:
        yield
    finally:
        with suppress(OSError):  # (the folder removed meanwhile: nothing to tidy)
            if {p.name for p in out.iterdir()} <= {EVAL_MARK_NAME, LOCK_NAME}:
                mark.unlink()


def _marked_by(mark: Path) -> str | None:
    """The command that wrote the mark `mark` (`_marked`: "track eval", "track compare"); None: no mark there, or
    not one of ours."""
    try:
        command = json.loads(mark.read_text()).get("command")
    except (OSError, ValueError, AttributeError):
        return None
    return command if isinstance(command, str) else None


def _refuse_track_run(out: Path, name: str) -> None:
    """ValueError when `out` holds a `track` run (its config.yaml or checkpoint) or a `track batch` run (a folder of
    it with `batch.json`): this run's summary.json would replace that run's, and its results and tables would lie
    beside that run's outputs, one folder mixing the two."""
    from tracker.resume import CHECKPOINT_NAME
    from tracker.run_folders import BATCH_NOTE_NAME, CONFIG_NAME, batch_video_folder

    held = _files(out, CONFIG_NAME, CHECKPOINT_NAME)
    if held:
        raise ValueError(
            f"{out} holds a `track` run ({held[0]}); choose another --out (this `track {name}` run's summary.json "
            "would replace that run's)"
        )
    batched = batch_video_folder(out)
    if batched is not None:  # (its results and tables beside the videos' folders; the batch's re-run then refused)
        raise ValueError(
            f"{out} holds a `track batch` run ({batched.name}/{BATCH_NOTE_NAME}); choose another --out (this "
            f"`track {name}` run's files would mix with the batch's videos' folders)"
        )


def _refuse_other_layout(out: Path, name: str, variants: list[str] | None) -> None:
    """ValueError when `out` holds a run of the other layout: this run has --variants and `out` a run without them
    (results in `out/<tracker>/`, summary.json), or this run has none and `out` a --variants run (results in
    `out/<variant>/<tracker>/`, variants.json). Either would leave one folder holding two runs' results and tables,
    the one beside the other, and a re-run of either (to resume) would add to the mix."""
    if not out.is_dir():
        return
    if variants:
        held = [f"{t}/" for t in _TRACKER_NAMES if (out / t).is_dir()] + _files(out, "summary.json")
        if held:
            raise ValueError(
                f"{out} holds a `track {name}` run without --variants ({', '.join(held)}); choose another --out, or "
                "leave out --variants to resume that run"
            )
        return
    kinds = [v for v in (ORIGINAL, *VARIANTS) if any((out / v / t).is_dir() for t in _TRACKER_NAMES)]
    held = [f"{v}/" for v in kinds] + _files(out, "variants.json")
    if held:
        again = f"--variants {','.join(kinds)}" if kinds else "the same --variants"
        raise ValueError(
            f"{out} holds a `track {name} --variants` run ({', '.join(held)}); choose another --out, or add {again} "
            "to resume that run"
        )


def _files(folder: Path, *names: str) -> list[str]:
    """Those of `names` that are files in `folder`."""
    return [n for n in names if (folder / n).is_file()]


def _by_tracker(results: list[RunResult]) -> str:
    """`results` as "ours on A, B; ByteTrack on A", trackers in their first order."""
    trackers = dict.fromkeys(r.tracker for r in results)
    return "; ".join(f"{t} on {', '.join(r.sequence for r in results if r.tracker == t)}" for t in trackers)


def _reuse_line(results: list[RunResult], out: Path) -> str | None:
    """The one line saying which results a re-run into `out` took from an earlier run, their timing too, and how
    to have every timing from one run (None where it took none): the table and the frames/s looked freshly
    computed otherwise."""
    reused = [r for r in results if r.resumed]
    if not reused:
        return None
    fresh = [r for r in results if not r.resumed]
    if not fresh:
        every = f"all {count(len(reused), 'result')}" if len(reused) > 1 else "the result"
        return (
            f"{every} reused from an earlier run in {out} (timing too): "
            f"{_by_tracker(reused)}; a new --out tracks afresh"
        )
    tracked = _by_tracker(fresh)
    return (
        f"reused from an earlier run in {out} (its timing too): {_by_tracker(reused)}; tracked now: {tracked}; "
        "a new --out tracks all afresh, timed in one run"
    )


def _report_variants(out: Path, rows: dict[str, dict[str, dict[str, Any]]], compare: bool) -> None:
    """One table over variants: a row per (variant, tracker); variants.csv and variants.json in `out`."""
    flat = {f"{v} {t}" if compare else v: m for v, table in rows.items() for t, m in table.items()}
    columns = _COMPARE_COLUMNS if compare else _EVAL_COLUMNS
    print(format_table(flat, columns))
    if compare:  # (a column each: "pan8 ours" in one could not be filtered by variant or by tracker)
        by_pair: dict[tuple[str, ...], dict[str, Any]] = {
            (v, t): m for v, table in rows.items() for t, m in table.items()
        }
        write_csv(out / "variants.csv", by_pair, key=("variant", "tracker"))
    else:
        write_csv(out / "variants.csv", flat, key="variant")
    write_json_atomic(out / "variants.json", rows, indent=2)


def _peer_name(text: str) -> str:
    """A `--peers` name as the peer table spells it, whatever its letter case (`bytetrack`, `boxmot-ocsort`); a name
    of no peer is returned as given, for argparse's error listing the choices. Several are separate words: a comma
    list (`ByteTrack,OC-SORT`) is told so (argparse's "invalid choice" listed the 22 names)."""
    if "," in text:
        raise argparse.ArgumentTypeError(f"peers are separate words, --peers A B, not a comma list: got {text!r}")
    return next((name for name in _PEER_SPECS if name.casefold() == text.casefold()), text)


def command_parser(compare: bool, data_default: str | None = None) -> argparse.ArgumentParser:
    """The argument parser of `track compare` (with `--peers`), else of `track eval`; `data_default`: what --data
    falls back to (a tool's, such as tools/eval_mot17.py's shared MOT17), else --data is required."""
    name = "compare" if compare else "eval"
    parser = _parser(f"track {name}", __doc__ or "", f"runs/{name}", data_default)
    if compare:
        parser.add_argument(
            "--peers",
            action=GivenOnce,
            nargs="+",
            type=_peer_name,
            choices=list(_PEER_SPECS),
            default=list(_PEER_SPECS),
            metavar="NAME",  # not the 22 names twice in the usage lines
            help=f"peers to run (default: all): {', '.join(_PEER_SPECS)}; the BoxMOT-* ones are skipped when "
            "BoxMOT is not installed",
        )
    return parser


def _run(argv: list[str] | None, compare: bool) -> int:
    name = "compare" if compare else "eval"
    parser = command_parser(compare)
    refuse_misread_options(parser, sys.argv[1:] if argv is None else argv)
    args = parser.parse_args(argv)
    with printing_log(f"track {name}", args.verbose):  # the tracker's warnings; with --verbose, every INFO line
        return _run_parsed(args, parser, name)


def _run_parsed(args: argparse.Namespace, parser: argparse.ArgumentParser, name: str) -> int:
    compare = name == "compare"
    args.set = option_overrides(parser, args.set, {})  # two `--set` of one key that disagree: a usage error
    misused = _misused_option(args)
    if misused is not None:
        print(f"track {name}: error: {misused}", file=sys.stderr)
        return EXIT_USER_ERROR
    if args.workers is None:
        args.workers = _DEFAULT_WORKERS
    if args.variant_seed is None:
        args.variant_seed = _DEFAULT_VARIANT_SEED
    # stdout holds only the tables (`> table.txt` collects them alone); notes and the closing lines go to stderr,
    # none with --quiet (a name not UTF-8: U+FFFD a byte, `cli_args.tell`)
    note = (lambda *_a: None) if args.quiet else (lambda text: tell(f"track {name}: note: {text}"))
    close = (lambda *_a: None) if args.quiet else (lambda text: tell(f"track {name}: {text}"))
    if args.quiet:  # "only the table": not ultralytics' "Loading ..." lines on stdout either (as `track --quiet`)
        from tracker.detector import quiet_ultralytics

        quiet_ultralytics()
    started = time.perf_counter()
    try:
        with terminating_interrupts(), ExitStack() as held:  # finished sequences stay, the rest is cancelled
            require_extra("scoring", SCORING_MODULES)  # TrackEval missing: said before anything is tracked
            if args.engine == "ray":  # Ray missing, or $RAY_ADDRESS no cluster's: said now, not after every
                import_ray()  # sequence's inputs were made
                check_reachable(None)
            cfg = load_config(args.config, overrides=args.set)
            log_unused_settings(cfg)
            sequences = find_sequences(args.data, args.split, args.sequences)
            require_ground_truth(sequences)
            require_frame_sizes(sequences)
            if args.detections == "public":
                require_public_detections(sequences)
            _claim_out(Path(args.out), held, name, args.variants)
            if not args.no_cache or args.variants:  # (variants are made there too) a cache that cannot be made
                # fails now, not after the first sequence's detections and embeddings were computed
                make_output_folder(args.cache_dir or default_cache_dir(), "input cache folder", "--cache-dir")
            reid_possible = has_appearance(cfg)
            any_images = any(s.has_all_images for s in sequences)
            cmc = cfg.motion.camera_compensation != "none"
            trackers = _trackers(args, compare, reid_possible and any_images, any_images, cmc, note)
            by_variant: dict[str, dict[str, dict[str, Any]]] = {}
            every_result: list[RunResult] = []  # of every variant: the closing line's frames/s is over them all
            unlocked_said: set[Path] = set()  # the variant cache's "cannot be locked": one warning per run
            for variant in args.variants or [None]:
                seqs, out = sequences, Path(args.out)
                if variant is not None:
                    seqs = variant_sequences(
                        sequences, variant, args.variant_seed, default_variants_dir(args.cache_dir), unlocked_said
                    )
                    out = out / variant  # (made by the first result written: an error before leaves no folder)
                results, scores = _evaluate(args, trackers, cfg, seqs, out, variant)
                every_result += results
                elapsed = time.perf_counter() - started
                table = _report(args, compare, cfg, seqs, results, scores, elapsed, note, out, variant)
                by_variant[variant or ""] = table
            if args.variants:
                _report_variants(Path(args.out), by_variant, compare)
            timing = _timing(every_result, OURS)
    except (ConfigError, FileNotFoundError, ValueError, OSError, ImportError) as exc:
        log.info("error details", exc_info=True)  # --verbose only
        tell(f"track {name}: error: {one_line(exc)}")
        return EXIT_USER_ERROR
    except WorkerDied as exc:  # (not the user's input: exit status 1)
        log.info("error details", exc_info=True)  # --verbose only
        tell(f"track {name}: error: {exc}; finished sequences are kept in {args.out}; re-run to resume")
        return _EXIT_FAILED
    except KeyboardInterrupt as exc:
        message = f"track {name}: interrupted; {_kept(exc, args.out)}; re-run to resume"
        tell(message)
        return EXIT_INTERRUPTED
    elapsed = time.perf_counter() - started
    variants = f" x {count(len(args.variants), 'variant')}" if args.variants else ""
    evaluated = count(len(sequences), "sequence") + variants
    close(f"tracking {timing['fps']:.0f} frames/s; {evaluated} in {elapsed:.1f} s")
    close(f"results in {args.out}")
    return 0


def _misused_option(args: argparse.Namespace) -> str | None:
    """The usage error of an option the others leave without effect (it was ignored: the run went on without it), or
    None."""
    if args.engine == "ray" and args.workers is not None:  # (ignored: one Ray task per free CPU ran anyway)
        return (
            "--workers is for --engine process: Ray runs one task per free CPU of its nodes; leave --workers out, or "
            "use --engine process"
        )
    if args.variant_seed is not None and not args.variants:  # (ignored: the sequences ran as they are, unseeded)
        return (
            "--variant-seed seeds the camera motion of --variants (jitter's); add --variants, or leave --variant-seed "
            "out"
        )
    return None


def _claim_out(out: Path, held: ExitStack, name: str, variants: list[str] | None) -> None:
    """Make `out` this `track {name}` run's folder, released by `held`: made (removed again if nothing was written),
    locked (one run at a time writes there) and marked (`_marked`); ValueError (or the lock's `FolderInUse`) for a
    folder holding another run (`_refuse_other_command`, `_refuse_track_run`, `_refuse_other_layout`)."""
    made = not out.exists()  # removed again if nothing was written (no Ray cluster, an error)
    make_output_folder(out, option="--out")  # (a file of that name: said as such, before the lock's own message)
    held.enter_context(FolderLock(out, made_here=made))  # one run at a time writes there
    _refuse_other_command(out, name == "compare")
    _refuse_track_run(out, name)
    _refuse_other_layout(out, name, variants)
    held.enter_context(_marked(out, name))  # (before anything else is written there)


def _kept(exc: KeyboardInterrupt, out: str) -> str:
    """What an interrupted run left in `out`: how many results, where the interruption says (`EvalInterrupted`)."""
    if not isinstance(exc, EvalInterrupted):  # (before any tracking: inputs were being made)
        if not any(Path(out).rglob("*.txt")):  # (no result file of an earlier run or --variants variant either)
            return f"no result finished yet in {out} (the inputs were being made)"
        return f"finished sequences are kept in {out}"
    if not exc.finished:
        return f"no result finished yet in {exc.out_dir}"
    earlier = f", {exc.reused} of them from an earlier run" if exc.reused else ""
    return f"{exc.finished} of {exc.total} results finished, kept in {exc.out_dir}{earlier}"


def eval_main(argv: list[str] | None = None) -> int:
    """`track eval ...`: our tracker on MOTChallenge sequences; returns the exit code."""
    return _run(argv, compare=False)


def compare_main(argv: list[str] | None = None) -> int:
    """`track compare ...`: ours and the peers (Ultralytics', BoxMOT's when installed) on the same inputs; returns
    the exit code."""
    return _run(argv, compare=True)
