"""The Ask the discriminator tab: D's verdict, where it looks, and steps up its gradient."""
from __future__ import annotations

from pathlib import Path

import gradio as gr
import numpy as np
import torch

from gan_core.editing.face import Face
from gan_core.model.latent import MAX_SEED, check_seed
from gan_core.data.media import upscale
from gan_core.analysis.teacher import (DEFAULT_LR, ask, difference_map, feature_maps, generator_steps, layer_choices,
                              pixel_steps, probability)
from gan_core.analysis.teacher import layers as layers_of
from gan_core.data.uploads import load_photo, load_upload
from gan_core.errors import UserError
from gan_core.photos.align import MIN_FACE, NoFace
from studio.i18n import T, choices, say, sentences, word
from studio.page import PRIVATE, Page, reveal
from studio.photos import KEPT_SIDE, finds_faces
from studio.session import Session
from studio.state import CONFIG, STORE, big, draws_digits, friendly
from studio.units_panel import UnitsPanel


SOURCES = ("Current face (Explore)", "A seed", "An uploaded picture", "The current face's photo (aligned crop)")


def face_words(face: Face, digits: bool = False) -> str:
    """A few words about a face (a digit's, with `digits`), in the page's language: "seed 42, 2 sliders moved"."""
    if face.z is None:
        what = say("seed_caption", seed=face.seed)
    else:
        what = say("digits_face_yours" if digits else "face_yours")
    if not face.moved:
        return what
    return say("face_moved_one", what=what) if face.moved == 1 else say("face_moved", what=what, count=face.moved)


def uploaded(session: Session, upload) -> np.ndarray:
    """What D sees of an uploaded picture: on a faces model, the face found in it, on the training
    crop (a number for a picture without a face would mean nothing, so there is none); on another
    model, its centre square. Read once (its file deleted) and kept in the session, so asking again
    about the same upload needs no file."""
    key = str(upload)
    last = session.asked_upload
    if not last or last["upload"] != key:
        last = {"upload": key}
        try:
            last["image"] = read_for_d(session.model, key)
        except UserError as err:
            last["error"] = err
        finally:
            Path(key).unlink(missing_ok=True)
        session.asked_upload = last
    if "error" in last:
        err = last["error"]
        raise gr.Error(say("d_no_face", min=MIN_FACE)) if isinstance(err, NoFace) else err
    return last["image"]


def read_for_d(model: str, path: str) -> np.ndarray:
    gan = STORE.get(model)
    if not finds_faces(model):
        return load_upload(path, gan.config.image_size, gan.config.channels)
    return STORE.aligner(model).align(load_photo(path, max_side=KEPT_SIDE)).crop


def subject_of(session: Session, source: str, d_seed, upload) -> dict:
    """What D is asked about: {"image": uint8 [S, S, C], "z": [nz] list or None, "what": text}."""
    gan, face = session.gan, session.face
    if source == SOURCES[2]:
        if not upload:
            raise gr.Error(say("upload_first"))
        return {"image": uploaded(session, upload), "z": None, "what": say("your_picture")}
    if source == SOURCES[3]:
        found = session.photo_face()
        if found is None:
            raise gr.Error(say("not_a_photo_face"))
        return {"image": session.crops[found.name], "z": None,
                "what": say("photo_crop", number=session.photo(found.name).number)}
    if source == SOURCES[1]:
        seed = check_seed(d_seed)  # at the session's truncation, as the gallery shows it
        z, what = Face(seed=seed, psi=face.psi).latent(gan.config.nz), say("seed_caption", seed=seed)
    elif source == SOURCES[0]:
        digits = draws_digits(session.model)
        z = face.latent(gan.config.nz, session.directions)
        what = say("digits_the_current_face" if digits else "the_current_face", what=face_words(face, digits))
    else:
        raise gr.Error(say("show_d_one_of", choices=say("list_separator").join(map(word, SOURCES))))
    return {"image": gan.generate(z[None])[0], "z": z.tolist(), "what": what}


@friendly
def first_look(session: Session, layer, top):
    """The tab opened for the first time: D asked about the current face, its step panel and its
    feature maps filled in (pictures, not empty boxes)."""
    asked = ask_discriminator(session, SOURCES[0], 0, None)
    return (*asked, *steps_outputs(session)[1:], show_feature_maps(session, layer, top))


def ask_first(session: Session) -> gr.Error:
    """The refusal of a step before D was asked anything."""
    return gr.Error(say("digits_ask_first" if draws_digits(session.model) else "ask_first"))


def verdict_text(p: float, what: str) -> str:
    return say("verdict", p=p, what=what)


def probability_table(probs: list[float]):
    import pandas as pd  # comes with gradio
    return pd.DataFrame({"step": list(range(len(probs))), "D(image)": probs})


@friendly
def ask_discriminator(session: Session, source: str, d_seed, upload):
    subject = subject_of(session, source, d_seed, upload)
    verdict = ask(session.gan, subject["image"])
    side = CONFIG.display
    text = verdict_text(verdict.probability, subject["what"])
    if source == SOURCES[0] and session.photo_face() is not None:  # G's version of a photo: the photo is there too
        text = sentences(text, say("ask_photo_hint", source=word(SOURCES[3])))
    shown = (big(subject["image"], smooth=False), text,
             verdict.heat_map(side), verdict.signed_map(side))
    session.subject, session.steps = subject, {"images": [subject["image"]], "probs": [verdict.probability]}
    return (session, *shown)


@friendly
def show_feature_maps(session: Session, layer, top):
    subject = session.subject
    if not subject:
        raise ask_first(session)
    maps = feature_maps(session.gan, subject["image"], int(layer), int(top), size=160)
    return [(m.overlay, say("unit_caption", unit=m.channel, strength=m.strength)) for m in maps]


def steps_outputs(session: Session):
    """(the session, the last step's image, its difference from the first, D's outputs, a note)."""
    images, probs = session.steps["images"], session.steps["probs"]
    change = f"{probs[0]:.3f} \u2192 {probs[-1]:.3f}" if len(probs) > 1 else f"{probs[0]:.3f}"
    rms = float(np.sqrt(np.mean((images[-1].astype(np.float32) - images[0].astype(np.float32)) ** 2)))
    how = say("steps_none" if len(probs) == 1 else "steps_tiny" if rms < 3 else "steps_changed", rms=rms)
    note = say("steps_note", count=len(probs) - 1, change=change, how=how)
    return (session, big(images[-1], smooth=False), difference_map(images[0], images[-1], CONFIG.display),
            probability_table(probs), note)


@friendly
def take_pixel_steps(session: Session, count, step_size):
    subject, steps = session.subject, session.steps
    if not subject or not steps:
        raise ask_first(session)
    if len(steps["probs"]) - 1 + int(count) > CONFIG.max_pixel_steps:  # checked before the work, not after
        raise gr.Error(say("digits_steps_full" if draws_digits(session.model) else "steps_full",
                           max=CONFIG.max_pixel_steps))
    more = pixel_steps(session.gan, steps["images"][-1], int(count), float(step_size))
    session.steps = {"images": steps["images"] + more.images[1:], "probs": steps["probs"] + more.probabilities[1:]}
    return steps_outputs(session)


@friendly
def reset_steps(session: Session):
    subject = session.subject
    if not subject:
        raise ask_first(session)
    session.steps = {"images": [subject["image"]], "probs": [probability(session.gan, subject["image"])]}
    return steps_outputs(session)


@friendly
def take_generator_steps(session: Session, count, target: str, lr):
    subject = session.subject
    if not subject:
        raise ask_first(session)
    if subject.get("z") is None:
        raise gr.Error(say("digits_g_steps_need_z" if draws_digits(session.model) else "g_steps_need_z"))
    out = generator_steps(session.gan, torch.tensor(subject["z"]), int(count), float(lr), target)
    picks = np.linspace(0, len(out.images) - 1, min(6, len(out.images))).round().astype(int)
    strip = [(upscale(out.images[i], 128, smooth=True), f"{i}: {out.probabilities[i]:.2f}") for i in picks]
    note = say("g_steps_weights" if target == "weights" else "g_steps_z", count=len(out.images) - 1,
               before=out.probabilities[0], after=out.probabilities[-1])
    return strip, probability_table(out.probabilities), note


def source_choices(model: str) -> list:
    """What D can be shown: on a digits model, the current digit (and no photo: photos are faces)."""
    if draws_digits(model):
        return [(T("digits_source_current"), SOURCES[0]), *choices(SOURCES[1:3])]
    return choices(SOURCES)


def model_settings(session: Session) -> tuple:
    """The layer picker and the pixel step size for the session's model."""
    gan = session.gan
    labels = [say("layer_label", number=n, maps=maps, size=size) for n, maps, size in layers_of(gan)]
    layer_pick = gr.update(choices=[(label, i) for i, label in enumerate(labels)], value=0)
    step = 1.0 if gan.config.channels == 1 else 0.1  # digits' black background needs bigger steps to move D
    return layer_pick, step


def follow_model(session: Session, top):
    """The tab on a new model: its layers and step size; if the tab showed a picture, D asked again
    about the (new) current face, the generator's steps cleared (they were the other model's)."""
    settings, sources = model_settings(session), source_choices(session.model)
    if "ask" not in session.drawn:
        return (*settings, gr.update(choices=sources), *[gr.skip()] * 12)
    return (*settings, gr.update(choices=sources, value=SOURCES[0]), gr.update(visible=False), "",
            *first_look(session, 0, top))


def default_lr(target: str) -> float:
    return DEFAULT_LR.get(target, DEFAULT_LR["weights"])


# --- the tab -----------------------------------------------------------------------------------
class AskTab:
    def __init__(self, page: Page):
        self.page = page
        first = page.first.model
        with gr.Tab(T("tab_ask"), id="ask") as self.tab:
            gr.Markdown(T("ask_intro"), elem_classes="tab-intro")
            with gr.Row(equal_height=True):
                self.source = gr.Radio(source_choices(first), value=SOURCES[0], label=T("source"), scale=3)
                self.seed = gr.Number(0, precision=0, minimum=0, maximum=MAX_SEED, label=T("seed"), scale=1)
                self.upload = gr.File(label=T("upload_face"), file_types=["image"], type="filepath", scale=2)
                self.ask_btn = gr.Button(T("ask"), variant="primary", scale=1, elem_id="ask-button")
            with gr.Row():
                self.image = gr.Image(label=T("d_image"), interactive=False, elem_id="d-image")
                self.heat = gr.Image(label=T("d_heat"), interactive=False, elem_id="d-heat")
                self.signed = gr.Image(label=T("d_signed"), interactive=False)
            self.verdict = gr.Markdown(elem_id="d-verdict")
            with gr.Accordion(T("steps"), open=True):
                with gr.Row(equal_height=True):
                    self.step_count = gr.Slider(1, 20, 1, step=1, label=T("step_count"))
                    self.step_size = gr.Slider(0.1, 4, 0.1, step=0.05, label=T("step_size"))
                    self.step_btn = gr.Button(T("take_steps"), elem_id="step-button")
                    self.reset_steps_btn = gr.Button(T("reset_steps"), size="sm")
                self.step_note = gr.Markdown(elem_id="step-note")
                with gr.Row():
                    self.stepped = gr.Image(label=T("stepped"), interactive=False, elem_id="stepped")
                    self.difference = gr.Image(label=T("difference"), interactive=False)
                    self.step_plot = gr.LinePlot(x="step", y="D(image)", y_lim=[0, 1], label=T("step_plot"),
                                                 height=260, x_title=T("axis_step"), y_title=T("axis_d_image"),
                                                 elem_id="step-plot")
            with gr.Accordion(T("g_steps"), open=False):
                page.tell(gr.Markdown(), value="g_steps_intro")
                with gr.Row(equal_height=True):
                    self.g_count = gr.Slider(1, 20, 5, step=1, label=T("g_count"))
                    self.g_target = gr.Radio(choices(["weights", "z"]), value="weights", label=T("g_target"))
                    self.g_lr = gr.Number(DEFAULT_LR["weights"], minimum=1e-7, maximum=1.0, label=T("g_lr"))
                    self.g_btn = gr.Button(T("g_train"), elem_id="g-step-button")
                self.g_note = gr.Markdown()
                with gr.Row(visible=False) as self.g_box:  # shown once the copy is trained
                    self.g_strip = page.tell(gr.Gallery(columns=3, height="fit-content", allow_preview=False),
                                             label="g_strip")
                    self.g_plot = gr.LinePlot(x="step", y="D(image)", y_lim=[0, 1], label=T("g_plot"), height=220,
                                              x_title=T("axis_step"), y_title=T("axis_d_image"))
            with gr.Accordion(T("maps"), open=True):
                with gr.Row(equal_height=True):
                    layers = layer_choices(STORE.get(first)) if first else []
                    self.layer = gr.Dropdown(layers, value=0, label=T("d_layer"), scale=2)
                    self.top = gr.Slider(1, 12, 6, step=1, label=T("d_top"), scale=2, min_width=200)
                    self.maps_btn = gr.Button(T("show_maps"), scale=1)
                self.maps = page.tell(gr.Gallery(columns=6, height=220, allow_preview=False, elem_id="d-maps"),
                                      label="d_maps")
            self.units = UnitsPanel(page)

    def wire(self):
        page, session = self.page, self.page.session
        asked = [session, self.image, self.verdict, self.heat, self.signed]
        steps = [session, self.stepped, self.difference, self.step_plot, self.step_note]
        maps = dict(fn=show_feature_maps, inputs=[session, self.layer, self.top], outputs=self.maps)
        self.ask_btn.click(ask_discriminator, [session, self.source, self.seed, self.upload], asked,
                           api_name="ask").success(**maps, **PRIVATE).success(
            reset_steps, session, steps, **PRIVATE)  # the step panel starts from the new face
        first_look_outputs = [*asked, *steps[1:], self.maps]
        page.first_visit(self.tab, first_look, [self.layer, self.top], first_look_outputs)
        page.follow_model(follow_model, [session, self.top],
                          [self.layer, self.step_size, self.source, self.g_box, self.g_note, *first_look_outputs])
        self.step_btn.click(take_pixel_steps, [session, self.step_count, self.step_size], steps,
                            api_name="pixel_steps")
        self.reset_steps_btn.click(reset_steps, session, steps, **PRIVATE)
        self.g_target.change(default_lr, self.g_target, self.g_lr, **PRIVATE)
        self.g_btn.click(take_generator_steps, [session, self.g_count, self.g_target, self.g_lr],
                         [self.g_strip, self.g_plot, self.g_note], api_name="generator_steps").success(
            reveal, None, self.g_box, **PRIVATE)
        self.maps_btn.click(**maps, api_name="feature_maps")
        self.layer.input(**maps, **PRIVATE)
        self.units.wire(self.image)
