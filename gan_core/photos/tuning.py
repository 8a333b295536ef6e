"""Tune the generator to one photo around the z found for it: pivotal tuning (Roich et al. 2021, PTI).

    tuned = tune(gan, crop, z)                   # crop: uint8 [S, S, C], aligned; z: [nz], the found z
    generate(gan, z[None], [tuned])              # uint8 [1, S, S, C]: the photo, close
    Face(z=z.tolist(), name="photo 1", tuned=tuned)  # then edits and moves work on it like on any face

z alone cannot reach a face the generator never learned (z-only inversion tops out near 22 dB), so
the last layers of G (TUNED_LAYERS transposed convolutions, from the 16x16 feature map on at 64x64)
are moved a little towards the photo, with z held at its pivot:
* the photo: mean squared pixel error + the distance between D's features of the result and of the
  photo (a perceptual loss from the model's own discriminator);
* locality: on LOCALITY fixed random z, the tuned G must draw what the shipped G draws, so the
  tuned G stays the shipped G away from the photo and the named sliders and directions keep
  their meaning on it.
The layers before the tuned ones do not change, so their output is computed once for the pivot
and the locality z; a step runs only the tuned layers (about a fifth of G's work at 64x64).

A Tuned holds only the offsets of the tuned weights from the shipped ones, in half precision
(OFFSET_DTYPE: 1.3 MB at 64x64, where float32 took 2.6 MB; an offset is small, so half keeps it to
about 1/1000 of itself), in memory: nothing here writes them anywhere. Offsets mix linearly,
which is what a morph between two photos and face math with photos do (`mix`).
"""
from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import Callable, Sequence

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.func import functional_call

from ..model.networks import GAN, from_uint8, to_uint8

TUNED_LAYERS = 3        # transposed convolutions of G tuned, counted from its output
LOCALITY = 8            # random z whose images the tuned G must keep
LOCALITY_SEED = 20211   # those z, the same for every photo
OFFSET_DTYPE = torch.float16  # how a Tuned keeps its offsets (see the module's docstring)


@dataclass(frozen=True)
class TuneSettings:
    steps: int = 40              # Adam steps on the tuned layers
    lr: float = 3e-3             # Adam's step size
    perceptual: float = 0.5      # weight of D's feature distance (0 without a D)
    depth: int = 2               # how many of D's feature maps the perceptual term compares
    locality: float = 1.0        # weight of the locality term
    locality_every: int = 4      # the locality term is computed every this many steps


@dataclass(frozen=True, eq=False)
class Tuned:
    """A generator tuned to one photo: {G parameter name: offset from the shipped value} (OFFSET_DTYPE)."""
    offsets: dict[str, torch.Tensor]

    @property
    def nbytes(self) -> int:
        return sum(t.numel() * t.element_size() for t in self.offsets.values())

    def weights(self, G: nn.Module) -> dict[str, torch.Tensor]:
        """The tuned parameters' values, for torch.func.functional_call on G."""
        own = dict(G.named_parameters())
        return {name: own[name] + offset.to(own[name].device, own[name].dtype) for name, offset in self.offsets.items()}


def early_features(D: nn.Module, x: torch.Tensor, depth: int) -> list[torch.Tensor]:
    """D's first `depth` feature maps (after each LeakyReLU), without running the rest of D."""
    maps = []
    for layer in D.main:
        x = layer(x)
        if isinstance(layer, nn.LeakyReLU):
            maps.append(x)
            if len(maps) == depth:
                break
    return maps


def first_tuned(G: nn.Module) -> int:
    """The index in G.main of the first tuned layer."""
    convs = [i for i, layer in enumerate(G.main) if isinstance(layer, nn.ConvTranspose2d)]
    return convs[-min(TUNED_LAYERS, len(convs))]


def mix(tuned: Sequence[Tuned | None], weights: Sequence[float]) -> Tuned | None:
    """sum_k weights[k] * offsets of tuned[k] (None: the shipped G, offsets 0); None if all are None."""
    terms = [(float(w), t) for w, t in zip(weights, tuned) if t is not None and float(w) != 0.0]
    if not terms:
        return None
    names = {name for _, t in terms for name in t.offsets}
    return Tuned({name: sum(w * t.offsets[name] for w, t in terms if name in t.offsets) for name in names})


def generate(gan: GAN, z: torch.Tensor, tuned: Sequence[Tuned | None] | None = None,
             batch_size: int = 256) -> np.ndarray:
    """uint8 images [N, H, W, C] for z [N, nz], row i drawn by G tuned by tuned[i] (None: the
    shipped G). Rows with the same Tuned (or none) are drawn in one batch."""
    z = z.reshape(-1, gan.config.nz)
    if tuned is None or all(t is None for t in tuned):
        return gan.generate(z, batch_size)
    if len(tuned) != len(z):
        raise ValueError(f"{len(tuned)} tunings for {len(z)} latents")
    out = np.zeros((len(z), gan.config.image_size, gan.config.image_size, gan.config.channels), np.uint8)
    groups: dict[int, list[int]] = {}
    for i, t in enumerate(tuned):
        groups.setdefault(id(t), []).append(i)
    G = gan.G.eval()
    head, tail = split(G)
    with torch.inference_mode():
        for rows in groups.values():
            t = tuned[rows[0]]
            chunk = z[rows].to(gan.device)
            if t is None:
                out[rows] = gan.generate(chunk, batch_size)
            else:
                weights = {name.removeprefix("main."): value for name, value in t.weights(G).items()}
                drawn = (functional_call(tail, weights, (head(part.view(len(part), -1, 1, 1)),))
                         for part in chunk.split(batch_size))
                out[rows] = np.concatenate([to_uint8(images) for images in drawn])
    return out


def split(G: nn.Module) -> tuple[nn.Sequential, nn.Sequential]:
    """G's untuned head (the shared layers, only read) and a private copy of its tuned tail.
    torch.func.functional_call swaps a module's parameters while it runs, so it must never run on
    the shared G: another visitor's face drawn at that moment would be drawn with these weights."""
    start = first_tuned(G)
    with torch.inference_mode(False):  # plain tensors, which autograd may save (tune runs in the app's inference mode)
        return G.main[:start], copy.deepcopy(G.main[start:])


def tune(gan: GAN, crop: np.ndarray, z: torch.Tensor, settings: TuneSettings = TuneSettings(),
         progress: Callable[[float], None] | None = None) -> Tuned:
    """G's last layers tuned so that G(z) draws `crop` (uint8 [S, S, C], aligned), z: [nz]."""
    G, D, cfg = gan.G.eval(), gan.D, gan.config
    head, tail = split(G)
    locality_z = torch.randn(LOCALITY, cfg.nz, generator=torch.Generator().manual_seed(LOCALITY_SEED))
    perceptual = settings.perceptual if D is not None else 0.0
    with torch.inference_mode(False), torch.no_grad():
        pivot = head(z.reshape(1, -1, 1, 1).to(gan.device))
        around = head(locality_z.view(LOCALITY, -1, 1, 1).to(gan.device))
        kept = tail(around)
        target = from_uint8(np.asarray(crop)[None], gan.device)
        if perceptual:
            D.eval()
            target_features = early_features(D, target, settings.depth)
    shipped = {name: p.detach() for name, p in tail.named_parameters()}
    with torch.inference_mode(False), torch.enable_grad():
        params = {name: p.clone().requires_grad_(True) for name, p in shipped.items()}
        optimizer = torch.optim.Adam(params.values(), lr=settings.lr)
        for step in range(settings.steps):
            fake = functional_call(tail, params, (pivot,))
            loss = F.mse_loss(fake, target)
            if perceptual:
                loss = loss + perceptual * sum(F.mse_loss(a, b) for a, b in zip(early_features(D, fake, settings.depth),
                                                                                 target_features)) / settings.depth
            if settings.locality and step % settings.locality_every == 0:
                loss = loss + settings.locality * F.mse_loss(functional_call(tail, params, (around,)), kept)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            if progress:
                progress((step + 1) / settings.steps)
    # a slice of a Sequential keeps its layers' names ("6.weight"), so G's own are "main." + them
    return Tuned({f"main.{name}": (params[name] - p).detach().to("cpu", OFFSET_DTYPE) for name, p in shipped.items()})
