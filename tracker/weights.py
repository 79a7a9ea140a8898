"""Finding model weight files, with errors that say where a missing file comes from.

Nothing here downloads: `require_weights` only says that a name may be handed to a library that does
(ultralytics fetches its official assets by name), and the caller decides.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Collection
from pathlib import Path

__all__ = [
    "OSNET_ZOO_URL",
    "WEIGHTS_CACHE_ENV",
    "WEIGHTS_DIR_ENV",
    "file_digest",
    "how_to_set",
    "missing_weights",
    "require_weights",
    "resolve_weights",
    "weights_dir",
    "weights_dir_fault",
    "weights_here",
    "weights_source",
]

WEIGHTS_DIR_ENV = "TRACKER_WEIGHTS_DIR"
"""Environment variable naming a folder searched for weights given by bare file name."""

WEIGHTS_CACHE_ENV = "TRACKER_WEIGHTS_CACHE"
"""Environment variable naming the folder where a batch task keeps weights its driver sent it (`weights_here`;
default ~/.cache/tracker/weights)."""

OSNET_ZOO_URL = "https://kaiyangzhou.github.io/deep-person-reid/MODEL_ZOO"
"""torchreid's model zoo, where the OSNet weights come from (never downloaded by the tracker)."""

_SOURCES = {
    "reid": f"torchreid's model zoo, {OSNET_ZOO_URL} (OSNet ImageNet/MSMT17/Market-1501 checkpoints, torchreid "
    "state-dict format)",
    "detector": "Ultralytics (official names like yolo11n.pt are downloaded by ultralytics on first use)",
}
_CONFIG_KEYS = {"reid": "reid.weights", "detector": "detector.model"}
_OPTIONS = {"detector.model": "--model"}  # config keys `track` and `track batch` also take as an option of their own
_PYTORCH_SUFFIX = ".pt"  # a detector named without it (ultralytics' `yolo11n`) is told the file it may mean
_HASH_CHUNK = 1 << 20  # bytes read at a time when hashing
_DIGEST_CHARS = 16  # hex digits kept: enough to tell weights files apart in cache keys


def resolve_weights(name: str) -> Path | None:
    """The weights file or folder for `name`, detector's or ReID's alike: the path itself, else
    `$TRACKER_WEIGHTS_DIR/name`.

    Args:
        name: a path, or a bare file name.
    Returns:
        The existing path, or None when nothing was found (never downloads).
    """
    path = Path(name).expanduser()
    if path.exists():
        return path
    folder = weights_dir()
    if folder is not None and not path.is_absolute() and (folder / path).exists():
        return folder / path
    return None


def weights_dir() -> Path | None:
    """`$TRACKER_WEIGHTS_DIR` as a path, a leading `~` expanded (the shell leaves it in a quoted value), or None
    when it is unset or empty."""
    folder = os.environ.get(WEIGHTS_DIR_ENV)
    return Path(folder).expanduser() if folder else None


def weights_dir_fault() -> str:
    """What is wrong with `$TRACKER_WEIGHTS_DIR` for an error about a file not found there: ", FOLDER, which is no
    folder" where it is set to something that is no folder (mistyped, or not mounted: the file cannot be in it), ""
    where it is unset or a folder."""
    folder = weights_dir()
    return f", {folder}, which is no folder" if folder is not None and not folder.is_dir() else ""


def require_weights(name: str, kind: str, downloadable: Collection[str] = (), remedy: str | None = None) -> Path:
    """Like `resolve_weights`, but a name that is not found is an error unless the caller may fetch it.

    Args:
        name: a path, or a bare file name.
        kind: "reid" or "detector".
        downloadable: bare names the caller's library downloads itself (e.g. ultralytics' official assets);
            such a name, when not found locally, comes back unchanged as a relative Path.
        remedy: what the error tells the user to do (`missing_weights`); None: where to get them, which key to set.
    Returns:
        The existing path, or `Path(name)` for a downloadable bare name.
    Raises:
        FileNotFoundError: not found, naming the file and where it comes from (a detector named without a suffix,
            `yolo11n`, where `yolo11n.pt` is found or downloadable, also asks whether that is meant: ultralytics
            itself takes the bare name).
    """
    path = resolve_weights(name)
    if path is not None:
        return path
    if Path(name).name == name and name in downloadable:
        return Path(name)
    with_suffix = f"{name}{_PYTORCH_SUFFIX}"  # `yolo11n`, as ultralytics takes it: the .pt file of that name
    meant = resolve_weights(with_suffix) is not None or with_suffix in downloadable
    if remedy is None and kind == "detector" and not Path(name).suffix and meant:
        setting = how_to_set(_CONFIG_KEYS[kind], option=False).replace("PATH", with_suffix)
        remedy = f"did you mean {with_suffix}? ({setting})"
    raise missing_weights(name, kind, remedy)


def missing_weights(name: str, kind: str, remedy: str | None = None) -> FileNotFoundError:
    """The error for a weights file that is not there (for a relative name: where `$TRACKER_WEIGHTS_DIR` points, and
    whether that is a folder at all, or that it is not set; "or in $TRACKER_WEIGHTS_DIR" alone sent users looking in a
    folder never set), ending with `remedy` (default: where to get them and which config key to set)."""
    folder = weights_dir()
    where = ""
    if not Path(name).expanduser().is_absolute():
        unset = f"; ${WEIGHTS_DIR_ENV}, a folder of weights, is not set"
        where = (f" and in ${WEIGHTS_DIR_ENV}{weights_dir_fault() or f', {folder}'}") if folder is not None else unset
    key = _CONFIG_KEYS[kind]
    remedy = remedy or f"get them from {_SOURCES[kind]} and set {key} to its path ({how_to_set(key)})"
    origin = getattr(name, "origin", None)  # (a config file's relative path: `tracker.config_load.FilePath`)
    given = f": {origin()}" if callable(origin) else ""
    return FileNotFoundError(f"{kind} weights '{name}' not found (looked at the path{where}{given}); {remedy}")


def how_to_set(key: str, option: bool = True) -> str:
    """How a user sets the config `key` to a path, on the command line and from Python; with `option`, the
    detector's also as `--model`, the option `track` and `track batch` take it as (its error said `--set` alone)."""
    option_text = f"`{_OPTIONS[key]} PATH` in track and track batch, else " if option and key in _OPTIONS else ""
    return f'{option_text}`--set {key}=PATH` on the command line, overrides=["{key}=PATH"] in Python'


def weights_source(kind: str) -> str:
    """Where weights of `kind` ("reid" or "detector") come from, for an error about a damaged or incomplete file."""
    return _SOURCES[kind]


def content_digest(data: bytes) -> str:
    """`file_digest` of a file whose bytes are `data` (already read)."""
    return hashlib.sha256(data).hexdigest()[:_DIGEST_CHARS]


def weights_here(path: str, data: bytes) -> Path:
    """The weights file whose bytes are `data` (read by another machine from its file `path`), on this machine:
    `path` itself where it holds those bytes, else a copy in the per-user cache (`$TRACKER_WEIGHTS_CACHE`, default
    ~/.cache/tracker/weights), `<stem>-<content digest><suffix>`, written once per machine (`write_atomic`: a
    unique temp file, fsynced and renamed in: a task killed while writing leaves no partial file under that name,
    and tasks writing at once each rename a whole one).

    A Ray task of `track batch` on a cluster calls it for the detector the driver sent: the driver's path is missing
    on other nodes (or holds other bytes there), and each node downloading the weights itself is what the driver's
    one download replaced.

    Raises:
        OSError: the cache folder cannot be created or written (naming it).
    """
    here = Path(path)
    digest = content_digest(data)
    if here.is_file() and here.stat().st_size == len(data) and file_digest(here) == digest:
        return here
    folder = Path(os.environ.get(WEIGHTS_CACHE_ENV) or Path.home() / ".cache" / "tracker" / "weights")
    cached = folder / f"{here.stem}-{digest}{here.suffix}"
    if cached.is_file() and cached.stat().st_size == len(data):  # (only whole files are renamed in)
        return cached
    from tracker.gallery_file import write_atomic  # (the project's atomic write: a unique temp file, fsync, rename)

    try:
        write_atomic(cached, data, subject=f"the weights cache file {cached}")
    except OSError as exc:
        raise OSError(
            f"cannot keep the weights {here.name} sent by the batch's driver in {folder} ({exc.strerror or exc}); "
            f"set ${WEIGHTS_CACHE_ENV} to a writable folder on every node"
        ) from exc
    return cached


def file_digest(path: Path) -> str:
    """Content hash (16 hex digits) of a file, or of every file in a folder (OpenVINO exports are folders)."""
    digest = hashlib.sha256()
    files = sorted(p for p in path.rglob("*") if p.is_file()) if path.is_dir() else [path]
    for file in files:
        with file.open("rb") as f:
            while chunk := f.read(_HASH_CHUNK):
                digest.update(chunk)
    return digest.hexdigest()[:_DIGEST_CHARS]
