"""`tracker.eval.identity.identity_breakdown`: IDF1's identity matching, per person (who lost boxes, to whose ID)."""

from __future__ import annotations

import numpy as np
import pytest
from tool_scripts import load_tool

from tracker.eval.identity import identity_breakdown


def _rows(frames, ident, x, y=100.0, w=40.0, h=100.0) -> list[list[float]]:
    return [[f, ident, x, y, w, h, 1, -1, -1, -1] for f in frames]


def test_a_track_carried_from_one_person_onto_the_next_is_charged_to_the_first():
    """TUD-Campus with the ACF boxes, panned (issue 10's E2): person 2 leaves at the left border and person 7 enters
    there; one track carries on from 2 onto 7. IDF1 gives that ID to the person it covered longer (7) and person 2
    keeps nothing: the breakdown says so, and whose ID took their boxes."""
    gt = np.array(_rows(range(1, 11), 2, 0.0) + _rows(range(11, 23), 7, 2.0))
    results = np.array(_rows(range(1, 23), 5, 1.0))
    out = identity_breakdown(gt, results)
    assert out.people[7].track == 5 and out.people[7].idtp == 12
    assert out.people[2].track is None and out.people[2].idtp == 0
    assert out.people[2].covered == {5: 10} and out.owner[5] == 7
    assert out.idf1 == pytest.approx(2 * 12 / (22 + 22))


def test_a_fresh_id_for_the_newcomer_keeps_both_people():
    gt = np.array(_rows(range(1, 11), 2, 0.0) + _rows(range(11, 23), 7, 2.0))
    results = np.array(_rows(range(1, 11), 5, 1.0) + _rows(range(11, 23), 6, 1.0))
    out = identity_breakdown(gt, results)
    assert (out.people[2].track, out.people[2].idtp, out.people[7].track, out.people[7].idtp) == (5, 10, 6, 12)
    assert out.idf1 == pytest.approx(1.0)


def test_idf1_equals_trackevals_on_a_scene_with_swaps_fragments_and_false_boxes():
    """The breakdown's IDF1 and IDTP are TrackEval's `Identity` figures on the same boxes (its own code, run here)."""
    identity = pytest.importorskip("trackeval.metrics.identity")
    rng = np.random.default_rng(3)
    gt, res = [], []
    for f in range(1, 61):
        for person in range(5):
            x = 60.0 * person + f * (1 if person % 2 else -1)
            if (f + 7 * person) % 13 == 0:
                continue  # a missed gt frame
            gt.append([f, person + 1, x, 100.0, 40.0, 100.0, 1, -1, -1, -1])
            if rng.random() < 0.15:
                continue  # a missed detection
            track = person + 1 + 10 * (f > 30 and person < 2)  # two people change ID halfway (fragments)
            if 40 <= f < 50 and person in (2, 3):
                track = 4 if person == 2 else 3  # a swap
            res.append([f, track, x + rng.normal(0, 4), 100.0 + rng.normal(0, 4), 40.0, 100.0, 1, -1, -1, -1])
        if f % 9 == 0:
            res.append([f, 99, 500.0, 300.0, 30.0, 60.0, 1, -1, -1, -1])  # a false box
    gt, res = np.array(gt), np.array(res)
    ours = identity_breakdown(gt, res)

    from tracker.association import iou_matrix
    from tracker.io.mot import tlwh_to_xyxy

    gt_ids, tr_ids = np.unique(gt[:, 1]), np.unique(res[:, 1])
    data = {"gt_ids": [], "tracker_ids": [], "similarity_scores": []}
    for f in range(1, 61):
        g, r = gt[gt[:, 0] == f], res[res[:, 0] == f]
        data["gt_ids"].append(np.searchsorted(gt_ids, g[:, 1]))
        data["tracker_ids"].append(np.searchsorted(tr_ids, r[:, 1]))
        data["similarity_scores"].append(iou_matrix(tlwh_to_xyxy(g[:, 2:6]), tlwh_to_xyxy(r[:, 2:6])))
    data.update(num_gt_dets=len(gt), num_tracker_dets=len(res), num_gt_ids=len(gt_ids), num_tracker_ids=len(tr_ids))
    theirs = identity.Identity().eval_sequence(data)
    assert ours.idtp == theirs["IDTP"]
    assert ours.idf1 == pytest.approx(theirs["IDF1"])
    assert 0.5 < ours.idf1 < 0.95, "the scene has identity errors to find"


def test_empty_results_lose_every_box():
    gt = np.array(_rows(range(1, 5), 1, 0.0))
    out = identity_breakdown(gt, np.zeros((0, 10)))
    assert out.idtp == 0 and out.people[1].track is None and out.idf1 == 0.0


def test_on_mot17_the_breakdown_scores_the_boxes_trackeval_scores(shared, tmp_path, capsys):
    """MOT17-09's gt holds static people, reflections and rows marked 0 that TrackEval leaves out (and it drops
    result boxes on distractors): `id_timeline.py --idf1` read every gt row and printed IDF1 38.12 where `track eval`
    said 61.60 for the same run. Results here: every gt row of the first 100 frames as a box, IDs of two people
    swapped from frame 50; the tool's IDF1 is TrackEval's, run on the same file."""
    from tracker.eval.scoring import score_results
    from tracker.eval.sequences import find_sequences

    seq_dir = shared / "data" / "MOT17" / "train" / "MOT17-09-FRCNN"
    if not (seq_dir / "gt" / "gt.txt").is_file():
        pytest.skip("MOT17-09-FRCNN's gt is absent from ../shared")
    gt = np.loadtxt(seq_dir / "gt" / "gt.txt", delimiter=",", ndmin=2)
    res = gt[gt[:, 0] <= 100].copy()
    assert (res[:, 6] == 0).any() and np.isin(res[:, 7], [2, 7, 8, 12]).any(), "the frames hold what is left out"
    a, b = np.unique(res[res[:, 7] == 1, 1])[:2]
    late = res[:, 0] >= 50
    res[late & (res[:, 1] == a), 1], res[late & (res[:, 1] == b), 1] = -1, a
    res[res[:, 1] == -1, 1] = b
    res = np.column_stack([res[:, :6], np.ones(len(res)), np.full((len(res), 3), -1.0)])
    result = tmp_path / "ours" / "MOT17-09-FRCNN.txt"
    result.parent.mkdir()
    np.savetxt(result, res, delimiter=",", fmt="%g")
    (sequence,) = find_sequences(seq_dir)
    theirs = score_results([sequence], {sequence.name: result})[sequence.name]["IDF1"]
    load_tool("id_timeline").main([str(seq_dir), str(result), "--idf1"])
    header = capsys.readouterr().out.splitlines()[0]
    assert header.startswith(f"ours: IDF1 {theirs:.2f} |"), (header, theirs)
    assert theirs < 99.0, "the swap costs IDF1 (the test can fail)"


def test_scored_rows_leave_out_what_trackeval_does():
    """MOT17: gt of class 1 not marked 0; a result on a static person (class 7) is dropped, one on a person marked 0
    stays (a false positive, as in TrackEval). MOT15: only gt rows marked 0 go."""
    from tracker.eval.identity import scored_rows

    gt = np.array(
        [
            [1, 1, 0, 100, 40, 100, 1, 1, 0.9],  # a pedestrian
            [1, 2, 100, 100, 40, 100, 0, 1, 0.9],  # a pedestrian marked 0
            [1, 3, 200, 100, 40, 100, 0, 7, 0.9],  # a static person (distractor)
            [1, 4, 300, 100, 40, 100, 0, 3, 0.9],  # a car
        ]
    )
    res = np.array([[1, 9, x + 2, 101, 40, 100, 1, -1, -1, -1] for x in (0, 100, 200, 300)])
    kept_gt, kept_res = scored_rows(gt, res, "MOT17")
    assert kept_gt[:, 1].tolist() == [1] and kept_res[:, 2].tolist() == [2, 102, 302]
    kept_gt, kept_res = scored_rows(gt, res, "MOT15")
    assert kept_gt[:, 1].tolist() == [1] and len(kept_res) == 4


def test_fractional_frames_are_read_as_trackeval_reads_them(shared, tmp_path, capsys):
    """TrackEval reads a result's frame as `int(float(cell))` (1.5 is frame 1) and its ID with `astype(int)`;
    `id_timeline.py` compared 1.5 with the gt's whole frames, so no box matched (IDF1 0.00 where TrackEval gave the
    run's figure), and it refused a frame of seqLength + 0.5 that TrackEval scores."""
    from tracker.eval.scoring import score_results
    from tracker.eval.sequences import find_sequences

    seq_dir = shared / "data" / "MOT17" / "train" / "MOT17-09-FRCNN"
    if not (seq_dir / "gt" / "gt.txt").is_file():
        pytest.skip("MOT17-09-FRCNN's gt is absent from ../shared")
    (sequence,) = find_sequences(seq_dir)
    gt = np.loadtxt(seq_dir / "gt" / "gt.txt", delimiter=",", ndmin=2)
    res = gt[(gt[:, 7] == 1) & (gt[:, 6] != 0)].copy()  # every scored gt box: IDF1 near 100
    res = np.column_stack([res[:, :6], np.ones(len(res)), np.full((len(res), 3), -1.0)])
    res[:, 0] += 0.5  # frames 1.5, 2.5, ...
    res[:, 1] += 0.25  # IDs 1.25, ...
    last = res[-1].copy()
    last[0], last[1] = sequence.info.length + 0.5, 9999  # a false box in the last frame, written N + 0.5
    res = np.vstack([res, last])
    result = tmp_path / "ours" / "MOT17-09-FRCNN.txt"
    result.parent.mkdir()
    np.savetxt(result, res, delimiter=",", fmt="%.2f")
    theirs = score_results([sequence], {sequence.name: result})[sequence.name]["IDF1"]
    assert theirs > 90.0, "TrackEval scores the frames (the test can fail)"
    load_tool("id_timeline").main([str(seq_dir), str(result), "--idf1"])
    header = capsys.readouterr().out.splitlines()[0]
    assert header.startswith(f"ours: IDF1 {theirs:.2f} |"), (header, theirs)


@pytest.mark.parametrize(
    ("row", "said"),
    [
        ("3,nan,1,1,10,10,1,-1,-1,-1", "ID nan: TrackEval cannot read it"),
        ("nan,99,1,1,10,10,1,-1,-1,-1", "frame nan, ID 99: TrackEval cannot read it"),
        ("2,-4,1,1,10,10,1,-1,-1,-1", "ID -4 is negative"),
        ("1,1.5,1,1,10,10,1,-1,-1,-1", "frame 1: ID 1 more than once"),  # 1.5 is ID 1, as the row before
    ],
)
def test_a_result_trackeval_refuses_is_refused_naming_the_file(tmp_path, capsys, row, said):
    """TrackEval stops on a nan frame ("cannot be read"), an ID twice in a frame once truncated ("predicts the same
    ID more than once"), a nan or negative ID (its own IndexError); `id_timeline.py` gave an IDF1 of such a file
    (or a ValueError traceback, of a nan frame without --idf1). Now one usage line naming the file and the row."""
    seq = tmp_path / "seq"
    (seq / "gt").mkdir(parents=True)
    (seq / "gt" / "gt.txt").write_text("1,1,10,10,20,40,1,1,1\n2,1,12,10,20,40,1,1,1\n")
    result = tmp_path / "ours" / "seq.txt"
    result.parent.mkdir()
    result.write_text(f"1,1,10,10,20,40,1,-1,-1,-1\n{row}\n")
    for idf1 in ([], ["--idf1"]):
        with pytest.raises(SystemExit) as stop:
            load_tool("id_timeline").main([str(seq), str(result), *idf1])
        err = capsys.readouterr().err
        assert stop.value.code == 2 and f"error: {result}: result " in err and said in err, err
