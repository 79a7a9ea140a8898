"""Trackers in one process, as an application embedding the library runs them: one per camera, each driven from its
own worker thread with the application's own detector (`update_detections`), and one re-used for the next video
after `reset()`. Each must track as if it were alone: no state shared between instances (module caches, class
attributes), none left over by `reset()`."""

from __future__ import annotations

import threading

import numpy as np

from tracker import Tracker, load_config

FRAMES = 120
PEOPLE = 8
DIM = 32
SIZE = (480, 700)  # (height, width) of every frame


def churn_scene(seed: int) -> list[tuple[np.ndarray, np.ndarray, np.ndarray]]:
    """(boxes (N, 4) xyxy px, scores (N,), embeddings (N, D)) per frame: 1 to 8 people walking right, people
    leaving and coming back every 10 frames, each with a noisy look of their own."""
    rng = np.random.default_rng(seed)
    identities = rng.normal(size=(PEOPLE, DIM))
    frames = []
    for t in range(FRAMES):
        n = 1 + (t // 10) % PEOPLE
        xs = 30 + np.arange(n) * 70 + (t % 50) * 2.0
        boxes = np.stack([xs, np.full(n, 50.0), xs + 40, np.full(n, 180.0)], 1)
        frames.append((boxes, np.full(n, 0.9), identities[:n] + 0.3 * rng.normal(size=(n, DIM))))
    return frames


SCENES = {"lobby": churn_scene(1), "door": churn_scene(2)}
# one camera at 30 frames/s with the default config, its looks given; the other at 25 with its own rules, its
# looks asked for through `embed` (the application's ReID callback)
BUILDS = {
    "lobby": (["device=cpu"], 30.0, False),
    "door": (["device=cpu", "core_threads=2", "lifecycle.min_hits=3"], 25.0, True),
}


def tracker_for(camera: str) -> Tracker:
    overrides, rate, _ = BUILDS[camera]
    return Tracker(load_config(None, overrides), frame_rate=rate)


def track(tracker: Tracker, camera: str, barrier: threading.Barrier | None = None) -> list[list[tuple]]:
    """Each frame's (track_id, detection_index, box) outputs of `camera`'s scene; with a `barrier`, every frame
    waits for the other thread's, so the two trackers' frames run at the same time."""
    outputs = []
    for boxes, scores, looks in SCENES[camera]:
        if barrier is not None:
            barrier.wait(timeout=60)
        if BUILDS[camera][2]:
            objects = tracker.update_detections(
                boxes, scores, embed=lambda rows, looks=looks: looks[rows], frame_size=SIZE
            )
        else:
            objects = tracker.update_detections(boxes, scores, embeddings=looks, frame_size=SIZE)
        outputs.append([(o.track_id, o.detection_index, o.xyxy.tolist()) for o in objects])
    return outputs


def test_two_trackers_in_two_threads_at_once_track_each_as_alone():
    """Two cameras' trackers stepped frame for frame at the same time from two worker threads give each the tracks
    it gives alone (IDs, detections, boxes). (The thread counts the core bounds are tests/test_threads.py's.)"""
    alone = {camera: track(tracker_for(camera), camera) for camera in SCENES}
    assert all(len({i for frame in out for i, _, _ in frame}) > 1 for out in alone.values()), "scenes with tracks"
    barrier = threading.Barrier(len(SCENES))
    together: dict[str, list] = {}
    errors: list[BaseException] = []

    def work(camera: str) -> None:
        try:
            together[camera] = track(tracker_for(camera), camera, barrier)
        except BaseException as exc:  # (raised again in the test's thread, not lost in the worker's)
            errors.append(exc)
            barrier.abort()

    workers = [threading.Thread(target=work, args=(camera,)) for camera in SCENES]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    assert not errors, errors
    assert together == alone


def test_a_tracker_reset_for_the_next_video_tracks_it_as_a_new_tracker():
    """`reset()` between two videos (another camera's scene first) leaves nothing of the first behind: the second
    video's tracks are a new tracker's, IDs from 1 and the same boxes."""
    reused = tracker_for("lobby")
    track(reused, "door")
    reused.reset()
    assert track(reused, "lobby") == track(tracker_for("lobby"), "lobby")
