"""DCGAN Studio: explore a DCGAN's faces, morph between them, and do face arithmetic.

    $ python app.py                      # http://127.0.0.1:7860 (GRADIO_SERVER_NAME / _PORT respected)

Layout and wiring only: every picture comes from gan_core. Each action is also an API
endpoint (see "Use via API" at the foot of the page, or gradio_client).
"""
from __future__ import annotations

import functools
import random
import tempfile
from dataclasses import dataclass
from pathlib import Path

import gradio as gr
import numpy as np
import torch

from gan_core.checkpoints import CheckpointError
from gan_core.explore import dimension_scan, face, gallery, parse_state, share_state
from gan_core.face_math import face_math
from gan_core.latent import MAX_SEED, check_seed, parse_seeds
from gan_core.media import make_grid, upscale, write_gif, write_mp4
from gan_core.morph import (EASINGS, MAX_FRAMES, MAX_SIZE, add_keyframe, check_fps, filmstrip, keyframes_from_text,
                            morph_frames, write_morph)
from gan_core.registry import ModelStore

HERE = Path(__file__).resolve().parent


@dataclass(frozen=True)
class StudioConfig:
    bundled: tuple = (("Faces (CelebA 64x64)", HERE / "checkpoints" / "celeba64"),
                      ("Digits (MNIST 32x32)", HERE / "checkpoints" / "mnist32"))
    gallery_size: int = 16       # faces per gallery page
    slots: int = 6               # latent sliders on screen at once
    scan_page: int = 8           # dimensions per scanner page
    display: int = 256           # side of the large face, pixels
    face_math_presets: tuple = (
        # (label, A, B, C): exemplar seeds chosen by looking at the faces model
        ("man with glasses - man + woman", "47, 71, 83", "16, 18, 21", "3, 19, 33"),
        ("smiling woman - woman + man", "20, 43, 99", "5, 74, 84", "78, 89, 122"),
    )


CONFIG = StudioConfig()
STORE = ModelStore(dict(CONFIG.bundled))
DEFAULT_MODEL = STORE.names[0] if STORE.names else ""


def friendly(fn):
    """Bad input becomes a clear message in the page, never a traceback."""
    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        try:
            with torch.inference_mode():
                return fn(*args, **kwargs)
        except (ValueError, CheckpointError, RuntimeError, OSError) as err:
            raise gr.Error(str(err)) from None
    return wrapper


def big(image, smooth: bool = True):
    return upscale(image, CONFIG.display, smooth)


def edits_of(dims_and_values) -> dict[int, float]:
    """Slider slots (dims..., values...) -> {dimension: offset}; later slots win."""
    dims, values = dims_and_values[:CONFIG.slots], dims_and_values[CONFIG.slots:]
    edits: dict[int, float] = {}
    for dim, value in zip(dims, values):
        if dim is not None and value:
            edits[int(dim)] = float(value)
    return edits


# --- model -------------------------------------------------------------------------------------
def model_updates(key: str):
    gan = STORE.get(key)
    c = gan.config
    info = (f"**{c.name or key}**: {c.image_size}x{c.image_size}, {c.channels} channel(s), "
            f"z of {c.nz} dimensions, on {gan.device.type}")
    dims = gr.update(choices=list(range(c.nz)))
    return (key, info, *[dims] * CONFIG.slots)


choose_model = friendly(model_updates)


@friendly
def load_hub(repo_id: str):
    repo_id = (repo_id or "").strip()
    if not repo_id:
        raise ValueError("type a Hugging Face repo id, e.g. owner/name")
    return model_updates(repo_id)


# --- explore -----------------------------------------------------------------------------------
@friendly
def show_gallery(model: str, start_seed):
    seeds, images = gallery(STORE.get(model), check_seed(start_seed), CONFIG.gallery_size)
    return [(upscale(image, 128, smooth=True), f"seed {s}") for s, image in zip(seeds, images)], seeds


def pick_from_gallery(seeds: list[int], event: gr.SelectData):
    return seeds[event.index] if seeds and event.index is not None else gr.update()


@friendly
def show_face(model: str, seed, *slots):
    return big(face(STORE.get(model), check_seed(seed), edits_of(slots)))


@friendly
def scan_page(model: str, seed, page, *slots):
    gan = STORE.get(model)
    first = int(page) * CONFIG.scan_page
    dims = [d for d in range(first, first + CONFIG.scan_page) if d < gan.config.nz]
    if not dims:
        raise ValueError(f"page {int(page)} is past the last dimension ({gan.config.nz - 1})")
    images = dimension_scan(gan, check_seed(seed), dims, edits_of(slots))
    caption = (f"Rows: dimensions {dims[0]} to {dims[-1]}, top to bottom; columns: the value -3 to +3, "
               f"left to right. Spot a row that changes age or gender, then put it on a slider.")
    return make_grid(upscale_all(images, 96), nrow=7), caption


def upscale_all(images, size):
    return [upscale(image, size, smooth=True) for image in images]


@friendly
def use_dimension(dim, *slots):
    if dim is None:
        raise ValueError("type the dimension number to put on a slider")
    dim = int(dim)
    dims, values = list(slots[:CONFIG.slots]), list(slots[CONFIG.slots:])
    if dim in dims:
        return (*dims, *values)
    free = next((i for i, v in enumerate(values) if not v), len(dims) - 1)
    dims[free], values[free] = dim, 0.0
    return (*dims, *values)


def reset_sliders():
    return [0.0] * CONFIG.slots


@friendly
def share(seed, *slots):
    return share_state(check_seed(seed), edits_of(slots))


@friendly
def apply_shared(model: str, text: str):
    gan = STORE.get(model)
    seed, edits = parse_state(text, gan.config.nz)
    if len(edits) > CONFIG.slots:
        raise ValueError(f"at most {CONFIG.slots} edited dimensions fit on the sliders")
    dims = list(edits) + [i for i in range(CONFIG.slots) if i not in edits][:CONFIG.slots - len(edits)]
    values = list(edits.values()) + [0.0] * (CONFIG.slots - len(edits))
    return (seed, *dims, *values, big(face(gan, seed, edits)))


# --- morph -------------------------------------------------------------------------------------
@friendly
def add_current_to_keyframes(keyframes: str, seed, *slots):
    return add_keyframe(keyframes, check_seed(seed), edits_of(slots))


def render_morph(model: str, keyframes: str, frames_per_segment, mode: str, easing: str, loop: bool, size,
                 smooth: bool, progress) -> list:
    gan = STORE.get(model)
    keys = keyframes_from_text(keyframes, gan.config.nz)
    progress(0, desc="Rendering frames")
    return morph_frames(gan, keys, int(frames_per_segment), mode, easing, bool(loop), int(size), bool(smooth),
                        progress=lambda f: progress(0.8 * f, desc="Rendering frames"))


@friendly
def make_morph(model: str, keyframes: str, frames_per_segment, fps, mode: str, easing: str, loop: bool,
               size, smooth: bool, progress=gr.Progress()):
    frames = render_morph(model, keyframes, frames_per_segment, mode, easing, loop, size, smooth, progress)
    progress(0.8, desc="Encoding MP4 and GIF")
    folder = tempfile.mkdtemp(prefix="dcgan-morph-")  # one folder per render: nothing shared
    mp4, gif = write_morph(frames, folder, float(fps))
    return filmstrip(frames), str(mp4), str(gif), f"{len(frames)} frames at {int(fps)} fps, {int(size)} px"


def morph_file(fmt: str):
    """An API-only morph endpoint that renders one format (MP4 or GIF)."""
    @friendly
    def render(model: str, keyframes: str, frames_per_segment, fps, mode: str, easing: str, loop: bool,
               size, smooth: bool, progress=gr.Progress()):
        frames = render_morph(model, keyframes, frames_per_segment, mode, easing, loop, size, smooth, progress)
        folder = Path(tempfile.mkdtemp(prefix="dcgan-morph-"))
        writer = write_mp4 if fmt == "mp4" else write_gif
        return str(writer(frames, folder / f"morph.{fmt}", check_fps(fps)))
    return render


# --- face math ---------------------------------------------------------------------------------
def exemplars(text: str, name: str) -> list[int]:
    if not (text or "").strip():
        raise ValueError(f"concept {name} has no exemplar faces: type 1 to 3 seeds")
    return parse_seeds(text, max_count=3)


@friendly
def do_face_math(model: str, a: str, b: str, c: str):
    gan = STORE.get(model)
    out = face_math(gan, exemplars(a, "A"), exemplars(b, "B"), exemplars(c, "C"))
    rows = [upscale_all(faces, 96) for faces in out.concepts]
    blank = np.full_like(rows[0][0], 255)
    table = make_grid(np.stack([row[i] if i < len(row) else blank for row in rows for i in range(3)]), nrow=3,
                      pad_value=255)
    return big(out.result), make_grid(upscale_all(out.neighbours, 128), nrow=3), big(out.pixels), table


@friendly
def add_current_to_concept(text: str, seed):
    seeds = parse_seeds(text, 3) if (text or "").strip() else []
    if len(seeds) >= 3:
        raise ValueError("a concept holds at most 3 exemplar faces")
    return ", ".join(map(str, seeds + [check_seed(seed)]))


# --- layout ------------------------------------------------------------------------------------
with gr.Blocks(title="DCGAN Studio", delete_cache=(3600, 3600)) as demo:
    model = gr.State(DEFAULT_MODEL)  # per session
    gallery_seeds = gr.State([])
    gr.Markdown("# DCGAN Studio\nA small DCGAN (Radford et al. 2015) that makes faces. "
                "Pick faces by seed, scrub the 100 numbers of z they come from, morph between them, "
                "and add and subtract them.")
    with gr.Row(equal_height=True):
        model_pick = gr.Dropdown(STORE.names, value=DEFAULT_MODEL, label="Model", scale=2)
        hub_id = gr.Textbox(label="…or a Hugging Face repo id", placeholder="owner/name", scale=2)
        hub_btn = gr.Button("Load from the Hub", scale=1)
    model_info = gr.Markdown()

    with gr.Tab("Explore"):
        with gr.Row():
            with gr.Column(scale=3):
                with gr.Row(equal_height=True):
                    start_seed = gr.Number(0, precision=0, minimum=0, maximum=MAX_SEED, label="First seed")
                    random_btn = gr.Button("Random seeds")
                faces = gr.Gallery(label="Click a face to explore it", columns=4, height=560, elem_id="faces",
                                   allow_preview=False, object_fit="contain")
                with gr.Accordion("Dimension scanner: which number changes what?", open=True):
                    with gr.Row(equal_height=True):
                        page = gr.Slider(0, 12, 0, step=1, label="Page (8 dimensions each)")
                        scan_btn = gr.Button("Scan")
                        pick_dim = gr.Number(None, precision=0, minimum=0, label="Dimension to put on a slider")
                        use_btn = gr.Button("Put on a slider")
                    scan_caption = gr.Markdown()
                    scan_image = gr.Image(label="Dimension scan", interactive=False)
            with gr.Column(scale=2):
                face_seed = gr.Number(0, precision=0, minimum=0, maximum=MAX_SEED, label="Current face (seed)",
                                      elem_id="face-seed")
                current = gr.Image(label="Current face", height=300, interactive=False, elem_id="current-face")
                dims, values = [], []
                for i in range(CONFIG.slots):
                    with gr.Row(equal_height=True):
                        dims.append(gr.Dropdown(list(range(100)), value=i, label="dimension", scale=1, min_width=90))
                        values.append(gr.Slider(-3, 3, 0, step=0.05, label="z offset", scale=4, elem_id=f"slot-{i}"))
                with gr.Row():
                    reset_btn = gr.Button("Reset sliders")
                    share_btn = gr.Button("Share")
                state_text = gr.Textbox(label="Seed + sliders (copy, or paste and apply)", max_lines=2)
                apply_btn = gr.Button("Apply pasted state")

    with gr.Tab("Morph video"):
        with gr.Row():
            with gr.Column(scale=2):
                keyframes = gr.Textbox("0, 7, 42", label="Keyframes: seeds, e.g. 0, 7, 42")
                add_key_btn = gr.Button("Add the current face (with its sliders)")
                with gr.Row():
                    frames_per = gr.Slider(1, 120, 24, step=1, label="Frames per segment", elem_id="frames-per-segment")
                    fps = gr.Slider(1, 60, 24, step=1, label="Frames per second")
                with gr.Row():
                    mode = gr.Radio(["slerp", "lerp"], value="slerp", label="Path (spherical or straight)")
                    easing = gr.Dropdown(list(EASINGS), value="ease-in-out", label="Easing")
                with gr.Row():
                    size = gr.Slider(64, MAX_SIZE, 256, step=32, label="Output size (pixels)")
                    smooth = gr.Checkbox(True, label="Smooth upscaling (off: crisp pixels)")
                    loop = gr.Checkbox(True, label="Loop back to the start")
                morph_btn = gr.Button("Render morph", variant="primary", elem_id="morph-button")
                gr.Markdown(f"At most {MAX_FRAMES} frames and {MAX_SIZE} px.")
            with gr.Column(scale=3):
                morph_info = gr.Markdown()
                video = gr.Video(label="MP4", autoplay=True, loop=True, height=320, elem_id="morph-video")
                strip = gr.Image(label="Filmstrip", interactive=False, elem_id="filmstrip")
                gif = gr.File(label="GIF to download")
                morph_api, mp4_only, gif_only = gr.Button(visible=False), gr.File(visible=False), gr.File(visible=False)

    with gr.Tab("Face math"):
        gr.Markdown("As in the DCGAN paper: each concept is the mean z of 1 to 3 exemplar faces; the "
                    "result is G(mean A - mean B + mean C). On the right, the same sum on pixels.")
        with gr.Row():
            concept_a = gr.Textbox(CONFIG.face_math_presets[0][1], label="A (seeds)")
            concept_b = gr.Textbox(CONFIG.face_math_presets[0][2], label="- B (seeds)")
            concept_c = gr.Textbox(CONFIG.face_math_presets[0][3], label="+ C (seeds)")
        with gr.Row():
            add_a, add_b, add_c = (gr.Button(f"Add current face to {n}", size="sm") for n in "ABC")
            math_btn = gr.Button("Compute", variant="primary", elem_id="math-button")
        gr.Examples([list(p[1:]) for p in CONFIG.face_math_presets], [concept_a, concept_b, concept_c],
                    example_labels=[p[0] for p in CONFIG.face_math_presets], label="Ready examples (faces model)")
        with gr.Row():
            math_result = gr.Image(label="A - B + C in z", interactive=False, elem_id="math-result")
            math_grid = gr.Image(label="Neighbours: + uniform noise of 0.25", interactive=False)
            math_pixels = gr.Image(label="A - B + C in pixels", interactive=False)
            math_concepts = gr.Image(label="Exemplars: rows A, B, C", interactive=False)


    # --- wiring ---------------------------------------------------------------------------------
    slot_inputs = [*dims, *values]
    model_outputs = [model, model_info, *dims]
    gallery_outputs = [faces, gallery_seeds]
    face_inputs = [model, face_seed, *slot_inputs]

    model_pick.change(choose_model, model_pick, model_outputs, api_name="choose_model").then(
        show_gallery, [model, start_seed], gallery_outputs, api_visibility="private").then(
        show_face, face_inputs, current, api_visibility="private")
    hub_btn.click(load_hub, hub_id, model_outputs, api_name="load_hub").success(
        show_gallery, [model, start_seed], gallery_outputs, api_visibility="private").then(
        show_face, face_inputs, current, api_visibility="private")

    start_seed.submit(show_gallery, [model, start_seed], gallery_outputs, api_name="gallery")
    random_btn.click(lambda: random.randint(0, MAX_SEED), None, start_seed, api_visibility="private").then(
        show_gallery, [model, start_seed], gallery_outputs, api_visibility="private")
    faces.select(pick_from_gallery, gallery_seeds, face_seed, api_visibility="private").then(
        show_face, face_inputs, current, api_visibility="private")
    face_seed.submit(show_face, face_inputs, current, api_visibility="private")
    for control in values:
        control.release(show_face, face_inputs, current, api_name="face" if control is values[0] else None,
                        api_visibility="public" if control is values[0] else "private",
                        trigger_mode="always_last", show_progress="hidden")
    for control in dims:
        control.input(show_face, face_inputs, current, api_visibility="private", trigger_mode="always_last",
                      show_progress="hidden")
    reset_btn.click(reset_sliders, None, values, api_visibility="private").then(
        show_face, face_inputs, current, api_visibility="private")
    share_btn.click(share, [face_seed, *slot_inputs], state_text, api_name="share")
    apply_btn.click(apply_shared, [model, state_text], [face_seed, *slot_inputs, current], api_name="apply_state")
    scan_btn.click(scan_page, [model, face_seed, page, *slot_inputs], [scan_image, scan_caption], api_name="scan")
    page.release(scan_page, [model, face_seed, page, *slot_inputs], [scan_image, scan_caption],
                 api_visibility="private", trigger_mode="always_last")
    use_btn.click(use_dimension, [pick_dim, *slot_inputs], slot_inputs, api_name="use_dimension").then(
        show_face, face_inputs, current, api_visibility="private")

    add_key_btn.click(add_current_to_keyframes, [keyframes, face_seed, *slot_inputs], keyframes,
                      api_visibility="private")
    morph_inputs = [model, keyframes, frames_per, fps, mode, easing, loop, size, smooth]
    morph_btn.click(make_morph, morph_inputs, [strip, video, gif, morph_info], api_name="morph")
    for fmt, output in (("mp4", mp4_only), ("gif", gif_only)):  # API-only: one format each
        morph_api.click(morph_file(fmt), morph_inputs, output, api_name=f"morph_{fmt}")

    for button, box in ((add_a, concept_a), (add_b, concept_b), (add_c, concept_c)):
        button.click(add_current_to_concept, [box, face_seed], box, api_visibility="private")
    math_btn.click(do_face_math, [model, concept_a, concept_b, concept_c],
                   [math_result, math_grid, math_pixels, math_concepts], api_name="face_math")

    demo.load(choose_model, model_pick, model_outputs, api_visibility="private").then(
        show_gallery, [model, start_seed], gallery_outputs, api_visibility="private").then(
        show_face, face_inputs, current, api_visibility="private")

STORE.warm_up()

if __name__ == "__main__":
    demo.queue(default_concurrency_limit=4).launch()
