"""A valid alternate signal stack for the calling thread: a guard against OpenVINO's CPU plugin (Linux).

Python's signal handlers run on the thread's alternate signal stack when one is installed (CPython installs them
with `SA_ONSTACK`). Each OpenVINO CPU plugin (one per `openvino.Core` that compiles a model: ultralytics'
OpenVINO detector has one, our OpenVINO ReID another) installs its own alternate stack on the thread that creates
it and, when it is destroyed, puts back the stack it replaced only if its own is still the current one, then unmaps
its own (`SigAltStackSetup` in openvino's `src/plugins/intel_cpu/src/plugin.cpp`). Two plugins destroyed in the
order they were made, as a `Tracker`'s detector and ReID are, leave the first one's unmapped stack installed: the
next SIGINT or SIGTERM then kills the process with SIGSEGV before any handler runs (Ctrl-C while `track` prints
its summary, or in a program that built and dropped a `Tracker` before).

`install_signal_stack()` makes a stack owned by this module (one per thread), mapped for the life of the process,
the calling thread's alternate signal stack. Once it is current no plugin's destructor replaces it (each finds its
own is not current and only unmaps its own), so installing it after the models are built protects every later
signal. A plugin made after that (another `Tracker`) installs its own again: call it again after each build.
"""

from __future__ import annotations

import ctypes
import functools
import logging
import mmap
import sys
import threading

__all__ = ["SIGNAL_STACK_BYTES", "install_signal_stack", "signal_stack_is_mapped"]

log = logging.getLogger(__name__)

SIGNAL_STACK_BYTES = 1 << 18
"""Size of our alternate stack: 256 KiB, far above the kernel's minimum for a signal frame with the CPU's whole
extended state (AMX tiles: ~11 KiB, `getauxval(AT_MINSIGSTKSZ)`) plus glibc's SIGSTKSZ, the size OpenVINO uses."""
_SS_DISABLE = 2  # stack_t.ss_flags: no alternate stack (Linux <bits/ss_flags.h>)
_MAPS = "/proc/self/maps"  # the process's mapped address ranges, one "start-end ..." line each (Linux)


class _StackT(ctypes.Structure):
    """`stack_t` of <signal.h> on Linux."""

    _fields_ = [("ss_sp", ctypes.c_void_p), ("ss_flags", ctypes.c_int), ("ss_size", ctypes.c_size_t)]


@functools.cache
def _libc() -> ctypes.CDLL:
    return ctypes.CDLL(None, use_errno=True)


@functools.cache
def _our_stack(thread: int) -> tuple[mmap.mmap, int]:
    """The anonymous mapping and address of the stack of thread `thread` (`threading.get_ident()`: one stack per
    thread, as two threads taking signals on one stack would overwrite each other's frames), made once and kept for
    the life of the process (a signal may arrive at any time, so the memory is never unmapped; the exported pointer
    also keeps the mmap from closing). A thread that reuses a dead thread's ident reuses its stack."""
    memory = mmap.mmap(-1, SIGNAL_STACK_BYTES, flags=mmap.MAP_PRIVATE | mmap.MAP_ANONYMOUS)
    return memory, ctypes.addressof(ctypes.c_char.from_buffer(memory))


def _current() -> _StackT | None:
    """The calling thread's alternate signal stack (`sigaltstack(NULL, &old)`), None if it cannot be read."""
    current = _StackT()
    if _libc().sigaltstack(None, ctypes.byref(current)) != 0:
        return None
    return current


def signal_stack_is_mapped() -> bool | None:
    """Whether the calling thread's alternate signal stack lies in mapped memory: True, False (a dangling stack:
    the next signal handled on it is a SIGSEGV), or None where there is none or this cannot be told (not Linux)."""
    if not sys.platform.startswith("linux"):
        return None
    current = _current()
    if current is None or current.ss_flags & _SS_DISABLE or not current.ss_sp:
        return None
    with open(_MAPS) as maps:
        for line in maps:
            start, _, end = line.partition(" ")[0].partition("-")
            if int(start, 16) <= current.ss_sp < int(end, 16):
                return True
    return False


def install_signal_stack() -> bool:
    """Make this module's stack the calling thread's alternate signal stack, unless it already is or the thread has
    none (then handlers run on the thread's own stack, which is always valid). Linux only; elsewhere a no-op.

    Call it on the thread that takes the signals (the main thread), after the models are built. Returns True when
    it replaced another stack. A failure (`sigaltstack` refusing, e.g. while running on the alternate stack) is
    logged at DEBUG and leaves things as they were.
    """
    if not sys.platform.startswith("linux"):
        return False
    current = _current()
    if current is None or current.ss_flags & _SS_DISABLE:
        return False
    memory, address = _our_stack(threading.get_ident())
    if current.ss_sp == address:
        return False
    ours = _StackT(address, 0, len(memory))
    if _libc().sigaltstack(ctypes.byref(ours), None) != 0:
        log.debug("sigaltstack refused our alternate signal stack: errno %d", ctypes.get_errno())
        return False
    return True
