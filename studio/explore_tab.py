"""Model choice and the Explore tab: gallery, face, sliders, scanners, sharing, teaching a direction."""
from __future__ import annotations

import json
import tempfile
from pathlib import Path

import gradio as gr

from gan_core.checkpoints import CheckpointError
from gan_core.directions import Direction, direction_from_json, direction_to_json, fit_user_direction
from gan_core.explore import dimension_scan, direction_scan, face, gallery, parse_state, share_state
from gan_core.latent import check_seed
from gan_core.media import make_grid, upscale
from gan_core.teacher import layer_choices
from studio.state import (CONFIG, STORE, big, current_z, default_sliders, direction_choices, directions_of,
                          ends_label, friendly, look_of, readout, upscale_all)


# --- model -------------------------------------------------------------------------------------
def model_updates(key: str):
    gan = STORE.get(key)
    c = gan.config
    info = (f"**{c.name or key}**: {c.image_size}x{c.image_size}, {c.channels} channel(s), "
            f"z of {c.nz} dimensions, on {gan.device.type}")
    dims = gr.update(choices=list(range(c.nz)))
    choices = direction_choices(STORE.directions(key), short=True)
    names = [gr.update(choices=choices, value=name) for name in default_sliders(key)]
    layers = gr.update(choices=layer_choices(gan), value=0)
    step = 1.0 if c.channels == 1 else 0.1  # digits' black background needs bigger steps to move D
    return (key, {}, info, *[dims] * CONFIG.slots, *names, *[0.0] * CONFIG.named_slots, layers, step)


choose_model = friendly(model_updates)


@friendly
def load_hub(repo_id: str):
    repo_id = (repo_id or "").strip()
    if not repo_id:
        raise ValueError("type a Hugging Face repo id, e.g. owner/name")
    return model_updates(repo_id)


def slider_ends(model: str, mine: dict, name):
    """A named slider's label, after its dropdown changed."""
    try:
        return gr.update(label=ends_label(directions_of(model, mine), name))
    except (ValueError, CheckpointError):
        return gr.update(label="move")


@friendly
def refresh_pickers(model: str, mine: dict):
    choices = direction_choices(directions_of(model, mine))
    named = [name for _, name in choices]
    walk_default = next((n for n in named if n.startswith("Age")), named[0] if named else None)
    return gr.update(choices=choices, value=None), gr.update(choices=choices, value=walk_default)


# --- explore -----------------------------------------------------------------------------------
@friendly
def show_gallery(model: str, start_seed):
    seeds, images = gallery(STORE.get(model), check_seed(start_seed), CONFIG.gallery_size)
    return [(upscale(image, 128, smooth=True), f"seed {s}") for s, image in zip(seeds, images)], seeds


def pick_from_gallery(seeds: list[int], event: gr.SelectData):
    return seeds[event.index] if seeds and event.index is not None else gr.update()


@friendly
def show_face(model: str, mine: dict, seed, *slots):
    edits, moves = look_of(slots)
    image = face(STORE.get(model), check_seed(seed), edits, moves, directions_of(model, mine))
    return big(image), readout(model, image)


@friendly
def scan_page(model: str, mine: dict, seed, page, *slots):
    gan = STORE.get(model)
    first = int(page) * CONFIG.scan_page
    dims = [d for d in range(first, first + CONFIG.scan_page) if d < gan.config.nz]
    if not dims:
        raise ValueError(f"page {int(page)} is past the last dimension ({gan.config.nz - 1})")
    edits, moves = look_of(slots)
    images = dimension_scan(gan, check_seed(seed), dims, edits, moves=moves, directions=directions_of(model, mine))
    caption = (f"Rows: dimensions {dims[0]} to {dims[-1]}, top to bottom; columns: the value -3 to +3, "
               f"left to right. Spot a row that changes age or gender, then put it on a slider.")
    return make_grid(upscale_all(images, 96), nrow=7), caption


MAIN_FOUR = ("Age", "Gender", "Glasses", "Smile")
DIRECTION_GROUPS = {  # browser group: which directions it shows
    "Age, gender, glasses, smile": lambda d: d.method == "conditional" or d.name in MAIN_FOUR,
    "Other attributes": lambda d: d.method == "interfacegan" and d.name not in MAIN_FOUR,
    "Yours": lambda d: d.method == "user",
    "SeFa (label-free)": lambda d: d.method == "sefa",
    "PCA (label-free)": lambda d: d.method == "ganspace",
}


def describe(d: Direction) -> str:
    q = d.quality
    if "flip" in q:
        return f"moves {q['attribute'].replace('_', ' ').lower()}: flips {q['flip']:.0%} of faces"
    if "attribute" in q:
        return f"moves {q['attribute'].replace('_', ' ').lower()}"
    if "changes" in q:
        return "changes " + ", ".join(f"{k.replace('_', ' ').lower()} {v:+.2f}" for k, v in list(q["changes"].items())[:2])
    if "fit_accuracy" in q:
        return f"yours: {q['yes']} yes, {q['no']} no"
    return d.method


@friendly
def scan_directions(model: str, mine: dict, seed, group: str, *slots):
    if group not in DIRECTION_GROUPS:
        raise ValueError(f"pick one of: {', '.join(DIRECTION_GROUPS)}")
    directions = [d for d in directions_of(model, mine).values() if DIRECTION_GROUPS[group](d)]
    directions = sorted(directions, key=lambda d: d.method != "conditional")[:12]
    if not directions:
        raise ValueError(f"this model has no {group} directions" + (": teach one below" if group == "Yours" else ""))
    images = direction_scan(STORE.get(model), current_z(model, mine, seed, slots), directions)
    caption = "Rows, top to bottom (columns: -3 to +3):\n" + "\n".join(
        f"{i + 1}. **{d.label}**: {describe(d)}" for i, d in enumerate(directions))
    return make_grid(upscale_all(images, 80), nrow=7), caption


def on_a_slot(item, slots) -> tuple:
    """Slots (what..., value...) with `item` on one: where it already is, else on the first slot
    left at 0 (else the last), reset to 0."""
    half = len(slots) // 2
    items, values = list(slots[:half]), list(slots[half:])
    if item not in items:
        free = next((i for i, v in enumerate(values) if not v), half - 1)
        items[free], values[free] = item, 0.0
    return (*items, *values)


@friendly
def use_dimension(dim, *slots):
    if dim is None:
        raise ValueError("type the dimension number to put on a slider")
    return on_a_slot(int(dim), slots)


@friendly
def use_direction(model: str, mine: dict, name, *named_slots):
    if not name:
        raise ValueError("pick a direction to put on a slider")
    if name not in directions_of(model, mine):
        raise ValueError(f"unknown direction {name!r}")
    return on_a_slot(name, named_slots)


def reset_sliders():
    return [0.0] * (CONFIG.slots + CONFIG.named_slots)


@friendly
def share(seed, *slots):
    return share_state(check_seed(seed), *look_of(slots))


@friendly
def apply_shared(model: str, mine: dict, text: str):
    gan = STORE.get(model)
    seed, edits, moves = parse_state(text, gan.config.nz)
    if len(edits) > CONFIG.slots or len(moves) > CONFIG.named_slots:
        raise ValueError(f"at most {CONFIG.slots} edited dimensions and {CONFIG.named_slots} directions fit on the sliders")
    directions = directions_of(model, mine)
    image = face(gan, seed, edits, moves, directions)  # checks the names before any slider moves
    dims = list(edits) + [i for i in range(CONFIG.slots) if i not in edits][:CONFIG.slots - len(edits)]
    values = list(edits.values()) + [0.0] * (CONFIG.slots - len(edits))
    names = list(moves) + [None] * (CONFIG.named_slots - len(moves))
    offsets = list(moves.values()) + [0.0] * (CONFIG.named_slots - len(moves))
    return (seed, *dims, *values, *names, *offsets, big(image), readout(model, image))


# --- teach a direction -------------------------------------------------------------------------
def marks_text(marks: dict) -> str:
    yes, no = len(marks.get("yes", [])), len(marks.get("no", []))
    return f"**{yes}** marked yes, **{no}** marked no" + ("" if yes + no >= 10 else f" (about {10 - yes - no} more to go)")


@friendly
def mark_face(answer: str, marks: dict, model: str, mine: dict, seed, *slots):
    z = current_z(model, mine, seed, slots)
    marks = {"yes": list(marks.get("yes", [])), "no": list(marks.get("no", []))}
    if len(marks["yes"]) + len(marks["no"]) >= 200:
        raise ValueError("200 marks is the most; fit the direction or clear the marks")
    marks[answer].append([round(float(v), 5) for v in z])
    return marks, marks_text(marks)


def clear_marks():
    marks = {"yes": [], "no": []}
    return marks, marks_text(marks)


def with_mine(model: str, mine: dict, direction: Direction, named_slots) -> tuple:
    """The session's directions with `direction` added, and the named slots (new choices, values)
    with it on one of them."""
    mine = {**(mine or {}), direction.name: direction_to_json(direction)}
    slots = on_a_slot(direction.name, named_slots)
    choices = direction_choices(directions_of(model, mine), short=True)
    names = [gr.update(choices=choices, value=v) for v in slots[:CONFIG.named_slots]]
    return (mine, *names, *slots[CONFIG.named_slots:])


@friendly
def fit_mine(model: str, mine: dict, concept: str, marks: dict, *named_slots):
    gan = STORE.get(model)
    direction = fit_user_direction(concept, marks.get("yes", []), marks.get("no", []), gan.config.nz,
                                   taken=STORE.directions(model))
    folder = Path(tempfile.mkdtemp(prefix="dcgan-direction-"))  # per request: nothing shared
    path = folder / f"{''.join(c if c.isalnum() else '_' for c in direction.name)}.direction.json"
    path.write_text(json.dumps(direction_to_json(direction)))
    mine, *slots = with_mine(model, mine, direction, named_slots)
    note = (f"Fitted **{direction.name}** from {direction.quality['yes']} yes and {direction.quality['no']} no "
            f"marks; it is on a slider now (this session only). Download it below.")
    return (mine, str(path), note, *slots)


@friendly
def upload_direction(model: str, mine: dict, file, *named_slots):
    if file is None:
        raise ValueError("choose a .direction.json file to upload")
    path = Path(file)
    if path.stat().st_size > 64_000:
        raise ValueError("a direction file is a few kilobytes; this one is too big")
    try:
        obj = json.loads(path.read_text())
    except (UnicodeDecodeError, json.JSONDecodeError):
        raise ValueError("not a direction file: it is not JSON") from None
    gan = STORE.get(model)
    direction = direction_from_json(obj, gan.config.nz)
    if direction.name in STORE.directions(model):
        raise ValueError(f"'{direction.name}' is already a direction of this model; rename the file's direction")
    mine, *slots = with_mine(model, mine, direction, named_slots)
    return (mine, f"Loaded **{direction.name}**.", *slots)
