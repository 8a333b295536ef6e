"""The DCGAN networks (Radford et al. 2015) and the GAN bundle the app and scripts use.

G: z [N, nz, 1, 1] -> transposed convolutions (BatchNorm + ReLU) -> Tanh image in [-1, 1].
D: image -> strided convolutions (LeakyReLU 0.2, BatchNorm after the first) -> one logit.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch import nn

from .config import GANConfig


def init_weights(module: nn.Module) -> None:
    """The paper's initialisation: convolutions N(0, 0.02), BatchNorm scale N(1, 0.02), shift 0."""
    if isinstance(module, (nn.Conv2d, nn.ConvTranspose2d)):
        weight = getattr(module, "parametrizations", None)
        weight = weight.weight.original if weight is not None else module.weight
        nn.init.normal_(weight, 0.0, 0.02)
    elif isinstance(module, nn.BatchNorm2d):
        nn.init.normal_(module.weight, 1.0, 0.02)
        nn.init.zeros_(module.bias)


class Generator(nn.Module):
    def __init__(self, config: GANConfig):
        super().__init__()
        self.config = config
        n, w = config.n_upsamples, config.g_width
        widths = [w * 2 ** (n - 1 - i) for i in range(n)]  # 64x64: 8w, 4w, 2w, w
        layers: list[nn.Module] = [
            # nz x 1 x 1 -> widths[0] x 4 x 4
            nn.ConvTranspose2d(config.nz, widths[0], 4, 1, 0, bias=False),
            nn.BatchNorm2d(widths[0]),
            nn.ReLU(True),
        ]
        for c_in, c_out in zip(widths, widths[1:]):
            # c_in x s x s -> c_out x 2s x 2s
            layers += [nn.ConvTranspose2d(c_in, c_out, 4, 2, 1, bias=False), nn.BatchNorm2d(c_out), nn.ReLU(True)]
        # w x S/2 x S/2 -> channels x S x S
        layers += [nn.ConvTranspose2d(widths[-1], config.channels, 4, 2, 1, bias=False), nn.Tanh()]
        self.main = nn.Sequential(*layers)
        self.apply(init_weights)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.main(z.view(z.shape[0], -1, 1, 1))


class Discriminator(nn.Module):
    def __init__(self, config: GANConfig):
        super().__init__()
        self.config = config
        n, w = config.n_upsamples, config.d_width
        widths = [w * 2**i for i in range(n)]  # 64x64: w, 2w, 4w, 8w
        sn = nn.utils.parametrizations.spectral_norm if config.d_spectral_norm else (lambda m: m)
        # channels x S x S -> w x S/2 x S/2, no BatchNorm on the input layer
        layers: list[nn.Module] = [sn(nn.Conv2d(config.channels, widths[0], 4, 2, 1, bias=False)), nn.LeakyReLU(0.2, True)]
        for c_in, c_out in zip(widths, widths[1:]):
            # c_in x s x s -> c_out x s/2 x s/2
            layers.append(sn(nn.Conv2d(c_in, c_out, 4, 2, 1, bias=False)))
            if not config.d_spectral_norm:
                layers.append(nn.BatchNorm2d(c_out))
            layers.append(nn.LeakyReLU(0.2, True))
        # 8w x 4 x 4 -> 1 x 1 x 1: the logit of "this image is real"
        layers.append(sn(nn.Conv2d(widths[-1], 1, 4, 1, 0, bias=False)))
        self.main = nn.Sequential(*layers)
        self.apply(init_weights)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Logits [N]; `torch.sigmoid` of them is D's probability that each image is real."""
        return self.main(x).flatten()

    def features(self, x: torch.Tensor) -> list[torch.Tensor]:
        """The feature maps after each LeakyReLU, shallow to deep (for showing what D sees)."""
        maps = []
        for layer in self.main:
            x = layer(x)
            if isinstance(layer, nn.LeakyReLU):
                maps.append(x)
        return maps


def to_uint8(images: torch.Tensor) -> np.ndarray:
    """[-1, 1] images [N, C, H, W] -> uint8 array [N, H, W, C] (C kept, 1 or 3)."""
    images = ((images.detach().float() + 1) * 127.5).round_().clamp_(0, 255).to(torch.uint8)
    return images.permute(0, 2, 3, 1).cpu().numpy()


def from_levels(levels: torch.Tensor) -> torch.Tensor:
    """Pixel levels 0-255 (uint8 or float, any shape, any device) -> float in [-1, 1], as G makes them."""
    return levels.float().div(127.5).sub_(1)


def from_uint8(images: np.ndarray | torch.Tensor, device: torch.device | str = "cpu") -> torch.Tensor:
    """uint8 [N, H, W, C] (or [H, W, C]) -> float [N, C, H, W] in [-1, 1] on `device`."""
    images = torch.as_tensor(np.asarray(images))
    if images.ndim == 3:
        images = images[None]
    return from_levels(images.to(device).permute(0, 3, 1, 2))


@torch.no_grad()
def reestimate_batchnorm(net: nn.Module, inputs) -> nn.Module:
    """`net`'s BatchNorm running statistics re-estimated as the plain average over the batches
    `inputs` (run in training mode), for its current weights; returned in eval mode."""
    norms = [m for m in net.modules() if isinstance(m, nn.BatchNorm2d)]
    momenta = [m.momentum for m in norms]
    for m in norms:
        m.reset_running_stats()
        m.momentum = None  # a cumulative average over the batches
    net.train()
    for x in inputs:
        net(x)
    for m, momentum in zip(norms, momenta):
        m.momentum = momentum
    return net.eval()


@dataclass
class GAN:
    """A loaded model: its config, the (EMA) generator, the discriminator if shipped, their device,
    and the folder it came from (where extras such as directions live)."""

    config: GANConfig
    G: Generator
    D: Discriminator | None
    device: torch.device
    folder: Path | None = None

    @torch.inference_mode()
    def generate(self, z: torch.Tensor, batch_size: int = 256) -> np.ndarray:
        """z [N, nz] -> uint8 images [N, H, W, C]; each face depends on its own z alone (eval mode)."""
        self.G.eval()
        z = z.reshape(-1, self.config.nz)
        out = [to_uint8(self.G(chunk.to(self.device))) for chunk in z.split(batch_size)]
        return np.concatenate(out) if out else np.zeros((0, self.config.image_size, self.config.image_size, self.config.channels), np.uint8)
