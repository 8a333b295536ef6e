"""The Morph video tab: morphs between keyframes and walks along a direction."""
from __future__ import annotations

import gradio as gr

from gan_core.model.latent import EASINGS
from gan_core.editing.face import faces_text, latents, parse_faces
from gan_core.editing.morph import (MAX_KEYFRAMES, MAX_SIZE, MorphSettings, filmstrip, keyframe_faces, morph_frames, walk_keyframes,
                                    write_morph)
from gan_core.errors import UserError
from studio.i18n import T, choices, say
from studio.page import HEAVY, PRIVATE, QUIET, Page, reveal
from studio.priority import lowered
from studio.session import Session
from studio.session_files import session_folder
from studio.state import direction_choices, direction_label, friendly, md


@friendly
def add_current_to_keyframes(session: Session, keyframes: str):
    """The keyframes with the current face after them (a photo's by its name)."""
    faces = parse_faces(keyframes, MAX_KEYFRAMES, named=session.named())
    if len(faces) >= MAX_KEYFRAMES:
        raise UserError("keyframes_max", max=MAX_KEYFRAMES)
    return faces_text(faces + [session.face])  # a photo's face by its name


def keyframes_of(session: Session, keyframes: str):
    """The keyframes' latents ("photo 1" is the face found in photo 1), every seed at the
    session's truncation (the current face's psi), and each one's tuned generator (or None)."""
    faces = keyframe_faces(keyframes, session.named())
    return latents(faces, session.nz, session.directions, session.face.psi), [f.tuned for f in faces]


@friendly
def check_morph(session: Session, keyframes: str, frames_per_segment, fps, mode: str, easing: str, loop: bool, size,
                smooth: bool):
    """Every setting of a morph checked before anything on the page changes (milliseconds)."""
    keys, _ = keyframes_of(session, keyframes)
    MorphSettings(frames_per_segment, fps, mode, easing, loop, size, smooth).frame_count(len(keys))


@friendly
def check_walk(session: Session, name, span, frames_per_segment, fps, easing: str, loop: bool, size, smooth: bool):
    """Every setting of a walk checked before anything on the page changes."""
    directions = session.directions
    if name not in directions:
        raise gr.Error(say("pick_walk"))
    walk_keyframes(session.face.latent(session.nz, directions), directions[name], float(span))
    MorphSettings(frames_per_segment, fps, "lerp", easing, loop, size, smooth).frame_count(2)


def render_morph(session: Session, keyframes: str, settings: MorphSettings, progress) -> list:
    keys, tuned = keyframes_of(session, keyframes)
    rendering = say("rendering_frames")
    progress(0, desc=rendering)
    return morph_frames(session.gan, keys, settings, progress=lambda f: progress(0.8 * f, desc=rendering),
                        tuned=tuned)


def finish_morph(frames, settings: MorphSettings, request, progress, walking: str = ""):
    """The filmstrip, MP4, GIF and a line about them (`walking`: the direction a walk follows)."""
    progress(0.8, desc=say("encoding"))
    mp4, gif = write_morph(frames, session_folder(request, "morph"), settings)
    info = say("walk_info" if walking else "morph_info", frames=len(frames), fps=int(settings.fps),
               size=settings.size, direction=walking)
    return filmstrip(frames), str(mp4), str(gif), info


@friendly
@lowered
def make_morph(session: Session, keyframes: str, frames_per_segment, fps, mode: str, easing: str, loop: bool, size,
               smooth: bool, request: gr.Request, progress=gr.Progress()):
    settings = MorphSettings(frames_per_segment, fps, mode, easing, loop, size, smooth)
    frames = render_morph(session, keyframes, settings, progress)
    return finish_morph(frames, settings, request, progress)


@friendly
@lowered
def make_walk(session: Session, name, span, frames_per_segment, fps, easing: str, loop: bool, size, smooth: bool,
              request: gr.Request, progress=gr.Progress()):
    settings = MorphSettings(frames_per_segment, fps, "lerp", easing, loop, size, smooth)
    directions = session.directions
    if name not in directions:
        raise gr.Error(say("pick_walk"))
    keys = walk_keyframes(session.face.latent(session.nz, directions), directions[name], float(span))
    rendering = say("rendering_frames")
    progress(0, desc=rendering)
    frames = morph_frames(session.gan, keys, settings, progress=lambda f: progress(0.8 * f, desc=rendering),
                          tuned=[session.face.tuned] * 2)  # a photo's face walks with its own G
    return finish_morph(frames, settings, request, progress, md(direction_label(directions[name])))


def morph_file(fmt: str):
    """An API-only morph endpoint that renders one format (MP4 or GIF)."""
    @friendly
    @lowered
    def render(session: Session, keyframes: str, frames_per_segment, fps, mode: str, easing: str, loop: bool, size,
               smooth: bool, request: gr.Request, progress=gr.Progress()):
        settings = MorphSettings(frames_per_segment, fps, mode, easing, loop, size, smooth)
        frames = render_morph(session, keyframes, settings, progress)
        progress(0.8, desc=say("encoding"))
        return str(write_morph(frames, session_folder(request, "morph"), settings, formats=(fmt,))[0])
    return render


def walk_picker(session: Session):
    """The walk's direction picker, listing the session's directions (an age direction first picked)."""
    picks = direction_choices(session.directions)
    named = [name for _, name in picks]
    walk_default = next((n for n in named if n.startswith("Age")), named[0] if named else None)
    return gr.update(choices=picks, value=walk_default)


# --- the tab -----------------------------------------------------------------------------------
class MorphTab:
    def __init__(self, page: Page):
        self.page = page
        with gr.Tab(T("tab_morph"), id="morph"):
            page.tell(gr.Markdown(elem_classes="tab-intro"), value="morph_intro")
            with gr.Row():
                with gr.Column(scale=2):
                    self.keyframes = page.keyframes = page.tell(gr.Textbox("9, 11, 28", max_lines=4,
                                                                           elem_id="keyframes"), label="keyframes")
                    self.add_key_btn = page.tell(gr.Button(), value="add_keyframe")
                    with gr.Row():
                        self.frames_per = gr.Slider(1, 120, 24, step=1, label=T("frames_per_segment"),
                                                    elem_id="frames-per-segment")
                        self.fps = gr.Slider(1, 60, 24, step=1, label=T("fps"))
                    with gr.Row():
                        self.mode = gr.Radio(choices(["slerp", "lerp"]), value="slerp", label=T("path"))
                        self.easing = gr.Dropdown(choices(EASINGS), value="ease-in-out", label=T("easing"))
                    self.size = gr.Slider(64, MAX_SIZE, 256, step=32, label=T("output_size"))
                    page.truncation_slider(elem_id="morph-truncation")
                    with gr.Row():
                        self.smooth = gr.Checkbox(True, label=T("smooth"))
                        self.loop = gr.Checkbox(True, label=T("loop"))
                    self.morph_btn = gr.Button(T("render_morph"), variant="primary", elem_id="morph-button")
                    with gr.Group():
                        page.tell(gr.Markdown(), value="walk_intro")
                        with gr.Row(equal_height=True):
                            picks = direction_choices(page.first.directions)
                            self.walk_name = gr.Dropdown(picks, label=T("walk_direction"), scale=3,
                                                         allow_custom_value=True)
                            self.span = gr.Slider(0.5, 5, 3, step=0.5, label=T("span"), scale=2)
                        self.walk_btn = gr.Button(T("render_walk"), elem_id="walk-button")
                    gr.Markdown(T("morph_limits"))
                with gr.Column(scale=3):
                    self.info = gr.Markdown(T("morph_empty"), elem_id="morph-info")
                    with gr.Column(visible=False) as self.box:  # shown once there is a video
                        self.video = gr.Video(label=T("mp4"), autoplay=True, loop=True, height=320,
                                              elem_id="morph-video")
                        self.strip = gr.Image(label=T("filmstrip"), interactive=False, elem_id="filmstrip")
                        self.gif = gr.File(label=T("gif"))
                    self.api = gr.Button(visible=False)  # the API's one-format morphs
                    self.mp4_only, self.gif_only = gr.File(visible=False), gr.File(visible=False)

    def wire(self):
        session = self.page.session
        self.add_key_btn.click(add_current_to_keyframes, [session, self.keyframes], self.keyframes, **PRIVATE)
        settings = [self.frames_per, self.fps, self.mode, self.easing, self.loop, self.size, self.smooth]
        morph_inputs, outputs = [session, self.keyframes, *settings], [self.strip, self.video, self.gif, self.info]
        self.morph_btn.click(check_morph, morph_inputs, None, **PRIVATE, **QUIET).success(
            make_morph, morph_inputs, outputs, api_name="morph", **HEAVY).success(reveal, None, self.box, **PRIVATE)
        for fmt, output in (("mp4", self.mp4_only), ("gif", self.gif_only)):  # API-only: one format each
            self.api.click(morph_file(fmt), morph_inputs, output, api_name=f"morph_{fmt}", **HEAVY)
        walk_inputs = [session, self.walk_name, self.span, *[c for c in settings if c is not self.mode]]
        self.walk_btn.click(check_walk, walk_inputs, None, **PRIVATE, **QUIET).success(
            make_walk, walk_inputs, outputs, api_name="walk", **HEAVY).success(reveal, None, self.box, **PRIVATE)
        self.page.follow_directions(walk_picker, session, self.walk_name)
