"""The detector and ReID a config names, built for `Tracker.from_config` and `Tracker.reopen`, and the checks made
before any model loads: the weight files are there, the gallery fits the ReID's embedding space."""

from __future__ import annotations

import dataclasses
import os
from typing import TYPE_CHECKING

import torch

from tracker.config import REID_MODELS, ConfigError, TrackerConfig, has_appearance
from tracker.gallery import Gallery, ModelIdentity
from tracker.gallery_records import describe_model

if TYPE_CHECKING:  # (imported where the models are built: ultralytics and torchvision load with them)
    from tracker.detector import UltralyticsDetector
    from tracker.embedder import DetectorFeatureEmbedder, OSNetEmbedder

__all__ = [
    "absolute_weights",
    "build_models",
    "check_gallery_model",
    "needs_appearance",
    "reid_model_identity",
    "require_gallery_appearance",
    "require_gallery_banks",
    "require_model_files",
    "unloaded_reid_identity",
]


def build_models(
    cfg: TrackerConfig,
    device: torch.device,
    gallery: Gallery | None,
    built_with: ModelIdentity | None = None,
    remedy: str | None = None,
) -> tuple[UltralyticsDetector, OSNetEmbedder | DetectorFeatureEmbedder | None, ModelIdentity | None]:
    """The detector, the embedder (None without appearance) `cfg` names, on `device`, and the ReID's identity (None
    without appearance; `reid_model_identity`, with D). `gallery` (if any) is checked against the ReID before any
    model loads, then bound to it and given the detector's class names. Raises as `Tracker.from_config` says, and
    ValueError for a ReID other than `built_with` (`Tracker.reopen`: the one its tracks' looks came from); `remedy`:
    what a missing weights file's error tells the user to do (`require_model_files`)."""
    from tracker.detector import build_detector, class_names
    from tracker.embedder import build_embedder
    from tracker.signal_stack import install_signal_stack

    use_reid = has_appearance(cfg)
    require_model_files(cfg, remedy)
    # now, before the models take seconds to load, or to fail to (its weights are there: `require_model_files`)
    identity = unloaded_reid_identity(cfg) if _identity_known_unloaded(cfg) else None
    if identity is not None:
        _refuse_another_reid(identity, built_with, cfg)
        if gallery is not None:
            gallery.check_model(identity)
    # on a fork of torch's generators: a module's initial weights (replaced by the trained ones) drew from the
    # caller's, whose seeded stream then went on elsewhere
    with torch.random.fork_rng(devices=[device] if device.type == "cuda" else []):
        detector = build_detector(cfg.detector, device, keep_features=use_reid and cfg.reid.model == "auto")
        embedder = build_embedder(cfg.reid, device, detector) if use_reid else None
    install_signal_stack()  # OpenVINO's plugins, when destroyed, may leave a dangling one (tracker.signal_stack)
    if not use_reid:
        return detector, embedder, None
    # with the ReID's D (a gallery bound to no model may hold looks of another D)
    identity = dataclasses.replace(identity or reid_model_identity(cfg), dim=getattr(embedder, "dim", None))
    _refuse_another_reid(identity, built_with, cfg)
    if gallery is not None:
        gallery.bind_model(identity)
        gallery.name_classes(class_names(detector))  # saved with it: `track gallery ls` names the classes
    return detector, embedder, identity


def absolute_weights(cfg: TrackerConfig) -> TrackerConfig:
    """`cfg` with `detector.model` and `reid.weights` as the absolute paths of the files they name now
    (`tracker.weights.resolve_weights`: a path, relative to the working folder, or a name in `$TRACKER_WEIGHTS_DIR`);
    a name that names no file here is kept (an official detector ultralytics keeps elsewhere; ReID weights not used).
    What `Tracker.reopen` builds from: the files `from_config` loaded, wherever the process is by then."""
    from tracker.weights import resolve_weights

    def absolute(name: str) -> str:
        found = resolve_weights(name) if name.strip() else None  # ("": Path("") is the working folder)
        return os.path.abspath(found) if found is not None else name

    detector = dataclasses.replace(cfg.detector, model=absolute(cfg.detector.model))
    reid = dataclasses.replace(cfg.reid, weights=absolute(cfg.reid.weights))
    return dataclasses.replace(cfg, detector=detector, reid=reid)


def _refuse_another_reid(identity: ModelIdentity, built_with: ModelIdentity | None, cfg: TrackerConfig) -> None:
    """ValueError when the ReID `cfg` names now (`identity`) is not `built_with`, the one a reopened tracker's
    banks hold looks of: compared with looks of other weights, every track would be re-identified at random."""
    if built_with is None or not built_with.conflicts_with(identity):
        return
    key, name = (
        ("detector.model", cfg.detector.model) if cfg.reid.model == "auto" else ("reid.weights", cfg.reid.weights)
    )
    raise ValueError(
        f"reopen(): {key} {name!r} is now ReID model {describe_model(identity)}, but this tracker's tracks hold "
        f"looks of {describe_model(built_with)} (the file was replaced since Tracker.from_config?): their looks "
        "cannot be compared; put back the weights it was built with and reopen() again, or build a new Tracker "
        "(the tracker stays closed, its tracks kept)"
    )


def check_gallery_model(cfg: TrackerConfig, gallery: Gallery | None) -> None:
    """The check `build_models` makes before any model loads, for a caller that has more to check first
    (`track --gallery`: its model is the blocker to name before the sources the gallery holds, whose way on,
    --relink, would end at it): the ReID weights file is there and `gallery` (if any) fits the ReID's identity, its
    weights' digest and D (OSNet's, known unloaded: `unloaded_reid_identity`). Nothing is checked without appearance
    or with `reid.model=auto`, whose weights, the detector's, may only be there once ultralytics downloaded them (the
    check is made once the detector is loaded, as before).

    Raises:
        FileNotFoundError, ValueError: ReID weights not found, or an exported network (`require_model_files`).
        GalleryModelError: `gallery` made with another ReID model, or of another D (naming its file).
    """
    if gallery is None or not _identity_known_unloaded(cfg):
        return
    from tracker.embedder import require_osnet_file

    require_osnet_file(cfg.reid.weights)
    gallery.check_model(unloaded_reid_identity(cfg))


def _identity_known_unloaded(cfg: TrackerConfig) -> bool:
    """Whether the ReID's identity is known before any model loads (`unloaded_reid_identity`): with appearance, and a
    ReID other than `auto`, whose weights, the detector's, may only be there once ultralytics downloaded them."""
    return has_appearance(cfg) and cfg.reid.model != "auto"


def needs_appearance(what: str, cfg: TrackerConfig) -> str:
    """The error for `what` (a gallery) under a `cfg` that computes no appearance embeddings, naming only the keys
    to change: with `reid.model=none` alone, "set appearance.enabled=true" sent users to a key already true."""
    missing = [] if cfg.appearance.enabled else ["appearance.enabled=true"]
    if cfg.reid.model == "none":
        missing.append(f"reid.model to a model, not none ({' | '.join(REID_MODELS)})")
    return f"{what} needs appearance embeddings: set {' and '.join(missing)}"


def require_gallery_appearance(cfg: TrackerConfig, option: str = "--gallery") -> None:
    """The check `track --gallery` and `track batch --gallery` make before anything loads.

    Raises:
        ValueError: `cfg` computes no appearance embeddings (`has_appearance`), naming `option`.
    """
    if not has_appearance(cfg):
        raise ValueError(needs_appearance(option, cfg))


def require_gallery_banks(cfg: TrackerConfig) -> None:
    """The check of a config used with a gallery (`Tracker`, `Tracker.from_config`, `track batch --gallery` before
    any video starts): a track's bank must hold the `gallery.min_embeddings` looks the gallery needs to store or offer
    it (`appearance.bank_capacity` below it: the gallery would stay empty without a word). Without a gallery these
    keys do not meet, and the config is valid.

    Raises:
        ConfigError: `gallery.min_embeddings` above `appearance.bank_capacity`, naming both.
    """
    need, capacity = cfg.gallery.min_embeddings, cfg.appearance.bank_capacity
    if need > capacity:
        raise ConfigError(
            f"gallery.min_embeddings ({need}) must not exceed appearance.bank_capacity ({capacity}) with a gallery: "
            "no track's bank could hold the looks it needs to be stored, and the gallery would stay empty",
            key="gallery.min_embeddings",
        )


def require_model_files(cfg: TrackerConfig, remedy: str | None = None) -> None:
    """Check, before any model loads, the weight files `Tracker.from_config(cfg)` reads: the ReID file first (named
    before a detector download can fail), then a detector that is neither a file here nor one ultralytics downloads.
    `remedy`: what a not-found error tells the user to do (default: where to get them, which key to set).

    Raises:
        FileNotFoundError: naming the file and where it can come from (`tracker.weights.require_weights`).
        ValueError: ReID weights that are an exported network (`tracker.embedder.require_osnet_file`).
    """
    from ultralytics.utils.downloads import GITHUB_ASSETS_NAMES

    from tracker.embedder import require_osnet_file
    from tracker.weights import require_weights

    if cfg.appearance.enabled and cfg.reid.model not in ("none", "auto"):
        require_osnet_file(cfg.reid.weights, remedy)
    require_weights(cfg.detector.model, "detector", downloadable=GITHUB_ASSETS_NAMES, remedy=remedy)


def unloaded_reid_identity(cfg: TrackerConfig) -> ModelIdentity:
    """`reid_model_identity(cfg)` with D where it is known before the model loads: OSNet's feature size
    (`tracker.reid.osnet.FEATURE_DIM`); `auto`'s D is the detector's pooled channels, known once it is loaded
    (None). What a gallery is checked against before any model loads: its error names both sides' D."""
    identity = reid_model_identity(cfg)
    if cfg.reid.model == "auto":
        return identity
    from tracker.reid.osnet import FEATURE_DIM

    return dataclasses.replace(identity, dim=FEATURE_DIM)


def reid_model_identity(cfg: TrackerConfig) -> ModelIdentity:
    """The identity of the embedding space `cfg` gives: the ReID model's name and its weights' hash (the
    detector's weights for `reid.model=auto`, which embeds with the detector's features)."""
    from tracker.weights import file_digest, resolve_weights

    name, weights = cfg.reid.model, cfg.reid.weights
    if name == "auto":
        weights = cfg.detector.model
    path = resolve_weights(weights)
    digest = file_digest(path) if path is not None else f"name:{weights}"
    return ModelIdentity(name, digest)
