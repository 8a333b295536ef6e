"""Model choice and the Explore tab: gallery, the current face and its sliders, scanners, sharing,
teaching a direction. Every handler that touches the current face takes it (a gan_core.face.Face,
kept in a gr.State) and returns it."""
from __future__ import annotations

import json
from pathlib import Path

import gradio as gr

from gan_core.directions import (GROUPS, MAX_MARKS, Direction, direction_from_json, direction_to_json,
                                 fit_user_direction, in_group)
from gan_core.explore import dimension_scan, direction_scan, gallery
from gan_core.errors import UserError
from gan_core.face import Face, check_dimension
from gan_core.latent import check_seed
from gan_core.media import make_grid, upscale
from gan_core.teacher import layers
from studio.i18n import labelled, say, word
from studio.model_store import HUB
from studio.session_files import session_folder
from studio.state import (CONFIG, STORE, big, default_face, direction_choices, direction_label, directions_of,
                          ends_label, face_of, fits_the_sliders, friendly, md, readout, upscale_all, widgets_of)

MAX_DIRECTION_FILE = 64_000  # bytes: a direction file of a 1,024-number z is about 12 kB


# --- the model ---------------------------------------------------------------------------------
def model_info(key: str) -> str:
    gan = STORE.get(key)
    c = gan.config
    what = ("model_info_faces" if c.channels == 3 else
            "model_info_digits" if c.image_size == 32 and c.channels == 1 else "model_info_images")
    name = md(word(c.name) or (key[len(HUB):] if key.startswith(HUB) else key))
    note = "" if STORE.has_readout(key) else say("model_no_classifier")
    return say(what, name=name, size=c.image_size, channels=c.channels, nz=c.nz,
               device=gan.device.type) + note


def slider_updates(model: str, mine: dict, face: Face) -> list:
    """Updates for the seed box and every slider widget, showing `face` (choices from the model)."""
    n, m = CONFIG.slots, CONFIG.named_slots
    seed, *rest = widgets_of(model, face)
    dims, values, names, offsets = rest[:n], rest[n:2 * n], rest[2 * n:2 * n + m], rest[2 * n + m:]
    directions = directions_of(model, mine)
    dim_choices = list(range(STORE.get(model).config.nz))
    name_choices = direction_choices(directions, short=True)
    return [seed, *[gr.update(choices=dim_choices, value=d) for d in dims], *values,
            *[gr.update(choices=name_choices, value=name) for name in names],
            *[gr.update(value=v, label=ends_label(directions, name)) for v, name in zip(offsets, names)],
            face.psi, face.psi]  # the truncation sliders on Explore and Morph


face_sliders = friendly(slider_updates)


def rendered(model: str, mine: dict, face: Face, readout_too: bool = True) -> tuple:
    """(face, the big face, the attribute readout), the face checked against the model first."""
    image = face.render(STORE.get(model), directions_of(model, mine))
    return face, big(image), readout(model, image) if readout_too else None


def model_updates(key: str):
    gan = STORE.get(key)
    labels = [say("layer_label", number=n, maps=maps, size=size) for n, maps, size in layers(gan)]
    layer_pick = gr.update(choices=[(label, i) for i, label in enumerate(labels)], value=0)
    step = 1.0 if gan.config.channels == 1 else 0.1  # digits' black background needs bigger steps to move D
    return (key, {}, model_info(key), *rendered(key, {}, default_face(key)), layer_pick, step,
            gr.update(visible=STORE.has_readout(key)))


@friendly
def choose_model(key: str):
    if key not in STORE.names:
        raise gr.Error(say("pick_model"))
    return model_updates(key)


@friendly
def load_hub(repo_id: str):
    repo_id = (repo_id or "").strip()
    if not repo_id:
        raise gr.Error(say("type_repo_id"))
    return model_updates(HUB + repo_id)


def refresh_models(current: str):
    """The model picker, listed anew (a run exported since the page opened shows up)."""
    names = STORE.names
    return gr.update(choices=labelled(names), value=current if current in names else None)


@friendly
def slider_ends(model: str, mine: dict, name):
    """A named slider's label, after its dropdown changed."""
    return gr.update(label=ends_label(directions_of(model, mine), name))


@friendly
def refresh_pickers(model: str, mine: dict):
    choices = direction_choices(directions_of(model, mine))
    named = [name for _, name in choices]
    walk_default = next((n for n in named if n.startswith("Age")), named[0] if named else None)
    return gr.update(choices=choices, value=None), gr.update(choices=choices, value=walk_default)


# --- the gallery and the current face ----------------------------------------------------------
@friendly
def show_gallery(model: str, start_seed, face: Face):
    """The gallery from `start_seed`, at the current face's truncation."""
    psi = face.psi if isinstance(face, Face) else CONFIG.default_psi
    seeds, images = gallery(STORE.get(model), check_seed(start_seed), CONFIG.gallery_size, psi)
    return [(upscale(image, 128, smooth=True), say("seed_caption", seed=s)) for s, image in zip(seeds, images)], seeds


def reseeded(model: str, mine: dict, face: Face, seed) -> tuple:
    """(face with a new base seed, its sliders kept; the seed box; the big face; the readout)."""
    face, image, attributes = rendered(model, mine, face.with_seed(seed))
    return face, face.seed, image, attributes


pick_seed = friendly(reseeded)


@friendly
def pick_from_gallery(model: str, mine: dict, face: Face, seeds: list[int], event: gr.SelectData):
    if not seeds or event.index is None or not 0 <= event.index < len(seeds):
        raise gr.Error(say("click_gallery"))
    return reseeded(model, mine, face, seeds[event.index])


@friendly
def edit_face(model: str, mine: dict, face: Face, *slots):
    """A slider moved: the face with the sliders' values (the sliders are the truth here)."""
    return rendered(model, mine, face_of(face, *slots))


@friendly
def drag_face(model: str, mine: dict, face: Face, *slots):
    """A slider is being dragged: the face and its picture only (the readout waits for the release)."""
    face, image, _ = rendered(model, mine, face_of(face, *slots), readout_too=False)
    return face, image


@friendly
def drop_readout(model: str, mine: dict, face: Face, *slots):
    """A slider let go: the attribute readout of the face it shows (the drag already drew the face)."""
    if not STORE.has_readout(model):
        return None
    return readout(model, face_of(face, *slots).render(STORE.get(model), directions_of(model, mine)))


@friendly
def set_truncation(model: str, mine: dict, face: Face, psi):
    """The truncation slider let go: the face (and, after it, the gallery) at the new psi."""
    return rendered(model, mine, face.with_psi(psi))


@friendly
def drag_truncation(model: str, mine: dict, face: Face, psi):
    """The truncation slider is being dragged: the face and its picture only."""
    return rendered(model, mine, face.with_psi(psi), readout_too=False)[:2]


@friendly
def set_face(model: str, mine: dict, value):
    """A whole face from its JSON (a shared text, or a dict an API client sends)."""
    face = fits_the_sliders(Face.parse(value))
    return rendered(model, mine, face.check(STORE.get(model).config.nz, directions_of(model, mine)))


@friendly
def reset_sliders(model: str, mine: dict, face: Face):
    return rendered(model, mine, face.reset())


@friendly
def share(face: Face):
    return face.to_text()


@friendly
def scan_page(model: str, mine: dict, face: Face, page):
    gan = STORE.get(model)
    nz = gan.config.nz
    pages = -(-nz // CONFIG.scan_page)
    try:
        first = int(page) * CONFIG.scan_page
    except (TypeError, ValueError, OverflowError):
        first = -1
    if not 0 <= first < nz:
        raise gr.Error(say("pick_page", last=pages - 1))
    dims = list(range(first, min(first + CONFIG.scan_page, nz)))
    images = dimension_scan(gan, face.latent(nz, directions_of(model, mine)), dims)
    caption = say("scan_caption", first=dims[0], last=dims[-1])
    return make_grid(upscale_all(images, 96), nrow=7), caption


def describe(d: Direction) -> str:
    """What a direction does, in a few words (the page's language), from its measured quality."""
    q = d.quality

    def attribute(name: str) -> str:
        return word(name.replace("_", " ").lower())
    if "flip" in q:
        return say("describe_flip", attribute=attribute(q["attribute"]), flip=q["flip"])
    if "attribute" in q:
        return say("describe_moves", attribute=attribute(q["attribute"]))
    if "changes" in q:
        return say("describe_changes", changes=say("list_separator").join(
            f"{attribute(k)} {v:+.2f}" for k, v in list(q["changes"].items())[:2]))
    if "fit_accuracy" in q:
        return say("describe_yours", yes=q["yes"], no=q["no"])
    return word(d.info.description)


@friendly
def scan_directions(model: str, mine: dict, face: Face, group: str):
    if group not in GROUPS:
        raise gr.Error(say("pick_one_of", choices=say("list_separator").join(map(word, GROUPS))))
    directions = directions_of(model, mine)
    shown = in_group(directions.values(), group)[:12]
    if not shown:
        raise gr.Error(say("no_yours" if group == "Yours" else "no_group", group=word(group)))
    z = face.latent(STORE.get(model).config.nz, directions)
    images = direction_scan(STORE.get(model), z, shown)
    caption = say("browser_caption") + "\n" + "\n".join(
        say("browser_line", number=i + 1, name=md(direction_label(d)), what=md(describe(d)))
        for i, d in enumerate(shown))
    return make_grid(upscale_all(images, 80), nrow=7), caption


@friendly
def use_dimension(model: str, mine: dict, face: Face, dim):
    nz = STORE.get(model).config.nz
    if dim is None or dim == "":
        raise gr.Error(say("type_dimension"))
    try:
        dim = check_dimension(dim, nz)
    except UserError:
        raise gr.Error(say("pick_dimension", last=nz - 1)) from None
    return rendered(model, mine, face.on_slot(dim, CONFIG.slots))


@friendly
def use_direction(model: str, mine: dict, face: Face, name):
    if not name:
        raise gr.Error(say("pick_direction_for_slider"))
    if name not in directions_of(model, mine):
        raise gr.Error(say("pick_direction_from_list"))
    return rendered(model, mine, face.on_slot(name, CONFIG.named_slots))


# --- teach a direction -------------------------------------------------------------------------
def marks_text(marks: dict) -> str:
    yes, no = len(marks.get("yes", [])), len(marks.get("no", []))
    return say("marks", yes=yes, no=no) + ("" if yes + no >= 10 else say("marks_to_go", more=10 - yes - no))


@friendly
def mark_face(answer: str, marks: dict, model: str, mine: dict, face: Face):
    z = face.latent(STORE.get(model).config.nz, directions_of(model, mine))
    marks = {"yes": list(marks.get("yes", [])), "no": list(marks.get("no", []))}
    if len(marks["yes"]) + len(marks["no"]) >= MAX_MARKS:
        raise gr.Error(say("marks_full", max=MAX_MARKS))
    marks[answer].append([round(float(v), 5) for v in z])
    return marks, marks_text(marks)


def clear_marks():
    marks = {"yes": [], "no": []}
    return marks, marks_text(marks)


def with_mine(model: str, mine: dict, face: Face, direction: Direction) -> tuple:
    """The session's directions with `direction` added, and the face view with it on a slider."""
    mine = {**(mine or {}), direction.name: direction_to_json(direction)}
    return (mine, *rendered(model, mine, face.on_slot(direction.name, CONFIG.named_slots)))


@friendly
def fit_mine(model: str, mine: dict, face: Face, concept: str, marks: dict, request: gr.Request):
    gan = STORE.get(model)
    direction = fit_user_direction(concept, marks.get("yes", []), marks.get("no", []), gan.config.nz,
                                   taken=directions_of(model, mine))
    stem = "".join(c if c.isalnum() else "_" for c in direction.name)
    path = session_folder(request, "direction") / f"{stem}.direction.json"
    path.write_text(json.dumps(direction_to_json(direction)))
    note = say("fitted", name=md(direction.name), yes=direction.quality["yes"], no=direction.quality["no"])
    mine, *view = with_mine(model, mine, face, direction)
    return (mine, str(path), note, *view)


@friendly
def upload_direction(model: str, mine: dict, face: Face, file):
    if file is None:
        raise gr.Error(say("choose_direction_file"))
    path = Path(file)
    if path.stat().st_size > MAX_DIRECTION_FILE:
        raise gr.Error(say("direction_file_big"))
    try:
        obj = json.loads(path.read_text())
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError):
        raise gr.Error(say("direction_not_json")) from None
    direction = direction_from_json(obj, STORE.get(model).config.nz)
    if direction.name in directions_of(model, mine):
        raise gr.Error(say("direction_taken", name=direction.name))
    mine, *view = with_mine(model, mine, face, direction)
    return (mine, say("direction_loaded", name=md(direction.name)), *view)
