"""A gallery save that does not stall `track`'s loop: the periodic save is written in a background thread from a
snapshot taken in the loop, the other saves stay complete when they return, and the file is what it always was.

- The file: `gallery_format.write` gives the bytes the code before it wrote (safetensors' own serialisation and
  one `json.dumps` of the header), so files written before load and files written now load in the code before.
- `Gallery.begin_save` / `PendingSave.write`: the snapshot is written while the gallery goes on; a failure
  writes nothing and leaves the gallery changed.
- `GallerySaver`: at most one save in flight (one that comes due meanwhile is skipped), `save` waits for it, a
  background failure is logged when it happens, said and counted at the next frame or save (the run goes on), no
  thread outlives `track`,
  and a run killed with a save in flight resumes with the outputs and gallery of an uninterrupted run. Ctrl-C
  while `save` waits lets the save finish before the gallery's lock goes; a second one abandons it.
"""

from __future__ import annotations

import errno
import hashlib
import json
import logging
import pickle
import signal
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import asdict, replace
from pathlib import Path

import numpy as np
import pytest
from media import write_video
from safetensors.numpy import save as safetensors_save
from test_cli import scene
from test_gallery import MODEL, filled, people, sighting
from test_gallery_cli import ARGS, colour_models, track_saving_every_frame  # noqa: F401  (a fixture, used by name)
from test_resume import (  # noqa: F401  (frame_clock: the same fixture)
    Killed,
    _gallery_runs,
    frame_clock,
    kill,
    killed_after_the_gallery_rename,
    outputs,
    stop_at,
)

from tracker import background_job, gallery_format
from tracker.cli import main
from tracker.gallery import ID_STRIDE, Gallery, GalleryConflictError, Sighting
from tracker.gallery_file import file_version
from tracker.io.lock import gallery_lock
from tracker.io.strict_json import to_json
from tracker.resume import GALLERY_RECORD_NAME, ResumeError
from tracker.run_gallery import SAVE_THREAD_NAME, GallerySaver, RecordNotWritten, check_gallery_unchanged

WAIT_S = 20.0  # the most a test waits for a background save (they take milliseconds)


def bytes_before(gallery: Gallery) -> bytes:
    """The file's bytes as the code before the background save wrote them (e13ccb6's `Gallery._write`, retention
    aside): one gather of all prototypes, the header in one `json.dumps`, safetensors' own serialisation."""
    identities = gallery.identities
    ids = [i.global_id * ID_STRIDE + np.arange(len(i.prototypes), dtype=np.int64) for i in identities]
    ids = np.concatenate(ids) if ids else np.zeros(0, dtype=np.int64)
    vectors = np.concatenate([i.prototypes for i in identities]) if identities else np.zeros((0, 0), np.float32)
    tensors = {
        "prototypes": np.ascontiguousarray(vectors, dtype=np.float32).reshape(len(ids), gallery.dim or 0),
        "owners": (ids // ID_STRIDE).astype(np.int64),
    }
    digest = hashlib.sha256()
    for name in sorted(tensors):
        digest.update(name.encode())
        digest.update(np.ascontiguousarray(tensors[name]).tobytes())
    model = None if gallery.model is None else asdict(replace(gallery.model, dim=gallery.dim))
    header = {
        "format": gallery_format.FORMAT_NAME,
        "version": gallery_format.FORMAT_VERSION,
        "model": model,
        "next_id": gallery._next_id,
        "identities": [i.describe() for i in identities],
        "sha256": digest.hexdigest(),
    }
    return safetensors_save(tensors, metadata={"gallery": to_json(header)})


def galleries() -> dict[str, Gallery]:
    """Empty ones (no model, and a model of known D), one identity, and more identities than one piece of the
    writer holds, with 1 to 4 prototypes each and sources of quotes, backslashes and accents."""
    many = Gallery(model=MODEL)
    looks = people(2 * gallery_format.RECORDS_PER_PIECE + 3, 4, seed=3)
    for i, rows in enumerate(looks):
        source = ['cam "1"', "caméra\\2", "cam3"][i % 3]
        many.add(many.new_id(), rows[: 1 + i % 4], i % 2, Sighting(i + 1, 1.7e9 + i / 7, source))
    return {"empty": Gallery(), "empty of a model": Gallery(model=MODEL), "one": filled(1)[0], "many": many}


@pytest.mark.parametrize("name", ["empty", "empty of a model", "one", "many"])
def test_a_file_is_byte_for_byte_what_the_code_before_wrote_and_loads_both_ways(tmp_path, name):
    """The background save gathers the prototypes in pieces (short holds of the GIL): the bytes are those one gather,
    safetensors and one `json.dumps` made before (so the code before loads every file written now), and a file
    written before loads with every identity."""
    gallery = galleries()[name]
    gallery.save(tmp_path / "now.gallery", prune=False)
    before = bytes_before(gallery)
    assert (tmp_path / "now.gallery").read_bytes() == before
    (tmp_path / "before.gallery").write_bytes(before)
    loaded = Gallery.load(tmp_path / "before.gallery", prune=False)
    assert [i.describe() for i in loaded.identities] == [i.describe() for i in gallery.identities]
    for was, now in zip(gallery.identities, loaded.identities, strict=True):
        np.testing.assert_array_equal(was.prototypes, now.prototypes)


def test_a_save_begun_writes_the_gallery_as_it_was_then_while_it_goes_on(tmp_path):
    path = tmp_path / "site.gallery"
    gallery, looks = filled(3)
    pending = gallery.begin_save(path)
    gallery.add(gallery.new_id(), looks[0, 8:], 0, sighting())  # while the save is under way
    assert gallery.modified
    pending.write()
    assert len(Gallery.load(path, model=MODEL)) == 3 and gallery.file is not None
    assert gallery.modified, "the identity added after the snapshot is not in the file"
    gallery.save(path)  # no conflict: the gallery knows the file it wrote
    assert len(Gallery.load(path, model=MODEL)) == 4 and not gallery.modified
    with pytest.raises(RuntimeError, match="written already"):
        pending.write()


def test_a_save_begun_that_fails_writes_nothing_and_leaves_the_gallery_changed(tmp_path, monkeypatch):
    path = tmp_path / "site.gallery"
    gallery, looks = filled(3)
    gallery.save(path)
    before = path.read_bytes()
    gallery.add(gallery.new_id(), looks[0, 8:], 0, sighting())
    pending = gallery.begin_save(path)
    with monkeypatch.context() as m:
        m.setattr("os.fsync", lambda fd: (_ for _ in ()).throw(OSError(errno.ENOSPC, "No space left on device")))
        with pytest.raises(OSError, match="No space left"):
            pending.write()
    assert path.read_bytes() == before and gallery.modified
    assert sorted(p.name for p in tmp_path.iterdir()) == ["site.gallery"], "no temp file left"

    pending = gallery.begin_save(path)
    Gallery.load(path, model=MODEL).save(path)  # another program saves the file meanwhile
    theirs = path.read_bytes()
    with pytest.raises(GalleryConflictError):
        pending.write()
    assert path.read_bytes() == theirs and gallery.modified


def test_a_copy_taken_while_a_save_is_written_counts_as_changed(tmp_path):
    """A checkpoint pickles the gallery while a periodic save may be under way: nothing says that save reaches
    the file (a kill), so the copy counts as changed, and its run saves it."""
    gallery, _ = filled(3)
    pending = gallery.begin_save(tmp_path / "site.gallery")
    assert pickle.loads(pickle.dumps(gallery)).modified
    pending.write()
    assert not gallery.modified and not pickle.loads(pickle.dumps(gallery)).modified


def test_a_copy_taken_while_another_thread_adds_and_saves_is_whole(tmp_path):
    """A checkpoint pickles the gallery while another thread adds to it (a camera stream) and saves it:
    `__getstate__` took the state without the gallery's lock, so a copy could hold an index of other rows than its
    identities' prototypes, or a next ID below one it holds, or the pickle failed (a dict changed size)."""
    path = tmp_path / "site.gallery"
    gallery, looks = filled(3)
    gallery.match(looks[:1, 8])  # the index is built: copies hold it
    stop, errors = threading.Event(), []

    def writer() -> None:
        try:
            for i in range(100_000):
                if stop.is_set():
                    return
                gallery.add(gallery.new_id(), looks[i % 3, 8:], 0, sighting())
                if i % 10 == 0:
                    gallery.begin_save(path, prune=False).write()
        except BaseException as error:  # (reported below: an exception in a thread does not fail the test)
            errors.append(error)

    thread = threading.Thread(target=writer)
    thread.start()
    try:
        for _ in range(200):
            copy = pickle.loads(pickle.dumps(gallery))
            assert copy.num_vectors == sum(len(i.prototypes) for i in copy.identities), "index and identities"
            assert copy._next_id > max(i.global_id for i in copy.identities)
    finally:
        stop.set()
        thread.join(WAIT_S)
    assert not errors, errors


class Gate:
    """`gallery_format.write` held until `open()`: a background save that takes as long as a test needs. Counts
    the writes and the threads they ran in."""

    def __init__(self, monkeypatch) -> None:
        self.event, self.entered, self.threads = threading.Event(), threading.Semaphore(0), []
        write = gallery_format.write

        def held(file, snapshot):
            self.threads.append(threading.current_thread().name)
            self.entered.release()
            assert self.event.wait(WAIT_S)
            write(file, snapshot)

        monkeypatch.setattr(gallery_format, "write", held)

    def reached(self) -> None:
        """Return once a write has reached the gate."""
        assert self.entered.acquire(timeout=WAIT_S)

    def open(self) -> None:
        self.event.set()


def save_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name == SAVE_THREAD_NAME]


def wait_idle(saver: GallerySaver) -> None:
    deadline = time.monotonic() + WAIT_S
    while saver.saving and time.monotonic() < deadline:
        time.sleep(0.001)
    assert not saver.saving


def test_at_most_one_periodic_save_is_in_flight_and_one_due_meanwhile_is_skipped(tmp_path, monkeypatch):
    """Every frame asks (`gallery.save_every_seconds` 0) and the gallery changes every frame: while one save is
    written no other starts or waits in a queue; the first frame after it ends starts the next, with the gallery as
    it is then."""
    path = tmp_path / "site.gallery"
    gallery, looks = filled(2)
    gate = Gate(monkeypatch)
    saver = GallerySaver(gallery, path, every=0.0)
    for i in range(20):  # frames
        gallery.add(gallery.new_id(), looks[i % 2, 8:], 0, sighting())
        saver.maybe_save()
        if i == 0:
            gate.reached()
        assert len(save_threads()) == 1 and gate.threads == [SAVE_THREAD_NAME]
    gate.open()
    wait_idle(saver)
    assert len(Gallery.load(path, model=MODEL)) == 3, "the gallery of the frame the save started at"
    saver.maybe_save()
    wait_idle(saver)
    assert gate.threads == [SAVE_THREAD_NAME] * 2 and len(Gallery.load(path, model=MODEL)) == 22
    saver.maybe_save()  # nothing changed since: nothing written
    assert not saver.saving and len(gate.threads) == 2


def test_save_waits_for_the_background_save_and_leaves_the_file_complete(tmp_path, monkeypatch):
    """The save after a source, at the end or on Ctrl-C: it returns once the file holds the whole gallery,
    identities added while the background save ran included, the record names that file, and no thread runs."""
    path, record = tmp_path / "site.gallery", tmp_path / GALLERY_RECORD_NAME
    gallery, looks = filled(2)
    gate = Gate(monkeypatch)
    saver = GallerySaver(gallery, path, every=0.0, record=record)
    saver.maybe_save()
    gate.reached()
    gallery.add(gallery.new_id(), looks[0, 8:], 0, sighting())
    threading.Timer(0.05, gate.open).start()
    saver.save()
    assert not saver.saving and save_threads() == []
    assert len(Gallery.load(path, model=MODEL)) == 3 and not gallery.modified
    assert recorded(record) == list(file_version(path))


def recorded(record: Path) -> list[int]:
    """The file version a gallery record names (`GallerySaver`'s record beside a checkpoint)."""
    return json.loads(record.read_text())["version"]


@pytest.mark.parametrize("background", [False, True], ids=["save", "background-save"])
def test_a_save_killed_between_its_rename_and_its_record_is_still_this_runs_file(tmp_path, monkeypatch, background):
    """A run's save, after an earlier one it recorded, is killed once its temp file is renamed over the gallery and
    before the record of that file: a resume takes the file as the run's own (the record still named the earlier
    save's file: "saved by another run"); once another run saves the gallery, it is refused."""
    path, record = tmp_path / "site.gallery", tmp_path / GALLERY_RECORD_NAME
    gallery, looks = filled(2)
    saver = GallerySaver(gallery, path, every=0.0, record=record)
    saver.save()
    gallery.add(gallery.new_id(), looks[0, 8:], 0, sighting())
    with monkeypatch.context() as m, pytest.raises(Killed):
        killed_after_the_gallery_rename(m, path)
        if background:
            saver.maybe_save()
            wait_idle(saver)
        saver.save()  # (after a background save: raises what it raised)
    assert len(Gallery.load(path, model=MODEL)) == 3, "the save reached the file"
    check_gallery_unchanged(path, tmp_path, None)
    assert json.loads(record.read_text())["pending"] == list(file_version(path)), "recorded before the rename"
    Gallery.load(path, model=MODEL).save(path)  # another run adds to the file and saves it
    with pytest.raises(ResumeError, match="saved by another run"):
        check_gallery_unchanged(path, tmp_path, None)


@pytest.mark.parametrize("background", [False, True], ids=["save", "background-save"])
def test_a_record_that_fails_after_the_rename_says_the_gallery_was_saved(tmp_path, monkeypatch, background):
    """The record written after a save's rename fails (a full disk, the run folder turned read-only): the error
    says the gallery was saved and its record for --resume was not (it said "could not be saved ... the file was
    left as it was", the file being the new one), and the record written before the rename names that file."""
    import tracker.run_gallery as run_gallery

    path, record = tmp_path / "site.gallery", tmp_path / GALLERY_RECORD_NAME
    gallery, _ = filled(2)
    saver = GallerySaver(gallery, path, every=0.0, record=record)
    write = run_gallery.write_json_atomic

    def fails_after_the_rename(target, obj, indent=None):
        if "pending" not in obj:
            raise OSError(errno.EROFS, "Read-only file system", str(target))
        write(target, obj, indent)

    monkeypatch.setattr(run_gallery, "write_json_atomic", fails_after_the_rename)
    with pytest.raises(RecordNotWritten) as raised:
        if background:
            saver.maybe_save()
            wait_idle(saver)
            saver.maybe_save()  # (the next frame raises what the background save raised)
        saver.save()
    message = str(raised.value)
    assert f"the gallery {path} was saved, but the record of it for --resume ({record})" in message, message
    assert "left as it was" not in message
    assert len(Gallery.load(path, model=MODEL)) == 2
    assert json.loads(record.read_text())["pending"] == list(file_version(path))
    check_gallery_unchanged(path, tmp_path, None)


def test_a_background_failure_is_logged_when_it_happens_and_counted_at_the_next_frame(tmp_path, monkeypatch, caplog):
    """The folder turned read-only under a periodic save: the error is logged as it happens (INFO, for --verbose: a
    warning too printed it twice in `track`), said once (naming the gallery, not the temp file) by the next frame's
    `maybe_save` and counted, not raised (the run goes on), the file is as it was, and the next `save` writes the
    whole gallery (it still counts as changed). A failure no frame saw is counted by `save`."""
    path = tmp_path / "site.gallery"
    gallery, looks = filled(2)
    gallery.save(path)
    before = path.read_bytes()
    notes: list[str] = []
    saver = GallerySaver(gallery, path, every=0.0, notify=notes.append)

    def read_only(file, snapshot):
        raise PermissionError(errno.EACCES, "Permission denied", str(path.parent / ".site.gallery.x.tmp"))

    for frame_sees_it in (True, False):
        gallery.add(gallery.new_id(), looks[0, 8:], 0, sighting())
        with monkeypatch.context() as m, caplog.at_level(logging.INFO, logger="tracker.run_gallery"):
            m.setattr(gallery_format, "write", read_only)
            caplog.clear()
            saver.maybe_save()
            wait_idle(saver)
            assert [r.levelno for r in caplog.records] == [logging.INFO] and str(path) in caplog.text  # (--verbose)
        assert path.read_bytes() == before and gallery.modified
        if frame_sees_it:
            # (no periodic save due for a while: this frame only takes the failure; one started now would race the
            # next iteration's read-only folder, written before or after it)
            saver.every = 3600.0
            saver.maybe_save()
            assert not saver.saving
            saver.every = 0.0
        else:
            m.undo()  # (a failure no frame saw, then a save that works)
            saver.save()
    said = f"the gallery {path} could not be saved: Permission denied ({path.parent / '.site.gallery.x.tmp'})"
    assert saver.take_failed() == [said, said] and saver.take_failed() == []
    assert len(notes) == 1 and notes[0].startswith(f"{said}; the file was left as it was and the run goes on"), notes
    saver.save()
    assert len(Gallery.load(path, model=MODEL)) == 4 and save_threads() == []


@pytest.mark.usefixtures("colour_models")
def test_track_returns_with_no_save_thread_left_and_the_whole_gallery_in_the_file(tmp_path, monkeypatch):
    """Periodic saves every frame, each written slowly in the background: `track` returns with the file holding
    the gallery as the run ended and no thread of its saves running."""
    threads: list[str] = []

    def slow(snapshot):
        threads.append(threading.current_thread().name)
        time.sleep(0.02)

    gallery = track_saving_every_frame(tmp_path, monkeypatch, slow)
    assert save_threads() == []
    assert SAVE_THREAD_NAME in threads and threads[-1] == "MainThread", "periodic saves in the background, the last not"
    assert len(Gallery.load(gallery)) == 2


@pytest.mark.usefixtures("colour_models")
@pytest.mark.parametrize("last_save", ["works", "fails"])
def test_a_failed_periodic_save_does_not_stop_the_run_and_the_summary_names_it(
    tmp_path, monkeypatch, capsys, last_save
):
    """Periodic saves fail in the background (a full disk for a while): the run goes on to the last frame with one
    note naming the gallery, and its last save, in the loop's thread, writes the whole gallery: exit status 0, the
    outputs those of a run without the failures, and the summary (printed and summary.json) names the failed saves
    (the run used to stop at the first one, exit 2, its outputs cut short). A last save that fails too is the
    run's error, exit 2, as before."""
    video = write_video(tmp_path / "cam1.avi", scene())
    args = [*ARGS, "--set", "gallery.save_every_seconds=0"]
    assert main([str(video), "--gallery", str(tmp_path / "whole.gallery"), "--out", str(tmp_path / "w"), *args]) == 0
    capsys.readouterr()
    write = gallery_format.write

    def full(file, snapshot):
        if last_save == "fails" or threading.current_thread().name == SAVE_THREAD_NAME:
            raise OSError(errno.ENOSPC, "No space left on device")
        write(file, snapshot)

    monkeypatch.setattr(gallery_format, "write", full)
    gallery, out = tmp_path / "site.gallery", tmp_path / "o"
    code = main([str(video), "--gallery", str(gallery), "--out", str(out), *args])
    err = capsys.readouterr().err.strip().splitlines()
    said = f"the gallery {gallery} could not be saved: No space left on device"
    summary = json.loads((out / "summary.json").read_text())
    assert summary["gallery_saves_failed"]["count"] >= 1 and summary["gallery_saves_failed"]["first"] == said
    assert err[0].startswith(f"track: note: {said}; the file was left as it was and the run goes on"), err
    assert (out / "cam1.txt").read_bytes() == (tmp_path / "w" / "cam1.txt").read_bytes(), "tracked to the end"
    assert save_threads() == []
    if last_save == "works":
        assert code == 0 and summary["error"] is None and len(err) == 1, err
        assert len(Gallery.load(gallery)) == 2
    else:  # summary.json's `error` is the sentence printed (it began "OSError: ", unlike its other errors)
        assert code == 2 and err[1:] == [f"track: error: {summary['error']}"], err
        assert summary["error"].startswith(said) and not gallery.exists()


@pytest.mark.usefixtures("frame_clock")
def test_a_resumed_run_still_counts_the_periodic_saves_that_failed_before_its_stop(tmp_path, monkeypatch):
    """Periodic saves fail in the background (a full disk), then a kill at frame 25; the resume's saves work. The
    resumed run's summary covers the whole video, as its other counts do: it still names the failed saves of the
    first session (the resume's summary.json said nothing of them)."""
    args, _, gallery, out = _gallery_runs(tmp_path, monkeypatch)
    args = [*args, "--set", "gallery.save_every_seconds=0", "--out", str(out)]
    write = gallery_format.write

    def full(file, snapshot):
        if threading.current_thread().name == SAVE_THREAD_NAME:
            raise OSError(errno.ENOSPC, "No space left on device")
        write(file, snapshot)

    with monkeypatch.context() as m:
        m.setattr(gallery_format, "write", full)
        stop_at(m, 25, kill)
        assert main(args) == 130
    assert main([*args, "--resume"]) == 0
    failed = json.loads((out / "summary.json").read_text()).get("gallery_saves_failed")
    said = f"the gallery {gallery} could not be saved: No space left on device"
    assert failed is not None and failed["count"] >= 1 and failed["first"] == said, failed


@pytest.mark.usefixtures("frame_clock")
@pytest.mark.parametrize("killed", ["after-the-save", "mid-write", "after-the-rename"])
def test_a_run_killed_with_background_saves_resumes_as_an_uninterrupted_one(tmp_path, monkeypatch, killed):
    """Periodic saves every frame in the background, then a kill (no last save): the save under way reached the
    file (and its record) first, or it died mid-write (the file and record as before), or between renaming its
    temp file over the gallery and recording that file (the file new, the record not). Each time the resume is not
    refused, and gives the outputs and the gallery of a run never stopped."""
    args, _, gallery, out = _gallery_runs(tmp_path, monkeypatch)
    args = [*args, "--set", "gallery.save_every_seconds=0"]
    known = gallery.read_bytes()
    assert main([*args, "--out", str(tmp_path / "whole")]) == 0
    whole = {(i.global_id, i.sightings) for i in Gallery.load(gallery).identities}
    gallery.write_bytes(known)

    died = threading.Event()
    write = gallery_format.write

    def dies_mid_write(file, snapshot):
        assert died.wait(WAIT_S)
        raise OSError(errno.EIO, "killed")  # (the write of a killed process never reaches the file)

    with monkeypatch.context() as m:
        if killed == "mid-write":
            m.setattr(gallery_format, "write", dies_mid_write)
        elif killed == "after-the-rename":
            came = killed_after_the_gallery_rename(m, gallery, save=2, dies=lambda: died.wait(WAIT_S))
        m.setattr(GallerySaver, "save", lambda self: None)  # killed: no last save
        stop_at(m, 25, kill)
        assert main([*args, "--out", str(out)]) == 130
        died.set()
        for thread in save_threads():  # (the thread a kill would have taken with it)
            thread.join(WAIT_S)
    if killed == "after-the-save":
        assert recorded(out / GALLERY_RECORD_NAME) == list(file_version(gallery)) and gallery.read_bytes() != known
    elif killed == "mid-write":
        assert gallery.read_bytes() == known and not (out / GALLERY_RECORD_NAME).exists()
    else:  # (its second save: the record names its first, the checkpoint's gallery may be either)
        assert came.is_set() and gallery.read_bytes() != known
    monkeypatch.setattr(gallery_format, "write", write)
    assert main([*args, "--resume", "--out", str(out)]) == 0
    assert outputs(out, "cam2") == outputs(tmp_path / "whole", "cam2")
    assert {(i.global_id, i.sightings) for i in Gallery.load(gallery).identities} == whole


def test_a_save_while_a_begun_one_is_not_written_is_refused_and_loses_nothing(tmp_path):
    """`save` (or another `begin_save`) before the save begun is written used to go ahead: the begun one, written
    after, put its older snapshot over the newer file (no conflict: the gallery knew that file), and the gallery,
    no longer `modified`, never wrote the identity again."""
    path = tmp_path / "site.gallery"
    gallery, looks = filled(3)
    pending = gallery.begin_save(path)
    gallery.add(gallery.new_id(), looks[0, 8:], 0, sighting())
    for second in (lambda: gallery.save(path), lambda: gallery.begin_save(path)):
        with pytest.raises(RuntimeError, match="not written yet"):
            second()
    pending.write()
    assert gallery.modified, "the identity added after the snapshot is not in the file yet"
    gallery.save(path)
    assert len(Gallery.load(path, model=MODEL)) == 4 and not gallery.modified


class Interrupter:
    """Ctrl-C (SIGINT, Python's default handler) sent to the main thread from a helper thread: each one once the
    main thread waits for a background save (blocked joining its thread) after `GallerySaver` logged the ones
    before; then `then()`, once it logged the last."""

    def __init__(self, caplog) -> None:
        self.caplog, self.main = caplog, threading.main_thread().ident

    def waiting(self) -> bool:
        """Whether the main thread is blocked in `threading` under `BackgroundJob.wait`."""
        top = frame = sys._current_frames().get(self.main)
        while frame is not None and frame.f_code.co_filename != background_job.__file__:
            frame = frame.f_back
        return frame is not None and top.f_code.co_filename == threading.__file__

    def said(self) -> int:
        return sum(r.name == "tracker.run_gallery" for r in self.caplog.records)

    def send(self, times: int, then: Callable[[], None]) -> threading.Thread:
        def until(ready: Callable[[], bool]) -> None:
            deadline = time.monotonic() + WAIT_S
            while not ready() and time.monotonic() < deadline:
                time.sleep(0.001)

        def run() -> None:
            for i in range(times):
                until(lambda: self.said() >= i and self.waiting())  # noqa: B023  (called at once)
                signal.pthread_kill(self.main, signal.SIGINT)
            until(lambda: self.said() >= times)
            then()

        helper = threading.Thread(target=run, name="interrupter")
        helper.start()
        return helper


@pytest.fixture
def ctrl_c():
    """SIGINT raises KeyboardInterrupt in the main thread (Python's default handler) during the test."""
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    yield
    signal.signal(signal.SIGINT, previous)


class LateGate(Gate):
    """A background save held past where it can be abandoned: at the record written just before its rename (after
    its fsync), until `open()`."""

    def __init__(self, monkeypatch) -> None:
        self.event, self.entered, self.threads = threading.Event(), threading.Semaphore(0), []
        write_record = GallerySaver._write_record

        def held(saver, pending=None):
            if pending is not None:
                self.threads.append(threading.current_thread().name)
                self.entered.release()
                assert self.event.wait(WAIT_S)
            write_record(saver, pending)

        monkeypatch.setattr(GallerySaver, "_write_record", held)


def interrupted_last_save(
    tmp_path, monkeypatch, caplog, times: int, gate: type[Gate] = Gate
) -> tuple[Gallery, GallerySaver, bytes, list]:
    """A gallery saved by a resumable run's saver (its record in `tmp_path / "run"`) with one identity added, its
    background save held (by `gate`), and `save` (as at the end of a run, inside the gallery's lock) interrupted
    `times` times while it waits: (the gallery, the saver, the file's bytes before, [the save threads, the folder's
    files] when the lock went)."""
    path = tmp_path / "site.gallery"
    gallery, looks = filled(2)
    (tmp_path / "run").mkdir()
    saver = GallerySaver(gallery, path, every=0.0, record=tmp_path / "run" / GALLERY_RECORD_NAME)
    saver.save()
    before = path.read_bytes()
    gallery.add(gallery.new_id(), looks[0, 8:], 0, sighting())
    gate = gate(monkeypatch)
    at_release: list[object] = []
    caplog.set_level(logging.WARNING, logger="tracker.run_gallery")
    helper = None
    with pytest.raises(KeyboardInterrupt):
        try:
            with gallery_lock(path):  # as `run_track` holds it from the load to the last save
                saver.maybe_save()
                gate.reached()
                helper = Interrupter(caplog).send(times, then=gate.open)
                saver.save()
        finally:
            at_release[:] = [save_threads(), sorted(p.name for p in tmp_path.iterdir())]
            if helper is not None:
                helper.join(WAIT_S)
    return gallery, saver, before, at_release


@pytest.mark.usefixtures("ctrl_c")
def test_ctrl_c_while_the_last_save_waits_lets_the_gallery_lock_go_only_once_the_write_is_done(
    tmp_path, monkeypatch, caplog
):
    """Ctrl-C while `track` waits for its background save at the end of a run: the wait raised, the run released
    the gallery's lock while the worker still wrote the file, and another process could take the lock, remove the
    temp file being written or save the gallery meanwhile. Now the save is finished first (the log says so), the
    interrupt raised after; the lock goes with the whole new file in place, recorded, and no temp file left."""
    path = tmp_path / "site.gallery"
    gallery, _, _, (threads, files) = interrupted_last_save(tmp_path, monkeypatch, caplog, times=1)
    assert threads == [], "the writer had ended when the lock went"
    assert files == ["run", "site.gallery"], "no temp file, and the lock file removed"
    assert json.loads((tmp_path / "run" / GALLERY_RECORD_NAME).read_text())["version"] == list(file_version(path))
    assert len(Gallery.load(path, model=MODEL)) == 3 and not gallery.modified
    assert "finishing that save" in caplog.text and str(path) in caplog.text


@pytest.mark.usefixtures("ctrl_c")
def test_a_second_ctrl_c_abandons_the_last_save_leaving_the_file_it_had(tmp_path, monkeypatch, caplog):
    """A second Ctrl-C still stops the run: the save under way stops before it replaces the file (the log says
    so), the writer has ended when the lock goes, the file is the complete one it was, no temp file is left, and
    the saver writes nothing after (the run's last `save`, in its `finally`, returns at once). The run's record
    still names that file: a resume takes it as the run's own."""
    path = tmp_path / "site.gallery"
    gallery, saver, before, (threads, files) = interrupted_last_save(tmp_path, monkeypatch, caplog, times=2)
    assert threads == [], "the writer had ended when the lock went"
    assert files == ["run", "site.gallery"] and path.read_bytes() == before
    assert "abandoning the save" in caplog.text and gallery.modified
    assert f"the save of the gallery {path} was abandoned: the file keeps the version it had" in caplog.text
    saver.save()
    assert path.read_bytes() == before
    check_gallery_unchanged(path, tmp_path / "run", None)


@pytest.mark.usefixtures("ctrl_c")
def test_a_second_ctrl_c_too_late_to_abandon_the_save_says_it_completed(tmp_path, monkeypatch, caplog):
    """The second Ctrl-C comes once the save is past where it can stop (its fsync done, its rename to come): the
    save completes, and the log says so (it said "the file keeps the version it had", the file being replaced)."""
    path = tmp_path / "site.gallery"
    _, _, before, (threads, _) = interrupted_last_save(tmp_path, monkeypatch, caplog, times=2, gate=LateGate)
    assert threads == [] and path.read_bytes() != before and len(Gallery.load(path, model=MODEL)) == 3
    assert f"too late to abandon the save of the gallery {path}" in caplog.text
    assert "was abandoned" not in caplog.text
    check_gallery_unchanged(path, tmp_path / "run", None)
