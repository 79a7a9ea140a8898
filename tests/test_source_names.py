"""A source string means what it plainly names: an existing path always wins, then a glob (its existing folders
taken literally), then a URL, then a webcam number; a source that never opens leaves no files behind."""

from __future__ import annotations

import cv2
import numpy as np
import pytest
from media import write_video
from test_cli import fake_models, scene  # noqa: F401  (fixture)

from tracker.cli import main
from tracker.io.sources import MAX_NAME_BYTES, SourceError, open_source, resolve_source, safe_name

AWKWARD_NAMES = [
    "20240101",  # digits: a folder, not webcam 20240101
    "0",  # the one most easily taken for a webcam
    "my frames",  # spaces
    "café ñ 日本",  # non-ASCII
    "a;b&c$(x)'q\"!",  # shell metacharacters
    "shots [1]",  # glob: a character class
    "what*?",  # glob: wildcards
    "x[!a]y",  # glob: a negated class
    "http:",  # a URL scheme: "http:/x" joined as "http://x"
    "rtsp:",
    "-dash",
    "~tilde",
    "..dots",
]
COUNT = 3


def image_folder(parent, name: str):
    folder = parent / name
    folder.mkdir(parents=True)
    for i in range(1, COUNT + 1):
        cv2.imwrite(str(folder / f"{i:06d}.png"), np.full((24, 32, 3), 40 * i, np.uint8))
    return folder


@pytest.mark.parametrize("name", AWKWARD_NAMES)
def test_existing_folder_with_awkward_name_is_that_folder(name, tmp_path, monkeypatch):
    folder = image_folder(tmp_path, name)
    for spec in (str(folder), name):  # absolute, and relative to the working folder
        monkeypatch.chdir(tmp_path)
        assert resolve_source(spec) == "path", spec
        src = open_source(spec)
        assert src.kind == "images" and [n for n, _ in src] == [1, 2, 3], spec
        assert "/" not in src.name and not set("*?[]") & set(src.name), "the output name is a safe file name"


@pytest.mark.parametrize("name", AWKWARD_NAMES)
def test_glob_inside_awkward_folder_takes_the_folder_literally(name, tmp_path):
    folder = image_folder(tmp_path, name)
    (folder / "notes.txt").write_text("not an image")
    src = open_source(f"{folder}/*.png")
    assert src.kind == "images" and [n for n, _ in src] == [1, 2, 3]


def test_url_scheme_folder_with_a_file_inside(tmp_path, monkeypatch):
    """A folder named `http:` holding a video `x`: "http://x" names that file (an existing path wins)."""
    (tmp_path / "http:").mkdir()
    video = write_video(tmp_path / "x.avi", [np.full((48, 64, 3), 9 * i, np.uint8) for i in range(5)])
    video.rename(tmp_path / "http:" / "x")
    monkeypatch.chdir(tmp_path)
    assert resolve_source("http://x") == "path"
    src = open_source("http://x")
    assert (src.kind, src.total) == ("video", 5) and [n for n, _ in src] == [1, 2, 3, 4, 5]


def test_a_literal_folder_beats_the_glob_its_name_spells(tmp_path, monkeypatch):
    image_folder(tmp_path, "img[12]")
    other = image_folder(tmp_path, "img1")
    cv2.imwrite(str(other / "000004.png"), np.zeros((24, 32, 3), np.uint8))  # img1 has 4 images, img[12] has 3
    monkeypatch.chdir(tmp_path)
    assert len(list(open_source("img[12]"))) == COUNT, "the folder called img[12], not the glob matching img1"


def test_video_file_with_metacharacters_in_its_name(tmp_path):
    video = write_video(tmp_path / "clip [2] *final*.avi", [np.full((48, 64, 3), 9 * i, np.uint8) for i in range(4)])
    src = open_source(video)
    assert src.kind == "video" and len(list(src)) == 4 and src.name == "clip _2_ _final_"


def test_resolution_order_of_strings_that_name_nothing(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert resolve_source("3") == "webcam", "a bare integer naming nothing is a webcam"
    assert resolve_source("٣") == "missing", "only ASCII digits name a webcam"
    assert resolve_source("rtsp://cam/stream") == "url"
    assert resolve_source("https://host/v.mp4?a=1&b=[2]") == "url", "a URL with glob characters matching nothing"
    assert resolve_source("nothing-*.png") == "glob"
    assert resolve_source("no/such/file.mp4") == "missing"
    with pytest.raises(SourceError, match=r"no such file or folder: no/such/file\.mp4"):
        open_source("no/such/file.mp4")
    with pytest.raises(SourceError, match="no images match"):
        open_source("nothing-*.png")


def test_safe_name_keeps_letters_and_replaces_what_names_cannot_hold():
    assert safe_name("café 日本") == "café 日本"
    assert safe_name('a/b\\c:d*e?f"g<h>i|j[k]') == "a_b_c_d_e_f_g_h_i_j_k_"
    assert safe_name("...") == "source" and safe_name("", "images") == "images"


def test_a_source_whose_name_fills_the_file_system_s_limit_is_tracked_under_a_shorter_name(fake_models, tmp_path):  # noqa: F811
    """A video named with 250 bytes (the file system holds 255 a name) ended with "track: error: [Errno 36] File name
    too long" before tracking: its outputs add `.summary.json.partial` and the like to the name. The outputs take
    the name's first `MAX_NAME_BYTES` bytes (whole UTF-8 characters)."""
    stem = "é" * 123 + "ab"  # 248 bytes: with ".avi", 252
    video = write_video(tmp_path / f"{stem}.avi", scene(4))
    out = tmp_path / "out"
    assert main([str(video), "--quiet", "--no-save-video", "--set", "reid.model=none", "--out", str(out)]) == 0
    short = "é" * (MAX_NAME_BYTES // 2)
    assert safe_name(stem) == short and (out / f"{short}.txt").is_file() and (out / f"{short}.jsonl").is_file()


def test_track_on_a_digit_named_folder_tracks_it(fake_models, tmp_path, monkeypatch):  # noqa: F811
    folder = tmp_path / "20240101"
    folder.mkdir()
    for i, image in enumerate(scene(6), start=1):
        cv2.imwrite(str(folder / f"{i:06d}.png"), image)
    monkeypatch.chdir(tmp_path)
    assert main(["20240101", "--quiet", "--no-save-video"]) == 0
    assert (tmp_path / "runs" / "track" / "20240101" / "20240101.txt").is_file()
    assert not list(tmp_path.glob("runs/track/webcam*")), "not webcam 20240101"


def test_source_that_never_opens_leaves_no_files(fake_models, tmp_path, monkeypatch):  # noqa: F811
    import tracker.io.sources as sources

    monkeypatch.setattr(sources, "STREAM_BACKOFF_S", 0.01)
    monkeypatch.chdir(tmp_path)
    assert main(["rtsp://127.0.0.1:9/camera", "--quiet", "--set", "reid.model=none"]) == 2
    assert not (tmp_path / "runs").exists() or not any((tmp_path / "runs").rglob("*.*")), "no empty txt/jsonl/mp4"
