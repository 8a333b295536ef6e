"""The release folder of a training run: what gets shipped, loaded by gan_core.model.checkpoints.load_gan.

    export_release(trainer, "checkpoints/faces")             # after trainer.train()
    export_release(trainer, "checkpoints/faces", half=True)  # weights stored as float16

It holds the config, the EMA generator (BatchNorm statistics recalibrated), the discriminator, the
model card (README.md), a sample grid (seeds 0-63), the training log and a few grids from along the run.
"""
from __future__ import annotations

import copy
import json
import math
import os
import shutil
import tempfile
from pathlib import Path

import torch

from ..errors import UserError
from ..model.checkpoints import CONFIG_NAME, save_gan
from ..data.media import load_image, make_grid, save_image, to_pil
from .model_card import model_card, write_card
from ..model.networks import to_uint8
from .loop import Trainer
from .run_log import LOG_NAME, RELEASE_LOG_NAME, read_log


def export_release(trainer: Trainer, folder: str | Path, half: bool = False, history: int = 8,
                   quality: dict | None = None) -> Path:
    """Write the release folder: config, EMA generator, discriminator, model card, sample
    grid, the training log and a few fixed-noise grids from along the run. It is written whole
    or not at all: built beside `folder`, then swapped in, so a failure (a full disk) leaves the
    previous release as it was. An existing release folder is replaced whole (extras fitted to the
    old G, such as directions, go with it); any other existing folder that is not empty is refused."""
    folder = Path(folder)
    if folder.exists() and not (folder.is_dir() and (not any(folder.iterdir()) or (folder / CONFIG_NAME).is_file())):
        raise UserError("export_not_release", name=folder.name)
    folder.parent.mkdir(parents=True, exist_ok=True)
    partial = Path(tempfile.mkdtemp(dir=folder.parent, prefix=f".{folder.name}.", suffix=".partial"))
    try:
        _write_release(trainer, partial, half, history, quality)
        partial.chmod(0o777 & ~_umask())  # as mkdir would have made it, not mkdtemp's 0700
        if folder.exists():
            old = folder.with_name(f".{folder.name}.{partial.name.split('.')[-2]}.old")
            folder.rename(old)
            partial.rename(folder)
            shutil.rmtree(old, ignore_errors=True)
        else:
            partial.rename(folder)
    except BaseException:
        shutil.rmtree(partial, ignore_errors=True)
        raise
    return folder


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def _write_release(trainer: Trainer, folder: Path, half: bool, history: int, quality: dict | None) -> None:
    G = trainer.shipped_generator()
    D = copy.deepcopy(trainer.D).to(memory_format=torch.contiguous_format).eval()
    save_gan(folder, trainer.model, G, D, half=half)
    with torch.no_grad():
        save_image(make_grid(to_uint8(G(trainer.fixed_z)), nrow=8), folder / "samples.png")
    records = read_log(trainer.out / LOG_NAME)
    if records:
        keep = records[:: max(1, math.ceil(len(records) / 500))]
        if keep[-1] is not records[-1]:
            keep.append(records[-1])
        (folder / RELEASE_LOG_NAME).write_text("".join(json.dumps(r) + "\n" for r in keep))
    grids = sorted((trainer.out / "samples").glob("step_*.png"))
    if grids and history:
        (folder / "history").mkdir(exist_ok=True)
        picks = sorted({grids[round(i * (len(grids) - 1) / max(1, history - 1))] for i in range(history)})
        for grid in picks:
            to_pil(load_image(grid)).save(folder / "history" / f"{grid.stem}.jpg", quality=85)
    write_card(folder, _card(trainer, records[-1] if records else {}, half, quality))


def _card(trainer: Trainer, last: dict, half: bool, quality: dict | None) -> str:
    """The model card of a release: the run's recipe, its data, its last logged losses."""
    opts = trainer.opts
    recipe = {"steps": trainer.step, "batch size": opts.batch_size, "images seen": trainer.step * opts.batch_size,
              "Adam lr G / D": f"{opts.lr_g} / {opts.lr_d}", "Adam betas": f"({opts.beta1}, {opts.beta2})",
              "EMA decay": opts.ema_decay, "DiffAugment": opts.diffaugment or "off",
              **({"label smoothing (one-sided)": opts.label_smoothing} if opts.label_smoothing else {}),
              **({"instance noise (std)": opts.instance_noise} if opts.instance_noise else {}),
              **({"G steps per D step": opts.g_steps} if opts.g_steps != 1 else {}),
              "horizontal flips": "on" if opts.flip else "off",
              "D spectral norm": "on" if trainer.model.d_spectral_norm else "off", "seed": opts.seed,
              "weights stored as": "float16" if half else "float32"}
    training = {"device": str(trainer.device), "training time": f"{trainer.seconds / 60:.1f} min",
                **{k: last[k] for k in ("loss_d", "loss_g", "d_real", "d_fake") if k in last}}
    first = f"the first {opts.limit}: " if opts.limit else ""
    data = f"{Path(opts.data).name} (split: {opts.split}, {first}{len(trainer.batches)} images)" if opts.data \
        else "synthetic (dry run)"
    return model_card(trainer.model, data, recipe, training, quality)
