"""A small face-attribute classifier (Male, Young, Eyeglasses, Smiling, ...), trained on real
labelled faces; it labels generated faces so that directions can be fitted and measured.

Shipped beside a faces model as `attributes.safetensors` (weights; names and size in its
metadata). Images go in as the generator makes them: uint8 [N, H, W, C].
"""
from __future__ import annotations

import math
import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np
import torch
from torch import nn

from ..model.checkpoints import CheckpointError, load_tensors, save_tensors
from ..errors import Phrase, UserError, phrase_of
from ..model.networks import from_levels, from_uint8

CLASSIFIER_NAME = "attributes.safetensors"
ATTRIBUTES = ("Male", "Young", "Eyeglasses", "Smiling", "Blond_Hair", "Black_Hair", "Bald", "Mustache",
              "Wearing_Hat", "Bangs", "Heavy_Makeup", "No_Beard", "Pale_Skin", "Mouth_Slightly_Open")


class AttributeNet(nn.Module):
    """Four strided convolutions (BatchNorm, ReLU), global average pooling, one logit per attribute."""

    def __init__(self, n_attributes: int, channels: int = 3, width: int = 32):
        super().__init__()
        widths = [channels, width, 2 * width, 4 * width, 8 * width]
        layers: list[nn.Module] = []
        for c_in, c_out in zip(widths, widths[1:]):
            # c_in x s x s -> c_out x s/2 x s/2
            layers += [nn.Conv2d(c_in, c_out, 3, 2, 1, bias=False), nn.BatchNorm2d(c_out), nn.ReLU(True)]
        self.features = nn.Sequential(*layers, nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Dropout(0.2))
        self.head = nn.Linear(widths[-1], n_attributes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.features(x))


@dataclass
class AttributeClassifier:
    names: tuple[str, ...]
    net: AttributeNet
    image_size: int
    width: int = 32

    def predict(self, images: np.ndarray | torch.Tensor, batch_size: int = 512) -> torch.Tensor:
        """uint8 faces [N, H, W, C] (resized to the classifier's size if need be) -> P(attribute) [N, K]."""
        return classify(self.net, self.image_size, images, torch.sigmoid, len(self.names), batch_size)

    def save(self, folder: str | os.PathLike, meta: dict | None = None) -> Path:
        path = Path(folder) / CLASSIFIER_NAME
        info = {"names": list(self.names), "image_size": self.image_size, "width": self.width, **(meta or {})}
        save_tensors(path, self.net.state_dict(), info)
        return path


@torch.inference_mode()
def classify(net: nn.Module, image_size: int, images, to_probability, classes: int, batch_size: int) -> torch.Tensor:
    """`net`'s probabilities [N, classes] for uint8 images [N, H, W, C], resized to `image_size` if
    need be, `batch_size` at a time; `to_probability` maps its logits (sigmoid, softmax)."""
    net.eval()
    device = next(net.parameters()).device
    out = []
    for start in range(0, len(images), batch_size):
        x = from_uint8(images[start:start + batch_size], device)
        if x.shape[-1] != image_size:
            x = nn.functional.interpolate(x, size=image_size, mode="bilinear", antialias=True, align_corners=False)
        out.append(to_probability(net(x)).float().cpu())
    return torch.cat(out) if out else torch.zeros(0, classes)


def load_net(path: Path, build: Callable[[dict], nn.Module], what: str) -> tuple[nn.Module, dict] | None:
    """A small network saved with save_tensors (its settings, image_size among them, in the
    metadata), or None if there is no file: `build(meta)` makes the empty network; anything that
    does not fit is a CheckpointError that says the file is not `what`. The classifiers and the
    detector load through here."""
    if not path.is_file():
        return None
    tensors, meta = load_tensors(path)
    try:
        meta = {**meta, "image_size": int(meta["image_size"]), "width": int(meta.get("width", 32))}
        net = build(meta)
        net.load_state_dict(tensors)
    except (KeyError, TypeError, ValueError, RuntimeError) as err:
        error = phrase_of(err) if isinstance(err, UserError) else str(err).splitlines()[0]
        raise CheckpointError("not_net", path=str(path), what=Phrase(what), error=error) from None
    return net, meta


def load_classifier(folder: str | os.PathLike, device: str | torch.device = "cpu") -> AttributeClassifier | None:
    """The classifier shipped in a model folder, or None if it has none."""
    found = load_net(Path(folder) / CLASSIFIER_NAME, lambda m: AttributeNet(len(tuple(m["names"])), width=m["width"]),
                     "what_attribute_classifier")
    if found is None:
        return None
    net, meta = found
    return AttributeClassifier(tuple(meta["names"]), net.to(device).eval(), meta["image_size"], meta["width"])


def fit(net: nn.Module, count: int, batch_size: int, epochs: int, lr: float, batch_loss: Callable[[torch.Tensor], torch.Tensor],
        generator: torch.Generator, pct_start: float = 0.15, log: Callable[[str], None] | None = None) -> nn.Module:
    """The small networks' training loop (the attribute and digit classifiers, the real-or-fake
    detector): `epochs` passes over `count` examples in a shuffled order (from `generator`), in
    batches of `batch_size` (the rest of each pass dropped); `batch_loss(index)` is the loss of the
    examples `index`. AdamW (weight decay 5e-4) with a one-cycle schedule; `log` gets a line per epoch."""
    per_epoch = max(1, count // batch_size)
    optimizer = torch.optim.AdamW(net.parameters(), lr=lr, weight_decay=5e-4)
    schedule = torch.optim.lr_scheduler.OneCycleLR(optimizer, lr, total_steps=epochs * per_epoch, pct_start=pct_start)
    start = time.perf_counter()
    with torch.inference_mode(False), torch.enable_grad():
        for epoch in range(epochs):
            net.train()
            order = torch.randperm(count, generator=generator)
            total = 0.0
            for k in range(per_epoch):
                loss = batch_loss(order[k * batch_size:(k + 1) * batch_size])
                optimizer.zero_grad(set_to_none=True)
                loss.backward()
                optimizer.step()
                schedule.step()
                total += loss.item()
            if log is not None:
                log(f"epoch {epoch + 1}/{epochs}: loss {total / per_epoch:.4f} ({time.perf_counter() - start:.0f} s)")
    return net


def labels_from_metadata(metadata: dict[str, list[str]], names) -> tuple[torch.Tensor, torch.Tensor]:
    """CelebA-style columns ("1" / "-1", empty where unlabelled) -> (labels 0/1 [N, K], known mask [N, K])."""
    missing = [n for n in names if n not in metadata]
    if missing:
        raise UserError("no_labels", names=missing)
    values = torch.tensor([[{"1": 1.0, "-1": 0.0}.get(v.strip(), math.nan) for v in metadata[n]] for n in names]).T
    known = ~values.isnan()
    return values.nan_to_num(0.0), known


def train_classifier(images: torch.Tensor, labels: torch.Tensor, known: torch.Tensor, names, epochs: int = 12,
                     batch_size: int = 128, lr: float = 2e-3, width: int = 32, seed: int = 0,
                     log: Callable[[str], None] = print) -> AttributeClassifier:
    """Train on uint8 images [N, C, H, W] with 0/1 labels [N, K]; unknown labels (known False)
    add nothing to the loss. Rare classes are weighted up by the square root of their rarity (so a
    rare attribute such as Bald is still predicted at all). Random flips and 4-pixel shifts;
    AdamW with a one-cycle schedule."""
    rows = known.any(1)
    images, labels, known = images[rows], labels[rows].float(), known[rows].float()
    if len(images) < batch_size:
        raise UserError("too_few_labelled", got=len(images))
    positives = (labels * known).sum(0) / known.sum(0).clamp(min=1)
    pos_weight = ((1 - positives) / positives.clamp(min=1e-3)).clamp(1e-2, 1e2).sqrt()
    generator = torch.Generator().manual_seed(seed)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        net = AttributeNet(len(names), images.shape[1], width)
    net = net.to(memory_format=torch.channels_last)

    def batch_loss(index: torch.Tensor) -> torch.Tensor:
        x = from_levels(images[index])
        x = torch.where(torch.rand(len(x), 1, 1, 1, generator=generator) < 0.5, x.flip(3), x)
        dx, dy = torch.randint(-4, 5, (2,), generator=generator).tolist()
        x = torch.roll(x, (dy, dx), (2, 3)).contiguous(memory_format=torch.channels_last)
        loss = nn.functional.binary_cross_entropy_with_logits(
            net(x), labels[index], weight=known[index], pos_weight=pos_weight, reduction="sum")
        return loss / known[index].sum().clamp(min=1)

    fit(net, len(images), batch_size, epochs, lr, batch_loss, generator, log=log)
    net = net.to(memory_format=torch.contiguous_format).eval()
    return AttributeClassifier(tuple(names), net, images.shape[-1], width)


def evaluate(classifier: AttributeClassifier, images: torch.Tensor, labels: torch.Tensor,
             known: torch.Tensor) -> dict[str, dict]:
    """Accuracy and balanced accuracy (mean of the two classes' recalls) per attribute, on uint8
    images [N, C, H, W] with labels [N, K]; only known labels count; attributes with none are left out."""
    probs = classifier.predict(images.permute(0, 2, 3, 1))
    out = {}
    for k, name in enumerate(classifier.names):
        mask = known[:, k]
        if not mask.any():
            continue
        y, p = labels[mask, k] > 0.5, probs[mask, k] > 0.5
        recalls = [float((p[y == c] == c).float().mean()) for c in (True, False) if (y == c).any()]
        out[name] = {"accuracy": round(float((p == y).float().mean()), 4),
                     "balanced_accuracy": round(sum(recalls) / len(recalls), 4),
                     "positives": int(y.sum()), "labelled": int(mask.sum())}
    return out
