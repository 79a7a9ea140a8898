"""The reported width's weight between the Kalman width and the smoothed-aspect width (`tracker.report_weight`):
the least-squares weight of the two estimates against the next frame's box, pooled over a video's tracks; 0 (the
Kalman width) until `min_pairs` pairs are pooled."""

from __future__ import annotations

import pickle

import numpy as np
import pytest

from tracker.report_weight import ReportWeight


def _pairs(rng: np.random.Generator, n: int, kalman_sd: float, aspect_sd: float) -> tuple[np.ndarray, ...]:
    """n measured widths around 50 px and two estimates of them with independent errors of the given sds (px)."""
    measured = 50.0 + rng.normal(scale=5.0, size=n)
    return measured, measured + rng.normal(scale=kalman_sd, size=n), measured + rng.normal(scale=aspect_sd, size=n)


@pytest.mark.parametrize(("kalman_sd", "aspect_sd"), [(2.0, 1.0), (1.0, 2.0), (1.0, 1.0)])
def test_the_weight_is_the_least_squares_blend_of_two_estimates(kalman_sd, aspect_sd):
    rng = np.random.default_rng(0)
    weight = ReportWeight(min_pairs=50)
    for _ in range(100):
        weight.observe(*_pairs(rng, 20, kalman_sd, aspect_sd))
    expected = kalman_sd**2 / (kalman_sd**2 + aspect_sd**2)  # independent errors: inverse-variance weights
    assert weight.weight == pytest.approx(expected, abs=0.03)
    summary = weight.summary()
    assert summary["pairs"] == 2000
    assert summary["rms_blend"] <= min(summary["rms_kalman"], summary["rms_aspect"]) + 1e-12


def test_the_kalman_width_until_enough_pairs_and_the_weight_stays_between_0_and_1():
    rng = np.random.default_rng(1)
    weight = ReportWeight(min_pairs=50)
    weight.observe(*_pairs(rng, 49, 5.0, 0.1))
    assert weight.weight == 0.0, "49 pairs: not measured yet"
    weight.observe(*_pairs(rng, 1, 5.0, 0.1))
    assert 0.99 < weight.weight <= 1.0
    # the aspect width off less than the Kalman's, on the same side: least squares says 2, clipped to 1
    overshoot = ReportWeight(min_pairs=1)
    measured = np.full(10, 50.0)
    overshoot.observe(measured, measured + 2.0, measured + 1.0)
    assert overshoot.weight == 1.0
    # the aspect width off more than the Kalman's, on the same side: least squares says -0.5, clipped to 0
    undershoot = ReportWeight(min_pairs=1)
    undershoot.observe(measured, measured + 1.0, measured + 3.0)
    assert undershoot.weight == 0.0


def test_rows_without_a_smoothed_aspect_are_not_pooled_and_reset_forgets():
    weight = ReportWeight(min_pairs=1)
    measured = np.array([50.0, 50.0])
    weight.observe(measured, measured + 2.0, np.array([np.nan, 50.0]))
    assert weight.pairs == 1 and weight.weight == 1.0
    weight.observe(measured[:0], measured[:0], measured[:0])  # no rows: nothing pooled
    assert weight.pairs == 1
    restored = pickle.loads(pickle.dumps(weight))
    assert restored.weight == 1.0 and restored.pairs == 1
    weight.reset()
    assert weight.pairs == 0 and weight.weight == 0.0 and np.isnan(weight.summary()["rms_kalman"])


WALKERS = ((100.0, 150.0, 2.0), (600.0, 300.0, -2.0), (350.0, 100.0, 1.0))  # (x0, y0, vx) of three walkers, px
SIZE = np.array([40.0, 100.0])  # their true width and height, px


def _track_summary(run, width_jitter_px: float, *overrides: str):
    """`track`'s run (the `track_boxes_video` fixture) over three walkers whose detected widths jitter by
    `width_jitter_px` (std): its summary and summary.json."""
    rng = np.random.default_rng(0)

    def boxes_at(f: int) -> np.ndarray:
        boxes = []
        for x0, y0, vx in WALKERS:
            centre = np.array([x0 + vx * f, y0])
            size = SIZE + [rng.normal(scale=width_jitter_px), 0.0]
            boxes.append(np.concatenate([centre - size / 2, centre + size / 2]))
        return np.array(boxes)

    return run(boxes_at, 120, 25.0, *overrides)


def test_the_run_summary_says_which_width_the_boxes_were_reported_at(track_boxes_video):
    """`track`'s summary (printed and in summary.json) gives the video's measured weight: jittering widths are
    reported at the smoothed aspect's (weight near 1), whose error against the next box is the smaller."""
    summary, saved = _track_summary(track_boxes_video, 4.0)
    width = summary.report_width
    assert width["measured"] == 1.0 and width["pairs"] > 300 and width["min_pairs"] == 50, width
    assert width["weight"] > 0.8 and width["rms_aspect"] < width["rms_kalman"], width
    assert saved["report_width"] == pytest.approx(width)
    line = next(x for x in summary.describe().splitlines() if x.startswith("reported box widths"))
    assert line.startswith(f"reported box widths: the Kalman width + {width['weight']:.2f} x (smoothed aspect width")
    assert f"measured on {width['pairs']} pairs" in line and f"aspect {width['rms_aspect']:.3f}" in line


@pytest.mark.parametrize(
    ("overrides", "said"),
    [
        (("motion.report_aspect_weighting=false",), "the smoothed aspect x the Kalman height"),
        (("motion.noise_min_updates=100000",), "the Kalman width (too few pairs to measure the aspect's weight"),
        (("motion.report_aspect_filter=false",), None),
        (("motion.output_filtered_box=false",), None),  # the detections' own boxes are reported
    ],
)
def test_the_run_summary_says_when_the_width_is_fixed_unmeasured_or_not_the_aspects(track_boxes_video, overrides, said):
    summary, saved = _track_summary(track_boxes_video, 4.0, *overrides)
    lines = [x for x in summary.describe().splitlines() if x.startswith("reported box widths")]
    if said is None:
        assert lines == [] and summary.report_width == {} and "report_width" not in saved
    else:
        assert len(lines) == 1 and said in lines[0], lines
        assert saved["report_width"]["weight"] == summary.report_width["weight"]


def test_the_width_of_several_sources_is_each_reported():
    from tracker import run_summary

    measured = {"pairs": 400, "min_pairs": 50, "weight": 0.25, "measured": 1.0, "rms_kalman": 0.2, "rms_aspect": 0.3,
                "rms_blend": 0.19}  # fmt: skip
    short = {**measured, "pairs": 12, "weight": 0.0}
    total = run_summary.combine(
        [
            run_summary.RunSummary(name="first", report_width=measured),
            run_summary.RunSummary(name="second", report_width=short),
        ]
    )
    lines = [x for x in total.describe().splitlines() if x.startswith("reported box widths")]
    assert lines == [
        "reported box widths of first: the Kalman width + 0.25 x (smoothed aspect width - Kalman width), measured on "
        "400 pairs (relative RMS error against the next box: Kalman 0.200, aspect 0.300, reported 0.190)",
        "reported box widths of second: the Kalman width (too few pairs to measure the aspect's weight: 12 of 50)",
    ]
    assert total.to_json()["report_width_per_source"] == {"first": measured, "second": short}


def test_eval_reports_each_sequences_width_weight_also_when_resumed(shared, tmp_path):
    """`track eval`'s summary.json holds ours' reported-width weight per sequence, from the run and from a result
    reused (a note of an earlier version, without it, is tracked again)."""
    import json

    from tracker.eval.cli import eval_main
    from tracker.eval.runner import OURS

    seq = shared / "data" / "MOT15" / "train" / "TUD-Campus"
    if not (seq / "det" / "det.txt").is_file():
        pytest.skip("TUD-Campus public detections are absent from ../shared")
    out = tmp_path / "out"
    args = ["--data", str(seq), "--detections", "public", "--set", "reid.model=none", "--quiet",
            "--cache-dir", str(tmp_path / "cache"), "--out", str(out)]  # fmt: skip
    widths = []
    for _ in range(2):
        assert eval_main(args) == 0
        widths.append(json.loads((out / "summary.json").read_text())["report_width"]["TUD-Campus"])
    assert widths[0] == widths[1] and widths[0]["pairs"] >= widths[0]["min_pairs"] and 0 <= widths[0]["weight"] <= 1
    note = out / OURS / "TUD-Campus.json"
    old = json.loads(note.read_text())
    del old["report_width"]  # as main bad25d6 wrote it
    note.write_text(json.dumps(old))
    assert eval_main(args) == 0
    summary = json.loads((out / "summary.json").read_text())
    assert summary["resumed"] == 0 and summary["report_width"]["TUD-Campus"] == widths[0], summary
