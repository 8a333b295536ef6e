"""DCGAN Studio: explore a DCGAN's faces, morph between them, and do face arithmetic.

    $ python app.py                      # http://127.0.0.1:7860 (GRADIO_SERVER_NAME / _PORT respected)

Layout and wiring only: every picture comes from gan_core. Each action is also an API
endpoint (see "Use via API" at the foot of the page, or gradio_client).
"""
from __future__ import annotations

import functools
import json
import random
import tempfile
from dataclasses import dataclass
from pathlib import Path

import gradio as gr
import numpy as np
import torch

from gan_core.checkpoints import CheckpointError
from gan_core.directions import Direction, direction_from_json, direction_to_json, fit_user_direction
from gan_core.explore import dimension_scan, direction_scan, edited_z, face, gallery, parse_state, share_state
from gan_core.face_math import face_math
from gan_core.latent import MAX_SEED, check_seed, parse_seeds, z_from_seed
from gan_core.media import make_grid, upscale, write_gif, write_mp4
from gan_core.morph import (EASINGS, MAX_FRAMES, MAX_SIZE, add_keyframe, check_fps, filmstrip, keyframes_from_text,
                            morph_frames, walk_keyframes, write_morph)
from gan_core.dashboard import curve_tables, grid_at, read_run, summary, timelapse
from gan_core.live_training import LiveRun
from gan_core.registry import ModelStore
from gan_core.teacher import (ask, difference_map, feature_maps, generator_steps, layer_choices, pixel_steps,
                              probability)
from gan_core.uploads import load_upload

HERE = Path(__file__).resolve().parent


@dataclass(frozen=True)
class StudioConfig:
    bundled: tuple = (("Faces (CelebA 64x64)", HERE / "checkpoints" / "celeba64"),
                      ("Digits (MNIST 32x32)", HERE / "checkpoints" / "mnist32"))
    gallery_size: int = 16       # faces per gallery page
    slots: int = 6               # raw latent sliders on screen at once
    named_slots: int = 4         # direction sliders (Age, Gender, ...) on screen at once
    scan_page: int = 8           # dimensions per scanner page
    display: int = 256           # side of the large face, pixels
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


def direction_choices(directions: dict[str, Direction]) -> list[tuple[str, str]]:
    order = {"conditional": 0, "user": 1, "interfacegan": 2, "sefa": 3, "ganspace": 4}
    ranked = sorted(directions.values(), key=lambda d: order.get(d.method, 4))
    return [(d.label, d.name) for d in ranked]


def current_z(model: str, mine: dict, seed, slots) -> torch.Tensor:
    edits, moves = look_of(slots)
    gan = STORE.get(model)
    return edited_z(check_seed(seed), edits, gan.config.nz, moves, directions_of(model, mine))


# --- model -------------------------------------------------------------------------------------
def default_sliders(key: str) -> list[str | None]:
    """What the named sliders show first: the model's suggestions, then its other directions."""
    picks = STORE.sliders(key) + [n for _, n in direction_choices(STORE.directions(key)) if n not in STORE.sliders(key)]
    return (picks + [None] * CONFIG.named_slots)[:CONFIG.named_slots]


def model_updates(key: str):
    gan = STORE.get(key)
    c = gan.config
    info = (f"**{c.name or key}**: {c.image_size}x{c.image_size}, {c.channels} channel(s), "
            f"z of {c.nz} dimensions, on {gan.device.type}")
    dims = gr.update(choices=list(range(c.nz)))
    choices = direction_choices(STORE.directions(key))
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


def readout(model: str, image) -> dict | None:
    """The attribute classifier's view of a face, for a gr.Label (None for models without one)."""
    classifier = STORE.classifier(model)
    if classifier is None:
        return None
    probs = classifier.predict(image[None])[0]
    return {name.replace("_", " ").lower(): float(p) for name, p in zip(classifier.names, probs)}


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


@friendly
def use_dimension(dim, *slots):
    if dim is None:
        raise ValueError("type the dimension number to put on a slider")
    dim = int(dim)
    dims, values = list(slots[:CONFIG.slots]), list(slots[CONFIG.slots:])
    if dim in dims:
        return (*dims, *values)
    free = next((i for i, v in enumerate(values) if not v), len(dims) - 1)
    dims[free], values[free] = dim, 0.0
    return (*dims, *values)


@friendly
def use_direction(model: str, mine: dict, name, *named_slots):
    if not name:
        raise ValueError("pick a direction to put on a slider")
    if name not in directions_of(model, mine):
        raise ValueError(f"unknown direction {name!r}")
    names, values = list(named_slots[:CONFIG.named_slots]), list(named_slots[CONFIG.named_slots:])
    if name not in names:
        free = next((i for i, v in enumerate(values) if not v), len(names) - 1)
        names[free], values[free] = name, 0.0
    return (*names, *values)


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


@friendly
def fit_mine(model: str, mine: dict, concept: str, marks: dict, *named_slots):
    gan = STORE.get(model)
    direction = fit_user_direction(concept, marks.get("yes", []), marks.get("no", []), gan.config.nz,
                                   taken=STORE.directions(model))
    mine = {**(mine or {}), direction.name: direction_to_json(direction)}
    folder = Path(tempfile.mkdtemp(prefix="dcgan-direction-"))  # per request: nothing shared
    path = folder / f"{''.join(c if c.isalnum() else '_' for c in direction.name)}.direction.json"
    path.write_text(json.dumps(direction_to_json(direction)))
    slots = use_direction.__wrapped__(model, mine, direction.name, *named_slots)
    choices = direction_choices(directions_of(model, mine))
    names = [gr.update(choices=choices, value=v) for v in slots[:CONFIG.named_slots]]
    note = (f"Fitted **{direction.name}** from {direction.quality['yes']} yes and {direction.quality['no']} no "
            f"marks; it is on a slider now (this session only). Download it below.")
    return (mine, str(path), note, *names, *slots[CONFIG.named_slots:])


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
    mine = {**(mine or {}), direction.name: direction_to_json(direction)}
    slots = use_direction.__wrapped__(model, mine, direction.name, *named_slots)
    choices = direction_choices(directions_of(model, mine))
    return (mine, f"Loaded **{direction.name}**.", *[gr.update(choices=choices, value=v) for v in slots[:CONFIG.named_slots]],
            *slots[CONFIG.named_slots:])


# --- morph -------------------------------------------------------------------------------------
@friendly
def add_current_to_keyframes(keyframes: str, seed, *slots):
    return add_keyframe(keyframes, check_seed(seed), *look_of(slots))


def render_morph(model: str, mine: dict, keyframes: str, frames_per_segment, mode: str, easing: str, loop: bool,
                 size, smooth: bool, progress) -> list:
    gan = STORE.get(model)
    keys = keyframes_from_text(keyframes, gan.config.nz, directions_of(model, mine))
    progress(0, desc="Rendering frames")
    return morph_frames(gan, keys, int(frames_per_segment), mode, easing, bool(loop), int(size), bool(smooth),
                        progress=lambda f: progress(0.8 * f, desc="Rendering frames"))


def finish_morph(frames, fps, size, progress, what: str = "frames"):
    progress(0.8, desc="Encoding MP4 and GIF")
    folder = tempfile.mkdtemp(prefix="dcgan-morph-")  # one folder per render: nothing shared
    mp4, gif = write_morph(frames, folder, float(fps))
    return filmstrip(frames), str(mp4), str(gif), f"{len(frames)} {what} at {int(fps)} fps, {int(size)} px"


@friendly
def make_morph(model: str, mine: dict, keyframes: str, frames_per_segment, fps, mode: str, easing: str, loop: bool,
               size, smooth: bool, progress=gr.Progress()):
    check_fps(fps)
    frames = render_morph(model, mine, keyframes, frames_per_segment, mode, easing, loop, size, smooth, progress)
    return finish_morph(frames, fps, size, progress)


@friendly
def make_walk(model: str, mine: dict, name, span, frames_per_segment, fps, easing: str, loop: bool, size,
              smooth: bool, seed, *slots, progress=gr.Progress()):
    check_fps(fps)
    directions = directions_of(model, mine)
    if name not in directions:
        raise ValueError(f"pick a direction to walk (unknown: {name!r})")
    keys = walk_keyframes(current_z(model, mine, seed, slots), directions[name], float(span))
    progress(0, desc="Rendering frames")
    frames = morph_frames(STORE.get(model), keys, int(frames_per_segment), "lerp", easing, bool(loop), int(size),
                          bool(smooth), progress=lambda f: progress(0.8 * f, desc="Rendering frames"))
    return finish_morph(frames, fps, size, progress, f"frames walking {directions[name].label}")


def morph_file(fmt: str):
    """An API-only morph endpoint that renders one format (MP4 or GIF)."""
    @friendly
    def render(model: str, mine: dict, keyframes: str, frames_per_segment, fps, mode: str, easing: str, loop: bool,
               size, smooth: bool, progress=gr.Progress()):
        frames = render_morph(model, mine, keyframes, frames_per_segment, mode, easing, loop, size, smooth, progress)
        folder = Path(tempfile.mkdtemp(prefix="dcgan-morph-"))
        writer = write_mp4 if fmt == "mp4" else write_gif
        return str(writer(frames, folder / f"morph.{fmt}", check_fps(fps)))
    return render

# --- ask the discriminator ---------------------------------------------------------------------
SOURCES = ("Current face (Explore)", "A seed", "An uploaded picture")


def subject_of(model: str, mine: dict, source: str, d_seed, upload, seed, slots) -> dict:
    """What D is asked about: {"image": uint8 [S, S, C], "z": [nz] list or None, "what": text}."""
    gan = STORE.get(model)
    if source == SOURCES[2]:
        if not upload:
            raise ValueError("upload a picture first (PNG, JPEG or WebP; it is centre-cropped to a square)")
        image = load_upload(upload, gan.config.image_size, gan.config.channels)
        return {"image": image, "z": None, "what": "your picture"}
    if source == SOURCES[1]:
        z, what = z_from_seed(check_seed(d_seed), gan.config.nz), f"seed {check_seed(d_seed)}"
    elif source == SOURCES[0]:
        z, what = current_z(model, mine, seed, slots), f"the current face (seed {check_seed(seed)} with its sliders)"
    else:
        raise ValueError(f"show D one of: {', '.join(SOURCES)}")
    return {"image": gan.generate(z[None])[0], "z": z.tolist(), "what": what}


def verdict_text(p: float, what: str) -> str:
    return f"### D says {p:.3f}\nD's probability that {what} is a real photo (0: surely generated, 1: surely real)."


def probability_table(probs: list[float]):
    import pandas as pd  # comes with gradio
    return pd.DataFrame({"step": list(range(len(probs))), "D(image)": probs})


@friendly
def ask_discriminator(model: str, mine: dict, source: str, d_seed, upload, seed, *slots):
    gan = STORE.get(model)
    subject = subject_of(model, mine, source, d_seed, upload, seed, slots)
    verdict = ask(gan, subject["image"])
    side = CONFIG.display
    steps = {"images": [subject["image"]], "probs": [verdict.probability]}
    return (subject, steps, big(subject["image"], smooth=False), verdict_text(verdict.probability, subject["what"]),
            verdict.heat_map(side), verdict.signed_map(side))


@friendly
def show_feature_maps(model: str, subject: dict, layer, top):
    if not subject:
        raise ValueError("ask D about a face first")
    maps = feature_maps(STORE.get(model), subject["image"], int(layer), int(top), size=160)
    return [(m.overlay, f"unit {m.channel}: {m.strength:.2f}") for m in maps]


def steps_outputs(subject: dict, steps: dict):
    images, probs = steps["images"], steps["probs"]
    change = f"{probs[0]:.3f} \u2192 {probs[-1]:.3f}" if len(probs) > 1 else f"{probs[0]:.3f}"
    note = (f"**{len(probs) - 1} step(s) up D's gradient: D(image) {change}.** The change is tiny "
            f"(see the difference, scaled up) yet D's verdict moves: its gradient is what G learns from.")
    return (steps, big(images[-1], smooth=False), difference_map(images[0], images[-1], CONFIG.display),
            probability_table(probs), note)


@friendly
def take_pixel_steps(model: str, subject: dict, steps: dict, count, step_size):
    if not subject or not steps:
        raise ValueError("ask D about a face first")
    gan = STORE.get(model)
    more = pixel_steps(gan, steps["images"][-1], int(count), float(step_size))
    steps = {"images": steps["images"] + more.images[1:], "probs": steps["probs"] + more.probabilities[1:]}
    if len(steps["probs"]) > 201:
        raise ValueError("200 steps is the most; press Reset steps to start again from the face")
    return steps_outputs(subject, steps)


@friendly
def reset_steps(model: str, subject: dict):
    if not subject:
        raise ValueError("ask D about a face first")
    return steps_outputs(subject, {"images": [subject["image"]], "probs": [probability(STORE.get(model), subject["image"])]})


@friendly
def take_generator_steps(model: str, subject: dict, count, target: str, lr):
    if not subject:
        raise ValueError("ask D about a face first")
    if subject.get("z") is None:
        raise ValueError("G-steps need a face G made (the current face or a seed): G has no z for an upload")
    out = generator_steps(STORE.get(model), torch.tensor(subject["z"]), int(count), float(lr), target)
    picks = np.linspace(0, len(out.images) - 1, min(6, len(out.images))).round().astype(int)
    strip = [(upscale(out.images[i], 128, smooth=True), f"step {i}: D {out.probabilities[i]:.3f}") for i in picks]
    what = "a copy of G's weights" if target == "weights" else "z"
    note = (f"**{len(out.images) - 1} training steps on {what}: D(G(z)) {out.probabilities[0]:.3f} \u2192 "
            f"{out.probabilities[-1]:.3f}.** The shipped G is unchanged.")
    return strip, probability_table(out.probabilities), note


# --- training dashboard ------------------------------------------------------------------------
LIVE_RUN = "Live run (digits, trained here)"


def run_of(which: str):
    if which == LIVE_RUN:
        status = LIVE.status()
        if status.folder is None:
            raise ValueError("no live run yet: press Start")
        return read_run(status.folder)
    if which not in STORE.bundled:
        raise ValueError(f"pick one of: {', '.join([*STORE.bundled, LIVE_RUN])}")
    return read_run(STORE.bundled[which])


@friendly
def show_run(which: str):
    if which == LIVE_RUN and not LIVE.status().records:
        return LIVE.status().message, None, None, gr.update(), None, ""
    run = run_of(which)
    losses, outputs = curve_tables(run.records)
    steps = run.grid_steps or [0]
    last = steps[-1]
    grid = grid_at(run, last)[1] if run.grids else None
    slider = gr.update(minimum=0, maximum=max(last, 1), value=last, step=max(1, last // 100))
    return summary(run), losses, outputs, slider, grid, f"Grid at step {last:,}"


@friendly
def show_grid(which: str, step):
    found, grid = grid_at(run_of(which), step)
    return grid, f"Grid at step {found:,} (the nearest saved to {int(step):,})"


@friendly
def make_timelapse(which: str, fps):
    folder = Path(tempfile.mkdtemp(prefix="dcgan-timelapse-"))
    return str(timelapse(run_of(which), folder / "timelapse.mp4", fps=float(fps)))


@friendly
def start_live(steps, minutes):
    status = LIVE.start(int(steps), float(minutes))
    return status.message, gr.Timer(active=True), LIVE_RUN


def live_outputs():
    status = LIVE.status()
    if status.records:
        losses, outputs = curve_tables(status.records)
    else:
        losses = outputs = None
    timer = gr.Timer(active=status.running)
    return status.message, losses, outputs, status.grid, timer


@friendly
def stop_live():
    return LIVE.stop().message


# --- face math ---------------------------------------------------------------------------------
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


# --- layout ------------------------------------------------------------------------------------
INITIAL_CHOICES = direction_choices(STORE.directions(DEFAULT_MODEL)) if DEFAULT_MODEL else []
INITIAL_SLIDERS = default_sliders(DEFAULT_MODEL) if DEFAULT_MODEL else [None] * CONFIG.named_slots
LAYERS = layer_choices(STORE.get(DEFAULT_MODEL)) if DEFAULT_MODEL else []
PRESETS = (STORE.presets(DEFAULT_MODEL) if DEFAULT_MODEL else []) or [list(p) for p in CONFIG.face_math_presets]

with gr.Blocks(title="DCGAN Studio", delete_cache=(3600, 3600)) as demo:
    model = gr.State(DEFAULT_MODEL)  # per session
    mine = gr.State({})  # the session's own directions: name -> direction_to_json(...)
    marks = gr.State({"yes": [], "no": []})  # faces marked for teaching a direction (their z)
    gallery_seeds = gr.State([])
    gr.Markdown("# DCGAN Studio\nA small DCGAN (Radford et al. 2015) that makes faces. "
                "Pick faces by seed, scrub the 100 numbers of z they come from, morph between them, "
                "and add and subtract them.")
    with gr.Row(equal_height=True):
        model_pick = gr.Dropdown(STORE.names, value=DEFAULT_MODEL, label="Model", scale=2)
        hub_id = gr.Textbox(label="…or a Hugging Face repo id", placeholder="owner/name", scale=2)
        hub_btn = gr.Button("Load from the Hub", scale=1)
    model_info = gr.Markdown()

    with gr.Tab("Explore"):
        with gr.Row():
            with gr.Column(scale=3):
                with gr.Row(equal_height=True):
                    start_seed = gr.Number(0, precision=0, minimum=0, maximum=MAX_SEED, label="First seed")
                    random_btn = gr.Button("Random seeds")
                faces = gr.Gallery(label="Click a face to explore it", columns=4, height=560, elem_id="faces",
                                   allow_preview=False, object_fit="contain")
                with gr.Accordion("Direction browser: what does each direction do?", open=False):
                    with gr.Row(equal_height=True):
                        group = gr.Radio(list(DIRECTION_GROUPS), value=next(iter(DIRECTION_GROUPS)), label="Directions",
                                         scale=3)
                        browse_btn = gr.Button("Show", scale=1)
                    with gr.Row(equal_height=True):
                        pick_direction = gr.Dropdown(INITIAL_CHOICES, label="Direction to put on a named slider",
                                                     scale=3, allow_custom_value=True)
                        use_dir_btn = gr.Button("Put on a slider", scale=1)
                    browse_image = gr.Image(label="Directions walked from the current face", interactive=False,
                                            elem_id="direction-scan")
                    browse_caption = gr.Markdown()
                with gr.Accordion("Dimension scanner: which raw number changes what?", open=False):
                    with gr.Row(equal_height=True):
                        page = gr.Slider(0, 12, 0, step=1, label="Page (8 dimensions each)")
                        scan_btn = gr.Button("Scan")
                        pick_dim = gr.Number(None, precision=0, minimum=0, label="Dimension to put on a slider")
                        use_btn = gr.Button("Put on a slider")
                    scan_caption = gr.Markdown()
                    scan_image = gr.Image(label="Dimension scan", interactive=False)
                with gr.Accordion("Teach a direction: mark faces yes or no", open=False):
                    gr.Markdown("Name a concept, then for about ten faces (click one in the gallery, or move the "
                                "sliders) say whether it shows it. The studio fits a direction through z that "
                                "separates your yes from your no, and puts it on a slider for this session.")
                    concept = gr.Textbox(label="Concept", placeholder="e.g. freckles, looks tired, wavy hair")
                    with gr.Row():
                        yes_btn = gr.Button("Yes: the current face has it", elem_id="mark-yes")
                        no_btn = gr.Button("No: it does not", elem_id="mark-no")
                        clear_btn = gr.Button("Clear marks", size="sm")
                    marks_info = gr.Markdown("**0** marked yes, **0** marked no (about 10 more to go)")
                    fit_btn = gr.Button("Fit my direction", variant="primary", elem_id="fit-direction")
                    fit_info = gr.Markdown()
                    with gr.Row():
                        direction_file = gr.File(label="Your direction (download)", interactive=False)
                        upload = gr.File(label="Load a direction file", file_types=[".json"], type="filepath")
            with gr.Column(scale=2):
                face_seed = gr.Number(0, precision=0, minimum=0, maximum=MAX_SEED, label="Current face (seed)",
                                      elem_id="face-seed")
                current = gr.Image(label="Current face", height=300, interactive=False, elem_id="current-face")
                dir_names, dir_values = [], []
                for i in range(CONFIG.named_slots):
                    with gr.Row(equal_height=True):
                        dir_names.append(gr.Dropdown(INITIAL_CHOICES, value=INITIAL_SLIDERS[i], label="direction",
                                                     scale=3, min_width=160, allow_custom_value=True))
                        dir_values.append(gr.Slider(-3, 3, 0, step=0.05, label="move", scale=3,
                                                    elem_id=f"direction-{i}"))
                attributes = gr.Label(label="What the attribute classifier sees (top 5)", num_top_classes=5,
                                      show_heading=False, elem_id="attributes")
                with gr.Accordion("Raw z dimensions", open=False, elem_id="raw-dimensions"):
                    dims, values = [], []
                    for i in range(CONFIG.slots):
                        with gr.Row(equal_height=True):
                            dims.append(gr.Dropdown(list(range(100)), value=i, label="dimension", scale=1,
                                                    min_width=90))
                            values.append(gr.Slider(-3, 3, 0, step=0.05, label="z offset", scale=4,
                                                    elem_id=f"slot-{i}"))
                with gr.Row():
                    reset_btn = gr.Button("Reset sliders")
                    share_btn = gr.Button("Share")
                state_text = gr.Textbox(label="Seed + sliders (copy, or paste and apply)", max_lines=2)
                apply_btn = gr.Button("Apply pasted state")

    with gr.Tab("Morph video"):
        with gr.Row():
            with gr.Column(scale=2):
                keyframes = gr.Textbox("0, 7, 42", label="Keyframes: seeds, e.g. 0, 7, 42")
                add_key_btn = gr.Button("Add the current face (with its sliders)")
                with gr.Row():
                    frames_per = gr.Slider(1, 120, 24, step=1, label="Frames per segment", elem_id="frames-per-segment")
                    fps = gr.Slider(1, 60, 24, step=1, label="Frames per second")
                with gr.Row():
                    mode = gr.Radio(["slerp", "lerp"], value="slerp", label="Path (spherical or straight)")
                    easing = gr.Dropdown(list(EASINGS), value="ease-in-out", label="Easing")
                with gr.Row():
                    size = gr.Slider(64, MAX_SIZE, 256, step=32, label="Output size (pixels)")
                    smooth = gr.Checkbox(True, label="Smooth upscaling (off: crisp pixels)")
                    loop = gr.Checkbox(True, label="Loop back to the start")
                morph_btn = gr.Button("Render morph", variant="primary", elem_id="morph-button")
                with gr.Group():
                    gr.Markdown("**Or walk a direction** from the current face (Explore tab), e.g. young to old:")
                    with gr.Row(equal_height=True):
                        walk_name = gr.Dropdown(INITIAL_CHOICES, label="Direction", scale=3, allow_custom_value=True)
                        span = gr.Slider(0.5, 5, 3, step=0.5, label="From -span to +span", scale=2)
                    walk_btn = gr.Button("Render walk", elem_id="walk-button")
                gr.Markdown(f"At most {MAX_FRAMES} frames and {MAX_SIZE} px.")
            with gr.Column(scale=3):
                morph_info = gr.Markdown()
                video = gr.Video(label="MP4", autoplay=True, loop=True, height=320, elem_id="morph-video")
                strip = gr.Image(label="Filmstrip", interactive=False, elem_id="filmstrip")
                gif = gr.File(label="GIF to download")
                morph_api, mp4_only, gif_only = gr.Button(visible=False), gr.File(visible=False), gr.File(visible=False)

    with gr.Tab("Face math"):
        gr.Markdown("As in the DCGAN paper: each concept is the mean z of 1 to 3 exemplar faces; the "
                    "result is G(mean A - mean B + mean C). On the right, the same sum on pixels.")
        with gr.Row():
            concept_a = gr.Textbox(PRESETS[0][1], label="A (seeds)")
            concept_b = gr.Textbox(PRESETS[0][2], label="- B (seeds)")
            concept_c = gr.Textbox(PRESETS[0][3], label="+ C (seeds)")
        with gr.Row():
            add_a, add_b, add_c = (gr.Button(f"Add current face to {n}", size="sm") for n in "ABC")
            math_btn = gr.Button("Compute", variant="primary", elem_id="math-button")
        gr.Examples([p[1:] for p in PRESETS], [concept_a, concept_b, concept_c], example_labels=[p[0] for p in PRESETS],
                    label="Ready examples (faces model; exemplars picked by its attribute classifier)")
        with gr.Row():
            math_result = gr.Image(label="A - B + C in z", interactive=False, elem_id="math-result")
            math_grid = gr.Image(label="Neighbours: + uniform noise of 0.25", interactive=False)
            math_pixels = gr.Image(label="A - B + C in pixels", interactive=False)
            math_concepts = gr.Image(label="Exemplars: rows A, B, C", interactive=False)

    with gr.Tab("Ask the discriminator"):
        gr.Markdown("D is G's teacher. It scores how real an image looks; its gradient tells every pixel which way "
                    "to move to look a little more real, and G learns by following it. Ask D about a face, see "
                    "where it looks, and climb its gradient.")
        subject, steps_state = gr.State({}), gr.State({})
        with gr.Row(equal_height=True):
            source = gr.Radio(list(SOURCES), value=SOURCES[0], label="Show D", scale=3)
            d_seed = gr.Number(0, precision=0, minimum=0, maximum=MAX_SEED, label="Seed", scale=1)
            upload_face = gr.File(label="Picture (PNG, JPEG, WebP; at most 10 MB)", file_types=["image"],
                                  type="filepath", scale=2)
            ask_btn = gr.Button("Ask D", variant="primary", scale=1, elem_id="ask-button")
        with gr.Row():
            d_image = gr.Image(label="What D sees (at the model's size)", interactive=False, elem_id="d-image")
            d_heat = gr.Image(label="Where D looks: |gradient| of its verdict", interactive=False, elem_id="d-heat")
            d_signed = gr.Image(label="Which way: red brighter, blue darker", interactive=False)
        d_verdict = gr.Markdown(elem_id="d-verdict")
        with gr.Accordion("Take a step up D's gradient", open=True):
            with gr.Row(equal_height=True):
                step_count = gr.Slider(1, 20, 1, step=1, label="Steps per click")
                step_size = gr.Slider(0.1, 4, 0.1, step=0.05, label="Step size: grey levels (RMS) per step; digits need about 1")
                step_btn = gr.Button("Take steps", elem_id="step-button")
                reset_steps_btn = gr.Button("Reset steps", size="sm")
            step_note = gr.Markdown(elem_id="step-note")
            with gr.Row():
                stepped = gr.Image(label="The image after the steps", interactive=False, elem_id="stepped")
                difference = gr.Image(label="What changed (scaled up)", interactive=False)
                step_plot = gr.LinePlot(x="step", y="D(image)", y_lim=[0, 1], label="D's probability over the steps",
                                        height=260)
        with gr.Accordion("The way training does it: steps on a copy of G", open=False):
            with gr.Row(equal_height=True):
                g_count = gr.Slider(1, 20, 5, step=1, label="Training steps")
                g_target = gr.Radio(["weights", "z"], value="weights", label="Step G's weights (a copy) or its z")
                g_lr = gr.Number(2e-5, label="Learning rate (weights 2e-5, z 0.02)", minimum=1e-7, maximum=1.0)
                g_btn = gr.Button("Train the copy", elem_id="g-step-button")
            g_note = gr.Markdown()
            with gr.Row():
                g_strip = gr.Gallery(label="G's face along the steps", columns=6, height=200, allow_preview=False)
                g_plot = gr.LinePlot(x="step", y="D(image)", y_lim=[0, 1], label="D(G(z)) over the steps", height=220)
        with gr.Accordion("What D sees: the feature maps that fire most", open=True):
            with gr.Row(equal_height=True):
                d_layer = gr.Dropdown(LAYERS, value=0, label="D's layer", scale=2)
                d_top = gr.Slider(1, 12, 6, step=1, label="Maps", scale=2)
                maps_btn = gr.Button("Show maps", scale=1)
            d_maps = gr.Gallery(label="Strongest units on this face (bright: fires)", columns=6, height=220,
                                allow_preview=False, elem_id="d-maps")

    with gr.Tab("Training") as training_tab:
        gr.Markdown("How the shipped models learned: D's and G's losses, D's mean verdict on real images D(x) and on "
                    "G's D(G(z)), heading for 0.5 where D can no longer tell; and the same 64 seeds drawn along the "
                    "way. Or train a small digits model live, here.")
        with gr.Row(equal_height=True):
            which_run = gr.Dropdown([*STORE.bundled, LIVE_RUN], value=DEFAULT_MODEL, label="Run", scale=3)
            show_run_btn = gr.Button("Show", scale=1)
        run_summary = gr.Markdown(elem_id="run-summary")
        with gr.Row():
            loss_plot = gr.LinePlot(x="step", y="value", color="series", label="Losses", height=280, elem_id="loss-plot")
            output_plot = gr.LinePlot(x="step", y="value", color="series", y_lim=[0, 1],
                                      label="D's mean outputs (0.5: D cannot tell)", height=280, elem_id="output-plot")
        with gr.Row():
            with gr.Column():
                grid_step = gr.Slider(0, 1, 0, step=1, label="Step", elem_id="grid-step")
                grid_caption = gr.Markdown()
                grid_image = gr.Image(label="Seeds 0-63 at this step", interactive=False, elem_id="grid-image")
            with gr.Column():
                with gr.Row(equal_height=True):
                    lapse_fps = gr.Slider(1, 12, 3, step=1, label="Time-lapse frames per second")
                    lapse_btn = gr.Button("Make time-lapse")
                lapse_video = gr.Video(label="Time-lapse", autoplay=True, loop=True, height=320)
        with gr.Group():
            gr.Markdown("**Train live**: a fresh digits model (32x32), on this machine's CPU, for a minute or two. "
                        "One live run at a time for everybody; it runs in the background.")
            with gr.Row(equal_height=True):
                live_steps = gr.Slider(50, 3000, 600, step=50, label="Steps")
                live_minutes = gr.Slider(0.5, 3, 2, step=0.5, label="At most (minutes)")
                live_start = gr.Button("Start", variant="primary", elem_id="live-start")
                live_stop = gr.Button("Stop", elem_id="live-stop")
            live_message = gr.Markdown(elem_id="live-message")
            live_timer = gr.Timer(1.0, active=False)


    # --- wiring ---------------------------------------------------------------------------------
    slot_inputs = [*dims, *values, *dir_names, *dir_values]
    named_inputs = [*dir_names, *dir_values]
    model_outputs = [model, mine, model_info, *dims, *dir_names, *dir_values, d_layer, step_size]
    gallery_outputs = [faces, gallery_seeds]
    face_inputs = [model, mine, face_seed, *slot_inputs]
    face_outputs = [current, attributes]
    pickers = [pick_direction, walk_name]

    def after_model(event, on_success: bool = False):
        """A new model: its gallery, the current face, and the direction pickers."""
        chain = event.success if on_success else event.then
        return chain(show_gallery, [model, start_seed], gallery_outputs, api_visibility="private").then(
            show_face, face_inputs, face_outputs, api_visibility="private").then(
            refresh_pickers, [model, mine], pickers, api_visibility="private")

    after_model(model_pick.change(choose_model, model_pick, model_outputs, api_name="choose_model"))
    after_model(hub_btn.click(load_hub, hub_id, model_outputs, api_name="load_hub"), on_success=True)
    after_model(demo.load(choose_model, model_pick, model_outputs, api_visibility="private"))

    start_seed.submit(show_gallery, [model, start_seed], gallery_outputs, api_name="gallery")
    random_btn.click(lambda: random.randint(0, MAX_SEED), None, start_seed, api_visibility="private").then(
        show_gallery, [model, start_seed], gallery_outputs, api_visibility="private")
    faces.select(pick_from_gallery, gallery_seeds, face_seed, api_visibility="private").then(
        show_face, face_inputs, face_outputs, api_visibility="private")
    face_seed.submit(show_face, face_inputs, face_outputs, api_visibility="private")
    for control in values + dir_values:
        control.release(show_face, face_inputs, face_outputs, api_name="face" if control is values[0] else None,
                        api_visibility="public" if control is values[0] else "private",
                        trigger_mode="always_last", show_progress="hidden")
    for control in dims + dir_names:
        control.input(show_face, face_inputs, face_outputs, api_visibility="private", trigger_mode="always_last",
                      show_progress="hidden")
    reset_btn.click(reset_sliders, None, values + dir_values, api_visibility="private").then(
        show_face, face_inputs, face_outputs, api_visibility="private")
    share_btn.click(share, [face_seed, *slot_inputs], state_text, api_name="share")
    apply_btn.click(apply_shared, [model, mine, state_text], [face_seed, *slot_inputs, *face_outputs],
                    api_name="apply_state")
    scan_btn.click(scan_page, [model, mine, face_seed, page, *slot_inputs], [scan_image, scan_caption], api_name="scan")
    page.release(scan_page, [model, mine, face_seed, page, *slot_inputs], [scan_image, scan_caption],
                 api_visibility="private", trigger_mode="always_last")
    use_btn.click(use_dimension, [pick_dim, *dims, *values], [*dims, *values], api_name="use_dimension").then(
        show_face, face_inputs, face_outputs, api_visibility="private")
    browse_btn.click(scan_directions, [model, mine, face_seed, group, *slot_inputs], [browse_image, browse_caption],
                     api_name="scan_directions")
    group.change(scan_directions, [model, mine, face_seed, group, *slot_inputs], [browse_image, browse_caption],
                 api_visibility="private")
    use_dir_btn.click(use_direction, [model, mine, pick_direction, *named_inputs], named_inputs,
                      api_name="use_direction").then(show_face, face_inputs, face_outputs, api_visibility="private")

    yes_btn.click(functools.partial(mark_face, "yes"), [marks, model, mine, face_seed, *slot_inputs],
                  [marks, marks_info], api_name="mark_yes")
    no_btn.click(functools.partial(mark_face, "no"), [marks, model, mine, face_seed, *slot_inputs],
                 [marks, marks_info], api_name="mark_no")
    clear_btn.click(clear_marks, None, [marks, marks_info], api_visibility="private")
    fit_btn.click(fit_mine, [model, mine, concept, marks, *named_inputs],
                  [mine, direction_file, fit_info, *named_inputs], api_name="fit_direction").success(
        refresh_pickers, [model, mine], pickers, api_visibility="private").then(
        show_face, face_inputs, face_outputs, api_visibility="private")
    upload.upload(upload_direction, [model, mine, upload, *named_inputs], [mine, fit_info, *named_inputs],
                  api_name="upload_direction").success(
        refresh_pickers, [model, mine], pickers, api_visibility="private")

    add_key_btn.click(add_current_to_keyframes, [keyframes, face_seed, *slot_inputs], keyframes,
                      api_visibility="private")
    morph_inputs = [model, mine, keyframes, frames_per, fps, mode, easing, loop, size, smooth]
    morph_outputs = [strip, video, gif, morph_info]
    morph_btn.click(make_morph, morph_inputs, morph_outputs, api_name="morph")
    for fmt, output in (("mp4", mp4_only), ("gif", gif_only)):  # API-only: one format each
        morph_api.click(morph_file(fmt), morph_inputs, output, api_name=f"morph_{fmt}")
    walk_btn.click(make_walk, [model, mine, walk_name, span, frames_per, fps, easing, loop, size, smooth, face_seed,
                               *slot_inputs], morph_outputs, api_name="walk")

    for button, box in ((add_a, concept_a), (add_b, concept_b), (add_c, concept_c)):
        button.click(add_current_to_concept, [box, face_seed], box, api_visibility="private")
    math_btn.click(do_face_math, [model, concept_a, concept_b, concept_c],
                   [math_result, math_grid, math_pixels, math_concepts], api_name="face_math")

    d_inputs = [model, mine, source, d_seed, upload_face, face_seed, *slot_inputs]
    ask_btn.click(ask_discriminator, d_inputs, [subject, steps_state, d_image, d_verdict, d_heat, d_signed],
                  api_name="ask").success(show_feature_maps, [model, subject, d_layer, d_top], d_maps,
                                          api_visibility="private")
    step_outputs = [steps_state, stepped, difference, step_plot, step_note]
    step_btn.click(take_pixel_steps, [model, subject, steps_state, step_count, step_size], step_outputs,
                   api_name="pixel_steps")
    reset_steps_btn.click(reset_steps, [model, subject], step_outputs, api_visibility="private")
    g_target.change(lambda t: 2e-5 if t == "weights" else 0.02, g_target, g_lr, api_visibility="private")
    g_btn.click(take_generator_steps, [model, subject, g_count, g_target, g_lr], [g_strip, g_plot, g_note],
                api_name="generator_steps")
    maps_btn.click(show_feature_maps, [model, subject, d_layer, d_top], d_maps, api_name="feature_maps")
    d_layer.change(show_feature_maps, [model, subject, d_layer, d_top], d_maps, api_visibility="private")

    run_outputs = [run_summary, loss_plot, output_plot, grid_step, grid_image, grid_caption]
    show_run_btn.click(show_run, which_run, run_outputs, api_name="training_run")
    which_run.change(show_run, which_run, run_outputs, api_visibility="private")
    grid_step.release(show_grid, [which_run, grid_step], [grid_image, grid_caption], api_name="training_grid",
                      trigger_mode="always_last")
    lapse_btn.click(make_timelapse, [which_run, lapse_fps], lapse_video, api_name="timelapse")
    live_start.click(start_live, [live_steps, live_minutes], [live_message, live_timer, which_run],
                     api_name="live_start")
    live_stop.click(stop_live, None, live_message, api_name="live_stop")
    live_timer.tick(live_outputs, None, [live_message, loss_plot, output_plot, grid_image, live_timer],
                    api_visibility="private", show_progress="hidden")
    training_tab.select(show_run, which_run, run_outputs, api_visibility="private")

STORE.warm_up()

if __name__ == "__main__":
    demo.queue(default_concurrency_limit=4).launch()
