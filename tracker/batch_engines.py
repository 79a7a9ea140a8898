"""The engines of `track batch`: `run_ray` (one Ray task per video; Ray re-runs a task whose worker died) and
`run_local` (the same task function in spawned processes, one per core, re-run the same way; a process whose driver
is gone stops as a SIGTERM would stop it). Both take the tasks to run and return their results, told to the monitor
as they end.
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import queue
import shutil
import signal
import sys
import threading
import time
from collections import deque
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from tracker.batch_names import SettingNames
from tracker.batch_progress import Monitor, drain
from tracker.batch_task import INTERRUPTED, THREADS_PER_VIDEO, run_video
from tracker.batch_work import VideoResult, VideoTask, failed_result, one_line
from tracker.parent_watch import on_parent_exit
from tracker.wording import count
from tracker.worker_log import LogRelay, relaying, send_to_parent

__all__ = ["EXIT_STOPPED", "OMP_THREADS_ENV", "run_local", "run_ray"]

log = logging.getLogger("tracker.batch")  # the batch's logger: its messages keep their source

STOP_TIMEOUT_S = 30  # a stopped batch waits this long for a local worker to finish its frame
POLL_S = 0.2  # how often the driver looks at the progress queue and at finished tasks
OMP_THREADS_ENV = "OMP_NUM_THREADS"
EXIT_STOPPED = 128 + signal.SIGTERM  # a local worker stopped by SIGTERM between frames exits with this, as if killed


def run_ray(
    tasks: list[VideoTask],
    batch: Any,
    monitor: Monitor,
    address: str | None,
    gpus_per_video: float,
    start_gallery: bytes | None,
    names: SettingNames,
    detector_weights: bytes | None = None,
) -> list[VideoResult]:
    """One Ray task per video (`names`: what errors call the settings, `tracker.batch_names`). `detector_weights`: the
    bytes of the tasks' detector file, for nodes of a cluster without it (`run_video`), put in Ray's object store
    once."""
    from tracker.ray_engine import check_gpus, in_folder, joins_cluster, ray_session, worker_logs_hint

    cancelled: list[VideoTask] = []  # the tasks a stop cancelled: their unfinished folders are dropped at the end
    try:
        with ray_session(address, quiet=not monitor.show, names=names) as ray:
            from ray.util.queue import Queue

            check_gpus(ray, gpus_per_video, joins_cluster(address), names)  # before any task

            logs = worker_logs_hint(ray)  # (the driver logs only Ray's errors: a worker's traceback stays in its log)

            channel = Queue(actor_options={"num_cpus": 0})
            remote = ray.remote(in_folder).options(  # in the driver's folder: its relative paths
                num_cpus=THREADS_PER_VIDEO,
                num_gpus=gpus_per_video,
                max_retries=batch.max_retries,
                retry_exceptions=False,
            )
            start, weights = ray.put(start_gallery), ray.put(detector_weights)  # one copy in the object store for all
            folder = os.getcwd()
            refs = {
                remote.remote(folder, run_video, t, channel, batch.progress_seconds, start, weights): t for t in tasks
            }
            pending, results = list(refs), []
            try:
                while pending:
                    ready, pending = ray.wait(pending, num_returns=1, timeout=POLL_S)
                    drain(channel, monitor)
                    for ref in ready:
                        task = refs[ref]
                        try:
                            result = ray.get(ref)
                        except ray.exceptions.RayError as exc:  # the worker died more than max_retries times
                            reason = f"{type(exc).__name__}: {one_line(exc, keep_end=False)}; {logs}"
                            result = failed_result(task, reason, monitor.attempts[task.index])
                        result.attempts = max(monitor.attempts[task.index], 1)
                        monitor.finish(result)
                        results.append(result)
            except BaseException:
                cancelled = [refs[ref] for ref in pending]
                for ref in pending:
                    ray.cancel(ref, force=True)
                if pending:  # a cancelled task's worker is killed mid-frame (a second Ctrl-C cuts this wait short)
                    ray.wait(pending, num_returns=len(pending), timeout=STOP_TIMEOUT_S)
                raise
            finally:
                ray.kill(channel.actor)
    finally:  # once Ray is stopped (also after a second Ctrl-C, which cut the wait for the cancelled tasks short and
        # skipped this: a `.<name>.partial/` stayed in --out until a re-run), as a stopped local worker drops its own
        for task in cancelled:
            shutil.rmtree(task.partial_dir, ignore_errors=True)
    return results


@dataclass
class _LocalWorker:
    """A local engine process, its own inbox, and the video it holds (None: idle). The driver hands each worker
    one video at a time, so it knows the video of a worker that dies, whenever it dies (from a shared queue, a
    worker killed after taking a video but before telling the driver left the batch waiting for it for good)."""

    process: Any
    inbox: Any
    index: int | None = None


def run_local(
    tasks: list[VideoTask], batch: Any, monitor: Monitor, workers: int, start_gallery: bytes | None
) -> list[VideoResult]:
    """The same task function in `workers` spawned processes, each handed one video at a time. A process that
    dies in a video is replaced, and the video is run again, up to `batch.max_retries` times, as Ray does."""
    context = multiprocessing.get_context("spawn")  # a fork after torch started its thread pools can deadlock
    with relaying(context) as relay:  # (the workers' log records are printed as the driver's own)
        channel = context.Queue()
        by_index = {t.index: t for t in tasks}
        waiting = deque(by_index)  # videos not handed out yet (or to run again), in batch order
        handed = dict.fromkeys(by_index, 0)  # times each video was handed to a worker

        def start() -> _LocalWorker:
            inbox = context.Queue()
            process = context.Process(
                target=_local_worker, args=(inbox, channel, batch.progress_seconds, start_gallery, relay), daemon=True
            )
            with _child_threads(THREADS_PER_VIDEO):
                process.start()
            return _LocalWorker(process, inbox)

        def hand_out() -> None:
            for worker in live:
                if worker.index is None and waiting:
                    worker.index = waiting.popleft()
                    handed[worker.index] += 1
                    worker.inbox.put(by_index[worker.index])

        live = [start() for _ in range(min(workers, len(tasks)))]
        results: dict[int, VideoResult] = {}
        try:
            while len(results) < len(tasks):
                hand_out()
                time.sleep(POLL_S)
                dead = [w for w in live if not w.process.is_alive()]
                for index, kind, value in drain(channel, monitor):  # after the liveness check: sees last words
                    if kind == "result":  # (told to the monitor by `drain`)
                        value.attempts = handed[index]
                        results[index] = value
                        for worker in live:
                            if worker.index == index:
                                worker.index = None
                for worker in dead:
                    live.remove(worker)
                    lost = worker.index  # (the video it held, if any)
                    if lost is None or lost in results:
                        continue
                    if handed[lost] <= batch.max_retries:  # run again, first in line
                        monitor.died(lost, _how_it_ended(worker.process.exitcode))  # (said in its "running again" line)
                        waiting.appendleft(lost)
                    else:
                        results[lost] = _died(by_index[lost], worker.process.exitcode, handed[lost])
                        monitor.finish(results[lost])
                held = sum(w.index is not None for w in live)
                while len(live) < min(workers, len(waiting) + held):  # a dead worker's place, while there is work
                    live.append(start())
        except BaseException:
            _stop_workers(live, [by_index[w.index] for w in live if w.index is not None and w.index not in results])
            raise
        for worker in live:
            worker.inbox.put(None)
        for worker in live:
            worker.process.join()
        return list(results.values())


def _stop_workers(live: list[_LocalWorker], unfinished: list[VideoTask]) -> None:
    """Stop the local engine's processes: each finishes its frame, drops its video's partial outputs and exits
    (SIGTERM); one still running after `STOP_TIMEOUT_S`, or when another interrupt comes while they finish (a second
    Ctrl-C), is killed. Once none is left, the `.<name>.partial/` folders of the `unfinished` videos that a killed
    process left are dropped here (a second Ctrl-C let Python's exit handler signal the workers again, which
    aborted them mid-frame and left their folders in --out until a re-run)."""
    for worker in live:
        worker.process.terminate()
    try:
        for worker in live:
            worker.process.join(STOP_TIMEOUT_S)  # before Python's exit handler signals them a second time (an abort)
    finally:
        for worker in live:
            if worker.process.is_alive():
                worker.process.kill()
        for worker in live:
            worker.process.join()  # (killed: at once)
        for task in unfinished:  # (no process writes there now)
            shutil.rmtree(task.partial_dir, ignore_errors=True)


def _died(task: VideoTask, exit_code: int | None, attempts: int) -> VideoResult:
    """The failed result of a video whose worker died in each of its `attempts`, in words."""
    died = count(attempts, "time")  # ("died ... 1 times" with batch.max_retries=0)
    return failed_result(task, f"worker process died ({_how_it_ended(exit_code)}) {died}", attempts)


def _how_it_ended(exit_code: int | None) -> str:
    """A dead process's exit code in words: "killed by signal 9 (SIGKILL)" (multiprocessing's -9), "exit code 1"."""
    if exit_code is None or exit_code >= 0:
        return f"exit code {exit_code}"
    try:
        name = f" ({signal.Signals(-exit_code).name})"
    except ValueError:  # a number this platform names no signal
        name = ""
    return f"killed by signal {-exit_code}{name}"


@contextmanager
def _child_threads(threads: int) -> Iterator[None]:
    """Processes started inside see OMP_NUM_THREADS=threads (as Ray sets it for a task of that many CPUs), so
    the native thread pools (OpenMP, oneDNN, OpenVINO) of one video do not spread over the other videos' cores."""
    before = os.environ.get(OMP_THREADS_ENV)
    os.environ[OMP_THREADS_ENV] = str(threads)
    try:
        yield
    finally:
        if before is None:
            os.environ.pop(OMP_THREADS_ENV, None)
        else:
            os.environ[OMP_THREADS_ENV] = before


def _bars_lock_in_this_process() -> None:
    """tqdm's lock as a thread lock, not its default process-shared semaphore: a worker's bars are hidden (the
    driver draws the batch's), and a worker killed (`kill -9`, the out-of-memory killer) after its first video left
    that semaphore to the resource tracker, which ended the batch with "UserWarning: resource_tracker: There appear
    to be 1 leaked semaphore objects to clean up at shutdown" under a summary that was fine."""
    from tqdm import tqdm

    tqdm.set_lock(threading.RLock())


def _stop_when_driver_dies() -> None:
    """In a local engine process: when the driver process ends without stopping this one (`kill -9`, a crash, the
    out-of-memory killer), stop as a SIGTERM from the driver would (finish the frame, drop the unfinished folder,
    exit) instead of tracking the rest of the batch orphaned, into folders a re-run would then write too."""

    def stop() -> None:
        log.warning("the batch's driver process ended: stopping this worker (pid %d)", os.getpid())
        os.kill(os.getpid(), signal.SIGTERM)

    on_parent_exit(stop)


class _StopRequest:
    """The SIGTERM handler of a local worker outside a video's frames (waiting for a video, loading models): exit
    through Python, whose exit handlers release the process's semaphores (the default action left them to the
    resource tracker, which warned "There appear to be N leaked semaphore objects" after every stopped batch).

    The request is also remembered: a handler's exception is dropped when the signal lands in a weakref callback or a
    `__del__` (the garbage of the video just tracked), so the worker went on waiting for its next video, or tracked
    it, until the driver killed it `STOP_TIMEOUT_S` (30 s) later, and Python printed the dropped exit's traceback
    under the batch's progress."""

    def __init__(self) -> None:
        self.requested = False

    def __call__(self, _signum: int, _frame: Any) -> None:
        self.requested = True
        sys.exit(EXIT_STOPPED)

    def unraisable(self, info: Any) -> None:
        """`sys.unraisablehook`: this request's exit, dropped where Python cannot raise it, is said nowhere (the
        worker exits at its next look at `requested`); anything else goes to Python's hook."""
        if not (isinstance(info.exc_value, SystemExit) and self.requested):
            sys.__unraisablehook__(info)


def _next_task(inbox: Any, stop: _StopRequest) -> VideoTask | None:
    """The next video the driver hands this worker, None at the end of the batch or once a stop was requested."""
    while not stop.requested:
        try:
            return inbox.get(timeout=POLL_S)
        except queue.Empty:
            continue
    return None


def _local_worker(
    inbox: Any, channel: Any, progress_seconds: float, start_gallery: bytes | None, relay: LogRelay | None = None
) -> None:
    """A local engine process: tracks the videos the driver puts in its `inbox`, one at a time, until it gets
    None (or its driver is gone, or stops it). Its log records go to the driver through `relay` (None: as they are
    set up in this process)."""
    if relay is not None:
        send_to_parent(relay)
    stop = _StopRequest()
    sys.unraisablehook = stop.unraisable  # (this process is the batch's own)
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the driver's: it stops the processes
    signal.signal(signal.SIGTERM, stop)  # (while tracking, `track`'s loop finishes its frame first)
    _stop_when_driver_dies()
    _bars_lock_in_this_process()
    while (task := _next_task(inbox, stop)) is not None and not stop.requested:
        result = run_video(task, channel, progress_seconds, start_gallery)
        channel.put((task.index, "result", result))
        if result.reason == INTERRUPTED:  # the driver stopped the batch: take no further video
            return
    if stop.requested:  # (an exit dropped in a weakref callback: the request stands)
        sys.exit(EXIT_STOPPED)
