"""DCGAN Studio: explore a DCGAN's faces, morph between them, do face arithmetic, ask its
discriminator, and watch it train.

    $ python app.py                      # http://127.0.0.1:7860 (GRADIO_SERVER_NAME / _PORT respected)
    $ python app.py --real-faces ../shared/data/celeba64.zip   # faces in "Real or fake?" too

Layout and wiring only: the handlers live in the studio/ package (one module a tab), and every
picture comes from gan_core. Each action is also an API endpoint (see "Use via API" at the foot
of the page, or gradio_client).
"""
from __future__ import annotations

import argparse
import functools
import logging
import os
import random
import sys


def parse_args(argv=None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description="DCGAN Studio")
    p.add_argument("--real-faces", metavar="PATH",
                   help="a local CelebA zip or folder whose `test` faces play in \"Real or fake?\" (never shipped; "
                        "also STUDIO_REAL_FACES)")
    return p.parse_args(argv)


if __name__ == "__main__":  # before the studio is imported: it reads its settings from the environment
    ARGS = parse_args()
    if ARGS.real_faces:
        if not os.path.exists(ARGS.real_faces):
            sys.exit(f"--real-faces: {ARGS.real_faces} does not exist")
        os.environ["STUDIO_REAL_FACES"] = ARGS.real_faces

import gradio as gr  # noqa: E402 (after the settings above)

from gan_core.directions import GROUPS
from gan_core.latent import MAX_SEED
from gan_core.live_training import BALANCE as LIVE_BALANCE, MAX_MINUTES as LIVE_MAX_MINUTES, MAX_STEPS as LIVE_MAX_STEPS
from gan_core.morph import EASINGS, MAX_FRAMES, MAX_SIZE
from gan_core.teacher import DEFAULT_LR, layer_choices
from gan_core.uploads import MAX_BYTES
from studio.discriminator_tab import (SOURCES, ask_discriminator, first_look, reset_steps, show_feature_maps,
                                      take_generator_steps, take_pixel_steps)
from studio.explore_tab import (choose_model, clear_marks, drag_face, drag_truncation, drop_readout, edit_face,
                                face_sliders, fit_mine, load_hub, mark_face, pick_from_gallery, pick_seed,
                                refresh_models, refresh_pickers, reset_sliders, scan_directions, scan_page, set_face,
                                set_truncation, share, show_gallery, slider_ends, upload_direction, use_dimension,
                                use_direction)
from studio.game_tab import REAL, FAKE, ROUND, check_round, faces_note, kinds, new_round
from studio.math_tab import add_current_to_concept, do_face_math, preset_updates, presets_of, use_preset
from studio.photos import (MAX_PHOTOS, find_cropped, find_photos, photo_updates, photos_to_keyframes, pick_photo,
                           preview_crop, read_photos)
from studio.morph_tab import add_current_to_keyframes, check_morph, check_walk, make_morph, make_walk, morph_file
from studio.session_files import clear_all, end_session
from studio.i18n import SWITCH, T, choices, in_both_languages
from studio.state import (CONFIG, DEFAULT_MODEL, STORE, default_face, direction_choices, ends_label, widgets_of)
from studio.training_tab import (CURVE_COLOURS, LIVE_RUN, live_outputs, make_timelapse, refresh_runs, run_choices,
                                 show_grid, show_run, start_live, stop_live)


# --- layout ------------------------------------------------------------------------------------
INITIAL_FACE = default_face(DEFAULT_MODEL) if DEFAULT_MODEL else None
NZ = STORE.get(DEFAULT_MODEL).config.nz if DEFAULT_MODEL else 100
INITIAL = (widgets_of(DEFAULT_MODEL, INITIAL_FACE) if DEFAULT_MODEL
           else (0, *[None] * (2 * CONFIG.slots + 2 * CONFIG.named_slots)))
INITIAL_DIMS = INITIAL[1:1 + CONFIG.slots]
INITIAL_NAMES = INITIAL[1 + 2 * CONFIG.slots:1 + 2 * CONFIG.slots + CONFIG.named_slots]
DIRECTIONS = STORE.directions(DEFAULT_MODEL) if DEFAULT_MODEL else {}
INITIAL_CHOICES = direction_choices(DIRECTIONS)
INITIAL_SHORT = direction_choices(DIRECTIONS, short=True)
INITIAL_ENDS = [ends_label(DIRECTIONS, n) for n in INITIAL_NAMES]
LAYERS = layer_choices(STORE.get(DEFAULT_MODEL)) if DEFAULT_MODEL else []
PRESETS = (presets_of(DEFAULT_MODEL) if DEFAULT_MODEL else []) or [["", "1, 2, 3", "4, 5, 6", "7, 8, 9"]]


def truncation_slider(elem_id: str) -> gr.Slider:
    """The session's truncation (Explore and Morph show the same value)."""
    return gr.Slider(0, 1, INITIAL_FACE.psi if INITIAL_FACE else 1.0, step=0.05, label=T("truncation"),
                     info=T("truncation_info"),
                     elem_id=elem_id, scale=2, min_width=220)


with gr.Blocks(title="DCGAN Studio", delete_cache=(600, 1200)) as demo:  # Gradio's copies of what it showed
    model = gr.State(DEFAULT_MODEL)  # per session: the model's name, or "hub:" + a repo id
    face = gr.State(INITIAL_FACE)  # the current face (gan_core.face.Face): base, edits, moves
    mine = gr.State({})  # the session's own directions: name -> direction_to_json(...)
    marks = gr.State({"yes": [], "no": []})  # faces marked for teaching a direction (their z)
    gallery_seeds = gr.State([])
    kept = gr.State([])  # the session's photos (shrunk, in memory only)
    photos = gr.State([])  # the z of each photo found, as Face JSON
    gr.Markdown(T("page_language"), elem_id="studio-language")  # read by the page's script (studio/i18n.py)
    with gr.Row():
        gr.Markdown(T("header"), elem_id="header")
        language_btn = gr.Button(T("language_switch"), size="sm", elem_id="language-switch")
    with gr.Row():
        model_pick = gr.Dropdown(choices(STORE.names), value=DEFAULT_MODEL, label=T("model_pick"),
                                 scale=2, elem_id="model-pick")
        hub_id = gr.Textbox(label=T("hub_id"), placeholder=T("hub_placeholder"), scale=2, max_length=96)
        hub_btn = gr.Button(T("hub_load"), scale=1, size="md")
    model_info = gr.Markdown()

    with gr.Tabs() as tabs:
        with gr.Tab(T("tab_explore"), id="explore"):
            gr.Markdown(T("explore_intro"), elem_classes="tab-intro")
            with gr.Row():
                with gr.Column(scale=3):
                    with gr.Row(equal_height=True):
                        start_seed = gr.Number(0, precision=0, minimum=0, maximum=MAX_SEED, label=T("first_seed"),
                                               scale=1, min_width=120)
                        psi = truncation_slider(elem_id="truncation")
                        random_btn = gr.Button(T("random_seeds"), scale=1, min_width=120, size="md")
                    faces = gr.Gallery(label=T("gallery"), columns=CONFIG.gallery_columns, format="jpeg",
                                       height="fit-content",
                                       elem_id="faces", allow_preview=False, object_fit="contain")
                    with gr.Accordion(T("photo_panel"), open=False,
                                      elem_id="photo-panel") as photo_panel:
                        gr.Markdown(T("photo_intro"))
                        with gr.Row(equal_height=True):
                            photo_files = gr.File(file_count="multiple", file_types=["image"], type="filepath",
                                                  label=T("photo_files"),
                                                  elem_id="photo-files", height=140)
                            camera = gr.Image(sources=["webcam", "clipboard"], type="filepath", height=140,
                                              label=T("camera"), elem_id="camera")
                        with gr.Row():
                            find_btn = gr.Button(T("find_photos"), variant="primary", elem_id="find-photos", scale=2)
                            to_morph_btn = gr.Button(T("photos_to_morph"), elem_id="photos-to-morph", scale=1)
                        photo_info = gr.Markdown(elem_id="photo-info")
                        with gr.Column(visible=False) as photo_results_box:  # shown once a photo is found
                            photo_results = gr.Gallery(label=T("photo_results"), columns=3, height="fit-content", allow_preview=False,
                                                   object_fit="contain", elem_id="photo-results")
                        with gr.Accordion(T("hand_crop"), open=False,
                                          elem_id="hand-crop"):
                            with gr.Row(equal_height=True):
                                crop_which = gr.Number(1, precision=0, minimum=1, maximum=MAX_PHOTOS, label=T("crop_which"),
                                                       min_width=80)
                                crop_x = gr.Slider(0, 100, 50, step=1, label=T("crop_x"), min_width=160)
                                crop_y = gr.Slider(0, 100, 45, step=1, label=T("crop_y"), min_width=160)
                                crop_side = gr.Slider(10, 100, 60, step=1, label=T("crop_side"),
                                                      min_width=160)
                            with gr.Row(equal_height=True):
                                crop_preview = gr.Image(label=T("crop_preview"), placeholder=T("crop_preview_empty"),
                                                        interactive=False, height=160)
                                crop_btn = gr.Button(T("find_cropped"), elem_id="find-cropped")
                    photo_note = gr.Markdown()
                    with gr.Accordion(T("browser"), open=False):
                        with gr.Row(equal_height=True):
                            group = gr.Radio(choices(GROUPS), value=GROUPS[0], label=T("browser_group"), scale=3)
                            browse_btn = gr.Button(T("show"), scale=1)
                        with gr.Row(equal_height=True):
                            pick_direction = gr.Dropdown(INITIAL_CHOICES, label=T("browser_pick"),
                                                         scale=3, allow_custom_value=True)
                            use_dir_btn = gr.Button(T("put_on_slider"), scale=1)
                        browse_image = gr.Image(label=T("browser_image"), interactive=False,
                                                placeholder=T("browser_image_empty"),
                                                elem_id="direction-scan")
                        browse_caption = gr.Markdown()
                    with gr.Accordion(T("scanner"), open=False):
                        with gr.Row(equal_height=True, elem_id="dimension-scanner"):
                            page = gr.Slider(0, -(-NZ // CONFIG.scan_page) - 1, 0, step=1,
                                             label=T("scanner_page"), min_width=200)
                            scan_btn = gr.Button(T("scan"))
                            pick_dim = gr.Number(None, precision=0, label=T("scanner_pick"),
                                                 elem_id="pick-dim")
                            use_btn = gr.Button(T("put_on_slider"), elem_id="use-dim")
                        scan_caption = gr.Markdown()
                        scan_image = gr.Image(label=T("scanner_image"), interactive=False,
                                              placeholder=T("scanner_image_empty"))
                    with gr.Accordion(T("teach"), open=False):
                        gr.Markdown(T("teach_intro"))
                        concept = gr.Textbox(label=T("concept"), placeholder=T("concept_placeholder"))
                        with gr.Row():
                            yes_btn = gr.Button(T("mark_yes"), elem_id="mark-yes")
                            no_btn = gr.Button(T("mark_no"), elem_id="mark-no")
                            clear_btn = gr.Button(T("clear_marks"), size="sm")
                        marks_info = gr.Markdown(T("marks_none"))
                        fit_btn = gr.Button(T("fit_direction"), variant="primary", elem_id="fit-direction")
                        fit_info = gr.Markdown()
                        with gr.Row():
                            direction_file = gr.File(label=T("direction_file"), interactive=False,
                                                     visible=False)  # shown once fitted
                            upload = gr.File(label=T("upload_direction"), file_types=[".json"], type="filepath")
                with gr.Column(scale=2):
                    face_seed = gr.Number(INITIAL[0], precision=0, minimum=0, maximum=MAX_SEED,
                                          label=T("face_seed"), elem_id="face-seed")
                    current = gr.Image(label=T("current_face"), height=300, interactive=False, elem_id="current-face",
                                       format="jpeg")  # 20x faster to encode than webp, and closer (44 vs 42 dB)
                    dir_names, dir_values = [], []
                    for i in range(CONFIG.named_slots):
                        with gr.Row(equal_height=True):
                            dir_names.append(gr.Dropdown(INITIAL_SHORT, value=INITIAL_NAMES[i], label=T("direction"),
                                                         scale=3, min_width=160, allow_custom_value=True))
                            dir_values.append(gr.Slider(-3, 3, 0, step=0.05, label=INITIAL_ENDS[i], scale=3,
                                                        elem_id=f"direction-{i}"))
                    with gr.Column(visible=bool(DEFAULT_MODEL and STORE.has_readout(DEFAULT_MODEL))) as attributes_box:
                        attributes = gr.Label(label=T("attributes"), num_top_classes=5,
                                              show_heading=False, elem_id="attributes")
                    with gr.Accordion(T("raw_dimensions"), open=False, elem_id="raw-dimensions"):
                        dims, values = [], []
                        for i in range(CONFIG.slots):
                            with gr.Row(equal_height=True):
                                dims.append(gr.Dropdown(list(range(NZ)), value=INITIAL_DIMS[i], label=T("dimension"),
                                                        scale=1, min_width=90))
                                values.append(gr.Slider(-3, 3, 0, step=0.05, label=T("z_offset"), scale=4,
                                                        elem_id=f"slot-{i}"))
                    with gr.Row():
                        reset_btn = gr.Button(T("reset_sliders"))
                        share_btn = gr.Button(T("share"), elem_id="share")
                    state_text = gr.Textbox(label=T("state_text"),
                                            max_lines=2, elem_id="state-text")
                    apply_btn = gr.Button(T("apply_face"), elem_id="apply-face")
                    face_json, face_api = gr.JSON(visible=False), gr.Button(visible=False)  # the API's /face

        with gr.Tab(T("tab_morph"), id="morph"):
            gr.Markdown(T("morph_intro"), elem_classes="tab-intro")
            with gr.Row():
                with gr.Column(scale=2):
                    keyframes = gr.Textbox("9, 11, 28", label=T("keyframes"),
                                           max_lines=4,
                                           elem_id="keyframes")
                    add_key_btn = gr.Button(T("add_keyframe"))
                    with gr.Row():
                        frames_per = gr.Slider(1, 120, 24, step=1, label=T("frames_per_segment"),
                                               elem_id="frames-per-segment")
                        fps = gr.Slider(1, 60, 24, step=1, label=T("fps"))
                    with gr.Row():
                        mode = gr.Radio(choices(["slerp", "lerp"]), value="slerp", label=T("path"))
                        easing = gr.Dropdown(choices(EASINGS), value="ease-in-out", label=T("easing"))
                    size = gr.Slider(64, MAX_SIZE, 256, step=32, label=T("output_size"))
                    morph_psi = truncation_slider(elem_id="morph-truncation")
                    with gr.Row():
                        smooth = gr.Checkbox(True, label=T("smooth"))
                        loop = gr.Checkbox(True, label=T("loop"))
                    morph_btn = gr.Button(T("render_morph"), variant="primary", elem_id="morph-button")
                    with gr.Group():
                        gr.Markdown(T("walk_intro"))
                        with gr.Row(equal_height=True):
                            walk_name = gr.Dropdown(INITIAL_CHOICES, label=T("walk_direction"), scale=3,
                                                    allow_custom_value=True)
                            span = gr.Slider(0.5, 5, 3, step=0.5, label=T("span"), scale=2)
                        walk_btn = gr.Button(T("render_walk"), elem_id="walk-button")
                    gr.Markdown(T("morph_limits"))
                with gr.Column(scale=3):
                    morph_info = gr.Markdown(T("morph_empty"), elem_id="morph-info")
                    with gr.Column(visible=False) as morph_box:  # shown once there is a video
                        video = gr.Video(label=T("mp4"), autoplay=True, loop=True, height=320, elem_id="morph-video")
                        strip = gr.Image(label=T("filmstrip"), interactive=False, elem_id="filmstrip")
                        gif = gr.File(label=T("gif"))
                    morph_api = gr.Button(visible=False)  # the API's one-format morphs
                    mp4_only, gif_only = gr.File(visible=False), gr.File(visible=False)

        with gr.Tab(T("tab_math"), id="math") as math_tab:
            gr.Markdown(T("math_intro"), elem_classes="tab-intro")
            with gr.Row():
                concept_a = gr.Textbox(PRESETS[0][1], label=T("concept_a"), max_lines=3)
                concept_b = gr.Textbox(PRESETS[0][2], label=T("concept_b"), max_lines=3)
                concept_c = gr.Textbox(PRESETS[0][3], label=T("concept_c"), max_lines=3)
            with gr.Row():
                add_a, add_b, add_c = (gr.Button(T("add_to_a"), size="sm"), gr.Button(T("add_to_b"), size="sm"),
                                        gr.Button(T("add_to_c"), size="sm"))
                math_btn = gr.Button(T("compute"), variant="primary", elem_id="math-button")
            with gr.Row(equal_height=True):
                preset_pick = gr.Dropdown(choices([p[0] for p in PRESETS if p[0]]), value=PRESETS[0][0] or None,
                                          visible=bool(PRESETS[0][0]),
                                          label=T("presets"))
                preset_note = gr.Markdown(elem_id="preset-note")
            with gr.Row():
                math_result = gr.Image(label=T("math_result"), interactive=False, elem_id="math-result")
                math_grid = gr.Image(label=T("math_grid"), interactive=False)
                math_pixels = gr.Image(label=T("math_pixels"), interactive=False)
                math_concepts = gr.Image(label=T("math_concepts"), interactive=False)

        with gr.Tab(T("tab_ask"), id="ask") as ask_tab:
            gr.Markdown(T("ask_intro"), elem_classes="tab-intro")
            subject, steps_state = gr.State({}), gr.State({})
            with gr.Row(equal_height=True):
                source = gr.Radio(choices(SOURCES), value=SOURCES[0], label=T("source"), scale=3)
                d_seed = gr.Number(0, precision=0, minimum=0, maximum=MAX_SEED, label=T("seed"), scale=1)
                upload_face = gr.File(label=T("upload_face"),
                                      file_types=["image"],
                                      type="filepath", scale=2)
                ask_btn = gr.Button(T("ask"), variant="primary", scale=1, elem_id="ask-button")
            with gr.Row():
                d_image = gr.Image(label=T("d_image"), interactive=False, elem_id="d-image")
                d_heat = gr.Image(label=T("d_heat"), interactive=False, elem_id="d-heat")
                d_signed = gr.Image(label=T("d_signed"), interactive=False)
            d_verdict = gr.Markdown(elem_id="d-verdict")
            with gr.Accordion(T("steps"), open=True):
                with gr.Row(equal_height=True):
                    step_count = gr.Slider(1, 20, 1, step=1, label=T("step_count"))
                    step_size = gr.Slider(0.1, 4, 0.1, step=0.05,
                                          label=T("step_size"))
                    step_btn = gr.Button(T("take_steps"), elem_id="step-button")
                    reset_steps_btn = gr.Button(T("reset_steps"), size="sm")
                step_note = gr.Markdown(elem_id="step-note")
                with gr.Row():
                    stepped = gr.Image(label=T("stepped"), interactive=False, elem_id="stepped")
                    difference = gr.Image(label=T("difference"), interactive=False)
                    step_plot = gr.LinePlot(x="step", y="D(image)", y_lim=[0, 1], label=T("step_plot"), height=260,
                                            x_title=T("axis_step"), y_title=T("axis_d_image"), elem_id="step-plot")
            with gr.Accordion(T("g_steps"), open=False):
                gr.Markdown(T("g_steps_intro"))
                with gr.Row(equal_height=True):
                    g_count = gr.Slider(1, 20, 5, step=1, label=T("g_count"))
                    g_target = gr.Radio(choices(["weights", "z"]), value="weights", label=T("g_target"))
                    g_lr = gr.Number(DEFAULT_LR["weights"], minimum=1e-7, maximum=1.0,
                                     label=T("g_lr"))
                    g_btn = gr.Button(T("g_train"), elem_id="g-step-button")
                g_note = gr.Markdown()
                with gr.Row(visible=False) as g_box:  # shown once the copy is trained
                    g_strip = gr.Gallery(label=T("g_strip"), columns=3,
                                         height="fit-content",
                                         allow_preview=False)
                    g_plot = gr.LinePlot(x="step", y="D(image)", y_lim=[0, 1], label=T("g_plot"), height=220,
                                         x_title=T("axis_step"), y_title=T("axis_d_image"))
            with gr.Accordion(T("maps"), open=True):
                with gr.Row(equal_height=True):
                    d_layer = gr.Dropdown(LAYERS, value=0, label=T("d_layer"), scale=2)
                    d_top = gr.Slider(1, 12, 6, step=1, label=T("d_top"), scale=2, min_width=200)
                    maps_btn = gr.Button(T("show_maps"), scale=1)
                d_maps = gr.Gallery(label=T("d_maps"), columns=6, height=220,
                                    allow_preview=False, elem_id="d-maps")

        with gr.Tab(T("tab_game"), id="game") as game_tab:
            gr.Markdown(T("game_intro"), elem_classes="tab-intro")
            game, tally = gr.State({}), gr.State(None)
            with gr.Row(equal_height=True):
                game_kind = gr.Radio(choices(kinds()), value=kinds()[0], label=T("game_kind"), scale=2, elem_id="game-kind")
                deal_btn = gr.Button(T("new_round"), scale=1, elem_id="game-deal")
                check_btn = gr.Button(T("check"), variant="primary", scale=1, elem_id="game-check")
            game_note = gr.Markdown(elem_id="game-note")
            cards, guesses = [], []
            for row in range(2):
                with gr.Row():
                    for col in range(ROUND // 2):
                        with gr.Column(min_width=120):
                            i = row * ROUND // 2 + col
                            cards.append(gr.Image(label=f"{i + 1}", interactive=False, height=150, format="png", buttons=[],
                                                  elem_id=f"game-card-{i}"))
                            guesses.append(gr.Radio(choices([REAL, FAKE]), value=None, show_label=False, container=False,
                                                    elem_id=f"game-guess-{i}"))
            game_result = gr.Markdown(elem_id="game-result")
            game_tally = gr.Markdown(elem_id="game-tally")
            gr.Markdown(faces_note(), elem_classes="tab-intro")
            gr.Markdown(T("game_credits"), elem_classes="tab-intro")

        with gr.Tab(T("tab_training"), id="training") as training_tab:
            gr.Markdown(T("training_intro"), elem_classes="tab-intro")
            with gr.Row(equal_height=True):
                which_run = gr.Dropdown(choices(run_choices()), value=DEFAULT_MODEL, label=T("which_run"),
                                        scale=3, elem_id="which-run")
                show_run_btn = gr.Button(T("show"), scale=1)
            run_summary = gr.Markdown(elem_id="run-summary")
            with gr.Row():
                loss_plot = gr.LinePlot(x="step", y="value", color="series", height=340, color_map=CURVE_COLOURS,
                                        color_title="", x_title=T("axis_step"), y_title=T("axis_loss"),
                                        label=T("loss_plot"),
                                        elem_id="loss-plot")
                output_plot = gr.LinePlot(x="step", y="value", color="series", y_lim=[0, 1], height=340,
                                          color_map=CURVE_COLOURS, color_title="", x_title=T("axis_step"),
                                          y_title=T("axis_output"), label=T("output_plot"), elem_id="output-plot")
            with gr.Row():
                with gr.Column():
                    grid_step = gr.Slider(0, 1, 0, step=1, label=T("grid_step"), elem_id="grid-step")
                    grid_caption = gr.Markdown()
                    grid_image = gr.Image(label=T("grid_image"), interactive=False, elem_id="grid-image")
                with gr.Column():
                    with gr.Row(equal_height=True):
                        lapse_fps = gr.Slider(1, 12, 3, step=1, label=T("lapse_fps"))
                        lapse_btn = gr.Button(T("make_timelapse"))
                    gr.Markdown(T("timelapse_intro"))
                    lapse_video = gr.Video(label=T("timelapse"), autoplay=True, loop=True, height=320, visible=False)
            with gr.Group():
                gr.Markdown(T("live_intro"))
                with gr.Row(equal_height=True):
                    live_steps = gr.Slider(50, LIVE_MAX_STEPS, 1100, step=50, label=T("live_steps"), min_width=200)
                    live_minutes = gr.Slider(0.5, LIVE_MAX_MINUTES, 2, step=0.5, label=T("live_minutes"), min_width=200)
                    live_start = gr.Button(T("live_start"), variant="primary", elem_id="live-start")
                    live_stop = gr.Button(T("live_stop"), elem_id="live-stop")
                live_message = gr.Markdown(elem_id="live-message")
                live_timer = gr.Timer(1.0, active=False)


    # --- wiring ---------------------------------------------------------------------------------
    slots = [*dims, *values, *dir_names, *dir_values]
    sliders = [face_seed, *slots, psi, morph_psi]  # what face_sliders sets
    shown = [face, current, attributes]  # what every handler that changes the face returns
    gallery_outputs = [faces, gallery_seeds]
    pickers = [pick_direction, walk_name]
    private = dict(api_visibility="private")
    quiet = dict(show_progress="hidden")  # a refused input leaves the face shown, with a message, not an "Error" box
    live = dict(trigger_mode="always_last", show_progress="hidden", queue=False)

    def reveal():
        """Makes a box visible: boxes wait hidden until they have something to show."""
        return gr.update(visible=True)

    def first_visit(tab, fn, inputs, outputs):
        """`fn` when the session opens `tab` the first time: its pictures filled in, not empty boxes."""
        seen = gr.State(False)

        def once(done, *args):
            return (True, *[gr.skip()] * len(outputs)) if done else (True, *fn(*args))
        tab.select(once, [seen, *inputs], [seen, *outputs], **private, **quiet)

    def then_sliders(event):
        """After the face changed on the server: the sliders show it."""
        return event.success(face_sliders, [model, mine, face], sliders, **private, show_progress="hidden")

    def after_model(event):
        """A new model: its sliders, gallery, direction pickers and face-math examples."""
        return then_sliders(event).then(show_gallery, [model, start_seed, face], gallery_outputs, **private).then(
            refresh_pickers, [model, mine], pickers, **private).then(
            preset_updates, model, [preset_pick, preset_note], **private).then(
            photo_updates, model, [photo_panel, photo_note], **private)

    model_outputs = [model, mine, model_info, *shown, d_layer, step_size, attributes_box]
    after_model(model_pick.input(choose_model, model_pick, model_outputs, api_name="choose_model", **quiet))
    after_model(hub_btn.click(load_hub, hub_id, model_outputs, api_name="load_hub", **quiet))
    after_model(demo.load(choose_model, model_pick, model_outputs, **private))
    language_btn.click(None, js=SWITCH)  # the whole page in the other language, kept across reloads
    model_pick.focus(refresh_models, model_pick, model_pick, **private, show_progress="hidden")

    start_seed.submit(show_gallery, [model, start_seed, face], gallery_outputs, api_name="gallery")
    random_btn.click(lambda: random.randint(0, MAX_SEED), None, start_seed, **private).then(
        show_gallery, [model, start_seed, face], gallery_outputs, **private)
    faces.select(pick_from_gallery, [model, mine, face, gallery_seeds], [face, face_seed, current, attributes],
                 **private, **quiet)
    face_seed.submit(pick_seed, [model, mine, face, face_seed], [face, face_seed, current, attributes],
                     api_name="pick_seed", **quiet)
    for control in values + dir_values:  # the sliders are the truth: the face is read from them
        # While dragged, the face follows, outside the queue (always_last: the final value is drawn last);
        # on release, the readout only, so the last picture does not wait behind it (bench/app_latency.py).
        control.input(drag_face, [model, mine, face, *slots], [face, current], **private, **live)
        control.release(drop_readout, [model, mine, face, *slots], attributes, **private, **live)
    for control in dims + dir_names:
        control.input(edit_face, [model, mine, face, *slots], shown, **private, trigger_mode="always_last",
                      show_progress="hidden")
    for name_box, slider in zip(dir_names, dir_values):
        name_box.change(slider_ends, [model, mine, name_box], slider, **private, show_progress="hidden")
    then_sliders(face_api.click(set_face, [model, mine, face_json], shown, api_name="face", **quiet)).then(
        show_gallery, [model, start_seed, face], gallery_outputs, **private)  # a pasted face may bring its psi
    for control in (psi, morph_psi):  # two views of the session's truncation: the current face's psi
        control.input(drag_truncation, [model, mine, face, control], [face, current], **private, **live)
        then_sliders(control.release(set_truncation, [model, mine, face, control], shown, **private, **live)).then(
            show_gallery, [model, start_seed, face], gallery_outputs, **private)
    truncation_api = gr.Button(visible=False)
    then_sliders(truncation_api.click(set_truncation, [model, mine, face, psi], shown, api_name="truncation")).then(
        show_gallery, [model, start_seed, face], gallery_outputs, **private)
    then_sliders(apply_btn.click(set_face, [model, mine, state_text], shown, api_name="apply_state", **quiet)).then(
        show_gallery, [model, start_seed, face], gallery_outputs, **private)
    then_sliders(reset_btn.click(reset_sliders, [model, mine, face], shown, **private, **quiet))
    share_btn.click(share, face, state_text, api_name="share")
    found_outputs = [face, current, attributes, photo_results, photos, photo_info]
    found = find_btn.click(read_photos, [photo_files, camera], kept, api_name="add_photos", **quiet).success(
        find_photos, [model, mine, face, kept], found_outputs, api_name="find_photos")
    then_sliders(found).then(reveal, None, photo_results_box, **private)
    crop_inputs = [kept, crop_which, crop_x, crop_y, crop_side]
    for control in (crop_x, crop_y, crop_side):
        control.release(preview_crop, [model, *crop_inputs], crop_preview, **private, **quiet)
    then_sliders(crop_btn.click(find_cropped, [model, mine, face, *crop_inputs], found_outputs,
                                api_name="find_cropped")).then(reveal, None, photo_results_box, **private)
    then_sliders(photo_results.select(pick_photo, [model, mine, face, photos], shown, **private, **quiet))
    scan_btn.click(scan_page, [model, mine, face, page], [scan_image, scan_caption], api_name="scan")
    page.release(scan_page, [model, mine, face, page], [scan_image, scan_caption], **private,
                 trigger_mode="always_last")
    then_sliders(use_btn.click(use_dimension, [model, mine, face, pick_dim], shown, api_name="use_dimension", **quiet))
    browse_btn.click(scan_directions, [model, mine, face, group], [browse_image, browse_caption],
                     api_name="scan_directions")
    group.input(scan_directions, [model, mine, face, group], [browse_image, browse_caption], **private)
    then_sliders(use_dir_btn.click(use_direction, [model, mine, face, pick_direction], shown,
                                   api_name="use_direction", **quiet))

    yes_btn.click(functools.partial(mark_face, "yes"), [marks, model, mine, face], [marks, marks_info],
                  api_name="mark_yes")
    no_btn.click(functools.partial(mark_face, "no"), [marks, model, mine, face], [marks, marks_info],
                 api_name="mark_no")
    clear_btn.click(clear_marks, None, [marks, marks_info], **private)
    fitted = fit_btn.click(fit_mine, [model, mine, face, concept, marks], [mine, direction_file, fit_info, *shown],
                           api_name="fit_direction", **quiet)
    then_sliders(fitted).then(refresh_pickers, [model, mine], pickers, **private)
    fitted.success(reveal, None, direction_file, **private)
    then_sliders(upload.upload(upload_direction, [model, mine, face, upload], [mine, fit_info, *shown],
                               api_name="upload_direction", **quiet)).then(refresh_pickers, [model, mine], pickers, **private)

    add_key_btn.click(add_current_to_keyframes, [keyframes, face], keyframes, **private)
    to_morph_btn.click(photos_to_keyframes, photos, keyframes, **private, **quiet).success(
        lambda: gr.Tabs(selected="morph"), None, tabs, **private)
    morph_inputs = [model, mine, face, keyframes, frames_per, fps, mode, easing, loop, size, smooth]
    morph_outputs = [strip, video, gif, morph_info]
    morph_btn.click(check_morph, morph_inputs, None, **private, **quiet).success(
        make_morph, morph_inputs, morph_outputs, api_name="morph").success(reveal, None, morph_box, **private)
    for fmt, output in (("mp4", mp4_only), ("gif", gif_only)):  # API-only: one format each
        morph_api.click(morph_file(fmt), morph_inputs, output, api_name=f"morph_{fmt}")
    walk_inputs = [model, mine, face, walk_name, span, frames_per, fps, easing, loop, size, smooth]
    walk_btn.click(check_walk, walk_inputs, None, **private, **quiet).success(
        make_walk, walk_inputs, morph_outputs, api_name="walk").success(reveal, None, morph_box, **private)

    for button, box in ((add_a, concept_a), (add_b, concept_b), (add_c, concept_c)):
        button.click(add_current_to_concept, [box, face], box, **private)
    preset_pick.input(use_preset, [model, preset_pick], [concept_a, concept_b, concept_c], **private)
    math_inputs, math_outputs = [model, mine, face, concept_a, concept_b, concept_c], [math_result, math_grid,
                                                                                       math_pixels, math_concepts]
    math_btn.click(do_face_math, math_inputs, math_outputs, api_name="face_math", **quiet)
    first_visit(math_tab, do_face_math, math_inputs, math_outputs)

    step_outputs = [steps_state, stepped, difference, step_plot, step_note]
    ask_btn.click(ask_discriminator, [model, mine, face, source, d_seed, upload_face],
                  [subject, steps_state, d_image, d_verdict, d_heat, d_signed], api_name="ask").success(
        show_feature_maps, [model, subject, d_layer, d_top], d_maps, **private).success(
        reset_steps, [model, subject], step_outputs, **private)  # the step panel starts from the new face
    first_visit(ask_tab, first_look, [model, mine, face, d_layer, d_top],
                [subject, steps_state, d_image, d_verdict, d_heat, d_signed, *step_outputs[1:], d_maps])
    step_btn.click(take_pixel_steps, [model, subject, steps_state, step_count, step_size], step_outputs,
                   api_name="pixel_steps")
    reset_steps_btn.click(reset_steps, [model, subject], step_outputs, **private)
    g_target.change(lambda t: DEFAULT_LR.get(t, DEFAULT_LR["weights"]), g_target, g_lr, **private)
    g_btn.click(take_generator_steps, [model, subject, g_count, g_target, g_lr], [g_strip, g_plot, g_note],
                api_name="generator_steps").success(reveal, None, g_box, **private)
    maps_btn.click(show_feature_maps, [model, subject, d_layer, d_top], d_maps, api_name="feature_maps")
    d_layer.input(show_feature_maps, [model, subject, d_layer, d_top], d_maps, **private)

    deal = dict(fn=new_round, inputs=game_kind, outputs=[game, *cards, *guesses, game_note, game_result])
    deal_btn.click(**deal, api_name="game_round")
    game_kind.input(**deal, **private)
    first_visit(game_tab, new_round, [game_kind], [game, *cards, *guesses, game_note, game_result])
    check_btn.click(check_round, [game, tally, *guesses], [game, tally, *cards, *guesses, game_result, game_tally],
                    api_name="game_check", **quiet)

    run_outputs = [run_summary, loss_plot, output_plot, grid_step, grid_image, grid_caption]
    show_run_btn.click(show_run, which_run, run_outputs, api_name="training_run")
    which_run.change(show_run, which_run, run_outputs, **private)
    grid_step.release(show_grid, [which_run, grid_step], [grid_image, grid_caption], api_name="training_grid",
                      trigger_mode="always_last")
    lapse_btn.click(make_timelapse, [which_run, lapse_fps], lapse_video, api_name="timelapse").success(
        reveal, None, lapse_video, **private)
    live_start.click(start_live, [live_steps, live_minutes], [live_message, live_timer], api_name="live_start").success(
        lambda: gr.update(choices=run_choices(), value=LIVE_RUN), None, which_run, **private)
    live_stop.click(stop_live, None, live_message, api_name="live_stop")
    live_timer.tick(live_outputs, None, [live_message, run_summary, loss_plot, output_plot, grid_step, grid_image,
                                         grid_caption, live_timer], **private, show_progress="hidden")
    training_tab.select(refresh_runs, which_run, which_run, **private).then(show_run, which_run, run_outputs, **private)
    demo.unload(end_session)

in_both_languages(demo, photos=MAX_PHOTOS, mb=MAX_BYTES >> 20, page=CONFIG.scan_page, frames=MAX_FRAMES,
                  size=MAX_SIZE, round=ROUND, lr_weights=f"{DEFAULT_LR['weights']:g}", lr_z=f"{DEFAULT_LR['z']:g}",
                  balance=LIVE_BALANCE)
STORE.warm_up()

if __name__ == "__main__":
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("httpx").setLevel(logging.WARNING)  # one line per request otherwise
    clear_all()  # what an earlier run left in the temp folder
    demo.queue(default_concurrency_limit=4).launch(max_file_size=MAX_BYTES)  # uploads: pictures, direction files
