"""Vector arithmetic on faces, as in the DCGAN paper (Radford et al. 2015, Section 6.3):
mean z of concept A - mean z of B + mean z of C, e.g. man with glasses - man + woman."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from .latent import z_from_seeds
from .models import GAN

MAX_EXEMPLARS = 3


@dataclass
class FaceMath:
    result: np.ndarray        # G(mean(A) - mean(B) + mean(C)), [H, W, C]
    neighbours: np.ndarray    # 9 faces: the result's z plus uniform noise (the centre is the result)
    pixels: np.ndarray        # the same arithmetic on the exemplars' pixels, for contrast
    concepts: list[np.ndarray]  # the exemplar faces of A, B and C


def concept_z(seeds: list[int], nz: int, name: str = "concept") -> torch.Tensor:
    """The mean z of a concept's 1 to 3 exemplar seeds."""
    seeds = list(seeds)
    if not 1 <= len(seeds) <= MAX_EXEMPLARS:
        raise ValueError(f"{name} needs 1 to {MAX_EXEMPLARS} exemplar faces, got {len(seeds)}")
    return z_from_seeds(seeds, nz).mean(dim=0)


def face_math(gan: GAN, a: list[int], b: list[int], c: list[int], noise: float = 0.25,
              seed: int = 0) -> FaceMath:
    """A - B + C in z (and, for contrast, in pixels), with a 3x3 grid of noisy neighbours."""
    nz = gan.config.nz
    za, zb, zc = (concept_z(s, nz, n) for s, n in ((a, "A"), (b, "B"), (c, "C")))
    z = za - zb + zc
    generator = torch.Generator().manual_seed(seed)
    jitter = (torch.rand(9, nz, generator=generator) * 2 - 1) * noise  # uniform in [-noise, noise]
    jitter[4] = 0  # the centre of the grid is the result itself
    exemplar_z = [z_from_seeds(s, nz) for s in (a, b, c)]
    faces = gan.generate(torch.cat([z[None], z + jitter, *exemplar_z]))  # one batch for everything
    bounds = np.cumsum([10] + [len(e) for e in exemplar_z])
    exemplars = [faces[start:stop] for start, stop in zip(bounds[:-1], bounds[1:])]
    means = [e.astype(np.float32).mean(axis=0) for e in exemplars]
    pixels = np.clip(means[0] - means[1] + means[2], 0, 255).round().astype(np.uint8)
    return FaceMath(faces[0], faces[1:10], pixels, exemplars)
