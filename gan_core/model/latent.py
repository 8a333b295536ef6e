"""Seeds and latents: the same seed is the same z (and face) on every device; interpolation."""
from __future__ import annotations

import functools
import math

import torch

from ..errors import UserError

MAX_SEED = 2**32 - 1


def check_seed(seed) -> int:
    """An int in [0, 2^32 - 1], or a ValueError that says what was wrong."""
    try:
        value = int(str(seed).strip()) if isinstance(seed, str) else int(seed)
    except (TypeError, ValueError, OverflowError):
        raise UserError("seed_whole", got=str(seed)[:40]) from None
    if isinstance(seed, bool) or (value != seed and not isinstance(seed, str)):
        raise UserError("seed_whole", got=str(seed)[:40])
    if not 0 <= value <= MAX_SEED:
        shown = value if abs(value) < 10**12 else f"{value:.3g}"
        raise UserError("seed_range", max=MAX_SEED, got=shown)
    return value


def z_from_seed(seed: int, nz: int = 100, device: torch.device | str = "cpu") -> torch.Tensor:
    """z [nz] ~ N(0, I) drawn on a private CPU generator, so a seed gives one z everywhere."""
    generator = torch.Generator().manual_seed(check_seed(seed))
    return torch.randn(nz, generator=generator).to(device)


def z_from_seeds(seeds, nz: int = 100, device: torch.device | str = "cpu") -> torch.Tensor:
    """z [len(seeds), nz], row i equal to z_from_seed(seeds[i])."""
    seeds = list(seeds)
    if not seeds:
        return torch.zeros(0, nz, device=device)
    return torch.stack([z_from_seed(s, nz) for s in seeds]).to(device)


# --- truncation: faces pulled towards the average one --------------------------------------------
TRUNCATIONS = ("scale", "normal")
TRUNCATION = "normal"  # the studio's method, chosen by bench/quality.py --truncation (see the faces model card)


@functools.lru_cache(maxsize=256)
def _clip_for(psi: float) -> float:
    """The threshold t at which N(0, 1) cut to [-t, t] has standard deviation psi (bisection)."""
    def sd(t):
        return math.sqrt(1 - 2 * t * math.exp(-t * t / 2) / math.sqrt(2 * math.pi) / math.erf(t / math.sqrt(2)))
    lo, hi = 1e-6, 40.0
    for _ in range(80):
        mid = (lo + hi) / 2
        lo, hi = (mid, hi) if sd(mid) < psi else (lo, mid)
    return (lo + hi) / 2


def check_psi(psi) -> float:
    """A truncation from 0 (every face the average one) to 1 (none), or a ValueError."""
    try:
        value = float(psi)
    except (TypeError, ValueError, OverflowError):
        raise UserError("psi", got=repr(str(psi)[:40])) from None
    if isinstance(psi, bool) or not 0.0 <= value <= 1.0:
        raise UserError("psi", got=str(psi)[:40])
    return value


def truncate(z: torch.Tensor, psi: float, method: str = TRUNCATION) -> torch.Tensor:
    """z ~ N(0, I) [..., nz] pulled towards the mean (z = 0), where faces are cleaner and less varied.

    "scale": psi * z (the truncation trick of StyleGAN, in z: the mean of z is 0).
    "normal": each number mapped monotonically (through the normal CDF) onto N(0, 1) cut to
    [-t, t], t chosen so its standard deviation is psi; the same distribution as BigGAN's
    "resample beyond t", but one seed's z moves smoothly as psi changes.
    psi = 1 leaves z as it is; psi = 0 gives the average face for every z.
    """
    psi = check_psi(psi)
    if method not in TRUNCATIONS:
        raise ValueError(f"truncation method must be one of {', '.join(TRUNCATIONS)}, got {str(method)[:20]!r}")
    if psi == 1.0:
        return z
    if method == "scale" or psi == 0.0:
        return z * psi
    t = _clip_for(psi)
    cut = torch.special.ndtr(torch.tensor(t, dtype=torch.float64))
    u = torch.special.ndtr(z.double())
    return torch.special.ndtri((1 - cut) + u * (2 * cut - 1)).to(z.dtype)


def parse_seeds(text: str, max_count: int = 10_000) -> list[int]:
    """'0-3, 10' -> [0, 1, 2, 3, 10]; ranges are inclusive. Bounded to max_count seeds."""
    seeds: list[int] = []
    for part in str(text).replace(" ", "").split(","):
        if not part:
            continue
        first, dash, last = part.partition("-")
        if dash and not first:
            raise UserError("seed_negative", max=MAX_SEED, part=part)
        if not dash:
            seeds.append(check_seed(first))
            continue
        lo, hi = check_seed(first), check_seed(last)
        if hi < lo:
            raise UserError("seed_backwards", part=part)
        if len(seeds) + hi - lo + 1 > max_count:
            raise UserError("too_many_seeds", count=max_count)
        seeds.extend(range(lo, hi + 1))
    if not seeds:
        raise UserError("no_seeds", text=str(text))
    if len(seeds) > max_count:
        raise UserError("too_many_seeds", count=max_count)
    return seeds


def lerp(z0: torch.Tensor, z1: torch.Tensor, t) -> torch.Tensor:
    """Straight line: t may be a float or a 1-d tensor of weights (one row per t)."""
    t = torch.as_tensor(t, dtype=z0.dtype, device=z0.device)
    if t.ndim == 1:
        t = t[:, None]
    return z0 + (z1 - z0) * t


def slerp(z0: torch.Tensor, z1: torch.Tensor, t, eps: float = 1e-4) -> torch.Tensor:
    """Spherical interpolation along the great circle; falls back to lerp for (anti)parallel-safe
    small angles, so parallel vectors give no NaN. Norms are interpolated linearly."""
    t = torch.as_tensor(t, dtype=z0.dtype, device=z0.device)
    if t.ndim == 1:
        t = t[:, None]
    n0, n1 = z0.norm(), z1.norm()
    if n0 < 1e-12 or n1 < 1e-12:
        return lerp(z0, z1, t)
    u0, u1 = z0 / n0, z1 / n1
    omega = torch.arccos((u0 * u1).sum().clamp(-1.0, 1.0))
    sin_omega = torch.sin(omega)
    if sin_omega.abs() < eps:  # parallel or opposite: no unique great circle
        return lerp(z0, z1, t)
    direction = (torch.sin((1 - t) * omega) * u0 + torch.sin(t * omega) * u1) / sin_omega
    return direction * (n0 + (n1 - n0) * t)


EASINGS = {
    "linear": lambda t: t,
    "ease-in-out": lambda t: 0.5 - 0.5 * torch.cos(math.pi * t),
    "ease-in": lambda t: 1 - torch.cos(0.5 * math.pi * t),
    "ease-out": lambda t: torch.sin(0.5 * math.pi * t),
}


def interpolation_path(keyframes: torch.Tensor, frames_per_segment: int, mode: str = "slerp",
                       easing: str = "linear", loop: bool = False) -> torch.Tensor:
    """Keyframe latents [K, nz] -> frames [F, nz] through each keyframe in turn.

    Each segment has `frames_per_segment` frames starting at its keyframe; the last keyframe
    (or, with `loop`, the first again) closes the path, so F = segments * frames + (not loop).
    """
    if keyframes.ndim != 2 or keyframes.shape[0] < 2:
        raise ValueError("an interpolation needs at least two keyframes")
    if frames_per_segment < 1:
        raise ValueError("frames_per_segment must be at least 1")
    if mode not in ("slerp", "lerp"):
        raise ValueError(f"mode must be 'slerp' or 'lerp', got {mode!r}")
    if easing not in EASINGS:
        raise ValueError(f"easing must be one of {sorted(EASINGS)}, got {easing!r}")
    points = torch.cat([keyframes, keyframes[:1]]) if loop else keyframes
    t = EASINGS[easing](torch.arange(frames_per_segment, dtype=keyframes.dtype) / frames_per_segment)
    blend = slerp if mode == "slerp" else lerp
    frames = [blend(a, b, t.to(keyframes.device)) for a, b in zip(points[:-1], points[1:])]
    if not loop:
        frames.append(points[-1:])
    return torch.cat(frames)
