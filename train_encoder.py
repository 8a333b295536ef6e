"""Train the encoder that finds a photo in a model's latent space (image -> z), and ship it.

    $ python train_encoder.py --checkpoint checkpoints/celeba64 --data ../shared/data/celeba64.zip \\
          --out runs/encoder --minutes 40 --export
    $ python train_encoder.py --checkpoint checkpoints/celeba64 --data ../shared/data/celeba64.zip \\
          --out runs/encoder --minutes 20 --export          # goes on from runs/encoder

The run folder keeps encoder.safetensors (saved every few minutes, and on Ctrl-C) and log.jsonl;
--export writes the encoder into the model's release folder. Real faces come from the data's
`train` split only (the `test` split is for bench/inversion.py).
"""
from __future__ import annotations

import argparse
import json
import signal
import sys
import time
from dataclasses import replace
from pathlib import Path

import torch

from gan_core.model.checkpoints import CheckpointError, load_gan
from gan_core.data.images import DataError, load_images
from gan_core.photos.encoder import ENCODER_NAME, EncoderTraining, load_encoder, save_encoder, train_encoder, training_notes


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter,
                                epilog=__doc__.split("\n", 1)[1])
    p.add_argument("--checkpoint", required=True, help="the model's release folder")
    p.add_argument("--data", help="real faces (imagefolder zip or folder); its train split is used")
    p.add_argument("--out", default="runs/encoder", help="run folder (default runs/encoder)")
    p.add_argument("--minutes", type=float, default=30.0, help="training time (default 30)")
    p.add_argument("--steps", type=int, default=10**9, help="at most this many steps")
    p.add_argument("--save-minutes", type=float, default=3.0, help="minutes between saves (default 3)")
    p.add_argument("--real", type=int, default=EncoderTraining.real, help="real faces per step (0: generated only)")
    p.add_argument("--generated", type=int, default=EncoderTraining.generated, help="generated pairs per step")
    p.add_argument("--lr", type=float, default=EncoderTraining.lr, help="Adam learning rate")
    p.add_argument("--device", default="auto", help="auto (default), cpu, cuda")
    p.add_argument("--export", action="store_true", help="write encoder.safetensors into --checkpoint when done")
    args = p.parse_args(argv)
    try:
        gan = load_gan(args.checkpoint, args.device)
        real = load_images(args.data, gan.config.image_size, gan.config.channels, "train").images if args.data else None
        out = Path(args.out)
        encoder = load_encoder(out, gan.config, gan.device) if (out / ENCODER_NAME).is_file() else None
    except (CheckpointError, DataError, ValueError, OSError) as err:
        print(f"train_encoder.py: {err}", file=sys.stderr)
        return 2
    out.mkdir(parents=True, exist_ok=True)
    opts = EncoderTraining(steps=args.steps, real=args.real, generated=args.generated, lr=args.lr)
    done = {"steps": 0, "seconds": 0.0}
    if encoder is not None and (out / "state.json").is_file():
        done = json.loads((out / "state.json").read_text())
    print(f"{len(real) if real is not None else 0} real faces; {gan.device}; from step {done['steps']}; run folder {out}")
    signal.signal(signal.SIGTERM, lambda *_: (_ for _ in ()).throw(KeyboardInterrupt()))

    def log(record: dict) -> None:
        record = {**record, "step": done["steps"] + record["step"]}
        with open(out / "log.jsonl", "a") as f:
            f.write(json.dumps(record) + "\n")
        print(json.dumps(record), flush=True)

    def save(chunk_steps: int, chunk_seconds: float) -> None:
        done["steps"] += chunk_steps
        done["seconds"] += chunk_seconds
        save_encoder(out, encoder, training_notes(opts, done["steps"], done["seconds"], 0 if real is None else len(real)))
        (out / "state.json").write_text(json.dumps(done))

    deadline = time.perf_counter() + 60 * args.minutes
    try:
        while time.perf_counter() < deadline and done["steps"] < args.steps:
            budget = min(60 * args.save_minutes, deadline - time.perf_counter())
            steps_before, t0 = [0], time.perf_counter()
            encoder = train_encoder(gan, real, replace(opts, seed=opts.seed + done["steps"],
                                                       steps=args.steps - done["steps"]),
                                    encoder, seconds=budget, on_log=lambda r: (steps_before.__setitem__(0, r["step"]), log(r)))
            save(steps_before[0], time.perf_counter() - t0)
    except KeyboardInterrupt:
        print("stopped; the last save is in", out / ENCODER_NAME)
        return 130
    if args.export:
        path = save_encoder(args.checkpoint, encoder,
                            training_notes(opts, done["steps"], done["seconds"], 0 if real is None else len(real)))
        print(f"exported {path}")
    return 0


if __name__ == "__main__":
    torch.set_num_threads(max(1, torch.get_num_threads()))
    sys.exit(main())
