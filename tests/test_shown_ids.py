"""`tracker.shown_ids.ShownIds`: the IDs a `track` run showed, counted as a set but kept in runs (flat memory)."""

from __future__ import annotations

import random

import numpy as np
import pytest

from tracker.run_summary import RunSummary, combine, count_frame
from tracker.shown_ids import ShownIds
from tracker.types import TrackedObject, TrackState


def test_it_is_the_set_it_replaces_under_adds_removals_unions_and_replacements():
    """Random adds, discards, unions and end-of-run replacements ({new: final}) give what a set gives, element for
    element, and a checkpoint's runs read back to the same IDs."""
    rng = random.Random(0)
    for _ in range(300):
        ids, ref = ShownIds(), set()
        for _ in range(rng.randint(1, 40)):
            value, kind = rng.randint(1, 30), rng.random()
            if kind < 0.6:
                ids.add(value)
                ref.add(value)
            elif kind < 0.8:
                ids.discard(value)
                ref.discard(value)
            else:
                more = {rng.randint(1, 30) for _ in range(rng.randint(0, 6))}
                ids |= ShownIds(more) if rng.random() < 0.5 else more
                ref |= more
            assert ids == ref and len(ids) == len(ref) and list(ids) == sorted(ref)
            assert all((v in ids) == (v in ref) for v in range(32))
        assert ShownIds.from_runs(ids.runs()) == ref
        replaced = {rng.randint(1, 30): rng.randint(1, 30) for _ in range(rng.randint(0, 5))}
        assert ids.replaced(replaced) == {replaced.get(t, t) for t in ref}


def _person(track_id: int) -> TrackedObject:
    return TrackedObject(track_id, np.zeros(4), 0.9, 0, TrackState.TRACKED, 0)


def test_a_run_of_days_keeps_runs_not_ids():
    """The churn of a stream running for days: a new person every 5 frames, ~60 in view, 20 000 IDs in all. The
    summary counts every one (and `combine` each source's apart), and holds one run of IDs, not 20 000 (a set of
    them took ~64 bytes an ID: 32 MB a day at 30 frames/s); a person never shown leaves one hole, two runs."""
    summary = RunSummary()
    image = np.zeros((4, 4), np.uint8)
    never_shown = 777
    for frame in range(5 * 20_000 // 60):  # (each frame shows the 60 people in view: IDs frame..frame+59, of 5)
        first = 1 + frame * 60 // 5
        count_frame(summary, [_person(i) for i in range(first, first + 60) if i != never_shown], image)
    shown = first + 59
    assert len(summary.tracks) == shown - 1
    assert summary.tracks.run_count == 2
    assert summary.tracks.nbytes <= 8_192  # (one block of 2^16 IDs as a bitset at most; the set took ~1.3 MB)
    assert summary.to_json()["tracks"] == shown - 1
    other = RunSummary(name="b", tracks={1, 2, 3})
    summary.name = "a"
    assert len(combine([summary, other]).tracks) == shown - 1 + 3  # (each source numbers its own from 1)
    assert summary.tracks.runs() == [[1, never_shown - 1], [never_shown + 1, shown]]


def test_a_day_of_ids_takes_bytes_not_megabytes():
    """A day of a newcomer every 5 frames at 30 frames/s (~520 000 IDs, 60 shown a frame) is held in run containers
    once the IDs move past each block of 2^16 (without that: 8 KB a block, 64 KB here, growing with the IDs)."""
    shown = ShownIds()
    frames = 520_000 // 6  # (60 in view, 6 new a frame)
    for frame in range(frames):
        shown.update(range(1 + 6 * frame, 61 + 6 * frame))
    assert len(shown) == 6 * frames + 54 and shown.run_count == 1
    assert shown.nbytes < 10_000  # (the newest block a bitset of 8 KB, the 7 before it runs; a set: ~33 MB)


def test_a_summary_given_a_set_takes_it_and_a_bad_id_is_named():
    assert RunSummary(tracks={3, 4}).tracks == {3, 4}
    assert ShownIds([np.int64(7), 8]) == {7, 8}  # (an ID as numpy gives it: the set took it)
    with pytest.raises(TypeError, match="an ID shown must be an int or a \\(source, int\\) pair, got 'x'"):
        ShownIds(["x"])
    with pytest.raises(ValueError, match="a run of IDs from 5 to 4: its last ID is before its first"):
        ShownIds.from_runs([[5, 4]])
    with pytest.raises(ValueError, match="an ID shown must be >= 0, got -3"):
        ShownIds([-3])


def test_the_largest_ids_are_held_and_one_past_them_is_named_not_a_c_overflow():
    """The bitmaps hold IDs up to 2**64 - 1 (a gallery's or user's 64-bit IDs, numpy's uint64 too). One past that was
    an OverflowError about a C 'unsigned long' from `add`, and `in` raised it too, where the set ShownIds replaced
    answers False for any int: now `in` answers False and `add` names the ID and the limit. And a checkpoint's runs
    of IDs of 2**63 or more came out negative (int64), so that the resume refused them."""
    shown = ShownIds([2**63 - 1, np.uint64(2**64 - 1), (1, 2**63)])
    assert (2**63 - 1) in shown and (2**64 - 1) in shown and (1, 2**63) in shown and len(shown) == 3
    assert 2**64 not in shown and (1, 2**70) not in shown and -1 not in shown
    with pytest.raises(ValueError, match=f"an ID shown must be < 2\\*\\*64, got {2**64}"):
        shown.add(2**64)
    one_source = ShownIds([0, 2**63 - 1, 2**63, 2**64 - 1])
    assert ShownIds.from_runs(one_source.runs()) == one_source  # (a checkpoint's runs keep them)
