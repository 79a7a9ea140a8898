"""The gallery tier inside the tracker: people who leave for 10-60 s come back with their ID; two people in
view at once never share one."""

from __future__ import annotations

import copy
import logging
import pickle

import numpy as np
import pytest

from tracker import Tracker, load_config
from tracker.gallery import Gallery, Sighting
from tracker.testing import (
    Walker,
    linear_path,
    noise_for_similarity,
    reid_like_identities,
    render,
    score_leave_and_return,
)

DIM = 512  # OSNet's D
SAME = 0.85  # cosine of two looks of one person (OSNet on MOT17 crops: ~0.96 within a video, lower across)
FPS = 10.0


def test_people_back_after_10_to_60_s_keep_their_id_with_the_gallery_and_not_without():
    with_gallery = [score_leave_and_return(seed, True, 8, DIM, SAME, FPS) for seed in (0, 1)]
    reappearances = sum(s.reappearances for s in with_gallery)
    kept = sum(s.kept for s in with_gallery)
    revivals = sum(s.revivals for s in with_gallery)
    assert reappearances == 32
    assert kept / reappearances >= 0.95
    assert kept / revivals >= 0.98
    assert all(s.shared_frames == 0 for s in with_gallery)
    without = score_leave_and_return(0, False, 8, DIM, SAME, FPS)
    assert without.recall < 0.2  # beyond max_seconds_lost the lost tracks are gone: the gallery earns its place


@pytest.mark.parametrize("together_from", [0, 5])
def test_two_tracks_visible_at_once_never_share_a_global_id(together_from):
    """Two look-alikes (the same embedding) of a remembered person: at most one of them gets that identity,
    whether they appear in the same frame or one after the other."""
    identities = reid_like_identities(1, DIM)
    cfg = load_config(overrides=["device=cpu"])
    gallery = Gallery(cfg.gallery)
    remembered = gallery.new_id()
    gallery.add(remembered, identities[[0, 0, 0]], 0, Sighting(1, 0.0, "earlier"))
    twins = [
        Walker(0, linear_path(200, 300, 2, 0)),
        Walker(0, linear_path(900, 300, -2, 0), visible=lambda f: f >= together_from),
    ]
    tracker = Tracker(cfg, frame_rate=FPS, gallery=gallery)
    rng = np.random.default_rng(0)
    given = set()
    for f in range(40):
        det = render(twins, f, identities, 0.001, rng)
        out = tracker.update_detections(det.boxes_xyxy, det.scores, embeddings=det.embeddings)
        ids = [o.global_id for o in out]
        assert len(ids) == len(set(ids)), f"frame {f}: {ids}"
        given.update(ids)
    assert remembered in given and len(given) == 2


def test_end_of_video_stores_the_people_in_view_and_a_restart_recognises_them(tmp_path):
    identities = reid_like_identities(3, DIM)
    walkers = [Walker(i, linear_path(150 + 300 * i, 300, 1, 0)) for i in range(3)]
    cfg = load_config(overrides=["device=cpu"])
    rng = np.random.default_rng(0)

    def video(tracker: Tracker) -> dict[int, int]:
        seen = {}
        for f in range(20):
            det = render(walkers, f, identities, noise_for_similarity(SAME, DIM), rng)
            for o in tracker.update_detections(det.boxes_xyxy, det.scores, embeddings=det.embeddings):
                seen[int(det.identities[o.detection_index])] = o.global_id
        tracker.reset()  # end of the video: the three people in view go to the gallery
        return seen

    first = Tracker(cfg, frame_rate=FPS, gallery=Gallery(cfg.gallery))
    ids = video(first)
    first.gallery.save(tmp_path / "g")
    again = Tracker(cfg, frame_rate=FPS, gallery=Gallery.load(tmp_path / "g", cfg.gallery))
    assert video(again) == ids and len(set(ids.values())) == 3


def test_sightings_keep_the_videos_order_and_spacing_however_fast_it_is_processed():
    """A video tracked far faster than real time: the stored first and last sightings are dated on one clock,
    so "last seen" is never before "first seen" and their gap is the video time between them."""
    identities = reid_like_identities(1, DIM)
    cfg = load_config(overrides=["device=cpu"])
    gallery = Gallery(cfg.gallery)
    walker = Walker(0, linear_path(200, 300, 2, 0), visible=lambda f: 5 <= f < 65)
    tracker = Tracker(cfg, frame_rate=FPS, gallery=gallery)
    rng = np.random.default_rng(0)
    for f in range(65 + round((cfg.lifecycle.max_seconds_lost + 1) * FPS)):
        det = render([walker], f, identities, 0.001, rng)
        tracker.update_detections(det.boxes_xyxy, det.scores, embeddings=det.embeddings)
    (identity,) = gallery.identities
    first, last = identity.first_seen, identity.last_seen
    assert last.frame > first.frame + 50
    assert last.time - first.time == pytest.approx((last.frame - first.frame) / FPS)


@pytest.mark.parametrize("frames", [0, 20])
def test_the_reported_gallery_bound_is_the_one_the_gallery_search_uses(frames):
    """The run summary printed "gallery 0.700" (stage 4's floor) while the gallery search asked at least
    `gallery.min_similarity` (0.8): the bound reported, before and after calibration, is the one applied."""
    cfg = load_config(overrides=["device=cpu"])
    tracker = Tracker(cfg, frame_rate=FPS, gallery=Gallery(cfg.gallery))
    calibration = tracker.core.calibration
    rng = np.random.default_rng(0)
    for _ in range(frames):  # different people's looks, 16 a frame kept: calibrated after 4 frames
        calibration.add_negatives(rng.uniform(0.2, 0.5, size=cfg.appearance.calibration_per_frame))
    assert calibration.calibrated == bool(frames)
    assert calibration.bound("gallery") == tracker.core.gallery_link.threshold == cfg.gallery.min_similarity
    assert calibration.summary()["bounds"]["gallery"] == cfg.gallery.min_similarity


@pytest.mark.parametrize("how", ["embeddings", "embed"])
def test_embeddings_of_another_d_than_the_gallery_are_refused_and_change_nothing(how):
    """A first frame of 16-d looks against a 512-d gallery was refused only when its new tracks were searched in the
    gallery, after the banks had taken D = 16: the frame given again with 512-d looks was refused too ("the
    tracker's banks hold D = 16"), so the tracker was lost for good."""
    identities = reid_like_identities(2, DIM)
    walkers = [Walker(i, linear_path(150 + 300 * i, 300, 1, 0)) for i in range(2)]
    cfg = load_config(overrides=["device=cpu"])
    rng = np.random.default_rng(0)
    frames = [render(walkers, f, identities, noise_for_similarity(SAME, DIM), rng) for f in range(6)]

    def remembering() -> Tracker:
        gallery = Gallery(cfg.gallery)
        gallery.add(gallery.new_id(), reid_like_identities(1, DIM, seed=7)[[0, 0, 0]], 0, Sighting(1, 0.0, "earlier"))
        return Tracker(cfg, frame_rate=FPS, gallery=gallery)

    def run(tracker: Tracker) -> list[list[tuple[int | None, int]]]:
        return [
            [
                (o.global_id, o.detection_index)
                for o in tracker.update_detections(d.boxes_xyxy, d.scores, embeddings=d.embeddings)
            ]
            for d in frames
        ]

    tracker = remembering()
    small = frames[0].embeddings[:, :16]
    given = {"embeddings": small} if how == "embeddings" else {"embed": lambda rows: small[rows]}
    name = "embeddings have" if how == "embeddings" else "what the embed callback returned has"
    with pytest.raises(ValueError, match=f"{name} D = 16, the gallery holds D = {DIM}"):
        tracker.update_detections(frames[0].boxes_xyxy, frames[0].scores, **given)
    assert tracker.core.bank.dim is None and tracker.core.frame_index == 0 and not tracker.core.tracks
    assert run(tracker) == run(remembering())  # the frame given again: as if the refused call never happened


def _two_cameras(identities: np.ndarray, both: list[Walker], left_only: list[Walker], right_only: list[Walker]):
    """Two streams on one gallery, frame by frame (each `Tracker` a camera): the global IDs each gives each
    identity, {camera: {identity: set of global IDs}}, and the gallery."""
    cfg = load_config(overrides=["device=cpu"])
    gallery = Gallery(cfg.gallery)
    cameras = [Tracker(cfg, frame_rate=FPS, gallery=gallery) for _ in range(2)]
    seen: list[dict[int, set]] = [{}, {}]
    rng = np.random.default_rng(3)
    for f in range(60):
        for cam, (tracker, own) in enumerate(zip(cameras, (left_only, right_only), strict=True)):
            det = render(both + own, f, identities, 0.01, rng)
            out = tracker.update_detections(det.boxes_xyxy, det.scores, embeddings=det.embeddings)
            for o in out:
                seen[cam].setdefault(int(det.identities[o.detection_index]), set()).add(o.global_id)
    return seen, gallery, cameras


def test_a_person_in_view_of_two_cameras_at_once_gets_one_global_id():
    """Two trackers sharing one gallery, the same person in both views at once: the second camera's newcomer takes
    the first's live identity (it was only stored when a track ended, so each camera gave its own); people in one
    view only keep their own IDs, and two people are never given one."""
    identities = reid_like_identities(4, DIM)
    both = [Walker(0, linear_path(300, 300, 1, 0)), Walker(1, linear_path(700, 300, -1, 0))]
    seen, gallery, cameras = _two_cameras(
        identities, both, [Walker(2, linear_path(500, 600, 1, 0))], [Walker(3, linear_path(500, 600, -1, 0))]
    )
    left, right = seen
    for person in (0, 1):  # the last ID the right camera gave each shared person is the left camera's
        assert left[person] & right[person], (person, left, right)
    assert not left[2] & right[3]
    assert not left[0] & left[1] and not right[0] & right[1]
    assert gallery.shared and len(gallery) == 0  # live tracks are offered, not stored, until they end
    for tracker in cameras:
        tracker.reset()  # the ends of the videos: one identity per person in both views, one each for the others
    assert len(gallery) == 4 and not gallery._live  # (withdrawn as they ended)


def test_one_stream_offers_nothing_and_a_gone_stream_stops_sharing():
    """A gallery serving one tracker holds no live tracks (no cost for one camera, and no change); a second tracker
    makes it shared, and deleting it makes it unshared again (held weakly)."""
    cfg = load_config(overrides=["device=cpu"])
    gallery = Gallery(cfg.gallery)
    first = Tracker(cfg, frame_rate=FPS, gallery=gallery)
    identities = reid_like_identities(1, DIM)
    walker = [Walker(0, linear_path(300, 300, 1, 0))]
    rng = np.random.default_rng(0)
    for f in range(20):
        det = render(walker, f, identities, 0.01, rng)
        first.update_detections(det.boxes_xyxy, det.scores, embeddings=det.embeddings)
    assert not gallery.shared and not gallery.searchable(None)
    second = Tracker(cfg, frame_rate=FPS, gallery=gallery)
    assert gallery.shared
    for f in range(20, 30):
        det = render(walker, f, identities, 0.01, rng)
        first.update_detections(det.boxes_xyxy, det.scores, embeddings=det.embeddings)
    assert gallery.searchable(second.core) and not gallery.searchable(first.core)  # the first's live track
    del second
    import gc

    gc.collect()
    assert not gallery.shared
    third = Tracker(cfg, frame_rate=FPS, gallery=gallery)
    assert gallery.searchable(third.core)
    del first  # deleted without `reset`: its live track is no longer offered (nor stored: `reset` stores)
    gc.collect()
    assert not gallery.searchable(third.core) and len(gallery) == 0


def test_two_cameras_in_their_own_threads_share_the_person_in_both_views():
    """The same scene with each camera's tracker driven from its own thread (the README's set-up): the gallery's
    lock serialises the offers and searches, and the person in both views still gets one global ID."""
    import threading

    identities = reid_like_identities(3, DIM)
    cfg = load_config(overrides=["device=cpu"])
    gallery = Gallery(cfg.gallery)
    scenes = [
        [Walker(0, linear_path(300, 300, 1, 0)), Walker(1, linear_path(500, 600, 1, 0))],
        [Walker(0, linear_path(700, 300, -1, 0)), Walker(2, linear_path(500, 600, -1, 0))],
    ]
    trackers = [Tracker(cfg, frame_rate=FPS, gallery=gallery) for _ in scenes]
    seen: list[dict[int, set]] = [{}, {}]
    errors: list[BaseException] = []

    def run(cam: int) -> None:
        rng = np.random.default_rng(cam)
        try:
            for f in range(60):
                det = render(scenes[cam], f, identities, 0.01, rng)
                for o in trackers[cam].update_detections(det.boxes_xyxy, det.scores, embeddings=det.embeddings):
                    seen[cam].setdefault(int(det.identities[o.detection_index]), set()).add(o.global_id)
        except BaseException as error:  # (reported below: an exception in a thread does not fail the test)
            errors.append(error)

    threads = [threading.Thread(target=run, args=(cam,)) for cam in (0, 1)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors, errors
    assert seen[0][0] & seen[1][0] and not seen[0][1] & seen[1][2]


def _two_cameras_on_one_gallery() -> list[Tracker]:
    """Two cameras' trackers on one gallery, each with a person in view (tracked, with looks to offer the other)."""
    cfg = load_config(overrides=["device=cpu"])
    gallery = Gallery(cfg.gallery)
    cameras = [Tracker(cfg, frame_rate=FPS, gallery=gallery, source_name=f"cam{i}") for i in range(2)]
    identities = reid_like_identities(2, DIM)
    for cam, tracker in enumerate(cameras):
        walker = [Walker(cam, linear_path(300, 300, 1, 0))]
        rng = np.random.default_rng(cam)
        for f in range(20):
            det = render(walker, f, identities, 0.01, rng)
            tracker.update_detections(det.boxes_xyxy, det.scores, embeddings=det.embeddings)
    return cameras


def _next_frame(tracker: Tracker) -> None:
    tracker.update_detections(np.zeros((0, 4)), np.zeros(0))


def test_cameras_pickled_one_by_one_are_told_their_gallery_is_shared_no_more(caplog):
    """A service's checkpoint of three cameras on one gallery, one pickle per camera: each restored its own copy of
    the gallery, silently (a person leaving one camera was no longer known to the others, and only the second save
    said something, a GalleryConflictError that said "load it again"). Pickled together (one `pickle.dump` of all
    the trackers) they restore onto one gallery, still shared, without a word; one by one, each copy's first frame
    says how to pickle them (once per copy); a fork (`copy.deepcopy`), whose gallery is its own by design, says
    nothing."""
    cameras = _two_cameras_on_one_gallery()
    with caplog.at_level(logging.WARNING, logger="tracker"):
        together = pickle.loads(pickle.dumps(cameras))
        assert together[0].gallery is together[1].gallery and together[0].gallery.shared
        fork = copy.deepcopy(cameras[0])
        for tracker in [*together, fork, fork]:
            _next_frame(tracker)
        assert not caplog.records
        apart = [pickle.loads(pickle.dumps(tracker)) for tracker in cameras]
        assert apart[0].gallery is not apart[1].gallery
        for tracker in [*apart, *apart]:
            _next_frame(tracker)
    warned = [record.getMessage() for record in caplog.records]
    assert len(warned) == 2, warned
    assert all("2 trackers" in said and "one pickle" in said for said in warned), warned


def test_a_gallery_pickled_or_copied_on_its_own_is_not_taken_for_trackers_pickled_one_by_one(caplog):
    """A gallery two cameras shared, pickled on its own (not with its trackers) and handed to new trackers built one
    after the other, the first running before the second was built (each `from_config` loads its models first),
    warned "pickled shared by 2 trackers and is unpickled for 1 ... pickle.dump([camera_a, camera_b, ...])" at the
    first camera's first frame, and so did `copy.copy(gallery)` given to one tracker: neither was a tracker pickled
    on its own, and the advice did not apply. Only trackers restored onto fewer than shared it are told."""
    cameras = _two_cameras_on_one_gallery()
    cfg = load_config(overrides=["device=cpu"])
    with caplog.at_level(logging.WARNING, logger="tracker"):
        gallery = pickle.loads(pickle.dumps(cameras[0].gallery))
        for cam in range(2):  # (built one by one, each running at once)
            _next_frame(Tracker(cfg, frame_rate=FPS, gallery=gallery, source_name=f"cam{cam}"))
        _next_frame(Tracker(cfg, frame_rate=FPS, gallery=copy.copy(cameras[0].gallery), source_name="report"))
    assert not caplog.records, [record.getMessage() for record in caplog.records]
