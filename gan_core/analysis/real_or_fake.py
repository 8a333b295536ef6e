"""Can a fresh classifier tell generated images from real ones? The classifier two-sample test
(Lopez-Paz and Oquab 2017), and the detector the studio's "Real or fake?" game shows beside D.

    accuracy = two_sample_test(real, fake)["accuracy"]   # 0.5: indistinguishable, 1.0: always told apart
    detector = train_detector(real, fake)                # P(real) for new images
    detector.save(folder); load_detector(folder)         # shipped as real_or_fake.safetensors

Unlike D, which trained against G all along, the detector is a small CNN (the attribute
classifier's network, one logit) trained from scratch on a fixed set of real and generated
images, with no augmentation, so it may use any difference it finds. Images are uint8 [N, H, W, C].
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch import nn

from .attributes import AttributeNet, classify, fit, load_net
from ..model.checkpoints import save_tensors
from ..errors import UserError
from ..model.networks import from_uint8, reestimate_batchnorm

DETECTOR_NAME = "real_or_fake.safetensors"


@dataclass
class Detector:
    net: AttributeNet
    image_size: int
    channels: int
    width: int = 16

    def predict(self, images: np.ndarray | torch.Tensor, batch_size: int = 1024) -> torch.Tensor:
        """uint8 images [N, H, W, C] -> P(real) [N]."""
        return classify(self.net, self.image_size, images, torch.sigmoid, 1, batch_size)[:, 0]

    def save(self, folder: str | os.PathLike, meta: dict | None = None) -> Path:
        path = Path(folder) / DETECTOR_NAME
        save_tensors(path, self.net.state_dict(), {"image_size": self.image_size, "channels": self.channels,
                                                   "width": self.width, **(meta or {})})
        return path


def load_detector(folder: str | os.PathLike, device: str | torch.device = "cpu") -> Detector | None:
    """The real-or-fake detector shipped in a model folder, or None if it has none."""
    found = load_net(Path(folder) / DETECTOR_NAME, lambda m: AttributeNet(1, channels=int(m["channels"]),
                                                                          width=m["width"]),
                     "what_detector")
    if found is None:
        return None
    net, meta = found
    return Detector(net.to(device).eval(), meta["image_size"], int(meta["channels"]), meta["width"])


def train_detector(real, fake, epochs: int = 15, batch_size: int = 64, lr: float = 2e-3, width: int = 16,
                   seed: int = 0) -> Detector:
    """A fresh detector trained to call `real` real and `fake` generated (uint8 [N, H, W, C] each;
    the larger set is cut to the smaller's size so that both count alike)."""
    n = min(len(real), len(fake))
    if n < 2:
        raise UserError("detector_few")
    x = torch.cat([from_uint8(real[:n]), from_uint8(fake[:n])])
    y = torch.cat([torch.ones(n), torch.zeros(n)])
    generator = torch.Generator().manual_seed(seed)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        net = AttributeNet(1, x.shape[1], width)
    fit(net, len(x), batch_size, epochs, lr,
        lambda index: nn.functional.binary_cross_entropy_with_logits(net(x[index])[:, 0], y[index]),
        generator, pct_start=0.2)
    # BatchNorm's running statistics set to the training images' own (a short training run leaves
    # them half-way from their initial values, and eval mode would be off)
    reestimate_batchnorm(net, x.split(batch_size))
    return Detector(net, x.shape[-1], x.shape[1], width)


def accuracy(detector: Detector, real, fake) -> float:
    """The share of `real` called real and `fake` called generated, the two sets weighted alike."""
    return float(((detector.predict(real) > 0.5).float().mean() + (detector.predict(fake) <= 0.5).float().mean()) / 2)


def two_sample_test(first, second, seed: int = 0, epochs: int = 15) -> dict:
    """Train a fresh detector on half of each set (shuffled with `seed`; equal counts), score it
    on the other halves: {"accuracy", "train", "test"}. 0.5 means it cannot tell them apart; run it
    on two disjoint real sets for the floor that finite samples give."""
    n = min(len(first), len(second))
    if n < 4:
        raise UserError("two_sample_few")
    generator = torch.Generator().manual_seed(seed)
    a = np.asarray(first)[torch.randperm(len(first), generator=generator)[:n].numpy()]
    b = np.asarray(second)[torch.randperm(len(second), generator=generator)[:n].numpy()]
    half = n // 2
    detector = train_detector(a[:half], b[:half], epochs=epochs, seed=seed)
    return {"accuracy": round(accuracy(detector, a[half:], b[half:]), 4), "train": half, "test": n - half}
