"""A tiny training run for tests/test_distributed.py, as one process or one torchrun rank:

    $ torchrun --nproc_per_node=2 tests/ddp_worker.py OUT STEPS [--sync-batchnorm] [--seed N]

Each rank writes its own weights to OUT/rank{R}.safetensors and the run's records to
OUT/records{R}.json; rank 0 also writes the run folder OUT/run and the release OUT/export, as
train.py would."""
import argparse
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from safetensors.torch import save_file  # noqa: E402

from gan_core.training import distributed  # noqa: E402
from gan_core.model.config import GANConfig  # noqa: E402
from gan_core.data.images import synthetic_images  # noqa: E402
from gan_core.training.distributed import Ranks  # noqa: E402
from gan_core.training.export import export_release  # noqa: E402
from gan_core.training.loop import TrainConfig, Trainer  # noqa: E402

TINY = GANConfig(image_size=32, channels=3, nz=16, g_width=8, d_width=8)

p = argparse.ArgumentParser()
p.add_argument("out")
p.add_argument("steps", type=int)
p.add_argument("--sync-batchnorm", action="store_true")
p.add_argument("--seed", type=int, default=3)
args = p.parse_args()
out = Path(args.out)
ranks = Ranks.from_env()
opts = TrainConfig(out=str(out / "run"), batch_size=16, device="cpu", steps=args.steps, log_every=1,
                   sample_every=1000, checkpoint_every=1000, seed=args.seed, sync_batchnorm=args.sync_batchnorm,
                   diffaugment="color,translation,cutout", flip=True, instance_noise=0.1, dist_timeout=60)
trainer = Trainer(TINY, opts, synthetic_images(64, 32, 3, seed=1), ranks)
records = []
trainer.train(progress=False, on_record=records.append)
out.mkdir(parents=True, exist_ok=True)
save_file({f"{name}.{k}": v.detach().contiguous() for name in ("G", "D", "G_ema")
           for k, v in getattr(trainer, name).state_dict().items()}, str(out / f"rank{ranks.rank}.safetensors"))
(out / f"records{ranks.rank}.json").write_text(json.dumps(records))
if ranks.main:
    export_release(trainer, out / "export")  # the EMA generator with its BatchNorm statistics recalibrated
distributed.stop(together=True)
