"""Benchmark the identity gallery's search: ms per frame and recall@1 against exact search, RAM per identity.

    python tools/bench_gallery.py                       # 1k, 10k, 100k identities x 4 prototypes, 512-d
    python tools/bench_gallery.py --sizes 1000 10000 --frames 100

Embeddings are shaped like real ReID ones: a direction shared by everybody, one per person and one per look,
mixed so that two looks of one person have cosine ~0.75 and two people ~0.45 (OSNet's figures). Each frame
searches a batch of 10 new looks of stored people with `Gallery.match` (one index search + identity
aggregation + margin test + assignment). The gallery picks its index from the config (exact: one matmul over
all prototypes, below `gallery.ivf_min_identities`; faiss IVF with fast-scan PQ codes and exact re-ranking
beyond); in the same run, the same queries go through the exact tier and through a plain numpy matmul + argmax
(the baseline), and the tables give the ratios. recall@1 = how often the gallery's best identity is the exact
search's best identity; true@1 = how often it is the person the query is a look of; decision = how often
`match` gives what it gives with exact search (the margin test also needs the runner-up right).
RAM: RSS growth while building (identities + index, per identity), the index alone, and the raw prototypes.

Times are CPU time of this process with one thread (faiss and BLAS set to 1 thread here), the median over
frames: on a shared machine wall time measures the neighbours; CPU time measures our work. Wall time is
reported too.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from dataclasses import replace
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # this checkout's tracker/, not the installed one

from tracker.cli_args import positive_int  # noqa: E402
from tracker.closed_pipe import run_tool  # noqa: E402
from tracker.config import GalleryConfig  # noqa: E402
from tracker.gallery import Gallery, Sighting  # noqa: E402

DIM = 512
PROTOTYPES = 4
QUERIES_PER_FRAME = 10
SAME, DIFFERENT = 0.75, 0.45  # target cosines: two looks of one person, two people
CHUNK = 20000  # identities generated at a time (bounds the temporary memory)


def _one_thread() -> None:
    import faiss

    faiss.omp_set_num_threads(1)
    try:
        from threadpoolctl import threadpool_limits

        threadpool_limits(1)
    except ImportError:  # numpy's BLAS then uses its default threads (set OMP_NUM_THREADS=1 to be sure)
        pass


def rss_bytes() -> int:
    with open(f"/proc/{os.getpid()}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    return 0


class Looks:
    """Looks of `count` people: unit(sqrt(DIFFERENT) c + sqrt(SAME - DIFFERENT) p_i + sqrt(1 - SAME) n)."""

    def __init__(self, count: int, seed: int = 0) -> None:
        self.rng = np.random.default_rng(seed)
        self.common = self._unit(self.rng.normal(size=DIM)).astype(np.float32)
        self.count = count
        self._seed = seed

    @staticmethod
    def _unit(x: np.ndarray) -> np.ndarray:
        return x / np.linalg.norm(x, axis=-1, keepdims=True)

    def person(self, ids: np.ndarray) -> np.ndarray:
        """(len(ids), DIM) each person's own direction (regenerated from the ID, so it needs no storage)."""
        return np.stack([self._unit(np.random.default_rng([self._seed, int(i)]).normal(size=DIM)) for i in ids])

    def looks(self, ids: np.ndarray, per_person: int) -> np.ndarray:
        """(len(ids), per_person, DIM) float32 new looks of these people."""
        own = self.person(ids)[:, None, :]
        noise = self._unit(self.rng.normal(size=(len(ids), per_person, DIM)))
        x = np.sqrt(DIFFERENT) * self.common + np.sqrt(SAME - DIFFERENT) * own + np.sqrt(1 - SAME) * noise
        return self._unit(x).astype(np.float32)


def build(count: int, config: GalleryConfig, looks: Looks) -> tuple[Gallery, float, int]:
    """A gallery of `count` identities, K_g prototypes each. Returns it, seconds to build (incl. the index), RSS."""
    gallery = Gallery(config)
    before = rss_bytes()
    start = time.perf_counter()
    now = time.time()
    for lo in range(0, count, CHUNK):
        ids = np.arange(lo, min(count, lo + CHUNK))
        protos = looks.looks(ids, PROTOTYPES)
        for i, rows in zip(ids, protos, strict=True):
            gallery.add(int(i) + 1, rows, 0, Sighting(1, now, "bench"))
    gallery._ensure_index()
    return gallery, time.perf_counter() - start, rss_bytes() - before


def exact_top1(vectors: np.ndarray, owners: np.ndarray, queries: np.ndarray) -> np.ndarray:
    """The numpy baseline: one matmul of queries against every prototype; the best prototype's owner."""
    return owners[np.argmax(queries @ vectors.T, axis=1)]


def bench(count: int, frames: int, config: GalleryConfig, nprobes: list[int]) -> list[dict[str, float]]:
    """One gallery of `count` identities, measured at each IVF nprobe (one row when the index is exact)."""
    looks = Looks(count)
    gallery, build_s, rss = build(count, config, looks)
    rows = []
    for nprobe in nprobes if gallery._ivf_trained_at else nprobes[:1]:
        if gallery._ivf_trained_at:
            gallery._index.nprobe = nprobe
        rows.append(measure(gallery, looks, count, frames, build_s, rss) | {"nprobe": nprobe})
    return rows


def measure(gallery: Gallery, looks: Looks, count: int, frames: int, build_s: float, rss: int) -> dict[str, float]:
    config = gallery.config
    _, vectors = gallery._all_vectors(gallery.identities)
    owners = np.repeat(np.arange(1, count + 1), PROTOTYPES)  # identities hold exactly K_g prototypes here
    rng = np.random.default_rng(1)
    batches = [rng.choice(count, QUERIES_PER_FRAME, replace=False) for _ in range(frames)]
    queries = [looks.looks(b, 1)[:, 0] for b in batches]
    exact = Gallery(replace(config, ivf_min_identities=count + 1))
    exact._identities, exact._next_id = gallery._identities, gallery._next_id  # same content, exact index
    exact._ensure_index()
    times: dict[str, list[float]] = {"gallery": [], "exact": [], "numpy": [], "wall": []}
    hits = same_as_exact = same_decision = total = 0
    for b, q in zip(batches, queries, strict=True):  # alternate the three in each frame: same load on each
        w0, t0 = time.perf_counter(), time.process_time()
        decided = gallery.match(q)
        w1, t1 = time.perf_counter(), time.process_time()
        reference = exact.match(q)
        t2 = time.process_time()
        base = exact_top1(vectors, owners, q)
        t3 = time.process_time()
        times["wall"].append(w1 - w0)
        times["gallery"].append(t1 - t0)
        times["exact"].append(t2 - t1)
        times["numpy"].append(t3 - t2)
        found = gallery._search_identities(q, 0)[0][:, 0]  # untimed: the best identity of each query
        best = exact._search_identities(q, 0)[0][:, 0]
        same_as_exact += int((found == best).sum())
        same_decision += int((decided == reference).sum())
        hits += int((found == b + 1).sum())
        total += len(b)
        assert (best == base).all(), "exact faiss and numpy disagree"
    ms = {k: 1000 * float(np.median(v)) for k, v in times.items()}
    low, high = (1000 * float(f(times["gallery"])) for f in (np.min, np.max))
    index_kind = "IVF" if gallery._ivf_trained_at else "exact"
    return {
        "identities": count,
        "index": index_kind,
        "ms_frame": ms["gallery"],
        "ms_frame_min": low,
        "ms_frame_max": high,
        "ms_frame_wall": ms["wall"],
        "ms_exact": ms["exact"],
        "ms_numpy": ms["numpy"],
        "recall_at_1": same_as_exact / total,
        "true_id_at_1": hits / total,
        "same_decision": same_decision / total,
        "build_s": build_s,
        "rss_bytes_per_identity": rss / count,
        "vector_bytes_per_identity": vectors.nbytes / count,
        "index_bytes_per_identity": index_bytes(gallery) / count,
    }


def index_bytes(gallery: Gallery) -> int:
    """Bytes the search index holds: the float prototype matrix (exact tier and re-ranking) + IVF codes."""
    index = gallery._index
    extra = index.exact.nbytes if hasattr(index, "exact") else 0
    return index.nbytes + extra


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--sizes", type=positive_int, nargs="+", default=[1000, 10000, 100000])
    p.add_argument("--frames", type=positive_int, default=200, help="frames of 10 queries per size")
    p.add_argument("--nprobe", type=positive_int, nargs="+", help="IVF lists visited (default gallery.ivf_nprobe)")
    p.add_argument(
        "--ivf-min-identities", type=positive_int, help="IVF from this many identities (default: the config's)"
    )
    args = p.parse_args()
    _one_thread()
    config = GalleryConfig()
    if args.ivf_min_identities is not None:
        config = replace(config, ivf_min_identities=args.ivf_min_identities)
    nprobes = args.nprobe or [config.ivf_nprobe]
    print(
        f"{'identities':>10} {'index':>5} {'nprobe':>6} {'ms/frame':>8} {'min-max':>11} {'wall ms':>8} {'exact ms':>8} "
        f"{'numpy ms':>8} {'vs exact':>8} {'recall@1':>8} {'true@1':>7} {'decision':>8} {'build s':>7} "
        f"{'KB/id RSS':>9} {'KB/id idx':>9} {'KB/id vec':>9}"
    )
    for r in (row for count in args.sizes for row in bench(count, args.frames, config, nprobes)):
        kb_rss, kb_vec = r["rss_bytes_per_identity"] / 1024, r["vector_bytes_per_identity"] / 1024
        kb_idx = r["index_bytes_per_identity"] / 1024
        spread = f"{r['ms_frame_min']:.2f}-{r['ms_frame_max']:.2f}"
        print(
            f"{r['identities']:>10} {r['index']:>5} {r['nprobe'] if r['index'] == 'IVF' else '-':>6} "
            f"{r['ms_frame']:>8.2f} {spread:>11} {r['ms_frame_wall']:>8.2f} "
            f"{r['ms_exact']:>8.2f} {r['ms_numpy']:>8.2f} "
            f"{r['ms_frame'] / r['ms_exact']:>8.2f} {r['recall_at_1']:>8.3f} {r['true_id_at_1']:>7.3f} "
            f"{r['same_decision']:>8.3f} "
            f"{r['build_s']:>7.1f} {kb_rss:>9.1f} {kb_idx:>9.1f} {kb_vec:>9.1f}",
            flush=True,
        )


if __name__ == "__main__":
    raise SystemExit(run_tool(main))
