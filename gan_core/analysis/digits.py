"""A small digit classifier (0-9) for the digits model: it labels generated digits so their quality
can be measured ("classified with confidence >= 0.9") and directions such as "towards 8" fitted.

Shipped beside a digits model as `digits.safetensors` (weights; size and width in its metadata).
Trained on the first 8,000 of MNIST's 10,000 test digits (`mnist28.zip`); the last 2,000 are held
out for every evaluation (`split_digits`). Images go in as the generator makes them: uint8
[N, H, W, 1].
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np
import torch
from torch import nn

from .attributes import AttributeNet, classify, fit, load_net
from ..model.checkpoints import save_tensors
from ..model.config import SUPPORTED_SIZES, GANConfig
from ..errors import UserError
from .metrics import feature_stats, frechet_distance
from ..model.networks import Generator, from_levels

DIGITS_NAME = "digits.safetensors"
TRAIN_DIGITS = 8000  # the first 8,000 digits train; the rest are held out
CONFIDENT = 0.9      # a digit "reads clearly" when the classifier gives one class at least this


def split_digits(images: torch.Tensor, labels) -> tuple[tuple[torch.Tensor, torch.Tensor], tuple[torch.Tensor, torch.Tensor]]:
    """((train images, labels), (held-out images, labels)): the first TRAIN_DIGITS rows, then the rest."""
    labels = torch.as_tensor([int(v) for v in labels])
    if len(labels) != len(images) or len(images) <= TRAIN_DIGITS:
        raise UserError("digits_few", min=TRAIN_DIGITS, images=len(images), labels=len(labels))
    return (images[:TRAIN_DIGITS], labels[:TRAIN_DIGITS]), (images[TRAIN_DIGITS:], labels[TRAIN_DIGITS:])


@dataclass
class DigitClassifier:
    net: AttributeNet
    image_size: int
    width: int = 32

    def predict(self, images: np.ndarray | torch.Tensor, batch_size: int = 1024) -> torch.Tensor:
        """uint8 digits [N, H, W, 1] (resized to the classifier's size if need be) -> P(digit) [N, 10]."""
        return classify(self.net, self.image_size, images, lambda logits: torch.softmax(logits, dim=1), 10,
                        batch_size)

    def features(self, images: np.ndarray | torch.Tensor, batch_size: int = 1024) -> torch.Tensor:
        """Its penultimate layer [N, 8 * width]: the features of the digits FID."""
        return classify(self.net.features, self.image_size, images, lambda f: f, 8 * self.width, batch_size)

    def save(self, folder: str | os.PathLike, meta: dict | None = None) -> Path:
        path = Path(folder) / DIGITS_NAME
        save_tensors(path, self.net.state_dict(), {"image_size": self.image_size, "width": self.width, **(meta or {})})
        return path


def load_digit_classifier(folder: str | os.PathLike, device: str | torch.device = "cpu") -> DigitClassifier | None:
    """The digit classifier shipped in a model folder, or None if it has none."""
    found = load_net(Path(folder) / DIGITS_NAME, lambda m: AttributeNet(10, channels=1, width=m["width"]),
                     "what_digit_classifier")
    if found is None:
        return None
    net, meta = found
    return DigitClassifier(net.to(device).eval(), meta["image_size"], meta["width"])


def not_digits(images: torch.Tensor, labels: torch.Tensor, count: int, generator: torch.Generator) -> torch.Tensor:
    """`count` images in [-1, 1] that are no clear digit, for outlier exposure, a fifth of each kind:
    an untrained generator's output (what a live run starts from), smooth random blobs, speckle
    noise, two different digits drawn over each other, and a faint digit under heavy noise (what
    a collapsing run makes). Without them the classifier calls noise "8" with confidence 1."""
    size, quarter = images.shape[-1], -(-count // 5)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(int(torch.randint(0, 2**31 - 1, (1,), generator=generator)))
        if size in SUPPORTED_SIZES:
            G = Generator(GANConfig(image_size=size, channels=images.shape[1], g_width=8)).train()
            with torch.no_grad():
                untrained = G(torch.randn(quarter, G.config.nz))
        else:  # (tiny test digits) faint grey texture, as an untrained generator makes
            untrained = 0.05 * torch.randn(quarter, images.shape[1], size, size)
    coarse = torch.rand(quarter, images.shape[1], 6, 6, generator=generator)
    blobs = (nn.functional.interpolate(coarse, size=size, mode="bilinear", align_corners=False) * 3 - 2).clamp(-1, 1)
    speckle = (torch.rand(quarter, images.shape[1], size, size, generator=generator) < 0.15).float() * 2 - 1
    a, b = torch.randint(0, len(images), (2, 4 * quarter), generator=generator)
    differ = labels[a] != labels[b]
    a, b = a[differ][:quarter], b[differ][:quarter]
    both = from_levels(torch.maximum(images[a], images[b]))
    faint = images[torch.randint(0, len(images), (quarter,), generator=generator)].float().div(255)
    noisy = (faint * 0.8 + 0.6 * torch.randn(faint.shape, generator=generator)).clamp(0, 1) * 2 - 1
    kinds = torch.cat([untrained, blobs, speckle, both, noisy])
    return kinds[torch.randperm(len(kinds), generator=generator)][:count]


def train_digit_classifier(images: torch.Tensor, labels: torch.Tensor, epochs: int = 15, batch_size: int = 128,
                           lr: float = 3e-3, width: int = 32, seed: int = 0, outliers: float = 0.5,
                           log: Callable[[str], None] = print) -> DigitClassifier:
    """Train on uint8 digits [N, 1, H, W] with labels 0-9 [N]: plain cross-entropy (no label smoothing, so
    a clear digit gets a confidence near 1: the quality figures count confidence >= 0.9),
    random shifts of up to 3 pixels (no flips: a flipped 2 is no digit), AdamW, one-cycle schedule.
    Outlier exposure (Hendrycks et al. 2019): each batch also holds `outliers` x batch_size images
    that are no digit (not_digits), trained towards the uniform distribution over the ten classes,
    so that noise and scribbles get a low confidence, not a confident "8"."""
    if len(images) < batch_size:
        raise UserError("too_few_digits", got=len(images))
    generator = torch.Generator().manual_seed(seed)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        net = AttributeNet(10, images.shape[1], width)
    extra = round(outliers * batch_size)

    def batch_loss(index: torch.Tensor) -> torch.Tensor:
        x = from_levels(images[index])
        dx, dy = torch.randint(-3, 4, (2,), generator=generator).tolist()
        x = torch.roll(x, (dy, dx), (2, 3))
        if extra:
            x = torch.cat([x, not_digits(images, labels, extra, generator)])
        logits = net(x)
        loss = nn.functional.cross_entropy(logits[:batch_size], labels[index])
        if extra:  # towards uniform: the mean of -log p over the ten classes
            loss = loss + outliers * -torch.log_softmax(logits[batch_size:], dim=1).mean()
        return loss

    fit(net, len(images), batch_size, epochs, lr, batch_loss, generator, log=log)
    return DigitClassifier(net.eval(), images.shape[-1], width)


def accuracy(classifier: DigitClassifier, images: torch.Tensor, labels: torch.Tensor) -> dict:
    """Accuracy overall and per digit on uint8 digits [N, 1, H, W] with labels [N]."""
    predicted = classifier.predict(images.permute(0, 2, 3, 1)).argmax(1)
    right = predicted == labels
    return {"accuracy": round(float(right.float().mean()), 4), "count": len(labels),
            "per_digit": {str(d): round(float(right[labels == d].float().mean()), 4)
                          for d in range(10) if (labels == d).any()}}


def digit_report(classifier: DigitClassifier, images: np.ndarray | torch.Tensor) -> dict:
    """How clearly uint8 digits [N, H, W, 1] read: the share the classifier labels with confidence
    >= CONFIDENT, how many that is, and each digit's share of the labels (mode collapse shows as
    a digit far from 10%)."""
    probs = classifier.predict(images)
    confidence, label = probs.max(1)
    shares = torch.bincount(label, minlength=10).double() / max(1, len(label))
    return {"confident": round(float((confidence >= CONFIDENT).double().mean()), 4),
            "confident_count": int((confidence >= CONFIDENT).sum()), "count": len(label),
            "shares": [round(float(s), 4) for s in shares]}


def digit_fid(classifier: DigitClassifier, real: np.ndarray | torch.Tensor, fake: np.ndarray | torch.Tensor) -> float:
    """The Frechet distance between two sets of uint8 digits [N, H, W, 1] in the classifier's
    penultimate features (a digits FID: Inception's features are for photographs)."""
    return frechet_distance(*feature_stats(classifier.features(real).double().numpy()),
                            *feature_stats(classifier.features(fake).double().numpy()))
