"""The bank's CPU similarity paths (float32: per-track products in numpy; bfloat16: padded bmm layouts) give the
device path's values: bf16 bit for bit, float32 to within the BLAS's summation order."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from tracker import bank as bank_module
from tracker.bank import (
    AppearanceBank,
    _chunk_sizes,
    _next_pow2,
    _padded_width,
    _prev_pow2,
    storage_dtype,
)

# float32 products of one pair may differ in the last bit with the number of its track's candidates (the BLAS's
# summation order): the values agree to this, bf16's (rounded to 8 bits) exactly
FLOAT32_ATOL = {"float32": 1e-6, "bfloat16": 0.0}


def _unit(rows: int, dim: int, rng: np.random.Generator) -> torch.Tensor:
    return torch.nn.functional.normalize(torch.from_numpy(rng.normal(size=(rows, dim)).astype(np.float32)), dim=1)


def _filled_bank(
    aggregation: str, fills: list[int], capacity: int = 6, dim: int = 16, topk: int = 3, dtype: str = "auto"
):
    """A bank with one slot per entry of `fills`, holding that many pushes (more than K: the FIFO wrapped)."""
    rng = np.random.default_rng(len(fills))
    bank = AppearanceBank(capacity, "cpu", initial_slots=2, aggregation=aggregation, topk=topk, dtype=dtype)
    slots = np.array([bank.allocate() for _ in fills])
    for step in range(max(fills)):
        due = slots[np.array(fills) > step]
        bank.push(due, _unit(len(due), dim, rng))
    return bank, slots, rng


@pytest.mark.parametrize("aggregation", ["max", "topk_mean", "mean"])
def test_host_aggregation_equals_the_device_one(aggregation):
    """numpy's aggregation (the CPU) and torch's (CUDA) agree on banks of every fill, ties and coarse values
    included; max and topk_mean exactly, mean to float32 rounding (the summation order differs)."""
    bank = AppearanceBank(8, "cpu", aggregation=aggregation, topk=3)
    rng = np.random.default_rng(0)
    counts = np.array([0, 1, 2, 3, 5, 8, 8, 8])
    sims = torch.from_numpy(rng.normal(size=(8, 8, 5)).astype(np.float32)).to(torch.bfloat16)
    sims[6] = sims[6].round()  # many ties
    device = bank._aggregate_device(sims, torch.as_tensor(counts)).numpy()
    host = bank._aggregate(sims, counts)
    assert host.dtype == np.float32 and host.shape == (8, 5)
    if aggregation == "mean":
        np.testing.assert_allclose(host, device, rtol=1e-6, atol=1e-7)
    else:
        np.testing.assert_array_equal(host, device)


@pytest.mark.parametrize("dtype", ["float32", "bfloat16"])
@pytest.mark.parametrize("aggregation", ["max", "topk_mean"])
def test_sparse_similarity_equals_the_dense_one(aggregation, dtype):
    """Candidate pairs computed on the CPU path have the dense path's values (bf16 exactly, in the gather layout
    (few tracks with candidates) and the view layout (most of them); float32 to its summation order); other pairs
    and empty banks are NaN."""
    fills = np.array([1, 0, 3, 14, 6, 6, 7, 2, 9, 5])  # 0: an empty bank; 14 > K: a wrapped FIFO
    bank, slots, rng = _filled_bank(aggregation, list(fills), dtype=dtype)
    emb = _unit(7, 16, rng)
    dense = bank.similarity(slots, emb)
    assert np.isfinite(dense[fills > 0]).all() and np.isnan(dense[fills == 0]).all()
    few = np.zeros(dense.shape, dtype=bool)
    few[8, ::2] = True  # one track of the last ones: its bank is gathered
    most = rng.random(dense.shape) < 0.8  # a view of the slot range
    for candidates in (few, most):
        sparse = bank.similarity(slots, emb, candidates)
        known = candidates & (fills > 0)[:, None]
        np.testing.assert_allclose(sparse[known], dense[known], rtol=0, atol=FLOAT32_ATOL[dtype])
        assert np.isnan(sparse[~known]).all()


@pytest.mark.parametrize("per_track", [1, 2, 4, 5, 9])
def test_float32_pair_products_of_any_number_of_candidates_give_the_dense_values(per_track):
    """A float32 track's candidates are compared with its bank in one matmul, however many: the dense path's
    values (to the summation order)."""
    fills = [3, 14, 6, 9]
    bank, slots, rng = _filled_bank("topk_mean", fills, dtype="float32")
    emb = _unit(9, 16, rng)
    dense = bank.similarity(slots, emb)
    candidates = np.zeros(dense.shape, dtype=bool)
    for row in range(len(slots)):
        candidates[row, rng.choice(9, size=per_track, replace=False)] = True
    sparse = bank.similarity(slots, emb, candidates)
    np.testing.assert_allclose(sparse[candidates], dense[candidates], rtol=0, atol=FLOAT32_ATOL["float32"])
    assert np.isnan(sparse[~candidates]).all()


@pytest.mark.parametrize("tracks_with_candidates", [1, 3, 9, 17, 41, 130])
def test_chunked_gather_batches_equal_the_dense_values(monkeypatch, tracks_with_candidates):
    """bf16 banks: tracks with candidates that fill no power of two are compared in chunks (`_chunk_sizes`): each
    chunk's values are the dense path's, whatever chunk a bank falls in and however many padded banks it has."""
    monkeypatch.setattr(bank_module, "_CALL_COST_ENTRIES", 1)  # chunks even for these tiny banks
    rng = np.random.default_rng(tracks_with_candidates)
    slots_total = 2 * tracks_with_candidates + 40  # few of them take part: the gather layout, not the view
    bank = AppearanceBank(5, "cpu", dtype="bfloat16", initial_slots=8, aggregation="topk_mean", topk=3)
    slots = np.array([bank.allocate() for _ in range(slots_total)])
    for _ in range(7):
        bank.push(slots, _unit(slots_total, 16, rng))
    emb = _unit(9, 16, rng)
    candidates = np.zeros((slots_total, 9), dtype=bool)
    rows = rng.choice(slots_total, tracks_with_candidates, replace=False)
    candidates[rows] = rng.random((tracks_with_candidates, 9)) < 0.3
    candidates[rows, rng.integers(0, 9, tracks_with_candidates)] = True  # every chosen track has a candidate
    sparse = bank.similarity(slots, emb, candidates)
    np.testing.assert_array_equal(sparse[candidates], bank.similarity(slots, emb)[candidates])
    assert np.isnan(sparse[~candidates]).all()


@pytest.mark.parametrize("chunk_bytes", [1, 5 * 16 * 2 * 4, 5 * 16 * 2 * 5, 1 << 30])
def test_cache_sized_chunks_equal_the_dense_values(monkeypatch, chunk_bytes):
    """bf16 banks: gathers capped at `_CHUNK_BYTES` (one bank each, four banks each, four and a rest joined up to five,
    uncapped) give the dense path's values."""
    monkeypatch.setattr(bank_module, "_CALL_COST_ENTRIES", 1)
    monkeypatch.setattr(bank_module, "_CHUNK_BYTES", chunk_bytes)
    rng = np.random.default_rng(5)
    bank = AppearanceBank(5, "cpu", dtype="bfloat16", initial_slots=8, aggregation="topk_mean", topk=3)
    slots = np.array([bank.allocate() for _ in range(120)])
    for _ in range(7):
        bank.push(slots, _unit(120, 16, rng))
    emb = _unit(9, 16, rng)
    candidates = np.zeros((120, 9), dtype=bool)
    candidates[rng.choice(120, 37, replace=False), rng.integers(0, 9, 37)] = True  # 37 banks of 120: gathered
    sparse = bank.similarity(slots, emb, candidates)
    np.testing.assert_array_equal(sparse[candidates], bank.similarity(slots, emb)[candidates])
    assert np.isnan(sparse[~candidates]).all()


@pytest.mark.parametrize("n", [1, 2, 3, 4, 5, 100, 1023, 1024, 1025])
def test_prev_pow2_is_the_largest_power_of_two_not_above(n):
    p = _prev_pow2(n)
    assert p & (p - 1) == 0 and p <= n < 2 * p


@pytest.mark.parametrize(("min_chunk", "max_chunk"), [(1, 1), (1, 2), (2, 4), (8, 16), (64, 128), (128, 256)])
def test_chunk_sizes_cover_a_batch_with_little_padding_in_few_sizes(min_chunk, max_chunk):
    """Every batch of 1..1000 banks: chunks of at most `max_chunk` that cover it, padded by less than a power of two
    up to `min_chunk` and by less than min_chunk / 4 beyond; and all batches together use few distinct sizes (each
    one a kernel the CPU matmul backend keeps: the soak's memory bound)."""
    sizes = set()
    step = max(1, min_chunk // 4)
    for n in range(1, 1001):
        chunks = _chunk_sizes(n, min_chunk, max_chunk)
        rest = n % max_chunk
        assert chunks[: n // max_chunk] == [max_chunk] * (n // max_chunk) and len(chunks) == -(-n // max_chunk)
        padding = sum(chunks) - n
        assert 0 <= padding < (_next_pow2(rest) - rest + 1 if rest <= min_chunk else step)
        assert max(chunks) <= max_chunk
        sizes.update(chunks)
    powers = {1 << b for b in range(max_chunk.bit_length()) if 1 << b <= min(min_chunk, max_chunk)}
    steps = set(range(min_chunk + step, max_chunk + 1, step))
    assert sizes <= powers | steps | {max_chunk} and len(sizes) <= len(powers) + 4 * (max_chunk // min_chunk - 1) + 1


def test_the_device_path_gives_nan_outside_the_candidates_as_the_cpu_path():
    """The dense (device) path computes every pair, but a pair that is not a candidate reads NaN on both paths: the
    core relies on it (no stage reads a similarity it did not ask for). The values agree to within the BLAS's
    summation order (torch's matmul against numpy's per-track products: last-bit differences on an AVX2 CPU)."""
    bank, slots, rng = _filled_bank("topk_mean", [0, 2, 6, 9])
    emb = _unit(5, 16, rng)
    candidates = rng.random((len(slots), 5)) < 0.5
    candidates[2, 0] = candidates[3, 1] = True
    sparse = bank.similarity(slots, emb, candidates)
    bank.sparse = False  # the device path, on the CPU
    dense = bank.similarity(slots, emb, candidates)
    np.testing.assert_array_equal(np.isnan(dense), np.isnan(sparse))
    np.testing.assert_allclose(dense, sparse, rtol=0, atol=FLOAT32_ATOL["float32"])
    assert np.isnan(dense[~candidates]).all() and np.isfinite(dense[2:][candidates[2:]]).all()


@pytest.mark.parametrize("dtype", ["float32", "bfloat16"])
def test_cpu_writes_through_numpy_equal_index_copy_across_growth(dtype):
    """`push` on the CPU writes the bank's memory through numpy (`_host`): the entries are index_copy_'s bit for bit,
    also after the slot count doubled (a new tensor: the numpy view must follow it)."""
    rng = np.random.default_rng(3)
    fast = AppearanceBank(4, "cpu", initial_slots=2, aggregation="topk_mean", dtype=dtype)
    slow = AppearanceBank(4, "cpu", initial_slots=2, aggregation="topk_mean", dtype=dtype)
    slow._host = None  # the device path's index_copy_
    slow._resize_data = lambda n, bank=slow: (AppearanceBank._resize_data(bank, n), setattr(bank, "_host", None))
    for step in range(7):  # 1, then 3 slots (one doubling), then 5 (another), the FIFO wraps
        for bank in (fast, slow):
            while bank.slots_in_use < 1 + 2 * min(step, 2):
                bank.allocate()
        emb = _unit(fast.slots_in_use, 8, rng)
        for bank in (fast, slow):
            bank.push(np.arange(bank.slots_in_use), emb)
    assert fast.num_slots == slow.num_slots == 8 and slow._host is None
    assert torch.equal(fast._data.view(torch.int16), slow._data.view(torch.int16))
    queries = _unit(3, 8, rng)
    np.testing.assert_array_equal(fast.similarity(np.arange(5), queries), slow.similarity(np.arange(5), queries))


def test_a_pickled_bank_writes_into_its_own_tensor():
    """A copied bank (pickle, deepcopy: a pickled tracker) gets its numpy view back on its own tensor: what it is
    pushed afterwards is what it compares, and the original is untouched."""
    import pickle

    bank, slots, rng = _filled_bank("max", [2, 3])
    copy = pickle.loads(pickle.dumps(bank))
    before = bank._data.clone()
    newest = _unit(2, 16, rng)
    copy.push(slots, newest)
    sims = copy.similarity(slots, newest)
    np.testing.assert_allclose(np.diag(sims), 1.0, atol=1e-2)  # each slot's newest entry is its query itself
    assert torch.equal(bank._data, before)
    assert np.shares_memory(copy._host, copy._data.view(torch.int16).numpy())


@pytest.mark.parametrize("host", [True, False], ids=["numpy-writes", "index_copy"])
def test_push_of_chosen_rows_equals_push_of_those_rows(host):
    """`push(slots, frame, rows=)` (a frame's embeddings, the rows its matched detections are) writes what pushing
    the selected rows writes, on the CPU's numpy path and the device path's index_copy_; a count that does not fit
    raises and writes nothing."""
    rng = np.random.default_rng(5)
    frame = _unit(7, 8, rng)
    rows, slots = np.array([5, 0, 3]), np.array([2, 0, 1])
    banks = [AppearanceBank(4, "cpu", initial_slots=4) for _ in range(2)]
    for bank in banks:
        if not host:
            bank._resize_data = lambda n, b=bank: (AppearanceBank._resize_data(b, n), setattr(b, "_host", None))
        for _ in range(3):
            bank.allocate()
    for _ in range(5):  # the FIFO wraps
        banks[0].push(slots, frame, rows=rows)
        banks[1].push(slots, frame[torch.as_tensor(rows)])
        frame = _unit(7, 8, rng)
    assert (banks[0]._host is None) == (not host)
    assert torch.equal(banks[0]._data.view(torch.int16), banks[1]._data.view(torch.int16))
    before = banks[0]._data.clone()
    with pytest.raises(ValueError, match="3 slots for 2 embeddings"):
        banks[0].push(slots, frame, rows=rows[:2])
    assert torch.equal(banks[0]._data, before)


def test_a_bank_too_large_to_allocate_is_one_error_naming_the_keys():
    """A bank the machine cannot hold (here 1e6 tracks x 1e5 looks x 512 dims, ~95 TiB) fails at allocation with a
    MemoryError naming its size and the keys that set it, not torch's allocator message."""
    with pytest.raises(MemoryError, match=r"lower appearance\.bank_capacity or appearance\.initial_slots"):
        AppearanceBank(capacity=100_000, initial_slots=1_000_000, dim=512)


def test_a_stored_buffer_refilled_in_place_is_read_with_its_new_values():
    """The bf16 view of the tensor `stored` returned last is kept (push and the gathers read it every frame): a caller
    that refills that tensor in place between frames gets its new values pushed and compared, exactly as a fresh
    tensor of the same values; a pickled bank keeps no such view."""
    import pickle

    rng = np.random.default_rng(11)
    reused, fresh = AppearanceBank(4, "cpu", initial_slots=4), AppearanceBank(4, "cpu", initial_slots=4)
    for bank in (reused, fresh):
        for _ in range(3):
            bank.allocate()
    slots = np.array([0, 1, 2])
    buffer = reused.stored(_unit(3, 8, rng))
    for _ in range(6):  # the FIFO wraps
        frame = _unit(3, 8, rng)
        buffer.copy_(frame.to(buffer.dtype))  # the same tensor, new values
        reused.push(slots, reused.stored(buffer))
        fresh.push(slots, fresh.stored(frame))
        queries = _unit(5, 8, rng)
        candidates = np.ones((3, 5), dtype=bool)
        np.testing.assert_array_equal(
            reused.similarity(slots, reused.stored(queries), candidates),
            fresh.similarity(slots, fresh.stored(queries), candidates),
        )
    assert torch.equal(reused._data.view(torch.int16), fresh._data.view(torch.int16))
    copy = pickle.loads(pickle.dumps(reused))
    assert copy._stored_host == (None, None)
    np.testing.assert_array_equal(copy.similarity(slots, queries), reused.similarity(slots, queries))


@pytest.mark.parametrize(("min_chunk", "max_chunk", "most"), [(8, 16, 20), (2, 4, 5), (1, 2, 3), (8, 16, 16)])
def test_a_small_rest_joins_the_last_full_chunk_within_the_cache_cap(min_chunk, max_chunk, most):
    """A rest that fits beside the last full chunk within `most` banks (the byte cap) is one call with it, never a
    chunk over `most`; every batch is covered with the same padding step, and a rest too big for it stays a chunk."""
    step = max(1, min_chunk // 4)
    for n in range(1, 300):
        chunks = _chunk_sizes(n, min_chunk, max_chunk, most)
        assert sum(chunks) >= n and max(chunks) <= max(most, max_chunk)
        full, rest = divmod(n, max_chunk)
        joined = max_chunk + -(-rest // step) * step
        if full and rest and joined <= most:
            assert chunks == [max_chunk] * (full - 1) + [joined]
        else:
            assert chunks == _chunk_sizes(n, min_chunk, max_chunk)
    if most > max_chunk:
        assert _chunk_sizes(max_chunk + 1, min_chunk, max_chunk, most) == [max_chunk + step]  # was two calls


def test_padded_width_is_a_power_of_two_or_three_quarters_of_one_from_six():
    """The candidate rows a bmm batch is padded to: the fewest of 1, 2, 4, 6, 8, 12, 16, 24, ... that hold the widest
    track (few kernel shapes, and a widest track of 5 pads to 6 rows, not 8)."""
    allowed = {1, 2, 4} | {p for k in range(3, 12) for p in (1 << k, 3 << (k - 2))}
    for n in range(1, 1500):
        width = _padded_width(n)
        assert width in allowed and width >= n
        assert not any(n <= w < width for w in allowed)  # the smallest allowed width that holds n
    assert [_padded_width(n) for n in (3, 5, 6, 7, 9, 13)] == [4, 6, 6, 8, 12, 16]


@pytest.mark.parametrize("widest", [5, 6, 7, 11, 12, 13])
def test_three_quarter_widths_give_the_dense_values(widest):
    """bf16 banks: a batch whose widest track has `widest` candidates (padded to 6, 8, 12 or 16 rows) gives the dense
    path's values for every pair, the widest track's and the narrow ones'."""
    rng = np.random.default_rng(widest)
    bank = AppearanceBank(5, "cpu", dtype="bfloat16", initial_slots=8, aggregation="topk_mean", topk=3)
    slots = np.array([bank.allocate() for _ in range(40)])
    for _ in range(7):
        bank.push(slots, _unit(40, 16, rng))
    emb = _unit(64, 16, rng)  # many detections: the padded bmm, not one matmul of all of them
    candidates = np.zeros((40, 64), dtype=bool)
    candidates[3, rng.choice(64, widest, replace=False)] = True
    candidates[[7, 20, 31], rng.integers(0, 64, 3)] = True
    sparse = bank.similarity(slots, emb, candidates)
    np.testing.assert_array_equal(sparse[candidates], bank.similarity(slots, emb)[candidates])
    assert np.isnan(sparse[~candidates]).all()


def test_padded_widths_table_holds_every_padded_width():
    """`_WIDTHS` (the width classes of `_width_groups`) maps each count to its padded width, as `_padded_width`."""
    n = np.arange(1, 5000)
    classes = bank_module._WIDTHS[bank_module._WIDTHS.searchsorted(n)]
    np.testing.assert_array_equal(classes, [_padded_width(int(k)) for k in n])


def test_width_groups_split_only_where_rows_saved_outweigh_calls(monkeypatch):
    """A churn frame's counts (many narrow tracks, one with most detections) are grouped by width class, each
    group's bound an allowed width and the last the widest's padding (48 rows for 33 of 64); counts of one
    class, or a call dearer than every padded row, stay one batch."""
    bank = AppearanceBank(100, "cpu", dtype="bfloat16", dim=64)
    widths = np.array([1] * 20 + [3] * 14 + [12] * 20 + [21] * 30 + [33])
    monkeypatch.setattr(bank_module, "_CALL_COST_PRODUCTS", 50 * 100 * 64)  # a call: 50 padded rows
    groups = bank._width_groups(widths, 33, 64)
    assert groups is not None and groups == sorted(groups) and groups[-1] == _padded_width(33)
    assert all(g in bank_module._WIDTHS for g in groups) and len(groups) <= len({_padded_width(int(w)) for w in widths})
    assert bank._width_groups(np.full(30, 5), 5, 64) is None  # one class: nothing to save
    monkeypatch.setattr(bank_module, "_CALL_COST_PRODUCTS", 10**12)
    assert bank._width_groups(widths, 33, 64) is None


@pytest.mark.parametrize("aggregation", ["max", "topk_mean", "mean"])
def test_grouped_batches_give_the_dense_values(monkeypatch, aggregation):
    """bf16 banks: tracks split into groups of similar candidate counts (`_width_groups`: one with most detections,
    many with a few, banks full and partial) give the dense path's values for every pair, aggregated together
    (topk_mean of over `_MIN_BIT_SORT_PAIRS` pairs ranked on the bf16 bits)."""
    monkeypatch.setattr(bank_module, "_CALL_COST_PRODUCTS", 1)  # groups even for these small banks
    rng = np.random.default_rng(27)
    bank = AppearanceBank(12, "cpu", dtype="bfloat16", initial_slots=8, aggregation=aggregation, topk=3)
    slots = np.array([bank.allocate() for _ in range(60)])
    for step in range(14):
        due = slots[: 60 - 3 * step]
        bank.push(due, _unit(len(due), 16, rng))  # the last slots hold fewer looks: partial banks
    emb = _unit(40, 16, rng)
    candidates = np.zeros((60, 40), dtype=bool)
    for row, width in enumerate(rng.choice([1, 2, 3, 7, 12], size=60)):
        candidates[row, rng.choice(40, width, replace=False)] = True
    candidates[5, rng.choice(40, 30, replace=False)] = True  # most detections: one matmul for its group
    calls = []
    products = bank._pair_products
    monkeypatch.setattr(bank, "_pair_products", lambda *args: calls.append(args[1]) or products(*args))
    sparse = bank.similarity(slots, emb, candidates)
    assert len(calls) > 1 and candidates.sum() >= bank_module._MIN_BIT_SORT_PAIRS
    np.testing.assert_array_equal(sparse[candidates], bank.similarity(slots, emb)[candidates])
    assert np.isnan(sparse[~candidates]).all()


def test_top_mean_of_bits_equals_the_float_path():
    """The topk_mean ranked on int16 keys of the bf16 bits gives the float32 path's values: negative values, signed
    zeros, ties, and banks holding 0 to K entries included."""
    rng = np.random.default_rng(3)
    bank = AppearanceBank(10, "cpu", dtype="bfloat16", aggregation="topk_mean", topk=3)
    values = torch.from_numpy(rng.normal(size=(300, 10)).astype(np.float32)).to(torch.bfloat16)
    values[:40] = values[:40].round()  # ties
    values[40:60, :5] = -0.0
    values[60:80] = -values[60:80].abs()  # all negative
    bits = values.view(torch.int16).numpy()
    counts = rng.integers(0, 11, size=300)
    counts[100:] = 10
    wide = (bits.astype(np.int32) << 16).view(np.float32)
    expected = bank._aggregate_host(wide.copy(), counts)
    np.testing.assert_array_equal(bank._top_mean_of_bits(bits.copy(), counts), expected)
    np.testing.assert_array_equal(bank._top_mean_of_bits(bits[100:].copy(), counts[100:]), expected[100:])


@pytest.mark.parametrize("dtype", ["float32", "bfloat16"])
@pytest.mark.parametrize("aggregation", ["max", "topk_mean", "mean"])
def test_floors_skip_only_pairs_proven_below_them(aggregation, dtype):
    """A pair of a track with a floor is left uncomputed only where the centre/radius bound proves its similarity
    below the floor: it then holds a value at least its similarity and below the floor; every other pair (and every
    pair of a track without a floor) holds its exact value. Banks of one person each, full and partial."""
    rng = np.random.default_rng(28)
    people = _unit(6, 32, rng).numpy()
    bank = AppearanceBank(8, "cpu", aggregation=aggregation, topk=3, dtype=dtype)
    slots = np.array([bank.allocate() for _ in range(6)])
    for step in range(10):
        due = slots[: 6 - step // 3]  # the last slots hold fewer looks
        looks = people[: len(due)] + rng.normal(scale=0.08, size=(len(due), 32))
        bank.push(due, torch.nn.functional.normalize(torch.from_numpy(looks).float(), dim=1))
    dets = torch.nn.functional.normalize(torch.from_numpy(people[[0, 1, 2, 3, 4, 5, 0, 3]]).float(), dim=1)
    candidates = rng.random((6, 8)) < 0.8
    exact = bank.similarity(slots, dets, candidates)
    floors = np.array([0.5, 0.5, -np.inf, 0.5, 0.9, 0.5])
    bounded = bank.similarity(slots, dets, candidates, floors)
    atol = FLOAT32_ATOL[dtype]  # (the computed pairs' values, to their summation order)
    skipped = candidates & ~np.isclose(bounded, exact, rtol=0, atol=atol)
    assert skipped.sum() >= 10  # the other people's pairs of the tracks with floors
    assert not skipped[2].any()  # no floor: every value exact
    row_floors = np.broadcast_to(floors[:, None], skipped.shape)
    assert (bounded[skipped] >= exact[skipped]).all() and (bounded[skipped] < row_floors[skipped]).all()
    np.testing.assert_allclose(bounded[candidates & ~skipped], exact[candidates & ~skipped], rtol=0, atol=atol)
    assert np.isnan(bounded[~candidates]).all()


def test_a_written_bank_gets_a_new_bound():
    """A bank's centre and radius are made again after a write: a track whose bank now holds the detection's
    person gets the exact (high) similarity, never the bound of its old looks."""
    rng = np.random.default_rng(29)
    a, b = _unit(2, 32, rng)
    bank = AppearanceBank(4, "cpu", aggregation="max")
    slot = np.array([bank.allocate()])
    bank.push(slot, a[None])
    looks = b[None].expand(bank_module._MIN_BOUNDED_PAIRS, -1)  # enough pairs asked for the bound pass to run
    asked, floors = np.ones((1, len(looks)), dtype=bool), np.array([0.5])
    assert bank.similarity(slot, looks, asked, floors)[0, 0] < 0.5  # proven below: a bound
    bank.push(slot, b[None])
    assert bank.similarity(slot, looks, asked, floors)[0, 0] == bank.similarity(slot, looks, asked)[0, 0] > 0.9


def test_the_bound_pass_runs_only_where_enough_pairs_are_asked(monkeypatch):
    """Tracks with a floor asking fewer than `_MIN_BOUNDED_PAIRS` pairs get every pair computed (the bound pass would
    cost more than it spares): their exact values, no bound taken; from that many on, the pairs proven below the floor
    hold their bound."""
    rng = np.random.default_rng(30)
    people = _unit(3, 32, rng)
    bank = AppearanceBank(4, "cpu", aggregation="max")
    slots = np.array([bank.allocate() for _ in range(3)])
    bank.push(slots, people)
    bounded = []
    upper_bounds = AppearanceBank._upper_bounds
    monkeypatch.setattr(
        AppearanceBank, "_upper_bounds", lambda self, *args: bounded.append(1) or upper_bounds(self, *args)
    )
    floors = np.array([0.9, 0.9, -np.inf])  # two lost tracks; another person's look is far below 0.9
    for width in (bank_module._MIN_BOUNDED_PAIRS // 2 - 1, bank_module._MIN_BOUNDED_PAIRS // 2):
        looks = people[[2]].expand(width, -1)  # the third person's look, asked of both lost tracks: 2 x width pairs
        asked = np.zeros((3, width), dtype=bool)
        asked[:2] = True
        exact = bank.similarity(slots, looks, asked)
        got = bank.similarity(slots, looks, asked, floors)
        if 2 * width < bank_module._MIN_BOUNDED_PAIRS:
            assert not bounded, "too few pairs asked: no bound pass"
            np.testing.assert_array_equal(got[:2], exact[:2])
        else:
            assert bounded, "enough pairs asked: the bound pass runs"
            assert (got[:2] > exact[:2]).all() and (got[:2] < 0.9).all(), "each pair holds its bound"


@pytest.mark.parametrize("dtype", ["float32", "bfloat16"])
def test_a_banks_bound_centre_and_radius_are_its_looks_exactly_without_a_torch_conversion(dtype, monkeypatch):
    """The centre and radius of a bank's similarity bound (`_upper_bounds`, made when a newly lost track is first
    asked) are the float64 mean of its filled looks and their largest distance from it, bit for bit (partial, full
    and wrapped banks); a float32 CPU bank's looks are converted by numpy from its host view, not by torch's
    `double()` (a newly lost track's bank is out of the caches: that and the radius's temporaries cost about twice
    the time)."""
    bank, slots, rng = _filled_bank("max", [2, 6, 9], capacity=6, dim=16, dtype=dtype)
    looks = [bank._data[slot, : int(bank._count[slot])].double().numpy() for slot in slots]  # (the stored values)
    converted = []
    double = torch.Tensor.double
    monkeypatch.setattr(torch.Tensor, "double", lambda self, *a, **k: converted.append(self.shape) or double(self))
    bank._upper_bounds(slots, bank.stored(_unit(3, 16, rng)))
    for slot, entries in zip(slots, looks, strict=True):
        centre = entries.mean(axis=0)
        assert np.array_equal(bank._centre[slot], centre)
        assert bank._radius[slot] == np.sqrt(((entries - centre) ** 2).sum(axis=1)).max()
    assert converted == [] if dtype == "float32" else len(converted) == len(slots)


def test_bank_storage_is_float32_on_the_cpu_and_float16_on_a_gpu_unless_set():
    """`appearance.bank_dtype`: auto stores float32 on the CPU (its per-track products) and float16 on a GPU;
    bfloat16 is taken anywhere, float16 only on a GPU; a wrong name is one error naming the key."""
    assert storage_dtype("auto", "cpu") == torch.float32 and storage_dtype("auto", "cuda") == torch.float16
    assert storage_dtype("bfloat16", "cpu") == torch.bfloat16 and storage_dtype("float32", "cuda") == torch.float32
    with pytest.raises(ValueError, match="bank_dtype=float16 needs a GPU"):
        AppearanceBank(4, "cpu", dtype="float16")
    with pytest.raises(ValueError, match="bank_dtype must be auto"):
        storage_dtype("fp8", "cpu")
    bank = AppearanceBank(4, "cpu", initial_slots=2, dim=8)
    assert bank._data.dtype == torch.float32 and bank.nbytes == 2 * 4 * 8 * 4


@pytest.mark.parametrize("aggregation", ["max", "topk_mean", "mean"])
def test_float32_and_bfloat16_banks_agree_to_bf16_rounding(aggregation):
    """The two CPU storages compare the same looks: their similarities differ by bf16's rounding of the stored
    looks and products only (relative 2**-8 of values of magnitude <= 1)."""
    fills = [1, 3, 14, 6, 9]
    wide, slots, rng = _filled_bank(aggregation, fills, dtype="float32")
    half, _, _ = _filled_bank(aggregation, fills, dtype="bfloat16")
    emb = _unit(6, 16, rng)
    candidates = rng.random((len(slots), 6)) < 0.7
    a, b = wide.similarity(slots, emb, candidates), half.similarity(slots, emb, candidates)
    assert np.array_equal(np.isnan(a), np.isnan(b)) and not np.isnan(a).all()
    np.testing.assert_allclose(a[candidates], b[candidates], atol=2e-2)


@pytest.mark.parametrize(
    ("fills", "read"),
    [([5, 17, 40, 100, 130], [16, 32, 48, 100, 100]), ([5, 17, 40, 2, 33], [16, 32, 48, 16, 48])],
)  # 130 > K: a wrapped FIFO, full; the second set holds no full bank (the products and their ranking are narrower)
@pytest.mark.parametrize("aggregation", ["topk_mean", "max", "mean"])
def test_float32_pair_products_multiply_only_a_partly_filled_banks_looks(monkeypatch, fills, read, aggregation):
    """A float32 bank holding fewer looks than K is multiplied with its filled entries only (rounded up to whole
    blocks of `_FILLED_COLUMNS_BLOCK`), not all K: on real footage most banks compared are partly filled (the street
    video: median 47 of 100). The similarities are those of the product with every entry (the code before)."""
    bank, slots, rng = _filled_bank(aggregation, fills, capacity=100, dim=512, dtype="float32")
    emb = _unit(6, 512, rng)
    candidates = np.zeros((len(slots), 6), dtype=bool)
    for row, width in enumerate([1, 3, 2, 4, 1]):
        candidates[row, rng.choice(6, size=width, replace=False)] = True
    expected = np.full(candidates.shape, np.nan, dtype=np.float32)
    for row, slot in enumerate(slots):  # each track's candidates against all K entries, as one product
        cols = candidates[row].nonzero()[0]
        products = emb.numpy()[cols] @ bank._host[slot].T
        expected[row, cols] = bank._aggregate_host(products, np.full(len(cols), min(fills[row], 100)))
    multiplied = []
    matmul = np.matmul

    def recorded(a, b, *args, **kwargs):
        multiplied.append(b.shape[1])  # the bank entries this product reads
        return matmul(a, b, *args, **kwargs)

    monkeypatch.setattr(bank_module.np, "matmul", recorded)
    sims = bank.similarity(slots, emb, candidates)
    monkeypatch.undo()
    assert multiplied == read
    # the same bits with this host's OpenBLAS kernels (SkylakeX, blocks of 4 columns); another BLAS may sum a narrower
    # product in another order: last-bit differences only, never an unset column (np.empty's leftovers) read
    np.testing.assert_allclose(sims, expected, rtol=0, atol=FLOAT32_ATOL["float32"])
