"""Our own cache of compiled OpenVINO models: `compiled.export_model()` blobs, loaded with `core.import_model`.

OpenVINO's model cache (the `CACHE_DIR` property) switches the whole process's locale to C while it reads or writes a
cached blob (its cache manager's guard: openvinotoolkit/openvino PR #24431, issue #24370): for ~0.4 s per model any
other thread of the application opening a text file with the default encoding read it as ASCII (UnicodeDecodeError)
or formatted numbers otherwise. `export_model` and `import_model` leave the locale alone (OpenVINO 2026.4, OSNet
batches 1 / 4 / 8 at load ~5.5: import 0.67 / 0.47 / 0.44 s, OpenVINO's cache 0.48 / 0.47 / 0.39 s, compiling
1.06 / 1.13 / 1.19 s; an export 0.05 s: docs/speed-log.md, stop 76).

A blob is `<folder>/<key>.blob`, `<key>` the first `KEY_CHARS` hex digits of a SHA-256 of everything that makes a
blob valid: the model (`model_digest`: its IR files' bytes, or the serialized in-memory model; or a digest the caller
gives), the device, the compile settings, OpenVINO's version and the CPU (its name and optimisation capabilities: a
home folder may be shared by machines). A blob is written atomically (temp file + rename), so a reader never sees
half of one; one that cannot be imported (damaged, cut short, another build) is compiled again and rewritten. The file
begins with the SHA-256 of the exported model after it (`BLOB_FORMAT`), checked before the import: OpenVINO imported a
blob whose weights were overwritten without complaint, and the model then computed garbage (OSNet's embeddings ~1e13
off, silently).
"""

from __future__ import annotations

import hashlib
import io
import logging
import os
import re
import stat
import tempfile
import threading
from pathlib import Path
from typing import Any

from tracker.gallery_file import write_atomic

__all__ = [
    "BLOB_FORMAT",
    "BLOB_SUFFIX",
    "KEY_CHARS",
    "BlobCache",
    "blob_path",
    "cache_key",
    "compile_cached",
    "load_or_compile",
    "model_digest",
    "remove_openvino_cache",
]

log = logging.getLogger(__name__)

KEY_CHARS = 32  # hex digits of the SHA-256 key kept in a blob's file name (128 bits: no two keys meet)
BLOB_SUFFIX = ".blob"  # a compiled model's file: <key>.blob
BLOB_FORMAT = "sha256+export"  # a blob file's layout, part of its key: the SHA-256 of the export, then the export
# (earlier versions' bare exports, which cannot be checked, are not read: their keys were other)
_CHECKSUM_BYTES = hashlib.sha256().digest_size  # the checksum at the start of a blob file
_CPU_PROPERTIES = ("FULL_DEVICE_NAME", "OPTIMIZATION_CAPABILITIES")  # what tells one CPU's blobs from another's
_HASH_CHUNK = 1 << 20  # bytes read at a time while hashing an IR's files
# Layer names left out of a serialized model's hash: OpenVINO numbers the nodes it makes with a process-wide counter,
# so one preprocessing built twice is Convert_1654 ... once and Convert_3986 ... the next time (the operations, their
# attributes, shapes, weights and tensor names, all hashed, are the same)
_LAYER_NAME = re.compile(rb'(<layer id="\d+") name="[^"]*"')
_OPENVINO_BLOB = re.compile(r"\d+\.blob")  # a file of OpenVINO's own model cache (`CACHE_DIR`): its decimal hash


class BlobCache:
    """The compiled models' blobs in `folder` (None: none kept) as one user of them sees it (a ReID model, a
    detector): a folder that cannot be read or written is said once by each cache, whatever its models (the folders
    warned about were one process-wide set: a second tracker of the process, or a later test, was not told of its own
    cache's failure). Its models may be compiled from several threads (a ReID's wide copies in a worker)."""

    def __init__(self, folder: Path | None, option: str = "path") -> None:
        self.folder = folder
        self.option = option  # what chooses another folder, as a folder's write error ends ("choose another path")
        self._warned = False
        self._warning = threading.Lock()  # (two threads failing at once: still one warning)

    def warn_once(self, message: str, exc: Exception) -> None:
        """Log `message` (formatted with the folder and `exc`) as a warning, the first time for this cache only."""
        with self._warning:
            if self._warned:
                return
            self._warned = True
        log.warning(message, self.folder, exc)


def model_digest(model: Any) -> str:
    """The SHA-256 (hex) of a model: an IR file's .xml and .bin bytes for a path (str or Path), else the in-memory
    `openvino.Model` serialized (its static shapes and preprocessing included; its layer names left out: `_LAYER_NAME`).

    Raises:
        OSError: an IR file cannot be read.
    """
    digest = hashlib.sha256()
    if isinstance(model, (str, Path)):
        xml = Path(model)
        for part in (xml, xml.with_suffix(".bin")):
            if part.is_file() or part == xml:  # (an .xml with its weights inline has no .bin)
                with part.open("rb") as f:
                    while chunk := f.read(_HASH_CHUNK):
                        digest.update(chunk)
            digest.update(b"|")
        return digest.hexdigest()
    import openvino as ov

    with tempfile.TemporaryDirectory(prefix="tracker-ov-digest-") as folder:
        xml, weights = Path(folder) / "model.xml", Path(folder) / "model.bin"
        ov.serialize(model, str(xml), str(weights))
        digest.update(_LAYER_NAME.sub(rb"\1", xml.read_bytes()))
        digest.update(b"|")
        digest.update(weights.read_bytes())
    return digest.hexdigest()


def cache_key(model: Any, cache: BlobCache | None) -> str | None:
    """`model_digest(model)`, or None where it cannot be had for `cache` (None, or no folder: no cache): an
    in-memory model is serialized into a temporary folder first, which a full disk refuses (OSError; OpenVINO's
    RuntimeError for a file it cannot write). One warning a `BlobCache`; the model is then compiled without the cache
    (it runs all the same: the key was the cache's only)."""
    if cache is None or cache.folder is None:
        return None
    try:
        return model_digest(model)
    except (OSError, RuntimeError) as exc:
        cache.warn_once("could not key the compiled OpenVINO models in %s (%s): compiling them without the cache", exc)
        return None


def blob_path(core: Any, folder: Path, model_key: str, device: str, settings: dict[str, Any]) -> Path:
    """Where the blob of a model (`model_key`: `model_digest` or the caller's own digest of it) compiled for `device`
    with `settings` on this OpenVINO build and CPU is kept in `folder` (`<key>.blob`; the settings keyed by name,
    in any order, each value as OpenVINO prints it)."""
    import openvino as ov

    cpu = [str(core.get_property("CPU", name)) for name in _CPU_PROPERTIES]
    named = [f"{name}={settings[name]}" for name in sorted(settings)]
    parts = [BLOB_FORMAT, model_key, device, *named, ov.get_version(), *cpu]
    return folder / f"{hashlib.sha256(chr(0).join(parts).encode()).hexdigest()[:KEY_CHARS]}{BLOB_SUFFIX}"


def load_or_compile(
    core: Any, model: Any, device: str, settings: dict[str, Any], cache: BlobCache | None, model_key: str | None = None
) -> tuple[Any, bool]:
    """The compiled model and whether it was loaded from a blob (`compile_cached`)."""
    folder = None if cache is None else cache.folder
    model_key = model_key or cache_key(model, cache)
    if cache is None or folder is None or model_key is None:
        return core.compile_model(model, device, settings), False
    path = blob_path(core, folder, model_key, device, settings)
    try:
        blob = path.read_bytes()
    except FileNotFoundError:
        pass
    except OSError as exc:
        cache.warn_once("could not read the compiled OpenVINO models in %s (%s): compiling them", exc)
    else:
        checksum, export = blob[:_CHECKSUM_BYTES], blob[_CHECKSUM_BYTES:]
        reason = "damaged: its checksum does not match"  # (OpenVINO imports a damaged export, and runs it)
        if hashlib.sha256(export).digest() == checksum:
            try:
                return core.import_model(export, device, settings), True
            except RuntimeError as exc:  # another build's, or cut short where it was made: compiled again below
                reason = str(exc).strip().splitlines()[-1] if str(exc).strip() else type(exc).__name__
        log.warning("could not load the compiled model %s (%s): compiling it again", path, reason)
    compiled = core.compile_model(model, device, settings)
    try:
        exported = compiled.export_model()  # (an `io.BytesIO` in OpenVINO 2026, bytes before)
        export = exported.getvalue() if isinstance(exported, io.BytesIO) else bytes(exported)
        blob = hashlib.sha256(export).digest() + export
        write_atomic(path, blob, subject=f"the compiled OpenVINO model {path}", option=cache.option)
    except OSError as exc:  # a read-only or full home is no reason to fail: compile again next time
        cache.warn_once("could not keep the compiled OpenVINO models in %s (%s): compiling them each run", exc)
    return compiled, False


def compile_cached(
    core: Any, model: Any, device: str, settings: dict[str, Any], cache: BlobCache | None, model_key: str | None = None
) -> Any:
    """`core.compile_model(model, device, settings)`, kept as a blob in `folder` and loaded from it next time.

    Source: OpenVINO's `CompiledModel.export_model` / `Core.import_model`, which leave the process's locale alone,
    unlike its `CACHE_DIR` model cache (module docstring).

    Args:
        core: the `openvino.Core` to compile and import with.
        model: an `openvino.Model` (its static shapes set) or the path of an IR's .xml.
        device: OpenVINO's device name ("CPU").
        settings: the compile properties (every one part of the key).
        cache: the cache (its folder made where missing; its warnings its own); None: compiled, no blob.
        model_key: the caller's digest of `model` where it has one (computed once for models reshaped from one IR);
            default `model_digest(model)`.
    Returns:
        The `openvino.CompiledModel`.
    Raises:
        RuntimeError: OpenVINO cannot compile the model. A blob that cannot be imported, or whose checksum does not
        match (`BLOB_FORMAT`), is compiled again and rewritten (one warning); a folder that cannot be read or
        written, or a model that cannot be keyed (`cache_key`: a full disk), only costs the cache (one warning a
        `BlobCache`).
    """
    return load_or_compile(core, model, device, settings, cache, model_key)[0]


def remove_openvino_cache(folder: Path) -> bool:
    """Remove `folder` where it is a model cache OpenVINO made (the `CACHE_DIR` an earlier version of this project
    used, before this blob cache replaced it: left on disk, unused, for ever), told by its content: a folder (not a
    link to one) holding nothing but regular files named as OpenVINO names its blobs (`<decimal hash>.blob`). A
    folder holding anything else, or no folder there, is left as it is. The caller gives the one place this project
    put that cache (`tracker.reid.openvino.compiled_cache`).

    Returns:
        Whether this call removed it (False where another process removed it meanwhile: only the process that
        removed it logs the INFO line "removed", the other a DEBUG line).
    Errors (a file that cannot be removed, a folder that cannot be read) are logged as one warning, never raised:
    the old folder only costs disk space.
    """
    try:
        if not stat.S_ISDIR(os.lstat(folder).st_mode):
            return False
        entries = list(os.scandir(folder))
    except FileNotFoundError:
        return False
    except OSError as exc:
        log.warning("could not read %s, OpenVINO's model cache of an earlier version (%s): left as it is", folder, exc)
        return False
    if not all(entry.is_file(follow_symlinks=False) and _OPENVINO_BLOB.fullmatch(entry.name) for entry in entries):
        log.debug("left %s as it is: it holds more than OpenVINO's model cache makes", folder)
        return False
    try:
        for entry in entries:
            Path(entry.path).unlink(missing_ok=True)  # (another process removing it too)
        folder.rmdir()
    except FileNotFoundError:  # (removed by another process meanwhile: that one says so)
        log.debug("%s, OpenVINO's model cache of an earlier version, was removed by another process", folder)
        return False
    except OSError as exc:
        log.warning(
            "could not remove %s, OpenVINO's model cache of an earlier version, now unused (%s): remove it by hand",
            folder,
            exc,
        )
        return False
    log.info("removed %s, OpenVINO's model cache of an earlier version (now unused)", folder)
    return True
