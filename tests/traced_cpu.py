"""Whether this CPU can reproduce, bit for bit, the real-data events the tests traced on another."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

# The CPU features of the Intel Xeon the real-data events of tests/ were traced on (stops 34-41): OpenVINO runs the
# INT8 detector's dot products with VNNI there (other CPUs saturate or round them otherwise, OpenVINO's saturation
# note) and OSNet in bf16 (`reid.half`; fp32 where the CPU lacks bf16), so other CPUs give other last bits of boxes
# and looks, and a traced near-tie may go the other way.
TRACED_CPU_FLAGS = {"avx512_vnni": "INT8 detector boxes", "avx512_bf16": "bf16 OSNet looks"}


def unlike_traced_cpu(*needs: str) -> str | None:
    """Why this CPU cannot reproduce an event traced on `needs` (keys of TRACED_CPU_FLAGS) bit for bit, or None
    (it has them, or its flags cannot be read: the test runs)."""
    try:
        text = Path("/proc/cpuinfo").read_text()
    except OSError:
        return None
    flags = {flag for line in text.splitlines() if line.startswith("flags") for flag in line.split(":", 1)[1].split()}
    lacking = [flag for flag in needs if flag not in flags]
    if not lacking:
        return None
    what = ", ".join(f"{TRACED_CPU_FLAGS[flag]} ({flag})" for flag in lacking)
    return f"the event was traced on a CPU with {what}, which this one lacks: its inputs differ in the last bits"


@contextmanager
def traced_looks() -> Iterator[None]:
    """Within it, `reid.half` computes OSNet's looks as on the CPU the events were traced on: OpenVINO's default
    precision, bf16 where the CPU has it (`avx512_bf16`), as if it had AMX. Since stop 76 the tracker computes bf16
    only where the CPU has AMX (`tracker.reid.openvino.cpu_has_amx`) and fp32 elsewhere (faster there), and an event
    that turned on bf16's last bits is not reproduced with fp32 looks (stop 76: test_part_box_size's counter-example,
    the rule off, went the other way). Build the models (and the eval inputs' looks) inside it."""
    from tracker.reid import openvino

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(openvino, "cpu_has_amx", lambda: True)
        yield
