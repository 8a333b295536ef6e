"""Your own photo on the Explore tab: find its face, put it on the training crop, find it in the
model (encoder guess + refinement), and make it the current face (a Face whose base is its z).

Photos stay in the session: uploaded files are read once and deleted, the (shrunk) pictures are
kept in the session (Session.photos) for a crop by hand, and nothing about them is logged.
"""
from __future__ import annotations

from pathlib import Path

import gradio as gr
import numpy as np

from gan_core.photos.align import MIN_FACE, NoFace
from gan_core.editing.face import Face
from gan_core.photos.inversion import Settings, invert, psnr
from gan_core.photos.likeness import describe, descriptors, distance
from gan_core.data.media import upscale
from gan_core.data.uploads import load_photo
from gan_core.errors import UserError
from studio.checked_image import CheckedImage
from studio.i18n import T, core, say, sentences, word
from studio.page import PRIVATE, QUIET, reveal
from studio.session import Photo, Session, photo_name
from studio.state import CONFIG, STORE, big, friendly, readout

MAX_PHOTOS = 8          # photos found at once
SHOWN = 160             # side of each picture in the results, pixels
KEPT_SIDE = 800         # photos are shrunk to this (longer side) and kept in the session's memory
FINDING = Settings()    # how a photo's face is looked for in the model (gan_core.photos.inversion)


def finds_faces(model: str) -> bool:
    """Whether the model makes faces the face finder can put a photo's face beside: one that ships
    an encoder or a face classifier."""
    return STORE.encoder(model) is not None or STORE.classifier(model) is not None


def photo_updates(session: Session):
    """The photo panel for the session's model: shown when it ships an encoder (faces), else a note why not."""
    has = STORE.encoder(session.model) is not None
    note = "" if has else say("no_encoder_note")
    return gr.update(visible=has), note


def _uploads(files, camera) -> list[str]:
    """The uploads the files box and the camera hold (server paths, never shown), each once."""
    paths = [f if isinstance(f, str) else getattr(f, "name", None) for f in (files or [])]
    if camera:
        paths.append(camera if isinstance(camera, str) else getattr(camera, "name", None))
    return list(dict.fromkeys(p for p in paths if p))


def _read_once(path: str) -> np.ndarray:
    """The photo, checked and shrunk; its uploaded file deleted (it stays only in the session)."""
    try:
        return load_photo(path, max_side=KEPT_SIDE)
    finally:
        Path(path).unlink(missing_ok=True)


def sync_photos(session: Session, files, camera) -> tuple[list[Photo], list[str]]:
    """The session's photos made to follow the files box and the camera: an upload not seen before
    is read once (its file deleted) and takes the smallest free number; one read before is the
    session's photo (the box still shows its path, whose file is gone); a photo whose upload left
    the box is dropped, with the faces found in it. (new photos, messages about refused uploads)."""
    uploads = _uploads(files, camera)
    held = {p.upload: p for p in session.photos}
    kept = [held[u] for u in uploads if u in held]
    fresh = [u for u in uploads if u not in held and u not in session.refused]
    if len(kept) + len(fresh) > MAX_PHOTOS:
        for upload in fresh:  # refused unread: their files go all the same
            Path(upload).unlink(missing_ok=True)
        raise gr.Error(say("too_many_photos", max=MAX_PHOTOS, got=len(kept) + len(fresh)))
    taken = {p.number for p in kept}
    free = (n for n in range(1, MAX_PHOTOS + 1) if n not in taken)
    new, problems, number = [], [], next(free, None)
    for upload in fresh:
        try:
            image = _read_once(upload)
        except UserError as err:
            session.refused.add(upload)  # said once; its file is gone
            problems.append(say("photo_error", number=number, error=core(err)))
            continue
        new.append(Photo(number, image, upload))
        number = next(free, None)
    session.keep_photos(kept + new)
    session.refused &= set(uploads)  # one taken out of the box may come back, and is read again
    return new, problems


def _square(image: np.ndarray, side: int) -> np.ndarray:
    """`image` letterboxed onto a white square, `side` pixels."""
    h, w = image.shape[:2]
    n = max(h, w)
    canvas = np.full((n, n, 3), 255, np.uint8)
    canvas[(n - h) // 2:(n - h) // 2 + h, (n - w) // 2:(n - w) // 2 + w] = image
    return upscale(canvas, side, smooth=True)


def results(session: Session) -> tuple[list, str]:
    """The results gallery (three pictures a found photo: the photo, its aligned crop, the model's
    version) and how close each is, in words."""
    shown, words = [], []
    for face in session.found:
        photo, crop = session.photo(face.name), session.crops[face.name]
        made = face.render(session.gan)
        apart = session.likeness[face.name]
        shown += [(_square(photo.image, SHOWN), say("photo_caption", number=photo.number)),
                  (upscale(crop, SHOWN, smooth=True), say("aligned")),
                  (upscale(made, SHOWN, smooth=True), say("photo_quality", how=word(describe(apart)), distance=apart,
                                                          psnr=psnr(crop, made)))]
        words.append(say("photo_how_close", number=photo.number, how=word(describe(apart))))
    return shown, say("photos_found", words=say("list_separator").join(words)) if words else ""


def _found(session: Session, photos: list[Photo], crops: list, notes: list[str], progress):
    """Invert the aligned crops of `photos`; the first becomes the current face. Outputs for the page."""
    gan = session.gan
    progress(0.2, desc=say("finding_in_model"))
    refining = say("refining")
    result = invert(gan, np.stack(crops), STORE.encoder(session.model), FINDING,
                    progress=lambda f: progress(0.2 + 0.75 * f, desc=refining))
    names = {p.name for p in photos}
    faces = {face.name: face for face in session.found if face.name not in names}
    crops_by_name, likeness = {**session.crops}, {**session.likeness}
    progress(0.97, desc=say("measuring_likeness"))
    apart = distance(descriptors(np.stack(crops)), descriptors(result.reconstructions))  # the face recognition model's
    for photo, z, tuned, crop, d in zip(photos, result.z, result.tuned or [None] * len(photos), crops, apart):
        faces[photo.name] = Face(z=z.tolist(), name=photo.name, tuned=tuned)
        crops_by_name[photo.name], likeness[photo.name] = crop, float(d)
    first = session.face.with_photo(faces[photos[0].name])
    image = result.reconstructions[0]  # the tuned G's version: a reset face has no offsets
    session.face, session.crops, session.likeness = first, crops_by_name, likeness
    session.found = [faces[p.name] for p in session.photos if p.name in faces]
    shown, words = results(session)
    info = sentences(words, *notes, say("photo_current", number=photos[0].number),
                     say("photo_click_row") if len(session.found) > 1 else "")
    return session, big(image), readout(session.model, image), shown, info


def _find(session: Session, photos: list[Photo], notes: list[str], progress):
    """`photos` -> aligned crops -> z, as _found; notes: what to say beside the results."""
    if STORE.encoder(session.model) is None:
        raise gr.Error(say("no_encoder"))
    aligner = STORE.aligner(session.model)
    aligned, crops, notes, missed = [], [], list(notes), []
    for i, photo in enumerate(photos):
        progress(0.2 * i / len(photos), desc=say("finding_faces"))
        try:
            found = aligner.align(photo.image)
        except NoFace:
            missed.append(photo.number)
            continue
        if found.faces > 1:
            notes.append(say("photo_note", number=photo.number, note=say("faces_found", count=found.faces)))
        aligned.append(photo)
        crops.append(found.crop)
    if missed:
        notes.append(say("no_face", which=say("list_separator").join(map(str, missed)), min=MIN_FACE))
    if not crops:
        raise gr.Error(sentences(*notes))
    return _found(session, aligned, crops, notes, progress)


@friendly(private=True)
def read_photos(session: Session, files, camera) -> Session:
    """The photos in the files box and the camera's, as the session's (new ones read once, checked,
    shrunk and kept in memory; their uploaded files deleted). For "Find" and API clients."""
    _, problems = sync_photos(session, files, camera)
    if problems:
        raise gr.Error(sentences(*problems))
    if not session.photos:
        raise gr.Error(say("add_photo_first"))
    return session


@friendly(private=True)
def find_photos(session: Session, progress=gr.Progress()):
    """Every photo of the session found anew -> (session, big face, readout, results, info)."""
    if not session.photos:
        raise gr.Error(say("add_photo_first"))
    return _find(session, session.photos, [], progress)


@friendly(private=True)
def photos_changed(session: Session, files, camera, progress=gr.Progress()):
    """The files box or the camera changed: new photos read and found at once (the first becomes
    the current face); a photo taken out of the box dropped. Outputs as find_photos's."""
    new, problems = sync_photos(session, files, camera)
    if new:
        return _find(session, new, problems, progress)
    if problems:
        raise gr.Error(sentences(*problems))
    shown, words = results(session)
    return session, gr.skip(), gr.skip(), shown, words


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


def _which(session: Session, number) -> Photo:
    if not session.photos:
        raise gr.Error(say("crop_upload_first"))
    try:
        photo = session.photo(photo_name(int(number)))
    except (TypeError, ValueError, OverflowError):
        photo = None
    if photo is None:
        raise gr.Error(say("pick_photo", numbers=say("list_separator").join(str(p.number) for p in session.photos)))
    return photo


@friendly(private=True)
def preview_crop(session: Session, number, x, y, side):
    photo = _which(session, number)
    crop = hand_crop(photo.image, x, y, side, session.gan.config.image_size)
    return upscale(crop, CONFIG.display // 2, smooth=True)


@friendly(private=True)
def find_cropped(session: Session, number, x, y, side, progress=gr.Progress()):
    """The hand-made square crop found in the model, as find_photos does for aligned ones."""
    if STORE.encoder(session.model) is None:
        raise gr.Error(say("no_encoder"))
    photo = _which(session, number)
    crop = hand_crop(photo.image, x, y, side, session.gan.config.image_size)
    return _found(session, [photo], [crop], [say("cropped_by_hand")], progress)


@friendly(private=True)
def pick_photo(session: Session, event: gr.SelectData):
    """A picture of the results clicked: its photo becomes the current face."""
    row = event.index // 3 if isinstance(event.index, int) else -1
    found = session.found
    if not found or not 0 <= row < len(found):
        raise gr.Error(say("click_photo_row"))
    chosen = session.face.with_photo(found[row])
    image = chosen.render(session.gan, session.directions)
    session.face = chosen
    return session, big(image), readout(session.model, image)


@friendly(private=True)
def photos_to_keyframes(session: Session):
    """The found photos as a morph's keyframes (from the first to the last, and back)."""
    from gan_core.editing.face import faces_text

    if len(session.found) < 2:
        raise gr.Error(say("two_photos_first"))
    return faces_text(session.found)  # by name: "photo 1, photo 2"


class PhotoPanel:
    """The Explore tab's panel for the session's photos (hidden for a model without an encoder,
    with a note why), laid out where it is made; wired by the Explore tab, whose face it changes."""

    def __init__(self):
        with gr.Accordion(T("photo_panel"), open=False, elem_id="photo-panel") as self.panel:
            gr.Markdown(T("photo_intro"))
            with gr.Row(equal_height=True):
                self.files = gr.File(file_count="multiple", file_types=["image"], type="filepath",
                                     label=T("photo_files"), elem_id="photo-files", height=140)
                self.camera = CheckedImage(sources=["webcam", "clipboard"], type="filepath", height=140,
                                       label=T("camera"), elem_id="camera")
            with gr.Row():
                self.find_btn = gr.Button(T("find_photos"), variant="primary", elem_id="find-photos", scale=2)
                self.to_morph_btn = gr.Button(T("photos_to_morph"), elem_id="photos-to-morph", scale=1)
            self.info = gr.Markdown(elem_id="photo-info", min_height=48)  # tall enough to show the progress
            with gr.Column(visible=False) as self.results_box:  # shown once a photo is found
                self.results = gr.Gallery(label=T("photo_results"), columns=3, height="fit-content",
                                          allow_preview=False, object_fit="contain", elem_id="photo-results")
            with gr.Accordion(T("hand_crop"), open=False, elem_id="hand-crop"):
                with gr.Row(equal_height=True):
                    self.crop_which = gr.Number(1, precision=0, minimum=1, maximum=MAX_PHOTOS, label=T("crop_which"),
                                                min_width=80)
                    self.crop_x = gr.Slider(0, 100, 50, step=1, label=T("crop_x"), min_width=160)
                    self.crop_y = gr.Slider(0, 100, 45, step=1, label=T("crop_y"), min_width=160)
                    self.crop_side = gr.Slider(10, 100, 60, step=1, label=T("crop_side"), min_width=160)
                with gr.Row(equal_height=True):
                    self.crop_preview = gr.Image(label=T("crop_preview"), placeholder=T("crop_preview_empty"),
                                                 interactive=False, height=160)
                    self.crop_btn = gr.Button(T("find_cropped"), elem_id="find-cropped")
        self.note = gr.Markdown()

    def wire(self, explore) -> None:
        """The panel's events; `explore`: the Explore tab (its face view, its sliders)."""
        page = explore.page
        session = page.session
        found_outputs = [session, explore.current, explore.attributes, self.results, self.info]
        # Finding shows its progress on the line under the button, where the user looks; one at a
        # time per page (they change the same photos).
        finding = dict(show_progress_on=self.info, concurrency_id="photos")
        for box in (self.files, self.camera):  # a photo chosen (or taken out): found at once
            changed = box.change(photos_changed, [session, self.files, self.camera], found_outputs, **PRIVATE,
                                 **finding)
            explore.after_face(changed).then(reveal, None, self.results_box, **PRIVATE)
        found = self.find_btn.click(read_photos, [session, self.files, self.camera], session, api_name="add_photos",
                                    **QUIET, concurrency_id="photos").success(
            find_photos, session, found_outputs, api_name="find_photos", **finding)
        explore.after_face(found).then(reveal, None, self.results_box, **PRIVATE)
        crop = [self.crop_which, self.crop_x, self.crop_y, self.crop_side]
        for control in (self.crop_x, self.crop_y, self.crop_side):
            control.release(preview_crop, [session, *crop], self.crop_preview, **PRIVATE, **QUIET)
        cropped = self.crop_btn.click(find_cropped, [session, *crop], found_outputs, api_name="find_cropped",
                                      **finding)
        explore.after_face(cropped).then(reveal, None, self.results_box, **PRIVATE)
        explore.after_face(self.results.select(pick_photo, session, [session, explore.current, explore.attributes],
                                               **PRIVATE, **QUIET))
        self.to_morph_btn.click(photos_to_keyframes, session, page.keyframes, **PRIVATE, **QUIET).success(
            show_morph, None, page.tabs, **PRIVATE)


def show_morph():
    """The Morph video tab, selected."""
    return gr.Tabs(selected="morph")
