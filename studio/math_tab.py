"""The Face math tab: A - B + C on z, as in the DCGAN paper."""
from __future__ import annotations

import gradio as gr
import numpy as np

from gan_core.editing.face import faces_text, latents, parse_faces
from gan_core.editing.face_math import MAX_EXEMPLARS, face_math
from gan_core.data.media import make_grid
from studio.i18n import T, choices, labelled, say
from studio.page import PRIVATE, QUIET, Page
from studio.session import Session
from studio.state import CONFIG, STORE, big, draws_digits, friendly, upscale_all


def exemplars(session: Session, text: str, name: str, psi: float):
    """A concept's exemplar latents from its text (seeds, photos by name: "photo 1", or a JSON list
    of seeds and faces), every seed at truncation `psi`, and each one's tuned generator (or None)."""
    faces = parse_faces(text, MAX_EXEMPLARS, named=session.named())
    if not faces:
        raise gr.Error(say("digits_no_exemplars" if draws_digits(session.model) else "no_exemplars", name=name,
                           max=MAX_EXEMPLARS))
    return latents(faces, session.nz, session.directions, psi), [f.tuned for f in faces]


@friendly
def do_face_math(session: Session, a: str, b: str, c: str):
    """A - B + C at the session's truncation (the current face's psi)."""
    concepts = ((a, "A"), (b, "B"), (c, "C"))
    z, tuned = zip(*(exemplars(session, text, n, session.face.psi) for text, n in concepts))
    out = face_math(session.gan, *z, tuned=tuned)
    rows = [upscale_all(faces, 96) for faces in out.concepts]
    blank = np.full_like(rows[0][0], 255)
    table = make_grid(np.stack([row[i] if i < len(row) else blank for row in rows for i in range(3)]), nrow=3,
                      pad_value=255)
    return big(out.result), make_grid(upscale_all(out.neighbours, 128), nrow=3), big(out.pixels), table


@friendly
def add_current_to_concept(session: Session, text: str):
    faces = parse_faces(text, MAX_EXEMPLARS, named=session.named())
    if len(faces) >= MAX_EXEMPLARS:
        raise gr.Error(say("digits_concept_full" if draws_digits(session.model) else "concept_full",
                           max=MAX_EXEMPLARS))
    return faces_text(faces + [session.face])  # a photo's face by its name


def presets_of(model: str) -> list[list[str]]:
    """The model's ready examples [label, A, B, C]: its own, or the studio's for a faces model."""
    presets = STORE.presets(model)
    if not presets and STORE.classifier(model) is not None:
        presets = [list(p) for p in CONFIG.face_math_presets]
    return presets


def preset_updates(session: Session):
    """The ready-examples picker for the session's model, hidden (with a note why) when it has none."""
    presets = presets_of(session.model)
    note = "" if presets else say("digits_no_presets" if draws_digits(session.model) else "no_presets")
    return gr.update(choices=labelled([p[0] for p in presets]), value=None, visible=bool(presets)), note


@friendly
def use_preset(session: Session, label: str):
    for preset in presets_of(session.model):
        if preset[0] == label:
            return tuple(preset[1:])
    raise gr.Error(say("pick_preset"))


def follow_model(session: Session, a: str, b: str, c: str):
    """The tab on a new model: its ready examples; A - B + C again if the tab showed it (cleared
    if the concepts do not fit the new model)."""
    presets = preset_updates(session)
    if "math" not in session.drawn:
        return (*presets, *[gr.skip()] * 4)
    try:
        return (*presets, *do_face_math(session, a, b, c))
    except gr.Error:
        return (*presets, None, None, None, None)


# --- the tab -----------------------------------------------------------------------------------
class MathTab:
    def __init__(self, page: Page):
        self.page = page
        first = page.first.model
        presets = (presets_of(first) if first else []) or [["", "1, 2, 3", "4, 5, 6", "7, 8, 9"]]
        with page.tell(gr.Tab(id="math"), label="tab_math") as self.tab:
            page.tell(gr.Markdown(elem_classes="tab-intro"), value="math_intro")
            with gr.Row():
                self.concepts = [page.tell(gr.Textbox(text, max_lines=3), label=key) for text, key in
                                 zip(presets[0][1:], ("concept_a", "concept_b", "concept_c"))]
            with gr.Row():
                self.adds = [page.tell(gr.Button(size="sm"), value=key) for key in ("add_to_a", "add_to_b", "add_to_c")]
                self.math_btn = gr.Button(T("compute"), variant="primary", elem_id="math-button")
            with gr.Row(equal_height=True):
                self.preset_pick = gr.Dropdown(choices([p[0] for p in presets if p[0]]), value=presets[0][0] or None,
                                               visible=bool(presets[0][0]), label=T("presets"))
                self.preset_note = gr.Markdown(elem_id="preset-note")
            with gr.Row():
                self.result = gr.Image(label=T("math_result"), interactive=False, elem_id="math-result")
                self.grid = gr.Image(label=T("math_grid"), interactive=False)
                self.pixels = gr.Image(label=T("math_pixels"), interactive=False)
                self.table = gr.Image(label=T("math_concepts"), interactive=False)

    def wire(self):
        session = self.page.session
        for button, box in zip(self.adds, self.concepts):
            button.click(add_current_to_concept, [session, box], box, **PRIVATE)
        self.preset_pick.input(use_preset, [session, self.preset_pick], self.concepts, **PRIVATE)
        inputs, outputs = [session, *self.concepts], [self.result, self.grid, self.pixels, self.table]
        self.math_btn.click(do_face_math, inputs, outputs, api_name="face_math", **QUIET)
        self.page.first_visit(self.tab, do_face_math, self.concepts, outputs)
        self.page.follow_model(follow_model, inputs, [self.preset_pick, self.preset_note, *outputs])
