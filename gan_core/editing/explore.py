"""Exploring the latent space: galleries of seeds, and the dimension and direction scanners that
show, row by row, what each raw dimension or named direction does to one face.

    seeds, images = gallery(gan, start_seed=0, count=16)
    grid = dimension_scan(gan, Face(seed=42).latent(nz), dims=range(8))   # 8 rows of 7 faces
"""
from __future__ import annotations

import numpy as np
import torch

from .directions import Direction, walk
from ..errors import UserError
from ..model.latent import MAX_SEED, check_seed, truncate, z_from_seeds
from ..model.networks import GAN

MAX_GALLERY = 64
MAX_SCAN_ROWS = 16
SCAN_VALUES = (-3, -2, -1, 0, 1, 2, 3)


def gallery(gan: GAN, start_seed: int, count: int = 16, psi: float = 1.0) -> tuple[list[int], np.ndarray]:
    """Faces of `count` consecutive seeds from `start_seed` (wrapping past MAX_SEED to 0), truncated by psi."""
    start = check_seed(start_seed)
    if not 1 <= count <= MAX_GALLERY:
        raise UserError("gallery_count", max=MAX_GALLERY, got=count)
    seeds = [(start + i) % (MAX_SEED + 1) for i in range(count)]
    return seeds, gan.generate(truncate(z_from_seeds(seeds, gan.config.nz), psi))


def dimension_scan(gan: GAN, z: torch.Tensor, dims, values=SCAN_VALUES) -> np.ndarray:
    """Faces [len(dims) * len(values), H, W, C]: row r is the face z with dimension dims[r] set to
    each value in turn, so the dimension that changes age stands out."""
    nz, dims = gan.config.nz, list(dims)
    if not dims:
        raise UserError("scan_no_dimension")
    if len(dims) > MAX_SCAN_ROWS:
        raise UserError("scan_dimensions", max=MAX_SCAN_ROWS)
    rows = []
    for dim in dims:
        if not 0 <= dim < nz:
            raise UserError("dimension_missing", dim=dim, last=nz - 1)
        row = z.reshape(1, nz).repeat(len(values), 1)
        row[:, dim] = torch.tensor(values, dtype=row.dtype)
        rows.append(row)
    return gan.generate(torch.cat(rows))


def direction_scan(gan: GAN, z: torch.Tensor, directions: list[Direction], values=SCAN_VALUES) -> np.ndarray:
    """Faces [len(directions) * len(values), H, W, C]: row r walks z along directions[r]."""
    if not directions:
        raise UserError("scan_no_direction")
    if len(directions) > MAX_SCAN_ROWS:
        raise UserError("scan_directions", max=MAX_SCAN_ROWS)
    return gan.generate(torch.cat([walk(z, d, values) for d in directions]))
