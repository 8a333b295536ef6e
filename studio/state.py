"""What every tab shares: the studio's config, the models it serves, the live run, a model's first
face, and how errors reach the page (a session's own state: studio/session.py)."""
from __future__ import annotations

import functools
import html
import inspect
import logging
import re
import traceback
from dataclasses import dataclass
from pathlib import Path

import gradio as gr

from gan_core.editing.directions import Direction, ranked
from gan_core.editing.face import Face
from gan_core.model.latent import MAX_SEED, check_psi
from gan_core.analysis.digits import load_digit_classifier
from gan_core.training.live import LiveRun
from gan_core.data.media import upscale
from gan_core.errors import UserError, excerpt
from studio.i18n import T, error, say, word
from studio.model_store import ModelStore
from studio.session_files import LIVE_ROOT

ROOT = Path(__file__).resolve().parents[1]  # the repo root, where app.py is
log = logging.getLogger("studio")


@dataclass(frozen=True)
class StudioConfig:
    bundled: tuple = (("Faces (CelebA 64x64)", ROOT / "checkpoints" / "celeba64"),
                      ("Digits (MNIST 32x32)", ROOT / "checkpoints" / "mnist32"))
    checkpoints: Path = ROOT / "checkpoints"  # release folders here and under runs/ are listed too
    runs: Path = ROOT / "runs"   # train.py's run folders (and --export folders) show up here
    gallery_size: int = 16       # faces per gallery page
    gallery_columns: int = 4
    slots: int = 6               # raw latent sliders on screen at once
    named_slots: int = 4         # direction sliders (Age, Gender, ...) on screen at once
    scan_page: int = 8           # dimensions per scanner page
    display: int = 256           # side of the large face, pixels
    default_seed: int = 9        # the current face at the start: a clean one (D says 0.74 at psi 0.8; seed 0, 0.17)
    default_psi: float = 0.8     # truncation at the start: chosen from the faces model card's psi table
    # (a model may say otherwise in its config.json: extra.psi; the digits model says 1, since its
    # average z is a blend of digits: fewer samples read clearly at lower psi, see its card)
    max_pixel_steps: int = 200   # steps up D's gradient a session keeps (each one an image)
    polish: bool = False         # Explore's "Polish with D" at the start (gan_core.editing.polish; why: the
    # faces model card, "D polishes faces")
    faces_model: str = "Faces (CelebA 64x64)"  # the bundled models "Real or fake?" plays with
    digits_model: str = "Digits (MNIST 32x32)"
    heldout_digits: str = "heldout_digits.npz"  # in the digits model's folder: MNIST digits it never saw
    max_real_faces: int = 2000   # CelebA test faces "Real or fake?" reads (app.py --real-faces); never shipped
    face_math_presets: tuple = (
        # (label, A, B, C) for a faces model whose directions.json has none: seeds chosen by looking
        ("man with glasses - man + woman", "47, 71, 83", "16, 18, 21", "3, 19, 33"),
        ("smiling woman - woman + man", "20, 43, 99", "5, 74, 84", "78, 89, 122"),
    )


CONFIG = StudioConfig()
STORE = ModelStore(dict(CONFIG.bundled), roots=(CONFIG.checkpoints, CONFIG.runs))
# the one live training run of this process, for every visitor; the digit classifier reads its grids
LIVE = LiveRun(dict(CONFIG.bundled)[CONFIG.digits_model] / "live_digits.npz",
               reader=lambda: load_digit_classifier(dict(CONFIG.bundled)[CONFIG.digits_model]), work_dir=LIVE_ROOT)
DEFAULT_MODEL = STORE.names[0] if STORE.names else ""


# --- errors ------------------------------------------------------------------------------------
def friendly(fn=None, *, private: bool = False):
    """Errors by type: a user's mistake (gan_core's UserError: a bad seed, an unreadable upload, a
    checkpoint that is not one) becomes a message in the page, by its key in the page's language
    (English for API clients); gr.Error, the studio's own refusals (already in the page's language),
    passes through; anything else, ValueError included, is a bug: logged with its traceback and
    shown as a short internal-error note. `private` (@friendly(private=True)): the handler reads a
    person's photo; a bug's log keeps the traceback's frames and the error's type, not its message,
    which may name the photo's file."""
    if fn is None:
        return functools.partial(friendly, private=private)
    signature = inspect.signature(fn)
    texts = [name for name, p in signature.parameters.items() if p.annotation in ("str", str)]

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        try:
            too_long(*args, *kwargs.values())
            if texts:
                args, kwargs = as_texts(signature, texts, args, kwargs)
            return fn(*args, **kwargs)
        except gr.Error as err:
            raise escaped(err) from None
        except UserError as err:
            raise escaped(error(err)) from None
        except Exception as err:
            if private:
                log.error("internal error in %s: %s (its message withheld: it may name a photo)\n%s", fn.__name__,
                          type(err).__name__, "".join(traceback.format_tb(err.__traceback__)).rstrip())
            else:
                log.exception("internal error in %s", fn.__name__)
            raise escaped(gr.Error(say("internal_error"))) from None  # logged above, once
    return wrapper


MAX_TEXT = 10_000  # characters in any one text a page or API client sends (a pasted face is ~3,000)


def too_long(*values) -> None:
    """Refuse a text input (or one in a list of them) longer than MAX_TEXT, before any work."""
    for value in values:
        texts = value if isinstance(value, (list, tuple)) else (value,)
        if any(isinstance(text, str) and len(text) > MAX_TEXT for text in texts):
            raise gr.Error(say("text_too_long", max=MAX_TEXT))


def as_texts(signature: inspect.Signature, texts: list[str], args, kwargs) -> tuple[tuple, dict]:
    """A handler's text parameters (a choice, a name, a keyframe list) as text: None (an API client's
    null, a dropdown with nothing picked) as "", which each handler refuses in its own words;
    anything else that is not text ([] for a dropdown) refused here."""
    try:
        bound = signature.bind_partial(*args, **kwargs)
    except TypeError:
        return args, kwargs  # Gradio's own call mistake: left to the handler
    for name in texts:
        if name in bound.arguments and bound.arguments[name] is None:
            bound.arguments[name] = ""
        elif name in bound.arguments and not isinstance(bound.arguments[name], str):
            raise gr.Error(say("not_text", got=excerpt(repr(bound.arguments[name]))))
    return bound.args, bound.kwargs


def escaped(err: gr.Error) -> gr.Error:
    """The error with its message as plain text: a toast renders HTML, and a message may quote
    what a user typed (a direction's name, a keyframe). It is told to the user alone: Gradio
    would print it in the server's log, with a photo's file name or whatever was typed."""
    return gr.Error(html.escape(str(err.message), quote=False), duration=err.duration, visible=err.visible,
                    title=err.title, print_exception=False)


def md(text) -> str:
    """User text made safe to show inside Markdown: no markup, no HTML."""
    return re.sub(r"([\\`*_{}\[\]()#+\-.!|>~<])", r"\\\1", html.escape(str(text), quote=False))


# --- pictures ----------------------------------------------------------------------------------
def big(image, smooth: bool = True):
    return upscale(image, CONFIG.display, smooth)


def upscale_all(images, size):
    return [upscale(image, size, smooth=True) for image in images]


# --- what the model draws ----------------------------------------------------------------------
def draws_digits(model: str) -> bool:
    """Whether `model` draws digits (one channel, as MNIST) rather than faces: the page's texts
    name what the session's model draws."""
    return bool(model) and STORE.get(model).config.channels == 1


# The static texts that name what the model draws, as a faces model and a digits model say them:
# each has a digits twin in the catalogue (digits_<key>). A component shows them through
# Page.tell, which sets them again after every switch of model; a handler's run-time text picks
# its twin itself: say("digits_<key>" if draws_digits(model) else "<key>").
TOLD = {
    "header": (T("header"), T("digits_header")),
    "explore_intro": (T("explore_intro"), T("digits_explore_intro")),
    "truncation_info": (T("truncation_info"), T("digits_truncation_info")),
    "gallery": (T("gallery"), T("digits_gallery")),
    "browser_image": (T("browser_image"), T("digits_browser_image")),
    "browser_image_empty": (T("browser_image_empty"), T("digits_browser_image_empty")),
    "scanner_image_empty": (T("scanner_image_empty"), T("digits_scanner_image_empty")),
    "teach": (T("teach"), T("digits_teach")),
    "teach_intro": (T("teach_intro"), T("digits_teach_intro")),
    "concept_placeholder": (T("concept_placeholder"), T("digits_concept_placeholder")),
    "mark_yes": (T("mark_yes"), T("digits_mark_yes")),
    "face_seed": (T("face_seed"), T("digits_face_seed")),
    "current_face": (T("current_face"), T("digits_current_face")),
    "polish_info": (T("polish_info"), T("polish_info_digits")),
    "state_text": (T("state_text"), T("digits_state_text")),
    "apply_face": (T("apply_face"), T("digits_apply_face")),
    "morph_intro": (T("morph_intro"), T("digits_morph_intro")),
    "keyframes": (T("keyframes"), T("digits_keyframes")),
    "add_keyframe": (T("add_keyframe"), T("digits_add_keyframe")),
    "walk_intro": (T("walk_intro"), T("digits_walk_intro")),
    "tab_math": (T("tab_math"), T("digits_tab_math")),
    "math_intro": (T("math_intro"), T("digits_math_intro")),
    "concept_a": (T("concept_a"), T("digits_concept_a")),
    "concept_b": (T("concept_b"), T("digits_concept_b")),
    "concept_c": (T("concept_c"), T("digits_concept_c")),
    "add_to_a": (T("add_to_a"), T("digits_add_to_a")),
    "add_to_b": (T("add_to_b"), T("digits_add_to_b")),
    "add_to_c": (T("add_to_c"), T("digits_add_to_c")),
    "d_maps": (T("d_maps"), T("digits_d_maps")),
    "teach_panel_intro": (T("teach_panel_intro"), T("digits_teach_panel_intro")),
}


def told(key: str, model: str):
    """The static text `key` (a key of TOLD) as `model` says it: a face's, or its digits twin."""
    return TOLD[key][draws_digits(model)]


# --- directions --------------------------------------------------------------------------------
def direction_label(d: Direction) -> str:
    """A direction as a picker lists it, in the page's language: its name, and its two ends."""
    if (d.negative, d.positive) == ("-", "+"):
        return word(d.name)
    return say("direction_ends", name=word(d.name), negative=word(d.negative), positive=word(d.positive))


def direction_choices(directions: dict[str, Direction], short: bool = False) -> list[tuple[str, str]]:
    """(label, name) for a dropdown, the sliders' own first; `short` labels are the bare names
    (for the narrow slider rows, whose slider label tells the two ends)."""
    return [(word(d.name) if short else direction_label(d), d.name) for d in ranked(directions.values())]


def ends_label(directions: dict[str, Direction], name) -> str:
    """The label of a named slider: what its two ends look like."""
    d = directions.get(name)
    if d is None or (d.negative, d.positive) == ("-", "+"):
        return say("move")
    return f"\u2190 {word(d.negative)}  |  {word(d.positive)} \u2192"


def default_sliders(key: str) -> list[str | None]:
    """What the named sliders show first: the model's suggestions, then its other directions."""
    suggested = STORE.sliders(key)
    picks = suggested + [n for _, n in direction_choices(STORE.directions(key)) if n not in suggested]
    return (picks + [None] * CONFIG.named_slots)[:CONFIG.named_slots]


# --- the current face --------------------------------------------------------------------------
def default_psi(key: str) -> float:
    """The truncation a model opens at: its config's extra.psi if it names one, else the studio's."""
    psi = STORE.get(key).config.extra.get("psi", CONFIG.default_psi)
    try:
        return check_psi(psi)
    except UserError:
        log.warning("%s: ignoring extra.psi %r in its config", key, psi)
        return CONFIG.default_psi


def default_face(key: str, seed: int | None = None) -> Face:
    """A model's first face: its opening seed (config extra.seed, else the studio's) and truncation,
    dimensions 0-5 and the suggested directions on the sliders, all at 0."""
    if seed is None:
        seed = STORE.get(key).config.extra.get("seed", CONFIG.default_seed)
        if isinstance(seed, bool) or not isinstance(seed, int) or not 0 <= seed <= MAX_SEED:
            log.warning("%s: ignoring extra.seed %r in its config", key, seed)
            seed = CONFIG.default_seed
    return Face(seed=seed, edits=[(d, 0.0) for d in range(min(CONFIG.slots, STORE.get(key).config.nz))],
                moves=[(n, 0.0) for n in default_sliders(key) if n], psi=default_psi(key))


def fits_the_sliders(face: Face) -> Face:
    """`face` if the sliders can show it (at most CONFIG.slots edits, CONFIG.named_slots moves)."""
    if len(face.nonzero_edits) > CONFIG.slots or len(face.nonzero_moves) > CONFIG.named_slots:
        raise gr.Error(say("too_many_on_sliders", slots=CONFIG.slots, named=CONFIG.named_slots))
    return face


def readout(model: str, image) -> dict | None:
    """The model's classifier's view of a face (its attributes) or a digit (which one), for a
    gr.Label, in the page's language; None for models without one."""
    classifier = STORE.classifier(model)
    if classifier is not None:
        probs = classifier.predict(image[None])[0]
        return {word(name.replace("_", " ").lower()): float(p) for name, p in zip(classifier.names, probs)}
    digits = STORE.digits(model)
    if digits is not None:
        return {say("digit_reading", digit=d): float(p) for d, p in enumerate(digits.predict(image[None])[0])}
    return None
