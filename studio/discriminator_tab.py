"""The Ask the discriminator tab: D's verdict, where it looks, and steps up its gradient."""
from __future__ import annotations

from pathlib import Path

import gradio as gr
import numpy as np
import torch

from gan_core.editing.face import Face
from gan_core.model.latent import MAX_SEED, check_seed
from gan_core.data.media import upscale
from gan_core.analysis.teacher import (FALLBACK_TEACHING, MAX_SIZE, MAX_STEPS, Walk, difference_map, feature_maps, layer_choices,
                                       pixel_steps, teaching_defaults)
from gan_core.analysis.teacher import layers as layers_of
from gan_core.analysis.verdicts import CONCLUSIONS, READINGS_NAME, Judgement, Reading, Readings, judge, read
from gan_core.data.uploads import load_photo
from gan_core.errors import UserError
from gan_core.photos.align import MIN_FACE
from studio.i18n import T, choices, say, sentences, word
from studio.page import PRIVATE, QUIET, Page
from studio.photos import KEPT_SIDE, finds_faces
from studio.session import Session
from studio.state import CONFIG, STORE, big, draws_digits, friendly, log
from studio.units_panel import UnitsPanel


SOURCES = ("Current face (Explore)", "A seed", "An uploaded picture", "The current face's photo (aligned crop)")
# how a click steps the picture up D's gradient (the page's words; teacher.KINDS are their targets)
STEP_KINDS = {"Through G: its input z": "z", "Through G: a copy of its weights": "weights",
              "On the pixels (an adversarial example)": "pixels"}
KIND_WORDS = {kind: label for label, kind in STEP_KINDS.items()}
STRIP = 7  # pictures along the path in the strip


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
    """The uploaded picture, whole (shrunk to KEPT_SIDE), uint8 [H, W, 3]: read once (its file
    deleted) and kept in the session, so asking again about it, on this model or another, needs no file."""
    key = str(upload)
    last = session.asked_upload
    if not last or last["upload"] != key:
        last = {"upload": key}
        try:
            last["photo"] = load_photo(key, max_side=KEPT_SIDE)
        except UserError as err:
            last["error"] = err
        finally:
            Path(key).unlink(missing_ok=True)
        session.asked_upload = last
    if "error" in last:
        raise last["error"]
    return last["photo"]


def readings_of(model: str) -> Readings | None:
    """The model's measured scores of D (d_readings.json), or None: a Hub model ships none, and a
    broken file leaves the raw number alone (logged) rather than the tab without a verdict."""
    try:
        return STORE.readings(model)
    except UserError:
        log.warning("%s: unreadable %s; D's number is shown without a reading", model, READINGS_NAME, exc_info=True)
        return None


def read_for_d(model: str, photo: np.ndarray) -> Judgement:
    """D on an uploaded picture: on a faces model, on the face found in it, aligned to the training
    crop, or no number at all (found False: D saw faces only, so a number for anything else would
    mean nothing); on another model, on its centre square."""
    aligner = STORE.aligner(model) if finds_faces(model) else None
    return judge(STORE.get(model), photo, aligner, readings_of(model))


def nothing_judged(session: Session) -> bool:
    """Whether D's last question was an upload without a face: no number, nothing to step from or map."""
    return session.subject is None and bool((session.asked_upload or {}).get("refused"))


def subject_of(session: Session, source: str, d_seed, upload) -> dict:
    """What D is asked about: {"image": uint8 [S, S, C], "z": [nz] list or None, "what": text}; an
    upload's also has "judged" (its Judgement: D already asked, or no face and "image" None)."""
    gan, face = session.gan, session.face
    if source == SOURCES[2]:
        if not upload:
            raise gr.Error(say("upload_first"))
        judged = read_for_d(session.model, uploaded(session, upload))
        what = say("verdict_found_face" if finds_faces(session.model) else "your_picture")
        return {"image": judged.image, "z": None, "what": what, "judged": judged}
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
    """The refusal of a step before D was asked anything (or when it gave no number)."""
    if nothing_judged(session):
        return gr.Error(say("verdict_nothing_to_step"))
    return gr.Error(say("digits_ask_first" if draws_digits(session.model) else "ask_first"))


def verdict_text(p: float, what: str, reading: Reading | None = None, digits: bool = False) -> str:
    """D's raw probability; beside it, where it falls among D's scores on held-out real images and
    on fresh fakes (or a note that the model ships none); and what D is."""
    things = say("game_things_digits" if digits else "game_things_faces")
    if reading is None:
        beside = say("verdict_no_readings", things=things)
    else:
        beside = say("verdict_reading", real=reading.below_real, real_count=reading.real_count, things=things,
                     fake=reading.below_fake, fake_count=reading.fake_count, psi=reading.fake_psi,
                     conclusion=conclusion_text(reading.conclusion, things))
    return "\n\n".join([say("verdict", p=p, what=what), beside,
                         say("digits_verdict_what_d" if digits else "verdict_what_d")])


def conclusion_text(conclusion: str, things: str) -> str:
    """A reading's conclusion (gan_core.analysis.verdicts.CONCLUSIONS) in words."""
    if conclusion not in CONCLUSIONS:
        raise ValueError(f"unknown conclusion {conclusion!r}")
    key = ("verdict_reads_above_real" if conclusion == "above_real" else
           "verdict_reads_typical_real" if conclusion == "typical_real" else
           "verdict_reads_low_real" if conclusion == "low_real" else
           "verdict_reads_fake" if conclusion == "fake" else "verdict_reads_below_fakes")
    return say(key, things=things)


def no_number_text() -> str:
    """The verdict box for an upload without a face: why there is no number."""
    return "\n\n".join([say("verdict_no_number"), say("d_no_face", min=MIN_FACE), say("verdict_what_d")])


def cleared_steps(session: Session):
    """The step panel with nothing in it (D gave no number): as show_steps lays it out."""
    return session, None, None, None, say("verdict_nothing_to_step"), [], gr.skip()


def probability_table(probs: list[float]):
    import pandas as pd  # comes with gradio
    return pd.DataFrame({"step": list(range(len(probs))), "D(image)": probs})


@friendly(private=True)
def ask_discriminator(session: Session, source: str, d_seed, upload):
    """(the session, what D saw, the verdict, where D looks, which way): every input checked and D
    asked before the session changes. An upload without a face (faces model) gets no number: the
    pictures are cleared, the verdict box says why, and nothing is left to step from."""
    subject = subject_of(session, source, d_seed, upload)
    judged = subject.pop("judged", None) or read(session.gan, subject["image"], readings_of(session.model))
    if session.asked_upload:
        session.asked_upload["refused"] = not judged.found
    if not judged.found:
        session.subject, session.steps = None, None
        return session, None, no_number_text(), None, None
    verdict, side = judged.verdict, CONFIG.display
    text = verdict_text(verdict.probability, subject["what"], judged.reading, draws_digits(session.model))
    if source == SOURCES[0] and session.photo_face() is not None:  # G's version of a photo: the photo is there too
        text = sentences(text, say("ask_photo_hint", source=word(SOURCES[3])))
    shown = (big(subject["image"], smooth=False), text,
             verdict.heat_map(side), verdict.signed_map(side))
    session.subject, session.steps = subject, first_path(subject, verdict.probability)
    return (session, *shown)


@friendly
def show_feature_maps(session: Session, layer, top):
    subject = session.subject
    if not subject:
        if nothing_judged(session):  # after an upload without a face: no maps, no message
            return []
        raise ask_first(session)
    maps = feature_maps(session.gan, subject["image"], int(layer), int(top), size=160)
    return [(m.overlay, say("unit_caption", unit=m.channel, strength=m.strength)) for m in maps]


# --- teaching: steps up D's gradient, through G or on the pixels ------------------------------------
def new_path(image: np.ndarray, p: float) -> dict:
    """A path of steps from `image` (D says `p`): no steps yet, no kind chosen."""
    return {"images": [image], "probs": [p], "how": None, "walk": None, "note": ""}


def first_path(subject: dict, p: float) -> dict:
    """The path from the picture D was asked about; a picture G did not make says it takes pixel steps only."""
    path = new_path(subject["image"], p)
    if subject.get("z") is None:
        path["note"] = sentences(say("teach_start", p=p), say("teach_pixels_only"))
    return path


def rms_change(path: dict) -> float:
    """How far the path's last picture is from its first: grey levels, root-mean-square."""
    first, last = path["images"][0], path["images"][-1]
    return float(np.sqrt(np.mean((last.astype(np.float32) - first.astype(np.float32)) ** 2)))


def steps_outputs(session: Session):
    """(the session, the last step's picture, its difference from the first, D's plot, a note, the
    strip of pictures along the path)."""
    path = session.steps
    images, probs = path["images"], path["probs"]
    note = path.get("note") or say("teach_start", p=probs[0])
    picks = np.linspace(0, len(images) - 1, min(STRIP, len(images))).round().astype(int)
    strip = [(upscale(images[i], 128), say("teach_strip_caption", step=int(i), p=probs[i])) for i in picks]
    return (session, big(images[-1], smooth=False), difference_map(images[0], images[-1], CONFIG.display),
            probability_table(probs), note, strip)


def kind_of(how: str) -> str:
    """The target ("z", "weights", "pixels") of a step kind, from its words (or the target itself)."""
    kind = STEP_KINDS.get(how, how)
    if kind not in KIND_WORDS:
        raise gr.Error(say("teach_how_one_of", choices=say("list_separator").join(map(word, STEP_KINDS))))
    return kind


def check_size(kind: str, size) -> float:
    """A step size for `kind`, bounded as teacher.py bounds it (said in the page's language)."""
    try:
        size = float(size)
    except (TypeError, ValueError):
        size = float("nan")
    if not 0 < size <= MAX_SIZE[kind]:
        raise gr.Error(say("teach_size_range", max=MAX_SIZE[kind], got=size))
    return size


def check_count(count) -> int:
    try:
        count = int(count)
    except (TypeError, ValueError, OverflowError):
        count = 0
    if not 1 <= count <= MAX_STEPS:
        raise gr.Error(say("teach_count_range", max=MAX_STEPS))
    return count


def step_note(kind: str, count: int, path: dict, before: float, restarted: bool) -> str:
    """What the last click did: how far the picture moved from the start, D from a to b, and what it means."""
    probs = path["probs"]
    key = "teach_done_z" if kind == "z" else "teach_done_weights" if kind == "weights" else "teach_done_pixels"
    said = say(key, count=count, total=len(probs) - 1, rms=rms_change(path), a=probs[0],
               before=before, b=probs[-1])
    if restarted:
        said = sentences(say("teach_restarted"), said)
    return said


def check_steps(session: Session, how: str, count, size) -> tuple[str, int, float]:
    """(kind, count, size) of a click, each checked, or the first mistake as a message."""
    if not session.subject or not session.steps:
        raise ask_first(session)
    kind = kind_of(how)
    return kind, check_count(count), check_size(kind, size)


@friendly
def check_step_click(session: Session, how: str, count, size):
    """A click's settings checked before anything in the step panel changes (its pictures stay in view)."""
    check_steps(session, how, count, size)


@friendly
def take_steps(session: Session, how: str, count, size):
    """One click: `count` more steps of kind `how` (through G's z, a copy of G's weights, or on the
    pixels), carrying on from the last click; a new kind starts again from the first picture."""
    kind, count, size = check_steps(session, how, count, size)
    subject, path = session.subject, session.steps
    if kind != "pixels" and subject.get("z") is None:  # an upload or a photo crop: G has no z for it
        path["note"] = say("teach_pixels_only")
        return (*steps_outputs(session), gr.update(value=KIND_WORDS["pixels"]))
    restarted = path.get("how") not in (None, kind) and len(path["probs"]) > 1
    if restarted:
        path = new_path(path["images"][0], path["probs"][0])
    if len(path["probs"]) - 1 + count > CONFIG.max_pixel_steps:  # checked before the work, not after
        raise gr.Error(say("digits_steps_full" if draws_digits(session.model) else "steps_full",
                           max=CONFIG.max_pixel_steps))
    before = path["probs"][-1]
    if kind == "pixels":
        more = pixel_steps(session.gan, path["images"][-1], count, size)
    else:
        walk = path.get("walk") if path.get("how") == kind else None
        walk = walk or Walk(session.gan, torch.tensor(subject["z"]), kind, size)
        more = walk.take(count, size)
        path["walk"] = walk
    path["images"] = path["images"] + more.images[1:]
    path["probs"] = path["probs"] + more.probabilities[1:]
    path["how"] = kind
    path["note"] = step_note(kind, count, path, before, restarted)
    session.steps = path
    return (*steps_outputs(session), gr.skip())


def path_outputs(session: Session):
    """The step panel as the session's path is, with the step kind turned to pixels for a picture G
    did not make; cleared after an upload without a face."""
    if not session.subject or not session.steps:
        if nothing_judged(session):
            return cleared_steps(session)
        raise ask_first(session)
    kind = gr.update(value=KIND_WORDS["pixels"]) if session.subject.get("z") is None else gr.skip()
    return (*steps_outputs(session), kind)


@friendly
def show_steps(session: Session):
    """The step panel after D was asked: the path ask_discriminator began, or the steps already taken
    from it (a quick Step click may come first; showing never undoes it)."""
    return path_outputs(session)


@friendly
def reset_steps(session: Session):
    """The path back to its first picture (the one D was asked about). A picture G did not make
    can only take pixel steps: the kind turns to pixels, and the note says why."""
    if session.subject and session.steps:
        session.steps = first_path(session.subject, session.steps["probs"][0])
    return path_outputs(session)


def size_box(model: str, kind: str):
    """The step size box for a kind of step: the model's measured default, and what the number means."""
    key = "teach_size_z" if kind == "z" else "teach_size_weights" if kind == "weights" else "teach_size_pixels"
    return gr.update(value=teaching_defaults(STORE.get(model).config)[kind], label=say(key),
                     maximum=MAX_SIZE[kind])


def step_size_for(session: Session, how: str):
    return size_box(session.model, STEP_KINDS.get(how, "z"))


def source_choices(model: str) -> list:
    """What D can be shown: on a digits model, the current digit (and no photo: photos are faces)."""
    if draws_digits(model):
        return [(T("digits_source_current"), SOURCES[0]), *choices(SOURCES[1:3])]
    return choices(SOURCES)


def model_settings(session: Session) -> tuple:
    """The layer picker and the step panel's kind, count and size for the session's model (its
    measured teaching defaults: config.json extra.teaching)."""
    gan = session.gan
    labels = [say("layer_label", number=n, maps=maps, size=size) for n, maps, size in layers_of(gan)]
    layer_pick = gr.update(choices=[(label, i) for i, label in enumerate(labels)], value=0)
    defaults = teaching_defaults(gan.config)
    return (layer_pick, gr.update(value=KIND_WORDS[defaults["how"]]), defaults["count"],
            size_box(session.model, defaults["how"]))


def follow_model(session: Session, top):
    """The tab on a new model: its layers and step settings; if the tab showed a picture, D asked
    again about the (new) current face, the steps cleared (they were the other model's)."""
    settings, sources = model_settings(session), source_choices(session.model)
    if "ask" not in session.drawn:
        return (*settings, gr.update(choices=sources), *[gr.skip()] * 11)
    return (*settings, gr.update(choices=sources, value=SOURCES[0]), *first_look(session, 0, top))


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
            with gr.Accordion(T("teach_panel"), open=True):
                page.tell(gr.Markdown(), value="teach_panel_intro")
                teach = teaching_defaults(STORE.get(first).config) if first else FALLBACK_TEACHING
                kind = teach["how"]
                with gr.Row(equal_height=True):
                    self.step_how = gr.Radio(choices(list(STEP_KINDS)), value=KIND_WORDS[kind], label=T("teach_how"),
                                             scale=3, elem_id="step-how")
                    self.step_count = gr.Slider(1, 20, teach["count"], step=1, label=T("step_count"), scale=2)
                    size_label = ("teach_size_z" if kind == "z" else "teach_size_weights" if kind == "weights"
                                  else "teach_size_pixels")
                    self.step_size = gr.Number(teach[kind], minimum=0, maximum=MAX_SIZE[kind], label=T(size_label),
                                               scale=2, elem_id="step-size")
                    self.step_btn = gr.Button(T("take_steps"), variant="primary", elem_id="step-button", scale=1)
                    self.reset_steps_btn = gr.Button(T("reset_steps"), size="sm", scale=1)
                self.step_note = gr.Markdown(elem_id="step-note")
                with gr.Row():
                    self.stepped = gr.Image(label=T("stepped"), interactive=False, elem_id="stepped")
                    self.difference = gr.Image(label=T("difference"), interactive=False)
                    self.step_plot = gr.LinePlot(x="step", y="D(image)", y_lim=[0, 1], label=T("step_plot"),
                                                 height=260, x_title=T("axis_step"), y_title=T("axis_d_image"),
                                                 elem_id="step-plot")
                self.step_strip = gr.Gallery(label=T("teach_strip"), columns=STRIP, fit_columns=False, height=190,
                                             object_fit="contain", allow_preview=False, elem_id="step-strip")
            with gr.Accordion(T("maps"), open=True):
                with gr.Row(equal_height=True):
                    layers = layer_choices(STORE.get(first)) if first else []
                    self.layer = gr.Dropdown(layers, value=0, label=T("d_layer"), scale=2)
                    self.top = gr.Slider(1, 12, 6, step=1, label=T("d_top"), scale=2, min_width=200)
                    self.maps_btn = gr.Button(T("show_maps"), scale=1)
                self.maps = page.tell(gr.Gallery(columns=6, fit_columns=False, height=220, allow_preview=False, elem_id="d-maps"),
                                      label="d_maps")
            self.units = UnitsPanel(page)

    def wire(self):
        page, session = self.page, self.page.session
        asked = [session, self.image, self.verdict, self.heat, self.signed]
        steps = [session, self.stepped, self.difference, self.step_plot, self.step_note, self.step_strip]
        maps = dict(fn=show_feature_maps, inputs=[session, self.layer, self.top], outputs=self.maps)
        self.ask_btn.click(ask_discriminator, [session, self.source, self.seed, self.upload], asked,
                           api_name="ask").success(**maps, **PRIVATE).success(
            show_steps, session, [*steps, self.step_how], **PRIVATE)  # the step panel starts from the new face
        first_look_outputs = [*asked, *steps[1:], self.maps]
        page.first_visit(self.tab, first_look, [self.layer, self.top], first_look_outputs)
        page.follow_model(follow_model, [session, self.top],
                          [self.layer, self.step_how, self.step_count, self.step_size, self.source,
                           *first_look_outputs])
        step_inputs = [session, self.step_how, self.step_count, self.step_size]
        self.step_btn.click(check_step_click, step_inputs, None, **PRIVATE, **QUIET).success(
            take_steps, step_inputs, [*steps, self.step_how], api_name="steps")
        self.reset_steps_btn.click(reset_steps, session, [*steps, self.step_how], **PRIVATE)
        self.step_how.change(step_size_for, [session, self.step_how], self.step_size, **PRIVATE)
        self.maps_btn.click(**maps, api_name="feature_maps")
        self.layer.input(**maps, **PRIVATE)
        self.units.wire(self.image)
