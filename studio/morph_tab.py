"""The Morph video tab: morphs between keyframes and walks along a direction."""
from __future__ import annotations

import gradio as gr

from gan_core.media import write_gif, write_mp4
from gan_core.morph import (MorphSettings, add_keyframe, filmstrip, keyframes_from_text, morph_frames,
                            walk_keyframes, write_morph)
from studio.session_files import session_folder
from studio.i18n import say
from studio.session import Session
from studio.state import direction_label, friendly, md


@friendly
def add_current_to_keyframes(session: Session, keyframes: str):
    return add_keyframe(keyframes, session.face)


def keyframes_of(session: Session, keyframes: str):
    """The keyframes' latents, every seed at the session's truncation (the current face's psi)."""
    return keyframes_from_text(keyframes, session.nz, session.directions, session.face.psi)


@friendly
def check_morph(session: Session, keyframes: str, frames_per_segment, fps, mode: str, easing: str, loop: bool, size,
                smooth: bool):
    """Every setting of a morph checked before anything on the page changes (milliseconds)."""
    keys = keyframes_of(session, keyframes)
    MorphSettings(frames_per_segment, fps, mode, easing, loop, size, smooth).frame_count(len(keys))


@friendly
def check_walk(session: Session, name, span, frames_per_segment, fps, easing: str, loop: bool, size, smooth: bool):
    """Every setting of a walk checked before anything on the page changes."""
    directions = session.directions
    if name not in directions:
        raise ValueError(say("pick_walk"))
    walk_keyframes(session.face.latent(session.nz, directions), directions[name], float(span))
    MorphSettings(frames_per_segment, fps, "lerp", easing, loop, size, smooth).frame_count(2)


def render_morph(session: Session, keyframes: str, settings: MorphSettings, progress) -> list:
    keys = keyframes_of(session, keyframes)
    rendering = say("rendering_frames")
    progress(0, desc=rendering)
    return morph_frames(session.gan, keys, settings, progress=lambda f: progress(0.8 * f, desc=rendering))


def finish_morph(frames, settings: MorphSettings, request, progress, walking: str = ""):
    """The filmstrip, MP4, GIF and a line about them (`walking`: the direction a walk follows)."""
    progress(0.8, desc=say("encoding"))
    mp4, gif = write_morph(frames, session_folder(request, "morph"), settings)
    info = say("walk_info" if walking else "morph_info", frames=len(frames), fps=int(settings.fps),
               size=settings.size, direction=walking)
    return filmstrip(frames), str(mp4), str(gif), info


@friendly
def make_morph(session: Session, keyframes: str, frames_per_segment, fps, mode: str, easing: str, loop: bool, size,
               smooth: bool, request: gr.Request, progress=gr.Progress()):
    settings = MorphSettings(frames_per_segment, fps, mode, easing, loop, size, smooth)
    frames = render_morph(session, keyframes, settings, progress)
    return finish_morph(frames, settings, request, progress)


@friendly
def make_walk(session: Session, name, span, frames_per_segment, fps, easing: str, loop: bool, size, smooth: bool,
              request: gr.Request, progress=gr.Progress()):
    settings = MorphSettings(frames_per_segment, fps, "lerp", easing, loop, size, smooth)
    directions = session.directions
    if name not in directions:
        raise ValueError(say("pick_walk"))
    keys = walk_keyframes(session.face.latent(session.nz, directions), directions[name], float(span))
    rendering = say("rendering_frames")
    progress(0, desc=rendering)
    frames = morph_frames(session.gan, keys, settings, progress=lambda f: progress(0.8 * f, desc=rendering))
    return finish_morph(frames, settings, request, progress, md(direction_label(directions[name])))


def morph_file(fmt: str):
    """An API-only morph endpoint that renders one format (MP4 or GIF)."""
    @friendly
    def render(session: Session, keyframes: str, frames_per_segment, fps, mode: str, easing: str, loop: bool, size,
               smooth: bool, request: gr.Request, progress=gr.Progress()):
        settings = MorphSettings(frames_per_segment, fps, mode, easing, loop, size, smooth)
        frames = render_morph(session, keyframes, settings, progress)
        writer = write_mp4 if fmt == "mp4" else write_gif
        return str(writer(frames, session_folder(request, "morph") / f"morph.{fmt}", settings.fps))
    return render
