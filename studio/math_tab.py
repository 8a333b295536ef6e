"""The Face math tab: A - B + C on z, as in the DCGAN paper."""
from __future__ import annotations

import gradio as gr
import numpy as np

from gan_core.face import Face, faces_text, latents, parse_faces
from gan_core.face_math import MAX_EXEMPLARS, face_math
from gan_core.media import make_grid
from studio.i18n import labelled, say
from studio.state import CONFIG, STORE, big, directions_of, friendly, upscale_all


def exemplars(model: str, mine: dict, text: str, name: str, psi: float):
    """A concept's exemplar latents from its text (seeds, or a JSON list of seeds and faces), every
    seed at truncation `psi`."""
    faces = parse_faces(text, MAX_EXEMPLARS)
    if not faces:
        raise gr.Error(say("no_exemplars", name=name, max=MAX_EXEMPLARS))
    return latents(faces, STORE.get(model).config.nz, directions_of(model, mine), psi)


@friendly
def do_face_math(model: str, mine: dict, face: Face, a: str, b: str, c: str):
    """A - B + C at the session's truncation (the current face's psi)."""
    gan = STORE.get(model)
    concepts = ((a, "A"), (b, "B"), (c, "C"))
    out = face_math(gan, *(exemplars(model, mine, text, n, face.psi) for text, n in concepts))
    rows = [upscale_all(faces, 96) for faces in out.concepts]
    blank = np.full_like(rows[0][0], 255)
    table = make_grid(np.stack([row[i] if i < len(row) else blank for row in rows for i in range(3)]), nrow=3,
                      pad_value=255)
    return big(out.result), make_grid(upscale_all(out.neighbours, 128), nrow=3), big(out.pixels), table


@friendly
def add_current_to_concept(text: str, face: Face):
    faces = parse_faces(text, MAX_EXEMPLARS)
    if len(faces) >= MAX_EXEMPLARS:
        raise gr.Error(say("concept_full", max=MAX_EXEMPLARS))
    return faces_text(faces + [face])


def presets_of(model: str) -> list[list[str]]:
    """The model's ready examples [label, A, B, C]: its own, or the studio's for a faces model."""
    presets = STORE.presets(model)
    if not presets and STORE.classifier(model) is not None:
        presets = [list(p) for p in CONFIG.face_math_presets]
    return presets


def preset_updates(model: str):
    """The ready-examples picker for a model, hidden (with a note why) when it has none."""
    presets = presets_of(model)
    note = "" if presets else say("no_presets")
    return gr.update(choices=labelled([p[0] for p in presets]), value=None, visible=bool(presets)), note


@friendly
def use_preset(model: str, label: str):
    for preset in presets_of(model):
        if preset[0] == label:
            return tuple(preset[1:])
    raise gr.Error(say("pick_preset"))
