"""D polishes faces: a few steps of a face's z towards what the discriminator calls real.

    z = truncate(z_from_seeds(range(16), nz), 0.8)
    polished = polish(gan, z)                        # steps=DEFAULT_STEPS, step_size=DEFAULT_STEP_SIZE
    polished.z, polished.logits_before, polished.logits_after
    images = gan.generate(polished.z)

Discriminator Driven Latent Sampling (Che et al. 2020) samples from p(z) exp(logit D(G(z))): the
prior of z reweighted by what D says, by Langevin steps on the energy E(z) = ||z||^2 / 2 - logit D(G(z)).
Here the steps stay on the sphere of the starting z's norm: z's prior N(0, I) has the same density
everywhere on a sphere, so there the prior's term ||z||^2 / 2 is constant, its gradient (radial)
drops out, and only D's pull remains. So polishing keeps each z's norm exactly, which is what
keeps it in the prior's typical set (for z ~ N(0, I) the norm sits at sqrt(nz) +- 0.7) and what
keeps the studio's truncation: a z truncated to psi keeps its (smaller) norm, so the polished face
is no less and no more truncated than the one it came from.

Each step moves z by `step_size` (in units of z, along the sphere) up the gradient of D's logit,
projected onto the sphere's tangent and normalised per face, so no step is larger than asked, then
adds `noise` * sqrt(2 * step_size) of Gaussian noise (Langevin's, from a private generator seeded by
`seed`: the same inputs give the same faces), and goes back onto the sphere. With noise 0 it is the
deterministic "gradient flow" limit of DDLS (close to Tanaka 2019's optimal transport step, with the
sphere in place of its distance penalty). Each face moves on its own: G and D run in eval mode, so a
face does not depend on the rest of its batch.

Nothing changes the model; gradients come from torch.autograd.grad, and the function works inside
the app's torch.inference_mode() and on the model's device. The defaults come from bench/polish.py
(see the faces model card, "D polishes faces").
"""
from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np
import torch

from ..analysis.teacher import _autograd, _discriminator
from ..errors import UserError
from ..model.networks import GAN

MAX_STEPS = 50
MAX_STEP_SIZE = 1.0        # z units per step (z ~ N(0, I): its norm is about sqrt(nz))
MAX_NOISE = 1.0
MAX_FACES = 256            # faces in one call
DEFAULT_STEPS = 10
DEFAULT_STEP_SIZE = 0.3
DEFAULT_NOISE = 0.0


class Polished(NamedTuple):
    z: torch.Tensor              # [N, nz] the polished latents, on the model's device
    logits_before: torch.Tensor  # [N] D's logit of each starting face
    logits_after: torch.Tensor   # [N] and of each polished face


def _within(value, low: float, high: float, whole: bool = False, above: bool = False) -> float | None:
    """`value` as a number within [low, high] (above: > low), a whole one if `whole`; else None."""
    if isinstance(value, bool):
        return None
    try:
        number = float(value)
    except (TypeError, ValueError, OverflowError):
        return None
    ok = math.isfinite(number) and (number > low if above else number >= low) and number <= high
    return number if ok and (not whole or number == int(number)) else None


def check_settings(steps, step_size, noise) -> tuple[int, float, float]:
    """(steps, step_size, noise) within their bounds, or a UserError that says which is wrong."""
    checked_steps = _within(steps, 0, MAX_STEPS, whole=True)
    if checked_steps is None:
        raise UserError("polish_steps", max=MAX_STEPS, got=str(steps)[:40])
    checked_size = _within(step_size, 0.0, MAX_STEP_SIZE, above=True)
    if checked_size is None:
        raise UserError("polish_step_size", max=MAX_STEP_SIZE, got=str(step_size)[:40])
    checked_noise = _within(noise, 0.0, MAX_NOISE)
    if checked_noise is None:
        raise UserError("polish_noise", max=MAX_NOISE, got=str(noise)[:40])
    return int(checked_steps), checked_size, checked_noise


def _logits(gan: GAN, z: torch.Tensor) -> torch.Tensor:
    return gan.D(gan.G(z)).flatten()


def polish(gan: GAN, z: torch.Tensor, steps: int = DEFAULT_STEPS, step_size: float = DEFAULT_STEP_SIZE,
           noise: float = DEFAULT_NOISE, seed: int = 0) -> Polished:
    """z [N, nz] (or [nz]) moved `steps` steps towards what D calls real, each z on the sphere of its
    own norm (see the module's docstring). Needs the model's discriminator."""
    steps, step_size, noise = check_settings(steps, step_size, noise)
    D, nz = _discriminator(gan), gan.config.nz
    gan.G.eval()
    z = torch.as_tensor(z)
    if z.numel() % nz or z.numel() == 0:
        raise ValueError(f"z must hold rows of {nz} numbers for this model, got {tuple(z.shape)}")
    if z.numel() // nz > MAX_FACES:
        raise UserError("polish_faces", max=MAX_FACES, got=z.numel() // nz)
    generator = torch.Generator().manual_seed(int(seed))
    with _autograd():
        z = z.detach().clone().reshape(-1, nz).float().to(gan.device)  # a normal tensor even from inference mode
        radius = z.norm(dim=1, keepdim=True)
        moving = radius[:, 0] > 1e-6  # the average face (z = 0) has no sphere to move on: it stays
        before = after = None
        for step in range(steps + 1):
            z.requires_grad_(True)
            logits = D(gan.G(z)).flatten()
            after = logits.detach()
            if before is None:
                before = after
            if step == steps:
                break
            (grad,) = torch.autograd.grad(logits.sum(), z)
            z = z.detach()
            tangent = grad - (grad * z).sum(1, keepdim=True) / radius.clamp_min(1e-6) ** 2 * z
            length = tangent.norm(dim=1, keepdim=True)
            moved = z + step_size * tangent / length.clamp_min(1e-12) * (length > 1e-12)
            if noise > 0:
                moved = moved + noise * math.sqrt(2 * step_size) * torch.randn(z.shape, generator=generator).to(z)
            moved = moved / moved.norm(dim=1, keepdim=True).clamp_min(1e-12) * radius
            z = torch.where(moving[:, None], moved, z)
        z = z.detach()
    return Polished(z, before, after)


def polished_latents(gan: GAN, z: torch.Tensor, steps: int = DEFAULT_STEPS, step_size: float = DEFAULT_STEP_SIZE,
                     noise: float = DEFAULT_NOISE, seed: int = 0, chunk: int = 64) -> torch.Tensor:
    """polish() over any number of faces, `chunk` at a time (for benchmarks); the latents [N, nz] on the CPU."""
    z = torch.as_tensor(z).reshape(-1, gan.config.nz)
    out = [polish(gan, part, steps, step_size, noise, seed + i).z.cpu() for i, part in enumerate(z.split(chunk))]
    return torch.cat(out) if out else z.clone()


def can_polish(gan: GAN) -> bool:
    """Whether the model shipped its discriminator (a Hub model may not have)."""
    return gan.D is not None


def polished_images(gan: GAN, z: torch.Tensor, steps: int = DEFAULT_STEPS, step_size: float = DEFAULT_STEP_SIZE,
                    noise: float = DEFAULT_NOISE, seed: int = 0) -> np.ndarray:
    """The faces of z [N, nz] after polishing, uint8 [N, H, W, C]."""
    return gan.generate(polish(gan, z, steps, step_size, noise, seed).z)
