"""`pip install -e .` without an extra: each command or setting that needs one says, in one line, which extra to
install (README.md, "Install"), and makes nothing. A missing package is simulated by `sys.modules[name] = None`."""

from __future__ import annotations

import sys

import numpy as np
import pytest
from media import write_video
from test_cli import one_error_line, scene
from test_eval import _two_people, write_sequence

from tracker.cli import main
from tracker.eval.cli import compare_main, eval_main


@pytest.mark.parametrize(
    "setting", ["detector.model=yolov8n_int8_openvino_model", "reid.backend=openvino", "reid.int8=true"]
)
def test_a_setting_whose_extra_is_missing_is_one_line_naming_it(setting, shared_weights, tmp_path, monkeypatch, capfd):
    """An OpenVINO export as the detector said "needs a package that is not installed: No module named 'openvino'"
    (no word of the extra); reid.backend=openvino named `pip install 'tracker[openvino]'` (which asks PyPI for a
    package named tracker, not this checkout); reid.int8=true said "runs through OpenVINO on the CPU (device cpu,
    reid.backend=auto)", as if the setting were wrong. Each now names the extra and its install command, alone:
    the export's error came after ultralytics' "Loading ... for OpenVINO inference" line and its attempt to
    pip-install openvino into the environment (made where it is online, skipped offline)."""
    monkeypatch.setitem(sys.modules, "openvino", None)
    monkeypatch.setenv("TRACKER_WEIGHTS_DIR", str(shared_weights))  # the detector and OSNet weights found there
    video = str(write_video(tmp_path / "walk.avi", scene(3)))
    argv = [video, "--out", str(tmp_path / "out"), "--device", "cpu", "--set", setting]
    capfd.readouterr()
    assert main([*argv, "--set", "reid.weights=osnet_x0_25_msmt17.pth"]) == 2
    printed = capfd.readouterr()
    said = one_error_line(printed.err)
    assert not printed.out.strip(), printed.out  # (no "Loading ... for OpenVINO inference" before it)
    assert "needs the [openvino] extra, which is not installed" in said, said
    assert said.endswith("pip install -e '.[openvino]'"), said
    assert not (tmp_path / "out").exists(), "nothing is made before the error"


@pytest.mark.parametrize(
    ("command", "missing"), [(eval_main, "trackeval"), (compare_main, "trackeval"), (eval_main, "matplotlib")]
)
def test_eval_without_the_eval_extra_says_so_before_tracking_anything(command, missing, tmp_path, monkeypatch, capsys):
    """`track eval` / `track compare` without TrackEval tracked every sequence (and every peer), wrote their result
    files into --out, then stopped with "error: No module named 'trackeval'": now one line naming the [eval] extra,
    before any folder is made."""
    monkeypatch.setitem(sys.modules, missing, None)
    seq = write_sequence(tmp_path / "data", "TOY", _two_people(6, 10), 6)
    np.savetxt(seq / "det" / "det.txt", np.array(_two_people(6, 7)), delimiter=",", fmt="%g")
    out, cache = tmp_path / "out", tmp_path / "cache"
    assert command(["--data", str(seq), "--out", str(out), "--cache-dir", str(cache), "--workers", "1"]) == 2
    err = [line for line in capsys.readouterr().err.splitlines() if line.strip()]
    name = "compare" if command is compare_main else "eval"
    assert len(err) == 1 and err[0].startswith(f"track {name}: error: scoring needs the [eval] extra"), err
    assert err[0].endswith("pip install -e '.[eval]'"), err
    assert not out.exists() and not cache.exists(), "nothing is made before the error"
