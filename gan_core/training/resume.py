"""Resumable training: the checkpoint a run writes, the checks it passes before a run goes on from
it, and a run that starts from a release folder's weights.

    save_checkpoint(trainer)                        # runs/faces/checkpoint.safetensors
    load_checkpoint(trainer, "runs/faces/checkpoint.safetensors")   # CheckpointError before any change
    model, opts = read_checkpoint_configs(path)      # what train.py --resume rebuilds the Trainer from
    init_from_release(trainer, "checkpoints/celeba64")

The Trainer (gan_core.training.loop) writes checkpoints from its loop; train.py --resume reads them.
"""
from __future__ import annotations

import dataclasses
import math
from pathlib import Path
from typing import Protocol

import torch

from ..model.checkpoints import (DISCRIMINATOR_NAME, GENERATOR_NAME, CheckpointError, load_tensors, load_weights,
                          read_config, save_tensors)
from ..model.config import ConfigError, GANConfig
from ..errors import Phrase, UserError, phrase_of
from .config import TrainConfig

CHECKPOINT_NAME = "checkpoint.safetensors"
IMPLEMENTATION = ("fused", "foreach", "capturable", "differentiable")  # how Adam runs, not what it computes


class Run(Protocol):
    """What a checkpoint holds of a run: a gan_core.training.loop.Trainer is one."""
    model: GANConfig
    opts: TrainConfig
    G: torch.nn.Module
    D: torch.nn.Module
    G_ema: torch.nn.Module
    opt_g: torch.optim.Optimizer
    opt_d: torch.optim.Optimizer
    rng: torch.Generator          # z, flips, augmentation
    step: int
    seconds: float                # training time so far
    out: Path                     # the run folder


def save_checkpoint(trainer: Run, path: str | Path | None = None) -> Path:
    """Everything a run needs to go on (weights, optimizers, RNG, step, training time, its model
    and options) in one safetensors file, by default the run folder's checkpoint.safetensors."""
    path = Path(path) if path else trainer.out / CHECKPOINT_NAME
    tensors = {}
    for prefix, module in (("G", trainer.G), ("D", trainer.D), ("G_ema", trainer.G_ema)):
        tensors.update({f"{prefix}.{k}": v for k, v in module.state_dict().items()})
    opt_g, groups_g = _flatten_optimizer("opt_g", trainer.opt_g)
    opt_d, groups_d = _flatten_optimizer("opt_d", trainer.opt_d)
    tensors.update(opt_g)
    tensors.update(opt_d)
    tensors["rng"] = trainer.rng.get_state()
    meta = {"step": trainer.step, "seconds": trainer.seconds, "model": trainer.model.to_dict(),
            "train": dataclasses.asdict(trainer.opts), "opt_g_groups": groups_g, "opt_d_groups": groups_d}
    save_tensors(path, tensors, meta)
    return path


D_FIELDS = ("d_width", "d_spectral_norm")  # a run may start G from a release and give it a new D


def init_from_release(trainer: Run, folder: str | Path) -> bool:
    """Start from a release folder's weights (its EMA G for G and G_ema, its D for D), with
    fresh optimizers: how a shipped model goes on training where only its release survives.
    A run whose D is built differently (D_FIELDS) takes G alone and trains a fresh D against it
    (e.g. a stronger D to polish a shipped G). Returns whether D came from the release too."""
    folder = Path(folder)
    config = read_config(folder)
    ours, theirs = ({**c.to_dict(), "name": ""} for c in (trainer.model, config))
    same_d = all(ours[k] == theirs[k] for k in D_FIELDS)
    if {k: v for k, v in ours.items() if k not in D_FIELDS} != {k: v for k, v in theirs.items() if k not in D_FIELDS}:
        raise CheckpointError("release_config_differs", folder=str(folder), config=config.to_dict())
    load_weights(trainer.G, folder / GENERATOR_NAME)
    if same_d:
        load_weights(trainer.D, folder / DISCRIMINATOR_NAME)
    trainer.G_ema.load_state_dict(trainer.G.state_dict())
    return same_d


def load_checkpoint(trainer: Run, path: str | Path) -> None:
    """Continue from a checkpoint of save_checkpoint: weights, optimizers, RNG, step. Anything
    missing, corrupt or saved for another model is a CheckpointError, raised before any change."""
    tensors, meta = load_tensors(path)
    meta = _training_meta(path, meta)
    if meta["model"] != trainer.model.to_dict():
        raise CheckpointError("saved_for_model", path=str(path), saved=meta["model"], model=trainer.model.to_dict())

    def bad(what: str, **params):
        return CheckpointError("not_usable_checkpoint", Phrase("reason_not_training"), path=str(path),
                               what=Phrase(what, **params))

    states = {}
    for prefix, module in (("G", trainer.G), ("D", trainer.D), ("G_ema", trainer.G_ema)):
        state = {k[len(prefix) + 1:]: v for k, v in tensors.items() if k.startswith(prefix + ".")}
        expected = module.state_dict()
        if state.keys() != expected.keys() or any(state[k].shape != v.shape for k, v in expected.items()):
            raise bad("bad_weights", prefix=prefix)
        states[prefix] = state
    optimizers = {}
    for prefix, optimizer in (("opt_g", trainer.opt_g), ("opt_d", trainer.opt_d)):
        try:
            optimizers[prefix] = _unflatten_optimizer(prefix, tensors, meta[f"{prefix}_groups"])
        except ValueError:
            raise bad("bad_tensor_names", prefix=prefix) from None
        problem = _optimizer_problem(optimizers[prefix], optimizer, meta["step"])
        if problem:
            raise bad("bad_optimizer", prefix=prefix, problem=problem)
    rng = tensors.get("rng")
    if rng is None or rng.dtype != torch.uint8 or rng.shape != trainer.rng.get_state().shape:
        raise bad("bad_rng")
    for prefix, module in (("G", trainer.G), ("D", trainer.D), ("G_ema", trainer.G_ema)):
        module.load_state_dict(states[prefix])
    for prefix, optimizer in (("opt_g", trainer.opt_g), ("opt_d", trainer.opt_d)):
        for group, own in zip(optimizers[prefix]["param_groups"], optimizer.param_groups):
            group.update({k: own[k] for k in IMPLEMENTATION if k in own})  # this device's kernels, not the saver's
        optimizer.load_state_dict(optimizers[prefix])
    trainer.rng.set_state(rng)
    trainer.step, trainer.seconds = meta["step"], float(meta.get("seconds", 0.0))


def _training_meta(path, meta: dict) -> dict:
    """A checkpoint's metadata once its keys and types are right; a CheckpointError otherwise."""
    def bad(what: str, **params):
        return CheckpointError("not_training_checkpoint", Phrase("reason_not_training"), path=str(path),
                               what=Phrase(what, **params))

    for key, kind in (("model", dict), ("train", dict), ("opt_g_groups", list), ("opt_d_groups", list)):
        if key not in meta:
            raise bad("meta_missing", key=key)
        if not isinstance(meta[key], kind):
            raise bad("meta_not_object" if kind is dict else "meta_not_list", key=key)
    step, seconds = meta.get("step"), meta.get("seconds", 0.0)
    if isinstance(step, bool) or not isinstance(step, int) or step < 0:
        raise bad("meta_step")
    if isinstance(seconds, bool) or not isinstance(seconds, (int, float)) or not 0 <= seconds < float("inf"):
        raise bad("meta_seconds")
    return meta


def _optimizer_problem(saved: dict, optimizer: torch.optim.Optimizer, step: int) -> Phrase | None:
    """What keeps a saved optimizer state from fitting `optimizer` (None if nothing). After the
    first step every parameter has its state (Adam's moments), all with the same slots: a state
    with some or all of them missing would resume with moments silently reset."""
    ours = optimizer.state_dict()["param_groups"]  # params numbered 0..n-1, as they are saved
    if len(saved["param_groups"]) != len(ours) or any(
            not isinstance(group, dict) or group.get("params") != own["params"]
            for group, own in zip(saved["param_groups"], ours)):
        return Phrase("optimizer_groups")
    for group, own in zip(saved["param_groups"], ours):
        for key, value in group.items():
            if key != "params" and key not in IMPLEMENTATION and key in own and not _like(value, own[key]):
                return Phrase("optimizer_setting", key=key)
    params = [p for group in optimizer.param_groups for p in group["params"]]
    for index, slots in saved["state"].items():
        if not 0 <= index < len(params):
            return Phrase("optimizer_state")
        for key, value in slots.items():
            if (value.numel() != 1) if key == "step" else (value.shape != params[index].shape):
                return Phrase("optimizer_slot", key=key)
    if step > 0:
        slots = {frozenset(s) for s in saved["state"].values()}
        if len(saved["state"]) != len(params) or len(slots) != 1 or not next(iter(slots)):
            return Phrase("optimizer_missing", saved=len(saved["state"]), params=len(params))
    return None


def _like(value, own) -> bool:
    """Whether a saved optimizer setting can stand for ours: the same flags, finite numbers."""
    if own is None:
        return value is None or isinstance(value, bool)
    if isinstance(own, bool):
        return value is own
    if isinstance(own, (int, float)):
        return not isinstance(value, bool) and isinstance(value, (int, float)) and math.isfinite(value)
    if isinstance(own, (tuple, list)):
        return isinstance(value, list) and len(value) == len(own) and all(map(_like, value, own))
    return True


def read_checkpoint_configs(path: str | Path) -> tuple[GANConfig, dict]:
    """The model config and the training options a checkpoint was saved with (CheckpointError
    if the checkpoint or either of them is not valid)."""
    _, meta = load_tensors(path)
    meta = _training_meta(path, meta)
    try:
        model = GANConfig.from_dict(meta["model"])
    except ConfigError as err:
        raise CheckpointError("not_training_checkpoint", Phrase("reason_not_training"), path=str(path),
                              what=Phrase("its_model_config", error=phrase_of(err))) from None
    known = {f.name for f in dataclasses.fields(TrainConfig)}
    unknown = sorted(set(meta["train"]) - known)
    if unknown:
        raise CheckpointError("not_training_checkpoint", Phrase("reason_not_training"), path=str(path),
                              what=Phrase("unknown_options", options=str(unknown[:5])))
    try:
        TrainConfig(**meta["train"])
    except UserError as err:
        raise CheckpointError("not_training_checkpoint", Phrase("reason_not_training"), path=str(path),
                              what=Phrase("its_options", error=phrase_of(err))) from None
    return model, dict(meta["train"])


def _flatten_optimizer(prefix: str, optimizer: torch.optim.Optimizer) -> tuple[dict, list]:
    state = optimizer.state_dict()
    tensors = {f"{prefix}.{index}.{key}": value for index, slots in state["state"].items()
               for key, value in slots.items()}
    return tensors, state["param_groups"]


def _unflatten_optimizer(prefix: str, tensors: dict, param_groups: list) -> dict:
    state: dict[int, dict] = {}
    for name, value in tensors.items():
        if name.startswith(prefix + "."):
            index, key = name[len(prefix) + 1:].split(".", 1)
            state.setdefault(int(index), {})[key] = value
    return {"state": state, "param_groups": param_groups}
