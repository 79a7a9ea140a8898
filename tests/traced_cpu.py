"""Whether this CPU can reproduce, bit for bit, the real-data events the tests traced on another."""

from __future__ import annotations

from pathlib import Path

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


def unlike_traced_looks() -> str | None:
    """Why this CPU's OSNet looks are not the bf16 ones an event was traced on, or None. Since stop 76 `reid.half`
    computes bf16 only where the CPU has AMX (`tracker.reid.openvino.cpu_has_amx`), fp32 elsewhere (faster there):
    an event that turned on bf16's last bits is not reproduced with fp32 looks (stop 76: of the traced events only
    test_part_box_size's counter-example, the rule off, went the other way)."""
    from tracker.reid.openvino import cpu_has_amx

    if cpu_has_amx():
        return None
    return "the event was traced on bf16 OSNet looks, which the tracker computes only where the CPU has AMX"
