"""Your own photo on the Explore tab: find its face, put it on the training crop, find it in the
model (encoder guess + refinement), and make it the current face (a Face whose base is its z).

Photos stay in the session: uploaded files are read once and deleted, the (shrunk) pictures are
kept in the session's state for a crop by hand, and nothing about them is logged.
"""
from __future__ import annotations

from pathlib import Path

import gradio as gr
import numpy as np

from gan_core.align import MIN_FACE, NoFace
from gan_core.face import Face
from gan_core.inversion import Settings, describe, invert
from gan_core.media import upscale
from gan_core.uploads import load_photo
from gan_core.errors import UserError
from studio.i18n import core, say, sentences, word
from studio.state import CONFIG, STORE, big, directions_of, friendly, readout

MAX_PHOTOS = 8          # photos found at once
SHOWN = 160             # side of each picture in the results, pixels
KEPT_SIDE = 800         # photos are shrunk to this (longer side) and kept in the session's memory


def photo_updates(key: str):
    """The photo panel for a model: shown when it ships an encoder (faces), else a note why not."""
    has = STORE.encoder(key) is not None
    note = "" if has else say("no_encoder_note")
    return gr.update(visible=has), note


def _paths(files, camera) -> list[str]:
    paths = [f if isinstance(f, str) else getattr(f, "name", None) for f in (files or [])]
    if camera:
        paths.append(camera if isinstance(camera, str) else getattr(camera, "name", None))
    paths = [p for p in paths if p]
    if not paths:
        raise gr.Error(say("add_photo_first"))
    if len(paths) > MAX_PHOTOS:
        raise gr.Error(say("too_many_photos", max=MAX_PHOTOS, got=len(paths)))
    return paths


def _read_once(path: str) -> np.ndarray:
    """The photo, checked and shrunk; its uploaded file deleted (it stays only in the session)."""
    try:
        return load_photo(path, max_side=KEPT_SIDE)
    finally:
        Path(path).unlink(missing_ok=True)


def _square(image: np.ndarray, side: int) -> np.ndarray:
    """`image` letterboxed onto a white square, `side` pixels."""
    h, w = image.shape[:2]
    n = max(h, w)
    canvas = np.full((n, n, 3), 255, np.uint8)
    canvas[(n - h) // 2:(n - h) // 2 + h, (n - w) // 2:(n - w) // 2 + w] = image
    return upscale(canvas, side, smooth=True)


def _found(model: str, mine: dict, face: Face, originals: list, crops: list, numbers: list[int], notes: list[str],
           progress):
    """Invert the aligned crops; the first becomes the current face. Outputs for the page."""
    gan = STORE.get(model)
    progress(0.2, desc=say("finding_in_model"))
    refining = say("refining")
    result = invert(gan, np.stack(crops), STORE.encoder(model), Settings(),
                    progress=lambda f: progress(0.2 + 0.8 * f, desc=refining))
    photos = [Face(z=z.tolist()).to_json() for z in result.z]
    shown = []  # three pictures a photo: what was uploaded, the aligned crop, the model's version
    for n, original, crop, made, p in zip(numbers, originals, crops, result.reconstructions, result.psnr):
        shown += [(_square(original, SHOWN), say("photo_caption", number=n)),
                  (upscale(crop, SHOWN, smooth=True), say("aligned")),
                  (upscale(made, SHOWN, smooth=True), say("photo_quality", how=word(describe(p)), psnr=p))]
    first = face.with_z(result.z[0].tolist()).reset()
    image = result.reconstructions[0]  # G(first): a reset face has no offsets
    words = say("list_separator").join(say("photo_how_close", number=n, how=word(describe(p)))
                                       for n, p in zip(numbers, result.psnr))
    info = sentences(say("photos_found", words=words), *notes, say("photo_current", number=numbers[0]),
                     say("photo_click_row") if len(numbers) > 1 else "")
    return first, big(image), readout(model, image), shown, photos, info


@friendly
def read_photos(files, camera) -> list:
    """The uploaded photos (files and/or the camera's), checked, shrunk and kept in the session;
    the uploaded files themselves are deleted."""
    kept = []
    for i, path in enumerate(_paths(files, camera)):
        try:
            kept.append(_read_once(path))
        except UserError as err:
            raise gr.Error(say("photo_error", number=i + 1, error=core(err))) from None
    return kept


@friendly
def find_photos(model: str, mine: dict, face: Face, kept: list, progress=gr.Progress()):
    """The session's photos -> aligned crops -> z; (face, big face, readout, results, photos, info)."""
    if STORE.encoder(model) is None:
        raise gr.Error(say("no_encoder"))
    if not kept:
        raise gr.Error(say("add_photo_first"))
    aligner = STORE.aligner(model)
    originals, crops, numbers, notes, missed = [], [], [], [], []
    for i, photo in enumerate(kept):
        progress(0.2 * i / len(kept), desc=say("finding_faces"))
        try:
            found = aligner.align(photo)
        except NoFace:
            missed.append(i + 1)
            continue
        if found.faces > 1:
            notes.append(say("photo_note", number=i + 1, note=say("faces_found", count=found.faces)))
        if not found.eyes:
            notes.append(say("photo_no_eyes", number=i + 1))
        originals.append(photo)
        crops.append(found.crop)
        numbers.append(i + 1)
    if missed:
        notes.append(say("no_face", which=say("list_separator").join(map(str, missed)), min=MIN_FACE))
    if not crops:
        raise gr.Error(sentences(*notes))
    return _found(model, mine, face, originals, crops, numbers, notes, progress)


def hand_crop(photo: np.ndarray, x, y, side, size: int) -> np.ndarray:
    """A square of `side` % of the photo's shorter side, centred at (`x`, `y`) % of its width and
    height (kept inside the photo), resized to `size`."""
    from PIL import Image

    h, w = photo.shape[:2]
    n = max(8, int(min(h, w) * float(side) / 100))
    left = int(np.clip(float(x) / 100 * w - n / 2, 0, w - n))
    top = int(np.clip(float(y) / 100 * h - n / 2, 0, h - n))
    square = Image.fromarray(photo[top:top + n, left:left + n])
    return np.asarray(square.resize((size, size), Image.LANCZOS))


def _which(kept: list, number) -> np.ndarray:
    if not kept:
        raise gr.Error(say("crop_upload_first"))
    try:
        index = int(number) - 1
    except (TypeError, ValueError, OverflowError):
        index = -1
    if not 0 <= index < len(kept):
        raise gr.Error(say("pick_photo", last=len(kept)))
    return kept[index]


@friendly
def preview_crop(model: str, kept: list, number, x, y, side):
    photo = _which(kept, number)
    crop = hand_crop(photo, x, y, side, STORE.get(model).config.image_size)
    return upscale(crop, CONFIG.display // 2, smooth=True)


@friendly
def find_cropped(model: str, mine: dict, face: Face, kept: list, number, x, y, side, progress=gr.Progress()):
    """The hand-made square crop found in the model, as find_photos does for aligned ones."""
    if STORE.encoder(model) is None:
        raise gr.Error(say("no_encoder"))
    photo = _which(kept, number)
    crop = hand_crop(photo, x, y, side, STORE.get(model).config.image_size)
    return _found(model, mine, face, [photo], [crop], [int(number)], [say("cropped_by_hand")], progress)


@friendly
def pick_photo(model: str, mine: dict, face: Face, photos: list, event: gr.SelectData):
    """A picture of the results clicked: its photo becomes the current face."""
    row = event.index // 3 if isinstance(event.index, int) else -1
    if not photos or not 0 <= row < len(photos):
        raise gr.Error(say("click_photo_row"))
    chosen = face.with_z(Face.from_json(photos[row]).z).reset()
    image = chosen.render(STORE.get(model), directions_of(model, mine))
    return chosen, big(image), readout(model, image)


@friendly
def photos_to_keyframes(photos: list):
    """The found photos as a morph's keyframes (from the first to the last, and back)."""
    from gan_core.face import faces_text

    if len(photos or []) < 2:
        raise gr.Error(say("two_photos_first"))
    return faces_text([Face.from_json(p) for p in photos])
