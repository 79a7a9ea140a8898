"""The compiled OpenVINO models' cache (`tracker.reid.blob_cache`): its warnings, each cache's own."""

from __future__ import annotations

import logging
import shutil
from pathlib import Path

import numpy as np
import pytest

from tracker.reid.blob_cache import BlobCache, compile_cached
from tracker.reid.openvino import CACHE_ENV, COMPILED_FOLDER, OPENVINO_CACHE_FOLDER, compiled_cache

ov = pytest.importorskip("openvino")


def _tiny_model():
    """A one-layer `openvino.Model` (ReLU of a 1x3 input): compiled in milliseconds."""
    from openvino import opset13 as ops

    given = ops.parameter([1, 3], np.float32)
    return ov.Model([ops.relu(given)], [given])


def _warnings(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [record.getMessage() for record in caplog.records if record.name == "tracker.reid.blob_cache"]


def test_two_caches_of_one_unusable_folder_each_warn_once(tmp_path, caplog):
    """A cache folder that cannot be used (a file where it goes) is said once a cache: the folders warned about were
    kept in one process-wide set, so a second tracker of the process (its ReID's own cache) said nothing of its own
    cache's failure, nor did a later test on that folder. Each cache warns once, however many models it compiles."""
    (tmp_path / "file").write_text("a file where the folder goes")
    folder = tmp_path / "file" / "blobs"
    model = _tiny_model()
    with caplog.at_level(logging.WARNING, logger="tracker.reid.blob_cache"):
        for _ in range(2):  # (two trackers of one process, each with its cache)
            cache = BlobCache(folder)
            for _ in range(3):  # (its models: each compiled, none kept)
                compile_cached(ov.Core(), model, "CPU", {}, cache)
    said = _warnings(caplog)
    assert [message.split(" (")[0] for message in said] == 2 * [
        f"could not read the compiled OpenVINO models in {folder}"
    ]
    assert not folder.exists()


def test_a_cache_keeps_and_loads_its_blobs(tmp_path):
    """A second cache of the same folder loads what the first compiled and kept (its own state is only its warning)."""
    from tracker.reid.blob_cache import load_or_compile

    model, folder = _tiny_model(), tmp_path / "blobs"
    assert not load_or_compile(ov.Core(), model, "CPU", {}, BlobCache(folder))[1]
    assert len(list(folder.glob("*.blob"))) == 1
    assert load_or_compile(ov.Core(), model, "CPU", {}, BlobCache(folder))[1]
    assert not load_or_compile(ov.Core(), model, "CPU", {}, BlobCache(None))[1]  # (no folder: compiled, not kept)
    assert not load_or_compile(ov.Core(), model, "CPU", {}, None)[1]


def _openvino_cache_of_an_earlier_version(cache: Path) -> Path:
    """`cache`/compiled as stop 75's ReID left it: OpenVINO's own model cache (`CACHE_DIR`) of a compiled model."""
    folder = cache / OPENVINO_CACHE_FOLDER
    core = ov.Core()
    core.set_property({"CACHE_DIR": str(folder)})
    core.compile_model(_tiny_model(), "CPU")
    assert [path.suffix for path in folder.iterdir()] == [".blob"], "what OpenVINO's cache holds"
    return folder


def test_the_openvino_cache_of_an_earlier_version_is_removed_and_nothing_else(tmp_path, monkeypatch, caplog):
    """Since stop 76 compiled models are kept in `compiled-blobs/`, no longer in OpenVINO's own cache folder
    `compiled/` beside the converted models, which stayed on disk, unused, for ever. The cache removes it when it is
    made, where it holds only OpenVINO's blobs: a folder holding anything else, or a link where it was, is left as it
    is, and the converted models beside it too."""
    cache = tmp_path / "cache"
    monkeypatch.setenv(CACHE_ENV, str(cache))
    old = _openvino_cache_of_an_earlier_version(cache)
    (cache / "0123abcd.xml").write_text("a converted model")
    with caplog.at_level(logging.INFO, logger="tracker.reid.blob_cache"):
        made = compiled_cache()
    assert not old.exists() and (cache / "0123abcd.xml").read_text() == "a converted model"
    assert made.folder == cache / COMPILED_FOLDER
    assert [r.levelname for r in caplog.records if r.name == "tracker.reid.blob_cache"] == ["INFO"]
    compile_cached(ov.Core(), _tiny_model(), "CPU", {}, made)  # (the new cache works)
    assert len(list((cache / COMPILED_FOLDER).glob("*.blob"))) == 1
    assert compiled_cache().folder == made.folder  # (again: nothing to remove)

    old = _openvino_cache_of_an_earlier_version(cache)
    (old / "notes.txt").write_text("someone else's")
    compiled_cache()
    assert sorted(path.name for path in old.iterdir())[-1] == "notes.txt", "left as it is"
    shutil.rmtree(old)
    elsewhere = _openvino_cache_of_an_earlier_version(tmp_path / "other")
    old.symlink_to(elsewhere, target_is_directory=True)
    compiled_cache()
    assert old.is_symlink() and len(list(elsewhere.iterdir())) == 1, "a link and its folder left as they are"


def test_an_openvino_cache_that_cannot_be_removed_is_one_warning_not_an_error(tmp_path, monkeypatch, caplog):
    """A stale folder that cannot be removed (a read-only mount, another owner) costs its disk space only: one
    warning naming it, and the cache is made all the same."""
    cache = tmp_path / "cache"
    monkeypatch.setenv(CACHE_ENV, str(cache))
    old = _openvino_cache_of_an_earlier_version(cache)

    def refused(self: Path) -> None:
        raise PermissionError(13, "Permission denied", str(self))

    monkeypatch.setattr(Path, "rmdir", refused)
    with caplog.at_level(logging.WARNING, logger="tracker.reid.blob_cache"):
        made = compiled_cache()
    assert made.folder == cache / COMPILED_FOLDER and old.is_dir()
    said = _warnings(caplog)
    assert len(said) == 1 and said[0].startswith(f"could not remove {old}, OpenVINO's model cache of an earlier"), said


def test_of_two_processes_removing_the_old_openvino_cache_only_the_one_that_removed_it_says_so(
    tmp_path, monkeypatch, caplog
):
    """Two processes starting at once (a batch's workers) both remove the old `compiled/` folder: the one that finds
    it gone at its `rmdir` (the other removed it meanwhile) logged the INFO line "removed" all the same, so the log
    said it twice. Now only the process whose `rmdir` removed it says so (INFO, once); the other says nothing above
    DEBUG and returns False. The other process here is a real one, run between this one's scan and its `rmdir`."""
    import subprocess
    import sys

    from tracker.reid.blob_cache import remove_openvino_cache

    old = _openvino_cache_of_an_earlier_version(tmp_path / "cache")
    other = (
        "import logging, sys; from pathlib import Path; from tracker.reid.blob_cache import remove_openvino_cache; "
        "logging.basicConfig(level=logging.DEBUG, format='%(levelname)s %(message)s'); "
        "print(remove_openvino_cache(Path(sys.argv[1])))"
    )
    rmdir = Path.rmdir

    def removed_meanwhile(self: Path) -> None:
        if self == old:  # the other process removes the folder between this one's scan and its rmdir
            done = subprocess.run(
                [sys.executable, "-c", other, str(old)], capture_output=True, text=True, timeout=120, check=True
            )
            said.append((done.stdout, done.stderr))
        rmdir(self)

    said: list[tuple[str, str]] = []
    monkeypatch.setattr(Path, "rmdir", removed_meanwhile)
    with caplog.at_level(logging.DEBUG, logger="tracker.reid.blob_cache"):
        assert remove_openvino_cache(old) is False, "this process did not remove it"
    assert not old.exists()
    ((stdout, stderr),) = said
    assert stdout.strip() == "True" and stderr.count("INFO removed") == 1, (stdout, stderr)
    ours = [(r.levelname, r.getMessage()) for r in caplog.records if r.name == "tracker.reid.blob_cache"]
    assert all(level == "DEBUG" for level, _ in ours), ours


def test_a_cache_folder_that_cannot_be_written_names_the_variable_that_moves_it(tmp_path, monkeypatch, caplog):
    """A cache folder the user cannot write (read-only, another user's) costs the cache only, with one warning that
    ends as every unwritable save does, "choose another ...": it said "choose another path", which a tracker's user
    has no way to give; it names the environment variable that moves the cache."""
    import errno

    from tracker import gallery_file

    monkeypatch.setenv(CACHE_ENV, str(tmp_path / "cache"))
    (tmp_path / "cache" / COMPILED_FOLDER).mkdir(parents=True)

    def refused(*args, **kwargs):  # (as the kernel refuses a user a file in a 0o500 folder; root is not refused)
        raise PermissionError(errno.EACCES, "Permission denied")

    monkeypatch.setattr(gallery_file.tempfile, "mkstemp", refused)
    with caplog.at_level(logging.WARNING, logger="tracker.reid.blob_cache"):
        compile_cached(ov.Core(), _tiny_model(), "CPU", {}, compiled_cache())
    (said,) = _warnings(caplog)
    assert said.startswith(f"could not keep the compiled OpenVINO models in {tmp_path / 'cache' / COMPILED_FOLDER}")
    assert f"choose another cache folder ({CACHE_ENV}=FOLDER)" in said, said


@pytest.mark.parametrize("value", ["", "~/ovcache"], ids=["empty", "tilde"])
def test_a_cache_variable_set_empty_or_with_a_tilde_keeps_the_cache_in_the_home_folder(value, tmp_path, monkeypatch):
    """`TRACKER_OPENVINO_CACHE=` (set but empty: a .env line, a Dockerfile's ENV left blank) put the converted models
    and compiled blobs in the current folder, and `~/ovcache` where no shell expands it (Docker's ENV, systemd) into
    a folder named `~` there: the one read as the default (as TRACKER_WEIGHTS_CACHE's empty value is), the other as
    the user's home, and nothing is written where the command runs."""
    home, work = tmp_path / "home", tmp_path / "work"
    work.mkdir()
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv(CACHE_ENV, value)
    monkeypatch.chdir(work)
    cache = compiled_cache()
    compile_cached(ov.Core(), _tiny_model(), "CPU", {}, cache)
    expected = home / "ovcache" if value else home / ".cache" / "tracker" / "openvino"
    assert cache.folder == expected / COMPILED_FOLDER
    assert len(list(cache.folder.glob("*.blob"))) == 1
    assert list(work.iterdir()) == [], "nothing is written where the command runs"
