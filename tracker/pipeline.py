"""`Tracker`: the public entry point. `update(frame)` = detect -> embed -> associate."""

from __future__ import annotations

import contextlib
import copy
import functools
import logging
import threading
from collections.abc import Callable, Generator, Iterable, Iterator
from pathlib import Path
from typing import Any, Generic, TypeVar, overload

import numpy as np
import torch

from tracker.arguments import (
    check_gallery,
    check_model,
    check_source_name,
    checked_camera_noise,
    checked_frame_rate,
    checked_frame_size,
    detector_output,
    foreign_gallery_settings,
)
from tracker.bank import storage_dtype
from tracker.camera_motion import CameraMotionEstimator, as_homography
from tracker.config import TrackerConfig, has_appearance, load_config, validate_config
from tracker.core import TrackerCore
from tracker.device import resolve_device
from tracker.fast_numpy import largest, smallest
from tracker.frames import as_bgr, check_detect_ahead, no_frames, one_frame, own_frames, with_motions, with_times
from tracker.gallery import Gallery, ModelIdentity
from tracker.io.prefetch import Prefetch
from tracker.model_setup import (
    absolute_weights,
    build_models,
    needs_appearance,
    reid_model_identity,
    require_gallery_appearance,
    require_gallery_banks,
    require_model_files,
)
from tracker.pickled_state import pickled_state, unpickled_state
from tracker.reid.openvino import detector_beside
from tracker.stream_clock import Gap, GapCount, StreamClock, checked_timestamp
from tracker.threads import BlasThreads, exact_torch_threads, torch_threads
from tracker.types import (
    Detections,
    Detector,
    DetectorOutput,
    Embedder,
    OutsideDetections,
    TrackedObject,
    inside_rows,
    prechecked,
    to_embedding_tensor,
)

__all__ = ["Tracker", "has_appearance", "reid_model_identity", "require_gallery_appearance", "require_model_files"]

log = logging.getLogger(__name__)

EMBED_RESULT = "what the embed callback returned"  # how errors name an `update_detections(embed=...)` result
EMBEDDER_RESULT = "what the embedder returned"  # how errors name the result of `update`'s embedder
NOISE_WITHOUT_MOTION = "camera_motion_noise"  # the warned-once kind: a motion's noise given without the motion
COMPENSATION_WITHOUT_FRAMES = "camera_compensation"  # warned once: compensation on, update_detections without a motion
LOOKS_WITHOUT_APPEARANCE = "appearance"  # warned once: embeddings or embed given while appearance.enabled is false
# what reopen()'s error says to do about weights gone since `from_config` (its config, fixed, names them)
REOPEN_MISSING = (
    "this tracker was built with them: put them back where they were and reopen() again (it stays closed "
    "meanwhile, its tracks kept: update_detections goes on with them)"
)
DETECT_AHEAD = 1  # `stream`: frames detected ahead of the one being tracked (each holds a frame in memory)


_Method = TypeVar("_Method", bound=Callable[..., Any])
_Value = TypeVar("_Value")


def _one_call_at_a_time(method: _Method, name: str | None = None, refusal: str | None = None) -> _Method:
    """`method` of a Tracker, refused with RuntimeError while another guarded call on the same tracker runs (from
    another thread, or from inside an `embed` callback): two calls at once interleave their reads and writes of
    the tracks (IndexErrors, or tracks silently corrupted). The lock is only tried, never waited for. The error
    names the public method `name` the user called (default: `method`'s own name), or is `refusal` (what a user
    did: `pickle.dumps(tracker)`, not a dunder method it runs). Typed as `method` itself, so that type checkers see
    the public methods' own signatures (as `Callable` they were `(*Any, **Any) -> Any`)."""
    busy = refusal or (
        f"Tracker.{name or method.__name__} called while another call on this tracker runs (another thread?): a "
        "Tracker takes one call at a time; use one Tracker per thread or stream, or hold a lock around it"
    )

    @functools.wraps(method)
    def guarded(self: Tracker, *args: Any, **kwargs: Any) -> Any:
        if not self._calling.acquire(blocking=False):
            raise RuntimeError(busy)
        try:
            return method(self, *args, **kwargs)
        finally:
            self._calling.release()

    return guarded  # type: ignore[return-value]


def _refused_during_a_call(refusal: str) -> Callable[[_Method], _Method]:
    """`_one_call_at_a_time` for a method Python calls for the user (`pickle`, `copy.deepcopy`), whose name the user
    never wrote: the RuntimeError is `refusal` ("Tracker.__reduce_ex__ called while ..." named neither the pickle
    nor what to do)."""
    return lambda method: _one_call_at_a_time(method, refusal=refusal)


# what a pickle or a deep copy taken while a call on the tracker runs is told (`_refused_during_a_call`)
_DURING_A_CALL = (
    "while a call on it runs (update(), update_detections() or a frame of stream(), from another thread or an embed "
    "callback): the {what} would hold a half-made frame (the Kalman state moved on, the tracks not yet matched); "
    "take it between calls, from the thread that makes them or holding one lock around the calls and the {what}"
)


def _open_while_running(method: _Method) -> _Method:
    """`Tracker.stream`, counted open (`Tracker._streams_open`) from its first `next()` until it ends (exhausted,
    closed, failed or collected), while `update`, `update_detections`, `reset` and another `stream` are refused
    (`Tracker._refuse_in_stream`); refused itself while another is open. Typed as `method` itself."""

    @functools.wraps(method)
    def opened(self: Tracker, *args: Any, **kwargs: Any) -> Generator[list[TrackedObject], None, None]:
        self._refuse_in_stream("stream")
        self._streams_open += 1
        try:
            yield from method(self, *args, **kwargs)
        finally:
            self._streams_open -= 1

    return opened  # type: ignore[return-value]


class _FixedAtBuild(Generic[_Value]):
    """A `Tracker` attribute fixed when the tracker is built (a data descriptor, kept as `_<name>`): assigning it
    again the value it holds (a subclass's `self.config = config` in its `__init__`) changes nothing, and before
    `Tracker.__init__` sets it an assignment is kept (it replaces it); another value is an AttributeError saying to
    build another Tracker (`detector=tracker.detector, embedder=tracker.embedder` share the models loaded).
    Generic in the value's type (`config: _FixedAtBuild[TrackerConfig]`): type checkers read `tracker.config` as a
    `TrackerConfig`, not `Any`.

    Args:
        why: why it is fixed, for the error; instead: what to do instead; same: (tracker, value) -> whether `value`
            is what it holds; doc: the attribute's docstring.
    """

    def __init__(self, why: str, instead: str, same: Callable[[Any, object], bool], doc: str) -> None:
        self.why, self.instead, self.same, self.__doc__ = why, instead, same, doc
        self.name = self.field = ""

    def __set_name__(self, owner: type, name: str) -> None:
        self.name, self.field = name, f"_{name}"

    @overload
    def __get__(self, tracker: None, owner: type | None = None) -> _FixedAtBuild[_Value]: ...
    @overload
    def __get__(self, tracker: object, owner: type | None = None) -> _Value: ...
    def __get__(self, tracker: Any, owner: type | None = None) -> Any:
        if tracker is None:
            return self
        try:
            return tracker.__dict__[self.field]
        except KeyError:  # (before `Tracker.__init__` set it: as a missing attribute, for hasattr and getattr)
            raise AttributeError(f"'Tracker' object has no attribute {self.name!r} yet") from None

    def __set__(self, tracker: Any, value: object) -> None:
        if self.field in tracker.__dict__ and not self.same(tracker, value):
            raise AttributeError(
                f"Tracker.{self.name} is fixed when the tracker is built ({self.why}): {self.instead}; "
                "detector=tracker.detector, embedder=tracker.embedder share the models loaded"
            )
        tracker.__dict__.setdefault(self.field, value)


class Tracker:
    """Multi-object tracker with per-track appearance memory.

    Call `update(frame)` (with a detector) or `update_detections(...)` (your own detector) once per frame,
    also when there is nothing to detect. Each call returns the confirmed tracks matched in that frame, except
    fixed scene objects (`lifecycle.still_*`: tracks whose box does not jitter like people's are kept, not reported).
    One call at a time, from any thread: a call made while another runs (from another thread, or an `embed`
    callback calling back) raises RuntimeError and changes nothing; use one Tracker per stream.

    Methods and their sources (README "How it works"): detection by ultralytics YOLO; appearance by OSNet (Zhou et
    al., ICCV 2019; torchreid's weights); a constant-velocity Kalman filter on (cx, cy, w, h) boxes in pixels, its
    noise scaled by the box size, as in SORT / DeepSORT (Bewley et al. 2016, Wojke et al. 2017), with OC-SORT's
    re-update after a loss (Cao et al. 2023); ByteTrack's second pass over low-score boxes (Zhang et al. 2022); each
    stage's assignment by the Jonker-Volgenant solver of `lap.lapjv` (Hungarian-style, minimum cost); per-track FIFO
    banks of K embeddings and appearance bounds calibrated on a queue of negatives, after MoCo's memory (He et al.
    2020) and cross-batch memory, XBM (Wang et al. 2020); camera-motion compensation as BoT-SORT's GMC (Aharon et
    al. 2022) with OpenCV; the gallery's search exact (one matrix product) or faiss' inverted file with PQ codes.

    Args:
        config: a `TrackerConfig` (see `load_config`).
        frame_rate: frames per second of the source; None takes `config.frame_rate`. Every time limit of the
            config (seconds) is converted to frames with it.
        detector: callable frame ((H, W, 3) uint8 BGR numpy array) -> (boxes_xyxy, scores, class_ids): (N, 4) pixel
            corners, (N,) confidences in [0, 1], (N,) integer classes or None (others, and boxes wholly outside the
            frame, as `update_detections` takes them); `from_config` builds one.
        embedder: callable (frame, boxes_xyxy) -> (R, D) embeddings, one row per box: the frame as an (H, W, 3)
            uint8 BGR torch tensor on the tracker's device, the boxes as an (R, 4) float64 numpy array of pixel
            corners (the detections whose appearance matters); `from_config` builds one.
        gallery: a `Gallery` of identities (e.g. `Gallery.load(path, config.gallery)`: a gallery made with other
            `gallery` settings searches, keeps prototypes and forgets by its own, warned): expired tracks move into
            it and new tracks are searched in it, so IDs survive long absences, videos and cameras (`global_id` of
            each output). Call `reset()` at the end of a video (it stores the identities still alive), then
            `tracker.gallery.save(path)`. `from_config` ties it to the ReID it builds; with your own embeddings
            this Tracker cannot tell which model made them: tie it yourself, `gallery.bind_model(ModelIdentity(
            "my-reid", "<weights hash or version>"))`, so that a gallery of another model is refused.
        source_name: the source's name, recorded with gallery sightings; `reset(source_name=)` names the next one.
    Attributes:
        detector, embedder: the models given or `from_config` built (None after `close()`, until `reopen()`); share
            them with another Tracker as `Tracker(cfg, rate, detector=tracker.detector, embedder=tracker.embedder)`.
        camera_motion: the `tracker.camera_motion.CameraMotionEstimator` of `motion.camera_compensation` (None when
            it is `none`): `update_detections` callers estimate each frame's motion with its `estimate(frame,
            boxes_xyxy)` and pass its `noise_px`.
        device: the `torch.device` the banks and the ReID run on (`config.device` resolved).
    Raises:
        TypeError: `config` is not a `TrackerConfig` (a dict or a YAML path: use `load_config`), a `source_name`
            that is not a str, a `gallery` that is not a `Gallery` (a path: `Gallery.load(path, cfg.gallery)`), a
            `detector` or `embedder` that is not callable (a model path: `Tracker.from_config` builds both from the
            config).
        ConfigError: a `config` value `load_config` would refuse (one made with `dataclasses.replace`), named as in
            YAML (`appearance.bank_capacity: 0 is out of range [1, 100000]`); with a `gallery`,
            `gallery.min_embeddings` above `appearance.bank_capacity` (no bank could hold enough looks to store).
        ValueError: a frame rate that is not a number, not positive, below `MIN_FRAME_RATE` (0.001) or above
            `MAX_FRAME_RATE` (1000) frames/s, a gallery with `appearance.enabled=false` (`reid.model=none` is
            no refusal here: it only tells `from_config` to build no ReID, and your embeddings are used), a bad
            device (`tracker.device.resolve_device`: CUDA asked for where there is none, or a GPU index this machine
            lacks), `appearance.bank_dtype=float16` on the CPU (`tracker.bank.storage_dtype`).
    """

    def __init__(
        self,
        config: TrackerConfig | None = None,
        frame_rate: float | None = None,
        detector: Detector | None = None,
        embedder: Embedder | None = None,
        gallery: Gallery | None = None,
        source_name: str = "",
    ) -> None:
        if config is not None and not isinstance(config, TrackerConfig):  # a dict or a YAML path: say how
            kind = type(config).__name__
            raise TypeError(f"config must be a TrackerConfig (load_config(path, overrides)), got {kind}")
        # one built with `dataclasses.replace` skipped `load_config`'s checks (and may hold numpy numbers)
        self._config = validate_config(config if config is not None else TrackerConfig())
        check_source_name(source_name)
        check_gallery(gallery)
        check_model(detector, "detector", "frame -> (boxes_xyxy, scores, class_ids)")
        check_model(embedder, "embedder", "(frame tensor, boxes_xyxy) -> (N, D) embeddings")
        self.device = resolve_device(self.config.device)
        self._frame_rate = checked_frame_rate(frame_rate, self.config)
        if not self.config.min_frame_rate <= self.frame_rate <= self.config.max_frame_rate:
            log.warning(
                "frame_rate %g is outside the plausible range [%g, %g]: every time limit is converted with it",
                self.frame_rate,
                self.config.min_frame_rate,
                self.config.max_frame_rate,
            )
        self.detector: Detector | None = detector
        self.embedder: Embedder | None = embedder
        self._calling = threading.Lock()  # held by the call running (`_one_call_at_a_time`)
        self._streams_open = 0  # `stream`s started and not ended (paused between frames): other calls are refused
        self._warned: set[str] = set()  # kinds of unusual update_detections input already logged (once each)
        self._frame_size: tuple[int, int] | None = None  # (height, width) of the last `update` frame of this video
        self._closed = False  # `close()` released the detector and the embedder
        self._closings = 0  # `close()` calls so far: a `stream` running at one stops at its next frame, reopened or not
        # `from_config` built them from the config (`reopen` can build them again); None: not known (a pickle taken
        # before `reopen` existed)
        self._config_models: bool | None = False
        self._reid_identity: ModelIdentity | None = None  # the ReID `from_config` built (`reopen` refuses another)
        self._model_config: TrackerConfig | None = None  # `config` with the weight files `from_config` loaded, absolute
        self._blas = BlasThreads(self.config.core_threads)  # numpy's BLAS threads during a frame, as torch's
        if gallery is not None and not self.config.appearance.enabled:  # (`reid.model` names the ReID `from_config`
            # builds: here the looks are the embedder's or yours, whatever it says, so `none` refuses no gallery)
            raise ValueError("a gallery needs appearance embeddings: set appearance.enabled=true")
        if gallery is not None:
            require_gallery_banks(self.config)
            if (foreign := foreign_gallery_settings(gallery, self.config)) is not None:
                log.warning("%s", foreign)
        if embedder is not None and not self.config.appearance.enabled:  # (`from_config` builds none then)
            log.warning("embedder given with appearance.enabled=false: not used (update never calls it)")
        self.core = TrackerCore(self.config, self.frame_rate, self.device, gallery, source_name)
        self._clock = StreamClock(self.frame_rate, self.config.lifecycle)  # the last frame's time (`timestamp=`)
        cmc = self.config.motion.camera_compensation != "none"
        self.camera_motion = CameraMotionEstimator(self.config.motion) if cmc else None

    def __getstate__(self) -> dict:
        """The state to copy or pickle: all but the lock and the count of streams open (`_NOT_COPIED`). Pickling takes
        the models too (OpenVINO's cannot be: TypeError; `close()` first, or build the models in the other process)."""
        return {key: value for key, value in self.__dict__.items() if key not in _NOT_COPIED}

    @_refused_during_a_call("a Tracker cannot be pickled " + _DURING_A_CALL.format(what="pickle"))
    def __reduce_ex__(self, protocol: Any) -> Any:
        """`pickle` (a service's checkpoint): refused with RuntimeError while another call on the tracker runs, as a
        deep copy is; it would pickle a half-made frame (the Kalman state moved on, the table not yet). The state is
        pickled here, holding the guard (`_restored`): pickle wrote the state returned after the guard was released,
        while a call from another thread could run and change it (a half-made frame pickled all the same). The
        objects another may hold too (the gallery, the models: `_kept_apart`) are left to the pickle, so trackers
        pickled together still share their gallery."""
        state, apart = pickled_state(self.__getstate__(), protocol, self._kept_apart)
        return _restored, (type(self), state, apart)

    def _kept_apart(self, obj: object) -> bool:
        """Whether `obj`, met in this tracker's state, is one other pickled objects may hold too (its gallery,
        shared by trackers; its models, shared by forks): pickled apart from the state (`pickled_state`)."""
        return isinstance(obj, Gallery) or (obj is not None and (obj is self.detector or obj is self.embedder))

    @_refused_during_a_call("copy.deepcopy(tracker) is refused " + _DURING_A_CALL.format(what="copy"))
    def __deepcopy__(self, memo: dict) -> Tracker:
        """`copy.deepcopy(tracker)` forks the tracking state (tracks, banks, gallery, camera motion) and shares the
        detector and ReID models, which hold no tracking state: the fork costs no model memory and works with
        OpenVINO models too. Two trackers sharing models run one frame at a time each; from several threads at once
        they are as safe as the models (`reid.model=auto` is not: it reads the detector's last call). A copy taken
        while another call on the tracker runs is refused (RuntimeError), as any call: it would copy a half-made
        frame."""
        for model in (self.detector, self.embedder):
            if model is not None:
                memo[id(model)] = model
        fork = type(self).__new__(type(self))  # (a subclass copies as itself)
        memo[id(self)] = fork
        fork.__setstate__(copy.deepcopy(self.__getstate__(), memo))
        return fork

    def __copy__(self) -> Tracker:
        """Refused (TypeError): a shallow copy would share this tracker's tracks with a lock of its own, so that two
        "trackers" silently advanced one state, and from two threads at once corrupted it. Fork with
        `copy.deepcopy(tracker)` (it shares the models, not the tracks)."""
        raise TypeError(
            "copy.copy(tracker) would share its tracks with the copy: fork it with copy.deepcopy(tracker) (which "
            "shares the detector and ReID models), or build another Tracker"
        )

    def __setstate__(self, state: dict) -> None:
        # (a copy made before `close` existed; one made before numpy's BLAS threads were bounded, or before `reopen`)
        defaults = {
            "_closed": False,
            "_closings": 0,
            "_config_models": None,
            "_reid_identity": None,
            "_model_config": None,
        }
        renamed = {_FIXED[key]: value for key, value in state.items() if key in _FIXED}  # (pickled as plain fields)
        self.__dict__.update({**defaults, **{k: v for k, v in state.items() if k not in _FIXED}, **renamed})
        if "_blas" not in state:
            self._blas = BlasThreads(self.config.core_threads)
        if "_clock" not in state:  # (pickled before frames had times)
            self._clock = StreamClock(self.frame_rate, self.config.lifecycle)
        self._calling = threading.Lock()
        self._streams_open = 0  # (a copy taken between a stream's frames has no stream of its own)

    config: _FixedAtBuild[TrackerConfig] = _FixedAtBuild(
        "its rules were set up from it",
        "build another Tracker with the new config (Tracker(config.replace([...]), rate, ...))",
        lambda tracker, value: isinstance(value, TrackerConfig) and value == tracker._config,
        "The config the tracker was built with (read-only: its rules were set up from it; assigning another raises "
        "AttributeError).",
    )
    frame_rate: _FixedAtBuild[float] = _FixedAtBuild(
        "every time limit of the config was converted with it",
        "a video of another rate needs another Tracker (Tracker(tracker.config, rate, ...))",
        lambda tracker, value: _same_rate(value, tracker._frame_rate, tracker._config),
        "Frames per second of the source, which every time limit of the config was converted with (read-only: "
        "assigning another raises AttributeError).",
    )

    @property
    def gallery(self) -> Gallery | None:
        """The identity gallery, or None."""
        return self.core.gallery

    @classmethod
    def from_config(
        cls,
        config: TrackerConfig | str | Path | None = None,
        frame_rate: float | None = None,
        gallery: Gallery | None = None,
        source_name: str = "",
    ) -> Tracker:
        """Build the detector, the embedder (per `reid.model`) and the core from a config or a YAML path.

        A `gallery` is tied to the ReID model built here (`reid_model_identity`); one made with another model
        raises `GalleryModelError`. `source_name`: the first video's name in its sightings (as `Tracker`'s).

        Raises:
            TypeError: `config` is not a `TrackerConfig`, a path or None (a dict: `load_config(overrides=...)`); a
                `source_name` that is not a str, a `gallery` that is not a `Gallery` (before any model loads).
            ConfigError: an invalid config (a file's, one made with `dataclasses.replace`) or a config file that
                cannot be read, or with a `gallery`, `gallery.min_embeddings` above `appearance.bank_capacity`; before
                any model loads.
            FileNotFoundError: missing ReID weights (checked first, before the detector loads or downloads) or a
                missing detector model that ultralytics does not publish.
            ValueError: a bad `frame_rate` (before any model loads), a bad device, a file that is not a model of
                the configured kind, a `gallery` with
                appearance off (`reid.model=none`), or `appearance.bank_dtype=float16` on the CPU (both refused
                before any model loads).
            OSError: ultralytics could not download an official detector (offline).
            GalleryModelError: a `gallery` made with another ReID model (before any model loads, but for
                `reid.model=auto`, whose weights a first run downloads) or D (`Gallery.bind_model`, once the models
                are built).
        """
        if config is not None and not isinstance(config, TrackerConfig | str | Path):  # a dict: say how
            kind = type(config).__name__
            raise TypeError(
                f"config must be a TrackerConfig, a YAML path or None (load_config(path, overrides)), got {kind}"
            )
        cfg = config if isinstance(config, TrackerConfig) else load_config(config)
        validate_config(cfg)  # before any model loads
        checked_frame_rate(frame_rate, cfg)  # (a ValueError after the models loaded cost seconds)
        check_source_name(source_name)
        check_gallery(gallery)
        device = resolve_device(cfg.device)
        storage_dtype(cfg.appearance.bank_dtype, device)  # ValueError before any model loads (float16 on the CPU)
        if gallery is not None and not has_appearance(cfg):  # (before its model check, naming a model "none")
            raise ValueError(needs_appearance("a gallery", cfg))
        if gallery is not None:
            require_gallery_banks(cfg)
        detector, embedder, identity = build_models(cfg, device, gallery)
        tracker = cls(cfg, frame_rate, detector=detector, embedder=embedder, gallery=gallery, source_name=source_name)
        tracker._config_models, tracker._reid_identity = True, identity
        tracker._model_config = absolute_weights(cfg)  # (after the build: an official detector downloaded is there)
        return tracker

    @_one_call_at_a_time
    def close(self) -> None:
        """Release the detector and the embedder: their models' memory (OpenVINO compilations, weights, cached CUDA
        blocks) goes as soon as nothing else holds them, not at some later garbage collection. Idempotent.

        What the tracker knows stays: its tracks, `gallery` (save it yourself) and `update_detections` (your own
        detector and ReID). `update` and `stream` raise RuntimeError after it (until `reopen()`); a `stream` running
        meanwhile raises it at its next frame, also after a `reopen()` (start another `stream`: with frames detected
        ahead, it went on with the detector released here). `with Tracker.from_config(...) as tracker:` closes at
        the end of the block.
        """
        self.detector = self.embedder = None
        self._closed = True
        self._closings += 1
        if self.device.type == "cuda":
            torch.cuda.empty_cache()  # (only blocks nothing holds: other trackers' memory is theirs)

    @_one_call_at_a_time
    def reopen(self) -> None:
        """Build the detector and the ReID again after `close()`, as `from_config` built them from this tracker's
        config, so that `update` and `stream` go on with its tracks. A service's checkpoint with OpenVINO models,
        which cannot be pickled: `close()`, pickle; later, unpickle, `reopen()`, and track on. Nothing happens on a
        tracker that is not closed.

        The weight files are those `from_config` loaded, by the absolute paths it found them at: a relative
        `detector.model` or `reid.weights` (or a bare name found in `$TRACKER_WEIGHTS_DIR`) is not looked up again,
        so a process that changed its working folder since, or a pickle restored in another folder, reopens the same
        files (it loaded other files of those names there, or none). A pickle restored on another machine needs
        them at those paths.

        Raises:
            RuntimeError: a tracker not built by `from_config` (its models were yours: build a new `Tracker` with
                them, or go on with `update_detections`), or pickled by a version before `reopen()` (which did not
                record whether `from_config` built its models).
            FileNotFoundError, ValueError, OSError, GalleryModelError: as `from_config` (a weights file moved since:
                named, to be put back; a gallery bound to another model meanwhile); the tracker then stays closed,
                its tracks as they were.
            ValueError: ReID weights other than those the tracks' looks were made with (the file replaced since
                `from_config`): new looks could not be compared with the banks. Before any model loads, but for
                `reid.model=auto` (the detector's weights).
        """
        if not self._closed:
            return
        if self._config_models is None:
            raise RuntimeError(
                "this Tracker was pickled by a version of the tracker before reopen() existed, which did not record "
                "whether Tracker.from_config built its models: reopen() cannot know them (build a new Tracker, or go "
                "on with update_detections)"
            )
        if not self._config_models:
            raise RuntimeError(
                "this Tracker was not built by Tracker.from_config: reopen() cannot know your detector and ReID "
                "(build a Tracker with them, or go on with update_detections)"
            )
        cfg = self._model_config or self.config  # (None: pickled before the paths were kept; looked up as then)
        # a missing file's error says to put it back (the config, fixed, names it: "set reid.weights" misled)
        self.detector, self.embedder, _ = build_models(
            cfg, self.device, self.core.gallery, self._reid_identity, REOPEN_MISSING
        )
        self._closed = False

    def __enter__(self) -> Tracker:
        """`with Tracker.from_config(...) as tracker:` gives the tracker itself."""
        return self

    def __exit__(self, *exc_info: object) -> None:
        """`close()` at the end of the block, whether it raised or not (its error goes on)."""
        self.close()

    @_one_call_at_a_time
    def reset(self, source_name: str | None = None) -> None:
        """Forget all tracks (a new video); IDs restart at 1. The embedding size D stays (another D: a new Tracker), and
        so does the frame rate (a video of another rate: a new Tracker; `Tracker(config, rate, detector=
        tracker.detector, embedder=tracker.embedder, gallery=...)` shares the models loaded, as `track` does).

        With a gallery, the identities still alive are stored first, under the name of the video that ended.

        Args:
            source_name: the next video's name, recorded with its gallery sightings (as `Tracker(source_name=)`);
                None keeps the name so far.
        Raises:
            TypeError: a `source_name` that is not a str (checked before anything is forgotten).
        """
        self._refuse_in_stream("reset")
        if source_name is not None:
            check_source_name(source_name, "(or None: keep the name so far)")
        self.core.reset()
        if source_name is not None:
            self.core.source_name = source_name
        self._frame_size = None
        self._clock.reset()
        if self.camera_motion is not None:
            self.camera_motion.reset()

    @_one_call_at_a_time
    def rebase_clock(self) -> None:
        """The frames' times (`update(..., timestamp=)`) come from another clock from the next frame on, the tracks
        kept: a tracker restored from a pickle in a new process whose monotonic clock restarted (a machine rebooted),
        or a source whose own clock restarted. The next frame with a time is the next frame (the time between the two
        clocks is not known: nothing is advanced); the frames after it are timed against it. Without this, a time
        earlier than the last one given is a ValueError, and `reset()` forgets the tracks.
        """
        self._clock.rebase()

    @_one_call_at_a_time
    def update_detections(
        self,
        boxes_xyxy: Any,
        scores: Any,
        class_ids: Any = None,
        embeddings: Any = None,
        embed: Callable[[np.ndarray], Any] | None = None,
        camera_motion: Any = None,
        frame_size: tuple[int, int] | None = None,
        camera_motion_noise: float = 0.0,
        timestamp: float | None = None,
    ) -> list[TrackedObject]:
        """Track one frame of detections from your own detector.

        Args:
            boxes_xyxy: (N, 4) pixel corners (numpy, a list, or torch of any dtype and device: read as float64).
                More than `plausible_detections` rows (a detector's candidates before non-maximum suppression?) are
                tracked, with a warning logged once: a frame's matching costs N x T in time and memory.
            scores: (N,) detection confidences in [0, 1] (others are used as given, with a warning logged once).
            class_ids: (N,) integer classes >= 0 (a negative one is used as given, warned once), or None (all one
                class). The class policy (`classes.*`, see tracker/classes.py) decides which classes may continue
                a track; a track's class is a vote.
            embeddings: (N, D) appearance embeddings (numpy or torch, any D; a tensor on another device is moved
                to the tracker's), or None for motion only. With no detections, any empty array (`np.empty(0)`).
            embed: instead of `embeddings`, your own ReID as a callable: (R,) row indices into this call's
                arrays -> (R, D) embeddings. Called at most once per frame, for just the detections whose
                appearance matters (`appearance.lazy_embedding`), as `update(frame)` does with its embedder.
            camera_motion: the camera motion you know (vehicle odometry, PTZ encoder), used as is: a (2, 3)
                affine or (3, 3) homography (at any scale) from the previous frame's pixels to this frame's: numpy,
                a list or a torch tensor of any dtype but bool, on any device. None: no compensation this frame (this
                call has no frame to estimate it from; with `motion.camera_compensation` on, warned once, but not on
                the first frame since the tracker was made or reset, which has no frame before it: pass
                `tracker.camera_motion.estimate(frame, boxes_xyxy)`).
            frame_size: (height, width) of the frame in pixels, if known: a revival candidate away from the
                borders needs less evidence than one where a newcomer could have walked in (`tracker.entry`),
                and a track predicted wholly outside the frame comes back by re-identification only. A size
                other than the last call's is used, with a warning logged once (as `update`'s frames): call
                `reset()` between videos; not warned with a `camera_motion`, which maps the old size's pixels to
                the new one's (a stream that changed resolution: a (2, 3) scale of new / old).
            camera_motion_noise: the error of `camera_motion` in pixels when it is an estimate (the `noise_px` of
                `Tracker.camera_motion`, as `update(frame)` passes it); 0 (default): the motion is exact. At most the
                frame's larger side when `frame_size` is given (an error beyond the frame is no estimate of the
                motion: give none; without `frame_size` it is not used, as the rule that reads it needs the frame,
                `lifecycle.still_camera_noise`). Without a `camera_motion` it is ignored, with a warning logged once.
            timestamp: the frame's time in seconds (a float: `time.monotonic()` when it was captured, or the stream's
                presentation time), for a live source that may stall or drop frames; None (default): the frame after
                the one before, as without times. With times, a frame `k` frames after the one before (`round((t -
                t_prev) * frame_rate)`, at least `lifecycle.min_gap_seconds` later) is tracked after `k - 1` frames
                advanced with no detections: every track predicted and missed, lost ones aged and removed
                (`TrackerCore.advance`), so a person walking through a stall is looked for where they walked to. A
                gap longer than `lifecycle.max_gap_seconds` is a scene cut: every track ends (to the gallery, if
                any) and IDs go on (`TrackerCore.end_tracks`). Each gap is logged (a warning).
        Returns:
            The confirmed tracks matched this frame (fixed scene objects left out) as a list of `TrackedObject`,
            in increasing `track_id`, each with the index of its detection.
        Raises:
            ValueError: arrays of mismatched lengths or wrong shapes, or None for `boxes_xyxy` or `scores` (invalid
                rows are dropped with a warning);
                non-integer `class_ids` (or beyond int64); complex or boolean boxes, scores, class ids or embeddings,
                or any of them as text (dtype '<U' or 'S', a list of strings, text among the objects of a list or
                a pandas column), dates or durations (datetime64, timedelta64, or the Timestamps of a pandas column
                of dates with a time zone) or a numpy array of dtype object;
                embeddings
                of another D than the tracker's banks (or gallery) hold, of D = 0, or complex; both `embeddings` and
                `embed`; `embed` returning the wrong number of rows or D; a `camera_motion` that is not a finite, real,
                invertible (2, 3) or (3, 3) array, or that takes the tracks beyond floating-point range
                (`camera_motion.warp_states`, `warp_boxes_xywh`: also a homography whose horizon passes through a
                track's centre); a `frame_size` that is not two positive whole pixel counts (480.5 is refused, not
                truncated); a `camera_motion_noise` that is not a finite number >= 0, or beyond the larger side of
                `frame_size`.
            TypeError: an `embed` that is not callable (an array belongs in `embeddings`; a frame size given fifth,
                where `embed` goes, is told `frame_size=`), checked before both `embeddings` and `embed` given.
            Exception: whatever `embed` raises, unchanged. After any of these errors the tracker is as before the
                call (for `embed`'s: the core's `_all_or_nothing`), so the frame can be given again; a gap in time
                before it stays advanced (given again with the same `timestamp`, it is the next frame).
            ValueError, TypeError: a `timestamp` at or before the last frame's (ValueError naming both times; a frame
                given twice, a clock that went back: `reset()` starts a new stream), NaN or infinite (ValueError), or
                not a number (TypeError); refused before anything changes.
        """
        self._refuse_in_stream("update_detections")
        if embed is not None and not callable(embed):  # (before "both": a frame size given fifth lands here)
            pair = isinstance(embed, tuple | list) and len(embed) == 2
            instead = "to give this frame's embeddings themselves, pass embeddings="
            instead = "a frame size goes by name, frame_size=(height, width)" if pair else instead
            callable_ = "a callable ((R,) row indices -> (R, D) embeddings)"
            raise TypeError(f"embed must be {callable_}, got {type(embed).__name__}; {instead}")
        if embeddings is not None and embed is not None:
            raise ValueError("give either embeddings or embed, not both")
        transform = None if camera_motion is None else as_homography(camera_motion)
        size = None if frame_size is None else checked_frame_size(frame_size)
        noise = checked_camera_noise(camera_motion_noise, size)
        stamp = checked_timestamp(timestamp)
        gap = self._clock.gap(stamp)  # (a time at or before the last frame's: refused before anything changes)
        # validation and normalisation included; a failed call (given again) leaves its dropped rows uncounted
        with _faults_undone_on_error(self.core), torch_threads(self.config.core_threads) as callers_threads, self._blas:
            core = self.core
            dets = Detections.from_arrays(
                boxes_xyxy,
                scores,
                class_ids,
                embeddings,
                device=self.device,
                faults=core.embedding_faults,
                dropped=core.invalid_detections,
            )
            self._warn_once(dets.unusual(self.config.plausible_detections, size))
            self._warn_unused_inputs(dets, embeddings, embed, transform, noise)
            if size is not None:
                why = ": frame_size is (height, width), got ({height}, {width})"  # (`_inside` formats it if needed)
                dets = _inside(dets, size, core.outside_detections, why)
            self._time_frame(stamp)
            self._pass_gap(gap, stamp, size)
            embed_rows = None
            if embed is not None:

                def embed_rows(rows: np.ndarray) -> torch.Tensor:
                    # the caller's ReID runs with the caller's threads
                    with exact_torch_threads(callers_threads), self._blas.released():
                        rows_embedded = embed(dets.index[rows])
                        return self._looks_returned(rows_embedded, len(rows), EMBED_RESULT)

            objects = core.step(
                dets, embed=embed_rows, camera_motion=transform, frame_size=size, camera_motion_noise=noise
            )
        self._counted(stamp)
        if size is not None:  # (once tracked: a refused call leaves the tracker as before it)
            self._note_frame_size(size, moved=transform is not None)
        return objects

    def _warn_unused_inputs(
        self, dets: Detections, embeddings: Any, embed: Any, transform: np.ndarray | None, noise: float
    ) -> None:
        """Log once per tracker each input of an `update_detections` call that is not used: a `camera_motion_noise`
        without a `camera_motion`, no `camera_motion` while `motion.camera_compensation` is on (except on the first
        frame since the tracker was made or reset, which has no motion), and looks (given or an `embed`) with
        `appearance.enabled` false."""
        if transform is None and noise > 0:
            self._warn_once(
                {NOISE_WITHOUT_MOTION: "camera_motion_noise without a camera_motion is ignored"}, used=False
            )
        if transform is None and self.camera_motion is not None and self.core.frame_index > 0:
            # (the first frame since the tracker was made or reset has no frame before it: no motion to miss)
            self._warn_once(self._compensation_without_frames(), used=False)
        if not self.config.appearance.enabled and (embed is not None or (embeddings is not None and len(dets))):
            given = "embed" if embed is not None else "embeddings"
            self._warn_once(
                {LOOKS_WITHOUT_APPEARANCE: f"{given} given with appearance.enabled=false: not used"}, used=False
            )

    def _compensation_without_frames(self) -> dict[str, str]:
        """The warned-once kind and message of an `update_detections` call without a `camera_motion` while
        `motion.camera_compensation` is on: the estimate needs the frames, which that call has none of."""
        method = self.config.motion.camera_compensation
        return {
            COMPENSATION_WITHOUT_FRAMES: f"motion.camera_compensation={method} estimates the camera motion from "
            "frames, and update_detections has none: no camera motion is applied; pass "
            "camera_motion=tracker.camera_motion.estimate(frame, boxes_xyxy) (and camera_motion_noise="
            "tracker.camera_motion.noise_px), or track with update(frame)"
        }

    def _looks_returned(self, looks: Any, count: int, name: str) -> torch.Tensor:
        """What a ReID callback returned for `count` boxes as (count, D) float32 embeddings on the tracker's device,
        or ValueError naming it as `name` (`EMBED_RESULT`, `EMBEDDER_RESULT`): other rows, D = 0, or another D than
        the banks (or gallery) hold. Checked here, not left to the core, whose errors name an `embeddings` argument
        neither `update` nor an `embed=` call has."""
        out = to_embedding_tensor(looks, count, self.device, name=name)
        if count:
            self.core.check_embedding_dim(out.shape[1], name)
        return out

    def _warn_once(self, unusual: dict[str, str], caller: str = "update_detections", used: bool = True) -> None:
        """Log each kind of unusual input the first time it is seen (not rejected: used as given, or, `used` False,
        left unused), named as an argument of `caller`, the method the user called."""
        for kind, message in unusual.items():
            if kind not in self._warned:
                self._warned.add(kind)
                log.warning("%s: %s (%swarned once)", caller, message, "used as given; " if used else "")

    @_one_call_at_a_time
    def update(
        self,
        frame: np.ndarray,
        camera_motion: Any = None,
        camera_motion_noise: float = 0.0,
        timestamp: float | None = None,
    ) -> list[TrackedObject]:
        """Detect, embed and track one HxWx3 uint8 BGR frame (as OpenCV reads it).

        The frame is uploaded to the device once, and only if some detection needs an embedding; the core
        asks for the embeddings of just the detections whose appearance matters (see
        `appearance.lazy_embedding`), which the embedder computes in one batch. Grayscale (HxW, HxWx1) and BGRA
        (HxWx4) frames are converted. A frame of another size than the last one is tracked, with a warning logged
        once (not with a `camera_motion`, which maps the old size's pixels to the new one's): call `reset()` between
        videos. Detections wholly outside the frame (a detector of yours that does not
        clip its boxes) are dropped as `update_detections` drops them outside its `frame_size` (`outside_detections`).

        Args:
            frame: the image, a numpy uint8 array (H, W, 3) BGR, (H, W) or (H, W, 1) gray, or (H, W, 4) BGRA.
            camera_motion: the camera motion you know for this frame (a PTZ's encoder, a vehicle's odometry), used as
                is instead of `motion.camera_compensation`'s estimate (which then only takes this frame as the one
                its next estimate starts from; with `auto`, the motion it held back from the frames before is applied
                with it): as `update_detections`' (a (2, 3) affine or (3, 3) homography from the previous frame's
                pixels to this frame's). None (default): the configured estimate, if any.
            camera_motion_noise: the error of `camera_motion` in pixels (0, default: exact), as `update_detections`'.
            timestamp: the frame's time in seconds, as `update_detections`' (None, default: the next frame). After a
                gap, the configured camera-motion estimate is skipped for the frame (a motion across seconds is not
                one frame's motion): counted in `camera_motion_failures`, as a fallback to the identity.

        Returns:
            The confirmed tracks matched in this frame (as `update_detections`).
        Raises:
            ValueError: a frame that is not a numpy uint8 array of shape (H, W), (H, W, 1), (H, W, 3) or (H, W, 4),
                or an empty one (H or W 0); the message says how to convert a float frame or a torch tensor; a
                `camera_motion`, `camera_motion_noise` or `timestamp` `update_detections` refuses (checked before
                detecting).
                A detector that returns something other than (boxes_xyxy, scores, class_ids) (checked before
                anything is tracked). An embedder returning other than (R, D) embeddings for the R boxes it was
                given, or another D than the tracker's banks (or gallery) hold: named as what the embedder returned
                (it said "embeddings", an argument `update` has not), the tracker as before the call.
            RuntimeError: a Tracker built without a detector (use `Tracker.from_config` or `update_detections`), or
                closed (`close`), or with a `stream` open (paused between its frames: close it first; also
                `update_detections` and `reset`).
            Exception: whatever the detector or embedder raises (a GPU out of memory), unchanged; the tracker is then
                as before the call (`_track`), so the frame can be given again.
        """
        self._refuse_in_stream("update")
        motion_of = functools.partial(self._given_motion, camera_motion, camera_motion_noise)
        return self._detected(frame, motion_of, checked_timestamp(timestamp))

    def _update_in_stream(
        self, frame: Any, motion: np.ndarray | None, noise: float, timestamp: float | None = None
    ) -> list[TrackedObject]:
        """`update(frame, camera_motion=motion, camera_motion_noise=noise)` for `stream`'s frames detected in the
        loop, `motion` already converted and checked by `with_motions` (as `as_homography`'s, its item named): not
        converted again (`_in_stream`)."""
        return self._detected(frame, functools.partial(_in_stream, motion, noise), timestamp)

    def _detected(
        self,
        frame: Any,
        motion_of: Callable[[tuple[int, int]], tuple[np.ndarray, float] | None],
        timestamp: float | None = None,
    ) -> list[TrackedObject]:
        """`update`'s work: the detector checked (`_check_detector`), the frame `as_bgr`'s, its known motion
        `motion_of((height, width))` and its `timestamp` (checked: `checked_timestamp`) checked before the detector
        runs, then the frame detected and tracked."""
        detector = self._check_detector()
        frame = as_bgr(frame)
        given = motion_of(frame.shape[:2])
        self._clock.gap(timestamp)  # (a time at or before the last frame's: refused before the detector runs)
        return self._track(frame, prechecked(detector)(frame), given, timestamp)  # (the frame checked: `as_bgr`)

    _stream_update = _one_call_at_a_time(_update_in_stream, "stream")  # one call at a time, as `update`

    def _given_motion(
        self, camera_motion: Any, camera_motion_noise: Any, size: tuple[int, int] | None, caller: str = "update"
    ) -> tuple[np.ndarray, float] | None:
        """A frame's known `camera_motion` and its noise, checked, as `_track` takes them (None: none given; a noise
        without a motion is checked, then ignored with a warning logged once, naming `caller`'s argument).
        ValueError as `update_detections`'."""
        if camera_motion is not None:
            return as_homography(camera_motion), checked_camera_noise(camera_motion_noise, size)
        if camera_motion_noise != 0.0:
            checked_camera_noise(camera_motion_noise, size)  # (refused as update_detections refuses it)
            motion = "camera_motions" if caller == "stream" else "a camera_motion"
            self._warn_once({NOISE_WITHOUT_MOTION: f"camera_motion_noise without {motion} is ignored"}, caller, False)
        return None

    @_open_while_running
    def stream(
        self,
        frames: Iterable[np.ndarray],
        detect_ahead: bool | None = None,
        *,
        camera_motions: Iterable[Any] | None = None,
        camera_motion_noise: float = 0.0,
        timestamps: Iterable[float | None] | None = None,
    ) -> Generator[list[TrackedObject], None, None]:  # (a generator: `close()` stops its detecting thread)
        """`update` each frame of `frames` in turn, yielding its tracks; the same outputs, in the same order.

        With `detect_ahead`, the next frame is read and detected in a background thread while this one is
        embedded and tracked (a queue of one frame, `tracker.io.prefetch.Prefetch`): detection does not depend
        on tracking, so only the time overlaps. Not with `reid.model=auto`, whose embeddings pool the detector's
        maps of the frame being tracked (it then runs like `update`). None (the default): ahead unless the detector
        is a PyTorch model, whose own threads already take every core (docs/decisions.md: detect ahead; measured
        0.90-0.92x the frames/s of `update` with yolov8n.pt on 2 cores, 1.13-1.27x with the OpenVINO export).
        Close the generator (or exhaust it) to stop the thread.

        Args:
            frames: an iterable of frames as `update` takes them (a generator, a list, an (N, H, W, C) array).
            detect_ahead: True / False (1 / 0) to detect ahead or not; None: as said above. Anything else is a
                TypeError.
            camera_motions: the camera motion you know for each frame (a PTZ's encoder, a vehicle's odometry), an
                iterable read in step with `frames` (a generator, a list, an (N, 3, 3) array): its i-th item is frame
                i's `camera_motion` as `update` takes it (from frame i - 1's pixels to frame i's), None for a frame
                whose motion is not known (the configured estimate, if any). Frames and motions stay paired when
                frames are detected ahead. None (default): no motion given, as `update(frame)`.
            camera_motion_noise: the error in pixels of every motion given (not of the None items), as `update`'s
                (0, default: exact).
            timestamps: each frame's time in seconds, an iterable read in step with `frames` (its i-th item is
                frame i's `timestamp` as `update` takes it; None for a frame without one). A live source's outages
                are then advanced (`update`). None (default): the frames are consecutive.
        Yields:
            One list of `TrackedObject` per frame, as `update` returns.

        Raises (a generator: nothing runs at the call, so each comes out of the first `next()` or loop step that
        reaches it, not out of `stream(...)` itself):
            TypeError: a `detect_ahead` other than True, False, 1, 0 or None (the motions given second, where it goes:
                a list was taken for True and ignored; `camera_motions` goes by name), at the first `next()`.
            RuntimeError: a Tracker built without a detector (at the first `next()`), or closed (`close`: at the
                first frame after it, also when `reopen()` came since: start another `stream`). From its first
                `next()` until it ends (exhausted, closed or failed), the stream is open: `update`,
                `update_detections`, `reset` and another `stream` of the tracker are a RuntimeError meanwhile (their
                frames would interleave with its frames in one tracking state), and so is this one at its first
                `next()` while another is open. A copy or pickle taken between its frames has none open.
            ValueError: a frame `update` refuses (raised when that frame is reached, after the frames before it);
                one frame given as `frames` (an (H, W) or (H, W, C) array, C 1, 3 or 4: its rows were tracked as
                H frames of one pixel row each; `update(frame)` or `stream([frame])`), a path (its characters were
                taken for frames: "frame must be a numpy uint8 array ..., got str") or something not iterable (a
                `cv2.VideoCapture`, which was a bare "TypeError: ... object is not iterable"), at the first `next()`. A
                `camera_motions` item `update` refuses as a `camera_motion` (named "camera_motions item i"), when its
                frame is reached;
                `camera_motions` that is not iterable or is one motion (a (2, 3) or (3, 3) array), or a list or
                array of another length than a list or array of frames, at the first `next()`; motions that end
                before the frames do, at the frame left without one (the frames before it were tracked), or go on
                after the last frame, after its tracks were yielded. `timestamps` that is not iterable (one number,
                a string), at the first `next()`; that ends before the frames do, at the frame left without one; an
                item that is not finite (named "timestamps item i") or at or before the last frame's time (as
                `update`'s `timestamp`), when its frame is reached.
            TypeError: a `timestamps` item that is not a number (named "timestamps item i"), when its frame is
                reached.
        """
        detector = self._check_detector()  # (the thread detecting ahead keeps it: a `close()` meanwhile stops at the
        # next frame)
        closings = self._closings  # (a `close()` from now on ends this stream)
        check_detect_ahead(detect_ahead)
        if one_frame(frames):
            raise ValueError(
                f"frames must be an iterable of frames (a generator, a list, an (N, H, W, C) array), got one frame of "
                f"shape {frames.shape}: update(frame) tracks one frame, stream([frame]) a list of one"
            )
        if (instead := no_frames(frames)) is not None:
            raise ValueError(
                f"frames must be an iterable of frames (a generator, a list, an (N, H, W, C) array), {instead}"
            )
        from tracker.embedder import DetectorFeatureEmbedder  # reads the detector's last call: no detecting ahead

        paired = with_times(with_motions(frames, camera_motions), timestamps)
        if camera_motions is None:
            self._given_motion(None, camera_motion_noise, None, "stream")  # a noise without motions: warned, ignored
        else:
            checked_camera_noise(camera_motion_noise)  # checked now (against each frame's size when it has a motion)
        if detect_ahead is None:
            detect_ahead = not getattr(self.detector, "is_pytorch", False)
        if not detect_ahead or isinstance(self.embedder, DetectorFeatureEmbedder):
            for frame, motion, stamp in paired:  # (each motion `as_homography`'s: `with_motions` checked its item)
                self._check_detector(closings)
                yield self._stream_update(frame, motion, camera_motion_noise, stamp)
            return
        # each frame travels with its motion through the queue: a motion cannot meet another frame's detections
        detect = prechecked(detector)  # (each frame checked by `own_frames`: `as_bgr`)
        detected = ((frame, motion, stamp, detect(frame)) for frame, motion, stamp in own_frames(paired))
        callers_threads = torch.get_num_threads()
        try:
            with Prefetch(detected, depth=DETECT_AHEAD) as ahead:
                for frame, motion, stamp, boxes in ahead:
                    self._check_detector(closings)
                    given = _in_stream(motion, camera_motion_noise, frame.shape[:2])
                    self._clock.gap(stamp)  # (a time at or before the last frame's: refused before it is tracked)
                    with detector_beside():  # (the next frame's detector has the other cores: ReID on `threads`)
                        tracked = self._track_one(frame, boxes, given, stamp)
                    yield tracked
        finally:
            # torch's thread count is process-wide: the detector's thread and this one each bound it around their
            # calls and put back what they read, so an unlucky interleaving can leave the bounded count behind
            # once the detector's thread is gone. The caller gets back the count it had.
            torch.set_num_threads(callers_threads)

    def _refuse_in_stream(self, called: str) -> None:
        """RuntimeError naming `Tracker.<called>` while a `stream` of this tracker is open (paused between its frames).
        Interleaved with the stream, an `update`'s frame was tracked among the stream's (a time later than theirs
        then ended the stream with a ValueError at its next frame) and its detector ran while the stream's thread
        detected the next frame: one detector called from two threads at once."""
        if self._streams_open:
            raise RuntimeError(
                f"Tracker.{called} called while a stream() of this tracker is open (paused between its frames): the "
                "two would interleave their frames in one tracking state; close the stream first (its generator's "
                "close(), or let its loop end), or fork the tracker for the other frames (copy.deepcopy(tracker))"
            )

    def _check_detector(self, closings: int | None = None) -> Detector:
        """The tracker's detector (`update`, `stream`); RuntimeError when it holds none, or when it was closed since
        its `close()` count was `closings` (a `stream`'s frame after a `close()` and a `reopen()`)."""
        if closings is not None and closings != self._closings and not self._closed:
            raise RuntimeError(
                "this Tracker was closed while this stream ran (and reopened since): close() released the models it "
                "tracked with; start another stream()"
            )
        if self._closed:
            again = "reopen() builds them again" if self._config_models else "build a new one"
            raise RuntimeError(f"this Tracker was closed: close() released its detector and ReID ({again})")
        if self.detector is None:
            raise RuntimeError(
                "this Tracker has no detector: build it with Tracker.from_config(cfg) (YOLO from the config) or "
                "Tracker(cfg, rate, detector=my_detector), or give your own detector's boxes to update_detections"
            )
        return self.detector

    def _track(
        self,
        frame: np.ndarray,
        detected: DetectorOutput,
        given: tuple[np.ndarray, float] | None = None,
        timestamp: float | None = None,
    ) -> list[TrackedObject]:
        """Embed (on demand) and associate the detections of `frame`, moved by the camera motion `given` ((3, 3)
        homography and its noise in pixels, checked), else by the estimator's, if any. If the embedder fails (a GPU
        out of memory), the error goes on unchanged and the tracker is as before the call (the core's state,
        `TrackerCore._all_or_nothing`, the camera-motion estimator's, and the counts of dropped rows, for `update`'s
        frames and `stream`'s alike), so the frame can be given again. A gap in time before the frame (`timestamp`,
        checked) is advanced first (`_pass_gap`), and stays advanced if the frame then fails: given again with the
        same time, the frame is the next one."""
        with _faults_undone_on_error(self.core):  # (a failed frame, given again, counts its dropped rows once)
            return self._track_counted(frame, detected, given, timestamp)

    def _track_counted(
        self,
        frame: np.ndarray,
        detected: DetectorOutput,
        given: tuple[np.ndarray, float] | None,
        timestamp: float | None,
    ) -> list[TrackedObject]:
        """`_track` within its restore of the counts of dropped rows."""
        gap = self._clock.gap(timestamp)
        boxes, scores, class_ids = detector_output(detected)
        dets = Detections.from_arrays(
            boxes, scores, class_ids, device=self.device, dropped=self.core.invalid_detections
        )
        size = (frame.shape[0], frame.shape[1])
        # (a detector of yours giving logits, or fractions of the frame: as update_detections)
        self._warn_once(dets.unusual(self.config.plausible_detections, size), "the detector")
        # (ultralytics clips its boxes to the frame; a detector of yours may not: dropped as update_detections drops
        # them outside its frame_size, not born again every frame)
        dets = _inside(dets, size, self.core.outside_detections, ": the frame is {height}x{width} (height x width)")
        estimator = self.camera_motion
        # (before the gap's skip: a frame that fails after it is skipped again when given again, the motion `auto`
        # held back from before the gap released with it, not dropped)
        before = None if estimator is None else estimator.checkpoint()
        skipped = None  # after a gap: the motion the estimator held back (its estimate across the gap is skipped)
        self._time_frame(timestamp)
        if gap.frames:
            with torch_threads(self.config.core_threads), self._blas:  # (the core's threads, as for a frame)
                self._pass_gap(gap, timestamp, size)
        # (the frame after a gap, also given again after it failed: not one frame's motion, not estimated; a fallback)
        if self._clock.gap_untracked and given is None and estimator is not None:
            skipped = (estimator.skip(frame, dets.boxes_xyxy), estimator.noise_px)
        transform, noise = self._frame_motion(frame, dets, given) if skipped is None else skipped
        try:
            with torch_threads(self.config.core_threads) as callers_threads, self._blas:
                embed = None
                embedder = None if self.embedder is None else prechecked(self.embedder)
                if embedder is not None:

                    def embed(rows: np.ndarray) -> torch.Tensor:
                        image = torch.from_numpy(frame).to(self.device, non_blocking=True)  # the one upload
                        # crops and a PyTorch ReID forward: all threads (the frame is `as_bgr`'s, the boxes each
                        # have a crop: valid, `Detections.from_arrays`, and inside the frame, `_inside`)
                        with exact_torch_threads(callers_threads), self._blas.released():
                            looks = embedder(image, dets.boxes_xyxy[rows])
                        return self._looks_returned(looks, len(rows), EMBEDDER_RESULT)

                objects = self.core.step(
                    dets, embed=embed, camera_motion=transform, frame_size=size, camera_motion_noise=noise
                )
        except BaseException:  # the frame was not tracked: its camera motion is estimated again when it is given again
            if estimator is not None and before is not None:
                estimator.rollback(before)
            raise
        self._counted(timestamp)
        self._note_frame_size(size, moved=given is not None)  # (once tracked, as `update_detections`)
        return objects

    def _time_frame(self, timestamp: float | None) -> None:
        """With a gallery and frame times: the frame at `timestamp` (checked), about to be tracked, is the latest
        one, whose time the sightings stored meanwhile (its gap's, its own step's) are dated back from
        (`GalleryLink.store`)."""
        link = self.core.gallery_link
        if link.gallery is not None and (timestamp is not None or self._clock.given is not None):
            link.times.latest = self._clock.stream_time(timestamp)

    def _counted(self, timestamp: float | None) -> None:
        """The frame at `timestamp` was tracked: the clock counts it, and with a gallery and frame times, the frame's
        stream time is kept for dating its sightings (`GalleryLink.frame_timed`)."""
        clock = self._clock
        clock.counted(timestamp)
        link = self.core.gallery_link
        if link.gallery is not None and clock.given is not None and clock.elapsed is not None:
            link.frame_timed(self.core.frame_index, clock.elapsed)

    def _pass_gap(self, gap: Gap, timestamp: float | None, frame_size: tuple[int, int] | None) -> None:
        """Advance the frames of a gap in time before the frame at `timestamp` (`StreamClock.gap`), with no
        detections (`TrackerCore.advance`), or end every track where it is a scene cut (`TrackerCore.end_tracks`,
        `lifecycle.max_gap_seconds`); logged once per gap. Nothing for a frame without one. An advance that fails
        part-way (an interrupt) leaves the clock at the frames it advanced: given again, the frame advances the rest.
        """
        if not gap.frames or timestamp is None:
            return
        core, before = self.core, self.core.frame_index
        try:
            if gap.cut:
                ended = len(core.tracks)
                core.end_tracks(gap.frames)
            else:
                stepped = core.advance(gap.frames, frame_size)
        except BaseException:  # (an interrupt in a long advance): the frames advanced count, the rest are advanced
            self._clock.advanced_part(core.frame_index - before)  # when the frame is given again
            if gap.cut:  # (`end_tracks` counted no frame: the cut is not done, and the frame given again redoes it)
                log.warning(
                    "scene cut before the frame at %.3f s stopped part-way: %d of %d track(s) ended; the rest end "
                    "when the frame is given again",
                    timestamp,
                    ended - len(core.tracks),
                    ended,
                )
            raise
        hint = ""
        if self._clock.advanced_to(timestamp):  # (the frame before came after a gap too)
            hint = (
                " (the frame before came after a gap too: are the timestamps seconds, not milliseconds, and is the "
                f"tracker's frame_rate {self.frame_rate:g} the stream's?)"
            )
        if gap.cut:
            log.warning(
                "stream gap of %.1f s before the frame at %.3f s, above lifecycle.max_gap_seconds %g: a scene cut, "
                "%d track(s) ended%s",
                gap.seconds,
                timestamp,
                self.config.lifecycle.max_gap_seconds,
                ended,
                hint,
            )
        else:
            log.warning(
                "stream gap of %.1f s before the frame at %.3f s: tracks advanced %d frames (%d with a track left)%s",
                gap.seconds,
                timestamp,
                gap.frames,
                stepped,
                hint,
            )
        self._clock.note_passed(gap)  # (`time_gaps`)

    def _frame_motion(
        self, frame: np.ndarray, dets: Detections, given: tuple[np.ndarray, float] | None
    ) -> tuple[np.ndarray | None, float]:
        """The camera motion of `frame` from the previous frame and its noise in pixels: the motion `given`
        ((3, 3) homography, noise; checked) times what `auto` held back, else the estimator's estimate on the frame
        with the detections masked out (`CameraMotionEstimator.estimate`), else (None, 0.0) without compensation."""
        estimator = self.camera_motion
        if given is not None:
            transform, noise = given
            if estimator is not None:  # its next estimate starts from this frame; `auto`'s held-back motion comes too
                transform = transform @ estimator.observe(frame, dets.boxes_xyxy)
            return transform, noise
        if estimator is None:
            return None, 0.0
        return estimator.estimate(frame, dets.boxes_xyxy), estimator.noise_px

    _track_one = _one_call_at_a_time(_track, "stream")  # `stream`'s frames, one call at a time as `update`'s

    def _note_frame_size(self, size: tuple[int, int], moved: bool = False) -> None:
        """Log once per tracker when frames change size mid-video (`update`'s frames, `update_detections`'
        `frame_size`; tracks carry over in the old frame's pixels: most often two videos fed to one tracker without
        `reset()`); the frame is tracked all the same. Not where the caller gave the frame's camera motion (`moved`):
        that maps the old frame's pixels to the new one's (a stream that changed resolution), the tracks moved by it."""
        previous, self._frame_size = self._frame_size, size
        if previous is not None and size != previous and not moved and "frame_size" not in self._warned:
            self._warned.add("frame_size")
            log.warning(
                "the frame size changed mid-video from %dx%d to %dx%d (height x width): tracks continue "
                "in the old frame's pixels; call reset() between videos, and in `track` give each video as a "
                "source of its own (warned once)",
                *previous,
                *size,
            )

    @property
    def invalid_embeddings(self) -> int:
        """Embedding rows of this video (since `reset()`) that were NaN, infinite or zero, whether given to
        `update_detections` or returned by an embedder or `embed`: those detections were matched by motion only. The
        first is warned, the later ones logged at debug level."""
        return self.core.embedding_faults.count

    @property
    def invalid_detections(self) -> int:
        """Detection rows of this video (since `reset()`) dropped as invalid, whether given to `update_detections`
        or returned by `update`'s detector (a non-finite box or score, a corner beyond any pixel, a width or height
        under `MIN_BOX_SIZE`, 0.01 px). The first is warned, the
        later ones logged at debug level."""
        return self.core.invalid_detections.count

    @property
    def outside_detections(self) -> int:
        """Detection rows of this video (since `reset()`) dropped as wholly outside the frame: outside
        `update_detections`' `frame_size` (a (width, height) given for (height, width)?), or outside `update`'s frame
        (a detector of yours that does not clip its boxes). The first is warned, the later ones logged at debug
        level."""
        return self.core.outside_detections.count

    @property
    def time_gaps(self) -> GapCount:
        """The gaps in the frames' times this video (since `reset()`; `update(..., timestamp=)`): `advanced`, gaps
        advanced frame by frame, `frames`, frames passed with no detections in them and in the scene cuts, `cuts`,
        gaps over `lifecycle.max_gap_seconds` (every track ended), `seconds`, the time without frames in all of them.
        All 0 without timestamps."""
        return self._clock.passed

    @property
    def camera_motion_failures(self) -> int:
        """Frames of this video (since `reset()`) whose camera-motion estimate failed and fell back to the identity
        (0 without compensation, `motion.camera_compensation=none`)."""
        return 0 if self.camera_motion is None else self.camera_motion.failures


def _same_rate(value: object, rate: float, config: TrackerConfig) -> bool:
    """Whether `value`, given as `Tracker(frame_rate=value)`, builds a tracker of `rate` frames/s."""
    try:
        return checked_frame_rate(value, config) == rate
    except ValueError:
        return False


def _restored(kind: type[Tracker], state: bytes, apart: tuple[object, ...]) -> Tracker:
    """A `Tracker` (of class `kind`) unpickled from its `state` and the objects kept `apart` from it, as
    `Tracker.__reduce_ex__` pickled them."""
    tracker = kind.__new__(kind)
    tracker.__setstate__(unpickled_state(state, apart))
    return tracker


# what a copy or pickle of a Tracker leaves out: the lock of the call running, the streams open (`_refuse_in_stream`)
_NOT_COPIED = ("_calling", "_streams_open")
# fields a Tracker pickled before they were read-only properties holds under their public names
_FIXED = {"config": "_config", "frame_rate": "_frame_rate"}


@contextlib.contextmanager
def _faults_undone_on_error(core: TrackerCore) -> Iterator[None]:
    """Put the core's counts of dropped detections and faulty embeddings back as they were if the block raises: the
    frame was not tracked (`TrackerCore._all_or_nothing` restores the rest), and given again it counts its rows again
    (three tries of a frame with one NaN box read `invalid_detections` 3)."""
    counters = (core.invalid_detections, core.outside_detections, core.embedding_faults)
    counts = [counter.count for counter in counters]
    try:
        yield
    except BaseException:
        for counter, count in zip(counters, counts, strict=True):
            counter.count = count
        raise


def _in_stream(motion: np.ndarray | None, noise: float, size: tuple[int, int]) -> tuple[np.ndarray, float] | None:
    """A `stream` frame's known motion as `_track` takes it: None for a None item (the configured estimate; the
    noise, checked by `stream`, is of the motions given), else the (3, 3) homography `with_motions` converted and
    checked (converting it again cost a second `as_homography` a frame) with `noise` checked against the frame's
    (height, width) `size` (ValueError as `update`'s)."""
    return None if motion is None else (motion, checked_camera_noise(noise, size))


def _inside(dets: Detections, size: tuple[int, int], dropped: OutsideDetections, why: str) -> Detections:
    """The detections with some part inside the (height, width) frame. Rows wholly outside it are dropped and
    counted in `dropped` (the first of a video warned, with `why` after its message, a `str.format` template of
    `height` and `width`: formatted only then), as invalid rows are: no detector that clips to the frame reports them,
    and a `frame_size` given as (width, height) puts real people there (each would be born again every frame, as a
    track predicted out of view)."""
    height, width = size
    boxes = dets.boxes_xyxy
    if not len(boxes):
        return dets
    # the usual frame: every box inside, told by the corners' extremes (two reductions; a NaN fails the tests and
    # goes on to the rows' own test below, as any box outside does)
    _, _, low_x2, low_y2 = smallest(boxes, 0).tolist()
    high_x1, high_y1, _, _ = largest(boxes, 0).tolist()
    if high_x1 < width and low_x2 > 0 and high_y1 < height and low_y2 > 0:
        return dets
    inside = inside_rows(boxes, size)
    if inside.all():
        return dets
    dropped.add(int((~inside).sum()), why.format(height=height, width=width))
    return dets.select(inside)
