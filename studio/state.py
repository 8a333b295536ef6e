"""What every tab shares: the studio's config, the model store, the live run, and small helpers."""
from __future__ import annotations

import functools
from dataclasses import dataclass
from pathlib import Path

import gradio as gr
import torch

from gan_core.checkpoints import CheckpointError
from gan_core.directions import Direction, direction_from_json
from gan_core.explore import edited_z
from gan_core.latent import check_seed
from gan_core.live_training import LiveRun
from gan_core.media import upscale
from gan_core.registry import ModelStore

ROOT = Path(__file__).resolve().parents[1]  # the repo root, where app.py is


@dataclass(frozen=True)
class StudioConfig:
    bundled: tuple = (("Faces (CelebA 64x64)", ROOT / "checkpoints" / "celeba64"),
                      ("Digits (MNIST 32x32)", ROOT / "checkpoints" / "mnist32"))
    gallery_size: int = 16       # faces per gallery page
    slots: int = 6               # raw latent sliders on screen at once
    named_slots: int = 4         # direction sliders (Age, Gender, ...) on screen at once
    scan_page: int = 8           # dimensions per scanner page
    display: int = 256           # side of the large face, pixels
    runs: Path = ROOT / "runs"   # train.py's run folders here show up in the Training tab
    face_math_presets: tuple = (
        # (label, A, B, C) for a model whose directions.json has none: seeds chosen by looking
        ("man with glasses - man + woman", "47, 71, 83", "16, 18, 21", "3, 19, 33"),
        ("smiling woman - woman + man", "20, 43, 99", "5, 74, 84", "78, 89, 122"),
    )


CONFIG = StudioConfig()
STORE = ModelStore(dict(CONFIG.bundled))
LIVE = LiveRun()  # the one live training run of this process
DEFAULT_MODEL = STORE.names[0] if STORE.names else ""


def friendly(fn):
    """Bad input becomes a clear message in the page, never a traceback."""
    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        try:
            with torch.inference_mode():
                return fn(*args, **kwargs)
        except (ValueError, CheckpointError, RuntimeError, OSError) as err:
            raise gr.Error(str(err)) from None
    return wrapper


def big(image, smooth: bool = True):
    return upscale(image, CONFIG.display, smooth)


def upscale_all(images, size):
    return [upscale(image, size, smooth=True) for image in images]


def look_of(slots) -> tuple[dict[int, float], dict[str, float]]:
    """Slider slots (dims, values, direction names, direction values) -> (edits, moves); later slots win."""
    n, m = CONFIG.slots, CONFIG.named_slots
    dims, values = slots[:n], slots[n:2 * n]
    names, offsets = slots[2 * n:2 * n + m], slots[2 * n + m:2 * n + 2 * m]
    edits = {int(d): float(v) for d, v in zip(dims, values) if d is not None and v}
    moves: dict[str, float] = {}
    for name, value in zip(names, offsets):
        if name and value:
            moves[name] = moves.get(name, 0.0) + float(value)
    return edits, moves


def directions_of(model: str, mine: dict) -> dict[str, Direction]:
    """The model's directions and the session's own (taught or uploaded), by name."""
    nz = STORE.get(model).config.nz
    return {**STORE.directions(model), **{name: direction_from_json(d, nz) for name, d in (mine or {}).items()}}


def direction_choices(directions: dict[str, Direction], short: bool = False) -> list[tuple[str, str]]:
    """(label, name) for a dropdown, the sliders' own first; `short` labels are the bare names
    (for the narrow slider rows, whose slider label tells the two ends)."""
    order = {"conditional": 0, "user": 1, "interfacegan": 2, "sefa": 3, "ganspace": 4}
    ranked = sorted(directions.values(), key=lambda d: order.get(d.method, 4))
    return [(d.name if short else d.label, d.name) for d in ranked]


def ends_label(directions: dict[str, Direction], name) -> str:
    """The label of a named slider: what its two ends look like."""
    d = directions.get(name)
    if d is None or (d.negative, d.positive) == ("-", "+"):
        return "move"
    return f"\u2190 {d.negative}  |  {d.positive} \u2192"


def current_z(model: str, mine: dict, seed, slots) -> torch.Tensor:
    edits, moves = look_of(slots)
    gan = STORE.get(model)
    return edited_z(check_seed(seed), edits, gan.config.nz, moves, directions_of(model, mine))


def default_sliders(key: str) -> list[str | None]:
    """What the named sliders show first: the model's suggestions, then its other directions."""
    suggested = STORE.sliders(key)
    picks = suggested + [n for _, n in direction_choices(STORE.directions(key)) if n not in suggested]
    return (picks + [None] * CONFIG.named_slots)[:CONFIG.named_slots]


def readout(model: str, image) -> dict | None:
    """The attribute classifier's view of a face, for a gr.Label (None for models without one)."""
    classifier = STORE.classifier(model)
    if classifier is None:
        return None
    probs = classifier.predict(image[None])[0]
    return {name.replace("_", " ").lower(): float(p) for name, p in zip(classifier.names, probs)}
