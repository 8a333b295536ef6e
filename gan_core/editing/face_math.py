"""Vector arithmetic on faces, as in the DCGAN paper (Radford et al. 2015, Section 6.3):
mean z of concept A - mean z of B + mean z of C, e.g. man with glasses - man + woman."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import numpy as np
import torch

from ..errors import UserError
from ..model.latent import z_from_seeds
from ..model.networks import GAN
from ..photos.tuning import Tuned, generate, mix

MAX_EXEMPLARS = 3


@dataclass
class FaceMath:
    result: np.ndarray        # G(mean(A) - mean(B) + mean(C)), [H, W, C]
    neighbours: np.ndarray    # 9 faces: the result's z plus uniform noise (the centre is the result)
    pixels: np.ndarray        # the same arithmetic on the exemplars' pixels, for contrast
    concepts: list[np.ndarray]  # the exemplar faces of A, B and C


def check_concept(z: torch.Tensor, name: str = "concept") -> torch.Tensor:
    """A concept's exemplar latents [1 to 3, nz]."""
    if z.ndim != 2 or not 1 <= len(z) <= MAX_EXEMPLARS:
        raise UserError("exemplars", name=name, max=MAX_EXEMPLARS, got=len(z))
    return z


def face_math(gan: GAN, a: torch.Tensor, b: torch.Tensor, c: torch.Tensor, noise: float = 0.25,
              seed: int = 0, tuned: Sequence[Sequence[Tuned | None]] | None = None) -> FaceMath:
    """mean(a) - mean(b) + mean(c) in z (and, for contrast, in pixels), with a 3x3 grid of noisy
    neighbours; a, b and c are each concept's exemplar latents [1 to 3, nz] (z_from_seeds, or
    gan_core.editing.face.latents for edited faces and photos). `tuned`: for the three concepts,
    each exemplar's generator tuned to its photo (None: the shipped G); the result's generator is
    the same sum of their offsets, so a photo in C brings its likeness to the result."""
    nz = gan.config.nz
    exemplar_z = [check_concept(x.float().cpu(), n) for x, n in ((a, "A"), (b, "B"), (c, "C"))]
    za, zb, zc = (x.mean(dim=0) for x in exemplar_z)
    z = za - zb + zc
    generator = torch.Generator().manual_seed(seed)
    jitter = (torch.rand(9, nz, generator=generator) * 2 - 1) * noise  # uniform in [-noise, noise]
    jitter[4] = 0  # the centre of the grid is the result itself
    rows = None
    if tuned is not None:
        each = [list(t) if t is not None else [None] * len(x) for t, x in zip(tuned, exemplar_z)]
        weights = [w / len(x) for x, w in zip(exemplar_z, (1, -1, 1)) for _ in x]
        result = mix([t for ts in each for t in ts], weights)
        rows = [result] * 10 + [t for ts in each for t in ts]
    faces = generate(gan, torch.cat([z[None], z + jitter, *exemplar_z]), rows)  # one batch for everything
    bounds = np.cumsum([10] + [len(e) for e in exemplar_z])
    exemplars = [faces[start:stop] for start, stop in zip(bounds[:-1], bounds[1:])]
    means = [e.astype(np.float32).mean(axis=0) for e in exemplars]
    pixels = np.clip(means[0] - means[1] + means[2], 0, 255).round().astype(np.uint8)
    return FaceMath(faces[0], faces[1:10], pixels, exemplars)


# (label, A, B, C, result): each is {attribute: wanted?}; A, B and C pick exemplars, and the
# result is what A - B + C should show
PRESET_RECIPES = (
    ("man with glasses - man + woman", {"Male": True, "Eyeglasses": True}, {"Male": True, "Eyeglasses": False},
     {"Male": False, "Eyeglasses": False}, {"Male": False, "Eyeglasses": True}),
    ("smiling woman - woman + man", {"Male": False, "Smiling": True}, {"Male": False, "Smiling": False},
     {"Male": True, "Smiling": False}, {"Male": True, "Smiling": True}),
    ("blond woman - woman + man", {"Male": False, "Blond_Hair": True}, {"Male": False, "Blond_Hair": False},
     {"Male": True, "Blond_Hair": False}, {"Male": True, "Blond_Hair": True}),
)


def wish_score(probs: torch.Tensor, names, want: dict[str, bool]) -> torch.Tensor:
    """How well each face [N] shows `want` ({attribute: present?}): the product of the
    classifier's probabilities [N, len(names)] for each wish."""
    score = torch.ones(len(probs))
    for attribute, present in want.items():
        p = probs[:, list(names).index(attribute)]
        score = score * (p if present else 1 - p)
    return score


def classifier_presets(gan: GAN, classifier, pool: int = 2000, candidates: int = 8, tries: int = 400,
                       seed: int = 0) -> list[list]:
    """Face-math presets [label, "A seeds", "B seeds", "C seeds"] picked with the attribute
    classifier: each concept's `candidates` best exemplars among seeds 0 to pool - 1, then, of
    `tries` random choices of 3 per concept, the one whose result the classifier reads best as
    the recipe's result. Recipes whose attributes the classifier lacks are left out."""
    nz, seeds = gan.config.nz, list(range(pool))
    z = z_from_seeds(seeds, nz)
    probs = classifier.predict(gan.generate(z))
    generator = torch.Generator().manual_seed(seed)
    presets = []
    for label, *concepts, result in PRESET_RECIPES:
        if not all(a in classifier.names for wish in (*concepts, result) for a in wish):
            continue
        tops = [wish_score(probs, classifier.names, c).argsort(descending=True)[:candidates] for c in concepts]
        picks = [torch.stack([top[torch.randperm(candidates, generator=generator)[:MAX_EXEMPLARS]] for _ in range(tries)])
                 for top in tops]  # [tries, 3] seeds per concept
        sums = z[picks[0]].mean(1) - z[picks[1]].mean(1) + z[picks[2]].mean(1)
        scores = wish_score(classifier.predict(gan.generate(sums)), classifier.names, result)
        best = int(scores.argmax())
        presets.append([label, *(", ".join(str(int(s)) for s in p[best]) for p in picks)])
    return presets
