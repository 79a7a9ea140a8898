"""A gallery save that can be written in another thread, and the file it writes is what it always was.

- The file: `gallery_format.write` gives the bytes the code before it wrote (safetensors' own serialisation and
  one `json.dumps` of the header), so files written before load and files written now load in the code before.
- `Gallery.begin_save` / `PendingSave.write`: the snapshot is written while the gallery goes on; a failure
  writes nothing and leaves the gallery changed.
"""

from __future__ import annotations

import errno
import hashlib
import pickle
from dataclasses import asdict, replace

import numpy as np
import pytest
from safetensors.numpy import save as safetensors_save
from test_gallery import MODEL, filled, people, sighting

from tracker import gallery_format
from tracker.gallery import ID_STRIDE, Gallery, GalleryConflictError, Sighting
from tracker.io.strict_json import to_json


def bytes_before(gallery: Gallery) -> bytes:
    """The file's bytes as the code before the background save wrote them (e13ccb6's `Gallery._write`, retention
    aside): one gather of all prototypes, the header in one `json.dumps`, safetensors' own serialisation."""
    identities = gallery.identities
    ids = [i.global_id * ID_STRIDE + np.arange(len(i.prototypes), dtype=np.int64) for i in identities]
    ids = np.concatenate(ids) if ids else np.zeros(0, dtype=np.int64)
    vectors = np.concatenate([i.prototypes for i in identities]) if identities else np.zeros((0, 0), np.float32)
    tensors = {
        "prototypes": np.ascontiguousarray(vectors, dtype=np.float32).reshape(len(ids), gallery.dim or 0),
        "owners": (ids // ID_STRIDE).astype(np.int64),
    }
    digest = hashlib.sha256()
    for name in sorted(tensors):
        digest.update(name.encode())
        digest.update(np.ascontiguousarray(tensors[name]).tobytes())
    model = None if gallery.model is None else asdict(replace(gallery.model, dim=gallery.dim))
    header = {
        "format": gallery_format.FORMAT_NAME,
        "version": gallery_format.FORMAT_VERSION,
        "model": model,
        "next_id": gallery._next_id,
        "identities": [i.describe() for i in identities],
        "sha256": digest.hexdigest(),
    }
    return safetensors_save(tensors, metadata={"gallery": to_json(header)})


def galleries() -> dict[str, Gallery]:
    """Empty ones (no model, and a model of known D), one identity, and more identities than one piece of the
    writer holds, with 1 to 4 prototypes each and sources of quotes, backslashes and accents."""
    many = Gallery(model=MODEL)
    looks = people(2 * gallery_format.RECORDS_PER_PIECE + 3, 4, seed=3)
    for i, rows in enumerate(looks):
        source = ['cam "1"', "caméra\\2", "cam3"][i % 3]
        many.add(many.new_id(), rows[: 1 + i % 4], i % 2, Sighting(i + 1, 1.7e9 + i / 7, source))
    return {"empty": Gallery(), "empty of a model": Gallery(model=MODEL), "one": filled(1)[0], "many": many}


@pytest.mark.parametrize("name", ["empty", "empty of a model", "one", "many"])
def test_a_file_is_byte_for_byte_what_the_code_before_wrote_and_loads_both_ways(tmp_path, name):
    """The background save writes the safetensors layout itself, in pieces, off the GIL: the bytes are those
    safetensors and one `json.dumps` made before (so the code before loads every file written now), and a file
    written before loads with every identity."""
    gallery = galleries()[name]
    gallery.save(tmp_path / "now.gallery", prune=False)
    before = bytes_before(gallery)
    assert (tmp_path / "now.gallery").read_bytes() == before
    (tmp_path / "before.gallery").write_bytes(before)
    loaded = Gallery.load(tmp_path / "before.gallery", prune=False)
    assert [i.describe() for i in loaded.identities] == [i.describe() for i in gallery.identities]
    for was, now in zip(gallery.identities, loaded.identities, strict=True):
        np.testing.assert_array_equal(was.prototypes, now.prototypes)


def test_a_save_begun_writes_the_gallery_as_it_was_then_while_it_goes_on(tmp_path):
    path = tmp_path / "site.gallery"
    gallery, looks = filled(3)
    pending = gallery.begin_save(path)
    gallery.add(gallery.new_id(), looks[0, 8:], 0, sighting())  # while the save is under way
    assert gallery.modified
    pending.write()
    assert len(Gallery.load(path, model=MODEL)) == 3 and gallery.file is not None
    assert gallery.modified, "the identity added after the snapshot is not in the file"
    gallery.save(path)  # no conflict: the gallery knows the file it wrote
    assert len(Gallery.load(path, model=MODEL)) == 4 and not gallery.modified
    with pytest.raises(RuntimeError, match="written already"):
        pending.write()


def test_a_save_begun_that_fails_writes_nothing_and_leaves_the_gallery_changed(tmp_path, monkeypatch):
    path = tmp_path / "site.gallery"
    gallery, looks = filled(3)
    gallery.save(path)
    before = path.read_bytes()
    gallery.add(gallery.new_id(), looks[0, 8:], 0, sighting())
    pending = gallery.begin_save(path)
    with monkeypatch.context() as m:
        m.setattr("os.fsync", lambda fd: (_ for _ in ()).throw(OSError(errno.ENOSPC, "No space left on device")))
        with pytest.raises(OSError, match="No space left"):
            pending.write()
    assert path.read_bytes() == before and gallery.modified
    assert sorted(p.name for p in tmp_path.iterdir()) == ["site.gallery"], "no temp file left"

    pending = gallery.begin_save(path)
    Gallery.load(path, model=MODEL).save(path)  # another program saves the file meanwhile
    theirs = path.read_bytes()
    with pytest.raises(GalleryConflictError):
        pending.write()
    assert path.read_bytes() == theirs and gallery.modified


def test_a_copy_taken_while_a_save_is_written_counts_as_changed(tmp_path):
    """A checkpoint pickles the gallery while a periodic save may be under way: nothing says that save reaches
    the file (a kill), so the copy counts as changed, and its run saves it."""
    gallery, _ = filled(3)
    pending = gallery.begin_save(tmp_path / "site.gallery")
    assert pickle.loads(pickle.dumps(gallery)).modified
    pending.write()
    assert not gallery.modified and not pickle.loads(pickle.dumps(gallery)).modified
