#!/usr/bin/env bash
# One GPU session, prepared to run unattended on a lent CUDA machine:
#   1. the training-throughput benchmark (ours against the pytorch/examples recipe);
#   2. the GPU tests;
#   3. three faces runs side by side on the one GPU, for the same wall-clock time:
#      ours (EMA, DiffAugment, flips), ours without DiffAugment, and the reference recipe
#      (pytorch/examples dcgan: plain BCE, Adam 2e-4, no EMA, no augmentation);
#   4. each run exported (fp16) and packed into OUT for the trip back (report.txt has the logs).
#
#   $ bash bench/gpu_faces.sh DATA.zip MINUTES OUT [BENCH_STEPS]
# A smoke run on the CPU: DEVICE=cpu bash bench/gpu_faces.sh data.zip 0.2 /tmp/out 3
set -u
DATA=$1; MINUTES=$2; OUT=$3; BENCH_STEPS=${4:-300}; DEVICE=${DEVICE:-cuda}
export PYTHONUNBUFFERED=1
mkdir -p "$OUT" runs
REPORT="$OUT/report.txt"
(nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv || true) > "$REPORT" 2>&1
python3 -c "import torch; print('torch', torch.__version__)" >> "$REPORT"

echo "== throughput" >> "$REPORT"
python3 bench/train_throughput.py --data "$DATA" --device "$DEVICE" --steps "$BENCH_STEPS" \
    --json "$OUT/throughput.json" >> "$REPORT" 2>&1
echo "== GPU tests" >> "$REPORT"
python3 -m pytest -q -p no:cacheprovider tests/test_gpu.py tests/test_latent.py >> "$REPORT" 2>&1

common=(--data "$DATA" --device "$DEVICE" --steps 10000000 --max-minutes "$MINUTES" --log-every 200
        --sample-every 2500 --checkpoint-every 5000 --half)
python3 train.py "${common[@]}" --out runs/faces --diffaugment color,translation,cutout --flip \
    --name "CelebA faces 64x64" --export runs/export/celeba64 > runs/faces.log 2>&1 &
python3 train.py "${common[@]}" --out runs/faces_noaug --flip \
    --name "CelebA faces 64x64 (no DiffAugment)" --export runs/export/celeba64_noaug > runs/faces_noaug.log 2>&1 &
python3 train.py "${common[@]}" --out runs/faces_ref --ema-decay 0 \
    --name "CelebA faces 64x64 (pytorch/examples recipe)" --export runs/export/celeba64_ref > runs/faces_ref.log 2>&1 &
wait
for run in faces faces_noaug faces_ref; do
    echo "== $run" >> "$REPORT"; tail -c 1500 runs/$run.log | tr '\r' '\n' | tail -n 6 >> "$REPORT"
done
for name in celeba64 celeba64_noaug celeba64_ref; do  # one tar each: files come back up to 16 MiB
    tar -C runs/export -cf "$OUT/$name.tar" "$name" 2>/dev/null || true
done
ls -la "$OUT" runs/export/*
cat "$REPORT"
