"""The identity gallery: search, linking, retention, files (round trip, corruption, wrong model, mode)."""

from __future__ import annotations

import os
import re
import stat
import threading
import time
from pathlib import Path

import numpy as np
import pytest

from tracker.config import GalleryConfig
from tracker.gallery import (
    NO_ID,
    SECONDS_PER_DAY,
    Gallery,
    GalleryConflictError,
    GalleryError,
    GalleryModelError,
    ModelIdentity,
    Sighting,
)
from tracker.gallery_file import check_saveable
from tracker.gallery_prototypes import consistent_looks, select_prototypes
from tracker.io.names import fitting_stem

DIM = 64
MODEL = ModelIdentity("osnet_x0_25", "abcdef0123456789", DIM)


def people(count: int, looks: int, seed: int = 0, same: float = 0.9, different: float = 0.45) -> np.ndarray:
    """(count, looks, DIM) unit embeddings with cosine ~`same` within a person and ~`different` between people:
    a shared direction (ReID embeddings are all alike a little), an identity direction and per-look noise."""
    rng = np.random.default_rng(seed)
    unit = lambda x: x / np.linalg.norm(x, axis=-1, keepdims=True)  # noqa: E731
    common = unit(rng.normal(size=DIM))
    person = unit(rng.normal(size=(count, 1, DIM)))
    noise = unit(rng.normal(size=(count, looks, DIM)))
    x = np.sqrt(different) * common + np.sqrt(same - different) * person + np.sqrt(1 - same) * noise
    return unit(x).astype(np.float32)


def sighting(frame: int = 1, days_ago: float = 0.0, source: str = "cam1") -> Sighting:
    return Sighting(frame, time.time() - days_ago * SECONDS_PER_DAY, source)


def filled(count: int = 20, config: GalleryConfig | None = None, seed: int = 0) -> tuple[Gallery, np.ndarray]:
    looks = people(count, 12, seed=seed)
    gallery = Gallery(config, MODEL)
    for i in range(count):
        gallery.add(gallery.new_id(), looks[i, :8], 0, sighting(frame=i + 1))
    return gallery, looks


def test_prototypes_cover_the_bank():
    looks = people(1, 30)[0]
    protos = select_prototypes(looks, 4)
    assert protos.shape == (4, DIM)
    assert np.allclose(np.linalg.norm(protos, axis=1), 1, atol=1e-5)
    # farthest-point picks are spread: no two prototypes are the same look
    sims = protos @ protos.T
    assert (sims[~np.eye(4, dtype=bool)] < 0.999).all()
    assert select_prototypes(looks[:2], 4).shape == (2, DIM)
    assert select_prototypes(looks, 3, "kmeans").shape == (3, DIM)


def test_unseen_looks_of_known_people_find_their_identity_in_one_batch():
    gallery, looks = filled()
    ids = gallery.match(looks[:, 10])  # looks never stored
    assert (ids == np.arange(1, 21)).mean() >= 0.95
    assert len(set(ids[ids != NO_ID].tolist())) == (ids != NO_ID).sum()  # one identity per query


def test_one_look_not_given_as_a_row_and_class_ids_not_one_per_query_are_refused_by_name():
    """A 1-D look was read as D queries of one number each (an error about "D = 1"), and a short `class_ids` list
    raised a bare IndexError mid-search: each is now one ValueError naming the argument and its shape."""
    gallery, looks = filled()
    one_look = r"queries must have shape \(Q, D\), got \(64,\) \(one query: queries\[None\]\)"
    with pytest.raises(ValueError, match=one_look):
        gallery.match(looks[0, 10])
    with pytest.raises(ValueError, match=r"class_ids must have shape \(Q,\) with Q = 3, got \(2,\)"):
        gallery.match(looks[:3, 10], class_ids=[0, 0])
    assert gallery.match(looks[0, 10][None])[0] == 1  # the same look as one row: found
    assert len(gallery.match(np.zeros((0, DIM)))) == 0  # no queries: nothing to search


def test_match_looks_refuses_looks_that_are_not_a_set_of_looks_by_name():
    """`match_looks(looks)` of one look (D,) raised "queries must have shape (Q, D), got (1,)" (the look averaged
    into one number), an empty set or NaN looks answered "no identity" (a RuntimeWarning at most): each is now one
    ValueError about `looks`, as `link` and `add` refuse them."""
    gallery, looks = filled()
    with pytest.raises(
        ValueError, match=r"looks must have shape \(P, D\) with P >= 1, got \(64,\) \(one look: looks\[None\]\)"
    ):
        gallery.match_looks(looks[0, 10], 0)
    with pytest.raises(ValueError, match=r"looks must have shape \(P, D\) with P >= 1, got \(0, 64\)"):
        gallery.match_looks(np.zeros((0, DIM)), 0)
    with pytest.raises(ValueError, match=r"looks must have shape \(P, D\) with P >= 1, got \(1, 2, 64\)"):
        gallery.match_looks(looks[None, 0, :2], 0)
    nan = looks[0, 8:10].copy()
    nan[1] = np.nan
    with pytest.raises(ValueError, match=r"looks: 1 of 2 rows are NaN, infinite or zero \(the first: row 1\)"):
        gallery.match_looks(nan, 0)
    assert gallery.match_looks(looks[0, 8:10], 0) == 1  # the same person's looks as (P, D): found
    assert gallery.match_looks(looks[0, 10][None], 0) == 1


def test_a_stricter_bound_given_to_the_search_refuses_what_the_configured_one_accepts():
    """The tracker searches with its calibrated gallery bound when that is stricter than `gallery.min_similarity`
    (look-alikes in the video): `match(min_similarity=...)` is that bound, and a look below it gets no identity."""
    gallery, looks = filled()
    query = looks[:, 10]
    best = np.array([(select_prototypes(looks[i, :8], 4) @ query[i]).max() for i in range(20)])
    ids = gallery.match(query)
    assert (ids == np.arange(1, 21)).mean() >= 0.95
    strict = float(np.median(best))
    ids = gallery.match(query, min_similarity=strict)
    assert (ids[best < strict] == NO_ID).all() and (ids != NO_ID).any()


def test_strangers_get_no_identity():
    gallery, _ = filled()
    strangers = people(10, 1, seed=7)[:, 0]
    assert (gallery.match(strangers) == NO_ID).all()


def test_ambiguous_query_gets_no_identity():
    gallery = Gallery(GalleryConfig(min_similarity=0.5, margin=0.1), MODEL)
    a, b = people(2, 1, seed=3)[:, 0]
    gallery.add(gallery.new_id(), a[None], 0, sighting())
    gallery.add(gallery.new_id(), b[None], 0, sighting())
    between = (a + b) / 2
    assert gallery.match(between[None])[0] == NO_ID
    assert gallery.match(a[None])[0] == 1


def test_excluded_and_other_class_identities_are_never_given():
    gallery, looks = filled()
    query = looks[3, 10][None]
    assert gallery.match(query)[0] == 4
    assert gallery.match(query, exclude=[4])[0] != 4
    assert gallery.match(query, class_ids=np.array([2]))[0] == NO_ID


def test_look_alikes_in_view_do_not_hide_a_returning_persons_own_identity():
    """Identities held by tracks in view are excluded, and the search fetches more candidates for each one: two
    look-alikes in view (every prototype of theirs nearer the query than any of the person's own) still leave the
    returning person's identity to be found."""
    rng = np.random.default_rng(4)
    unit = lambda x: x / np.linalg.norm(x, axis=-1, keepdims=True)  # noqa: E731
    query = unit(rng.normal(size=DIM)).astype(np.float32)
    side = unit(rng.normal(size=DIM) - (rng.normal(size=DIM) @ query) * query)

    def around(centre: np.ndarray, spread: float) -> np.ndarray:
        return unit(centre + spread * rng.normal(size=(8, DIM))).astype(np.float32)

    gallery = Gallery(None, MODEL)
    alike = [gallery.new_id(), gallery.new_id()]
    for gid in alike:  # cosine ~0.98 to the query
        gallery.add(gid, around(query, 0.02), 0, sighting())
    own = gallery.new_id()
    gallery.add(own, around(0.92 * query + 0.39 * side, 0.01), 0, sighting())  # cosine ~0.92
    for _ in range(5):  # strangers
        gallery.add(gallery.new_id(), around(unit(rng.normal(size=DIM)), 0.05), 0, sighting())
    assert gallery.match(query[None])[0] == NO_ID, "two look-alikes nearer than its own: ambiguous without exclusions"
    assert gallery.match(query[None], exclude=alike)[0] == own


def test_two_queries_of_one_frame_never_share_an_identity():
    gallery, looks = filled()
    twice = np.stack([looks[5, 9], looks[5, 10]])
    ids = gallery.match(twice)
    assert sorted(ids.tolist()) == [NO_ID, 6]


def test_link_respects_cannot_link_and_merges_the_same_person():
    gallery = Gallery(GalleryConfig(), MODEL)
    looks = people(3, 12, seed=4)
    tracks = [looks[0, :4], looks[1, :4], looks[0, 4:8], looks[2, :4], looks[1, 4:8]]
    ids = gallery.link(tracks)
    assert ids[0] == ids[2] and ids[1] == ids[4] and len(set(ids.tolist())) == 3
    # tracks 0 and 2 visible together: two people, whatever their looks
    fresh = Gallery(GalleryConfig(), MODEL)
    ids = fresh.link(tracks, cannot_link=[(0, 2)])
    assert ids[0] != ids[2]
    assert len(fresh) == 4


@pytest.mark.parametrize(
    ("arguments", "says"),
    [
        ({"cannot_link": [(0, 5)]}, r"cannot_link: \(0, 5\) names track 5; there are 3 tracks \(positions 0-2\)"),
        ({"cannot_link": [(-1, 0)]}, r"cannot_link: \(-1, 0\) names track -1; there are 3 tracks"),
        ({"class_ids": [0]}, r"class_ids has 1 entries, one per track is needed: 3"),
        ({"sightings": [sighting()]}, r"sightings has 1 entries, one per track is needed: 3"),
    ],
)
def test_link_refuses_arguments_that_do_not_fit_the_tracks_before_storing_any(arguments, says):
    """`Gallery.link` with a cannot-link pair naming no track raised a bare `KeyError: 5`; with fewer classes or
    sightings than tracks, an `IndexError: list index out of range` after the tracks before had been stored (the
    gallery half linked). One ValueError naming the argument now, before anything is stored."""
    gallery = Gallery(GalleryConfig(), MODEL)
    looks = people(3, 4, seed=5)
    with pytest.raises(ValueError, match=says):
        gallery.link(list(looks), **arguments)
    assert len(gallery) == 0 and not gallery.modified


def test_save_load_round_trip_keeps_ids_and_answers(tmp_path):
    gallery, looks = filled()
    path = tmp_path / "site.gallery"
    gallery.save(path)
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    again = Gallery.load(path, model=MODEL)
    assert [i.global_id for i in again.identities] == [i.global_id for i in gallery.identities]
    assert [i.describe() for i in again.identities] == [i.describe() for i in gallery.identities]
    assert np.array_equal(again.match(looks[:, 11]), gallery.match(looks[:, 11]))
    assert again.new_id() == gallery.new_id() == 21  # IDs are never reused across saves
    assert not list(tmp_path.glob("*.tmp"))


@pytest.mark.parametrize("save", ["save", "begin_save"])
def test_a_save_that_fails_midway_keeps_the_previous_file_whole(tmp_path, monkeypatch, save):
    """The gallery is written to a temporary file and renamed into place: a disk that fills up during a save leaves
    the previous gallery as it was (all its identities load), and no partial file beside it. The error names the
    gallery file, as `track` does (it said only "[Errno 28] No space left on device" from Python)."""
    path = tmp_path / "site.gallery"
    gallery, looks = filled(count=3)
    gallery.save(path)
    gallery.add(gallery.new_id(), looks[0, 8:], 0, sighting())

    def full_disk(fd: int) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "fsync", full_disk)
    with pytest.raises(OSError, match="No space left") as error:
        gallery.save(path) if save == "save" else gallery.begin_save(path).write()
    monkeypatch.undo()
    assert error.value.errno == 28 and error.value.filename == str(path) and str(path) in str(error.value)
    assert len(Gallery.load(path, model=MODEL)) == 3
    assert [p.name for p in tmp_path.iterdir() if not p.name.endswith(".lock")] == [path.name]


def test_a_gallery_that_cannot_be_saved_is_named_before_any_work(tmp_path, monkeypatch):
    """`check_saveable`, which `track --gallery` and `track batch --gallery` ask before the first frame: a folder
    that is a file, a directory for the file, a folder a save cannot create its temp file in and one under which it
    cannot make a missing folder (chmod 0o500 as a user; root passes permissions, so that is emulated here) are each
    one error naming the gallery or its folder; a folder that can be written passes, and nothing is left in it."""
    import errno
    import tempfile

    check_saveable(tmp_path / "site.gallery")
    assert list(tmp_path.iterdir()) == [], "the probe's temp file was left"
    (tmp_path / "notes.txt").write_text("")
    with pytest.raises(NotADirectoryError, match=f"{tmp_path / 'notes.txt'} is a file, not a folder"):
        check_saveable(tmp_path / "notes.txt" / "site.gallery")
    (tmp_path / "dir.gallery").mkdir()
    with pytest.raises(GalleryError, match="is a directory, not a file"):
        check_saveable(tmp_path / "dir.gallery")

    def refused(*_args, **_kwargs):
        raise PermissionError(errno.EACCES, "Permission denied")

    monkeypatch.setattr(tempfile, "mkstemp", refused)
    expected = f"the gallery {tmp_path / 'site.gallery'} cannot be saved: its folder {tmp_path} is not writable"
    with pytest.raises(OSError, match=f"{expected} \\(Permission denied\\): choose another --gallery"):
        check_saveable(tmp_path / "site.gallery")
    monkeypatch.setattr(tempfile, "mkdtemp", refused)
    missing = tmp_path / "new" / "cam1" / "site.gallery"
    expected = f"its folder {missing.parent} cannot be made in {tmp_path} \\(Permission denied\\)"
    with pytest.raises(OSError, match=expected):
        check_saveable(missing)


def test_check_saveable_agrees_with_what_a_save_does_about_folders(tmp_path):
    """A save makes the folders its path lacks, yet `check_saveable` refused such a path ("gallery folder ... does not
    exist: create it"), a message `track` and `track batch` never showed (their gallery lock makes the folder first):
    a missing folder now passes (nothing made by the check) and the save writes there. What a save cannot make is
    refused naming its cause: a file higher up in the path (it said "... does not exist: create it", which no one
    could)."""
    missing = tmp_path / "new" / "cam1" / "site.gallery"
    check_saveable(missing)
    assert list(tmp_path.iterdir()) == [], "the check made a folder or left its probe"
    gallery, _ = filled()
    gallery.save(missing)
    assert len(Gallery.load(missing, model=MODEL)) == len(gallery)
    (tmp_path / "notes.txt").write_text("")
    with pytest.raises(NotADirectoryError, match=f"{tmp_path / 'notes.txt'} is a file, not a folder"):
        check_saveable(tmp_path / "notes.txt" / "cam1" / "site.gallery")


def test_two_users_of_one_file_never_lose_each_others_identities(tmp_path):
    """Two programs load one gallery file and each adds a person: the first save writes, the second is refused
    (writing nothing) instead of dropping the first's person, who had the same new global ID; loaded again, the
    second adds its person under a fresh ID. A save while a `track` run holds the file's lock is refused too."""
    from tracker.io.lock import FolderInUse, gallery_lock

    base, looks = filled(4)
    path = tmp_path / "site.gallery"
    base.save(path)
    first, second = Gallery.load(path, model=MODEL), Gallery.load(path, model=MODEL)
    first.add(first.new_id(), looks[0, 8:], 0, sighting())
    first.save(path)
    second_id = second.new_id()
    assert second_id == 5 and 5 in first  # both gave 5: a blind write would drop first's person 5
    second.add(second_id, looks[1, 8:], 0, sighting())
    written = path.read_bytes()
    # both in this process: the error said "another process saved it", which sent a user hunting for one
    saved_since = r"it was saved after this gallery read it \(by another program, or another Gallery in this one\)"
    with pytest.raises(GalleryConflictError, match=saved_since):
        second.save(path)
    assert path.read_bytes() == written and not list(tmp_path.glob(".*"))
    again = Gallery.load(path, model=MODEL)
    again.add(again.new_id(), looks[1, 8:], 0, sighting())
    again.save(path)
    assert [i.global_id for i in Gallery.load(path).identities] == [1, 2, 3, 4, 5, 6]

    with pytest.raises(GalleryConflictError, match="this gallery never read it"):
        Gallery(model=MODEL).save(path)  # a new gallery does not silently replace a file
    Gallery(model=MODEL).save(tmp_path / "new.gallery")  # a file that is not there yet is simply written
    nested = r"in use by this process .*: take it once \(a save inside `with gallery_lock\(path\):` passes lock=False\)"
    with gallery_lock(path), pytest.raises(FolderInUse, match=nested + ", or choose another path$"):
        again.save(path)  # (it said "in use by another track run (process <this one>)")
    again.save(path, overwrite=True)
    assert Gallery(model=MODEL).save(path, overwrite=True) is None and len(Gallery.load(path)) == 0


@pytest.mark.parametrize("damage", ["truncate", "flip", "garbage", "empty"])
def test_corrupt_file_is_a_clear_error_and_is_left_alone(tmp_path, damage):
    gallery, _ = filled()
    path = tmp_path / "site.gallery"
    gallery.save(path)
    blob = bytearray(path.read_bytes())
    if damage == "truncate":
        blob = blob[: len(blob) * 2 // 3]
    elif damage == "flip":
        blob[-10] ^= 0xFF  # inside the embeddings
    elif damage == "garbage":
        blob = bytearray(b"not a gallery at all" * 10)
    else:
        blob = bytearray()
    path.write_bytes(bytes(blob))
    with pytest.raises(GalleryError, match=r"site\.gallery"):
        Gallery.load(path)
    assert path.read_bytes() == bytes(blob)


def test_gallery_of_another_model_is_refused(tmp_path):
    gallery, _ = filled()
    path = tmp_path / "site.gallery"
    gallery.save(path)
    named = f"^{re.escape(os.path.realpath(path))}: this gallery"  # which file, with several in use
    with pytest.raises(GalleryModelError, match=named + " was made with .* cannot be compared"):
        Gallery.load(path, model=ModelIdentity("osnet_x0_25", "ffffffffffffffff", DIM))
    with pytest.raises(GalleryModelError, match=named + r" .*D = 512"):
        Gallery.load(path, model=ModelIdentity("osnet_x0_25", MODEL.weights_digest, 512))
    loaded = Gallery.load(path)
    with pytest.raises(GalleryModelError, match=named):  # bound after loading (what `Tracker` does)
        loaded.bind_model(ModelIdentity("osnet_x0_25", "ffffffffffffffff", DIM))
    assert len(Gallery.load(path, model=MODEL)) == 20
    with pytest.raises(GalleryModelError, match=r"^this gallery"):  # never read or written: no file to name
        filled()[0].bind_model(ModelIdentity("osnet_x0_25", "ffffffffffffffff", DIM))


def test_file_holds_no_pickle(tmp_path):
    gallery, _ = filled(3)
    path = tmp_path / "g"
    gallery.save(path)
    blob = path.read_bytes()
    assert b"\x80\x04\x95" not in blob and b"\x80\x05\x95" not in blob  # pickle protocol 4/5 frames


def test_retention_forgets_the_unseen_and_the_least_recently_seen(tmp_path):
    gallery = Gallery(GalleryConfig(max_days_unseen=30, max_identities=4), MODEL)
    looks = people(5, 4, seed=5)
    for i, days in enumerate([40, 1, 5, 2, 31]):
        gallery.add(i + 1, looks[i], 0, sighting(days_ago=days))
    # capacity is enforced as identities come: the fifth pushes out the least recently seen (40 days)
    assert sorted(i.global_id for i in gallery.identities) == [2, 3, 4, 5]
    assert gallery.prune() == [5]  # unseen for 31 days
    assert sorted(i.global_id for i in gallery.identities) == [2, 3, 4]
    gallery.add(6, looks[0], 0, sighting(days_ago=3))
    gallery.add(7, looks[1], 0, sighting(days_ago=0))
    assert sorted(i.global_id for i in gallery.identities) == [2, 4, 6, 7]  # 3 (5 days) was the oldest
    assert gallery.match(looks[4, :1])[0] == NO_ID  # a forgotten identity is no longer found
    assert gallery.remove([2, 99]) == [2]
    assert 2 not in gallery


def test_ivf_index_beyond_the_size_limit_keeps_recall():
    config = GalleryConfig(ivf_min_identities=200, ivf_nprobe=8)
    gallery, looks = filled(400, config)
    exact, _ = filled(400)
    queries = looks[:50, 11]
    found = gallery.match(queries)
    assert gallery._ivf_trained_at > 0
    assert (found == exact.match(queries)).mean() >= 0.95
    gallery.remove([1])
    assert gallery.match(looks[:1, 11])[0] != 1


def test_wrong_dimension_is_refused():
    gallery, _ = filled(2)
    with pytest.raises(ValueError, match="D = 8"):
        gallery.match(np.ones((1, 8)))
    with pytest.raises(ValueError, match="D = 8"):
        gallery.add(9, np.ones((2, 8)), 0, sighting())


@pytest.mark.parametrize("identities", [0, 1, 20])
def test_a_frame_without_queries_searches_nothing(identities):
    """`match` of a (0, D) array (a frame with no new track) raised "cannot reshape array of size 0"."""
    gallery, _ = filled(identities) if identities else (Gallery(None, MODEL), None)
    assert gallery.match(np.zeros((0, DIM), dtype=np.float32)).shape == (0,)
    assert gallery.match(np.zeros((0, DIM)), class_ids=np.zeros(0, dtype=np.int64)).dtype == np.int64


@pytest.mark.parametrize("bad", [np.nan, np.inf, 0.0])
def test_a_row_that_is_no_look_is_refused_and_nothing_is_stored(bad, tmp_path):
    """NaN, infinite or zero embeddings were stored: NaN prototypes merged into a known identity and written to the
    file, zero ones kept as prototypes that match nothing. Now one ValueError naming the row; the gallery unchanged."""
    gallery, looks = filled(3)
    rows = looks[0, 8:].copy()
    rows[1] = bad
    before = [ident.prototypes.copy() for ident in gallery.identities]
    with pytest.raises(ValueError, match=r"embeddings: 1 of 4 rows are NaN, infinite or zero \(the first: row 1\)"):
        gallery.add(1, rows, 0, sighting())
    with pytest.raises(ValueError, match=r"track 0: prototypes: 1 of 4 rows are NaN"):
        gallery.link([rows])
    assert len(gallery) == 3
    for ident, kept in zip(gallery.identities, before, strict=True):
        np.testing.assert_array_equal(ident.prototypes, kept)
    gallery.save(tmp_path / "g.gallery", overwrite=True)
    assert all(np.isfinite(i.prototypes).all() for i in Gallery.load(tmp_path / "g.gallery").identities)


def test_a_bank_that_switched_people_enters_with_the_person_it_ended_on():
    looks = people(2, 6, seed=9)
    mixed = np.concatenate([looks[0], looks[1]])  # the track followed person 0, then person 1
    kept = consistent_looks(mixed, 0.8, 3)
    assert kept is not None and len(kept) == 6
    assert (kept @ looks[1].mean(axis=0) > kept @ looks[0].mean(axis=0)).all()
    assert consistent_looks(mixed[:2], 0.8, 3) is None  # too few looks


def test_ivf_gallery_stays_in_step_through_merges_and_removals():
    config = GalleryConfig(ivf_min_identities=200)
    gallery, looks = filled(400, config)
    assert gallery.match(looks[:1, 11])[0] == 1 and gallery._ivf_trained_at > 0
    gallery.add(3, looks[2, 8:11], 0, sighting())  # a known identity seen again: its prototypes are re-picked
    gallery.remove([5])
    assert gallery.num_vectors == sum(len(i.prototypes) for i in gallery.identities)
    assert gallery.match(looks[2:3, 11])[0] == 3
    assert gallery.match(looks[4:5, 11])[0] == NO_ID


def test_a_small_gallery_stays_exact_whatever_the_ivf_threshold():
    gallery, looks = filled(10, GalleryConfig(ivf_min_identities=1))
    assert gallery.match(looks[:3, 11]).tolist() == [1, 2, 3]
    assert gallery._ivf_trained_at == 0


def test_a_gallery_from_a_checkpoint_of_an_older_version_still_saves(tmp_path):
    """A resume checkpoint pickles the gallery; one pickled before galleries remembered their file has no such
    field: it unpickles as a gallery that read no file, which saves to a new file and refuses to replace one."""
    import pickle

    gallery, _ = filled(3)
    old = pickle.loads(pickle.dumps(gallery))
    del old.__dict__["_file"]  # what an older version pickled
    path = tmp_path / "site.gallery"
    Gallery(model=MODEL).save(path)
    with pytest.raises(GalleryConflictError, match="this gallery never read it"):
        pickle.loads(pickle.dumps(old)).save(path)
    pickle.loads(pickle.dumps(old)).save(tmp_path / "new.gallery")
    assert len(Gallery.load(tmp_path / "new.gallery")) == 3


# A gallery file written by the tracker before the gallery was split into modules (commit ca35e17): identity 1 (class
# 0, two looks along the first axes, seen from frame 5 to 30 of cam1) and identity 2 (class 2, cam2), D = 4.
BEFORE_THE_SPLIT = (
    "cAMAAAAAAAB7Il9fbWV0YWRhdGFfXyI6eyJnYWxsZXJ5Ijoie1wiZm9ybWF0XCI6IFwidHJhY2tlci1nYWxsZXJ5XCIsIFwidmVyc2lvblwiOiAx"
    "LCBcIm1vZGVsXCI6IHtcIm5hbWVcIjogXCJvc25ldF94MF8yNVwiLCBcIndlaWdodHNfZGlnZXN0XCI6IFwiYWJjZGVmMDEyMzQ1Njc4OVwiLCBc"
    "ImRpbVwiOiA0fSwgXCJuZXh0X2lkXCI6IDMsIFwiaWRlbnRpdGllc1wiOiBbe1wiZ2xvYmFsX2lkXCI6IDEsIFwiY2xhc3NfaWRcIjogMCwgXCJm"
    "aXJzdF9zZWVuXCI6IHtcImZyYW1lXCI6IDUsIFwidGltZVwiOiAxNzAwMDAwMDAwLjAsIFwic291cmNlXCI6IFwiY2FtMVwifSwgXCJsYXN0X3Nl"
    "ZW5cIjoge1wiZnJhbWVcIjogMzAsIFwidGltZVwiOiAxNzAwMDAwMDYwLjAsIFwic291cmNlXCI6IFwiY2FtMVwifSwgXCJzaWdodGluZ3NcIjog"
    "MSwgXCJwcm90b3R5cGVzXCI6IDJ9LCB7XCJnbG9iYWxfaWRcIjogMiwgXCJjbGFzc19pZFwiOiAyLCBcImZpcnN0X3NlZW5cIjoge1wiZnJhbWVc"
    "IjogMTIsIFwidGltZVwiOiAxNzAwMDAwMDA5LjUsIFwic291cmNlXCI6IFwiY2FtMlwifSwgXCJsYXN0X3NlZW5cIjoge1wiZnJhbWVcIjogMTIs"
    "IFwidGltZVwiOiAxNzAwMDAwMDA5LjUsIFwic291cmNlXCI6IFwiY2FtMlwifSwgXCJzaWdodGluZ3NcIjogMSwgXCJwcm90b3R5cGVzXCI6IDJ9"
    "XSwgXCJzaGEyNTZcIjogXCI3YjczZDQ5ZDc2ZjM2MTU4ZWFmMDc1Njk4YWE1NzA2ZTRhYzEwMmFiNzAyNjU2Mzk2MjYyODBmMTk0NmViYWQ5XCJ9"
    "In0sIm93bmVycyI6eyJkdHlwZSI6Ikk2NCIsInNoYXBlIjpbNF0sImRhdGFfb2Zmc2V0cyI6WzAsMzJdfSwicHJvdG90eXBlcyI6eyJkdHlwZSI6"
    "IkYzMiIsInNoYXBlIjpbNCw0XSwiZGF0YV9vZmZzZXRzIjpbMzIsOTZdfX0gICAgAQAAAAAAAAABAAAAAAAAAAIAAAAAAAAAAgAAAAAAAAAAAIA/"
    "AAAAAAAAAAAAAAAAzcxMP5qZGT8AAAAAAAAAAAAAAAAAAAAAAACAPwAAAAAAAAAAAAAAAJqZGT/NzEw/"
)


def test_a_gallery_file_written_before_the_split_loads_and_saves_byte_for_byte(tmp_path):
    """Galleries people keep were written by older versions: one loads with its identities, model and next ID, is
    searched as before, and saving it unchanged writes the very same bytes (the format did not move)."""
    import base64

    path, again = tmp_path / "old.gallery", tmp_path / "again.gallery"
    path.write_bytes(base64.b64decode("".join(BEFORE_THE_SPLIT)))
    gallery = Gallery.load(path, prune=False)
    assert [(i.global_id, i.class_id, i.first_seen.frame, i.last_seen, i.sightings) for i in gallery.identities] == [
        (1, 0, 5, Sighting(30, 1.7e9 + 60, "cam1"), 1),
        (2, 2, 12, Sighting(12, 1.7e9 + 9.5, "cam2"), 1),
    ]
    assert gallery.model == ModelIdentity("osnet_x0_25", "abcdef0123456789", 4) and gallery.new_id() == 3
    queries = np.array([[0.9, 0.3, 0, 0], [0, 0, 0.8, 0.7]], dtype=np.float32)
    assert gallery.match(queries, min_similarity=0.5, margin=0.1).tolist() == [1, 2]
    Gallery.load(path, prune=False).save(again, prune=False)
    assert again.read_bytes() == path.read_bytes()


def test_a_checkpoint_pickled_before_the_records_moved_still_loads(tmp_path):
    """Resume checkpoints pickle the gallery with its records, which older versions named `tracker.gallery.Identity`,
    `.Sighting` and `.ModelIdentity` (they now live in `tracker.gallery_records`): such a checkpoint unpickles to
    the same gallery, which answers and saves as the one pickled."""
    import pickle

    gallery, looks = filled(5)
    current = pickle.dumps(gallery, protocol=2)  # (protocol 2 names classes as text lines: `c<module>\n<name>\n`)
    assert current.count(b"ctracker.gallery_records\n") == 3  # Identity, Sighting, ModelIdentity
    old = pickle.loads(current.replace(b"ctracker.gallery_records\n", b"ctracker.gallery\n"))
    assert [i.describe() for i in old.identities] == [i.describe() for i in gallery.identities]
    assert np.array_equal(old.match(looks[:, -1]), gallery.match(looks[:, -1]))
    old.save(tmp_path / "old.gallery", prune=False)
    gallery.save(tmp_path / "now.gallery", prune=False)
    assert (tmp_path / "old.gallery").read_bytes() == (tmp_path / "now.gallery").read_bytes()


def test_the_constants_tracker_gallery_held_before_the_split_still_import_from_it():
    """Code written against the one-module gallery imported its constants from `tracker.gallery` (`IVF_MIN_ROWS` to
    size a test gallery, `SEARCH_MIN_IDENTITIES` to reason about the margin test): each still imports from there,
    the very value its new module uses."""
    import tracker.gallery as gallery_module
    import tracker.gallery_index as gallery_index
    import tracker.gallery_retention as gallery_retention
    import tracker.gallery_search as gallery_search
    import tracker.gallery_upkeep as gallery_upkeep

    homes = {
        "ID_STRIDE": gallery_upkeep,
        "MAX_GLOBAL_ID": gallery_upkeep,
        "IVF_REBUILD_GROWTH": gallery_upkeep,
        "IVF_MIN_ROWS": gallery_index,
        "NO_ID": gallery_search,
        "SEARCH_MIN_IDENTITIES": gallery_search,
        "SEARCH_NEIGHBOURS_PER_EXCLUDED": gallery_search,
        "SECONDS_PER_DAY": gallery_retention,
    }  # (every upper-case name `tracker.gallery` had before the split)
    missing = [name for name in homes if not hasattr(gallery_module, name)]
    assert not missing, f"no longer importable from tracker.gallery: {missing}"
    assert all(getattr(gallery_module, name) == getattr(home, name) for name, home in homes.items())


def test_a_first_save_into_a_missing_folder_is_locked_too(tmp_path, monkeypatch):
    """Two programs saving a new gallery into a folder that does not exist yet: the save makes the folder and holds
    the file's lock while it checks and writes, so the second is refused (`FolderInUse`) instead of silently
    replacing the first's file."""
    from tracker.io.lock import FolderInUse, gallery_lock

    path = tmp_path / "site" / "people.gallery"
    refused = []
    snapshot = Gallery._snapshot

    def another_program_tries(self, prune):  # what a second process's save would meet mid-write (the snapshot is
        with pytest.raises(FolderInUse):  # taken inside the lock, just before the write)
            gallery_lock(path, option="path").acquire()
        refused.append(path)
        return snapshot(self, prune)

    monkeypatch.setattr(Gallery, "_snapshot", another_program_tries)
    base, _ = filled(2)
    base.save(path)
    assert refused == [path] and len(Gallery.load(path)) == 2
    assert sorted(p.name for p in path.parent.iterdir()) == ["people.gallery"]  # the lock file went with the lock


def test_a_save_killed_before_its_rename_leaves_the_file_and_the_next_save_removes_its_temp(tmp_path):
    """A save killed (SIGKILL) between writing and renaming its temp file left the gallery file intact, and the temp
    file, a full copy of the identities, beside it for good (`track gallery rm` and retention never reach it). The
    next save of that file, holding its lock, removes it; another gallery's temp in the folder is not touched."""
    import signal
    import subprocess
    import sys

    gallery, _ = filled()
    path = tmp_path / "site.gallery"
    gallery.save(path)
    before = path.read_bytes()
    killed = (
        "import os, signal, sys\n"
        "from tracker.gallery import Gallery\n"
        "gallery = Gallery.load(sys.argv[1])\n"
        "os.fsync = lambda fd: os.kill(os.getpid(), signal.SIGKILL)  # dies with the temp file written, not renamed\n"
        "gallery.save(sys.argv[1])\n"
    )
    run = subprocess.run([sys.executable, "-c", killed, str(path)], capture_output=True, timeout=60)
    assert run.returncode == -signal.SIGKILL, run.stderr.decode()
    assert path.read_bytes() == before and len(Gallery.load(path)) == 20
    left = [p.name for p in tmp_path.iterdir() if p.name.endswith(".tmp")]
    assert len(left) == 1 and left[0].startswith(".site.gallery.")
    other = tmp_path / ".site.gallery.x.abcd1234.tmp"  # a temp of the gallery `site.gallery.x`
    other.write_bytes(b"")
    Gallery.load(path).save(path)
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.endswith(".tmp")) == [other.name]


def test_a_gallery_whose_name_fills_the_limit_is_saved_and_its_leftovers_told_from_its_neighbours(tmp_path):
    """A gallery named with 255 bytes (the most a file name holds) was refused: its lock `.<name>.lock` and its
    temp file `.<name>.<8>.tmp` were longer than a name can be ("File name too long"). They take the name's start
    and a hash of it: a save's leftovers are removed by the next save of that gallery, never of another gallery
    whose name differs only past the cut."""
    start = "é" * 115  # 230 bytes, then 25 more that tell the two galleries apart
    path, neighbour = tmp_path / f"{start}{'a' * 17}.gallery", tmp_path / f"{start}{'b' * 17}.gallery"
    assert len(path.name.encode()) == 255
    temps = [tmp_path / f".{fitting_stem(p.name, 14)}.abcd1234.tmp" for p in (path, neighbour)]
    for left in temps:
        left.write_bytes(b"")  # as a save killed before its rename leaves (`write_atomic`)
    filled()[0].save(path)
    assert Gallery.load(path, model=MODEL).new_id() == 21
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([path.name, temps[1].name]), "its leftover went"


def test_a_save_to_a_directory_says_so(tmp_path):
    """`save(folder)` was refused as "this gallery never read it" (GalleryConflictError), and with overwrite=True by
    os.replace's IsADirectoryError: the folder was meant as the gallery's place."""
    gallery, _ = filled()
    for overwrite in (False, True):
        with pytest.raises(GalleryError, match="is a directory, not a file") as refused:
            gallery.save(tmp_path, overwrite=overwrite)
        assert not isinstance(refused.value, GalleryConflictError)
    assert list(tmp_path.iterdir()) == []


def test_a_named_pipe_given_as_the_gallery_is_refused_not_waited_on_nor_replaced(tmp_path):
    """`track gallery ls pipe` (and `track --gallery pipe`, `Gallery.load`) waited forever for a writer of a named
    pipe, and a save renamed its file over the pipe (as root, over `/dev/null` too): each is one GalleryError now,
    and the pipe is left as it is."""
    pipe = tmp_path / "site.gallery"
    os.mkfifo(pipe)
    said: list[BaseException] = []

    def load() -> None:
        try:
            Gallery.load(pipe)
        except BaseException as exc:  # (a thread: a load stuck in open() must not hang the test)
            said.append(exc)

    reader = threading.Thread(target=load, daemon=True)
    reader.start()
    reader.join(timeout=5)
    if reader.is_alive():  # (the old code: give the stuck reader its end of file)
        os.close(os.open(pipe, os.O_WRONLY | os.O_NONBLOCK))
        reader.join(timeout=5)
        pytest.fail("Gallery.load of a named pipe waited for a writer")
    assert len(said) == 1 and isinstance(said[0], GalleryError), said
    assert str(said[0]).startswith(f"gallery file {pipe} is a named pipe (FIFO), not a file"), said
    gallery, _ = filled()
    with pytest.raises(GalleryError, match="is a named pipe"):
        gallery.save(pipe, overwrite=True)
    with pytest.raises(GalleryError, match="is a named pipe"):
        check_saveable(pipe)
    assert stat.S_ISFIFO(os.stat(pipe).st_mode) and sorted(tmp_path.iterdir()) == [pipe]


def test_a_version_that_is_not_a_number_is_named_corrupt(tmp_path):
    """A header whose version is the string "1" was refused as "format version 1, this tracker reads up to 1: upgrade
    the tracker"."""
    import json

    gallery, _ = filled()
    path = tmp_path / "site.gallery"
    gallery.save(path)
    blob = path.read_bytes()
    size = int.from_bytes(blob[:8], "little")
    header = json.loads(blob[8 : 8 + size])
    meta = json.loads(header["__metadata__"]["gallery"])
    header["__metadata__"]["gallery"] = json.dumps({**meta, "version": "1"})
    text = json.dumps(header).encode()
    text += b" " * (-len(text) % 8)
    path.write_bytes(len(text).to_bytes(8, "little") + text + blob[8 + size :])
    with pytest.raises(GalleryError, match=r"site\.gallery is corrupt: its format version '1' is not a whole number"):
        Gallery.load(path)


def _with_header(path, change) -> None:
    """Rewrite the gallery file `path` with `change(header)` applied to its JSON header (the embeddings, and so the
    checksum, left as they are)."""
    import json

    blob = path.read_bytes()
    size = int.from_bytes(blob[:8], "little")
    outer = json.loads(blob[8 : 8 + size])
    header = json.loads(outer["__metadata__"]["gallery"])
    change(header)
    outer["__metadata__"]["gallery"] = json.dumps(header)
    text = json.dumps(outer).encode()
    text += b" " * (-len(text) % 8)
    path.write_bytes(len(text).to_bytes(8, "little") + text + blob[8 + size :])


@pytest.mark.parametrize(
    ("field", "value", "said"),
    [
        ("last_seen", {"frame": 1, "time": "yesterday", "source": "cam1"}, "last_seen time 'yesterday'"),
        ("last_seen", {"frame": 1, "time": None, "source": "cam1"}, "last_seen time None"),
        ("first_seen", {"frame": "1", "time": 0.0, "source": "cam1"}, "first_seen frame '1'"),
        ("first_seen", {"frame": 1, "time": 0.0, "source": ["cam1"]}, "first_seen source ['cam1']"),
        ("class_id", 1.5, "class_id 1.5 is not a whole number"),
        ("global_id", True, "global_id True is not a whole number"),
    ],
)
def test_a_record_field_of_another_type_is_named_corrupt(tmp_path, field, value, said):
    """A damaged field of an identity record (the checksum covers only the embeddings) was read as it stood: a last
    sighting's time that is text reached retention as a bare TypeError ("'<' not supported ..."), a class 1.5 was
    read as class 1. Each is one GalleryError naming the file, and the file is left alone."""
    gallery, _ = filled()
    path = tmp_path / "site.gallery"
    gallery.save(path)
    _with_header(path, lambda header: header["identities"][0].update({field: value}))
    damaged = path.read_bytes()
    with pytest.raises(GalleryError, match=r"site\.gallery is corrupt") as caught:
        Gallery.load(path)
    assert said in str(caught.value)
    assert path.read_bytes() == damaged


@pytest.mark.parametrize(
    ("change", "said"),
    [
        (lambda header: header["identities"].pop(), "have prototype rows but no record"),
        (lambda header: header["identities"].clear(), "20 global IDs have prototype rows but no record"),
        (lambda header: header["identities"].append(dict(header["identities"][0])), "has two records"),
        (lambda header: header.update(identities={}), "are not a list"),
        (lambda header: header["model"].update(name=5), "name and weights digest must be text"),
        (lambda header: header["model"].update(dim=32), "its model record says D = 32, its prototypes have D = 64"),
        (lambda header: header["identities"][0].update(sightings=-5), "sightings -5 is not a count of at least 1"),
        (lambda header: header["identities"][0].update(sightings=0), "sightings 0 is not a count of at least 1"),
    ],
)
def test_records_that_do_not_account_for_the_embeddings_are_named_corrupt(tmp_path, change, said):
    """Rows of the embeddings no identity record names were dropped without a word (the next save lost those
    people's looks); a record given twice was read twice. Each is one GalleryError naming the file."""
    gallery, _ = filled()
    path = tmp_path / "site.gallery"
    gallery.save(path)
    _with_header(path, change)
    with pytest.raises(GalleryError, match=r"site\.gallery is corrupt") as caught:
        Gallery.load(path)
    assert said in str(caught.value)


def _with_tensors(path, change) -> None:
    """Rewrite the gallery file `path` with `change(tensors)` applied to its tensors and the header's checksum made
    to match them (a file another program wrote as a gallery, or damaged and re-signed: the checksum passes)."""
    import json

    from safetensors.numpy import load, save

    from tracker.gallery_format import _read_header, _tensor_digest

    blob = path.read_bytes()
    tensors, header = dict(load(blob)), _read_header(blob)
    change(tensors)
    header["sha256"] = _tensor_digest(tensors)
    path.write_bytes(save(tensors, metadata={"gallery": json.dumps(header)}))


@pytest.mark.parametrize(
    ("change", "said"),
    [
        (lambda t: t.update(prototypes=t["prototypes"].reshape(-1)), "prototypes are not an (M, D) matrix"),
        (lambda t: t.update(prototypes=t["prototypes"].reshape(len(t["owners"]), 2, -1)), "an (M, D) matrix"),
        (lambda t: t.update(owners=t["owners"].reshape(-1, 1)), "owners are not an (M,) vector"),
    ],
)
def test_tensors_of_another_shape_are_named_corrupt(tmp_path, change, said):
    """A file whose checksum matches tensors of another rank (1-D prototypes) failed with a traceback, IndexError:
    tuple index out of range in check_width, from `track gallery ls` and `track --gallery` alike. Each shape is one
    GalleryError naming the file, the file left as it is."""
    gallery, _ = filled()
    path = tmp_path / "site.gallery"
    gallery.save(path)
    _with_tensors(path, change)
    before = path.read_bytes()
    with pytest.raises(GalleryError, match=r"site\.gallery is corrupt") as caught:
        Gallery.load(path)
    assert said in str(caught.value)
    assert path.read_bytes() == before


def test_the_gallery_modules_public_names_outlive_its_split():
    """tracker/gallery.py was split into gallery_records / _prototypes / _file / _format / _assign (stop 40): code
    that imported a public name of tracker.gallery before must still find it there."""
    import tracker.gallery as gallery

    before = ["Gallery", "GalleryConflictError", "GalleryError", "GalleryModelError", "Identity", "ModelIdentity"]
    before += ["Sighting", "check_saveable", "consistent_looks", "select_prototypes"]
    assert set(before) <= set(gallery.__all__)
    assert all(callable(getattr(gallery, name)) for name in before)


GALLERY_MODULES = [
    "tracker.gallery", "tracker.gallery_assign", "tracker.gallery_file", "tracker.gallery_format",
    "tracker.gallery_index", "tracker.gallery_link", "tracker.gallery_prototypes", "tracker.gallery_records",
    "tracker.run_gallery", "tracker.background_job", "tracker.gallery_merge", "tracker.gallery_export",
    "tracker.gallery_checks", "tracker.gallery_guard", "tracker.gallery_live", "tracker.gallery_retention",
    "tracker.gallery_save", "tracker.gallery_search", "tracker.gallery_upkeep",
]  # fmt: skip


@pytest.mark.parametrize("name", GALLERY_MODULES)
def test_a_gallery_module_exports_each_public_function_and_class_it_defines(name):
    """`__all__` is what a module offers (`from ... import *`, the API docs); a public name defined there and not
    in it (gallery_file's `temp_names`, used inside the module only) was neither private nor offered."""
    import importlib
    import inspect

    module = importlib.import_module(name)
    defined = {
        key for key, value in vars(module).items()
        if not key.startswith("_") and (inspect.isfunction(value) or inspect.isclass(value))
        and value.__module__ == name
    }  # fmt: skip
    assert defined <= set(module.__all__), f"public but not in __all__: {sorted(defined - set(module.__all__))}"
    assert all(hasattr(module, key) for key in module.__all__)


def test_a_gallery_reached_through_a_symbolic_link_is_saved_into_its_file_and_locked_as_it(tmp_path):
    """`site.gallery -> store/site-2026.gallery` (a link naming the current file): a save through the link replaced
    the link by a regular file (os.replace renames over the link itself), so the real file was never updated and
    two runs, one naming the link and one the file, took two different locks and wrote two diverging galleries.
    Now the file the link points to is saved (the link stays) and both names take one lock."""
    from tracker.io.lock import FolderInUse, gallery_lock

    store = tmp_path / "store"
    store.mkdir()
    real, link = store / "site-2026.gallery", tmp_path / "site.gallery"
    gallery, looks = filled(3)
    gallery.save(real)
    link.symlink_to(real)
    loaded = Gallery.load(link)
    loaded.add(loaded.new_id(), looks[0, 8:], 0, sighting())
    loaded.save(link)
    assert link.is_symlink() and len(Gallery.load(real)) == 4
    check_saveable(link)  # the link's folder and the file's both writable here; nothing left behind
    assert sorted(p.name for p in store.iterdir()) == ["site-2026.gallery"]
    with gallery_lock(link):
        with pytest.raises(FolderInUse, match=f"the gallery {real} is in use"):
            gallery_lock(real).acquire()
        with pytest.raises(FolderInUse):
            Gallery.load(real).save(real)  # a save takes the lock too


def test_a_files_rows_reach_their_identities_in_file_order_wherever_they_lie():
    """Loading picks each identity's prototype rows by its global ID (one sort of the owners, not one scan of every
    row per identity, which made loading quadratic: 5.4-5.7 s at 20 000 identities, now ~1 s): rows interleaved in
    the file reach their owners in file order, and a row whose owner has no record is still refused."""
    from tracker.gallery_format import read_identities

    seen = {"frame": 1, "time": 0.0, "source": "cam"}
    record = {"class_id": 0, "first_seen": seen, "last_seen": seen, "sightings": 1}
    angles = np.arange(5) * 0.3  # (unit rows, each its own: as loaded, not normalised)
    vectors = np.stack([np.cos(angles), np.sin(angles)], axis=1).astype(np.float32)
    owners = np.array([7, 3, 7, 3, 7], dtype=np.int64)
    header = {"identities": [{**record, "global_id": 7, "prototypes": 3}, {**record, "global_id": 3, "prototypes": 2}]}
    identities = read_identities({"prototypes": vectors, "owners": owners}, header)
    assert list(identities) == [7, 3]
    np.testing.assert_array_equal(identities[7].prototypes, vectors[[0, 2, 4]])
    np.testing.assert_array_equal(identities[3].prototypes, vectors[[1, 3]])
    with pytest.raises(ValueError, match="prototype rows but no record"):
        read_identities(
            {"prototypes": np.eye(2, dtype=np.float32)[[0] * 6], "owners": np.array([7, 3, 7, 3, 7, 9])}, header
        )
    assert (
        read_identities(
            {"prototypes": np.zeros((0, 2), np.float32), "owners": np.zeros(0, np.int64)}, {"identities": []}
        )
        == {}
    )


def test_a_config_of_too_many_prototypes_is_a_config_error_not_a_corrupt_gallery_file(tmp_path):
    """`Gallery.load(path, dataclasses.replace(cfg.gallery, prototypes=5000))`, a config `load_config` would refuse,
    said "<path> is corrupt: a bad record in its header": the user was sent to a good file. Now the config's error,
    before the file is read, as `Gallery(config)` gives it."""
    import dataclasses

    from tracker.gallery import ID_STRIDE

    path = tmp_path / "site.gallery"
    Gallery().save(path)
    bad = dataclasses.replace(GalleryConfig(), prototypes=ID_STRIDE + 1)
    for make in (lambda: Gallery.load(path, bad), lambda: Gallery(bad)):
        with pytest.raises(ValueError, match=f"gallery.prototypes must be below {ID_STRIDE}, got {ID_STRIDE + 1}"):
            make()
    assert len(Gallery.load(path)) == 0


@pytest.mark.parametrize("ids", ["12", b"12", [1.7], [True], ["1"]])
def test_remove_refuses_ids_that_are_not_whole_numbers_and_forgets_nobody(ids):
    """`remove("12")` iterated the characters and forgot identities 1 and 2; `remove([1.7])` forgot 1."""
    gallery, _ = filled(15)
    with pytest.raises(TypeError, match="global IDs must be whole numbers"):
        gallery.remove(ids)
    assert len(gallery) == 15


def test_remove_takes_one_id_as_well_as_several():
    gallery, _ = filled(5)
    assert gallery.remove(np.int64(2)) == [2]
    assert gallery.remove(3) == [3]
    assert gallery.remove(np.array([4, 4, 9])) == [4]
    assert sorted(i.global_id for i in gallery.identities) == [1, 5]


@pytest.mark.parametrize(
    ("name", "blob"),
    [
        ("people.mp4", b"\x00\x00\x00\x18ftypisom\x00\x00\x02\x00isomiso2"),
        ("notes.txt", b"a text file\n" * 8),
        ("short.txt", b"hello\n"),
    ],
)
def test_another_kind_of_file_is_named_not_a_gallery_not_a_damaged_one(tmp_path, name, blob):
    """`track gallery ls people.mp4` said "is not a readable gallery file (truncated or corrupt?): ... header too
    large": a file that does not start as a safetensors file (header length, then '{') is not a gallery file; a cut-off
    gallery is still "truncated or corrupt"."""
    path = tmp_path / name
    path.write_bytes(blob)
    with pytest.raises(GalleryError, match=rf"{re.escape(name)} is not a gallery file: it does not start with") as got:
        Gallery.load(path)
    assert "corrupt" not in str(got.value)
    gallery, _ = filled()
    gallery.save(tmp_path / "site.gallery")
    cut = tmp_path / "cut.gallery"
    for size in (4, 20, len((tmp_path / "site.gallery").read_bytes()) // 2):
        cut.write_bytes((tmp_path / "site.gallery").read_bytes()[:size])
        with pytest.raises(GalleryError, match=r"cut\.gallery is not a readable gallery file \(truncated or corrupt"):
            Gallery.load(cut)


def test_an_empty_file_is_named_empty_not_truncated(tmp_path, capsys):
    """`touch site.gallery` then `track --gallery site.gallery` (or `track gallery ls`) said "is not a readable
    gallery file (truncated or corrupt?): Error while deserializing: header too small", as if identities had been
    lost: no save leaves an empty file (it writes a temp file whole, then renames it). It says the file is empty and
    how to start a new gallery there."""
    from tracker.cli import main

    path = tmp_path / "site.gallery"
    path.touch()
    assert main(["gallery", "ls", str(path)]) == 2
    assert capsys.readouterr().err == (
        f"track gallery: error: {path} is empty (0 bytes), not a gallery file: a save writes a gallery whole, so "
        "another program made it (`touch`?); remove it, and `track --gallery` makes a new gallery there\n"
    )
    assert path.read_bytes() == b"", "left as it is"


def test_another_programs_safetensors_file_is_named_not_a_gallery(tmp_path):
    """A valid safetensors file of other tensors was reported as "truncated or corrupt?: '__metadata__'"."""
    from safetensors.numpy import save_file

    path = tmp_path / "model.safetensors"
    save_file({"weight": np.zeros(3, dtype=np.float32)}, str(path))
    with pytest.raises(GalleryError, match=r"model\.safetensors is not a gallery file: a safetensors file without"):
        Gallery.load(path)
    save_file({"weight": np.zeros(3, dtype=np.float32)}, str(path), metadata={"format": "pt"})
    with pytest.raises(GalleryError, match=r"model\.safetensors is not a gallery file: a safetensors file without"):
        Gallery.load(path)


@pytest.mark.parametrize("lock", [True, False])
def test_a_save_whose_folder_cannot_be_made_or_written_names_the_gallery_and_its_folder(tmp_path, monkeypatch, lock):
    """`Gallery.save` into a folder it could not write said "[Errno 13] Permission denied:
    '/data/.site.gallery.bho_xvhv.tmp'" (a temp file the user never named), and under a file where a folder should be
    "[Errno 20] Not a directory: '.../notes.txt/sub/site.gallery'" (with lock=False: "[Errno 17] File exists")."""
    import errno
    import tempfile

    gallery, _ = filled(2)
    (tmp_path / "notes.txt").write_text("keep")
    path = tmp_path / "notes.txt" / "sub" / "site.gallery"
    with pytest.raises(NotADirectoryError, match=f"the gallery {path} cannot be saved: {tmp_path / 'notes.txt'} is a "):
        gallery.save(path, lock=lock)
    assert (tmp_path / "notes.txt").read_text() == "keep"

    def refused(*_args, **_kwargs):
        raise PermissionError(errno.EACCES, "Permission denied")

    monkeypatch.setattr(tempfile, "mkstemp", refused)
    path = tmp_path / "site.gallery"
    expected = f"the gallery {path} cannot be saved: its folder {tmp_path} is not writable \\(Permission denied\\)"
    with pytest.raises(PermissionError, match=expected):
        gallery.save(path, lock=lock)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["notes.txt"]


@pytest.mark.parametrize(
    ("global_id", "error", "said"),
    [
        (2**62, ValueError, "global_id 4611686018427387904 is out of range"),
        (0, ValueError, "global_id 0 is out of range"),
        (NO_ID, ValueError, "global_id -1 is out of range"),
        (7.9, TypeError, "global_id must be a whole number, got 7.9"),
        ("7", TypeError, "global_id must be a whole number, got '7'"),
    ],
)
def test_add_refuses_a_global_id_it_cannot_keep_and_changes_nothing(global_id, error, said):
    """`add(2**62, ...)` stored the identity, raised OverflowError from the index (left out of step with it) and
    made every later `new_id()` overflow too; `add(7.9)` merged the looks into identity 7, `add(-1)` stored NO_ID."""
    gallery, looks = filled(5)
    gallery.match(looks[:1, 0])  # (the index is built)
    with pytest.raises(error, match=re.escape(said)):
        gallery.add(global_id, looks[0, :4], 0, sighting())
    assert sorted(i.global_id for i in gallery.identities) == [1, 2, 3, 4, 5]
    assert gallery[1].sightings == 1 and gallery.num_vectors == sum(len(i.prototypes) for i in gallery.identities)
    assert gallery.new_id() == 6


def test_add_refuses_sightings_that_are_not_sightings_before_a_save_would_fail_on_them(tmp_path):
    """`add(..., sighting=(1, t, "cam"))` was stored, and every later save of the gallery failed with
    "AttributeError: 'tuple' object has no attribute 'time'"."""
    gallery, looks = filled(2)
    for bad in [{"sighting": (1, time.time(), "cam1")}, {"sighting": sighting(), "first_seen": (1, 0.0, "cam1")}]:
        with pytest.raises(TypeError, match="must be a Sighting"):
            gallery.add(3, looks[0, :4], 0, **bad)
    with pytest.raises(TypeError, match="class_id must be a whole number"):
        gallery.add(3, looks[0, :4], "person", sighting())
    assert len(gallery) == 2
    gallery.save(tmp_path / "site.gallery")


def test_sightings_of_numpy_numbers_are_stored_as_python_ones_and_a_nan_time_is_refused(tmp_path):
    """A sighting of numpy numbers (`Sighting(np.int64(3), np.float64(t), "cam1")`) was stored and every later save
    failed ("Object of type int64 is not JSON serializable"); one of time NaN was saved, and the file then refused
    as corrupt by `Gallery.load`: the whole gallery lost."""
    gallery, looks = filled(2)
    now = time.time()
    gallery.add(3, looks[0, :4], np.int64(0), Sighting(np.int64(3), np.float64(now), "cam1"))
    path = tmp_path / "site.gallery"
    gallery.save(path)
    stored = Gallery.load(path)[3]
    assert stored.last_seen == Sighting(3, now, "cam1") and type(stored.last_seen.frame) is int
    for bad, error in [(Sighting(1, float("nan"), "cam1"), ValueError), (Sighting(1, now, 5), TypeError)]:
        with pytest.raises(error, match="sighting"):
            gallery.add(4, looks[0, :4], 0, bad)
        with pytest.raises(error, match="first_seen"):
            gallery.add(4, looks[0, :4], 0, sighting(), first_seen=bad)
    with pytest.raises(TypeError, match="sighting's frame must be a whole number, got '1'"):
        gallery.add(4, looks[0, :4], 0, Sighting("1", now, "cam1"))
    assert len(gallery) == 3


@pytest.mark.parametrize(
    ("fields", "error", "said"),
    [
        (("my-reid", None), TypeError, "name and weights digest must be text, got 'my-reid', None"),
        ((None, "v1"), TypeError, "name and weights digest must be text, got None, 'v1'"),
        (("my-reid", b"v1"), TypeError, "name and weights digest must be text"),
        (("my-reid", "v1", 8.0), TypeError, "the model's dim must be a whole number, got 8.0"),
        (("my-reid", "v1", 0), ValueError, "the model's dim must be at least 1, got 0"),
    ],
)
def test_a_model_identity_that_no_file_could_hold_is_refused_when_made(fields, error, said):
    """`bind_model(ModelIdentity(None, "v1"))` was taken, saved, and the file then refused by `Gallery.load` as
    corrupt (the whole gallery lost); a digest of bytes or a dim of 8.0 failed every later save."""
    with pytest.raises(error, match=re.escape(said)):
        ModelIdentity(*fields)


def test_a_model_identity_of_a_numpy_dim_saves_and_loads(tmp_path):
    """`ModelIdentity("my-reid", "v1", embeddings.shape[1])` of a numpy D failed every save ("Object of type int64 is
    not JSON serializable")."""
    model = ModelIdentity("my-reid", "v1", np.int64(DIM))
    assert type(model.dim) is int and model == ModelIdentity("my-reid", "v1", DIM)
    gallery = Gallery(None, model)
    gallery.add(1, people(1, 4)[0], 0, sighting())
    gallery.save(tmp_path / "site.gallery")
    assert Gallery.load(tmp_path / "site.gallery").model == ModelIdentity("my-reid", "v1", DIM)


@pytest.mark.parametrize("content", [b"", b"meeting notes\n", b"\x93NUMPY" + bytes(100)])
def test_a_save_over_a_file_that_is_no_gallery_says_so_and_leaves_it(tmp_path, content):
    """`save("notes.txt")` over a file of another program said "this gallery never read it, and its identities
    would be lost": the file has no identities; it is no gallery, which is what the user needs to hear."""
    gallery, _ = filled(2)
    path = tmp_path / "notes.txt"
    path.write_bytes(content)
    with pytest.raises(GalleryConflictError, match=r"notes\.txt is not a gallery file.*overwrite=True") as refused:
        gallery.save(path)
    assert "identities" not in str(refused.value)
    assert path.read_bytes() == content


def test_a_model_that_is_not_a_model_identity_is_refused_by_name():
    """`bind_model(("my-reid", "v1", 64))` raised "AttributeError: 'tuple' object has no attribute 'dim'", and
    `Gallery(None, ("my-reid", "v1", 64))` was taken and failed later ("no attribute 'conflicts_with'")."""
    with pytest.raises(TypeError, match=r"model must be a ModelIdentity\(name, weights_digest, dim\), got tuple"):
        Gallery(None, ("my-reid", "v1", DIM))
    gallery, _ = filled(2)
    with pytest.raises(TypeError, match=r"model must be a ModelIdentity\(name, weights_digest, dim\), got tuple"):
        gallery.bind_model(("my-reid", "v1", DIM))
    assert gallery.model == MODEL


def test_looking_up_an_id_that_is_not_a_whole_number_finds_nobody():
    """`1.9 in gallery` was True and `gallery[1.9]` identity 1 (the ID truncated), `"x" in gallery` raised
    "ValueError: invalid literal for int()": a lookup is a dict's (numpy whole numbers still find theirs)."""
    gallery, _ = filled(3)
    assert 1.9 not in gallery and "1" not in gallery and "x" not in gallery and None not in gallery
    assert np.int64(2) in gallery and 2.0 in gallery and gallery[np.int64(2)].global_id == 2
    for missing in (1.9, "1"):
        with pytest.raises(KeyError):
            gallery[missing]


def test_prune_refuses_a_now_that_is_not_unix_seconds_and_forgets_nobody():
    """`prune(now=datetime.now())` raised "unsupported operand type(s) for -: 'datetime.datetime' and 'float'";
    `prune(now=float("nan"))` forgot nobody without a word (every comparison with NaN is False)."""
    import datetime

    gallery, _ = filled(3)
    with pytest.raises(TypeError, match=r"now must be Unix seconds \(time\.time\(\)\), got datetime: \.timestamp\(\)"):
        gallery.prune(now=datetime.datetime.now())
    with pytest.raises(ValueError, match="now must be finite Unix seconds, got nan"):
        gallery.prune(now=float("nan"))
    assert len(gallery) == 3
    assert gallery.prune(now=np.float64(time.time())) == []


def test_link_refuses_classes_that_are_not_whole_numbers_before_storing_any():
    """`link(tracks, class_ids=[0.5, 0])` stored the first track as class 0 (int() truncated it)."""
    gallery = Gallery(None, MODEL)
    looks = people(2, 4)
    with pytest.raises(TypeError, match=r"class_ids\[0\] must be a whole number, got 0\.5"):
        gallery.link([looks[0], looks[1]], class_ids=[0.5, 0])
    assert len(gallery) == 0
    assert gallery.link([looks[0], looks[1]], class_ids=np.array([0, 2])).tolist() == [1, 2]
    assert gallery[2].class_id == 2


@pytest.mark.parametrize("given", ["site.gallery", Path("site.gallery")])
def test_a_path_given_as_the_config_points_to_gallery_load(given):
    """`Gallery("site.gallery")`, a newcomer's guess at opening a saved gallery, said only "config must be a
    GalleryConfig ..., got str": the error names `Gallery.load(path)`, which opens it."""
    with pytest.raises(TypeError, match=r"to open the saved gallery 'site.gallery', Gallery.load\(path\)"):
        Gallery(given)


def test_name_classes_takes_a_list_of_names_and_refuses_what_names_no_class():
    """A detector's class names come as a dict (ultralytics' `model.names`) or a list whose index is the class
    (torchvision's `weights.meta["categories"]`, a COCO names file read line by line): a list raised "AttributeError:
    'list' object has no attribute 'items'", naming neither the argument nor what to give. A list is now read by
    index; one name alone, or something that is no mapping or list, is one TypeError naming `names`, nothing
    recorded."""
    gallery = Gallery(GalleryConfig())
    gallery.name_classes(["person", "bicycle", "car"])
    assert gallery.class_names == {0: "person", 1: "bicycle", 2: "car"}
    gallery.name_classes(("pedestrian",))
    assert gallery.class_names == {0: "pedestrian", 1: "bicycle", 2: "car"}
    for wrong in ("person", None, 3, ["person", 2], np.array([["person", "car"]])):
        with pytest.raises(TypeError, match="names must"):
            gallery.name_classes(wrong)
    assert gallery.class_names == {0: "pedestrian", 1: "bicycle", 2: "car"}


def test_name_classes_takes_the_names_array_numpy_reads_from_a_names_file(tmp_path):
    """A COCO names file read with numpy (`np.loadtxt(path, dtype=str, delimiter=",")`) is a 1-D array of names by
    index: c7b69b4's check refused it as "got ndarray" though a list of the same names is taken. It is read by
    index, as a list, and saved as text."""
    path = tmp_path / "coco.names"
    path.write_text("person\nbicycle\ncar\n")
    gallery = Gallery(GalleryConfig())
    gallery.name_classes(np.loadtxt(path, dtype=str, delimiter=","))
    assert gallery.class_names == {0: "person", 1: "bicycle", 2: "car"}
    gallery.save(tmp_path / "site.gallery")
    assert Gallery.load(tmp_path / "site.gallery").class_names == {0: "person", 1: "bicycle", 2: "car"}


def test_a_tracker_whose_gallery_settings_the_gallery_does_not_share_says_so(caplog):
    """A Gallery searches, keeps prototypes and forgets by its own `gallery` settings: one built as `Gallery()` or
    `Gallery.load(path)` (the Tracker docstring's example) for a tracker whose config set `gallery.margin=0.45` and
    `gallery.prototypes=1` used 0.1 and 4 without a word (a look-alike the 0.45 margin refuses was recognised). The
    Tracker now warns, naming each key and both values and the way to build the gallery from the config; one
    built with `cfg.gallery` (as `track` builds it) is not warned."""
    import logging

    from tracker import Tracker, load_config

    cfg = load_config(overrides=["gallery.margin=0.45", "gallery.prototypes=1"])
    with caplog.at_level(logging.WARNING, logger="tracker"):
        Tracker(cfg, 30, gallery=Gallery(cfg.gallery))
        assert not caplog.records
        Tracker(cfg, 30, gallery=Gallery())
    (record,) = caplog.records
    message = record.getMessage()
    assert "gallery.margin 0.1 (this tracker's config: 0.45)" in message
    assert "gallery.prototypes 4 (this tracker's config: 1)" in message
    assert "Gallery(cfg.gallery)" in message and "Gallery.load(path, cfg.gallery)" in message


def test_a_gallery_path_in_the_home_folder_given_with_a_tilde_is_the_home_folders(tmp_path, monkeypatch):
    """`Gallery.save("~/site.gallery")` made a folder named "~" in the working folder and wrote there (load_config,
    the weight paths and `track --gallery=~/...` take "~" as the home folder); `Gallery.load` and `gallery_lock` read
    the same literal path. Now each is the home folder's, and no "~" folder is made."""
    from tracker.io.lock import gallery_lock

    home, work = tmp_path / "home", tmp_path / "work"
    home.mkdir()
    work.mkdir()
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.chdir(work)
    gallery = Gallery(GalleryConfig())
    gallery.add(1, np.eye(3, dtype=np.float32)[[0]], 0, Sighting(1, time.time(), "cam1"))
    gallery.save("~/site.gallery")
    assert (home / "site.gallery").is_file() and not (work / "~").exists()
    assert len(Gallery.load("~/site.gallery")) == 1
    with gallery_lock("~/site.gallery"):
        assert (home / ".site.gallery.lock").exists() and not (work / "~").exists()
    gallery.begin_save("~/site.gallery").write()
    assert not (work / "~").exists()


@pytest.mark.parametrize(
    "damage",
    [
        pytest.param(lambda blob: blob[: len(blob) // 2], id="truncated"),
        pytest.param(lambda blob: blob[:-8] + b"\xff" * 8, id="embeddings-changed"),
    ],
)
def test_a_damaged_file_is_named_with_what_to_do(tmp_path, damage):
    """`track --gallery site.gallery` on a file cut short (a copy interrupted, a full disk) or with changed bytes said
    "site.gallery is not a readable gallery file (truncated or corrupt?): Error while deserializing: ..." or "is
    corrupt: its embeddings do not match the checksum", and stopped there: the user was not told what to do. The
    error now says it is left as it is, and the two ways on: a copy of it, or another (new) gallery file."""
    gallery, _ = filled()
    path = tmp_path / "site.gallery"
    gallery.save(path)
    path.write_bytes(damage(path.read_bytes()))
    damaged = path.read_bytes()
    with pytest.raises(GalleryError, match=r"site\.gallery (is corrupt|is not a readable gallery file)") as caught:
        Gallery.load(path)
    said = str(caught.value)
    assert "left as it is" in said and "restore it from a copy" in said and "new path starts an empty" in said, said
    assert path.read_bytes() == damaged


def test_iterating_a_gallery_gives_its_global_ids():
    """`for gid in gallery` (a user listing the people, as `len(gallery)`, `gid in gallery` and `gallery[gid]`
    suggest a mapping) raised "KeyError: 0": Python fell back to `gallery[0], gallery[1], ...`, and IDs start at 1.
    It gives the stored global IDs, ascending, as `identities` lists them, from a copy (removing while looping is
    safe)."""
    gallery, _ = filled(3)
    gallery.remove(2)
    assert list(gallery) == [1, 3] == [i.global_id for i in gallery.identities]
    for gid in gallery:
        gallery.remove(gid)
    assert len(gallery) == 0 and list(gallery) == []


def test_a_trackers_gallery_refused_over_a_newer_file_is_told_how_to_keep_both(tmp_path):
    """A service whose cameras' trackers hold one gallery, while another program (a second service, a `track
    --gallery` run) saved the file meanwhile: the refusal said only "load it again, add to that and save", which a
    gallery the trackers hold cannot do (a Tracker's gallery is not swapped). It gives the way that keeps both: save
    this one aside and merge the two, which holds everyone either saw."""
    from tracker import Tracker, load_config
    from tracker.gallery_merge import merge_galleries

    base, looks = filled(2)
    path = tmp_path / "site.gallery"
    base.save(path)
    held = Gallery.load(path, model=MODEL)
    camera = Tracker(load_config(overrides=["device=cpu"]), frame_rate=10, gallery=held)
    other = Gallery.load(path, model=MODEL)
    other.add(other.new_id(), looks[0, 8:], 0, sighting())
    other.save(path)
    held.add(held.new_id(), looks[1, 8:], 0, sighting())
    with pytest.raises(GalleryConflictError) as refused:
        camera.gallery.save(path)
    aside = tmp_path / "site.unmerged.gallery"
    assert f"track gallery merge {path} {aside} -o {path}" in str(refused.value)
    camera.gallery.save(aside)  # the way it gives
    merged = merge_galleries([path, aside], [Gallery.load(path), Gallery.load(aside)]).gallery
    assert len(merged) == 4


def test_a_person_stored_by_two_cameras_out_of_order_keeps_the_earliest_and_latest_sightings():
    """Two cameras on one gallery: a person seen by camA from t=50 to t=100 and by camB from t=95 to t=105 (the live
    tracks gave both one global ID). camA's track is lost at 100 and stored only at its expiry, after camB's track
    ended: `add` took the stored first sighting (camB's, 95) and the newest call's last one (camA's, 100), so the
    identity read "first seen at camB, last seen at camA" and its last sighting went back 5 s (retention and the
    least-recently-seen capacity rule read it). The record keeps the earliest first and the latest last sighting."""
    gallery, looks = filled(1)
    gid = gallery.new_id()
    gallery.add(gid, looks[0, :4], 0, Sighting(210, 105.0, "camB"), first_seen=Sighting(10, 95.0, "camB"))
    gallery.add(gid, looks[0, 4:8], 0, Sighting(300, 100.0, "camA"), first_seen=Sighting(50, 50.0, "camA"))
    stored = gallery[gid]
    assert (stored.first_seen, stored.last_seen) == (Sighting(50, 50.0, "camA"), Sighting(210, 105.0, "camB"))
    assert stored.sightings == 2
    gallery.add(gid, looks[0, 8:], 0, Sighting(400, 130.0, "camA"), first_seen=Sighting(390, 120.0, "camA"))
    assert (gallery[gid].first_seen.time, gallery[gid].last_seen.time) == (50.0, 130.0)  # in order: as before


def test_offline_link_searches_the_stored_identities_not_the_live_tracks():
    """`Gallery.link` (the offline reduce of `track batch --gallery`, no tracker running) decides on the stored
    prototypes only: a track alive in a stream sharing the gallery is no identity yet, so a stored video's track that
    looks like it gets an ID of its own. It took the live track's global ID, as if the two were already linked."""

    class Stream:  # (a stream is known by a weak-referenceable object: a `TrackerCore`)
        pass

    gallery, looks = filled(3)
    cameras = [Stream(), Stream()]
    for camera in cameras:
        gallery.attach(camera)
    fellow = people(1, 12, seed=9)[0]
    gallery.publish(cameras[0], 42, fellow[:8], 0)
    assert gallery.match(fellow[8:9])[0] == 42  # (the live search of `track` sees the live track)
    ids = gallery.link([fellow[8:], looks[1, 8:]])
    assert ids[0] not in (42, *range(1, 4)) and ids[1] == 2  # a new identity, and a stored one found again
    assert ids[0] in gallery and 42 not in gallery


def _with_prototypes(path, change) -> None:
    """Rewrite the gallery file `path` as a hand-made one: `change(prototypes)` applied in place to its (M, D) rows,
    the checksum in its header made anew (the file passes as whole)."""
    from safetensors.numpy import save as safetensors_save

    from tracker import gallery_format
    from tracker.io.strict_json import to_json

    tensors, header = gallery_format.decode(path.read_bytes(), path)
    tensors = {name: np.array(tensor) for name, tensor in tensors.items()}
    change(tensors["prototypes"])
    header["sha256"] = gallery_format._tensor_digest(tensors)
    path.write_bytes(safetensors_save(tensors, metadata={"gallery": to_json(header)}))


@pytest.mark.parametrize("value", [np.nan, np.inf, 0.0])
def test_a_hand_made_gallery_with_a_prototype_that_is_no_look_is_refused_naming_the_file_and_identity(tmp_path, value):
    """A prototype row holding NaN (or inf) loaded without a word: its similarities are NaN, so the identity was
    never found again (or found by chance), and `export --prototypes` wrote the NaN on. An all-zero row has no
    direction to compare. Each is refused on load with one error naming the file, the identity and the row."""
    gallery, _ = filled(3)
    path = tmp_path / "site.gallery"
    gallery.save(path)
    second = gallery.identities[1]
    row = len(gallery.identities[0].prototypes) + 1  # the second identity's row 1

    def spoil(prototypes: np.ndarray) -> None:
        if value == 0.0:
            prototypes[row] = 0.0
        else:
            prototypes[row, 3] = value

    _with_prototypes(path, spoil)
    hand_made = path.read_bytes()
    said = "NaN or inf" if value != 0.0 else "all zeros"
    with pytest.raises(GalleryError) as caught:
        Gallery.load(path)
    message = str(caught.value)
    assert str(path) in message and f"identity {second.global_id}'s prototype row 1 " in message, message
    assert said in message and len(message.splitlines()) == 1, message
    assert path.read_bytes() == hand_made, "the file is left as it is"


def test_a_hand_made_gallery_with_prototypes_off_unit_norm_loads_them_normalised(tmp_path):
    """docs/gallery.md: prototypes are L2-normalised rows. A hand-made file's rows scaled by 3 loaded as they were:
    their similarities reached 3, so that identity took every newcomer searched, and `export --prototypes` wrote
    rows of norm 3. They load normalised (their direction is the look); a saved gallery loads bit for bit."""
    gallery, looks = filled(5)
    path = tmp_path / "site.gallery"
    gallery.save(path)
    saved = {i.global_id: i.prototypes.copy() for i in Gallery.load(path).identities}
    assert all(np.array_equal(saved[i.global_id], i.prototypes) for i in gallery.identities)
    first = gallery.identities[0]

    def scale(prototypes: np.ndarray) -> None:
        prototypes[: len(first.prototypes)] *= 3.0

    _with_prototypes(path, scale)
    loaded = Gallery.load(path)
    for identity in loaded.identities:
        np.testing.assert_allclose(np.linalg.norm(identity.prototypes, axis=1), 1.0, atol=1e-6)
        np.testing.assert_allclose(identity.prototypes, saved[identity.global_id], atol=1e-6)
    others = [i.global_id for i in gallery.identities[1:]]
    found = loaded.match(looks[1:, 9], min_similarity=0.5, margin=0.0)
    assert found.tolist() == others, "the scaled identity took newcomers of others"


def _spoiled(tmp_path: Path, count: int = 5, bad: tuple[int, ...] = (1, 3)) -> tuple[Path, list[int]]:
    """A saved gallery of `count` identities whose identities at the positions `bad` have their row 0 all NaN (a
    hand-made file's); returns its path and the global IDs of the spoiled identities."""
    gallery, _ = filled(count)
    path = tmp_path / "site.gallery"
    gallery.save(path)
    starts = np.cumsum([0, *(len(i.prototypes) for i in gallery.identities)])

    def spoil(prototypes: np.ndarray) -> None:
        for position in bad:
            prototypes[starts[position]] = np.nan

    _with_prototypes(path, spoil)
    return path, [gallery.identities[p].global_id for p in bad]


def _rows_by_identity(path: Path) -> dict[int, tuple[bytes, dict]]:
    """Each identity of the gallery file `path` -> its prototype rows' bytes and its header record, as stored."""
    from tracker import gallery_format

    tensors, header = gallery_format.decode(path.read_bytes(), path)
    records = {r["global_id"]: r for r in header["identities"]}
    owners = tensors["owners"]
    return {gid: (tensors["prototypes"][owners == gid].tobytes(), records[gid]) for gid in records}


def test_gallery_rm_of_the_identities_whose_prototype_rows_are_bad_repairs_the_file(tmp_path, capsys):
    """A file with a NaN prototype row was refused by every command, `track gallery rm` too (it loads the file
    first): the user could only restore a copy. rm of IDs that include every bad identity removes them with the
    others given, and keeps every other identity bit for bit; the file then loads."""
    from tracker.cli import main

    path, bad = _spoiled(tmp_path)
    before = _rows_by_identity(path)
    other = next(gid for gid in before if gid not in bad)
    assert main(["gallery", "rm", str(path), *map(str, bad), str(other)]) == 0
    assert "removed 3 identities; 2 left" in capsys.readouterr().out
    after = _rows_by_identity(path)
    assert sorted(after) == sorted(set(before) - {*bad, other})
    assert all(after[gid] == before[gid] for gid in after), "the kept identities are as they were, bit for bit"
    assert len(Gallery.load(path)) == 2


def test_gallery_rm_that_leaves_a_bad_identity_is_refused_naming_the_rm_that_removes_them(tmp_path, capsys):
    """Where the IDs given miss an identity with a bad row, rm refuses as a load does (the file as it was), and
    its error gives the rm command that removes the bad identities."""
    from tracker.cli import main

    path, bad = _spoiled(tmp_path)
    hand_made = path.read_bytes()
    assert main(["gallery", "rm", str(path), str(bad[0])]) == 2
    err = capsys.readouterr().err
    assert f"{path} cannot be used: identity {bad[0]}'s prototype row 0 holds NaN or inf" in err, err
    assert f"`track gallery rm {path} {bad[0]} {bad[1]}` removes them" in err, err
    assert len(err.strip().splitlines()) == 1, err
    assert path.read_bytes() == hand_made, "nothing removed"


def test_gallery_ls_lists_a_file_with_bad_prototype_rows_marking_them_while_others_refuse(tmp_path, capsys):
    """`track gallery ls` of such a file said only the load's error: the user could not see which identities to
    remove. It lists the others, marks the bad ones and exits 2 naming the rm that removes them; loading it (what
    tracking does) and `track gallery export` still refuse it."""
    from tracker.cli import main

    path, bad = _spoiled(tmp_path)
    assert main(["gallery", "ls", str(path)]) == 2
    said = capsys.readouterr()
    rows = [line.split()[0] for line in said.out.splitlines()[2:] if line.split()[0].isdecimal()]
    assert len(rows) == 3 and not set(rows) & set(map(str, bad)), said.out
    assert f"identities {bad[0]} and {bad[1]}: a prototype row holds NaN or inf" in said.out, said.out
    assert f"`track gallery rm {path} {bad[0]} {bad[1]}` removes them" in said.err, said.err
    with pytest.raises(GalleryError, match="cannot be used"):
        Gallery.load(path)
    assert main(["gallery", "export", str(path), "-o", str(tmp_path / "ids.csv")]) == 2
    assert "cannot be used" in capsys.readouterr().err


def test_gallery_ls_of_several_files_lists_one_with_bad_prototype_rows_too(tmp_path, capsys):
    """`track gallery ls A B` with B's rows bad said only B's error: B's block lists its other identities and marks
    the bad ones, A is listed as ever, and the status is 2 (B cannot be used)."""
    from tracker.cli import main

    good = tmp_path / "good.gallery"
    filled(2)[0].save(good)
    (tmp_path / "bad").mkdir()
    path, bad = _spoiled(tmp_path / "bad")
    assert main(["gallery", "ls", str(good), str(path)]) == 2
    said = capsys.readouterr()
    assert f"{good}:" in said.out and f"\n{path}:" in said.out, said.out
    assert f"identities {bad[0]} and {bad[1]}: a prototype row" in said.out, said.out
    assert f"`track gallery rm {path} {bad[0]} {bad[1]}` removes them" in said.err, said.err
