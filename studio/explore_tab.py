"""Model choice and the Explore tab: gallery, the current face and its sliders, scanners, sharing,
teaching a direction. Every handler takes the session (studio/session.py) and returns it when it
changed it."""
from __future__ import annotations

import json
from pathlib import Path

import gradio as gr

from gan_core.directions import (GROUPS, MAX_MARKS, MIN_MARKS, Direction, direction_from_json, direction_to_json,
                                 fit_user_direction, in_group)
from gan_core.explore import dimension_scan, direction_scan, gallery
from gan_core.face import Face, check_dimension
from gan_core.latent import check_seed
from gan_core.media import make_grid, upscale
from gan_core.teacher import layer_choices
from studio.i18n import labelled, local, say, word
from studio.model_store import HUB
from studio.session_files import session_folder
from studio.session import Session, Sliders, no_marks
from studio.state import (CONFIG, STORE, big, direction_choices, direction_label, ends_label, fits_the_sliders, friendly,
                          md, readout, upscale_all)

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


def slider_updates(session: Session) -> list:
    """Updates for the seed box, every slider widget and the truncation sliders (Explore's and
    Morph's), showing the current face (choices from the model)."""
    face, directions = session.face, session.directions
    sliders = session.sliders()
    dim_choices = list(range(session.nz))
    name_choices = direction_choices(directions, short=True)
    return [face.seed if face.z is None else None,
            *Sliders(dims=[gr.update(choices=dim_choices, value=d) for d in sliders.dims], values=sliders.values,
                     names=[gr.update(choices=name_choices, value=name) for name in sliders.names],
                     offsets=[gr.update(value=v, label=ends_label(directions, name))
                              for v, name in zip(sliders.offsets, sliders.names)]).flat(),
            face.psi, face.psi]  # the truncation sliders on Explore and Morph


face_sliders = friendly(slider_updates)


def rendered(session: Session, face: Face, readout_too: bool = True) -> tuple:
    """(the session, the big face, the attribute readout): `face` checked against the model and
    drawn, then made the session's current face."""
    image = face.render(session.gan, session.directions)
    session.face = face
    return session, big(image), readout(session.model, image) if readout_too else None


def model_updates(session: Session, key: str):
    STORE.get(key)  # loaded first: a model that fails to load leaves the session as it was
    session.switch(key)
    gan = session.gan
    layers = gr.update(choices=[(local(label), i) for label, i in layer_choices(gan)], value=0)
    step = 1.0 if gan.config.channels == 1 else 0.1  # digits' black background needs bigger steps to move D
    session, image, attributes = rendered(session, session.face)
    return (session, model_info(key), image, attributes, layers, step, gr.update(visible=STORE.has_readout(key)))


@friendly
def choose_model(session: Session, key: str):
    if key not in STORE.names:
        raise ValueError(say("pick_model"))
    return model_updates(session, key)


@friendly
def load_hub(session: Session, repo_id: str):
    repo_id = (repo_id or "").strip()
    if not repo_id:
        raise ValueError(say("type_repo_id"))
    return model_updates(session, HUB + repo_id)


def refresh_models(current: str):
    """The model picker, listed anew (a run exported since the page opened shows up)."""
    names = STORE.names
    return gr.update(choices=labelled(names), value=current if current in names else None)


def slider_ends(session: Session, name):
    """A named slider's label, after its dropdown changed."""
    try:
        return gr.update(label=ends_label(session.directions, name))
    except ValueError:
        return gr.update(label=say("move"))


@friendly
def refresh_pickers(session: Session):
    choices = direction_choices(session.directions)
    named = [name for _, name in choices]
    walk_default = next((n for n in named if n.startswith("Age")), named[0] if named else None)
    return gr.update(choices=choices, value=None), gr.update(choices=choices, value=walk_default)


# --- the gallery and the current face ----------------------------------------------------------
@friendly
def show_gallery(session: Session, start_seed):
    """The gallery from `start_seed`, at the current face's truncation."""
    psi = session.face.psi if isinstance(session.face, Face) else CONFIG.default_psi
    seeds, images = gallery(session.gan, check_seed(start_seed), CONFIG.gallery_size, psi)
    session.gallery_seeds = seeds
    return session, [(upscale(image, 128, smooth=True), say("seed_caption", seed=s)) for s, image in zip(seeds, images)]


def reseeded(session: Session, seed) -> tuple:
    """(the session, its face on a new base seed, sliders kept; the seed box; the big face; the readout)."""
    session, image, attributes = rendered(session, session.face.with_seed(seed))
    return session, session.face.seed, image, attributes


pick_seed = friendly(reseeded)


@friendly
def pick_from_gallery(session: Session, event: gr.SelectData):
    seeds = session.gallery_seeds
    if not seeds or event.index is None or not 0 <= event.index < len(seeds):
        raise ValueError(say("click_gallery"))
    return reseeded(session, seeds[event.index])


@friendly
def edit_face(session: Session, *sliders):
    """A slider moved: the face with the sliders' values (the sliders are the truth here)."""
    return rendered(session, Sliders.read(sliders).face(session.face))


@friendly
def drag_face(session: Session, *sliders):
    """A slider is being dragged: the face and its picture only (the readout waits for the release)."""
    return rendered(session, Sliders.read(sliders).face(session.face), readout_too=False)[:2]


@friendly
def drop_readout(session: Session, *sliders):
    """A slider let go: the attribute readout of the face it shows (the drag already drew the face)."""
    if not STORE.has_readout(session.model):
        return None
    return readout(session.model, Sliders.read(sliders).face(session.face).render(session.gan, session.directions))


@friendly
def set_truncation(session: Session, psi):
    """The truncation slider let go: the face (and, after it, the gallery) at the new psi."""
    return rendered(session, session.face.with_psi(psi))


@friendly
def drag_truncation(session: Session, psi):
    """The truncation slider is being dragged: the face and its picture only."""
    return rendered(session, session.face.with_psi(psi), readout_too=False)[:2]


@friendly
def set_face(session: Session, value):
    """A whole face from its JSON (a shared text, or a dict an API client sends)."""
    face = fits_the_sliders(Face.parse(value))
    return rendered(session, face.check(session.nz, session.directions))


@friendly
def reset_sliders(session: Session):
    return rendered(session, session.face.reset())


@friendly
def share(session: Session):
    return session.face.to_text()


@friendly
def scan_page(session: Session, page):
    gan = session.gan
    nz = gan.config.nz
    pages = -(-nz // CONFIG.scan_page)
    try:
        first = int(page) * CONFIG.scan_page
    except (TypeError, ValueError, OverflowError):
        first = -1
    if not 0 <= first < nz:
        raise ValueError(say("pick_page", last=pages - 1))
    dims = list(range(first, min(first + CONFIG.scan_page, nz)))
    images = dimension_scan(gan, session.face.latent(nz, session.directions), dims)
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
def scan_directions(session: Session, group: str):
    if group not in GROUPS:
        raise ValueError(say("pick_one_of", choices=say("list_separator").join(map(word, GROUPS))))
    directions = session.directions
    shown = in_group(directions.values(), group)[:12]
    if not shown:
        raise ValueError(say("no_yours" if group == "Yours" else "no_group", group=word(group)))
    z = session.face.latent(session.nz, directions)
    images = direction_scan(session.gan, z, shown)
    caption = say("browser_caption") + "\n" + "\n".join(
        f"{i + 1}. **{md(direction_label(d))}**: {md(describe(d))}" for i, d in enumerate(shown))
    return make_grid(upscale_all(images, 80), nrow=7), caption


@friendly
def use_dimension(session: Session, dim):
    nz = session.nz
    if dim is None or dim == "":
        raise ValueError(say("type_dimension"))
    try:
        dim = check_dimension(dim, nz)
    except ValueError:
        raise ValueError(say("pick_dimension", last=nz - 1)) from None
    return rendered(session, session.face.on_slot(dim, CONFIG.slots))


@friendly
def use_direction(session: Session, name):
    if not name:
        raise ValueError(say("pick_direction_for_slider"))
    if name not in session.directions:
        raise ValueError(say("pick_direction_from_list"))
    return rendered(session, session.face.on_slot(name, CONFIG.named_slots))


# --- teach a direction -------------------------------------------------------------------------
def marks_text(marks: dict) -> str:
    yes, no = len(marks.get("yes", [])), len(marks.get("no", []))
    return say("marks", yes=yes, no=no) + ("" if yes + no >= MIN_MARKS else
                                           say("marks_to_go", more=MIN_MARKS - yes - no))


@friendly
def mark_face(answer: str, session: Session):
    z = session.face.latent(session.nz, session.directions)
    marks = {"yes": list(session.marks.get("yes", [])), "no": list(session.marks.get("no", []))}
    if len(marks["yes"]) + len(marks["no"]) >= MAX_MARKS:
        raise ValueError(say("marks_full", max=MAX_MARKS))
    marks[answer].append([round(float(v), 5) for v in z])
    session.marks = marks
    return session, marks_text(marks)


def clear_marks(session: Session):
    session.marks = no_marks()
    return session, marks_text(session.marks)


def with_mine(session: Session, direction: Direction) -> tuple:
    """The session with `direction` among its own, on a slider of the current face; the face view."""
    face = session.face.on_slot(direction.name, CONFIG.named_slots)
    image = face.render(session.gan, {**session.directions, direction.name: direction})
    session.mine = {**session.mine, direction.name: direction}
    session.face = face
    return session, big(image), readout(session.model, image)


@friendly
def fit_mine(session: Session, concept: str, request: gr.Request):
    marks = session.marks
    direction = fit_user_direction(concept, marks.get("yes", []), marks.get("no", []), session.nz,
                                   taken=session.directions)
    stem = "".join(c if c.isalnum() else "_" for c in direction.name)
    path = session_folder(request, "direction") / f"{stem}.direction.json"
    path.write_text(json.dumps(direction_to_json(direction)))
    note = say("fitted", name=md(direction.name), yes=direction.quality["yes"], no=direction.quality["no"])
    session, *view = with_mine(session, direction)
    return (session, str(path), note, *view)


@friendly
def upload_direction(session: Session, file):
    if file is None:
        raise ValueError(say("choose_direction_file"))
    path = Path(file)
    if path.stat().st_size > MAX_DIRECTION_FILE:
        raise ValueError(say("direction_file_big"))
    try:
        obj = json.loads(path.read_text())
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError):
        raise ValueError(say("direction_not_json")) from None
    direction = direction_from_json(obj, session.nz)
    if direction.name in session.directions:
        raise ValueError(say("direction_taken", name=direction.name))
    session, *view = with_mine(session, direction)
    return (session, say("direction_loaded", name=md(direction.name)), *view)
