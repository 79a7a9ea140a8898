"""Run a ReID network with OpenVINO on the CPU: about 3x faster than PyTorch eager for OSNet's small batches.

The PyTorch model is converted once (a few seconds) and the converted IR is kept in a cache folder keyed by
the weights, the input size and the OpenVINO version, so later runs start in well under a second.
"""

from __future__ import annotations

import hashlib
import logging
import os
import threading
import time
import warnings
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from pathlib import Path
from typing import Any, SupportsIndex

import numpy as np
import torch

from tracker.reid.blob_cache import BlobCache, cache_key, load_or_compile, remove_openvino_cache
from tracker.reid.compile_worker import CompileWorker
from tracker.reid.osnet import IMAGENET_MEAN, IMAGENET_STD
from tracker.reid.thread_choice import ChoiceKey, ThreadChoice
from tracker.weights import file_digest

__all__ = [
    "CACHE_ENV",
    "COMPILE_SETTINGS",
    "EXACT_BATCH",
    "OpenVINOForward",
    "amx_unknown",
    "cached_model_path",
    "compiled_cache",
    "compiled_folder",
    "cpu_has_amx",
    "detector_beside",
    "largest_static_batch",
    "openvino_available",
    "save_int8",
    "split_sizes",
    "static_batches",
]

log = logging.getLogger(__name__)

CACHE_ENV = "TRACKER_OPENVINO_CACHE"
"""Environment variable naming the folder for converted models (default ~/.cache/tracker/openvino)."""
_KEY_CHARS = 16  # hex digits of the cache key kept in file names
COMPILE_SETTINGS = {
    "PERFORMANCE_HINT": "LATENCY",  # small batches, one at a time: latency, not throughput
    # OpenVINO pins its inference threads to cores by default, for a process that owns the machine. Here the ReID
    # shares the cores with the detector's own (pinned) threads and with whatever else runs: a pinned thread waits
    # for its one core while the other is free. Unpinned, a call of 3 crops right after a detector call took
    # 3.4 ms against 7.8 pinned (medians of 60-80 alternating calls, load average ~4; README: speed).
    "ENABLE_CPU_PINNING": False,
}
MAX_STATIC_BATCH = 64  # the largest static batch compiled by default; larger batches run in chunks of it
EXACT_BATCH = 8  # up to this many crops run on a model compiled for exactly that count: one call instead of up to
# three power-of-two calls (3 / 5 / 6 / 7 crops as one call: 0.80 / 0.86 / 0.87 / 0.77 of the time of 2+1 / 4+1 /
# 4+2 / 4+2+1, medians of 100 alternating calls); lazy embedding asks for 1-8 crops in nearly every frame
PRECOMPILED_BATCH = EXACT_BATCH  # static batches 1 to 8 are compiled up front: each costs 0.16-0.18 s to compile,
# less to load from its blob (`COMPILED_FOLDER`); compiled on first use, they stalled a 1080p street video (people.mp4)
# ~0.5 s in its first 100 frames (batches 8, 6, 5). Larger batches (lazy embedding off, crowds) compile on first use.
SPLIT_LIMIT = EXACT_BATCH  # with `requests` > 1, a call is split only while every part fits one exact batch; larger
# calls (lazy embedding off, crowds) run their static batches one after another as with one request
_THREADS = "INFERENCE_NUM_THREADS"  # OpenVINO's property: CPU threads of one inference
_PRECISION = "INFERENCE_PRECISION_HINT"  # OpenVINO's property: the precision the CPU plugin computes in
COMPILED_FOLDER = "compiled-blobs"  # our cache of compiled models inside the cache folder (`blob_cache`: one
# `<key>.blob` per model, settings, OpenVINO version and CPU). Not OpenVINO's own (`CACHE_DIR`, stop 75's "compiled"
# folder): that one sets the whole process's C locale while it reads or writes a blob, so every other thread's default
# text encoding was ASCII for ~0.4 s a model (a file read there failed with UnicodeDecodeError)
OPENVINO_CACHE_FOLDER = "compiled"  # that folder of stop 75 (OpenVINO's `CACHE_DIR`), inside the cache folder: removed
# by `compiled_cache` where it holds only OpenVINO's blobs (`blob_cache.remove_openvino_cache`)
PIXEL_MAX = 255.0  # uint8 crops: the ImageNet mean and std of [0, 1] pixels scaled to 0..255
# True while a detector runs on the other cores during this thread's ReID calls (`Tracker.stream` detecting the next
# frame ahead): each batch then runs on `threads`, not `wide_threads`. Per thread and context (`contextvars`), so a
# tracker's `stream` in one thread does not narrow another's `update` in the next.
_DETECTOR_BESIDE: ContextVar[bool] = ContextVar("reid_detector_beside", default=False)


@contextmanager
def detector_beside() -> Iterator[None]:
    """Within it, this thread's ReID calls (`OpenVINOForward`) run every batch on `threads`: a detector runs on the
    other cores meanwhile (`Tracker.stream` detecting ahead), so a second inference thread would take a core from it
    (1080p `stream()` with ReID 0.923 / 0.886 of detection-only frames/s with wide batches against 0.965 / 0.955
    without them: docs/speed-log.md, stop 74)."""
    token = _DETECTOR_BESIDE.set(True)
    try:
        yield
    finally:
        _DETECTOR_BESIDE.reset(token)


def cpu_has_amx() -> bool:
    """Whether this CPU has AMX tiles this process may use (OpenVINO's fast bf16 path), as PyTorch reports it:
    `torch.cpu._is_amx_tile_supported` (CPUID and the kernel's permission). False where this PyTorch has no such
    check, or it fails: unknown counts as absent (fp32, the precision every CPU computes alike; `amx_unknown` says
    why)."""
    return _amx_probe()[0]


def amx_unknown() -> str | None:
    """Why this process cannot tell whether the CPU has AMX (`cpu_has_amx` then answers False): this PyTorch has no
    `torch.cpu._is_amx_tile_supported` (older or newer than the tracker's), or the check failed (its error); None
    where PyTorch answered."""
    return _amx_probe()[1]


def _amx_probe() -> tuple[bool, str | None]:
    """(AMX usable, why unknown or None): `torch.cpu._is_amx_tile_supported`'s answer, False where it cannot be had
    (no such check; any error it raises: a PyTorch whose binding is missing raised AttributeError, which stopped the
    run)."""
    probe = getattr(torch.cpu, "_is_amx_tile_supported", None)
    if probe is None:
        return False, "this PyTorch has no torch.cpu._is_amx_tile_supported"
    try:
        return bool(probe()), None
    except Exception as exc:  # (unknown counts as absent: whatever the check raised, the ReID runs fp32)
        return False, f"PyTorch's check failed: {type(exc).__name__}: {exc}"


def openvino_available() -> bool:
    """True when the `openvino` package can be imported."""
    try:
        import openvino  # noqa: F401
    except ImportError:
        return False
    return True


def _cache_dir() -> Path:
    """The folder `CACHE_ENV` names, `~` expanded (no shell expands it in a Dockerfile's ENV or a systemd unit); the
    default where it is unset or empty (set blank, it put the cache in the folder the command ran in)."""
    given = os.environ.get(CACHE_ENV)
    return Path(given).expanduser() if given else Path.home() / ".cache" / "tracker" / "openvino"


def cached_model_path(model: torch.nn.Module, weights: Path, input_hw: tuple[int, int], int8: bool = False) -> Path:
    """Where the converted (or INT8-quantised) IR of `model` with these weights and input size is cached."""
    import openvino as ov

    key = f"{type(model).__name__}|{file_digest(weights)}|{input_hw}|{ov.get_version()}" + ("|int8" if int8 else "")
    return _cache_dir() / f"{hashlib.sha256(key.encode()).hexdigest()[:_KEY_CHARS]}.xml"


def _save(ov: object, ir: object, path: Path) -> None:
    """Write the IR (.xml + .bin) so that a concurrent reader never sees a half-written pair: both go to a
    temporary name first, the .bin is renamed into place before the .xml that refers to it."""
    tmp = path.with_name(f"{path.stem}.{os.getpid()}.tmp.xml")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        ov.save_model(ir, tmp, compress_to_fp16=False)  # type: ignore[attr-defined]
        os.replace(tmp.with_suffix(".bin"), path.with_suffix(".bin"))
        os.replace(tmp, path)
    except (OSError, RuntimeError) as exc:  # a read-only home is no reason to fail: convert again next time
        # (OpenVINO's save_model reports a file it cannot open as a RuntimeError, not an OSError)
        log.warning("could not cache the OpenVINO model in %s: %s", path.parent, str(exc).strip().splitlines()[-1])
        for part in (tmp, tmp.with_suffix(".bin")):
            if part.is_file():
                part.unlink(missing_ok=True)


class OpenVINOForward:
    """A compiled OpenVINO copy of a torch ReID model that takes the crops as OpenCV cut them.

    `(B, H, W, 3) uint8 BGR crops -> (B, D) float32`: the conversion to float, BGR -> RGB and the ImageNet
    normalisation run inside the compiled model (OpenVINO's `PrePostProcessor`, fused into the first
    convolution), so no float copy of the crops is made in Python.

    Batches run on models compiled for static batch sizes: every count up to `EXACT_BATCH` has its own model,
    compiled up front, larger batches run in power-of-two chunks (`static_batches`: 19 -> 16 + 3), each compiled on
    first use. Compiled models are kept as blobs (`COMPILED_FOLDER` in the cache folder: `blob_cache`, which leaves the
    process's locale alone, unlike OpenVINO's own model cache), so later runs load them instead of compiling.
    A dynamic batch dimension costs a re-preparation of the network each time the batch size changes, 3-4 ms for
    OSNet-x0.25 on the CPU (a few milliseconds more than the forward of 3 crops), and the lazy embedding asks for
    a different count nearly every frame. The outputs are identical.

    Args:
        model: the torch model, in eval mode, with its weights loaded.
        weights: the weights file it was loaded from (part of the cache key).
        input_hw: (H, W) of the crops it will be fed.
        half: leave OpenVINO its default precision (bf16 where the CPU has it; cosine to fp32 >= 0.99) where the
            CPU has AMX (`cpu_has_amx`), its fast bf16 path; fp32 elsewhere, where bf16 ran 1.35-1.67x fp32's time
            (an AVX512-BF16 Xeon without AMX: docs/decisions.md, "fp32 ReID where the CPU has no AMX"). False: fp32.
        int8: the NNCF INT8 model cached by `save_int8` instead of the converted one.
        threads: CPU threads of one inference (`INFERENCE_NUM_THREADS`); 0 = OpenVINO's default (all cores).
        wide_from: static batches of at least this many crops run on a copy compiled with `wide_threads` threads
            instead of `threads` (two threads lose on 1 crop and win from 2, where the other core is free:
            docs/speed-log.md, stops 65 and 74), except within `detector_beside` (every batch on `threads`). The
            wide copy of a batch size is compiled in a worker thread (`CompileWorker`) at the first call that could
            run it, which runs on the narrow copy, as every call of that size until the wide one is there
            (`wait_compiled`): compiled at the first such call, they cost its frame 0.5-2 s (docs/speed-log.md, stop
            75). 0 = off, every batch size on `threads`. Each crop's embedding is the same either way (tested bit
            for bit).
        wide_threads: CPU threads of an inference of at least `wide_from` crops; 0 = OpenVINO's default (all cores).
        wide_recheck_after: where a batch may run wide, it runs on whichever copy (wide or on `threads`) its last calls
            took less wall time on, and after this many calls one on the other (`ThreadChoice`: two threads pay
            only where a core is free); a call split over `requests`, measured as one (by its parts), the same; 0 =
            always on the wide copy.
        max_batch: the largest static batch compiled; bigger batches run in chunks of it.
        requests: inferences one call is split over, run at the same time (`split_sizes`): the first part on the
            calling thread, each other part as an asynchronous request of its own compiled copy of the model (so
            that no two parts wait for one executor). 1 = one inference at a time. Each crop's embedding is the
            same whichever part it runs in (every batch size computes each crop alone: tested bit for bit).
    Raises:
        FileNotFoundError: `int8` without a cached INT8 model.
        ValueError: `requests` < 1, or `threads`, `wide_threads`, `wide_from` or `wide_recheck_after` < 0.
    """

    def __init__(
        self,
        model: torch.nn.Module,
        weights: Path,
        input_hw: tuple[int, int],
        half: bool,
        int8: bool = False,
        threads: int = 0,
        max_batch: int = MAX_STATIC_BATCH,
        requests: int = 1,
        wide_from: int = 0,
        wide_threads: int = 0,
        wide_recheck_after: int = 0,
    ) -> None:
        import openvino as ov

        if requests < 1:
            raise ValueError(f"requests must be >= 1, got {requests}")
        nonnegative = {"threads": threads, "wide_threads": wide_threads, "wide_from": wide_from}
        for name, value in (nonnegative | {"wide_recheck_after": wide_recheck_after}).items():
            if value < 0:
                raise ValueError(f"{name} must be >= 0, got {value}")

        self._core = ov.Core()
        self._blobs = compiled_cache()  # (its warnings its own: one per ReID model)
        self._settings: dict[str, object] = dict(COMPILE_SETTINGS)
        if threads > 0:
            self._settings[_THREADS] = threads
        self._wide_from, self._wide_threads = wide_from, wide_threads
        self._thread_choice = ThreadChoice(wide_recheck_after)
        if int8:
            ir = _read_int8(self._core, model, weights, input_hw)
            log.info("ReID on OpenVINO (CPU, INT8)")
        else:
            ir = _read_converted(self._core, ov, model, weights, input_hw)
            amx = half and cpu_has_amx()
            if not amx:
                self._settings[_PRECISION] = "f32"
            unknown = None if amx else amx_unknown()
            found = "AMX" if amx else (f"AMX unknown: {unknown}" if unknown else "no AMX on this CPU")
            why = f"reid.half, {found}" if half else "reid.half=false"
            log.info("ReID on OpenVINO (CPU, %s: %s)", "OpenVINO's precision, bf16" if amx else "fp32", why)
        self._ir: Any = _with_preprocessing(ov, ir)  # (an `openvino.Model`, as `_model`'s)
        # (each static batch's key: this and its shape; None: no cache, as on a full disk: `cache_key`)
        self._ir_digest = cache_key(self._ir, self._blobs)
        self._input_hw = input_hw
        self._max_batch = largest_static_batch(max_batch)
        self._compiled: dict[tuple[int, bool], Any] = {}  # ((batch, wide) -> `openvino.CompiledModel`)
        self._loaded: set[tuple[int, bool]] = set()  # the keys of `_compiled` loaded from a blob (`blob_cache`)
        self._kept = threading.Lock()  # guards adding to `_compiled` and `_lanes` (compiled in two threads)
        # each thread's own infer requests ((lane, batch, wide) -> `openvino.InferRequest`; lane -1: the calling
        # thread's part): one request run from two threads at once raised "Infer Request is busy" (two trackers
        # sharing the models, `copy.deepcopy`, in two threads)
        self._own = threading.local()
        self._precompile()
        self._requests = requests
        self._split_limit = min(SPLIT_LIMIT, self._max_batch)
        # lane l > 0: its own compiled copy per (batch size, wide), compiled on first use
        self._lanes: list[dict[tuple[int, bool], Any]] = [{} for _ in range(requests - 1)]
        # the wide copies: (lane, batch) -> compiled in this worker (lane -1: the calling thread's copy)
        self._wide_worker = CompileWorker(self._compile_wide, "reid-wide-compile")

    def __reduce_ex__(self, protocol: SupportsIndex) -> str | tuple[Any, ...]:
        """Refused with a TypeError that says what to do instead (OpenVINO's own is "cannot pickle 'Core' object")."""
        raise TypeError(
            "an OpenVINO ReID model cannot be pickled (it is compiled for this process): pickle the Tracker after "
            "close(), fork it with copy.deepcopy (the copy shares the models), or build the models in the other "
            "process with Tracker.from_config"
        )

    def __call__(self, crops: np.ndarray) -> np.ndarray:
        """(B, H, W, 3) uint8 BGR crops -> (B, D) float32 embeddings (not normalised).

        Raises:
            ValueError: crops not uint8 or not of shape (B, H, W, 3) with the `input_hw` the model was built for.
        """
        if crops.ndim != 4 or crops.shape[1:] != (*self._input_hw, 3) or crops.dtype != np.uint8:
            expected = (-1, *self._input_hw, 3)
            raise ValueError(f"crops must be uint8 of shape {expected}, got {crops.dtype} {crops.shape}")
        wide = self._wide_from > 0 and not _DETECTOR_BESIDE.get()
        parts = split_sizes(len(crops), self._requests, self._split_limit)
        if len(parts) > 1:
            return self._chosen_split_call(crops, parts, wide)
        outputs, start = [], 0
        for size in static_batches(len(crops), self._max_batch, EXACT_BATCH):
            outputs.append(self._infer(np.ascontiguousarray(crops[start : start + size]), wide))
            start += size
        if not outputs:
            return np.zeros((0, self.dim), dtype=np.float32)
        return np.concatenate(outputs).astype(np.float32, copy=False)

    def _infer(self, batch: np.ndarray, wide: bool) -> np.ndarray:
        """One static batch's (B, D) outputs: on the narrow copy, or, where it may run wide (`_is_wide`), on the copy
        `ThreadChoice` picks, its wall time recorded."""
        size = len(batch)
        if not self._is_wide(size, wide) or not self._wide_ready([size]):
            return self._run(-1, size, False, batch)
        return self._on_chosen_copy(size, lambda on_wide: self._run(-1, size, on_wide, batch))

    def _on_chosen_copy(self, key: ChoiceKey, run: Callable[[bool], np.ndarray]) -> np.ndarray:
        """`run(on_wide)` on the copies `ThreadChoice` picks for `key` (a batch size, or a split's parts), its wall
        time recorded for the next choice."""
        on_wide = self._thread_choice.wide(key)
        began = time.perf_counter()
        out = run(on_wide)
        self._thread_choice.record(key, on_wide, time.perf_counter() - began)
        return out

    @property
    def thread_choice(self) -> ThreadChoice:
        """The measured choice between the wide and the narrow copy of each batch size (`ThreadChoice`)."""
        return self._thread_choice

    def _chosen_split_call(self, crops: np.ndarray, parts: list[int], wide: bool) -> np.ndarray:
        """A split call (`_split_call`): on the narrow copies, or, where its largest part may run wide, on the copies
        `ThreadChoice` picks for this split (keyed by its parts: the parts run at once, so two threads each pay
        less often than in one batch), its wall time recorded."""
        if not self._is_wide(parts[0], wide) or not self._wide_ready(parts):  # (parts[0]: the largest)
            return self._split_call(crops, parts, False)
        return self._on_chosen_copy(tuple(parts), lambda on_wide: self._split_call(crops, parts, on_wide))

    def _split_call(self, crops: np.ndarray, parts: list[int], wide: bool) -> np.ndarray:
        """Parts 2.. as asynchronous requests of their lanes' copies, the first part on this thread meanwhile."""
        bounds = np.cumsum([0, *parts])
        started = []
        try:
            for lane, size in enumerate(parts[1:]):
                request = self._request(lane, size, wide)
                request.start_async([np.ascontiguousarray(crops[bounds[lane + 1] : bounds[lane + 2]])])  # type: ignore[attr-defined]
                started.append(request)
            first = self._run(-1, parts[0], wide, np.ascontiguousarray(crops[: parts[0]]))
        finally:
            for request in started:  # none is left running, whatever happened above
                request.wait()  # type: ignore[attr-defined]
        rest = [request.get_output_tensor(0).data for request in started]  # type: ignore[attr-defined]
        return np.concatenate([first, *rest]).astype(np.float32, copy=False)

    def _run(self, lane: int, batch: int, wide: bool, crops: np.ndarray) -> np.ndarray:
        """The (B, D) outputs of `batch` contiguous crops on this thread's request of the model (`_request`)."""
        return self._request(lane, batch, wide).infer(crops, share_inputs=True)[0]  # type: ignore[no-any-return]

    def _request(self, lane: int, batch: int, wide: bool) -> Any:  # (an `openvino.InferRequest`, as `_model`)
        """This thread's infer request of the model for `batch` crops, in a wide call or not: lane -1's (`_model`) or
        lane `lane`'s own compiled copy (`_model`); made on first use."""
        requests: dict[tuple[int, int, bool], Any] = self._own.__dict__.setdefault("requests", {})
        key = (lane, batch, self._is_wide(batch, wide))
        request = requests.get(key)
        if request is None:
            compiled = self._model(batch, wide, lane)
            request = requests[key] = compiled.create_infer_request()
        return request

    def _wide_ready(self, parts: list[int]) -> bool:
        """Whether the wide copies a call of these parts runs on are compiled (part i > 0 on lane i - 1's own copy);
        those not compiled yet are asked of the worker thread (`CompileWorker`), and the call runs narrow meanwhile."""
        ready = True
        for lane, size in enumerate(parts, start=-1):
            if not self._is_wide(size, True):
                continue  # (a smaller part of a wide split runs on its narrow copy)
            if (size, True) not in (self._compiled if lane < 0 else self._lanes[lane]):
                self._wide_worker.ask((lane, size))
                ready = False
        return ready

    def _compile_wide(self, key: tuple[int, int]) -> None:
        """Compile the wide copy of `key` (lane, batch) and keep it (in the worker thread: `_wide_ready`)."""
        lane, size = key
        self._model(size, True, lane)

    def wait_compiled(self) -> None:
        """Return once every wide copy asked for so far is compiled (they compile in a worker thread: the calls
        meanwhile run on the narrow copies); at once if none is under way."""
        self._wide_worker.wait()

    @property
    def requests(self) -> int:
        """Inferences one call is split over (`requests` of the constructor)."""
        return self._requests

    @property
    def compiled_batches(self) -> tuple[int, ...]:
        """The static batch sizes compiled so far (on `threads`; the wide copies: `compiled_wide_batches`)."""
        return tuple(sorted(size for size, wide in self._compiled_now() if not wide))

    @property
    def compiled_wide_batches(self) -> tuple[int, ...]:
        """The static batch sizes whose copy on `wide_threads` is compiled so far."""
        return tuple(sorted(size for size, wide in self._compiled_now() if wide))

    @property
    def loaded_from_cache(self) -> tuple[int, ...]:
        """The static batch sizes whose compiled model on `threads` was loaded from the cache (`COMPILED_FOLDER`), not
        compiled again."""
        with self._kept:
            return tuple(sorted(size for size, wide in self._loaded if not wide))

    def _compiled_now(self) -> dict[tuple[int, bool], Any]:
        """A copy of the compiled models kept so far (the worker thread may add one meanwhile)."""
        with self._kept:
            return dict(self._compiled)

    def compiled_settings(self, batch: int = 1, wide: bool = True) -> dict[str, str]:
        """Each setting the model for a static batch of `batch` crops asks OpenVINO for (`COMPILE_SETTINGS`), the
        precision it computes in (`INFERENCE_PRECISION_HINT`: f32, or OpenVINO's default where `half` and AMX) and
        its inference threads (`INFERENCE_NUM_THREADS`: `threads`, or `wide_threads` from `wide_from` crops on
        unless `wide` is False, as within `detector_beside`), as the compiled model reports them back (compiled on
        first use)."""
        compiled = self._model(batch, wide)
        keys = {**self._settings_for(batch, self._is_wide(batch, wide)), _THREADS: None, _PRECISION: None}
        return {key: str(compiled.get_property(key)) for key in keys}  # type: ignore[attr-defined]

    def _is_wide(self, batch: int, wide: bool) -> bool:
        """Whether a batch of `batch` crops runs on `wide_threads`: in a wide call (`wide`), from `wide_from` on."""
        return wide and 0 < self._wide_from <= batch

    def _settings_for(self, batch: int, wide: bool) -> dict[str, object]:
        """The compile settings of the model for a static batch of `batch` crops: this model's, with `wide_threads`
        inference threads (0: OpenVINO's default, all cores) where `wide` (`_is_wide`)."""
        if not wide:
            return self._settings
        settings = {key: value for key, value in self._settings.items() if key != _THREADS}
        return settings | ({_THREADS: self._wide_threads} if self._wide_threads > 0 else {})

    @property
    def dim(self) -> int:
        """D, the embedding size."""
        return int(self._ir.outputs[0].get_partial_shape()[1].get_length())

    def _model(self, batch: int, wide: bool, lane: int = -1) -> Any:  # (an `openvino.CompiledModel`: openvino
        # reads as Any, pyproject's mypy)
        """The model compiled for a static batch of `batch` crops, in a wide call or not: the shared copy, or with
        `lane` >= 0 that lane's own (compiled on first use; by the worker thread and a caller at once: the first
        kept)."""
        key = (batch, self._is_wide(batch, wide))
        table = self._compiled if lane < 0 else self._lanes[lane]
        compiled = table.get(key)
        if compiled is None:
            made, loaded = self._compile(*key)
            with self._kept:
                compiled = table.setdefault(key, made)
                if compiled is made and loaded and lane < 0:
                    self._loaded.add(key)
        return compiled

    def _precompile(self) -> None:
        """Compile the narrow models of static batches 1 to `PRECOMPILED_BATCH` (at most the largest): compiled on
        first use, they stalled a video (`PRECOMPILED_BATCH`)."""
        for size in range(1, min(PRECOMPILED_BATCH, self._max_batch) + 1):
            self._model(size, False)

    def _compile(self, batch: int, wide: bool) -> tuple[Any, bool]:  # (an `openvino.CompiledModel`, as `_model`)
        """A new compiled copy of the model for a static batch of `batch` crops, on `wide_threads` where `wide`,
        loaded from its blob where the cache has one (`blob_cache.load_or_compile`), and whether it was."""
        ir = self._ir.clone()
        shape = [batch, *self._input_hw, 3]
        ir.reshape(shape)
        if self._ir_digest is None:  # (no cache, or it cannot be keyed: compiled)
            return load_or_compile(self._core, ir, "CPU", self._settings_for(batch, wide), None)
        key = f"{self._ir_digest}|{shape}"  # (the reshape of one IR: its digest and the shape name the model)
        return load_or_compile(self._core, ir, "CPU", self._settings_for(batch, wide), self._blobs, key)


def compiled_cache() -> BlobCache:
    """A cache of compiled models' blobs in `compiled_folder()` (one per user: its warnings its own), made after the
    cache folder's `OPENVINO_CACHE_FOLDER` (OpenVINO's own model cache, which this one replaced in stop 76) is removed
    where it holds only OpenVINO's blobs (`blob_cache.remove_openvino_cache`: errors logged, never raised)."""
    remove_openvino_cache(_cache_dir() / OPENVINO_CACHE_FOLDER)
    return BlobCache(compiled_folder(), option=f"cache folder ({CACHE_ENV}=FOLDER)")


def compiled_folder() -> Path:
    """The folder of the compiled models' blobs (`COMPILED_FOLDER` in the folder `CACHE_ENV` names; `blob_cache`)."""
    return _cache_dir() / COMPILED_FOLDER


def largest_static_batch(max_batch: int) -> int:
    """The largest static batch compiled for a `max_batch` (`reid.batch_size`): the power of two at most it (at
    least 1); larger calls run in chunks of it."""
    return 1 << (max(1, max_batch).bit_length() - 1)


def split_sizes(count: int, requests: int, limit: int) -> list[int]:
    """How `count` crops are split over at most `requests` inferences run at once: near-equal parts, larger first,
    none empty (5 over 2 -> [3, 2]; 1 -> [1]); `[count]` (no split) when a part would exceed `limit` crops or
    `requests` is 1."""
    parts = min(requests, count)
    if parts <= 1 or -(-count // parts) > limit:
        return [count]
    base, extra = divmod(count, parts)
    return [base + 1] * extra + [base] * (parts - extra)


def static_batches(count: int, largest: int, exact: int = 0) -> list[int]:
    """Batch sizes summing to `count`, largest first: chunks of `largest` (a power of two), then powers of two down
    to a rest of at most `exact` crops, which runs as one batch of its own size. 7 -> [4, 2, 1] with `exact` 0,
    [7] with `exact` 8; 19 (largest 16, exact 8) -> [16, 3]; 45 (largest 64, exact 8) -> [32, 8, 5]."""
    exact = min(exact, largest)
    sizes = [largest] * (count // largest)
    rest = count % largest
    while rest > exact:
        sizes.append(1 << (rest.bit_length() - 1))
        rest -= sizes[-1]
    if rest:
        sizes.append(rest)
    return sizes


def _read_converted(
    core: object, ov: object, model: torch.nn.Module, weights: Path, input_hw: tuple[int, int]
) -> object:
    """The converted IR of `model` from the cache, converted (and cached) when absent or unreadable."""
    path = cached_model_path(model, weights, input_hw)
    if path.is_file():
        try:
            return core.read_model(path)  # type: ignore[attr-defined]
        except RuntimeError as exc:  # damaged by hand or by a full disk: convert again
            log.warning("unreadable cached OpenVINO model %s (%s): converting again", path, exc)
    example = torch.zeros((1, 3, *input_hw))
    model = model.to(memory_format=torch.contiguous_format)
    with warnings.catch_warnings():  # convert_model traces with torch.jit, which warns it is deprecated
        warnings.simplefilter("ignore", FutureWarning)
        ir = ov.convert_model(model, example_input=example, input=[(-1, 3, *input_hw)])  # type: ignore[attr-defined]
    _save(ov, ir, path)
    # Read back: the model later runs read, so that the compiled models' blobs (`blob_cache`) key on one model, not two.
    return core.read_model(path) if path.is_file() else ir  # type: ignore[attr-defined]


def _with_preprocessing(ov: object, ir: object) -> object:
    """The IR taking (B, H, W, 3) uint8 BGR crops: float conversion, BGR -> RGB and ImageNet normalisation
    become the first operations of the model (source: OpenVINO's preprocessing API, `PrePostProcessor`)."""
    from openvino.preprocess import ColorFormat, PrePostProcessor

    ppp = PrePostProcessor(ir)
    ppp.input().tensor().set_element_type(ov.Type.u8).set_layout(ov.Layout("NHWC")).set_color_format(  # type: ignore[attr-defined]
        ColorFormat.BGR
    )
    ppp.input().model().set_layout(ov.Layout("NCHW"))  # type: ignore[attr-defined]
    ppp.input().preprocess().convert_element_type(ov.Type.f32).convert_color(ColorFormat.RGB).mean(  # type: ignore[attr-defined]
        [PIXEL_MAX * m for m in IMAGENET_MEAN]
    ).scale([PIXEL_MAX * s for s in IMAGENET_STD])
    return ppp.build()


def _read_int8(core: object, model: torch.nn.Module, weights: Path, input_hw: tuple[int, int]) -> object:
    path = cached_model_path(model, weights, input_hw, int8=True)
    if not path.is_file():
        raise FileNotFoundError(
            f"reid.int8: no INT8 model for {weights.name} in {path.parent}; make it once with "
            "`python tools/quantize_reid.py` (NNCF post-training quantisation on crops of your videos)"
        )
    return core.read_model(path)  # type: ignore[attr-defined]


def save_int8(model: torch.nn.Module, weights: Path, input_hw: tuple[int, int], calibration: list[np.ndarray]) -> Path:
    """Quantise the converted IR of `model` to INT8 with NNCF post-training quantisation and cache it.

    Source: NNCF `nncf.quantize` (OpenVINO's post-training quantisation: min-max statistics of activations on
    the calibration batches, symmetric per-channel weights, fast bias correction).

    Args:
        model: the torch model in eval mode with its weights loaded (converted first when not cached).
        weights: its weights file (part of the cache key).
        input_hw: (H, W) of the crops.
        calibration: (B, 3, H, W) float32 batches of normalised crops like those the tracker will embed.
    Returns:
        The path of the cached INT8 IR, read by `OpenVINOForward(..., int8=True)`.
    Raises:
        ValueError: no calibration batch.
    """
    import nncf
    import openvino as ov

    if not calibration:
        raise ValueError("INT8 quantisation needs at least one calibration batch of crops")
    OpenVINOForward(model, weights, input_hw, half=False)  # converts and caches the fp32 IR if needed
    ir = ov.Core().read_model(cached_model_path(model, weights, input_hw))
    quantised = nncf.quantize(
        ir,
        nncf.Dataset(calibration),
        preset=nncf.QuantizationPreset.PERFORMANCE,
        subset_size=len(calibration),  # NNCF counts dataset items: batches
    )
    path = cached_model_path(model, weights, input_hw, int8=True)
    _save(ov, quantised, path)
    return path
