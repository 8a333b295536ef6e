"""Find a face in the generator: the z whose G(z) looks most like an aligned photo, then G tuned to it.

    found = invert(gan, crops, encoder)          # crops: uint8 [N, S, S, C], aligned (gan_core.photos.align)
    found.z, found.tuned                         # [N, nz] and each photo's tuned G (gan_core.photos.tuning)
    Face(z=found.z[0].tolist(), name="photo 1", tuned=found.tuned[0])  # edits like any face
    found.reconstructions, found.psnr            # the tuned G's version of each photo, and how close (dB)

The encoder's guess (milliseconds) starts an optimisation of z (Adam, a bounded number of steps):
mean squared pixel error + the distance between D's features of G(z) and of the photo (a
perceptual loss from the model's own discriminator) + a prior keeping z on the shell where
N(0, I) lives, so the sliders and directions keep working on it. Without an encoder it starts
near the mean (z = 0 itself is a dead point of the shipped G: no first-layer unit is on there).

With `residual=True` a small offset on G's first feature map (4x4) is fitted beside z; it can
reconstruct more but is not z (see bench/inversion.py for whether it pays).

z alone tops out near 22 dB, a stranger by a face recognition model's measure, so by default the
last layers of G are then tuned to each photo around its z (pivotal tuning, gan_core.photos.tuning);
`Settings(tune=None)` stops at z. How alike a reconstruction is, in words, is the face recognition
model's call (gan_core.photos.likeness), not PSNR's.
"""
from __future__ import annotations

import math
import time
from dataclasses import dataclass
from typing import Callable

import numpy as np
import torch
import torch.nn.functional as F

from ..errors import UserError
from .encoder import Encoder, frozen, prior_loss
from .tuning import TuneSettings, Tuned, tune, generate as generate_tuned
from ..model.networks import GAN, from_uint8, to_uint8

MAX_STEPS = 300
MAX_BATCH = 16          # photos inverted at once
WORDS = ((24.0, "close"), (20.0, "fair"), (0.0, "rough"))  # PSNR (dB) from which each word applies
MEAN_START = 0.1        # without an encoder, start at z = 0.1 x N(0, I) (seed 0): near the mean, not on it


@dataclass
class Settings:
    steps: int = 0               # Adam steps on z (0: the encoder's guess alone: tuning G does the rest,
                                 # as well from it as from 30 steps on, in half the time; bench/inversion.py)
    lr: float = 0.08             # Adam's step size on z (best of 0.04-0.16 from the encoder's guess)
    perceptual: float = 0.5      # weight of D's feature distance
    prior: float = 0.05          # weight of the prior on |z|
    residual: bool = False       # also fit an offset on G's first feature map
    tune: TuneSettings | None = TuneSettings()  # then tune G's last layers to each photo (None: z alone)


@dataclass
class Inversion:
    z: torch.Tensor                     # [N, nz], on the CPU
    reconstructions: np.ndarray         # uint8 [N, S, S, C]: G(z) (tuned, or plus the residual, if so)
    psnr: list[float]                   # of each reconstruction against its photo, dB
    seconds: float                      # time taken
    residual: torch.Tensor | None = None  # [N, C0, 4, 4] when fitted
    tuned: list[Tuned] | None = None    # each photo's tuned G, when tuned


def psnr(a: np.ndarray, b: np.ndarray) -> float:
    mse = float(np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2))
    return 99.0 if mse == 0 else 10 * math.log10(255.0 ** 2 / mse)


def describe(value: float) -> str:
    """A reconstruction's PSNR in a word: "close", "fair" or "rough"."""
    return next(word for floor, word in WORDS if value >= floor)


def generate(gan: GAN, z: torch.Tensor, residual: torch.Tensor | None = None) -> torch.Tensor:
    """G(z) in [-1, 1], with `residual` added to its first feature map (after its ReLU)."""
    if residual is None:
        return gan.G(z)
    h = gan.G.main[:3](z.view(len(z), -1, 1, 1)) + residual
    return gan.G.main[3:](h)


def invert(gan: GAN, images: np.ndarray, encoder: Encoder | None = None, settings: Settings = Settings(),
           progress: Callable[[float], None] | None = None) -> Inversion:
    """z for each aligned photo (uint8 [N, S, S, C], the model's size)."""
    cfg = gan.config
    images = np.asarray(images)
    if images.ndim != 4 or images.shape[1:] != (cfg.image_size, cfg.image_size, cfg.channels):
        raise UserError("invert_shape", size=cfg.image_size, channels=cfg.channels)
    if not 1 <= len(images) <= MAX_BATCH:
        raise UserError("invert_count", max=MAX_BATCH, got=len(images))
    if not 0 <= settings.steps <= MAX_STEPS:
        raise UserError("invert_steps", max=MAX_STEPS, got=settings.steps)
    if settings.steps and gan.D is None:
        settings = Settings(**{**settings.__dict__, "perceptual": 0.0})
    start = time.perf_counter()
    frozen(gan)
    target = from_uint8(images, gan.device)
    if encoder is not None:
        z0 = encoder.encode(images).to(gan.device)
    else:  # near the mean: z = 0 itself can be a dead point (no first-layer unit on, no gradient)
        z0 = MEAN_START * torch.randn(len(images), cfg.nz, generator=torch.Generator().manual_seed(0)).to(gan.device)
    residual = None
    # the share of the work done by the steps on z (progress): a tuning step costs about a quarter of one
    tuning = settings.tune.steps * len(images) / 4 if settings.tune else 0
    share = settings.steps * len(images) / max(settings.steps * len(images) + tuning, 1)
    with torch.inference_mode(False), torch.enable_grad():
        z = z0.clone().requires_grad_(True)
        params = [z]
        if settings.residual:
            width = gan.G.main[0].out_channels
            residual = torch.zeros(len(images), width, 4, 4, device=gan.device, requires_grad=True)
            params.append(residual)
        optimizer = torch.optim.Adam(params, lr=settings.lr)
        target_features = [f.detach() for f in gan.D.features(target)] if settings.perceptual else None
        for step in range(settings.steps):
            fake = generate(gan, z, residual)
            loss = F.mse_loss(fake, target) + settings.prior * prior_loss(z)
            if settings.perceptual:
                loss = loss + settings.perceptual * sum(
                    F.mse_loss(a, b) for a, b in zip(gan.D.features(fake)[:3], target_features[:3])) / 3
            if residual is not None:
                loss = loss + 0.01 * residual.pow(2).mean()
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            if progress:
                progress(share * (step + 1) / settings.steps)
        z = z.detach()
        residual = residual.detach() if residual is not None else None
    tuned = None
    if settings.tune and settings.tune.steps:
        tuned = []
        for i, (crop, zi) in enumerate(zip(images, z)):
            done = share + (1 - share) * i / len(images)
            tuned.append(tune(gan, crop, zi, settings.tune, progress and (
                lambda f, done=done: progress(done + (1 - share) * f / len(images)))))
    with torch.inference_mode():
        if tuned:
            out = generate_tuned(gan, z, tuned)
        else:
            out = to_uint8(generate(gan, z, residual))
    return Inversion(z.cpu(), out, [psnr(a, b) for a, b in zip(out, images)], time.perf_counter() - start,
                     residual.cpu() if residual is not None else None, tuned)

