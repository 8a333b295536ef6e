"""The Ask the discriminator tab: D's verdict, where it looks, and steps up its gradient."""
from __future__ import annotations

import gradio as gr
import numpy as np
import torch

from gan_core.face import Face
from gan_core.latent import check_seed
from gan_core.media import upscale
from gan_core.teacher import ask, difference_map, feature_maps, generator_steps, pixel_steps, probability
from gan_core.uploads import load_upload
from studio.i18n import say, word
from studio.state import CONFIG, STORE, big, directions_of, friendly


SOURCES = ("Current face (Explore)", "A seed", "An uploaded picture")


def face_words(face: Face) -> str:
    """A few words about a face, in the page's language: "seed 42, 2 sliders moved"."""
    what = say("seed_caption", seed=face.seed) if face.z is None else say("face_yours")
    if not face.moved:
        return what
    return say("face_moved_one", what=what) if face.moved == 1 else say("face_moved", what=what, count=face.moved)


def subject_of(model: str, mine: dict, face: Face, source: str, d_seed, upload) -> dict:
    """What D is asked about: {"image": uint8 [S, S, C], "z": [nz] list or None, "what": text}."""
    gan = STORE.get(model)
    if source == SOURCES[2]:
        if not upload:
            raise gr.Error(say("upload_first"))
        image = load_upload(upload, gan.config.image_size, gan.config.channels)
        return {"image": image, "z": None, "what": say("your_picture")}
    if source == SOURCES[1]:
        seed = check_seed(d_seed)  # at the session's truncation, as the gallery shows it
        z, what = Face(seed=seed, psi=face.psi).latent(gan.config.nz), say("seed_caption", seed=seed)
    elif source == SOURCES[0]:
        z, what = face.latent(gan.config.nz, directions_of(model, mine)), say("the_current_face",
                                                                               what=face_words(face))
    else:
        raise gr.Error(say("show_d_one_of", choices=say("list_separator").join(map(word, SOURCES))))
    return {"image": gan.generate(z[None])[0], "z": z.tolist(), "what": what}


@friendly
def first_look(model: str, mine: dict, face: Face, layer, top):
    """The tab opened for the first time: D asked about the current face, its step panel and its
    feature maps filled in (pictures, not empty boxes)."""
    asked = ask_discriminator(model, mine, face, SOURCES[0], 0, None)
    subject, steps = asked[0], asked[1]
    return (*asked, *steps_outputs(subject, steps)[1:], show_feature_maps(model, subject, layer, top))


def verdict_text(p: float, what: str) -> str:
    return say("verdict", p=p, what=what)


def probability_table(probs: list[float]):
    import pandas as pd  # comes with gradio
    return pd.DataFrame({"step": list(range(len(probs))), "D(image)": probs})


@friendly
def ask_discriminator(model: str, mine: dict, face: Face, source: str, d_seed, upload):
    gan = STORE.get(model)
    subject = subject_of(model, mine, face, source, d_seed, upload)
    verdict = ask(gan, subject["image"])
    side = CONFIG.display
    steps = {"images": [subject["image"]], "probs": [verdict.probability]}
    return (subject, steps, big(subject["image"], smooth=False), verdict_text(verdict.probability, subject["what"]),
            verdict.heat_map(side), verdict.signed_map(side))


@friendly
def show_feature_maps(model: str, subject: dict, layer, top):
    if not subject:
        raise gr.Error(say("ask_first"))
    maps = feature_maps(STORE.get(model), subject["image"], int(layer), int(top), size=160)
    return [(m.overlay, say("unit_caption", unit=m.channel, strength=m.strength)) for m in maps]


def steps_outputs(subject: dict, steps: dict):
    images, probs = steps["images"], steps["probs"]
    change = f"{probs[0]:.3f} \u2192 {probs[-1]:.3f}" if len(probs) > 1 else f"{probs[0]:.3f}"
    rms = float(np.sqrt(np.mean((images[-1].astype(np.float32) - images[0].astype(np.float32)) ** 2)))
    how = say("steps_none" if len(probs) == 1 else "steps_tiny" if rms < 3 else "steps_changed", rms=rms)
    note = say("steps_note", count=len(probs) - 1, change=change, how=how)
    return (steps, big(images[-1], smooth=False), difference_map(images[0], images[-1], CONFIG.display),
            probability_table(probs), note)


@friendly
def take_pixel_steps(model: str, subject: dict, steps: dict, count, step_size):
    if not subject or not steps:
        raise gr.Error(say("ask_first"))
    if len(steps["probs"]) - 1 + int(count) > CONFIG.max_pixel_steps:  # checked before the work, not after
        raise gr.Error(say("steps_full", max=CONFIG.max_pixel_steps))
    more = pixel_steps(STORE.get(model), steps["images"][-1], int(count), float(step_size))
    steps = {"images": steps["images"] + more.images[1:], "probs": steps["probs"] + more.probabilities[1:]}
    return steps_outputs(subject, steps)


@friendly
def reset_steps(model: str, subject: dict):
    if not subject:
        raise gr.Error(say("ask_first"))
    return steps_outputs(subject, {"images": [subject["image"]], "probs": [probability(STORE.get(model), subject["image"])]})


@friendly
def take_generator_steps(model: str, subject: dict, count, target: str, lr):
    if not subject:
        raise gr.Error(say("ask_first"))
    if subject.get("z") is None:
        raise gr.Error(say("g_steps_need_z"))
    out = generator_steps(STORE.get(model), torch.tensor(subject["z"]), int(count), float(lr), target)
    picks = np.linspace(0, len(out.images) - 1, min(6, len(out.images))).round().astype(int)
    strip = [(upscale(out.images[i], 128, smooth=True), f"{i}: {out.probabilities[i]:.2f}") for i in picks]
    note = say("g_steps_weights" if target == "weights" else "g_steps_z", count=len(out.images) - 1,
               before=out.probabilities[0], after=out.probabilities[-1])
    return strip, probability_table(out.probabilities), note
