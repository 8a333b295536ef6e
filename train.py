"""Train a DCGAN, resume it, export it, push it to the Hugging Face Hub.

    $ python train.py --data ../shared/data/celeba64.zip --out runs/faces --steps 20000 \\
          --diffaugment color,translation,cutout --flip --export checkpoints/celeba64
    $ python train.py --resume runs/faces --steps 30000          # carry on to step 30000
    $ python train.py --data ../shared/data/mnist28.zip --image-size 32 --channels 1 --out runs/digits
    $ python train.py --dry-run --out /tmp/smoke                  # a few steps on fake data
    $ torchrun --nproc_per_node=4 train.py --data faces.zip --out runs/faces   # 4 ranks (DDP), same flags
    $ torchrun --nnodes=2 --nproc_per_node=8 --rdzv-backend=c10d --rdzv-endpoint=HOST:29500 \\
          --max-restarts=3 train.py --data /shared/shards/ --out /shared/runs/faces  # 2 machines

Under torchrun: --batch-size is the global batch (each of N ranks takes batch/N; the learning
rates need no scaling: the run is the same optimisation as on one process); nccl on GPUs, gloo
on CPUs; only rank 0 writes; every rank reads the same checkpoint on --resume (so the run folder
must be on a shared file system across machines), and a checkpoint from N ranks resumes on any
number. After an elastic restart (--max-restarts) the run resumes from its last checkpoint.

Each run folder holds log.jsonl (losses, D(x), D(G(z)) per interval), samples/ (fixed-noise
grids of seeds 0-63) and checkpoint.safetensors (everything --resume needs). A run writes only
into the folder named on the command line: --out, else the --resume folder (or the folder of
the --resume checkpoint file), never a folder recorded inside the checkpoint.
"""
from __future__ import annotations

import argparse
import dataclasses
import os
import signal
import sys
from pathlib import Path

import torch
import torch.distributed as dist

from gan_core.training import distributed
from gan_core.model.checkpoints import CheckpointError, read_config
from gan_core.model.config import GANConfig
from gan_core.training.batches import StreamedBatches
from gan_core.data.images import DataError, synthetic_images
from gan_core.errors import UserError
from gan_core.training.distributed import Ranks
from gan_core.training.export import export_release
from gan_core.training.resume import CHECKPOINT_NAME, init_from_release, load_checkpoint, read_checkpoint_configs
from gan_core.training.config import TrainConfig
from gan_core.training.loop import Trainer, load_training_data


def parse_args(argv=None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter,
                                epilog=__doc__.split("\n", 1)[1])
    # Every option defaults to None so that --resume can tell what was given on the command line.
    data = p.add_argument_group("data and run")
    data.add_argument("--data", help="zip or folder of images (imagefolder layout or plain), or mnist/cifar10/celeba")
    data.add_argument("--split", help="metadata.csv split to train on (default: train, if the data has splits)")
    data.add_argument("--limit", type=int, help="use only the first N images")
    data.add_argument("--stream", choices=("auto", "on", "off"),
                      help="decode images batch by batch in DataLoader workers instead of all into memory "
                           "(default auto: when the decoded set, times the ranks on this machine, passes "
                           "--memory-budget)")
    data.add_argument("--memory-budget", type=float, dest="memory_budget_gb", metavar="GB",
                      help="decoded data allowed in memory per machine before auto streams (default 4)")
    data.add_argument("--workers", type=int, help="DataLoader workers per rank when streaming (default 2)")
    data.add_argument("--out", help="run folder (default runs/dcgan)")
    data.add_argument("--resume", metavar="RUN", help="continue the run in this folder (or checkpoint file); "
                                                       "it writes there unless --out is given")
    data.add_argument("--init-from", metavar="FOLDER", help="start from a release folder's weights (fresh optimizers; "
                                                             "its config is used)")
    data.add_argument("--dry-run", action="store_true", help="a few steps on synthetic data (smoke test)")
    model = p.add_argument_group("model (ignored with --resume; with --init-from, only D's flags count)")
    model.add_argument("--image-size", type=int, choices=(32, 64, 128), help="image side (default 64)")
    model.add_argument("--channels", type=int, choices=(1, 3), help="3 RGB, 1 greyscale (default 3)")
    model.add_argument("--nz", type=int, help="latent length (default 100)")
    model.add_argument("--g-width", type=int, help="G base width ngf (default 64)")
    model.add_argument("--d-width", type=int, help="D base width ndf (default 64)")
    model.add_argument("--spectral-norm", action="store_true", default=None, help="spectral norm in D instead of BatchNorm")
    model.add_argument("--name", help="a label for the model card and app")
    train = p.add_argument_group("training")
    train.add_argument("--steps", type=int, help="total optimisation steps (default: from --epochs)")
    train.add_argument("--epochs", type=float, help="passes over the data when --steps is not given (default 5)")
    train.add_argument("--max-minutes", type=float, help="stop after this much training time")
    train.add_argument("--batch-size", type=int, help="the global batch, split evenly over the ranks (default 128)")
    train.add_argument("--lr-g", type=float, help="G's Adam learning rate (default 2e-4)")
    train.add_argument("--lr-d", type=float, help="D's Adam learning rate (default 2e-4)")
    train.add_argument("--beta1", type=float, help="Adam beta1 (default 0.5)")
    train.add_argument("--ema-decay", type=float, help="EMA decay of G's weights (default 0.999; 0 off)")
    train.add_argument("--diffaugment", help="DiffAugment policy, e.g. color,translation,cutout (default off)")
    train.add_argument("--label-smoothing", type=float, help="one-sided: D's target for real images is 1 minus this "
                                                              "(default 0)")
    train.add_argument("--instance-noise", type=float, help="std of Gaussian noise added to every image D sees, "
                                                             "on the [-1, 1] scale (default 0)")
    train.add_argument("--g-steps", type=int, help="G updates per D update (default 1)")
    train.add_argument("--lr-decay", type=float, metavar="SHARE",
                       help="both learning rates fall linearly to 0 over this last share of the run (its steps, "
                            "or --max-minutes if that ends it first; default 0: constant)")
    train.add_argument("--flip", action="store_true", default=None, help="random horizontal flips")
    train.add_argument("--seed", type=int, help="default 0")
    train.add_argument("--device", help="auto (default), cpu, cuda, cuda:1, mps (under torchrun: cuda:LOCAL_RANK)")
    train.add_argument("--sync-batchnorm", action="store_true", default=None,
                       help="with several ranks, BatchNorm statistics over the global batch (default: each rank's rows)")
    train.add_argument("--dist-timeout", type=float, metavar="SECONDS",
                       help="how long a rank waits for the others before the run fails (default 300)")
    train.add_argument("--compile", choices=("auto", "off", "default", "reduce-overhead", "max-autotune"),
                       help="torch.compile G and D (default auto: CUDA graphs, reduce-overhead, for one CUDA "
                            "process; off on CPUs and under torchrun)")
    train.add_argument("--log-every", type=int, help="steps per log record (default 100)")
    train.add_argument("--sample-every", type=int, help="steps per sample grid (default 1000)")
    train.add_argument("--checkpoint-every", type=int, help="steps per checkpoint (default 1000)")
    release = p.add_argument_group("release")
    release.add_argument("--export", metavar="FOLDER", help="write the release folder here when done")
    release.add_argument("--half", action="store_true", help="store exported weights as float16")
    release.add_argument("--push-to-hub", metavar="REPO_ID", help="upload the exported folder (private repo)")
    return p.parse_args(argv)


MODEL_FLAGS = {"image_size": "image_size", "channels": "channels", "nz": "nz", "g_width": "g_width",
               "d_width": "d_width", "spectral_norm": "d_spectral_norm", "name": "name"}


def given(args, names) -> dict:
    return {name: getattr(args, name) for name in names if getattr(args, name, None) is not None}


def build(args) -> tuple[GANConfig, TrainConfig, Path | None]:
    train_fields = [f.name for f in dataclasses.fields(TrainConfig)]
    checkpoint = None
    if args.resume:
        checkpoint = Path(args.resume)
        if checkpoint.is_dir():
            checkpoint = checkpoint / CHECKPOINT_NAME
        model, saved = read_checkpoint_configs(checkpoint)
        out = args.out or str(checkpoint.parent)  # the folder given, not the one the checkpoint recorded
        opts = TrainConfig(**{**saved, **given(args, train_fields), "out": out})
        return model, opts, checkpoint
    if args.init_from:  # the release's config; D's own flags may give G a new D
        d_flags = {MODEL_FLAGS[k]: v for k, v in given(args, ("d_width", "spectral_norm")).items()}
        model = dataclasses.replace(read_config(args.init_from), **d_flags)
    else:
        model = GANConfig(**{MODEL_FLAGS[k]: v for k, v in given(args, MODEL_FLAGS).items()})
    opts = TrainConfig(**given(args, train_fields))
    if args.dry_run:
        opts = dataclasses.replace(opts, steps=args.steps or 2, log_every=1, sample_every=args.steps or 2)
    elif not opts.data:
        raise SystemExit("train.py: give --data (or --resume RUN, or --dry-run)")
    return model, opts, checkpoint


def push_to_hub(folder: Path, repo_id: str) -> None:
    from huggingface_hub import HfApi

    api = HfApi()
    api.create_repo(repo_id, private=True, exist_ok=True)  # data terms may forbid publishing: private
    api.upload_folder(repo_id=repo_id, folder_path=str(folder), commit_message="Upload DCGAN checkpoint")
    print(f"pushed {folder} to https://huggingface.co/{repo_id} (private)")


def elastic_resume(args, ranks: Ranks) -> None:
    """After torchrun restarts a failed run (--max-restarts), carry on from its last checkpoint."""
    restarts = int(os.environ.get("TORCHELASTIC_RESTART_COUNT", "0"))
    if restarts and not args.resume and not args.init_from:
        checkpoint = Path(args.out or "runs/dcgan") / CHECKPOINT_NAME
        if checkpoint.is_file():
            args.resume = str(checkpoint)
            if ranks.main:
                print(f"elastic restart {restarts}: resuming from {checkpoint}", flush=True)


def main(argv=None) -> int:
    args = parse_args(argv)
    try:
        ranks = Ranks.from_env()
    except ValueError as err:
        print(f"train.py: {err}", file=sys.stderr)
        return 2
    say = print if ranks.main else (lambda *a, **k: None)
    elastic_resume(args, ranks)
    try:
        model, opts, checkpoint = build(args)
        if not opts.data:  # a dry run, or the resumption of one
            images = synthetic_images(max(4 * opts.batch_size, 64), model.image_size, model.channels, opts.seed)
        else:
            images = load_training_data(model, opts, ranks)
        trainer = Trainer(model, opts, images, ranks)
        if checkpoint:
            load_checkpoint(trainer, checkpoint)
        elif args.init_from and not init_from_release(trainer, args.init_from):
            say(f"G from {args.init_from}; D is new (built differently from the release's)", flush=True)
    except (DataError, CheckpointError, ValueError, OSError) as err:
        print(f"train.py: {err}", file=sys.stderr)
        distributed.stop()
        return 2
    except (MemoryError, RuntimeError) as err:
        if not out_of_memory(err):
            raise
        print(f"train.py: {out_of_memory(err)} while setting up batches of {args.batch_size}; "
              f"try a smaller --batch-size", file=sys.stderr)
        distributed.stop()
        return 2
    streamed = "streamed by DataLoader workers" if isinstance(trainer.batches, StreamedBatches) else "in memory"
    on = f"{ranks.world} ranks ({dist.get_backend()}), {opts.batch_size // ranks.world} images each a step; " \
        if ranks.distributed else ""
    say(f"{len(trainer.batches)} images from {opts.data or 'synthetic data'} ({streamed}); {on}{trainer.device}; "
        f"step {trainer.step} -> {trainer.total_steps}; run folder {opts.out}", flush=True)
    signal.signal(signal.SIGTERM, lambda *_: (_ for _ in ()).throw(KeyboardInterrupt()))
    try:
        record = trainer.train()
        distributed.stop(together=True)
    except KeyboardInterrupt:
        if ranks.distributed:
            say(f"\nstopped at step {trainer.step} (another rank failed, or the job was stopped); "
                f"{last_checkpoint(trainer)}; resume with --resume {opts.out}", file=sys.stderr, flush=True)
            return 130
        print(f"\nstopped at step {trainer.step}; checkpoint saved; resume with --resume {opts.out}")
        return 130
    except (UserError, OSError) as err:  # a checkpoint or log that cannot be written (a full disk)
        print(f"\ntrain.py: stopped at step {trainer.step}: {err}; {last_checkpoint(trainer)}",
              file=sys.stderr, flush=True)
        return 1
    except (MemoryError, RuntimeError, dist.DistError) as err:  # a rank died or hung: the collective fails
        if out_of_memory(err):
            print(f"\ntrain.py: {out_of_memory(err)} at step {trainer.step} with batches of {opts.batch_size}; "
                  f"try a smaller --batch-size; {last_checkpoint(trainer)}", file=sys.stderr, flush=True)
            return 1
        if not ranks.distributed:
            raise
        first = (str(err).strip().splitlines() or [type(err).__name__])[0][:200]
        print(f"\ntrain.py: rank {ranks.rank} lost the other ranks at step {trainer.step} ({first}); "
              f"{last_checkpoint(trainer)}; resume with --resume {opts.out}", file=sys.stderr, flush=True)
        return 1
    finally:
        if ranks.distributed:
            distributed.stop()
    if not ranks.main:
        return 0
    print("last interval:", record)
    if args.export:
        try:
            folder = export_release(trainer, args.export, half=args.half)
        except (UserError, OSError) as err:
            print(f"train.py: the release was not written: {err}", file=sys.stderr)
            return 1
        print(f"exported {folder}")
        if args.push_to_hub:
            push_to_hub(folder, args.push_to_hub)
    elif args.push_to_hub:
        print("train.py: --push-to-hub needs --export FOLDER", file=sys.stderr)
        return 2
    return 0


def out_of_memory(err: BaseException) -> str:
    """"out of memory (...)" when `err` is an allocation failure (CPU or GPU), else ""."""
    text = str(err)
    if isinstance(err, (MemoryError, torch.OutOfMemoryError)) or "can't allocate memory" in text \
            or "out of memory" in text.lower():
        return f"out of memory ({(text.strip().splitlines() or [type(err).__name__])[0][:120]})"
    return ""


def last_checkpoint(trainer: Trainer) -> str:
    if trainer.ranks.main and trainer.checkpoint_step is not None:
        return f"the last checkpoint is step {trainer.checkpoint_step}"
    return "rank 0 keeps the last checkpoint"


if __name__ == "__main__":
    sys.exit(main())
