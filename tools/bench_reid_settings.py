"""OpenVINO settings for the ReID forward, measured where `update()` calls it: right after a detector call.

Each variant compiles the tracker's own ReID model (OSNet with its uint8 preprocessing, `OpenVINOForward`) for static
batches of 1-3 crops with other settings; variants take turns call by call, each call right after a detector call on
a 1080p frame (its caches are as cold as in `update()`), and the tool reports median wall and thread-CPU ms (the
ReID runs one inference thread, on the calling thread). It checks every variant gives the base's embeddings. It also
times compiling one static model against loading it from OpenVINO's model cache (`CACHE_DIR`).

The tracker's settings compute in fp32, or in OpenVINO's default precision (bf16 where the CPU has it) where
`reid.half` (the default) meets a CPU with AMX. Three variants may compute other embeddings (their max |embedding -
tracker's| says how far): fp32 (`reid.half=false`), OpenVINO's default precision (what `reid.half` gives on an AMX
CPU; bf16 on any CPU with BF16, fp32 without), and the INT8 model of `tools/quantize_reid.py` (`reid.int8=true`) when
it has been made. Which is fastest depends on the CPU (an AVX512-BF16 Xeon without AMX, stop 76: fp32 0.60-0.74x of
bf16's time for 1-3 crops); each also moves tracking results (docs/decisions.md, "fp32 ReID where the CPU has no
AMX").

    python tools/bench_reid_settings.py [--calls 40] [--sizes 1 2 3]
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from collections import defaultdict
from dataclasses import replace
from pathlib import Path

import numpy as np
import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench_pipeline import read_frames, shared_config_or_usage  # noqa: E402

from tracker.cli_args import positive_int  # noqa: E402
from tracker.closed_pipe import run_tool  # noqa: E402
from tracker.detector import build_detector, quiet_ultralytics  # noqa: E402
from tracker.embedder import build_embedder, cut_crops  # noqa: E402

MS = 1000.0
CALL_SIZES = (1, 2, 3)  # crops per call (default of --sizes): what lazy embedding asks for in most frames
VARIANTS = {  # compile settings added to the tracker's (`COMPILE_SETTINGS`, one thread, its precision: see above)
    "tracker's settings": {},
    "CPU_DENORMALS_OPTIMIZATION": {"CPU_DENORMALS_OPTIMIZATION": True},
    "2 inference threads": {"INFERENCE_NUM_THREADS": 2},
    "THROUGHPUT hint, 1 stream": {"PERFORMANCE_HINT": "THROUGHPUT", "NUM_STREAMS": 1},
    "pinned threads": {"ENABLE_CPU_PINNING": True},
}
FP32 = "fp32 (reid.half=false)"  # other embeddings where the tracker leaves OpenVINO its bf16 (an AMX CPU)
OWN_PRECISION = "OpenVINO's precision (bf16)"  # other embeddings where the CPU has BF16 but the tracker asks fp32
INT8 = "INT8 (reid.int8=true)"  # other embeddings: the NNCF INT8 model, when tools/quantize_reid.py made it
SHARED_CORE = "the detector's ov.Core"  # the tracker's settings, compiled by the detector's OpenVINO core
CACHE_REPEATS = 4  # compile-time measurements: an empty cache folder each time vs one kept folder
DYNAMIC = "dynamic batch (one model)"  # the tracker's settings, one model for every batch size


def compile_static(core, forward, settings: dict, sizes) -> dict:
    """{batch: compiled model} of the tracker's ReID IR reshaped to each static batch."""
    models = {}
    for size in sizes:
        ir = forward._ir.clone()  # the converted OSNet with its uint8 preprocessing (a tool may read internals)
        ir.reshape([size, *forward._input_hw, 3])
        models[size] = core.compile_model(ir, "CPU", settings)
    return models


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=positive_int, default=40, help="timed calls per variant and crop count")
    parser.add_argument("--frames", type=positive_int, default=30, help="1080p frames the detector cycles through")
    parser.add_argument(
        "--sizes", type=positive_int, nargs="+", default=list(CALL_SIZES), help="crops per call timed (each size)"
    )
    args = parser.parse_args()
    quiet_ultralytics()  # its "Loading ..." lines are noise among the tool's figures (as `track -q`)
    sizes = sorted(set(args.sizes))
    import openvino as ov

    shared, cfg = shared_config_or_usage(parser, "cpu", ["reid.backend=openvino"])
    frames, _ = read_frames(shared / "videos" / "people.mp4", args.frames)
    detector_core, make_core = ov.Core(), ov.Core
    ov.Core = lambda: detector_core  # ultralytics builds its OpenVINO core through this name on the first call
    try:
        detector = build_detector(cfg.detector, torch.device("cpu"))
        boxes = detector(frames[0])[0]
    finally:
        ov.Core = make_core
    if len(boxes) < max(sizes):
        sys.exit(f"the first frame has {len(boxes)} detections: too few for --sizes {max(sizes)}")
    forward = build_embedder(cfg.reid, torch.device("cpu")).model
    size = (cfg.reid.crop_height, cfg.reid.crop_width)
    crops = {k: cut_crops(frames[0], boxes[:k], size) for k in sizes}
    base = dict(forward._settings)
    variants = {name: compile_static(ov.Core(), forward, {**base, **extra}, sizes) for name, extra in VARIANTS.items()}
    variants[SHARED_CORE] = compile_static(detector_core, forward, base, sizes)
    variants[FP32] = compile_static(ov.Core(), forward, {**base, "INFERENCE_PRECISION_HINT": "f32"}, sizes)
    own = {key: value for key, value in base.items() if key != "INFERENCE_PRECISION_HINT"}
    variants[OWN_PRECISION] = compile_static(ov.Core(), forward, own, sizes)
    try:
        int8 = build_embedder(replace(cfg.reid, int8=True), torch.device("cpu")).model
    except FileNotFoundError as exc:
        print(f"{INT8}: not timed ({exc})")
    else:
        variants[INT8] = compile_static(ov.Core(), int8, dict(int8._settings), sizes)
    dynamic = ov.Core().compile_model(forward._ir, "CPU", base)
    variants[DYNAMIC] = dict.fromkeys(sizes, dynamic)
    reference = {k: variants["tracker's settings"][k](crops[k])[0] for k in sizes}
    for name, models in variants.items():
        diff = max(float(np.abs(models[k](crops[k])[0] - reference[k]).max()) for k in sizes)
        print(f"{name:<28} max |embedding - tracker's| {diff:.2e}")
    times = defaultdict(list)
    for i in range(args.calls):
        for k in sizes:
            for name, models in variants.items():
                detector(frames[i % len(frames)])
                start, start_cpu = time.perf_counter(), time.thread_time()
                models[k](crops[k])
                times[name, k].append(((time.perf_counter() - start) * MS, (time.thread_time() - start_cpu) * MS))
    print(f"\none call right after a detector call, median wall / thread-CPU ms, {args.calls} calls alternating")
    print(f"{'':<28} " + "   ".join(f"{k} crop(s)".center(15) for k in sizes))
    for name in variants:
        cells = (np.median(np.array(times[name, k]), axis=0) for k in sizes)
        print(f"{name:<28} " + "   ".join(f"{wall:6.2f} / {cpu:5.2f}" for wall, cpu in cells))
    with tempfile.TemporaryDirectory() as folder:
        compiled, loaded = [], []
        for repeat in range(CACHE_REPEATS):  # an empty cache folder each time, and one folder kept throughout
            for times_of, sub in ((compiled, f"empty{repeat}"), (loaded, "kept")):
                core = ov.Core()
                core.set_property({"CACHE_DIR": str(Path(folder) / sub)})
                start = time.perf_counter()
                compile_static(core, forward, base, [max(sizes) + 1])
                times_of.append(time.perf_counter() - start)
        loaded = loaded[1:]  # the kept folder's first model was compiled into it
    compile_s, load_s = np.median(compiled), np.median(loaded)
    print(f"\none static model: compiled {compile_s:.3f} s, loaded from OpenVINO's model cache {load_s:.3f} s")
    print(f"load average {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    raise SystemExit(run_tool(main))
