"""The Face math tab: A - B + C on z, as in the DCGAN paper."""
from __future__ import annotations

import numpy as np

from gan_core.face_math import face_math
from gan_core.latent import check_seed, parse_seeds
from gan_core.media import make_grid
from studio.state import STORE, big, friendly, upscale_all


def exemplars(text: str, name: str) -> list[int]:
    if not (text or "").strip():
        raise ValueError(f"concept {name} has no exemplar faces: type 1 to 3 seeds")
    return parse_seeds(text, max_count=3)


@friendly
def do_face_math(model: str, a: str, b: str, c: str):
    gan = STORE.get(model)
    out = face_math(gan, exemplars(a, "A"), exemplars(b, "B"), exemplars(c, "C"))
    rows = [upscale_all(faces, 96) for faces in out.concepts]
    blank = np.full_like(rows[0][0], 255)
    table = make_grid(np.stack([row[i] if i < len(row) else blank for row in rows for i in range(3)]), nrow=3,
                      pad_value=255)
    return big(out.result), make_grid(upscale_all(out.neighbours, 128), nrow=3), big(out.pixels), table


@friendly
def add_current_to_concept(text: str, seed):
    seeds = parse_seeds(text, 3) if (text or "").strip() else []
    if len(seeds) >= 3:
        raise ValueError("a concept holds at most 3 exemplar faces")
    return ", ".join(map(str, seeds + [check_seed(seed)]))
