"""Bounded torch intra-op and numpy BLAS threads around the tracker's own work, restored afterwards.

The core's tensor ops are tiny (a few hundred microseconds). With torch's default of one OpenMP thread per
core, every such op wakes a team of threads that spin-wait for each other; when another process holds a core,
the spinning thread waits a whole scheduler time slice per op and a frame costs tens of milliseconds instead of
one (measured in `tools/bench_core.py`, contended rows). One thread does not wait for anybody.

`torch.set_num_threads` is process-wide: while the tracker runs a frame, torch work started by the caller's own
threads at the same moment also sees the bounded count. The caller's setting is back as soon as the frame ends,
and the count is only ever lowered, never raised.

numpy's BLAS (the OpenBLAS its wheels ship, or MKL) keeps a thread pool of its own that spin-waits the same way
and that torch's count does not bound: a product of R lost tracks' bank centres with a frame's detections
(`AppearanceBank._upper_bounds`, (R, 512) x (512, N)) is split across threads once R x N x D passes OpenBLAS's
threshold (R x N > 512 at D = 512), and a crossing world of 100 people took 25-48 ms a frame against 3.7-8.7 ms
with the pool bounded (`tools/bench_core.py --tracks-world crossing`). `BlasThreads` bounds it around the same
calls, through threadpoolctl (the library scikit-learn and joblib bound it with).

faiss (the gallery's IVF tier) needs nothing more: it is imported after torch, whose OpenMP runtime is loaded
globally, so its parallel regions run on torch's threads, which `torch_threads` bounds (an IVF search of 10-15
queries inside a frame under contention: 1.0-1.1 ms, against 4.6-12 ms outside one on 2 threads; setting
faiss' own OpenMP runtime changes nothing then). Imported before torch, its OpenMP OpenBLAS is among the BLAS
libraries found here (1.1 ms too).
"""

from __future__ import annotations

import ctypes
import os
import sys
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, cast

import torch

__all__ = ["BlasThreads", "exact_torch_threads", "torch_threads"]


class _CallersCounts:
    """The callers' thread count of each pool (torch's, each BLAS library's) while any tracker's block bounds it.

    The counts are process-wide, and trackers in several threads bound them at once: a block that read the count
    another thread's block had just lowered, and put that back when it ended, left the lowered count behind once
    every tracker was done (a tracker with `core_threads=3` and one with 1, in two threads: torch at 3 for the
    whole process after). So the count before the first block open is kept here, each block puts that one back,
    and the read, the change and the bookkeeping happen under one lock.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._open: dict[str, int] = {}  # pool -> blocks open on it now, in every thread
        self._callers: dict[str, int] = {}  # pool -> its count before the first of them

    def lower(self, pool: str, limit: int, get: Callable[[], Any], set_: Callable[[int], Any]) -> int | None:
        """The callers' count of `pool` after opening a block on it (lowered to `limit` when that is less);
        None: unreadable, nothing opened."""
        with self._lock:
            if not self._open.get(pool):
                before = get()
                if before is None:
                    return None
                self._callers[pool] = before
            self._open[pool] = self._open.get(pool, 0) + 1
            callers = self._callers[pool]
            if limit < callers:
                set_(limit)
            return callers

    def restore(self, pool: str, limit: int, get: Callable[[], Any], set_: Callable[[int], Any]) -> None:
        """Close a block on `pool` opened with `limit` and put its callers' count back: set without reading it first
        where the block lowered it (one C call instead of two, at the end of every frame, where the library's code
        and data are out of the caches: ~2-6 us a call), read first where it did not (the block's own work may have
        changed it)."""
        with self._lock:
            self._open[pool] -= 1
            callers = self._callers[pool]
            if limit < callers or get() != callers:
                set_(callers)


_CALLERS = _CallersCounts()
_THREADPOOLCTL_SETS = "KMP_DUPLICATE_LIB_OK"  # the environment variable threadpoolctl's import sets


class exact_torch_threads:  # lower-case: used like the functions it replaced
    """Run the block with exactly `count` (>= 1) torch intra-op threads; the previous count is restored after.

    A class, not a generator context manager: entered once or twice a frame, where contextlib's generator
    machinery cost ~4 us a frame (with `torch_threads`) against ~0.5 us for these two methods.
    """

    __slots__ = ("_before", "_count")

    def __init__(self, count: int) -> None:
        self._count = count
        self._before = 0  # the count before the block; 0: left unchanged (nothing to restore)

    def __enter__(self) -> None:
        before = torch.get_num_threads()
        if self._count != before:
            torch.set_num_threads(self._count)
            self._before = before

    def __exit__(self, *exc: object) -> None:
        if self._before:
            torch.set_num_threads(self._before)
            self._before = 0


class torch_threads:  # lower-case: used like the function it replaced
    """Run the block with at most `limit` torch intra-op threads (0: unchanged); the count is restored after.

    Entering yields the count in force before the block: work inside it that should use the caller's threads (a
    PyTorch ReID forward called back by the core) runs under `exact_torch_threads(that count)`.
    """

    __slots__ = ("_limit", "_open")

    def __init__(self, limit: int) -> None:
        self._limit = limit
        self._open = False  # a block is open in `_CALLERS` (False: limit 0, torch left alone)

    def __enter__(self) -> int:
        limit = self._limit
        if limit <= 0:
            return torch.get_num_threads()
        self._open = True
        # (torch's count is always read: None is only a library threadpoolctl cannot read)
        return cast(int, _CALLERS.lower("torch", limit, torch.get_num_threads, torch.set_num_threads))

    def __exit__(self, *exc: object) -> None:
        if self._open:
            self._open = False
            _CALLERS.restore("torch", self._limit, torch.get_num_threads, torch.set_num_threads)


class BlasThreads:
    """At most `limit` threads (0: unchanged) in numpy's BLAS library (`_numpy_blas_libraries`), around each `with`
    block of the tracker's own work; its count before the block is restored after it, and only ever lowered.

    The library is found with threadpoolctl when first entered (once per instance: 1.5 ms with numpy alone, 26 ms
    with torch, OpenCV and OpenVINO loaded, whose scan also finds OpenCV's own OpenBLAS, left alone); a copy or an
    unpickled tracker finds it again (its handle does not pickle). Entering costs ~1.5 us a library (two C calls).
    Raises nothing for a library threadpoolctl cannot read (its count is left alone).
    """

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self._libraries: list[Any] | None = None  # threadpoolctl's controllers of numpy's BLAS; None: not yet found
        self._lowered: list[tuple[Any, int]] = []  # (library, its callers' count) of each library the block opened

    def __getstate__(self) -> dict[str, int]:
        return {"limit": self.limit}

    def __setstate__(self, state: dict[str, int]) -> None:
        BlasThreads.__init__(self, state["limit"])

    def __enter__(self) -> None:
        limit = self.limit
        if limit <= 0:
            return
        if self._libraries is None:
            self._libraries = _numpy_blas_libraries()
        for library in self._libraries:
            before = _CALLERS.lower(library.filepath, limit, library.get_num_threads, library.set_num_threads)
            if before is not None:
                self._lowered.append((library, before))

    def __exit__(self, *exc: object) -> None:
        while self._lowered:
            library, _ = self._lowered.pop()
            _CALLERS.restore(library.filepath, self.limit, library.get_num_threads, library.set_num_threads)

    @contextmanager
    def released(self) -> Iterator[None]:
        """Inside a bounded block: the callers' counts back for a nested block (a user's ReID callback runs with the
        caller's threads, as `exact_torch_threads` gives it torch's), bounded again after it."""
        lowered = [(library, before) for library, before in self._lowered if self.limit < before]
        for library, before in lowered:
            library.set_num_threads(before)
        try:
            yield
        finally:
            for library, _ in lowered:
                library.set_num_threads(self.limit)


def _numpy_blas_libraries() -> list[Any]:
    """threadpoolctl's controllers of numpy's BLAS (an OpenBLAS of the pthreads layer as `_with_own_calls` gives it):
    the loaded BLAS library whose file is the one numpy's own extension calls (`_numpy_blas_file`). Other BLAS
    libraries (OpenCV's own OpenBLAS, which `import cv2` loads with the tracker) run nothing of a frame, and bounding
    each cost three C calls a frame out of the caches (~10 us of the walking frame, docs/speed-log.md, stop 70).
    Every BLAS library loaded where numpy's file cannot be told (a platform without `dladdr`, a BLAS whose symbols
    are named otherwise) or is not among them."""
    libraries = list(_threadpoolctl().ThreadpoolController().select(user_api="blas").lib_controllers)
    numpys = _numpy_blas_file()
    own = [library for library in libraries if numpys is not None and os.path.realpath(library.filepath) == numpys]
    return [_with_own_calls(library) for library in own or libraries]


# OpenBLAS's thread-count functions are named with its build's affixes: none (a system OpenBLAS), "64_" or "_64" (the
# 64-bit-integer builds), "scipy_" with those (numpy >= 2's wheels); the affixes threadpoolctl tries, in its order
_OPENBLAS_AFFIXES = tuple((prefix, suffix) for prefix in ("", "scipy_") for suffix in ("", "64_", "_64"))


class _OpenBLASPool:
    """An OpenBLAS library of the pthreads layer, its process-wide thread count read and set by OpenBLAS's own
    `openblas_get_num_threads` / `openblas_set_num_threads` (what threadpoolctl calls for it) from any thread.

    threadpoolctl's controller sets that count only from the first thread that set it, while that thread lives, and
    silently does nothing from any other: a tracker's frame in a worker thread, after the main thread set the count,
    ran numpy's BLAS on every core (the crossing world at T = 100: 54-57 ms a frame against 9-12, docs/speed-log.md,
    stop 78). `_CALLERS` serialises the blocks that change the count.
    """

    __slots__ = ("filepath", "get_num_threads", "set_num_threads")

    def __init__(self, filepath: str, get: Callable[[], int], set_: Callable[[int], Any]) -> None:
        self.filepath = filepath
        self.get_num_threads = get
        self.set_num_threads = set_


def _with_own_calls(library: Any) -> Any:
    """threadpoolctl's controller `library` as an `_OpenBLASPool` where it is an OpenBLAS of the pthreads layer whose
    two functions are found in its file; any other (MKL, BLIS, an OpenBLAS on OpenMP, whose count is per thread and
    set from any thread already) as it is."""
    if getattr(library, "internal_api", None) != "openblas" or getattr(library, "threading_layer", None) != "pthreads":
        return library
    try:
        handle = ctypes.CDLL(library.filepath)  # (loaded already: the same handle)
    except (OSError, TypeError):
        return library
    for prefix, suffix in _OPENBLAS_AFFIXES:
        get = getattr(handle, f"{prefix}openblas_get_num_threads{suffix}", None)
        set_ = getattr(handle, f"{prefix}openblas_set_num_threads{suffix}", None)
        if get is not None and set_ is not None:
            return _OpenBLASPool(library.filepath, get, set_)
    return library


# numpy's single-precision matrix product in the BLAS builds its wheels and distributions link: the reference CBLAS
# name (MKL, a system OpenBLAS), the 64-bit-integer OpenBLAS of numpy < 2's wheels, the scipy-openblas of numpy >= 2's
_NUMPY_GEMM_SYMBOLS = ("cblas_sgemm", "cblas_sgemm64_", "scipy_cblas_sgemm64_", "scipy_cblas_sgemm")


class _SymbolInfo(ctypes.Structure):
    """`Dl_info` of `dladdr(3)`: the file and base of the shared object holding an address, the nearest symbol."""

    _fields_ = [  # (ctypes reads this class attribute)
        ("dli_fname", ctypes.c_char_p),
        ("dli_fbase", ctypes.c_void_p),
        ("dli_sname", ctypes.c_char_p),
        ("dli_saddr", ctypes.c_void_p),
    ]


def _numpy_blas_file() -> str | None:
    """The real path of the shared library numpy's matrix products call (its multiarray extension's
    `_NUMPY_GEMM_SYMBOLS`, resolved by the dynamic linker through that extension and located by `dladdr`), or None
    where it cannot be told (no `dladdr`: Windows; none of those symbols; an extension that is not a shared object)."""
    extension = sys.modules.get("numpy._core._multiarray_umath") or sys.modules.get("numpy.core._multiarray_umath")
    path = getattr(extension, "__file__", None)
    try:
        linker = ctypes.CDLL(None)
        locate = linker.dladdr
        handle = ctypes.CDLL(path) if path else None
    except (AttributeError, OSError, TypeError):
        return None
    for name in _NUMPY_GEMM_SYMBOLS:
        function = getattr(handle, name, None)
        if function is None:
            continue
        info = _SymbolInfo()
        if locate(ctypes.cast(function, ctypes.c_void_p), ctypes.byref(info)) and info.dli_fname:
            return os.path.realpath(os.fsdecode(info.dli_fname))
    return None


def _threadpoolctl() -> Any:
    """threadpoolctl, imported when a tracker first runs a frame, without the environment variable its import sets.

    Its import sets `KMP_DUPLICATE_LIB_OK=True` (Intel OpenMP: go on when two copies are loaded), which every
    process started later inherits: the caller's environment, changed by a frame of `update_detections`. The
    variable is taken back out unless the caller had it (or had imported threadpoolctl, which set it then).
    """
    if "threadpoolctl" in sys.modules:
        return sys.modules["threadpoolctl"]
    had = os.environ.get(_THREADPOOLCTL_SETS)
    import threadpoolctl

    if had is None:
        os.environ.pop(_THREADPOOLCTL_SETS, None)
    return threadpoolctl
