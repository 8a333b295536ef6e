"""An encoder: image -> z, the first guess of where a photo sits in the generator's latent space.

    encoder = load_encoder("checkpoints/celeba64")            # None if the folder has none
    z = encoder.encode(faces)                                 # uint8 [N, H, W, C] -> z [N, nz]

Trained (see train_encoder.py) on two kinds of batch at once:
  generated pairs (z, G(z)):  E(G(z)) should be z                     (a z loss)
  real training faces x:      G(E(x)) should look like x              (pixels + D's features + a prior on z)
G and D stay frozen; only the encoder learns. Shipped as encoder.safetensors in a release folder.
"""
from __future__ import annotations

import os
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Callable

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

from ..model.checkpoints import CheckpointError, load_tensors, save_tensors
from ..errors import Phrase, UserError, phrase_of
from ..model.config import GANConfig
from ..model.networks import GAN, from_levels, from_uint8

ENCODER_NAME = "encoder.safetensors"


class EncoderNet(nn.Module):
    """Strided convolutions (BatchNorm, LeakyReLU) down to 4x4, then one linear layer to z."""

    def __init__(self, config: GANConfig, width: int = 32):
        super().__init__()
        n = config.n_upsamples  # as many halvings as G has doublings after its 4x4 map
        widths = [config.channels] + [width * 2**i for i in range(n)]  # 64x64: 3, w, 2w, 4w, 8w
        layers: list[nn.Module] = []
        for i, (c_in, c_out) in enumerate(zip(widths, widths[1:])):
            # c_in x s x s -> c_out x s/2 x s/2
            layers.append(nn.Conv2d(c_in, c_out, 4, 2, 1, bias=i == 0))
            if i:
                layers.append(nn.BatchNorm2d(c_out))
            layers.append(nn.LeakyReLU(0.2, True))
        self.features = nn.Sequential(*layers, nn.Flatten())
        # 8w x 4 x 4 -> nz
        self.head = nn.Linear(widths[-1] * 16, config.nz)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.features(x))


@dataclass
class Encoder:
    net: EncoderNet
    config: GANConfig
    width: int = 32

    @property
    def device(self) -> torch.device:
        return next(self.net.parameters()).device

    @torch.inference_mode()
    def encode(self, images: np.ndarray | torch.Tensor, batch_size: int = 256) -> torch.Tensor:
        """uint8 images [N, H, W, C] (the model's size) -> z [N, nz] on the CPU."""
        self.net.eval()
        x = from_uint8(images)
        return torch.cat([self.net(chunk.to(self.device)).float().cpu() for chunk in x.split(batch_size)])


# --- training -----------------------------------------------------------------------------------
@dataclass
class EncoderTraining:
    steps: int = 20_000           # optimisation steps
    generated: int = 64           # generated pairs (z, G(z)) per step
    real: int = 32                # real faces per step (0: generated pairs only)
    lr: float = 3e-4              # Adam
    width: int = 32               # the encoder's base width
    perceptual: float = 0.5       # weight of D's feature distance on real faces
    prior: float = 0.05           # weight of the prior keeping E(x) where G was trained
    seed: int = 0


def prior_loss(z: torch.Tensor) -> torch.Tensor:
    """Keeps z near the shell where N(0, I) puts almost all its mass (|z| near sqrt(nz))."""
    return (((z.pow(2).mean(1) + 1e-8).sqrt() - 1) ** 2).mean()


def feature_loss(D, fake: torch.Tensor, real: torch.Tensor, layers: int = 3) -> torch.Tensor:
    """Mean squared distance between D's first `layers` feature maps of two image batches."""
    return sum(F.mse_loss(a, b) for a, b in zip(D.features(fake)[:layers], D.features(real)[:layers])) / layers


def frozen(gan: GAN) -> None:
    for module in (gan.G, gan.D):
        if module is not None:
            module.eval().requires_grad_(False)


def train_encoder(gan: GAN, real: torch.Tensor | None, opts: EncoderTraining, encoder: Encoder | None = None,
                  seconds: float | None = None, on_log: Callable[[dict], None] | None = None,
                  log_every: int = 50) -> Encoder:
    """Train (or go on training) an encoder for `gan` on generated pairs and the `real` uint8
    images [N, C, H, W]; stops after opts.steps steps or `seconds`, whichever comes first."""
    frozen(gan)
    device = gan.device
    encoder = encoder or Encoder(EncoderNet(gan.config, opts.width).to(device), gan.config, opts.width)
    net = encoder.net.train()
    optimizer = torch.optim.Adam(net.parameters(), lr=opts.lr, betas=(0.5, 0.999))
    rng = torch.Generator().manual_seed(opts.seed)
    use_real = real is not None and len(real) and opts.real > 0 and gan.D is not None
    start, sums, count = time.perf_counter(), {}, 0
    with torch.inference_mode(False), torch.enable_grad():
        for step in range(1, opts.steps + 1):
            z = torch.randn(opts.generated, gan.config.nz, generator=rng).to(device)
            with torch.no_grad():
                x = gan.G(z)
            losses = {"z": F.mse_loss(net(x), z)}
            if use_real:
                pick = torch.randint(len(real), (opts.real,), generator=rng)
                xr = from_levels(real[pick].to(device))
                flip = torch.rand(opts.real, generator=rng) < 0.5
                xr = torch.where(flip.to(device)[:, None, None, None], xr.flip(3), xr)
                zr = net(xr)
                fake = gan.G(zr)
                losses["pixels"] = F.mse_loss(fake, xr)
                losses["features"] = opts.perceptual * feature_loss(gan.D, fake, xr)
                losses["prior"] = opts.prior * prior_loss(zr)
            loss = sum(losses.values())
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            for key, value in losses.items():
                sums[key] = sums.get(key, 0.0) + float(value.detach())
            count += 1
            elapsed = time.perf_counter() - start
            done = step == opts.steps or (seconds is not None and elapsed >= seconds)
            if on_log and (step % log_every == 0 or done):
                on_log({"step": step, **{k: round(v / count, 5) for k, v in sums.items()}, "seconds": round(elapsed, 1)})
                sums, count = {}, 0
            if done:
                break
    net.eval()
    return encoder


# --- files --------------------------------------------------------------------------------------
def save_encoder(folder: str | os.PathLike, encoder: Encoder, notes: dict | None = None) -> Path:
    """encoder.safetensors in a release folder: weights, and what rebuilds the net."""
    path = Path(folder) / ENCODER_NAME
    meta = {"width": encoder.width, "model": encoder.config.to_dict(), "notes": notes or {}}
    save_tensors(path, encoder.net.state_dict(), meta)
    return path


def load_encoder(folder: str | os.PathLike, config: GANConfig, device: str | torch.device = "cpu") -> Encoder | None:
    """The encoder shipped in a model folder (None if it has none), checked against its model."""
    path = Path(folder) / ENCODER_NAME
    if not path.is_file():
        return None
    tensors, meta = load_tensors(path)
    try:
        width = int(meta["width"])
        saved = GANConfig.from_dict(meta["model"])
        if (saved.nz, saved.image_size, saved.channels) != (config.nz, config.image_size, config.channels):
            raise UserError("encoder_other_model")
        if not 1 <= width <= 256:
            raise UserError("encoder_width")
        net = EncoderNet(config, width)
        net.load_state_dict(tensors)
    except (KeyError, TypeError, ValueError, RuntimeError) as err:
        raise CheckpointError("not_encoder", Phrase("reason_not_encoder"), name=ENCODER_NAME,
                              error=phrase_of(err) if isinstance(err, UserError) else str(err)[:80]) from None
    return Encoder(net.to(device).eval(), config, width)


def training_notes(opts: EncoderTraining, steps: int, seconds: float, images: int) -> dict:
    return {**asdict(opts), "steps_done": steps, "minutes": round(seconds / 60, 1), "real_images": images}
