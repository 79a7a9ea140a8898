"""Device fault injection: asking for a device the machine does not have is one clear ValueError at construction.

CUDA's presence is patched where the test is about its absence or count, so the same tests run (and mean the
same) on CPU-only and GPU machines.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

from tracker import Tracker, load_config
from tracker.device import resolve_device


@pytest.fixture
def no_cuda(monkeypatch):
    """A machine without CUDA."""
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 0)


@pytest.fixture
def one_gpu(monkeypatch):
    """A machine with exactly one CUDA device (only resolve_device is exercised: nothing is allocated on it)."""
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 1)


def single_line_value_error(call, *fragments: str) -> ValueError:
    with pytest.raises(ValueError) as info:
        call()
    message = str(info.value)
    assert "\n" not in message, message
    for fragment in fragments:
        assert fragment in message, f"{fragment!r} not in {message!r}"
    return info.value


@pytest.mark.parametrize("name", ["cuda", "cuda:0", "cuda:1"])
def test_cuda_without_cuda_is_a_clear_error_from_tracker(no_cuda, name):
    cfg = load_config(None, overrides=[f"device={name}"])
    single_line_value_error(lambda: Tracker(cfg, frame_rate=30), "device", name, "CUDA is not available", "cpu")


def test_cuda_without_cuda_says_the_option_to_give(no_cuda, tmp_path, capfd):
    """`track video.mp4 --device cuda` on a machine without CUDA said "use device=cpu or auto", the config's words:
    the line now names the option too, `--device cpu` (the command stops before any model loads)."""
    from media import write_video

    from tracker.cli import main

    video = str(write_video(tmp_path / "walk.avi", [np.zeros((32, 32, 3), np.uint8)] * 2))
    out = tmp_path / "out"
    assert main([video, "--device", "cuda", "--set", "reid.model=none", "-q", "--out", str(out)]) == 2
    err = capfd.readouterr().err.strip()
    assert err.startswith("track: error: device: 'cuda' was requested but CUDA is not available here"), err
    assert "`--device cpu` on the command line" in err and "\n" not in err, err
    assert not out.exists()


def test_cuda_without_cuda_fails_before_building_models(no_cuda, monkeypatch):
    """from_config refuses the device before it loads (or downloads) any model."""
    import tracker.detector
    import tracker.embedder

    def must_not_run(*args, **kwargs):
        raise AssertionError("a model was built before the device was checked")

    monkeypatch.setattr(tracker.detector, "build_detector", must_not_run)
    monkeypatch.setattr(tracker.embedder, "build_embedder", must_not_run)
    cfg = load_config(None, overrides=["device=cuda"])
    single_line_value_error(lambda: Tracker.from_config(cfg), "CUDA is not available")


def test_the_real_machine_agrees_with_its_cuda():
    """Unpatched: device=cuda works exactly where torch sees CUDA, and is the clear error elsewhere."""
    cfg = load_config(None, overrides=["device=cuda"])
    if torch.cuda.is_available():
        tracker = Tracker(cfg, frame_rate=30)
        assert tracker.device.type == "cuda"
        out = tracker.update_detections([[10.0, 10.0, 60.0, 110.0]], [0.9], embeddings=np.ones((1, 8)))
        assert [o.track_id for o in out] == [1]
    else:
        single_line_value_error(lambda: Tracker(cfg, frame_rate=30), "CUDA is not available")


def test_missing_gpu_index_is_a_clear_error(one_gpu):
    single_line_value_error(lambda: resolve_device("cuda:3"), "cuda:3", "does not exist", "1 GPU")
    assert resolve_device("cuda:0") == torch.device("cuda:0")
    assert resolve_device("cuda") == torch.device("cuda")


def test_auto_picks_what_is_there(no_cuda):
    assert resolve_device("auto") == torch.device("cpu")
    tracker = Tracker(load_config(None, overrides=["device=auto"]), frame_rate=30)
    assert tracker.device == torch.device("cpu")
    assert tracker.core.bank.device == torch.device("cpu")


def test_auto_prefers_cuda_when_present(one_gpu):
    assert resolve_device("auto") == torch.device("cuda")


# Explicit ids keep the test ids free of odd characters ("", "cpu,cuda").
BAD_NAMES = ["gpu", "GPU", "CPU", "tpu", "", "cuda:x", "cuda:-1", "cuda0", "0", "cpu,cuda"]


@pytest.mark.parametrize("name", BAD_NAMES, ids=[f"name{i}" for i in range(len(BAD_NAMES))])
def test_unknown_device_strings_are_a_clear_error(name):
    """One short line naming what is accepted: `device=gpu` used to end with torch's ~20 device types, and came only
    when a Tracker was built. The config refuses it on loading; `resolve_device` (a caller's own string) too."""
    if not name:
        single_line_value_error(lambda: load_config(None, overrides={"device": name}), "device", "no value given")
        return
    error = single_line_value_error(lambda: load_config(None, overrides={"device": name}), "device", repr(name))
    assert "use auto, cpu, cuda or cuda:N" in str(error) and "mkldnn" not in str(error), str(error)
    error = single_line_value_error(lambda: resolve_device(name), "device", repr(name))
    assert "use auto, cpu, cuda or cuda:N" in str(error) and "mkldnn" not in str(error), str(error)


@pytest.mark.parametrize("name", ["mps", "meta", "xla", "xpu"])
def test_unsupported_torch_devices_are_a_clear_error(name):
    """Valid torch device types the tracker does not support are refused up front, not at the first frame."""
    single_line_value_error(lambda: load_config(None, overrides={"device": name}), "device", "cuda:N")
    single_line_value_error(lambda: resolve_device(name), "device", "not supported")


@pytest.mark.parametrize("name", ["cpu", "cpu:0"])
def test_cpu_always_works(no_cuda, name):
    tracker = Tracker(load_config(None, overrides={"device": name}), frame_rate=30)
    assert tracker.device.type == "cpu"
    out = tracker.update_detections([[10.0, 10.0, 60.0, 110.0]], [0.9], embeddings=torch.ones((1, 8)))
    assert [o.track_id for o in out] == [1]


@pytest.mark.parametrize("frame_rate", [0, -30, float("nan"), float("inf"), 1e9])  # 1e9: GiB of vote windows
def test_bad_frame_rate_is_a_clear_error(frame_rate):
    single_line_value_error(lambda: Tracker(load_config(None, ["device=cpu"]), frame_rate=frame_rate), "frame_rate")


def test_embeddings_from_another_device_are_moved():
    """A CPU tracker given embeddings that live elsewhere (here a CPU tensor with grad) takes a detached copy."""
    tracker = Tracker(load_config(None, ["device=cpu"]), frame_rate=30)
    emb = torch.ones((1, 8), requires_grad=True)
    out = tracker.update_detections([[10.0, 10.0, 60.0, 110.0]], [0.9], embeddings=emb)
    assert [o.track_id for o in out] == [1]
    assert tracker.core.bank.entries(0).device.type == "cpu"
