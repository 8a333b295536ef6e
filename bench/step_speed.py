"""The training step's speed on one device: eager PyTorch against torch.compile and fused Adam,
measured in one run, with a check that each variant trains as eager does.

    $ python bench/step_speed.py --device cuda --json bench/results/step_speed_h200.json
    $ python bench/step_speed.py --device cpu --steps 3 --check-steps 3 --variants eager,fused  # smoke

Every variant trains the faces model (64x64, ngf = ndf = 64, nz = 100, batch 128, no
augmentation: the configuration of bench/train_throughput.py) from the same seed on the same
images (the `train` split of --data, in memory):

* it first takes --check-steps steps whose per-step losses and D outputs are kept (this also
  warms it up: compilation happens here, and its time is reported);
* then --steps timed steps (device sync at both ends): images / second.

"Trains alike": each variant's first --check-steps records against eager's. Float rounding
differs between kernels, so values drift apart slowly; the report gives the largest difference
per step window; two eager runs from the same seed ("eager again": cuDNN's own nondeterminism)
and from another seed give the scale.
Variants: eager (the Trainer as it is: fused Adam on CUDA), foreach (Adam's multi-tensor
kernels, the Trainer's choice before fused Adam was measured), compile (torch.compile
"default"), reduce-overhead (torch.compile with CUDA graphs), max-autotune; "+" combines.
(bench/results/scale/step_speed_h200.json was measured before fused Adam became the default:
its "eager" is today's "foreach", and its "X+fused" today's "X".)
Streaming: with --stream-workers N, also eager with the batches decoded from the zip by N
DataLoader workers (gan_core.training.batches.StreamedBatches) against in memory.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import torch  # noqa: E402

from gan_core.model.config import GANConfig  # noqa: E402
from gan_core.data.images import open_images  # noqa: E402
from gan_core.model.device import pick_device  # noqa: E402
from gan_core.training.loop import STATS, TrainConfig, Trainer  # noqa: E402

DEFAULT_DATA = ROOT.parent / "shared" / "data" / "celeba64.zip"
MODEL = GANConfig(image_size=64, channels=3, nz=100, g_width=64, d_width=64)
TARGET_CUDA_IMG_PER_S = 20_000


def sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def build(variant: str, images, device: torch.device, batch: int, seed: int, tmp: str, workers: int = 0) -> Trainer:
    parts = variant.split("+")
    mode = {"compile": "default", "reduce-overhead": "reduce-overhead", "max-autotune": "max-autotune"}
    compile_mode = next((mode[p] for p in parts if p in mode), "off")
    opts = TrainConfig(batch_size=batch, device=str(device), seed=seed, out=tmp, compile=compile_mode, workers=workers)
    trainer = Trainer(MODEL, opts, images)
    if "foreach" in parts:  # Adam's multi-tensor kernels instead of the fused one the Trainer takes on CUDA
        betas = (opts.beta1, opts.beta2)
        trainer.opt_g = torch.optim.Adam(trainer.G.parameters(), lr=opts.lr_g, betas=betas, foreach=True)
        trainer.opt_d = torch.optim.Adam(trainer.D.parameters(), lr=opts.lr_d, betas=betas, foreach=True)
    return trainer


def measure(trainer: Trainer, check_steps: int, steps: int) -> dict:
    device = trainer.device
    sync(device)
    t0 = time.perf_counter()
    records = [trainer.train_step().tolist() for _ in range(check_steps)]  # a sync per step: not timed for speed
    sync(device)
    warm = time.perf_counter() - t0
    t0 = time.perf_counter()
    for _ in range(steps):
        trainer.train_step()
    sync(device)
    seconds = time.perf_counter() - t0
    return {"img_per_s": steps * trainer.opts.batch_size / seconds, "seconds": seconds, "warmup_seconds": warm,
            "records": records}


def drift(a: list, b: list, windows=(1, 10, 20, 50, 200)) -> dict:
    """The largest |a - b| of any statistic over the first w steps, for each window w."""
    out = {}
    for w in windows:
        if w <= min(len(a), len(b)):
            out[f"first_{w}"] = max(abs(x - y) for ra, rb in zip(a[:w], b[:w]) for x, y in zip(ra, rb))
    return out


def main(argv=None) -> dict:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter,
                                epilog=__doc__.split("\n", 1)[1])
    p.add_argument("--data", default=str(DEFAULT_DATA))
    p.add_argument("--device", default="auto")
    p.add_argument("--variants", default="eager,foreach,compile,reduce-overhead")
    p.add_argument("--batch-size", type=int, default=128)
    p.add_argument("--steps", type=int, default=300, help="timed steps per variant (default 300)")
    p.add_argument("--check-steps", type=int, default=200, help="recorded steps before timing (default 200)")
    p.add_argument("--stream-workers", type=int, default=0, help="also time streaming with N workers (0: no)")
    p.add_argument("--json", metavar="PATH")
    args = p.parse_args(argv)
    device = pick_device(args.device)
    torch.backends.cudnn.benchmark = True
    print(f"device {device}" + (f" ({torch.cuda.get_device_name(device)})" if device.type == "cuda" else "")
          + f", torch {torch.__version__}, {os.cpu_count()} CPUs; batch {args.batch_size}, "
          f"{args.check_steps} recorded + {args.steps} timed steps per variant", flush=True)
    files = open_images(args.data, MODEL.image_size, MODEL.channels)
    t0 = time.perf_counter()
    images = files.decode_all().images
    print(f"{len(images)} images decoded in {time.perf_counter() - t0:.1f} s (not timed)", flush=True)

    results, variants = {}, args.variants.split(",")
    with tempfile.TemporaryDirectory() as tmp:
        runs = ([("eager", "eager", images, 0), ("eager again", "eager", images, 0)]  # again: GPU kernels' own drift
                + [(v, v, images, 0) for v in variants if v != "eager"] + [("eager seed 1", "eager", images, 0)])
        if args.stream_workers:
            runs.append((f"eager streamed ({args.stream_workers} workers)", "eager", files, args.stream_workers))
        for name, variant, data, workers in runs:
            seed = 1 if name == "eager seed 1" else 0
            try:
                trainer = build(variant, data, device, args.batch_size, seed, tmp, workers)
                result = measure(trainer, args.check_steps, args.steps if seed == 0 else 0)
            except Exception as err:  # a variant this torch or device cannot run: reported, not fatal
                results[name] = {"error": f"{type(err).__name__}: {str(err)[:300]}"}
                print(f"{name:36s} failed: {results[name]['error']}", flush=True)
                continue
            finally:
                trainer = None
                if device.type == "cuda":
                    torch.cuda.empty_cache()
            results[name] = result
            if args.json:  # what has been measured so far survives a run cut short
                Path(args.json).parent.mkdir(parents=True, exist_ok=True)
                Path(args.json).write_text(json.dumps({"partial": {n: {k: v for k, v in r.items() if k != "records"}
                                                                   for n, r in results.items()}}, indent=1))
            if seed == 0:
                print(f"{name:36s} {result['img_per_s']:10.0f} img/s  (warm-up and {args.check_steps} recorded "
                      f"steps: {result['warmup_seconds']:.1f} s)", flush=True)

    eager = results.get("eager", {})
    print(f"\n{'variant':36s} {'img/s':>10s} {'vs eager':>9s}   largest drift from eager (steps 1 / 10 / 20 / 50 / 200)")
    for name, r in results.items():
        if "error" in r:
            continue
        r["drift_from_eager"] = drift(eager.get("records", []), r["records"]) if eager else {}
        timed = name != "eager seed 1" and eager
        speed = f"{r['img_per_s']:10.0f} {r['img_per_s'] / eager['img_per_s']:8.2f}x" if timed else f"{'':10s} {'':9s}"
        print(f"{name:36s} {speed}   " + " / ".join(f"{v:.2g}" for v in r["drift_from_eager"].values()))
    best = max((n for n, r in results.items() if "error" not in r and n != "eager seed 1" and "stream" not in n),
               key=lambda n: results[n]["img_per_s"], default=None)
    summary = {"device": str(device), "device_name": torch.cuda.get_device_name(device) if device.type == "cuda" else "",
               "torch": torch.__version__, "batch_size": args.batch_size, "steps": args.steps,
               "check_steps": args.check_steps, "stats": list(STATS), "best": best,
               "target_cuda_img_per_s": TARGET_CUDA_IMG_PER_S,
               "results": {n: {k: v for k, v in r.items() if k != "records"} for n, r in results.items()},
               "records": {n: r.get("records", [])[:50] for n, r in results.items()}}
    if best:
        print(f"fastest: {best}, {results[best]['img_per_s']:.0f} img/s; eager {eager.get('img_per_s', 0):.0f} img/s"
              + (f"; target {TARGET_CUDA_IMG_PER_S:,} img/s: "
                 f"{'MET' if results[best]['img_per_s'] >= TARGET_CUDA_IMG_PER_S else 'NOT MET'}"
                 if device.type == "cuda" else ""))
    if args.json:
        Path(args.json).parent.mkdir(parents=True, exist_ok=True)
        Path(args.json).write_text(json.dumps(summary, indent=1) + "\n")
        print(f"wrote {args.json}")
    return summary


if __name__ == "__main__":
    main()
