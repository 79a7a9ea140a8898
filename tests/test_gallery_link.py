"""`GalleryLink` (tracker/gallery_link.py), the core's gallery tier: a core restored from a checkpoint (also one
written while the tier was the core's own state) goes on giving the global IDs the uninterrupted core gives; the
stream's name set on the core is the one its stored sightings carry; a deleted tracker stops sharing the gallery at
once (the link keeps no reference to its core)."""

from __future__ import annotations

import gc
import pickle
from pathlib import Path

import numpy as np
import pytest

from tracker import Tracker, load_config
from tracker.core import TrackerCore
from tracker.gallery import Gallery
from tracker.testing import (
    Walker,
    leave_and_return_world,
    linear_path,
    noise_for_similarity,
    reid_like_identities,
    render,
)

FPS = 10.0
DIM = 64
PEOPLE = 4
AWAY_SECONDS = (12.0, 20.0)  # beyond `lifecycle.max_seconds_lost` (10 s): only the gallery brings a person back
SAME = 0.7  # cosine of two looks of one person: weak looks, so one return is found only by a later search


def _old_layout(state: dict) -> dict:
    """A core's pickled state as a checkpoint written before `GalleryLink` held it: the tier's state in the core's."""
    link = state.pop("gallery_link")
    state.update(
        gallery=link.gallery,
        source_name=link.source_name,
        _newborn=link._newborn,
        _searching=link._searching,
        _published=link._published,
    )
    return state


def _run(resume: str | None) -> tuple[list[list[tuple]], list[bool], TrackerCore]:
    """Every frame's (track ID, global ID, detection, box, recovered) of people leaving for longer than a lost track
    is kept, tracked with a gallery; with `resume` ("checkpoint" or "old_checkpoint") the core is replaced after every
    frame by its pickled copy. Also, per replacement, whether a new track was being searched."""
    cfg = load_config(overrides=["device=cpu"])
    tracker = Tracker(cfg, frame_rate=FPS, gallery=Gallery(cfg.gallery), source_name="cam")
    walkers, _, frames = leave_and_return_world(people=PEOPLE, visits=2, frame_rate=FPS, away_seconds=AWAY_SECONDS)
    identities = reid_like_identities(PEOPLE, DIM, different=0.2)
    noise, rng = noise_for_similarity(SAME, DIM), np.random.default_rng(1)
    shown, searching = [], []
    for f in range(frames):
        if resume is not None and f > 0:
            searching.append(bool(tracker.core.gallery_link._searching))
            state = tracker.core.__getstate__()
            if resume == "old_checkpoint":
                state = _old_layout(state)
            restored = TrackerCore.__new__(TrackerCore)
            restored.__setstate__(pickle.loads(pickle.dumps(state)))
            tracker.core = restored
        det = render(walkers, f, identities, noise, rng)
        out = tracker.update_detections(det.boxes_xyxy, det.scores, embeddings=det.embeddings)
        shown.append([(o.track_id, o.global_id, o.detection_index, tuple(o.xyxy.tolist()), o.recovered) for o in out])
    return shown, searching, tracker.core


@pytest.mark.parametrize("resume", ["checkpoint", "old_checkpoint"])
def test_a_resumed_core_gives_the_global_ids_of_the_uninterrupted_one(resume):
    straight, _, _ = _run(None)
    resumed, searching, core = _run(resume)
    assert resumed == straight
    tracks = {o[0] for row in straight for o in row}
    global_ids = {o[1] for row in straight for o in row}
    assert len(global_ids) < len(tracks), "a person came back from the gallery under their global ID"
    # (one of them only at a later search of the new track: the searches in progress survive the checkpoint)
    assert any(searching), "a checkpoint was taken while a new track was being searched"
    link = core.gallery_link
    assert core.gallery is link.gallery is not None and core.source_name == link.source_name == "cam"
    assert link.table is core.table and link.bank is core.bank and link.calibration is core.calibration
    assert link.still is core.still
    assert not {"gallery", "source_name", "_newborn", "_searching", "_published"} & core.__dict__.keys()


def test_the_source_name_set_on_the_core_is_recorded_with_the_sightings():
    """`track` and `track batch` name each source on the core (`tracker.core.source_name = name`) before tracking it:
    the identities it stores carry that name, first and last sighting."""
    cfg = load_config(overrides=["device=cpu"])
    gallery = Gallery(cfg.gallery)
    tracker = Tracker(cfg, frame_rate=FPS, gallery=gallery, source_name="first")
    tracker.core.source_name = "lobby.mp4"
    identities = reid_like_identities(1, DIM)
    rng = np.random.default_rng(0)
    for f in range(20):
        det = render([Walker(0, linear_path(300, 300, 2, 0))], f, identities, 0.01, rng)
        tracker.update_detections(det.boxes_xyxy, det.scores, embeddings=det.embeddings)
    tracker.reset()  # the end of the video: the live track is stored
    (identity,) = gallery.identities
    assert identity.first_seen.source == identity.last_seen.source == "lobby.mp4"


def test_reset_names_the_next_video_in_its_sightings():
    """`Tracker(source_name="cam1")` driven over two cameras with `reset()` between them recorded the second's
    identities under "cam1": the public API had no way to name the next video (only `tracker.core.source_name`).
    `reset(source_name=...)` names it; the identities still alive at the reset keep the name of the video that
    ended, and `reset()` alone keeps the name so far. A name that is not a str is refused with the tracker as
    before."""
    cfg = load_config(overrides=["device=cpu"])
    gallery = Gallery(cfg.gallery)
    tracker = Tracker(cfg, frame_rate=FPS, gallery=gallery, source_name="cam1")
    identities = reid_like_identities(3, DIM)
    rng = np.random.default_rng(0)

    def one_video(person: int) -> None:
        for f in range(20):
            det = render([Walker(person, linear_path(300, 300, 2, 0))], f, identities, 0.01, rng)
            tracker.update_detections(det.boxes_xyxy, det.scores, embeddings=det.embeddings)

    one_video(0)
    with pytest.raises(TypeError, match=r"^source_name must be a str .*got PosixPath"):
        tracker.reset(source_name=Path("cam2.mp4"))
    assert len(gallery) == 0 and tracker.core.frame_index == 20, "the refused reset stored and forgot nothing"
    tracker.reset(source_name="cam2")
    one_video(1)
    tracker.reset()
    one_video(2)
    tracker.reset()
    sources = {i.global_id: (i.first_seen.source, i.last_seen.source) for i in gallery.identities}
    assert sorted(sources.values()) == [("cam1", "cam1"), ("cam2", "cam2"), ("cam2", "cam2")]


def _cameras_sharing(gallery: Gallery, count: int, dim: int) -> tuple[list[Tracker], np.ndarray, np.random.Generator]:
    """`count` trackers on `gallery`, the first two each tracking one walker (D = `dim`) for 20 frames, so that each
    offers its live track to the others; the walkers' (2, D) identities, and the generator that drew their looks."""
    cfg = load_config(overrides=["device=cpu"])
    cameras = [Tracker(cfg, frame_rate=FPS, gallery=gallery) for _ in range(count)]
    identities = reid_like_identities(2, dim)
    scenes = [[Walker(0, linear_path(300, 300, 2, 0))], [Walker(1, linear_path(600, 300, -2, 0))]]
    rng = np.random.default_rng(0)
    for f in range(20):
        for tracker, scene in zip(cameras, scenes, strict=False):
            det = render(scene, f, identities, 0.01, rng)
            tracker.update_detections(det.boxes_xyxy, det.scores, embeddings=det.embeddings)
    return cameras, identities, rng


def test_a_deleted_tracker_stops_sharing_the_gallery_at_once():
    """Two cameras on one gallery each offer their live tracks; deleting one tracker withdraws it at once, without
    waiting for the garbage collector (a reference cycle through the core would keep it, and its tracks offered)."""
    gallery = Gallery(load_config(overrides=["device=cpu"]).gallery)
    cameras, _, _ = _cameras_sharing(gallery, 2, DIM)
    first, tracker = cameras
    assert gallery.shared and gallery.searchable(first.core)  # the second camera's live track is offered
    enabled = gc.isenabled()
    gc.disable()
    try:
        del cameras, tracker  # (`tracker`: the second camera)
        assert not gallery.shared and not gallery.searchable(first.core)
    finally:
        if enabled:
            gc.enable()


def test_a_camera_of_another_d_is_refused_by_the_live_tracks_others_offer():
    """A gallery that holds no identity yet but serves two cameras knows its D from the live tracks they offer. A
    third camera giving embeddings of another D failed deep in `Gallery.match` with numpy's "matmul: Input operand 1
    has a mismatch in its core dimension 0 ..." after its frame had been half tracked. Now: the ValueError that a
    stored identity of another D gives ("embeddings have D = 16, the gallery holds D = 8"), before anything
    changes; embeddings of the gallery's D then track as usual."""
    gallery = Gallery(load_config(overrides=["device=cpu"]).gallery)
    cameras, identities, rng = _cameras_sharing(gallery, 3, 8)
    assert len(gallery) == 0 and gallery.shared  # nothing stored: the D is that of the looks offered
    third, box = cameras[2], np.array([[100.0, 100.0, 150.0, 220.0]])
    for _ in range(3):
        with pytest.raises(ValueError, match="embeddings have D = 16, the gallery holds D = 8"):
            third.update_detections(box, [0.9], embeddings=rng.normal(size=(1, 16)))
    assert third.core.frame_index == 0 and len(third.core.tracks) == 0
    for _ in range(5):
        out = third.update_detections(box, [0.9], embeddings=identities[1][None] + rng.normal(scale=0.01, size=(1, 8)))
    assert [o.track_id for o in out] == [1] and gallery.dim == 8


@pytest.mark.parametrize("given", ["embed", "embeddings"])
def test_two_trackers_of_other_embedding_sizes_on_one_gallery_are_refused_at_the_second_ones_first_look(given):
    """Two cameras with ReIDs of other sizes (D = 16 and 32) on one `Gallery`, both starting together: the second's
    looks passed while the gallery held nothing and its first camera had offered no track yet, and the run failed
    frames later in the middle of a frame (a newcomer's search, `Gallery.match`: "embeddings have D = 32, the gallery
    holds D = 16" after its tracks had moved on). Now the second camera's first look is refused, naming both sizes,
    before its frame changes anything; the first camera tracks on, and a third of the first's size joins."""
    gallery = Gallery(load_config(overrides=["device=cpu"]).gallery)
    cfg = load_config(overrides=["device=cpu"])
    first, second, third = (Tracker(cfg, frame_rate=FPS, gallery=gallery) for _ in range(3))
    rng = np.random.default_rng(0)
    box = np.array([[100.0, 100.0, 150.0, 220.0]])

    def step(tracker: Tracker, dim: int) -> list:
        looks = rng.normal(size=(1, dim))
        if given == "embed":
            return tracker.update_detections(box, [0.9], embed=lambda rows: looks[rows])
        return tracker.update_detections(box, [0.9], embeddings=looks)

    step(first, 16)
    assert len(gallery) == 0 and gallery.dim is None, "nothing stored nor offered yet: the gallery knew no D"
    for _ in range(3):
        with pytest.raises(ValueError, match=r"D = 32, the gallery holds D = 16 \(the looks of another Tracker"):
            step(second, 32)
    assert second.core.frame_index == 0 and len(second.core.tracks) == 0, "refused before the frame changed it"
    for _ in range(10):
        step(first, 16)
        step(third, 16)
    assert first.core.frame_index == 11 and third.core.frame_index == 10


def test_a_tracker_restored_with_its_gallery_tells_it_its_size():
    """A gallery pickled with its tracker (a checkpoint) keeps no stream's D (it is not saved); the tracker restored
    onto it says its banks' D as it attaches, so a camera of another size joining the restored gallery is refused at
    its first look as it would have been before the pickle."""
    gallery = Gallery(load_config(overrides=["device=cpu"]).gallery)
    cfg = load_config(overrides=["device=cpu"])
    first = Tracker(cfg, frame_rate=FPS, gallery=gallery)
    rng = np.random.default_rng(0)
    box = np.array([[100.0, 100.0, 150.0, 220.0]])
    first.update_detections(box, [0.9], embeddings=rng.normal(size=(1, 16)))
    restored = pickle.loads(pickle.dumps(first))
    assert restored.gallery is not None and restored.gallery.dim is None, "nothing stored nor offered"
    other = Tracker(cfg, frame_rate=FPS, gallery=restored.gallery)
    with pytest.raises(ValueError, match=r"D = 32, the gallery holds D = 16 \(the looks of another Tracker"):
        other.update_detections(box, [0.9], embeddings=rng.normal(size=(1, 32)))


def test_from_config_names_the_first_video_and_a_name_that_is_not_a_str_is_refused(monkeypatch):
    """`Tracker.from_config` had no `source_name`, so the README's gallery example recorded its sightings as "-"
    (`Tracker(source_name=...)` was the only way, and took a Path or a number silently). Both take the name and refuse
    one that is not a str, `from_config` before any model loads."""
    import tracker.detector
    import tracker.embedder
    import tracker.model_setup

    class FakeReID:
        dim = DIM

        def __call__(self, image: object, boxes: np.ndarray) -> np.ndarray:
            raise AssertionError("no frame is embedded here")

    built = []
    monkeypatch.setattr(tracker.model_setup, "require_model_files", lambda *args: None)
    monkeypatch.setattr(tracker.detector, "build_detector", lambda *args, **kwargs: built.append("detector"))
    monkeypatch.setattr(tracker.embedder, "build_embedder", lambda *args, **kwargs: FakeReID())
    cfg = load_config(overrides=["device=cpu"])
    with pytest.raises(TypeError, match=r"^source_name must be a str, got PosixPath"):
        Tracker.from_config(cfg, gallery=Gallery(cfg.gallery), source_name=Path("cam1.mp4"))
    assert built == [], "refused before any model loads"
    with pytest.raises(TypeError, match=r"^source_name must be a str, got int"):
        Tracker(cfg, gallery=Gallery(cfg.gallery), source_name=1)
    gallery = Gallery(cfg.gallery)
    made = Tracker.from_config(cfg, frame_rate=FPS, gallery=gallery, source_name="cam1")
    rng, identities = np.random.default_rng(0), reid_like_identities(1, DIM)
    for f in range(20):
        det = render([Walker(0, linear_path(300, 300, 2, 0))], f, identities, 0.01, rng)
        made.update_detections(det.boxes_xyxy, det.scores, embeddings=det.embeddings)
    made.reset()
    assert [(i.first_seen.source, i.last_seen.source) for i in gallery.identities] == [("cam1", "cam1")]
