"""The tracker bounds torch's and numpy's BLAS threads for its own work only, and gives the caller's setting back."""

from __future__ import annotations

import copy
import os
import pickle
import subprocess
import sys
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pytest
import torch
from threadpoolctl import threadpool_info, threadpool_limits

from tracker import Tracker, load_config
from tracker.testing import Walker, identity_embeddings, linear_path, render
from tracker.threads import BlasThreads, _numpy_blas_file, exact_torch_threads, torch_threads


@pytest.fixture
def two_threads():
    with exact_torch_threads(2):
        yield


def test_torch_threads_bounds_inside_and_restores_after(two_threads):
    with torch_threads(1) as before:
        assert before == 2
        assert torch.get_num_threads() == 1
        with exact_torch_threads(before):
            assert torch.get_num_threads() == 2
        assert torch.get_num_threads() == 1
    assert torch.get_num_threads() == 2


def test_torch_threads_never_raises_and_zero_leaves_alone(two_threads):
    with torch_threads(8):
        assert torch.get_num_threads() == 2
    with torch_threads(0):
        assert torch.get_num_threads() == 2


def test_torch_threads_restores_after_an_error(two_threads):
    with pytest.raises(RuntimeError), torch_threads(1):
        raise RuntimeError("boom")
    assert torch.get_num_threads() == 2


def _crossing_frames(count: int = 40):
    """Two people crossing: contested pairs, so the bank similarity (torch ops) runs on most frames."""
    walkers = [Walker(0, linear_path(100, 300, 8, 0)), Walker(1, linear_path(420, 305, -8, 0))]
    rng = np.random.default_rng(0)
    identities = identity_embeddings(2, 64)
    return [render(walkers, f, identities, 0.03, rng) for f in range(count)]


def test_core_runs_with_one_thread_and_callers_reid_gets_the_callers_threads(two_threads, monkeypatch):
    seen_core, seen_embed = set(), set()
    cfg = load_config(None, overrides=["device=cpu"])
    tracker = Tracker(cfg, frame_rate=30)
    real = tracker.core.step

    def spy_step(dets, embed=None, **kwargs):
        seen_core.add(torch.get_num_threads())
        return real(dets, embed, **kwargs)

    monkeypatch.setattr(tracker.core, "step", spy_step)
    for det in _crossing_frames():

        def embed(rows, det=det):
            seen_embed.add(torch.get_num_threads())
            return det.embeddings[rows]

        tracker.update_detections(det.boxes_xyxy, det.scores, embed=embed)
        assert torch.get_num_threads() == 2  # the caller's setting is back after every frame
    assert seen_core == {1}
    assert seen_embed == {2}


def test_input_validation_runs_with_the_cores_threads(two_threads, monkeypatch):
    """The normalisation of a crowd's embeddings (200 x 512: big enough for torch to go parallel) runs under the
    core's bound too: with spin-waiting threads it took 7 ms of a 12 ms frame on a busy 2-core machine."""
    import tracker.pipeline

    seen = set()
    real = tracker.pipeline.Detections.from_arrays

    def spy(*args, **kwargs):
        seen.add(torch.get_num_threads())
        return real(*args, **kwargs)

    monkeypatch.setattr(tracker.pipeline.Detections, "from_arrays", spy)
    tracker_ = Tracker(load_config(None, overrides=["device=cpu"]), frame_rate=30)
    rng = np.random.default_rng(0)
    corners = rng.uniform(0, 1000, (200, 2))
    boxes = np.concatenate([corners, corners + 50], axis=1)
    tracker_.update_detections(boxes, np.full(200, 0.9), embeddings=rng.normal(size=(200, 512)))
    assert seen == {1}
    assert torch.get_num_threads() == 2


def test_core_threads_zero_leaves_torch_alone(two_threads, monkeypatch):
    tracker = Tracker(load_config(None, overrides=["device=cpu", "core_threads=0"]), frame_rate=30)
    seen = set()
    real = tracker.core.step

    def spy_step(dets, embed=None, **kwargs):
        seen.add(torch.get_num_threads())
        return real(dets, embed, **kwargs)

    monkeypatch.setattr(tracker.core, "step", spy_step)
    for det in _crossing_frames(5):
        tracker.update_detections(det.boxes_xyxy, det.scores, embeddings=det.embeddings)
    assert seen == {2}


def test_results_do_not_depend_on_the_thread_count():
    frames = _crossing_frames()
    outputs = []
    for threads in (0, 1):
        tracker = Tracker(load_config(None, overrides=["device=cpu", f"core_threads={threads}"]), frame_rate=30)
        ids = [
            [
                (o.track_id, o.detection_index)
                for o in tracker.update_detections(d.boxes_xyxy, d.scores, embeddings=d.embeddings)
            ]
            for d in frames
        ]
        outputs.append(ids)
    assert outputs[0] == outputs[1]
    assert {tid for frame in outputs[0] for tid, _ in frame} == {1, 2}


def _blas_threads() -> set[int]:
    """The thread counts of numpy's BLAS (OpenBLAS or MKL; every BLAS library loaded where its file cannot be told)."""
    return {lib["num_threads"] for lib in _blas_info(numpys=True)}


def _blas_info(numpys: bool) -> list[dict]:
    """threadpoolctl's info of numpy's BLAS libraries (`numpys`; all where none is told apart) or of the others."""
    blas = [lib for lib in threadpool_info() if lib["user_api"] == "blas"]
    own = _numpy_blas_file()
    if own is None or not any(os.path.realpath(lib["filepath"]) == own for lib in blas):
        return blas if numpys else []
    return [lib for lib in blas if (os.path.realpath(lib["filepath"]) == own) == numpys]


@pytest.fixture
def two_blas_threads():
    with threadpool_limits(2, user_api="blas"):
        if _blas_threads() != {2}:
            pytest.skip("numpy's BLAS cannot run 2 threads here (one core)")
        yield


def test_core_runs_numpys_blas_on_one_thread_and_callers_reid_gets_the_callers(two_blas_threads, monkeypatch):
    """numpy's BLAS pool spin-waits as torch's does (a crossing world of 100 people: 25-48 ms a frame against 3.7-8.7
    with one thread, `tools/bench_core.py --tracks-world crossing`): the frame runs with `core_threads` of it, the
    caller's ReID callback with the caller's, and the caller's count is back after every frame (also after an error,
    and in a copy or an unpickled tracker, which find the library again)."""
    seen_core, seen_embed = set(), set()
    tracker = Tracker(load_config(None, overrides=["device=cpu"]), frame_rate=30)
    real = tracker.core.step

    def spy_step(dets, embed=None, **kwargs):
        seen_core.update(_blas_threads())
        return real(dets, embed, **kwargs)

    monkeypatch.setattr(tracker.core, "step", spy_step)
    frames = _crossing_frames(20)
    for det in frames[:10]:

        def embed(rows, det=det):
            seen_embed.update(_blas_threads())
            return det.embeddings[rows]

        tracker.update_detections(det.boxes_xyxy, det.scores, embed=embed)
        assert _blas_threads() == {2}
    assert seen_core == {1} and seen_embed == {2}
    wrong = np.ones((len(frames[10].scores), 3))  # D = 3 against the banks' 64: refused inside the bounded block
    with pytest.raises(ValueError, match="D = 3"):
        tracker.update_detections(frames[10].boxes_xyxy, frames[10].scores, embeddings=wrong)
    assert _blas_threads() == {2}
    monkeypatch.undo()
    for fork in (copy.deepcopy(tracker), pickle.loads(pickle.dumps(tracker))):
        spied = set()

        def spy(dets, embed=None, spied=spied, real=fork.core.step, **kwargs):
            spied.update(_blas_threads())
            return real(dets, embed, **kwargs)

        fork.core.step = spy
        for det in frames[10:]:
            fork.update_detections(det.boxes_xyxy, det.scores, embeddings=det.embeddings)
        assert spied == {1} and _blas_threads() == {2}


def test_a_frame_in_a_worker_thread_bounds_numpys_blas_too(two_blas_threads):
    """threadpoolctl sets OpenBLAS's count (its pthreads layer, numpy's wheels) only from the first thread that set it,
    while that thread lives, and silently does nothing from any other: a tracker's frame in a worker thread (a
    service's thread pool, one camera a thread), after the main thread set the count, ran numpy's BLAS on every core
    (the crossing world at T = 100: 54-57 ms a frame against 9-12 in the main thread at load ~6, docs/speed-log.md,
    stop 78). The frame runs on `core_threads` of it in any thread, and the caller's count is back after it."""
    frames = _crossing_frames(2)
    main = Tracker(load_config(None, overrides=["device=cpu"]), frame_rate=30)
    main.update_detections(frames[0].boxes_xyxy, frames[0].scores, embeddings=frames[0].embeddings)
    worker = Tracker(load_config(None, overrides=["device=cpu"]), frame_rate=30)
    seen: set[int] = set()

    def spy_step(dets, embed=None, real=worker.core.step, **kwargs):
        seen.update(_blas_threads())
        return real(dets, embed, **kwargs)

    worker.core.step = spy_step
    with ThreadPoolExecutor(1) as pool:
        for det in frames:
            pool.submit(worker.update_detections, det.boxes_xyxy, det.scores, embeddings=det.embeddings).result()
    assert seen == {1}
    assert _blas_threads() == {2}


def test_a_frame_bounds_numpys_blas_and_leaves_opencvs_own_alone():
    """OpenCV's wheel loads its own OpenBLAS with the tracker (`import cv2`), which no step of a frame calls: lowering
    and restoring it cost three C calls a frame out of the caches (~1 % of the walking frame, docs/speed-log.md,
    stop 70). numpy's BLAS, which runs the frame's products, is the one bounded."""
    import cv2  # noqa: F401 (its OpenBLAS loaded, as the tracker's pipeline does)

    others = _blas_info(numpys=False)
    if not others or not _blas_info(numpys=True):
        pytest.skip("no BLAS library here beside numpy's (or numpy's cannot be told apart)")
    with threadpool_limits(2, user_api="blas"):  # (the counts read inside it: another test may have left one at 1)
        counts = {lib["filepath"]: lib["num_threads"] for lib in _blas_info(numpys=False)}
        with BlasThreads(1):
            assert _blas_threads() == {1}  # numpy's bounded
            assert {lib["filepath"]: lib["num_threads"] for lib in _blas_info(numpys=False)} == counts
        assert _blas_threads() == {2}


def test_blas_threads_zero_or_a_higher_limit_leaves_blas_alone(two_blas_threads):
    for limit in (0, 8):
        with BlasThreads(limit):
            assert _blas_threads() == {2}
    bounded = BlasThreads(1)
    with bounded:
        assert _blas_threads() == {1}
        with bounded.released():
            assert _blas_threads() == {2}
        assert _blas_threads() == {1}
    assert _blas_threads() == {2}


def test_trackers_in_two_threads_give_the_callers_counts_back(monkeypatch):
    """Two cameras, one tracker each in its own thread, with other `core_threads`: the one with 2 opened its frame,
    the one with 1 opened its own inside it and read the 2 as the caller's count, the first ended, then the second
    put back the 2 it had read: every thread started after (a thread pool's, a data loader's) ran torch on 2."""
    frames = _crossing_frames(3)
    opened, other_opened, other_done = threading.Event(), threading.Event(), threading.Event()
    trackers = [Tracker(load_config(None, overrides=["device=cpu", f"core_threads={n}"])) for n in (2, 1)]

    def first_step(dets, embed=None, real=trackers[0].core.step, **kwargs):
        opened.set()
        assert other_opened.wait(10)
        return real(dets, embed, **kwargs)

    def second_step(dets, embed=None, real=trackers[1].core.step, **kwargs):
        other_opened.set()
        assert other_done.wait(10)
        return real(dets, embed, **kwargs)

    def first():
        det = frames[0]
        trackers[0].update_detections(det.boxes_xyxy, det.scores, embeddings=det.embeddings)
        other_done.set()

    def second():
        assert opened.wait(10)
        det = frames[0]
        trackers[1].update_detections(det.boxes_xyxy, det.scores, embeddings=det.embeddings)

    monkeypatch.setattr(trackers[0].core, "step", first_step)
    monkeypatch.setattr(trackers[1].core, "step", second_step)
    with exact_torch_threads(4), ThreadPoolExecutor(2) as pool:
        for done in [pool.submit(first), pool.submit(second)]:
            done.result()
        # a thread's first torch call takes the count last set anywhere: the one any new thread of the process gets
        with ThreadPoolExecutor(1) as fresh:
            assert fresh.submit(torch.get_num_threads).result() == 4


_ENVIRONMENT_AFTER_A_FRAME = """
import os
import numpy as np
from tracker import Tracker, load_config
before = dict(os.environ)
Tracker(load_config(None, overrides=["device=cpu"])).update_detections(np.array([[0.0, 0, 10, 20]]), [0.9])
print(sorted(set(os.environ.items()) ^ set(before.items())))
"""


def test_a_frame_leaves_the_callers_environment_alone():
    """The first frame imported threadpoolctl (numpy's BLAS threads), whose import sets KMP_DUPLICATE_LIB_OK=True in
    os.environ: every process the application started after inherited it."""
    env = {k: v for k, v in os.environ.items() if k != "KMP_DUPLICATE_LIB_OK"}
    env["PYTHONPATH"] = os.pathsep.join([str(Path(__file__).parents[1]), env.get("PYTHONPATH", "")])
    done = subprocess.run(
        [sys.executable, "-c", _ENVIRONMENT_AFTER_A_FRAME], env=env, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"


class _CountedPool:
    """A BLAS library as threadpoolctl's controller shows it, counting the calls a block makes to it."""

    filepath = "/counted/libopenblas.so"

    def __init__(self, threads: int) -> None:
        self.threads = threads
        self.calls: list[str] = []

    def get_num_threads(self) -> int:
        self.calls.append("get")
        return self.threads

    def set_num_threads(self, count: int) -> None:
        self.calls.append(f"set {count}")
        self.threads = count


def test_a_frames_end_sets_a_lowered_count_back_without_reading_it_first(monkeypatch):
    """The end of every frame: a count the block lowered is set back at once. Read first, it cost a second C call a
    library (and torch), each ~2-6 us out of the caches at a frame's end: ~1 % of the walking frame (docs/speed-log.md,
    stop 62). A count the block left alone is still read first, and put back if the block's work changed it."""
    pool = _CountedPool(4)
    monkeypatch.setattr("tracker.threads._numpy_blas_libraries", lambda: [pool])
    with BlasThreads(1):
        assert pool.calls == ["get", "set 1"]
        pool.calls.clear()
    assert pool.calls == ["set 4"] and pool.threads == 4
    pool.calls.clear()
    with BlasThreads(8):
        pool.set_num_threads(3)  # (a library the block's own work changed)
        pool.calls.clear()
    assert pool.calls == ["get", "set 4"] and pool.threads == 4


def test_where_numpys_blas_cannot_be_told_every_blas_library_is_bounded(monkeypatch):
    """Where numpy's BLAS file cannot be told (a BLAS whose symbols are named otherwise; no `dladdr`, as on Windows),
    the frame still runs on at most the bound's threads: every BLAS library loaded is bounded, as before stop 70, and
    each restored after the block."""
    import cv2  # noqa: F401 (its OpenBLAS loaded, as the tracker's pipeline does)

    import tracker.threads as threads

    monkeypatch.setattr(threads, "_NUMPY_GEMM_SYMBOLS", ("no_such_gemm",))  # (a BLAS of other symbol names)
    assert _numpy_blas_file() is None
    blas = [lib for lib in threadpool_info() if lib["user_api"] == "blas"]
    if not blas:
        pytest.skip("no BLAS library threadpoolctl can read here")
    with threadpool_limits(2, user_api="blas"):
        with BlasThreads(1):
            assert {lib["num_threads"] for lib in threadpool_info() if lib["user_api"] == "blas"} == {1}
        assert {lib["num_threads"] for lib in threadpool_info() if lib["user_api"] == "blas"} == {2}
