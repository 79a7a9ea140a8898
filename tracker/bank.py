"""Per-track FIFO banks of appearance embeddings, all in one preallocated tensor.

The bank is the memory bank of MoCo / cross-batch memory applied per track: each track owns a slot of K
entries, written round-robin, so the bank always holds the track's last K confident looks. All slots live
in one (S, K, D) tensor on the configured device; a slot is freed when its track is removed and reused by
the next track; S doubles only when more tracks are alive at once. Memory is O(S * K * D) whatever the
video length.

Storage (`appearance.bank_dtype`, `storage_dtype`): float32 on the CPU, where each track's candidate detections are
multiplied with its bank in place (numpy's BLAS, no gather); float16 on CUDA, one matmul of all pairs. bfloat16 on
the CPU halves the memory and takes the gathered, padded bf16 bmm path (fast where the CPU multiplies bf16 natively).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import cast

import numpy as np
import torch

from tracker.fast_numpy import all_set, any_set, count_set, filled, largest
from tracker.sweep import mask_places

__all__ = ["AppearanceBank"]

# Beyond the smallest chunk worth a call, a bank batch is padded to a multiple of that chunk / _PAD_STEPS
# (`_chunk_sizes`): under a quarter of a call's cost padded, in _PAD_STEPS * (max / min chunk - 1) sizes beyond the
# powers of two (4 for K=100, D=512: 10, 12, 14, 16). The CPU matmul backend keeps one kernel per shape: a crowd of
# ever-changing size must not grow memory with every new batch size (the 100k soak's RSS bound): not every size is let.
_PAD_STEPS = 4
# A bf16 bmm call costs about as much as this many more bank entries (K x D values) in its batch (measured on the CPU:
# ~30 us a call, ~7 us a bank of K=100, D=512): a batch is split into chunks only where each saves more than a call.
_CALL_COST_ENTRIES = 400_000
# Most bytes of banks gathered for one bmm call, so the bmm reads the copy back while it is still in the CPU's cache
# (walking T=500, ~150 banks of K=100, D=512 in bf16 a frame: 2.56 ms in 128 + 16 + ... chunks, 2.15 ms in chunks of
# 16 banks = 1.6 MB; T=200, 59 banks: unchanged within noise; alternating frames of one run).
_CHUNK_BYTES = 2 << 20
# the smallest power of two whose three quarters is also a padded candidate width (`_padded_width`): 8 -> 6 rows
_MIN_THREE_QUARTER_WIDTH = 8
# A product call (bmm or mm, with its gather and bookkeeping) costs about as much as this many more multiply-adds
# (K x D per padded candidate row): ~30 us in a frame on the CPU, where a row of K=100, D=64 costs ~0.06 us (churn:
# 8192 padded rows in ~470 us). Tracks are split into groups of similar candidate counts (`_width_groups`), each
# padded to its own width, only where the rows saved outweigh the extra calls.
_CALL_COST_PRODUCTS = 3_000_000
# every padded candidate width (`_padded_width`) up to 2**30, ascending: `_width_groups` classes counts by them
_WIDTHS = np.array(sorted({1 << e for e in range(31)} | {3 << (e - 2) for e in range(3, 31)}), dtype=np.int64)
# `_aggregate_pairs`: from this many pairs "topk_mean" ranks bf16 bits (`_top_mean_of_bits`: 1000 pairs of K=100 ~120
# against ~190 us, 100 about equal); fewer take the float32 path (20 pairs: ~14 against ~17 us)
_MIN_BIT_SORT_PAIRS = 128
# `_top_mean_of_bits`: the sort key of an empty bank entry, below every bf16 value's (`_sort_keys` of 0xFFFF, a NaN)
_EMPTY_KEY = np.int16(-(1 << 15))
# `similarity`'s floors: what a pair's bound (`_upper_bounds`: centre . d + radius |d|, in float64 from the stored
# bf16 values) adds for the rounding of the compared value: a bf16 product is its float32 dot product (error
# ~D * 2**-24) rounded to 8 bits (relative 2**-9 <= 0.002 of a value of magnitude <= ~1.01): 0.01 covers both
_BOUND_SLACK = 0.01
# `similarity`'s floors are tried (`_bound_pairs`) only where the tracks with a floor ask at least this many pairs: the
# bound pass (~20 numpy calls, the frame's looks in float64 and their norms, one (R, D) x (D, N) product) costs ~50 us
# on the street world's frame, about the bank products of 4-5 pairs of K=100, D=512, and a real ReID's looks are
# seldom proven below a floor (the street: 5 of ~1400 pairs asked in 280 frames, median 5 asked a frame); churn's
# crowds ask ~770 a frame (median), ~94 % of them proven below.
_MIN_BOUNDED_PAIRS = 16


# `_pair_products_float32` multiplies a float32 bank's filled entries rounded up to a multiple of this many (not all
# K): a partly filled bank is read only as far as its looks go. The BLAS takes a product's columns in blocks (of 4 in
# OpenBLAS 0.3.31's SkylakeX kernels: a prefix of whole blocks gives each column the bits the full product gives it, a
# prefix of 1-3 more columns may not); 16 (a 64-byte line of float32) is a whole number of blocks of up to 16.
_FILLED_COLUMNS_BLOCK = 16
_NO_STORED_HOST = (None, None)  # `AppearanceBank._stored_host` before `stored` returned any tensor


# `appearance.bank_dtype` names -> torch dtypes ("auto": `storage_dtype`)
BANK_DTYPES = {"float32": torch.float32, "bfloat16": torch.bfloat16, "float16": torch.float16}


def storage_dtype(name: str, device: torch.device | str) -> torch.dtype:
    """The banks' storage dtype for `appearance.bank_dtype` `name` on `device`.

    "auto": float16 on a GPU (one matmul of all pairs, half the memory traffic) and float32 on the CPU, where each
    contested track's products are one small BLAS call on its bank in place: 0.5-0.7x the CPU time of the gathered
    bf16 bmm for a walking frame of 50 people (K=100, D=512) on an Intel Xeon with AVX512-BF16 but no AMX (stop 37;
    docs/speed-log.md), for twice the bank memory (K=30, D=512: 60 KB a track).
    Raises:
        ValueError: an unknown name, or float16 on the CPU (its sparse path reads bf16 bits; numpy has no bf16).
    """
    device = torch.device(device)
    if name == "auto":
        return torch.float32 if device.type == "cpu" else torch.float16
    if name not in BANK_DTYPES:
        raise ValueError(f"appearance.bank_dtype must be auto, {', '.join(BANK_DTYPES)}, got {name!r}")
    if name == "float16" and device.type == "cpu":
        raise ValueError("appearance.bank_dtype=float16 needs a GPU: on the CPU use float32 or bfloat16")
    return BANK_DTYPES[name]


class AppearanceBank:
    """FIFO banks for many tracks: MoCo's queue (He et al., CVPR 2020) and cross-batch memory (XBM, Wang et al.,
    CVPR 2020) kept per track (module docstring); similarities are cosine (embeddings are L2-normalised).

    Args:
        capacity: K, entries kept per track.
        device: where the (S, K, D) tensor lives.
        initial_slots: S at creation; doubles on demand.
        aggregation: "max", "mean" or "topk_mean" over a bank's similarities.
        topk: k for "topk_mean".
        dim: D; None to take it from the first embeddings pushed.
        dtype: storage dtype (`appearance.bank_dtype`: "auto", "float32", "bfloat16" or "float16"; `storage_dtype`).

    Attributes:
        sparse: `similarity` computes only the candidate pairs it is given (True on the CPU); False computes every
            pair in one matmul (the GPU path, where one big call beats many small ones). Both give the same values;
            tests set it to run the device path on the CPU.
    Raises:
        ValueError: an unknown `aggregation`, or a `dtype` `storage_dtype` refuses (float16 on the CPU).
        MemoryError: the (S, K, D) tensor cannot be allocated (here when `dim` is given; else at the first `push`,
            or an `allocate` that doubles S), naming its size and the keys that bound it.
    """

    def __init__(
        self,
        capacity: int,
        device: torch.device | str = "cpu",
        initial_slots: int = 64,
        aggregation: str = "max",
        topk: int = 3,
        dim: int | None = None,
        dtype: str = "auto",
    ) -> None:
        if aggregation not in ("max", "mean", "topk_mean"):
            raise ValueError(f"aggregation must be max, mean or topk_mean, got {aggregation!r}")
        self.capacity = int(capacity)
        self.device = torch.device(device)
        self.dtype = storage_dtype(dtype, self.device)
        self.sparse = self.device.type == "cpu"  # only candidate pairs are computed (CPU); a device computes all
        self.aggregation = aggregation
        self.topk = int(topk)
        self._initial_slots = int(initial_slots)
        self.dim = dim
        self._data: torch.Tensor | None = None  # (S, K, D)
        self._host: np.ndarray | None = None  # `_data`'s memory in numpy (CPU only; bf16 as int16): `push`, products
        # the last tensor `stored` returned and its `_host_view` (a frame's embeddings: `push` and `_rows_of` read it)
        self._stored_host: tuple[torch.Tensor | None, np.ndarray | None] = _NO_STORED_HOST
        self._write = np.zeros(0, dtype=np.int64)  # (S,) next position to write
        self._count = np.zeros(0, dtype=np.int64)  # (S,) entries filled, <= K
        self._in_use = np.zeros(0, dtype=bool)  # (S,)
        self._free: list[int] = []
        self._chunk_plans: dict[int, list[int]] = {}  # `_chunks`: gathered banks -> bmm batch sizes
        # `_upper_bounds`: each slot's (D,) centre (the mean of its filled entries) and radius (the farthest entry's
        # distance from it), valid until the slot is written (a lost track's bank is not: computed once)
        self._centre = np.zeros((0, 0))  # (S, D) float64, (0, 0) until the first bound is asked
        self._radius = np.zeros(0)  # (S,) float64
        self._bounded = np.zeros(0, dtype=bool)  # (S,) centre and radius valid
        self._grow(self._initial_slots)

    # ----------------------------------------------------------------------------------------- slots
    @property
    def num_slots(self) -> int:
        """S: slots allocated (used or free)."""
        return len(self._in_use)

    @property
    def slots_in_use(self) -> int:
        """Slots holding a live track's bank (the rest are free for reuse)."""
        return int(self._in_use.sum())

    @property
    def nbytes(self) -> int:
        """Bytes held by the embedding tensor."""
        return 0 if self._data is None else self._data.numel() * self._data.element_size()

    def allocate(self) -> int:
        """A free slot, emptied; doubles the slot count when none is free (MemoryError if that cannot be allocated)."""
        if not self._free:
            self._grow(2 * self.num_slots)
        slot = self._free.pop()
        self._in_use[slot] = True
        self._write[slot] = 0
        self._count[slot] = 0
        self._bounded[slot] = False
        return slot

    def release(self, slot: int) -> None:
        """Give a slot back (its track was removed); its entries are forgotten.

        Raises:
            ValueError: `slot` is not in use (given back twice, or never taken).
        """
        if not self._in_use[slot]:
            raise ValueError(f"slot {slot} is not in use")
        self._in_use[slot] = False
        self._count[slot] = 0
        self._bounded[slot] = False
        self._free.append(slot)

    def count(self, slots: np.ndarray | Sequence[int]) -> np.ndarray:
        """(T,) entries held by each slot (`slots`: an int array, or a list of slot numbers)."""
        return self._count[np.asarray(slots, dtype=np.int64)]

    def thin(self, counts: np.ndarray) -> np.ndarray:
        """(T,) bool: banks of (T,) `counts` (`count`) holding at least one look and fewer than `topk`, or than
        `capacity` where that is smaller: a full bank of 2 (capacity 2 under topk 3) holds every look it can, and
        "topk_mean" averages those, so it is not thin (it counted as thin for ever)."""
        return (counts > 0) & (counts < min(self.topk, self.capacity))

    def _grow(self, num_slots: int) -> None:
        old = self.num_slots
        extra = num_slots - old
        self._write = np.concatenate([self._write, np.zeros(extra, dtype=np.int64)])
        self._count = np.concatenate([self._count, np.zeros(extra, dtype=np.int64)])
        self._in_use = np.concatenate([self._in_use, np.zeros(extra, dtype=bool)])
        self._bounded = np.concatenate([self._bounded, np.zeros(extra, dtype=bool)])
        self._radius = np.concatenate([self._radius, np.zeros(extra)])
        if len(self._centre):
            self._centre = np.concatenate([self._centre, np.zeros((extra, self._centre.shape[1]))])
        self._free.extend(range(num_slots - 1, old - 1, -1))  # pop() hands out the lowest first
        if self.dim is not None:
            self._resize_data(num_slots)

    def _resize_data(self, num_slots: int) -> None:
        assert self.dim is not None
        shape = (num_slots, self.capacity, self.dim)
        try:
            new = torch.zeros(shape, dtype=self.dtype, device=self.device)
        except (RuntimeError, MemoryError) as exc:  # torch reports a failed allocation as RuntimeError on the CPU
            gib = num_slots * self.capacity * self.dim * torch.finfo(self.dtype).bits / 8 / 2**30
            raise MemoryError(
                f"the appearance bank cannot allocate {num_slots} tracks x {self.capacity} looks x {self.dim} dims "
                f"({gib:.1f} GiB on {self.device}): lower appearance.bank_capacity or appearance.initial_slots"
            ) from exc
        if self._data is not None:
            new[: len(self._data)] = self._data
        self._data = new
        self._host = _host_view(new)

    def __getstate__(self) -> dict:
        state = self.__dict__.copy()
        state["_host"] = None  # a view of `_data`'s memory: a copy would no longer see the bank's writes
        state["_stored_host"] = _NO_STORED_HOST  # a frame's embeddings: not part of the state
        return state

    def __setstate__(self, state: dict) -> None:
        self.__dict__.update(state)
        self._host = None if self._data is None else _host_view(self._data)
        self._stored_host = _NO_STORED_HOST  # (absent from a checkpoint of main a9675c0)
        if "_bounded" not in state:  # (a checkpoint from before the bounds: none made yet)
            self._centre, self._radius = np.zeros((0, 0)), np.zeros(len(self._in_use))
            self._bounded = np.zeros(len(self._in_use), dtype=bool)

    # ----------------------------------------------------------------------------------------- write/read
    def push(self, slots: np.ndarray, embeddings: torch.Tensor, rows: np.ndarray | None = None) -> None:
        """Append one L2-normalised embedding to each of M distinct slots; the oldest drops out.

        Args:
            slots: (M,) distinct slots.
            embeddings: (M, D), or with `rows` any (N, D) of which rows (M,) are pushed (a frame's embeddings: no
                copy of the pushed rows is made first).
        Raises:
            ValueError: embeddings of another D than the bank holds (the first push sets D), or not one per slot.
            MemoryError: the first push (D now known) cannot allocate the (S, K, D) tensor.
        """
        slots = np.asarray(slots, dtype=np.int64)
        if len(slots) == 0:
            return
        if self.dim is None:
            self.dim = int(embeddings.shape[1])
            self._resize_data(self.num_slots)
        if embeddings.shape[1] != self.dim:
            raise ValueError(f"embeddings have D = {embeddings.shape[1]}, the bank holds D = {self.dim}")
        if len(slots) != (len(embeddings) if rows is None else len(rows)):
            raise ValueError(f"{len(slots)} slots for {len(embeddings) if rows is None else len(rows)} embeddings")
        assert self._data is not None
        pos = self._write[slots]
        values = self.stored(embeddings)
        host = self._host_of(values) if self._host is not None else None
        if host is not None:  # numpy's row assignment: a quarter of the cost of index_copy_ for a frame's rows
            # (`take`: the rows as fancy indexing gives them, for less)
            bank = cast(np.ndarray, self._host)  # (`host` is only given where the bank has its numpy view)
            bank.reshape(-1, self.dim)[slots * self.capacity + pos] = host if rows is None else host.take(rows, 0)
        else:
            if rows is not None:
                values = torch.index_select(values, 0, torch.as_tensor(rows, device=values.device))
            flat = self._data.view(-1, self.dim)  # (S * K, D)
            flat.index_copy_(0, torch.as_tensor(slots * self.capacity + pos, device=self.device), values)
        self._write[slots] = (pos + 1) % self.capacity
        self._count[slots] = np.minimum(self._count[slots] + 1, self.capacity)
        self._bounded[slots] = False  # (their centres and radii are made anew when next asked)

    def stored(self, embeddings: torch.Tensor, host: np.ndarray | None = None) -> torch.Tensor:
        """(N, D) embeddings in the bank's storage dtype and device: what `push` writes and `similarity` compares
        (both take them as they are; convert a frame's embeddings once when both read them). `host`: optional (N, D)
        float32 numpy array on the memory of `embeddings`, a CPU float32 tensor (`Detections.host_embeddings`): a CPU
        float32 bank takes the tensor as it is and reads it through `host` (no `to` dispatch, no numpy view made:
        ~15 us of a frame whose torch code is out of the caches)."""
        if embeddings is self._stored_host[0]:  # what it returned last (already stored: no `to` call, no dispatch)
            return embeddings
        if host is not None and self.dtype is torch.float32 and self.device.type == "cpu":
            self._stored_host = (embeddings, host)
            return embeddings
        stored = embeddings.to(device=self.device, dtype=self.dtype)
        if stored is not self._stored_host[0]:
            self._stored_host = (stored, _host_view(stored))
        return stored

    def _host_of(self, values: torch.Tensor) -> np.ndarray | None:
        """`_host_view(values)`, remembered for the tensor `stored` returned last (a view shares its tensor's memory:
        it sees every write to it, so only the tensor's identity is checked)."""
        tensor, host = self._stored_host
        return host if values is tensor else _host_view(values)

    def looks(self, slot: int) -> np.ndarray:
        """(count, D) float32 numpy entries of one slot, oldest first: `entries` on the host, read straight from a
        float32 CPU bank (no torch indexing: a gallery publishing live tracks reads a few a frame)."""
        if self._host is None or self._host.dtype != np.float32:
            return self.entries(slot).cpu().numpy()
        n = int(self._count[slot])
        return self._host[slot].take((np.arange(n) + (self._write[slot] - n)) % self.capacity, axis=0)

    def entries(self, slot: int) -> torch.Tensor:
        """(count, D) float32 entries of one slot, oldest first, on the bank's device (an empty one on the CPU)."""
        n = int(self._count[slot])
        if n == 0 or self._data is None:
            return torch.zeros((0, self.dim or 0))
        order = (np.arange(n) + (self._write[slot] - n)) % self.capacity
        return self._data[slot, torch.as_tensor(order, device=self.device)].float()

    def similarity(
        self,
        slots: np.ndarray,
        embeddings: torch.Tensor,
        candidates: np.ndarray | None = None,
        floors: np.ndarray | None = None,
    ) -> np.ndarray:
        """Aggregated cosine similarity of N embeddings against T slots' banks.

        Args:
            slots: (T,) slot of each track.
            embeddings: (N, D) L2-normalised, on any device.
            candidates: optional (T, N) bool: only these pairs are asked for (on the CPU only they are computed).
            floors: optional (T,) similarity below which the caller needs no track's exact value (-inf: every
                value needed); with `candidates`, on the CPU. Where the tracks with a floor ask at least
                `_MIN_BOUNDED_PAIRS` pairs, a candidate pair whose proven upper bound (`_upper_bounds`) is below its
                track's floor is not computed: it holds that bound instead, a value at least its similarity and
                below the floor (fewer asked: every pair computed, the bound pass would cost more than it spares).
        Returns:
            (T, N) float64 host array; NaN where a bank is empty or a pair is not a candidate.
        Raises:
            ValueError: embeddings of another D than the bank holds.
        """
        slots = np.asarray(slots, dtype=np.int64)
        t, n = len(slots), embeddings.shape[0]  # (`shape`: no Python-level Tensor.__len__)
        out = filled((t, n), np.nan)
        if t == 0 or n == 0 or self._data is None or self.dim is None:
            return out
        if embeddings.shape[1] != self.dim:
            raise ValueError(f"embeddings have D = {embeddings.shape[1]}, the bank holds D = {self.dim}")
        if candidates is not None and self.sparse and not any_set(candidates):  # nothing asked (a small crowd's frame)
            return out
        counts = self._count[slots]
        emb = self.stored(embeddings)
        if candidates is not None and self.sparse:
            if floors is not None and any_set(floors > -np.inf):
                candidates = self._bound_pairs(slots, counts, emb, candidates, floors, out)
            self._similarity_sparse(slots, counts, emb, candidates, out)
        else:
            self._similarity_dense(slots, counts, emb, out)
            if candidates is not None:
                out[~candidates] = np.nan
        if not all_set(counts):  # (most frames: every bank holds a look)
            out[counts == 0] = np.nan
        return out

    def _bound_pairs(
        self,
        slots: np.ndarray,
        counts: np.ndarray,
        emb: torch.Tensor,
        candidates: np.ndarray,
        floors: np.ndarray,
        out: np.ndarray,
    ) -> np.ndarray:
        """The (T, N) `candidates` still to compute: those of the tracks with a finite (T,) floor whose upper bound
        (`_upper_bounds`, of the (N, D) stored `emb`) is below it are written into `out` as that bound and dropped
        (a copy; `candidates` itself when none is, or when those tracks ask fewer than `_MIN_BOUNDED_PAIRS`)."""
        rows = ((floors > -np.inf) & (counts > 0)).nonzero()[0]
        if len(rows) == 0:
            return candidates
        asked = candidates.take(rows, axis=0)  # (R, N)
        if count_set(asked) < _MIN_BOUNDED_PAIRS:  # (none, or too few for the bound pass to pay)
            return candidates
        bounds = self._upper_bounds(slots.take(rows), emb)
        below = asked & (bounds < floors.take(rows)[:, None])
        if not any_set(below):
            return candidates
        out[rows] = np.where(below, bounds, out.take(rows, axis=0))
        left = candidates.copy()
        left[rows] = asked & ~below
        return left

    def _upper_bounds(self, row_slots: np.ndarray, emb: torch.Tensor) -> np.ndarray:
        """(R, N) float64 upper bounds of the similarity of the banks of (R,) slots `row_slots` against the (N, D)
        stored embeddings `emb`, whatever the aggregation (each is at most the largest product): an entry b of a
        bank with centre c and radius r (|b - c| <= r) gives b . d <= c . d + r |d| (Cauchy-Schwarz), plus
        `_BOUND_SLACK` for the product's rounding. A slot's centre and radius are made from its stored entries when
        first asked after a write (`_bounded`)."""
        assert self._data is not None and self.dim is not None
        if self._centre.shape != (self.num_slots, self.dim):  # (the first bound asked, or the slots grew)
            self._centre = np.zeros((self.num_slots, self.dim))
            self._bounded[:] = False
        for slot in row_slots[~self._bounded.take(row_slots)].tolist():  # (a bank written since: a newly lost track)
            entries = self._filled_float64(slot)  # (count, D) a copy: filled first
            centre = entries.mean(axis=0)
            self._centre[slot] = centre
            entries -= centre  # in place, then squared in place: `(entries - centre) ** 2`'s values, no temporaries
            np.multiply(entries, entries, out=entries)
            self._radius[slot] = np.sqrt(entries.sum(axis=1)).max()
            self._bounded[slot] = True
        host = self._host_of(emb)
        if host is not None and host.dtype == np.int16:  # bf16 bits: the top half of a float32
            host = (host.astype(np.int32) << 16).view(np.float32)
        # (N, D) the stored values, exactly (float32 -> float64: one numpy conversion, no torch dispatch)
        dets = emb.double().numpy() if host is None else host.astype(np.float64)
        norms = np.sqrt(np.einsum("nd,nd->n", dets, dets))
        centred = self._centre.take(row_slots, axis=0) @ dets.T  # (R, N)
        centred += self._radius.take(row_slots)[:, None] * norms[None, :]
        centred += _BOUND_SLACK
        return centred

    def _filled_float64(self, slot: int) -> np.ndarray:
        """(count, D) float64 copy of one slot's filled entries (the first `count`), their stored values exactly: a
        float32 CPU bank's converted by numpy from its host view (no torch conversion: a newly lost track's bank is
        out of the caches, and torch's `double()` plus the temporaries of the radius cost about twice the time)."""
        count = int(self._count[slot])
        if self._host is not None and self._host.dtype == np.float32:
            return self._host[slot, :count].astype(np.float64)
        assert self._data is not None
        return self._data[slot, :count].double().numpy()

    def _similarity_dense(self, slots: np.ndarray, counts: np.ndarray, emb: torch.Tensor, out: np.ndarray) -> None:
        """One matmul of all T banks against all N embeddings (the GPU path)."""
        assert self._data is not None
        bank = torch.index_select(self._data, 0, torch.as_tensor(slots, device=self.device))  # (T, K, D)
        sims = torch.matmul(bank, emb.T)  # (T, K, N)
        out[:] = self._aggregate(sims, counts)

    def _similarity_sparse(
        self, slots: np.ndarray, counts: np.ndarray, emb: torch.Tensor, candidates: np.ndarray, out: np.ndarray
    ) -> None:
        """Only candidate pairs (the CPU path): each track with candidates gets its bank compared with its own
        candidate detections, and only the real pairs are aggregated.

        float32 banks: per track, its candidates (W, D) x its bank in place (D, K) (`_pair_products_float32`).
        bf16 banks: one bmm (B, W, D) x (B, D, K), where B covers the R tracks with candidates and W is the most
        candidates any of them has (when W reaches N, one matmul of all N detections against the B banks instead);
        when most slots take part, the banks are a view of the slot range (no gather copy). The (P, K) similarities
        of the P candidate pairs are then aggregated in numpy (`_aggregate_host`). Every bf16 layout gives the
        same values; float32 ones equal the dense path's to within the BLAS's summation order.
        """
        assert self._data is not None
        cand = candidates if all_set(counts) else candidates & (counts > 0)[:, None]  # (most frames: no bank empty)
        pair_rows, pair_cols, places = mask_places(cand)  # (P,) row-major: a row's candidates are consecutive
        if len(pair_rows) == 0:
            return
        if self.dtype == torch.float32:
            pair_counts = counts[pair_rows]
            pair_sims = self._pair_products_float32(slots, pair_rows, pair_cols, emb, self._filled_columns(pair_counts))
            out.put(places, self._aggregate_host(pair_sims, pair_counts))  # (`out`: (T, N), the mask's shape)
            return
        per_row = np.bincount(pair_rows, minlength=len(slots))  # candidates per track, from the pairs (no grid pass)
        rows = per_row.nonzero()[0]
        starts = per_row.cumsum() - per_row
        pair_pos = np.arange(len(pair_rows)) - starts[pair_rows]  # (P,) place among its row's candidates
        widest, all_dets = int(largest(per_row)), _next_pow2(emb.shape[0])
        # (most frames: one batch, where not even a group per track could save a product call's cost in padded rows)
        dim = cast(int, self.dim)  # (set with the bank's storage, by the first push)
        spare = (len(rows) * min(_padded_width(widest), all_dets) - len(pair_rows)) * self.capacity * dim
        groups = None if spare <= _CALL_COST_PRODUCTS else self._width_groups(per_row[rows], widest, all_dets)
        if groups is None:
            pair_sims = self._pair_products(slots, rows, per_row, pair_rows, pair_cols, pair_pos, emb, widest)
            out[pair_rows, pair_cols] = self._aggregate_pairs(pair_sims, counts[pair_rows])
            return
        low, parts, group_rows, group_cols = 0, [], [], []
        for high in groups:  # each group's pairs are its tracks' (whole rows), aggregated together after
            in_group = (per_row > low) & (per_row <= high)
            pick = in_group[pair_rows]
            group_rows.append(pair_rows[pick])
            group_cols.append(pair_cols[pick])
            group = rows[in_group[rows]]
            widest = int(largest(per_row[group]))
            parts.append(
                self._pair_products(slots, group, per_row, group_rows[-1], group_cols[-1], pair_pos[pick], emb, widest)
            )
            low = high
        pair_rows, pair_cols = np.concatenate(group_rows), np.concatenate(group_cols)
        out[pair_rows, pair_cols] = self._aggregate_pairs(np.concatenate(parts), counts[pair_rows])

    def _filled_columns(self, pair_counts: np.ndarray) -> int:
        """How many of the K entries the float32 pair products of banks holding (P,) `pair_counts` looks compute:
        the most filled, rounded up to `_FILLED_COLUMNS_BLOCK`, at most K. "mean" takes all K: its numpy sum runs in
        an order that depends on the row's length, so a narrower row of the same looks could sum to other bits (the
        top k and the maximum do not depend on the empty entries' count)."""
        if self.aggregation == "mean":
            return self.capacity
        most = max(int(largest(pair_counts)), min(self.topk, self.capacity))
        return min(self.capacity, -(-most // _FILLED_COLUMNS_BLOCK) * _FILLED_COLUMNS_BLOCK)

    def _pair_products_float32(
        self, slots: np.ndarray, pair_rows: np.ndarray, pair_cols: np.ndarray, emb: torch.Tensor, width: int
    ) -> np.ndarray:
        """(P, width) float32 products of the P pairs (`pair_rows`, `pair_cols`: track and detection index, row-major:
        a track's pairs are consecutive) of float32 banks of the (T,) `slots` with the (N, D) float32 `emb`, each bank
        read in place (no gather, no padding): one matmul of a track's candidates' rows with its bank (one pass over
        the bank, whatever the number of candidates). A product is its float32 dot product; the BLAS may sum it in
        another order for another number of candidates (last-bit differences, far below any bound's `_BOUND_SLACK`).
        A bank is read up to its count rounded up to `_FILLED_COLUMNS_BLOCK` (`width`: at least the fullest one's):
        a pair's columns past that are not set, and `_aggregate_host` masks every column past a bank's count.
        One matmul a track even for 2-4 candidates: it beats a matrix-vector product per candidate there too
        (docs/speed-log.md, stop 55)."""
        assert self._host is not None
        # (P, D) each pair's detection, in pair order: one copy (a float32 CPU bank: its numpy view is there)
        rows = cast(np.ndarray, self._host_of(emb)).take(pair_cols, axis=0)
        sims = np.empty((len(pair_rows), width), dtype=np.float32)
        cuts = ((pair_rows[1:] != pair_rows[:-1]).nonzero()[0] + 1).tolist()
        starts, ends = [0, *cuts], [*cuts, len(pair_rows)]
        banks, track_slots = self._host, slots.take(pair_rows.take(starts))
        # each bank's filled entries (the first `count`) in whole blocks; the columns past them are left as they are
        used = np.minimum(-(-self._count.take(track_slots) // _FILLED_COLUMNS_BLOCK) * _FILLED_COLUMNS_BLOCK, width)
        for start, end, slot, columns in zip(starts, ends, track_slots.tolist(), used.tolist(), strict=True):
            np.matmul(rows[start:end], banks[slot, :columns].T, out=sims[start:end, :columns])
        return sims

    def _pair_products(
        self,
        slots: np.ndarray,
        rows: np.ndarray,
        per_row: np.ndarray,
        pair_rows: np.ndarray,
        pair_cols: np.ndarray,
        pair_pos: np.ndarray,
        emb: torch.Tensor,
        widest: int,
    ) -> np.ndarray:
        """(P, K) int16, the bf16 bits of the products of the P pairs (`pair_rows`, `pair_cols`: track and detection
        index, row-major; `pair_pos`: place among its track's candidates) of the tracks `rows` (each with
        `per_row[row]` > 0 of them, all of its pairs given; `widest`: the most), (T,) `slots`, (N, D) `emb` in the
        storage dtype: one padded bmm batch, or one matmul of every detection when the widest track has most of them
        (`_similarity_sparse`)."""
        assert self._data is not None
        row_slots = slots[rows]
        # Batch sizes are powers of two (or sums of a few): the CPU matmul backend caches one kernel per shape, so a
        # crowd of ever-changing size would otherwise grow memory with every new (B, W).
        span = min(_next_pow2(int(largest(row_slots)) + 1), self.num_slots)
        use_view = 2 * len(rows) >= span
        chunks = [span] if use_view else self._chunks(len(rows))
        batch, width = sum(chunks), _padded_width(widest)
        # Where each track's candidates go in the padded (B, W, D) batch: B = span (view) or R (gather).
        batch_of_row = np.zeros(len(slots), dtype=np.int64)
        batch_of_row[rows] = row_slots if use_view else np.arange(len(rows))
        gather = np.zeros(batch, dtype=np.int64)  # bank slot of each batch entry (padding: slot 0)
        gather[batch_of_row[rows]] = row_slots
        all_dets = _next_pow2(emb.shape[0])
        if _next_pow2(widest) >= all_dets:
            # Some track has most detections as candidates: padding every track to them costs as much as comparing
            # every track with every detection, which is one matmul (N, D) x (D, B * K) (the same values).
            banks = self._data[:span] if use_view else self._rows_of(self._data, gather)
            dim = cast(int, self.dim)  # (set with the bank's storage, by the first push)
            padded = torch.cat([emb, emb.new_zeros((all_dets - len(emb), dim))])
            sims = torch.mm(padded, banks.reshape(-1, dim).T).view(all_dets * batch, -1)  # (N * B, K)
            return _bits_of_rows(sims, pair_cols * batch + batch_of_row[pair_rows])
        pair_flat = batch_of_row[pair_rows] * width + pair_pos  # (P,) row of each pair in the (B * W) batch
        # Padding repeats detection 0: each product depends on its own two rows only, and padding is never read.
        det_of = np.zeros(batch * width, dtype=np.int64)
        det_of[pair_flat] = pair_cols
        padded = self._rows_of(emb, det_of)
        sims = self._batched_bank_products(padded, gather, chunks, use_view)  # (B * W, K)
        return _bits_of_rows(sims, pair_flat)

    def _width_groups(self, widths: np.ndarray, widest: int, all_dets: int) -> list[int] | None:
        """Groups of tracks by their (R,) candidate counts `widths` (`widest`: the most), as ascending upper bounds of
        each group's counts (each an allowed padded width, `_padded_width`), or None for one group. One batch pads
        every track to the widest (a churn frame: a lost track with 33 of 60 detections in its grown gate pads 85
        others of 1-22 to 64 rows); groups of similar counts pad each to its own, at a call each
        (`_CALL_COST_PRODUCTS`): the grouping with the fewest padded rows plus calls, over the groups of
        whole width classes (`all_dets`: the widest padding, the next power of two of N, where one matmul of all
        detections takes over)."""
        assert self.dim is not None
        call = _CALL_COST_PRODUCTS / (self.capacity * self.dim)  # a call's cost in padded rows
        widest = min(_padded_width(widest), all_dets)
        members = np.bincount(np.minimum(_WIDTHS.searchsorted(widths), _WIDTHS.searchsorted(all_dets)))
        used = members.nonzero()[0]
        classes, ends = _WIDTHS[used].tolist(), members[used].cumsum().tolist()  # ascending widths, tracks up to each
        padded_rows = sum(c * (e - s) for c, e, s in zip(classes, ends, [0, *ends][:-1], strict=True))
        if len(widths) * widest - padded_rows <= call:
            return None  # even a group per width class cannot save a call's cost
        best, cut = [0.0], [0]  # best[j]: cheapest cost of classes [0, j); cut[j]: where its last group starts
        for j in range(1, len(classes) + 1):
            width, end = classes[j - 1], ends[j - 1]
            costs = [best[i] + (end - (ends[i - 1] if i else 0)) * width + call for i in range(j)]
            start = min(range(j), key=costs.__getitem__)
            best.append(costs[start])
            cut.append(start)
        bounds, j = [], len(classes)
        while j > 0:
            bounds.append(classes[j - 1])
            j = cut[j]
        return None if len(bounds) == 1 else bounds[::-1]

    def _chunks(self, banks: int) -> list[int]:
        """bmm batch sizes for `banks` gathered banks (`_chunk_sizes`), remembered per count: a frame asks for a
        handful of counts, and the answer depends on the count alone."""
        chunks = self._chunk_plans.get(banks)
        if chunks is None:
            assert self._data is not None and self.dim is not None
            min_chunk = _next_pow2(-(-_CALL_COST_ENTRIES // (self.capacity * self.dim)))
            most = max(1, _CHUNK_BYTES // (self.capacity * self.dim * self._data.element_size()))
            chunks = self._chunk_plans[banks] = _chunk_sizes(banks, min_chunk, _prev_pow2(most), most)
        return chunks

    def _batched_bank_products(
        self, padded: torch.Tensor, gather: np.ndarray, chunks: list[int], use_view: bool
    ) -> torch.Tensor:
        """(B * W, D) padded candidate embeddings x the banks of the (B,) slots `gather` -> (B * W, K) storage dtype.

        One bmm (b, W, D) x (b, D, K) per chunk b of `chunks` (summing to B), each on its own gathered banks; with
        `use_view`, the B banks are the first B slots themselves (no copy, one chunk). Each bank's products are the
        same whatever chunk it is in.
        """
        assert self._data is not None
        width = padded.shape[0] // len(gather)
        parts, start = [], 0
        for size in chunks:
            if use_view:
                banks = self._data[start : start + size]
            else:
                banks = self._rows_of(self._data, gather[start : start + size])
            rows = padded if len(chunks) == 1 else padded[start * width : (start + size) * width]  # (no slice of one)
            rows = rows.view(size, width, -1)
            parts.append(torch.bmm(rows, banks.transpose(1, 2)).view(size * width, -1))
            start += size
        return parts[0] if len(parts) == 1 else torch.cat(parts)

    def _rows_of(self, values: torch.Tensor, rows: np.ndarray) -> torch.Tensor:
        """values[rows] along dim 0 (a copy) of a tensor in the storage dtype: the banks `_data` or a frame's (N, D)
        embeddings. On the CPU numpy's take on the same bits (`_host_view`), 15-20% cheaper than index_select for a
        gather of banks; elsewhere index_select."""
        host = self._host if values is self._data else self._host_of(values)
        if host is None:
            return torch.index_select(values, 0, torch.as_tensor(rows, device=values.device))
        return torch.from_numpy(host.take(rows, axis=0)).view(values.dtype)

    def _aggregate(self, sims: torch.Tensor, counts: np.ndarray) -> np.ndarray:
        """(T, K, N) similarities (storage dtype) with (T,) filled counts -> (T, N) float32 host array.

        On the CPU the aggregation runs in numpy (`_aggregate_host`), elsewhere in torch on the device.
        """
        if sims.device.type == "cpu":
            t, k, n = sims.shape
            flat = _host_float32(sims.transpose(1, 2).reshape(t * n, k))
            return self._aggregate_host(flat, np.repeat(counts, n)).reshape(t, n)
        return self._aggregate_device(sims, torch.as_tensor(counts, device=sims.device)).cpu().numpy()

    def _aggregate_pairs(self, bits: np.ndarray, counts: np.ndarray) -> np.ndarray:
        """(M, K) bf16 similarities of M pairs as their int16 bits (a copy, overwritten) with each pair's (M,) filled
        count -> (M,) float32, as `_aggregate_host` gives them. "topk_mean" of many pairs is ranked on the bits
        (`_top_mean_of_bits`)."""
        if self.aggregation == "topk_mean" and len(bits) >= _MIN_BIT_SORT_PAIRS:
            return self._top_mean_of_bits(bits, counts)
        wide = bits.astype(np.int32)
        wide <<= 16  # numpy has no bfloat16: its 16 bits are the top half of a float32
        return self._aggregate_host(wide.view(np.float32), counts)

    def _top_mean_of_bits(self, bits: np.ndarray, counts: np.ndarray) -> np.ndarray:
        """The "topk_mean" of (M, K) bf16 similarities given as their int16 bits (overwritten) with each pair's (M,)
        filled count -> (M,) float32: the same values as `_aggregate_host` (the top k summed largest first in float32),
        with half the bytes to sort and no (M, K) float32 copy. Each bf16 is made an int16 key that sorts as the
        value does (`_sort_keys`); the empty entries [count:] take the lowest key, which no similarity has."""
        k = bits.shape[1]
        keys = _sort_keys(bits)
        any_partial = any_set(counts < k)
        if any_partial:  # (the pairs of banks not yet full: a few new tracks')
            partial = (counts < k).nonzero()[0]
            rows = keys[partial]
            rows[np.arange(k) >= counts[partial, None]] = _EMPTY_KEY
            keys[partial] = rows
        keys.sort(axis=1)
        top = min(self.topk, k)
        best = _sort_keys(keys[:, k - top :][:, ::-1].copy())  # (M, top) bits, largest first; empty: a NaN
        best = (best.astype(np.int32) << 16).view(np.float32)
        return _mean_of_best(best, counts, any_partial)

    def _aggregate_host(self, sims: np.ndarray, counts: np.ndarray) -> np.ndarray:
        """(M, K) float32 similarities of M pairs (overwritten: masked and sorted in place) with each pair's (M,) filled
        count -> (M,) float32.

        Entries [count:] of a bank are empty and ignored. Gives the same values as `_aggregate_device`: the top k
        are summed largest first, as torch.topk orders them ("mean" sums in numpy's order: last-bit differences).
        """
        k = sims.shape[1]
        any_partial = any_set(counts < k)
        if any_partial:  # one masked write over all pairs (full banks mask nothing): cheaper than picking the rows
            sims[np.arange(k) >= counts[:, None]] = 0.0 if self.aggregation == "mean" else -np.inf
        if self.aggregation == "mean":
            return sims.sum(axis=1) / np.maximum(counts, 1).astype(np.float32)
        if self.aggregation == "max":
            return sims.max(axis=1)
        top = min(self.topk, k)
        sims.sort(axis=1)  # in place: `np.sort`'s sort without its (M, K) copy and wrapper calls
        best = sims[:, k - top :][:, ::-1]  # (M, top), largest first, -inf past count
        return _mean_of_best(best, counts, any_partial)

    def _aggregate_device(self, sims: torch.Tensor, counts: torch.Tensor) -> torch.Tensor:
        """(T, K, N) similarities (storage dtype) with (T,) filled counts -> (T, N) float32, in torch on the device.

        Entries [count:] of a bank are empty and ignored.
        """
        k = sims.shape[1]
        filled = (torch.arange(k, device=sims.device)[None, :] < counts[:, None])[:, :, None]  # (T, K, 1)
        if self.aggregation == "mean":
            total = torch.where(filled, sims.float(), 0.0).sum(dim=1)
            return total / counts.clamp_min(1)[:, None].float()
        masked = torch.where(filled, sims, -torch.inf)
        if self.aggregation == "max":
            return masked.amax(dim=1).float()
        top = min(self.topk, k)
        best = masked.topk(top, dim=1).values.float()  # (T, top, N), -inf past count
        used = counts.clamp(min=1, max=top)[:, None].float()  # (T, 1)
        return torch.where(torch.isfinite(best), best, 0.0).sum(dim=1) / used


def _host_view(values: torch.Tensor) -> np.ndarray | None:
    """A CPU float32 tensor as a numpy float32 array, or one of a 16-bit float dtype as a numpy int16 array (numpy
    has no bfloat16: the bits are moved as they are), on the same memory; None on another device or dtype."""
    if not values.is_cpu:
        return None
    if values.dtype == torch.float32:
        return values.numpy()
    return values.view(torch.int16).numpy() if values.element_size() == 2 else None


def _bits_of_rows(values: torch.Tensor, rows: np.ndarray) -> np.ndarray:
    """The int16 bits of values[rows] of a (M, K) bf16 CPU tensor (a copy: numpy's take on `_host_view`)."""
    return values.view(torch.int16).numpy().take(rows, axis=0)  # (the sparse path: the CPU's bf16 storage)


def _sort_keys(bits: np.ndarray) -> np.ndarray:
    """int16 bits of bf16 values -> int16 keys that sort as the values do (and back: the map is its own inverse),
    in place: a negative value's magnitude bits are flipped (-0.0 sorts just below +0.0; a NaN of either sign
    beyond the infinities on its side)."""
    bits ^= (bits >> 15) & 0x7FFF
    return bits


def _host_float32(values: torch.Tensor, rows: np.ndarray | None = None) -> np.ndarray:
    """Rows (all, or `rows`) of a (M, K) CPU tensor of any float dtype -> float32 numpy array.

    Exact: every storage dtype widens losslessly. The rows are picked before widening (a copy of what is needed).
    """
    if values.dtype == torch.bfloat16:  # numpy has no bfloat16: its 16 bits are the top half of a float32
        bits = values.view(torch.int16).numpy()
        wide = (bits if rows is None else bits.take(rows, axis=0)).astype(np.int32)  # (`take`: fancy indexing's rows)
        wide <<= 16  # in place: no second (M, K) array
        return wide.view(np.float32)
    host = values.numpy()
    return (host if rows is None else host[rows]).astype(np.float32)


def _chunk_sizes(n: int, min_chunk: int, max_chunk: int, most: int | None = None) -> list[int]:
    """bmm batch sizes for a batch of n banks: full chunks of `max_chunk` banks (the cache cap), then the rest in one
    chunk, padded to its next power of two up to `min_chunk` banks (a call's cost: powers of two, all batches cached
    anyway) and beyond it to a multiple of min_chunk / _PAD_STEPS (at least 1). Both bounds are powers of two. A rest
    that the last full chunk can take without exceeding `most` banks (the cache cap itself, of which `max_chunk` is
    the power of two below; None: `max_chunk`), padded to that multiple, joins it: one bmm call less.

    E.g. min_chunk 8, max_chunk 16, most 20 (K=100, D=512 banks): 5 -> [8], 9 -> [10], 13 -> [14], 17 -> [18],
    27 -> [16, 12], 33 -> [16, 18] (powers of two alone gave [16], [16], [16, 16], [16, 16, 16]: up to 7 more banks
    gathered and multiplied for nothing; 17 was [16, 1]: a second call for one bank)."""
    full, rest = divmod(n, max_chunk)
    chunks = [max_chunk] * full
    if rest:
        step = max(1, min_chunk // _PAD_STEPS)
        joined = max_chunk + -(-rest // step) * step  # the last full chunk with the rest
        if full and joined <= (max_chunk if most is None else most):
            chunks[-1] = joined
        else:
            chunks.append(_next_pow2(rest) if rest <= min_chunk else -(-rest // step) * step)
    return chunks


def _padded_width(n: int) -> int:
    """The padded candidate width of a bmm batch whose widest track has n (>= 1) candidates: the smallest of 1, 2,
    4, 6, 8, 12, 16, 24, ... (powers of two, and three quarters of each from 8 on) that holds n. A few kernel shapes
    as with powers of two alone, but a widest track of 5 or 6 (common in a crowd) pads to 6 rows, not 8: the bf16
    bmm's cost grows with the rows (16 banks of K=100, D=512: ~120 us at 6 rows against ~140 us at 8). Each row's
    products are the same at any width (the rows are independent)."""
    p = _next_pow2(n)
    three_quarters = 3 * p // 4
    return three_quarters if p >= _MIN_THREE_QUARTER_WIDTH and n <= three_quarters else p


def _prev_pow2(n: int) -> int:
    """The largest power of two <= n (n >= 1)."""
    return 1 << (n.bit_length() - 1)


def _next_pow2(n: int) -> int:
    """The smallest power of two >= n (n >= 1)."""
    return 1 << max(0, n - 1).bit_length()


def _mean_of_best(best: np.ndarray, counts: np.ndarray, any_partial: bool) -> np.ndarray:
    """(M,) float32 means of each row of the (M, top) best similarities, largest first (non-finite: empty entries
    of a bank with fewer than `top`, overwritten with 0), summed in that order; a row of a bank with (M,) `counts`
    below `top` is divided by its count (`any_partial`: some bank is; else every sum is of `top` values)."""
    top = best.shape[1]
    if any_partial or not all_set(np.isfinite(best)):
        best[~np.isfinite(best)] = 0.0
    total = best[:, 0].copy()
    for j in range(1, top):
        total += best[:, j]
    if not any_partial:
        return total / np.float32(top)
    return total / np.minimum(np.maximum(counts, 1), top).astype(np.float32)  # np.clip, without its overhead
