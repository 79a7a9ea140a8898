"""A gallery file records which sources' sightings it holds, so that no video is counted twice
(`tracker.gallery_sources`): `track --gallery` twice on one video, `track batch` after another run saved its gallery
or after its outputs were deleted, and `track gallery merge` of two files that both hold one video each added that
video's sightings again."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from media import write_video
from test_batch import EVERY_FRAME, gallery_tracker, one_clip_gallery_batch
from test_cli import child_env, scene, weights_args
from test_gallery_cli import ARGS, colour_models, ctrl_c_once_tracked  # noqa: F401 (a fixture)
from test_gallery_merge import camera_gallery, looks

from tracker.batch import track_many
from tracker.cli import main
from tracker.gallery import Gallery, GalleryError, ModelIdentity, Sighting
from tracker.gallery_sources import LinkedSource, SourceLinkedError, refuse_linked, source_digest, source_keys


def sightings(path: Path) -> int:
    """All sightings the gallery file at `path` counts (of every identity)."""
    return sum(identity.sightings for identity in Gallery.load(path, prune=False).identities)


def test_a_gallery_file_records_its_sources_and_one_saved_before_records_none(tmp_path):
    """The record goes into the file and comes back (with its frames and links); a file without it (every file saved
    before it existed, and one that records none: no header key) loads as holding no source."""
    gallery = Gallery()
    assert gallery.sources == {}
    gallery.record_source("sha256:aa", "cam1.mp4", when=1.7e9)
    gallery.record_source("sha256:aa", "cam1.mp4", 40, when=1.7e9 + 5)  # (its end: the same link)
    gallery.record_source("sha256:bb", "cam2.mp4", 12, when=1.7e9)
    gallery.record_source("sha256:bb", "cam2.mp4", 12, again=True, when=1.7e9 + 9)  # (--relink)
    gallery.save(tmp_path / "site.gallery")
    loaded = Gallery.load(tmp_path / "site.gallery")
    assert loaded.sources == {
        "sha256:aa": LinkedSource("cam1.mp4", 1.7e9 + 5, 40, 1),
        "sha256:bb": LinkedSource("cam2.mp4", 1.7e9 + 9, 12, 2),
    }
    assert loaded.linked_source("sha256:aa") is not None and loaded.linked_source(None) is None
    Gallery().save(tmp_path / "none.gallery")
    assert b"sources" not in (tmp_path / "none.gallery").read_bytes(), "no record: the header a file had before"
    assert Gallery.load(tmp_path / "none.gallery").sources == {}


@pytest.mark.parametrize(
    ("key", "name", "frames", "tracked", "error", "says"),
    [
        (None, "cam.mp4", 40, None, TypeError, "source_digest gives None for a stream"),
        (b"sha256:aa", "cam.mp4", 40, None, TypeError, "key must be"),
        ("sha256:aa", 12, 40, None, TypeError, "name must be text"),
        ("sha256:aa", None, 40, None, TypeError, "name must be text"),
        ("sha256:aa", "cam.mp4", "40", None, TypeError, "frames must be a whole number"),
        ("sha256:aa", "cam.mp4", 40.5, None, TypeError, "frames must be a whole number"),
        ("sha256:aa", "cam.mp4", float("nan"), None, TypeError, "frames must be a whole number"),
        ("sha256:aa", "cam.mp4", -1, None, ValueError, "frames must be >= 0"),
        ("sha256:aa", "cam.mp4", None, "7", TypeError, "tracked must be a whole number"),
    ],
)
def test_a_source_record_save_could_not_write_or_load_is_refused_when_recorded(
    tmp_path, key, name, frames, tracked, error, says
):
    """`record_source` took any key, name and frames: the None `source_digest` gives for a stream (the README's
    pattern, key = source_digest(source), then record_source(key, ...)) made every later save of the gallery fail
    with "'<' not supported between instances of 'NoneType' and 'str'" (its identities unsaved), and frames as text
    were saved into a file `Gallery.load` then refused as corrupt. Now one error naming the argument, nothing
    recorded, and the gallery still saves; numpy whole numbers are taken as Python's."""
    gallery = Gallery()
    gallery.record_source("sha256:bb", "cam2.mp4", np.int64(12))
    with pytest.raises(error, match=says):
        gallery.record_source(key, name, frames, tracked=tracked)
    assert gallery.sources == {"sha256:bb": LinkedSource("cam2.mp4", gallery.sources["sha256:bb"].linked, 12, 1)}
    gallery.save(tmp_path / "site.gallery")
    assert Gallery.load(tmp_path / "site.gallery").sources == gallery.sources


def test_a_source_named_by_its_path_is_recorded_as_its_text(tmp_path):
    """The source a caller opened is often a `Path` (`Path("cam.mp4")`, `folder / "cam.mp4"`): `record_source`'s
    check refused it as "name must be text", though the name is the source as given. A path is recorded as its text,
    saved and loaded as the name a `str` gives."""
    gallery = Gallery()
    record = gallery.record_source("sha256:aa", Path("videos") / "cam.mp4", np.int64(40))
    assert record.name == os.path.join("videos", "cam.mp4") and type(record.name) is str
    gallery.save(tmp_path / "site.gallery")
    assert Gallery.load(tmp_path / "site.gallery").sources["sha256:aa"].name == os.path.join("videos", "cam.mp4")


def test_a_frame_count_opencv_reads_as_a_float_is_recorded_as_a_whole_number(tmp_path):
    """OpenCV reads a video's frame count as a float (`cap.get(cv2.CAP_PROP_FRAME_COUNT)`: 40.0), the count the
    README's `record_source(key, "lobby.mp4", frames)` asks for: 8016c32's check refused it as "frames must be a whole
    number", as frame_size takes 480.0. A whole float is recorded as its int (saved and loaded as one); 40.5 is still
    refused, not rounded."""
    gallery = Gallery()
    assert gallery.record_source("sha256:aa", "cam.mp4", 40.0).frames == 40
    assert gallery.record_source("sha256:bb", "cam2.mp4", None, tracked=np.float32(12.0)).tracked == 12
    gallery.save(tmp_path / "site.gallery")
    loaded = Gallery.load(tmp_path / "site.gallery").sources
    assert (loaded["sha256:aa"].frames, loaded["sha256:bb"].tracked) == (40, 12)
    assert type(loaded["sha256:aa"].frames) is int


def test_a_damaged_source_record_is_named_corrupt(tmp_path):
    """A record edited by hand (frames as text) is one error naming the file, as any bad record of its header."""
    path = tmp_path / "site.gallery"
    gallery = Gallery()
    gallery.record_source("sha256:aa", "cam1.mp4", 40)
    gallery.save(path)
    blob = path.read_bytes()
    size = int.from_bytes(blob[:8], "little")
    header = json.loads(blob[8 : 8 + size])
    meta = json.loads(header["__metadata__"]["gallery"])
    meta["sources"]["sha256:aa"]["frames"] = "40"
    header["__metadata__"]["gallery"] = json.dumps(meta)
    text = json.dumps(header).encode()
    text += b" " * (-len(text) % 8)
    path.write_bytes(len(text).to_bytes(8, "little") + text + blob[8 + size :])
    with pytest.raises(GalleryError, match=r"site\.gallery is corrupt: a bad record in its header .*linked source"):
        Gallery.load(path)


def test_a_source_is_keyed_by_its_content_whatever_its_path_or_date(tmp_path, monkeypatch):
    """A copy in another folder with another modification time, or the same file by a relative path, is the same
    video; another video (or an image folder with another image) is another; a webcam or URL has no key."""
    video = write_video(tmp_path / "cam.avi", scene()[:6])
    (tmp_path / "copy").mkdir()
    copy = Path(shutil.copy(video, tmp_path / "copy" / "renamed.avi"))
    os.utime(copy, (1.6e9, 1.6e9))
    monkeypatch.chdir(tmp_path)
    key = source_digest(str(video))
    assert key is not None and key.startswith("sha256:")
    assert source_digest(str(copy)) == source_digest("cam.avi") == key
    other = write_video(tmp_path / "other.avi", scene()[1:7])
    assert source_digest(str(other)) != key
    assert source_digest("0") is None and source_digest("rtsp://camera/stream") is None
    import cv2

    folder = tmp_path / "frames"
    folder.mkdir()
    for k, frame in enumerate(scene()[:3]):
        cv2.imwrite(str(folder / f"{k:04d}.png"), frame)
    before = source_digest(str(folder))
    assert before is not None and source_digest(str(tmp_path / "frames" / "*.png")) == before
    cv2.imwrite(str(folder / "0003.png"), scene()[3])
    assert source_digest(str(folder)) != before


@pytest.mark.usefixtures("colour_models")
def test_track_twice_on_one_video_is_refused_before_any_frame_and_relink_links_again(tmp_path, capsys):
    """`track cam.avi --gallery site.gallery` run twice added cam.avi's sightings twice (2 -> 4 for its two people):
    the second run is one error naming the video and the two ways on, exit 2, the gallery as it was and no output;
    `--relink` links it again on purpose (counted again, the record says linked twice). A new video is linked."""
    video = write_video(tmp_path / "cam.avi", scene())
    gallery = tmp_path / "site.gallery"
    assert main([str(video), "--gallery", str(gallery), "--out", str(tmp_path / "o1"), *ARGS]) == 0
    once = sightings(gallery)
    assert once == 2 and [s.frames for s in Gallery.load(gallery).sources.values()] == [len(scene())]
    kept = gallery.read_bytes()
    capsys.readouterr()
    assert main([str(video), "--gallery", str(gallery), "--out", str(tmp_path / "o2"), *ARGS]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"track: error: the gallery {gallery} holds the sightings of {video} (") and "--relink" in err
    assert len(err.splitlines()) == 1, err
    assert gallery.read_bytes() == kept and not (tmp_path / "o2" / "cam.txt").exists()
    assert main([str(video), "--gallery", str(gallery), "--out", str(tmp_path / "o3"), "--relink", *ARGS]) == 0
    assert sightings(gallery) == 2 * once
    assert [s.links for s in Gallery.load(gallery).sources.values()] == [2]
    other = write_video(tmp_path / "cam2.avi", scene()[::-1])
    assert main([str(other), "--gallery", str(gallery), "--out", str(tmp_path / "o4"), *ARGS]) == 0
    assert len(Gallery.load(gallery).sources) == 2


def test_a_held_video_into_a_gallery_of_another_reid_model_names_the_model_first(tmp_path, capsys):
    """A gallery made with another ReID model that holds the video's sightings: `track` said to add --relink, which
    then refused the model (a dead end). The model, the real blocker, is named first, before any model loads (the
    detector file is no network); with --relink the same error."""
    video = write_video(tmp_path / "cam1.avi", scene())
    other = Gallery(model=ModelIdentity("osnet_x1_0", "0123456789abcdef", 256))
    other.add(other.new_id(), np.ones((3, 256)), 0, Sighting(1, time.time(), "x"))
    key, head = source_keys(video)
    assert key is not None
    other.record_source(key, video.name, len(scene()), head=head)
    path = tmp_path / "other.gallery"
    other.save(path, prune=False)
    before = path.read_bytes()
    detector, reid = tmp_path / "det.pt", tmp_path / "reid.pth"
    detector.write_bytes(b"never loaded: the gallery is refused first")
    reid.write_bytes(b"weights")
    models = ["--set", f"detector.model={detector}", "--set", f"reid.weights={reid}", "--set", "reid.model=osnet_x0_25"]
    for again in ([], ["--relink"]):
        out = tmp_path / f"o{len(again)}"
        assert main([str(video), "--gallery", str(path), "--out", str(out), "-q", *again, *models]) == 2
        err = capsys.readouterr().err.strip()
        assert err.startswith(f"track: error: {path}: this gallery was made with ReID model osnet_x1_0"), err
        assert "--relink" not in err and len(err.splitlines()) == 1, err
    assert path.read_bytes() == before


@pytest.mark.usefixtures("colour_models")
def test_one_video_given_twice_to_one_run_is_refused(tmp_path, capsys):
    """`track cam.avi cam.avi --gallery site.gallery` linked the video twice: refused before any frame, nothing
    written (the second would link it again), the way on said being to leave the copy out."""
    video = write_video(tmp_path / "cam.avi", scene())
    gallery = tmp_path / "site.gallery"
    assert main([str(video), str(video), "--gallery", str(gallery), "--out", str(tmp_path / "o"), *ARGS]) == 2
    err = capsys.readouterr().err
    assert "is the same video as" in err and not gallery.exists()
    # the way on is to leave the copy out: another --gallery (it said so) would take the video twice all the same
    assert f"leave out {video}, or add --relink" in err and "give another --gallery" not in err, err


def test_a_batch_counts_each_videos_sightings_once_whoever_saved_the_gallery_between(tmp_path, monkeypatch, capsys):
    """`track batch --gallery` re-run into its folder after another run saved the gallery file (here `track gallery
    rm` of nothing: a load and save) linked its video again: its person's sightings 1 -> 2. The file says it holds
    the video: the re-run reuses it and adds nothing. A re-run after the video's outputs were deleted is refused
    before any task (it linked the video again), and `relink` links it again on purpose."""
    batch, out, gallery = one_clip_gallery_batch(tmp_path, monkeypatch)
    batch()
    once = {i.global_id: i.sightings for i in Gallery.load(gallery).identities}
    assert once and set(once.values()) == {1}
    other = Gallery.load(gallery)
    other.new_id()  # (another run's save: a new file, whose identities are the batch's)
    other.save(gallery)
    again = batch()
    assert [v.status for v in again.videos] == ["reused"], again.describe()
    assert {i.global_id: i.sightings for i in Gallery.load(gallery).identities} == once, "counted once"
    shutil.rmtree(out / "cam")
    with pytest.raises(SourceLinkedError, match=f"the gallery {gallery} holds the sightings of .*cam.avi"):
        batch()
    assert {i.global_id: i.sightings for i in Gallery.load(gallery).identities} == once
    batch(relink=True)
    assert sum(Gallery.load(gallery, prune=False).sources[k].links for k in Gallery.load(gallery).sources) == 2
    assert sum(i.sightings for i in Gallery.load(gallery).identities) == 2 * sum(once.values())


def test_a_batch_into_another_folder_skips_nothing_it_holds_silently(tmp_path, monkeypatch):
    """Another batch folder with a video the gallery holds: one error before any task naming it (its folder's own
    record does not name it), nothing tracked; the CLI says it in one line, exit 2."""
    batch, _, gallery = one_clip_gallery_batch(tmp_path, monkeypatch)
    batch()
    kept = gallery.read_bytes()
    video = tmp_path / "cam.avi"
    with pytest.raises(SourceLinkedError, match="the batch would link it into the gallery again"):
        track_many([video], EVERY_FRAME, tmp_path / "out2", gallery=gallery, progress=False, save_video=False,
                   make_tracker=gallery_tracker)  # fmt: skip
    assert gallery.read_bytes() == kept and not (tmp_path / "out2" / "cam").exists()


def test_merging_two_galleries_that_hold_one_video_is_refused_and_count_twice_merges(tmp_path, capsys):
    """cam1.gallery and a copy that went on (cam2.gallery) both hold cam1.mp4's sightings: merged, its people's
    counts were added (2 + 2 for a person seen once in each and once more in the copy). The merge names the video
    and both files, writes nothing, exit 2; `--count-twice` merges them (the record counts both links); files of
    other videos merge as before, the output recording the sources of both."""
    start = time.time() - 60
    a = camera_gallery(tmp_path / "cam1.gallery", {1: 0, 2: 1}, "cam1", start)
    b = tmp_path / "cam2.gallery"
    shutil.copy(a, b)
    for path, key, name in ((a, "sha256:11", "cam1.mp4"), (b, "sha256:11", "cam1.mp4"), (b, "sha256:22", "x.mp4")):
        gallery = Gallery.load(path, prune=False)
        gallery.record_source(key, name, 600)
        gallery.save(path, prune=False)
    out = tmp_path / "site.gallery"
    assert main(["gallery", "merge", str(a), str(b), "-o", str(out)]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"track gallery: error: {a} and {b} both hold the sightings of cam1.mp4 (600 frames, ")
    assert "--count-twice" in err and not out.exists()
    assert main(["gallery", "merge", str(a), str(b), "-o", str(out), "--count-twice"]) == 0
    merged = Gallery.load(out, prune=False).sources
    assert {key: record.links for key, record in merged.items()} == {"sha256:11": 2, "sha256:22": 1}
    c = camera_gallery(tmp_path / "cam3.gallery", {1: 2}, "cam3", start)
    assert main(["gallery", "merge", str(a), str(c), "-o", str(tmp_path / "ac.gallery")]) == 0
    assert set(Gallery.load(tmp_path / "ac.gallery", prune=False).sources) == {"sha256:11"}


def test_gallery_ls_lists_the_sources_a_gallery_holds(tmp_path, capsys):
    path = tmp_path / "site.gallery"
    gallery = Gallery()
    gallery.record_source("sha256:aa", "cam1.mp4", 40, when=1.7e9)
    gallery.save(path)
    assert main(["gallery", "ls", str(path)]) == 0
    assert capsys.readouterr().out.splitlines() == ["empty gallery: no identities"], "the sources on request"
    assert main(["gallery", "ls", str(path), "--sources"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[1:] == [
        "sightings of 1 source (tracked into it again: refused; --relink links again):",
        "  cam1.mp4 (40 frames, linked 2023-11-14T22:13:20Z)",
    ], lines


def test_real_track_twice_on_one_clip_is_refused(shared, shared_weights, tmp_path):
    """The real detector and OSNet on a shared clip (30 frames): the second `track --gallery` of it is refused, the
    gallery's sightings as the first run left them."""
    video = shared / "videos" / "people.mp4"
    gallery = tmp_path / "site.gallery"
    cmd = [sys.executable, "-m", "tracker.cli", str(video), "--quiet", "--no-save-video", "--max-frames", "30",
           "--gallery", str(gallery), *weights_args(shared_weights)]  # fmt: skip
    first = subprocess.run([*cmd, "--out", str(tmp_path / "o1")], env=child_env(), capture_output=True, text=True)
    assert first.returncode == 0, first.stderr
    once = sightings(gallery)
    assert once > 0
    second = subprocess.run([*cmd, "--out", str(tmp_path / "o2")], env=child_env(), capture_output=True, text=True)
    assert second.returncode == 2 and "holds the sightings of" in second.stderr, second.stderr
    assert sightings(gallery) == once


def test_merging_a_gallery_with_an_older_copy_of_it_counts_each_sighting_once(tmp_path):
    """A file restored from an older copy, merged with the run's gallery that went on from it (`track`'s
    `site.unmerged.gallery` hint), or a copy that went on merged with its original: both hold the same link of
    cam1.mp4 (one record, not refused) and the same identities; one the newer copy saw again counted its older
    sightings twice (1 + 2 = 3 where 2 were seen). It counts the newer copy's 2; the link is recorded once."""
    start = time.time() - 60
    old = camera_gallery(tmp_path / "old.gallery", {1: 0, 2: 1}, "cam1", start)
    gallery = Gallery.load(old, prune=False)
    gallery.record_source("sha256:11", "cam1.mp4", 600)
    gallery.save(old, prune=False)
    new = tmp_path / "new.gallery"
    shutil.copy(old, new)
    went_on = Gallery.load(new, prune=False)
    went_on.add(1, looks(0, seed=7), 0, Sighting(30, time.time(), "cam2"))  # (person 0 seen again, in cam2)
    went_on.record_source("sha256:22", "cam2.mp4", 30)
    went_on.save(new, prune=False)
    out = tmp_path / "site.gallery"
    assert main(["gallery", "merge", str(old), str(new), "-o", str(out)]) == 0
    merged = Gallery.load(out, prune=False)
    assert {i.global_id: i.sightings for i in merged.identities} == {1: 2, 2: 1}
    assert {key: record.links for key, record in merged.sources.items()} == {"sha256:11": 1, "sha256:22": 1}


@pytest.mark.parametrize("order", ["finished first", "copy first"])
def test_a_copy_saved_while_its_run_was_under_way_merges_as_one_link(tmp_path, capsys, order):
    """A copy of the file saved while a run was under way (a backup of a periodic save, or of a run stopped before
    its `--resume` finished it) records the run's source as stopped before its end; the file the run finished
    records its end. The end's record took a new time, so merging the two was refused as two links of cam1.mp4
    (and `--count-twice` said "linked twice"). One link: merged once, the finished record kept, each sighting once."""
    path = camera_gallery(tmp_path / "site.gallery", {1: 0, 2: 1}, "cam1", time.time() - 60)
    gallery = Gallery.load(path, prune=False)
    gallery.record_source("sha256:11", "cam1.mp4")  # (as `track` records a source at its start)
    gallery.save(path, prune=False)
    copy = tmp_path / "backup.gallery"
    shutil.copy(path, copy)
    time.sleep(0.01)
    gallery.record_source("sha256:11", "cam1.mp4", 600)  # (and at its end)
    gallery.save(path, prune=False)
    inputs = [path, copy] if order == "finished first" else [copy, path]
    out = tmp_path / "merged.gallery"
    assert main(["gallery", "merge", *map(str, inputs), "-o", str(out)]) == 0, capsys.readouterr().err
    assert Gallery.load(out, prune=False).sources == Gallery.load(path, prune=False).sources
    assert sightings(out) == sightings(path)


@pytest.mark.usefixtures("colour_models")
def test_a_run_stopped_mid_video_leaves_it_recorded_as_unfinished(tmp_path, monkeypatch, capsys):
    """A source is recorded as it starts: a run stopped (Ctrl-C) before its end saved the sightings so far, and its
    file says so; tracking the video into it again (not `--resume`) is refused, naming it "stopped before its end"
    and `--resume` as the first way on."""
    video = write_video(tmp_path / "cam.avi", scene())
    gallery = tmp_path / "site.gallery"
    with monkeypatch.context() as patched:
        ctrl_c_once_tracked(patched)
        assert main([str(video), "--gallery", str(gallery), "--out", str(tmp_path / "o1"), *ARGS]) == 130
    assert [s.frames for s in Gallery.load(gallery).sources.values()] == [None]
    capsys.readouterr()
    assert main([str(video), "--gallery", str(gallery), "--out", str(tmp_path / "o2"), *ARGS]) == 2
    err = capsys.readouterr().err
    assert f"{video} (stopped before its end, linked " in err
    # its way on first: --resume goes on from where it stopped (--relink counted the sightings it saved twice)
    assert "twice; add --resume to go on with the run that stopped before its end, or give another --gallery" in err


def test_a_gallery_emptied_by_rm_holds_no_sources_sightings_and_tracking_them_again_is_not_refused(tmp_path, capsys):
    """`track gallery rm` of every identity left the file saying it held cam1.mp4's sightings: `ls --sources` listed
    it and tracking cam1.mp4 into the (empty) gallery was refused as counting them twice. With none left, the records
    of finished sources go; one stopped before its end stays (its run's people in view are stored as it resumes)."""
    path = camera_gallery(tmp_path / "site.gallery", {1: 0, 2: 1}, "cam1", 1.7e9)
    gallery = Gallery.load(path, prune=False)
    gallery.record_source("sha256:aa", "cam1.mp4", 600, when=1.7e9)
    gallery.record_source("sha256:bb", "cam2.mp4", when=1.7e9)  # (stopped before its end)
    gallery.save(path, prune=False)
    assert main(["gallery", "rm", str(path), "1"]) == 0
    assert set(Gallery.load(path, prune=False).sources) == {"sha256:aa", "sha256:bb"}, "one left: its sightings held"
    assert main(["gallery", "rm", str(path), "2"]) == 0
    assert Gallery.load(path, prune=False).sources == {"sha256:bb": LinkedSource("cam2.mp4", 1.7e9, None, 1)}
    capsys.readouterr()
    assert main(["gallery", "ls", "--sources", str(path)]) == 0
    assert "cam1.mp4" not in capsys.readouterr().out


@pytest.mark.parametrize("command", [[], ["batch"]])
def test_relink_without_a_gallery_is_a_usage_error_not_ignored(tmp_path, capsys, command):
    """`--relink` links sources into a gallery again; without `--gallery` it did nothing, silently (the run went on
    as if it were absent): `track` and `track batch` refuse it before anything runs, saying what it needs."""
    video = tmp_path / "cam.mp4"
    video.write_bytes(b"")
    with pytest.raises(SystemExit) as exit_info:
        main([*command, str(video), "--out", str(tmp_path / "out"), "--relink"])
    assert exit_info.value.code == 2
    assert "--relink links sources into a --gallery again: give --gallery FILE" in capsys.readouterr().err
    assert not (tmp_path / "out").exists()


def _header(path: Path) -> dict:
    """The gallery JSON of the file at `path` (its safetensors header's `gallery` metadata)."""
    blob = path.read_bytes()
    size = int.from_bytes(blob[:8], "little")
    return json.loads(json.loads(blob[8 : 8 + size])["__metadata__"]["gallery"])


@pytest.mark.usefixtures("colour_models")
def test_a_max_frames_run_holds_the_first_frames_only_and_resume_goes_on_with_the_rest(tmp_path, capsys):
    """`track cam.avi --gallery g --max-frames 8` recorded cam.avi as tracked (8 frames), and a later run of the
    whole video was refused as holding it, with no way on but --relink (the first 8 frames counted twice). It records
    its first 8 frames only (stopped before its end), says so, and keeps its checkpoint: the refusal names that and
    --resume first; `--resume` tracks the rest, and the gallery then counts each sighting once, as a run of the
    whole video does. The file's `sources` record is as the version before writes one (frames null), the frames
    tracked beside it (`source_details`)."""
    video = write_video(tmp_path / "cam.avi", scene())
    gallery, whole = tmp_path / "site.gallery", tmp_path / "whole.gallery"
    assert main([str(video), "--gallery", str(whole), "--out", str(tmp_path / "w"), *ARGS]) == 0
    capsys.readouterr()
    first = [str(video), "--gallery", str(gallery), "--out", str(tmp_path / "o1"), *ARGS]
    assert main([*first, "--max-frames", "8"]) == 0
    assert "stopped after 8 frames (--max-frames), before the end of" in capsys.readouterr().err
    (record,) = Gallery.load(gallery).sources.values()
    assert (record.frames, record.tracked) == (None, 8)
    header = _header(gallery)
    assert [entry["frames"] for entry in header["sources"].values()] == [None]
    assert [entry["tracked"] for entry in header["source_details"].values()] == [8]
    assert main([str(video), "--gallery", str(gallery), "--out", str(tmp_path / "o2"), *ARGS]) == 2
    err = capsys.readouterr().err
    assert f"{video} (its first 8 frames only: stopped before its end, linked " in err
    assert "add --resume to go on with the run that stopped before its end" in err
    assert main([*first, "--resume", "--max-frames", "8"]) == 0  # (the limit reached already: still its first 8)
    assert [(s.frames, s.tracked) for s in Gallery.load(gallery).sources.values()] == [(None, 8)]
    assert main([*first, "--resume"]) == 0
    (record,) = Gallery.load(gallery).sources.values()
    assert (record.frames, record.tracked, record.links) == (len(scene()), None, 1)
    assert not any("tracked" in e for e in _header(gallery).get("source_details", {}).values()), "to its end"
    assert sightings(gallery) == sightings(whole)
    assert (tmp_path / "o1" / "cam.txt").read_bytes() == (tmp_path / "w" / "cam.txt").read_bytes()


def test_a_batch_cut_by_max_frames_records_its_first_frames_only(tmp_path, monkeypatch, capsys):
    """`track batch --max-frames 5 --gallery` recorded the video as tracked (5 frames): its record now says its
    first 5 frames only, and the batch of the whole video into another folder is refused naming that."""
    batch, _, gallery = one_clip_gallery_batch(tmp_path, monkeypatch)
    batch(max_frames=5)
    (record,) = Gallery.load(gallery).sources.values()
    assert (record.frames, record.tracked) == (None, 5)
    with pytest.raises(SourceLinkedError, match=r"cam\.avi \(its first 5 frames only: stopped before its end"):
        track_many([tmp_path / "cam.avi"], EVERY_FRAME, tmp_path / "out2", gallery=gallery, progress=False,
                   save_video=False, make_tracker=gallery_tracker)  # fmt: skip


def test_a_files_key_is_as_before_and_its_head_is_its_first_bytes_alone(tmp_path, monkeypatch):
    """The key stays the SHA-256 of the size and the first `DIGEST_BYTES` (the records of files saved before name
    their sources by it); the head is those first bytes alone, so a file grown since has the same head and another
    key. A file shorter than that (its first bytes change as it grows) and an image folder have no head."""
    import hashlib

    import tracker.gallery_sources as gallery_sources
    from tracker.gallery_sources import source_keys

    monkeypatch.setattr(gallery_sources, "DIGEST_BYTES", 4096)
    monkeypatch.setattr(gallery_sources, "HEAD_SKIP_BYTES", 0)  # (the head past the header: the next test)
    video = write_video(tmp_path / "cam.avi", scene())
    data = video.read_bytes()
    assert len(data) > 2 * 4096
    key, head = source_keys(video)
    size = len(b"").to_bytes(4, "little") + len(data).to_bytes(8, "little")
    assert key == "sha256:" + hashlib.sha256(size + data[:4096]).hexdigest() == source_digest(video)
    assert head == "sha256:" + hashlib.sha256(data[:4096]).hexdigest()
    grown = tmp_path / "grown.avi"
    grown.write_bytes(data + b"\0" * 100)
    assert source_keys(grown)[1] == head and source_keys(grown)[0] != key
    short = tmp_path / "short.avi"
    short.write_bytes(data[:4000])
    assert source_keys(short)[1] is None and source_keys(short)[0] is not None


@pytest.mark.parametrize("fourcc", ["MJPG", "FFV1"])
def test_a_recordings_head_while_written_is_the_complete_files(tmp_path, monkeypatch, fourcc):
    """A recording copied while OpenCV (FFmpeg) was writing it, and the file once complete, differ in their container
    header (the sizes and frame counts its writer rewrites at its close: AVI bytes 4-8, 48, 140-146, ~8490), so the
    head of the first `DIGEST_BYTES` alone differed and a recording tracked while being written, then once complete,
    was linked twice all the same. The head leaves the header out: the two have one head and two keys."""
    import shutil

    import cv2

    import tracker.gallery_sources as gallery_sources
    from tracker.gallery_sources import source_keys

    monkeypatch.setattr(gallery_sources, "DIGEST_BYTES", 1 << 17)  # (past HEAD_SKIP_BYTES; the test's video is small)
    noise = np.random.default_rng(0).integers(0, 256, (40, 240, 320, 3), dtype=np.uint8)  # (compresses little)
    video, copy = tmp_path / "rec.avi", tmp_path / "copied_while_written.avi"
    writer = cv2.VideoWriter(str(video), cv2.VideoWriter_fourcc(*fourcc), 25, (320, 240))
    for frame in noise[:30]:
        writer.write(frame)
    shutil.copy(video, copy)
    for frame in noise[30:]:
        writer.write(frame)
    writer.release()
    assert copy.stat().st_size > gallery_sources.DIGEST_BYTES, "the copy is long enough to have a head"
    (key, head), (copy_key, copy_head) = source_keys(video), source_keys(copy)
    assert head is not None and head == copy_head and key != copy_key


@pytest.mark.usefixtures("colour_models")
def test_a_recording_tracked_again_after_it_grew_is_refused_as_held(tmp_path, monkeypatch, capsys):
    """A recording still being written, tracked into the gallery, then tracked again once it had grown, had a new key
    (its size changed) and was linked again, counting its first part twice (measured: a 60-frame clip tracked at
    half its bytes, then whole: 11 identities, 18 sightings instead of 11). Its first bytes (its head) are those of
    the source the gallery holds: refused before any frame, by `track` and `track batch`, naming the recording and
    why; the gallery as it was."""
    import tracker.gallery_sources as gallery_sources

    monkeypatch.setattr(gallery_sources, "DIGEST_BYTES", 4096)  # (the test's video is small)
    monkeypatch.setattr(gallery_sources, "HEAD_SKIP_BYTES", 1024)
    whole = write_video(tmp_path / "whole.avi", scene()).read_bytes()
    recording = tmp_path / "rec.avi"
    recording.write_bytes(whole[: len(whole) * 6 // 10])  # (being written: its first 15 frames readable)
    gallery = tmp_path / "site.gallery"
    assert main([str(recording), "--gallery", str(gallery), "--out", str(tmp_path / "o1"), *ARGS]) == 0
    assert [e["head"][:7] for e in _header(gallery)["source_details"].values()] == ["sha256:"]
    kept = gallery.read_bytes()
    recording.write_bytes(whole)  # (it grew)
    capsys.readouterr()
    assert main([str(recording), "--gallery", str(gallery), "--out", str(tmp_path / "o2"), *ARGS]) == 2
    err = capsys.readouterr().err
    assert f"holds the sightings of {recording}'s first part, as {recording} (" in err
    assert "that recording grown since it was tracked" in err and "track a recording once it is complete" in err
    assert gallery.read_bytes() == kept
    (tmp_path / "b").mkdir()
    batch, _, gallery = one_clip_gallery_batch(tmp_path / "b", monkeypatch)
    batch()
    kept = gallery.read_bytes()
    video = tmp_path / "b" / "cam.avi"
    video.write_bytes(video.read_bytes() + bytes(4096))  # (it grew)
    with pytest.raises(SourceLinkedError, match=r"cam\.avi's first part, as .*cam\.avi \(12 frames"):
        track_many([video], EVERY_FRAME, tmp_path / "b" / "out2", gallery=gallery, progress=False, save_video=False,
                   make_tracker=gallery_tracker)  # fmt: skip
    assert gallery.read_bytes() == kept


def test_merging_two_galleries_that_hold_one_recording_at_two_sizes_is_refused(tmp_path, capsys):
    """cam1.gallery tracked rec.ts while it was being written, cam2.gallery once it had grown: two keys, one head.
    Merged, the identities seen in its first part counted them twice, and the merge said nothing: it is refused
    naming both files and records, `--count-twice` merges them all the same."""
    start = time.time() - 60
    a = camera_gallery(tmp_path / "cam1.gallery", {1: 0, 2: 1}, "cam1", start)
    b = camera_gallery(tmp_path / "cam2.gallery", {1: 0}, "cam2", start)
    for path, key, frames in ((a, "sha256:11", 300), (b, "sha256:12", 600)):
        gallery = Gallery.load(path, prune=False)
        gallery.record_source(key, "rec.ts", frames, head="sha256:aa")
        gallery.save(path, prune=False)
    out = tmp_path / "site.gallery"
    assert main(["gallery", "merge", str(a), str(b), "-o", str(out)]) == 2
    err = capsys.readouterr().err
    assert f"{a} and {b} both hold the sightings of the first part of one recording, as rec.ts (300 frames" in err
    assert not out.exists()
    assert main(["gallery", "merge", str(a), str(b), "-o", str(out), "--count-twice"]) == 0
    assert set(Gallery.load(out, prune=False).sources) == {"sha256:11", "sha256:12"}


@pytest.mark.usefixtures("colour_models")
def test_a_max_frames_run_of_several_sources_says_the_rest_cannot_go_on(tmp_path, capsys):
    """`track a.avi b.avi --gallery g --max-frames 5` keeps no checkpoint (several sources): each source is recorded
    as its first 5 frames only and the run says the rest cannot go on; a later run of several sources holding one of
    them is refused without --resume as a way on (`--resume` continues one source's run), as it offered."""
    a, b = write_video(tmp_path / "a.avi", scene()), write_video(tmp_path / "b.avi", scene()[::-1])
    gallery = tmp_path / "site.gallery"
    assert (
        main([str(a), str(b), "--gallery", str(gallery), "--out", str(tmp_path / "o1"), "--max-frames", "5", *ARGS])
        == 0
    )
    err = capsys.readouterr().err
    assert err.count("and this run kept no checkpoint to go on from (several sources") == 2, err
    assert [(s.frames, s.tracked) for s in Gallery.load(gallery).sources.values()] == [(None, 5), (None, 5)]
    c = write_video(tmp_path / "c.avi", scene()[5:])
    assert main([str(c), str(a), "--gallery", str(gallery), "--out", str(tmp_path / "o2"), *ARGS]) == 2
    err = capsys.readouterr().err
    assert "its first 5 frames only" in err and "--resume" not in err, err


def test_a_recording_and_a_longer_copy_of_it_given_to_one_run_are_refused(tmp_path):
    """`track rec.avi rec-later.avi --gallery g`, the second the same recording grown since (another key, one head),
    linked its first part twice: refused as one source given twice, the way on being to leave out the later."""
    sources = [("rec.avi", "sha256:11"), ("rec-later.avi", "sha256:12")]
    with pytest.raises(SourceLinkedError, match=r"rec-later\.avi begins as rec\.avi .*leave out rec-later\.avi"):
        refuse_linked({}, sources, tmp_path / "site.gallery", heads=["sha256:aa", "sha256:aa"])
    refuse_linked({}, sources, tmp_path / "site.gallery", heads=["sha256:aa", "sha256:bb"])  # (two recordings)


@pytest.mark.usefixtures("colour_models")
def test_a_source_cut_in_a_run_of_several_is_not_sent_to_resume_alone(tmp_path, capsys):
    """After `track a.avi b.avi --gallery g --max-frames 5` (no checkpoint kept: several sources), `track a.avi
    --gallery g` was refused with "add --resume to go on with the run that stopped before its end" alone, and
    `--resume` then said "no checkpoint ... run again without --resume": a loop. The refusal says where --resume goes
    on from and that a run of several sources (or a batch) kept none, with the ways on for those."""
    a, b = write_video(tmp_path / "a.avi", scene()), write_video(tmp_path / "b.avi", scene()[::-1])
    gallery = tmp_path / "site.gallery"
    cut = [str(a), str(b), "--gallery", str(gallery), "--out", str(tmp_path / "o1"), "--max-frames", "5", *ARGS]
    assert main(cut) == 0
    capsys.readouterr()
    assert main([str(a), "--gallery", str(gallery), "--out", str(tmp_path / "o2"), *ARGS]) == 2
    err = capsys.readouterr().err
    assert "add --resume to go on with the run that stopped before its end" in err
    assert "--resume goes on from the checkpoint a `track` run of that source alone keeps in its --out" in err, err
    assert "a batch, a run of several sources or one with --checkpoint-seconds 0 keeps none: for those" in err, err
    main([str(a), "--gallery", str(gallery), "--out", str(tmp_path / "o1"), "--resume", *ARGS])
    assert "ran with --checkpoint-seconds 0 or tracked several sources" in capsys.readouterr().err
