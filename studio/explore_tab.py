"""Model choice and the Explore tab: gallery, the current face and its sliders, scanners, sharing,
teaching a direction. Every handler takes the session (studio/session.py) and returns it when it
changed it."""
from __future__ import annotations

import functools
import json
import random
from pathlib import Path

import gradio as gr

from gan_core.editing.directions import (GROUPS, MAX_MARKS, MIN_MARKS, Direction, direction_from_json, direction_to_json,
                                 fit_user_direction, in_group)
from gan_core.editing.explore import dimension_scan, direction_scan, gallery
from gan_core.errors import UserError
from gan_core.editing.face import Face, check_dimension
from gan_core.editing.polish import can_polish, polished_images
from gan_core.model.latent import MAX_SEED, check_seed, truncate, z_from_seeds
from gan_core.data.media import make_grid, upscale
from studio.i18n import T, choices, labelled, say, word
from studio.model_store import HUB
from studio.page import LIVE, PRIVATE, QUIET, Page, reveal
from studio.photos import PhotoPanel, photo_updates
from studio.session import Session, Sliders, no_marks
from studio.session_files import session_folder
from studio.state import (CONFIG, STORE, big, direction_choices, direction_label, draws_digits, ends_label,
                          fits_the_sliders, friendly, md, readout, upscale_all)

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


def polishing(session: Session, face: Face | None = None) -> bool:
    """Whether Explore draws polished: "Polish with D" is on, the model has its D, and `face` (if
    given) is not a photo's (a photo's face keeps its likeness, drawn by the G tuned to it)."""
    return bool(session.polish and session.model and can_polish(session.gan)
                and (face is None or face.name is None))


def drawn(session: Session, face: Face, directions: dict[str, Direction] | None = None, polish: bool = True):
    """`face` as Explore draws it, uint8 [H, W, C]. Polishing is a way of drawing, applied last (after
    the truncation and the sliders), not part of the face: the face, its sliders, its shared text
    and morphs stay its seed or z and offsets, and since polishing is deterministic the same face
    is drawn the same polished face wherever "Polish with D" is on. polish=False: drawn plain
    whatever the option says (while a slider is dragged: polishing takes a second or more on a CPU)."""
    directions = session.directions if directions is None else directions
    if polish and polishing(session, face):
        return polished_images(session.gan, face.latent(session.nz, directions)[None])[0]
    return face.render(session.gan, directions)


def rendered(session: Session, face: Face, readout_too: bool = True, polish: bool = True) -> tuple:
    """(the session, the big face, the attribute readout): `face` checked against the model and
    drawn (polished if "Polish with D" is on, unless `polish` is False), then made the session's
    current face."""
    image = drawn(session, face, polish=polish)
    session.face = face
    return session, big(image), readout(session.model, image) if readout_too else None


def model_updates(session: Session, key: str):
    """The session on model `key` (its face there: the one it left, else the first); the model's line,
    the face and its readout (hidden for a model without a classifier)."""
    session.switch(key)
    session, image, attributes = rendered(session, session.face)
    return session, model_info(key), image, attributes, gr.update(visible=STORE.has_readout(key))


@friendly
def choose_model(session: Session, key: str):
    if key not in STORE.names:
        raise gr.Error(say("pick_model"))
    return model_updates(session, key)


@friendly
def load_hub(session: Session, repo_id: str):
    repo_id = (repo_id or "").strip()
    if not repo_id:
        raise gr.Error(say("type_repo_id"))
    return model_updates(session, HUB + repo_id)


def refresh_models(current: str):
    """The model picker, listed anew (a run exported since the page opened shows up)."""
    names = STORE.names
    return gr.update(choices=labelled(names), value=current if current in names else None)


@friendly
def slider_ends(session: Session, name):
    """A named slider's label, after its dropdown changed."""
    return gr.update(label=ends_label(session.directions, name))


def groups_of(directions: dict[str, Direction]) -> list[str]:
    """The browser's groups that hold some of `directions` (a digits model has no Age or Smile), and
    "Yours", which says how to teach one."""
    return [g for g in GROUPS if g == "Yours" or in_group(directions.values(), g)]


@friendly
def direction_picker(session: Session, group: str):
    """The browser's groups (the one picked kept if the session still has it) and its direction
    picker, listing the session's directions."""
    groups = groups_of(session.directions)
    return gr.update(choices=labelled(groups), value=group if group in groups else groups[0]), \
        gr.update(choices=direction_choices(session.directions), value=None)


def no_scans():
    """The browsers' pictures and captions, cleared: they showed the model the session left."""
    return None, "", None, ""


def random_seed() -> int:
    return random.randint(0, MAX_SEED)


# --- the gallery and the current face ----------------------------------------------------------
@friendly
def show_gallery(session: Session, start_seed):
    """The gallery from `start_seed`, at the current face's truncation."""
    psi = session.face.psi if isinstance(session.face, Face) else CONFIG.default_psi
    seeds, images = gallery(session.gan, check_seed(start_seed), CONFIG.gallery_size, psi)
    if polishing(session):
        images = polished_images(session.gan, truncate(z_from_seeds(seeds, session.nz), psi))
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
        raise gr.Error(say("digits_click_gallery" if draws_digits(session.model) else "click_gallery"))
    return reseeded(session, seeds[event.index])


@friendly
def edit_face(session: Session, *sliders):
    """A slider moved: the face with the sliders' values (the sliders are the truth here)."""
    return rendered(session, Sliders.read(sliders).face(session.face))


def moved(session: Session, row: str, slot: int, value) -> Face:
    """The current face with one slider moved. The sliders show session.sliders() (every change of
    the face sets them so), so a drag sends only its own value: the page's work per move is one
    input, not twenty (bench/app_latency.py --fast-drag)."""
    return session.sliders().moved(row, slot, value).face(session.face)


@friendly
def drag_face(row: str, slot: int, session: Session, value):
    """A slider is being dragged: the picture only (the session's face is set in place; the readout
    waits for the release), drawn plain: a polished one waits for the release too."""
    return rendered(session, moved(session, row, slot, value), readout_too=False, polish=False)[1]


@friendly
def drop_readout(row: str, slot: int, session: Session, value):
    """A slider let go: (the face, polished, if "Polish with D" is on: else unchanged, the drag drew
    it; the attribute readout of the face shown)."""
    face = moved(session, row, slot, value)
    if not polishing(session, face) and not STORE.has_readout(session.model):
        return gr.update(), None
    image = drawn(session, face)
    shown = big(image) if polishing(session, face) else gr.update()
    return shown, readout(session.model, image) if STORE.has_readout(session.model) else None


@friendly
def set_truncation(session: Session, psi):
    """The truncation slider let go: the face (and, after it, the gallery) at the new psi."""
    return rendered(session, session.face.with_psi(psi))


@friendly
def drag_truncation(session: Session, psi):
    """The truncation slider is being dragged: the face and its picture only (plain: see drag_face)."""
    return rendered(session, session.face.with_psi(psi), readout_too=False, polish=False)[:2]


@friendly
def set_polish(session: Session, on):
    """"Polish with D" ticked or not: the face drawn again (the gallery follows)."""
    session.polish = bool(on)
    if on and not can_polish(session.gan):
        gr.Warning(say("polish_no_d"))
    return rendered(session, session.face)


@friendly
def before_polish(session: Session):
    """Beside the current face while it is drawn polished: the face before polishing; else hidden."""
    face = session.face
    if not isinstance(face, Face) or not polishing(session, face):
        return gr.update(value=None, visible=False)
    return gr.update(value=upscale(face.render(session.gan, session.directions), CONFIG.display // 2, smooth=True),
                     visible=True)


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


def share_note(session: Session) -> str:
    """Beside a shared face found in a photo: the text holds its z; the photo stays here."""
    found = session.photo_face()
    return say("share_photo_note", number=session.photo(found.name).number) if found else ""


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
        raise gr.Error(say("pick_page", last=pages - 1))
    dims = list(range(first, min(first + CONFIG.scan_page, nz)))
    images = dimension_scan(gan, session.face.latent(nz, session.directions), dims)
    caption = say("digits_scan_caption" if draws_digits(session.model) else "scan_caption", first=dims[0],
                  last=dims[-1])
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
        raise gr.Error(say("pick_one_of", choices=say("list_separator").join(map(word, GROUPS))))
    directions = session.directions
    shown = in_group(directions.values(), group)[:12]
    if not shown:
        raise gr.Error(say("no_yours" if group == "Yours" else "no_group", group=word(group)))
    z = session.face.latent(session.nz, directions)
    images = direction_scan(session.gan, z, shown)
    caption = say("browser_caption") + "\n" + "\n".join(
        say("browser_line", number=i + 1, name=md(direction_label(d)), what=md(describe(d)))
        for i, d in enumerate(shown))
    return make_grid(upscale_all(images, 80), nrow=7), caption


@friendly
def use_dimension(session: Session, dim):
    nz = session.nz
    if dim is None or dim == "":
        raise gr.Error(say("type_dimension"))
    try:
        dim = check_dimension(dim, nz)
    except UserError:
        raise gr.Error(say("pick_dimension", last=nz - 1)) from None
    return rendered(session, session.face.on_slot(dim, CONFIG.slots))


@friendly
def use_direction(session: Session, name):
    if not name:
        raise gr.Error(say("pick_direction_for_slider"))
    if name not in session.directions:
        raise gr.Error(say("pick_direction_from_list"))
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
        raise gr.Error(say("marks_full", max=MAX_MARKS))
    marks[answer].append([round(float(v), 5) for v in z])
    session.marks = marks
    return session, marks_text(marks)


def session_marks(session: Session) -> str:
    return marks_text(session.marks)


def clear_marks(session: Session):
    session.marks = no_marks()
    return session, marks_text(session.marks)


def with_mine(session: Session, direction: Direction) -> tuple:
    """The session with `direction` among its own, on a slider of the current face; the face view."""
    face = session.face.on_slot(direction.name, CONFIG.named_slots)
    image = drawn(session, face, {**session.directions, direction.name: direction})
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
        raise gr.Error(say("choose_direction_file"))
    path = Path(file)
    if path.stat().st_size > MAX_DIRECTION_FILE:
        raise gr.Error(say("direction_file_big"))
    try:
        obj = json.loads(path.read_text())
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError):
        raise gr.Error(say("direction_not_json")) from None
    direction = direction_from_json(obj, session.nz)
    if direction.name in session.directions:
        raise gr.Error(say("direction_taken", name=direction.name))
    session, *view = with_mine(session, direction)
    return (session, say("direction_loaded", name=md(direction.name)), *view)


# --- the tab -----------------------------------------------------------------------------------
class ExploreTab:
    """The Explore tab: the gallery, the current face and its sliders, the photo panel, the
    browsers, teaching a direction; and the model's events (the header's picker and Hub box)."""

    def __init__(self, page: Page):
        self.page, first = page, page.first
        directions = first.directions
        sliders = first.sliders()
        picks = direction_choices(directions)
        with gr.Tab(T("tab_explore"), id="explore"):
            page.tell(gr.Markdown(elem_classes="tab-intro"), value="explore_intro")
            with gr.Row():
                with gr.Column(scale=3):
                    with gr.Row(equal_height=True):
                        self.start_seed = gr.Number(0, precision=0, minimum=0, maximum=MAX_SEED,
                                                    label=T("first_seed"), scale=1, min_width=120)
                        self.psi = page.truncation_slider(elem_id="truncation")
                        self.random_btn = gr.Button(T("random_seeds"), scale=1, min_width=120, size="md")
                        self.polish = page.tell(gr.Checkbox(CONFIG.polish, label=T("polish_label"), scale=1,
                                                            min_width=150, elem_id="polish"), info="polish_info")
                    self.faces = page.tell(gr.Gallery(columns=CONFIG.gallery_columns, format="jpeg",
                                                      height="fit-content", elem_id="faces", allow_preview=False,
                                                      object_fit="contain"), label="gallery")
                    self.photos = PhotoPanel()
                    with gr.Accordion(T("browser"), open=False):
                        with gr.Row(equal_height=True):
                            groups = groups_of(directions)
                            self.group = gr.Radio(choices(groups), value=groups[0], label=T("browser_group"), scale=3)
                            self.browse_btn = gr.Button(T("show"), scale=1)
                        with gr.Row(equal_height=True):
                            self.pick_direction = gr.Dropdown(picks, label=T("browser_pick"), scale=3,
                                                              allow_custom_value=True)
                            self.use_dir_btn = gr.Button(T("put_on_slider"), scale=1)
                        self.browse_image = page.tell(gr.Image(interactive=False, elem_id="direction-scan"),
                                                      label="browser_image", placeholder="browser_image_empty")
                        self.browse_caption = gr.Markdown()
                    with gr.Accordion(T("scanner"), open=False):
                        with gr.Row(equal_height=True, elem_id="dimension-scanner"):
                            self.scan_page = gr.Slider(0, max(0, -(-first.nz // CONFIG.scan_page) - 1), 0, step=1,
                                                       label=T("scanner_page"), min_width=200)
                            self.scan_btn = gr.Button(T("scan"))
                            self.pick_dim = gr.Number(None, precision=0, label=T("scanner_pick"), elem_id="pick-dim")
                            self.use_btn = gr.Button(T("put_on_slider"), elem_id="use-dim")
                        self.scan_caption = gr.Markdown()
                        self.scan_image = page.tell(gr.Image(label=T("scanner_image"), interactive=False),
                                                    placeholder="scanner_image_empty")
                    with page.tell(gr.Accordion(open=False), label="teach"):
                        page.tell(gr.Markdown(), value="teach_intro")
                        self.concept = page.tell(gr.Textbox(label=T("concept")), placeholder="concept_placeholder")
                        with gr.Row():
                            self.yes_btn = page.tell(gr.Button(elem_id="mark-yes"), value="mark_yes")
                            self.no_btn = gr.Button(T("mark_no"), elem_id="mark-no")
                            self.clear_btn = gr.Button(T("clear_marks"), size="sm")
                        self.marks_info = gr.Markdown(T("marks_none"))
                        self.fit_btn = gr.Button(T("fit_direction"), variant="primary", elem_id="fit-direction")
                        self.fit_info = gr.Markdown()
                        with gr.Row():
                            self.direction_file = gr.File(label=T("direction_file"), interactive=False,
                                                          visible=False)  # shown once fitted
                            self.upload = gr.File(label=T("upload_direction"), file_types=[".json"], type="filepath")
                with gr.Column(scale=2):
                    face = first.face
                    self.face_seed = page.tell(gr.Number(face.seed if face else None, precision=0, minimum=0,
                                                         maximum=MAX_SEED, elem_id="face-seed"), label="face_seed")
                    # jpeg: 20x faster to encode than webp, and closer (44 vs 42 dB)
                    with gr.Row(equal_height=False):
                        self.current = page.tell(gr.Image(height=300, interactive=False, elem_id="current-face",
                                                          format="jpeg", scale=3), label="current_face")
                        # the face before polishing, while "Polish with D" draws it polished
                        self.before = gr.Image(height=130, interactive=False, elem_id="face-before", format="jpeg",
                                               label=T("polish_before"), scale=1, min_width=110, visible=False, buttons=[])
                    names, offsets = [], []
                    short = direction_choices(directions, short=True)
                    for i, name in enumerate(sliders.names):
                        with gr.Row(equal_height=True):
                            names.append(gr.Dropdown(short, value=name, label=T("direction"), scale=3, min_width=160,
                                                     allow_custom_value=True))
                            offsets.append(gr.Slider(-3, 3, 0, step=0.05, label=ends_label(directions, name),
                                                     scale=3, elem_id=f"direction-{i}"))
                    with gr.Column(visible=bool(first.model and STORE.has_readout(first.model))) as self.readout_box:
                        self.attributes = gr.Label(label=T("attributes"), num_top_classes=5, show_heading=False,
                                                   elem_id="attributes")
                    with gr.Accordion(T("raw_dimensions"), open=False, elem_id="raw-dimensions"):
                        dims, values = [], []
                        for i, dim in enumerate(sliders.dims):
                            with gr.Row(equal_height=True):
                                dims.append(gr.Dropdown(list(range(first.nz)), value=dim, label=T("dimension"),
                                                        scale=1, min_width=90))
                                values.append(gr.Slider(-3, 3, 0, step=0.05, label=T("z_offset"), scale=4,
                                                        elem_id=f"slot-{i}"))
                    self.sliders = Sliders(tuple(dims), tuple(values), tuple(names), tuple(offsets))
                    with gr.Row():
                        self.reset_btn = gr.Button(T("reset_sliders"))
                        self.share_btn = gr.Button(T("share"), elem_id="share")
                    self.state_text = page.tell(gr.Textbox(max_lines=2, elem_id="state-text"), label="state_text")
                    self.share_note = gr.Markdown(elem_id="share-note")
                    self.apply_btn = page.tell(gr.Button(elem_id="apply-face"), value="apply_face")
                    self.face_json, self.face_api = gr.JSON(visible=False), gr.Button(visible=False)  # the API's /face
                    self.truncation_api = gr.Button(visible=False)  # the API's /truncation
        self.gallery = dict(fn=show_gallery, inputs=[page.session, self.start_seed], outputs=[page.session, self.faces])

    def after_face(self, event, gallery: bool = False):
        """After the face changed on the server: the sliders (both truncation sliders too) show it;
        with `gallery`, the gallery too (at the face's truncation)."""
        page = self.page
        event = event.success(face_sliders, page.session, [self.face_seed, *self.sliders.flat(), *page.truncation],
                              **PRIVATE, **QUIET)
        return event.then(**self.gallery, **PRIVATE) if gallery else event

    def wire(self):
        page, session = self.page, self.page.session
        shown = [session, self.current, self.attributes]  # what every handler that changes the face returns
        sliders, gallery = [session, *self.sliders.flat()], self.gallery

        # the model: the header's picker and Hub box, and the page's first load
        model_outputs = [session, page.model_info, *shown[1:], self.readout_box]
        page.model_switched += [
            page.model_pick.input(choose_model, [session, page.model_pick], model_outputs, api_name="choose_model",
                                  **QUIET),
            page.hub_btn.click(load_hub, [session, page.hub_id], model_outputs, api_name="load_hub", **QUIET),
            page.demo.load(choose_model, [session, page.model_pick], model_outputs, **PRIVATE)]
        for event in page.model_switched:  # the face, its sliders and gallery; the photo panel; the marks
            self.after_face(event, gallery=True).then(
                photo_updates, session, [self.photos.panel, self.photos.note], **PRIVATE).then(
                session_marks, session, self.marks_info, **PRIVATE)
        page.model_pick.focus(refresh_models, page.model_pick, page.model_pick, **PRIVATE, **QUIET)
        page.follow_told()  # every tab is laid out: the texts that name what G draws follow the model

        # the gallery and the current face
        self.start_seed.submit(**gallery, api_name="gallery")
        self.random_btn.click(random_seed, None, self.start_seed, **PRIVATE).then(**gallery, **PRIVATE)
        picked = [session, self.face_seed, *shown[1:]]
        self.faces.select(pick_from_gallery, session, picked, **PRIVATE, **QUIET)
        self.face_seed.submit(pick_seed, [session, self.face_seed], picked, api_name="pick_seed", **QUIET)
        rows = self.sliders
        for row in ("values", "offsets"):
            for slot, control in enumerate(getattr(rows, row)):
                # While dragged, the face follows, outside the queue (always_last: the final value is drawn
                # last), from the one value moved; on release, the readout only, so the last picture does not
                # wait behind it (bench/app_latency.py).
                control.input(functools.partial(drag_face, row, slot), [session, control], self.current,
                              **PRIVATE, **LIVE)
                control.release(functools.partial(drop_readout, row, slot), [session, control],
                                [self.current, self.attributes], **PRIVATE, **LIVE)
        for control in rows.dims + rows.names:
            control.input(edit_face, sliders, shown, **PRIVATE, **QUIET, trigger_mode="always_last")
        for name, offset in zip(rows.names, rows.offsets):
            name.change(slider_ends, [session, name], offset, **PRIVATE, **QUIET)
        self.after_face(self.face_api.click(set_face, [session, self.face_json], shown, api_name="face", **QUIET),
                        gallery=True)  # a pasted face may bring its psi
        for control in page.truncation:  # two views of the session's truncation: the current face's psi
            control.input(drag_truncation, [session, control], [session, self.current], **PRIVATE, **LIVE)
            self.after_face(control.release(set_truncation, [session, control], shown, **PRIVATE, **LIVE),
                            gallery=True)
        self.after_face(self.truncation_api.click(set_truncation, [session, self.psi], shown, api_name="truncation"),
                        gallery=True)
        self.after_face(self.apply_btn.click(set_face, [session, self.state_text], shown, api_name="apply_state",
                                             **QUIET), gallery=True)
        self.after_face(self.reset_btn.click(reset_sliders, session, shown, **PRIVATE, **QUIET))
        self.after_face(self.polish.input(set_polish, [session, self.polish], shown, api_name="polish", **QUIET),
                        gallery=True)
        self.current.change(before_polish, session, self.before, **PRIVATE, **QUIET)
        self.share_btn.click(share, session, self.state_text, api_name="share").success(
            share_note, session, self.share_note, **PRIVATE)
        self.photos.wire(self)

        # the browsers
        scanned = [self.scan_image, self.scan_caption]
        self.scan_btn.click(scan_page, [session, self.scan_page], scanned, api_name="scan")
        self.scan_page.release(scan_page, [session, self.scan_page], scanned, **PRIVATE, trigger_mode="always_last")
        self.after_face(self.use_btn.click(use_dimension, [session, self.pick_dim], shown, api_name="use_dimension",
                                           **QUIET))
        browsed = [self.browse_image, self.browse_caption]
        self.browse_btn.click(scan_directions, [session, self.group], browsed, api_name="scan_directions")
        self.group.input(scan_directions, [session, self.group], browsed, **PRIVATE)
        self.after_face(self.use_dir_btn.click(use_direction, [session, self.pick_direction], shown,
                                               api_name="use_direction", **QUIET))
        page.follow_model(no_scans, None, [*browsed, self.scan_image, self.scan_caption])

        # teach a direction
        marked = [session, self.marks_info]
        self.yes_btn.click(functools.partial(mark_face, "yes"), session, marked, api_name="mark_yes")
        self.no_btn.click(functools.partial(mark_face, "no"), session, marked, api_name="mark_no")
        self.clear_btn.click(clear_marks, session, marked, **PRIVATE)
        fitted = self.fit_btn.click(fit_mine, [session, self.concept],
                                    [session, self.direction_file, self.fit_info, *shown[1:]],
                                    api_name="fit_direction", **QUIET)
        fitted.success(reveal, None, self.direction_file, **PRIVATE)
        uploaded = self.upload.upload(upload_direction, [session, self.upload], [session, self.fit_info, *shown[1:]],
                                      api_name="upload_direction", **QUIET)
        page.directions_changed += [*page.model_switched, fitted, uploaded]
        self.after_face(fitted)
        self.after_face(uploaded)
        page.follow_directions(direction_picker, [session, self.group], [self.group, self.pick_direction])
