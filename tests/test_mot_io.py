"""MOTChallenge files: seqinfo.ini, csv reading, the atomic result writer."""

from __future__ import annotations

import json
import math
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from tracker import TrackedObject, TrackState
from tracker.io.mot import (
    MotWriter,
    format_mot_row,
    make_output_folder,
    read_mot_rows,
    read_sequence_info,
    tlwh_to_xyxy,
    write_mot_rows,
    write_text_atomic,
    xyxy_to_tlwh,
)
from tracker.io.strict_json import (
    nan_for_null,
    path_fields,
    path_from_fields,
    to_json,
    write_json_atomic,
    written_keys,
)

SEQINFO = "[Sequence]\nname=TOY\nimDir=img1\nframeRate=25\nseqLength=5\nimWidth=640\nimHeight=480\nimExt=.jpg\n"


def obj(track_id: int, xyxy: tuple[float, float, float, float], score: float = 0.9) -> TrackedObject:
    return TrackedObject(track_id, np.array(xyxy, dtype=float), score, 0, TrackState.TRACKED, 0)


def test_result_round_trip(tmp_path: Path) -> None:
    frames = [
        (1, [obj(1, (10, 20, 60, 120)), obj(2, (100.5, 50.25, 140.5, 150.75), 0.5)]),
        (2, []),
        (3, [obj(1, (12, 21, 62, 121), 0.3333)]),
    ]
    path = tmp_path / "res.txt"
    write_mot_rows(path, frames)
    rows = read_mot_rows(path)
    assert rows.shape == (3, 10)
    np.testing.assert_array_equal(rows[:, 0], [1, 1, 3])
    np.testing.assert_array_equal(rows[:, 1], [1, 2, 1])
    np.testing.assert_allclose(tlwh_to_xyxy(rows[:, 2:6]), [o.xyxy for _, objs in frames for o in objs], atol=0.01)
    np.testing.assert_allclose(rows[:, 6], [0.9, 0.5, 0.3333])
    assert (rows[:, 7:] == -1).all()
    assert not list(tmp_path.glob("*.partial")), "no temporary file is left behind"


def test_writer_is_atomic_and_keeps_finished_frames_on_error(tmp_path: Path) -> None:
    path = tmp_path / "out" / "res.txt"
    with pytest.raises(RuntimeError), MotWriter(path) as writer:
        writer.write(1, [obj(7, (0, 0, 10, 20))])
        assert not path.exists(), "the file appears at its final path only when complete"
        raise RuntimeError("interrupted")
    rows = read_mot_rows(path)
    assert rows.shape == (1, 10) and rows[0, 1] == 7
    with pytest.raises(ValueError, match="closed"):
        writer.write(2, [])


def test_format_row_is_one_based_tlwh() -> None:
    assert format_mot_row(1, 3, (10, 20, 40, 80), 0.5) == "1,3,10.00,20.00,30.00,60.00,0.5000,-1,-1,-1\n"


def test_box_conversions_are_inverse() -> None:
    rng = np.random.default_rng(0)
    tlwh = rng.uniform(1, 100, (20, 4))
    np.testing.assert_allclose(xyxy_to_tlwh(tlwh_to_xyxy(tlwh)), tlwh)


def test_empty_and_short_files(tmp_path: Path) -> None:
    empty = tmp_path / "empty.txt"
    empty.write_text("\n")
    assert read_mot_rows(empty).shape == (0, 10)
    det7 = tmp_path / "det.txt"
    det7.write_text("1,-1,155,199,66,162,0.9\n2,-1,150,190,60,160,0.8\n")
    assert read_mot_rows(det7).shape == (2, 7)
    bad = tmp_path / "bad.txt"
    bad.write_text("1,2,three\n")
    with pytest.raises(ValueError, match="not a MOTChallenge csv"):
        read_mot_rows(bad)


def test_sequence_info_and_present_images(tmp_path: Path) -> None:
    (tmp_path / "seqinfo.ini").write_text(SEQINFO)
    (tmp_path / "img1").mkdir()
    for frame in (1, 2, 3):
        (tmp_path / "img1" / f"{frame:06d}.jpg").write_bytes(b"")
    info = read_sequence_info(tmp_path)
    assert (info.name, info.frame_rate, info.length, info.width, info.height) == ("TOY", 25.0, 5, 640, 480)
    assert info.image_path(2) == tmp_path / "img1" / "000002.jpg"
    assert info.frames_with_images() == 3, "stops at the first missing image (shared MOT17 holds a few frames)"
    (tmp_path / "img1" / "000005.jpg").write_bytes(b"")  # first and last present, frame 4 missing in the middle
    assert info.frames_with_images() == 3, "a gap in the middle stops it too (it counted all 5 and frame 4 failed)"
    (tmp_path / "img1" / "000004.jpg").write_bytes(b"")
    assert info.frames_with_images() == 5


def test_sequence_info_errors(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match=r"no seqinfo\.ini"):
        read_sequence_info(tmp_path)


@pytest.mark.parametrize(
    "text,expected",
    [
        ("[Sequence]\nname=TOY\nframeRate=abc\nseqLength=5\n", "frameRate='abc' is not a number"),
        ("[Sequence]\nframeRate=25\n", "missing key seqLength"),
        ("[Sequence]\nframeRate=25\nseqLength=5\nimWidth=wide\n", "imWidth='wide' is not an integer"),
        ("[Other]\nframeRate=25\n", "no [Sequence] section"),
        ("frameRate=25\nseqLength=5\n", "no section headers"),  # configparser's own error: was a traceback
        ("[Sequence]\nframeRate=25\nframeRate=30\n", "already exists"),
        ("[Sequence]\nframeRate=nan\nseqLength=5\n", "frameRate='nan' must be > 0"),  # every time limit divides by it
        ("[Sequence]\nframeRate=0\nseqLength=5\n", "frameRate='0' must be > 0"),
        ("[Sequence]\nframeRate=25\nseqLength=-3\n", "seqLength='-3' must be >= 0"),
        ("[Sequence]\nframeRate=25\nseqLength=5\nimHeight=-1\n", "imHeight='-1' must be >= 0"),
    ],
)
def test_a_bad_seqinfo_is_one_error_naming_the_file_and_key(tmp_path: Path, text: str, expected: str) -> None:
    (tmp_path / "seqinfo.ini").write_text(text)
    with pytest.raises(ValueError) as error:
        read_sequence_info(tmp_path)
    message = str(error.value)
    assert message.startswith(f"{tmp_path / 'seqinfo.ini'}: ") and expected in message and "\n" not in message


def test_an_unreadable_seqinfo_says_so(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """configparser's `read` skips a file it cannot open without a word: it was reported as "no [Sequence] section"."""
    (tmp_path / "seqinfo.ini").write_text("[Sequence]\nframeRate=25\nseqLength=5\n")

    def denied(self: Path, *args: object, **kwargs: object) -> None:
        raise PermissionError(13, "Permission denied", str(self))

    monkeypatch.setattr(Path, "open", denied)
    with pytest.raises(ValueError, match=r"seqinfo\.ini: cannot be read \(Permission denied\)"):
        read_sequence_info(tmp_path)


def test_reads_shared_mot17_sequence(shared: Path) -> None:
    root = shared / "data" / "MOT17" / "train" / "MOT17-09-FRCNN"
    info = read_sequence_info(root)
    assert info.name == "MOT17-09-FRCNN" and info.frame_rate == 30 and info.length == 525
    det = read_mot_rows(root / "det" / "det.txt")
    assert det.shape[1] >= 7 and det[:, 0].min() >= 1 and det[:, 0].max() <= info.length


def test_our_json_has_null_where_python_would_write_nan(tmp_path):
    """Bare NaN / Infinity is not JSON (jq, JavaScript reject it): every JSON file of ours writes null."""
    obj = {"RevP": math.nan, "rows": [math.inf, 1.5, (np.float64("nan"), -math.inf)], "name": "a", "n": 3}
    text = to_json(obj)
    assert json.loads(text) == {"RevP": None, "rows": [None, 1.5, [None, None]], "name": "a", "n": 3}
    assert to_json({"a": [1, 2.5]}, indent=1) == json.dumps({"a": [1, 2.5]}, indent=1), "finite data as json writes it"
    write_json_atomic(tmp_path / "s.json", obj, indent=2)
    assert json.loads((tmp_path / "s.json").read_text()) == json.loads(text)
    assert not list(tmp_path.glob("*.partial")), "written through a temporary file and a rename"
    assert math.isnan(nan_for_null(None)) and nan_for_null(0.5) == 0.5


def test_our_json_is_utf8_text_and_keeps_a_path_that_is_not_utf8_exactly():
    """A name that is not UTF-8 (bytes Python decodes to lone surrogates) was written as `"\\udce9"` escapes, which
    strict readers refuse. It is written as shown, U+FFFD for the byte, key or value, and NaN still as null; a
    character beyond U+FFFF is written as json writes it. `path_fields` adds a path's exact bytes as a URI, which
    `path_from_fields` reads back (an absolute path's file URI, a relative one's reference, where `:` is no scheme)."""
    latin = os.fsdecode(b"/data/caf\xe9 50%/x")
    text = to_json({latin: [latin, math.nan], "smile": "\U0001f600"})
    shown = "/data/caf\ufffd 50%/x"
    assert json.loads(text.encode("ascii")) == {shown: [shown, None], "smile": "\U0001f600"}
    assert to_json({"smile": "\U0001f600"}) == json.dumps({"smile": "\U0001f600"})
    assert path_fields("source", "/data/café") == {"source": "/data/café"}, "a UTF-8 path: itself, nothing added"
    fields = path_fields("source", latin)
    assert fields == {"source": shown, "source_uri": "file:///data/caf%E9%2050%25/x"}
    relative = os.fsdecode(b"a:b/caf\xe9")
    for path in (latin, relative, "/data/café"):
        assert path_from_fields(json.loads(to_json(path_fields("source", path))), "source") == path
    assert path_from_fields({"source": latin}, "source") == latin, "an older summary's path as it is"


def test_our_json_keeps_apart_two_keys_that_are_shown_alike():
    """Two keys that are not UTF-8 and are shown alike (`caf\\xe9`, `caf\\xe8`: two sequences' folders) became one
    key: the object kept the last one's value only (a sequence's scores lost from summary.json). Where two keys of an
    object would be written alike, each such byte is written as `\\xNN`; a key alone keeps its shown form, at any
    depth; a `<key>_uri` that is no URI `path_fields` writes is one error naming it (a file edited by hand)."""
    e9, e8 = os.fsdecode(b"caf\xe9"), os.fsdecode(b"caf\xe8")
    doc = json.loads(to_json({"rows": [{e9: 1, e8: math.nan}], e9: {"x": (2,)}}))
    assert doc == {"rows": [{"caf\\xe9": 1, "caf\\xe8": None}], "caf\ufffd": {"x": [2]}}
    assert json.loads(to_json({e9: 1, "caf\ufffd": 2})) == {"caf\\xe9": 1, "caf\ufffd": 2}
    assert written_keys([e9, e8, "COMBINED"]) == ["caf\\xe9", "caf\\xe8", "COMBINED"]
    for garbage in ("file://[x/caf%E9", "http://host/x", "file:///x?q", "ftp:/x"):
        with pytest.raises(ValueError, match=re.escape(f"source_uri is {garbage!r}, not a file URI")):
            path_from_fields({"source": "x", "source_uri": garbage}, "source")


def test_our_json_refuses_a_circular_reference_as_json_does():
    """A circular structure is json's one clear ValueError, not a RecursionError from rebuilding it."""
    loop: list = [math.nan]
    loop.append(loop)
    with pytest.raises(ValueError, match="Circular reference"):
        to_json(loop)


def test_an_atomic_text_file_is_synced_before_its_rename_and_its_folder_after(tmp_path, monkeypatch):
    """summary.json, eval results and notes, batch files and the gallery record were renamed into place without an
    fsync: after a power cut the new name could hold an empty file (a re-run of `track eval` reuses a result whose
    note exists). The data is synced before the rename, the folder (the rename itself) after it."""
    events = []
    real_fsync, real_replace = os.fsync, os.replace
    monkeypatch.setattr(os, "fsync", lambda fd: events.append(("fsync", os.fstat(fd).st_ino)) or real_fsync(fd))
    monkeypatch.setattr(os, "replace", lambda a, b: events.append(("replace", Path(b).name)) or real_replace(a, b))
    path = tmp_path / "summary.json"
    path.write_text("old")
    write_json_atomic(path, {"frames": 3})
    assert json.loads(path.read_text()) == {"frames": 3} and not list(tmp_path.glob("*.partial"))
    assert events == [("fsync", path.stat().st_ino), ("replace", path.name), ("fsync", tmp_path.stat().st_ino)]


def test_a_failed_atomic_write_keeps_the_old_file_and_leaves_no_temporary_file(tmp_path, monkeypatch):
    path = tmp_path / "result.txt"
    path.write_text("1,1,0,0,1,1,1,-1,-1,-1\n")

    def full_disk(fd: int) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "fsync", full_disk)
    with pytest.raises(OSError, match="No space left"):
        write_text_atomic(path, "2,1,0,0,1,1,1,-1,-1,-1\n")
    assert path.read_text() == "1,1,0,0,1,1,1,-1,-1,-1\n" and sorted(p.name for p in tmp_path.iterdir()) == [path.name]


def test_an_atomic_text_file_whose_name_fills_the_limit_is_written(tmp_path):
    """A 255-byte name (the most a file name holds) failed with "File name too long" on its temp file
    `<name>.partial`; the temp file's name is cut to fit, and it goes once the file is in place."""
    path = tmp_path / ("é" * 125 + "x.txt")
    assert len(path.name.encode()) == 255
    write_text_atomic(path, "1,1,0,0,1,1,1,-1,-1,-1\n")
    assert path.read_text() == "1,1,0,0,1,1,1,-1,-1,-1\n" and [p.name for p in tmp_path.iterdir()] == [path.name]


def test_an_atomic_text_file_is_utf8_whatever_the_locale(tmp_path):
    """Under a C/POSIX locale a report naming a sequence "Straße" failed with UnicodeEncodeError (the locale's
    encoding was used); it is UTF-8, as JSON and our readers expect."""
    path = tmp_path / "report.csv"
    code = f"from tracker.io.mot import write_text_atomic; write_text_atomic({str(path)!r}, 'Stra\\u00dfe,1\\n')"
    env = {**os.environ, "LC_ALL": "C", "LANG": "C", "PYTHONUTF8": "0", "PYTHONCOERCECLOCALE": "0"}
    subprocess.run([sys.executable, "-c", code], env=env, check=True, capture_output=True)
    assert path.read_bytes() == "Straße,1\n".encode()


@pytest.mark.parametrize(
    ("data", "says"),
    [
        (b"1,-1,5,5,9,9,0.9\n2,-1,5,5,9,9,0.9\n3,-1,abc,5,9,9,0.9\n", "line 3, '3,-1,abc,5,9,9,0.9': not all numbers"),
        (b"1,-1,5,5,9,9,0.9\n\n2,-1,5,5,9,9\n", "line 3, '2,-1,5,5,9,9': 6 columns, where the first row has 7"),
        (b"# made by hand\n1,-1,5,5,9,9,0.9\n2,-1,5,5,9,9,0.9,\n", "line 3, '2,-1,5,5,9,9,0.9,': not all numbers"),
        (b"1,-1,5,5,9,9,0.9\n2,-1,5,5,9,9,0.9 caf\xe9\n", "line 2 is not UTF-8 text"),
    ],
)
def test_a_malformed_line_is_named_by_the_line_number_an_editor_shows(tmp_path: Path, data: bytes, says: str) -> None:
    """numpy numbered a bad cell's row from 0 ("at row 2" for line 3) and a short row's from 1 skipping blank lines
    (line 3 after a blank one was "row 2"), with advice on its `usecols`; bytes that are not UTF-8 were a
    UnicodeDecodeError naming no file. Each is one ValueError naming the file and the file's own line number."""
    det = tmp_path / "det.txt"
    det.write_bytes(data)
    with pytest.raises(ValueError) as caught:
        read_mot_rows(det)
    assert str(caught.value).startswith(f"{det}: not a MOTChallenge csv ({says}"), str(caught.value)


def test_write_mot_rows_leaves_the_old_file_when_its_frames_fail(tmp_path: Path) -> None:
    """`write_mot_rows` writes a whole file or none: a source failing mid-way does not replace a finished result
    with its first frames (as a `MotWriter` in a `with` block would), and leaves no `.partial` behind."""
    path = tmp_path / "res.txt"
    write_mot_rows(path, [(1, [obj(1, (0, 0, 10, 20))]), (2, [obj(1, (1, 0, 11, 20))])])
    before = path.read_bytes()

    def failing() -> Iterator[tuple[int, list[TrackedObject]]]:
        yield 1, [obj(5, (0, 0, 10, 20))]
        raise RuntimeError("the source failed at frame 2")

    with pytest.raises(RuntimeError, match="frame 2"):
        write_mot_rows(path, failing())
    assert path.read_bytes() == before
    assert not list(tmp_path.glob("*.partial"))
    with pytest.raises(RuntimeError, match=r"^the source failed at frame 2$"):
        write_mot_rows(tmp_path / "new.txt", failing())
    assert not (tmp_path / "new.txt").exists()


@pytest.mark.skipif(not Path(os.devnull).exists() or Path(os.devnull).is_dir(), reason="no null device")
def test_an_output_folder_on_a_device_file_says_it_is_no_folder() -> None:
    """`track v.mp4 --out /dev/null` (meant as "write nothing") said "cannot create the output folder /dev/null:
    File exists", and `--out /dev/null/x` "Not a directory", as if a folder were there; a device is named as such."""
    with pytest.raises(FileExistsError) as info:
        make_output_folder(os.devnull)
    assert str(info.value) == f"cannot create the output folder {os.devnull}: it exists and is not a folder"
    with pytest.raises(NotADirectoryError) as info:
        make_output_folder(Path(os.devnull) / "x")
    assert str(info.value) == f"cannot create the output folder {Path(os.devnull) / 'x'}: {os.devnull} is not a folder"


def test_an_output_folder_on_a_link_to_nothing_names_the_link(tmp_path: Path) -> None:
    """`--out runs/latest` where `latest` is a symbolic link whose folder was removed said the OS's bare "File
    exists" (for it and for a folder under it), though nothing exists there: the link and where it points are named."""
    link = tmp_path / "latest"
    link.symlink_to(tmp_path / "gone")
    with pytest.raises(FileExistsError) as info:
        make_output_folder(link)
    said = f"{link} is a link to {tmp_path / 'gone'}, which does not exist"
    assert str(info.value) == f"cannot create the output folder {link}: {said}"
    with pytest.raises(FileExistsError) as info:
        make_output_folder(link / "cam1")
    assert str(info.value) == f"cannot create the output folder {link / 'cam1'}: {said}"
