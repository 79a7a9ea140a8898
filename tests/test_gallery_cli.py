"""`track a b --gallery g` and `track gallery ls|rm|prune`: one set of identities over several videos.

The models are replaced by the blob detector of test_cli and a colour embedder (the mean colour of a box):
two walkers of different colours cross a room; the second video shows the same two people elsewhere.
"""

from __future__ import annotations

import contextlib
import errno
import io
import json
import os
import re
import shlex
import stat
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch
from gallery_holder import gallery_held
from media import undecodable_path, write_video
from test_cli import blob_detector, scene

import tracker.run as run
from tracker.cli import main
from tracker.gallery import Gallery, ModelIdentity, Sighting
from tracker.global_ids import GlobalIdHistory
from tracker.io.jsonl import read_jsonl_tracks
from tracker.io.mot import read_mot_rows
from tracker.pipeline import Tracker
from tracker.run_gallery import GallerySaver

COLOUR_MODEL = ModelIdentity("mean-colour", "test", 3)
GREY = 128.0  # colours are centred on mid-grey, so different colours point in different directions


def colour_embedder(image: torch.Tensor, boxes_xyxy: np.ndarray) -> torch.Tensor:
    """(R, 3): the mean BGR colour of each box, centred on grey."""
    rows = []
    for x1, y1, x2, y2 in np.asarray(boxes_xyxy, dtype=int):
        rows.append(image[y1:y2, x1:x2].reshape(-1, 3).float().mean(dim=0) - GREY)
    return torch.stack(rows) if rows else torch.zeros((0, 3))


@pytest.fixture
def colour_models(monkeypatch):
    def from_config(cfg, frame_rate=None, gallery=None):
        if gallery is not None:
            gallery.bind_model(COLOUR_MODEL)
        return Tracker(cfg, frame_rate, detector=blob_detector, embedder=colour_embedder, gallery=gallery)

    monkeypatch.setattr(run.Tracker, "from_config", staticmethod(from_config))


ARGS = ["--quiet", "--no-save-video", "--set", "reid.model=auto", "--set", "appearance.lazy_embedding=false"]


def ctrl_c_once_tracked(patch: pytest.MonkeyPatch) -> None:
    """Patch `tracker.run.track_source` (through `patch`) to raise KeyboardInterrupt once it tracked its source: a
    Ctrl-C after the tracking loop ended, before the run stored the people in view and wrote its outputs."""
    track_source = run.track_source

    def tracked_then_ctrl_c(*args, **kwargs):
        track_source(*args, **kwargs)
        raise KeyboardInterrupt

    patch.setattr(run, "track_source", tracked_then_ctrl_c)


def colour_ids(rows: np.ndarray, frames: list[np.ndarray]) -> dict[int, int]:
    """MOT rows -> {ID: 0 (yellow walker) or 1 (cyan walker)} from the colour under each box centre."""
    out = {}
    for frame, tid, x, y, w, h in rows[:, :6]:
        b, _, r = frames[int(frame) - 1][int(y + h / 2), int(x + w / 2)]
        out.setdefault(int(tid), 0 if r > b else 1)
    return out


def read_jsonl(path):
    return [json.loads(line) for line in path.read_text().splitlines()]


def test_same_person_same_id_in_every_video_and_jsonl_has_both_ids(colour_models, tmp_path):
    first = scene()
    second = scene()[::-1]  # the same two people, walking the other way
    a = write_video(tmp_path / "cam1.avi", first)
    b = write_video(tmp_path / "cam2.avi", second)
    gallery = tmp_path / "site.gallery"
    out = tmp_path / "out"
    assert main([str(a), str(b), "--gallery", str(gallery), "--out", str(out), *ARGS]) == 0
    ids_a = colour_ids(read_mot_rows(out / "cam1.txt"), first)
    ids_b = colour_ids(read_mot_rows(out / "cam2.txt"), second)
    assert len(ids_a) == 2 and ids_b == ids_a  # the same two global IDs, each on the same person
    assert read_mot_rows(out / "cam2.txt")[:, 0].min() == 1  # each output keeps its own frame numbers
    line = json.loads((out / "cam2.jsonl").read_text().splitlines()[3])
    assert {"id", "global_id", "recognised"} <= set(line["tracks"][0])
    # the JSONL tells a gallery recognition from a return after occlusion, as summary.json does: cam2's two people
    # are cam1's, each recognised on one frame (recovered too); cam1 met nobody the gallery knew
    cam2_summary = json.loads((out / "cam2.summary.json").read_text())
    recognised = [t for row in read_jsonl(out / "cam2.jsonl") for t in row["tracks"] if t["recognised"]]
    assert len(recognised) == cam2_summary["recognised_from_gallery"] == 2
    assert all(t["recovered"] for t in recognised)
    assert not any(t["recognised"] for row in read_jsonl(out / "cam1.jsonl") for t in row["tracks"])
    assert stat.S_IMODE(os.stat(gallery).st_mode) == 0o600
    # a later run (a restart) keeps the IDs too (of cam2 again: linked again on purpose, else refused as held already)
    out2 = tmp_path / "out2"
    assert main([str(b), "--gallery", str(gallery), "--out", str(out2), "--relink", *ARGS]) == 0
    assert colour_ids(read_mot_rows(out2 / "cam2.txt"), second) == ids_a
    saved = Gallery.load(gallery)
    assert sorted(i.global_id for i in saved.identities) == sorted(ids_a)
    assert all(i.sightings == 3 for i in saved.identities)


def test_two_cameras_of_one_file_name_are_told_apart_in_the_gallerys_sightings(colour_models, tmp_path):
    """Two cameras whose recordings have one file name (`cam1/clip.avi`, `cam2/clip.avi`, as a recorder names them):
    `track` wrote their outputs as clip.* and clip_2.*, but recorded both cameras' sightings as "clip", so the
    gallery (`ls`, `export`'s first_source / last_source) could not tell which camera saw a person last; `track
    batch` records each video's output name (clip, clip_2). Each source's sightings now carry its output name."""
    first = scene()
    second = scene()[::-1]  # the same two people, walking the other way
    (tmp_path / "cam1").mkdir()
    (tmp_path / "cam2").mkdir()
    a = write_video(tmp_path / "cam1" / "clip.avi", first)
    b = write_video(tmp_path / "cam2" / "clip.avi", second)
    gallery = tmp_path / "site.gallery"
    out = tmp_path / "out"
    assert main([str(a), str(b), "--gallery", str(gallery), "--out", str(out), *ARGS]) == 0
    assert (out / "clip.txt").exists() and (out / "clip_2.txt").exists()
    saved = Gallery.load(gallery)
    assert len(saved) == 2
    assert {i.first_seen.source for i in saved.identities} == {"clip"}
    assert {i.last_seen.source for i in saved.identities} == {"clip_2"}  # (seen by cam2 last)


def test_corrupt_gallery_stops_the_run_and_is_not_overwritten(colour_models, tmp_path, capsys):
    video = write_video(tmp_path / "cam1.avi", scene())
    gallery = tmp_path / "site.gallery"
    gallery.write_bytes(b"\x10\x00\x00\x00\x00\x00\x00\x00{broken")
    assert main([str(video), "--gallery", str(gallery), "--out", str(tmp_path / "o"), *ARGS]) == 2
    assert "not a readable gallery file" in capsys.readouterr().err
    assert gallery.read_bytes() == b"\x10\x00\x00\x00\x00\x00\x00\x00{broken"


def test_gallery_that_is_a_directory_is_one_line_naming_it(colour_models, tmp_path, capsys):
    """`--gallery DIR` (or `track gallery ls DIR`): one line that names DIR as the gallery file, no bare Errno."""
    video = write_video(tmp_path / "cam1.avi", scene())
    folder = tmp_path / "galleries"
    folder.mkdir()
    for argv in (
        [str(video), "--gallery", str(folder), "--out", str(tmp_path / "o"), *ARGS],
        ["gallery", "ls", str(folder)],
    ):
        assert main(argv) == 2
        err = capsys.readouterr().err.strip().splitlines()
        assert len(err) == 1 and f"gallery file {folder} is a directory" in err[0] and "Errno" not in err[0], err
    assert not any(folder.iterdir()), "nothing written into it"


def test_gallery_commands_on_a_missing_file_say_so_in_one_line(tmp_path, capsys):
    """`track gallery ls|rm|prune FILE` with no FILE: one line naming it as a missing gallery, no bare Errno, and
    nothing created."""
    path = tmp_path / "site.gallery"
    for argv in (["ls", str(path)], ["rm", str(path), "1"], ["prune", str(path)]):
        assert main(["gallery", *argv]) == 2
        err = capsys.readouterr().err.strip().splitlines()
        assert err == [f"track gallery: error: no such gallery file: {path}"], err
    assert not path.exists()


def test_gallery_commands_on_a_path_under_a_gallery_file_say_so_in_one_line(tmp_path, capsys):
    """`track gallery ls g1.gallery/x` (a path under a file, as a mistyped one is) said "[Errno 20] Not a
    directory: 'g1.gallery/x'". Each command reading such a FILE says in one line that there is no such gallery
    file, and which file stands in its way; the gallery is left as it was and nothing is created."""
    gallery = tmp_path / "g1.gallery"
    Gallery().save(gallery)
    before, path = gallery.read_bytes(), gallery / "x"
    for argv in (
        ["ls", str(path)], ["rm", str(path), "1"], ["prune", str(path)],
        ["export", str(path), "-o", str(tmp_path / "t.csv")],
        ["merge", str(gallery), str(path), "-o", str(tmp_path / "m.gallery")],
    ):  # fmt: skip
        assert main(["gallery", *argv]) == 2
        err = capsys.readouterr().err.strip().splitlines()
        assert err == [f"track gallery: error: no such gallery file: {path} ({gallery} is a file, not a folder)"], err
    assert gallery.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["g1.gallery"]


def test_gallery_ls_names_an_unnamed_source(tmp_path, capsys):
    """A gallery saved from the Python API (`Tracker` without `source_name`) lists its last source as '-', not as a
    blank column."""
    gallery = Gallery(model=ModelIdentity("osnet_x0_25", "0123456789abcdef", 3))
    gallery.add(gallery.new_id(), np.ones((3, 3)), 0, Sighting(40, 0.0, ""))
    path = tmp_path / "site.gallery"
    gallery.save(path, prune=False)
    assert main(["gallery", "ls", str(path)]) == 0
    row = capsys.readouterr().out.strip().splitlines()[-1]
    assert row.endswith(" - (40)"), row


def test_gallery_of_another_model_is_refused_by_track(colour_models, tmp_path, capsys):
    other = Gallery(model=ModelIdentity("osnet_x0_25", "0123456789abcdef", 3))
    other.add(other.new_id(), np.ones((3, 3)), 0, Sighting(1, 0.0, "x"))
    path = tmp_path / "other.gallery"
    other.save(path, prune=False)
    before = path.read_bytes()
    video = write_video(tmp_path / "cam1.avi", scene())
    assert main([str(video), "--gallery", str(path), "--out", str(tmp_path / "o"), *ARGS]) == 2
    err = capsys.readouterr().err  # named: "this gallery was made with ..." did not say which file
    assert f"track: error: {path}: this gallery was made with" in err and "cannot be compared" in err
    assert path.read_bytes() == before


def test_track_names_both_models_and_their_d_when_refusing_a_gallery_of_another_model(tmp_path, capsys):
    """A gallery saved with another ReID model: `track --gallery` (checked before any model loads) named the
    gallery's D but not the tracker's ("the tracker uses osnet_x0_25 (weights ...)"), nor what to do but "use
    another gallery file". OSNet's D (512) is known unloaded: both sides are named, with both remedies."""
    other = Gallery(model=ModelIdentity("osnet_x1_0", "0123456789abcdef", 256))
    other.add(other.new_id(), np.ones((3, 256)), 0, Sighting(1, time.time(), "x"))
    path = tmp_path / "other.gallery"
    other.save(path, prune=False)
    detector, reid = tmp_path / "det.pt", tmp_path / "reid.pth"
    detector.write_bytes(b"never loaded: the gallery is refused first")
    reid.write_bytes(b"weights")
    video = write_video(tmp_path / "cam1.avi", scene())
    models = ["--set", f"detector.model={detector}", "--set", f"reid.weights={reid}", "--set", "reid.model=osnet_x0_25"]
    assert main([str(video), "--gallery", str(path), "--out", str(tmp_path / "o"), "-q", *models]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith(
        f"track: error: {path}: this gallery was made with ReID model osnet_x1_0 (weights 0123456789abcdef, D = 256), "
        "the tracker uses osnet_x0_25 (weights "
    ), err
    assert err.endswith(
        ", D = 512): their embeddings cannot be compared; track with the ReID model and weights this gallery was "
        "made with, or give another gallery file (a new path starts an empty one)"
    ), err


def test_gallery_ls_rm_prune(colour_models, tmp_path, capsys):
    video = write_video(tmp_path / "cam1.avi", scene())
    gallery = tmp_path / "site.gallery"
    assert main([str(video), "--gallery", str(gallery), "--out", str(tmp_path / "o"), *ARGS]) == 0
    capsys.readouterr()
    assert main(["gallery", "ls", str(gallery)]) == 0
    listing = capsys.readouterr().out
    assert listing.startswith("2 identities, D = 3") and "cam1" in listing
    assert main(["gallery", "rm", str(gallery), "7"]) == 2
    assert "no identity 7" in capsys.readouterr().err
    assert main(["gallery", "rm", str(gallery), "1"]) == 0
    assert [i.global_id for i in Gallery.load(gallery).identities] == [2]
    assert main(["gallery", "prune", str(gallery), "--set", "gallery.max_days_unseen=0"]) == 0
    out = capsys.readouterr().out
    assert "removed 1 identity; 1 left" in out and "removed 1 identity (2); 0 left" in out, out
    assert len(Gallery.load(gallery)) == 0
    assert main(["gallery", "ls", str(gallery)]) == 0
    listing = capsys.readouterr().out.splitlines()
    assert listing == ["empty gallery: no identities, ReID model mean-colour (weights test)"], "not 'D = None'"


def track_saving_every_frame(tmp_path: Path, monkeypatch, before_write: Callable[[Any], None]) -> Path:
    """`track cam1.avi --gallery site.gallery` (the two-person scene, in `tmp_path`) with a save due every frame
    (`gallery.save_every_seconds=0`); `before_write(snapshot)` is called as each save, periodic (in the background)
    or final, writes its file. Returns the gallery file."""
    from tracker import gallery_format

    write = gallery_format.write

    def watched(file, snapshot):
        before_write(snapshot)
        write(file, snapshot)

    monkeypatch.setattr(gallery_format, "write", watched)
    video = write_video(tmp_path / "cam1.avi", scene())
    gallery = tmp_path / "site.gallery"
    args = [*ARGS, "--set", "gallery.save_every_seconds=0"]
    assert main([str(video), "--gallery", str(gallery), "--out", str(tmp_path / "o"), *args]) == 0
    return gallery


def test_gallery_is_saved_during_the_run_not_only_at_the_end(colour_models, tmp_path, monkeypatch):
    saves = []  # what each save wrote (the periodic ones in the background too)
    gallery = track_saving_every_frame(tmp_path, monkeypatch, lambda snapshot: saves.append(len(snapshot.identities)))
    assert len(saves) >= 2 and saves[0] == 0  # a save while the two people were still in view, then at the end
    assert saves[-1] == 2 and len(Gallery.load(gallery)) == 2


def test_gallery_ls_into_a_closed_pipe_is_not_an_error(tmp_path, monkeypatch, capsys):
    """`track gallery ls g | head -1`: the reader leaving early is not a failure of the listing (exit 0, no error)."""
    import sys

    from tracker.config import TrackerConfig

    Gallery(TrackerConfig().gallery).save(tmp_path / "g.gallery")
    read, write = os.pipe()
    os.close(read)  # `head` has gone
    with open(write, "w", buffering=1) as closed:  # line-buffered, as with PYTHONUNBUFFERED or a terminal
        monkeypatch.setattr(sys, "stdout", closed)
        assert main(["gallery", "ls", str(tmp_path / "g.gallery")]) == 0
        assert "error" not in capsys.readouterr().err


def test_a_second_run_on_a_gallery_in_use_is_refused_and_the_first_loses_nothing(colour_models, tmp_path, monkeypatch):
    """Two `track --gallery g` runs at once each loaded g and wrote back their own copy: the last to end dropped the
    other's identities, after both had given global IDs 1 and 2 to different people. A run started while another
    uses the gallery is refused at its start with one error line; the running one saves all it saw."""
    gallery = tmp_path / "site.gallery"
    first = write_video(tmp_path / "cam1.avi", scene())
    second = write_video(tmp_path / "cam2.avi", scene()[::-1])
    started: list[int] = []
    errors: list[str] = []
    saving = GallerySaver.maybe_save

    def second_run_meanwhile(saver):  # after the first run's frames: another `track` on the same gallery
        if not started:
            started.append(-1)
            err = io.StringIO()
            with contextlib.redirect_stderr(err):
                started[0] = main([str(second), "--gallery", str(gallery), "--out", str(tmp_path / "b"), *ARGS])
            errors.append(err.getvalue())
        saving(saver)

    monkeypatch.setattr(GallerySaver, "maybe_save", second_run_meanwhile)
    assert main([str(first), "--gallery", str(gallery), "--out", str(tmp_path / "a"), *ARGS]) == 0
    assert started == [2], "the second run is refused"
    lines = [line for line in errors[0].splitlines() if line.strip()]
    assert len(lines) == 1 and f"track: error: the gallery {gallery} is in use by " in lines[0]  # (this process here)
    assert not (tmp_path / "b" / "cam2.txt").exists()
    assert len(Gallery.load(gallery)) == 2 and [p.name for p in tmp_path.glob(".*.lock")] == []


def test_gallery_rm_while_a_run_uses_the_gallery_is_refused(colour_models, tmp_path, capsys):
    """`track gallery rm` while a run that loaded the gallery goes on: the run's save would bring the identity back
    (or the rm would drop what the run added since); refused with one line, the file as it was. The line said "in
    use by another track run ...: wait for it to end, or choose another gallery FILE", though the holder may be a
    `track gallery rm|prune` (or a Python save) and rm's file is the one to edit: it names no other choice now."""
    video = write_video(tmp_path / "cam1.avi", scene())
    gallery = tmp_path / "site.gallery"
    assert main([str(video), "--gallery", str(gallery), "--out", str(tmp_path / "o"), *ARGS]) == 0
    before = gallery.read_bytes()
    capsys.readouterr()
    with gallery_held(gallery) as holding:
        for action in (["rm", str(gallery), "1"], ["prune", str(gallery)]):
            assert main(["gallery", *action]) == 2
            err = capsys.readouterr().err.strip().splitlines()
            assert err == [
                f"track gallery: error: the gallery {gallery} is in use by another run or gallery edit (process "
                f"{holding.pid}): wait for it to end"
            ]
        assert main(["gallery", "ls", str(gallery)]) == 0  # reading it is fine
    assert gallery.read_bytes() == before
    assert main(["gallery", "rm", str(gallery), "1"]) == 0


def test_a_prune_dry_run_on_a_gallery_in_use_says_the_prune_itself_would_be_refused(tmp_path, capsys):
    """`track gallery prune site.gallery --dry-run` while a `track` run held the file said "would remove 1 identity
    (1); 1 would be left" and nothing more, exit 0; the prune it previewed was then refused ("in use ...: wait for it
    to end"), and what it listed was the run's last save, not what the run will write. It says both now, as `ls`
    says the first; the file is as it was."""
    gallery = Gallery(None, ModelIdentity("m", "w", 4))
    now = time.time()
    for gid, days in ((1, 40), (2, 0)):
        gallery.add(gid, np.eye(4, dtype=np.float32)[gid - 1 : gid], 0, Sighting(1, now - days * 86400, "cam1"))
    path = tmp_path / "site.gallery"
    gallery.save(path, prune=False)
    before = path.read_bytes()
    with gallery_held(path) as holding:
        assert main(["gallery", "prune", str(path), "--set", "gallery.max_days_unseen=30", "--dry-run"]) == 0
        out, err = capsys.readouterr()
        assert "would remove 1 identity (1)" in out, out
        assert f"{path} is in use by another run or gallery edit (process {holding.pid})" in err, err
        assert "a prune without --dry-run is refused until it ends" in err, err
    assert path.read_bytes() == before


@pytest.mark.parametrize(
    ("given", "said"), [("abc", "must be a whole number >= 1, got 'abc'"), ("0", "must be at least 1, got 0")]
)
def test_gallery_rm_of_an_id_that_is_no_global_id_says_what_it_must_be(tmp_path, capsys, given, said):
    """`track gallery rm g abc` said argparse's "invalid int value" (the other count options say what they must
    be); global IDs are whole numbers from 1."""
    with pytest.raises(SystemExit) as stop:
        main(["gallery", "rm", str(tmp_path / "g.gallery"), given])
    assert stop.value.code == 2 and f"argument ID: {said}" in capsys.readouterr().err


def test_the_summary_says_the_gallery_was_saved_and_how_many_identities_it_holds(colour_models, tmp_path, capsys):
    """`track a.mp4 --gallery g` said nothing of the gallery (`track batch --gallery g` says "gallery saved to g
    (N identities)"): a user could not tell it was written, or how many people it now remembers."""
    video = write_video(tmp_path / "cam1.avi", scene())
    gallery = tmp_path / "site.gallery"
    args = [a for a in ARGS if a != "--quiet"]
    assert main([str(video), "--gallery", str(gallery), "--out", str(tmp_path / "o"), *args]) == 0
    assert f"gallery {gallery}: 2 identities saved" in capsys.readouterr().out.splitlines()
    assert len(Gallery.load(gallery)) == 2


YELLOW, CYAN = (240, 200, 60), (60, 220, 240)  # BGR colours of the scene's two walkers (test_cli's `scene`)


def without(frames: list[np.ndarray], colour: tuple[int, int, int], at: range | None = None) -> list[np.ndarray]:
    """`frames` with the walker of `colour` painted over with the background in the frames `at` (None: in all)."""
    out = []
    for f, image in enumerate(frames):
        image = image.copy()
        if at is None or f in at:
            image[(image == colour).all(axis=2)] = 30
        out.append(image)
    return out


def returns_line(out: str) -> str:
    """The printed summary's line of tracks and returns."""
    (line,) = [line for line in out.splitlines() if "came back after occlusion" in line]
    return line


def test_the_summary_tells_people_the_gallery_recognised_from_ids_back_after_occlusion(colour_models, tmp_path, capsys):
    """A person recognised from the gallery (seen in an earlier video) was counted as "an ID came back after
    occlusion", so a user could not tell the tracker re-finding someone hidden for a moment from the gallery
    recognising someone from another video. The summary tells them apart, each recognition once (not once a frame);
    `summary.json` keeps `recovered` as the total and adds `recognised_from_gallery`; a run without a gallery says
    nothing of one."""
    args = [a for a in ARGS if a != "--quiet"]
    gallery = tmp_path / "site.gallery"
    first = write_video(tmp_path / "cam1.avi", scene())
    alone = without(scene()[::-1], CYAN)  # the yellow walker of cam1, alone in another camera
    second = write_video(tmp_path / "cam2.avi", alone)
    hidden = write_video(tmp_path / "cam3.avi", without(alone, YELLOW, range(15, 18)))  # ... and hidden 3 frames
    summaries = {}
    for name, video, with_gallery in (("o1", first, True), ("o2", second, True), ("o3", hidden, True),
                                      ("o4", hidden, False)):  # fmt: skip
        capsys.readouterr()
        extra = ["--gallery", str(gallery)] if with_gallery else []
        assert main([str(video), *extra, "--out", str(tmp_path / name), *args]) == 0
        summaries[name] = (
            returns_line(capsys.readouterr().out),
            json.loads((tmp_path / name / "summary.json").read_text()),
        )
    lines = {name: line for name, (line, _) in summaries.items()}
    assert lines == {
        "o1": "2 tracks; an ID came back after occlusion 0 times; 0 people recognised from the gallery",
        "o2": "1 track; an ID came back after occlusion 0 times; 1 person recognised from the gallery",
        "o3": "1 track; an ID came back after occlusion 1 time; 1 person recognised from the gallery",
        "o4": "1 track; an ID came back after occlusion 1 time",  # no gallery: no gallery words
    }
    counts = {name: (s["recovered"], s.get("recognised_from_gallery")) for name, (_, s) in summaries.items()}
    assert counts == {"o1": (0, 0), "o2": (1, 1), "o3": (2, 1), "o4": (1, None)}


def test_several_sources_summary_adds_up_the_gallery_recognitions_apart(colour_models, tmp_path, capsys):
    """`track cam1 cam3 --gallery g`: cam3's walker is cam1's, recognised once, and hidden once later; the combined
    summary of the two sources says both, each source's summary file its own."""
    alone = without(scene()[::-1], CYAN)
    first = write_video(tmp_path / "cam1.avi", scene())
    hidden = write_video(tmp_path / "cam3.avi", without(alone, YELLOW, range(15, 18)))
    out = tmp_path / "out"
    args = [a for a in ARGS if a != "--quiet"]
    assert main([str(first), str(hidden), "--gallery", str(tmp_path / "g"), "--out", str(out), *args]) == 0
    line = returns_line(capsys.readouterr().out)
    assert line == "2 tracks; an ID came back after occlusion 1 time; 1 person recognised from the gallery", line
    each = [json.loads((out / f"{name}.summary.json").read_text()) for name in ("cam1", "cam3")]
    assert [(s["recovered"], s["recognised_from_gallery"]) for s in each] == [(0, 0), (2, 1)]


def test_a_track_whose_global_id_is_found_late_has_that_id_in_all_its_txt_rows(colour_models, tmp_path, monkeypatch):
    """The second video's first looks of both walkers are unusable (a constant vector), so the search at their birth
    finds no one and they get new global IDs 3 and 4; the searches while their banks grow find IDs 1 and 2 a few
    frames later (the JSONL shows the change). The MOT txt gives each walker its final ID in every row: no ID switch,
    the same IDs as in the first video, 2 tracks in the summary, and summary.json names the IDs replaced."""
    first, second = scene(), scene()[::-1]
    a, b = write_video(tmp_path / "cam1.avi", first), write_video(tmp_path / "cam2.avi", second)
    gallery = tmp_path / "site.gallery"
    assert main([str(a), "--gallery", str(gallery), "--out", str(tmp_path / "o1"), *ARGS]) == 0
    ids_a = colour_ids(read_mot_rows(tmp_path / "o1" / "cam1.txt"), first)

    calls = []

    def late_embedder(image: torch.Tensor, boxes_xyxy: np.ndarray) -> torch.Tensor:
        calls.append(len(boxes_xyxy))
        looks = colour_embedder(image, boxes_xyxy)
        return torch.full_like(looks, -GREY / 2) if len(calls) <= 3 else looks  # the first 3 frames: no colour

    def from_config(cfg, frame_rate=None, gallery=None):
        gallery.bind_model(COLOUR_MODEL)
        return Tracker(cfg, frame_rate, detector=blob_detector, embedder=late_embedder, gallery=gallery)

    monkeypatch.setattr(run.Tracker, "from_config", staticmethod(from_config))
    out = tmp_path / "o2"
    replace_in, checkpoint_left = GlobalIdHistory.replace_in, []

    def replace_in_spying(self, txt, replaced=None):  # a resume would cut a rewritten txt at the checkpoint's lengths
        kept = txt.with_name(txt.name + ".partial")  # so the rows as written are kept for it, the file it continues
        checkpoint_left.append((out / "checkpoint.bin").exists() and kept.read_bytes() == txt.read_bytes())
        return replace_in(self, txt, replaced)

    monkeypatch.setattr(GlobalIdHistory, "replace_in", replace_in_spying)
    assert main([str(b), "--gallery", str(gallery), "--out", str(out), *ARGS]) == 0
    assert checkpoint_left == [True]  # the checkpoint stays until the last gallery save, with the rows it continues
    assert not (out / "checkpoint.bin").exists() and not (out / "cam2.txt.partial").exists()
    shown: dict[int, list[int]] = {}  # local track ID -> the global IDs the JSONL gives it, in order
    for line in (out / "cam2.jsonl").read_text().splitlines():
        for t in json.loads(line)["tracks"]:
            if shown.setdefault(t["id"], [t["global_id"]])[-1] != t["global_id"]:
                shown[t["id"]].append(t["global_id"])
    assert sorted(shown.values()) == [[3, 1], [4, 2]], shown  # the scene does change both IDs partway
    rows = read_mot_rows(out / "cam2.txt")
    assert sorted(set(rows[:, 1].astype(int))) == [1, 2] and colour_ids(rows, second) == ids_a
    summary = json.loads((out / "summary.json").read_text())
    assert summary["tracks"] == 2 and summary["global_ids_replaced"] == {"3": 1, "4": 2}


def saved_gallery(path: Path, ids: tuple[int, ...] = (12, 13)) -> Path:
    """A gallery of 3-d looks saved at `path`: one identity per ID, seen now by "cam1" (each look its own axis, so
    none links to another)."""
    gallery = Gallery(model=ModelIdentity("test", "test", 3))
    for gid, axis in zip(ids, range(len(ids)), strict=True):
        gallery.add(gid, np.eye(3, dtype=np.float32)[[axis % 3]], 0, Sighting(1, time.time(), "cam1"))
    gallery.save(path)
    return path


def test_gallery_rm_of_an_id_given_twice_removes_it_once(tmp_path, capsys):
    """`track gallery rm site.gallery 3 3` (a repeated ID, e.g. pasted twice) ended in a KeyError traceback."""
    path = saved_gallery(tmp_path / "site.gallery", (1, 2))
    assert main(["gallery", "rm", str(path), "1", "1"]) == 0
    assert "removed 1 identity; 1 left" in capsys.readouterr().out
    assert [i.global_id for i in Gallery.load(path, prune=False).identities] == [2]
    assert main(["gallery", "rm", str(path), "7", "7"]) == 2
    assert "no identity 7 in" in capsys.readouterr().err, "named once"


def _unsaveable(tmp_path, monkeypatch, how: str):
    """A gallery path no save can write: under a regular file (refused even to root), or in a folder of mode 0o500
    (root passes permissions, so there a file made in that folder is refused as the kernel refuses a user: EACCES)."""
    if how == "under_a_file":
        (tmp_path / "notes.txt").write_text("a file, not a folder")
        return tmp_path / "notes.txt" / "site.gallery", f"{tmp_path / 'notes.txt'} is a file, not a folder"
    folder = tmp_path / "read_only"
    folder.mkdir(mode=0o500)
    if os.geteuid() == 0:
        real_open = os.open

        def as_a_user(path, flags, *args, **kwargs):
            if flags & os.O_CREAT and Path(os.fsdecode(path)).parent == folder:
                raise PermissionError(errno.EACCES, os.strerror(errno.EACCES), os.fsdecode(path))
            return real_open(path, flags, *args, **kwargs)

        monkeypatch.setattr(os, "open", as_a_user)
    return folder / "site.gallery", f"{folder} is not writable"


@pytest.mark.parametrize("how", ["under_a_file", "read_only_folder"])
def test_a_gallery_that_cannot_be_saved_stops_track_before_any_frame(colour_models, tmp_path, monkeypatch, capsys, how):
    """`track cam.avi --gallery notes.txt/site.gallery` tracked the whole video and only then failed to save the
    gallery ("could not be saved: Not a directory"); now one error line naming the gallery and its folder, exit
    status 2, before any frame (nothing written)."""
    video = write_video(tmp_path / "cam1.avi", scene()[:5])
    gallery, why = _unsaveable(tmp_path, monkeypatch, how)
    out = tmp_path / "o"
    try:
        assert main([str(video), "--gallery", str(gallery), "--out", str(out), *ARGS]) == 2
    finally:
        if gallery.parent.is_dir():
            gallery.parent.chmod(0o700)  # (so that pytest can remove it)
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and f"the gallery {gallery} cannot be " in err[0] and why in err[0], err  # (used: its lock)
    assert "choose another --gallery" in err[0] and not out.exists()


@pytest.mark.parametrize("command", [[], ["batch"]], ids=["track", "batch"])
def test_a_gallery_under_a_file_is_named_as_typed(colour_models, tmp_path, monkeypatch, capsys, command):
    """`track cam1.avi --gallery notes.txt/cam1/site.gallery` named the gallery and the file in its way by their
    absolute paths ("the gallery /home/me/notes.txt/cam1/site.gallery ...: /home/me/notes.txt is a file"), which the
    user never typed. Now both as typed."""
    monkeypatch.chdir(tmp_path)
    write_video(tmp_path / "cam1.avi", scene()[:5])
    (tmp_path / "notes.txt").write_text("a file, not a folder")
    gallery = os.path.join("notes.txt", "cam1", "site.gallery")
    assert main([*command, "cam1.avi", "--gallery", gallery, "--out", "o", *ARGS]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    said = f"error: the gallery {gallery} cannot be saved: notes.txt is a file, not a folder: choose another --gallery"
    assert len(err) == 1 and err[0].endswith(said), err
    assert not (tmp_path / "o").exists()


@pytest.mark.parametrize("command", ["track", "batch"])
def test_a_gallery_without_appearance_embeddings_is_one_error_from_track_and_batch(tmp_path, command, capsys):
    """`--gallery` with appearance off (nothing to store or search) is refused by `track` and `track batch` alike,
    with the same line, before any model loads, and no gallery file is made (one check both commands call)."""
    video = write_video(tmp_path / "cam1.avi", scene()[:3])
    gallery = tmp_path / "site.gallery"
    args = [str(video), "--gallery", str(gallery), "--out", str(tmp_path / "o"), "--set", "appearance.enabled=false"]
    assert main(args if command == "track" else ["batch", *args]) == 2
    errors = [line for line in capsys.readouterr().err.splitlines() if ": error: " in line]
    assert len(errors) == 1, errors
    assert errors[0].endswith("--gallery needs appearance embeddings: set appearance.enabled=true")
    assert not gallery.exists()


def test_a_read_only_gallery_file_is_not_replaced_by_track_rm_or_save(colour_models, tmp_path, capsys):
    """A gallery its owner made read-only (`chmod a-w`) was replaced by the next save all the same (a save renames a
    new file over it, which only the folder's permissions govern): `track --gallery` tracked and saved into it,
    `track gallery rm` removed the identity. Now each is one error line naming the file, before any frame, and the
    file keeps its bytes and mode."""
    video = write_video(tmp_path / "cam1.avi", scene()[:5])
    gallery = tmp_path / "site.gallery"
    assert main([str(video), "--gallery", str(gallery), "--out", str(tmp_path / "o1"), *ARGS]) == 0
    gallery.chmod(0o444)
    before = gallery.read_bytes()
    out = tmp_path / "o2"
    for argv in (
        [str(video), "--gallery", str(gallery), "--out", str(out), *ARGS],
        ["gallery", "rm", str(gallery), "1"],
    ):
        capsys.readouterr()
        assert main(argv) == 2
        err = capsys.readouterr().err.strip().splitlines()
        assert len(err) == 1 and f"gallery file {gallery} is read-only (mode 444)" in err[0], err
        assert "chmod u+w" in err[0] and ("choose another --gallery" in err[0]) == (argv[0] != "gallery"), err
    assert not out.exists(), "refused before any frame"
    with pytest.raises(PermissionError, match="read-only"):
        Gallery.load(gallery).save(gallery, overwrite=True)
    assert gallery.read_bytes() == before and (gallery.stat().st_mode & 0o777) == 0o444
    assert main(["gallery", "ls", str(gallery)]) == 0, "reading it is still fine"
    gallery.chmod(0o600)
    assert main(["gallery", "rm", str(gallery), "1"]) == 0, "writable again: saved"


def test_gallery_rm_with_an_unknown_id_says_nothing_was_removed(tmp_path, capsys):
    """`track gallery rm site.gallery 12 31` (the README's line) where 31 is not there: the error named 31 only, and
    did not say whether 12 had gone; it now says the file is unchanged and how to list the IDs it holds."""
    path = saved_gallery(tmp_path / "site.gallery")
    before = path.read_bytes()
    assert main(["gallery", "rm", str(path), "12", "31"]) == 2
    err = capsys.readouterr().err
    assert f"no identity 31 in {path}: nothing removed (`track gallery ls {path}` lists its IDs)" in err
    assert path.read_bytes() == before


def test_gallery_rm_of_several_unknown_ids_names_them_in_the_plural_and_the_held_ones_kept(tmp_path, capsys):
    """`track gallery rm FILE 5 99 98` said "no identity 5, 99, 98" (one identity, the IDs as typed), and where some
    IDs were held, whether those had gone was left to guess. Nothing is removed still (all or nothing); the line
    says which IDs are missing, in order, which held ones were kept, and the command that removes those."""
    path = saved_gallery(tmp_path / "site.gallery", (5, 6))
    before = path.read_bytes()
    assert main(["gallery", "rm", str(path), "99", "7", "98"]) == 2
    listing = f"(`track gallery ls {path}` lists its IDs)"
    assert capsys.readouterr().err.strip() == (
        f"track gallery: error: no identities 7, 98 and 99 in {path}: nothing removed {listing}"
    )
    assert main(["gallery", "rm", str(path), "5", "99", "98"]) == 2
    assert capsys.readouterr().err.strip() == (
        f"track gallery: error: no identities 98 and 99 in {path}: nothing removed {listing}; 5, which it holds, "
        f"is kept too (`track gallery rm {path} 5` removes it)"
    )
    assert main(["gallery", "rm", str(path), "6", "5", "99", "6"]) == 2
    assert capsys.readouterr().err.strip() == (
        f"track gallery: error: no identity 99 in {path}: nothing removed {listing}; 5 and 6, which it holds, "
        f"are kept too (`track gallery rm {path} 5 6` removes them)"
    )
    assert path.read_bytes() == before


def test_gallery_rm_suggests_commands_that_run_as_pasted_for_a_path_with_spaces(tmp_path, capsys):
    """`track gallery rm "my site.gallery" 5 99`: the error's commands (`ls`, and the `rm` of the held IDs alone)
    wrote the path bare, so pasted into a shell they named two files ("my" and "site.gallery"). Quoted as the shell
    reads it, the suggested rm removes the held ID."""
    path = saved_gallery(tmp_path / "my site.gallery", (5, 6))
    assert main(["gallery", "rm", str(path), "5", "99"]) == 2
    err = capsys.readouterr().err.strip()
    commands = re.findall(r"`(track gallery [^`]+)`", err)
    assert [shlex.split(c)[:4] for c in commands] == [["track", "gallery", "ls", str(path)]] + [
        ["track", "gallery", "rm", str(path)]
    ], err
    assert main(shlex.split(commands[1])[1:]) == 0
    kept = Gallery.load(path, prune=False)
    assert len(kept) == 1 and 6 in kept


@pytest.mark.parametrize("step", ["tracker.gallery_format.write", "tracker.gallery_file.sync_folder"])
def test_ctrl_c_during_gallery_rm_says_which_version_the_file_holds(tmp_path, monkeypatch, capsys, step):
    """Ctrl-C while `track gallery rm` saved said only `track: interrupted`: whether the identities were gone was
    left to guess. Before the save's rename the file is as it was, no temp file left, and the line says so; after
    it (the folder's fsync interrupted), the line says the identities are removed."""
    path = saved_gallery(tmp_path / "site.gallery")
    before = path.read_bytes()

    def ctrl_c(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(step, ctrl_c)
    assert main(["gallery", "rm", str(path), "12"]) == 130
    err = capsys.readouterr().err.strip().splitlines()
    if step.endswith(".write"):  # before the rename
        assert err == [f"track gallery: interrupted: nothing removed, {path} is as it was"]
        assert path.read_bytes() == before
    else:
        assert err == [
            f"track gallery: interrupted once {path} was written: the identities are removed "
            f"(`track gallery ls {path}` lists what is left)"
        ]
        assert 12 not in Gallery.load(path, prune=False)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["site.gallery"], "a temp or lock file was left"


def test_track_gallery_without_a_command_names_the_commands(capsys):
    """`track gallery` alone said "the following arguments are required: action", an internal name."""
    with pytest.raises(SystemExit) as stop:
        main(["gallery"])
    assert stop.value.code == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err[-1] == "track gallery: error: the following arguments are required: {ls,rm,prune,merge,export}", err


def test_gallery_prune_of_many_identities_answers_in_one_readable_line(tmp_path, capsys):
    """`track gallery prune big.gallery --set gallery.max_identities=1` over 40 000 identities printed every removed
    ID: one 268 885-character line. The line names the first ones and how many more (so does rm's error)."""
    path = tmp_path / "site.gallery"
    gallery = Gallery(model=ModelIdentity("test", "test", 3))
    now = time.time()
    for gid in range(1, 101):
        gallery.add(gid, np.array([[1.0, gid, 0.0]], dtype=np.float32), 0, Sighting(1, now - 1000 + gid, "cam1"))
    gallery.save(path)
    assert main(["gallery", "prune", str(path), "--set", "gallery.max_identities=1"]) == 0
    first = ", ".join(map(str, range(1, 21)))
    assert capsys.readouterr().out.strip() == f"removed 99 identities ({first} and 79 more); 1 left"
    assert main(["gallery", "rm", str(path), *map(str, range(1, 100))]) == 2
    err = capsys.readouterr().err.strip()
    assert f"no identities {first} and 79 more in {path}: nothing removed" in err
    assert main(["gallery", "rm", str(path), *map(str, range(1, 22))]) == 2  # one past the 20: named, not counted
    assert f"no identities {first} and 21 in {path}: nothing removed" in capsys.readouterr().err


@pytest.mark.parametrize("command", ["ls", "rm", "prune"])
def test_gallery_command_help_says_what_file_and_ids_are(command, capsys):
    """`track gallery rm -h` listed its arguments as a bare "file" and "ID", with nothing said of either."""
    with pytest.raises(SystemExit):
        main(["gallery", command, "-h"])
    out = capsys.readouterr().out
    assert "FILE" in out and "the gallery file (`track --gallery FILE`)" in out, out
    assert command != "rm" or "global IDs to forget (`track gallery ls` lists them)" in out, out
    assert command != "prune" or "--config FILE" in out, out  # as `track --help` spells it (it said CONFIG)
    assert command != "ls" or "(ISO 8601, UTC)" in " ".join(out.split()), out  # (local times were printed)
    assert command != "prune" or "--dry-run" in out, out


def test_gallery_prune_with_nothing_to_forget_leaves_the_file_as_it_was(tmp_path, capsys):
    """`track gallery prune` rewrote the file when it removed nothing: another file (inode, time) for no change,
    which a `track --resume` of the run that saved it takes for another program's save."""
    path = saved_gallery(tmp_path / "site.gallery", (12,))
    before = os.stat(path)
    assert main(["gallery", "prune", str(path)]) == 0
    out = capsys.readouterr().out.strip()  # (it said "removed 0 identities (none); 1 left")
    assert out == (
        f"nothing to remove: gallery.max_days_unseen (30 days) and max_identities (100000) keep every identity of "
        f"{path} (1); the file is as it was"
    )
    after = os.stat(path)
    assert (after.st_ino, after.st_mtime_ns) == (before.st_ino, before.st_mtime_ns), "the file was rewritten"


def test_sigterm_during_gallery_rm_is_one_line_and_leaves_no_temp_file(tmp_path, monkeypatch, capsys):
    """`kill PID` during `track gallery rm`'s save ended the process at once: no line, exit -15, and a temp file of
    the gallery's size left beside it until the next save. It now ends as Ctrl-C does."""
    import signal

    import tracker.gallery_format as gallery_format

    path = saved_gallery(tmp_path / "site.gallery", (12,))
    before = path.read_bytes()
    write = gallery_format.write

    def killed(*args, **kwargs):
        write(*args, **kwargs)
        os.kill(os.getpid(), signal.SIGTERM)  # (delivered to the main thread before this returns)

    def default_term(signum, frame):  # stands in for the default action (ending the process) in this test
        raise RuntimeError("SIGTERM was left to its default action")

    monkeypatch.setattr(gallery_format, "write", killed)
    previous = signal.signal(signal.SIGTERM, default_term)
    try:
        assert main(["gallery", "rm", str(path), "12"]) == 130
    finally:
        signal.signal(signal.SIGTERM, previous)
    assert capsys.readouterr().err.strip() == f"track gallery: interrupted: nothing removed, {path} is as it was"
    assert path.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["site.gallery"], "a temp or lock file was left"


def test_gallery_ls_prints_times_in_utc_with_a_z_whatever_the_local_zone(tmp_path, monkeypatch, capsys):
    """`track gallery ls` printed local times without a zone ('2023-11-14 17:13:20' in New York): which moment that
    was depended on the machine that listed it. Times are ISO 8601 in UTC, marked 'Z'."""
    gallery = Gallery(model=ModelIdentity("test", "test", 3))
    gallery.add(gallery.new_id(), np.ones((1, 3)), 0, Sighting(5, 1_700_000_000.0, "cam1"))
    path = tmp_path / "site.gallery"
    gallery.save(path, prune=False)
    monkeypatch.setenv("TZ", "America/New_York")
    time.tzset()
    try:
        assert main(["gallery", "ls", str(path)]) == 0
    finally:
        monkeypatch.delenv("TZ")
        time.tzset()
    lines = capsys.readouterr().out.splitlines()
    assert lines[1].split() == ["ID", "class", "seen", "first", "seen", "last", "seen", "last", "source", "(frame)"]
    assert lines[2].split() == ["1", "0", "1", "2023-11-14T22:13:20Z", "2023-11-14T22:13:20Z", "cam1", "(5)"], lines


def test_gallery_ls_names_the_classes_a_gallery_knows_and_numbers_those_of_an_older_file(tmp_path, capsys):
    """`track gallery ls` printed class numbers ('2'), not the detector's names: the gallery now saves the names
    (`Gallery.name_classes`, a `class_names` key in its header) and ls prints them. A file saved without names (as
    every file was before) still loads, prints numbers, and has no such key; a class the names lack is a number."""
    from tracker import gallery_format

    older = saved_gallery(tmp_path / "older.gallery", (12,))
    assert "class_names" not in gallery_format.decode(older.read_bytes(), older)[1], "older files' header unchanged"
    assert main(["gallery", "ls", str(older)]) == 0
    assert capsys.readouterr().out.splitlines()[2].split()[:2] == ["12", "0"]
    gallery = Gallery.load(older, prune=False)
    assert gallery.class_names == {}
    gallery.add(13, np.eye(3, dtype=np.float32)[[1]], 2, Sighting(1, time.time(), "cam1"))
    gallery.add(14, np.eye(3, dtype=np.float32)[[2]], 7, Sighting(1, time.time(), "cam1"))
    gallery.name_classes({0: "person", 2: "car", 3: "motorcycle"})
    gallery.save(older, prune=False)
    assert Gallery.load(older).class_names == {0: "person", 2: "car", 3: "motorcycle"}
    assert main(["gallery", "ls", str(older)]) == 0
    rows = capsys.readouterr().out.splitlines()[2:]
    assert [row.split()[:2] for row in rows] == [["12", "person"], ["13", "car"], ["14", "7"]], rows
    with pytest.raises(TypeError, match="class names must map whole-number IDs to text"):
        gallery.name_classes({"0": "person"})


def test_a_gallery_pickled_before_class_names_were_kept_knows_none():
    """A checkpoint's gallery pickled before `_class_names` existed restores with no names (not an AttributeError)."""
    gallery = Gallery(model=ModelIdentity("test", "test", 3))
    state = gallery.__getstate__()
    del state["_class_names"]
    restored = Gallery.__new__(Gallery)
    restored.__setstate__(state)
    assert restored.class_names == {}


def test_from_config_gives_the_gallery_the_detectors_class_names(monkeypatch):
    """`Tracker.from_config` names the gallery's classes after its detector's (ultralytics' `model.names`), so that
    the file it saves lists them by name."""
    import types

    import tracker.detector
    import tracker.embedder
    import tracker.model_setup
    from tracker.config import load_config

    class FakeReID:
        dim = 3

        def __call__(self, image: object, boxes: np.ndarray) -> np.ndarray:
            raise AssertionError("no frame is embedded here")

    class FakeDetector:
        model = types.SimpleNamespace(names={0: "person", 2: "car"})  # (ultralytics' YOLO.names)

        def __call__(self, frame: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
            raise AssertionError("no frame is detected here")

    detector = FakeDetector()
    monkeypatch.setattr(tracker.model_setup, "require_model_files", lambda *args: None)
    monkeypatch.setattr(tracker.detector, "build_detector", lambda *args, **kwargs: detector)
    monkeypatch.setattr(tracker.embedder, "build_embedder", lambda *args, **kwargs: FakeReID())
    cfg = load_config(overrides=["device=cpu"])
    gallery = Gallery(cfg.gallery)
    Tracker.from_config(cfg, frame_rate=25, gallery=gallery)
    assert gallery.class_names == {0: "person", 2: "car"}


def test_gallery_prune_dry_run_says_what_it_would_remove_and_leaves_the_file_untouched(tmp_path, capsys):
    """`track gallery prune` had no dry run: the only way to see what a retention setting would forget was to forget
    it. `--dry-run` says it and leaves the file as it was (the same bytes, inode and time)."""
    path = saved_gallery(tmp_path / "site.gallery", (12, 13))
    before, stat_before = path.read_bytes(), os.stat(path)
    argv = ["gallery", "prune", str(path), "--set", "gallery.max_identities=1"]
    assert main([*argv, "--dry-run"]) == 0
    assert capsys.readouterr().out.strip() == (
        f"would remove 1 identity (12); 1 would be left (a dry run: {path} is as it was)"
    )
    after = os.stat(path)
    assert path.read_bytes() == before
    assert (after.st_ino, after.st_mtime_ns) == (stat_before.st_ino, stat_before.st_mtime_ns)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["site.gallery"], "a temp or lock file was left"
    assert main(argv) == 0
    assert capsys.readouterr().out.strip() == "removed 1 identity (12); 1 left"


@pytest.mark.parametrize(
    ("option", "said"),
    [
        (["--conf", "0.3"], "--conf is not an option of {prog}: for ultralytics' --conf, give --set "
         "detector.confidence=VALUE"),
        (["--dry"], "--dry is not an option of {prog}: write the option in full (--dry-run)"),
    ],
)  # fmt: skip
def test_gallery_prune_does_not_read_a_prefix_of_an_option_as_that_option(tmp_path, capsys, option, said):
    """argparse took any prefix of an option for it: `track gallery prune G --conf 0.3` was `--config 0.3` ("cannot
    read config file 0.3") and `--dry` was `--dry-run`. A usage error saying what to write, as `track`'s, and the
    file is left as it was."""
    path = saved_gallery(tmp_path / "site.gallery", (12, 13))
    before = path.read_bytes()
    with pytest.raises(SystemExit) as stop:
        main(["gallery", "prune", str(path), "--set", "gallery.max_identities=1", *option])
    assert stop.value.code == 2
    prog = "track gallery prune"
    assert capsys.readouterr().err.splitlines()[-1] == f"{prog}: error: {said.format(prog=prog)}"
    assert path.read_bytes() == before


def test_gallery_merge_names_a_prefix_of_its_required_output_option(tmp_path, capsys):
    """`track gallery merge A B --out M` (track's `--out`: a prefix of merge's `--output`, which argparse once took
    for it) is the usage error saying to write `--output` in full, not "the following arguments are required:
    -o/--output" of an option given; nothing is written."""
    files = [saved_gallery(tmp_path / f"cam{i}.gallery", (12 + i,)) for i in range(2)]
    merged = tmp_path / "site.gallery"
    with pytest.raises(SystemExit) as stop:
        main(["gallery", "merge", *map(str, files), "--out", str(merged)])
    assert stop.value.code == 2
    prog = "track gallery merge"
    said = capsys.readouterr().err.splitlines()[-1]
    assert said == f"{prog}: error: --out is not an option of {prog}: write the option in full (--output)"
    assert not merged.exists()


def test_gallery_prune_dry_run_of_a_read_only_file_gives_the_error_the_prune_would(tmp_path, capsys):
    """A read-only gallery (`chmod a-w`: kept as it is on purpose): `prune` refuses to replace it, but its dry run
    said "would remove 1 identity". Both now give the same one error, and the file is as it was."""
    path = saved_gallery(tmp_path / "site.gallery", (12, 13))
    path.chmod(0o400)
    before = path.read_bytes()
    argv = ["gallery", "prune", str(path), "--set", "gallery.max_identities=1"]
    errors = []
    for dry_run in ([], ["--dry-run"]):
        assert main([*argv, *dry_run]) == 2
        captured = capsys.readouterr()
        assert captured.out == "" and f"gallery file {path} is read-only" in captured.err, captured
        errors.append(captured.err)
    assert errors[0] == errors[1] and path.read_bytes() == before


@pytest.mark.parametrize("interrupts", [1, 2])
def test_ctrl_c_during_tracks_gallery_save_says_whether_the_file_was_saved(
    colour_models, tmp_path, monkeypatch, capsys, interrupts
):
    """A Ctrl-C during `track video --gallery g.gallery`'s save at the end of the video said only "track: interrupted":
    whether the gallery held the video's identities was left to guess. One Ctrl-C: the run's last save writes it
    (the line says it was saved); another during that save: the file is as it was (as `track gallery rm` words it)."""
    import tracker.gallery_format as gallery_format

    video = write_video(tmp_path / "cam1.avi", scene())
    path = tmp_path / "site.gallery"
    assert main([str(video), "--gallery", str(path), "--out", str(tmp_path / "first"), *ARGS]) == 0
    before = path.read_bytes()
    write, calls = gallery_format.write, []

    def ctrl_c(*args, **kwargs):
        calls.append(1)
        if len(calls) <= interrupts:
            raise KeyboardInterrupt
        write(*args, **kwargs)

    monkeypatch.setattr(gallery_format, "write", ctrl_c)
    capsys.readouterr()
    again = [str(video), "--gallery", str(path), "--out", str(tmp_path / "o"), "--relink", *ARGS]  # (held already)
    assert main(again) == 130
    said = capsys.readouterr().err.splitlines()[0]
    if interrupts == 1:
        assert said == f"track: interrupted once the gallery {path} was saved: it holds this run's identities"
        assert [i.sightings for i in Gallery.load(path).identities] == [2, 2], "each person's 2nd run, saved"
    else:
        assert said == f"track: interrupted: nothing saved, the gallery {path} is as it was"
        assert path.read_bytes() == before


@pytest.mark.parametrize(
    ("argv", "usage"),
    [
        (["ls", "g.gallery", "--extra"], "track gallery ls"),  # (a second word is a second file to list)
        (["merge", "a.gallery", "b.gallery", "-o", "m.gallery", "--bogus"], "track gallery merge"),
        (["export", "g.gallery", "-o", "g.csv", "--bogus"], "track gallery export"),
        (["prune", "g.gallery", "--bogus"], "track gallery prune"),
        (["rm", "g.gallery", "1", "--bogus"], "track gallery rm"),
        (["--bogus", "ls", "g.gallery"], "track gallery"),
    ],
)
def test_an_extra_argument_is_reported_under_its_actions_usage(argv, usage, capsys):
    """`track gallery ls g.gallery extra` reported the extra word under `track gallery`'s usage, not `ls`'s."""
    with pytest.raises(SystemExit) as stopped:
        main(["gallery", *argv])
    assert stopped.value.code == 2
    err = capsys.readouterr().err
    assert err.startswith(f"usage: {usage} [-h]") and f"\n{usage}: error: unrecognized arguments: " in err


def test_a_resume_reads_recognitions_back_from_the_jsonl_and_older_files_without_them(tmp_path):
    """`read_jsonl_tracks` (what a resumed run draws its video again from) keeps `recognised`; a JSONL written before
    the key existed reads as no recognition, not as an error."""
    path = tmp_path / "cam.jsonl"
    track = {"id": 3, "global_id": 7, "xyxy": [1, 2, 30, 80], "score": 0.9, "class": 0, "recovered": True}
    lines = [{"frame": 1, "tracks": [track]}, {"frame": 2, "tracks": [track | {"recognised": True}]}]
    path.write_text("".join(json.dumps(line) + "\n" for line in lines))
    frames = read_jsonl_tracks(path, path.stat().st_size, shown_global=True)
    assert [frames[1][0].recognised, frames[2][0].recognised] == [False, True]
    assert frames[2][0].track_id == 7 and frames[2][0].recovered


@pytest.mark.parametrize("every", ["60", "0"])  # the conflict found by the last save / by a periodic background one
def test_a_gallery_replaced_under_a_run_keeps_both_and_says_how_to_merge(
    colour_models, tmp_path, monkeypatch, capsys, every
):
    """Another program replaces the gallery file while `track --gallery` uses it (a copy or a restore, not through
    `track`, so the lock did not stop it): the run does not write over that file (its identities would be lost),
    nor drop its own: it saves its gallery in its output folder, and its one error line says how to merge the two;
    summary.json's `error` says so too (it was null, as for a run whose gallery was saved)."""
    video = write_video(tmp_path / "cam1.avi", scene())
    gallery, out = tmp_path / "site.gallery", tmp_path / "o2"
    assert main([str(video), "--gallery", str(gallery), "--out", str(tmp_path / "o1"), *ARGS]) == 0
    other = Gallery.load(gallery)
    other.remove(other.identities[0].global_id)
    other.save(tmp_path / "restored.gallery")
    restored = (tmp_path / "restored.gallery").read_bytes()
    open_gallery = run.open_gallery

    def replaced_after_the_load(path, cfg):
        loaded = open_gallery(path, cfg)
        os.replace(tmp_path / "restored.gallery", path)  # (a rename, as `cp` and restores of whole files do)
        return loaded

    monkeypatch.setattr(run, "open_gallery", replaced_after_the_load)
    capsys.readouterr()
    args = [*ARGS, "--set", f"gallery.save_every_seconds={every}"]
    later = write_video(tmp_path / "cam2.avi", scene()[::-1])  # (the same people; cam1 the gallery holds already)
    assert main([str(later), "--gallery", str(gallery), "--out", str(out), *args]) == 2
    err = capsys.readouterr().err
    assert gallery.read_bytes() == restored, "the other program's file is left as it is"
    aside = out / "site.unmerged.gallery"
    assert len(Gallery.load(aside)) == 2 and stat.S_IMODE(aside.stat().st_mode) == 0o600, "the run's identities kept"
    assert len(err.strip().splitlines()) == 1, err
    assert f"track gallery merge {gallery} {aside} -o {gallery}" in err, err
    assert "overwrite=True" not in err, "no advice for Python callers"
    error = json.loads((out / "summary.json").read_text())["error"]  # it said null: the run as if all were saved
    assert error is not None and f"saved as {aside}" in error and str(gallery) in error, error
    assert error.startswith("the gallery "), "the sentence alone (a periodic save's began 'GalleryConflictError: ')"
    assert main(["gallery", "merge", str(gallery), str(aside), "-o", str(gallery)]) == 0
    assert len(Gallery.load(gallery)) == 2


def test_an_abort_before_the_people_in_view_are_stored_says_they_are_not_in_the_gallery(
    colour_models, tmp_path, monkeypatch, capsys
):
    """A second Ctrl-C after the first stopped the loop but before the people in view were stored (while the stop's
    checkpoint is written: seconds with a large gallery): the periodic saves had saved the gallery, and the line said
    "it holds this run's identities", though the two people in view were in no save. Now it says they are not."""
    video = write_video(tmp_path / "cam1.avi", scene())
    path = tmp_path / "site.gallery"
    ctrl_c_once_tracked(monkeypatch)  # the second Ctrl-C, once the loop ended
    args = [*ARGS, "--set", "gallery.save_every_seconds=0"]
    assert main([str(video), "--gallery", str(path), "--out", str(tmp_path / "o"), *args]) == 130
    said = capsys.readouterr().err.splitlines()[0]
    assert len(Gallery.load(path)) == 0, "the people in view were not stored"
    assert said.endswith(
        "it holds this run's identities up to the stop; the people in view at the stop were not stored"
    )


def test_gallery_ls_of_several_files_lists_the_readable_ones_and_names_each_bad_one(tmp_path, capsys):
    """`track gallery ls a b c d` where b is corrupt and c missing: a and d are listed, b and c named in one error
    line each, exit status 2 (one unreadable file used to list none)."""
    first, last = saved_gallery(tmp_path / "a.gallery", (12,)), saved_gallery(tmp_path / "d.gallery", (34,))
    corrupt, missing = tmp_path / "b.gallery", tmp_path / "c.gallery"
    corrupt.write_bytes(b"\x10\x00\x00\x00\x00\x00\x00\x00{broken")
    assert main(["gallery", "ls", str(first), str(corrupt), str(missing), str(last)]) == 2
    captured = capsys.readouterr()
    out, err = captured.out.splitlines(), captured.err.strip().splitlines()
    assert out[0] == f"{first}:" and f"{last}:" in out and "" in out, out
    assert [line.split()[0] for line in out if line.endswith("cam1 (1)")] == ["12", "34"], out
    assert len(err) == 2 and f"{corrupt} is not a readable gallery file" in err[0], err
    assert err[1] == f"track gallery: error: no such gallery file: {missing}", err


def test_gallery_merge_tells_apart_two_input_files_whose_names_show_alike(tmp_path, capsys):
    """`track gallery merge caf<0xE9>.gallery caf<0xE8>.gallery caf<0xEA>.gallery`: both later files' lines (and the
    totals) showed `caf\ufffd.gallery`, so a user could not tell which file's identity went where; where two names
    would show alike, each is written with its bytes (`caf\\xe8.gallery`), as the other commands write them."""
    files = [saved_gallery(undecodable_path(tmp_path, b"caf%c.gallery" % byte), (gid,)) for byte, gid in
             ((0xE9, 12), (0xE8, 20), (0xEA, 30))]  # fmt: skip
    assert main(["gallery", "merge", *map(str, files), "-o", str(tmp_path / "merged.gallery"), "--dry-run"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert [line.split()[0] for line in lines[1:3]] == [f"{tmp_path}/caf\\xe8.gallery", f"{tmp_path}/caf\\xea.gallery"]
    assert f"{tmp_path}/caf\\xe9.gallery: 1, IDs kept; {tmp_path}/caf\\xe8.gallery: 1, " in lines[-1], lines


def test_an_output_folder_gone_while_exporting_is_said_of_the_output_not_as_a_missing_gallery(
    tmp_path, monkeypatch, capsys
):
    """`track gallery export G -o T` where the table's temp file cannot be made in T's folder for "No such file or
    directory" (the folder removed meanwhile, or a file system such as /proc): the error, whose words name T, was
    read as a missing gallery file and said "no such gallery file: G" (and `merge ... -o` said "no such gallery file:
    ?"). A FileNotFoundError of the system's still names the missing gallery."""
    gallery = saved_gallery(tmp_path / "g.gallery")
    table = tmp_path / "t.csv"

    def gone(*args, **kwargs):
        raise FileNotFoundError(errno.ENOENT, os.strerror(errno.ENOENT), str(table.parent / ".t.csv.tmp"))

    monkeypatch.setattr(tempfile, "mkstemp", gone)
    assert main(["gallery", "export", str(gallery), "-o", str(table)]) == 2
    err = capsys.readouterr().err
    assert err.startswith(
        f"track gallery: error: the identity table {table} cannot be saved: its folder {tmp_path} "
    ), err
    assert main(["gallery", "ls", str(tmp_path / "missing.gallery")]) == 2
    assert capsys.readouterr().err == f"track gallery: error: no such gallery file: {tmp_path}/missing.gallery\n"


def test_a_system_error_naming_a_gallery_file_that_is_not_utf8_shows_its_byte_as_u_fffd(tmp_path, capsys):
    """`track gallery ls caf<0xE9>.gallery` where that name is a symbolic link to itself: the OSError's own text
    ("[Errno 40] Too many levels of symbolic links: '...'") named the file by Python's repr, so the line showed
    `caf\\udce9` where every other line shows U+FFFD."""
    loop = undecodable_path(tmp_path, b"caf\xe9.gallery")
    os.symlink(loop, loop)
    assert main(["gallery", "ls", str(loop)]) == 2
    err = capsys.readouterr().err
    assert err.splitlines() == [
        f"track gallery: error: [Errno 40] Too many levels of symbolic links: '{tmp_path}/caf\ufffd.gallery'"
    ], err


def test_gallery_commands_name_a_file_that_is_not_utf8_as_shown_and_two_such_files_apart(tmp_path, capsys):
    """A gallery file named in Latin-1 (`caf\\xe9.gallery`: lone surrogates in Python): `ls` of it and another
    raised UnicodeEncodeError on a strict UTF-8 stdout (pytest's, en_US.UTF-8's) at its heading, and its errors
    ("no such gallery file", "given twice", "again") showed `\\udce9` escapes on stderr. Each name is shown with
    U+FFFD for such a byte, and where two names would be shown alike, with their bytes as `\\xNN`."""
    e9 = saved_gallery(undecodable_path(tmp_path, b"caf\xe9.gallery"), (12,))
    e8 = undecodable_path(tmp_path, b"caf\xe8.gallery")
    shown, out = f"{tmp_path}/caf\ufffd.gallery", str(tmp_path / "merged.gallery")
    assert main(["gallery", "ls", str(e9), str(e8)]) == 2
    captured = capsys.readouterr()
    assert captured.out.splitlines()[0] == f"{shown}:", captured.out
    assert captured.err.splitlines() == [f"track gallery: error: no such gallery file: {shown}"], captured.err
    assert main(["gallery", "merge", str(e9), str(e9), "-o", out]) == 2
    assert capsys.readouterr().err.startswith(f"track gallery: error: {shown} is given twice: ")
    os.link(e9, e8)  # (another name of the same file)
    assert main(["gallery", "merge", str(e9), str(e8), "-o", out]) == 2
    again = f"track gallery: error: {tmp_path}/caf\\xe8.gallery is {tmp_path}/caf\\xe9.gallery again (the same file)"
    assert capsys.readouterr().err.startswith(again + ": ")
