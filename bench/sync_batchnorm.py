"""Does SyncBatchNorm matter? The digits model trained by `torchrun train.py` on 1, 2 and 4 ranks
(gloo, this CPU), with BatchNorm over each rank's rows and over the global batch, scored by the
shipped digit classifier.

    $ python bench/sync_batchnorm.py --data ../shared/data/mnist28.zip --steps 1200 --seeds 0,1

Every run trains the same recipe from the same seed with the same global batch (64): the live
run's model (G 32 wide, D 16, 32x32) and recipe (instance noise 0.3, lr 1.5e-3 / 6e-4, EMA
0.99) on MNIST's first 8,000 digits. On N ranks each rank sees 64 / N images a step, so
without SyncBatchNorm every BatchNorm layer normalises over 32 (2 ranks) or 16 (4 ranks)
images instead of 64. Scores, from 2,000 samples of the exported model: the share the digit
classifier reads with confidence >= 0.9, and the digits FID against the 2,000 held-out digits.
Results go to bench/results/scale/sync_batchnorm.json. Nothing else should run meanwhile.
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402

from gan_core.model.checkpoints import load_gan  # noqa: E402
from gan_core.data.images import load_images  # noqa: E402
from gan_core.analysis.digits import TRAIN_DIGITS, digit_fid, digit_report, load_digit_classifier  # noqa: E402
from gan_core.model.latent import z_from_seeds  # noqa: E402

CONFIGS = [(1, False), (2, False), (2, True), (4, False), (4, True)]
RECIPE = ["--image-size", "32", "--channels", "1", "--g-width", "32", "--d-width", "16", "--batch-size", "64",
          "--instance-noise", "0.3", "--lr-g", "1.5e-3", "--lr-d", "6e-4", "--ema-decay", "0.99",
          "--limit", str(TRAIN_DIGITS), "--log-every", "100", "--sample-every", "100000",
          "--checkpoint-every", "100000"]


def train(data: str, ranks: int, sync: bool, seed: int, steps: int, folder: Path) -> float:
    args = ["--data", data, "--steps", str(steps), "--seed", str(seed), "--out", str(folder / "run"),
            "--export", str(folder / "export"), *RECIPE, *(["--sync-batchnorm"] if sync else [])]
    launcher = ([sys.executable, str(ROOT / "train.py")] if ranks == 1 else
                [sys.executable, "-m", "torch.distributed.run", "--standalone", f"--nproc_per_node={ranks}",
                 str(ROOT / "train.py")])
    env = {**os.environ, "OMP_NUM_THREADS": str(max(1, (os.cpu_count() or 2) // ranks))}
    t = time.perf_counter()
    done = subprocess.run(launcher + args, env=env, capture_output=True, text=True)
    if done.returncode:
        raise SystemExit(f"training failed ({ranks} ranks, sync {sync}):\n{done.stderr[-2000:]}")
    return time.perf_counter() - t


def main(argv=None) -> dict:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter,
                                epilog=__doc__.split("\n", 1)[1])
    p.add_argument("--data", default=str(ROOT.parent / "shared" / "data" / "mnist28.zip"))
    p.add_argument("--steps", type=int, default=1200)
    p.add_argument("--seeds", default="0,1")
    p.add_argument("--work", default=str(ROOT / "runs" / "sync_batchnorm"))
    p.add_argument("--json", default=str(ROOT / "bench" / "results" / "scale" / "sync_batchnorm.json"))
    args = p.parse_args(argv)
    classifier = load_digit_classifier(ROOT / "checkpoints" / "mnist32")
    held = load_images(args.data, 32, 1).images[TRAIN_DIGITS:].permute(0, 2, 3, 1).numpy()
    results = []
    for seed in [int(s) for s in args.seeds.split(",")]:
        for ranks, sync in CONFIGS:
            folder = Path(args.work) / f"seed{seed}_ranks{ranks}{'_sync' if sync else ''}"
            seconds = train(args.data, ranks, sync, seed, args.steps, folder)
            gan = load_gan(folder / "export", device="cpu")
            fakes = gan.generate(z_from_seeds(range(len(held)), gan.config.nz))
            row = {"seed": seed, "ranks": ranks, "sync_batchnorm": sync, "seconds": round(seconds, 1),
                   "confident": digit_report(classifier, fakes)["confident"],
                   "fid": round(digit_fid(classifier, held, fakes), 3)}
            results.append(row)
            print(json.dumps(row), flush=True)
    summary = {}
    for ranks, sync in CONFIGS:
        rows = [r for r in results if r["ranks"] == ranks and r["sync_batchnorm"] == sync]
        key = f"{ranks} rank{'s' if ranks > 1 else ''}" + (", SyncBatchNorm" if sync else "" if ranks == 1 else ", per-rank BN")
        summary[key] = {"confident": round(float(np.mean([r["confident"] for r in rows])), 4),
                        "fid": round(float(np.mean([r["fid"] for r in rows])), 3),
                        "seconds": round(float(np.mean([r["seconds"] for r in rows])), 1)}
    print(f"\n{'':28s} {'confident':>10s} {'digits FID':>11s} {'seconds':>8s}   (means over seeds {args.seeds}, "
          f"{args.steps} steps of 64)")
    for key, row in summary.items():
        print(f"{key:28s} {row['confident']:10.1%} {row['fid']:11.2f} {row['seconds']:8.0f}")
    Path(args.json).parent.mkdir(parents=True, exist_ok=True)
    Path(args.json).write_text(json.dumps({"steps": args.steps, "runs": results, "means": summary}, indent=1) + "\n")
    return summary


if __name__ == "__main__":
    main()
