"""`track gallery merge` and `track gallery export`: two cameras' gallery files in one, and a gallery's identities
for another tool. The galleries are built through the library (`Gallery.add`) from ReID-like looks: people whose
looks are ~0.2 apart, each seen under a few looks at cosine 0.95 to the person."""

from __future__ import annotations

import csv
import json
import shlex
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from gallery_holder import gallery_held

from tracker.cli import main
from tracker.gallery import Gallery, ModelIdentity, Sighting
from tracker.testing import look_at_cosine, reid_like_identities

DIM = 32
MODEL = ModelIdentity("osnet_x0_25", "0123456789abcdef", DIM)
PEOPLE = reid_like_identities(5, DIM, different=0.2)
LOOKS = 3  # looks per stored track
SAME = 0.95  # cosine of a look to its person
LOCK_WAIT_S = 30  # how long a test waits for a helper process to take a gallery's lock


def looks(person: int, seed: int) -> np.ndarray:
    """(LOOKS, DIM) looks of `person`, a seeded draw (another seed: the same person seen again elsewhere)."""
    rng = np.random.default_rng(seed)
    return np.stack([look_at_cosine(PEOPLE[person], SAME, rng) for _ in range(LOOKS)])


def camera_gallery(path: Path, people: dict[int, int], source: str, start: float, model=MODEL, names=None) -> Path:
    """A gallery file at `path` holding `people` ({global ID: person}), seen by `source` from `start` (Unix s): each
    identity first seen at `start + ID` and last seen 60 s later (frames 1 and 601)."""
    gallery = Gallery(model=model)
    gallery.name_classes(names if names is not None else {0: "person"})
    for gid, person in people.items():
        first, last = Sighting(1, start + gid, source), Sighting(601, start + gid + 60, source)
        gallery.add(gid, looks(person, seed=100 * int(source[-1]) + gid), 0, last, first_seen=first)
    gallery.save(path, prune=False)
    return path


@pytest.fixture
def cameras(tmp_path):
    """cam1.gallery: persons 0, 1, 2 as IDs 1, 2, 3; cam2.gallery, an hour earlier: person 3 as ID 1 and person 1
    (the one both cameras saw) as ID 2."""
    now = time.time()
    a = camera_gallery(tmp_path / "cam1.gallery", {1: 0, 2: 1, 3: 2}, "cam1", now - 600)
    b = camera_gallery(tmp_path / "cam2.gallery", {1: 3, 2: 1}, "cam2", now - 3600)
    return a, b


def test_merge_of_two_cameras_sharing_one_person_gives_it_one_id(cameras, tmp_path, capsys):
    a, b = cameras
    before = a.read_bytes(), b.read_bytes()
    out = tmp_path / "site.gallery"
    assert main(["gallery", "merge", str(a), str(b), "-o", str(out)]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split() == ["from", "ID", "->", "ID", "similarity"], lines
    assert lines[1].split() == [str(b), "1", "->", "4", "new"], "a new person: a new ID above cam1's"
    row = lines[2].split()
    assert row[:4] == [str(b), "2", "->", "2"] and 0.8 <= float(row[4]) <= 1.0, "the shared person joins cam1's 2"
    assert lines[3] == f"wrote {out}: 4 identities ({a}: 3, IDs kept; {b}: 2, 1 joined, 1 new)", lines
    merged = Gallery.load(out, prune=False)
    assert [i.global_id for i in merged.identities] == [1, 2, 3, 4]
    shared, cam1, cam2 = merged[2], Gallery.load(a, prune=False)[2], Gallery.load(b, prune=False)[2]
    assert shared.sightings == 2 and shared.first_seen == cam2.first_seen and shared.last_seen == cam1.last_seen
    assert 1 <= len(shared.prototypes) <= 4, "gallery.prototypes: at most 4 kept"
    assert merged[4].first_seen.source == "cam2" and merged.model == MODEL and merged.class_names == {0: "person"}
    assert (a.read_bytes(), b.read_bytes()) == before, "the inputs are untouched"
    assert main(["gallery", "merge", str(a), str(b), "-o", str(tmp_path / "strict.gallery"), "--set",
                 "gallery.min_similarity=0.99", "--dry-run"]) == 0  # fmt: skip
    said = capsys.readouterr().out.splitlines()
    assert said[-1].endswith(f"{b}: 2, 0 joined, 2 new) (a dry run: nothing written)"), "the bound is the config's"
    assert not (tmp_path / "strict.gallery").exists()


def test_merging_a_gallery_with_a_copy_of_itself_gives_it_back(cameras, tmp_path, capsys):
    a, _ = cameras
    copy, out = tmp_path / "copy.gallery", tmp_path / "twice.gallery"
    copy.write_bytes(a.read_bytes())  # (another machine's copy: another file, the same records)
    assert main(["gallery", "merge", str(a), str(copy), "-o", str(out)]) == 0
    rows = [line.split() for line in capsys.readouterr().out.splitlines()[1:4]]
    assert [(r[1], r[3]) for r in rows] == [("1", "1"), ("2", "2"), ("3", "3")], "each joins itself"
    assert all(0.8 <= float(r[4]) <= 1.0 for r in rows), "its looks' mean against its best prototype"
    original, merged = Gallery.load(a, prune=False), Gallery.load(out, prune=False)
    for mine, its in zip(original.identities, merged.identities, strict=True):
        assert mine.describe() == its.describe() and np.array_equal(mine.prototypes, its.prototypes)
    assert main(["gallery", "ls", str(a)]) == 0
    listed = capsys.readouterr().out
    assert main(["gallery", "ls", str(out)]) == 0
    assert capsys.readouterr().out == listed


@pytest.mark.parametrize("spelling", ["the same", "another path", "a symbolic link", "a hard link"])
@pytest.mark.parametrize("out", ["new", "the first file", "dry run"])
def test_a_merge_naming_one_file_twice_is_one_error_and_writes_nothing(cameras, tmp_path, capsys, spelling, out):
    """`track gallery merge cam1.gallery cam1.gallery` (a typo for cam2.gallery, or a link to the file given
    beside it) said "3 joined" and wrote a copy of cam1, status 0: the other camera's identities silently missing.
    Now one error naming the file given twice, status 2, and nothing written."""
    a, b = cameras
    again = {
        "the same": a,
        "another path": tmp_path / ".." / tmp_path.name / a.name,
        "a symbolic link": tmp_path / "link.gallery",
        "a hard link": tmp_path / "hard.gallery",
    }[spelling]
    if spelling == "a symbolic link":
        again.symlink_to(a)
    elif spelling == "a hard link":
        again.hardlink_to(a)
    files = sorted(tmp_path.iterdir())
    before = {file: file.read_bytes() for file in files}
    target = a if out == "the first file" else tmp_path / "site.gallery"
    argv = ["gallery", "merge", str(a), str(b), str(again), "-o", str(target)] + (
        ["--dry-run"] if out == "dry run" else []
    )
    assert main(argv) == 2
    captured = capsys.readouterr()
    said = f"{a} is given twice" if spelling == "the same" else f"{again} is {a} again (the same file)"
    assert captured.err == (
        f"track gallery: error: {said}: a gallery merged with itself is that gallery, and the file meant may be "
        "missing; name each gallery file once (nothing written)\n"
    )
    assert captured.out == "" and sorted(tmp_path.iterdir()) == files, "nothing written"
    assert {file: file.read_bytes() for file in files} == before


@pytest.mark.parametrize(
    ("other", "said"),
    [
        ({"model": ModelIdentity("osnet_x0_25", "fedcba9876543210", DIM)}, "weights fedcba9876543210"),
        ({"model": ModelIdentity("osnet_x0_25", "0123456789abcdef", DIM // 2)}, "D = 16"),
        ({"names": {0: "car"}}, "names class 0 'car', that one 'person'"),
    ],
)
def test_merging_incompatible_galleries_is_one_error_and_writes_nothing(cameras, tmp_path, capsys, other, said):
    a, _ = cameras
    if "model" in other and other["model"].dim != DIM:  # (looks of its own D)
        gallery = Gallery(model=other["model"])
        gallery.add(1, np.eye(DIM // 2, dtype=np.float32)[:2], 0, Sighting(1, time.time(), "cam3"))
        gallery.save(tmp_path / "cam3.gallery", prune=False)
        c = tmp_path / "cam3.gallery"
    else:
        c = camera_gallery(tmp_path / "cam3.gallery", {1: 4}, "cam3", time.time(), **other)
    out = tmp_path / "site.gallery"
    assert main(["gallery", "merge", str(a), str(c), "-o", str(out)]) == 2
    captured = capsys.readouterr()
    err = captured.err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith(f"track gallery: error: {c} cannot be merged with {a}: "), err
    assert said in err[0], err
    assert captured.out == "" and not out.exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["cam1.gallery", "cam2.gallery", "cam3.gallery"]


def test_merge_refuses_an_output_that_is_another_file(cameras, tmp_path, capsys):
    """-o naming an existing file other than the first input (a typo for another camera's gallery) would replace it."""
    a, b = cameras
    before = b.read_bytes()
    assert main(["gallery", "merge", str(a), str(b), "-o", str(b)]) == 2
    assert f"{b} exists: merge writes a new gallery file, or replaces its first FILE" in capsys.readouterr().err
    assert b.read_bytes() == before
    assert main(["gallery", "merge", str(a), "-o", str(tmp_path / "one.gallery")]) == 2
    assert "merge needs two gallery files or more" in capsys.readouterr().err
    assert main(["gallery", "merge", str(a), str(b), "-o", str(a)]) == 0, "into the first file: it is replaced"
    assert len(Gallery.load(a, prune=False)) == 4


def test_a_merge_into_its_first_file_replaced_meanwhile_is_refused_and_loses_nothing(
    cameras, tmp_path, monkeypatch, capsys
):
    """`merge a b -o a`: the output is one of the inputs. Another program (a copy, a restore; a `track` run would
    hold the lock) replaces a while the merge runs: the merge writes nothing over it (the identities only the new
    a holds would be lost), says so, and a keeps that program's version."""
    import tracker.gallery_merge as gallery_merge

    a, b = cameras
    restored = camera_gallery(tmp_path / "restore.gallery", {1: 0, 5: 4}, "cam1", time.time() - 60)
    merge = gallery_merge.merge_galleries

    def merge_while_restored(files, galleries, **options):
        a.write_bytes(restored.read_bytes())  # (`cp restore.gallery cam1.gallery` meanwhile)
        return merge(files, galleries, **options)

    monkeypatch.setattr(gallery_merge, "merge_galleries", merge_while_restored)
    assert main(["gallery", "merge", str(a), str(b), "-o", str(a)]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"track gallery: error: the gallery file {a} was not written: it was saved after this "), err
    assert a.read_bytes() == restored.read_bytes(), "the other program's version is kept"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["cam1.gallery", "cam2.gallery", "restore.gallery"]


@pytest.mark.parametrize("name", ["ids.csv", "ids.JSON", "ids.npz"])
def test_merge_into_a_table_name_is_one_error_that_points_to_export(cameras, tmp_path, capsys, name):
    """`merge ... -o ids.csv` (a user who meant a table) wrote a binary gallery named ids.csv, status 0: now one
    error before any work, naming export, and nothing written (also with --dry-run); a first FILE so named may
    still be replaced. The export it names runs as pasted into a shell, from a folder with a space too (its paths
    were bare: `my tables/ids.csv` was two arguments)."""
    a, b = cameras
    out = tmp_path / "my tables" / name
    out.parent.mkdir()
    for dry_run in ([], ["--dry-run"]):
        assert main(["gallery", "merge", str(a), str(b), "-o", str(out), *dry_run]) == 2
        captured = capsys.readouterr()
        err = captured.err.strip().splitlines()
        assert len(err) == 1 and f"-o {out}: merge writes a gallery file" in err[0], err
        assert "track gallery export" in err[0] and captured.out == "" and not out.exists()
    gallery = err[0].split("such as ")[1].split(")")[0]  # the merge it says to make, then the export it says to run
    assert main(["gallery", "merge", str(a), str(b), "-o", gallery]) == 0
    assert main(shlex.split(err[0].split("`track ")[1].split("`")[0])) == 0 and out.exists(), "the export said works"
    capsys.readouterr()
    out.unlink()
    out.write_bytes(a.read_bytes())  # (a gallery called ids.csv, merged into itself)
    assert main(["gallery", "merge", str(out), str(b), "-o", str(out)]) == 0
    assert len(Gallery.load(out, prune=False)) == 4


def test_export_writes_one_row_per_identity_and_the_prototypes(cameras, tmp_path, capsys):
    a, _ = cameras
    gallery = Gallery.load(a, prune=False)
    table, vectors = tmp_path / "ids.csv", tmp_path / "ids.npz"
    assert main(["gallery", "export", str(a), "-o", str(table), "--prototypes", str(vectors)]) == 0
    assert capsys.readouterr().out.strip() == f"wrote 3 identities to {table} and 9 prototypes (D = {DIM}) to {vectors}"
    with table.open() as f:
        rows = list(csv.DictReader(f))
    first = gallery[1]
    assert [r["global_id"] for r in rows] == ["1", "2", "3"]
    assert rows[0] == {
        "global_id": "1", "class_id": "0", "class": "person",
        "first_seen": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(first.first_seen.time)),
        "last_seen": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(first.last_seen.time)),
        "first_source": "cam1", "first_frame": "1", "last_source": "cam1", "last_frame": "601",
        "sightings": "1", "prototypes": "3",
    }  # fmt: skip
    with np.load(vectors) as saved:
        assert saved["prototypes"].shape == (9, DIM) and saved["prototypes"].dtype == np.float32
        assert saved["global_ids"].tolist() == [1, 1, 1, 2, 2, 2, 3, 3, 3]
        assert np.array_equal(saved["prototypes"][3:6], gallery[2].prototypes)
    as_json = tmp_path / "ids.json"
    assert main(["gallery", "export", str(a), "-o", str(as_json)]) == 0
    assert [{k: str(v) for k, v in r.items()} for r in json.loads(as_json.read_text())] == rows
    assert main(["gallery", "export", str(a), "-o", str(tmp_path / "ids.txt")]) == 2
    assert "written as .csv or .json" in capsys.readouterr().err
    assert main(["gallery", "export", str(a), "-o", str(tmp_path / "x.csv"), "--prototypes", "x.npy"]) == 2
    assert "written as an .npz file" in capsys.readouterr().err and not (tmp_path / "x.csv").exists()


def test_export_into_names_as_long_as_a_file_name_can_be_writes_them(cameras, tmp_path, capsys):
    """Names of 242-255 bytes are valid files, but the export failed with "File name too long" on its temp file
    (`.<name>.<8 random>.tmp`, 14 bytes more): they are written, and nothing is left beside them."""
    a, _ = cameras
    table, vectors = tmp_path / ("t" * 251 + ".csv"), tmp_path / ("é" * 125 + "v.npz")
    assert len(table.name.encode()) == len(vectors.name.encode()) == 255
    assert main(["gallery", "export", str(a), "-o", str(table), "--prototypes", str(vectors)]) == 0, capsys.readouterr()
    assert capsys.readouterr().out.strip() == f"wrote 3 identities to {table} and 9 prototypes (D = {DIM}) to {vectors}"
    assert len(table.read_text().splitlines()) == 4
    with np.load(vectors) as saved:
        assert saved["global_ids"].tolist() == [1, 1, 1, 2, 2, 2, 3, 3, 3]
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([a.name, "cam2.gallery", table.name, vectors.name])


def test_ls_of_two_files_lists_each_under_its_name(cameras, capsys):
    a, b = cameras
    assert main(["gallery", "ls", str(a), str(b)]) == 0
    blocks = capsys.readouterr().out.split("\n\n")
    assert len(blocks) == 2
    for block, path, ids in zip(blocks, (a, b), (["1", "2", "3"], ["1", "2"]), strict=True):
        lines = block.strip().splitlines()
        assert lines[0] == f"{path}:" and lines[1].startswith(f"{len(ids)} identities, D = {DIM}"), lines
        assert [line.split()[0] for line in lines[3:]] == ids
    missing = a.with_name("nowhere.gallery")
    assert main(["gallery", "ls", str(a), str(missing)]) == 2
    out, err = capsys.readouterr()
    assert err == f"track gallery: error: no such gallery file: {missing}\n", "it names the file"
    assert out.startswith(f"{a}:\n3 identities"), "and still lists the other"


@pytest.mark.parametrize("order", ["good-first", "bad-first"])
def test_ls_of_a_bad_file_whose_reader_left_still_names_it_and_ends_with_status_2(cameras, monkeypatch, capsys, order):
    """`track gallery ls good.gallery bad.gallery | head -0` (stdout unbuffered, as with PYTHONUNBUFFERED=1): the
    listing's first line found the reader gone, and the command ended with status 0, the bad file unnamed (or, bad
    file first, named with status 0). Its status stands: 2, the bad file named on stderr."""
    import os

    a, _ = cameras
    bad = a.with_name("bad.gallery")
    bad.write_text("not a gallery\n")
    read, write = os.pipe()
    os.close(read)  # the reader has gone
    with open(write, "w", buffering=1) as closed:  # (line-buffered: each line is written as printed)
        monkeypatch.setattr(sys, "stdout", closed)
        files = [str(a), str(bad)] if order == "good-first" else [str(bad), str(a)]
        code = main(["gallery", "ls", *files])
        monkeypatch.undo()
    assert code == 2
    assert (
        capsys.readouterr().err == f"track gallery: error: {bad} is not a gallery file: it does not start with a "
        "safetensors header (another kind of file: a video, a text?)\n"
    )


def test_merge_beyond_max_identities_names_the_identities_it_forgot(cameras, tmp_path, capsys):
    """`gallery.max_identities` holds in the merged gallery too: the least recently seen go, and the totals say so."""
    a, b = cameras
    out = tmp_path / "site.gallery"
    assert main(["gallery", "merge", str(a), str(b), "-o", str(out), "--set", "gallery.max_identities=3"]) == 0
    total = capsys.readouterr().out.splitlines()[-1]
    assert total.endswith("; 1 identity forgotten beyond gallery.max_identities (4)"), "cam2's new person: seen first"
    assert [i.global_id for i in Gallery.load(out, prune=False).identities] == [1, 2, 3]


def test_ctrl_c_during_the_merges_save_leaves_no_output_and_says_so(cameras, tmp_path, monkeypatch, capsys):
    from tracker import gallery_format

    def interrupted(file, snapshot):
        raise KeyboardInterrupt

    monkeypatch.setattr(gallery_format, "write", interrupted)
    a, b = cameras
    out = tmp_path / "site.gallery"
    assert main(["gallery", "merge", str(a), str(b), "-o", str(out)]) == 130
    assert capsys.readouterr().err == f"track gallery: interrupted: nothing written, no {out} made\n", (
        "(not 'as it was')"
    )
    assert sorted(p.name for p in tmp_path.iterdir()) == ["cam1.gallery", "cam2.gallery"], "no temp or lock file"
    before = a.read_bytes()
    assert main(["gallery", "merge", str(a), str(b), "-o", str(a)]) == 130  # (-o its first FILE: that one is kept)
    assert capsys.readouterr().err == f"track gallery: interrupted: nothing written, {a} is as it was\n"
    assert a.read_bytes() == before


@pytest.mark.parametrize("action", ["merge", "rm"])
def test_a_gallery_save_on_a_full_disk_is_one_error_naming_the_gallery(cameras, tmp_path, monkeypatch, capsys, action):
    """`track gallery merge ... -o OUT` or `rm FILE` on a full disk said "error: [Errno 28] No space left on
    device", naming no file. It names the gallery it could not save, which is left as it was."""
    import errno

    from tracker import gallery_format

    def full(file, snapshot):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(gallery_format, "write", full)
    a, b = cameras
    before, out = a.read_bytes(), tmp_path / "site.gallery"
    argv = ["merge", str(a), str(b), "-o", str(out)] if action == "merge" else ["rm", str(a), "1"]
    assert main(["gallery", *argv]) == 2
    written = out if action == "merge" else a
    assert capsys.readouterr().err == (
        f"track gallery: error: the gallery {written} could not be saved: No space left on device; the file was left "
        "as it was\n"
    )
    assert a.read_bytes() == before and not out.exists()


@pytest.mark.parametrize("full", ["table", "prototypes"])
def test_an_export_on_a_full_disk_is_one_error_naming_the_file(cameras, tmp_path, monkeypatch, capsys, full):
    """`track gallery export ... -o t.csv --prototypes p.npz` on a full disk said "error: [Errno 28] No space left on
    device", naming neither file. It names the one it could not write (and the table, when that was written)."""
    import errno

    import tracker.gallery_export as export

    write = export.write_atomic
    table, prototypes = tmp_path / "t.csv", tmp_path / "p.npz"

    def full_at(path, content, *args, **kwargs):
        if path == (table if full == "table" else prototypes):
            raise OSError(errno.ENOSPC, "No space left on device")
        return write(path, content, *args, **kwargs)

    monkeypatch.setattr(export, "write_atomic", full_at)
    a, _ = cameras
    assert main(["gallery", "export", str(a), "-o", str(table), "--prototypes", str(prototypes)]) == 2
    written = "" if full == "table" else f" ({table} was written)"
    failed = table if full == "table" else prototypes
    assert capsys.readouterr().err == (
        f"track gallery: error: cannot write {failed}: No space left on device; it is as it was{written}\n"
    )
    assert not prototypes.exists() and table.exists() == (full == "prototypes")


def test_absorb_merges_a_known_identitys_record_and_keeps_its_prototypes_within_capacity():
    """`Gallery.absorb` into a known ID: earlier first and later last sighting, counts added, prototypes re-picked
    (at most `gallery.prototypes`, a row held already not twice); the very record it holds changes nothing."""
    from tracker.config import GalleryConfig

    gallery = Gallery(GalleryConfig(prototypes=4), MODEL)
    now = time.time()
    held = gallery.add(7, looks(1, seed=1), 0, Sighting(9, now, "cam1"), first_seen=Sighting(1, now - 5, "cam1"))
    other = Gallery(GalleryConfig(prototypes=4), MODEL)
    seen = other.add(3, looks(1, seed=2), 0, Sighting(4, now - 1, "cam2"), first_seen=Sighting(2, now - 9, "cam2"))
    merged = gallery.absorb(7, seen)
    assert (merged.first_seen, merged.last_seen, merged.sightings) == (seen.first_seen, held.last_seen, 2)
    assert len(merged.prototypes) == 4 and merged.class_id == 0
    again = gallery.absorb(7, merged)
    assert again is merged, "the record it holds: nothing to add"
    assert gallery.absorb(8, seen).sightings == 1 and len(gallery) == 2


def test_a_gallery_of_look_alikes_merged_with_a_copy_of_itself_gives_it_back(tmp_path, capsys):
    """Two identities of one person (a track that broke, stored twice): within gallery.margin of each other, so the
    look rule finds no sure match for either; a copy of the same record joins it by its stored rows."""
    twins = camera_gallery(tmp_path / "twins.gallery", {1: 0, 2: 0, 3: 4}, "cam1", time.time() - 600)
    copy = tmp_path / "copy.gallery"
    copy.write_bytes(twins.read_bytes())
    assert main(["gallery", "merge", str(twins), str(copy), "-o", str(tmp_path / "out.gallery"), "--dry-run"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert [line.split()[1:4] for line in lines[1:4]] == [["1", "->", "1"], ["2", "->", "2"], ["3", "->", "3"]]
    assert lines[-1].endswith(f"{copy}: 3, 3 joined, 0 new) (a dry run: nothing written)"), lines
    gallery = Gallery.load(twins, prune=False)  # (the look rule alone: the twins are no sure match for each other)
    assert gallery.match_looks(gallery[1].prototypes, 0) == -1 and gallery.match_looks(gallery[2].prototypes, 0) == -1


def test_export_onto_the_gallery_file_itself_is_refused_and_keeps_the_gallery(cameras, tmp_path, capsys):
    """A gallery named like a table (`ids.json`, `ids.npz`): its export to its own name replaced it with the table."""
    a, _ = cameras
    for name, extra in (("site.json", []), ("site.npz", ["--prototypes"])):
        gallery = tmp_path / name
        gallery.write_bytes(a.read_bytes())
        args = ["-o", str(gallery)] if not extra else ["-o", str(tmp_path / "ids.csv"), *extra, str(gallery)]
        assert main(["gallery", "export", str(gallery), *args]) == 2
        err = capsys.readouterr().err
        assert (
            err
            == f"track gallery: error: {gallery} is the gallery file exported: writing it would replace the gallery\n"
        )
        assert gallery.read_bytes() == a.read_bytes() and not (tmp_path / "ids.csv").exists()


@pytest.mark.parametrize("where", ["table", "prototypes"])
@pytest.mark.parametrize("blocked", ["a folder", "under a file"])
def test_export_to_a_folder_or_under_a_file_is_one_error_naming_it_and_writes_nothing(
    cameras, tmp_path, capsys, where, blocked
):
    """`-o ids.csv` or `--prototypes ids.npz` that is a folder, or whose folder is a file: one error naming that
    output (it named a temp file, or "the gallery ... cannot be saved"), and no table left without its prototypes."""
    a, _ = cameras
    table, prototypes = tmp_path / "ids.csv", tmp_path / "ids.npz"
    bad = table if where == "table" else prototypes
    if blocked == "a folder":
        bad.mkdir()
    else:
        (tmp_path / "afile").write_text("")
        bad = tmp_path / "afile" / bad.name
    outputs = {"table": table, "prototypes": prototypes, where: bad}
    assert (
        main(["gallery", "export", str(a), "-o", str(outputs["table"]), "--prototypes", str(outputs["prototypes"])])
        == 2
    )
    err = capsys.readouterr().err
    assert len(err.splitlines()) == 1 and str(bad) in err and ".tmp" not in err and "the gallery" not in err, err
    said = "is a folder" if blocked == "a folder" else f"{tmp_path / 'afile'} is a file, not a folder"
    assert said in err, err
    written = [p for p in (table, prototypes) if p.is_file()]
    assert written == [], "nothing written"


@pytest.mark.parametrize("where", ["table", "prototypes"])
def test_export_into_a_read_only_folder_names_that_output_and_writes_neither(
    cameras, tmp_path, capsys, monkeypatch, where
):
    """`-o ids.csv --prototypes ro/ids.npz` with `ro` on a read-only mount: the table was written, then the
    prototypes failed with "the gallery ro/ids.npz cannot be saved ... choose another path" (no gallery: a table,
    and no such option). Now one error naming the output, as what it is, and its option, before either is written."""
    import errno
    import os
    import tempfile

    a, _ = cameras
    read_only = tmp_path / "ro"
    read_only.mkdir()
    table, prototypes = tmp_path / "ids.csv", tmp_path / "ids.npz"
    if where == "table":
        table = read_only / table.name
    else:
        prototypes = read_only / prototypes.name
    real_mkstemp = tempfile.mkstemp

    def mkstemp(*args, dir=None, **kwargs):  # what a read-only mount does, which root's permissions do not
        if dir is not None and Path(dir) == read_only:
            raise OSError(errno.EROFS, os.strerror(errno.EROFS), str(dir))
        return real_mkstemp(*args, dir=dir, **kwargs)

    monkeypatch.setattr(tempfile, "mkstemp", mkstemp)
    assert main(["gallery", "export", str(a), "-o", str(table), "--prototypes", str(prototypes)]) == 2
    err = capsys.readouterr().err
    named, option = (f"the identity table {table}", "-o") if where == "table" else (
        f"the prototypes file {prototypes}", "--prototypes")  # fmt: skip
    assert err.splitlines() == [
        f"track gallery: error: {named} cannot be saved: its folder {read_only} is not writable "
        f"({os.strerror(errno.EROFS)}): choose another {option}"
    ], err
    assert not table.exists() and not prototypes.exists(), "nothing written"
    from tracker.gallery_export import write_prototypes  # (the write itself names it so too: no check before it)

    with pytest.raises(OSError, match=r"^the prototypes file .* cannot be saved: its folder .* choose another path"):
        write_prototypes(Gallery.load(a, prune=False), read_only / "direct.npz")


def test_merge_into_a_read_only_folder_says_to_choose_another_output(cameras, tmp_path, capsys, monkeypatch):
    """`track gallery merge A B -o ro/site.gallery` on a read-only mount said "the gallery ro/site.gallery cannot be
    used: ro is not writable (Read-only file system)" and stopped: -o chooses another, and the line now says so."""
    import errno
    import os

    import tracker.io.lock as lock

    a, b = cameras
    read_only = tmp_path / "ro"
    read_only.mkdir()
    real_open = os.open

    def open_(path, flags, *args):  # what a read-only mount does, which root's permissions do not
        if Path(path).parent == read_only:
            raise OSError(errno.EROFS, os.strerror(errno.EROFS), str(path))
        return real_open(path, flags, *args)

    monkeypatch.setattr(lock.os, "open", open_)
    out = read_only / "site.gallery"
    assert main(["gallery", "merge", str(a), str(b), "-o", str(out)]) == 2
    err = capsys.readouterr().err
    assert err.splitlines() == [
        f"track gallery: error: the gallery {out} cannot be used: {read_only} is not writable "
        f"({os.strerror(errno.EROFS)}): choose another -o"
    ], err
    assert not out.exists()


@pytest.mark.parametrize("dry_run", [True, False])
@pytest.mark.parametrize("blocked", ["read-only first file", "under a file"])
def test_merge_into_an_output_it_cannot_write_is_refused_before_it_merges_also_in_a_dry_run(
    cameras, tmp_path, capsys, dry_run, blocked
):
    """`-o` onto a read-only first FILE (`chmod a-w`), or under a file: the dry run said "would write" all the same.
    Now both the dry run and the merge are one error naming the output, before any line of the merge, and write
    nothing."""
    a, b = cameras
    if blocked == "read-only first file":
        out = a
        a.chmod(0o400)
        said = f"gallery file {a} is read-only"
    else:
        (tmp_path / "afile").write_text("")
        out = tmp_path / "afile" / "site.gallery"
        said = f"{tmp_path / 'afile'} is a file, not a folder: choose another -o"
    before = a.read_bytes(), b.read_bytes()
    assert main(["gallery", "merge", str(a), str(b), "-o", str(out), *(["--dry-run"] if dry_run else [])]) == 2
    captured = capsys.readouterr()
    assert captured.out == "" and len(captured.err.splitlines()) == 1 and said in captured.err, captured
    assert (a.read_bytes(), b.read_bytes()) == before


@pytest.mark.parametrize("where", ["table", "prototypes"])
def test_export_over_a_read_only_file_is_refused_and_keeps_it(cameras, tmp_path, capsys, where):
    """An earlier export made read-only (`chmod a-w`, to keep it): the export replaced it all the same (a rename
    needs only the folder's permission), as `track gallery rm` and `merge -o` refuse to for a gallery. Now one error
    naming it, before either output is written."""
    a, _ = cameras
    table, prototypes = tmp_path / "ids.csv", tmp_path / "ids.npz"
    kept = table if where == "table" else prototypes
    kept.write_bytes(b"an earlier export")
    kept.chmod(0o444)
    assert main(["gallery", "export", str(a), "-o", str(table), "--prototypes", str(prototypes)]) == 2
    err = capsys.readouterr().err
    said = f"{kept} is read-only (mode 444): make it writable (chmod u+w {kept}) to export into it, or choose another"
    assert err == f"track gallery: error: {said} name\n", err
    assert kept.read_bytes() == b"an earlier export"
    assert [p for p in (table, prototypes) if p != kept and p.exists()] == [], "nothing written"


def test_merge_during_another_save_of_an_input_reads_its_last_whole_version(cameras, tmp_path, monkeypatch):
    """Only writes are locked: a merge may read an input while a `track` run saves it. The save writes a temp file
    and renames it over the input, so the merge reads the version before (whole) while the new one is half-written
    beside it, and the version after once it is renamed; it never reads a mix."""
    import threading

    from tracker import gallery_format

    a, b = cameras
    halfway, finish = threading.Event(), threading.Event()
    write = gallery_format.write

    def slow_write(file, snapshot):  # the save's bytes, half of them, a pause, then the rest
        blob = gallery_format.encode(snapshot)
        file.write(blob[: len(blob) // 2])
        file.flush()
        halfway.set()
        assert finish.wait(LOCK_WAIT_S)
        file.write(blob[len(blob) // 2 :])

    grown = Gallery.load(a, prune=False)
    grown.add(9, looks(4, seed=9), 0, Sighting(1, time.time(), "cam1"))
    monkeypatch.setattr(gallery_format, "write", slow_write)
    saving = threading.Thread(target=grown.save, args=(a,), kwargs={"prune": False})
    saving.start()
    try:
        assert halfway.wait(LOCK_WAIT_S)
        assert [p.name for p in tmp_path.glob(".cam1.gallery.*.tmp")], "the new version is half-written beside it"
        monkeypatch.setattr(gallery_format, "write", write)
        assert main(["gallery", "merge", str(a), str(b), "-o", str(tmp_path / "during.gallery")]) == 0
    finally:
        finish.set()
        saving.join(LOCK_WAIT_S)
    assert main(["gallery", "merge", str(a), str(b), "-o", str(tmp_path / "after.gallery")]) == 0
    during, after = (Gallery.load(tmp_path / f"{n}.gallery", prune=False) for n in ("during", "after"))
    assert 9 not in during and len(during) == 4, "cam1 as it was, whole, and cam2's new person"
    assert 9 in after and len(after) == 5


def test_merge_or_export_of_a_gallery_a_run_holds_says_it_read_its_last_saved_version(cameras, tmp_path, capsys):
    """A merge (or export) of a gallery a live `track` run holds reads the version that run saved last, whole; what
    the run saves after is not in the output. It says so in one note on stderr and goes on (refusing would make a
    merge wait for a run that may go on for days); a lock file a killed run left (its process gone) is no holder."""
    a, b = cameras
    note = f"track gallery: note: {a} is in use by another run or gallery edit (process"
    with gallery_held(a) as holding:
        assert main(["gallery", "merge", str(a), str(b), "-o", str(tmp_path / "site.gallery")]) == 0
        err = capsys.readouterr().err
        saved = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(a.stat().st_mtime))
        assert err == (
            f"{note} {holding.pid}): read as it saved it last ({saved}); what it saves later is not in "
            f"{tmp_path / 'site.gallery'}\n"
        )
        assert main(["gallery", "export", str(a), "-o", str(tmp_path / "ids.csv")]) == 0
        assert capsys.readouterr().err.startswith(note)
    (tmp_path / ".cam1.gallery.lock").write_text(f"{holding.pid}\n")  # as a killed holder leaves it
    assert main(["gallery", "merge", str(a), str(b), "-o", str(tmp_path / "again.gallery")]) == 0
    assert capsys.readouterr().err == ""


def test_ls_of_a_gallery_a_run_holds_says_it_lists_its_last_saved_version(cameras, tmp_path, capsys):
    """`track gallery ls` during a `track --gallery` run listed the version the run saved last without a word, as
    if it were the run's gallery (merge and export say so). Now the same note, on stderr; the listing as before."""
    a, b = cameras
    assert main(["gallery", "ls", str(a)]) == 0
    listing = capsys.readouterr().out
    with gallery_held(a) as holding:
        assert main(["gallery", "ls", str(a)]) == 0
        captured = capsys.readouterr()
        saved = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(a.stat().st_mtime))
        assert captured.out == listing
        assert captured.err == (
            f"track gallery: note: {a} is in use by another run or gallery edit (process {holding.pid}): read as it "
            f"saved it last ({saved}); what it saves later is not listed\n"
        )
        assert main(["gallery", "ls", str(b)]) == 0 and capsys.readouterr().err == "", "a file nobody holds: no note"


def test_merge_leaves_out_only_the_taken_ids_that_could_change_a_decision(monkeypatch):
    """Each identity of a later file is searched with the IDs its file's earlier identities took left out; only
    those near its query are (`_Taken.near`: below gallery.min_similarity - gallery.margin none can be the match nor
    a runner-up within the margin). The links are those of leaving every taken ID out, on files where it matters:
    cam2 holds person 0 twice (a track that broke), so its second one must not join the ID its first took."""
    from tracker import gallery_merge
    from tracker.gallery_merge import merge_galleries

    def gallery(people: dict[int, int], seed: int) -> Gallery:
        made = Gallery(model=MODEL)
        for gid, person in people.items():
            made.add(gid, looks(person, seed=100 * seed + gid), 0, Sighting(1, 1000.0 + gid, f"cam{seed}"))
        return made

    def links(near):
        monkeypatch.setattr(gallery_merge._Taken, "near", near)
        files = [gallery({1: 0, 2: 1, 3: 2, 4: 3, 5: 4}, 1), gallery({1: 0, 2: 0, 3: 1, 4: 2}, 2)]
        merged = merge_galleries([Path("cam1"), Path("cam2")], files)
        return [(link.from_id, link.to_id, link.similarity) for link in merged.links]

    only_near = links(gallery_merge._Taken.near)
    assert [link[:2] for link in only_near] == [(1, 1), (2, 6), (3, 2), (4, 3)], only_near
    assert only_near == links(lambda taken, _looks, _bound: set(taken.ids)), "the same links as leaving all out"
    assert links(lambda *_: set()) != only_near, "leaving none out: cam2's second person 0 would join ID 1 too"


def test_merge_and_export_through_a_symbolic_link_write_its_file_and_keep_the_link(cameras, tmp_path, capsys):
    """`-o site.gallery` where site.gallery -> store/v7.gallery (and a table's link likewise): the file the link
    names is written and the link stays, as `track --gallery` saves through one. Before, the atomic write renamed its
    temp file over the link itself: the link became a plain file and store/v7.gallery kept the old gallery, while
    `gallery_lock` (which follows links) locked that old file."""
    a, b = cameras
    store = tmp_path / "store"
    store.mkdir()
    real, link = store / "v7.gallery", tmp_path / "site.gallery"
    real.write_bytes(a.read_bytes())
    link.symlink_to(real)
    assert main(["gallery", "merge", str(link), str(b), "-o", str(link)]) == 0
    assert link.is_symlink() and len(Gallery.load(real, prune=False)) == 4
    table, table_link = store / "ids.csv", tmp_path / "ids.csv"
    table_link.symlink_to(table)  # (a dangling link: its file is made)
    assert main(["gallery", "export", str(real), "-o", str(table_link)]) == 0
    assert table_link.is_symlink() and len(table.read_text().splitlines()) == 1 + 4
    assert sorted(p.name for p in store.iterdir()) == ["ids.csv", "v7.gallery"], "no temp file left"
    capsys.readouterr()


def test_reading_a_gallery_a_run_holds_before_its_first_save_says_the_run_has_not_saved_it_yet(tmp_path, capsys):
    """`track gallery ls|export|merge` of the gallery a `track --gallery new.gallery` run makes said only "no such
    gallery file: new.gallery" until the run's first save, sending users looking for a mistyped name; it says that
    a run holds it and has not saved it yet. A name nothing holds is as before."""
    new, other = tmp_path / "new.gallery", tmp_path / "other.gallery"
    with gallery_held(new) as holding:
        said = (
            f"track gallery: error: no such gallery file: {new} (another run or gallery edit, process {holding.pid}, "
            "holds it and has not saved it yet: try again once it has)\n"
        )
        for action in (["ls", str(new)], ["export", str(new), "-o", str(tmp_path / "ids.csv")]):
            assert main(["gallery", *action]) == 2
            assert capsys.readouterr().err == said
    assert main(["gallery", "ls", str(other)]) == 2
    assert capsys.readouterr().err == f"track gallery: error: no such gallery file: {other}\n"


def test_merge_names_the_look_alikes_it_keeps_apart(tmp_path, capsys):
    """cam1 holds two people dressed alike (cosine 0.9); cam2 saw one of them. cam2's identity is at or above
    gallery.min_similarity to both, within gallery.margin: it gets a new ID, as the rule decides, and the merge says
    so (the pair, its similarity, the keys), where it used to print only "new"."""
    now = time.time()

    def gallery(path: Path, people: dict[int, tuple[np.ndarray, int]]) -> Path:
        made = Gallery(model=MODEL)
        made.name_classes({0: "person"})
        for gid, (person, seed) in people.items():
            rng = np.random.default_rng(seed)
            seen = np.stack([look_at_cosine(person, SAME, rng) for _ in range(LOOKS)])
            made.add(gid, seen, 0, Sighting(1, now, path.stem))
        made.save(path, prune=False)
        return path

    twin = look_at_cosine(PEOPLE[0], 0.9, np.random.default_rng(7))
    a = gallery(tmp_path / "cam1.gallery", {1: (PEOPLE[0], 1), 2: (twin, 2), 3: (PEOPLE[2], 3)})
    b = gallery(tmp_path / "cam2.gallery", {1: (PEOPLE[0], 4), 2: (PEOPLE[3], 5)})
    out = tmp_path / "site.gallery"
    assert main(["gallery", "merge", str(a), str(b), "-o", str(out)]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[1].split() == [str(b), "1", "->", "4", "new"] and lines[2].split()[3:] == ["5", "new"], lines
    note = lines[-2]
    assert note.startswith("1 look-alike pair kept apart (new IDs at or above gallery.min_similarity 0.8 to an "), lines
    assert "within gallery.margin 0.1" in note, note
    pair = note.split("): ", 1)[1]
    assert pair.startswith(f"{b} 1 (now 4) ~ 1 at ") and 0.8 <= float(pair.rsplit(" ", 1)[1]) < 1.0, note
    assert len(Gallery.load(out, prune=False)) == 5, "kept apart: nothing fused"


def test_a_merge_of_galleries_with_nothing_to_link_prints_no_empty_table(tmp_path, capsys):
    """The later files hold no identity (a camera that saw nobody): merge printed the table's header line with no row
    under it; it prints the totals alone."""
    first = camera_gallery(tmp_path / "cam1.gallery", {1: 0}, "cam1", time.time())
    empty = Gallery(model=MODEL)
    empty.save(tmp_path / "cam2.gallery", prune=False)
    out = tmp_path / "site.gallery"
    assert main(["gallery", "merge", str(first), str(tmp_path / "cam2.gallery"), "-o", str(out), "--dry-run"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"would write {out}: 1 identity"), lines


# ------------------------------------------------------------------------------------ a gallery Trackers hold
def walk(tracker, person: int, frames: range, x0: float) -> None:
    """`person` walks across `tracker`'s view for `frames` (its looks: `PEOPLE[person]` with a little noise)."""
    from tracker.testing import Walker, linear_path, render

    walker, rng = [Walker(person, linear_path(x0, 300, 2, 0))], np.random.default_rng(person)
    for frame in frames:
        det = render(walker, frame, PEOPLE, 0.01, rng)
        tracker.update_detections(det.boxes_xyxy, det.scores, embeddings=det.embeddings)


def record(gallery: Gallery) -> dict:
    """Everything a gallery holds, to compare (identities with their prototypes' bytes, next ID, file, sources)."""
    held = {i.global_id: (i.describe(), i.prototypes.tobytes()) for i in gallery.identities}
    return {"identities": held, "next": gallery._next_id, "file": gallery.file, "sources": gallery.sources,
            "names": gallery.class_names, "model": gallery.model}  # fmt: skip


def test_a_gallery_trackers_hold_takes_in_a_file_saved_meanwhile_and_then_saves_over_it(tmp_path):
    """A service whose two cameras' Trackers hold one gallery; another program saved the file meanwhile, with a new
    person and one the service knows seen again. The service's save is refused (it would drop them, and both gave
    ID 3 to different people); it could only save aside, `track gallery merge` the files, and do so again at every
    later save until a restart. `merge_from` takes the file's identities into the gallery the Trackers hold, by the
    merge's rule (the same links and records as `track gallery merge` of the two files), its IDs unchanged, and
    its next save writes the union; a save racing another writer after that is refused again."""
    import copy

    from tracker import Tracker, load_config
    from tracker.gallery import GalleryConflictError
    from tracker.gallery_merge import merge_galleries

    now = time.time()
    path = camera_gallery(tmp_path / "site.gallery", {1: 0, 2: 1}, "cam1", now - 3600)
    cfg = load_config(overrides=["device=cpu"])
    held = Gallery.load(path, cfg.gallery, MODEL)
    cam_a, cam_b = (Tracker(cfg, frame_rate=10, gallery=held, source_name=name) for name in ("camA", "camB"))
    walk(cam_a, 2, range(30), 100)
    walk(cam_b, 3, range(30), 600)  # (in view when the file is taken in: a live track, offered, not stored)
    cam_a.reset()  # camA's person leaves: stored under the ID its track had
    assert held.identities[-1].global_id == 3 and held.identities[-1].first_seen.source == "camA"
    other = Gallery.load(path, model=MODEL)  # another program, from the same version
    seen, first = Sighting(50, now - 60, "cam9"), Sighting(1, now - 70, "cam9")
    other.add(other.new_id(), looks(3, seed=900), 0, seen, first_seen=first)
    other.add(2, looks(1, seed=901), 0, Sighting(80, now - 30, "cam9"), first_seen=Sighting(60, now - 40, "cam9"))
    other.save(path)
    theirs = Gallery.load(path, prune=False)
    with pytest.raises(GalleryConflictError) as refused:
        held.save(path)
    assert f"merge_from('{path}'), then save('{path}')" in str(refused.value)
    aside = tmp_path / "service.gallery"  # what the merge of the two files gives
    copy.deepcopy(held).save(aside, prune=False)
    expected = merge_galleries([aside, path], [Gallery.load(aside, prune=False), Gallery.load(path, prune=False)])

    merged = held.merge_from(path)

    hops = [(link.from_id, link.to_id, link.joined) for link in merged.links]
    assert hops == [(1, 1, True), (2, 2, True), (3, 5, False)], "theirs joined, the new person above IDs 1-4 given"
    assert hops == [(link.from_id, link.to_id, link.joined) for link in expected.links]
    assert [link.to_id for link in merged.new] == [5] and len(merged.joined) == 2 and merged.gallery is held
    held.save(path)  # the version it read: no conflict
    saved = Gallery.load(path, prune=False)
    assert list(saved) == [1, 2, 3, 5] == list(expected.gallery)
    for gid in saved:
        assert saved[gid].describe() == expected.gallery[gid].describe(), gid
        assert np.array_equal(saved[gid].prototypes, expected.gallery[gid].prototypes), gid
    assert saved[3].first_seen.source == "camA", "the service's ID 3 is its own person still"
    assert saved[2].sightings == 2 and saved[2].last_seen == theirs[2].last_seen, "the person seen again joined"
    assert saved[5].first_seen == theirs[3].first_seen, "their new person got a new ID"
    cam_b.reset()  # camB's person leaves: stored under the ID its live track held
    assert held[4].first_seen.source == "camB" and list(held) == [1, 2, 3, 4, 5]
    again = Gallery.load(path, model=MODEL)  # another program writes again
    again.add(again.new_id(), looks(4, seed=902), 0, Sighting(5, now, "cam9"))
    again.save(path)
    with pytest.raises(GalleryConflictError):
        held.save(path)


@pytest.mark.parametrize(
    "model",
    [ModelIdentity("osnet_x0_25", "0123456789abcdef", 16), ModelIdentity("osnet_x1_0", "fedcba9876543210", DIM)],
    ids=["D", "weights"],
)
def test_a_file_of_another_model_is_not_taken_in_and_changes_nothing(tmp_path, model):
    """Another D (or other weights: another embedding space) cannot be merged: `GalleryModelError` naming the file,
    the gallery as it was (identities, next ID, the file it last read: its next save to its file still works)."""
    from tracker.gallery import GalleryModelError

    now = time.time()
    path = camera_gallery(tmp_path / "site.gallery", {1: 0, 2: 1}, "cam1", now - 600)
    held = Gallery.load(path, model=MODEL)
    held.add(held.new_id(), looks(2, seed=3), 0, Sighting(9, now, "camA"))
    stranger = Gallery(model=model)
    stranger.add(1, np.random.default_rng(0).normal(size=(3, model.dim)), 0, Sighting(1, now, "cam9"))
    stranger.save(tmp_path / "other.gallery")
    before = record(held)
    with pytest.raises(GalleryModelError, match=f"^{tmp_path / 'other.gallery'} cannot be merged with this gallery"):
        held.merge_from(tmp_path / "other.gallery")
    assert record(held) == before
    held.save(path)
    assert list(Gallery.load(path, prune=False)) == [1, 2, 3]


def test_taking_in_a_file_not_saved_yet_is_one_error_naming_it(tmp_path):
    """`merge_from` of a gallery file a running `track --gallery FILE` has not saved yet (no file there) raised a
    bare `FileNotFoundError: [Errno 2] No such file or directory` from inside the load: now one error naming the
    file, what was expected (a saved gallery, how one is made) and the run holding it, with the gallery unchanged."""
    now = time.time()
    path = camera_gallery(tmp_path / "site.gallery", {1: 0, 2: 1}, "cam1", now - 600)
    held = Gallery.load(path, model=MODEL)
    before = record(held)
    missing = tmp_path / "cam2.gallery"
    with pytest.raises(FileNotFoundError) as refused:
        held.merge_from(missing)
    said = str(refused.value)
    assert said.startswith(f"no gallery file {missing} to merge from: ") and "Errno" not in said, said
    assert f"`track --gallery {missing}`" in said and "Gallery.save" in said, said
    with gallery_held(missing) as holder, pytest.raises(FileNotFoundError, match=f"process {holder.pid}\\) holds it"):
        held.merge_from(missing)
    assert record(held) == before
    held.save(path)
    assert list(Gallery.load(path, prune=False)) == [1, 2]


def test_taking_in_a_file_while_other_threads_add_loses_nothing(tmp_path, monkeypatch):
    """Cameras' threads go on adding while a file is taken in: one adds once the file is read (the merge not begun),
    another while the merge holds the gallery (it waits for it). No error, every identity kept, no ID given twice,
    and all of them saved."""
    import threading

    from tracker.gallery_merge import merge_into

    now = time.time()
    path = camera_gallery(tmp_path / "site.gallery", {1: 0}, "cam1", now - 600)
    held = Gallery.load(path, model=MODEL)
    other = Gallery.load(path, model=MODEL)
    other.add(other.new_id(), looks(3, seed=7), 0, Sighting(5, now - 60, "cam9"))
    other.save(path)
    added: dict[str, int] = {}
    errors: list[BaseException] = []

    def add(name: str, person: int) -> None:
        try:
            added[name] = held.new_id()
            held.add(added[name], looks(person, seed=person), 0, Sighting(1, now, name))
        except BaseException as exc:  # (reported by the test, not lost in the thread)
            errors.append(exc)

    load = Gallery.load.__func__

    def read_then_add(cls, *args, **kwargs):  # the file read, the merge not begun: camA adds
        read = load(cls, *args, **kwargs)
        camera = threading.Thread(target=add, args=("camA", 1))
        camera.start()
        camera.join(timeout=LOCK_WAIT_S)
        assert not camera.is_alive(), "the gallery was held while its file was read: the cameras waited"
        return read

    during: list[threading.Thread] = []

    def merge_while_adding(*args, **kwargs):  # the merge under way: camB adds (it waits for the gallery)
        started = threading.Event()
        camera = threading.Thread(target=lambda: (started.set(), add("camB", 2)))
        camera.start()
        started.wait(timeout=LOCK_WAIT_S)
        during.append(camera)
        return merge_into(*args, **kwargs)

    monkeypatch.setattr(Gallery, "load", classmethod(read_then_add))
    monkeypatch.setattr("tracker.gallery_merge.merge_into", merge_while_adding)
    merged = held.merge_from(path)
    monkeypatch.undo()
    during[0].join(timeout=LOCK_WAIT_S)
    assert not errors and not during[0].is_alive()
    assert added == {"camA": 2, "camB": 4} and [link.to_id for link in merged.new] == [3], (added, merged.links)
    sources = {gid: held[gid].last_seen.source for gid in held}
    assert sources == {1: "cam1", 2: "camA", 3: "cam9", 4: "camB"}
    held.save(path)
    assert list(Gallery.load(path, prune=False)) == [1, 2, 3, 4]


def test_taking_in_the_same_file_twice_adds_nothing_the_second_time(tmp_path):
    """The file's identities, taken in once, are this gallery's records: taken in again (a second `merge_from` of
    the unchanged file), each joins its own by its stored rows, even two look-alikes (one person stored twice,
    within gallery.margin of each other, which the look rule alone gives new IDs), and no count goes up."""
    now = time.time()
    path = camera_gallery(tmp_path / "site.gallery", {1: 0, 2: 0, 3: 4}, "cam1", now - 600)
    held = Gallery(model=MODEL)
    held.add(held.new_id(), looks(2, seed=3), 0, Sighting(9, now, "camA"))
    first = held.merge_from(path)
    assert [link.to_id for link in first.new] == [4, 5, 6], "above the file's IDs: its next save writes over it"
    before = record(held)
    second = held.merge_from(path)
    assert [(link.from_id, link.to_id) for link in second.joined] == [(1, 4), (2, 5), (3, 6)] and not second.new
    assert record(held) == before
    held.save(path)


def test_taking_in_another_cameras_file_keeps_saving_to_the_gallerys_own_file(cameras):
    """A site's gallery takes in another camera's file (not the one it read): its own file stays the one it last read,
    so its next save there writes without a conflict (had it recorded cam2's, "this gallery never read it")."""
    a, b = cameras
    held = Gallery.load(a, model=MODEL)
    assert [link.to_id for link in held.merge_from(b).new] == [4]
    held.save(a)
    assert list(Gallery.load(a, prune=False)) == [1, 2, 3, 4]


def test_export_makes_a_missing_folder_as_merge_and_track_out_do_and_a_refused_one_makes_none(
    cameras, tmp_path, capsys
):
    """`export -o new/sub/ids.csv` makes the missing folders, as `merge -o`, `track --out` and `--gallery` do (the
    CLI's convention, docs/gallery.md says so); an export refused for its other output (before anything is written)
    leaves no folder made behind."""
    a, b = cameras
    table, vectors = tmp_path / "new" / "sub" / "ids.csv", tmp_path / "other" / "ids.npz"
    assert main(["gallery", "export", str(a), "-o", str(table), "--prototypes", str(vectors)]) == 0
    assert capsys.readouterr().out.startswith(f"wrote 3 identities to {table} and 9 prototypes")
    assert len(table.read_text().splitlines()) == 4 and vectors.is_file()
    merged = tmp_path / "made" / "site.gallery"
    assert main(["gallery", "merge", str(a), str(b), "-o", str(merged)]) == 0 and merged.is_file(), "merge -o: the same"
    refused = tmp_path / "never" / "ids.csv"
    assert main(["gallery", "export", str(a), "-o", str(refused), "--prototypes", str(tmp_path / "x" / "p.npy")]) == 2
    assert "written as an .npz file" in capsys.readouterr().err
    assert not (tmp_path / "never").exists() and not (tmp_path / "x").exists()


def test_a_file_taken_in_and_saved_over_gives_none_of_its_ids_again_to_another_person(tmp_path):
    """A service started with a new gallery (no file yet); a `track` run made the file meanwhile, giving IDs 1-7 to
    people (its outputs name them) and keeping 3 of them (1, 2, 7: the others forgotten). The service's save is
    refused; it takes the file in and saves over it. The file's next ID went back (8 -> 5) and its people got IDs
    the run had given to others (its person of ID 1 became 2, the run's 2 another person; 4 a forgotten one's), so
    the next people the cameras met were given 5, 6, 7 again: one ID, two people, in the run's outputs and the
    service's. New IDs are now above every ID the file gave too, when the file is the one the gallery saves to."""
    from tracker.gallery import GalleryModelError

    now = time.time()
    path = camera_gallery(tmp_path / "site.gallery", {1: 0, 2: 1, 7: 2}, "cam1", now - 600)
    held = Gallery(model=MODEL)
    held.add(held.new_id(), looks(3, seed=3), 0, Sighting(9, now, "camA"))  # the service's own person: ID 1
    stranger = Gallery(model=ModelIdentity("osnet_x1_0", "fedcba9876543210", DIM))  # (another model, IDs to 40)
    stranger.add(40, looks(4, seed=4), 0, Sighting(1, now, "cam9"))
    stranger.save(tmp_path / "other.gallery")
    before = record(held)
    with pytest.raises(GalleryModelError):
        held.merge_from(tmp_path / "other.gallery")
    assert record(held) == before, "refused: its next ID as it was too"
    merged = held.merge_from(path)
    assert [(link.from_id, link.to_id) for link in merged.new] == [(1, 8), (2, 9), (7, 10)]
    held.save(path)
    saved = Gallery.load(path, prune=False)
    assert list(saved) == [1, 8, 9, 10] and saved[1].first_seen.source == "camA"
    assert saved.new_id() == held.new_id() == 11, "no ID the run gave (2-7) given to another person"


def test_taking_in_a_file_that_adds_nothing_leaves_the_gallery_unmodified(cameras, tmp_path):
    """A gallery loaded from its file takes in a copy of it (or the file itself, as a service re-taking it in
    does): nothing to add, so it is not `modified` (a `track` run saves a gallery when it is: the merge made it
    write the same identities again), as before the merge; a file that adds something still makes it so."""
    import shutil

    a, b = cameras
    with_source = Gallery.load(a, model=MODEL)
    with_source.record_source("0" * 64, "cam1.mp4", 600)
    with_source.save(a)
    shutil.copy(a, tmp_path / "copy.gallery")
    held = Gallery.load(a, model=MODEL)
    for path in (tmp_path / "copy.gallery", a):
        assert not held.merge_from(path).new and not held.modified, path
    held.merge_from(b)
    assert held.modified
