"""A command's progress bar is closed on its error paths: the error line that follows starts a line of its own.

An error said while a bar is open lands at the end of the bar's line (`WALK: detector: 13%|█▎ | 4/30 [...]track
eval: error: cannot read ...`), the bar's last state and the error run together. Each command's bar is read here
from stderr as the user sees it (carriage returns and all): every error line must start a line."""

from __future__ import annotations

import errno
import os

import pytest
from media import write_video
from test_cli import fake_models, scene  # noqa: F401 (fake_models: a fixture)
from test_eval import _scene_sequence, blob_models

from tracker.cli import main


def error_lines(err: str, command: str) -> list[str]:
    """The lines of `err` (split at newlines only: a bar redraws its line with carriage returns) that hold an error
    of `command`, each asserted to start its line."""
    said = [line for line in err.split("\n") if f"{command}: error:" in line]
    assert said, err
    for line in said:
        assert line.startswith(f"{command}: error:"), f"the error is on the bar's line: {line!r}"
    return said


@pytest.mark.parametrize("command", ["eval", "compare"])
def test_an_unreadable_image_mid_sequence_is_said_below_the_inputs_bar(command, tmp_path, monkeypatch, capsys):
    """`track eval --detections detector` over a sequence whose 5th image is damaged: the bar of its detector
    pass, then the one error line naming the image (`track compare` makes its inputs the same way)."""
    import tracker.eval.inputs as inputs
    from tracker.eval.cli import compare_main, eval_main

    monkeypatch.setattr(inputs.InputModels, "get", blob_models)
    seq = _scene_sequence(tmp_path / "data", "WALK")
    damaged = seq / "img1" / "000005.png"
    damaged.write_bytes(b"not a png")
    run = eval_main if command == "eval" else compare_main
    args = ["--data", str(tmp_path / "data"), "--detections", "detector", "--workers", "1", "--out",
            str(tmp_path / "out"), "--cache-dir", str(tmp_path / "cache")]  # fmt: skip
    assert run(args) == 2
    err = capsys.readouterr().err
    assert "WALK: detector:" in err, "the bar was shown"
    assert error_lines(err, f"track {command}") == [f"track {command}: error: cannot read {damaged}"]


def test_a_full_disk_mid_run_is_said_below_the_track_bar(fake_models, tmp_path, monkeypatch, capsys):  # noqa: F811
    """`track walk.avi` whose JSONL cannot be written at frame 6 (a full disk): the bar, then the error line."""
    import tracker.io.jsonl as jsonl

    real_write, written = jsonl.JsonlWriter.write, []

    def write_until_full(self, frame, objects):
        if len(written) == 5:
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        written.append(frame)
        real_write(self, frame, objects)

    monkeypatch.setattr(jsonl.JsonlWriter, "write", write_until_full)
    video = write_video(tmp_path / "walk.avi", scene())
    assert main([str(video), "--out", str(tmp_path / "out"), "--no-save-video", "--set", "reid.model=none"]) == 2
    err = capsys.readouterr().err
    assert "5/" in err, "the bar was shown"
    (said,) = error_lines(err, "track")
    assert "No space left on device" in said


def test_a_batch_that_fails_after_its_videos_started_is_said_below_its_bar(tmp_path, monkeypatch, capsys):
    """`track batch` whose engine fails once a video has started (its bar drawn): the one error line below it."""
    import tracker.batch as batch

    def failing_engine(todo, cfg, monitor, workers, start):
        monitor.message(todo[0].index, "start", os.getpid())
        monitor.message(todo[0].index, "frames", 3)
        raise OSError(errno.ENOSPC, f"cannot write {tmp_path / 'out'}: {os.strerror(errno.ENOSPC)}")

    monkeypatch.setattr(batch, "run_local", failing_engine)
    video = write_video(tmp_path / "walk.avi", scene())
    detector = tmp_path / "det.pt"
    detector.write_bytes(b"")  # (a local file: nothing downloaded; the engine never loads it)
    argv = ["batch", str(video), "--out", str(tmp_path / "out"), "--set", "reid.model=none", "--set",
            f"detector.model={detector}"]  # fmt: skip
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert "walk: started" in err, "the bar was shown"
    (said,) = error_lines(err, "track batch")
    assert "No space left on device" in said
