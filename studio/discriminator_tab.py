"""The Ask the discriminator tab: D's verdict, where it looks, and steps up its gradient."""
from __future__ import annotations

import numpy as np
import torch

from gan_core.face import Face
from gan_core.latent import check_seed
from gan_core.media import upscale
from gan_core.teacher import ask, difference_map, feature_maps, generator_steps, pixel_steps, probability
from gan_core.uploads import load_upload
from studio.i18n import local, say, word
from studio.session import Session
from studio.state import CONFIG, big, friendly


SOURCES = ("Current face (Explore)", "A seed", "An uploaded picture")


def subject_of(session: Session, source: str, d_seed, upload) -> dict:
    """What D is asked about: {"image": uint8 [S, S, C], "z": [nz] list or None, "what": text}."""
    gan, face = session.gan, session.face
    if source == SOURCES[2]:
        if not upload:
            raise ValueError(say("upload_first"))
        image = load_upload(upload, gan.config.image_size, gan.config.channels)
        return {"image": image, "z": None, "what": say("your_picture")}
    if source == SOURCES[1]:
        seed = check_seed(d_seed)  # at the session's truncation, as the gallery shows it
        z, what = Face(seed=seed, psi=face.psi).latent(gan.config.nz), say("seed_caption", seed=seed)
    elif source == SOURCES[0]:
        z, what = face.latent(gan.config.nz, session.directions), say("the_current_face",
                                                                       what=local(face.describe()))
    else:
        raise ValueError(say("show_d_one_of", choices=say("list_separator").join(map(word, SOURCES))))
    return {"image": gan.generate(z[None])[0], "z": z.tolist(), "what": what}


@friendly
def first_look(session: Session, layer, top):
    """The tab opened for the first time: D asked about the current face, its step panel and its
    feature maps filled in (pictures, not empty boxes)."""
    asked = ask_discriminator(session, SOURCES[0], 0, None)
    return (*asked, *steps_outputs(session)[1:], show_feature_maps(session, layer, top))


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
    shown = (big(subject["image"], smooth=False), verdict_text(verdict.probability, subject["what"]),
             verdict.heat_map(side), verdict.signed_map(side))
    session.subject, session.steps = subject, {"images": [subject["image"]], "probs": [verdict.probability]}
    return (session, *shown)


@friendly
def show_feature_maps(session: Session, layer, top):
    subject = session.subject
    if not subject:
        raise ValueError(say("ask_first"))
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
        raise ValueError(say("ask_first"))
    if len(steps["probs"]) - 1 + int(count) > CONFIG.max_pixel_steps:  # checked before the work, not after
        raise ValueError(say("steps_full", max=CONFIG.max_pixel_steps))
    more = pixel_steps(session.gan, steps["images"][-1], int(count), float(step_size))
    session.steps = {"images": steps["images"] + more.images[1:], "probs": steps["probs"] + more.probabilities[1:]}
    return steps_outputs(session)


@friendly
def reset_steps(session: Session):
    subject = session.subject
    if not subject:
        raise ValueError(say("ask_first"))
    session.steps = {"images": [subject["image"]], "probs": [probability(session.gan, subject["image"])]}
    return steps_outputs(session)


@friendly
def take_generator_steps(session: Session, count, target: str, lr):
    subject = session.subject
    if not subject:
        raise ValueError(say("ask_first"))
    if subject.get("z") is None:
        raise ValueError(say("g_steps_need_z"))
    out = generator_steps(session.gan, torch.tensor(subject["z"]), int(count), float(lr), target)
    picks = np.linspace(0, len(out.images) - 1, min(6, len(out.images))).round().astype(int)
    strip = [(upscale(out.images[i], 128, smooth=True), f"{i}: {out.probabilities[i]:.2f}") for i in picks]
    note = say("g_steps_weights" if target == "weights" else "g_steps_z", count=len(out.images) - 1,
               before=out.probabilities[0], after=out.probabilities[-1])
    return strip, probability_table(out.probabilities), note
