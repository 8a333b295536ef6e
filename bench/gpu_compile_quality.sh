#!/usr/bin/env bash
# Does the CUDA-graph step (torch.compile "reduce-overhead") train as the eager one does? Two
# train.py runs of STEPS steps from the same seed, one after the other, each exported (fp16)
# to OUT for FID and a look (bench/quality.py on a machine with the Inception weights).
#   $ bash bench/gpu_compile_quality.sh DATA.zip OUT [STEPS]
set -u
DATA=$1; OUT=$2; STEPS=${3:-8000}
export PYTHONUNBUFFERED=1
mkdir -p "$OUT"
for mode in eager reduce-overhead; do
    flag=(); [ "$mode" != eager ] && flag=(--compile "$mode")
    timeout 240 python3 train.py --data "$DATA" --device cuda --steps "$STEPS" --flip --out "runs/q_$mode" \
        --log-every 100 --sample-every 1000000 --checkpoint-every 1000000 --export "$OUT/$mode" --half \
        --name "faces ($mode step)" "${flag[@]}" > "$OUT/$mode.log" 2>&1
    tail -c 600 "$OUT/$mode.log" | tr '\r' '\n' | tail -n 3
done
rm -rf "$OUT"/*/history
ls -la "$OUT"/*
