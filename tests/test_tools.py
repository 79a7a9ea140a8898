"""Every script in tools/ still imports and parses its arguments: `--help` exits 0 and prints its usage.

The tools are the benchmarks and evaluations the README's figures come from; they import library internals, so an
API change in tracker/ can break them without any other test noticing. One subprocess runs them all (the imports
are paid once), so the CLI state of one tool cannot leak into this test process."""

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
from tool_scripts import load_tool

from tracker import Tracker, load_config

ROOT = Path(__file__).resolve().parents[1]
TOOLS = sorted((ROOT / "tools").glob("*.py"))
HELP_TIMEOUT_S = 300  # all tools together; about 10 s on a 2-core machine

_RUNNER = r"""
import contextlib, io, json, runpy, sys
results = {}
for path in sys.argv[1:]:
    sys.argv = [path, "--help"]
    out = io.StringIO()
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(out):
            runpy.run_path(path, run_name="__main__")
        results[path] = ["no exit", "usage:" in out.getvalue(), out.getvalue()]
    except SystemExit as stop:
        results[path] = [stop.code or 0, "usage:" in out.getvalue(), out.getvalue()]
    except BaseException as error:
        results[path] = [repr(error), "usage:" in out.getvalue(), out.getvalue()]
print(json.dumps(results))
"""


@pytest.fixture(scope="module")
def tool_helps() -> dict[str, list]:
    """Per tool file name: [exit code or error, whether a usage line was printed, what `--help` printed]."""
    assert len(TOOLS) >= 10, "tools/ lost its scripts"
    done = subprocess.run(
        [sys.executable, "-c", _RUNNER, *map(str, TOOLS)],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=HELP_TIMEOUT_S,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    return {Path(p).name: r for p, r in json.loads(done.stdout.strip().splitlines()[-1]).items()}


def test_every_tool_prints_its_help(tool_helps):
    failed = {name: [r[0], r[1], r[2][-300:]] for name, r in tool_helps.items() if r[0] != 0 or not r[1]}
    assert not failed, failed


def test_every_option_the_readme_gives_a_tool_is_in_its_help(tool_helps):
    """The README's tool command lines (`python tools/bench_core.py --quick --frames 150 --repeats 3`, ...) name
    options each tool has: one renamed or dropped would leave a command that stops at a usage error."""
    readme = "\n".join(p.read_text() for p in [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))])
    spans = re.findall(r"`(?:python3? )?tools/(\w+\.py)([^`]*)`", readme)
    spans += re.findall(r"^python3? tools/(\w+\.py)((?:.*\\\n)*.*)", readme, flags=re.MULTILINE)  # \ continues
    assert len(spans) >= 15
    missing = []
    for name, rest in spans:
        for option in re.findall(r"(?<![\w-])--[\w-]+", rest):
            if not re.search(rf"(?<![\w-]){option}(?![\w-])", tool_helps[name][2]):
                missing.append(f"tools/{name} {option}")
    assert not missing, missing


def test_bench_core_refuses_a_device_it_cannot_use_before_measuring(monkeypatch, capsys):
    """`bench_core.py --device cuda` on a machine without CUDA (here cuda:99, absent on any machine): one usage
    error and exit status 2 before the table starts, not a traceback after its header."""
    bench_core = load_tool("bench_core")
    monkeypatch.setattr(sys, "argv", ["bench_core.py", "--device", "cuda:99", "--quick", "--frames", "1"])
    try:
        bench_core.main()
    except SystemExit as stop:
        assert stop.code == 2
    else:
        raise AssertionError("bench_core.main() accepted a device that does not exist")
    captured = capsys.readouterr()
    assert "cuda:99" in captured.err and "ours ms" not in captured.out


def test_bench_against_times_each_world_once_and_refuses_an_empty_name(monkeypatch, capsys, tmp_path):
    """`bench_against.py OTHER --worlds walking,walking` timed walking twice (two rows, minutes spent), and
    `--worlds walking,` said "no world ''": a world named twice is timed once; an empty name (a comma too many) is
    told so, before the other copy is imported."""
    bench_against = load_tool("bench_against")
    assert bench_against._worlds("walking,churn,walking") == ["walking", "churn"]
    for given, says in (("walking,", "an empty world name in 'walking,'"), ("walk", "no world 'walk'; the worlds")):
        monkeypatch.setattr(sys, "argv", ["bench_against.py", str(tmp_path), "--worlds", given])
        with pytest.raises(SystemExit) as stop:
            bench_against.main()
        assert stop.value.code == 2
        assert f"argument --worlds: {says}" in capsys.readouterr().err


def test_bench_core_growth_sweep_reports_each_steps_growth(monkeypatch, capsys):
    """`bench_core.py --tracks 10,20`: one row per T in the order given, the second with ours' and ByteTrack's
    growth from the first (the ms ratios of the two rows), the first without (nothing to grow from)."""
    bench_core = load_tool("bench_core")
    monkeypatch.setattr(sys, "argv", ["bench_core.py", "--tracks", "10,20", "--frames", "3", "--repeats", "1"])
    bench_core.main()
    rows = [line.split() for line in capsys.readouterr().out.splitlines() if line.strip().startswith("walking")]
    assert [int(r[2]) for r in rows] == [10, 20] and len(rows[0]) == 10
    ours, bytetrack = (float(rows[1][i]) / float(rows[0][i]) for i in (6, 7))
    grown = [float(x) for x in rows[1][10].split("/")]
    assert grown == pytest.approx([ours, bytetrack], rel=0.02, abs=0.01)


@pytest.mark.parametrize("tracks", ["50,abc", "0", "-5", ""])
def test_bench_core_refuses_track_counts_that_are_not_whole_numbers_above_zero(monkeypatch, capsys, tracks):
    """`--tracks 50,abc` was a ValueError traceback, `0` and `-5` timed an empty world (with a numpy warning), and
    an empty value ran the full benchmark: each is now one usage error, exit status 2, before anything is timed."""
    bench_core = load_tool("bench_core")
    monkeypatch.setattr(sys, "argv", ["bench_core.py", "--tracks", tracks, "--frames", "1", "--repeats", "1"])
    with pytest.raises(SystemExit) as stop:
        bench_core.main()
    assert stop.value.code == 2
    captured = capsys.readouterr()
    assert "--tracks" in captured.err and "whole numbers >= 1" in captured.err and "ours ms" not in captured.out


def test_id_timeline_names_a_missing_file_in_one_usage_line(tmp_path, capsys):
    """A missing gt or result file was a FileNotFoundError traceback."""
    tool = load_tool("id_timeline")
    (tmp_path / "seq" / "gt").mkdir(parents=True)
    (tmp_path / "seq" / "gt" / "gt.txt").write_text("1,1,10,10,20,40,1,1,1\n")
    for argv, missing in (
        ([str(tmp_path / "nope"), str(tmp_path / "r.txt")], tmp_path / "nope" / "gt" / "gt.txt"),
        ([str(tmp_path / "seq"), str(tmp_path / "r.txt")], tmp_path / "r.txt"),
    ):
        with pytest.raises(SystemExit) as stop:
            tool.main(argv)
        assert stop.value.code == 2
        assert f"error: no such file: {missing}" in capsys.readouterr().err


def test_id_timeline_names_a_result_file_that_is_not_motchallenge_csv(tmp_path, capsys):
    """A result file of another tool with a row of words (or a gt.txt of too few columns) was a ValueError
    traceback; now one usage line naming the file and the line, nothing printed on stdout, in either mode."""
    tool = load_tool("id_timeline")
    (tmp_path / "seq" / "gt").mkdir(parents=True)
    (tmp_path / "seq" / "gt" / "gt.txt").write_text("1,1,10,10,20,40,1,1,1\n")
    (tmp_path / "r.txt").write_text("1,1,10,10,20,40,1,-1,-1,-1\n2,1,x,10,20,40,1,-1,-1,-1\n")
    for mode in ([], ["--idf1"]):
        with pytest.raises(SystemExit) as stop:
            tool.main([str(tmp_path / "seq"), str(tmp_path / "r.txt"), *mode])
        captured = capsys.readouterr()
        assert stop.value.code == 2 and not captured.out
        assert f"error: {tmp_path / 'r.txt'}: not a MOTChallenge csv (line 2" in captured.err, captured.err


def test_id_timeline_refuses_result_frames_outside_the_sequence(tmp_path, capsys):
    """A result row at frame 900 of a 525-frame sequence (another tool's off-by-one, a file of another sequence) was
    counted ("result boxes 1", IDF1 printed) where TrackEval, whose IDF1 the tool repeats, refuses the file."""
    tool = load_tool("id_timeline")
    (tmp_path / "seq" / "gt").mkdir(parents=True)
    (tmp_path / "seq" / "seqinfo.ini").write_text("[Sequence]\nname=seq\nframeRate=10\nseqLength=3\n")
    (tmp_path / "seq" / "gt" / "gt.txt").write_text("1,1,10,10,20,40,1,1,1\n")
    (tmp_path / "r.txt").write_text("1,1,10,10,20,40,1,-1,-1,-1\n4,1,10,10,20,40,1,-1,-1,-1\n")
    with pytest.raises(SystemExit) as stop:
        tool.main([str(tmp_path / "seq"), str(tmp_path / "r.txt"), "--idf1"])
    captured = capsys.readouterr()
    assert stop.value.code == 2 and not captured.out
    assert f"{tmp_path / 'r.txt'}: frame 4 is outside 1..seqLength=3 of {tmp_path / 'seq'}" in captured.err
    (tmp_path / "r.txt").write_text("3,1,10,10,20,40,1,-1,-1,-1\n")
    assert tool.main([str(tmp_path / "seq"), str(tmp_path / "r.txt"), "--idf1"]) == 0  # the last frame is in


def test_id_timeline_reads_a_val_half_run_against_the_val_half(tmp_path, capsys):
    """`track eval --split val-half` numbers its results from 1 at the val half's first frame (N//2+2): they were
    matched to the sequence's first frames instead (TUD-Campus: IDF1 18.59 where `track eval` said 83.93). The
    summary.json beside the run's tracker folder says so; the val half's gt is read, renumbered the same way."""
    import json

    tool = load_tool("id_timeline")
    (tmp_path / "seq" / "gt").mkdir(parents=True)
    (tmp_path / "seq" / "seqinfo.ini").write_text("[Sequence]\nname=seq\nframeRate=10\nseqLength=6\n")
    gt = "".join(f"{f},1,{10 if f < 5 else 300},10,20,40,1,1,1\n" for f in range(1, 7))  # val half: frames 5-6
    (tmp_path / "seq" / "gt" / "gt.txt").write_text(gt)
    run = tmp_path / "out"
    (run / "ours").mkdir(parents=True)
    (run / "ours" / "seq.txt").write_text("1,7,300,10,20,40,1,-1,-1,-1\n2,7,300,10,20,40,1,-1,-1,-1\n")
    (run / "summary.json").write_text(json.dumps({"split": "val-half"}))
    assert tool.main([str(tmp_path / "seq"), str(run / "ours" / "seq.txt"), "--idf1"]) == 0
    assert capsys.readouterr().out.startswith("ours: IDF1 100.00 | IDTP 2 | gt boxes 2 | result boxes 2\n")
    (run / "ours" / "seq.txt").write_text("3,7,300,10,20,40,1,-1,-1,-1\n")  # the val half has 2 frames
    with pytest.raises(SystemExit) as stop:
        tool.main([str(tmp_path / "seq"), str(run / "ours" / "seq.txt")])
    assert (
        stop.value.code == 2
        and "frame 3 is outside 1..2 (its --split val-half run's frames)" in capsys.readouterr().err
    )


def test_bench_update_blocks_alternates_modes_and_times_each_call(monkeypatch, capsys):
    """The modes take turns of `block` frames (the order flipping every turn), every frame in order within a pass,
    the first `skip` frames of a turn not counted; the detector's, the ReID's and the ReID network's time (inside the
    ReID's) are split out of update()'s, and the report says where a mode's extra time over the baseline goes."""
    import time

    monkeypatch.syspath_prepend(str(ROOT / "tools"))  # it imports bench_pipeline, as a script beside it
    blocks = load_tool("bench_update_blocks")
    calls = []

    class FakeEmbedder:  # its network (`model`) takes half of each call
        def __init__(self, embed_s):
            self.embed_s = embed_s
            self.model = lambda: time.sleep(embed_s / 2)

        def __call__(self, frame):
            time.sleep(self.embed_s / 2)
            self.model()

    class FakeTracker:
        def __init__(self, name, detect_s, embed_s):
            self.name, self.detect_s = name, detect_s
            self.detector = lambda frame: time.sleep(detect_s)
            self.embedder = None if embed_s is None else FakeEmbedder(embed_s)

        def reset(self):
            calls.append((self.name, "reset"))

        def update(self, frame):
            calls.append((self.name, frame))
            self.detector(frame)
            if self.embedder is not None:
                self.embedder(frame)

    trackers = {"slow": FakeTracker("slow", 0.004, 0.002), "fast": FakeTracker("fast", 0.001, None)}
    rows = blocks.run_blocks(trackers, list(range(6)), passes=2, block=3, skip=1)
    order = [c for c in calls if c[1] != "reset"]
    expected = []
    for repeat in range(2):
        for first in (0, 3):
            names = ("slow", "fast") if (first // 3 + repeat) % 2 == 0 else ("fast", "slow")
            expected += [(name, i) for name in names for i in range(first, first + 3)]
    assert order == expected
    assert {mode: len(r) for mode, r in rows.items()} == {"slow": 8, "fast": 8}
    detect, reid, forward, update = (blocks.COLUMNS.index(c) for c in ("detect", "reid", "forward", "update"))
    slow, fast = rows["slow"], rows["fast"]
    assert (slow[:, detect] >= 4).all() and (slow[:, reid] >= 2).all() and (fast[:, reid] == 0).all()
    assert (slow[:, forward] >= 1).all() and (slow[:, reid] >= slow[:, forward] + 1).all()
    assert (fast[:, forward] == 0).all()
    assert (slow[:, update] >= slow[:, detect] + slow[:, reid]).all()
    blocks.report(rows, "fast")
    extra = capsys.readouterr().out.split("extra CPU ms a frame over 'fast'")[1].splitlines()[1]
    assert extra.startswith("slow") and "network" in extra and "rest of ReID" in extra
    # medians: a 1 ms sleep can overrun by a few ms on a loaded machine (once 4.7 ms in a fresh-clone CI run)
    assert np.median(fast[:, detect]) < np.median(slow[:, detect])
    assert blocks.parse_mode("no reid=reid.model=none, detector.threads=0") == (
        "no reid",
        ["reid.model=none", "detector.threads=0"],
    )


def test_bench_update_blocks_gives_the_ratios_over_the_frames_no_other_process_delayed(monkeypatch, tmp_path, capsys):
    """Stop 71: on a shared host the detector's slowdown behind the ReID showed only in the frames during which no
    task waited for a CPU (Linux's CPU pressure stall information). Each frame's stall is the clock's growth over its
    update(); the quiet frames' ratios are printed apart, and a kernel without the file says so instead."""
    import time

    monkeypatch.syspath_prepend(str(ROOT / "tools"))
    blocks = load_tool("bench_update_blocks")
    pressure = tmp_path / "cpu"
    pressure.write_text("some avg10=1.00 avg60=2.00 avg300=3.00 total=123456\nfull avg10=0.00 total=0\n")
    monkeypatch.setattr(blocks, "PRESSURE", pressure)
    assert blocks.cpu_stall_ms() == 123.456
    monkeypatch.setattr(blocks, "PRESSURE", tmp_path / "absent")
    assert np.isnan(blocks.cpu_stall_ms())

    class FakeTracker:
        def __init__(self, detect_s):
            self.detector = lambda frame: time.sleep(detect_s)
            self.embedder = None

        def reset(self):
            pass

        def update(self, frame):
            self.detector(frame)

    # read before and after each update(): 0.1 ms of stall in each, 5 ms in every third update() called
    stalls = {0: 5.0, 3: 5.0}
    state = {"frame": 0, "total": 0.0, "after": False}

    def clock():
        if state["after"]:
            state["total"] += stalls.get(state["frame"] % 6, 0.1)
            state["frame"] += 1
        state["after"] = not state["after"]
        return state["total"]

    trackers = {"slow": FakeTracker(0.003), "fast": FakeTracker(0.001)}
    rows = blocks.run_blocks(trackers, list(range(6)), passes=1, block=3, skip=0, stall_clock=clock)
    stall = blocks.COLUMNS.index("stall")
    assert sorted(np.round(rows["slow"][:, stall], 3)) == [0.1, 0.1, 0.1, 0.1, 5.0, 5.0]
    blocks.report(rows, "fast", quiet_ms=1.0)
    quiet = capsys.readouterr().out.split("quiet frames (no task waited 1.0 ms or more")[1].splitlines()
    assert quiet[0].endswith("slow 4, fast 4")
    assert quiet[1].startswith("slow") and "frames/s" in quiet[1] and "detector" in quiet[1]
    rows["fast"][0, stall] = np.nan  # what `cpu_stall_ms` reads where the kernel has no such file
    blocks.report(rows, "fast")
    assert "no quiet-frame figures" in capsys.readouterr().out


def test_core_outputs_refuses_what_it_cannot_check_in_one_line(tmp_path, capsys):
    """`core_outputs.py check ref.npz --only walkng` checked nothing and exited 0 (a typo passed as "identical"); a
    missing reference was a FileNotFoundError traceback; a reference recorded with --only, a KeyError."""
    tool = load_tool("core_outputs")
    for argv, message in (
        (["check", str(tmp_path / "ref.npz"), "--only", "walkng"], "--only: no run walkng; the runs are walking,"),
        (["check", str(tmp_path / "ref.npz")], f"no such reference file: {tmp_path / 'ref.npz'}"),
        (["record", str(tmp_path / "nope" / "ref.npz")], f"no such folder: {tmp_path / 'nope'}"),
    ):
        with pytest.raises(SystemExit) as stop:
            tool.main(argv)
        assert stop.value.code == 2 and message in capsys.readouterr().err
    partial = tmp_path / "partial.npz"
    tool.main(["record", str(partial), "--frames", "3", "--only", "walking_t10"])
    with pytest.raises(SystemExit) as stop:
        tool.main(["check", str(partial), "--frames", "3", "--only", "walking_t10", "churn"])
    assert "the reference has no churn run (recorded with --only?)" in str(stop.value.code)
    with pytest.raises(SystemExit) as stop:
        tool.main(["check", str(partial), "--frames", "3", "--only", "walking_t10"])
    assert stop.value.code == 0 and "walking_t10: identical" in capsys.readouterr().out


def test_update_outputs_refuses_what_it_cannot_do_before_loading_a_model(tmp_path, monkeypatch, capsys):
    """`update_outputs.py check missing.pkl` tracked all three sources (minutes) and then died with a
    FileNotFoundError traceback; `record` into a missing folder, the same; `--frames -3` recorded no street frame;
    a bad `--set`, a ConfigError traceback. Each is now one usage line before any model loads."""
    tool = load_tool("update_outputs")
    monkeypatch.setattr(tool, "record", None)  # any call to it would be a TypeError, not the usage error
    for argv, message in (
        (["check", str(tmp_path / "ref.pkl")], f"no such reference file: {tmp_path / 'ref.pkl'}"),
        (["record", str(tmp_path / "nope" / "ref.pkl")], f"no such folder: {tmp_path / 'nope'}"),
        (["record", str(tmp_path / "ref.pkl"), "--frames", "-3"], "--frames: must be at least 1"),
        (["record", str(tmp_path / "ref.pkl"), "--set", "detector.confidense=0.2"], "did you mean"),
    ):
        with pytest.raises(SystemExit) as stop:
            tool.main(argv)
        err = capsys.readouterr().err
        assert stop.value.code == 2 and "usage:" in err and message in err, err
    (tmp_path / "other.npz").write_bytes(b"PK\x03\x04 not a pickle")  # core_outputs' reference, given by mistake
    with pytest.raises(SystemExit) as stop:
        tool.main(["check", str(tmp_path / "other.npz")])
    assert stop.value.code == 2 and "is not a record of `update_outputs.py record`" in capsys.readouterr().err


def test_update_outputs_says_a_reference_of_other_frames_is_not_a_difference(tmp_path, monkeypatch, capsys):
    """A reference recorded with `--frames 50` checked with the default 100: "people.mp4: DIFFERS at frame 51", as
    if the outputs had changed; it now says the frame counts differ."""
    tool = load_tool("update_outputs")
    names = list(tool.sources(tmp_path, 1))

    def fake_record(shared, cfg, street_frames):
        frames = {name: [[(1, (0.0, 0.0, 1.0, 1.0))]] * (street_frames if name == names[-1] else 3) for name in names}
        return {name: {"frames": f, "calibration": {}} for name, f in frames.items()}, {n: {"crops": 0} for n in names}

    monkeypatch.setattr(tool, "shared_config", lambda device, overrides: (tmp_path, None))
    monkeypatch.setattr(tool, "record", fake_record)
    reference = tmp_path / "ref.pkl"
    tool.main(["record", str(reference), "--frames", "50"])
    with pytest.raises(SystemExit) as stop:
        tool.main(["check", str(reference), "--frames", "50"])
    assert stop.value.code == 0 and f"{names[-1]}: identical (50 frames" in capsys.readouterr().out
    with pytest.raises(SystemExit) as stop:
        tool.main(["check", str(reference)])
    out = capsys.readouterr().out
    assert stop.value.code == 1 and f"{names[-1]}: the reference holds 50 frames, this run 100" in out, out
    assert "DIFFERS" not in out


def test_update_outputs_counts_no_crops_without_a_reid_model():
    """With `--set reid.model=none` (motion only) the crop counter wrapped the absent embedder in a function, so
    the tracker took it for one and called None: TypeError on the first frame with a detection."""
    tool = load_tool("update_outputs")

    class Motionless:
        embedder = None

    tracker, counts = Motionless(), {"crops": 0}
    tool._count_crops(tracker, counts)
    assert tracker.embedder is None and counts == {"crops": 0}


def test_id_timeline_idf1_names_whose_track_took_a_persons_boxes(tmp_path, capsys):
    """`--idf1`: person 2's boxes were covered by ID 5, which the identity matching gave person 7."""
    tool = load_tool("id_timeline")
    (tmp_path / "seq" / "gt").mkdir(parents=True)
    gt = [f"{f},{2 if f <= 4 else 7},10,10,20,40,1,1,1" for f in range(1, 11)]
    (tmp_path / "seq" / "gt" / "gt.txt").write_text("\n".join(gt) + "\n")
    (tmp_path / "ours").mkdir()
    rows = [f"{f},5,11,10,20,40,1,-1,-1,-1" for f in range(1, 11)]
    (tmp_path / "ours" / "r.txt").write_text("\n".join(rows) + "\n")
    assert tool.main([str(tmp_path / "seq"), str(tmp_path / "ours" / "r.txt"), "--idf1"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0].startswith("ours: IDF1 60.00 | IDTP 6 | gt boxes 10 | result boxes 10")
    assert "2 | ours | 4 boxes | IDTP 0 (no ID) | 5:4>7" in out
    assert "7 | ours | 6 boxes | IDTP 6 (ID 5) | 5:6>7" in out


def test_bench_update_bounds_deferred_stand_in_takes_the_frame_size_the_core_passes(monkeypatch):
    """`bench_update_bounds.py`'s deferred tracker records each frame's detections by wrapping the core's
    `_frame_pairs(dets, frame_size)` (it wrapped `_frame_view(dets, embed)`, which the core came to call with the
    frame size too: its second table stopped at the first frame with a TypeError, after the first table's minutes of
    measuring; a wrapper of another signature than the core's call fails here)."""
    monkeypatch.syspath_prepend(str(ROOT / "tools"))  # it imports bench_pipeline beside it, as when run
    tool = load_tool("bench_update_bounds")
    tracker = Tracker(load_config(None, overrides=["device=cpu"]), frame_rate=30)
    tracker.embedder = SimpleNamespace(model=lambda crops: None)  # its forward runs only for late rows
    deferred = tool.DeferredLateRows(tracker)
    boxes, scores = np.array([[10.0, 10.0, 60.0, 150.0], [200.0, 20.0, 250.0, 160.0]]), np.array([0.9, 0.8])
    for _ in range(3):
        tracks = tracker.update_detections(boxes, scores, frame_size=(480, 640))
    assert len(tracks) == 2 and len(deferred._dets) == 2


def test_bench_against_times_two_copies_of_the_core_in_one_process(tmp_path):
    """`bench_against.py OTHER`: both copies' cores run (each from its own files) and one row per world gives each
    side's ms and their ratio; a folder without a tracker/ package is a usage error, not a traceback."""
    tool = str(ROOT / "tools" / "bench_against.py")
    run = [sys.executable, tool, str(ROOT), "--worlds", "walking", "--frames", "2", "--repeats", "1"]
    done = subprocess.run(run, capture_output=True, text=True, cwd=ROOT, timeout=HELP_TIMEOUT_S)
    assert done.returncode == 0, done.stderr[-2000:]
    lines = done.stdout.splitlines()
    assert sum(line.startswith("core from") for line in lines) == 2
    row = next(line.split() for line in lines if line.strip().startswith("walking"))
    assert float(row[1]) > 0 and float(row[2]) > 0 and float(row[3]) > 0
    refused = subprocess.run([sys.executable, tool, str(tmp_path)], capture_output=True, text=True, cwd=ROOT)
    assert refused.returncode == 2 and "holds no tracker/ package" in refused.stderr
    # the street world (real boxes, asked by name) without ../shared: one line saying so, the other worlds still run
    env = {**os.environ, "TRACKER_SHARED": str(tmp_path)}
    street = run[:3] + ["--worlds", "street,walking", "--frames", "2", "--repeats", "1"]
    done = subprocess.run(street, capture_output=True, text=True, cwd=ROOT, timeout=HELP_TIMEOUT_S, env=env)
    assert done.returncode == 0, done.stderr[-2000:]
    assert "street (no street world: ../shared/videos/people.mp4 not found" in done.stdout
    assert any(line.strip().startswith("walking") for line in done.stdout.splitlines())


@pytest.mark.parametrize(
    ("tool", "argv", "says"),
    [
        ("bench_core", ["--frames", "0", "--quick"], "--frames: must be at least 1"),  # ran, a table of nan
        ("bench_core", ["--dim", "0", "--quick"], "--dim: must be at least 1"),  # ran on zero embeddings
        ("bench_pipeline", ["--repeats", "-1"], "--repeats: must be at least 1"),  # KeyError after loading models
        ("bench_pipeline", ["--threads", "-2"], "--threads: must be at least 0"),
        ("bench_pipeline", ["--device", "tpu"], "device: 'tpu' is not a device"),  # torch's RuntimeError
        ("bench_pipeline", ["--set", "detector.confidense=0.2"], "did you mean"),  # a ConfigError traceback
        ("bench_gallery", ["--sizes", "0"], "--sizes: must be at least 1"),  # AssertionError
        ("bench_checkpoint", ["--tracks", "-1"], "--tracks: must be at least 1"),  # ValueError: NaN to integer
        ("bench_batch", ["--frames", "0"], "--frames: must be at least 1"),  # started Ray, then hung
        # the phases measured, then 'the save due at frame 100 had not finished after 50 frames'; a FileNotFoundError
        ("bench_gallery_save", ["--identities", "10", "--frames", "50", "--save-at", "100"], "must be below --frames"),
        ("bench_gallery_save", ["--identities", "10", "--folder", "no-such-folder"], "--folder: no such folder"),
        ("bench_batch", ["--gpus-per-video", "-1"], "--gpus-per-video: must be a number >= 0"),  # after Ray started
        ("bench_cmc", ["--methods", "bogus"], "invalid choice: 'bogus'"),  # a ConfigError traceback
        ("bench_cmc", ["--widths", "0"], "motion.camera_image_width: 0 is out of range"),  # a ConfigError traceback
        ("bench_cmc", ["--seed", "-1"], "--seed: must be at least 0"),  # numpy's 'expected non-negative integer'
        ("bench_cmc", ["--variants", "bogus"], "invalid choice: 'bogus'"),  # ValueError after reading the sequence
        ("bench_cmc", ["--frames", "1"], "--frames must be at least 2"),  # StatisticsError: no median, after accuracy
        ("cmc_exact", ["--seed", "-1"], "--seed: must be at least 0"),  # the same, after loading the sequences
        ("bench_against", [".", "--repeats", "0"], "--repeats: must be at least 1"),  # min() of an empty sequence
        ("bench_against", [".", "--frames", "0"], "--frames: must be at least 1"),  # ZeroDivisionError
        ("bench_against", [".", "--worlds", "bogus"], "--worlds: no world 'bogus'"),  # KeyError
        ("core_outputs", ["record", "ref.npz", "--frames", "0"], "--frames: must be at least 1"),  # empty reference
        # a check that called identical boxes different (up to 0 px, exit status 1), or any boxes identical (NaN)
        ("core_outputs", ["check", "ref.npz", "--atol", "-1"], "--atol: must be a number >= 0, got -1"),
        ("core_outputs", ["check", "ref.npz", "--atol", "nan"], "--atol: must be a number >= 0, got nan"),
        ("bench_update_blocks", ["--passes", "0"], "--passes: must be at least 1"),  # after loading the models
        ("bench_update_blocks", ["--skip", "-1"], "--skip: must be at least 0"),
        ("soak", ["--frames", "2000"], "--frames: must be at least 4,000"),  # run_soak's ValueError traceback
        ("soak", ["--window", "0", "--frames", "10"], "--window: must be at least 1"),  # ZeroDivisionError
        ("soak", ["--threads", "0", "--frames", "10"], "--threads: must be at least 1"),  # torch's RuntimeError
        ("eval_cross_clip", ["--data", "no-such-folder"], "no such folder: no-such-folder"),  # a traceback
        ("eval_cross_clip", ["--data", ".", "--set", "reid.weigths=x.pth"], "did you mean"),  # a ConfigError traceback
        # a ConfigError traceback (before loading the frames, or after: --mode's overrides)
        ("eval_own_looks", ["--set", "reid.weigths=x.pth"], "did you mean"),
        ("eval_real_pipeline", ["--set", "reid.weigths=x.pth"], "did you mean"),
        ("profile_pipeline", ["--set", "reid.weigths=x.pth"], "did you mean"),
        ("quantize_reid", ["--set", "reid.weigths=x.pth"], "did you mean"),
        ("bench_update_bounds", ["--set", "reid.weigths=x.pth"], "did you mean"),
        ("bench_update_blocks", ["--set", "reid.weigths=x.pth"], "did you mean"),
        ("bench_update_blocks", ["--mode", "x=reid.weigths=x.pth", "--baseline", "x"], "--mode 'x': unknown config"),
        ("cmc_exact", ["--set", "reid.weigths=x.pth"], "did you mean"),
        # counts of 0: a traceback (IndexError, a TypeError printing the table, NNCF's or numpy's error), or after
        # loading the models (FileNotFoundError here, where the models are absent)
        ("bench_reid_settings", ["--calls", "0"], "--calls: must be at least 1"),
        ("bench_reid_settings", ["--frames", "0"], "--frames: must be at least 1"),
        ("bench_reid_settings", ["--sizes", "2", "0"], "--sizes: must be at least 1"),
        ("eval_own_looks", ["--dims", "0"], "--dims: must be at least 1"),
        ("eval_own_looks", ["--seed", "-1"], "--seed: must be at least 0"),
        ("quantize_reid", ["--crops", "0"], "--crops: must be at least 1"),
        ("profile_pipeline", ["--frames", "0"], "--frames: must be at least 1"),
        ("profile_pipeline", ["--repeats", "0"], "--repeats: must be at least 1"),
        ("bench_update_bounds", ["--frames", "0"], "--frames: must be at least 1"),
        ("bench_update_bounds", ["--repeats", "0"], "--repeats: must be at least 1"),
        ("bench_update_bounds", ["--calls", "0"], "--calls: must be at least 1"),
        # a ZeroDivisionError after tracking, in the noise's sigma, a table of NaN looks scored, Tracker's ValueError
        ("eval_leave_return", ["--people", "0"], "--people: must be at least 1"),
        ("eval_leave_return", ["--dim", "0"], "--dim: must be at least 1"),
        ("eval_leave_return", ["--seeds", "-1"], "--seeds: must be at least 0"),
        ("eval_leave_return", ["--same", "2"], "--same: a cosine in (0, 1], got 2"),
        ("eval_leave_return", ["--fps", "0"], "--fps: must be between"),
        # after tracking every clip: a table of zeros (exit status 0), a traceback on a temporary seqinfo.ini
        ("eval_cross_clip", ["--data", ".", "--clips", "0"], "--clips: must be at least 1"),
        ("eval_cross_clip", ["--data", ".", "--gaps", "5", "-5"], "--gaps: seconds >= 0, got -5"),
        # the shared weights absent (an empty $TRACKER_SHARED here): a FileNotFoundError traceback once models loaded
        ("bench_reid_settings", [], "osnet_x0_25_msmt17.pth"),
        ("eval_real_pipeline", [], "osnet_x0_25_msmt17.pth"),
        ("profile_pipeline", [], "osnet_x0_25_msmt17.pth"),
        ("bench_update_blocks", [], "osnet_x0_25_msmt17.pth"),
    ],
)
def test_a_benchmark_refuses_a_bad_argument_with_one_usage_line_before_measuring(
    tool, argv, says, monkeypatch, capsys, tmp_path
):
    """The `make bench`-style tools took 0 or negative counts, an unknown device or config key, or a method that does
    not exist, and failed with a traceback, a table of NaN or a hang after loading models or starting Ray."""
    monkeypatch.setenv("TRACKER_SHARED", str(tmp_path))  # bench_pipeline's models are never reached
    monkeypatch.chdir(tmp_path)  # a tool that ran anyway writes nothing into the checkout (core_outputs' ref.npz)
    monkeypatch.syspath_prepend(str(ROOT / "tools"))  # some import bench_pipeline beside them, as when run
    module = load_tool(tool)
    monkeypatch.setattr(sys, "argv", [f"{tool}.py", *argv])
    with pytest.raises(SystemExit) as stop:
        module.main()
    err = capsys.readouterr().err
    assert stop.value.code == 2 and "usage:" in err and says in err, err


def test_eval_cross_clip_names_a_missing_reid_weights_file_in_one_usage_line(shared, monkeypatch, capsys):
    """The README's cross-clip command without its weights (`$W`): the library's message naming the file, as one usage
    line before any tracking runs (it came after a traceback)."""
    root = shared / "data" / "MOT15" / "train" / "TUD-Campus"
    if not (root / "img1").is_dir():
        pytest.skip(f"{root} is absent")
    module = load_tool("eval_cross_clip")
    argv = ["--data", str(root), "--detections", "public", "--peers", "--set", "reid.weights=no-such-osnet.pth"]
    monkeypatch.setattr(sys, "argv", ["eval_cross_clip.py", *argv])
    with pytest.raises(SystemExit) as stop:
        module.main()
    err = capsys.readouterr().err
    assert stop.value.code == 2 and "usage:" in err and "no-such-osnet.pth" in err, err


def _walking_sequence(seq: Path, length: int = 20) -> Path:
    """A MOTChallenge folder `seq`: two people walking `length` frames, gt and public detections (the gt boxes)."""
    (seq / "gt").mkdir(parents=True)
    (seq / "det").mkdir()
    (seq / "seqinfo.ini").write_text(f"[Sequence]\nname={seq.name}\nframeRate=10\nseqLength={length}\n")
    gt = [[f, i, x0 + step * f, y, 50, 120, 1, 1, 1.0] for f in range(1, length + 1)
          for i, x0, step, y in ((1, 100, 3, 100), (2, 400, -3, 150))]  # fmt: skip
    np.savetxt(seq / "gt" / "gt.txt", np.array(gt), delimiter=",", fmt="%g")
    np.savetxt(seq / "det" / "det.txt", [[r[0], -1, *r[2:6], 0.9] for r in gt], delimiter=",", fmt="%g")
    return seq


def test_official_scores_finds_the_data_of_a_run_given_a_relative_path(tmp_path, capsys, monkeypatch):
    """summary.json kept `--data` as typed, so tools/official_scores.py run from another folder than the eval's could
    not find a run's sequences (usr41); it is the absolute path now."""
    from tracker.eval.cli import eval_main

    _walking_sequence(tmp_path / "data" / "WALK")
    monkeypatch.chdir(tmp_path)
    argv = ["--data", "data/WALK", "--detections", "public", "--out", "run", "-q", "--cache-dir", "cache"]
    assert eval_main(argv) == 0
    assert json.loads((tmp_path / "run" / "summary.json").read_text())["data"] == str(tmp_path / "data" / "WALK")
    monkeypatch.chdir(tmp_path / "run")
    assert load_tool("official_scores").main([str(tmp_path / "run")]) == 0, capsys.readouterr().out


def test_official_scores_agree_with_track_eval_and_flag_a_changed_figure(tmp_path, capsys):
    """tools/official_scores.py scores `track eval` result files as TrackEval's run_mot_challenge.py does (gt copied
    as it is; val-half gt made as ByteTrack makes gt_val_half.txt): the same figures on a synthetic run of each split;
    a reported figure that is not TrackEval's is flagged, and the old val half (a frame early) is refused."""
    from tracker.eval.cli import eval_main

    tool = load_tool("official_scores")
    seq = _walking_sequence(tmp_path / "data" / "WALK")
    for split in ("train", "val-half"):
        out = tmp_path / split
        argv = ["--data", str(seq), "--split", split, "--detections", "public", "--out", str(out), "-q"]
        assert eval_main([*argv, "--cache-dir", str(tmp_path / "cache")]) == 0
        assert tool.main([str(out)]) == 0, capsys.readouterr().out
        assert "every figure agrees" in capsys.readouterr().out
    summary = json.loads((out / "summary.json").read_text())
    summary["sequences"]["WALK"]["IDF1"] += 0.5
    (out / "summary.json").write_text(json.dumps(summary))
    assert tool.main([str(out)]) == 1 and "*" in capsys.readouterr().out
    rows = np.loadtxt(out / "ours" / "WALK.txt", delimiter=",", ndmin=2)
    rows[:, 0] += 1  # the val half one frame early: the last frame is past ByteTrack's gt_val_half
    np.savetxt(out / "ours" / "WALK.txt", rows, delimiter=",", fmt="%g")
    assert tool.main([str(out)]) == 1 and "refused" in capsys.readouterr().out
    with pytest.raises(SystemExit) as stop:
        tool.main([str(tmp_path / "nowhere")])
    assert stop.value.code == 2 and "summary.json" in capsys.readouterr().err


def test_official_scores_keeps_a_long_name_apart_from_the_next_column(tmp_path, capsys):
    """A tracker name as long as its column ran into the next one: `BoxMOT-ByteTrack-fps-t0.5MOT17-09-FRCNN` in the
    check of a `track compare` run. Each column is as wide as its longest name, and one space more. (Here the peer's
    result file is ours' copied, as `track compare` lays out a peer's.)"""
    from tracker.eval.cli import eval_main

    seq = _walking_sequence(tmp_path / "data" / "WALK")
    out = tmp_path / "out"
    argv = ["--data", str(seq), "--detections", "public", "--out", str(out), "-q", "--cache-dir", str(tmp_path / "c")]
    assert eval_main(argv) == 0
    peer = "BoxMOT-ByteTrack-fps-t0.5"  # 25 characters
    shutil.copytree(out / "ours", out / peer)
    summary = json.loads((out / "summary.json").read_text())
    summary["peer_sequences"] = {peer: {"WALK": summary["sequences"]["WALK"]}}
    (out / "summary.json").write_text(json.dumps(summary))
    tool = load_tool("official_scores")
    capsys.readouterr()
    assert tool.main([str(out)]) == 0
    rows = [line.split() for line in capsys.readouterr().out.splitlines() if line.startswith(("ours", "BoxMOT"))]
    assert [row[:2] for row in rows] == [["ours", "WALK"], ["ours", "COMBINED"], [peer, "WALK"]], rows
    assert all(len(row) == 2 + len(tool.METRICS) for row in rows), rows


def test_official_scores_makes_a_jitter_variant_with_the_runs_seed(tmp_path, capsys):
    """`track eval --variants jitter --variant-seed 5` did not record its seed: tools/official_scores.py OUT made the
    variant with seed 0 and scored the results against another camera path's gt (every figure flagged as differing)
    unless the user repeated --variant-seed 5. summary.json records it, and the tool takes it from there."""
    from tracker.eval.cli import eval_main

    seq = _walking_sequence(tmp_path / "data" / "WALK")
    with (seq / "seqinfo.ini").open("a") as ini:
        ini.write("imWidth=640\nimHeight=480\n")
    out, cache = tmp_path / "out", tmp_path / "cache"
    argv = ["--data", str(seq), "--out", str(out), "--cache-dir", str(cache), "-q", "--variants", "jitter"]
    assert eval_main([*argv, "--variant-seed", "5"]) == 0
    assert json.loads((out / "jitter" / "summary.json").read_text())["variant_seed"] == 5
    tool = load_tool("official_scores")
    assert tool.main([str(out), "--cache-dir", str(cache)]) == 0, capsys.readouterr().out
    assert "every figure agrees" in capsys.readouterr().out
    assert tool.main([str(out), "--cache-dir", str(cache), "--variant-seed", "0"]) == 1  # another path: flagged


def test_every_tool_runs_the_tracker_of_its_own_checkout():
    """A tool run as `python tools/X.py` from a worktree or a second clone measures that checkout's `tracker/`: its
    root goes first on sys.path before the first top-level tracker import (Python puts only tools/ there, and the
    venv's editable install points at another checkout: a check there compared that checkout with itself)."""
    missing = []
    for path in TOOLS:
        lines = path.read_text().splitlines()
        first = next((i for i, line in enumerate(lines) if re.match(r"(from|import) tracker\b", line)), None)
        if first is None:
            continue
        if not any(re.match(r"sys\.path\.insert\(0, str\((ROOT|here\.parent)\)\)", line) for line in lines[:first]):
            missing.append(path.name)
    assert not missing, missing


def test_no_tool_reads_an_image_through_cv2_imread():
    """`cv2.imread(str(path))` crashes the process on a path that is not UTF-8 and gives None for a missing or
    damaged file, which a tool met frames later ("'NoneType' object has no attribute 'shape'"): tools read images
    with `tracker.io.opencv_files.image_file` (any name; one error naming the file)."""
    calling = [path.name for path in TOOLS if "cv2.imread(" in path.read_text()]
    assert not calling, calling


def test_official_scores_checks_both_runs_of_an_out_used_with_and_without_variants(tmp_path, capsys):
    """`track eval --variants ...` and then `track eval` into the same --out (refused since stop 54; folders of
    earlier versions hold both, made here by copying a plain run's into it) leave OUT/variants.json and
    OUT/summary.json side by side; tools/official_scores.py OUT checked the variant folders only and said "every
    figure agrees" with the newest run, OUT/summary.json, never scored (a changed figure there went unflagged)."""
    from tracker.eval.cli import eval_main

    tool = load_tool("official_scores")
    seq = tmp_path / "data" / "WALK"
    (seq / "gt").mkdir(parents=True)
    (seq / "det").mkdir()
    (seq / "seqinfo.ini").write_text("[Sequence]\nname=WALK\nframeRate=10\nseqLength=12\nimWidth=640\nimHeight=480\n")
    gt = [[f, i, x0 + 3 * f, 100, 50, 120, 1, 1, 1.0] for f in range(1, 13) for i, x0 in ((1, 100), (2, 400))]
    np.savetxt(seq / "gt" / "gt.txt", np.array(gt), delimiter=",", fmt="%g")
    np.savetxt(seq / "det" / "det.txt", [[r[0], -1, *r[2:6], 0.9] for r in gt], delimiter=",", fmt="%g")
    out, cache = tmp_path / "out", tmp_path / "cache"
    argv = ["--data", str(seq), "--out", str(out), "--cache-dir", str(cache), "-q"]
    assert eval_main([*argv, "--variants", "scale0.5"]) == 0
    plain = tmp_path / "plain"
    assert eval_main(["--data", str(seq), "--out", str(plain), "--cache-dir", str(cache), "-q"]) == 0
    shutil.copytree(plain, out, dirs_exist_ok=True)
    assert tool.main([str(out), "--cache-dir", str(cache)]) == 0
    said = capsys.readouterr().out
    assert f"{out} (" in said and f"{out / 'scale0.5'} (" in said, said
    summary = json.loads((out / "summary.json").read_text())
    summary["combined"]["HOTA"] += 0.5
    (out / "summary.json").write_text(json.dumps(summary))
    assert tool.main([str(out), "--cache-dir", str(cache)]) == 1 and "*" in capsys.readouterr().out


def test_eval_mot17_takes_data_in_either_spelling_argparse_takes(tmp_path, monkeypatch, capsys):
    """`--data=PATH` (one word, as argparse accepts it) was not seen as --data: with ../shared absent the tool refused
    with "not found; pass --data MOT17_ROOT" although the user had passed it."""
    tool = load_tool("eval_mot17")
    monkeypatch.setenv("TRACKER_SHARED", str(tmp_path / "absent"))
    got = []
    monkeypatch.setattr(tool, "eval_main", lambda argv: got.append(argv) or 0)
    assert tool.main([f"--data={tmp_path}", "-q"]) == 0, capsys.readouterr().err
    assert got == [[f"--data={tmp_path}", "-q"]]
    assert tool.main(["-q"]) == 2 and "pass --data" in capsys.readouterr().err


def test_bench_core_street_world_is_the_shared_videos_real_boxes_and_looks(shared, monkeypatch):
    """`bench_core.py`'s street world: the default detector's boxes of ../shared/videos/people.mp4 and one OSNet
    look (512-d, unit length) per box, at the video's frame size; None (the bench says so) without ../shared."""
    bench_core = load_tool("bench_core")
    monkeypatch.setenv("TRACKER_SHARED", str(shared))
    frames, size = bench_core.street_world("cpu", 3)
    assert size == (1080, 1920) and len(frames) == 3
    for frame in frames:
        assert len(frame.scores) == len(frame.boxes_xyxy) == len(frame.embeddings) > 0
        assert frame.embeddings.shape[1] == 512
        np.testing.assert_allclose(np.linalg.norm(frame.embeddings, axis=1), 1.0, atol=1e-4)
        assert frame.scores.min() >= 0.1  # detector.confidence, the default's
    monkeypatch.setenv("TRACKER_SHARED", str(shared / "no-such-folder"))
    assert bench_core.street_world("cpu", 3) is None


def test_bench_core_street_ablation_turns_off_real_keys():
    """Each rule `--street-ablation` turns off is a config key that exists and changes the config (a renamed key
    would be refused; one set to its default would time nothing)."""
    bench_core = load_tool("bench_core")
    defaults = load_config(None)
    for name, overrides in bench_core.STREET_RULES.items():
        assert load_config(None, list(overrides)) != defaults, name


@pytest.mark.parametrize(
    ("tool", "argv"),
    [
        ("bench_cmc", ["--skip-accuracy", "--skip-cost"]),
        ("cmc_exact", ["--sequences", "PETS09-S3-MF1"]),
        ("cmc_large_frames", ["--frames", "2"]),
    ],
)
def test_camera_motion_tools_read_the_shared_data_tracker_shared_names(tool, argv, monkeypatch, tmp_path):
    """These three looked only at ../shared beside the checkout: with $TRACKER_SHARED set (as the README and every
    other tool take it) they said '../shared is absent' where there was none, or measured ../shared's data instead."""
    elsewhere = tmp_path / "shared-elsewhere"
    monkeypatch.setenv("TRACKER_SHARED", str(elsewhere))
    monkeypatch.syspath_prepend(str(ROOT / "tools"))
    module = load_tool(tool)
    monkeypatch.setattr(sys, "argv", [f"{tool}.py", *argv])
    with pytest.raises(SystemExit) as stop:
        module.main()
    assert str(elsewhere) in str(stop.value.code), stop.value.code


@pytest.mark.parametrize(
    ("argv", "says"),
    [
        (["--frames", "1"], "--frames must be at least 2"),  # IndexError in numpy's percentile of no motion
        (["--frames", "2", "--detector", "no-such-model"], "detector weights 'no-such-model' not found"),  # traceback
    ],
)
def test_cmc_large_frames_refuses_what_it_cannot_measure_in_one_usage_line(argv, says, shared, monkeypatch, capsys):
    """One frame has no motion to measure, and a detector that is not there is the library's message, as one usage
    line before any frame is measured: they were an IndexError from numpy and a FileNotFoundError traceback."""
    monkeypatch.setenv("TRACKER_SHARED", str(shared))
    monkeypatch.syspath_prepend(str(ROOT / "tools"))  # it imports bench_cmc beside it, as when run
    monkeypatch.setattr(sys, "argv", ["cmc_large_frames.py", *argv])
    with pytest.raises(SystemExit) as stop:
        load_tool("cmc_large_frames").main()
    err = capsys.readouterr().err
    assert stop.value.code == 2 and "usage:" in err and says in err, err


def test_eval_mot17_help_names_its_own_compare_flag_and_data_default(tmp_path, monkeypatch, capsys):
    """`eval_mot17.py --help` printed `track eval`'s usage alone ('--data DATA' required, no word of the tool's own
    --compare or of --data's default), and with ../shared absent no help at all: 'not found; pass --data'."""
    tool = load_tool("eval_mot17")
    monkeypatch.setenv("TRACKER_SHARED", str(tmp_path / "absent"))
    for flag in ("--help", "-h"):
        with pytest.raises(SystemExit) as stop:
            tool.main([flag])
        out = capsys.readouterr().out
        assert stop.value.code == 0 and "--compare" in out and "defaults to $TRACKER_SHARED" in out, out
        assert "usage: track eval" in out, "then `track eval`'s options, as before"


def test_cmc_large_frames_prints_its_figures_without_ultralytics_loading_lines(shared, monkeypatch, capfd):
    """A tool that loads a detector printed ultralytics' "Loading ... for OpenVINO inference..." and "Using OpenVINO
    LATENCY mode ..." lines among its figures; `track -q` silences them (`quiet_ultralytics`), and so do the tools."""
    import logging

    monkeypatch.setenv("TRACKER_SHARED", str(shared))
    monkeypatch.syspath_prepend(str(ROOT / "tools"))  # it imports bench_cmc beside it, as when run
    detector = shared / "weights" / "yolov8n_int8_openvino_model"
    monkeypatch.setattr(sys, "argv", ["cmc_large_frames.py", "--frames", "2", "--detector", str(detector)])
    ultralytics_log = logging.getLogger("ultralytics")
    level, filters = ultralytics_log.level, list(ultralytics_log.filters)  # (`quiet_ultralytics` adds one)
    ultralytics_log.setLevel(logging.INFO)  # as a fresh process has it
    try:
        capfd.readouterr()
        load_tool("cmc_large_frames").main()
        printed = capfd.readouterr()
    finally:
        ultralytics_log.setLevel(level)
        ultralytics_log.filters[:] = filters
    assert "people masked" in printed.out, printed.out
    assert "Loading" not in printed.out + printed.err and "OpenVINO" not in printed.out + printed.err, printed.out


def test_every_tool_that_loads_a_detector_silences_ultralytics_info_lines():
    """The tools that load the detector (`build_detector`, `Tracker.from_config`, bench_core's `street_world`) call
    `quiet_ultralytics()` in their main, as `track -q` does: its "Loading ..." lines are noise among their figures
    (bench_against's street row printed them, through bench_core's `street_world`)."""
    loads = ("build_detector(", "from_config(", "street_world(")
    loading = [t for t in TOOLS if any(call in t.read_text() for call in loads)]
    assert len(loading) >= 10, [t.name for t in loading]
    assert [t.name for t in loading if "    quiet_ultralytics()" not in t.read_text()] == []


@pytest.mark.parametrize("compare", [False, True])
def test_eval_mot17_help_shows_data_optional_with_the_folder_it_falls_back_to(compare, tmp_path, monkeypatch, capsys):
    """`eval_mot17.py --help` listed `track eval`'s usage "--data DIR" (required) though the tool fills it in from
    the shared MOT17: the usage shows "[--data DIR]" and --data's help names the folder used; `track eval`'s own
    help still has it required."""
    from tracker.eval.cli import compare_main, eval_main

    tool = load_tool("eval_mot17")
    monkeypatch.setenv("TRACKER_SHARED", str(tmp_path / "elsewhere"))
    monkeypatch.setenv("COLUMNS", "1000")  # (argparse wraps the help, and the folder's name, to the terminal)
    with pytest.raises(SystemExit) as stop:
        tool.main(["--compare", "--help"] if compare else ["--help"])
    said = " ".join(capsys.readouterr().out.split())
    assert stop.value.code == 0
    assert f"usage: track {'compare' if compare else 'eval'} [-h] [--data DIR] " in said, said
    assert f"default {tmp_path / 'elsewhere' / 'data' / 'MOT17'}" in said, said
    with pytest.raises(SystemExit) as stopped:
        (compare_main if compare else eval_main)(["--help"])
    assert stopped.value.code == 0, stopped.value.code  # (--help exits 0)
    assert "[-h] --data DIR " in " ".join(capsys.readouterr().out.split()), "required in `track eval` itself"


def test_eval_mot17_help_shows_a_data_folder_with_a_percent_sign(tmp_path, monkeypatch, capsys):
    """$TRACKER_SHARED `.../100%data`: `eval_mot17.py --help` ended in argparse's "ValueError: unsupported format
    character" traceback (help text is %-formatted, and the folder was put in it as it is). It shows the folder."""
    tool = load_tool("eval_mot17")
    monkeypatch.setenv("TRACKER_SHARED", str(tmp_path / "100%data"))
    monkeypatch.setenv("COLUMNS", "1000")  # (argparse wraps the help, and the folder's name, to the terminal)
    with pytest.raises(SystemExit) as stop:
        tool.main(["--help"])
    assert stop.value.code == 0
    assert f"default {tmp_path / '100%data' / 'data' / 'MOT17'}" in " ".join(capsys.readouterr().out.split())


def test_bench_pipeline_offline_detector_download_is_one_usage_line(monkeypatch, capsys):
    """`python tools/bench_pipeline.py --set detector.model=yolov8n.pt` (the README's GPU line before it named
    ../shared's file) on a machine without a network: ultralytics' download failed in a ConnectionError traceback
    after the config was read; it is now one usage line with the message that says what to do."""
    bench = load_tool("bench_pipeline")
    said = "Download failure for yolov8n.pt (detector.model yolov8n.pt is downloaded by ultralytics on first use)"

    def offline(*_args, **_kwargs):
        raise ConnectionError(said)

    monkeypatch.setattr(bench, "build_detector", offline)
    argv = ["bench_pipeline.py", "--set", "detector.model=yolov8n.pt", "--set", "reid.model=none", "--skip-stages"]
    monkeypatch.setattr(sys, "argv", argv)
    with pytest.raises(SystemExit) as stop:
        bench.main()
    assert stop.value.code == 2
    assert f"error: {said}" in capsys.readouterr().err


def test_bench_pipeline_without_a_reid_asks_for_skip_stages_before_timing(monkeypatch, capsys):
    """`python tools/bench_pipeline.py --set reid.model=none` (the stage table on) timed decode and detection, then
    ended in `TypeError: 'NoneType' object is not callable` at the first frame's embed column: the stage table times
    the ReID, so it is one usage line naming --skip-stages, before any frame is read."""
    bench = load_tool("bench_pipeline")
    monkeypatch.setattr(bench, "build_detector", lambda *_args, **_kwargs: object())  # no model loaded
    monkeypatch.setattr(sys, "argv", ["bench_pipeline.py", "--set", "reid.model=none"])
    with pytest.raises(SystemExit) as stop:
        bench.main()
    assert stop.value.code == 2
    assert "reid.model=none has none: add --skip-stages" in capsys.readouterr().err


def test_a_tool_whose_reader_left_early_ends_quietly_with_status_0(tmp_path):
    """`python tools/id_timeline.py SEQ RESULT | head` ended with a BrokenPipeError traceback (and Python's "Exception
    ignored ... BrokenPipeError" at exit, status 120): a reader that read what it wanted is no failure of the tool.
    Every tool runs its `main` through `closed_pipe.run_tool`."""
    seq = tmp_path / "seq"
    (seq / "gt").mkdir(parents=True)
    rows = [f"{f},{p},{10 * p},10,20,40,1,1,1" for p in range(1, 400) for f in (1, 2, 3)]  # 399 lines to print
    (seq / "gt" / "gt.txt").write_text("\n".join(rows) + "\n")
    result = tmp_path / "ours" / "seq.txt"
    result.parent.mkdir()
    result.write_text("\n".join(f"{r.rsplit(',', 3)[0]},1,-1,-1,-1" for r in rows) + "\n")
    tool = subprocess.Popen(
        [sys.executable, str(ROOT / "tools" / "id_timeline.py"), str(seq), str(result)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        cwd=ROOT,
    )
    tool.stdout.close()  # the reader leaves before the first line (`| head -0`)
    _, err = tool.communicate(timeout=HELP_TIMEOUT_S)
    assert err.decode() == "" and tool.returncode == 0, (tool.returncode, err.decode()[-2000:])
    for path in TOOLS:
        assert "raise SystemExit(run_tool(" in path.read_text(), path.name


def test_a_tool_run_with_stderr_closed_puts_nothing_of_its_error_on_stdout():
    """`python tools/id_timeline.py --bogus 2>&-`: with no stderr, argparse put its usage line on stdout (among
    the output a script reads); it goes nowhere, and the status still says the error."""
    tool = subprocess.run(
        ["sh", "-c", f'exec "{sys.executable}" "{ROOT / "tools" / "id_timeline.py"}" --bogus 2>&-'],
        capture_output=True,
        cwd=ROOT,
        timeout=HELP_TIMEOUT_S,
    )
    assert (tool.returncode, tool.stdout.decode()) == (2, "")


def test_bench_against_whose_reader_left_early_ends_quietly_with_status_0():
    """`python tools/bench_against.py OTHER | head -1` ended with a BrokenPipeError traceback, status 1, at its
    second line: it was the one tool not run through `closed_pipe.run_tool` (it imports two trackers by hand; this
    checkout's package is unloaded while the other's is imported, which leaves `run_tool` working)."""
    tool = subprocess.Popen(
        [sys.executable, str(ROOT / "tools" / "bench_against.py"), str(ROOT), "--worlds", "walking"]
        + ["--frames", "1", "--repeats", "1"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        cwd=ROOT,
    )
    tool.stdout.close()  # the reader leaves before the first line
    _, err = tool.communicate(timeout=HELP_TIMEOUT_S)
    assert err.decode() == "" and tool.returncode == 0, (tool.returncode, err.decode()[-2000:])


def test_a_tool_that_ends_with_an_error_after_its_reader_left_keeps_its_status_and_says_only_its_error(tmp_path):
    """`python tools/official_scores.py OUT | head -0` where a figure differs: the tool prints its table (buffered in a
    pipe), returns 1, and its reader is gone. Its status stands and nothing but what it says is on stderr (it ended
    0, the difference hidden). A `sys.exit("message")` after buffered lines alike: status 1 and the message (it ended
    with Python's "Exception ignored ... BrokenPipeError" and status 120)."""
    from tracker.eval.cli import eval_main

    seq = _walking_sequence(tmp_path / "data" / "WALK")
    out = tmp_path / "run"
    argv = ["--data", str(seq), "--detections", "public", "--out", str(out), "-q", "--cache-dir", str(tmp_path / "c")]
    assert eval_main(argv) == 0
    summary = json.loads((out / "summary.json").read_text())
    summary["sequences"]["WALK"]["IDF1"] += 0.5
    (out / "summary.json").write_text(json.dumps(summary))
    exits_with = tmp_path / "exits_with.py"  # a tool's main ending as core_outputs' and update_outputs' may
    exits_with.write_text(
        "import sys\nfrom tracker.closed_pipe import run_tool\n\n"
        "def main():\n    print('a line the reader never reads')\n    sys.exit('the reference has 3 frames, not 2')\n\n"
        "raise SystemExit(run_tool(main))\n"
    )
    env = {k: v for k, v in os.environ.items() if k != "PYTHONUNBUFFERED"} | {"PYTHONPATH": str(ROOT)}
    for command, status, said in (
        ([str(ROOT / "tools" / "official_scores.py"), str(out)], 1, ""),
        ([str(exits_with)], 1, "the reference has 3 frames, not 2\n"),
    ):
        tool = subprocess.Popen([sys.executable, *command], stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
        tool.stdout.close()  # the reader leaves before the first line (`| head -0`)
        _, err = tool.communicate(timeout=HELP_TIMEOUT_S)
        assert (tool.returncode, err.decode()) == (status, said), command


def test_bench_gallery_save_times_a_save_of_a_file_with_a_long_name_as_the_library_names_its_temp_file(tmp_path):
    """bench_gallery_save's write phase named its temp file `.<name>.<8 random>.tmp` itself: a gallery named with
    250 bytes (a file name holds 255) failed with "File name too long" where `Gallery.save` writes it (the temp
    file's name cut to the name's start and a hash). The phases now name it as the library does."""
    from tracker.gallery import Gallery, ModelIdentity

    bench = load_tool("bench_gallery_save")
    path = tmp_path / ("g" * 242 + ".gallery")
    gallery = Gallery(model=ModelIdentity("test", "test", 3))
    gallery.save(path)
    assert "write" in bench.phases(gallery, path, gil=False)
    assert sorted(tmp_path.iterdir()) == [path], "the temp file renamed over the gallery, nothing else left"


def test_bench_batch_gives_each_batch_distinct_videos_that_track_many_accepts(monkeypatch, tmp_path, capsys):
    """`tools/bench_batch.py` gave `track_many` the one clip n times (`[video] * n`), which a batch refuses since
    sources given twice are (`tracker.batch_repeats`): the tool stopped with that ValueError before its 2-video
    row, so docs/batch.md's table could not be measured again. Each batch now gets n copies of the clip."""
    from types import SimpleNamespace

    from tracker.batch_repeats import refuse_repeated

    bench_batch = load_tool("bench_batch")
    shared = tmp_path / "shared"
    (shared / "videos").mkdir(parents=True)
    (shared / bench_batch.VIDEO).write_bytes(b"a clip")
    given = []

    def fake_track_many(videos, cfg, out, **_):
        refuse_repeated(videos)  # (as track_many does without a gallery)
        given.append([Path(v).read_bytes() for v in videos])
        return SimpleNamespace(fps=10.0, seconds=1.0, failed=[], videos=[SimpleNamespace(seconds=1.0)])

    fake_ray = SimpleNamespace(init=lambda **_: None, shutdown=lambda: None)
    monkeypatch.setitem(sys.modules, "ray", fake_ray)
    monkeypatch.setattr(bench_batch, "shared_root", lambda: shared)
    monkeypatch.setattr(bench_batch, "config", lambda shared, device: None)
    monkeypatch.setattr(bench_batch, "track_many", fake_track_many)
    monkeypatch.setattr(bench_batch, "direct_seconds", lambda video, frames, device: (1.0, 1.0))
    monkeypatch.setattr(sys, "argv", ["bench_batch.py", "--frames", "1", "--overhead-frames", "1", "--repeats", "1"])
    bench_batch.main()
    table = [line for line in capsys.readouterr().out.splitlines() if line[:1].isdigit() and " | " in line]
    assert [line.split(" | ")[0] for line in table] == [str(n) for n in bench_batch.COUNTS]
    assert sorted({len(videos) for videos in given}) == sorted({1, *bench_batch.COUNTS})
    assert all(clip == b"a clip" for videos in given for clip in videos)
