"""Every writer that replaces a file does it one way (`tracker.io.atomic.atomic_write`): a temp file beside the target,
fsynced, renamed over it, the folder fsynced. An interrupted write leaves the old file as it was and no temp file; a
finished one leaves the new file and no temp file; after a power cut the name holds the old file or the whole new one.
"""

from __future__ import annotations

import errno
import os
import stat
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from tracker.eval.inputs import FrameInputs
from tracker.eval.inputs import _write as write_input_cache
from tracker.eval.report import write_chart
from tracker.io.atomic import sync_folder
from tracker.io.mot import write_text_atomic
from tracker.resume import Checkpointer, Progress


def _mot_result(path: Path) -> None:
    write_text_atomic(path, "2,1,0,0,1,1,1,-1,-1,-1\n")


def _chart(path: Path) -> None:
    write_chart(path, {"ours": {"HOTA": 50.0, "IDF1": 60.0, "MOTA": 55.0, "AssA": 45.0}}, "MOT17")


def _checkpoint(path: Path) -> None:
    Checkpointer(path, identity={"video": "walk.mp4"}).write({"tracks": [1, 2]}, Progress(frames=3, last_frame=3))


def _input_cache(path: Path) -> None:
    frame = FrameInputs(np.array([[0.0, 0.0, 10.0, 20.0]]), np.array([0.9]), np.array([0]), np.ones((1, 4)) / 2)
    write_input_cache(path, [frame, frame])


WRITERS: dict[str, tuple[str, Callable[[Path], None]]] = {
    "MOT result (tracker.io.mot)": ("walk.txt", _mot_result),
    "chart (tracker.eval.report)": ("chart.png", _chart),
    "checkpoint (tracker.resume)": ("checkpoint.bin", _checkpoint),
    "input cache (tracker.eval.inputs)": ("MOT17-02.npz", _input_cache),
}
OLD = b"the old file, whole"


@pytest.fixture(params=list(WRITERS), ids=list(WRITERS))
def writer(request) -> tuple[str, Callable[[Path], None]]:
    return WRITERS[request.param]


def test_a_finished_write_replaces_the_file_and_leaves_no_temp_file(tmp_path, writer):
    name, write = writer
    path = tmp_path / name
    path.write_bytes(OLD)
    write(path)
    assert path.read_bytes() != OLD and path.stat().st_size > 0
    assert sorted(p.name for p in tmp_path.iterdir()) == [name], "a temp file was left beside the file"


@pytest.mark.parametrize(
    "interrupt", [KeyboardInterrupt(), OSError(28, "No space left on device")], ids=["ctrl-c", "full"]
)
def test_an_interrupted_write_keeps_the_old_file_and_leaves_no_temp_file(tmp_path, monkeypatch, writer, interrupt):
    """A Ctrl-C or a full disk as the new content is synced (the temp file whole, not yet renamed)."""
    name, write = writer
    path = tmp_path / name
    path.write_bytes(OLD)

    def interrupted(fd: int) -> None:
        raise interrupt

    monkeypatch.setattr(os, "fsync", interrupted)
    with pytest.raises(type(interrupt)):
        write(path)
    assert path.read_bytes() == OLD
    assert sorted(p.name for p in tmp_path.iterdir()) == [name], "a temp file was left beside the file"


def test_a_write_is_synced_before_its_rename_and_its_folder_after(tmp_path, monkeypatch, writer):
    """On main the chart was renamed into place unsynced (a power cut could leave an empty PNG under its name) and
    the checkpoint's rename was not made durable (its folder never synced): a resume after a power cut could find the
    checkpoint before. Each writer now syncs the data before the rename and the folder after it."""
    name, write = writer
    path = tmp_path / name
    events: list[tuple[str, object]] = []
    real_fsync, real_replace = os.fsync, os.replace
    monkeypatch.setattr(os, "fsync", lambda fd: events.append(("fsync", os.fstat(fd).st_ino)) or real_fsync(fd))
    monkeypatch.setattr(os, "replace", lambda a, b: events.append(("replace", Path(b).name)) or real_replace(a, b))
    write(path)
    assert events == [("fsync", path.stat().st_ino), ("replace", name), ("fsync", tmp_path.stat().st_ino)]


@pytest.mark.parametrize("code", [errno.EINVAL, errno.EOPNOTSUPP], ids=["EINVAL", "EOPNOTSUPP"])
def test_a_folder_whose_file_system_cannot_fsync_it_still_gets_the_file_and_no_error(
    tmp_path, monkeypatch, writer, code
):
    # Some file systems (SMB/CIFS, some FUSE mounts, VirtualBox shared folders) refuse fsync on a folder. The file is
    # already renamed into place by then: the write is done, and an error would say it failed (and stop the run).
    name, write = writer
    path = tmp_path / name
    path.write_bytes(OLD)
    real_fsync = os.fsync

    def no_folder_fsync(fd: int) -> None:
        if stat.S_ISDIR(os.fstat(fd).st_mode):
            raise OSError(code, os.strerror(code))
        real_fsync(fd)

    monkeypatch.setattr(os, "fsync", no_folder_fsync)
    write(path)
    assert path.read_bytes() != OLD and path.stat().st_size > 0
    assert sorted(p.name for p in tmp_path.iterdir()) == [name]


def test_a_folder_fsync_that_fails_otherwise_is_still_an_error(tmp_path, monkeypatch):
    # an I/O error on the folder's sync is a real failure: the rename may not survive, so it is not hidden
    real_fsync = os.fsync

    def folder_io_error(fd: int) -> None:
        if stat.S_ISDIR(os.fstat(fd).st_mode):
            raise OSError(errno.EIO, os.strerror(errno.EIO))
        real_fsync(fd)

    monkeypatch.setattr(os, "fsync", folder_io_error)
    with pytest.raises(OSError) as caught:
        write_text_atomic(tmp_path / "walk.txt", "2,1,0,0,1,1,1,-1,-1,-1\n")
    assert caught.value.errno == errno.EIO


def test_a_folder_one_may_write_in_but_not_read_still_gets_the_file_and_no_error(tmp_path, monkeypatch, writer):
    # a drop folder (mode 0300 / 0730: write and enter, not list) takes the temp file and the rename, but cannot be
    # opened to fsync it: the write is done, an error would say it failed (root, as here, is never refused: mocked)
    name, write = writer
    path = tmp_path / name
    path.write_bytes(OLD)
    real_open = os.open

    def no_folder_open(file, flags, *args, **kwargs):
        if os.path.isdir(file):
            raise PermissionError(errno.EACCES, os.strerror(errno.EACCES), str(file))
        return real_open(file, flags, *args, **kwargs)

    monkeypatch.setattr(os, "open", no_folder_open)
    write(path)
    assert path.read_bytes() != OLD and path.stat().st_size > 0
    assert sorted(p.name for p in tmp_path.iterdir()) == [name]


def test_syncing_a_folder_that_does_not_exist_is_still_an_error(tmp_path):
    with pytest.raises(FileNotFoundError):
        sync_folder(tmp_path / "gone")
