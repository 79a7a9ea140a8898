"""A researcher's own MOT-format data: a det.txt that would be tracked wrongly without a word, and a sequence folder
without seqinfo.ini among others, are one error line naming the file before anything is tracked or written."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from tracker.eval.cli import eval_main

SEQINFO = (
    "[Sequence]\nname={name}\nimDir=img1\nframeRate=10\nseqLength={length}\nimWidth=640\nimHeight=480\nimExt=.jpg\n"
)
LENGTH = 6


def _rows(frames: int) -> list[list[float]]:
    """Two people standing still, one row each per frame: frame, id, left, top, width, height, score/conf, -1 x3."""
    rows = []
    for f in range(1, frames + 1):
        rows += [[f, 1, 100, 100, 50, 120, 0.9, -1, -1, -1], [f, 2, 400, 100, 50, 120, 0.9, -1, -1, -1]]
    return rows


def _sequence(root: Path, name: str, det_lines: list[str]) -> Path:
    seq = root / name
    (seq / "gt").mkdir(parents=True)
    (seq / "det").mkdir()
    (seq / "seqinfo.ini").write_text(SEQINFO.format(name=name, length=LENGTH))
    np.savetxt(seq / "gt" / "gt.txt", np.array(_rows(LENGTH)), delimiter=",", fmt="%g")
    (seq / "det" / "det.txt").write_text("".join(f"{line}\n" for line in det_lines))
    return seq


def _det_lines() -> list[str]:
    return [",".join(f"{v:g}" for v in [r[0], -1, *r[2:7]]) for r in _rows(LENGTH)]


def _eval(tmp_path: Path, data: Path, *extra: str) -> int:
    args = ["--data", str(data), "--detections", "public", "--workers", "1", "--out", str(tmp_path / "out")]
    return eval_main([*args, "--cache-dir", str(tmp_path / "cache"), *extra])


def _fault(lines: list[str], index: int, column: int, value: str) -> list[str]:
    cells = lines[index].split(",")
    cells[column] = value
    return [*lines[:index], ",".join(cells), *lines[index + 1 :]]


@pytest.mark.parametrize(
    ("name", "change", "says"),
    [
        # 0-based frames were tracked a frame early, frame 0's boxes dropped, and scored without a word
        (
            "zero_based",
            lambda ls: [f"{int(line.split(',')[0]) - 1}," + line.split(",", 1)[1] for line in ls],
            "line 2, '0,-1,100,100,50,120,0.9': frame 0; MOTChallenge frames start at 1",
        ),
        # frames past seqLength were dropped; a fraction was truncated to the frame before
        (
            "past_the_end",
            lambda ls: [*ls, "9,-1,10,10,20,40,0.9"],
            f"line 14, '9,-1,10,10,20,40,0.9': frame 9, beyond seqLength={LENGTH}",
        ),
        ("fraction", lambda ls: _fault(ls, 3, 0, "2.5"), "line 5, '2.5,-1,"),
        # ours dropped these boxes (warning that boxes_xyxy are corners), the peers were fed them
        (
            "negative_width",
            lambda ls: _fault(ls, 4, 4, "-50"),
            "line 6, '3,-1,100,100,-50,120,0.9': width -50, height 120: a box needs both > 0",
        ),
        ("zero_height", lambda ls: _fault(ls, 4, 5, "0"), "width 50, height 0: a box needs both > 0"),
        (
            "nan_left",
            lambda ls: _fault(ls, 4, 2, "nan"),
            "line 6, '3,-1,nan,100,50,120,0.9': left, top, width, height and score must be finite",
        ),
        ("inf_score", lambda ls: _fault(ls, 4, 6, "inf"), "line 6, '3,-1,100,100,50,120,inf'"),
    ],
)
def test_a_faulty_det_txt_is_one_error_naming_its_line_and_nothing_is_written(tmp_path, capsys, name, change, says):
    seq = _sequence(tmp_path / "data", "OWN", ["# frame,id,left,top,width,height,score", *change(_det_lines())])
    assert _eval(tmp_path, seq) == 2, name
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and str(seq / "det" / "det.txt") in err[0] and says in err[0], err
    assert not (tmp_path / "out").exists()


def test_det_txt_with_extra_columns_unsorted_frames_and_negative_scores_is_tracked(tmp_path, capsys):
    """What MOT files hold (10 columns, rows in any order, DPM's negative margins, boxes left of the frame) runs."""
    lines = [f"{line},-1,-1,-1" for line in _det_lines()[::-1]]
    lines = _fault(_fault(lines, 0, 6, "-0.5"), 1, 2, "-10")
    seq = _sequence(tmp_path / "data", "OWN", lines)
    assert _eval(tmp_path, seq) == 0
    result = np.loadtxt(tmp_path / "out" / "ours" / "OWN.txt", delimiter=",", ndmin=2)
    assert result[:, 0].min() >= 1 and result[:, 0].max() <= LENGTH and result.shape[1] == 10


def test_a_sequence_folder_without_seqinfo_is_one_error_not_left_out_of_the_combined_row(tmp_path, capsys):
    """A folder of sequences where one lacked seqinfo.ini was scored without it: COMBINED covered fewer sequences
    than the user gave, and nothing said so."""
    data = tmp_path / "data"
    _sequence(data, "A", _det_lines())
    lacking = _sequence(data, "B", _det_lines())
    (lacking / "seqinfo.ini").unlink()
    (data / "notes").mkdir()  # a folder that is no sequence is not asked about
    assert _eval(tmp_path, data) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and f"{lacking} looks like a sequence but has no seqinfo.ini" in err[0], err
    assert not (tmp_path / "out").exists()
    assert _eval(tmp_path, data, "--sequences", "A") == 0, "--sequences leaves it out"
    assert sorted(p.name for p in (tmp_path / "out" / "ours").glob("*.txt")) == ["A.txt"]


def test_a_sequence_named_in_any_script_charts_without_a_warning_per_missing_glyph(tmp_path):
    """`track eval` on TUD-Câmpus-行人 printed four matplotlib UserWarnings with their source lines (the font has
    no CJK glyphs); the chart is written, a box drawn for each, and nothing is printed."""
    import warnings

    from tracker.eval.report import write_chart

    rows = {"TUD-Câmpus-行人": {"HOTA": 40.0, "IDF1": 50.0, "MOTA": 60.0, "AssA": 30.0}}
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        write_chart(tmp_path / "metrics.png", rows, "données: public detections, train")
    assert (tmp_path / "metrics.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert [p.name for p in tmp_path.iterdir()] == ["metrics.png"]


def test_the_line_named_counts_a_windows_files_lines_as_an_editor_shows_them(tmp_path):
    """A det.txt saved on Windows (byte-order mark, CRLF, a `#` header, blank lines): the faulty row's line is the
    one an editor shows, as for a Unix file."""
    from tracker.eval.sequences import find_sequences

    lines = _fault(_det_lines(), 4, 5, "0")
    seq = _sequence(tmp_path / "data", "OWN", [])
    text = "\r\n".join(["# frame,id,left,top,width,height,score", *lines[:2], "", *lines[2:]]) + "\r\n"
    (seq / "det" / "det.txt").write_bytes(b"\xef\xbb\xbf" + text.encode())
    with pytest.raises(ValueError, match=r"line 7, '3,-1,100,100,50,0,0.9': width 50, height 0"):
        find_sequences(seq)[0].check_public_detections()


def test_a_root_whose_only_sequence_lacks_seqinfo_names_it(tmp_path, capsys):
    """The same folder alone under a MOTChallenge root (train/S1 with gt and images, no seqinfo.ini) said only "no
    MOTChallenge sequences under" the root, where the README promises an error naming it (new42)."""
    root = tmp_path / "root"
    lacking = _sequence(root / "train", "S1", _det_lines())
    (lacking / "seqinfo.ini").unlink()
    assert _eval(tmp_path, root) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and f"{lacking} looks like a sequence: add {lacking / 'seqinfo.ini'}" in err[0], err


@pytest.mark.parametrize("file", ["det/det.txt", "gt/gt.txt"])
def test_a_det_or_gt_txt_that_is_a_folder_is_said_to_be_one(tmp_path, capsys, file):
    """A det/det.txt (or gt/gt.txt) that was a directory (an archive unpacked one level too deep) was reported as
    missing: the user looked and saw it there. The error line now says it is a folder; nothing is written."""
    seq = _sequence(tmp_path / "data", "OWN", _det_lines())
    path = seq / file
    path.unlink()
    path.mkdir()
    assert _eval(tmp_path, seq) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and f"{path} is a folder, not a file" in err[0] and "missing" not in err[0], err
    assert not (tmp_path / "out").exists()
