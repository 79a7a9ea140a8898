"""`tools/false_positives.py`: every sequence of a result folder is classified, each in its own cell."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from tool_scripts import load_tool


def _seqinfo(name: str, length: int) -> str:
    """A sequence's seqinfo.ini: `length` frames of 640x480 at 25 fps."""
    return f"[Sequence]\nname={name}\nframeRate=25\nseqLength={length}\nimWidth=640\nimHeight=480\n"


def _sequence(data: Path, name: str) -> Path:
    """A 3-frame sequence with one person at 100,100,40,100 (MOT15 ground-truth layout; the seqinfo.ini `track eval`
    reads)."""
    folder = data / name
    (folder / "gt").mkdir(parents=True)
    (folder / "seqinfo.ini").write_text(_seqinfo(name, 3))
    rows = [[f, 1, 100, 100, 40, 100, 1, -1, -1, -1] for f in (1, 2, 3)]
    np.savetxt(folder / "gt" / "gt.txt", rows, delimiter=",", fmt="%g")
    return folder


def test_each_sequence_of_one_result_folder_is_its_own_cell(tmp_path):
    """One `track eval --out` of two sequences (or MOT17's seven) holds their results side by side in ours/: each
    is counted, not the last one alone."""
    tool = load_tool("false_positives")
    data = [_sequence(tmp_path / "data", "SeqA"), _sequence(tmp_path / "data", "SeqB")]
    ours = tmp_path / "out" / "ours"
    ours.mkdir(parents=True)
    person = [[f, 1, 100, 100, 40, 100, 1, -1, -1, -1] for f in (1, 2, 3)]
    phantom = [[f, 2, 400, 200, 40, 100, 1, -1, -1, -1] for f in (1, 2, 3)]  # nobody there: 3 false positives
    np.savetxt(ours / "SeqA.txt", person + phantom, delimiter=",", fmt="%g")
    np.savetxt(ours / "SeqB.txt", person, delimiter=",", fmt="%g")
    cells = tool.cells(tmp_path / "out", data)
    assert sorted(cells) == ["SeqA", "SeqB"]
    assert cells["SeqA"][0] == 3 and cells["SeqB"][0] == 0
    (track,) = cells["SeqA"][1]
    assert (track.track_id, track.fp, track.tp, track.kind) == (2, 3, 0, "no-person")


def test_data_takes_a_motchallenge_root_as_track_eval_does(tmp_path, monkeypatch, capsys):
    """`track eval --data ../shared/data/MOT17` then `tools/false_positives.py OUT --data ../shared/data/MOT17`: the
    tool matched --data folders by name only, so the root that the run was given found none of its sequences ("no
    result ... is of a sequence in --data"). It finds them in a folder of sequences or a root's train/ too."""
    tool = load_tool("false_positives")
    _sequence(tmp_path / "MOT17" / "train", "SeqA")
    _sequence(tmp_path / "more", "SeqB")
    ours = tmp_path / "out" / "ours"
    ours.mkdir(parents=True)
    for name in ("SeqA", "SeqB"):
        np.savetxt(ours / f"{name}.txt", [[f, 2, 400, 200, 40, 100, 1, -1, -1, -1] for f in (1, 2)], delimiter=",")
    argv = ["false_positives.py", str(tmp_path / "out"), "--data", str(tmp_path / "MOT17"), str(tmp_path / "more")]
    monkeypatch.setattr("sys.argv", argv)
    tool.main()
    out = capsys.readouterr().out
    assert "| SeqA | 2 |" in out and "| SeqB | 2 |" in out, out


@pytest.mark.parametrize("given", [".", "../SeqA"])
def test_data_taken_inside_the_sequence_folder_finds_it_as_track_eval_does(given, tmp_path, monkeypatch, capsys):
    """`tools/false_positives.py OUT --data .` run inside the sequence's folder (the one holding seqinfo.ini), which
    `track eval --data .` takes: the folder's name was "" to the tool, which found no sequence there ("no result ...
    is of a sequence in --data"). It finds sequences as `track eval` does (`find_sequences`)."""
    tool = load_tool("false_positives")
    folder = _sequence(tmp_path / "data", "SeqA")
    ours = tmp_path / "out" / "ours"
    ours.mkdir(parents=True)
    np.savetxt(ours / "SeqA.txt", [[f, 2, 400, 200, 40, 100, 1, -1, -1, -1] for f in (1, 2)], delimiter=",")
    monkeypatch.chdir(folder)
    monkeypatch.setattr("sys.argv", ["false_positives.py", str(tmp_path / "out"), "--data", given])
    tool.main()
    out = capsys.readouterr().out
    assert "| SeqA | 2 |" in out, out


def test_false_positives_on_people_the_crop_rule_dropped_are_counted_as_cut_out(tmp_path):
    """A moving variant drops the ground truth of a person less than half in view; a box on that person is a false
    positive every tracker that reports them pays alike, counted apart (`cut-out`)."""
    tool = load_tool("false_positives")
    source = tmp_path / "source"
    (source / "gt").mkdir(parents=True)
    rows = [[1, 1, 470, 100, 40, 100, 1, -1, -1, -1], [1, 2, 200, 100, 40, 100, 1, -1, -1, -1]]  # person 1: 10 px in
    np.savetxt(source / "gt" / "gt.txt", rows, delimiter=",", fmt="%g")
    variant = tmp_path / "Seq+pan2-abc"
    (variant / "gt").mkdir(parents=True)
    (variant / "seqinfo.ini").write_text("[Sequence]\nname=Seq+pan2\nimWidth=480\nimHeight=360\n")
    np.savetxt(variant / "gt" / "gt.txt", rows[1:], delimiter=",", fmt="%g")  # what the crop rule kept
    (variant / "variant.json").write_text(json.dumps({"source": str(source), "transforms": [[1, 1, 1.0, 0.0, 0.0]]}))
    results = tmp_path / "out.txt"
    ours = [[1, 7, 470, 100, 10, 100, 1, -1, -1, -1], [1, 8, 100, 250, 40, 100, 1, -1, -1, -1]]  # sliver, phantom
    np.savetxt(results, ours, delimiter=",", fmt="%g")
    count, tracks = tool.classify(results, variant)
    assert count == 2
    assert {t.track_id: t.cut_out for t in tracks} == {7: 1, 8: 0}
    assert tool.cut_out_people(_sequence(tmp_path / "data", "Seq"), 640, 480).shape == (0, 6), "an original: none"


def test_a_folder_without_results_is_a_usage_error_not_an_empty_table(tmp_path, monkeypatch, capsys):
    tool = load_tool("false_positives")
    (tmp_path / "empty").mkdir()
    for folder in (tmp_path / "missing", tmp_path / "empty"):
        monkeypatch.setattr("sys.argv", ["false_positives.py", str(folder)])
        with pytest.raises(SystemExit) as exit_info:
            tool.main()
        assert exit_info.value.code == 2
        out = capsys.readouterr()
        assert f"no results (ours/*.txt) under {folder}" in out.err and out.out == "", out


def test_a_data_folder_that_is_not_there_is_a_usage_error_not_skipped_sequences(tmp_path, monkeypatch, capsys):
    """A mistyped --data printed 'skipped ...: no --data folder ... named SeqA' for every sequence and an empty table,
    exit status 0; it is one usage line naming the folder, before any result is read."""
    tool = load_tool("false_positives")
    _sequence(tmp_path / "data", "SeqA")
    (tmp_path / "out" / "ours").mkdir(parents=True)
    np.savetxt(tmp_path / "out" / "ours" / "SeqA.txt", [[1, 1, 100, 100, 40, 100, 1, -1, -1, -1]], fmt="%g")
    typo = tmp_path / "dat"
    monkeypatch.setattr("sys.argv", ["false_positives.py", str(tmp_path / "out"), "--data", str(typo)])
    with pytest.raises(SystemExit) as exit_info:
        tool.main()
    out = capsys.readouterr()
    assert exit_info.value.code == 2 and f"--data: no such folder: {typo}" in out.err and out.out == "", out


def test_data_of_other_sequences_than_the_results_is_a_usage_error_not_a_table_of_zeros(tmp_path, monkeypatch, capsys):
    """--data naming a sequence of another run (PETS09 results, MOT17-09 given): every result 'skipped', then a table
    of zeros, exit status 0, which read as a run without false positives. Now a usage error after the skipped line."""
    tool = load_tool("false_positives")
    _sequence(tmp_path / "data", "SeqA")
    _sequence(tmp_path / "data", "SeqB")
    (tmp_path / "out" / "ours").mkdir(parents=True)
    np.savetxt(tmp_path / "out" / "ours" / "SeqA.txt", [[1, 1, 100, 100, 40, 100, 1, -1, -1, -1]], fmt="%g")
    argv = ["false_positives.py", str(tmp_path / "out"), "--data", str(tmp_path / "data" / "SeqB")]
    monkeypatch.setattr("sys.argv", argv)
    with pytest.raises(SystemExit) as exit_info:
        tool.main()
    out = capsys.readouterr()
    assert exit_info.value.code == 2 and out.out == "", out
    assert f"no result under {tmp_path / 'out'} is of a sequence in --data" in out.err, out.err


def test_a_val_half_run_meets_the_val_half_s_ground_truth(tmp_path):
    """`track eval --split val-half` numbers its results from 1 at the val half's first frame (N//2+2), as its
    scores' gt: they were matched to the sequence's first frames instead, so a run TrackEval scored with 0 FP was
    told 2 (here a person who stands elsewhere in the first half)."""
    tool = load_tool("false_positives")
    folder = tmp_path / "data" / "Seq"
    (folder / "gt").mkdir(parents=True)
    (folder / "seqinfo.ini").write_text(_seqinfo("Seq", 6))
    gt = [[f, 1, 100 if f < 5 else 400, 100, 40, 100, 1, -1, -1, -1] for f in range(1, 7)]  # val half: frames 5-6
    np.savetxt(folder / "gt" / "gt.txt", gt, delimiter=",", fmt="%g")
    run = tmp_path / "out"
    (run / "ours").mkdir(parents=True)
    np.savetxt(
        run / "ours" / "Seq.txt", [[f, 1, 400, 100, 40, 100, 1, -1, -1, -1] for f in (1, 2)], delimiter=",", fmt="%g"
    )
    (run / "summary.json").write_text(json.dumps({"split": "val-half"}))
    assert tool.cells(run, [folder])["Seq"][0] == 0
    (run / "summary.json").write_text(json.dumps({"split": "train"}))  # the same rows as a whole-sequence run's
    assert tool.cells(run, [folder])["Seq"][0] == 2
