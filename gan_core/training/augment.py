"""DiffAugment (Zhao et al. 2020): differentiable augmentations applied to every image D sees,
real and generated alike, so a small data set does not let D memorise it. Policy: a
comma-separated subset of "color,translation,cutout"; the empty string turns it off."""
from __future__ import annotations

import torch

from .distributed import shared
from ..errors import UserError

POLICIES = ("color", "translation", "cutout")


def check_policy(policy: str) -> list[str]:
    parts = [p for p in policy.replace(" ", "").split(",") if p]
    unknown = [p for p in parts if p not in POLICIES]
    if unknown:
        raise UserError("diffaugment", unknown=str(unknown), policies=str(POLICIES))
    return parts


def _rand(x: torch.Tensor, generator, *shape) -> torch.Tensor:
    """Uniform numbers for each image of x; `generator`: a torch.Generator, a
    distributed.SharedRandom (x is this rank's rows of a global batch), or None."""
    return shared(generator).rand(x.shape[0], *shape, device=x.device)


def color(x: torch.Tensor, generator=None) -> torch.Tensor:
    x = x + (_rand(x, generator, 1, 1, 1) - 0.5)                                  # brightness
    mean = x.mean(dim=1, keepdim=True)
    x = (x - mean) * (_rand(x, generator, 1, 1, 1) * 2) + mean                    # saturation
    mean = x.mean(dim=(1, 2, 3), keepdim=True)
    return (x - mean) * (_rand(x, generator, 1, 1, 1) + 0.5) + mean              # contrast


def translation(x: torch.Tensor, generator=None, ratio: float = 0.125) -> torch.Tensor:
    n, _, h, w = x.shape
    sh, sw = int(h * ratio + 0.5), int(w * ratio + 0.5)
    dy = (_rand(x, generator, 1, 1) * (2 * sh + 1)).long() - sh
    dx = (_rand(x, generator, 1, 1) * (2 * sw + 1)).long() - sw
    rows = (torch.arange(h, device=x.device)[None, :, None] + dy).clamp(-1, h) + 1
    cols = (torch.arange(w, device=x.device)[None, None, :] + dx).clamp(-1, w) + 1
    padded = torch.nn.functional.pad(x, (1, 1, 1, 1))
    flat = padded.permute(0, 2, 3, 1)                                             # N, H+2, W+2, C
    batch = torch.arange(n, device=x.device)[:, None, None]
    return flat[batch, rows.expand(n, h, w), cols.expand(n, h, w)].permute(0, 3, 1, 2)


def cutout(x: torch.Tensor, generator=None, ratio: float = 0.5) -> torch.Tensor:
    n, _, h, w = x.shape
    ch, cw = int(h * ratio + 0.5), int(w * ratio + 0.5)
    cy = (_rand(x, generator, 1, 1) * (h + 1 - ch % 2)).long()
    cx = (_rand(x, generator, 1, 1) * (w + 1 - cw % 2)).long()
    ys = torch.arange(h, device=x.device)[None, :, None]
    xs = torch.arange(w, device=x.device)[None, None, :]
    top, left = cy - ch // 2, cx - cw // 2
    inside = (ys >= top) & (ys < top + ch) & (xs >= left) & (xs < left + cw)
    return x * (~inside)[:, None].to(x.dtype)


def diff_augment(x: torch.Tensor, policy: str, generator: torch.Generator | None = None) -> torch.Tensor:
    for name in check_policy(policy):
        x = {"color": color, "translation": translation, "cutout": cutout}[name](x, generator)
    return x
