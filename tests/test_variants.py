"""Evaluation data variants: exact gt transforms, reproducible seeds, atomic generation, the CLI."""

from __future__ import annotations

import errno
import json
import shutil
from pathlib import Path

import cv2
import numpy as np
import pytest

from tracker.eval import variants as V
from tracker.eval.cli import compare_main, eval_main
from tracker.eval.sequences import find_sequences
from tracker.io.mot import read_mot_rows

WIDTH, HEIGHT, LENGTH = 320, 240, 12
# id, x, y, w, h (static people); the last one sits at the left border, so windows that pan right lose it
BOXES = [(1, 100.0, 60.0, 40.0, 100.0), (2, 200.0, 80.0, 30.0, 90.0), (3, 0.0, 50.0, 30.0, 80.0)]
COLOURS = {1: (0, 0, 255), 2: (0, 255, 0), 3: (255, 0, 0)}


def synthetic_sequence(root: Path, name: str = "SYN") -> Path:
    """Static coloured boxes on grey, gt = det = the boxes, MOT15 layout."""
    seq = root / name
    for sub in ("img1", "gt", "det"):
        (seq / sub).mkdir(parents=True)
    (seq / "seqinfo.ini").write_text(
        f"[Sequence]\nname={name}\nimDir=img1\nframeRate=10\nseqLength={LENGTH}\n"
        f"imWidth={WIDTH}\nimHeight={HEIGHT}\nimExt=.jpg\n"
    )
    rows = []
    for f in range(1, LENGTH + 1):
        image = np.full((HEIGHT, WIDTH, 3), 128, np.uint8)
        for i, x, y, w, h in BOXES:
            cv2.rectangle(image, (int(x), int(y)), (int(x + w) - 1, int(y + h) - 1), COLOURS[i], -1)
            rows.append([f, i, x, y, w, h, 1, -1, -1, -1])
        cv2.imwrite(str(seq / "img1" / f"{f:06d}.jpg"), image)
    np.savetxt(seq / "gt" / "gt.txt", rows, delimiter=",", fmt="%g")
    np.savetxt(seq / "det" / "det.txt", [[r[0], -1, *r[2:7]] for r in rows], delimiter=",", fmt="%g")
    return seq


@pytest.fixture
def syn(tmp_path):
    return find_sequences(synthetic_sequence(tmp_path / "data"))[0]


def test_pan_moves_gt_and_pixels_exactly(syn, tmp_path):
    var = V.materialise(syn, "pan8", root=tmp_path / "variants")
    out_w, out_h = round(V.CROP_FRACTION * WIDTH), round(V.CROP_FRACTION * HEIGHT)
    assert (var.info.width, var.info.height, var.info.length) == (out_w, out_h, LENGTH)
    margin_x, y0 = (WIDTH - out_w) / 2, (HEIGHT - out_h) / 2
    gt = read_mot_rows(var.info.root / "gt" / "gt.txt")
    for f in range(1, LENGTH + 1):
        travel = 8.0 * (f - 1) % (4 * margin_x)
        x0 = travel if travel <= 2 * margin_x else 4 * margin_x - travel  # back and forth over the margin
        rows = gt[gt[:, 0] == f]
        # id 3 (x 0..30) is kept, clipped, while at least half of it is inside the window, then dropped
        assert sorted(rows[:, 1]) == ([1, 2, 3] if x0 <= 15 else [1, 2])
        image = cv2.imread(str(var.info.image_path(f)))
        for i, x, y, w, h in BOXES[:2]:
            row = rows[rows[:, 1] == i][0]
            np.testing.assert_allclose(row[2:6], [x - x0, y - y0, w, h], atol=1e-3)
            cx, cy = int(row[2] + row[4] / 2), int(row[3] + row[5] / 2)
            assert np.abs(image[cy, cx].astype(int) - COLOURS[i]).max() < 40  # the pixels moved with the box


def test_boxes_are_clipped_at_the_border_and_dropped_when_mostly_outside():
    t = V.FrameTransform(frame=1, source=1, scale=1.0, x0=50.0, y0=0.0)
    rows = np.array([[1, 1, 30, 10, 40, 50, 1], [1, 2, 20, 10, 40, 50, 1], [1, 3, 100, 10, 40, 50, 1]], float)
    out = V.transform_rows(rows, [t], 200, 100)
    # id 1: x 30..70 -> -20..20, half inside: clipped to 0..20; id 2: 20..60 -> -30..10, a quarter inside: dropped
    np.testing.assert_allclose(out[:, 1], [1, 3])
    np.testing.assert_allclose(out[0, 2:6], [0, 10, 20, 50])
    np.testing.assert_allclose(out[1, 2:6], [50, 10, 40, 50])


def test_scale_and_drop_transform_gt_and_frame_rate(syn, tmp_path):
    half = V.materialise(syn, "scale0.5", root=tmp_path / "v")
    gt = read_mot_rows(half.info.root / "gt" / "gt.txt")
    first = gt[(gt[:, 0] == 1) & (gt[:, 1] == 1)][0]
    np.testing.assert_allclose(first[2:6], [50, 30, 20, 50])
    assert (half.info.width, half.info.height) == (WIDTH // 2, HEIGHT // 2)
    assert cv2.imread(str(half.info.image_path(1))).shape == (HEIGHT // 2, WIDTH // 2, 3)

    dropped = V.materialise(syn, "drop2", root=tmp_path / "v")
    assert dropped.info.length == LENGTH // 2 and dropped.info.frame_rate == pytest.approx(5.0)
    assert dropped.info.frames_with_images() == LENGTH // 2
    gt = read_mot_rows(dropped.info.root / "gt" / "gt.txt")
    assert sorted(set(gt[:, 0].astype(int))) == list(range(1, LENGTH // 2 + 1))
    note = json.loads((dropped.info.root / "variant.json").read_text())
    assert [t[1] for t in note["transforms"]] == list(range(1, LENGTH + 1, 2))  # frames 1, 3, 5, ... kept


def test_seeds_are_reproducible(syn, tmp_path):
    a = V.materialise(syn, "jitter", seed=3, root=tmp_path / "a")
    b = V.materialise(syn, "jitter", seed=3, root=tmp_path / "b")
    c = V.materialise(syn, "jitter", seed=4, root=tmp_path / "a")
    assert V.load_transforms(a) == V.load_transforms(b)
    assert (a.info.root / "gt" / "gt.txt").read_text() == (b.info.root / "gt" / "gt.txt").read_text()
    assert V.load_transforms(a) != V.load_transforms(c)
    assert a.info.root != c.info.root  # the seed is part of the key


def test_a_variant_the_seed_does_not_change_is_made_once_for_every_seed(syn, tmp_path, monkeypatch):
    """Only jitter draws from the seed; the pans, the zoom, the jump and the small and dropped variants are the same
    for every seed. Keyed by the seed all the same, `--variant-seed 1 --variants moving` made five identical
    variants again (their images, and their boxes and embeddings in the input cache, computed again) beside seed
    0's. Now the seed keys jitter alone: any seed reuses seed 0's folder, jitter still gets one per seed."""
    root = tmp_path / "variants"
    made = []
    monkeypatch.setattr(V, "_build", lambda *args, build=V._build: made.append(args[1].name) or build(*args))
    for variant in ("pan8", "zoom", "jump", "scale0.5", "drop2"):
        first = V.materialise(syn, variant, seed=0, root=root)
        assert V.materialise(syn, variant, seed=7, root=root).info.root == first.info.root
        assert json.loads((first.info.root / "variant.json").read_text())["seed"] == 0  # (what it was made with)
    assert made == ["pan8", "zoom", "jump", "scale0.5", "drop2"]
    assert V.materialise(syn, "jitter", seed=0, root=root).info.root != V.materialise(syn, "jitter", 7, root).info.root


def test_a_variant_made_by_another_opencv_is_made_again(syn, tmp_path, monkeypatch):
    """The variants' images are OpenCV's resampling and JPEG encoding, which OpenCV 5.1 does differently from 4.14
    (a README cell moved by 6.8 HOTA): a variant cached by another OpenCV was served as if it were this one's."""
    made = V.materialise(syn, "zoom", root=tmp_path / "v")
    assert V.materialise(syn, "zoom", root=tmp_path / "v").info.root == made.info.root  # this OpenCV's: reused
    monkeypatch.setattr(cv2, "__version__", "0.0.0-other")
    again = V.materialise(syn, "zoom", root=tmp_path / "v")
    assert again.info.root != made.info.root
    assert json.loads((again.info.root / "variant.json").read_text())["opencv"] == "0.0.0-other"


def test_generation_is_atomic_and_reused(syn, tmp_path, monkeypatch):
    root = tmp_path / "v"
    written = []
    real_imwrite = V.write_image

    def failing_imwrite(path, image, *args):
        written.append(path)
        if len(written) == 3:
            raise KeyboardInterrupt  # interrupted half-way through the images
        return real_imwrite(path, image, *args)

    monkeypatch.setattr(V, "write_image", failing_imwrite)
    with pytest.raises(KeyboardInterrupt):
        V.materialise(syn, "zoom", root=root)
    assert list(root.iterdir()) == []  # no half-made variant, no leftovers
    monkeypatch.setattr(V, "write_image", real_imwrite)
    made = V.materialise(syn, "zoom", root=root)
    assert made.info.frames_with_images() == LENGTH

    def no_rebuild(*_args):
        raise AssertionError("a finished variant was rebuilt")

    monkeypatch.setattr(V, "_build", no_rebuild)
    assert V.materialise(syn, "zoom", root=root).info.root == made.info.root


def test_a_variant_folder_left_by_a_killed_run_is_removed_and_a_live_ones_kept(syn, tmp_path):
    """A run killed outright (`kill -9`) while making a variant left `.partial-<name>-*` in the cache for good, its
    images with it (measured: TUD-Campus+pan8 killed at its 10th image, 516 KB; a re-run made the variant beside it).
    The next run making that variant removes it; a folder another live run is making (its lock held) stays."""
    from tracker.io.lock import LOCK_NAME, FolderLock

    root = tmp_path / "v"
    name = V.materialise(syn, "pan8", root=root).info.root.name
    shutil.rmtree(root / name)  # (the name the next run makes)
    abandoned, live = root / f".partial-{name}-dead", root / f".partial-{name}-live"
    for folder in (abandoned, live):
        (folder / "seq" / "img1").mkdir(parents=True)
        (folder / "seq" / "img1" / "000001.jpg").write_bytes(b"half a variant")
    (abandoned / LOCK_NAME).write_text("999999999\n")  # its maker's process ID; the kernel's lock went with it
    with FolderLock(live, option=None):  # another run making it right now
        made = V.materialise(syn, "pan8", root=root)
        assert live.is_dir(), "a variant another run is making was removed"
    assert not abandoned.exists() and made.info.frames_with_images() == LENGTH
    assert sorted(p.name for p in root.iterdir()) == sorted([name, live.name])


def test_abandoned_variant_folders_of_any_key_are_removed_whenever_a_variant_is_asked_for(syn, tmp_path):
    """Only `.partial-*` folders of the variant being made were removed: one under an older cache key (another
    OpenCV or version), of another variant, or left when the variant was already made, or made before variants were
    locked (no lock file), stayed for good. Now any abandoned one goes when a variant is asked for; a locked one (a
    live maker) and a fresh unlocked one (a maker about to lock it) stay."""
    import os

    from tracker.io.lock import LOCK_NAME, FolderLock

    root = tmp_path / "v"
    made = V.materialise(syn, "pan8", root=root).info.root.name  # made: later calls only look it up
    folders = {
        kind: root / f".partial-SYN+{variant}-0123456789abcdef-{kind}"
        for kind, variant in (("old_key", "pan8"), ("other", "zoom"), ("unlocked", "jump"), ("fresh", "jump"))
    }
    folders["live"] = root / ".partial-SYN+pan2-fedcba9876543210-live"
    for folder in folders.values():
        (folder / "seq" / "img1").mkdir(parents=True)
        (folder / "seq" / "img1" / "000001.jpg").write_bytes(b"half a variant")
    for kind in ("old_key", "other"):
        (folders[kind] / LOCK_NAME).write_text("999999999\n")  # a killed maker's process ID
    old = folders["unlocked"].stat().st_mtime - 2 * V._UNLOCKED_GRACE_S
    for written in (folders["unlocked"] / "seq" / "img1", folders["unlocked"] / "seq", folders["unlocked"]):
        os.utime(written, (old, old))  # made before variants were locked: nothing written in it since
    with FolderLock(folders["live"], option=None):  # another run making pan2 right now
        assert V.materialise(syn, "pan8", root=root).info.root.name == made
    left = sorted(p.name for p in root.iterdir())
    assert left == sorted([made, folders["fresh"].name, folders["live"].name]), left


def test_a_variant_made_where_locks_fail_is_not_removed_by_another_run_while_it_is_written(syn, tmp_path, monkeypatch):
    """On a file system without locks (a network mount: `flock` fails) a variant is made unlocked, with a warning.
    Another run asking for a variant took that folder for abandoned once its own time (its start) was a minute old,
    however fast its images were being written, and removed it: the long build failed ("cannot write a variant
    image"). A folder written in within the grace is live; the variant is made whole."""
    import os

    root, real_imwrite, written = _without_locks(tmp_path, monkeypatch)

    def slow_build_meets_another_run(path, image, *args):
        written.append(path)
        if len(written) == 3:  # a minute into a long build: its folder's own time is its start
            partial = next(root.glob(".partial-*"))
            old = partial.stat().st_mtime - 2 * V._UNLOCKED_GRACE_S
            os.utime(partial, (old, old))
            V.materialise(syn, "scale0.5", root=root)  # another run asks for a variant (here, to keep the test short)
        return real_imwrite(path, image, *args)

    monkeypatch.setattr(V, "write_image", slow_build_meets_another_run)
    made = V.materialise(syn, "pan8", root=root)
    assert made.info.frames_with_images() == LENGTH and (made.info.root / "variant.json").is_file()
    assert not list(root.glob(".partial-*")), "no leftovers"


def test_a_variant_whose_folder_another_run_removed_is_one_error_and_nothing_published(syn, tmp_path, monkeypatch):
    """A maker stalled past the grace where locks fail (or do not lock across machines) loses its folder to another
    run: one error that says so (it read "cannot write a variant image into ..."), and no variant in the cache."""
    import os

    root, real_imwrite, written = _without_locks(tmp_path, monkeypatch)

    def stalled_then_removed(path, image, *args):
        written.append(path)
        if len(written) == 3:
            partial = next(root.glob(".partial-*"))
            old = partial.stat().st_mtime - 2 * V._UNLOCKED_GRACE_S
            for folder in (partial / "seq" / "img1", partial / "seq", partial):
                os.utime(folder, (old, old))  # nothing written for longer than the grace
            V.materialise(syn, "scale0.5", root=root)  # another run asks for a variant
        return real_imwrite(path, image, *args)

    monkeypatch.setattr(V, "write_image", stalled_then_removed)
    with pytest.raises(OSError, match=r"variant pan8 of SYN: another run removed .* while this one made it"):
        V.materialise(syn, "pan8", root=root)
    assert not list(root.glob("SYN+pan8-*")) and not list(root.glob(".partial-*")), "nothing published, no leftovers"


def _without_locks(tmp_path: Path, monkeypatch) -> tuple[Path, object, list]:
    """A file system whose locks fail (`flock`: ENOLCK, as on some network mounts): the variant cache's folder, the
    real image writer (`write_image`) and an empty list for a test's own writer to record the paths it was given in."""
    from tracker.io import lock

    def no_locks(*_args, **_kwargs):
        raise OSError(errno.ENOLCK, "No locks available")

    monkeypatch.setattr(lock, "lock_descriptor", no_locks)
    return tmp_path / "v", V.write_image, []


def test_a_moving_variant_too_short_for_its_camera_to_move_says_so(syn, tmp_path, caplog):
    """`jump` moves the window once a second: on a sequence shorter than that (12 frames at 25 fps) every frame had
    the same window, and the cell was scored as a moving camera without a word. The others move from frame 2."""
    info = syn.info.root / "seqinfo.ini"
    info.write_text(info.read_text().replace("frameRate=10", "frameRate=25"))
    syn = find_sequences(syn.info.root)[0]
    for name in ("jump", "pan8"):
        with caplog.at_level("WARNING", logger="tracker.eval.variants"):
            caplog.clear()
            var = V.materialise(syn, name, root=tmp_path / "variants")
        transforms = V.load_transforms(var)
        still = len({(t.x0, t.y0, t.scale) for t in transforms}) == 1
        assert still == (name == "jump")
        warned = [r.getMessage() for r in caplog.records]
        assert warned == (
            [
                "variant jump of SYN: the camera does not move in its 12 frame(s) (it needs a jump every 25 frames): "
                "scored as a still crop"
            ]
            if still
            else []
        )


@pytest.mark.parametrize("seed", [-1, 2.5, True, "3"])
def test_a_bad_seed_is_one_error_naming_it_and_makes_nothing(syn, tmp_path, seed):
    """`materialise(seq, "jitter", seed=-1)` failed deep in numpy ("expected non-negative integer"), 2.5 with "seed
    must be integer" from numpy's generator, and True made a variant keyed apart from seed 1's: each is now one
    ValueError naming the variant seed, as `--variant-seed` refuses them, with nothing made."""
    with pytest.raises(ValueError, match=r"variant seed must be a whole number >= 0, got"):
        V.materialise(syn, "jitter", seed=seed, root=tmp_path / "variants")
    assert not (tmp_path / "variants").exists()


def test_relative_motion_of_a_pan_is_a_pure_shift(syn):
    transforms, *_ = V.frame_transforms(V.VARIANTS["pan8"], LENGTH, WIDTH, HEIGHT, 10.0, 0, "SYN")
    np.testing.assert_allclose(V.relative_motion(transforms[0], transforms[1]), [[1, 0, -8], [0, 1, 0]])


def test_variant_names_and_groups():
    assert V.parse_variants("moving") == V.GROUPS["moving"]
    assert V.parse_variants("original,pan8,pan8,drop2") == ["original", "pan8", "drop2"]
    assert set(V.parse_variants("all")) == set(V.VARIANTS)
    with pytest.raises(ValueError, match="unknown variant 'pan9'"):
        V.parse_variants("pan9")


def test_an_empty_variant_name_is_one_error_and_a_repeated_one_runs_once(syn, tmp_path, capsys):
    """`--variants pan8,` (a comma too many, or `pan8,$MORE` with MORE unset) ran pan8 alone without a word; it is
    one usage error naming what was given, before anything runs. A name given twice (or also in a group given) runs
    once: one result folder and one row of the table."""
    out = tmp_path / "out"
    argv = ["--data", str(syn.info.root), "--out", str(out), "--cache-dir", str(tmp_path / "cache"), "-q"]
    for given in ("pan8,", ",pan8", "pan8,,drop2", " , "):
        with pytest.raises(SystemExit) as stopped:
            eval_main([*argv, "--variants", given])
        assert stopped.value.code == 2
        said = capsys.readouterr().err.strip().splitlines()[-1]
        assert said.startswith("track eval: error: argument --variants: "), said
        assert f"an empty variant name in {given!r}" in said or "no variant named" in said, said
        assert not out.exists(), "nothing ran"
    assert eval_main([*argv, "--set", "appearance.enabled=false", "--variants", "pan8,pan8,moving"]) == 0
    once = ["pan8", *(name for name in V.GROUPS["moving"] if name != "pan8")]  # (where first named)
    assert list(json.loads((out / "variants.json").read_text())) == once
    rows = (out / "variants.csv").read_text().splitlines()
    assert [row.split(",")[0] for row in rows[1:]] == once, rows
    printed = [line.split()[0] for line in capsys.readouterr().out.splitlines() if line.startswith("pan8")]
    assert printed == ["pan8"], printed


def test_val_half_is_refused(syn, tmp_path):
    half = find_sequences(syn.info.root, split="val-half")[0]
    with pytest.raises(ValueError, match="whole sequences"):
        V.materialise(half, "pan8", root=tmp_path)


def test_eval_reports_each_variant(shared, tmp_path, capsys):
    data = shared / "data" / "MOT15" / "train" / "TUD-Campus"
    out = tmp_path / "out"
    argv = ["--data", str(data), "--out", str(out), "--cache-dir", str(tmp_path / "cache"), "-q"]
    code = eval_main([*argv, "--set", "appearance.enabled=false", "--variants", "original,pan20,drop2"])
    assert code == 0
    table = json.loads((out / "variants.json").read_text())
    assert list(table) == ["original", "pan20", "drop2"]
    assert all(0 < table[v]["ours"]["HOTA"] <= 100 for v in table)
    assert (out / "pan20" / "ours" / "TUD-Campus+pan20.txt").is_file()
    printed = capsys.readouterr().out
    assert "pan20" in printed and "drop2" in printed
    with pytest.raises(SystemExit) as stopped:
        eval_main([*argv, "--variants", "pan21"])
    assert stopped.value.code == 2, stopped.value.code  # (a usage error: exit status 2)
    assert "unknown variant 'pan21'" in capsys.readouterr().err


def test_compare_on_a_moving_variant_shows_what_compensation_gains(shared, tmp_path):
    """One `track compare` run on the jumping-camera TUD-Campus: ours with sparse-flow compensation beats ours
    without it, and BoT-SORT runs with and without its own GMC."""
    data = shared / "data" / "MOT15" / "train" / "TUD-Campus"
    out = tmp_path / "out"
    code = compare_main(
        ["--data", str(data), "--out", str(out), "--cache-dir", str(tmp_path / "cache"), "-q"]
        + ["--set", "appearance.enabled=false", "--set", "motion.camera_compensation=sparse_flow"]
        + ["--variants", "jump", "--peers", "BoT-SORT", "BoT-SORT+GMC"]
    )
    assert code == 0
    rows = json.loads((out / "variants.json").read_text())["jump"]
    assert list(rows) == ["ours", "ours-noCMC", "BoT-SORT", "BoT-SORT+GMC"]
    assert rows["ours"]["HOTA"] > rows["ours-noCMC"]["HOTA"] + 3
    assert rows["ours"]["IDSW"] < rows["ours-noCMC"]["IDSW"]


def test_a_sequence_edited_in_place_gets_its_variant_made_again(syn, tmp_path):
    """The variant was keyed by the sequence's path only: a corrected gt.txt (or new det.txt) kept being scored
    against the stale transformed copy, even with --no-cache. (A run's `Sequence` reads its gt once: the next run,
    a new `find_sequences`, sees the edit.)"""
    root = tmp_path / "v"
    before = V.materialise(syn, "pan8", root=root)
    assert len(read_mot_rows(before.info.root / "gt" / "gt.txt")) > 0
    gt = syn.info.root / "gt" / "gt.txt"
    kept = [r for r in read_mot_rows(gt) if r[0] <= LENGTH // 2]  # the user drops the second half of the gt
    np.savetxt(gt, kept, delimiter=",", fmt="%g")
    edited = find_sequences(syn.info.root)[0]
    after = V.materialise(edited, "pan8", root=root)
    assert after.info.root != before.info.root
    assert read_mot_rows(after.info.root / "gt" / "gt.txt")[:, 0].max() <= LENGTH // 2
    assert V.materialise(edited, "pan8", root=root).info.root == after.info.root  # unchanged again: reused


def test_track_eval_prints_the_trackers_warnings_as_its_own_lines(syn, tmp_path, capsys):
    """`track eval` set up no logging: the tracker's warnings reached stderr through Python's last-resort handler as
    bare messages (and other libraries' with them); they are lines of the command's own form, as `track`'s are,
    even with -q (here: a jump variant on a sequence too short for its camera to move)."""
    info = syn.info.root / "seqinfo.ini"
    info.write_text(info.read_text().replace("frameRate=10", "frameRate=25"))
    argv = ["--data", str(syn.info.root), "--out", str(tmp_path / "out"), "--cache-dir", str(tmp_path / "c"), "-q"]
    assert eval_main([*argv, "--set", "appearance.enabled=false", "--variants", "jump"]) == 0
    said = [line for line in capsys.readouterr().err.splitlines() if "still crop" in line]
    assert said == [
        "track eval: warning: variant jump of SYN: the camera does not move in its 12 frame(s) (it needs a jump every "
        "25 frames): scored as a still crop"
    ], said


def test_a_cache_without_locks_is_warned_once_per_run_not_once_per_variant(syn, tmp_path, monkeypatch, capsys):
    """`track eval --variants moving` on a network mount whose locks fail printed "the variant cache ... cannot be
    locked" once per variant made (four times here, the same words); it is said once per cache folder per run."""
    _root, _, _ = _without_locks(tmp_path, monkeypatch)
    argv = ["--data", str(syn.info.root), "--out", str(tmp_path / "out"), "--cache-dir", str(tmp_path / "c"), "-q"]
    assert eval_main([*argv, "--set", "appearance.enabled=false", "--variants", "pan8,pan20,zoom,jitter"]) == 0
    said = [line for line in capsys.readouterr().err.splitlines() if "cannot be locked" in line]
    cache = tmp_path / "c" / "variants"
    assert [line for line in said if "variant cache" in line] == [
        f"track eval: warning: the variant cache {cache} cannot be locked ([Errno {errno.ENOLCK}] No locks "
        "available): another run using it is not refused"
    ], said
