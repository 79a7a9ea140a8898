"""`track batch` / `track_many`: many videos at once, one task per video, on Ray or on local processes.

Each video is one task that holds its own `Tracker` and runs all its frames in order through
`tracker.run.track_source` (the loop of `track`), so frame order never depends on the engine. Detection and
ReID run inside the task, on the GPU share it asked for (Ray's `num_gpus`). Per-video outputs are the files
`track` writes, in `out/<name>/`; a task writes them to `out/.<name>.partial/` and renames the folder when
the video ends, so a task killed half-way and run again never leaves a mixed file, and a re-run of the batch
reuses every video whose outputs were made from the same file and config (`batch.json` beside them). One batch
at a time writes into `out` (`tracker.io.lock`, as `track --out`): a second one would delete the first one's
unfinished folders as leftovers of killed attempts.

Engines: `ray` (one Ray task per video; Ray re-runs a task whose worker died, up to `batch.max_retries`)
and `local` (the same task function in spawned processes, one per core, re-run the same way; a process whose
driver is gone stops as a SIGTERM would stop it). Progress comes
back from the tasks through a queue (`ray.util.queue.Queue` or a multiprocessing queue) as frame counts.

This module is the driver (`track_many`); the work list and resume bookkeeping are `tracker.batch_work`, the task
body `tracker.batch_task`, the engines `tracker.batch_engines`, the progress `tracker.batch_progress` and the
summary `tracker.batch_summary`.
"""

from __future__ import annotations

import dataclasses
import logging
import numbers
import os
import time
from collections.abc import Callable, Sequence
from contextlib import ExitStack
from pathlib import Path
from typing import Any

from tracker.batch_engines import run_local, run_ray
from tracker.batch_link import LinkedVideo, global_outputs, link_batch, linked_before
from tracker.batch_names import PARAMETERS, SettingNames
from tracker.batch_progress import Monitor
from tracker.batch_repeats import refuse_repeated
from tracker.batch_summary import BatchSummary
from tracker.batch_task import OLD_SUFFIX, run_video
from tracker.batch_work import (
    TrackerFactory,
    VideoResult,
    VideoTask,
    config_changes,
    make_tasks,
    names_nothing,
    published_videos,
    reused_result,
    start_digest,
    unnamed_sources,
)
from tracker.config import TrackerConfig, load_config, validate_config
from tracker.gallery_sources import LinkedSource, refuse_linked, source_keys
from tracker.io.lock import FolderLock, gallery_lock
from tracker.io.opencv_files import check_video_folder
from tracker.ray_engine import joins_cluster
from tracker.run_folders import CONFIG_NAME, EVAL_RUN_FILES
from tracker.stop_flag import terminating_interrupts

__all__ = ["BatchSummary", "VideoResult", "VideoTask", "published_videos", "run_video", "track_many", "unnamed_sources"]

log = logging.getLogger(__name__)

ENGINES = ("local", "ray")


def _linked_tasks(
    tasks: list[VideoTask],
    applied: dict[str, dict[str, Any]],
    making: tuple[list[str], TrackerConfig, Path, bool, int | None, TrackerFactory | None, Path | None],
) -> dict[int, tuple[VideoTask, dict[str, Any]]]:
    """The tasks whose videos an earlier run of this batch linked into the gallery file there now (`applied`, from
    `linked_before`), by index: each as that run made it (its fingerprint with the gallery that run began from:
    the file has changed since) with its record entry, where its outputs are still that run's (`reused_result`).
    `making`: `make_tasks`' arguments before `start`. Their sightings are in the gallery: they are reused and not
    linked again. A video tracked again (its outputs changed) is linked again."""
    if not applied:
        return {}
    starts = {name: entry.get("start") for name, entry in applied.items()}
    then = make_tasks(*making, None, linked_starts=starts)
    return {
        task.index: (task, applied[task.name])
        for task in then
        if task.name in applied and task.made(applied[task.name].get("fingerprint")) and reused_result(task) is not None
    }


def _check_gallery(gallery: Path, cfg: TrackerConfig, own_tracker: bool, option: str) -> dict[str, LinkedSource]:
    """Fail before any work on a gallery that cannot be used (one clear error, naming `option`: what chose the
    gallery). `own_tracker`: the caller's `make_tracker`, whose embeddings' D this cannot know. Returns the sources
    whose sightings the file holds ({}: no file yet)."""
    from tracker.gallery import Gallery
    from tracker.gallery_file import check_saveable
    from tracker.model_setup import (
        reid_model_identity,
        require_gallery_appearance,
        require_gallery_banks,
        unloaded_reid_identity,
    )

    require_gallery_appearance(cfg, option)
    require_gallery_banks(cfg)  # (each video's tracker refused it in turn, after the batch had started)
    check_saveable(gallery, option)  # the reduce saves it once every video has ended: found then, the work was spent
    if gallery.exists():
        loaded = Gallery.load(gallery, cfg.gallery)  # GalleryError: unreadable, corrupt, newer format
        # OSNet's D is known unloaded (auto's: the detector's): a gallery bound to no model may hold another D
        model = reid_model_identity(cfg) if own_tracker else unloaded_reid_identity(cfg)
        loaded.bind_model(model)  # GalleryModelError (naming the file): made with another ReID model, or of another D
        return loaded.sources
    return {}


def _with_local_detector(
    cfg: TrackerConfig, tasks: list[VideoTask], cluster: bool
) -> tuple[list[VideoTask], bytes | None]:
    """`tasks` with `detector.model` a local file: an official ultralytics name not found here is downloaded now, once,
    by the driver (`tracker.detector.fetch_official_weights`); offline that is one error before any task starts
    (each task downloading for itself failed alone, one line per video after ~5-20 s each). The tasks' fingerprints
    stay the name's: a re-run that finds the file here reuses their outputs.

    On a cluster (`cluster`), whose other nodes have no such path, an official name also comes back with its file's
    bytes, for Ray's object store: a task on a node without the file keeps a copy (`tracker.weights.weights_here`)
    instead of downloading it on every node. Other detectors there are each node's to find, as before (None)."""
    from tracker.config import config_to_dict
    from tracker.detector import fetch_official_weights, is_official_weights
    from tracker.weights import resolve_weights

    if cluster and not is_official_weights(cfg.detector.model):
        return tasks, None  # a file the user named: on the nodes' shared file system, or each node's own
    if not cluster and resolve_weights(cfg.detector.model) is not None:
        return tasks, None  # found here: the tasks find it as the driver did
    path = fetch_official_weights(cfg.detector.model).resolve()
    local = config_to_dict(dataclasses.replace(cfg, detector=dataclasses.replace(cfg.detector, model=str(path))))
    return [dataclasses.replace(t, cfg_dict=local) for t in tasks], path.read_bytes() if cluster else None


def _refuse_gallery_in_video_folders(gallery: Path, out: Path, folders: set[str], names: SettingNames) -> None:
    """ValueError for a gallery in a folder of `out` (`out/cam1/site.gallery`) or named as a video's folder
    (`out/cam1`): a video tracked again replaces its folder, and the gallery went with it (the batch then linked into
    an empty gallery: every identity before it lost), or the reduce found a folder where it saves the gallery.
    `folders`: the names of this batch's video folders (`_video_folders`); a folder of `out` that none of them is
    (`out/galleries/site.gallery`) is no video's, and a re-run leaves it."""
    for inside in _places_in(gallery, out):
        if not inside or inside[0] in folders:  # (none: `out` itself)
            break
    else:
        return
    raise ValueError(
        f"{names.gallery} {gallery} is in {names.out_dir} {out} where a video's outputs go, which a re-run "
        f"replaces (the gallery with them): keep the gallery beside the batch folder, or in it outside the videos' "
        f"folders, under another name than a video's"
    )


def _refuse_other_runs(out: Path, names: SettingNames) -> None:
    """ValueError for an `out` that holds another kind of run: a `track` run's folder or a video's folder of another
    batch (its `config.yaml`), or a `track eval` / `track compare` run's (its tables, its mark). The videos went into
    sub-folders there, mixed with that run's files, and the other batch's re-run, which replaces its video's folder
    whole, deleted this batch (its gallery too); `track --out` and `track eval --out` refuse each other's folders."""
    held = [name for name in (CONFIG_NAME, *EVAL_RUN_FILES) if (out / name).is_file()]
    if held:
        raise ValueError(
            f"{names.out_dir} {out} holds another kind of run ({held[0]}: a `track` run's folder, a video's folder "
            f"of another batch, or a `track eval` / `track compare` run's): choose another {names.out_dir}, a "
            f"folder of its own for the batch"
        )


def _video_folders(tasks: Sequence[VideoTask]) -> set[str]:
    """The names of the folders of `out` a run of `tasks` replaces: each video's (`out/cam`), the one it is written
    to (`out/.cam.partial`) and the one its earlier outputs are moved to while they are replaced (`out/.cam.old`)."""
    return {name for t in tasks for name in (t.name, t.partial_dir.name, f".{t.name}{OLD_SUFFIX}")}


def _places_in(gallery: Path, out: Path) -> list[tuple[str, ...]]:
    """Where `gallery` is under `out`, as path parts (empty: `out` itself), as written and through symbolic links
    (`--out link`, link -> real, and `--gallery real/cam/site.gallery` are one folder); the gallery's own name is
    kept unresolved (a re-run replaces a link named as a video's folder too). None of them: not under `out`."""
    written = Path(os.path.abspath(gallery))
    pairs = (
        (written, Path(os.path.abspath(out))),
        (Path(os.path.realpath(written.parent)) / written.name, Path(os.path.realpath(out))),
    )
    places = []
    for where, folder in pairs:
        try:
            places.append(where.relative_to(folder).parts)
        except ValueError:  # (not under `out` this way)
            continue
    return places


def _refuse_in_a_starting_worker() -> None:
    """RuntimeError where this process is a worker being spawned (`multiprocessing`'s bootstrap, the state its own
    "start a new process before ... bootstrapping" check reads) and the script it imports again calls `track_many`
    at its top level: each worker ran the batch again and failed on the batch folder's lock ("in use by another
    track run"), four tracebacks a video and the video failed, where the fix is one line of the script."""
    import multiprocessing

    if getattr(multiprocessing.current_process(), "_inheriting", False):
        raise RuntimeError(
            "track_many was called again in a worker of the local engine as it imported your script (its workers "
            'are spawned: each imports the main module): put the call under `if __name__ == "__main__":`'
        )


def _check_engine(
    engine: str, address: str | None, gpus_per_video: float, workers: int | None, names: SettingNames
) -> None:
    """`track_many`'s engine settings, refused (its TypeError and ValueError, an ImportError without Ray, a
    ConnectionError for an `address` that accepts no connection) before any work; `workers` with Ray is a warning."""
    if engine not in ENGINES:
        raise ValueError(f"engine must be one of {', '.join(ENGINES)}, got {engine!r}")
    if isinstance(gpus_per_video, bool) or not isinstance(gpus_per_video, numbers.Real):  # ("0.5": a bare "'<=' not
        raise TypeError(  # supported between instances of 'int' and 'str'")
            f"gpus_per_video must be a number (a GPU share: 0.25, 0.5, 1, ...; 0: none), got "
            f"{type(gpus_per_video).__name__} {gpus_per_video!r}"
        )
    if not 0 <= gpus_per_video < float("inf"):  # NaN too: Ray failed on it after starting ("cannot convert")
        raise ValueError(f"gpus_per_video must be a finite number >= 0, got {gpus_per_video}")
    if gpus_per_video > 1 and not float(gpus_per_video).is_integer():  # (Ray refused it once started, as a tuple)
        raise ValueError(
            f"{names.setting('gpus_per_video', float(gpus_per_video))}: a share above 1 must be whole GPUs (Ray gives "
            "a task part of one GPU, or whole GPUs): 0.25, 0.5, 1, 2, ..."
        )
    if engine == "local" and (gpus_per_video or address):  # (each named only where given: `--address auto` alone
        given = [name for name, value in ((names.gpus_per_video, gpus_per_video), (names.address, address)) if value]
        verb = "needs" if len(given) == 1 else "need"  # was told "--gpus-per-video and --address need ...")
        raise ValueError(
            f"{' and '.join(given)} {verb} {names.setting('engine', 'ray')} (local processes share the device)"
        )
    if engine == "ray":
        from tracker.ray_engine import check_local_gpus, check_reachable, import_ray

        if workers is not None:  # (the CLI refuses `--workers` with Ray; a caller's call goes on, as it did)
            log.warning(
                "workers=%s is not used with engine='ray': Ray runs one task per free CPU of its nodes", workers
            )
        import_ray()  # the clear errors before any work
        check_reachable(address, names)
        check_local_gpus(gpus_per_video, address, names)  # (a Ray started here: before its ~5 s start)


def track_many(
    sources: Sequence[str | Path],
    config: TrackerConfig | str | Path | None,
    out_dir: str | Path,
    engine: str = "local",
    address: str | None = None,
    gpus_per_video: float = 0.0,
    workers: int | None = None,
    save_video: bool = True,
    max_frames: int | None = None,
    progress: bool = True,
    make_tracker: TrackerFactory | None = None,
    gallery: str | Path | None = None,
    names: SettingNames = PARAMETERS,
    notify: Callable[[str], None] | None = None,
    relink: bool = False,
) -> BatchSummary:
    """Track every source in its own task; outputs in `out_dir/<name>/` (the files `track` writes).

    Args:
        sources: what `track` accepts, one per video (missing or broken ones fail alone).
        config: the tracker config for every video: a `TrackerConfig`, a YAML file (`load_config`), or None
            (the defaults).
        out_dir: the batch folder; a re-run reuses videos whose outputs came from the same inputs.
        engine: "ray" (Ray tasks; `address` joins a cluster, None starts a local Ray) or "local" (processes).
        address: Ray only: the cluster to join (`host:port`, `ray://host:port`, "auto"); None: `$RAY_ADDRESS`, else
            a local Ray.
        gpus_per_video: GPU share each Ray task asks for (e.g. 0.25: four videos per GPU); Ray only.
        workers: local engine: processes at a time (default: one per core); not used by Ray (one task per free
            CPU: a warning is logged if given; `track batch --engine ray --workers N` is refused).
        save_video: write each video's annotated video too (as `track`; the MOT txt and JSONL always).
        max_frames: track at most this many frames of each video (None: all).
        progress: show the videos' progress while they run (`tracker.batch_progress`).
        make_tracker: (config, frame rate, gallery=None) -> Tracker, picklable (a module-level function);
            default `Tracker.from_config`. Tests give a fake detector this way.
        gallery: an identity gallery file (`tracker.gallery`; created if absent, and its folder). Every task starts
            from it as it is now; when all videos have ended, their identities are linked into it in one reduce
            step (`tracker.batch_link`), global IDs are written beside each video's outputs, and the file
            is saved atomically. When no video was tracked to its end (every one failed), nothing is linked and
            the file is left as it was, or not created (`BatchSummary.gallery_saved` False).
        names: what the errors call these settings: the parameters (`PARAMETERS`), or `track batch`'s options
            (`tracker.batch_names.OPTIONS`, the CLI's).
        notify: receives notes for the user (a stale lock of `out_dir` taken over); None logs them as warnings.
        relink: with a `gallery`, link videos whose sightings the gallery file holds already (it records which
            sources it holds: `tracker.gallery_sources`) again, counting them again; False: such videos are refused
            before any starts (`SourceLinkedError`), except those an earlier run of this batch into `out_dir` linked,
            which are reused and not linked again.
    Returns:
        A `BatchSummary` with one result per source, in order.
    Raises:
        TypeError: `sources` given as one string or path (a list is needed), `config` of another type, `gallery`
            not a path (a `Gallery` object), `gpus_per_video` not a number (a string such as "0.5").
        ConfigError: a `config` that cannot be used: a YAML file's, or one made in Python (`dataclasses.replace`),
            or with a `gallery`, `gallery.min_embeddings` above `appearance.bank_capacity`; checked before any video
            starts.
        ValueError: unknown engine, no sources, with `save_video` an `out_dir` whose path is not UTF-8 (OpenCV
            cannot write a video there), a GPU share that is not a finite number >= 0 (or above 1 and not
            whole), a GPU share or an `address` with the local engine, an `address` (or `$RAY_ADDRESS`) that is no
            cluster address, a GPU share a local Ray has no GPUs for, a gallery without ReID, a gallery in a
            video's folder of `out_dir` (or named as one), which a re-run replaces; an `out_dir` holding another kind
            of run (a `track` run's `config.yaml`, a `track eval` / `track compare` run's tables); without a
            `gallery`, one source given twice (the same name, or another name of the same file: `./a.mp4`, its
            absolute path, a link; `tracker.batch_repeats`), named with its positions, before any video starts.
        RuntimeError: called while this process is a worker the local engine spawned, still importing the script
            that started the batch (a call at the script's top level, not under `if __name__ == "__main__":`).
        ImportError: engine "ray" without Ray installed.
        ConnectionError: an `address` (host:port) where nothing accepts a connection (checked before any video).
        GalleryError: a gallery file that cannot be used: unreadable, corrupt, or made with another ReID model;
            `SourceLinkedError`: one that holds the sightings of a video to track already (not linked by an earlier
            run of this batch), or a video given twice (checked before any video starts; `relink` links them again).
        FolderInUse: another run uses the gallery file, or another batch (or `track` run) writes into `out_dir`
            (`tracker.io.lock`; checked before any video starts).
        FileNotFoundError: missing detector or ReID weights (with the default tracker, on this machine: the local
            engine or a local Ray; checked before any video starts; on a cluster each task checks on its node).
        OSError: `out_dir` cannot be created or written (named); an official detector name (the default) not found
            here whose download failed (offline), before any video: the driver downloads it once (on a cluster too,
            sending its bytes to the tasks through Ray's object store).
    """
    _refuse_in_a_starting_worker()
    if isinstance(sources, str | Path):  # (a string was tracked character by character: "b.mp4" opened webcam 4)
        raise TypeError(f"sources must be a list of sources, one per video, got one: [{str(sources)!r}]")
    if config is not None and not isinstance(config, TrackerConfig | str | Path):
        raise TypeError(
            f"config must be a TrackerConfig, a YAML path or None (load_config(path, overrides)), got "
            f"{type(config).__name__}"
        )
    if gallery is not None and not isinstance(gallery, str | os.PathLike):  # (a `Gallery`: "expected str, bytes ...")
        raise TypeError(
            f"gallery must be the path of a gallery file (every task reads it, the batch saves it), got "
            f"{type(gallery).__name__}"
        )
    if not sources:
        raise ValueError("no sources to track")
    _check_engine(engine, address, gpus_per_video, workers, names)
    # (None: the defaults; one built in Python, `dataclasses.replace`, checked here as `Tracker` checks it: else an
    # invalid one failed every video in turn)
    if save_video:  # (not UTF-8: every video failed at its first frame, after its models loaded)
        check_video_folder(Path(out_dir), names.out_dir, "--no-save-video" if names.flags else "save_video=False")
    _refuse_other_runs(Path(out_dir), names)  # (before the lock, which makes the folder and its lock file)
    cfg = validate_config(config) if isinstance(config, TrackerConfig) else load_config(config)
    cluster = engine == "ray" and joins_cluster(address)  # nodes that look for files on their own disks
    models_here = make_tracker is None and not cluster
    if models_here:
        from tracker.model_setup import require_model_files

        require_model_files(cfg)  # once, not per video (a cluster's nodes look for weights on their own disks)
    gallery_path = None if gallery is None else Path(gallery)
    recorded: dict[str, LinkedSource] = {}  # the sources whose sightings the gallery file holds
    with ExitStack() as held:
        if gallery_path is not None:
            # no other run adds to it until linked; its folder is made as `out`'s is (removed if nothing is saved)
            held.enter_context(gallery_lock(gallery_path, names.gallery, make_folder=True))
            recorded = _check_gallery(gallery_path, cfg, make_tracker is not None, names.gallery)
        out = Path(out_dir)  # one batch at a time: a second one would delete and rename this one's folders
        lock = held.enter_context(FolderLock(out, subject=f"the batch folder {out}", option=names.out_dir))
        if lock.stale_holder is not None:  # (a driver killed with `kill -9`: it was taken over without a word)
            (notify or log.warning)(
                f"the batch folder {out} was locked by process {lock.stale_holder}, which is gone (killed, or "
                "crashed): took its lock over"
            )
        if gallery_path is not None:  # (`--gallery OUT`: made by the lock just now, "Is a directory" when read)
            _refuse_gallery_in_video_folders(gallery_path, out, set(), names)
        start = gallery_path.read_bytes() if gallery_path is not None and gallery_path.exists() else None
        sources_ = [str(s) for s in sources]
        tasks = make_tasks(sources_, cfg, out, save_video, max_frames, make_tracker, gallery_path, start)
        if gallery_path is not None:  # (named as a video's folder: found a folder there when saved, at the end)
            _refuse_gallery_in_video_folders(gallery_path, out, _video_folders(tasks), names)
        started = time.perf_counter()
        applied = {} if gallery_path is None else linked_before(out, gallery_path, recorded)
        linked = _linked_tasks(tasks, applied, (sources_, cfg, out, save_video, max_frames, make_tracker, gallery_path))
        tasks = [linked.get(t.index, (t, None))[0] for t in tasks]
        keyed = {} if gallery_path is None else {t.index: source_keys(t.source) for t in tasks}
        keys = {index: key for index, (key, _) in keyed.items()}
        if gallery_path is not None and not relink:  # (before any task: each would be linked again, counted twice)
            fresh = [t for t in tasks if t.index not in linked]
            named, heads = [(t.source, keys[t.index]) for t in fresh], [keyed[t.index][1] for t in fresh]
            refuse_linked(recorded, named, gallery_path, "the batch", names.gallery, heads=heads)
        reused = {t.index: r for t in tasks if (r := reused_result(t)) is not None}
        if gallery_path is None:  # (a gallery's own check keys sources by their bytes, copies too; `relink` asks)
            refuse_repeated(sources_, reused)  # (tracked once per name, into `a/` and `a_2/`, without a word)
        unnamed = {t.index: r for t in tasks if t.index not in reused and (r := names_nothing(t)) is not None}
        todo = [t for t in tasks if t.index not in reused and t.index not in unnamed]
        for task in todo:  # (a key an upgrade added, at its default, is no change: `make_tasks`)
            if changes := config_changes(task):
                (notify or log.warning)(f"{task.name}: tracked again, as {changes}")
        detector = None  # on a cluster, the official detector's bytes for nodes without its file
        if make_tracker is None and todo:  # an official detector name is downloaded here, once: no task downloads
            todo, detector = _with_local_detector(cfg, todo, cluster)
        monitor = Monitor(todo, progress and bool(todo))  # (every video reused or unnamed: no empty bar)
        try:
            with terminating_interrupts():  # the engines' cleanup stops the tasks
                if not todo:
                    results = []
                elif engine == "ray":
                    results = run_ray(todo, cfg.batch, monitor, address, gpus_per_video, start, names, detector)
                else:
                    results = run_local(todo, cfg.batch, monitor, workers or os.cpu_count() or 1, start)
        finally:
            monitor.close()
        by_index = reused | unnamed | {r.index: r for r in results}
        videos = [by_index[t.index] for t in tasks]
        summary = BatchSummary(videos, 0.0, engine, gallery=gallery_path)
        if gallery_path is not None:
            from tracker.gallery import Gallery

            began = start_digest(start)
            finished = [
                LinkedVideo(
                    v.out_dir,
                    v.stem,
                    tasks[v.index].fingerprint,
                    began,
                    linked.get(v.index, (None, None))[1],
                    source=v.source,
                    source_key=keys[v.index],
                    source_head=keyed[v.index][1],
                    frames=v.frames,
                    cut_short=v.cut_short,
                )
                for v in videos
                if v.status != "failed" and v.stem
            ]
            linked_names = [v.name for v in videos if v.status != "failed" and v.stem]
            if finished:
                ids = link_batch(finished, gallery_path, cfg, out, applied, relink=relink)
                summary.global_ids = dict(zip(linked_names, ids, strict=True))
                for video in videos:  # the files with their global IDs are outputs too
                    if video.status != "failed" and video.stem:
                        more = [p for p in global_outputs(video.out_dir, video.stem) if p not in video.outputs]
                        video.outputs = [*video.outputs, *more]
                summary.linked_before = sum(video.linked is not None for video in finished)
                saved = {i.global_id for i in Gallery.load(gallery_path, cfg.gallery, prune=False).identities}
                summary.gallery_identities = len(saved)  # a start gallery's identities too, not only the batch's
                summary.unsaved_identities = len(summary.identities - saved)
            else:  # nothing to link: the file is left as it was (it used to be saved: pruned, or made empty)
                summary.gallery_saved = False
                log.info("no video was tracked, so the gallery %s was not saved", gallery_path)  # (its summary says)
        summary.seconds = time.perf_counter() - started
        return summary
