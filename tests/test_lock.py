"""The output folder's lock (`tracker.io.lock`): one holder at a time, nothing left behind, no lock-less failure."""

from __future__ import annotations

import errno
import logging
import os
import subprocess
import sys

import pytest

import tracker.io.lock as lock
from tracker.io.lock import LOCK_NAME, FolderInUse, FolderLock
from tracker.io.names import side_file


def test_a_second_holder_is_refused_naming_the_folder_and_the_process(tmp_path):
    out = tmp_path / "run"
    with FolderLock(out) as held:
        assert held.locked
        assert (out / LOCK_NAME).read_text() == f"{os.getpid()}\n"
        with pytest.raises(FolderInUse, match=rf"output folder {out} is in use by .* \(process {os.getpid()}\)"):
            FolderLock(out).acquire()
        assert [p.name for p in out.iterdir()] == [LOCK_NAME], "the refused run removed nothing"
    assert not out.exists(), "made by the lock and left empty: removed on release"
    assert not held.locked, "released: `locked` said True after release()"
    with FolderLock(out):  # free again
        (out / "walk.txt").write_text("1,1,0,0,1,1,1,-1,-1,-1\n")
    assert [p.name for p in out.iterdir()] == ["walk.txt"], "the lock file goes, the outputs stay"


def test_a_folder_on_a_full_disk_is_still_locked(tmp_path, monkeypatch):
    """On a full disk the lock file is made (empty) but its process ID cannot be written: that was the run's error,
    "[Errno 28] No space left on device" naming no file, before anything ran (`track --gallery` on a disk full for a
    while, which its periodic saves ride out). The folder is locked all the same: a second holder is refused."""
    write = os.write

    def full(fd, data):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(lock.os, "write", full)
    with FolderLock(tmp_path):
        monkeypatch.setattr(lock.os, "write", write)
        with pytest.raises(FolderInUse, match="in use by"):
            FolderLock(tmp_path).acquire()
    assert not (tmp_path / LOCK_NAME).exists()


def test_a_folder_the_user_made_is_kept_even_when_empty(tmp_path):
    out = tmp_path / "mine"
    out.mkdir()
    with FolderLock(out):
        pass
    assert out.is_dir() and not any(out.iterdir())


def test_a_file_system_without_locks_runs_unlocked_with_a_warning(tmp_path, monkeypatch, caplog):
    def no_locks(_fd, blocking):
        raise OSError(errno.ENOLCK, "No locks available")

    monkeypatch.setattr(lock, "lock_descriptor", no_locks)
    out = tmp_path / "nfs"
    with caplog.at_level(logging.WARNING, logger="tracker.io.lock"), FolderLock(out):
        assert out.is_dir() and not (out / LOCK_NAME).exists()
    assert "cannot be locked" in caplog.text and "No locks available" in caplog.text
    assert not out.exists()


def test_a_lock_file_removed_under_a_waiting_run_is_not_shared(tmp_path, monkeypatch):
    """The holder removes the file as it releases: a run that opened the old file and then got its lock must not
    hold a lock on a file no one else can see; it locks the file now at the path."""
    out = tmp_path / "run"
    out.mkdir()
    real_lock = lock.lock_descriptor
    swapped = []

    def lock_after_a_swap(fd, blocking):
        if not swapped:  # between our open and our lock, the old holder removed the file and a third run made one
            swapped.append(True)
            (out / LOCK_NAME).unlink()
            (out / LOCK_NAME).write_text("")
        return real_lock(fd, blocking=blocking)

    monkeypatch.setattr(lock, "lock_descriptor", lock_after_a_swap)
    held = FolderLock(out)
    held.acquire()
    monkeypatch.setattr(lock, "lock_descriptor", real_lock)
    with pytest.raises(FolderInUse):
        FolderLock(out).acquire()  # the lock is on the file at the path
    held.release()


def test_a_gallery_in_use_is_refused_naming_the_gallery_and_left_in_place(tmp_path):
    """`gallery_lock` guards a gallery file: a second holder is told which gallery and which option to change;
    the lock file beside it goes on release, the gallery's folder stays."""
    gallery = tmp_path / "site.gallery"
    with lock.gallery_lock(gallery):
        with pytest.raises(FolderInUse, match=rf"^the gallery {gallery} is in use by .*another --gallery$"):
            lock.gallery_lock(gallery, "--gallery").acquire()  # (as `track --gallery` takes it)
        with lock.gallery_lock(tmp_path / "other.gallery"):  # another gallery in the same folder is free
            pass
    assert list(tmp_path.iterdir()) == [] and tmp_path.is_dir()


def test_a_gallery_locked_from_python_is_refused_naming_the_path_not_a_flag(tmp_path):
    """`with gallery_lock(path):` in a program (docs/gallery.md) said "choose another --gallery" to a user who never
    typed a command-line flag: the library's refusals name the path; the commands add their option."""
    gallery = tmp_path / "site.gallery"
    with lock.gallery_lock(gallery), pytest.raises(FolderInUse) as refused:
        lock.gallery_lock(gallery).acquire()
    message = str(refused.value)
    assert message.startswith(f"the gallery {gallery} is in use by") and message.endswith("choose another path")
    assert "--" not in message, message
    (tmp_path / "file").write_text("")
    with pytest.raises(NotADirectoryError) as refused:
        lock.gallery_lock(tmp_path / "file" / "sub" / "site.gallery", make_folder=True)
    assert str(refused.value).endswith("choose another path") and "--" not in str(refused.value), refused.value


def test_a_gallery_in_a_folder_that_is_not_writable_is_one_error_naming_the_gallery(tmp_path, monkeypatch):
    """`track --gallery ro/people.npz` in a read-only folder (an `mount -o ro` share; root passes chmod) said
    `[Errno 30] Read-only file system: 'ro/.people.npz.lock'`, a file the user never named: the error names the
    gallery, its folder and the option to change, and the lock leaves nothing behind."""
    folder = tmp_path / "ro"
    folder.mkdir()
    real_open = os.open

    def read_only(path, flags, *args):
        if str(path).endswith(".lock"):
            raise OSError(errno.EROFS, "Read-only file system", str(path))
        return real_open(path, flags, *args)

    monkeypatch.setattr(lock.os, "open", read_only)
    with pytest.raises(OSError) as refused:
        lock.gallery_lock(folder / "people.npz", "--gallery").acquire()
    message = str(refused.value)
    assert message == (
        f"the gallery {folder / 'people.npz'} cannot be used: {folder} is not writable (Read-only file system): "
        "choose another --gallery"
    )
    assert not any(folder.iterdir())


def test_a_gallery_whose_name_fills_the_limit_is_locked(tmp_path):
    """A 255-byte gallery name is a valid file, but `.<name>.lock` exceeded the 255 bytes of a name: the gallery
    could not be locked ("File name too long"), so it could not be used at all. Its lock takes the name's start and
    a hash (`side_file`): it locks, a second holder is refused, and the lock file goes with the lock."""
    gallery = tmp_path / ("g" * 255)
    with lock.gallery_lock(gallery):
        assert [p.name for p in tmp_path.iterdir()] == [side_file(gallery, ".lock", prefix=".").name]
        with pytest.raises(FolderInUse, match=f"the gallery {gallery} is in use by this process"):
            lock.gallery_lock(gallery).acquire()
    assert not any(tmp_path.iterdir())


def test_a_gallery_in_a_missing_folder_is_not_locked_and_no_folder_is_made(tmp_path):
    """`track gallery rm|prune` take `gallery_lock`; for a gallery whose folder does not exist it must not create
    that folder (the caller's own error names it). `track` and `track batch`, which create the gallery, ask for the
    folder (`make_folder`): made, locked, and removed again when nothing was saved into it."""
    gallery = tmp_path / "nowhere" / "site.gallery"
    with lock.gallery_lock(gallery):
        assert not gallery.parent.exists()
    assert list(tmp_path.iterdir()) == []
    with lock.gallery_lock(gallery, make_folder=True):
        assert gallery.parent.is_dir()
        with pytest.raises(FolderInUse, match=f"the gallery {gallery} is in use"):
            lock.gallery_lock(gallery, make_folder=True).acquire()
    assert list(tmp_path.iterdir()) == []  # (nothing saved: no empty folder left)
    with lock.gallery_lock(gallery, make_folder=True):
        gallery.write_bytes(b"saved")
    assert [p.name for p in gallery.parent.iterdir()] == ["site.gallery"]
    (tmp_path / "file").write_text("")
    with pytest.raises(NotADirectoryError, match=f"{tmp_path / 'file'}.*choose another --gallery"):
        lock.gallery_lock(tmp_path / "file" / "sub" / "site.gallery", "--gallery", make_folder=True)


@pytest.mark.parametrize("command", ["rm", "prune"])
def test_every_gallery_command_names_a_missing_gallery_folder(tmp_path, command, capsys):
    """The commands that edit a gallery say the same thing about one in a missing folder, and make nothing (`track`
    and `track batch` create the gallery and its folder: `test_a_gallery_in_a_new_folder_is_made`)."""
    from tracker.cli import main

    gallery = tmp_path / "nowhere" / "site.gallery"
    argv = {
        "rm": ["gallery", "rm", str(gallery), "3"],
        "prune": ["gallery", "prune", str(gallery)],
    }[command]
    assert main(argv) == 2
    errors = [line for line in capsys.readouterr().err.splitlines() if ": error: " in line]
    assert len(errors) == 1 and str(gallery.parent) in errors[0], errors
    assert not gallery.parent.exists() and not (tmp_path / "out").exists()


def test_a_lock_file_that_cannot_be_removed_still_lets_the_lock_go_without_hiding_the_runs_end(tmp_path, monkeypatch):
    """The folder made read-only during the run (Ctrl-C while the models load, then the lock's release): the
    release raised PermissionError, which replaced the run's own outcome (`track: error: [Errno 1] ... .lock`) and
    kept the descriptor, so the lock was held on. Now it warns, closes, and the next holder takes the lock."""
    out = tmp_path / "run"
    unlink = type(out).unlink

    def read_only(path, missing_ok=False):
        if path.name == LOCK_NAME:
            raise PermissionError(errno.EPERM, "Operation not permitted", str(path))
        return unlink(path, missing_ok=missing_ok)

    # the run's own end comes out, not the release's error
    with pytest.raises(KeyboardInterrupt), monkeypatch.context() as m:
        m.setattr(type(out), "unlink", read_only)
        with FolderLock(out):
            raise KeyboardInterrupt
    with FolderLock(out):  # released: the stale file locks nothing
        assert (out / LOCK_NAME).read_text() == f"{os.getpid()}\n"


def test_the_lock_and_the_track_command_need_no_posix_only_module(tmp_path):
    """Windows has no `fcntl`: the lock goes through filelock's portable primitive, so `track` (whose run module
    imports the lock) starts there. Without fcntl filelock reports no locking, and the run goes on unlocked."""
    script = (
        "import sys; sys.modules['fcntl'] = None\n"  # `import fcntl` now fails, as on Windows
        "import tracker.run, tracker.batch, tracker.cli\n"
        "from tracker.io.lock import FolderLock\n"
        f"with FolderLock(__import__('pathlib').Path({str(tmp_path / 'out')!r})): pass\n"
        "print('ok')\n"
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip() == "ok"
    assert "cannot be locked" in done.stderr, "no lock available: said so, once"
