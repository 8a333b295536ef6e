"""How a training run goes: the settings train.py's flags fill, checked when made.

    opts = TrainConfig(data="faces.zip", out="runs/faces", steps=20000, diffaugment="color,translation,cutout")

A checkpoint stores them (gan_core.training.resume), so `train.py --resume` carries on with the same ones.
"""
from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass

from .augment import check_policy
from ..errors import UserError

STREAM_MODES = ("auto", "on", "off")
COMPILE_MODES = ("auto", "off", "default", "reduce-overhead", "max-autotune")
MAX_BATCH_SIZE = 8192  # images per step, over all ranks


@dataclass
class TrainConfig:
    data: str = ""                # training images: zip, folder or torchvision name
    out: str = "runs/dcgan"       # run folder: log, sample grids, checkpoint
    split: str | None = "auto"    # metadata.csv split ("auto": `train` if there is one)
    limit: int | None = None      # use only the first N images
    stream: str = "auto"          # decode batch by batch in DataLoader workers: "on", "off", or "auto":
    memory_budget_gb: float = 4.0  # ... when decoding the data on every rank of a machine would pass this
    workers: int = 2              # DataLoader worker processes per rank when streaming
    steps: int = 0                # optimisation steps (0: from epochs)
    epochs: float = 5.0           # passes over the data, when steps is 0
    max_minutes: float = 0.0      # also stop after this much training time (0: no limit)
    batch_size: int = 128         # the global batch: each of N ranks takes batch_size / N of it
    lr_g: float = 2e-4            # Adam learning rates, as in the paper
    lr_d: float = 2e-4
    beta1: float = 0.5
    beta2: float = 0.999
    ema_decay: float = 0.999      # EMA of G's weights (what gets shipped); 0 turns it off
    diffaugment: str = ""         # e.g. "color,translation,cutout"; "" is off
    label_smoothing: float = 0.0  # one-sided: D's target for real images is 1 - this
    instance_noise: float = 0.0   # std of Gaussian noise added to every image D sees ([-1, 1] scale)
    g_steps: int = 1              # G updates per D update
    lr_decay: float = 0.0         # the last share of the run (of its steps, or of its time budget if that ends
                                  # it first) over which both learning rates fall linearly to 0; 0: constant
    flip: bool = False            # random horizontal flips of the training images
    seed: int = 0
    device: str = "auto"
    channels_last: bool = True    # faster convolutions on CPU and GPU
    sync_batchnorm: bool = False  # with several ranks, BatchNorm over the global batch, not each rank's rows
    dist_timeout: float = 300.0   # seconds a rank waits for the others before the run fails
    compile: str = "auto"         # torch.compile G and D: "default", "reduce-overhead" (CUDA graphs), "max-autotune",
                                  # "off", or "auto": reduce-overhead for one CUDA process (1.39x the step), else off
    log_every: int = 100          # steps per JSONL record and bar update
    sample_every: int = 1000      # steps per fixed-noise grid
    checkpoint_every: int = 1000  # steps per resumable checkpoint

    def __post_init__(self):
        kinds = {"str": (str,), "int": (int,), "float": (int, float), "bool": (bool,), "None": (type(None),)}
        for f in dataclasses.fields(self):  # the annotations, e.g. "int | None", say what each takes
            value, allowed = getattr(self, f.name), [k.strip() for k in f.type.split("|")]
            if not any(isinstance(value, kinds[k]) and (k == "bool" or not isinstance(value, bool))
                       and (k != "float" or math.isfinite(value)) for k in allowed):
                raise UserError("option_type", name=f.name, allowed=" or ".join(allowed), got=repr(value)[:40])
        check_policy(self.diffaugment)
        if self.stream not in STREAM_MODES:
            raise UserError("option_stream", modes=str(STREAM_MODES))
        if self.compile not in COMPILE_MODES:
            raise UserError("option_compile", modes=str(COMPILE_MODES))
        if self.workers < 0:
            raise UserError("option_not_negative", key="workers")
        for key in ("memory_budget_gb", "dist_timeout"):
            if getattr(self, key) <= 0:
                raise UserError("option_positive", key=key)
        for key in ("batch_size", "log_every", "sample_every", "checkpoint_every", "g_steps"):
            if getattr(self, key) < 1:
                raise UserError("option_at_least_one", key=key)
        if self.batch_size > MAX_BATCH_SIZE:  # far past any GPU's memory at 64x64: a typo, not a plan
            raise UserError("option_at_most", key="batch_size", max=MAX_BATCH_SIZE)
        if self.limit is not None and self.limit < 1:
            raise UserError("option_at_least_one", key="limit")
        for key in ("steps", "epochs", "max_minutes"):
            if getattr(self, key) < 0:
                raise UserError("option_not_negative", key=key)
        for key in ("lr_g", "lr_d"):
            if getattr(self, key) <= 0:
                raise UserError("option_positive", key=key)
        if not 0 <= self.lr_decay <= 1:
            raise UserError("option_unit_closed", key="lr_decay")
        for key in ("beta1", "beta2", "ema_decay", "label_smoothing"):
            if not 0 <= getattr(self, key) < 1:
                raise UserError("option_unit", key=key)
        if not 0 <= self.instance_noise <= 2:
            raise UserError("option_instance_noise")
