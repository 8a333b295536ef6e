"""Exploring the latent space: galleries of seeds, scrubbing dimensions and moving along named
directions, the dimension and direction scanners, and a shareable state (seed + edits + moves as
a small JSON text).

edits: {dimension: offset} added to single coordinates of z.
moves: {direction name: offset} added along unit directions (see gan_core.directions).
"""
from __future__ import annotations

import json

import numpy as np
import torch

from .directions import Direction, check_offset, move, walk
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


def edited_z(seed: int, edits: dict, nz: int, moves: dict | None = None,
             directions: dict[str, Direction] | None = None) -> torch.Tensor:
    """The seed's z with `edits` added to the chosen dimensions and `moves` along named directions."""
    z = z_from_seed(seed, nz)
    for dim, offset in check_edits(edits, nz).items():
        z[dim] += offset
    return move(z, moves, directions or {}) if moves else z


def face(gan: GAN, seed: int, edits: dict | None = None, moves: dict | None = None,
         directions: dict[str, Direction] | None = None) -> np.ndarray:
    """One face [H, W, C] for a seed, its edits and its moves."""
    return gan.generate(edited_z(seed, edits or {}, gan.config.nz, moves, directions)[None])[0]


def dimension_scan(gan: GAN, seed: int, dims: list[int], edits: dict | None = None,
                   values=(-3, -2, -1, 0, 1, 2, 3), moves: dict | None = None,
                   directions: dict[str, Direction] | None = None) -> np.ndarray:
    """Faces [len(dims) * len(values), H, W, C]: row r is the face with dimension dims[r] set to
    each value in turn (other edits kept), so the dimension that changes age stands out."""
    nz = gan.config.nz
    if not dims:
        raise ValueError("pick at least one dimension to scan")
    if len(dims) > 16:
        raise ValueError("scan at most 16 dimensions at once")
    base = edited_z(seed, edits or {}, nz, moves, directions)
    rows = []
    for dim in dims:
        check_edits({dim: 0}, nz)
        z = base.repeat(len(values), 1)
        z[:, dim] = torch.tensor(values, dtype=z.dtype)
        rows.append(z)
    return gan.generate(torch.cat(rows))


def direction_scan(gan: GAN, z: torch.Tensor, directions: list[Direction],
                   values=(-3, -2, -1, 0, 1, 2, 3)) -> np.ndarray:
    """Faces [len(directions) * len(values), H, W, C]: row r walks z along directions[r]."""
    if not directions:
        raise ValueError("no directions to scan")
    if len(directions) > 16:
        raise ValueError("scan at most 16 directions at once")
    return gan.generate(torch.cat([walk(z, d, values) for d in directions]))


def check_moves(moves: dict) -> dict[str, float]:
    """{direction name: offset} with offsets in range (names are checked when the move is made)."""
    out = {}
    for name, value in moves.items():
        if not isinstance(name, str) or not name.strip():
            raise ValueError(f"a move needs a direction name, got {name!r}")
        offset = check_offset(name, value)
        if offset:
            out[name] = offset
    return out


def share_state(seed: int, edits: dict, moves: dict | None = None) -> str:
    """Seed, edits and moves as a small JSON text a user can copy and paste back."""
    edits = {str(k): round(float(v), 3) for k, v in sorted(edits.items(), key=lambda kv: int(kv[0])) if float(v)}
    state = {"seed": check_seed(seed), "edits": edits}
    if moves := {k: round(v, 3) for k, v in check_moves(moves or {}).items()}:
        state["moves"] = moves
    return json.dumps(state)


def parse_state(text: str, nz: int) -> tuple[int, dict[int, float], dict[str, float]]:
    """The inverse of share_state: (seed, edits, moves), with clear errors for anything else."""
    try:
        state = json.loads(text)
    except (TypeError, json.JSONDecodeError):
        raise ValueError('not a shared state: paste text like {"seed": 42, "edits": {"7": 1.5}}') from None
    if not isinstance(state, dict) or "seed" not in state:
        raise ValueError('a shared state needs a "seed"')
    edits = state.get("edits", {})
    if not isinstance(edits, dict):
        raise ValueError('"edits" must map dimension numbers to offsets')
    moves = state.get("moves", {})
    if not isinstance(moves, dict):
        raise ValueError('"moves" must map direction names to offsets')
    return check_seed(state["seed"]), check_edits(edits, nz), check_moves(moves)
