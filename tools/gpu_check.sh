#!/bin/bash
# The GPU checks of issue 14, for a machine with CUDA, in two parts of under 10 minutes each (a lent machine's limit
# per command); every figure lands in at most 8 files in $OUT:
#   part 1: the GPU tests; bench_pipeline on cuda (yolov8n.pt fp16 + OSNet fp16), CUDA graphs off then on;
#   part 2: the core with its banks on cuda and on the cpu; `track` on the 1080p clip (CUDA graphs on); `track eval`
#           of the public boxes with ReID on cuda.
# Usage (repository root; ../shared or $TRACKER_SHARED): OUT=/tmp/gpu bash tools/gpu_check.sh 1|2 [python] [frames]
# A machine without our dependencies can take them as wheels in .whl/ (installed to /tmp/site first).
PART=${1:?part 1 or 2}; PY=${2:-python3}; FRAMES=${3:-150}
OUT=${OUT:-/tmp/gpu_check}; mkdir -p "$OUT"
export PYTHONUNBUFFERED=1 TRACKER_SHARED=${TRACKER_SHARED:-$PWD/../shared}
S=$TRACKER_SHARED; W="--set reid.weights=$S/weights/osnet_x0_25_msmt17.pth"
D="--set detector.model=$S/weights/yolov8n.pt --set detector.half=true"
# This checkout's tracker, not an installed one (tools/bench_core.py and pytest would import that: an editable
# install of another checkout, or none at all).
export PYTHONPATH=$PWD${PYTHONPATH:+:$PYTHONPATH}
if [ -d .whl ]; then
  $PY -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --target /tmp/site .whl/*.whl || exit 1
  export PYTHONPATH=$PYTHONPATH:/tmp/site
fi
nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv | tee "$OUT/gpu.txt"
$PY -c "import torch, ultralytics, os; print('torch', torch.__version__, 'ultralytics', ultralytics.__version__, \
'cuda', torch.cuda.is_available(), 'cpus', os.cpu_count())" | tee -a "$OUT/gpu.txt"
if [ "$PART" = 1 ]; then
echo "== GPU tests"
timeout 120 $PY -m pytest -q -p no:cacheprovider -rs tests/test_embedder.py tests/test_device_faults.py \
  tests/test_detector.py -m "not slow" > "$OUT/pytest.txt" 2>&1; tail -5 "$OUT/pytest.txt"
for graphs in false true; do
  echo "== pipeline, reid.cuda_graphs=$graphs"
  timeout 200 $PY tools/bench_pipeline.py --device cuda $D --set reid.cuda_graphs=$graphs --frames 20 \
    --e2e-frames "$FRAMES" --repeats 3 --skip-decode > "$OUT/bench_pipeline_graphs_$graphs.txt" 2>&1
  grep -E "^ +(768x576|1080p)|ratio" "$OUT/bench_pipeline_graphs_$graphs.txt"
done
fi
if [ "$PART" = 2 ]; then
for device in cuda cpu; do
  echo "== core, banks on $device"
  timeout 90 $PY tools/bench_core.py --quick --device $device --frames "$FRAMES" > "$OUT/bench_core_$device.txt" 2>&1
  cat "$OUT/bench_core_$device.txt"
done
echo "== track, 1080p clip"
timeout 90 $PY -m tracker.cli "$S/videos/people.mp4" --device cuda $D $W --set reid.cuda_graphs=true --no-save-video --max-frames 300 \
  --out /tmp/gpu_check_runs/track > "$OUT/track.txt" 2>&1; tail -8 "$OUT/track.txt"
echo "== eval, public boxes, ReID on cuda"
for s in MOT15/train/TUD-Campus PETS09-S3-MF1; do
  echo "== $s" >> "$OUT/eval.txt"  # the variant summary rows do not name their sequence
  timeout 100 $PY -m tracker.cli eval --data "$S/data/$s" --detections public $W --set device=cuda --workers 1 -q \
    --variants original,scale0.5,scale0.35,drop2 --out "/tmp/gpu_check_runs/eval_$(basename $s)" >> "$OUT/eval.txt" 2>&1
done
grep -E "^== |^(original|scale|drop)" "$OUT/eval.txt"
fi
