"""A signal after OpenVINO models are gone is a KeyboardInterrupt, not a SIGSEGV (tracker.signal_stack).

OpenVINO's CPU plugins, destroyed in the order they were made, leave the main thread's alternate signal stack
pointing at unmapped memory. Each test runs in its own Python process: the crash it guards against kills the
whole process, and must never take pytest with it.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from tracker.signal_stack import install_signal_stack, signal_stack_is_mapped

ROOT = Path(__file__).resolve().parents[1]
SURVIVED = "KeyboardInterrupt raised"
NOT_DANGLING = "this OpenVINO left no dangling stack"
# Sends the process a real SIGINT (Python's default handler raises KeyboardInterrupt), as Ctrl-C would.
_CTRL_C = f"""
import os, signal
try:
    os.kill(os.getpid(), signal.SIGINT)
except KeyboardInterrupt:
    print({SURVIVED!r})
"""

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="the OpenVINO plugin's stack is Linux's")


def _run_then_ctrl_c(script: str, timeout: float = 240) -> subprocess.CompletedProcess[str]:
    """Run `script` in a fresh Python, then send that process a SIGINT; it prints SURVIVED if Python got it."""
    env = os.environ | {"PYTHONPATH": str(ROOT), "OMP_WAIT_POLICY": "PASSIVE"}
    code = textwrap.dedent(script) + _CTRL_C
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=timeout, env=env)


def test_a_dangling_stack_left_by_two_openvino_cores_is_replaced():
    pytest.importorskip("openvino")
    result = _run_then_ctrl_c(
        f"""
        import gc
        import numpy as np, openvino as ov
        from openvino import opset13 as ops
        from tracker.signal_stack import install_signal_stack, signal_stack_is_mapped

        x = ops.parameter([1, 8], np.float32)
        model = ov.Model([ops.relu(x)], [x])
        first = ov.Core(); first_model = first.compile_model(model, "CPU")
        second = ov.Core(); second_model = second.compile_model(model, "CPU")
        del first_model, first; gc.collect()  # in the order they were made, as a Tracker's detector and ReID go
        del second_model, second; gc.collect()
        if signal_stack_is_mapped() is not False:
            print({NOT_DANGLING!r}); raise SystemExit(0)
        assert install_signal_stack() is True
        assert signal_stack_is_mapped() is True
        """
    )
    if NOT_DANGLING in result.stdout:
        pytest.skip(NOT_DANGLING)
    assert result.returncode == 0 and SURVIVED in result.stdout, (result.returncode, result.stderr[-2000:])


def test_ctrl_c_after_a_track_run_with_openvino_models_is_an_interrupt_not_a_crash(shared, shared_weights, tmp_path):
    """`track` with the OpenVINO detector and ReID: once the run is over and its models are released (while the
    summary prints), a Ctrl-C must still reach Python. Before the guard the process died with SIGSEGV (-11)."""
    pytest.importorskip("openvino")
    video = shared / "videos" / "one-by-one-person-detection.mp4"
    args = [
        str(video), "--out", str(tmp_path / "run"), "--max-frames", "3", "--quiet", "--no-save-video",
        "--set", f"detector.model={shared_weights / 'yolov8n_int8_openvino_model'}",
        "--set", f"reid.weights={shared_weights / 'osnet_x0_25_msmt17.pth'}", "--set", "device=cpu",
    ]  # fmt: skip
    result = _run_then_ctrl_c(
        f"""
        import gc
        from tracker.cli import main
        assert main({args!r}) == 0
        gc.collect()
        """
    )
    assert result.returncode == 0 and SURVIVED in result.stdout, (result.returncode, result.stderr[-2000:])


def test_a_second_install_changes_nothing():
    """In this process (no OpenVINO needed): once ours is current, a call does nothing; the stack is mapped."""
    install_signal_stack()
    assert install_signal_stack() is False
    assert signal_stack_is_mapped() in (True, None)


def test_each_thread_gets_its_own_stack():
    """Two threads taking signals on one stack would overwrite each other's frames."""
    import ctypes
    import threading

    from tracker import signal_stack

    install_signal_stack()
    main_stack = signal_stack._current()
    seen = {}

    def worker() -> None:
        foreign = ctypes.create_string_buffer(signal_stack.SIGNAL_STACK_BYTES)  # a stack that is not ours
        given = signal_stack._StackT(ctypes.addressof(foreign), 0, len(foreign))
        assert signal_stack._libc().sigaltstack(ctypes.byref(given), None) == 0
        seen["installed"] = install_signal_stack()
        seen["stack"] = signal_stack._current().ss_sp
        signal_stack._libc().sigaltstack(ctypes.byref(signal_stack._StackT(None, 2, 0)), None)  # off before freeing

    thread = threading.Thread(target=worker)
    thread.start()
    thread.join()
    assert seen["installed"] is True
    assert seen["stack"] not in (None, main_stack.ss_sp if main_stack is not None else None)
