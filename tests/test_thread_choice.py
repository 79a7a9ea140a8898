"""ThreadChoice: the ReID's narrow or wide compiled copy, whichever its own recent calls measured faster."""

from __future__ import annotations

import pytest

from tracker.reid.thread_choice import FIRST_CALLS, ThreadChoice


def run(choice: ThreadChoice, batch: int, calls: int, seconds: dict[bool, float]) -> list[bool]:
    """`calls` calls of `batch` crops, each taking `seconds[wide]`; the copies chosen, in order."""
    chosen = []
    for _ in range(calls):
        wide = choice.wide(batch)
        choice.record(batch, wide, seconds[wide])
        chosen.append(wide)
    return chosen


def test_each_copy_is_measured_in_turn_before_the_faster_one_runs():
    chosen = run(ThreadChoice(10), 3, 2 * FIRST_CALLS, {False: 0.004, True: 0.003})
    assert chosen == [False, True] * FIRST_CALLS


def test_the_faster_copy_runs_and_the_slower_one_is_measured_again_after_recheck_after_calls():
    """A free second core (wide faster): wide, with one narrow call in every 11; a busy one: the other way round."""
    for wide_faster in (True, False):
        choice = ThreadChoice(10)
        run(choice, 3, 2 * FIRST_CALLS, {False: 0.004, True: 0.003 if wide_faster else 0.005})
        chosen = run(choice, 3, 44, {False: 0.004, True: 0.003 if wide_faster else 0.005})
        assert chosen.count(not wide_faster) == 4 and chosen.count(wide_faster) == 40, wide_faster


def test_a_change_of_load_turns_the_choice_within_a_few_rechecks():
    """Another process takes the second core mid-video: the wide copy's new times, measured at its rechecks, outvote
    its old ones (the median of the last 8), and the narrow copy runs from then on."""
    choice = ThreadChoice(10)
    run(choice, 2, 50, {False: 0.004, True: 0.003})
    assert run(choice, 2, 11, {False: 0.004, True: 0.003}).count(True) == 10
    loaded = run(choice, 2, 200, {False: 0.006, True: 0.009})
    assert loaded[-33:].count(True) == 3  # (the rechecks only)
    assert choice.measured(2)["wide"] > choice.measured(2)["narrow"]


def test_each_batch_size_is_measured_on_its_own():
    choice = ThreadChoice(10)
    run(choice, 2, 30, {False: 0.004, True: 0.005})  # 2 crops: narrow faster
    run(choice, 6, 30, {False: 0.009, True: 0.006})  # 6 crops: wide faster
    assert run(choice, 2, 5, {False: 0.004, True: 0.005}).count(False) >= 4
    assert run(choice, 6, 5, {False: 0.009, True: 0.006}).count(True) >= 4


def test_zero_runs_the_wide_copy_always_and_a_negative_count_is_refused():
    assert run(ThreadChoice(0), 3, 12, {False: 0.001, True: 0.01}) == [True] * 12
    with pytest.raises(ValueError, match="recheck_after must be >= 0"):
        ThreadChoice(-1)


def test_a_batch_size_and_a_split_call_are_measured_apart_and_both_read_back():
    """With `reid.requests=2` a call of 16 crops runs unsplit (key 16) and one of 5 split (key (3, 2)): `measured`
    sorted the keys to read them, and an int against a tuple raised TypeError. Each reads back its own medians."""
    choice = ThreadChoice(10)
    run(choice, 16, 2 * FIRST_CALLS, {False: 0.010, True: 0.008})
    chosen = []
    for _ in range(2 * FIRST_CALLS):
        wide = choice.wide((3, 2))
        choice.record((3, 2), wide, 0.005 if wide else 0.004)
        chosen.append(wide)
    assert chosen == [False, True] * FIRST_CALLS
    assert choice.measured(16) == {"narrow": 0.010, "wide": 0.008}
    assert choice.measured((3, 2)) == {"narrow": 0.004, "wide": 0.005}
