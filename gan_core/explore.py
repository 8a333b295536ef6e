"""Exploring the latent space: galleries of seeds, scrubbing dimensions, the dimension scanner,
and a shareable state (seed + edits as a small JSON text)."""
from __future__ import annotations

import json

import numpy as np
import torch

from .latent import check_seed, z_from_seed, z_from_seeds
from .models import GAN

MAX_GALLERY = 64
MAX_EDIT = 5.0  # edits are offsets in units of z's standard deviation


def gallery(gan: GAN, start_seed: int, count: int = 16) -> tuple[list[int], np.ndarray]:
    """Faces of `count` consecutive seeds from `start_seed` (wrapping below 2^32)."""
    start = check_seed(start_seed)
    if not 1 <= count <= MAX_GALLERY:
        raise ValueError(f"a gallery holds 1 to {MAX_GALLERY} faces, not {count}")
    seeds = [(start + i) % 2**32 for i in range(count)]
    return seeds, gan.generate(z_from_seeds(seeds, gan.config.nz))


def check_edits(edits: dict, nz: int) -> dict[int, float]:
    """{dimension: offset} with dimensions in [0, nz) and offsets in [-MAX_EDIT, MAX_EDIT]."""
    out = {}
    for key, value in edits.items():
        try:
            dim, offset = int(key), float(value)
        except (TypeError, ValueError):
            raise ValueError(f"an edit is a dimension number and an offset, got {key!r}: {value!r}") from None
        if not 0 <= dim < nz:
            raise ValueError(f"dimension {dim} does not exist: this model has dimensions 0 to {nz - 1}")
        if not np.isfinite(offset) or abs(offset) > MAX_EDIT:
            raise ValueError(f"offset {value} for dimension {dim} is outside -{MAX_EDIT:g}..{MAX_EDIT:g}")
        if offset:
            out[dim] = offset
    return out


def edited_z(seed: int, edits: dict, nz: int) -> torch.Tensor:
    """The seed's z with `edits` added to the chosen dimensions."""
    z = z_from_seed(seed, nz)
    for dim, offset in check_edits(edits, nz).items():
        z[dim] += offset
    return z


def face(gan: GAN, seed: int, edits: dict | None = None) -> np.ndarray:
    """One face [H, W, C] for a seed and its edits."""
    return gan.generate(edited_z(seed, edits or {}, gan.config.nz)[None])[0]


def dimension_scan(gan: GAN, seed: int, dims: list[int], edits: dict | None = None,
                   values=(-3, -2, -1, 0, 1, 2, 3)) -> np.ndarray:
    """Faces [len(dims) * len(values), H, W, C]: row r is the face with dimension dims[r] set to
    each value in turn (other edits kept), so the dimension that changes age stands out."""
    nz = gan.config.nz
    if not dims:
        raise ValueError("pick at least one dimension to scan")
    if len(dims) > 16:
        raise ValueError("scan at most 16 dimensions at once")
    base = edited_z(seed, edits or {}, nz)
    rows = []
    for dim in dims:
        check_edits({dim: 0}, nz)
        z = base.repeat(len(values), 1)
        z[:, dim] = torch.tensor(values, dtype=z.dtype)
        rows.append(z)
    return gan.generate(torch.cat(rows))


def share_state(seed: int, edits: dict) -> str:
    """Seed and edits as a small JSON text a user can copy and paste back."""
    edits = {str(k): round(float(v), 3) for k, v in sorted(edits.items(), key=lambda kv: int(kv[0])) if float(v)}
    return json.dumps({"seed": check_seed(seed), "edits": edits})


def parse_state(text: str, nz: int) -> tuple[int, dict[int, float]]:
    """The inverse of share_state, with clear errors for anything else."""
    try:
        state = json.loads(text)
    except (TypeError, json.JSONDecodeError):
        raise ValueError('not a shared state: paste text like {"seed": 42, "edits": {"7": 1.5}}') from None
    if not isinstance(state, dict) or "seed" not in state:
        raise ValueError('a shared state needs a "seed"')
    edits = state.get("edits", {})
    if not isinstance(edits, dict):
        raise ValueError('"edits" must map dimension numbers to offsets')
    return check_seed(state["seed"]), check_edits(edits, nz)
