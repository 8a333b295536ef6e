#!/usr/bin/env bash
# One prepared GPU session for scale-out work (issue: torchrun, streaming, a faster step):
#   1. the step's speed: eager, fused Adam, torch.compile, torch.compile "reduce-overhead"
#      (CUDA graphs), and eager with streamed data, in one run (bench/step_speed.py);
#   2. the GPU tests.
#   $ bash bench/gpu_scale.sh DATA.zip OUT
set -u
DATA=$1; OUT=$2
export PYTHONUNBUFFERED=1
mkdir -p "$OUT"
(nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv || true) > "$OUT/log.txt" 2>&1
python3 -c "import torch; print('torch', torch.__version__)" >> "$OUT/log.txt" 2>&1
timeout 420 python3 bench/step_speed.py --data "$DATA" --device cuda --stream-workers 12 \
    --variants eager,fused,compile,compile+fused,reduce-overhead+fused --json "$OUT/step_speed.json" >> "$OUT/log.txt" 2>&1
echo "== GPU tests" >> "$OUT/log.txt"
timeout 60 python3 -m pytest -q -p no:cacheprovider tests/test_gpu.py >> "$OUT/log.txt" 2>&1
tail -n 40 "$OUT/log.txt"
